"""SQLite store of task metrics: tasks, evaluations, contributions and ledger events.

One file (default `$WAFL_HOME/metrics.sqlite`, WAFL_HOME defaults to ~/.cache/wafl) holds every
task of every network. The file is in WAL mode and every write is one `BEGIN IMMEDIATE`
transaction on its own connection, so several processes (a federation runner, clients, a
dashboard) can write and read it at the same time. A file that is not a WaFL metrics database
is never modified: opening it raises `MetricsError`.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from wafl_sui.errors import WaflError

SCHEMA_NAME = "wafl-metrics"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
_SQLITE_MAGIC = b"SQLite format 3\x00"
_TASK_ID = re.compile(r"^0x[0-9a-f]{64}$")
_NETWORK = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT NOT NULL,
    network TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    rules TEXT NOT NULL,
    status TEXT NOT NULL,
    float_baseline_accuracy REAL,
    extra TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (task_id, network)
);
CREATE TABLE IF NOT EXISTS evaluations (
    task_id TEXT NOT NULL,
    network TEXT NOT NULL,
    round INTEGER NOT NULL,
    evaluator TEXT NOT NULL,
    accuracy REAL NOT NULL,
    loss REAL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (task_id, network, round, evaluator)
);
CREATE TABLE IF NOT EXISTS contributions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    network TEXT NOT NULL,
    round INTEGER NOT NULL,
    client TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    error TEXT,
    prove_seconds REAL,
    verify_seconds REAL,
    update_norm REAL NOT NULL,
    batch_size INTEGER NOT NULL,
    attacker TEXT,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS contributions_by_round ON contributions (task_id, network, round);
CREATE TABLE IF NOT EXISTS events (
    task_id TEXT NOT NULL,
    network TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    fields TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    PRIMARY KEY (task_id, network, seq)
);
"""


class MetricsError(WaflError):
    """Bad input to the metrics store, or a file that is not a metrics database."""


def metrics_path(home: str | os.PathLike[str] | None = None) -> Path:
    """`<home>/metrics.sqlite`; home defaults to $WAFL_HOME, then ~/.cache/wafl."""
    if home is None:
        home = os.environ.get("WAFL_HOME") or Path.home() / ".cache" / "wafl"
    return Path(home) / "metrics.sqlite"


# --------------------------------------------------------------------------- validation
def check_task_id(task_id: object) -> str:
    """A task id as 0x + 64 lowercase hex digits (upper case is accepted and lowered)."""
    if not isinstance(task_id, str) or not _TASK_ID.match(task_id.lower()):
        raise MetricsError(f"task_id must be 0x followed by 64 hex digits, got {task_id!r}")
    return task_id.lower()


def check_network(network: object) -> str:
    if not isinstance(network, str) or not _NETWORK.match(network):
        raise MetricsError(
            f"network must be a short lowercase name such as 'local', 'localnet' or 'testnet', got {network!r}"
        )
    return network


