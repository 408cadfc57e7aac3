"""The local ledger's SQLite file: creation, validation, and one transaction per operation.

File format (schema 1). SQLite 3 in WAL mode, `PRAGMA application_id` = 0x5741464C ("WAFL"),
`PRAGMA user_version` = the schema version:

    meta(key, value)              format = "wafl-local-ledger", schema_version, chain_id
                                  (0x + 64 hex, random, made with the file), created_ms,
                                  object_counter (ids derived so far), clock_ms (ledger time:
                                  the latest operation's timestamp; it never goes backwards)
    transactions(seq, digest, op, task_id, sender, status, error_name, error_message,
                 timestamp_ms, message, signature)
                                  every executed operation, 'ok' or 'aborted' (a Move abort),
                                  with the exact signed bytes: the ledger's history
    tasks(task_id, name, admin_cap_id, creator, created_seq, object_version, state_format,
          state, state_digest, updated_ms)
                                  the shared Task objects; `state` is the protocol's TaskState
                                  (state_codec JSON), object_version +1 per mutation
    objects(object_id, type, owner, task_id, created_tx)
                                  every object: 'Task' (owner NULL: shared) and 'TaskAdminCap'
                                  (owner: the address that may use it)
    events(task_id, seq, type, fields, timestamp_ms, tx, digest)
                                  each task's events, seq 0, 1, ... per task; fields JSON

`state_digest` and the events' `digest` are Blake2b-256 checksums of the row's content
(`row_digest`), checked on every read: SQLite checks its b-trees (`quick_check`) but not the
bytes of a value, and a damaged state must be refused, not trusted.

A new file is built completely under a temporary name in the same folder and then linked into
place, so no process ever sees a half-made ledger, and two processes creating the same ledger
at once end up sharing one. An existing file is validated read-only first (SQLite header,
application id, schema version, meta, `PRAGMA quick_check`): anything else is refused with a
message naming the file, and the file is not touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import secrets
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from wafl_sui.ledger.base import LedgerError

SQLITE_MAGIC = b"SQLite format 3\x00"
APPLICATION_ID = 0x5741464C  # "WAFL"
FORMAT = "wafl-local-ledger"
SCHEMA_VERSION = 1
T = TypeVar("T")

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE transactions (
    seq INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    op TEXT NOT NULL,
    task_id TEXT,
    sender TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'aborted')),
    error_name TEXT,
    error_message TEXT,
    timestamp_ms INTEGER NOT NULL,
    message BLOB NOT NULL,
    signature TEXT NOT NULL
);
CREATE INDEX transactions_task ON transactions (task_id, seq);
CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY,
    name TEXT UNIQUE,
    admin_cap_id TEXT NOT NULL,
    creator TEXT NOT NULL,
    created_seq INTEGER NOT NULL,
    object_version INTEGER NOT NULL,
    state_format INTEGER NOT NULL,
    state TEXT NOT NULL,
    state_digest TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE objects (
    object_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    owner TEXT,
    task_id TEXT NOT NULL,
    created_tx TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX objects_owner ON objects (owner, type);
CREATE TABLE events (
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    fields TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    tx TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;
CREATE INDEX events_tx ON events (tx);
"""
TABLES = {"meta", "transactions", "tasks", "objects", "events"}


class LedgerFileError(LedgerError):
    """The ledger file cannot be used: not a ledger, corrupt, newer schema, read-only, missing."""


class LedgerBusy(LedgerError):
    """Other processes held the ledger's write lock for longer than the busy timeout."""


def row_digest(*parts: Any) -> str:
    """Blake2b-256 (hex) of a row's content: the checksum of a stored state or event."""
    h = hashlib.blake2b(digest_size=32)
    for part in parts:
        b = part if isinstance(part, bytes) else str(part).encode()
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def default_path() -> Path:
    """`$WAFL_HOME/ledger.sqlite` (WAFL_HOME defaults to ~/.cache/wafl)."""
    from wafl_sui.toolchain import wafl_home

    return wafl_home() / "ledger.sqlite"


def _is_busy(e: BaseException) -> bool:
    if not isinstance(e, sqlite3.OperationalError):
        return False
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    msg = str(e).lower()
    return "locked" in msg or "busy" in msg


def _ro_uri(path: Path) -> str:
    return "file:" + urllib.parse.quote(str(path)) + "?mode=ro"


