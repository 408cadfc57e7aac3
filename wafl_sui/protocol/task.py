"""The WaFL task as an immutable state and its transitions (twin of `move/sources/task.move`):
what the shared `Task` object holds and what each entry function does to it, with the contract's
checks in the contract's order and its error names. Every transition returns
`(new_state, events)`, the events being exactly those the Move entry function emits.

create_task      EInvalidSpec (spec, then lr_q), EInvalidRoundRules, EInvalidAggregationRule,
                 EOverGasBudget, EWrongLength / EValueOutOfBounds (initial model),
                 EInvalidVerifyingKey (malformed or degenerate: codec.check_verifying_key; not
                 for 4 public inputs; `prepare` rejects points off the curve or the subgroup)
register         EWrongVersion, ETaskFinished, ESenderNotAllowed (closed task), EAlreadyRegistered,
                 ETooManyParticipants, EWrongDeposit
leave            EWrongVersion, ENotRegistered, EParticipantSampled (sampled in the open round)
open_round       EWrongVersion, ETaskFinished, ERoundAlreadyOpen, ENotEnoughParticipants (fewer
                 registered than the quorum); the caller supplies the round's randomness
submit_update    EWrongVersion, ETaskFinished, ERoundNotOpen, ERoundClosed (deadline passed, or
                 aggregation started), ENotSampled, ESenderNotAllowed, EAlreadySubmitted,
                 EWrongLength, EValueOutOfBounds (weights, then the data commitment),
                 EInvalidProof (not 128 bytes, or not valid)
aggregate        EWrongVersion, ETaskFinished, ERoundNotOpen, EQuorumNotReached (round open and
                 not every sampled participant in, or closed below the quorum), ENoUpdates. One step: FedAvg does the whole round;
                 median / trimmed mean do `budget.coords_per_step` coordinates per call
discard_round    EWrongVersion, ETaskFinished, ERoundNotOpen, ERoundHasUpdates (at its quorum),
                 EGracePeriodNotOver (now <= deadline + max(grace, MIN_GRACE_MS))
set_privacy      EWrongVersion, ENotAdmin, EPrivacyLocked (set, or round > 0 / round open / a
                 registration, a deposit or an update), EInvalidPrivacy (privacy.check_params; u64 fields)
register_private EWrongVersion, EPrivateTask (not a private task), EValueOutOfBounds (data, then seed
                 commitment), then those of register. register / submit_update on a private task:
                 EPrivateTask right after EWrongVersion
submit_private_update  EWrongVersion, EPrivateTask, those of submit_update before the proof (the
                 data commitment is the contract's), ENotRegistered, ERegisteredAfterRandomness,
                 EPrivacyBudgetSpent, EInvalidProof
set_manifest     EWrongVersion, ENotAdmin, EManifestAlreadySet (set, or round > 0 / an update in),
                 EManifestSize
admin            EWrongVersion, ENotAdmin (capability of another task), ETaskFinished and
                 ERoundNotOpen and ERoundHasUpdates (restart_round); migrate: ENotAdmin, EWrongVersion

A ledger keeps a `TaskState` and replaces it with the state a transition returns.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from wafl_sui.protocol import budget, codec, commitment, events as ev, manifest as manifests, participants, privacy, round as rounds, rules
from wafl_sui.protocol.codec import PROOF_BYTES, PUBLIC_INPUTS, normalize_address
from wafl_sui.protocol.errors import ProtocolError
from wafl_sui.protocol.round import RoundRules
from wafl_sui.protocol.rules import AGG_FEDAVG, AggregationRule
from wafl_sui.protocol.spec import StepSpec, check_lr_q, validate_spec, validate_weights

VERSION = 1  # the package's version: `task::VERSION`; every mutating call checks state.version
NUM_PUBLIC_INPUTS = len(PUBLIC_INPUTS)

Events = list[ev.Event]
Verify = Callable[[Any, list[int], bytes], bool]


@dataclass(frozen=True, kw_only=True)
class TaskState:
    """What the Move `Task` object holds, field for field and in its order (`deposits`: the
    addresses of the Move table of deposits; the amounts are all `deposit_mist`).

    submitters: the round's senders in acceptance order. FedAvg keeps the coordinate `sums` of
    their updates (updated at submit); median / trimmed mean keep the `updates` themselves (one
    per submitter, same order) and the coordinates aggregated so far in `partial`.
    """

    task_id: str
    admin_cap_id: str
    version: int
    spec: StepSpec
    lr_q: int
    round_rules: RoundRules
    aggregation: AggregationRule
    open: bool
    allowlist: frozenset[str]
    deposit_mist: int = 0
    registered: tuple[str, ...] = ()  # registration order: the pool rounds are sampled from
    deposits: frozenset[str] = frozenset()  # who holds a deposit (of deposit_mist) in the task
    round_open: bool = False
    sampled: tuple[str, ...] = ()  # the open round's sampled participants
    randomness: bytes = b""  # the 32 bytes the open round's sample was drawn with
    prepared_vk: Any = field(repr=False)
    round: int
    round_start_ms: int
    deadline_ms: int
    model: tuple[int, ...]
    model_commitment: int
    submitters: tuple[str, ...] = ()
    updates: tuple[tuple[int, ...], ...] = ()
    sums: tuple[int, ...] = ()
    partial: tuple[int, ...] = ()
    finished: bool = False
    created_ms: int = 0
    manifest: bytes = b""  # the dynamic field `ManifestKey` (empty: none set; not a field of the Move struct)
    # the dynamic field `private_state::PrivacyKey` (None: not a private task): its parameters, the
    # private registration of each registered sender, the accepted private updates of each sender
    privacy: privacy.DpParams | None = None
    private_registrations: tuple[tuple[str, "PrivateRegistration"], ...] = ()
    contributions: tuple[tuple[str, int], ...] = ()

    @property
    def is_private(self) -> bool:
        return self.privacy is not None

    def private_registration(self, participant: str) -> "PrivateRegistration | None":
        return dict(self.private_registrations).get(normalize_address(participant))

    def contributions_of(self, participant: str) -> int:
        return dict(self.contributions).get(normalize_address(participant), 0)

    @property
    def num_updates(self) -> int:
        return len(self.submitters)

    @property
    def num_weights(self) -> int:
        return len(self.model)

    @property
    def aggregation_done(self) -> int:
        """Coordinates of the round aggregated so far (0 until its first robust-rule step)."""
        return len(self.partial)

    @property
    def aggregation_total(self) -> int:
        """Coordinates a round's aggregation computes (the model's weights)."""
        return len(self.model)

    @property
    def aggregating(self) -> bool:
        """The round's aggregation has started: the round takes no more updates."""
        return bool(self.partial)

    def is_allowed(self, sender: str) -> bool:
        return self.open or normalize_address(sender) in self.allowlist

    def is_registered(self, participant: str) -> bool:
        return normalize_address(participant) in self.registered

    def is_sampled(self, participant: str) -> bool:
        return normalize_address(participant) in self.sampled

    @property
    def pool(self) -> tuple[str, ...]:
        """The participants the next round is sampled from (`task::pool`)."""
        return participants.pool(self.registered, self.open, self.allowlist)

    def has_submitted(self, sender: str) -> bool:
        return normalize_address(sender) in self.submitters

    def update_of(self, sender: str) -> tuple[int, ...] | None:
        """The update `sender` submitted this round, where the rule stores updates (not FedAvg)."""
        a = normalize_address(sender)
        return self.updates[self.submitters.index(a)] if a in self.submitters and self.updates else None


