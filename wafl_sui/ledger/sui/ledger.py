"""`SuiLedger`: the ledger interface on a Sui network (localnet, devnet, testnet), every operation
one programmable transaction into the published WaFL package.

    ledger = SuiLedger("localnet")                       # node from the network (or WAFL_SUI_RPC_URL)
    ref = ledger.create_task(owner, spec, rules, agg, lr_q, True, model, vk, name="digits")
    ledger.submit_update(client, "digits", weights, data_commitment, proof)
    ledger.aggregate_round(anyone, "digits"); ledger.task("digits"); ledger.events("digits")

Transactions (`*_kind` build the programmable transaction, `build_*_tx` the TransactionData):
  create_task     spec::new(10 x u64), round::new_rules(4 x u64), rules::new_aggregation(u8, u64),
                  task::create_task(spec, rules, aggregation, lr_q, open, model, vk, &Clock): the
                  returned TaskAdminCap is transferred to the sender in the same transaction
  submit_update   task::submit_update(&mut Task, vector<u32>, u256, vector<u8>, &Clock)
  aggregate / discard_round   task::<fn>(&mut Task, &Clock)
  admin           task::<fn>(&TaskAdminCap, &mut Task, ...) with the cap as an owned object
The Task is a shared input at its initial shared version (mutable), the Clock (0x6) shared and
immutable. Before anything is signed, each transaction is type-checked against the compiled
signatures of the deployed package (`contract.signatures`), then simulated: the gas budget is
the simulated cost plus a margin (never a constant), and a Move abort surfaces as the
`ProtocolError` of its `#[error]` name with nothing spent.

Sending is safe to repeat: a signed transaction executes at most once (its digest), so a send
whose answer is lost is resolved by reading the chain (the transaction by digest, and for an
update the task's submitters) before the *same* bytes are sent again; nothing is rebuilt, so
nothing is ever submitted twice. Reads are retried with backoff; refusals are not.

Reading: the Task object is decoded by the struct layouts of the deployed package's bytecode
(`task_object`). A task's events are those of the transactions that changed the Task object,
found by walking the object's versions back (each version names the transaction that wrote it),
cached in `$WAFL_HOME/sui-history/`.

`--serialize-unsigned-transaction`: `SuiLedger.offline(...)` (no network: gas object, price,
budget and object versions given) and `ledger.unsigned(sender)` (objects and budget looked up)
return `UnsignedTransactions`, whose methods mirror the ledger's and return base64
TransactionData to sign elsewhere.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wafl_sui.errors import WaflError
from wafl_sui.ledger.base import Event, Ledger, LedgerError, Receipt, TaskNotFound, TaskRef, TaskView
from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.sui import bcs, deployments
from wafl_sui.ledger.sui.aborts import to_protocol_error
from wafl_sui.ledger.sui.bcs import BcsError, normalize_address
from wafl_sui.ledger.sui.client import DEFAULT_MAX_BUDGET, ObjectInfo, SuiClient, TxEffects
from wafl_sui.ledger.sui.deployments import DeploymentError, TaskDeployment
from wafl_sui.ledger.sui.network import InsufficientGas, SuiNetworkError, SuiNotFound, SuiUnreachable, rpc_url
from wafl_sui.ledger.sui.transactions import (
    CLOCK,
    ObjectRef,
    OwnedObject,
    ProgrammableTransaction,
    PtbBuilder,
    Publish,
    SharedObject,
    TransactionBuildError,
    TransactionData,
    build_transaction,
    parse_object_ref,
)

log = logging.getLogger(__name__)
FAUCET_ENV = "WAFL_SUI_FAUCET"
FUND_WAIT_S = 60.0

TASK_MODULE = "task"
SPEC_MODULE = "spec"
ROUND_MODULE = "round"
RULES_MODULE = "rules"
EVENTS_MODULE = "events"
TASK_STRUCT = "Task"
CAP_STRUCT = "TaskAdminCap"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")  # as the local ledger's task names
_SPEC_FIELDS = (
    "features",
    "classes",
    "batch_size",
    "local_steps",
    "frac_bits",
    "weight_bits",
    "feature_frac_bits",
    "feature_bits",
    "lr_frac_bits",
    "lr_bits",
)


# --- errors -------------------------------------------------------------------------------------


class SuiLedgerError(LedgerError):
    """The Sui ledger could not do what was asked: unreachable or wrong node, missing object,
    no deployment, a refused or failed transaction."""


class InsufficientGasError(SuiLedgerError):
    """The signer cannot pay: `address`, `have` (MIST in SUI coins), `needed` (gas budget, MIST,
    or None when the node could not tell) and `short`."""

    def __init__(self, message: str, address: str, have: int, needed: int | None):
        super().__init__(message)
        self.address, self.have, self.needed = address, have, needed

    @property
    def short(self) -> int | None:
        return None if self.needed is None else max(self.needed - self.have, 0)


class OutcomeUnknown(SuiLedgerError):
    """A transaction was sent but neither its effects nor its result could be read back."""

    def __init__(self, message: str, digest: str):
        super().__init__(message)
        self.digest = digest


def _ledger_error(exc: Exception) -> LedgerError:
    """The LedgerError for an error of the Sui layer (network, deployments file, bytes)."""
    if isinstance(exc, InsufficientGas):
        return InsufficientGasError(str(exc), exc.address, exc.have, exc.needed)
    return SuiLedgerError(str(exc))


def _translated(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Public methods raise LedgerError (or ProtocolError), never the Sui layer's errors."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (SuiNetworkError, DeploymentError, BcsError) as exc:
            raise _ledger_error(exc) from exc

    return wrapper


# --- transactions, built offline -----------------------------------------------------------------


@dataclass(frozen=True)
class GasParams:
    """Gas of a transaction built offline: the coins that pay, the price, the budget (MIST)."""

    payment: tuple[ObjectRef, ...]
    price: int
    budget: int

    def __post_init__(self) -> None:
        payment = (self.payment,) if isinstance(self.payment, ObjectRef) else tuple(self.payment)
        object.__setattr__(self, "payment", payment)
        if not payment:
            raise TransactionBuildError("a transaction needs at least one gas coin")
        for n, v in (("gas price", self.price), ("gas budget", self.budget)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise TransactionBuildError(f"{n} must be a positive integer, got {v!r}")

    @classmethod
    def parse(cls, gas_objects: str | Sequence[str], price: int, budget: int) -> GasParams:
        """From `--gas-object ID:VERSION:DIGEST` (one or several), `--gas-price`, `--gas-budget`."""
        items = [gas_objects] if isinstance(gas_objects, str) else list(gas_objects)
        return cls(tuple(parse_object_ref(g) for g in items), int(price), int(budget))


def task_input(task_id: str, initial_shared_version: int, mutable: bool = True) -> SharedObject:
    """The Task as a shared input (at the version at which it became shared)."""
    return SharedObject(task_id, int(initial_shared_version), mutable)


def _target(package_id: str, module: str, fn: str) -> str:
    return f"{normalize_address(package_id)}::{module}::{fn}"


def _u64(b: PtbBuilder, v: int):
    return b.pure(bcs.pure_u64(int(v)))


def create_task_kind(
    package_id: str,
    sender: str,
    spec: Any,
    round_rules: Any,
    aggregation: Any,
    lr_q: int,
    open_: bool,
    initial_model: Sequence[int],
    vk: bytes,
) -> ProgrammableTransaction:
    """spec::new, round::new_rules, rules::new_aggregation, task::create_task, then the admin
    cap to the sender."""
    b = PtbBuilder()
    s = b.move_call(_target(package_id, SPEC_MODULE, "new"), [_u64(b, getattr(spec, f)) for f in _SPEC_FIELDS])
    r = b.move_call(
        _target(package_id, ROUND_MODULE, "new_rules"),
        [
            _u64(b, round_rules.quorum),
            _u64(b, round_rules.round_duration_ms),
            _u64(b, round_rules.max_rounds),
            _u64(b, round_rules.grace_ms),
        ],
    )
    a = b.move_call(
        _target(package_id, RULES_MODULE, "new_aggregation"),
        [b.pure(bcs.pure_u8(int(aggregation.rule))), _u64(b, aggregation.trim_bps)],
    )
    cap = b.move_call(
        _target(package_id, TASK_MODULE, "create_task"),
        [
            s,
            r,
            a,
            _u64(b, lr_q),
            b.pure(bcs.pure_bool(bool(open_))),
            b.pure(bcs.pure_u32_vector([int(w) for w in initial_model])),
            b.pure(bcs.pure_bytes(bytes(vk))),
            b.object(CLOCK),
        ],
    )
    b.transfer_objects([cap], normalize_address(sender))
    return b.build()


def submit_update_kind(
    package_id: str, task: SharedObject, new_weights: Sequence[int], data_commitment: int, proof: bytes
) -> ProgrammableTransaction:
    b = PtbBuilder()
    b.move_call(
        _target(package_id, TASK_MODULE, "submit_update"),
        [
            b.object(task),
            b.pure(bcs.pure_u32_vector([int(w) for w in new_weights])),
            b.pure(bcs.pure_u256(int(data_commitment))),
            b.pure(bcs.pure_bytes(bytes(proof))),
            b.object(CLOCK),
        ],
    )
    return b.build()


def _task_clock_kind(package_id: str, fn: str, task: SharedObject) -> ProgrammableTransaction:
    b = PtbBuilder()
    b.move_call(_target(package_id, TASK_MODULE, fn), [b.object(task), b.object(CLOCK)])
    return b.build()


def aggregate_kind(package_id: str, task: SharedObject) -> ProgrammableTransaction:
    return _task_clock_kind(package_id, "aggregate", task)


def discard_round_kind(package_id: str, task: SharedObject) -> ProgrammableTransaction:
    return _task_clock_kind(package_id, "discard_round", task)


def _admin_kind(package_id: str, fn: str, cap: ObjectRef, task: SharedObject, extra: Sequence[Any]) -> ProgrammableTransaction:
    b = PtbBuilder()
    args = [b.object(OwnedObject(cap)), b.object(task)]
    for kind, value in extra:
        if kind == "address":
            args.append(b.pure(bcs.pure_address(value)))
        elif kind == "bool":
            args.append(b.pure(bcs.pure_bool(bool(value))))
        elif kind == "clock":
            args.append(b.object(CLOCK))
        else:  # pragma: no cover - programming error
            raise TransactionBuildError(f"unknown admin argument {kind}")
    b.move_call(_target(package_id, TASK_MODULE, fn), args)
    return b.build()


def add_participant_kind(package_id: str, cap: ObjectRef, task: SharedObject, participant: str) -> ProgrammableTransaction:
    return _admin_kind(package_id, "add_participant", cap, task, [("address", participant)])


def remove_participant_kind(
    package_id: str, cap: ObjectRef, task: SharedObject, participant: str
) -> ProgrammableTransaction:
    return _admin_kind(package_id, "remove_participant", cap, task, [("address", participant)])


def set_open_kind(package_id: str, cap: ObjectRef, task: SharedObject, open_: bool) -> ProgrammableTransaction:
    return _admin_kind(package_id, "set_open", cap, task, [("bool", open_)])


def restart_round_kind(package_id: str, cap: ObjectRef, task: SharedObject) -> ProgrammableTransaction:
    return _admin_kind(package_id, "restart_round", cap, task, [("clock", None)])


def migrate_kind(package_id: str, cap: ObjectRef, task: SharedObject) -> ProgrammableTransaction:
    return _admin_kind(package_id, "migrate", cap, task, [])


def _tx(kind: ProgrammableTransaction, sender: str, gas: GasParams) -> TransactionData:
    return build_transaction(kind, sender, gas.payment, gas.price, gas.budget)


def build_create_task_tx(
    package_id: str, sender: str, gas: GasParams, spec: Any, round_rules: Any, aggregation: Any,
    lr_q: int, open_: bool, initial_model: Sequence[int], vk: bytes,
) -> TransactionData:  # fmt: skip
    kind = create_task_kind(package_id, sender, spec, round_rules, aggregation, lr_q, open_, initial_model, vk)
    return _tx(kind, sender, gas)


def build_submit_tx(
    package_id: str, sender: str, gas: GasParams, task: SharedObject,
    new_weights: Sequence[int], data_commitment: int, proof: bytes,
) -> TransactionData:  # fmt: skip
    return _tx(submit_update_kind(package_id, task, new_weights, data_commitment, proof), sender, gas)


def build_aggregate_tx(package_id: str, sender: str, gas: GasParams, task: SharedObject) -> TransactionData:
    return _tx(aggregate_kind(package_id, task), sender, gas)


def build_discard_round_tx(package_id: str, sender: str, gas: GasParams, task: SharedObject) -> TransactionData:
    return _tx(discard_round_kind(package_id, task), sender, gas)


def build_add_participant_tx(
    package_id: str, sender: str, gas: GasParams, cap: ObjectRef, task: SharedObject, participant: str
) -> TransactionData:
    return _tx(add_participant_kind(package_id, cap, task, participant), sender, gas)


def build_remove_participant_tx(
    package_id: str, sender: str, gas: GasParams, cap: ObjectRef, task: SharedObject, participant: str
) -> TransactionData:
    return _tx(remove_participant_kind(package_id, cap, task, participant), sender, gas)


def build_set_open_tx(
    package_id: str, sender: str, gas: GasParams, cap: ObjectRef, task: SharedObject, open_: bool
) -> TransactionData:
    return _tx(set_open_kind(package_id, cap, task, open_), sender, gas)


def build_restart_round_tx(
    package_id: str, sender: str, gas: GasParams, cap: ObjectRef, task: SharedObject
) -> TransactionData:
    return _tx(restart_round_kind(package_id, cap, task), sender, gas)


def build_migrate_tx(package_id: str, sender: str, gas: GasParams, cap: ObjectRef, task: SharedObject) -> TransactionData:
    return _tx(migrate_kind(package_id, cap, task), sender, gas)


def object_types(package_id: str, task_id: str | None = None, cap_id: str | None = None) -> dict[str, str]:
    """{object id: Move type} of a transaction's object inputs (for `signatures.check_transaction`)."""
    pkg = normalize_address(package_id)
    out = {}
    if task_id:
        out[normalize_address(task_id)] = f"{pkg}::{TASK_MODULE}::{TASK_STRUCT}"
    if cap_id:
        out[normalize_address(cap_id)] = f"{pkg}::{TASK_MODULE}::{CAP_STRUCT}"
    return out


