"""The one ledger interface: the operations of the Move package, no more and no less.

Every CLI command, the client and the simulator talk to a `Ledger`, so they run unchanged on the
embedded local ledger (`wafl_sui.ledger.local`) and on a Sui network (`wafl_sui.ledger.sui`).
Each operation is signed by the sender's `Identity` (a Sui Ed25519 key pair): on Sui the signature
is the transaction's, on the local ledger it covers the operation's content and is checked the
way a chain checks a transaction's. A broken rule raises `ProtocolError` with the Move abort's
name; anything else a user can cause raises a `LedgerError`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Sequence

from wafl_sui.errors import WaflError
from wafl_sui import protocol
from wafl_sui.protocol import AggregationRule, RoundRules, StepSpec, normalize_address


class LedgerError(WaflError):
    """A ledger could not do what was asked (unknown task, corrupt file, unreachable node, ...)."""


class TaskNotFound(LedgerError):
    """No task with this id (or name) on this ledger."""


@dataclass(frozen=True)
class TaskRef:
    """What creating a task returns: the shared task's id and its admin capability's id."""

    task_id: str
    admin_cap_id: str
    name: str | None = None


@dataclass(frozen=True)
class TaskView:
    """What anyone can read of a task (the fields of the Move `Task` object)."""

    task_id: str
    spec: StepSpec
    lr_q: int
    round_rules: RoundRules
    aggregation: AggregationRule
    open: bool
    round: int
    round_start_ms: int
    deadline_ms: int
    model: tuple[int, ...]  # offset-encoded, C x (D+1) row-major
    model_commitment: int
    submitters: tuple[str, ...]
    finished: bool
    created_ms: int
    version: int
    prepared_vk: Any  # zk.sui_bytes.PreparedVerifyingKey: what the chain stores
    aggregation_done: int = 0
    aggregation_total: int = 0
    name: str | None = None
    deposit_mist: int = 0  # what a participant locks to register (MIST on Sui)
    registered: tuple[str, ...] = ()  # the pool rounds are sampled from, in registration order
    round_open: bool = False  # the current round is open: its participants are sampled
    sampled: tuple[str, ...] = ()  # the open round's sampled participants
    randomness: bytes = b""  # the 32 bytes the open round's sample was drawn with
    package_id: str | None = None  # Sui: the package that defines the Task type (None on the local ledger)

    @property
    def num_updates(self) -> int:
        return len(self.submitters)

    def is_registered(self, participant: str) -> bool:
        return normalize_address(participant) in self.registered

    def is_sampled(self, participant: str) -> bool:
        return self.round_open and normalize_address(participant) in self.sampled


@dataclass(frozen=True)
class Event:
    """One event as the chain records it: the Move struct name, its fields, and where it is."""

    seq: int  # position in the task's event history (0, 1, ...)
    type: str  # e.g. "UpdateAccepted"
    fields: dict[str, Any]
    timestamp_ms: int
    tx: str | None = None  # transaction digest (Sui) or operation id (local)


@dataclass(frozen=True)
class RoundSample:
    """Who a round sampled and with which randomness (anyone can recompute `sampled` from the
    pool and `randomness` with `protocol.participants.sample`)."""

    round: int
    randomness: bytes
    sampled: tuple[str, ...]
    pool_size: int
    deadline_ms: int


@dataclass(frozen=True)
class Receipt:
    """The outcome of one operation: its id (tx digest on Sui) and the events it emitted."""

    tx: str
    events: tuple[Event, ...] = field(default_factory=tuple)
    gas_used: int | None = None  # MIST on Sui; None on the local ledger
    info: dict[str, Any] = field(default_factory=dict)  # ledger-specific figures, e.g. verify_seconds

    def of_type(self, type_: str) -> list[Event]:
        return [e for e in self.events if e.type == type_]


class Ledger(abc.ABC):
    """The operations of `move/sources/task.move`. Addresses and ids are 0x + 64 hex."""

    network: str  # one of ledger.sui.network.LEDGER_NETWORKS

    # --- tasks
    @abc.abstractmethod
    def create_task(
        self, signer: Any, spec: StepSpec, round_rules: RoundRules, aggregation: AggregationRule,
        lr_q: int, open_: bool, initial_model: Sequence[int], vk: bytes, *, name: str | None = None,
        deposit_mist: int = 0,
    ) -> TaskRef:
        """`task::create_task`; the signer receives the admin capability. Round 0 waits for
        `open_round`; `deposit_mist` is what each participant locks to register."""

    @abc.abstractmethod
    def task(self, task: str) -> TaskView:
        """A task by id (or by the name it was created with); TaskNotFound if none."""

    @abc.abstractmethod
    def tasks(self) -> list[TaskView]:
        """Every task this ledger knows (local: all; Sui: those in the deployments file)."""

    @abc.abstractmethod
    def has_submitted(self, task: str, participant: str) -> bool: ...

    @abc.abstractmethod
    def is_allowed(self, task: str, participant: str) -> bool: ...

    # --- participants
    @abc.abstractmethod
    def register(self, signer: Any, task: str) -> Receipt:
        """`task::register` with the task's deposit (Sui: a coin split from the gas coin)."""

    @abc.abstractmethod
    def leave(self, signer: Any, task: str) -> Receipt:
        """`task::leave`: the deposit goes back to the signer."""

    @abc.abstractmethod
    def open_round(self, signer: Any, task: str) -> Receipt:
        """`task::open_round` (anyone): the round's randomness (Sui: `sui::random`; local: the
        OS) samples its participants; a `RoundOpened` event in the receipt."""

    def round_sample(self, task: str, round_: int | None = None) -> RoundSample | None:
        """The sample and randomness of `round_` (default: the current round), from its last
        `RoundOpened` event; None while that round was never opened."""
        if round_ is None:
            round_ = self.task(task).round
        found = None
        for e in self.events(task):
            if e.type == "RoundOpened" and int(e.fields["round"]) == int(round_):
                found = e
        if found is None:
            return None
        f = found.fields
        return RoundSample(
            round=int(f["round"]), randomness=bytes.fromhex(protocol.events.randomness_hex(f["randomness"])),
            sampled=tuple(normalize_address(a) for a in f["sampled"]), pool_size=int(f["pool_size"]),
            deadline_ms=int(f["deadline_ms"]),
        )

    # --- clients and aggregators
    @abc.abstractmethod
    def submit_update(
        self, signer: Any, task: str, new_weights: Sequence[int], data_commitment: int, proof: bytes,
    ) -> Receipt:
        """`task::submit_update` (the ledger builds the public inputs and verifies the proof)."""

    @abc.abstractmethod
    def aggregate(self, signer: Any, task: str) -> Receipt:
        """`task::aggregate`: one aggregation step; the round advances on the last one
        (a `RoundAggregated` event in the receipt)."""

    @abc.abstractmethod
    def discard_round(self, signer: Any, task: str) -> Receipt:
        """`task::discard_round`: after deadline + grace, drop the round's updates and restart it."""

    # --- admin (the signer must own the task's admin capability)
    @abc.abstractmethod
    def add_participant(self, signer: Any, task: str, participant: str) -> Receipt: ...

    @abc.abstractmethod
    def remove_participant(self, signer: Any, task: str, participant: str) -> Receipt: ...

    @abc.abstractmethod
    def set_open(self, signer: Any, task: str, open_: bool) -> Receipt: ...

    @abc.abstractmethod
    def restart_round(self, signer: Any, task: str) -> Receipt: ...

    @abc.abstractmethod
    def migrate(self, signer: Any, task: str) -> Receipt: ...

    # --- the task's manifest (its data contract: `task::set_manifest` / `task::manifest`)
    @abc.abstractmethod
    def set_manifest(self, signer: Any, task: str, manifest: bytes) -> Receipt:
        """`task::set_manifest`: store the manifest bytes once, before the first update."""

    @abc.abstractmethod
    def manifest(self, task: str) -> bytes:
        """The task's manifest bytes (b"" when it has none)."""

    # --- private tasks (docs/PRIVACY.md: `private_task::*` of the Move package)
    @abc.abstractmethod
    def set_privacy(self, signer: Any, task: str, params: "protocol.privacy.DpParams") -> Receipt:
        """`private_task::set_privacy` (the admin): make the task private, once, before any
        registration, round or update (EPrivacyLocked), with checked parameters (EInvalidPrivacy)."""

    @abc.abstractmethod
    def register_private(self, signer: Any, task: str, data_commitment: int, seed_commitment: int) -> Receipt:
        """`private_task::register_private` with the task's deposit and the sender's commitments."""

    @abc.abstractmethod
    def submit_private_update(self, signer: Any, task: str, new_weights: Sequence[int], proof: bytes) -> Receipt:
        """`private_task::submit_private_update`: the contract computes the `data` public input
        (`protocol.privacy.binding` of the params, the sender's commitments and the round's randomness)."""

    @abc.abstractmethod
    def privacy_params(self, task: str) -> "protocol.privacy.DpParams | None":
        """The task's DpParams (None: not a private task)."""

    def privacy(self, task: str) -> "protocol.privacy.DpParams | None":
        """`privacy_params` (the name the client uses)."""
        return self.privacy_params(task)

    @abc.abstractmethod
    def private_registration(self, task: str, participant: str) -> "protocol.task.PrivateRegistration | None":
        """`participant`'s private registration, or None: a `protocol.task.PrivateRegistration`,
        which also unpacks as (data_commitment, seed_commitment, first_round)."""

    @abc.abstractmethod
    def contributions(self, task: str, participant: str) -> int:
        """Accepted private updates of `participant` (kept across leave and re-register)."""

    # --- history
    @abc.abstractmethod
    def events(self, task: str, after_seq: int = -1) -> list[Event]:
        """The task's events in order (those with seq > after_seq)."""

    def close(self) -> None:  # pragma: no cover - default: nothing to release
        pass

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- conveniences built on the operations above
    def aggregate_round(self, signer: Any, task: str, max_steps: int = 100_000) -> list[Receipt]:
        """Call `aggregate` until the round advances (one call for FedAvg; one per chunk for the
        robust rules); the receipts in order."""
        out: list[Receipt] = []
        for _ in range(max_steps):
            r = self.aggregate(signer, task)
            out.append(r)
            if r.of_type("RoundAggregated"):
                return out
        raise LedgerError(f"aggregation of task {task} did not finish in {max_steps} steps")
