"""The round and state rules of the WaFL Move task (`move/sources/task.move`, `round.move`) as
pure Python functions: the reference for a local ledger that must behave like the contract.

Every check raises `protocol.ProtocolError(name, message)` with the same error name as the
Move abort, and runs in the same order as the contract's asserts:

create_task      EInvalidSpec (spec, then lr_q), EInvalidRule (quorum in 1..256, duration, max_rounds,
                 then rule/trim_bps), EWrongLength / EValueOutOfBounds (initial model),
                 EInvalidSpec (verifying key not for 4 public inputs)
submit_update    ETaskFinished, ERoundClosed (now > deadline, or the round holds
                 MAX_UPDATES_PER_ROUND updates), ESenderNotAllowed,
                 EAlreadySubmitted, EWrongLength, EValueOutOfBounds (weights, then the data
                 commitment), EInvalidProof (proof not 128 bytes, or not valid)
aggregate        ETaskFinished, EQuorumNotReached (quorum not met, round open),
                 ENoUpdates (round closed, no update)
admin            ENotAdmin (capability of another task), ETaskFinished (restart_round)

Rounds are numbered from 0; a round accepts updates while now_ms <= deadline_ms, with
deadline = round start + round_duration_ms (saturating at 2^64-1); after max_rounds
aggregations the task is finished. `TaskState` is immutable: every transition returns a new one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Sequence

from wafl_sui import protocol
from wafl_sui.poseidon import FIELD_MODULUS
from wafl_sui.protocol import ProtocolError, StepSpec

U64_MAX = (1 << 64) - 1
MAX_UPDATES_PER_ROUND = 256  # round.move: a full round is closed; quorum <= this
PROOF_BYTES = 128
NUM_PUBLIC_INPUTS = len(protocol.PUBLIC_INPUTS)
VK_HEADER_BYTES = 232  # alpha G1 (32) + beta, gamma, delta G2 (64 each) + u64 IC count
G1_BYTES = 32


# --------------------------------------------------------------------------- pure rules
def validate_round_rules(quorum: int, round_duration_ms: int, max_rounds: int) -> None:
    if not 1 <= quorum <= MAX_UPDATES_PER_ROUND:
        raise ProtocolError("EInvalidRule", f"quorum must be in 1..{MAX_UPDATES_PER_ROUND}, got {quorum}")
    if not (round_duration_ms >= 1 and max_rounds >= 1):
        raise ProtocolError(
            "EInvalidRule", f"round_duration_ms and max_rounds must be >= 1, got {round_duration_ms}, {max_rounds}"
        )


def validate_rule(rule: int, trim_bps: int) -> None:
    if rule not in protocol.AGGREGATION_RULES.values():
        raise ProtocolError("EInvalidRule", f"unknown aggregation rule {rule}; known: {protocol.AGGREGATION_RULES}")
    if not 0 <= trim_bps < protocol.BPS // 2:
        raise ProtocolError("EInvalidRule", f"trim_bps must be in 0..{protocol.BPS // 2 - 1}, got {trim_bps}")


def check_lr_q(spec: StepSpec, lr_q: int) -> None:
    if not 1 <= lr_q < (1 << spec.lr_bits):
        raise ProtocolError("EInvalidSpec", f"lr_q {lr_q} must be in 1..{(1 << spec.lr_bits) - 1}")


def vk_num_public_inputs(vk: bytes) -> int:
    """Public inputs of a raw arkworks-compressed BN254 verifying key (`codec::vk_num_public_inputs`)."""
    if len(vk) < VK_HEADER_BYTES:
        raise ProtocolError("EValueOutOfBounds", f"a verifying key has at least {VK_HEADER_BYTES} bytes")
    ic = int.from_bytes(vk[VK_HEADER_BYTES - 8 : VK_HEADER_BYTES], "little")
    if not 1 <= ic <= (len(vk) - VK_HEADER_BYTES) // G1_BYTES or len(vk) != VK_HEADER_BYTES + G1_BYTES * ic:
        raise ProtocolError("EValueOutOfBounds", "verifying key length does not match its IC count")
    return ic - 1


def deadline(start_ms: int, round_duration_ms: int) -> int:
    return min(start_ms + round_duration_ms, U64_MAX)


def check_submit(
    finished: bool, now_ms: int, deadline_ms: int, num_updates: int, allowed: bool, already_submitted: bool
) -> None:
    """`round::check_submit`: the preconditions of an update before its contents are checked."""
    if finished:
        raise ProtocolError("ETaskFinished", "the task has finished its last round")
    if now_ms > deadline_ms:
        raise ProtocolError("ERoundClosed", f"the round closed at {deadline_ms} ms (now {now_ms} ms)")
    if num_updates >= MAX_UPDATES_PER_ROUND:
        raise ProtocolError("ERoundClosed", f"the round is full ({MAX_UPDATES_PER_ROUND} updates)")
    if not allowed:
        raise ProtocolError("ESenderNotAllowed", "the sender is not on the task's allowlist")
    if already_submitted:
        raise ProtocolError("EAlreadySubmitted", "the sender already has an accepted update in this round")


def check_update_contents(spec: StepSpec, weights: Sequence[int], data_commitment: int, proof: bytes) -> None:
    """The checks of an update after `check_submit` and before proof verification."""
    protocol.validate_weights(weights, spec)
    if not 0 <= data_commitment < FIELD_MODULUS:
        raise ProtocolError("EValueOutOfBounds", "the data commitment is not a BN254 field element")
    if len(proof) != PROOF_BYTES:
        raise ProtocolError("EInvalidProof", f"a proof has {PROOF_BYTES} bytes, got {len(proof)}")


def check_aggregate(finished: bool, now_ms: int, deadline_ms: int, num_updates: int, quorum: int) -> None:
    """`round::check_aggregate`."""
    if finished:
        raise ProtocolError("ETaskFinished", "the task has finished its last round")
    if num_updates >= quorum:
        return
    if now_ms <= deadline_ms:
        raise ProtocolError(
            "EQuorumNotReached", f"{num_updates} of {quorum} updates and the round is open until {deadline_ms} ms"
        )
    if num_updates == 0:
        raise ProtocolError("ENoUpdates", "the round closed without any update")


def next_round(round_: int, max_rounds: int) -> tuple[int, bool]:
    nxt = round_ + 1
    return nxt, nxt >= max_rounds


# --------------------------------------------------------------------------- the state
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
        return self.open or _norm(sender) in self.allowlist

    def has_submitted(self, sender: str) -> bool:
        return _norm(sender) in self.submitters


def _norm(addr: str) -> str:
    h = addr[2:] if addr.startswith("0x") else addr
    return "0x" + h.lower().rjust(64, "0")


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
    protocol.validate_spec(spec)
    check_lr_q(spec, lr_q)
    validate_round_rules(quorum, round_duration_ms, max_rounds)
    validate_rule(rule, trim_bps)
    protocol.validate_weights(initial_model, spec)
    n = vk_num_public_inputs(vk)
    if n != NUM_PUBLIC_INPUTS:
        raise ProtocolError("EInvalidSpec", f"the verifying key is for {n} public inputs, the step circuit has {NUM_PUBLIC_INPUTS}")
    return TaskState(
        task_id=_norm(task_id),
        admin_cap_id=_norm(admin_cap_id),
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
        deadline_ms=deadline(now_ms, round_duration_ms),
        model=tuple(int(v) for v in initial_model),
        model_commitment=protocol.model_commitment_encoded(list(initial_model), spec),
        created_ms=now_ms,
        vk=bytes(vk),
    )


def public_inputs_for(state: TaskState, sender: str, new_weights: Sequence[int], data_commitment: int) -> list[int]:
    """The four public inputs the contract builds for an update of `sender`."""
    new_c = protocol.model_commitment_encoded(list(new_weights), state.spec)
    ctx = protocol.context_hash(state.task_id, sender, state.round, state.lr_q)
    return protocol.public_inputs(state.model_commitment, new_c, data_commitment, ctx)


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
    (e.g. `wafl_sui.sui_groth16`); the inputs are built here as the contract builds them."""
    sender = _norm(sender)
    check_submit(
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
    check_aggregate(state.finished, now_ms, state.deadline_ms, len(state.updates), state.quorum)
    model = protocol.aggregate([list(w) for _, w in state.updates], state.rule, state.trim_bps)
    nxt, finished = next_round(state.round, state.max_rounds)
    return dataclasses.replace(
        state,
        model=tuple(model),
        model_commitment=protocol.model_commitment_encoded(model, state.spec),
        updates=(),
        round=nxt,
        round_start_ms=now_ms,
        deadline_ms=deadline(now_ms, state.round_duration_ms),
        finished=finished,
    )


def check_admin(state: TaskState, cap_task_id: str) -> None:
    if _norm(cap_task_id) != state.task_id:
        raise ProtocolError("ENotAdmin", "the admin capability belongs to another task")


def add_participant(state: TaskState, cap_task_id: str, participant: str) -> TaskState:
    check_admin(state, cap_task_id)
    return dataclasses.replace(state, allowlist=state.allowlist | {_norm(participant)})


def remove_participant(state: TaskState, cap_task_id: str, participant: str) -> TaskState:
    check_admin(state, cap_task_id)
    return dataclasses.replace(state, allowlist=state.allowlist - {_norm(participant)})


def set_open(state: TaskState, cap_task_id: str, open_: bool) -> TaskState:
    check_admin(state, cap_task_id)
    return dataclasses.replace(state, open=bool(open_))


def restart_round(state: TaskState, cap_task_id: str, now_ms: int) -> TaskState:
    check_admin(state, cap_task_id)
    if state.finished:
        raise ProtocolError("ETaskFinished", "the task has finished its last round")
    return dataclasses.replace(state, round_start_ms=now_ms, deadline_ms=deadline(now_ms, state.round_duration_ms))
