"""The task shell (the public `wafl::task` entry functions) executed in the Sui Move VM against
`wafl_sui/protocol/task.py`: submit_update, aggregate (FedAvg running sums, chunked median /
trimmed-mean steps), discard_round and the admin calls. (Their gas under Sui's gas meter is
checked in test_move_budget.py: sui-sandbox's VM meters gas differently from Sui.)

The sandbox VM cannot load `sui::poseidon` or run `sui::groth16`, so this test compiles a copy of
the package in which both are replaced by stand-ins with the same API:
  * the hash is a simple stand-in (see test_move_commitment.py), used on both sides;
  * `verify_groth16_proof` accepts a "proof" iff its bytes EQUAL the public-input bytes the
    contract built. A test passes `protocol.public_inputs_bytes(expected inputs)` as the proof,
    so acceptance shows the shell built exactly the public inputs of wafl_sui.protocol (old model,
    new model, data, context of task id / sender / round / lr_q).
The Task object is given as BCS (a shared object input) with its Table entries as child
objects, the TaskAdminCap as an owned object; a harness module (added only to this test build)
returns the object's BCS after the call, which is compared field by field with the Python state
transition. Everything else (checks, their order, table clean-up, round advance) is the real
package code. The sandbox returns no events: their parity with the Move structs is checked by
field names in test_move_build.py."""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wafl_sui.protocol import poseidon as pos
from wafl_sui import protocol
from wafl_sui.protocol import budget, task
from wafl_sui.protocol import round as prounds
from wafl_sui.protocol import AggregationRule, ProtocolError, RoundRules, StepSpec

from test_move_commitment import STAND_IN, stand_in

pytestmark = pytest.mark.oracle("node", "node_modules")

STAND_IN_GROTH16 = """/// Test stand-in for sui::groth16: a proof is accepted iff its bytes equal the public inputs.
module wafl::stand_in_groth16;

public struct Curve has copy, drop, store { id: u8 }
public struct PreparedVerifyingKey has copy, drop, store {
    vk_gamma_abc_g1_bytes: vector<u8>,
    alpha_g1_beta_g2_bytes: vector<u8>,
    gamma_g2_neg_pc_bytes: vector<u8>,
    delta_g2_neg_pc_bytes: vector<u8>,
}
public struct PublicProofInputs has copy, drop, store { bytes: vector<u8> }
public struct ProofPoints has copy, drop, store { bytes: vector<u8> }

public fun bn254(): Curve { Curve { id: 1 } }

public fun prepare_verifying_key(_curve: &Curve, vk: &vector<u8>): PreparedVerifyingKey {
    PreparedVerifyingKey {
        vk_gamma_abc_g1_bytes: *vk,
        alpha_g1_beta_g2_bytes: vector[],
        gamma_g2_neg_pc_bytes: vector[],
        delta_g2_neg_pc_bytes: vector[],
    }
}

public fun public_proof_inputs_from_bytes(bytes: vector<u8>): PublicProofInputs { PublicProofInputs { bytes } }

public fun proof_points_from_bytes(bytes: vector<u8>): ProofPoints { ProofPoints { bytes } }

public fun verify_groth16_proof(
    _curve: &Curve,
    _pvk: &PreparedVerifyingKey,
    inputs: &PublicProofInputs,
    proof: &ProofPoints,
): bool {
    inputs.bytes == proof.bytes
}
"""

HARNESS = """module wafl::harness;

use sui::clock::Clock;
use wafl::task::{Task, TaskAdminCap};

public fun sender(ctx: &TxContext): address { ctx.sender() }

public fun submit_dump(
    task: &mut Task, clock: &Clock, new_weights: vector<u32>, data: u256, proof: vector<u8>, ctx: &TxContext,
): vector<u8> {
    task.submit_update(new_weights, data, proof, clock, ctx);
    std::bcs::to_bytes(task)
}

/// The update the sender stored by submitting (median / trimmed mean).
public fun submit_stored(
    task: &mut Task, clock: &Clock, new_weights: vector<u32>, data: u256, proof: vector<u8>, ctx: &TxContext,
): vector<u32> {
    task.submit_update(new_weights, data, proof, clock, ctx);
    *task.update_of(ctx.sender())
}

public fun aggregate_dump(task: &mut Task, clock: &Clock, ctx: &TxContext): vector<u8> {
    task.aggregate(clock, ctx);
    std::bcs::to_bytes(task)
}

public fun discard_dump(task: &mut Task, clock: &Clock, ctx: &TxContext): vector<u8> {
    task.discard_round(clock, ctx);
    std::bcs::to_bytes(task)
}

public fun add_dump(task: &mut Task, cap: &TaskAdminCap, who: address): vector<u8> {
    wafl::task::add_participant(cap, task, who);
    std::bcs::to_bytes(task)
}

public fun remove_dump(task: &mut Task, cap: &TaskAdminCap, who: address): vector<u8> {
    wafl::task::remove_participant(cap, task, who);
    std::bcs::to_bytes(task)
}

public fun set_open_dump(task: &mut Task, cap: &TaskAdminCap, open: bool): vector<u8> {
    wafl::task::set_open(cap, task, open);
    std::bcs::to_bytes(task)
}

public fun restart_dump(task: &mut Task, cap: &TaskAdminCap, clock: &Clock): vector<u8> {
    wafl::task::restart_round(cap, task, clock);
    std::bcs::to_bytes(task)
}

public fun migrate_dump(task: &mut Task, cap: &TaskAdminCap): vector<u8> {
    wafl::task::migrate(cap, task);
    std::bcs::to_bytes(task)
}

public fun is_allowed(task: &Task, who: address): bool { task.is_allowed(who) }
"""

SPEC = StepSpec(features=2, classes=2, batch_size=2, local_steps=1, frac_bits=4, weight_bits=8,
                feature_frac_bits=4, feature_bits=6, lr_frac_bits=8, lr_bits=8)
