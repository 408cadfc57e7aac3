"""`LocalLedger`: the embedded ledger that behaves like the Move contract, in one SQLite file.

Every operation is a signed operation (`ops`): the method that takes a `signer` builds and signs
it, then `apply` checks it and executes it in ONE SQLite transaction (BEGIN IMMEDIATE ...
COMMIT): record check (an operation already executed has no second effect: `apply` returns its
receipt again, or raises its abort again), ledger time, the pure protocol transition
(`wafl_sui.protocol.task`, which holds every rule, in the contract's order, with the
contract's error names), then the new state, the events and the transaction record. A broken
rule raises `ProtocolError` and changes nothing but the record that this operation aborted
(as a chain records a failed transaction); a killed process leaves the ledger as it was
before the operation.

Proofs are checked with a full pairing check of the exact bytes `sui::groth16` would get (the
public inputs the protocol builds, encoded as Sui decodes them; the stored *prepared* key). So
that clients on several processes do not wait on one another, the slow parts happen before the
write lock is taken: the verifier's per-key set-up, and with the slow py_ecc verifier the whole
transition on a snapshot, which fills a cache of pairing results (keyed by the exact key, input
and proof bytes) that the transaction then finds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from wafl_sui.ledger.base import Event, Ledger, LedgerError, Receipt, TaskNotFound, TaskRef, TaskView
from wafl_sui.ledger.local import ops as ops_mod
from wafl_sui.ledger.local import state_codec
from wafl_sui.ledger.local.clock import FixedClock, MachineClock, wall_clock_ms
from wafl_sui.ledger.local.ops import SignedOp
from wafl_sui.ledger.local.store import LedgerFileError, Store, row_digest
from wafl_sui.ledger.local.verify import BACKENDS, DEFAULT_BACKEND, pvk_digest, verify_bytes
from wafl_sui.ledger.local.verify import warm as warm_verifier
from wafl_sui import protocol
from wafl_sui.protocol import codec
from wafl_sui.protocol import round as round_mod
from wafl_sui.protocol import rules as rules_mod
from wafl_sui.protocol import task as ptask
from wafl_sui.protocol import ProtocolError, StepSpec
from wafl_sui.zk import sui_bytes

Clock = Callable[[], int]
Hook = Callable[[str], None]
_OBJECT_ID_DOMAIN = b"wafl.local.object-id"
_VERIFY_CACHE = 4096
_STATE_CACHE = 64


def derive_object_id(chain_id: str, counter: int) -> str:
    """An object id as Sui derives them (a hash of where and when it was made): Blake2b-256 of
    the ledger's chain id and the ledger-wide creation counter."""
    h = hashlib.blake2b(_OBJECT_ID_DOMAIN + codec.address_bytes(chain_id) + int(counter).to_bytes(8, "little"), digest_size=32)
    return "0x" + h.hexdigest()


@dataclass(frozen=True)
class TxRecord:
    """One executed operation of the ledger's history."""

    seq: int
    digest: str
    op: str
    task_id: str | None
    sender: str
    status: str  # "ok" or "aborted"
    error: str | None  # the Move error name of an abort
    timestamp_ms: int


@dataclass
class _Outcome:
    receipt: Receipt | None = None
    error: ProtocolError | None = None
    replayed: bool = False


