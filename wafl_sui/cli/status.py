"""`wafl status`: what the metrics store knows of the tasks (all, or one in detail)."""

from __future__ import annotations

import json

import click

from wafl_sui.cli.common import friendly_errors, metrics_option
from wafl_sui.ledger.sui.network import LEDGER_NETWORKS


@click.command("status")
@click.option("--task", "task_id", help="One task in detail (0x...).")
@click.option("--network", type=click.Choice(LEDGER_NETWORKS), default="local", show_default=True)
@metrics_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def status_cmd(task_id, network, metrics_file, as_json) -> None:
    """Tasks with their round, accuracy and accepted/rejected updates."""
    from wafl_sui.metrics import query
    from wafl_sui.metrics.store import MetricsStore

    store = MetricsStore(metrics_file, create=False)
    if task_id:
        out = query.task_summary(store, task_id, network)
        out["rounds_table"] = query.round_series(store, task_id, network)
        if as_json:
            click.echo(json.dumps(out, indent=2, default=str))
            return
        for k in ("task_id", "network", "name", "last_round", "latest_accuracy", "latest_loss", "accepted",
                  "rejected", "errors", "prove_seconds_median", "verify_seconds_median"):
            if k in out:
                click.echo(f"{k:>22}: {out[k]}")
        return
    tasks = query.list_tasks(store)
    if as_json:
        click.echo(json.dumps(tasks, indent=2, default=str))
        return
    if not tasks:
        click.echo("no tasks recorded yet: run `wafl simulate`")
    for t in tasks:
        acc = t.get("latest_accuracy")
        click.echo(f"{t.get('network', '?'):>8} {t['task_id']} {t.get('name') or '':<24} "
                   f"round {t.get('last_round')}, accuracy " + ("-" if acc is None else f"{acc:.4f}"))
