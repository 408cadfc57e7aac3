"""`wafl model export`: a task's global model as an .npz file for numpy / JAX."""

from __future__ import annotations

import click

from wafl_sui.cli.common import (
    allow_dev_key_option, friendly_errors, ledger_spec, metrics_option, new_output_file, progress_printer,
    with_ledger_options,
)


@click.group("model", help="The global model of a task.")
def model_group() -> None:
    pass


@model_group.command("export")
@click.option("--task", "task", required=True, help="Task id (0x...) or name.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Model file to write (.npz, must not exist).")
@with_ledger_options
@metrics_option
@allow_dev_key_option
@friendly_errors
def export_cmd(task, out, network, ledger_file, metrics_file, allow_dev_key) -> None:
    """Write float weights (C, D+1), integer weights, the spec and the feature scaling."""
    from wafl_sui.client.datasets import FeatureScaling
    from wafl_sui.client.export import export_model
    from wafl_sui.client.trust import check_task
    from wafl_sui.ledger import open_ledger
    from wafl_sui.metrics import query
    from wafl_sui.metrics.store import MetricsError, MetricsStore

    path = new_output_file(out)
    from wafl_sui.client import manifest as task_manifest

    with open_ledger(ledger_spec(network, ledger_file)) as ledger:
        view = ledger.task(task)
        contract = task_manifest.read(ledger, view.task_id)
    check_task(view, manifest=contract, allow_dev_key=allow_dev_key, progress=progress_printer(False))
    if contract is not None:  # the task's own scaling (its data contract), with its names and classes
        scaling = contract.scaling
    else:
        try:
            extra = query.task_extra(MetricsStore(metrics_file, create=False), view.task_id, network)
        except MetricsError:
            extra = {}
        scaling = FeatureScaling.from_dict(extra["scaling"]) if extra.get("scaling") else None
    export_model(view, path, scaling=scaling)
    from wafl_sui.metrics import display

    click.echo(f"wrote {path}: {display.model_text(view.round)} of task {view.task_id}"
               + ("" if scaling else " (feature scaling unknown: not recorded for this task)"))
