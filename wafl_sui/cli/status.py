"""`wafl status`: every task of the ledger and the metrics store (a table), or one in detail.

The ledger is read first (read-only), so a task made by `wafl task create`, on another machine or
on Sui shows with its live round; the metrics store adds what participants and evaluators recorded.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from wafl_sui.cli.common import friendly_errors, metrics_option, watched_store, with_ledger_options
from wafl_sui.metrics import display

DETAIL_KEYS = ("task_id", "network", "name", "state", "deadline", "model", "latest_accuracy", "latest_loss",
               "accepted", "rejected", "clients", "errors", "prove_seconds_median", "verify_seconds_median", "privacy")


def _state(status: dict[str, Any], max_rounds: int | None) -> str:
    if "round" not in status:
        return "–"
    text = display.round_text(status["round"], max_rounds or status["round"] + 1, bool(status.get("finished")))
    if not status.get("finished") and "num_updates" in status:
        text += f", {status['num_updates']}/{status.get('quorum', '?')} updates"
    return text


def _detail(summary: dict[str, Any], now_ms: int) -> dict[str, Any]:
    st = summary["status"]
    max_rounds = summary["rules"].get("max_rounds")
    out = dict(summary)
    out["state"] = _state(st, max_rounds)
    out["deadline"] = ("–" if st.get("finished") or st.get("deadline_ms") is None
                       else display.when(st["deadline_ms"], now_ms))
    dp = st.get("privacy")
    out["privacy"] = (None if not dp else
                      f"epsilon {dp['epsilon_spent_max']:.2f} spent of {dp['epsilon']:.2f} (delta {dp['delta']:g}) "
                      f"by the client that spent most; at most {dp['max_updates']} updates a client")
    r = summary.get("latest_round_evaluated")
    out["model"] = ("not evaluated yet" if r is None else f"accuracy of the model of round {r}")
    return out


@click.command("status")
@click.option("--task", "task", help="One task in detail: its id (0x...) or name.")
@with_ledger_options
@metrics_option
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def status_cmd(task, network, ledger_file, metrics_file, as_json) -> None:
    """Tasks with their round, accuracy and accepted/rejected updates."""
    from wafl_sui.metrics import query

    store, task_id = watched_store(network, ledger_file, metrics_file, task)
    now = time.time_ns() // 1_000_000
    if task_id:
        out = _detail(query.task_summary(store, task_id, network), now)
        out["rounds_table"] = query.round_series(store, task_id, network)
        if as_json:
            click.echo(json.dumps(display.json_safe(out), indent=2))
            return
        for k in DETAIL_KEYS:
            v = out.get(k)
            click.echo(f"{k:>22}: " + (json.dumps(v) if isinstance(v, dict) else display.number(v)
                                       if isinstance(v, float) else ("–" if v is None else str(v))))
        _round_table(out["rounds_table"])
        return
    tasks = query.list_tasks(store)
    if as_json:
        click.echo(json.dumps(display.json_safe(tasks), indent=2))
        return
    if not tasks:
        click.echo("no tasks yet: create one (`wafl task create`) or run `wafl simulate`")
        return
    click.echo(f"{'network':<8} {'task':<14} {'name':<24} {'rule':<12} {'state':<42} {'accuracy':>8}")
    for t in tasks:
        acc = t.get("latest_accuracy")
        ev = t.get("latest_round_evaluated")
        click.echo(f"{t['network']:<8} {t['task_id'][:12] + '..':<14} {(t.get('name') or '')[:24]:<24} "
                   f"{(t.get('rule') or '–'):<12} {_state(t.get('status') or {}, t.get('max_rounds')):<42} "
                   + (f"{'–':>8}" if acc is None else f"{acc:>8.4f} (model of round {ev})"))


def _round_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    click.echo(f"\n{'round':>5} {'accuracy':>8} {'loss':>8} {'accepted':>8} {'rejected':>8} {'prove s':>8} {'verify s':>8}")
    for r in rows:
        click.echo(f"{r['round']:>5} {display.number(r['accuracy']):>8} {display.number(r['loss']):>8} "
                   f"{r['accepted']:>8} {r['rejected']:>8} {display.number(r['prove_seconds_median'], 2):>8} "
                   f"{display.number(r['verify_seconds_median'], 3):>8}")