class LocalLedger(Ledger):
    """The local ledger in one file (default `$WAFL_HOME/ledger.sqlite`).

    clock: None (the default): ledger time is the machine's own monotonic clock, anchored in the
    file (`clock.MachineClock`), never the clock of the process applying an operation; or, for
    tests and replays, a callable returning the time in ms. Ledger time never goes backwards.
    read_only: reads only (a viewer); every operation raises LedgerError.
    verifier: "fast" / "py_ecc" / None (the fastest available) for the pairing check.
    """

    network = "local"

    def __init__(self, path: str | Path | None = None, *, clock: Clock | None = None, read_only: bool = False,
                 busy_timeout_s: float = 60.0, verifier: str | None = None, _hook: Hook | None = None):
        if verifier is not None and verifier not in BACKENDS:
            raise LedgerError(f"unknown verifier {verifier!r}; choose one of {', '.join(BACKENDS)} (or None: the fastest)")
        if clock is not None and not callable(clock):
            raise LedgerError("clock must be a callable returning the time in ms")
        self._store = Store(path, read_only=read_only, busy_timeout_s=busy_timeout_s)
        self._clock: MachineClock | FixedClock = FixedClock(clock) if clock is not None else MachineClock()
        self._backend = verifier
        self._hook = _hook
        self._lock = threading.RLock()
        self._verified: OrderedDict[tuple[bytes, bytes, bytes], tuple[bool, float]] = OrderedDict()
        self._tls = threading.local()  # per operation: the seconds its pairing check took
        self._prepared: OrderedDict[bytes, Any] = OrderedDict()
        self._states: OrderedDict[str, tuple[Any, Any]] = OrderedDict()  # task id -> ((row version, digest), state)

    # ------------------------------------------------------------------ basics
    @property
    def path(self) -> Path:
        return self._store.path

    @property
    def chain_id(self) -> str:
        """The random id of this ledger file; every signed operation names it."""
        return self._store.chain_id

    @property
    def read_only(self) -> bool:
        return self._store.read_only

    def close(self) -> None:
        self._store.close()

    def __repr__(self) -> str:
        return f"LocalLedger({str(self.path)!r}, chain_id={self.chain_id})"

    # ------------------------------------------------------------------ tasks (reads)
    def _resolve(self, con: sqlite3.Connection, task: Any) -> str:
        if isinstance(task, (TaskRef, TaskView)):
            task = task.task_id
        if not isinstance(task, str) or not task:
            raise TaskNotFound(f"a task is named by its id (0x...) or its name, got {task!r}")
        if task.startswith(("0x", "0X")):
            try:
                tid = codec.normalize_address(task)
            except ValueError:
                raise TaskNotFound(f"{task!r} is not a task id (0x + up to 64 hex digits)") from None
            if con.execute("SELECT 1 FROM tasks WHERE task_id = ?", (tid,)).fetchone():
                return tid
        else:
            row = con.execute("SELECT task_id FROM tasks WHERE name = ?", (task,)).fetchone()
            if row:
                return row[0]
        names = [r[0] for r in con.execute("SELECT name FROM tasks WHERE name IS NOT NULL ORDER BY created_seq LIMIT 6")]
        known = f" (named tasks: {', '.join(names[:5])}{', ...' if len(names) > 5 else ''})" if names else ""
        raise TaskNotFound(f"no task {task!r} on the local ledger {self.path}{known}")

    def _load(self, con: sqlite3.Connection, task_id: str) -> tuple[Any, str | None]:
        row = con.execute(
            "SELECT state, state_format, object_version, name, state_digest FROM tasks WHERE task_id = ?", (task_id,)
        ).fetchone()
        if row is None:
            raise TaskNotFound(f"no task {task_id} on the local ledger {self.path}")
        text, fmt, version, name, digest = row
        if fmt != state_codec.STATE_FORMAT:
            raise LedgerError(
                f"task {task_id} in {self.path} is stored in state format {fmt}; this WaFL reads format "
                f"{state_codec.STATE_FORMAT}: upgrade WaFL"
            )
        with self._lock:
            hit = self._states.get(task_id)
            if hit is not None and hit[0] == (version, digest):
                self._states.move_to_end(task_id)
                return hit[1], name
        if row_digest(task_id, text) != digest:
            raise self._corrupt(f"the stored state of task {task_id} does not match its checksum")
        try:
            state = state_codec.loads(text)
        except LedgerError as e:
            raise LedgerError(f"task {task_id} in {self.path}: {e}") from None
        self._remember_state(task_id, (version, digest), state)
        return state, name

    def _corrupt(self, what: str) -> LedgerFileError:
        return LedgerFileError(
            f"ledger {self.path}: {what}: the file is damaged; it was left untouched. Restore it from a "
            "backup, or move it away to start a new ledger."
        )

    def _remember_state(self, task_id: str, version: Any, state: Any) -> None:
        with self._lock:
            self._states[task_id] = (version, state)
            self._states.move_to_end(task_id)
            while len(self._states) > _STATE_CACHE:
                self._states.popitem(last=False)

    def state(self, task: str) -> Any:
        """The task's protocol state (`wafl_sui.protocol.task.TaskState`), as stored."""
        with self._store.read() as con:
            return self._load(con, self._resolve(con, task))[0]

    def task(self, task: str) -> TaskView:
        with self._store.read() as con:
            tid = self._resolve(con, task)
            state, name = self._load(con, tid)
        return task_view(state, name)

    def tasks(self) -> list[TaskView]:
        with self._store.read() as con:
            ids = [r[0] for r in con.execute("SELECT task_id FROM tasks ORDER BY created_seq")]
            loaded = [self._load(con, tid) for tid in ids]
        return [task_view(s, n) for s, n in loaded]

    def has_submitted(self, task: str, participant: str) -> bool:
        return bool(self.state(task).has_submitted(ops_mod.encode_arg("address", participant, "participant")))

    def is_allowed(self, task: str, participant: str) -> bool:
        return bool(self.state(task).is_allowed(ops_mod.encode_arg("address", participant, "participant")))

    def events(self, task: str, after_seq: int = -1) -> list[Event]:
        with self._store.read() as con:
            tid = self._resolve(con, task)
            rows = con.execute(
                "SELECT seq, type, fields, timestamp_ms, tx, digest FROM events WHERE task_id = ? AND seq > ? ORDER BY seq",
                (tid, int(after_seq)),
            ).fetchall()
        return [self._event(tid, *r) for r in rows]

    def _event(self, task_id: str, seq: int, typ: str, fields: str, ts: int, tx: str, digest: str) -> Event:
        if row_digest(task_id, seq, typ, fields, ts, tx) != digest:
            raise self._corrupt(f"event {seq} of task {task_id} does not match its checksum")
        try:
            return Event(seq, typ, json.loads(fields), ts, tx)
        except ValueError:
            raise self._corrupt(f"event {seq} of task {task_id} is not JSON") from None

    def admin_cap(self, task: str) -> tuple[str, str]:
        """(admin cap id, the address that owns it) of a task."""
        with self._store.read() as con:
            tid = self._resolve(con, task)
            row = con.execute("SELECT object_id, owner FROM objects WHERE task_id = ? AND type = 'TaskAdminCap'", (tid,)).fetchone()
        return row[0], row[1]

    def owned_objects(self, owner: str) -> list[tuple[str, str, str]]:
        """(object id, type, task id) of every object `owner` owns."""
        with self._store.read() as con:
            return [tuple(r) for r in con.execute(
                "SELECT object_id, type, task_id FROM objects WHERE owner = ? ORDER BY object_id",
                (ops_mod.encode_arg("address", owner, "owner"),))]

    def transactions(self, task: str | None = None) -> list[TxRecord]:
        """The executed operations, in order (of one task, or all)."""
        with self._store.read() as con:
            q = "SELECT seq, digest, op, task_id, sender, status, error_name, timestamp_ms FROM transactions"
            if task is None:
                rows = con.execute(q + " ORDER BY seq").fetchall()
            else:
                rows = con.execute(q + " WHERE task_id = ? ORDER BY seq", (self._resolve(con, task),)).fetchall()
        return [TxRecord(*r) for r in rows]

    def signed_operation(self, digest: str) -> SignedOp:
        """The signed bytes of an executed operation (to audit or re-check it)."""
        with self._store.read() as con:
            row = con.execute("SELECT message, signature FROM transactions WHERE digest = ?", (digest,)).fetchone()
        if row is None:
            raise LedgerError(f"no operation {digest} on the local ledger {self.path}")
        return SignedOp(bytes(row[0]), row[1])

    # ------------------------------------------------------------------ operations
    def build_operation(self, signer: Any, op: str, task: str | None = None, **args: Any) -> SignedOp:
        """Encode and sign one operation for this ledger (it can be applied here or elsewhere,
        e.g. by another process, with `apply`). Admin operations name the task's admin cap
        unless `cap=` is given."""
        tid = None
        if op not in ops_mod.TASKLESS_OPS:
            with self._store.read() as con:
                tid = self._resolve(con, task)
                if op in ops_mod.ADMIN_OPS and "cap" not in args:
                    args["cap"] = con.execute("SELECT admin_cap_id FROM tasks WHERE task_id = ?", (tid,)).fetchone()[0]
        return ops_mod.build(signer, self.chain_id, op, tid, args)

    def apply(self, signed: SignedOp) -> Receipt:
        """Check and execute a signed operation in one transaction; its receipt. An operation
        already executed is not executed again: its receipt is returned again (with
        `info["replayed"]`), or its abort raised again.

        `receipt.info` of an executed `submit_update` holds `verify_seconds` (the pairing check of
        its proof) and `verifier` ("fast" / "py_ecc"); a rejected one carries `verify_seconds` on
        the ProtocolError when its proof was checked."""
        op = ops_mod.decode(signed, self.chain_id)
        self._tls.verify_seconds = None
        self._warm(op)
        out = self._store.write(lambda con: self._execute(con, op, signed))
        seconds = self._tls.verify_seconds
        if out.error is not None:
            if seconds is not None and not out.replayed:
                out.error.verify_seconds = seconds
            raise out.error
        assert out.receipt is not None
        if out.replayed:
            info: dict[str, Any] = {"replayed": True}
        elif seconds is not None:
            info = {"verify_seconds": seconds, "verifier": self._backend or DEFAULT_BACKEND}
        else:
            info = {}
        return dataclasses.replace(out.receipt, info=info)

    def create_task(
        self, signer: Any, spec: StepSpec, round_rules: Any, aggregation: Any, lr_q: int, open_: bool,
        initial_model: Sequence[int], vk: bytes, *, name: str | None = None, deposit_mist: int = 0,
    ) -> TaskRef:
        signed = self.build_operation(
            signer, "create_task", spec=spec, round_rules=round_rules, aggregation=aggregation, lr_q=lr_q,
            open=open_, deposit_mist=deposit_mist, initial_model=initial_model, vk=vk, name=name,
        )
        return self.task_ref(self.apply(signed))

    def task_ref(self, receipt: Receipt) -> TaskRef:
        """The TaskRef of a create_task receipt."""
        with self._store.read() as con:
            row = con.execute(
                "SELECT t.task_id, t.admin_cap_id, t.name FROM transactions x JOIN tasks t ON t.task_id = x.task_id "
                "WHERE x.digest = ? AND x.op = 'create_task'", (receipt.tx,)).fetchone()
        if row is None:
            raise LedgerError(f"operation {receipt.tx} did not create a task")
        return TaskRef(*row)

    def register(self, signer: Any, task: str) -> Receipt:
        """`task::register` with the task's deposit. The local ledger has no currency: the
        deposit is recorded (the amount in ParticipantRegistered), not transferred."""
        return self.apply(self.build_operation(signer, "register", task, deposit=self.state(task).deposit_mist))

    def leave(self, signer: Any, task: str) -> Receipt:
        return self.apply(self.build_operation(signer, "leave", task))

    def open_round(self, signer: Any, task: str) -> Receipt:
        """`task::open_round`: the ledger draws the round's randomness from the OS
        (`secrets.token_bytes(32)`) inside the transaction and records it (state and event)."""
        return self.apply(self.build_operation(signer, "open_round", task))

    def submit_update(self, signer: Any, task: str, new_weights: Sequence[int], data_commitment: int, proof: bytes) -> Receipt:
        return self.apply(self.build_operation(
            signer, "submit_update", task, new_weights=new_weights, data_commitment=data_commitment, proof=proof))

    def aggregate(self, signer: Any, task: str) -> Receipt:
        return self.apply(self.build_operation(signer, "aggregate", task))

    def discard_round(self, signer: Any, task: str) -> Receipt:
        return self.apply(self.build_operation(signer, "discard_round", task))

    def add_participant(self, signer: Any, task: str, participant: str) -> Receipt:
        return self.apply(self.build_operation(signer, "add_participant", task, participant=participant))

    def remove_participant(self, signer: Any, task: str, participant: str) -> Receipt:
        return self.apply(self.build_operation(signer, "remove_participant", task, participant=participant))

    def set_open(self, signer: Any, task: str, open_: bool) -> Receipt:
        return self.apply(self.build_operation(signer, "set_open", task, open=open_))

    def restart_round(self, signer: Any, task: str) -> Receipt:
        return self.apply(self.build_operation(signer, "restart_round", task))

    def migrate(self, signer: Any, task: str) -> Receipt:
        return self.apply(self.build_operation(signer, "migrate", task))

    def set_manifest(self, signer: Any, task: str, manifest: bytes) -> Receipt:
        return self.apply(self.build_operation(signer, "set_manifest", task, manifest=bytes(manifest)))

    def manifest(self, task: str) -> bytes:
        return bytes(self.state(task).manifest)

    # private tasks (`wafl::private_task`; docs/PRIVACY.md)
    def set_privacy(self, signer: Any, task: str, params: protocol.privacy.DpParams) -> Receipt:
        return self.apply(self.build_operation(signer, "set_privacy", task, params=params))

    def register_private(self, signer: Any, task: str, data_commitment: int, seed_commitment: int) -> Receipt:
        """`private_task::register_private` with the task's deposit (recorded, as `register`)."""
        return self.apply(self.build_operation(
            signer, "register_private", task, deposit=self.state(task).deposit_mist,
            data_commitment=data_commitment, seed_commitment=seed_commitment))

    def submit_private_update(self, signer: Any, task: str, new_weights: Sequence[int], proof: bytes) -> Receipt:
        return self.apply(self.build_operation(signer, "submit_private_update", task, new_weights=new_weights, proof=proof))

    def privacy_params(self, task: str) -> protocol.privacy.DpParams | None:
        return self.state(task).privacy

    def private_registration(self, task: str, participant: str) -> protocol.task.PrivateRegistration | None:
        return self.state(task).private_registration(participant)

    def contributions(self, task: str, participant: str) -> int:
        return self.state(task).contributions_of(participant)

    # ------------------------------------------------------------------ verification
    def _verify(self, pvk: Any, public_inputs: Sequence[int], proof: bytes) -> bool:
        """The `verify` the protocol calls: Sui's public-input bytes, a full pairing check (its
        result cached by the exact bytes, so the transaction does not repeat a check made on the
        snapshot before it)."""
        inputs_b = codec.public_inputs_bytes(list(public_inputs))
        key = (pvk_digest(pvk), inputs_b, bytes(proof))
        with self._lock:
            hit = self._verified.get(key)
            if hit is not None:
                self._verified.move_to_end(key)
        if hit is None:
            t0 = time.perf_counter()
            ok = verify_bytes(pvk, inputs_b, bytes(proof), backend=self._backend)
            hit = (ok, time.perf_counter() - t0)
            with self._lock:
                self._verified[key] = hit
                while len(self._verified) > _VERIFY_CACHE:
                    self._verified.popitem(last=False)
        self._tls.verify_seconds = hit[1]
        return hit[0]

    def _prepare(self, vk: bytes) -> Any:
        """`groth16::prepare_verifying_key` (Sui aborts on a key it cannot decode: EInvalidVerifyingKey)."""
        vk = bytes(vk)
        with self._lock:
            hit = self._prepared.get(vk)
        if hit is not None:
            return hit
        try:
            pvk = sui_bytes.prepare_verifying_key(vk)
        except sui_bytes.SuiBytesError as e:
            raise ProtocolError("EInvalidVerifyingKey", f"Sui cannot prepare this verifying key: {e}") from None
        with self._lock:
            self._prepared[vk] = pvk
            while len(self._prepared) > 16:
                self._prepared.popitem(last=False)
        return pvk

    def _warm(self, op: ops_mod.Operation) -> None:
        """Do the slow, pure work of an operation before taking the write lock, so that clients
        on several processes do not wait on one another: the verifier's per-key set-up, and
        where a verification itself is slow (the py_ecc reference), the whole transition on a
        snapshot, which leaves the pairing results in the cache the transaction then finds.
        Never decides anything: the transaction meets any error again and reports it."""
        try:
            if op.op == "submit_update":
                with self._store.read() as con:
                    state, _ = self._load(con, op.task)
                    now = self._clock.now(con, write=False)
                if warm_verifier(state.prepared_vk, backend=self._backend):
                    return  # milliseconds inside the transaction: no second pass over the update
                a = op.args
                ptask.submit_update(state, op.sender, a["new_weights"], a["data_commitment"], a["proof"], now, self._verify)
            elif op.op == "create_task" and len(op.args["vk"]) == codec.VK_HEADER_BYTES + 5 * codec.G1_BYTES:
                self._prepare(op.args["vk"])
        except Exception:  # the transaction will meet the same error and report it
            pass

    # ------------------------------------------------------------------ execution (inside the transaction)
    def _point(self, name: str) -> None:
        if self._hook is not None:
            self._hook(name)

    def _execute(self, con: sqlite3.Connection, op: ops_mod.Operation, signed: SignedOp) -> _Outcome:
        prev = con.execute(
            "SELECT status, error_name, error_message, timestamp_ms FROM transactions WHERE digest = ?", (op.digest,)
        ).fetchone()
        if prev is not None:
            out = self._recorded(con, op.digest, *prev)
            out.replayed = True
            return out
        now = self._clock.now(con, write=True)
        try:
            result = self._operation(op.op)(con, op, now)
        except ProtocolError as e:
            self._record(con, op, signed, now, "aborted", e)
            return _Outcome(error=e)
        task_id, new_state, events, created = result
        if created:
            self._insert_task(con, op, task_id, new_state, now, created)
        else:
            text = state_codec.dumps(new_state)
            cur = con.execute(
                "UPDATE tasks SET state = ?, state_digest = ?, object_version = object_version + 1, updated_ms = ? "
                "WHERE task_id = ?",
                (text, row_digest(task_id, text), now, task_id),
            )
            if cur.rowcount != 1:  # pragma: no cover - the task was read in this transaction
                raise LedgerError(f"task {task_id} vanished during an operation")
        self._point("state_written")
        receipt_events = self._insert_events(con, task_id, events, now, op.digest)
        self._point("events_written")
        self._record(con, op, signed, now, "ok", None, task_id)
        Store.set_meta(con, "clock_ms", now)
        self._point("before_commit")
        return _Outcome(receipt=Receipt(tx=op.digest, events=tuple(receipt_events)))

    def _recorded(self, con: sqlite3.Connection, digest: str, status: str, name: str | None, message: str | None,
                  ts: int) -> _Outcome:
        if status == "aborted":
            text = message or ""
            prefix = f"{name}: "
            return _Outcome(error=ProtocolError(name, text[len(prefix):] if text.startswith(prefix) else text))
        rows = con.execute(
            "SELECT task_id, seq, type, fields, timestamp_ms, tx, digest FROM events WHERE tx = ? ORDER BY seq", (digest,))
        return _Outcome(receipt=Receipt(tx=digest, events=tuple(self._event(*r) for r in rows)))

    def _record(self, con: sqlite3.Connection, op: ops_mod.Operation, signed: SignedOp, now: int, status: str,
                err: ProtocolError | None, task_id: str | None = None) -> None:
        con.execute(
            "INSERT INTO transactions (digest, op, task_id, sender, status, error_name, error_message, timestamp_ms, "
            "message, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (op.digest, op.op, task_id or op.task, op.sender, status, err.name if err else None,
             str(err) if err else None, now, bytes(signed.message), signed.signature),
        )

    def _insert_task(self, con: sqlite3.Connection, op: ops_mod.Operation, task_id: str, state: Any, now: int,
                     created: dict[str, Any]) -> None:
        seq = con.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM transactions").fetchone()[0]
        text = state_codec.dumps(state)
        con.execute(
            "INSERT INTO tasks (task_id, name, admin_cap_id, creator, created_seq, object_version, state_format, state, "
            "state_digest, updated_ms) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
            (task_id, created["name"], created["cap"], op.sender, seq, state_codec.STATE_FORMAT, text,
             row_digest(task_id, text), now),
        )
        con.executemany(
            "INSERT INTO objects (object_id, type, owner, task_id, created_tx) VALUES (?, ?, ?, ?, ?)",
            [(task_id, "Task", None, task_id, op.digest), (created["cap"], "TaskAdminCap", op.sender, task_id, op.digest)],
        )
        Store.set_meta(con, "object_counter", created["counter"])

    def _insert_events(self, con: sqlite3.Connection, task_id: str, events: Sequence[Any], now: int, tx: str) -> list[Event]:
        start = con.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM events WHERE task_id = ?", (task_id,)).fetchone()[0]
        out, rows = [], []
        for i, ev in enumerate(events):
            fields_json = json.dumps(ev.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
            rows.append((task_id, start + i, ev.type, fields_json, now, tx,
                         row_digest(task_id, start + i, ev.type, fields_json, now, tx)))
            out.append(Event(start + i, ev.type, json.loads(fields_json), now, tx))
        con.executemany(
            "INSERT INTO events (task_id, seq, type, fields, timestamp_ms, tx, digest) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return out

    # the transitions: each returns (task id, new state, events, created-objects or None)
    def _operation(self, name: str) -> Callable[[sqlite3.Connection, ops_mod.Operation, int], Any]:
        """The handler of operation `name` (one per entry of task.move, as `ops.OPS`)."""
        return {
            "create_task": self._do_create_task,
            "register": self._do_register,
            "leave": self._do_leave,
            "open_round": self._do_open_round,
            "submit_update": self._do_submit_update,
            "aggregate": self._do_aggregate,
            "discard_round": self._do_discard_round,
            "add_participant": self._do_add_participant,
            "remove_participant": self._do_remove_participant,
            "set_open": self._do_set_open,
            "restart_round": self._do_restart_round,
            "migrate": self._do_migrate,
            "set_manifest": self._do_set_manifest,
            "set_privacy": self._do_set_privacy,
            "register_private": self._do_register_private,
            "submit_private_update": self._do_submit_private_update,
        }[name]

    def _do_create_task(self, con: sqlite3.Connection, op: ops_mod.Operation, now: int):
        a = op.args
        if a["name"] is not None:
            row = con.execute("SELECT task_id FROM tasks WHERE name = ?", (a["name"],)).fetchone()
            if row:
                raise LedgerError(f"a task named {a['name']!r} already exists on this ledger ({row[0]}); choose another name")
        counter = int(Store.get_meta(con, "object_counter") or 0)
        task_id = derive_object_id(self.chain_id, counter)
        cap_id = derive_object_id(self.chain_id, counter + 1)
        spec = StepSpec.from_dict(a["spec"])  # EInvalidSpec for fields the circuit cannot serve
        try:
            rr = round_mod.RoundRules(**a["round_rules"])
            agg = rules_mod.AggregationRule(**a["aggregation"])
        except TypeError as e:
            raise ops_mod.MalformedOperation(f"malformed operation: {e}") from None
        state, events = ptask.create_task(
            task_id, cap_id, op.sender, spec, rr, agg, a["lr_q"], a["open"], a["initial_model"], a["vk"], now,
            prepare=self._prepare, deposit_mist=a["deposit_mist"],
        )
        return task_id, state, events, {"name": a["name"], "cap": cap_id, "counter": counter + 2}

    def _task_state(self, con: sqlite3.Connection, op: ops_mod.Operation) -> Any:
        return self._load(con, op.task)[0]

    def _do_register(self, con, op, now):
        state, events = ptask.register(self._task_state(con, op), op.sender, op.args["deposit"])
        return op.task, state, events, None

    def _do_leave(self, con, op, now):
        state, events = ptask.leave(self._task_state(con, op), op.sender)
        return op.task, state, events, None

    def _do_open_round(self, con, op, now):
        randomness = secrets.token_bytes(protocol.RANDOMNESS_BYTES)
        state, events = ptask.open_round(self._task_state(con, op), randomness, now)
        return op.task, state, events, None

    def _do_submit_update(self, con, op, now):
        a = op.args
        state, events = ptask.submit_update(
            self._task_state(con, op), op.sender, a["new_weights"], a["data_commitment"], a["proof"], now, self._verify)
        return op.task, state, events, None

    def _do_aggregate(self, con, op, now):
        state, events = ptask.aggregate(self._task_state(con, op), op.sender, now)
        return op.task, state, events, None

    def _do_discard_round(self, con, op, now):
        state, events = ptask.discard_round(self._task_state(con, op), op.sender, now)
        return op.task, state, events, None

    def _cap(self, con: sqlite3.Connection, op: ops_mod.Operation) -> str:
        """The task id the operation's admin cap names, once the sender is shown to own it (an
        object owned by another address cannot be used: ENotAdmin)."""
        cap = op.args["cap"]
        row = con.execute("SELECT type, owner, task_id FROM objects WHERE object_id = ?", (cap,)).fetchone()
        if row is None:
            raise LedgerError(f"no object {cap} on the local ledger {self.path}")
        typ, owner, cap_task = row
        if typ != "TaskAdminCap":
            raise LedgerError(f"object {cap} is a {typ}, not a TaskAdminCap")
        if owner != op.sender:
            raise ProtocolError("ENotAdmin", f"the admin capability {cap} is owned by {owner}, not by the sender {op.sender}")
        return cap_task

    def _admin(self, con, op, fn: Callable[..., Any], *args: Any):
        state = self._task_state(con, op)
        cap_task = self._cap(con, op)
        new_state, events = fn(state, cap_task, *args)
        return op.task, new_state, events, None

    def _do_add_participant(self, con, op, now):
        return self._admin(con, op, ptask.add_participant, op.args["participant"])

    def _do_remove_participant(self, con, op, now):
        return self._admin(con, op, ptask.remove_participant, op.args["participant"])

    def _do_set_open(self, con, op, now):
        return self._admin(con, op, ptask.set_open, op.args["open"])

    def _do_restart_round(self, con, op, now):
        return self._admin(con, op, ptask.restart_round, now)

    def _do_migrate(self, con, op, now):
        return self._admin(con, op, ptask.migrate)

    def _do_set_manifest(self, con, op, now):
        return self._admin(con, op, ptask.set_manifest, op.args["manifest"])

    def _do_set_privacy(self, con, op, now):
        return self._admin(con, op, ptask.set_privacy, protocol.privacy.DpParams.from_dict(op.args["params"]))

    def _do_register_private(self, con, op, now):
        a = op.args
        state, events = ptask.register_private(
            self._task_state(con, op), op.sender, a["deposit"], a["data_commitment"], a["seed_commitment"])
        return op.task, state, events, None

    def _do_submit_private_update(self, con, op, now):
        a = op.args
        state, events = ptask.submit_private_update(
            self._task_state(con, op), op.sender, a["new_weights"], a["proof"], now, self._verify)
        return op.task, state, events, None


# --------------------------------------------------------------------------- views
def task_view(state: Any, name: str | None = None) -> TaskView:
    """The public fields of a protocol TaskState, as `TaskView`."""
    rr, agg = state.round_rules, state.aggregation
    return TaskView(
        task_id=state.task_id,
        spec=state.spec.with_privacy(state.privacy),  # a private task's circuit constants ride on its spec
        lr_q=state.lr_q,
        round_rules=rr,
        aggregation=agg,
        open=bool(state.open),
        round=state.round,
        round_start_ms=state.round_start_ms,
        deadline_ms=state.deadline_ms,
        model=tuple(state.model),
        model_commitment=state.model_commitment,
        submitters=tuple(state.submitters),
        finished=bool(state.finished),
        created_ms=state.created_ms,
        version=state.version,
        prepared_vk=state.prepared_vk,
        aggregation_done=state.aggregation_done,
        aggregation_total=state.aggregation_total,
        name=name,
        deposit_mist=state.deposit_mist,
        registered=tuple(state.registered),
        round_open=bool(state.round_open),
        sampled=tuple(state.sampled),
        randomness=bytes(state.randomness),
    )


__all__ = ["LocalLedger", "TxRecord", "derive_object_id", "task_view", "wall_clock_ms", "SignedOp"]

