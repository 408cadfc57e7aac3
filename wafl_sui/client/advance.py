"""Rounds that advance by themselves: any participant (a client, `wafl task watch`) that sees its
round ready aggregates it, every step of a chunked rule, and says what it waits for otherwise.

A round is ready when the contract would accept an aggregation step (`protocol.round.
check_aggregate`: every sampled participant has submitted, or the deadline passed with at least
the quorum, or the round's aggregation has started). A round that waits for its sample is opened
by whoever sees it (`open_round`, anyone may call it; the ledger draws the randomness). Several participants may try at once: the one whose step
completes the round wins; the others find the round moved on and stop, which is not an error.
Times are this machine's clock; a step tried a little early by the ledger's clock is refused
(EQuorumNotReached) and counts as "not ready yet".
"""

from __future__ import annotations

import time
from typing import Any, Optional

from wafl_sui import protocol
from wafl_sui.protocol import ProtocolError

NOT_READY = ("EQuorumNotReached", "ENoUpdates", "ETaskFinished", "ERoundNotOpen")
# Why a round cannot be opened now, which is no error for whoever tried: someone else opened it,
# the task finished, or the pool is still smaller than the quorum.
NOT_OPENABLE = ("ERoundAlreadyOpen", "ETaskFinished", "ENotEnoughParticipants")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def not_ready_reason(view: Any, at_ms: Optional[int] = None) -> Optional[str]:
    """None when an aggregation step may run now, else the contract's error name for why not."""
    try:
        protocol.round.check_aggregate(view.finished, view.round_open, now_ms() if at_ms is None else at_ms,
                                       view.deadline_ms, view.aggregation_done > 0, view.num_updates,
                                       len(view.sampled), view.round_rules.quorum)
    except ProtocolError as e:
        return e.name
    return None


def open_if_waiting(ledger: Any, signer: Any, view: Any) -> Optional[Any]:
    """Open the task's round if it waits for its sample and the pool holds the quorum: the
    receipt (with its `RoundOpened` event), or None when there was nothing to open or another
    participant opened it first."""
    if view.finished or view.round_open or len(view.registered) < view.round_rules.quorum:
        return None
    try:
        return ledger.open_round(signer, view.task_id)
    except ProtocolError as e:
        if e.name in NOT_OPENABLE:
            return None
        raise


def discard_if_stuck(ledger: Any, signer: Any, view: Any, at_ms: Optional[int] = None) -> Optional[Any]:
    """Discard the task's round if it closed below its quorum and its grace period is over (the
    contract allows it to anyone then, and the next round is sampled afresh): the receipt, or None
    when the round may not be discarded (or another participant discarded it first)."""
    now = now_ms() if at_ms is None else at_ms
    try:
        protocol.round.check_discard(view.finished, view.round_open, now, view.deadline_ms, view.round_rules.grace_ms,
                                     view.aggregation_done > 0, view.num_updates, view.round_rules.quorum)
    except ProtocolError:
        return None
    try:
        return ledger.discard_round(signer, view.task_id)
    except ProtocolError as e:
        if e.name in ("ERoundNotOpen", "ETaskFinished", "EGracePeriodNotOver", "ERoundHasUpdates"):
            return None
        raise


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
    if not view.round_open:
        pool = len(view.registered)
        if pool < q:
            return (f"round {view.round}: waiting for registrations ({pool} registered, the quorum is {q}) "
                    "before the round can be opened")
        return f"round {view.round}: waiting for the round to be opened (its participants are sampled then)"
    k = len(view.sampled)
    mine = me is not None and me in view.submitters
    head = f"round {view.round}: {n} of {k} sampled participants submitted (quorum {q})" + (
        " (yours among them)" if mine else "")
    if me is not None and not mine and not view.is_sampled(me):
        head += "; you are not sampled in this round"
    if view.aggregation_done > 0:
        return f"{head}; aggregation under way ({view.aggregation_done} of {view.aggregation_total} coordinates)"
    if n == k and n >= q:
        return f"{head}; every sampled participant submitted: waiting for the aggregation"
    if now <= view.deadline_ms:
        return (f"{head}; waiting for {k - n} more, or for the deadline at {local_time(view.deadline_ms, now)}, "
                f"after which the round is aggregated if it holds at least {q} updates")
    if n >= q:
        return f"{head}; the deadline passed at {local_time(view.deadline_ms, now)}: waiting for the aggregation"
    grace_end = protocol.round.grace_deadline(view.deadline_ms, view.round_rules.grace_ms)
    return (f"{head}; the round closed below its quorum at {local_time(view.deadline_ms, now)}: anyone may discard "
            f"it after {local_time(grace_end, now)} (`wafl task discard-round`) and the next one is sampled")