@dataclass(frozen=True)
class PrivateRegistration:
    """`private_state::PrivateRegistration`: a sender's commitments and the first round it may use."""

    data_commitment: int
    seed_commitment: int
    first_round: int

    def __iter__(self):  # (data_commitment, seed_commitment, first_round), as the Move getters
        return iter((self.data_commitment, self.seed_commitment, self.first_round))

    def __getitem__(self, i: int) -> int:
        return tuple(self)[i]


def _stores_updates(aggregation: AggregationRule) -> bool:
    return aggregation.rule != AGG_FEDAVG


def _empty_round(state: TaskState) -> dict[str, Any]:
    """The fields of a round without updates (what aggregation and discarding leave)."""
    sums = (0,) * state.num_weights if not _stores_updates(state.aggregation) else ()
    return dict(submitters=(), updates=(), sums=sums, partial=())


# --------------------------------------------------------------------------- create
def create_task(
    task_id: str,
    admin_cap_id: str,
    creator: str,
    spec: StepSpec | dict,
    round_rules: RoundRules,
    aggregation: AggregationRule,
    lr_q: int,
    open_: bool,
    initial_model: Sequence[int],
    vk: bytes,
    now_ms: int,
    prepare: Callable[[bytes], Any] = lambda vk: vk,
    deposit_mist: int = 0,
) -> tuple[TaskState, Events]:
    """`task::create_task` (its `deposit_mist` follows `open` there). `prepare(vk)` turns the raw
    key into the stored prepared key (the ledger passes `zk.sui_bytes.prepare_verifying_key`, as
    `groth16::prepare_verifying_key`). Round 0 waits for `open_round`."""
    if isinstance(spec, dict):
        spec = StepSpec.from_dict(spec)
    validate_spec(spec)
    check_lr_q(spec, lr_q)
    rounds.validate_round_rules(round_rules)
    rules.validate_rule(aggregation.rule, aggregation.trim_bps)
    budget.check_task_budget(spec.num_weights, aggregation, round_rules.participants_per_round)
    if isinstance(deposit_mist, bool) or not isinstance(deposit_mist, int) or not 0 <= deposit_mist <= rounds.U64_MAX:
        raise ProtocolError("EWrongDeposit", f"the deposit is a u64 amount of MIST, got {deposit_mist!r}")
    validate_weights(initial_model, spec)
    n = codec.check_verifying_key(vk)
    if n != NUM_PUBLIC_INPUTS:
        raise ProtocolError(
            "EInvalidVerifyingKey", f"the verifying key is for {n} public inputs, the step circuit has {NUM_PUBLIC_INPUTS}"
        )
    prepared = prepare(bytes(vk))
    model = tuple(int(v) for v in initial_model)
    state = TaskState(
        task_id=normalize_address(task_id),
        admin_cap_id=normalize_address(admin_cap_id),
        version=VERSION,
        spec=spec,
        lr_q=lr_q,
        round_rules=round_rules,
        aggregation=aggregation,
        open=bool(open_),
        allowlist=frozenset(),
        prepared_vk=prepared,
        round=0,
        round_start_ms=now_ms,
        deadline_ms=0,
        model=model,
        model_commitment=commitment.model_commitment_encoded(list(model), spec),
        created_ms=now_ms,
        deposit_mist=deposit_mist,
    )
    state = dataclasses.replace(state, **_empty_round(state))
    event = ev.TaskCreated(
        task_id=state.task_id, admin_cap_id=state.admin_cap_id, creator=normalize_address(creator),
        version=VERSION, spec=spec, round_rules=round_rules, aggregation=aggregation, lr_q=lr_q,
        open=state.open, deposit_mist=deposit_mist, num_weights=spec.num_weights, model_commitment=state.model_commitment, round=0,
        deadline_ms=state.deadline_ms, timestamp_ms=now_ms,
    )
    return state, [event]


