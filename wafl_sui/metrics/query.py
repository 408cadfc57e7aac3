"""Read functions over a `MetricsStore`, shared by the dashboard, the reports and `wafl status`.

Every result is plain JSON-serialisable data (dicts, lists, str, int, float, bool, None).
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from wafl_sui.metrics.store import MetricsError, MetricsStore, check_network, check_task_id


class TaskNotFound(MetricsError):
    """No task with this id on this network in the store."""


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _key(task_id: str, network: str) -> tuple[str, str]:
    return check_task_id(task_id), check_network(network)


def list_tasks(store: MetricsStore) -> list[dict[str, Any]]:
    """Every task, newest first: id, network, name, rule, status, last round and latest accuracy."""
    rows = store.read(
        "SELECT t.task_id, t.network, t.name, t.created_at, t.updated_at, t.rules, t.status, "
        "(SELECT MAX(round) FROM (SELECT round FROM evaluations e WHERE e.task_id=t.task_id AND "
        " e.network=t.network UNION SELECT round FROM contributions c WHERE c.task_id=t.task_id AND "
        " c.network=t.network UNION SELECT CAST(json_extract(v.fields, '$.round') AS INTEGER) FROM events v "
        " WHERE v.task_id=t.task_id AND v.network=t.network AND v.type='UpdateAccepted')) AS last_round, "
        "(SELECT AVG(accuracy) FROM evaluations e WHERE e.task_id=t.task_id AND e.network=t.network AND "
        " e.round=(SELECT MAX(round) FROM evaluations e2 WHERE e2.task_id=t.task_id AND "
        " e2.network=t.network)) AS latest_accuracy, "
        "(SELECT MAX(round) FROM evaluations e3 WHERE e3.task_id=t.task_id AND e3.network=t.network) "
        " AS latest_round_evaluated "
        "FROM tasks t ORDER BY t.created_at DESC, t.task_id, t.network"
    )
    out = []
    for r in rows:
        rules = json.loads(r["rules"])
        out.append(
            {
                "task_id": r["task_id"],
                "network": r["network"],
                "name": r["name"],
                "created_at": r["created_at"],
                "updated_at": r["updated_at"],
                "rule": rules.get("rule"),
                "status": json.loads(r["status"]),
                "last_round": r["last_round"],
                "latest_accuracy": r["latest_accuracy"],
                "latest_round_evaluated": r["latest_round_evaluated"],
                "max_rounds": rules.get("max_rounds"),
            }
        )
    return out


def _task_row(store: MetricsStore, task_id: str, network: str) -> dict[str, Any]:
    rows = store.read("SELECT * FROM tasks WHERE task_id=? AND network=?", (task_id, network))
    if not rows:
        raise TaskNotFound(f"no task {task_id} on network {network!r} in {store.path}")
    r = rows[0]
    return {
        "task_id": r["task_id"],
        "network": r["network"],
        "name": r["name"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
        "rules": json.loads(r["rules"]),
        "status": json.loads(r["status"]),
        "float_baseline_accuracy": r["float_baseline_accuracy"],
        "extra": json.loads(r["extra"]),
    }


def round_series(store: MetricsStore, task_id: str, network: str) -> list[dict[str, Any]]:
    """One row per round with data: round, accuracy, loss (means over evaluators; None if not
    evaluated), accepted, rejected, prove_seconds_median, verify_seconds_median.

    Rounds are the ledger's (see `display`): the accuracy of round N is that of the model of
    round N. `accepted` is the larger of two counts that can each lag: the accepted updates
    recorded by participants, and the ledger's UpdateAccepted events recorded so far (each
    accepted update emits exactly one); rejections exist only where a participant recorded them."""
    task_id, network = _key(task_id, network)
    _task_row(store, task_id, network)
    rounds: dict[int, dict[str, Any]] = {}

    def row(n: int) -> dict[str, Any]:
        return rounds.setdefault(
            n,
            {"round": n, "accuracy": None, "loss": None, "accepted": 0, "rejected": 0, "_p": [], "_v": []},
        )

    for r in store.read(
        "SELECT round, AVG(accuracy) AS acc, AVG(loss) AS loss FROM evaluations "
        "WHERE task_id=? AND network=? GROUP BY round",
        (task_id, network),
    ):
        row(r["round"]).update(accuracy=r["acc"], loss=r["loss"])
    for r in store.read(
        "SELECT round, accepted, prove_seconds, verify_seconds FROM contributions WHERE task_id=? AND network=?",
        (task_id, network),
    ):
        x = row(r["round"])
        x["accepted" if r["accepted"] else "rejected"] += 1
        if r["prove_seconds"] is not None:
            x["_p"].append(r["prove_seconds"])
        if r["verify_seconds"] is not None:
            x["_v"].append(r["verify_seconds"])
    for r in store.read(
        "SELECT CAST(json_extract(fields, '$.round') AS INTEGER) AS round, COUNT(*) AS n FROM events "
        "WHERE task_id=? AND network=? AND type='UpdateAccepted' GROUP BY 1",
        (task_id, network),
    ):
        if r["round"] is not None:
            x = row(r["round"])
            x["accepted"] = max(x["accepted"], r["n"])
    out = []
    for n in sorted(rounds):
        x = rounds[n]
        x["prove_seconds_median"] = _median(x.pop("_p"))
        x["verify_seconds_median"] = _median(x.pop("_v"))
        out.append(x)
    return out


def contributions(store: MetricsStore, task_id: str, network: str, round: int | None = None) -> list[dict[str, Any]]:
    """Client updates in recording order (optionally of one round)."""
    task_id, network = _key(task_id, network)
    _task_row(store, task_id, network)
    sql = (
        "SELECT id, round, client, accepted, error, prove_seconds, verify_seconds, update_norm, batch_size, "
        "attacker, recorded_at FROM contributions WHERE task_id=? AND network=?"
    )
    params: list[Any] = [task_id, network]
    if round is not None:
        if isinstance(round, bool) or not isinstance(round, int) or round < 0:
            raise MetricsError(f"round must be an integer >= 0, got {round!r}")
        sql += " AND round=?"
        params.append(round)
    rows = store.read(sql + " ORDER BY round, id", params)
    return [{**dict(r), "accepted": bool(r["accepted"])} for r in rows]


def events(
    store: MetricsStore, task_id: str, network: str, after_seq: int | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Ledger events by seq (those after `after_seq`, at most `limit`), fields decoded."""
    task_id, network = _key(task_id, network)
    _task_row(store, task_id, network)
    sql = "SELECT seq, type, fields, timestamp_ms FROM events WHERE task_id=? AND network=?"
    params: list[Any] = [task_id, network]
    for name, v in (("after_seq", after_seq), ("limit", limit)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise MetricsError(f"{name} must be an integer >= 0, got {v!r}")
    if after_seq is not None:
        sql += " AND seq>?"
        params.append(after_seq)
    sql += " ORDER BY seq"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [{**dict(r), "fields": json.loads(r["fields"])} for r in store.read(sql, params)]


def data_version(store: MetricsStore, task_id: str, network: str) -> str:
    """A token that changes with every write to the task (for live views)."""
    task_id, network = _key(task_id, network)
    rows = store.read("SELECT revision FROM tasks WHERE task_id=? AND network=?", (task_id, network))
    if not rows:
        raise TaskNotFound(f"no task {task_id} on network {network!r} in {store.path}")
    return f"r{rows[0][0]}"


def task_summary(store: MetricsStore, task_id: str, network: str) -> dict[str, Any]:
    """The task (rules, status, baseline) with totals: rounds, last_round, latest accuracy/loss,
    accepted/rejected counts, errors by name, distinct clients, median prove/verify seconds."""
    task_id, network = _key(task_id, network)
    out = _task_row(store, task_id, network)
    series = round_series(store, task_id, network)
    evaluated = [r for r in series if r["accuracy"] is not None]
    c = store.read(
        "SELECT SUM(1 - accepted) AS rej, (SELECT COUNT(*) FROM (SELECT client FROM contributions WHERE "
        "task_id=?1 AND network=?2 UNION SELECT json_extract(fields, '$.sender') FROM events WHERE task_id=?1 AND "
        "network=?2 AND type='UpdateAccepted' AND json_extract(fields, '$.sender') IS NOT NULL)) AS clients FROM contributions WHERE task_id=?1 AND network=?2",
        (task_id, network),
    )[0]
    times = store.read(
        "SELECT prove_seconds, verify_seconds FROM contributions WHERE task_id=? AND network=?", (task_id, network)
    )
    errors = store.read(
        "SELECT error, COUNT(*) AS n FROM contributions WHERE task_id=? AND network=? AND error IS NOT NULL "
        "GROUP BY error ORDER BY n DESC, error",
        (task_id, network),
    )
    n_events = store.read("SELECT COUNT(*) FROM events WHERE task_id=? AND network=?", (task_id, network))[0][0]
    out.update(
        rounds=len(series),
        last_round=series[-1]["round"] if series else None,
        latest_round_evaluated=evaluated[-1]["round"] if evaluated else None,
        latest_accuracy=evaluated[-1]["accuracy"] if evaluated else None,
        latest_loss=evaluated[-1]["loss"] if evaluated else None,
        accepted=sum(r["accepted"] for r in series),
        rejected=int(c["rej"] or 0),
        clients=int(c["clients"] or 0),
        errors={r["error"]: r["n"] for r in errors},
        prove_seconds_median=_median([r[0] for r in times if r[0] is not None]),
        verify_seconds_median=_median([r[1] for r in times if r[1] is not None]),
        events=n_events,
        version=data_version(store, task_id, network),
    )
    return out



def task_status(store: MetricsStore, task_id: str, network: str) -> dict[str, Any]:
    """The task's recorded status (TaskNotFound if the store does not know the task)."""
    return _task_row(store, *_key(task_id, network))["status"]


def last_event_seq(store: MetricsStore, task_id: str, network: str) -> int | None:
    """The highest ledger event seq recorded for the task (None if none)."""
    task_id, network = _key(task_id, network)
    return store.read("SELECT MAX(seq) FROM events WHERE task_id=? AND network=?", (task_id, network))[0][0]


def find_task(store: MetricsStore, task: str, network: str) -> str:
    """A task's id from its id or its recorded name (TaskNotFound if none, MetricsError if the
    name is ambiguous)."""
    network = check_network(network)
    if isinstance(task, str) and task.lower().startswith("0x"):
        return _task_row(store, check_task_id(task), network)["task_id"]
    rows = store.read("SELECT task_id FROM tasks WHERE name=? AND network=?", (task, network))
    if not rows:
        raise TaskNotFound(f"no task named {task!r} on network {network!r} in {store.path}")
    if len(rows) > 1:
        raise MetricsError(f"{len(rows)} tasks are named {task!r} on {network}; give the task id (0x...)")
    return rows[0][0]


def task_extra(store: MetricsStore, task_id: str, network: str) -> dict[str, Any]:
    """The task's `extra` record (e.g. the feature scaling and the run's configuration)."""
    return _task_row(store, *_key(task_id, network))["extra"]