DIGITS = StepSpec(features=64, classes=10)  # 650 weights
TASK_ID, CAP_ID = "0x" + "7a" * 32, "0x" + "ca" * 32
ALLOW_ID, UPDATES_ID, DEPOSITS_ID = b"\x11" * 32, b"\x22" * 32, b"\x33" * 32
VK = bytes(96) + bytes(63) + b"\x01" + bytes(64) + (5).to_bytes(8, "little") + bytes(5 * 32)  # gamma != delta
START, DUR, GRACE = 5_000, 1_000, 70_000  # GRACE > round::MIN_GRACE_MS
U64 = (1 << 64) - 1
SUBSTITUTIONS = {
    "commitment.move": ("use sui::poseidon::poseidon_bn254;", "use wafl::stand_in_hash::poseidon_bn254;"),
    "task.move": ("use sui::groth16::{Self, PreparedVerifyingKey};",
                  "use wafl::stand_in_groth16::{Self as groth16, PreparedVerifyingKey};"),
}
LAYOUT = [("id", "address"), ("version", "u64")] + [(f, "u64") for f in (
    "features", "classes", "batch_size", "local_steps", "frac_bits", "weight_bits", "feature_frac_bits",
    "feature_bits", "lr_frac_bits", "lr_bits")] + [("hidden", "vector<u64>"), ("act_frac_bits", "u64"), ("act_bits", "u64")] + [
    (f, "u64") for f in ("lr_q", "quorum", "round_duration_ms", "max_rounds", "grace_ms", "participants_per_round")] + [
    ("rule", "u8"), ("trim_bps", "u64"), ("open", "bool"), ("allowlist_id", "address"), ("allowlist_size", "u64"),
    ("deposit_mist", "u64"), ("registered", "vector<address>"), ("deposits_id", "address"), ("deposits_size", "u64"),
    ("round_open", "bool"), ("sampled", "vector<address>"), ("randomness", "vector<u8>")] + [
    (f"vk{i}", "vector<u8>") for i in range(4)] + [
    ("round", "u64"), ("round_start_ms", "u64"), ("deadline_ms", "u64"), ("model", "vector<u32>"),
    ("model_commitment", "u256"), ("submitters", "vector<address>"), ("updates_id", "address"), ("updates_size", "u64"),
    ("sums", "vector<u64>"), ("partial", "vector<u32>"), ("finished", "bool"), ("created_ms", "u64")]


class Shell:
    def __init__(self, vm, module: str = "harness"):
        from wafl_sui.devtools.vm import MoveVM

        self.vm: MoveVM = vm
        self.module = module  # the harness module `run` calls
        self.sender = vm.call1("harness", "sender")
        self.gas_used: int | None = None

    # -------------------------------------------------------------- BCS of the Task object
    @staticmethod
    def task_bcs(s: task.TaskState) -> bytes:
        from wafl_sui.devtools.vm import bcs_encode as e
        from wafl_sui.devtools.vm import encode_aggregation, encode_round_rules, encode_spec

        u64 = lambda x: e("u64", x)  # noqa: E731
        return b"".join([
            bytes.fromhex(s.task_id[2:]), u64(s.version), encode_spec(s.spec), u64(s.lr_q),
            encode_round_rules(s.round_rules), encode_aggregation(s.aggregation), e("bool", s.open),
            ALLOW_ID, u64(len(s.allowlist)),
            u64(s.deposit_mist), e("vector<address>", s.registered), DEPOSITS_ID, u64(len(s.deposits)),
            e("bool", s.round_open), e("vector<address>", s.sampled), e("vector<u8>", s.randomness),
            e("vector<u8>", s.prepared_vk), e("vector<u8>", b""), e("vector<u8>", b""), e("vector<u8>", b""),
            u64(s.round), u64(s.round_start_ms), u64(s.deadline_ms),
            e("vector<u32>", s.model), e("u256", s.model_commitment), e("vector<address>", s.submitters),
            UPDATES_ID, u64(len(s.updates)), e("vector<u64>", s.sums), e("vector<u32>", s.partial),
            e("bool", s.finished), u64(s.created_ms),
        ])

    @staticmethod
    def decode(raw: bytes) -> dict:
        from wafl_sui.devtools.vm import bcs_decode

        out, i = {}, 0
        for name, ty in LAYOUT:
            out[name], i = bcs_decode(ty, raw, i)
        assert i == len(raw)
        return out

    @staticmethod
    def _field_id(parent: bytes, key: bytes, type_tag: bytes) -> bytes:
        h = hashlib.blake2b(digest_size=32)
        h.update(b"\xf0" + parent + len(key).to_bytes(8, "little") + key + type_tag)
        return h.digest()

    def _children(self, s: task.TaskState) -> dict:
        from wafl_sui.devtools.vm import bcs_encode as e

        def field(parent, key_hex, value_ty, value):
            key = bytes.fromhex(key_hex[2:])
            cid = self._field_id(parent, key, b"\x04")  # TypeTag::Address
            return {"child_id": "0x" + cid.hex(), "bcs_bytes": cid + key + e(value_ty, value),
                    "type_tag": f"0x2::dynamic_field::Field<address,{value_ty}>"}

        return {
            "0x" + UPDATES_ID.hex(): [field(UPDATES_ID, a, "vector<u32>", list(w)) for a, w in zip(s.submitters, s.updates)],
            "0x" + ALLOW_ID.hex(): [field(ALLOW_ID, a, "bool", True) for a in sorted(s.allowlist)],
        }

    def run(self, fn: str, s: task.TaskState, now: int | None = None, pure=(), cap: str | None = None,
            ret: str = "vector<u8>", children: dict | None = None):
        """Call harness::fn on the Task `s` (then the admin cap naming `cap`, then the clock at `now`;
        more child objects in `children`); the new object state (or the decoded `ret` value);
        MoveAbort on an abort."""
        import sui_sandbox

        from wafl_sui.devtools.vm import MoveAbort, abort_module, bcs_decode, bcs_encode

        objs = [{"object_id": s.task_id, "bcs_bytes": self.task_bcs(s), "type_tag": "0x0::task::Task",
                 "is_shared": True, "mutable": True}]
        if cap is not None:
            objs.append({"object_id": CAP_ID, "bcs_bytes": bytes.fromhex(CAP_ID[2:]) + bytes.fromhex(protocol.codec.normalize_address(cap)[2:]),
                         "type_tag": "0x0::task::TaskAdminCap", "is_shared": False, "mutable": False})
        if now is not None:
            objs.append({"object_id": "0x" + "0" * 63 + "6", "bcs_bytes": bytes(31) + b"\x06" + bcs_encode("u64", now),
                         "type_tag": "0x2::clock::Clock", "is_shared": True, "mutable": False})
        r = sui_sandbox.call_view_function(
            "0x0", self.module, fn, package_bytecodes=self.vm._pkg, fetch_deps=False, object_inputs=objs,
            pure_inputs=[bcs_encode(t, v) for t, v in pure], child_objects={**self._children(s), **(children or {})},
        )
        self.gas_used = r.get("gas_used")
        if not r["success"]:
            import re

            m = re.search(r"ABORTED, sub_status: Some\((\d+)\)", r["error"] or "")
            assert m, r["error"]
            mod = abort_module(r["error"])
            name, line = self.vm.error_name(mod, int(m.group(1)))
            raise MoveAbort(mod, int(m.group(1)), name, line, r["error"])
        value = bcs_decode(ret, base64.b64decode(r["return_values"][0][0]))[0]
        return self.decode(value) if ret == "vector<u8>" else value

    def submit(self, s, now, weights, data, proof):
        return self.run("submit_dump", s, now, [("vector<u32>", weights), ("u256", data), ("vector<u8>", proof)])

    def aggregate(self, s, now):
        return self.run("aggregate_dump", s, now)

    def discard(self, s, now):
        return self.run("discard_dump", s, now)