# --------------------------------------------------------------------------- participants
def register(state: TaskState, sender: str, deposit: int) -> tuple[TaskState, Events]:
    """`task::register`: `sender` joins the pool rounds are sampled from, locking `deposit` (the
    value of the coin it passes: exactly the task's deposit_mist)."""
    check_version(state)
    privacy.check_kind(state.is_private, private_call=False)
    return _add_registered(state, normalize_address(sender), deposit)


def _add_registered(state: TaskState, sender: str, deposit: int) -> tuple[TaskState, Events]:
    rounds.check_registration(state.finished, state.is_allowed(sender))
    participants.check_register(sender in state.deposits, len(state.registered), int(deposit), state.deposit_mist)
    new = dataclasses.replace(
        state, registered=state.registered + (sender,), deposits=state.deposits | {sender},
    )
    return new, [ev.ParticipantRegistered(
        task_id=state.task_id, participant=sender, deposit=int(deposit), num_registered=len(new.registered),
    )]


def leave(state: TaskState, sender: str) -> tuple[TaskState, Events]:
    """`task::leave`: `sender` leaves the pool and takes its deposit back (the event's `deposit`),
    except while sampled in the open round of an unfinished task."""
    check_version(state)
    sender = normalize_address(sender)
    sampled_now = not state.finished and state.round_open and sender in state.sampled
    participants.check_leave(sender in state.deposits, sampled_now)
    new = dataclasses.replace(
        state, registered=tuple(p for p in state.registered if p != sender), deposits=state.deposits - {sender},
        private_registrations=tuple(r for r in state.private_registrations if r[0] != sender),
    )
    return new, [ev.ParticipantLeft(
        task_id=state.task_id, participant=sender, deposit=state.deposit_mist, num_registered=len(new.registered),
    )]


