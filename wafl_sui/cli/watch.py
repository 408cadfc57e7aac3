"""`wafl task watch`: anyone (the task's owner, an evaluator) follows a task round after round:
records its events in the metrics store, aggregates each round that is ready (with `--key`),
scores each new global model on an evaluation file (with `--evaluate`), until the task finishes."""

from __future__ import annotations

import time

import click

from wafl_sui.cli.chain import load_identity
from wafl_sui.cli.common import (
    FiniteFloat, allow_dev_key_option, friendly_errors, ledger_spec, metrics_option, progress_printer,
    with_ledger_options,
)


@click.command("watch")
@click.option("--task", "task", required=True, help="Task id (0x...) or name.")
@with_ledger_options
@click.option("--key", "key", help="Aggregate ready rounds, signed with this key (name or file) [default: only watch].")
@click.option("--evaluate", "data", help="Score each new global model on this labelled data (.csv / .npz / bundled).")
@click.option("--label-column", help="CSV: the label column.")
@click.option("--evaluator", default="watch", show_default=True, help="Name recorded with the figures.")
@click.option("--poll", type=FiniteFloat(0.05, 3600), default=2.0, show_default=True,
              help="Seconds between looks (0.05 .. 3600).")
@click.option("--once", is_flag=True, help="Look once (record, aggregate, evaluate) and exit.")
@metrics_option
@allow_dev_key_option
@click.option("--quiet", is_flag=True)
@friendly_errors
def watch_cmd(task, network, ledger_file, key, data, label_column, evaluator, poll, once, metrics_file, allow_dev_key,
              quiet) -> None:
    """Follow a task: record its rounds, aggregate ready ones (--key), evaluate each new model (--evaluate)."""
    from wafl_sui.client import datasets, evaluation
    from wafl_sui.client.trust import check_task
    from wafl_sui.client.advance import advance, discard_if_stuck, not_ready_reason, open_if_waiting, waiting_text
    from wafl_sui.ledger import open_ledger
    from wafl_sui.metrics import display, query
    from wafl_sui.metrics.ledger_sync import sync_task
    from wafl_sui.metrics.store import MetricsStore

    say = progress_printer(quiet) or (lambda m: None)
    signer = load_identity(key) if key else None  # checks first: key, data, task
    from wafl_sui.client import manifest as task_manifest

    store = MetricsStore(metrics_file)
    with open_ledger(ledger_spec(network, ledger_file)) as ledger:
        view = sync_task(store, ledger, task)
        contract = task_manifest.read(ledger, view.task_id)
        raw = datasets.load_raw(data, label_column or (contract.label_column if contract else None),
                                  min_classes=1 if contract else 2) if data else None
        if raw is not None and contract is not None:  # the task's columns, class order and scaling
            raw = task_manifest.conform(raw, contract, data)
        if raw is not None:  # the models it scores come from a task whose key we trust
            evaluation.check_fits(raw, view.spec, data)
            check_task(view, manifest=contract, allow_dev_key=allow_dev_key, progress=say)
        task_id = view.task_id
        if signer is None:
            say("watching only: without --key the participants aggregate the rounds")
        evaluated = {r["round"] for r in query.round_series(store, task_id, network) if r["accuracy"] is not None}
        last_state = None
        try:
            while True:
                if signer is not None and not_ready_reason(view) is None:
                    receipts = advance(ledger, signer, task_id)
                    if receipts:
                        ev = receipts[-1].of_type("RoundAggregated")[0].fields
                        click.echo(f"round {ev['round']}: aggregated {ev['num_updates']} updates"
                                   + (f" in {len(receipts)} steps" if len(receipts) > 1 else ""))
                    view = sync_task(store, ledger, task_id)
                if signer is not None and discard_if_stuck(ledger, signer, view) is not None:
                    click.echo(f"round {view.round}: closed below its quorum; discarded")
                    view = sync_task(store, ledger, task_id)
                if signer is not None and open_if_waiting(ledger, signer, view) is not None:
                    view = sync_task(store, ledger, task_id)
                    click.echo(f"round {view.round}: opened, {len(view.sampled)} participants sampled")
                mr = display.model_round(view.round)
                if raw is not None and mr is not None and mr not in evaluated:
                    if contract is not None:
                        sc = contract.scaling
                    else:
                        extra = query.task_extra(store, task_id, network)
                        sc = datasets.FeatureScaling.from_dict(extra["scaling"]) if extra.get("scaling") else None
                    m = evaluation.score(view, raw, sc)
                    store.record_evaluation(task_id, network, mr, m.accuracy, m.loss, evaluator=evaluator)
                    evaluated.add(mr)
                    click.echo(f"{display.model_text(view.round)}: accuracy {m.accuracy:.4f}, loss {m.loss:.4f} "
                               f"on {m.samples} samples (recorded)")
                if view.finished:
                    click.echo(f"task {task_id} finished: {display.round_text(view.round, view.round_rules.max_rounds, True)}")
                    return
                if once:
                    click.echo(waiting_text(view))
                    return
                state = (view.round, view.num_updates, view.aggregation_done, not_ready_reason(view))
                if state != last_state:
                    say(waiting_text(view))
                    last_state = state
                time.sleep(poll)
                view = sync_task(store, ledger, task_id)
        except KeyboardInterrupt:
            say("stopped")