@pytest.fixture(scope="module")
def shell():
    from wafl_sui.devtools.harness import build_variant
    from wafl_sui.devtools.vm import MoveVM

    extra = {"stand_in_hash.move": STAND_IN, "stand_in_groth16.move": STAND_IN_GROTH16, "harness.move": HARNESS}
    sh = Shell(MoveVM(build_variant(extra, SUBSTITUTIONS)))
    assert sh.sender == SENDER  # the VM's transaction sender: the one `state` samples
    return sh


@pytest.fixture(autouse=True)
def python_stand_in(monkeypatch):
    monkeypatch.setattr(pos, "poseidon", stand_in)
    monkeypatch.setattr(protocol, "poseidon", stand_in)


SENDER = "0x" + "0" * 64  # the sandbox VM's transaction sender (checked by the `shell` fixture)


def opened(s: task.TaskState, at: int, sampled=(SENDER,)) -> task.TaskState:
    """`s` with its round open at `at` and `sampled` (what `open_round` leaves; the sample itself
    is tested in test_sampling)."""
    return dataclasses.replace(s, round_open=True, sampled=tuple(sampled), randomness=bytes(range(32)),
                               round_start_ms=at, deadline_ms=prounds.deadline(at, s.round_rules.round_duration_ms))


def state(quorum=2, max_rounds=2, rule=0, trim_bps=0, open_=True, model=(128,) * 6, spec=SPEC, grace=GRACE) -> task.TaskState:
    """A task created at START, its round 0 open with the VM's sender sampled."""
    s = task.create_task(TASK_ID, CAP_ID, "0xad", spec, RoundRules(quorum, DUR, max_rounds, grace),
                         AggregationRule(rule, trim_bps), 16, open_, list(model), VK, START)[0]
    return opened(s, START)


def with_updates(s: task.TaskState, ups) -> task.TaskState:
    """`s` holding the round's updates `ups` [(sender, weights)] as submit_update leaves them,
    from a round that sampled exactly those senders."""
    subs = tuple(a for a, _ in ups)
    s = dataclasses.replace(s, sampled=subs)
    if s.aggregation.rule == 0:
        sums = tuple(sum(col) for col in zip(*(w for _, w in ups))) if ups else s.sums
        return dataclasses.replace(s, submitters=subs, sums=sums)
    return dataclasses.replace(s, submitters=subs, updates=tuple(tuple(w) for _, w in ups))


def stand_in_verify(vk, inputs, proof):
    return protocol.public_inputs_bytes(inputs) == proof


def honest_proof(s: task.TaskState, sender: str, weights, data) -> bytes:
    return protocol.public_inputs_bytes(task.public_inputs_for(s, sender, weights, data))


def assert_same(got: dict, want: task.TaskState):
    assert got["version"] == want.version
    assert got["round"] == want.round
    assert got["round_start_ms"] == want.round_start_ms and got["deadline_ms"] == want.deadline_ms
    assert got["model"] == list(want.model)
    assert got["model_commitment"] == want.model_commitment
    assert got["submitters"] == list(want.submitters)
    assert got["updates_size"] == len(want.updates)
    assert got["sums"] == list(want.sums) and got["partial"] == list(want.partial)
    assert got["open"] == want.open and got["allowlist_size"] == len(want.allowlist)
    assert got["finished"] == want.finished
    assert got["round_open"] == want.round_open and got["sampled"] == list(want.sampled)
    assert bytes(got["randomness"]) == want.randomness and got["registered"] == list(want.registered)


def names(shell_call, py_call):
    from wafl_sui.devtools.vm import MoveAbort

    try:
        shell_call()
        got = None
    except MoveAbort as e:
        got = e.name
    try:
        py_call()
        want = None
    except ProtocolError as e:
        want = e.name
    return got, want


def test_task_bcs_round_trips():
    raw = Shell.task_bcs(with_updates(state(rule=1), [("0x" + "01" * 32, (1,) * 6)]))
    d = Shell.decode(raw)
    assert d["version"] == task.VERSION and d["grace_ms"] == GRACE and d["rule"] == 1 and d["updates_size"] == 1


