"""The events of the WaFL task (twin of `move/sources/events.move`): one frozen dataclass per Move
event struct, same name, same fields (snake_case), in the same order.

Every transition of `protocol.task` returns the events the Move entry function emits, in order.
`event.type` is the Move struct name; `event.to_dict()` is JSON-safe: ints stay ints (u256 too),
addresses and object ids are 0x + 64 lower-case hex, the spec / round rules / aggregation rule
are nested dicts. `from_dict(type, fields)` rebuilds an event from that form (or from the JSON
a Sui node returns for the event, which has the same field names).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from wafl_sui.protocol.codec import normalize_address
from wafl_sui.protocol.round import RoundRules
from wafl_sui.protocol.rules import AggregationRule
from wafl_sui.protocol.spec import StepSpec


def _plain(v: Any) -> Any:
    if isinstance(v, StepSpec):
        return v.move_fields()  # the Move struct's fields, all of them
    if isinstance(v, (RoundRules, AggregationRule)):
        return v.to_dict()
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


@dataclass(frozen=True)
class Event:
    """Base of every task event."""

    ADDRESS_FIELDS: ClassVar[tuple[str, ...]] = ("task_id",)

    @property
    def type(self) -> str:
        """The Move struct name (`wafl::events::<type>`)."""
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class TaskCreated(Event):
    """A task was created and shared (its admin capability went to the creator's PTB)."""

    ADDRESS_FIELDS: ClassVar[tuple[str, ...]] = ("task_id", "admin_cap_id", "creator")
    task_id: str
    admin_cap_id: str
    creator: str
    version: int
    spec: StepSpec
    round_rules: RoundRules
    aggregation: AggregationRule
    lr_q: int
    open: bool
    deposit_mist: int
    num_weights: int
    model_commitment: int
    round: int
    deadline_ms: int
    timestamp_ms: int


@dataclass(frozen=True)
class ParticipantRegistered(Event):
    """`participant` registered for the task, locking `deposit` MIST."""

    ADDRESS_FIELDS: ClassVar[tuple[str, ...]] = ("task_id", "participant")
    task_id: str
    participant: str
    deposit: int
    num_registered: int


@dataclass(frozen=True)
class ParticipantLeft(Event):
    """`participant` left the task and took its `deposit` back."""

    ADDRESS_FIELDS: ClassVar[tuple[str, ...]] = ("task_id", "participant")
    task_id: str
    participant: str
    deposit: int
    num_registered: int


@dataclass(frozen=True)
class RoundOpened(Event):
    """`round` opened: `sampled` (drawn from `pool_size` registered participants with
    `randomness`, the 32 bytes as 0x-prefixed lower-case hex: a node's JSON of a `vector<u8>`
    event field, `task_object.json_safe`) may submit until `deadline_ms`."""

    task_id: str
    round: int
    randomness: str
    sampled: tuple[str, ...]
    pool_size: int
    deadline_ms: int
    timestamp_ms: int


@dataclass(frozen=True)
class UpdateAccepted(Event):
    """A proven update was accepted for `round`; `num_updates` counts the round's updates now."""

    ADDRESS_FIELDS: ClassVar[tuple[str, ...]] = ("task_id", "sender")
    task_id: str
    round: int
    sender: str
    old_model_commitment: int
    new_model_commitment: int
    data_commitment: int
    context_hash: int
    num_updates: int
    timestamp_ms: int


@dataclass(frozen=True)
class AggregationProgressed(Event):
    """An aggregation step (a chunk of coordinates) of `round` was done; the round advances on
    the step that reaches `coords_total`."""

    ADDRESS_FIELDS: ClassVar[tuple[str, ...]] = ("task_id", "triggered_by")
    task_id: str
    round: int
    coords_done: int
    coords_total: int
    triggered_by: str
    timestamp_ms: int


@dataclass(frozen=True)
class RoundAggregated(Event):
    """The updates of `round` were aggregated into a new global model; the next round started."""

    ADDRESS_FIELDS: ClassVar[tuple[str, ...]] = ("task_id", "triggered_by")
    task_id: str
    round: int
    rule: int
    num_updates: int
    submitters: tuple[str, ...]
    previous_model_commitment: int
    model_commitment: int
    next_round: int
    next_deadline_ms: int
    triggered_by: str
    timestamp_ms: int


@dataclass(frozen=True)
class TaskFinished(Event):
    """The task ran its last round; no more updates are accepted."""

    task_id: str
    rounds: int
    model_commitment: int
    timestamp_ms: int


@dataclass(frozen=True)
class RoundRestarted(Event):
    """The admin restarted the timer of the current round (its updates are kept)."""

    task_id: str
    round: int
    num_updates: int
    deadline_ms: int
    timestamp_ms: int


@dataclass(frozen=True)
class RoundDiscarded(Event):
    """The round's updates (of `submitters`) and its partial aggregation were dropped after the
    grace period; the same round number restarted with a new deadline."""

    ADDRESS_FIELDS: ClassVar[tuple[str, ...]] = ("task_id", "triggered_by")
    task_id: str
    round: int
    num_updates: int
    submitters: tuple[str, ...]
    deadline_ms: int
    triggered_by: str
    timestamp_ms: int


@dataclass(frozen=True)
class ParticipantAdded(Event):
    """The admin put `participant` on the allowlist."""

    ADDRESS_FIELDS: ClassVar[tuple[str, ...]] = ("task_id", "participant")
    task_id: str
    participant: str


@dataclass(frozen=True)
class ParticipantRemoved(Event):
    """The admin took `participant` off the allowlist (its accepted updates stay)."""

    ADDRESS_FIELDS: ClassVar[tuple[str, ...]] = ("task_id", "participant")
    task_id: str
    participant: str


@dataclass(frozen=True)
class OpenChanged(Event):
    """The admin opened the task to everyone (open) or restricted it to the allowlist."""

    task_id: str
    open: bool


@dataclass(frozen=True)
class ManifestSet(Event):
    """The admin stored the task's manifest: SHA3-256 of the bytes (big-endian) and their length."""

    task_id: str
    manifest_hash: int
    size: int


@dataclass(frozen=True)
class TaskMigrated(Event):
    """The admin migrated the task object to this package version."""

    task_id: str
    from_version: int
    to_version: int


@dataclass(frozen=True)
class PrivacySet(Event):
    """The admin made the task private: its `DpParams`, field for field, and their params_hash."""

    task_id: str
    records: int
    clip_frac_bits: int
    clip_q: int
    clip_factor_bits: int
    noise_sigma0: int
    noise_tail: int
    noise_k: int
    sample_threshold: int
    target_epsilon_milli: int
    target_delta_pico: int
    max_contributions: int
    params_hash: int


@dataclass(frozen=True)
class PrivateRegistered(Event):
    """A participant registered for a private task with its data and seed commitments."""

    ADDRESS_FIELDS: ClassVar[tuple[str, ...]] = ("task_id", "participant")
    task_id: str
    participant: str
    data_commitment: int
    seed_commitment: int
    first_round: int


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (TaskCreated, UpdateAccepted, AggregationProgressed, RoundAggregated, TaskFinished,
                RoundRestarted, RoundDiscarded, ParticipantAdded, ParticipantRemoved, OpenChanged,
                TaskMigrated, ManifestSet, ParticipantRegistered, ParticipantLeft, RoundOpened, PrivacySet,
                PrivateRegistered)
}


