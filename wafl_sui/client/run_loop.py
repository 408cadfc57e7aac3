"""A participant's loop, round after round: register for the task, open a round that waits for
its sample, contribute once to each round it is sampled in, aggregate a round that is ready and
discard one that closed below its quorum after its grace period (by default: nobody has to run
`wafl task aggregate` by hand), and say what it is waiting for whenever that changes (never a
silent wait).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from wafl_sui.errors import WaflError
from wafl_sui.client.advance import advance, discard_if_stuck, not_ready_reason, open_if_waiting, waiting_text


@dataclass
class LoopResult:
    contributed: int = 0  # rounds this participant submitted an update to
    aggregated: int = 0  # rounds this participant's aggregation step completed
    finished: bool = False  # the task finished


def participate(ledger: Any, client: Any, task_id: str, *, rounds: Optional[int] = None, poll: float = 2.0,
                aggregate: bool = True, say: Callable[[str], None] = lambda m: None,
                on_report: Callable[[Any], None] = lambda r: None, on_aggregated: Callable[[list], None] = lambda r: None,
                sleep: Callable[[float], None] = time.sleep) -> LoopResult:
    """Run until the task finishes or `rounds` contributions were made (then the loop still
    aggregates the round it contributed to, if it is ready at once). `client` is a
    `participant.Client`; `on_report` gets each `RoundReport`, `on_aggregated` the receipts of
    each round this participant aggregated."""
    out = LoopResult()
    last_said = None
    while True:
        view = ledger.task(task_id)
        if view.finished:
            say("the task is finished")
            out.finished = True
            return out
        if aggregate and not_ready_reason(view) is None:
            receipts = advance(ledger, client.identity, task_id)
            if receipts:
                out.aggregated += 1
                on_aggregated(receipts)
                last_said = None
                continue
        if rounds is not None and out.contributed >= rounds:
            return out
        if aggregate and discard_if_stuck(ledger, client.identity, view) is not None:
            say(f"round {view.round}: closed below its quorum; discarded (the next round is sampled afresh)")
            last_said = None
            continue
        mine = ledger.has_submitted(view.task_id, client.address)
        if not view.is_registered(client.address) or (view.is_sampled(client.address) and not mine
                                                      and view.aggregation_done == 0):
            report = client.run_round(ledger, task_id)  # registers first when needed
            if report.skipped is None:
                out.contributed += 1
                on_report(report)
                last_said = None
                continue
            if report.error is not None and not view.is_registered(client.address):
                raise WaflError(f"cannot take part in task {task_id}: {report.skipped}")
        if open_if_waiting(ledger, client.identity, ledger.task(task_id)) is not None:
            last_said = None
            continue
        state = (view.round, view.num_updates, mine, view.aggregation_done, not_ready_reason(view))
        if state != last_said:  # said once per change, not at every look (the times in it move)
            say(waiting_text(view, client.address))
            last_said = state
        sleep(poll)
