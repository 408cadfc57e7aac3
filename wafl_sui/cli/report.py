"""`wafl report`: PNG plots and one self-contained HTML page of a task's run."""

from __future__ import annotations

import json
from pathlib import Path

import click

from wafl_sui.cli.common import friendly_errors, metrics_option
from wafl_sui.ledger.sui.network import LEDGER_NETWORKS


@click.command("report")
@click.option("--task", "task_id", required=True, help="Task id (0x...).")
@click.option("--network", type=click.Choice(LEDGER_NETWORKS), default="local", show_default=True)
@click.option("--compare", "compare", multiple=True, metavar="LABEL=TASK_ID",
              help="Plot another task's accuracy beside this one (e.g. median=0x...).")
@metrics_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Report folder.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def report_cmd(task_id, network, compare, metrics_file, out_dir, as_json) -> None:
    """Write accuracy/loss, timing and update plots and report.html for a task."""
    from wafl_sui.metrics.report import write_report
    from wafl_sui.metrics.store import MetricsStore

    others = []
    for item in compare:
        label, sep, tid = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected LABEL=TASK_ID, got {item!r}", param_hint="--compare")
        others.append((label, tid, network))
    paths = write_report(MetricsStore(metrics_file, create=False), task_id, network, Path(out_dir), others or None)
    out = {k: str(v) for k, v in paths.items()}
    click.echo(json.dumps(out, indent=2) if as_json else "\n".join(f"{k}: {v}" for k, v in out.items()))