def randomness_hex(v: Any) -> str:
    """A round's randomness as lower-case hex, from bytes, a list of byte values (a node's JSON of
    a `vector<u8>`), base64 is not accepted, or hex (with or without 0x)."""
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, (list, tuple)):
        return bytes(int(b) for b in v).hex()
    s = str(v).lower()
    s = s[2:] if s.startswith("0x") else s
    return bytes.fromhex(s).hex()


def from_dict(type_: str, fields: dict[str, Any]) -> Event:
    """The event `type_` from its `to_dict()` form (or a node's JSON of it: numbers may be strings)."""
    cls = EVENT_TYPES[type_]
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        v = fields[f.name]
        if f.name == "spec":
            v = v if isinstance(v, StepSpec) else StepSpec.from_dict(v)
        elif f.name == "round_rules":
            v = v if isinstance(v, RoundRules) else RoundRules.from_dict(v)
        elif f.name == "aggregation":
            v = v if isinstance(v, AggregationRule) else AggregationRule.from_dict(v)
        elif f.name in ("submitters", "sampled"):
            v = tuple(normalize_address(a) for a in v)
        elif f.name == "randomness":
            v = "0x" + randomness_hex(v)
        elif f.name in cls.ADDRESS_FIELDS:
            v = normalize_address(v)
        elif f.name == "open":
            v = bool(v)
        else:
            v = int(v)
        out[f.name] = v
    return cls(**out)