def _b64(tx: TransactionData) -> str:
    return base64.b64encode(tx.to_bcs()).decode()


class UnsignedTransactions:
    """The ledger's operations as unsigned TransactionData (base64), for
    `--serialize-unsigned-transaction`. Made by `SuiLedger.offline(...)` (nothing looked up) or
    `SuiLedger.unsigned(sender)` (objects and gas from the node)."""

    def __init__(
        self,
        package_id: str | Callable[[], str],
        sender: str,
        finish: Callable[[ProgrammableTransaction], TransactionData],
        resolve_task: Callable[[str], SharedObject],
        resolve_cap: Callable[[str], ObjectRef],
    ):
        self._package_id = package_id if callable(package_id) else normalize_address(package_id)
        self.sender = normalize_address(sender)
        self._finish, self._task, self._cap = finish, resolve_task, resolve_cap

    @property
    def package_id(self) -> str:
        """The package the calls go to (not needed to publish)."""
        pid = self._package_id
        return normalize_address(pid() if callable(pid) else pid)

    def transaction(self, kind: ProgrammableTransaction) -> TransactionData:
        return self._finish(kind)

    def publish(self, build: Any) -> str:
        from wafl_sui.ledger.sui.publish import publish_kind

        return _b64(self._finish(publish_kind(build, self.sender)))

    def create_task(
        self, spec: Any, round_rules: Any, aggregation: Any, lr_q: int, open_: bool,
        initial_model: Sequence[int], vk: bytes,
    ) -> str:  # fmt: skip
        kind = create_task_kind(self.package_id, self.sender, spec, round_rules, aggregation, lr_q, open_, initial_model, vk)
        return _b64(self._finish(kind))

    def submit_update(self, task: str, new_weights: Sequence[int], data_commitment: int, proof: bytes) -> str:
        return _b64(self._finish(submit_update_kind(self.package_id, self._task(task), new_weights, data_commitment, proof)))

    def aggregate(self, task: str) -> str:
        return _b64(self._finish(aggregate_kind(self.package_id, self._task(task))))

    def discard_round(self, task: str) -> str:
        return _b64(self._finish(discard_round_kind(self.package_id, self._task(task))))

    def add_participant(self, task: str, participant: str) -> str:
        return _b64(self._finish(add_participant_kind(self.package_id, self._cap(task), self._task(task), participant)))

    def remove_participant(self, task: str, participant: str) -> str:
        kind = remove_participant_kind(self.package_id, self._cap(task), self._task(task), participant)
        return _b64(self._finish(kind))

    def set_open(self, task: str, open_: bool) -> str:
        return _b64(self._finish(set_open_kind(self.package_id, self._cap(task), self._task(task), open_)))

    def restart_round(self, task: str) -> str:
        return _b64(self._finish(restart_round_kind(self.package_id, self._cap(task), self._task(task))))

    def migrate(self, task: str) -> str:
        return _b64(self._finish(migrate_kind(self.package_id, self._cap(task), self._task(task))))


