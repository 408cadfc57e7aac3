"""Static reports of a task: PNG plots (matplotlib, Agg) and one self-contained report.html.

Plots (each FIG_SIZE_PX pixels, axes at AXES_RECT): accuracy per round with the float baseline
as a horizontal line, loss per round, median proof and verify time per round, accepted vs
rejected updates per round and, with `compare`, the accuracy curves of several tasks (e.g. one
attack under fedavg, median and trimmed mean). report.html embeds the PNGs as data URIs and
holds the rules, the status and the per-round table.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from wafl_sui.metrics import query
from wafl_sui.metrics.store import MetricsError, MetricsStore, check_network, check_task_id

DPI = 100
FIG_SIZE_PX = (900, 500)
AXES_RECT = (0.09, 0.12, 0.97, 0.90)  # left, bottom, right, top as figure fractions
COLORS = {
    "accuracy": "#1f77b4",
    "baseline": "#d62728",
    "loss": "#ff7f0e",
    "prove": "#9467bd",
    "verify": "#17becf",
    "accepted": "#2ca02c",
    "rejected": "#d62728",
}
CompareSpec = Sequence[tuple[str, str, str]]


def _figure(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=(FIG_SIZE_PX[0] / DPI, FIG_SIZE_PX[1] / DPI), dpi=DPI, facecolor="white")
    left, bottom, right, top = AXES_RECT
    ax = fig.add_axes((left, bottom, right - left, top - bottom))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig).print_png(str(path))
    return path


def _no_data(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} recorded yet", ha="center", va="center", transform=ax.transAxes, color="#666666")


def _int_xaxis(ax: Any) -> None:
    ax.xaxis.get_major_locator().set_params(integer=True)


def plot_accuracy(series: list[dict], baseline: float | None, path: Path, title: str) -> Path:
    fig, ax = _figure(f"Accuracy per round: {title}", "round", "test accuracy")
    pts = [(r["round"], r["accuracy"]) for r in series if r["accuracy"] is not None]
    if pts:
        ax.plot(*zip(*pts), marker="o", color=COLORS["accuracy"], linewidth=2, label="federated model")
    else:
        _no_data(ax, "evaluations")
    if baseline is not None:
        ax.axhline(baseline, color=COLORS["baseline"], linestyle="--", linewidth=2, label=f"float baseline {baseline:.4f}")
    if pts or baseline is not None:
        ax.legend(loc="lower right")
    _int_xaxis(ax)
    return _save(fig, path)


def plot_loss(series: list[dict], path: Path, title: str) -> Path:
    fig, ax = _figure(f"Loss per round: {title}", "round", "test loss")
    pts = [(r["round"], r["loss"]) for r in series if r["loss"] is not None]
    if pts:
        ax.plot(*zip(*pts), marker="o", color=COLORS["loss"], linewidth=2)
    else:
        _no_data(ax, "losses")
    _int_xaxis(ax)
    return _save(fig, path)


def plot_timings(series: list[dict], path: Path, title: str) -> Path:
    fig, ax = _figure(f"Proof and verify time per round (median): {title}", "round", "seconds")
    values: list[float] = []
    for key, label, color in (
        ("prove_seconds_median", "prove", COLORS["prove"]),
        ("verify_seconds_median", "verify", COLORS["verify"]),
    ):
        pts = [(r["round"], r[key]) for r in series if r[key] is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", color=color, linewidth=2, label=label)
            values += [v for _, v in pts]
    if not values:
        _no_data(ax, "timings")
    else:
        ax.legend(loc="best")
        if min(values) > 0 and max(values) / min(values) >= 50:
            ax.set_yscale("log")
    _int_xaxis(ax)
    return _save(fig, path)


def plot_updates(series: list[dict], path: Path, title: str) -> Path:
    fig, ax = _figure(f"Accepted vs rejected updates per round: {title}", "round", "updates")
    if any(r["accepted"] or r["rejected"] for r in series):
        rounds = [r["round"] for r in series]
        acc = [r["accepted"] for r in series]
        ax.bar(rounds, acc, color=COLORS["accepted"], label="accepted")
        ax.bar(rounds, [r["rejected"] for r in series], bottom=acc, color=COLORS["rejected"], label="rejected")
        ax.set_ylim(0, max(a + r["rejected"] for a, r in zip(acc, series)) * 1.25)
        ax.legend(loc="upper right")
        ax.yaxis.get_major_locator().set_params(integer=True)
    else:
        _no_data(ax, "updates")
    _int_xaxis(ax)
    return _save(fig, path)


def plot_compare(curves: list[tuple[str, list[dict]]], baseline: float | None, path: Path) -> Path:
    fig, ax = _figure("Accuracy per round by aggregation rule", "round", "test accuracy")
    drawn = False
    for label, series in curves:
        pts = [(r["round"], r["accuracy"]) for r in series if r["accuracy"] is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o", linewidth=2, label=label)
            drawn = True
    if baseline is not None:
        ax.axhline(baseline, color="#555555", linestyle=":", linewidth=1.5, label="float baseline")
    if not drawn:
        _no_data(ax, "evaluations")
    ax.legend(loc="lower right")
    _int_xaxis(ax)
    return _save(fig, path)


# --------------------------------------------------------------------------- html
def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)


def _kv_table(d: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in d.items())
    return f"<table class='kv'>{rows}</table>"


ROUND_COLUMNS = (
    ("round", "round", 0),
    ("accuracy", "accuracy", 4),
    ("loss", "loss", 4),
    ("accepted", "accepted", 0),
    ("rejected", "rejected", 0),
    ("prove_seconds_median", "prove s (median)", 3),
    ("verify_seconds_median", "verify s (median)", 3),
)


def _round_table(series: list[dict]) -> str:
    head = "".join(f"<th>{html.escape(t)}</th>" for _, t, _ in ROUND_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r[k], d))}</td>" for k, _, d in ROUND_COLUMNS) + "</tr>"
        for r in series
    )
    return f"<table class='rounds'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<figure><img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'></figure>"


def _html(summary: dict, series: list[dict], images: dict[str, Path], compare: list[tuple[str, str, str]]) -> str:
    title = summary["name"] or summary["task_id"]
    totals = {
        k: summary[k]
        for k in (
            "rounds", "latest_accuracy", "latest_loss", "float_baseline_accuracy", "accepted", "rejected",
            "clients", "errors", "prove_seconds_median", "verify_seconds_median", "events",
        )
    }
    cmp_rows = "".join(
        f"<tr><td>{html.escape(lbl)}</td><td><code>{html.escape(t)}</code></td><td>{html.escape(n)}</td></tr>"
        for lbl, t, n in compare
    )
    cmp = (
        f"<h2>Compared tasks</h2><table><tr><th>label</th><th>task</th><th>network</th></tr>{cmp_rows}</table>"
        if compare
        else ""
    )
    imgs = "".join(_img(p, k) for k, p in images.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WaFL report: {html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}
table.rounds td {{ text-align: right; }}
img {{ max-width: 100%; }}
code {{ font-size: 0.9em; }}
</style></head><body>
<h1>WaFL report: {html.escape(title)}</h1>
<p>Task <code>{html.escape(summary["task_id"])}</code> on <b>{html.escape(summary["network"])}</b></p>
<h2>Summary</h2>{_kv_table(totals)}
<h2>Rules</h2>{_kv_table(summary["rules"])}
<h2>Status</h2>{_kv_table(summary["status"])}
{cmp}
<h2>Plots</h2>{imgs}
<h2>Per round</h2>{_round_table(series)}
</body></html>
"""