def _int(name: str, v: object, minimum: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise MetricsError(f"{name} must be an integer >= {minimum}, got {v!r}")
    if v >= 1 << 63:
        raise MetricsError(f"{name} must be below 2^63, got {v}")
    return v


def _float(name: str, v: object, lo: float = 0.0, hi: float = math.inf, optional: bool = False) -> float | None:
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        rng = f"in [{lo}, {hi}]" if math.isfinite(hi) else f">= {lo}"
        extra = " or None" if optional else ""
        raise MetricsError(f"{name} must be a finite number {rng}{extra}, got {v!r}")
    return float(v)


def _text(name: str, v: object, optional: bool = False, max_len: int = 200) -> str | None:
    if v is None and optional:
        return None
    if not isinstance(v, str) or not v or len(v) > max_len:
        raise MetricsError(f"{name} must be a non-empty string of at most {max_len} characters, got {v!r}")
    return v


def _json(name: str, v: object) -> str:
    if not isinstance(v, Mapping):
        raise MetricsError(f"{name} must be a dict, got {type(v).__name__}")
    try:
        return json.dumps(dict(v), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise MetricsError(f"{name} must be JSON-serialisable (no NaN/inf): {e}") from None


# --------------------------------------------------------------------------- store
class MetricsStore:
    """A metrics database file; opens (and creates, unless create=False) it and checks its schema."""

    def __init__(self, path: str | os.PathLike[str] | None = None, create: bool = True):
        self.path = Path(path) if path is not None else metrics_path()
        self._open(create)

    # ---- file handling
    def _open(self, create: bool) -> None:
        p = self.path
        if p.is_dir():
            raise MetricsError(f"{p} is a directory; pass the path of a metrics file (e.g. {metrics_path(p)})")
        if p.exists():
            try:
                with open(p, "rb") as f:
                    head = f.read(len(_SQLITE_MAGIC))
            except OSError as e:
                raise MetricsError(f"cannot read {p}: {e.strerror}") from None
            if head and head != _SQLITE_MAGIC:
                raise MetricsError(
                    f"{p} is not a WaFL metrics database (not an SQLite file); it was left untouched. "
                    "Move it away or choose another file (WAFL_HOME or --metrics)."
                )
        elif not create:
            raise MetricsError(f"no metrics database at {p}; run a task first or pass the right path")
        else:
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise MetricsError(f"cannot create the folder {p.parent}: {e.strerror}") from None
        try:
            with self._connect() as con:
                self._check_or_create_schema(con)
        except sqlite3.DatabaseError as e:
            raise MetricsError(f"{p} is not a usable WaFL metrics database ({e}); it was left untouched") from None

    def _check_or_create_schema(self, con: sqlite3.Connection) -> None:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "meta" not in tables:
            raise MetricsError(
                f"{self.path} is an SQLite database but not a WaFL metrics database (tables: "
                f"{', '.join(sorted(tables))}); it was left untouched. Choose another file."
            )
        if not tables:
            if con.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
                raise MetricsError(f"cannot switch {self.path} to WAL mode (is it on a network file system?)")
            con.execute("BEGIN IMMEDIATE")
            for stmt in filter(str.strip, _SCHEMA.split(";")):
                con.execute(stmt)
            con.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_NAME,))
            con.execute("INSERT OR IGNORE INTO meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
            con.execute("COMMIT")
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema") != SCHEMA_NAME:
            raise MetricsError(f"{self.path} is an SQLite database but not a WaFL metrics database")
        if meta.get("version") != str(SCHEMA_VERSION):
            raise MetricsError(
                f"{self.path} has metrics schema version {meta.get('version')}, this WaFL reads version "
                f"{SCHEMA_VERSION}; use the matching WaFL version or another file"
            )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            con.execute("PRAGMA synchronous=NORMAL")  # WAL: never corrupts; a crash may lose the last write
            yield con
        finally:
            con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: takes the write lock up front, waits if busy)."""
        try:
            with self._connect() as con:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
        except sqlite3.OperationalError as e:
            raise MetricsError(f"cannot write {self.path}: {e}") from None

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one read-only query (used by `query`)."""
        try:
            with self._connect() as con:
                con.row_factory = sqlite3.Row
                return con.execute(sql, tuple(params)).fetchall()
        except sqlite3.OperationalError as e:
            raise MetricsError(f"cannot read {self.path}: {e}") from None

    def _touch(self, con: sqlite3.Connection, task_id: str, network: str) -> None:
        """Bump the task's revision (what live views watch); MetricsError if the task is unknown."""
        cur = con.execute(
            "UPDATE tasks SET revision=revision+1 WHERE task_id=? AND network=?", (task_id, network)
        )
        if cur.rowcount == 0:
            raise MetricsError(f"task {task_id} on {network} is not recorded; call record_task first")

    # ---- writes
    def record_task(
        self,
        task_id: str,
        network: str,
        *,
        rules: Mapping[str, Any],
        name: str = "",
        status: Mapping[str, Any] | None = None,
        float_baseline_accuracy: float | None = None,
        extra: Mapping[str, Any] | None = None,
        created_at: float | None = None,
    ) -> None:
        """Insert or replace a task's description; created_at of an existing task is kept."""
        task_id, network = check_task_id(task_id), check_network(network)
        if not isinstance(name, str) or len(name) > 200:
            raise MetricsError(f"name must be a string of at most 200 characters, got {name!r}")
        rules_j = _json("rules", rules)
        status_j = _json("status", status if status is not None else {})
        extra_j = _json("extra", extra if extra is not None else {})
        base = _float("float_baseline_accuracy", float_baseline_accuracy, 0.0, 1.0, optional=True)
        now = time.time()
        created = _float("created_at", created_at if created_at is not None else now)
        with self._write() as con:
            con.execute(
                "INSERT INTO tasks VALUES (?,?,?,?,?,?,?,?,?,0) ON CONFLICT (task_id, network) DO UPDATE SET "
                "name=excluded.name, updated_at=excluded.updated_at, rules=excluded.rules, "
                "status=excluded.status, float_baseline_accuracy=excluded.float_baseline_accuracy, "
                "extra=excluded.extra, revision=revision+1",
                (task_id, network, name, created, now, rules_j, status_j, base, extra_j),
            )

    def update_status(self, task_id: str, network: str, status: Mapping[str, Any], replace: bool = False) -> dict:
        """Merge `status` into the task's status (or replace it); returns the new status."""
        task_id, network = check_task_id(task_id), check_network(network)
        _json("status", status)
        with self._write() as con:
            self._touch(con, task_id, network)
            old = json.loads(
                con.execute("SELECT status FROM tasks WHERE task_id=? AND network=?", (task_id, network)).fetchone()[0]
            )
            new = dict(status) if replace else {**old, **status}
            con.execute(
                "UPDATE tasks SET status=?, updated_at=? WHERE task_id=? AND network=?",
                (_json("status", new), time.time(), task_id, network),
            )
        return new

    def record_evaluation(
        self,
        task_id: str,
        network: str,
        round: int,
        accuracy: float,
        loss: float | None = None,
        evaluator: str = "coordinator",
        recorded_at: float | None = None,
    ) -> None:
        """The model's test accuracy (0..1) and loss after `round`; replaces an earlier record."""
        task_id, network = check_task_id(task_id), check_network(network)
        row = (
            task_id,
            network,
            _int("round", round),
            _text("evaluator", evaluator),
            _float("accuracy", accuracy, 0.0, 1.0),
            _float("loss", loss, optional=True),
            _float("recorded_at", recorded_at if recorded_at is not None else time.time()),
        )
        with self._write() as con:
            self._touch(con, task_id, network)
            con.execute("INSERT OR REPLACE INTO evaluations VALUES (?,?,?,?,?,?,?)", row)

    def record_contribution(
        self,
        task_id: str,
        network: str,
        round: int,
        client: str,
        *,
        accepted: bool,
        update_norm: float,
        batch_size: int,
        prove_seconds: float | None = None,
        verify_seconds: float | None = None,
        error: str | None = None,
        attacker: str | None = None,
        recorded_at: float | None = None,
    ) -> int:
        """One client update of `round` (accepted, or rejected with an error name); returns its row id."""
        task_id, network = check_task_id(task_id), check_network(network)
        if not isinstance(accepted, bool):
            raise MetricsError(f"accepted must be True or False, got {accepted!r}")
        err = _text("error", error, optional=True, max_len=100)
        if accepted and err is not None:
            raise MetricsError(f"an accepted update has no error, got error={err!r}")
        row = (
            task_id,
            network,
            _int("round", round),
            _text("client", client),
            int(accepted),
            err,
            _float("prove_seconds", prove_seconds, optional=True),
            _float("verify_seconds", verify_seconds, optional=True),
            _float("update_norm", update_norm),
            _int("batch_size", batch_size, 1),
            _text("attacker", attacker, optional=True, max_len=100),
            _float("recorded_at", recorded_at if recorded_at is not None else time.time()),
        )
        with self._write() as con:
            self._touch(con, task_id, network)
            cur = con.execute(
                "INSERT INTO contributions (task_id, network, round, client, accepted, error, prove_seconds, "
                "verify_seconds, update_norm, batch_size, attacker, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            return int(cur.lastrowid or 0)

    def record_events(self, task_id: str, network: str, events: Sequence[Mapping[str, Any]]) -> int:
        """Insert ledger events {seq, type, fields, timestamp_ms}; a seq already stored with the same
        content is skipped, with other content it is an error. Returns the number of new events."""
        task_id, network = check_task_id(task_id), check_network(network)
        if isinstance(events, (str, bytes, Mapping)) or not isinstance(events, Sequence):
            raise MetricsError(f"events must be a list of dicts, got {type(events).__name__}")
        rows = []
        for i, ev in enumerate(events):
            if not isinstance(ev, Mapping):
                raise MetricsError(f"events[{i}] must be a dict, got {type(ev).__name__}")
            unknown = set(ev) - {"seq", "type", "fields", "timestamp_ms"}
            missing = {"seq", "type", "timestamp_ms"} - set(ev)
            if unknown or missing:
                raise MetricsError(
                    f"events[{i}] needs keys seq, type, timestamp_ms (and optional fields); "
                    f"missing {sorted(missing)}, unknown {sorted(unknown)}"
                )
            rows.append(
                (
                    _int(f"events[{i}].seq", ev["seq"]),
                    _text(f"events[{i}].type", ev["type"]),
                    _json(f"events[{i}].fields", ev.get("fields", {})),
                    _int(f"events[{i}].timestamp_ms", ev["timestamp_ms"]),
                )
            )
        new = 0
        with self._write() as con:
            self._touch(con, task_id, network)
            for seq, typ, fields, ts in rows:
                old = con.execute(
                    "SELECT type, fields, timestamp_ms FROM events WHERE task_id=? AND network=? AND seq=?",
                    (task_id, network, seq),
                ).fetchone()
                if old is None:
                    con.execute("INSERT INTO events VALUES (?,?,?,?,?,?)", (task_id, network, seq, typ, fields, ts))
                    new += 1
                elif tuple(old) != (typ, fields, ts):
                    raise MetricsError(
                        f"event seq {seq} of task {task_id} on {network} is already stored as {old[0]} with "
                        "other content; events are append-only"
                    )
        return new
