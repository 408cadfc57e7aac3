"""The WaFL task as an immutable state and its transitions (twin of `move/sources/task.move`):
what the shared `Task` object holds and what each entry function does to it, checks in the
contract's order, with the contract's error names:

create_task      EInvalidSpec (spec, then lr_q), EInvalidRoundRules (quorum in 1..256, duration,
                 max_rounds), EInvalidAggregationRule (rule/trim_bps), EWrongLength /
                 EValueOutOfBounds (initial model), EInvalidVerifyingKey (not for 4 public inputs)
submit_update    ETaskFinished, ERoundClosed (now > deadline, or the round holds
                 MAX_UPDATES_PER_ROUND updates), ESenderNotAllowed,
                 EAlreadySubmitted, EWrongLength, EValueOutOfBounds (weights, then the data
                 commitment), EInvalidProof (proof not 128 bytes, or not valid)
aggregate        ETaskFinished, EQuorumNotReached (quorum not met, round open),
                 ENoUpdates (round closed, no update)
admin            ENotAdmin (capability of another task), ETaskFinished (restart_round)

A ledger keeps a `TaskState` and replaces it with the state a transition returns.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Sequence

from wafl_sui.protocol import codec, commitment, round as round_rules, rules
from wafl_sui.protocol.codec import PROOF_BYTES, PUBLIC_INPUTS, normalize_address
from wafl_sui.protocol.errors import ProtocolError
from wafl_sui.protocol.spec import StepSpec, check_lr_q, validate_spec, validate_weights

NUM_PUBLIC_INPUTS = len(PUBLIC_INPUTS)


def check_update_contents(spec: StepSpec, weights: Sequence[int], data_commitment: int, proof: bytes) -> None:
    """The checks of an update after `check_submit` and before proof verification."""
    validate_weights(weights, spec)
    codec.assert_field_element(data_commitment, "the data commitment")
    if len(proof) != PROOF_BYTES:
        raise ProtocolError("EInvalidProof", f"a proof has {PROOF_BYTES} bytes, got {len(proof)}")


@dataclass(frozen=True)
class TaskState:
    """What the Move `Task` object holds (minus the prepared key)."""

    task_id: str
    admin_cap_id: str
    spec: StepSpec
    lr_q: int
    quorum: int
    round_duration_ms: int
    max_rounds: int
    rule: int
    trim_bps: int
    open: bool
    allowlist: frozenset[str]
    round: int
    round_start_ms: int
    deadline_ms: int
    model: tuple[int, ...]
    model_commitment: int
    updates: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (sender, weights) in acceptance order
    finished: bool = False
    created_ms: int = 0
    vk: bytes = field(default=b"", repr=False)

    @property
    def submitters(self) -> list[str]:
        return [s for s, _ in self.updates]

    def is_allowed(self, sender: str) -> bool:
        return self.open or normalize_address(sender) in self.allowlist

    def has_submitted(self, sender: str) -> bool:
        return normalize_address(sender) in self.submitters


def create_task(
    task_id: str,
    admin_cap_id: str,
    spec: StepSpec | dict,
    lr_q: int,
    quorum: int,
    round_duration_ms: int,
    max_rounds: int,
    rule: int,
    trim_bps: int,
    open_: bool,
    initial_model: Sequence[int],
    vk: bytes,
    now_ms: int,
) -> TaskState:
    """`task::create_task` (the key is checked for shape; preparing it is the ledger's job)."""
    if isinstance(spec, dict):
        spec = StepSpec.from_dict(spec)
    validate_spec(spec)
    check_lr_q(spec, lr_q)
    round_rules.validate_round_rules(quorum, round_duration_ms, max_rounds)
    rules.validate_rule(rule, trim_bps)
    validate_weights(initial_model, spec)
    n = codec.vk_num_public_inputs(vk)
    if n != NUM_PUBLIC_INPUTS:
        raise ProtocolError("EInvalidVerifyingKey", f"the verifying key is for {n} public inputs, the step circuit has {NUM_PUBLIC_INPUTS}")
    return TaskState(
        task_id=normalize_address(task_id),
        admin_cap_id=normalize_address(admin_cap_id),
        spec=spec,
        lr_q=lr_q,
        quorum=quorum,
        round_duration_ms=round_duration_ms,
        max_rounds=max_rounds,
        rule=rule,
        trim_bps=trim_bps,
        open=bool(open_),
        allowlist=frozenset(),
        round=0,
        round_start_ms=now_ms,
        deadline_ms=round_rules.deadline(now_ms, round_duration_ms),
        model=tuple(int(v) for v in initial_model),
        model_commitment=commitment.model_commitment_encoded(list(initial_model), spec),
        created_ms=now_ms,
        vk=bytes(vk),
    )


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
    verify: Callable[[bytes, list[int], bytes], bool],
) -> TaskState:
    """`task::submit_update`. `verify(vk, public_inputs, proof)` checks the Groth16 proof
    (e.g. `wafl_sui.zk.sui_bytes`); the inputs are built here as the contract builds them."""
    sender = normalize_address(sender)
    round_rules.check_submit(
        state.finished, now_ms, state.deadline_ms, len(state.updates), state.is_allowed(sender),
        state.has_submitted(sender),
    )
    check_update_contents(state.spec, new_weights, data_commitment, proof)
    inputs = public_inputs_for(state, sender, new_weights, data_commitment)
    if not verify(state.vk, inputs, bytes(proof)):
        raise ProtocolError("EInvalidProof", "the proof does not verify for the contract's public inputs")
    return dataclasses.replace(state, updates=state.updates + ((sender, tuple(int(v) for v in new_weights)),))


def aggregate(state: TaskState, now_ms: int) -> TaskState:
    """`task::aggregate`: the new model, its commitment, the next round (or the end)."""
    round_rules.check_aggregate(state.finished, now_ms, state.deadline_ms, len(state.updates), state.quorum)
    model = rules.aggregate([list(w) for _, w in state.updates], state.rule, state.trim_bps)
    nxt, finished = round_rules.next_round(state.round, state.max_rounds)
    return dataclasses.replace(
        state,
        model=tuple(model),
        model_commitment=commitment.model_commitment_encoded(model, state.spec),
        updates=(),
        round=nxt,
        round_start_ms=now_ms,
        deadline_ms=round_rules.deadline(now_ms, state.round_duration_ms),
        finished=finished,
    )


def check_admin(state: TaskState, cap_task_id: str) -> None:
    if normalize_address(cap_task_id) != state.task_id:
        raise ProtocolError("ENotAdmin", "the admin capability belongs to another task")


def add_participant(state: TaskState, cap_task_id: str, participant: str) -> TaskState:
    check_admin(state, cap_task_id)
    return dataclasses.replace(state, allowlist=state.allowlist | {normalize_address(participant)})


def remove_participant(state: TaskState, cap_task_id: str, participant: str) -> TaskState:
    check_admin(state, cap_task_id)
    return dataclasses.replace(state, allowlist=state.allowlist - {normalize_address(participant)})


def set_open(state: TaskState, cap_task_id: str, open_: bool) -> TaskState:
    check_admin(state, cap_task_id)
    return dataclasses.replace(state, open=bool(open_))


def restart_round(state: TaskState, cap_task_id: str, now_ms: int) -> TaskState:
    check_admin(state, cap_task_id)
    round_rules.check_not_finished(state.finished)
    return dataclasses.replace(state, round_start_ms=now_ms, deadline_ms=round_rules.deadline(now_ms, state.round_duration_ms))