# --------------------------------------------------------------------------- entry point
def write_report(
    store: MetricsStore,
    task_id: str,
    network: str,
    out_dir: str | os.PathLike[str],
    compare: CompareSpec | None = None,
) -> dict[str, Path]:
    """Write the plots and report.html of a task to out_dir; returns {plot name or "html": path}.

    compare: (label, task_id, network) of tasks whose accuracy curves are drawn side by side
    (this task is added first, labelled by its rule, unless it is in the list)."""
    task_id, network = check_task_id(task_id), check_network(network)
    summary = query.task_summary(store, task_id, network)
    series = query.round_series(store, task_id, network)
    curves: list[tuple[str, list[dict]]] = []
    cmp_list: list[tuple[str, str, str]] = []
    if compare:
        for i, item in enumerate(compare):
            if not (isinstance(item, (tuple, list)) and len(item) == 3 and isinstance(item[0], str)):
                raise MetricsError(f"compare[{i}] must be (label, task_id, network), got {item!r}")
            cmp_list.append((item[0], check_task_id(item[1]), check_network(item[2])))
        if not any((t, n) == (task_id, network) for _, t, n in cmp_list):
            own = str(summary["rules"].get("rule") or summary["name"] or "this task")
            cmp_list.insert(0, (own, task_id, network))
        curves = [(lbl, query.round_series(store, t, n)) for lbl, t, n in cmp_list]
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise MetricsError(f"{out} exists and is not a folder; choose another report folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MetricsError(f"cannot create the report folder {out}: {e.strerror}") from None
    title = summary["name"] or f"{task_id[:10]}… on {network}"
    base = summary["float_baseline_accuracy"]
    paths: dict[str, Path] = {
        "accuracy": plot_accuracy(series, base, out / "accuracy.png", title),
        "loss": plot_loss(series, out / "loss.png", title),
        "timings": plot_timings(series, out / "timings.png", title),
        "updates": plot_updates(series, out / "updates.png", title),
    }
    if curves:
        paths["compare"] = plot_compare(curves, base, out / "compare.png")
    report = out / "report.html"
    report.write_text(_html(summary, series, dict(paths), cmp_list), encoding="utf-8")
    paths["html"] = report
    return paths