class Store:
    """One open ledger file (one SQLite connection, re-made after a fork)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False,
                 create: bool = True, busy_timeout_s: float = 60.0):
        self.path = Path(os.path.expanduser(os.fspath(path))) if path is not None else default_path()
        self.read_only = read_only
        self.busy_timeout_s = float(busy_timeout_s)
        self._lock = threading.RLock()
        self._con: sqlite3.Connection | None = None
        self._pid = os.getpid()
        if self.path.is_dir():
            raise LedgerFileError(f"{self.path} is a folder; pass the path of a ledger file (e.g. {self.path / 'ledger.sqlite'})")
        if not self.path.exists():
            if read_only or not create:
                raise LedgerFileError(f"no ledger at {self.path}: create one first (open it without read_only) or pass the right path")
            self._create()
        self.meta = self._validate()
        self.chain_id: str = self.meta["chain_id"]
        self._connect()

    # ------------------------------------------------------------------ file handling
    def _fail(self, what: str) -> LedgerFileError:
        return LedgerFileError(f"ledger {self.path}: {what}")

    def _create(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LedgerFileError(
                f"cannot create the folder {folder} for the ledger {self.path}: {e.strerror or e} "
                "(a read-only location? set WAFL_HOME or pass a writable path)"
            ) from None
        tmp = folder / f".{self.path.name}.{secrets.token_hex(6)}.new"
        try:
            try:
                con = sqlite3.connect(tmp, isolation_level=None)
            except sqlite3.Error as e:
                raise LedgerFileError(
                    f"cannot create the ledger {self.path}: {e} (a read-only location? set WAFL_HOME or pass a writable path)"
                ) from None
            try:
                if con.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
                    raise LedgerFileError(f"cannot use WAL mode for {self.path} (a network file system?); choose a local path")
                con.execute(f"PRAGMA application_id={APPLICATION_ID}")
                con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                con.execute("BEGIN IMMEDIATE")
                for stmt in filter(str.strip, SCHEMA.split(";")):
                    con.execute(stmt)
                now = time.time_ns() // 1_000_000
                meta = {
                    "format": FORMAT, "schema_version": str(SCHEMA_VERSION),
                    "chain_id": "0x" + secrets.token_hex(32), "created_ms": str(now),
                    "object_counter": "0", "clock_ms": "0",
                }
                con.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
                con.execute("COMMIT")
            except sqlite3.Error as e:
                raise LedgerFileError(
                    f"cannot create the ledger {self.path}: {e} (a read-only location or a full disk? "
                    "set WAFL_HOME or pass a writable path)"
                ) from None
            finally:
                con.close()
            try:
                os.link(tmp, self.path)  # atomic create-if-absent: a ledger made meanwhile wins
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                if not self.path.exists():
                    os.rename(tmp, self.path)
        finally:
            for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()

    def _validate(self) -> dict[str, str]:
        """Read-only checks of an existing file; returns its meta table."""
        p = self.path
        try:
            with open(p, "rb") as f:
                head = f.read(100)
        except OSError as e:
            raise self._fail(f"cannot read it: {e.strerror or e}") from None
        leave = "it was left untouched"
        if not head:
            raise self._fail(f"the file is empty, not a WaFL ledger; {leave}. Delete it or choose a path that does not exist yet.")
        if not head.startswith(SQLITE_MAGIC):
            raise self._fail(f"not a WaFL ledger (not an SQLite database); {leave}. Choose another path (--ledger or WAFL_HOME).")
        try:
            con = sqlite3.connect(_ro_uri(p), uri=True, isolation_level=None, timeout=self.busy_timeout_s)
        except sqlite3.Error as e:
            raise self._fail(f"cannot open it ({e}); {leave}") from None
        try:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            version = con.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if app_id != APPLICATION_ID:
                listed = ", ".join(sorted(tables)) or "none"
                raise self._fail(
                    f"an SQLite database, but not a WaFL ledger (application id {app_id:#x}, tables: {listed}); "
                    f"{leave}. Choose another path."
                )
            if version > SCHEMA_VERSION:
                raise self._fail(
                    f"written by a newer WaFL (ledger schema {version}; this WaFL reads schema {SCHEMA_VERSION}); "
                    f"{leave}. Upgrade WaFL to use it."
                )
            if version < 1 or not TABLES <= tables:
                raise self._fail(f"an incomplete WaFL ledger (schema {version}, tables {sorted(tables)}); {leave}.")
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format") != FORMAT or meta.get("schema_version") != str(version):
                raise self._fail(f"its meta table does not describe a {FORMAT} of schema {version}; {leave}.")
            cid = meta.get("chain_id", "")
            if len(cid) != 66 or not cid.startswith("0x"):
                raise self._fail(f"its chain id {cid!r} is malformed; {leave}.")
            check = [r[0] for r in con.execute("PRAGMA quick_check").fetchall()]
            if check != ["ok"]:
                raise self._fail(
                    f"the database is corrupt ({'; '.join(map(str, check[:3]))}); {leave}. Restore it from a backup, "
                    "or move it away to start a new ledger."
                )
            return meta
        except sqlite3.DatabaseError as e:
            if _is_busy(e):
                raise LedgerBusy(f"ledger {p} stayed locked by another process for {self.busy_timeout_s:.0f} s") from None
            raise self._fail(
                f"corrupt or not a database (sqlite: {e}); {leave}. Restore it from a backup, or move it away "
                "to start a new ledger."
            ) from None
        finally:
            con.close()

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.read_only:
                con = sqlite3.connect(_ro_uri(self.path), uri=True, isolation_level=None,
                                      timeout=self.busy_timeout_s, check_same_thread=False)
            else:
                con = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_s,
                                      check_same_thread=False)
                mode = con.execute("PRAGMA journal_mode").fetchone()[0].lower()
                if mode != "wal":
                    con.close()
                    raise self._fail(f"is in {mode} journal mode, not WAL; it was left untouched")
                con.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as e:
            raise self._translate(e) from None
        self._con, self._pid = con, os.getpid()
        return con

    def _conn(self) -> sqlite3.Connection:
        if self._con is None:
            raise LedgerFileError(f"ledger {self.path} is closed")
        if os.getpid() != self._pid:  # a forked child: never use the parent's connection
            self._con = None
            return self._connect()
        return self._con

    def close(self) -> None:
        with self._lock:
            if self._con is not None and os.getpid() == self._pid:
                with contextlib.suppress(sqlite3.Error):
                    self._con.close()
            self._con = None

    def _translate(self, e: BaseException) -> LedgerError:
        msg = str(e)
        low = msg.lower()
        if _is_busy(e):
            return LedgerBusy(
                f"ledger {self.path} stayed locked by other processes for {self.busy_timeout_s:.0f} s; try again"
            )
        if "readonly" in low or "read-only" in low:
            return self._fail(
                "cannot write to it: the file or its folder is read-only"
                + (" (opened read_only)" if self.read_only else "")
                + "; open a writable copy or fix the permissions"
            )
        if "disk is full" in low or "disk i/o" in low:
            return self._fail(f"cannot write to it ({msg}); free some space or choose another path")
        if "unable to open" in low:
            return self._fail(f"cannot open it ({msg}); is the path or its folder writable?")
        return self._fail(
            f"database error ({msg}); the file may be corrupt. Restore it from a backup, or move it away to start a new ledger."
        )

    # ------------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot (one read transaction)."""
        with self._lock:
            con = self._conn()
            try:
                con.execute("BEGIN")
                try:
                    yield con
                finally:
                    if con.in_transaction:
                        con.execute("COMMIT")
            except sqlite3.Error as e:
                raise self._translate(e) from None

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(con)` in one write transaction (BEGIN IMMEDIATE ... COMMIT); roll back if it
        raises. SQLITE_BUSY anywhere re-runs it from the start (with backoff) until the busy
        timeout, so `fn` must have no effect outside the database."""
        if self.read_only:
            raise self._fail("opened read_only; open it without read_only to change it")
        deadline = time.monotonic() + self.busy_timeout_s
        delay = 0.002
        with self._lock:
            while True:
                con = self._conn()
                try:
                    con.execute("BEGIN IMMEDIATE")
                    try:
                        out = fn(con)
                        con.execute("COMMIT")
                        return out
                    except BaseException:
                        if con.in_transaction:
                            with contextlib.suppress(sqlite3.Error):
                                con.execute("ROLLBACK")
                        raise
                except sqlite3.Error as e:
                    if _is_busy(e) and time.monotonic() < deadline:
                        time.sleep(delay * (0.5 + random.random()))
                        delay = min(delay * 2, 0.25)
                        continue
                    raise self._translate(e) from None

    # ------------------------------------------------------------------ meta helpers (inside a transaction)
    @staticmethod
    def get_meta(con: sqlite3.Connection, key: str) -> str | None:
        row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def set_meta(con: sqlite3.Connection, key: str, value: Any) -> None:
        con.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, str(value)))
