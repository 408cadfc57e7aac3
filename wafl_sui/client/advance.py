"""Rounds that advance by themselves: any participant (a client, `wafl task watch`) that sees its
round ready aggregates it, every step of a chunked rule, and says what it waits for otherwise.

A round is ready when the contract would accept an aggregation step (`protocol.round.
check_aggregate`: the quorum is reached, or the deadline passed with at least one update, or the
round's aggregation has started). Several participants may try at once: the one whose step
completes the round wins; the others find the round moved on and stop, which is not an error.
Times are this machine's clock; a step tried a little early by the ledger's clock is refused
(EQuorumNotReached) and counts as "not ready yet".
"""

from __future__ import annotations

import time
from typing import Any, Optional

from wafl_sui import protocol
from wafl_sui.protocol import ProtocolError

NOT_READY = ("EQuorumNotReached", "ENoUpdates", "ETaskFinished")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def not_ready_reason(view: Any, at_ms: Optional[int] = None) -> Optional[str]:
    """None when an aggregation step may run now, else the contract's error name for why not."""
    try:
        protocol.round.check_aggregate(view.finished, now_ms() if at_ms is None else at_ms, view.deadline_ms,
                                       view.aggregation_done > 0, view.num_updates, view.round_rules.quorum)
    except ProtocolError as e:
        return e.name
    return None


def advance(ledger: Any, signer: Any, task: str, at_ms: Optional[int] = None) -> list[Any]:
    """Aggregate the task's round if it is ready: every step until the round advances. Returns
    the receipts of the steps this signer made ([] if the round was not ready, or another
    participant completed it first)."""
    view = ledger.task(task)
    if not_ready_reason(view, at_ms) is not None:
        return []
    start = view.round
    receipts: list[Any] = []
    while True:
        try:
            r = ledger.aggregate(signer, view.task_id)
        except ProtocolError as e:
            if e.name in NOT_READY:  # someone else completed the round, or not yet ready by the ledger's clock
                return receipts
            raise
        receipts.append(r)
        if r.of_type("RoundAggregated"):
            return receipts
        if ledger.task(view.task_id).round != start:  # another participant made the last step
            return receipts


def waiting_text(view: Any, me: Optional[str] = None, at_ms: Optional[int] = None) -> str:
    """What a participant waits for, in words: round, updates in and needed, deadline in local time."""
    from wafl_sui.metrics.display import local_time

    now = now_ms() if at_ms is None else at_ms
    if view.finished:
        return "the task is finished"
    q, n = view.round_rules.quorum, view.num_updates
    mine = me is not None and me in view.submitters
    head = f"round {view.round}: {n} of {q} updates in" + (" (yours among them)" if mine else "")
    if view.aggregation_done > 0:
        return f"{head}; aggregation under way ({view.aggregation_done} of {view.aggregation_total} coordinates)"
    if n >= q:
        return f"{head}; the quorum is reached: waiting for the aggregation"
    if now <= view.deadline_ms:
        return (f"{head}; waiting for {q - n} more, or for the deadline at {local_time(view.deadline_ms, now)}, "
                "after which the round is aggregated with the updates in")
    if n == 0:
        grace_end = view.deadline_ms + view.round_rules.grace_ms
        return (f"{head}; the round closed empty at {local_time(view.deadline_ms, now)}: waiting for an update, or "
                f"anyone may restart it after {local_time(grace_end, now)} (`wafl task discard-round`)")
    return f"{head}; the deadline passed at {local_time(view.deadline_ms, now)}: waiting for the aggregation"