# --- the task's event history -----------------------------------------------------------------------


@dataclass
class _Entry:
    """One transaction that changed the Task: its digest, the Task versions it read and wrote,
    its raw events and its checkpoint time."""

    digest: str
    input_version: int | None  # None: the transaction created the task
    output_version: int
    events: list[tuple[str, bytes]]
    timestamp_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "input_version": self.input_version,
            "output_version": self.output_version,
            "events": [[t, base64.b64encode(c).decode()] for t, c in self.events],
            "timestamp_ms": self.timestamp_ms,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> _Entry:
        return cls(
            str(d["digest"]),
            None if d["input_version"] is None else int(d["input_version"]),
            int(d["output_version"]),
            [(str(t), base64.b64decode(c)) for t, c in d["events"]],
            None if d.get("timestamp_ms") is None else int(d["timestamp_ms"]),
        )


HISTORY_FORMAT = "wafl-sui-history/1"


@dataclass
class _History:
    task_id: str
    path: Path | None
    entries: dict[int, _Entry] = field(default_factory=dict)  # by output version
    dirty: bool = False

    @classmethod
    def load(cls, task_id: str, path: Path | None) -> _History:
        h = cls(task_id, path)
        if path is None or not path.is_file():
            return h
        try:
            doc = json.loads(path.read_text())
            if doc.get("format") != HISTORY_FORMAT or normalize_address(doc["task_id"]) != task_id:
                raise ValueError("not a history file of this task")
            for d in doc["entries"]:
                e = _Entry.from_json(d)
                h.entries[e.output_version] = e
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the unreadable event cache %s (%s); it is rebuilt from the chain", path, exc)
            h.entries = {}
        return h

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        self.dirty = False
        doc = {
            "format": HISTORY_FORMAT,
            "task_id": self.task_id,
            "entries": [e.to_json() for _, e in sorted(self.entries.items())],
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
            tmp.write_text(json.dumps(doc))
            os.replace(tmp, self.path)
        except OSError as exc:  # a cache: the chain stays the truth
            log.warning("cannot write the event cache %s: %s", self.path, exc)

    def add(self, eff: TxEffects) -> _Entry | None:
        ch = eff.changed_object(self.task_id)
        if ch is None or ch.version is None:
            return None
        if ch.operation not in ("created", "mutated"):
            return None
        entry = _Entry(
            eff.digest,
            None if ch.operation == "created" else ch.input_version,
            int(ch.version),
            [(e.event_type, e.contents) for e in eff.events],
            eff.timestamp_ms,
        )
        old = self.entries.get(entry.output_version)
        if old is not None and old.timestamp_ms is not None and entry.timestamp_ms is None:
            entry.timestamp_ms = old.timestamp_ms
        if old != entry:
            self.entries[entry.output_version] = entry
            self.dirty = True
        return entry


# --- the ledger ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TaskInfo:
    task_id: str
    initial_shared_version: int
    name: str | None
    admin_cap_id: str | None


@dataclass
class _Package:
    modules: dict[str, bytes]
    sigs: Any  # PackageSignatures
    codec: Any  # MoveCodec


IdentityResolver = Callable[[Any], Identity] | Mapping[str, Identity]


class SuiLedger(Ledger):
    """The ledger interface over a Sui node. `identities` resolves what the CLI passes as a
    signer (an Identity is used as is; a callable or a {name/address: Identity} mapping, else a
    key-file path). `client` replaces the node connection (tests)."""

    def __init__(
        self,
        network: str = "localnet",
        identities: IdentityResolver | None = None,
        client: SuiClient | None = None,
        *,
        url: str | None = None,
        deployments_path: str | os.PathLike[str] | None = None,
        package_id: str | None = None,
        require_deployment: bool = True,
        check_signatures: bool = True,
        gas_margin: float = 1.2,
        max_budget: int = DEFAULT_MAX_BUDGET,
        gas_price: int | None = None,
        retries: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 30.0,
        history_dir: str | os.PathLike[str] | None = None,
        read_only: bool = False,
        faucet: bool | str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **_local_only: Any,  # clock, busy_timeout_s, verifier: options of the local ledger
    ):
        self.network = network
        self._identities = identities
        self._own_client = client is None
        self.client = client if client is not None else SuiClient(url or rpc_url(network), network=network, timeout=timeout_s)
        self.deployments_path = Path(deployments_path) if deployments_path else deployments.default_path()
        self._package_override = normalize_address(package_id) if package_id else None
        self.require_deployment = require_deployment
        self.check_signatures = check_signatures
        self.gas_margin, self.max_budget, self.gas_price = gas_margin, max_budget, gas_price
        self.retries, self.backoff_s, self._sleep = retries, backoff_s, sleep
        self.read_only = read_only
        # Top a signer up from the faucet when it cannot pay: localnet by default (its faucet is
        # free and local), elsewhere only when asked (faucet=True / a URL, or WAFL_SUI_FAUCET=1).
        if faucet is None:
            env = os.environ.get(FAUCET_ENV, "").strip().lower()
            faucet = env in ("1", "true", "yes") if env else network == "localnet"
        self.faucet = faucet
        self._history_dir = Path(history_dir) if history_dir else deployments.wafl_home() / "sui-history"
        self.chain_id: str | None = None
        self._chain_checked = False
        self._pkg: _Package | None = None
        self._tasks: dict[str, _TaskInfo] = {}
        self._histories: dict[str, _History] = {}

    # --- set-up ---------------------------------------------------------------------------------

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"SuiLedger({self.network!r}, url={self.client.url!r})"

    @property
    def url(self) -> str:
        return self.client.url

    def _read(self, fn: Callable[[], Any]) -> Any:
        """A read (or a simulation): retried with backoff while the node is unreachable."""
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except SuiUnreachable:
                if attempt == self.retries:
                    raise
                self._sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _ensure_chain(self, check_deployment: bool = True) -> str:
        """The node's chain id, checked once against the network and (unless publishing) against
        the chain the deployment was made on."""
        if self.chain_id is None:
            info = self._read(lambda: self.client.check_network(self.network))
            self.chain_id = info.chain_id
        if check_deployment and not self._chain_checked:
            dep = self._deployment()  # raises when a deployment is required and there is none
            if dep is not None and dep.chain_id and dep.chain_id != self.chain_id:
                raise SuiLedgerError(
                    f"the {self.network} deployment in {self.deployments_path} was made on chain {dep.chain_id} "
                    f"but the node at {self.url} is on chain {self.chain_id} (the network was reset, or the URL "
                    f"points elsewhere); publish again with `wafl deploy --network {self.network}`"
                )
            self._chain_checked = True
        return self.chain_id

    def _deployment(self, required: bool | None = None) -> deployments.Deployment | None:
        deps = deployments.load(self.deployments_path)
        dep = deps.get(self.network)
        need = self.require_deployment if required is None else required
        if dep is None and need and self._package_override is None:
            raise SuiLedgerError(
                f"the WaFL package is not deployed on {self.network} (no entry in {self.deployments_path}); "
                f"publish it first with `wafl deploy --network {self.network}`"
            )
        return dep

    @property
    def deployment(self) -> deployments.Deployment | None:
        return self._deployment(required=False)

    @property
    def package_id(self) -> str:
        if self._package_override:
            return self._package_override
        dep = self._deployment(required=True)
        assert dep is not None
        return dep.package_id

    def _package(self) -> _Package:
        """The deployed package's modules, compiled signatures and struct layouts (fetched once)."""
        if self._pkg is None:
            from wafl_sui.contract.signatures import PackageSignatures, SignatureError
            from wafl_sui.ledger.sui.task_object import MoveCodec

            pid = self.package_id
            try:
                modules = self._read(lambda: self.client.package_modules(pid))
            except SuiNotFound:
                raise SuiLedgerError(
                    f"the WaFL package {pid} does not exist on {self.network} (node {self.url}); "
                    f"the network was reset or the deployments file is stale: publish again"
                ) from None
            try:
                sigs = PackageSignatures.from_modules(list(modules.values()))
            except SignatureError as exc:
                raise SuiLedgerError(f"cannot read the bytecode of package {pid}: {exc}") from None
            if TASK_MODULE not in sigs.modules:
                raise SuiLedgerError(f"package {pid} on {self.network} is not the WaFL package (no task module)")
            self._pkg = _Package(modules, sigs, MoveCodec(sigs, (pid,)))
        return self._pkg

    def _signer(self, signer: Any) -> Identity:
        if isinstance(signer, Identity):
            return signer
        res = self._identities
        if res is not None:
            got = res.get(signer) if isinstance(res, Mapping) else res(signer)
            if isinstance(got, Identity):
                return got
        if isinstance(signer, (str, os.PathLike)) and Path(signer).is_file():
            return Identity.from_file(signer)
        raise SuiLedgerError(
            f"a Sui transaction is signed by a key pair (an Identity or a key file); cannot sign as {signer!r}"
        )

    # --- tasks by name or id --------------------------------------------------------------------

    def _task_info(self, task: str) -> _TaskInfo:
        key = task.strip() if isinstance(task, str) else task
        if key in self._tasks:
            return self._tasks[key]
        dep = self._deployment(required=False)
        known = dep.tasks if dep else {}
        info: _TaskInfo | None = None
        if key in known:
            t = known[key]
            info = _TaskInfo(t.object_id, t.initial_shared_version, key if key != t.object_id else None, t.admin_cap_id)
        else:
            try:
                tid = normalize_address(key)
            except BcsError:
                names = ", ".join(sorted(n for n, t in known.items() if n != t.object_id)) or "none"
                raise TaskNotFound(f"no task named {task!r} on {self.network} (tasks in {self.deployments_path}: {names})") from None
            for n, t in known.items():
                if t.object_id == tid:
                    info = _TaskInfo(tid, t.initial_shared_version, n if n != tid else None, t.admin_cap_id)
                    break
            if info is None:
                obj = self._task_object(tid)
                info = _TaskInfo(tid, obj.initial_shared_version, None, None)
        self._tasks[key] = info
        self._tasks[info.task_id] = info
        return info

    def _task_object(self, task_id: str, version: int | None = None) -> ObjectInfo:
        try:
            obj = self._read(lambda: self.client.get_object(task_id, version))
        except SuiNotFound:
            if version is not None:
                raise
            raise TaskNotFound(f"no task {task_id} on {self.network} (node {self.url})") from None
        if not (obj.object_type or "").split("<")[0].endswith(f"::{TASK_MODULE}::{TASK_STRUCT}"):
            raise TaskNotFound(f"object {task_id} on {self.network} is not a WaFL task (its type is {obj.object_type})")
        if obj.owner.kind != "shared":
            raise TaskNotFound(f"object {task_id} is not a shared task object (owner: {obj.owner.kind})")
        return obj

    def _shared(self, task: str) -> tuple[_TaskInfo, SharedObject]:
        info = self._task_info(task)
        return info, task_input(info.task_id, info.initial_shared_version, True)

    # --- reads ----------------------------------------------------------------------------------

    def _decode_task(self, obj: ObjectInfo, name: str | None) -> TaskView:
        from wafl_sui.ledger.sui.task_object import ObjectDecodeError, struct_type, task_view

        if obj.contents is None:
            raise SuiLedgerError(f"the node returned task {obj.object_id} without its contents")
        pkg = self._package()
        try:
            fields = pkg.codec.decode(struct_type(obj.object_type), obj.contents)
            return task_view(fields, obj.object_id, name)
        except (ObjectDecodeError, KeyError, TypeError) as exc:
            raise SuiLedgerError(
                f"task {obj.object_id} does not decode with the layout of package {self.package_id}: {exc}"
            ) from None

    def _fields(self, obj: ObjectInfo) -> dict[str, Any]:
        from wafl_sui.ledger.sui.task_object import struct_type

        return self._package().codec.decode(struct_type(obj.object_type), obj.contents or b"")

    @_translated
    def task(self, task: str) -> TaskView:
        self._ensure_chain()
        info = self._task_info(task)
        return self._decode_task(self._task_object(info.task_id), info.name)

    @_translated
    def tasks(self) -> list[TaskView]:
        self._ensure_chain()
        dep = self._deployment(required=False)
        out = []
        for name, t in (dep.tasks if dep else {}).items():
            try:
                obj = self._task_object(t.object_id)
            except TaskNotFound as exc:
                log.warning("task %s of %s is gone from %s: %s", name, self.deployments_path, self.network, exc)
                continue
            out.append(self._decode_task(obj, name if name != t.object_id else None))
        return sorted(out, key=lambda v: (v.created_ms, v.task_id))

    @_translated
    def has_submitted(self, task: str, participant: str) -> bool:
        return normalize_address(participant) in self.task(task).submitters

    @_translated
    def is_allowed(self, task: str, participant: str) -> bool:
        from wafl_sui.ledger.sui.task_object import dynamic_field_id

        self._ensure_chain()
        info = self._task_info(task)
        obj = self._task_object(info.task_id)
        fields = self._fields(obj)
        if fields.get("open"):
            return True
        who = normalize_address(participant)
        allow = fields.get("allowlist")
        if isinstance(allow, Mapping) and "contents" in allow:  # a VecSet
            return who in {normalize_address(a) for a in allow["contents"]}
        if isinstance(allow, list):
            return who in {normalize_address(a) for a in allow}
        if not isinstance(allow, Mapping) or "id" not in allow:
            raise SuiLedgerError(f"task {info.task_id} has no allowlist table this ledger can read")
        entry = dynamic_field_id(allow["id"], "address", bcs.address(who))
        try:
            self._read(lambda: self.client.get_object(entry))
        except SuiNotFound:
            return False
        return True

    def admin_cap(self, task: str) -> tuple[str, str]:
        """(admin cap id, the address that owns it) of a task, as the local ledger's."""
        self._ensure_chain()
        info = self._task_info(task)
        if info.admin_cap_id is None:
            raise SuiLedgerError(f"the admin capability of task {info.task_id} is not in {self.deployments_path}")
        obj = self._read(lambda: self.client.get_object(info.admin_cap_id))
        return obj.object_id, obj.owner.address or obj.owner.kind

    # --- sending ---------------------------------------------------------------------------------

    def _check(self, kind: ProgrammableTransaction, types: Mapping[str, str]) -> None:
        if not self.check_signatures:
            return
        from wafl_sui.contract.signatures import SignatureMismatch, check_transaction

        try:
            check_transaction(kind, self._package().sigs, self.package_id, types)
        except SignatureMismatch as exc:
            raise SuiLedgerError(
                f"this WaFL does not match the package {self.package_id} deployed on {self.network}: {exc}; "
                "publish this version (`wafl deploy`) or use the matching WaFL"
            ) from None

    def _failure(self, eff: TxEffects, what: str, simulated: bool) -> Exception:
        where = (
            "in the simulation; nothing was sent or spent"
            if simulated
            else f"in transaction {eff.digest} ({eff.gas.net} MIST of gas charged)"
        )
        if eff.abort is not None:
            err = to_protocol_error(eff.abort)
            if err is not None:
                name = err.name  # type: ignore[attr-defined]
                from wafl_sui.protocol.errors import ProtocolError

                return ProtocolError(name, f"{eff.abort.message or eff.abort} ({what} aborted {where})")
            return SuiLedgerError(f"{what} aborted {where}: {eff.abort}")
        return SuiLedgerError(f"{what} failed {where}: {eff.error}")

    def _lookup(self, digest: str, raw: bytes | None = None) -> TxEffects | None:
        """The effects of `digest`, or None when the node does not know it (yet) or is unreachable."""
        try:
            eff = self.client.transaction(digest, self._pkg.modules if self._pkg else None)
        except SuiNetworkError:
            return None
        if raw is not None:
            self.client._remember_gas(raw, eff)
        return eff

    def _send(self, raw: bytes, signature: str, digest: str, done: Callable[[], bool] | None) -> TxEffects | None:
        """Execute signed bytes; on a lost answer read the chain before sending the same bytes
        again. None: the chain shows the operation done (`done()`) but its transaction is not
        visible yet."""
        modules = self._pkg.modules if self._pkg else None
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
                eff = self._lookup(digest, raw)
                if eff is not None:
                    return eff
                if done is not None:
                    try:
                        finished = done()
                    except (WaflError, SuiNetworkError):
                        finished = False
                    if finished:
                        for k in range(self.retries):
                            self._sleep(self.backoff_s * 2**k)
                            eff = self._lookup(digest, raw)
                            if eff is not None:
                                return eff
                        return None
                log.info("re-sending transaction %s (attempt %d): %s", digest, attempt + 1, last)
            try:
                return self.client.execute(raw, [signature], modules)
            except SuiUnreachable as exc:
                last = exc
                continue
            except SuiNetworkError as exc:
                eff = self._lookup(digest, raw) if attempt else None
                if eff is not None:  # refused as a duplicate of what already executed
                    return eff
                raise SuiLedgerError(f"the node at {self.url} refused the transaction {digest}: {exc}") from None
        eff = self._lookup(digest, raw)
        if eff is not None:
            return eff
        raise OutcomeUnknown(
            f"transaction {digest} was sent to {self.url} but no answer came back after {self.retries + 1} "
            f"attempts ({last}); it may still execute: look it up by digest before retrying",
            digest,
        )

    def _transact(
        self,
        ident: Identity,
        kind: ProgrammableTransaction,
        what: str,
        types: Mapping[str, str],
        done: Callable[[], bool] | None = None,
    ) -> TxEffects | None:
        if self.read_only:
            raise SuiLedgerError(f"this ledger was opened read-only; {what} was not sent")
        self._ensure_chain(check_deployment=what != "publish")
        pkg = None if what == "publish" else self._package()
        if pkg is not None:
            self._check(kind, types)
        modules = pkg.modules if pkg else None

        def prepare() -> tuple[TransactionData, TxEffects]:
            for attempt in range(self.retries + 1):
                try:
                    return self._read(
                        lambda: self.client.prepare(
                            kind, ident.address, max_budget=self.max_budget, margin=self.gas_margin,
                            gas_price=self.gas_price, modules=modules,
                        )
                    )  # fmt: skip
                except InsufficientGas:
                    raise
                except SuiNetworkError as exc:
                    # a gas coin listed at a version already spent (the owned-object index lags a
                    # checkpoint): nothing was sent, so wait and build again
                    if "not available" not in str(exc) or attempt == self.retries:
                        raise
                    self._sleep(self.backoff_s * 2**attempt)
            raise AssertionError("unreachable")  # pragma: no cover

        try:
            tx, sim = prepare()
        except InsufficientGas as exc:
            if not self.faucet:
                raise
            self._fund(ident.address, exc)
            tx, sim = prepare()
        if not sim.success:
            raise self._failure(sim, what, simulated=True)
        raw = tx.to_bcs()
        eff = self._send(raw, ident.sign_transaction(raw), tx.digest(), done)
        if eff is not None and not eff.success:
            if eff.error_kind in ("INSUFFICIENT_GAS",):
                raise InsufficientGasError(
                    f"{what} ran out of gas in transaction {eff.digest} (budget {tx.gas_data.budget} MIST); "
                    "the chain state changed since the simulation: try again",
                    ident.address,
                    tx.gas_data.budget,
                    None,
                )
            raise self._failure(eff, what, simulated=False)
        return eff

    def _fund(self, address: str, short: InsufficientGas) -> None:
        """Ask the faucet for gas for `address` and wait until its coins show."""
        from wafl_sui.ledger.sui.faucet import request_gas

        url = self.faucet if isinstance(self.faucet, str) else None
        log.info("funding %s from the %s faucet (%s)", address, self.network, short)
        request_gas(address, self.network, url=url)
        deadline = time.monotonic() + FUND_WAIT_S
        while True:
            coins = self._read(lambda: self.client.gas_coins(address))
            have = sum(c.balance or 0 for c in coins)
            if have > short.have and (short.needed is None or have >= short.needed):
                return
            if time.monotonic() > deadline:
                raise SuiLedgerError(
                    f"the {self.network} faucet was asked for gas for {address} but after {FUND_WAIT_S:.0f} s it has "
                    f"{have} MIST ({short})"
                )
            self._sleep(0.5)

    def _receipt(self, eff: TxEffects, task_id: str) -> Receipt:
        hist = self._history(task_id)
        entry = hist.add(eff)
        if entry is None:
            return Receipt(eff.digest, (), eff.gas.net)
        events = self._events_upto(task_id, entry.output_version)
        mine = tuple(e for e in events if e.tx == eff.digest)
        return Receipt(eff.digest, mine, eff.gas.net)

    # --- history -----------------------------------------------------------------------------------

    def _history(self, task_id: str) -> _History:
        if task_id not in self._histories:
            path = None
            if self.chain_id:
                safe = re.sub(r"[^A-Za-z0-9_-]", "_", self.chain_id)
                path = self._history_dir / self.network / safe / f"{task_id}.json"
            self._histories[task_id] = _History.load(task_id, path)
        return self._histories[task_id]

    def _fetch_entry(self, hist: _History, version: int, previous_tx: str | None = None) -> _Entry:
        """The transaction that wrote `version` of the task (from the object at that version)."""
        if previous_tx is None:
            try:
                obj = self._task_object(hist.task_id, version)
            except SuiNotFound:
                raise SuiLedgerError(
                    f"the node at {self.url} no longer has version {version} of task {hist.task_id} (its history "
                    "was pruned), so the task's earlier events cannot be read; use a node that keeps history"
                ) from None
            previous_tx = obj.previous_transaction
        if not previous_tx:
            raise SuiLedgerError(f"the node does not say which transaction wrote version {version} of {hist.task_id}")
        eff = self._read(lambda: self.client.transaction(previous_tx))
        entry = hist.add(eff)
        if entry is None or entry.output_version != version:
            raise SuiLedgerError(
                f"transaction {previous_tx} does not write version {version} of task {hist.task_id}"
            )
        return entry

    def _events_upto(self, task_id: str, head_version: int, head_tx: str | None = None) -> list[Event]:
        """Every event of the task up to the transaction that wrote `head_version`, in order."""
        from wafl_sui.ledger.sui.task_object import decode_event, event_name

        hist = self._history(task_id)
        chain: list[_Entry] = []
        version: int | None = head_version
        while version is not None:
            entry = hist.entries.get(version)
            if entry is None:
                entry = self._fetch_entry(hist, version, head_tx if version == head_version else None)
            chain.append(entry)
            version = entry.input_version
            if len(chain) > 1_000_000:  # pragma: no cover - a cycle would be a node bug
                raise SuiLedgerError(f"the history of task {task_id} does not end")
        chain.reverse()
        hist.save()
        pkg = self._package()
        out: list[Event] = []
        last_ts = 0
        for entry in chain:
            for etype, contents in entry.events:
                if f"::{EVENTS_MODULE}::" not in etype:
                    continue
                try:
                    fields = decode_event(pkg.codec, etype, contents)
                except (WaflError, ValueError) as exc:
                    log.warning("skipping an undecodable event %s of %s: %s", etype, entry.digest, exc)
                    continue
                if normalize_address(str(fields.get("task_id", task_id))) != task_id:
                    continue
                ts = fields.get("timestamp_ms")
                ts = int(ts) if isinstance(ts, int) else (entry.timestamp_ms or last_ts)
                last_ts = ts
                out.append(Event(len(out), event_name(etype), fields, ts, entry.digest))
        return out

    @_translated
    def events(self, task: str, after_seq: int = -1) -> list[Event]:
        self._ensure_chain()
        info = self._task_info(task)
        obj = self._task_object(info.task_id)
        evs = self._events_upto(info.task_id, obj.version, obj.previous_transaction)
        return [e for e in evs if e.seq > after_seq]

    # --- operations --------------------------------------------------------------------------------

    @_translated
    def publish(self, signer: Any, build: Any = None, *, max_budget: int | None = None, record: bool = True) -> deployments.Deployment:
        """Publish the package (`build_package()` when not given) and record it for this network."""
        from wafl_sui.ledger.sui.publish import publish_kind

        if build is None:
            from wafl_sui.contract.build import build_package

            build = build_package()
        ident = self._signer(signer)
        if max_budget is not None:
            self.max_budget = max_budget
        chain = self._ensure_chain(check_deployment=False)
        eff = self._transact(ident, publish_kind(build, ident.address), "publish", {})
        if eff is None:  # pragma: no cover - publish has no `done` check
            raise SuiLedgerError("the publish transaction is not visible on the node")
        try:
            package_id = eff.published_package()
        except SuiNetworkError as exc:
            raise SuiLedgerError(str(exc)) from None
        caps = eff.created_of_type("::package::UpgradeCap")
        if len(caps) != 1:
            raise SuiLedgerError(f"publish transaction {eff.digest} created {len(caps)} UpgradeCaps, expected 1")
        dep = deployments.Deployment(self.network, package_id, caps[0].object_id, ident.address, eff.digest, chain)
        if record:
            deployments.record_deployment(dep, self.deployments_path)
        self._pkg = None
        self._tasks.clear()
        self._chain_checked = False
        return dep

    def _check_name(self, name: str | None) -> None:
        if name is None:
            return
        if not isinstance(name, str) or not _NAME.match(name) or name.lower().startswith("0x"):
            raise SuiLedgerError(
                f"task name {name!r} is not valid: use 1-64 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit, and not 0x (names and ids must not be confused)"
            )
        dep = self._deployment(required=False)
        if dep is not None and name in dep.tasks:
            raise SuiLedgerError(
                f"a task named {name!r} already exists on {self.network} ({dep.tasks[name].object_id}); choose another name"
            )

    @_translated
    def create_task(
        self, signer: Any, spec: Any, round_rules: Any, aggregation: Any, lr_q: int, open_: bool,
        initial_model: Sequence[int], vk: bytes, *, name: str | None = None,
    ) -> TaskRef:  # fmt: skip
        ident = self._signer(signer)
        self._ensure_chain()
        self._check_name(name)
        pkg_id = self.package_id
        kind = create_task_kind(pkg_id, ident.address, spec, round_rules, aggregation, lr_q, open_, initial_model, vk)
        eff = self._transact(ident, kind, "create_task", {})
        assert eff is not None
        tasks = eff.created_of_type(f"::{TASK_MODULE}::{TASK_STRUCT}")
        caps = eff.created_of_type(f"::{TASK_MODULE}::{CAP_STRUCT}")
        if len(tasks) != 1 or len(caps) != 1:
            raise SuiLedgerError(
                f"create_task transaction {eff.digest} created {len(tasks)} tasks and {len(caps)} admin caps, expected 1 each"
            )
        t, cap = tasks[0], caps[0]
        if t.owner is None or t.owner.kind != "shared" or t.owner.version is None:
            raise SuiLedgerError(f"task {t.object_id} of transaction {eff.digest} is not a shared object")
        key = name or t.object_id
        try:
            deployments.record_task(
                self.network, TaskDeployment(key, t.object_id, t.owner.version, cap.object_id, eff.digest), self.deployments_path
            )
        except DeploymentError as exc:
            if self._package_override is None:
                raise
            log.info("task %s not recorded: %s", t.object_id, exc)
        info = _TaskInfo(t.object_id, t.owner.version, name, cap.object_id)
        self._tasks[key] = self._tasks[t.object_id] = info
        self._history(t.object_id).add(eff)
        self._history(t.object_id).save()
        return TaskRef(t.object_id, cap.object_id, name)

    @_translated
    def submit_update(
        self, signer: Any, task: str, new_weights: Sequence[int], data_commitment: int, proof: bytes
    ) -> Receipt:
        ident = self._signer(signer)
        self._ensure_chain()
        info, shared = self._shared(task)
        kind = submit_update_kind(self.package_id, shared, new_weights, data_commitment, proof)
        round_before = None

        def done() -> bool:  # the chain already holds this sender's update of this round
            v = self._decode_task(self._task_object(info.task_id), info.name)
            return ident.address in v.submitters or (round_before is not None and v.round > round_before)

        try:
            round_before = self._decode_task(self._task_object(info.task_id), info.name).round
        except WaflError:
            round_before = None
        eff = self._transact(ident, kind, "submit_update", object_types(self.package_id, info.task_id), done)
        if eff is not None:
            return self._receipt(eff, info.task_id)
        # done on chain, its transaction not visible yet: the receipt from the task's history
        for e in reversed(self.events(info.task_id)):
            if (
                e.type == "UpdateAccepted"
                and e.fields.get("sender") == ident.address
                and (round_before is None or e.fields.get("round") == round_before)
            ):
                return Receipt(e.tx or "", (e,), None)
        raise OutcomeUnknown(
            f"the update of {ident.address} is on task {info.task_id} but its transaction cannot be found yet",
            "",
        )

    def _simple(self, signer: Any, task: str, fn: str, build: Callable[[str, SharedObject], ProgrammableTransaction]) -> Receipt:
        ident = self._signer(signer)
        self._ensure_chain()
        info, shared = self._shared(task)
        eff = self._transact(ident, build(self.package_id, shared), fn, object_types(self.package_id, info.task_id))
        if eff is None:  # pragma: no cover - no `done` check given
            raise OutcomeUnknown(f"{fn} on {info.task_id}: no effects", "")
        return self._receipt(eff, info.task_id)

    @_translated
    def aggregate(self, signer: Any, task: str) -> Receipt:
        return self._simple(signer, task, "aggregate", aggregate_kind)

    @_translated
    def discard_round(self, signer: Any, task: str) -> Receipt:
        return self._simple(signer, task, "discard_round", discard_round_kind)

    def _cap_ref(self, ident: Identity, info: _TaskInfo) -> ObjectRef:
        """The signer's admin capability of the task, as an owned-object reference. A cap the
        signer does not own cannot be used: ENotAdmin, as the local ledger."""
        from wafl_sui.protocol.errors import ProtocolError

        if info.admin_cap_id is not None:
            try:
                obj = self._read(lambda: self.client.get_object(info.admin_cap_id))
            except SuiNotFound:
                raise SuiLedgerError(
                    f"the admin capability {info.admin_cap_id} of task {info.task_id} no longer exists on {self.network}"
                ) from None
            if obj.owner.kind != "address" or obj.owner.address != ident.address:
                raise ProtocolError(
                    "ENotAdmin",
                    f"the admin capability {obj.object_id} of task {info.task_id} is owned by "
                    f"{obj.owner.address or obj.owner.kind}, not by the sender {ident.address}",
                )
            return obj.ref
        cap_type = f"{self.package_id}::{TASK_MODULE}::{CAP_STRUCT}"
        for obj in self._read(lambda: self.client.owned_objects(ident.address, cap_type)):
            try:
                fields = self._fields(obj)
            except WaflError:
                continue
            if normalize_address(str(fields.get("task_id", ""))) == info.task_id:
                return obj.ref
        raise ProtocolError("ENotAdmin", f"{ident.address} owns no admin capability of task {info.task_id}")

    def _admin(self, signer: Any, task: str, fn: str, build: Callable[[str, ObjectRef, SharedObject], ProgrammableTransaction]) -> Receipt:
        ident = self._signer(signer)
        self._ensure_chain()
        info, shared = self._shared(task)
        cap = self._cap_ref(ident, info)
        types = object_types(self.package_id, info.task_id, cap.object_id)
        eff = self._transact(ident, build(self.package_id, cap, shared), fn, types)
        if eff is None:  # pragma: no cover
            raise OutcomeUnknown(f"{fn} on {info.task_id}: no effects", "")
        return self._receipt(eff, info.task_id)

    @_translated
    def add_participant(self, signer: Any, task: str, participant: str) -> Receipt:
        return self._admin(signer, task, "add_participant", lambda p, c, t: add_participant_kind(p, c, t, participant))

    @_translated
    def remove_participant(self, signer: Any, task: str, participant: str) -> Receipt:
        return self._admin(
            signer, task, "remove_participant", lambda p, c, t: remove_participant_kind(p, c, t, participant)
        )

    @_translated
    def set_open(self, signer: Any, task: str, open_: bool) -> Receipt:
        return self._admin(signer, task, "set_open", lambda p, c, t: set_open_kind(p, c, t, open_))

    @_translated
    def restart_round(self, signer: Any, task: str) -> Receipt:
        return self._admin(signer, task, "restart_round", restart_round_kind)

    @_translated
    def migrate(self, signer: Any, task: str) -> Receipt:
        return self._admin(signer, task, "migrate", migrate_kind)

    # --- unsigned transactions (--serialize-unsigned-transaction) -----------------------------------

    def unsigned(self, sender: str) -> UnsignedTransactions:
        """The operations as unsigned TransactionData for `sender`: objects and the admin cap
        looked up on the node, the gas coins and the budget from a simulation."""
        sender = normalize_address(sender)

        def finish(kind: ProgrammableTransaction) -> TransactionData:
            self._ensure_chain(check_deployment=not any(isinstance(c, Publish) for c in kind.commands))
            tx, sim = self._read(
                lambda: self.client.prepare(
                    kind, sender, max_budget=self.max_budget, margin=self.gas_margin, gas_price=self.gas_price,
                    modules=self._pkg.modules if self._pkg else None,
                )
            )  # fmt: skip
            if not sim.success:
                raise self._failure(sim, "the transaction", simulated=True)
            return tx

        class _Me:
            address = sender

        def cap(task: str) -> ObjectRef:
            return self._cap_ref(_Me(), self._task_info(task))  # type: ignore[arg-type]

        return UnsignedTransactions(
            lambda: self.package_id, sender, _translated(finish), _translated(lambda t: self._shared(t)[1]), _translated(cap)
        )

    @staticmethod
    def offline(
        sender: str,
        gas_object: str | ObjectRef | Sequence[str | ObjectRef],
        gas_price: int,
        budget: int,
        *,
        network: str = "localnet",
        package_id: str | None = None,
        task_version: int | None = None,
        admin_cap: str | ObjectRef | None = None,
        deployments_path: str | os.PathLike[str] | None = None,
    ) -> UnsignedTransactions:
        """Unsigned transactions built with no network at all: gas coin(s) `ID:VERSION:DIGEST`,
        price and budget given; the package and tasks (with their initial shared versions) from
        the deployments file unless `package_id` / `task_version` say; admin operations need
        `admin_cap` (`ID:VERSION:DIGEST`, its current version)."""
        items = [gas_object] if isinstance(gas_object, (str, ObjectRef)) else list(gas_object)
        payment = tuple(g if isinstance(g, ObjectRef) else parse_object_ref(g) for g in items)
        gas = GasParams(payment, int(gas_price), int(budget))
        path = Path(deployments_path) if deployments_path else deployments.default_path()
        dep = deployments.load(path).get(network)
        if package_id is None:
            if dep is None:
                raise SuiLedgerError(
                    f"the WaFL package is not deployed on {network} (no entry in {path}); give the package id"
                )
            package_id = dep.package_id
        cap_ref = admin_cap if isinstance(admin_cap, ObjectRef) or admin_cap is None else parse_object_ref(admin_cap)
        sender_n = normalize_address(sender)

        def resolve_task(task: str) -> SharedObject:
            known = dep.tasks if dep else {}
            t = known.get(task) or next((t for t in known.values() if _same_id(t.object_id, task)), None)
            if task_version is not None:
                tid = t.object_id if t else _id_or_none(task)
                if tid is None:
                    raise TaskNotFound(f"no task named {task!r} on {network} in {path}; give its id")
                return task_input(tid, task_version, True)
            if t is None:
                raise TaskNotFound(
                    f"task {task!r} is not in {path} for {network}; give --task-version (its initial shared version)"
                )
            return task_input(t.object_id, t.initial_shared_version, True)

        def resolve_cap(task: str) -> ObjectRef:
            if cap_ref is None:
                raise SuiLedgerError(
                    "an admin transaction built offline needs the admin capability as ID:VERSION:DIGEST (--admin-cap)"
                )
            return cap_ref

        return UnsignedTransactions(package_id, sender_n, lambda k: _tx(k, sender_n, gas), resolve_task, resolve_cap)


def _id_or_none(text: str) -> str | None:
    try:
        return normalize_address(text)
    except BcsError:
        return None


def _same_id(a: str, b: str) -> bool:
    bb = _id_or_none(b)
    return bb is not None and normalize_address(a) == bb


def open_ledger(network: str, **kwargs: Any) -> SuiLedger:
    """What `wafl_sui.ledger.open_ledger("localnet" | "devnet" | "testnet")` calls."""
    return SuiLedger(network, **kwargs)
