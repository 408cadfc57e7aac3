"""`wafl report`: PNG plots and one self-contained HTML page of a task's run; its figures as CSV
and as TensorBoard event files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from wafl_sui.cli.common import friendly_errors, metrics_option, watched_store, with_ledger_options


@click.command("report")
@click.option("--task", "task", required=True, help="Task id (0x...) or name.")
@with_ledger_options
@click.option("--compare", "compare", multiple=True, metavar="LABEL=TASK",
              help="Plot another task's accuracy beside this one (e.g. median=0x... or median=NAME).")
@metrics_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Report folder (plots and report.html).")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False), help="Write the per-round figures to this CSV file.")
@click.option("--tensorboard", "tb_dir", type=click.Path(file_okay=False),
              help="Write the per-round figures as TensorBoard event files in this folder.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def report_cmd(task, network, ledger_file, compare, metrics_file, out_dir, csv_file, tb_dir, as_json) -> None:
    """Write accuracy/loss, timing and update plots and report.html for a task (--out), and/or
    its figures per round as CSV (--csv) or TensorBoard event files (--tensorboard)."""
    from wafl_sui.metrics import export, query
    from wafl_sui.metrics.report import write_report

    if not (out_dir or csv_file or tb_dir):
        raise click.UsageError("say where to write: --out DIR (plots and HTML), --csv FILE and/or --tensorboard DIR")
    if csv_file and Path(csv_file).exists():
        raise click.ClickException(f"{csv_file} exists; choose another --csv file (nothing was overwritten)")
    pairs = []
    for item in compare:
        label, sep, ref = item.partition("=")
        if not sep or not label or not ref:
            raise click.BadParameter(f"expected LABEL=TASK, got {item!r}", param_hint="--compare")
        pairs.append((label, ref))
    store, task_id = watched_store(network, ledger_file, metrics_file, task)
    others = [(label, watched_store(network, ledger_file, metrics_file, ref)[1], network) for label, ref in pairs]
    out: dict[str, str] = {}
    if out_dir:
        out.update({k: str(v) for k, v in write_report(store, task_id, network, Path(out_dir), others or None).items()})
    if csv_file:
        out["csv"] = str(export.series_csv(query.round_series(store, task_id, network), csv_file))
    if tb_dir:
        out["tensorboard"] = str(export.tensorboard(store, task_id, network, tb_dir))
    click.echo(json.dumps(out, indent=2) if as_json else "\n".join(f"{k}: {v}" for k, v in out.items()))