# --------------------------------------------------------------------------- submit
@pytest.mark.parametrize("rule", [0, 1])
def test_honest_submit_is_accepted_with_protocol_public_inputs(shell, rule):
    s = state(rule=rule)
    w = [100, 200, 100, 200, 100, 200]
    proof = honest_proof(s, shell.sender, w, 7)
    got = shell.submit(s, START + 1, w, 7, proof)
    want = task.submit_update(s, shell.sender, w, 7, proof, START + 1, stand_in_verify)[0]
    assert_same(got, want)
    assert got["submitters"] == [shell.sender]
    if rule:  # the robust rules store the update itself
        stored = shell.run("submit_stored", s, START + 1, [("vector<u32>", w), ("u256", 7), ("vector<u8>", proof)],
                           ret="vector<u32>")
        assert stored == w and got["updates_size"] == 1 and got["sums"] == []
    else:
        assert got["sums"] == w and got["updates_size"] == 0


def test_submit_binds_round_task_and_lr(shell):
    s = dataclasses.replace(state(max_rounds=9), round=3)
    w = [1, 2, 3, 4, 5, 6]
    good = honest_proof(s, shell.sender, w, 9)
    shell.submit(s, START, w, 9, good)
    other_round = honest_proof(dataclasses.replace(s, round=2), shell.sender, w, 9)
    other_task = honest_proof(dataclasses.replace(s, task_id="0x" + "7b" * 32), shell.sender, w, 9)
    other_lr = honest_proof(dataclasses.replace(s, lr_q=17), shell.sender, w, 9)
    other_sender = honest_proof(s, "0x" + "ee" * 32, w, 9)
    for bad in (other_round, other_task, other_lr, other_sender):
        assert names(lambda: shell.submit(s, START, w, 9, bad),
                     lambda: task.submit_update(s, shell.sender, w, 9, bad, START, stand_in_verify)) == ("EInvalidProof",) * 2


def _submit_case(shell, s, now, w, data, proof):
    return names(lambda: shell.submit(s, now, w, data, proof),
                 lambda: task.submit_update(s, shell.sender, w, data, proof, now, stand_in_verify))


def test_submit_rejections_match(shell):
    s = state()
    w = [1, 2, 3, 4, 5, 6]
    ok = honest_proof(s, shell.sender, w, 7)
    other = "0x" + "ab" * 32
    robust = state(rule=1)
    aggregating = dataclasses.replace(with_updates(robust, [(other, tuple(w))]), partial=(1,))
    cases = {
        "EWrongVersion": (dataclasses.replace(s, version=0), START, w, 7, ok),
        "ETaskFinished": (dataclasses.replace(s, finished=True), START, w, 7, ok),
        "ERoundClosed": (s, START + DUR + 1, w, 7, ok),
        "ERoundNotOpen": (dataclasses.replace(s, round_open=False, sampled=()), START, w, 7, ok),
        "ENotSampled": (with_updates(s, [(other, tuple(w)), ("0x" + "cd" * 32, tuple(w))]), START, w, 7, ok),
        "ESenderNotAllowed": (dataclasses.replace(s, open=False, allowlist=frozenset({other})), START, w, 7, ok),
        "EAlreadySubmitted": (with_updates(s, [(shell.sender, tuple(w))]), START, w, 7, ok),
        "EWrongLength": (s, START, w[:5], 7, ok),
        "EValueOutOfBounds": (s, START, w[:5] + [256], 7, ok),
        "EInvalidProof": (s, START, w, 7, ok[:-1]),
    }
    for want, args in cases.items():
        assert _submit_case(shell, *args) == (want, want), want
    # data commitment not a field element
    assert _submit_case(shell, s, START, w, pos.FIELD_MODULUS, ok) == ("EValueOutOfBounds",) * 2
    # a round whose aggregation started is closed
    assert _submit_case(shell, aggregating, START, w, 7, ok) == ("ERoundClosed",) * 2
    # allowlisted sender is accepted
    allowed = dataclasses.replace(s, open=False, allowlist=frozenset({shell.sender}))
    assert _submit_case(shell, allowed, START, w, 7, honest_proof(allowed, shell.sender, w, 7)) == (None, None)


@settings(max_examples=15, deadline=None)
@given(old=st.booleans(), finished=st.booleans(), late=st.booleans(), full=st.booleans(), allowed=st.booleans(),
       already=st.booleans(), length=st.sampled_from([5, 6, 7]), big=st.booleans(), bad_data=st.booleans(),
       proof_kind=st.sampled_from(["ok", "short", "wrong"]))
def test_submit_rejection_order_matches(shell, old, finished, late, full, allowed, already, length, big, bad_data, proof_kind):
    base = state(quorum=2)
    w = ([1, 2, 3, 4, 5, 6, 7][:length])
    if big:
        w[-1] = 300
    data = pos.FIELD_MODULUS + 1 if bad_data else 7
    ups = [(shell.sender, (1,) * 6)] if already else []
    if full:
        ups = ups + [("0x%064x" % (i + 1), (1,) * 6) for i in range(2 - len(ups))]
    s = dataclasses.replace(with_updates(base, ups), version=0 if old else 1, finished=finished, open=allowed)
    proof = honest_proof(base, shell.sender, [1, 2, 3, 4, 5, 6], 7) if length == 6 and not big and not bad_data else bytes(128)
    proof = {"ok": proof, "short": proof[:100], "wrong": bytes(128)}[proof_kind]
    got, want = _submit_case(shell, s, START + (DUR + 1 if late else 0), w, data, proof)
    assert got == want


# --------------------------------------------------------------------------- aggregate
@settings(max_examples=12, deadline=None)
@given(rule=st.integers(0, 2), trim=st.integers(0, 4999), n=st.integers(1, 5),
       data=st.data(), late=st.booleans(), last_round=st.booleans())
