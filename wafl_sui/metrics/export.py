"""A task's figures where ML users already look: a CSV file (one row per round) and TensorBoard
event files (tensorboardX, pinned in pyproject.toml and requirements.lock).

Rounds are the ledger's (see `display`): the step of a TensorBoard scalar and the `round` of a
CSV row are the round N whose model was evaluated (accuracy) or whose updates were counted.
Neither writer overwrites anything: the CSV file must not exist, and the TensorBoard folder must
hold no event file yet.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Sequence

from wafl_sui.metrics import query
from wafl_sui.metrics.store import MetricsError, MetricsStore

CSV_COLUMNS = ("round", "accuracy", "loss", "accepted", "rejected", "prove_seconds_median", "verify_seconds_median")
# TensorBoard tag -> the round-series column it plots
SCALARS = {
    "accuracy": "accuracy",
    "loss": "loss",
    "updates/accepted": "accepted",
    "updates/rejected": "rejected",
    "seconds/prove_median": "prove_seconds_median",
    "seconds/verify_median": "verify_seconds_median",
}


def series_csv(series: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write the round series to a new CSV file (empty cells for missing figures)."""
    p = Path(path)
    if p.exists():
        raise MetricsError(f"{p} exists; choose another CSV file (nothing was overwritten)")
    try:
        with open(p, "x", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            for r in series:
                w.writerow(["" if r.get(k) is None else r[k] for k in CSV_COLUMNS])
    except OSError as e:
        raise MetricsError(f"cannot write {p}: {e.strerror}") from None
    return p


def tensorboard(store: MetricsStore, task_id: str, network: str, logdir: str | os.PathLike[str]) -> Path:
    """Write the task's per-round scalars (and its float baseline, if known) as TensorBoard event
    files in `logdir`; returns the event file."""
    from tensorboardX import SummaryWriter

    out = Path(logdir)
    if out.exists() and not out.is_dir():
        raise MetricsError(f"{out} exists and is not a folder; choose another TensorBoard folder")
    if out.is_dir() and any(out.glob("events.out.tfevents.*")):
        raise MetricsError(f"{out} already holds TensorBoard event files; choose an empty folder (nothing was overwritten)")
    summary = query.task_summary(store, task_id, network)
    series = query.round_series(store, task_id, network)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MetricsError(f"cannot create {out}: {e.strerror}") from None
    writer = SummaryWriter(logdir=str(out))
    try:
        for r in series:
            for tag, key in SCALARS.items():
                if r.get(key) is not None:
                    writer.add_scalar(tag, float(r[key]), global_step=r["round"])
        base = summary.get("float_baseline_accuracy")
        if base is not None:
            for r in series:
                writer.add_scalar("float_baseline_accuracy", float(base), global_step=r["round"])
        writer.add_text("task", f"{summary['name'] or summary['task_id']} on {network}: `{summary['task_id']}`", 0)
    finally:
        writer.close()
    return sorted(out.glob("events.out.tfevents.*"))[-1]  # the folder had none: the one just written
