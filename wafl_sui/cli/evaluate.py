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
    from wafl_sui import protocol
    from wafl_sui.client import datasets, model
    from wafl_sui.client.trust import check_task
    from wafl_sui.ledger import open_ledger
    from wafl_sui.metrics import query
    from wafl_sui.metrics.store import MetricsError, MetricsStore

    with open_ledger(ledger_spec(network, ledger_file)) as ledger:
        view = ledger.task(task)
    raw = datasets.load_raw(data, label_column)
    if raw.x.shape[1] != view.spec.features or raw.classes > view.spec.classes:
        raise click.ClickException(f"{data}: {raw.x.shape[1]} features and {raw.classes} classes, but the task's model "
                                   f"has {view.spec.features} features and {view.spec.classes} classes")
    check_task(view, allow_dev_key=allow_dev_key, progress=progress_printer(as_json))
    store = MetricsStore(metrics_file)
    try:
        extra = query.task_extra(store, view.task_id, network)
    except MetricsError:
        extra = {}
    scaling = (datasets.FeatureScaling.from_dict(extra["scaling"]) if extra.get("scaling")
               else datasets.scaling_for(raw))
    ds = datasets.to_dataset(raw, scaling)
    w = [protocol.decode_signed(u, view.spec.weight_bits) for u in view.model]
    m = model.evaluate(model.to_flax(w, view.spec), ds.x, ds.y)
    # the global model is the aggregate of round view.round - 1 (the metrics store's convention)
    model_round = view.round - 1
    recorded = False
    if model_round >= 0:
        try:
            store.record_evaluation(view.task_id, network, model_round, m.accuracy, m.loss, evaluator=evaluator)
            recorded = True
        except MetricsError:
            pass  # a task this metrics store does not know: report, don't record
    emit({"task_id": view.task_id, "round": model_round, "accuracy": m.accuracy, "loss": m.loss,
          "samples": m.samples, "recorded": recorded}, as_json,
         lambda o: click.echo(("initial model" if o["round"] < 0 else f"model of round {o['round']}")
                              + f": accuracy {o['accuracy']:.4f}, loss {o['loss']:.4f} on {o['samples']} samples"
                              + ("" if o["recorded"] else " (not recorded)")))
