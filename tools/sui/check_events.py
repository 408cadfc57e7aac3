#!/usr/bin/env python3
"""Check a finished federation's history on a Sui network: the events of one task, read back
from the chain by the Sui ledger (decoded by the deployed package's layouts), against the rules.

    python tools/sui/check_events.py --network localnet --task sim-... --clients 3 --rounds 2

Checks: the first event is TaskCreated; registrations (ParticipantRegistered / ParticipantLeft)
may come anywhere; each round r opens with RoundOpened for r, then has `--updates`
UpdateAccepted events (default: --clients), from distinct senders of that round's sample, for
round r, each starting from the model
commitment the round started with; then (robust rules: AggregationProgressed steps and) one
RoundAggregated for r whose submitters are those senders and whose previous commitment is the
round's; the last round is followed by TaskFinished; the task object agrees (finished, round,
model commitment); sequence numbers are 0..n-1. Prints a one-line summary (or --json) and exits
1 with the first violation.
"""

from __future__ import annotations

import argparse
import json
import sys


class Violation(Exception):
    pass


def check(events: list, view, clients: int, rounds: int, updates: int | None = None) -> dict:
    updates = clients if updates is None else updates
    types = [e.type for e in events]

    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise Violation(f"{msg} (events: {', '.join(types)})")

    need([e.seq for e in events] == list(range(len(events))), "sequence numbers are not 0..n-1")
    need(bool(events) and events[0].type == "TaskCreated", "the first event is not TaskCreated")
    commitment = events[0].fields["model_commitment"]
    seqs = [e.seq for e in events]
    events = [e for e in events if e.type not in ("ParticipantRegistered", "ParticipantLeft")]
    i = 1
    for r in range(rounds):
        senders = []
        need(i < len(events) and events[i].type == "RoundOpened" and events[i].fields["round"] == r,
             f"round {r}: no RoundOpened")
        sample = set(events[i].fields["sampled"])
        i += 1
        while i < len(events) and events[i].type == "UpdateAccepted":
            f = events[i].fields
            need(f["round"] == r, f"event {i}: an update for round {f['round']} during round {r}")
            need(f["sender"] in sample, f"event {i}: {f['sender']} is not in round {r}'s sample")
            need(f["old_model_commitment"] == commitment, f"event {i}: update not from the round's model")
            need(f["sender"] not in senders, f"event {i}: {f['sender']} submitted twice in round {r}")
            senders.append(f["sender"])
            i += 1
        need(len(senders) == updates, f"round {r}: {len(senders)} accepted updates, expected {updates}")
        while i < len(events) and events[i].type == "AggregationProgressed":
            need(events[i].fields["round"] == r, f"event {i}: aggregation step of another round")
            i += 1
        need(i < len(events) and events[i].type == "RoundAggregated", f"round {r}: no RoundAggregated")
        f = events[i].fields
        need(f["round"] == r and f["next_round"] == r + 1, f"event {i}: RoundAggregated of the wrong round")
        need(sorted(f["submitters"]) == sorted(senders), f"event {i}: aggregated submitters differ from the updates")
        need(f["previous_model_commitment"] == commitment, f"event {i}: aggregation not from the round's model")
        commitment = f["model_commitment"]
        i += 1
    need(i < len(events) and events[i].type == "TaskFinished", "no TaskFinished after the last round")
    need(events[i].fields["rounds"] == rounds and events[i].fields["model_commitment"] == commitment,
         "TaskFinished does not name the final round and model")  # fmt: skip
    need(i == len(events) - 1, "events after TaskFinished")
    need(view.finished and view.round == rounds, f"the task object says round {view.round}, finished={view.finished}")
    need(view.model_commitment == commitment, "the task object's model is not the last aggregate")
    return {"task_id": view.task_id, "events": len(seqs), "rounds": rounds, "updates_per_round": updates,
            "model_commitment": str(commitment), "ok": True}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--network", default="localnet")
    ap.add_argument("--task", help="task name or id [default: the only/latest task in the deployments file]")
    ap.add_argument("--clients", type=int, required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--updates", type=int, help="accepted updates per round [default: --clients]")
    ap.add_argument("--deployments", help="deployments file [default: $WAFL_HOME/deployments.json]")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from wafl_sui.errors import WaflError
    from wafl_sui.ledger.sui.ledger import SuiLedger

    try:
        with SuiLedger(args.network, deployments_path=args.deployments) as ledger:
            task = args.task
            if task is None:
                views = ledger.tasks()
                if not views:
                    raise Violation(f"no task deployed on {args.network}")
                task = views[-1].task_id
            view = ledger.task(task)
            out = check(ledger.events(task), view, args.clients, args.rounds, args.updates)
    except (Violation, WaflError) as exc:
        print(f"check_events: FAILED: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(out))
    else:
        print(f"check_events: ok: task {out['task_id']}, {out['events']} events, {args.rounds} rounds of "
              f"{out['updates_per_round']} updates, final model {out['model_commitment'][:16]}...")  # fmt: skip
    return 0


if __name__ == "__main__":
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout's wafl_sui
    raise SystemExit(main())
