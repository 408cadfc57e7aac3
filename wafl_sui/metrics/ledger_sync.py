"""The metrics store learns a task from its ledger: what the ledger says is the truth.

`sync_task` reads a task's state and its new events through the `Ledger` interface (the local
ledger's file, or the Sui Task object and its events) and records them in the metrics store:
the task itself when the store does not know it yet (a task made by `wafl task create`, by
another machine, or on Sui), its status, and its events. So `wafl status`, `wafl report`, `wafl
evaluate` and the dashboard work for any task a ledger holds, whoever made it and wherever its
clients run; the figures only a participant sees (proof and verify times, rejected updates)
come from the participants that record them in the same store.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Optional

from wafl_sui.metrics import query
from wafl_sui.metrics.store import MetricsStore


def status_of(view: Any) -> dict[str, Any]:
    """The task's live status as the metrics store keeps it."""
    return {"round": view.round, "deadline_ms": view.deadline_ms, "finished": view.finished,
            "num_updates": view.num_updates, "quorum": view.round_rules.quorum,
            "max_rounds": view.round_rules.max_rounds, "open": view.open}


@lru_cache(maxsize=256)
def _epsilon(params: Any, d: int, steps: int) -> float:
    from wafl_sui.client import privacy_accounting

    return privacy_accounting.epsilon(params, d, steps) if steps else 0.0


def privacy_of(ledger: Any, view: Any) -> Optional[dict[str, Any]]:
    """A private task's budget and what each registered client spent of it (the accountant over
    its accepted updates, which the ledger counts); None for an ordinary task."""
    reader = getattr(ledger, "privacy", None)
    params = reader(view.task_id) if reader is not None else None
    if params is None:
        return None
    d = view.spec.num_weights
    counts = {a: ledger.contributions(view.task_id, a) for a in view.registered}
    spent = {a: round(_epsilon(params, d, n), 4) for a, n in counts.items()}
    return {"epsilon": params.target_epsilon, "delta": params.target_delta, "max_updates": params.max_contributions,
            "sample_rate": round(params.sample_rate, 4),
            "epsilon_spent_max": max(spent.values(), default=0.0), "epsilon_spent": spent, "updates": counts}


def rules_of(view: Any) -> dict[str, Any]:
    """The task's rules as the ledger holds them."""
    rr = view.round_rules
    return {"spec": view.spec.to_dict(), "lr_q": view.lr_q, "rule": view.aggregation.name.replace("_", "-"),
            "trim_bps": view.aggregation.trim_bps, "quorum": rr.quorum, "max_rounds": rr.max_rounds,
            "round_duration_ms": rr.round_duration_ms, "grace_ms": rr.grace_ms}


def event_record(e: Any) -> dict[str, Any]:
    """A ledger `Event` as the metrics store records it (the same form whoever records it)."""
    return {"seq": e.seq, "type": e.type, "fields": _plain(e.fields), "timestamp_ms": e.timestamp_ms}


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    if hasattr(v, "item") and callable(v.item) and not isinstance(v, (int, float, str)):  # numpy scalars
        return v.item()
    return v


def sync_task(store: MetricsStore, ledger: Any, task: str, *, name: Optional[str] = None) -> Any:
    """Record task `task` (an id or a name) of `ledger` in `store`: the task if new, its status,
    and the events the store does not have yet. Returns the ledger's `TaskView`."""
    view = ledger.task(task)
    network = ledger.network
    try:
        recorded = query.task_status(store, view.task_id, network)
    except query.TaskNotFound:
        recorded = None
    status = status_of(view)
    dp = privacy_of(ledger, view)
    if dp is not None:
        status["privacy"] = dp
    if recorded is not None:
        if any(recorded.get(k) != v for k, v in status.items()):  # a write only when something changed
            store.update_status(view.task_id, network, status)
    else:
        store.record_task(view.task_id, network, name=name or view.name or "", rules=rules_of(view),
                          status=status, extra={"source": "ledger"},
                          created_at=view.created_ms / 1000 if view.created_ms else None)
    last = query.last_event_seq(store, view.task_id, network)
    new = ledger.events(view.task_id, -1 if last is None else last)
    if new:
        store.record_events(view.task_id, network, [event_record(e) for e in new])
    return view


def sync_all(store: MetricsStore, ledger: Any, on_error: Optional[Callable[[str, Exception], None]] = None) -> int:
    """Sync every task the ledger lists; returns how many were synced. A task that fails is
    reported to `on_error` (task id, error) and skipped."""
    n = 0
    for view in ledger.tasks():
        try:
            sync_task(store, ledger, view.task_id)
            n += 1
        except Exception as e:  # noqa: BLE001 - one bad task does not stop the others
            if on_error is None:
                raise
            on_error(view.task_id, e)
    return n