def test_aggregate_matches_task_rules(shell, rule, trim, n, data, late, last_round):
    s = state(quorum=3, max_rounds=4, rule=rule, trim_bps=trim)
    if last_round:
        s = dataclasses.replace(s, round=3)
    ups = [("0x%064x" % (i + 1), tuple(data.draw(st.lists(st.integers(0, 255), min_size=6, max_size=6))))
           for i in range(n)]
    s = with_updates(s, ups)
    now = START + (DUR + 5 if late else 3)
    from wafl_sui.devtools.vm import MoveAbort

    try:
        want = task.aggregate(s, shell.sender, now)[0]
    except ProtocolError as e:
        with pytest.raises(MoveAbort) as got:
            shell.aggregate(s, now)
        assert got.value.name == e.name
        return
    got = shell.aggregate(s, now)
    assert_same(got, want)
    assert got["updates_size"] == 0 and got["submitters"] == []


def test_aggregate_rejections_match(shell):
    s = state(quorum=2)
    one = with_updates(s, [("0x" + "01" * 32, (1,) * 6)])
    full = with_updates(s, [("0x" + "01" * 32, (1,) * 6), ("0x" + "02" * 32, (3,) * 6)])
    for st_, now, want in ((s, START, "EQuorumNotReached"), (s, START + DUR + 1, "ENoUpdates"),
                           (one, START + DUR, "EQuorumNotReached"), (dataclasses.replace(one, finished=True), START, "ETaskFinished"),
                           (dataclasses.replace(full, version=0), START, "EWrongVersion")):
        assert names(lambda: shell.aggregate(st_, now), lambda: task.aggregate(st_, shell.sender, now)) == (want, want)


def _digits_round(rule, trim_bps, n, seed=5):
    import random

    r = random.Random(seed)
    s = state(quorum=n, rule=rule, trim_bps=trim_bps, spec=DIGITS, model=[0] * DIGITS.num_weights)
    ups = [("0x%064x" % (i + 1), tuple(r.randrange(1 << DIGITS.weight_bits) for _ in range(DIGITS.num_weights))) for i in range(n)]
    return with_updates(s, ups)


@pytest.mark.parametrize("rule,trim_bps,n", [(1, 0, 64), (2, 1000, 64)])
def test_chunked_aggregation_matches(shell, rule, trim_bps, n):
    """Median / trimmed mean of 64 updates of the digits model, step by step: every step of the
    real contract leaves the state the Python step does (chunks of budget.coords_per_step)."""
    s = _digits_round(rule, trim_bps, n)
    steps = budget.aggregation_steps(DIGITS.num_weights, AggregationRule(rule, trim_bps), n)
    assert steps > 1
    for k in range(steps):
        got = shell.aggregate(s, START + k)
        s = task.aggregate(s, shell.sender, START + k)[0]
        assert_same(got, s)
    assert s.round == 1 and got["partial"] == [] and got["updates_size"] == 0


# --------------------------------------------------------------------------- discard
@pytest.mark.parametrize("rule", [0, 1])
def test_discard_matches(shell, rule):
    """The real entry function refuses to wipe a round with updates (or a started aggregation) at
    any time, and discards an empty round only after deadline + grace, as the twin does."""
    s = with_updates(state(quorum=2, rule=rule), [("0x" + "01" * 32, (1,) * 6), ("0x" + "02" * 32, (5,) * 6)])
    end = START + DUR + GRACE
    for held in (s, dataclasses.replace(s, partial=(3,)) if rule else s):
        for now in (end, end + 1, U64):
            assert names(lambda: shell.discard(held, now), lambda: task.discard_round(held, shell.sender, now)) == ("ERoundHasUpdates",) * 2
    empty = state(quorum=3, rule=rule)
    assert names(lambda: shell.discard(empty, end), lambda: task.discard_round(empty, shell.sender, end)) == ("EGracePeriodNotOver",) * 2
    got = shell.discard(empty, end + 1)
    want = task.discard_round(empty, shell.sender, end + 1)[0]
    assert_same(got, want)
    assert got["round"] == 0 and got["submitters"] == [] and got["deadline_ms"] == 0 and not got["round_open"]
    below = with_updates(state(quorum=3, rule=rule), [("0x" + "01" * 32, (1,) * 6)])  # below its quorum: dropped
    assert names(lambda: shell.discard(below, end), lambda: task.discard_round(below, shell.sender, end)) == ("EGracePeriodNotOver",) * 2
    assert_same(shell.discard(below, end + 1), task.discard_round(below, shell.sender, end + 1)[0])
    zero_grace = state(quorum=3, rule=rule, grace=0)  # the minimum grace period holds in Move too
    assert names(lambda: shell.discard(zero_grace, START + DUR + 1),
                 lambda: task.discard_round(zero_grace, shell.sender, START + DUR + 1)) == ("EGracePeriodNotOver",) * 2
    for bad, name in ((dataclasses.replace(empty, finished=True), "ETaskFinished"), (dataclasses.replace(empty, version=0), "EWrongVersion")):
        assert names(lambda: shell.discard(bad, end + 1), lambda: task.discard_round(bad, shell.sender, end + 1)) == (name, name)


# --------------------------------------------------------------------------- admin
def test_admin_calls_match(shell):
    s = state(open_=False)
    who = "0x" + "0e" * 32
    got = shell.run("add_dump", s, pure=[("address", who)], cap=TASK_ID)
    s1 = task.add_participant(s, TASK_ID, who)[0]
    assert_same(got, s1)
    assert shell.run("is_allowed", s1, pure=[("address", who)], ret="bool") is True
    assert_same(shell.run("remove_dump", s1, pure=[("address", who)], cap=TASK_ID), task.remove_participant(s1, TASK_ID, who)[0])
    assert_same(shell.run("set_open_dump", s, pure=[("bool", True)], cap=TASK_ID), task.set_open(s, TASK_ID, True)[0])
    assert_same(shell.run("restart_dump", s, START + 7 * DUR, cap=TASK_ID), task.restart_round(s, TASK_ID, START + 7 * DUR)[0])
    held = with_updates(state(quorum=3), [("0x" + "01" * 32, (1,) * 6)])  # the admin cannot hold honest work open
    assert names(lambda: shell.run("restart_dump", held, START + 7 * DUR, cap=TASK_ID),
                 lambda: task.restart_round(held, TASK_ID, START + 7 * DUR)) == ("ERoundHasUpdates",) * 2
    old = dataclasses.replace(s, version=0)
    assert_same(shell.run("migrate_dump", old, cap=TASK_ID), task.migrate(old, TASK_ID)[0])