def open_round(state: TaskState, randomness: bytes, now_ms: int) -> tuple[TaskState, Events]:
    """`task::open_round` with the round's `randomness` (Sui: 32 bytes from `sui::random`; the
    local ledger: from the OS): sample `participants_per_round` of the pool (`participants.sample`)
    and start the round's deadline."""
    check_version(state)
    rounds.check_open(state.finished, state.round_open)
    pool = state.pool
    participants.check_pool(len(pool), state.round_rules.quorum)
    randomness = bytes(randomness)
    sampled = participants.sample(pool, state.round_rules.participants_per_round, randomness)
    deadline = rounds.deadline(now_ms, state.round_rules.round_duration_ms)
    new = dataclasses.replace(
        state, round_open=True, sampled=sampled, randomness=randomness, round_start_ms=now_ms, deadline_ms=deadline,
    )
    return new, [ev.RoundOpened(
        task_id=state.task_id, round=state.round, randomness="0x" + randomness.hex(), sampled=sampled,
        pool_size=len(pool), deadline_ms=deadline, timestamp_ms=now_ms,
    )]


def _closed_sample() -> dict[str, Any]:
    """The fields of a round that waits for `open_round`."""
    return dict(round_open=False, sampled=(), randomness=b"", deadline_ms=0)


# --------------------------------------------------------------------------- submit
def check_version(state: TaskState) -> None:
    """EWrongVersion unless the task object is at this package's VERSION."""
    if state.version != VERSION:
        raise ProtocolError(
            "EWrongVersion", f"the task is at version {state.version}, the package at {VERSION} (migrate it)"
        )


def check_update_contents(spec: StepSpec, weights: Sequence[int], data_commitment: int, proof: bytes) -> None:
    """The checks of an update after `check_submit` and before proof verification."""
    validate_weights(weights, spec)
    codec.assert_field_element(data_commitment, "the data commitment")
    _check_proof_length(proof)


def _check_proof_length(proof: bytes) -> None:
    if len(proof) != PROOF_BYTES:
        raise ProtocolError("EInvalidProof", f"a proof has {PROOF_BYTES} bytes, got {len(proof)}")


def public_inputs_for(state: TaskState, sender: str, new_weights: Sequence[int], data_commitment: int) -> list[int]:
    """The four public inputs the contract builds for an update of `sender`."""
    new_c = commitment.model_commitment_encoded(list(new_weights), state.spec)
    ctx = commitment.context_hash(state.task_id, sender, state.round, state.lr_q)
    return codec.public_inputs(state.model_commitment, new_c, data_commitment, ctx)


def submit_update(
    state: TaskState,
    sender: str,
    new_weights: Sequence[int],
    data_commitment: int,
    proof: bytes,
    now_ms: int,
    verify: Verify,
) -> tuple[TaskState, Events]:
    """`task::submit_update`. `verify(prepared_vk, public_inputs, proof)` checks the Groth16 proof
    (e.g. `wafl_sui.zk.sui_bytes`); the inputs are built here as the contract builds them."""
    check_version(state)
    privacy.check_kind(state.is_private, private_call=False)
    return _submit(state, normalize_address(sender), new_weights, data_commitment, proof, now_ms, verify)


