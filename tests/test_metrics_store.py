"""The metrics store (wafl_sui/metrics/store.py) and its read queries (query.py): round trips,
replacement and idempotence rules, clear errors for bad input and foreign files, WAL mode and
several processes writing one file."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wafl_sui.metrics import query
from wafl_sui.metrics.store import MetricsError, MetricsStore, metrics_path

TASK = "0x" + "1f" * 32
OTHER = "0x" + "2e" * 32
RULES = {"rule": "trimmed_mean", "trim_bps": 1000, "quorum": 3, "lr_q": 410, "round_duration_ms": 60_000,
         "max_rounds": 10, "spec": {"features": 4, "classes": 2}, "open": True}


@pytest.fixture
def store(tmp_path: Path) -> MetricsStore:
    s = MetricsStore(tmp_path / "metrics.sqlite")
    s.record_task(TASK, "local", rules=RULES, name="iris trimmed", status={"round": 0, "finished": False},
                  float_baseline_accuracy=0.93)
    return s


def contribute(s: MetricsStore, round_: int, client: str, ok: bool, prove: float | None, verify: float | None,
               **kw) -> int:
    return s.record_contribution(TASK, "local", round_, client, accepted=ok, prove_seconds=prove,
                                 verify_seconds=verify, update_norm=0.5, batch_size=16,
                                 error=kw.pop("error", None if ok else "EInvalidProof"), **kw)


# --------------------------------------------------------------------------- paths and files
def test_metrics_path_follows_wafl_home(tmp_path, monkeypatch):
    monkeypatch.setenv("WAFL_HOME", str(tmp_path / "home"))
    assert metrics_path() == tmp_path / "home" / "metrics.sqlite"
    assert metrics_path(tmp_path) == tmp_path / "metrics.sqlite"
    monkeypatch.delenv("WAFL_HOME")
    assert metrics_path() == Path.home() / ".cache" / "wafl" / "metrics.sqlite"
    monkeypatch.setenv("WAFL_HOME", str(tmp_path / "home"))
    s = MetricsStore()  # the default file, folder created
    assert s.path == tmp_path / "home" / "metrics.sqlite" and s.path.is_file()


def test_file_is_wal_with_schema(store):
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"meta", "tasks", "evaluations", "contributions", "events"} <= tables
    con.close()
    MetricsStore(store.path)  # reopening an existing store is fine


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_foreign_text_file_is_refused_and_left_untouched(tmp_path):
    p = tmp_path / "metrics.sqlite"
    p.write_text("my notes, not a database\n")
    before = _digest(p)
    with pytest.raises(MetricsError, match="not a WaFL metrics database.*untouched"):
        MetricsStore(p)
    assert _digest(p) == before


def test_foreign_sqlite_database_is_refused_and_left_untouched(tmp_path):
    p = tmp_path / "other.db"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE songs (title TEXT)")
    con.execute("INSERT INTO songs VALUES ('x')")
    con.commit()
    con.close()
    before = _digest(p)
    with pytest.raises(MetricsError, match="SQLite database but not a WaFL metrics database.*songs"):
        MetricsStore(p)
    assert _digest(p) == before
    assert not (tmp_path / "other.db-wal").exists() or (tmp_path / "other.db-wal").stat().st_size == 0


def test_newer_schema_version_is_refused(store):
    con = sqlite3.connect(store.path)
    con.execute("UPDATE meta SET value='99' WHERE key='version'")
    con.commit()
    con.close()
    with pytest.raises(MetricsError, match="schema version 99"):
        MetricsStore(store.path)


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(MetricsError, match="is a directory"):
        MetricsStore(tmp_path)
    with pytest.raises(MetricsError, match="no metrics database"):
        MetricsStore(tmp_path / "absent.sqlite", create=False)
    assert not (tmp_path / "absent.sqlite").exists()


# --------------------------------------------------------------------------- tasks and status
def test_task_round_trip_and_upsert_keeps_created_at(store):
    s = query.task_summary(store, TASK, "local")
    assert (s["rules"], s["status"], s["name"], s["float_baseline_accuracy"]) == (
        RULES, {"round": 0, "finished": False}, "iris trimmed", 0.93)
    created = s["created_at"]
    store.record_task(TASK.upper().replace("0X", "0x"), "local", rules={**RULES, "quorum": 4}, name="renamed")
    s2 = query.task_summary(store, TASK, "local")
    assert s2["created_at"] == created and s2["rules"]["quorum"] == 4 and s2["name"] == "renamed"
    assert s2["float_baseline_accuracy"] is None
    assert [t["task_id"] for t in query.list_tasks(store)] == [TASK]


def test_same_task_id_on_two_networks_is_two_tasks(store):
    store.record_task(TASK, "testnet", rules={"rule": "median"}, created_at=store_time(store) + 10)
    tasks = query.list_tasks(store)
    assert [(t["network"], t["rule"]) for t in tasks] == [("testnet", "median"), ("local", "trimmed_mean")]
    store.record_evaluation(TASK, "testnet", 0, 0.5)
    assert query.task_summary(store, TASK, "local")["latest_accuracy"] is None


def store_time(store: MetricsStore) -> float:
    return query.task_summary(store, TASK, "local")["created_at"]


def test_update_status_merges_or_replaces(store):
    assert store.update_status(TASK, "local", {"round": 1, "deadline_ms": 1234}) == {
        "round": 1, "deadline_ms": 1234, "finished": False}
    assert query.task_summary(store, TASK, "local")["status"]["deadline_ms"] == 1234
    assert store.update_status(TASK, "local", {"finished": True}, replace=True) == {"finished": True}
    assert query.task_summary(store, TASK, "local")["status"] == {"finished": True}
    with pytest.raises(MetricsError, match="not recorded; call record_task first"):
        store.update_status(OTHER, "local", {"round": 1})


# --------------------------------------------------------------------------- evaluations and contributions
def test_evaluations_replace_per_round_and_evaluator(store):
    store.record_evaluation(TASK, "local", 0, 0.40, 1.2)
    store.record_evaluation(TASK, "local", 1, 0.60, 0.9)
    store.record_evaluation(TASK, "local", 1, 0.70, 0.8)  # re-recorded: replaces
    store.record_evaluation(TASK, "local", 1, 0.50, None, evaluator="client-a")  # second evaluator: averaged
    series = query.round_series(store, TASK, "local")
    assert [(r["round"], r["accuracy"], r["loss"]) for r in series] == [(0, 0.40, 1.2), (1, pytest.approx(0.60), 0.8)]
    s = query.task_summary(store, TASK, "local")
    assert s["latest_accuracy"] == pytest.approx(0.60) and s["latest_round_evaluated"] == 1
    assert query.list_tasks(store)[0]["latest_accuracy"] == pytest.approx(0.60)


def test_contribution_counts_and_medians(store):
    rows = [  # round, client, accepted, prove, verify, error
        (0, "0xa", True, 3.0, 0.010, None), (0, "0xb", True, 5.0, 0.030, None), (0, "0xc", False, 4.0, None, "EInvalidProof"),
        (1, "0xa", True, 2.0, 0.020, None), (1, "0xb", False, None, None, "ERoundClosed"),
        (1, "0xc", False, 7.0, 0.050, "EInvalidProof"), (2, "0xa", True, 1.0, 0.040, None),
    ]
    for r, c, ok, p, v, err in rows:
        contribute(store, r, c, ok, p, v, **({"error": err} if err else {}), attacker="label-flip" if c == "0xc" else None)
    series = query.round_series(store, TASK, "local")
    for n in (0, 1, 2):
        mine = [x for x in rows if x[0] == n]
        want_p = [x[3] for x in mine if x[3] is not None]
        want_v = [x[4] for x in mine if x[4] is not None]
        got = series[n]
        assert got["round"] == n and got["accuracy"] is None
        assert got["accepted"] == sum(x[2] for x in mine) and got["rejected"] == sum(not x[2] for x in mine)
        assert got["prove_seconds_median"] == pytest.approx(statistics.median(want_p))
        assert got["verify_seconds_median"] == pytest.approx(statistics.median(want_v))
    s = query.task_summary(store, TASK, "local")
    assert (s["accepted"], s["rejected"], s["clients"], s["rounds"], s["last_round"]) == (4, 3, 3, 3, 2)
    assert s["errors"] == {"EInvalidProof": 2, "ERoundClosed": 1}
    assert s["prove_seconds_median"] == pytest.approx(statistics.median([3, 5, 4, 2, 7, 1]))
    c1 = query.contributions(store, TASK, "local", round=1)
    assert [(c["client"], c["accepted"], c["error"], c["attacker"]) for c in c1] == [
        ("0xa", True, None, None), ("0xb", False, "ERoundClosed", None), ("0xc", False, "EInvalidProof", "label-flip")]
    assert len(query.contributions(store, TASK, "local")) == len(rows)


# --------------------------------------------------------------------------- events
def ev(seq: int, typ: str = "UpdateAccepted", **fields) -> dict:
    return {"seq": seq, "type": typ, "fields": fields, "timestamp_ms": 1_700_000_000_000 + seq}


def test_events_are_idempotent_by_seq(store):
    assert store.record_events(TASK, "local", [ev(0, "TaskCreated"), ev(1, client="0xa"), ev(2, "RoundAggregated")]) == 3
    assert store.record_events(TASK, "local", [ev(1, client="0xa"), ev(2, "RoundAggregated"), ev(3)]) == 1
    got = query.events(store, TASK, "local")
    assert [(e["seq"], e["type"]) for e in got] == [(0, "TaskCreated"), (1, "UpdateAccepted"), (2, "RoundAggregated"),
                                                     (3, "UpdateAccepted")]
    assert got[1]["fields"] == {"client": "0xa"}
    assert [e["seq"] for e in query.events(store, TASK, "local", after_seq=1, limit=1)] == [2]
    assert query.task_summary(store, TASK, "local")["events"] == 4


def test_conflicting_event_rolls_back_the_whole_batch(store):
    store.record_events(TASK, "local", [ev(0, "TaskCreated")])
    with pytest.raises(MetricsError, match="seq 0 .* already stored as TaskCreated"):
        store.record_events(TASK, "local", [ev(1), ev(0, "UpdateAccepted")])
    assert [e["seq"] for e in query.events(store, TASK, "local")] == [0]


@pytest.mark.parametrize(
    "events, match",
    [
        ({"seq": 0}, "must be a list of dicts"),
        ([42], r"events\[0\] must be a dict"),
        ([{"seq": 0, "type": "X"}], r"missing \['timestamp_ms'\]"),
        ([{"seq": 0, "type": "X", "timestamp_ms": 1, "when": 2}], r"unknown \['when'\]"),
        ([{"seq": -1, "type": "X", "timestamp_ms": 1}], r"seq must be an integer >= 0"),
        ([{"seq": 0, "type": "X", "timestamp_ms": 1, "fields": {"x": float("nan")}}], "JSON-serialisable"),
    ],
)
def test_bad_events(store, events, match):
    with pytest.raises(MetricsError, match=match):
        store.record_events(TASK, "local", events)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda s: s.record_task("0x12", "local", rules={}), "task_id must be 0x followed by 64 hex digits"),
        (lambda s: s.record_task(TASK, "Local Net", rules={}), "network must be a short lowercase name"),
        (lambda s: s.record_task(TASK, "local", rules=[1]), "rules must be a dict"),
        (lambda s: s.record_task(TASK, "local", rules={"f": object()}), "rules must be JSON-serialisable"),
        (lambda s: s.record_task(TASK, "local", rules={}, float_baseline_accuracy=93.0), r"in \[0.0, 1.0\]"),
        (lambda s: s.record_evaluation(TASK, "local", 0, 1.5), r"accuracy must be a finite number in \[0.0, 1.0\]"),
        (lambda s: s.record_evaluation(TASK, "local", 0, 0.5, math.inf), "loss must be a finite number"),
        (lambda s: s.record_evaluation(TASK, "local", -1, 0.5), "round must be an integer >= 0"),
        (lambda s: s.record_evaluation(TASK, "local", True, 0.5), "round must be an integer"),
        (lambda s: s.record_evaluation(OTHER, "local", 0, 0.5), "not recorded; call record_task first"),
        (lambda s: contribute(s, 0, "0xa", True, 1.0, None, error="EInvalidProof"), "accepted update has no error"),
        (lambda s: contribute(s, 0, "", True, 1.0, None), "client must be a non-empty string"),
        (lambda s: contribute(s, 0, "0xa", True, -1.0, None), "prove_seconds must be a finite number >= 0"),
        (lambda s: s.record_contribution(TASK, "local", 0, "0xa", accepted=1, update_norm=1.0, batch_size=1),
         "accepted must be True or False"),
        (lambda s: s.record_contribution(TASK, "local", 0, "0xa", accepted=True, update_norm=1.0, batch_size=0),
         "batch_size must be an integer >= 1"),
        (lambda s: query.task_summary(s, OTHER, "local"), "no task 0x2e"),
        (lambda s: query.contributions(s, TASK, "local", round="1"), "round must be an integer"),
    ],
)
def test_bad_input_has_a_clear_error(store, call, match):
    with pytest.raises(MetricsError, match=match):
        call(store)


def test_task_not_found_is_a_metrics_error(store):
    with pytest.raises(query.TaskNotFound):
        query.round_series(store, OTHER, "local")


# --------------------------------------------------------------------------- live views and JSON
def test_data_version_changes_on_every_write(store):
    seen = {query.data_version(store, TASK, "local")}
    for write in (
        lambda: store.record_evaluation(TASK, "local", 0, 0.5),
        lambda: store.record_evaluation(TASK, "local", 0, 0.5),  # same values again still is a write
        lambda: contribute(store, 0, "0xa", True, 1.0, 0.01),
        lambda: store.record_events(TASK, "local", [ev(0)]),
        lambda: store.update_status(TASK, "local", {"round": 1}),
        lambda: store.record_task(TASK, "local", rules=RULES),
    ):
        write()
        v = query.data_version(store, TASK, "local")
        assert v not in seen
        seen.add(v)


def test_everything_is_json_serialisable(store):
    store.record_evaluation(TASK, "local", 0, 0.5, 0.7)
    contribute(store, 0, "0xa", True, 1.0, None)
    store.record_events(TASK, "local", [ev(0, "TaskCreated", rules=RULES)])
    out = {
        "tasks": query.list_tasks(store),
        "summary": query.task_summary(store, TASK, "local"),
        "series": query.round_series(store, TASK, "local"),
        "contributions": query.contributions(store, TASK, "local"),
        "events": query.events(store, TASK, "local"),
    }
    assert json.loads(json.dumps(out, allow_nan=False)) == out


# --------------------------------------------------------------------------- several processes
WRITER = textwrap.dedent(
    """
    import sys
    from wafl_sui.metrics.store import MetricsStore
    path, task, who, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    s = MetricsStore(path)
    s.record_task(task, "local", rules={"rule": "fedavg"})  # every writer may (re)create the task
    for i in range(n):
        s.record_contribution(task, "local", i % 5, who, accepted=True, prove_seconds=0.1, update_norm=1.0,
                              batch_size=8)
        s.record_evaluation(task, "local", i, 0.5, evaluator=who)
        s.record_events(task, "local", [{"seq": i, "type": "UpdateAccepted", "fields": {}, "timestamp_ms": i}])
    """
)


def test_several_processes_write_one_file(tmp_path):
    path = tmp_path / "shared.sqlite"  # not created yet: the writers race to create it
    n, writers = 40, 4
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), TASK, f"0xw{k}", str(n)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in range(writers)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    s = MetricsStore(path)
    assert len(query.contributions(s, TASK, "local")) == n * writers
    assert query.task_summary(s, TASK, "local")["clients"] == writers
    assert len(query.events(s, TASK, "local")) == n  # the same seqs from every writer: stored once
    con = sqlite3.connect(path)
    assert con.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0] == n * writers
    con.close()