def test_admin_rejections_match(shell):
    s = state()
    old = dataclasses.replace(s, version=0)
    other = "0x" + "99" * 32
    who = [("address", "0x" + "0e" * 32)]
    cases = [
        (lambda st_, cap: shell.run("add_dump", st_, pure=who, cap=cap), lambda st_, cap: task.add_participant(st_, cap, who[0][1])),
        (lambda st_, cap: shell.run("remove_dump", st_, pure=who, cap=cap), lambda st_, cap: task.remove_participant(st_, cap, who[0][1])),
        (lambda st_, cap: shell.run("set_open_dump", st_, pure=[("bool", False)], cap=cap), lambda st_, cap: task.set_open(st_, cap, False)),
        (lambda st_, cap: shell.run("restart_dump", st_, START, cap=cap), lambda st_, cap: task.restart_round(st_, cap, START)),
    ]
    for move_call, py_call in cases:
        assert names(lambda: move_call(s, other), lambda: py_call(s, other)) == ("ENotAdmin",) * 2
        assert names(lambda: move_call(old, other), lambda: py_call(old, other)) == ("EWrongVersion",) * 2
    done = dataclasses.replace(s, finished=True)
    assert names(lambda: shell.run("restart_dump", done, START, cap=TASK_ID), lambda: task.restart_round(done, TASK_ID, START)) == ("ETaskFinished",) * 2
    for st_, cap, name in ((old, other, "ENotAdmin"), (s, TASK_ID, "EWrongVersion"), (dataclasses.replace(s, version=2), TASK_ID, "EWrongVersion")):
        assert names(lambda: shell.run("migrate_dump", st_, cap=cap), lambda: task.migrate(st_, cap)) == (name, name)


def test_package_version_is_the_protocol_version(shell):
    assert shell.vm.inner1("task", "version") == task.VERSION


# --------------------------------------------------------------------------- round trip and gas
def test_full_round_trip(shell):
    """submit (honest stand-in proof) -> aggregate -> next round, all in the Move shell."""
    s = state(quorum=1, max_rounds=2)
    w = [10, 20, 30, 40, 50, 60]
    got = shell.submit(s, START, w, 5, honest_proof(s, shell.sender, w, 5))
    s1 = task.submit_update(s, shell.sender, w, 5, honest_proof(s, shell.sender, w, 5), START, stand_in_verify)[0]
    assert_same(got, s1)
    got = shell.aggregate(s1, START + 2)
    s2 = task.aggregate(s1, shell.sender, START + 2)[0]
    assert_same(got, s2)
    assert got["model"] == w and got["round"] == 1 and not got["finished"]
    # round 1 (opened with its sample): the old-model commitment is now the aggregate's
    assert not got["round_open"] and got["sampled"] == []
    s2 = opened(s2, START + 2)
    got = shell.submit(s2, START + 3, w, 5, honest_proof(s2, shell.sender, w, 5))
    s3 = task.submit_update(s2, shell.sender, w, 5, honest_proof(s2, shell.sender, w, 5), START + 3, stand_in_verify)[0]
    assert_same(got, s3)
    got = shell.aggregate(s3, START + 4)
    assert got["finished"] and got["round"] == 2


LARGEST = StepSpec(features=408, classes=10, weight_bits=32, frac_bits=16)  # 4,090 weights, the most per update


@pytest.mark.parametrize("rule", [0, 1])
def test_submit_at_the_largest_model(shell, rule):
    m = LARGEST.num_weights
    s = state(spec=LARGEST, model=[0] * m, rule=rule, quorum=16)
    w = [(i * 2654435761) % (1 << 32) for i in range(m)]
    proof = honest_proof(s, shell.sender, w, 7)
    assert_same(shell.submit(s, START, w, 7, proof), task.submit_update(s, shell.sender, w, 7, proof, START, stand_in_verify)[0])


def test_fedavg_step_of_a_full_largest_round(shell):
    """FedAvg aggregation reads the running sums only: 256 updates of 4,090 weights in one step."""
    m = LARGEST.num_weights
    s = state(spec=LARGEST, model=[0] * m, quorum=256)
    s = with_updates(s, [("0x%064x" % (i + 1), tuple((i * 7 + j) % 1000 for j in range(m))) for i in range(256)])
    assert_same(shell.aggregate(s, START), task.aggregate(s, shell.sender, START)[0])


@pytest.mark.parametrize("rule,trim_bps", [(1, 0), (2, 2500)])
def test_robust_steps_at_the_largest_model(shell, rule, trim_bps):
    """16 updates of 4,090 weights: the first step and the last one (one coordinate and the round
    advance) match."""
    import random

    r = random.Random(11)
    m = LARGEST.num_weights
    s = state(spec=LARGEST, model=[0] * m, quorum=16, rule=rule, trim_bps=trim_bps)
    s = with_updates(s, [("0x%064x" % (i + 1), tuple(r.randrange(1 << 32) for _ in range(m))) for i in range(16)])
    assert_same(shell.aggregate(s, START), task.aggregate(s, shell.sender, START)[0])
    last = dataclasses.replace(s, partial=tuple(range(m - 1)))
    assert_same(shell.aggregate(last, START), task.aggregate(last, shell.sender, START)[0])