def _submit(state: TaskState, sender: str, new_weights: Sequence[int], data_commitment: int | None, proof: bytes,
            now_ms: int, verify: Verify) -> tuple[TaskState, Events]:
    """The checks and effects of an update (data_commitment None: a private update, whose `data`
    input the contract computes after the checks of the update's contents)."""
    rounds.check_submit(
        state.finished, state.round_open, now_ms, state.deadline_ms, state.aggregating, state.is_sampled(sender),
        state.is_allowed(sender), state.has_submitted(sender),
    )
    if data_commitment is None:
        validate_weights(new_weights, state.spec)
        data_commitment = private_data_input(state, sender)
        _check_proof_length(proof)
    else:
        check_update_contents(state.spec, new_weights, data_commitment, proof)
    inputs = public_inputs_for(state, sender, new_weights, data_commitment)
    if not verify(state.prepared_vk, inputs, bytes(proof)):
        raise ProtocolError("EInvalidProof", "the proof does not verify for the contract's public inputs")
    weights = tuple(int(v) for v in new_weights)
    if _stores_updates(state.aggregation):
        kept = dict(updates=state.updates + (weights,))
    else:
        kept = dict(sums=rules.add_to_sums(state.sums, weights))
    new = dataclasses.replace(state, submitters=state.submitters + (sender,), **kept)
    event = ev.UpdateAccepted(
        task_id=state.task_id, round=state.round, sender=sender, old_model_commitment=inputs[0],
        new_model_commitment=inputs[1], data_commitment=int(data_commitment), context_hash=inputs[3],
        num_updates=new.num_updates, timestamp_ms=now_ms,
    )
    return new, [event]


# --------------------------------------------------------------------------- aggregate
def aggregate(state: TaskState, sender: str, now_ms: int) -> tuple[TaskState, Events]:
    """`task::aggregate`: one aggregation step (anyone may call). FedAvg computes the new model
    from its running sums in one step; median / trimmed mean compute the next
    `budget.coords_per_step` coordinates into `partial`. The step that completes the model stores
    it and its commitment and starts the next round (or finishes the task)."""
    check_version(state)
    sender = normalize_address(sender)
    rounds.check_aggregate(
        state.finished, state.round_open, now_ms, state.deadline_ms, state.aggregating, state.num_updates,
        len(state.sampled), state.round_rules.quorum,
    )
    n, m = state.num_updates, state.num_weights
    if not _stores_updates(state.aggregation):
        return _advance(state, rules.fedavg_from_sums(state.sums, n), sender, now_ms)
    start = len(state.partial)
    end = min(start + budget.coords_per_step(m, state.aggregation, n), m)
    chunk = rules.aggregate([u[start:end] for u in state.updates], state.aggregation.rule, state.aggregation.trim_bps)
    partial = state.partial + tuple(chunk)
    if end == m:
        return _advance(state, list(partial), sender, now_ms)
    progressed = ev.AggregationProgressed(
        task_id=state.task_id, round=state.round, coords_done=end, coords_total=m, triggered_by=sender,
        timestamp_ms=now_ms,
    )
    return dataclasses.replace(state, partial=partial), [progressed]


def _advance(state: TaskState, model: list[int], sender: str, now_ms: int) -> tuple[TaskState, Events]:
    """Store the aggregated model and move to the next round, which waits for `open_round` (or
    finish the task)."""
    nxt, finished = rounds.next_round(state.round, state.round_rules.max_rounds)
    new_commitment = commitment.model_commitment_encoded(model, state.spec)
    deadline = 0
    new = dataclasses.replace(
        state, model=tuple(model), model_commitment=new_commitment, round=nxt, round_start_ms=now_ms,
        finished=finished, **_empty_round(state), **_closed_sample(),
    )
    out: Events = [ev.RoundAggregated(
        task_id=state.task_id, round=state.round, rule=state.aggregation.rule, num_updates=state.num_updates,
        submitters=state.submitters, previous_model_commitment=state.model_commitment,
        model_commitment=new_commitment, next_round=nxt, next_deadline_ms=deadline, triggered_by=sender,
        timestamp_ms=now_ms,
    )]
    if finished:
        out.append(ev.TaskFinished(task_id=state.task_id, rounds=nxt, model_commitment=new_commitment, timestamp_ms=now_ms))
    return new, out


