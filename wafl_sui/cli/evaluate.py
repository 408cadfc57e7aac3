"""`wafl evaluate`: an evaluator scores a task's current global model on its own held-out data."""

from __future__ import annotations

import click

from wafl_sui.cli.common import (
    allow_dev_key_option, emit, friendly_errors, ledger_spec, metrics_option, progress_printer, with_ledger_options,
)


@click.command("evaluate")
@click.option("--task", "task", required=True, help="Task id (0x...) or name.")
@click.option("--data", "data", required=True, help="digits, iris, wine, breast_cancer, or a .csv / .npz file.")
@click.option("--label-column", help="CSV: the label column.")
@click.option("--evaluator", default="evaluator", show_default=True, help="Name recorded with the figures.")
@with_ledger_options
@metrics_option
@allow_dev_key_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def evaluate_cmd(task, data, label_column, evaluator, network, ledger_file, metrics_file, allow_dev_key, as_json) -> None:
    """Accuracy and loss of the global model; recorded in the metrics store for the dashboard."""
    from wafl_sui.client import datasets, evaluation
    from wafl_sui.client.trust import check_task
    from wafl_sui.ledger import open_ledger
    from wafl_sui.metrics import display, query
    from wafl_sui.metrics.ledger_sync import sync_task
    from wafl_sui.metrics.store import MetricsStore

    from wafl_sui.client import manifest as task_manifest

    store = MetricsStore(metrics_file)
    with open_ledger(ledger_spec(network, ledger_file)) as ledger:
        view = sync_task(store, ledger, task)
        contract = task_manifest.read(ledger, view.task_id)
    raw = datasets.load_raw(data, label_column or (contract.label_column if contract else None),
                                  min_classes=1 if contract else 2)
    if contract is not None:  # the task's columns, class order and scaling
        raw = task_manifest.conform(raw, contract, data)
    evaluation.check_fits(raw, view.spec, data)
    check_task(view, manifest=contract, allow_dev_key=allow_dev_key, progress=progress_printer(as_json))
    if contract is not None:
        scaling = contract.scaling
    else:
        extra = query.task_extra(store, view.task_id, network)
        scaling = datasets.FeatureScaling.from_dict(extra["scaling"]) if extra.get("scaling") else None
    m = evaluation.score(view, raw, scaling)
    model_round = display.model_round(view.round)
    if model_round is not None:  # the initial model belongs to no round: shown, not recorded
        store.record_evaluation(view.task_id, network, model_round, m.accuracy, m.loss, evaluator=evaluator)
    emit({"task_id": view.task_id, "round": model_round, "accuracy": m.accuracy, "loss": m.loss,
          "samples": m.samples, "recorded": model_round is not None, "metrics": str(store.path)}, as_json,
         lambda o: click.echo(display.model_text(view.round).capitalize()
                              + f": accuracy {o['accuracy']:.4f}, loss {o['loss']:.4f} on {o['samples']} samples"
                              + (f"; recorded in {o['metrics']}" if o["recorded"] else
                                 " (not recorded: no round has finished yet)")))