# ------------------------------------------------------------------------------ private tasks
# The private entries (private_task.move) in the Move VM. sui-sandbox returns no object effects,
# so the `PrivacyKey` field cannot be carried from one call to the next: a scenario either runs
# its entry calls in ONE call of a harness function (fields created in a call persist within it),
# or starts from a private task whose field (and its tables' entries) is given as child objects,
# built from the Python state below. (Across transactions, with effects, the same entries run in
# the gas interpreter: tests/test_gas.py.)
PRIVATE_HARNESS = """module wafl::private_harness;

use sui::clock::Clock;
use sui::coin;
use sui::sui::SUI;
use wafl::private_task;
use wafl::task::{Task, TaskAdminCap};

/// set_privacy `times` times (params in DpParams order); whether the task is private.
public fun set_privacy_n(task: &mut Task, cap: &TaskAdminCap, p: vector<u64>, times: u64, ctx: &mut TxContext): bool {
    let mut i = 0;
    while (i < times) {
        private_task::set_privacy(cap, task, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], ctx);
        i = i + 1;
    };
    private_task::is_private(task)
}

/// task::register with a zero deposit; the number registered.
public fun register_plain(task: &mut Task, ctx: &mut TxContext): u64 {
    task.register(coin::zero<SUI>(ctx), ctx);
    task.registered().length()
}

/// register_private with a zero deposit; the registration's first round.
public fun register_private(task: &mut Task, d: u256, s: u256, ctx: &mut TxContext): u64 {
    private_task::register_private(task, coin::zero<SUI>(ctx), d, s, ctx);
    private_task::private_registration(task, ctx.sender()).destroy_some().first_round()
}

/// register_private then submit_private_update in one transaction; the sender's contributions.
public fun register_then_submit(
    task: &mut Task, clock: &Clock, d: u256, s: u256, w: vector<u32>, proof: vector<u8>, ctx: &mut TxContext,
): u64 {
    private_task::register_private(task, coin::zero<SUI>(ctx), d, s, ctx);
    private_task::submit_private_update(task, w, proof, clock, ctx);
    private_task::contributions(task, ctx.sender())
}

/// submit_private_update; the sender's contributions after it.
public fun submit_private(task: &mut Task, clock: &Clock, w: vector<u32>, proof: vector<u8>, ctx: &TxContext): u64 {
    private_task::submit_private_update(task, w, proof, clock, ctx);
    private_task::contributions(task, ctx.sender())
}
"""
DP = protocol.privacy.DpParams(records=64, clip_frac_bits=4, clip_q=1 << 12, clip_factor_bits=8, noise_sigma0=4,
                               noise_tail=32, noise_k=16, sample_threshold=1 << 62, target_epsilon_milli=4000,
                               target_delta_pico=10, max_contributions=2)  # valid for SPEC (K=4, KX=4, S=8)
PRIVACY_FIELD_ID_KEYS = (b"\x44" * 32, b"\x55" * 32)  # the ids of the registrations / contributions tables


@pytest.fixture(scope="module")
def pshell():
    from wafl_sui.devtools.harness import build_variant
    from wafl_sui.devtools.vm import MoveVM

    extra = {"stand_in_hash.move": STAND_IN, "stand_in_groth16.move": STAND_IN_GROTH16, "harness.move": HARNESS,
             "private_harness.move": PRIVATE_HARNESS}
    return Shell(MoveVM(build_variant(extra, SUBSTITUTIONS)), module="private_harness")


def privacy_children(s: task.TaskState) -> dict:
    """The `PrivacyKey` field of the private task `s` and its tables' entries, as child objects."""
    from wafl_sui.devtools.gas import type_tag_bcs
    from wafl_sui.devtools.vm import bcs_encode as e

    assert s.privacy is not None
    regs_id, contribs_id = PRIVACY_FIELD_ID_KEYS
    task_id = bytes.fromhex(s.task_id[2:])
    key_tag = type_tag_bcs(("S", bytes(32), "private_state", "PrivacyKey", ()))
    key = b"\x00"  # PrivacyKey(): a struct with no field is a struct of one `dummy_field: bool`
    fid = Shell._field_id(task_id, key, key_tag)
    params = b"".join(e("u64", getattr(s.privacy, f.name)) for f in dataclasses.fields(s.privacy))
    value = params + regs_id + e("u64", len(s.private_registrations)) + contribs_id + e("u64", len(s.contributions))
    addr_tag = type_tag_bcs("address")

    def entry(parent, addr, ty, value_bcs):
        k = bytes.fromhex(protocol.codec.normalize_address(addr)[2:])
        cid = Shell._field_id(parent, k, addr_tag)
        return {"child_id": "0x" + cid.hex(), "bcs_bytes": cid + k + value_bcs,
                "type_tag": f"0x2::dynamic_field::Field<address,{ty}>"}

    return {
        s.task_id: [{"child_id": "0x" + fid.hex(), "bcs_bytes": fid + key + value,
                     "type_tag": "0x2::dynamic_field::Field<0x0::private_state::PrivacyKey,0x0::private_state::Privacy>"}],
        "0x" + regs_id.hex(): [entry(regs_id, a, "0x0::private_state::PrivateRegistration",
                                     e("u256", r.data_commitment) + e("u256", r.seed_commitment) + e("u64", r.first_round))
                               for a, r in s.private_registrations],
        "0x" + contribs_id.hex(): [entry(contribs_id, a, "u64", e("u64", c)) for a, c in s.contributions],
    }


def closed_state() -> task.TaskState:
    """A task as create_task leaves it: round 0 not open, nobody registered."""
    return task.create_task(TASK_ID, CAP_ID, "0xad", SPEC, RoundRules(1, DUR, 3, GRACE), AggregationRule(0, 0), 16,
                            True, [128] * 6, VK, START)[0]


def private_state(registered_first_round: int | None = None, contributions: int = 0) -> task.TaskState:
    """A private task, round 0 open with the VM's sender sampled; the sender privately registered
    (from `registered_first_round`, None: not registered) with `contributions` accepted updates."""
    s = task.set_privacy(closed_state(), TASK_ID, DP)[0]
    if registered_first_round is not None:
        reg = task.PrivateRegistration(11, 22, registered_first_round)
        s = dataclasses.replace(s, registered=(SENDER,), private_registrations=((SENDER, reg),))
    if contributions:
        s = dataclasses.replace(s, contributions=((SENDER, contributions),))
    return opened(s, START)


def _dp_args(p=DP):
    return [("vector<u64>", [getattr(p, f.name) for f in dataclasses.fields(p)])]