# --------------------------------------------------------------------------- discard
def discard_round(state: TaskState, sender: str, now_ms: int) -> tuple[TaskState, Events]:
    """`task::discard_round`: anyone, for an open round that cannot be aggregated (below its
    quorum), once now > deadline + max(grace_ms, MIN_GRACE_MS), drops its updates; the same round
    number waits for `open_round` (a new sample)."""
    check_version(state)
    sender = normalize_address(sender)
    rounds.check_discard(state.finished, state.round_open, now_ms, state.deadline_ms, state.round_rules.grace_ms,
                         state.aggregating, state.num_updates, state.round_rules.quorum)
    deadline = 0
    new = dataclasses.replace(state, round_start_ms=now_ms, **_empty_round(state), **_closed_sample())
    event = ev.RoundDiscarded(
        task_id=state.task_id, round=state.round, num_updates=state.num_updates, submitters=state.submitters,
        deadline_ms=deadline, triggered_by=sender, timestamp_ms=now_ms,
    )
    return new, [event]


# --------------------------------------------------------------------------- admin
def check_admin(state: TaskState, cap_task_id: str) -> None:
    """ENotAdmin unless the capability (identified by the task id it names) is this task's."""
    if normalize_address(cap_task_id) != state.task_id:
        raise ProtocolError("ENotAdmin", "the admin capability belongs to another task")


def add_participant(state: TaskState, cap_task_id: str, participant: str) -> tuple[TaskState, Events]:
    """`task::add_participant`: allow `participant` to submit (idempotent)."""
    check_version(state)
    check_admin(state, cap_task_id)
    p = normalize_address(participant)
    new = dataclasses.replace(state, allowlist=state.allowlist | {p})
    return new, [ev.ParticipantAdded(task_id=state.task_id, participant=p)]


def remove_participant(state: TaskState, cap_task_id: str, participant: str) -> tuple[TaskState, Events]:
    """`task::remove_participant`: take `participant` off the allowlist and the registered
    participants (its updates stay; its deposit waits for its `leave`)."""
    check_version(state)
    check_admin(state, cap_task_id)
    p = normalize_address(participant)
    new = dataclasses.replace(
        state, allowlist=state.allowlist - {p}, registered=tuple(r for r in state.registered if r != p),
    )
    return new, [ev.ParticipantRemoved(task_id=state.task_id, participant=p)]


def set_open(state: TaskState, cap_task_id: str, open_: bool) -> tuple[TaskState, Events]:
    """`task::set_open`: open the task to everyone (True) or restrict it to the allowlist."""
    check_version(state)
    check_admin(state, cap_task_id)
    new = dataclasses.replace(state, open=bool(open_))
    return new, [ev.OpenChanged(task_id=state.task_id, open=bool(open_))]


def restart_round(state: TaskState, cap_task_id: str, now_ms: int) -> tuple[TaskState, Events]:
    """`task::restart_round`: restart the current round's timer (round start = now), only before
    the round's first update."""
    check_version(state)
    check_admin(state, cap_task_id)
    rounds.check_restart(state.finished, state.round_open, state.aggregating, state.num_updates)
    deadline = rounds.deadline(now_ms, state.round_rules.round_duration_ms)
    new = dataclasses.replace(state, round_start_ms=now_ms, deadline_ms=deadline)
    return new, [ev.RoundRestarted(
        task_id=state.task_id, round=state.round, num_updates=state.num_updates, deadline_ms=deadline,
        timestamp_ms=now_ms,
    )]


def migrate(state: TaskState, cap_task_id: str) -> tuple[TaskState, Events]:
    """`task::migrate`: bring a task object of an older package version to VERSION
    (ENotAdmin, then EWrongVersion when it is not older)."""
    check_admin(state, cap_task_id)
    if state.version >= VERSION:
        raise ProtocolError("EWrongVersion", f"the task is at version {state.version}; nothing to migrate to {VERSION}")
    new = dataclasses.replace(state, version=VERSION)
    return new, [ev.TaskMigrated(task_id=state.task_id, from_version=state.version, to_version=VERSION)]