def test_set_privacy_in_the_vm(pshell):
    """set_privacy makes the task private; twice, or after a registration, or on a private task
    given with its field: EPrivacyLocked (the Python twin agrees)."""
    s = closed_state()
    assert pshell.run("set_privacy_n", s, cap=TASK_ID, pure=_dp_args() + [("u64", 1)], ret="bool") is True
    assert pshell.run("set_privacy_n", s, cap=TASK_ID, pure=_dp_args() + [("u64", 0)], ret="bool") is False
    got, want = names(lambda: pshell.run("set_privacy_n", s, cap=TASK_ID, pure=_dp_args() + [("u64", 2)], ret="bool"),
                      lambda: task.set_privacy(task.set_privacy(s, TASK_ID, DP)[0], TASK_ID, DP))
    assert got == want == "EPrivacyLocked"
    reg = task.register(s, SENDER, 0)[0]
    got, want = names(lambda: pshell.run("set_privacy_n", reg, cap=TASK_ID, pure=_dp_args() + [("u64", 1)], ret="bool"),
                      lambda: task.set_privacy(reg, TASK_ID, DP))
    assert got == want == "EPrivacyLocked"
    p = private_state()
    got, want = names(lambda: pshell.run("set_privacy_n", p, cap=TASK_ID, pure=_dp_args() + [("u64", 1)], ret="bool",
                                         children=privacy_children(p)),
                      lambda: task.set_privacy(p, TASK_ID, DP))
    assert got == want == "EPrivacyLocked"
    bad = dataclasses.replace(DP, clip_frac_bits=SPEC.frac_bits + 1)
    got, want = names(lambda: pshell.run("set_privacy_n", s, cap=TASK_ID, pure=_dp_args(bad) + [("u64", 1)], ret="bool"),
                      lambda: task.set_privacy(s, TASK_ID, bad))
    assert got == want == "EInvalidPrivacy"


def test_register_on_a_private_task_in_the_vm(pshell):
    """Plain register on a private task: EPrivateTask; register_private on a plain one:
    EPrivateTask; register_private while the round is open counts from the next round."""
    p = private_state()
    kids = privacy_children(p)
    got, want = names(lambda: pshell.run("register_plain", p, ret="u64", children=kids),
                      lambda: task.register(p, SENDER, 0))
    assert got == want == "EPrivateTask"
    plain = closed_state()
    got, want = names(lambda: pshell.run("register_private", plain, pure=[("u256", 11), ("u256", 22)], ret="u64"),
                      lambda: task.register_private(plain, SENDER, 0, 11, 22))
    assert got == want == "EPrivateTask"
    assert pshell.run("register_plain", plain, ret="u64") == 1
    first = pshell.run("register_private", p, pure=[("u256", 11), ("u256", 22)], ret="u64", children=kids)
    assert first == task.register_private(p, SENDER, 0, 11, 22)[0].private_registration(SENDER).first_round == 1


def test_submit_private_update_aborts_in_the_vm(pshell):
    """Registered after the round's randomness (registered and submitting in the open round:
    ERegisteredAfterRandomness), not registered (ENotRegistered), budget spent
    (EPrivacyBudgetSpent, before the proof: the proof given is invalid); the Python twin agrees."""
    w = [100] * 6
    bad_proof = bytes(128)
    p = private_state()
    got, want = names(
        lambda: pshell.run("register_then_submit", p, START + 1, [("u256", 11), ("u256", 22), ("vector<u32>", w),
                                                                  ("vector<u8>", bad_proof)], ret="u64",
                           children=privacy_children(p)),
        lambda: task.submit_private_update(task.register_private(p, SENDER, 0, 11, 22)[0], SENDER, w, bad_proof,
                                           START + 1, stand_in_verify))
    assert got == want == "ERegisteredAfterRandomness"
    got, want = names(
        lambda: pshell.run("submit_private", p, START + 1, [("vector<u32>", w), ("vector<u8>", bad_proof)], ret="u64",
                           children=privacy_children(p)),
        lambda: task.submit_private_update(p, SENDER, w, bad_proof, START + 1, stand_in_verify))
    assert got == want == "ENotRegistered"
    spent = private_state(0, DP.max_contributions)
    got, want = names(
        lambda: pshell.run("submit_private", spent, START + 1, [("vector<u32>", w), ("vector<u8>", bad_proof)],
                           ret="u64", children=privacy_children(spent)),
        lambda: task.submit_private_update(spent, SENDER, w, bad_proof, START + 1, stand_in_verify))
    assert got == want == "EPrivacyBudgetSpent"
    # one below the budget: the invalid proof is what is refused
    left = private_state(0, DP.max_contributions - 1)
    got, want = names(
        lambda: pshell.run("submit_private", left, START + 1, [("vector<u32>", w), ("vector<u8>", bad_proof)],
                           ret="u64", children=privacy_children(left)),
        lambda: task.submit_private_update(left, SENDER, w, bad_proof, START + 1, stand_in_verify))
    assert got == want == "EInvalidProof"


def test_submit_private_update_accepted_with_the_protocol_binding(pshell):
    """An update whose `proof` is the public inputs protocol.task builds with
    `privacy.binding` (the stand-in verifier accepts exactly those) is accepted and counted: the
    contract binds the same params hash, commitments and randomness."""
    w = [100] * 6
    left = private_state(0, DP.max_contributions - 1)
    data = task.private_data_input(left, SENDER)
    proof = honest_proof(left, SENDER, w, data)
    want = task.submit_private_update(left, SENDER, w, proof, START + 1, stand_in_verify)[0]
    got = pshell.run("submit_private", left, START + 1, [("vector<u32>", w), ("vector<u8>", proof)], ret="u64",
                     children=privacy_children(left))
    assert got == want.contributions_of(SENDER) == DP.max_contributions
    other = honest_proof(left, SENDER, w, task.private_data_input(dataclasses.replace(left, randomness=bytes(32)), SENDER))
    got, _ = names(lambda: pshell.run("submit_private", left, START + 1, [("vector<u32>", w), ("vector<u8>", other)],
                                      ret="u64", children=privacy_children(left)), lambda: None)
    assert got == "EInvalidProof"  # a binding to another round's randomness