# --------------------------------------------------------------------------- manifest
def set_manifest(state: TaskState, cap_task_id: str, manifest: bytes) -> tuple[TaskState, Events]:
    """`task::set_manifest`: store the task's manifest once, before its first update."""
    check_version(state)
    check_admin(state, cap_task_id)
    if state.manifest or state.round != 0 or state.submitters:
        raise ProtocolError("EManifestAlreadySet", "the manifest is set once, before the task's first update"
                            + (" (it is set)" if state.manifest else " (the task has updates)"))
    manifests.check_size(manifest)
    new = dataclasses.replace(state, manifest=bytes(manifest))
    return new, [ev.ManifestSet(task_id=state.task_id, manifest_hash=manifests.manifest_hash(manifest),
                                size=len(manifest))]


# --------------------------------------------------------------------------- private tasks
U64_MAX = (1 << 64) - 1


def set_privacy(state: TaskState, cap_task_id: str, params: privacy.DpParams) -> tuple[TaskState, Events]:
    """`private_task::set_privacy`: make the task private, once, before any registration, round
    or update (`privacy::check_unlocked`), with parameters the spec can serve."""
    check_version(state)
    check_admin(state, cap_task_id)
    privacy.check_unlocked(state.is_private, state.round, state.round_open, len(state.registered),
                           len(state.deposits), len(state.submitters))
    values = params.to_dict()
    if any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= U64_MAX for v in values.values()):
        raise ProtocolError("EInvalidPrivacy", f"the privacy fields are u64 integers, got {values}")
    privacy.check_params(params, state.spec.frac_bits, state.spec.feature_frac_bits, state.spec.lr_frac_bits)
    new = dataclasses.replace(state, privacy=params)
    return new, [ev.PrivacySet(task_id=state.task_id, **values, params_hash=privacy.params_hash(params))]


def register_private(state: TaskState, sender: str, deposit: int, data_commitment: int,
                     seed_commitment: int) -> tuple[TaskState, Events]:
    """`private_task::register_private`: `register` with the sender's data and seed commitments;
    its updates count from `privacy.first_round(round, round_open)` on."""
    check_version(state)
    privacy.check_kind(state.is_private, private_call=True)
    codec.assert_field_element(data_commitment, "the data commitment")
    codec.assert_field_element(seed_commitment, "the seed commitment")
    sender = normalize_address(sender)
    new, out = _add_registered(state, sender, deposit)
    reg = PrivateRegistration(int(data_commitment), int(seed_commitment),
                              privacy.first_round(state.round, state.round_open))
    new = dataclasses.replace(new, private_registrations=new.private_registrations + ((sender, reg),))
    out.append(ev.PrivateRegistered(task_id=state.task_id, participant=sender, data_commitment=reg.data_commitment,
                                    seed_commitment=reg.seed_commitment, first_round=reg.first_round))
    return new, out


def private_data_input(state: TaskState, sender: str) -> int:
    """`private_task::check_private_update`: the private checks of an update of `sender` for the
    current round, then its `data` public input (`privacy.binding`)."""
    reg = state.private_registration(sender)
    assert state.privacy is not None
    privacy.check_private_update(None if reg is None else reg.first_round, state.round,
                                 state.contributions_of(sender), state.privacy.max_contributions)
    assert reg is not None
    return privacy.binding(state.privacy, reg.data_commitment, reg.seed_commitment, state.randomness)


def submit_private_update(state: TaskState, sender: str, new_weights: Sequence[int], proof: bytes, now_ms: int,
                          verify: Verify) -> tuple[TaskState, Events]:
    """`private_task::submit_private_update`: `submit_update` whose `data` input is the contract's
    (`private_data_input`); an accepted update counts against the sender's max_contributions."""
    check_version(state)
    privacy.check_kind(state.is_private, private_call=True)
    sender = normalize_address(sender)
    new, out = _submit(state, sender, new_weights, None, proof, now_ms, verify)
    counts = dict(new.contributions)
    counts[sender] = counts.get(sender, 0) + 1
    return dataclasses.replace(new, contributions=tuple(counts.items())), out
