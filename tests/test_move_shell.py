"""The task shell (`wafl::task::submit_update` / `aggregate`) executed in the Sui Move VM against
`wafl_sui/protocol/task.py and round.py`.

The sandbox VM cannot load `sui::poseidon` or run `sui::groth16`, so this test compiles a copy of
the package in which both are replaced by stand-ins with the same API:
  * the hash is a simple stand-in (see test_move_commitment.py), used on both sides;
  * `verify_groth16_proof` accepts a "proof" iff its bytes EQUAL the public-input bytes the
    contract built. A test passes `protocol.public_inputs_bytes(expected inputs)` as the proof,
    so acceptance shows the shell built exactly the public inputs of protocol.py (old model,
    new model, data, context of task id / sender / round / lr_q).
The Task object is given as BCS (a shared object input) with its Table entries as child
objects; a harness returns the object's BCS after the call, which is compared field by field
with the Python state transition. Everything else (checks, their order, table clean-up, round
advance) is the real package code."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wafl_sui.protocol import poseidon as pos
from wafl_sui import protocol
from wafl_sui.protocol import round as round_rules, task
from wafl_sui.contract.build import DEFAULT_PACKAGE, build_package
from wafl_sui.protocol import ProtocolError, StepSpec

from test_move_commitment import STAND_IN, stand_in

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (Path(__file__).parent.parent / "node_modules").is_dir(),
    reason="needs node and the project's node_modules (npm ci)",
)

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
use wafl::task::Task;

public fun sender(ctx: &TxContext): address { ctx.sender() }

public fun submit_dump(
    task: &mut Task, clock: &Clock, new_weights: vector<u32>, data: u256, proof: vector<u8>, ctx: &TxContext,
): vector<u8> {
    task.submit_update(new_weights, data, proof, clock, ctx);
    std::bcs::to_bytes(task)
}

public fun aggregate_dump(task: &mut Task, clock: &Clock, ctx: &TxContext): vector<u8> {
    task.aggregate(clock, ctx);
    std::bcs::to_bytes(task)
}
"""

SPEC = StepSpec(features=2, classes=2, batch_size=2, local_steps=1, frac_bits=4, weight_bits=8,
                feature_frac_bits=4, feature_bits=6, lr_frac_bits=8, lr_bits=8)
TASK_ID = "0x" + "7a" * 32
ALLOW_ID, UPDATES_ID = b"\x11" * 32, b"\x22" * 32
VK = bytes(224) + (5).to_bytes(8, "little") + bytes(5 * 32)
START, DUR = 5_000, 1_000


class Shell:
    def __init__(self, vm):
        from wafl_sui.contract.vm import MoveVM

        self.vm: MoveVM = vm
        self.sender = vm.call1("harness", "sender")

    # -------------------------------------------------------------- BCS of the Task object
    @staticmethod
    def task_bcs(s: task.TaskState) -> bytes:
        from wafl_sui.contract.vm import bcs_encode as e
        from wafl_sui.contract.vm import encode_spec

        u64 = lambda x: e("u64", x)  # noqa: E731
        return b"".join([
            bytes.fromhex(s.task_id[2:]), encode_spec(s.spec), u64(s.lr_q), u64(s.quorum),
            u64(s.round_duration_ms), u64(s.max_rounds), e("u8", s.rule), u64(s.trim_bps), e("bool", s.open),
            ALLOW_ID, u64(len(s.allowlist)),
            e("vector<u8>", s.vk), e("vector<u8>", b""), e("vector<u8>", b""), e("vector<u8>", b""),
            u64(s.round), u64(s.round_start_ms), u64(s.deadline_ms),
            e("vector<u32>", s.model), e("u256", s.model_commitment),
            UPDATES_ID, u64(len(s.updates)), e("vector<address>", [a for a, _ in s.updates]),
            e("bool", s.finished), u64(s.created_ms),
        ])

    @staticmethod
    def decode(raw: bytes) -> dict:
        from wafl_sui.contract.vm import bcs_decode

        layout = [("id", "address")] + [(f, "u64") for f in (
            "features", "classes", "batch_size", "local_steps", "frac_bits", "weight_bits",
            "feature_frac_bits", "feature_bits", "lr_frac_bits", "lr_bits", "lr_q", "quorum",
            "round_duration_ms", "max_rounds")] + [("rule", "u8"), ("trim_bps", "u64"), ("open", "bool"),
            ("allowlist_id", "address"), ("allowlist_size", "u64")] + [(f"vk{i}", "vector<u8>") for i in range(4)] + [
            ("round", "u64"), ("round_start_ms", "u64"), ("deadline_ms", "u64"), ("model", "vector<u32>"),
            ("model_commitment", "u256"), ("updates_id", "address"), ("updates_size", "u64"),
            ("submitters", "vector<address>"), ("finished", "bool"), ("created_ms", "u64")]
        out, i = {}, 0
        for name, ty in layout:
            out[name], i = bcs_decode(ty, raw, i)
        assert i == len(raw)
        return out

    @staticmethod
    def _field_id(parent: bytes, key: bytes, type_tag: bytes) -> bytes:
        h = hashlib.blake2b(digest_size=32)
        h.update(b"\xf0" + parent + len(key).to_bytes(8, "little") + key + type_tag)
        return h.digest()

    def _children(self, s: task.TaskState) -> dict:
        from wafl_sui.contract.vm import bcs_encode as e

        def field(parent, key_hex, value_ty, value):
            key = bytes.fromhex(key_hex[2:])
            cid = self._field_id(parent, key, b"\x04")  # TypeTag::Address
            return {"child_id": "0x" + cid.hex(), "bcs_bytes": cid + key + e(value_ty, value),
                    "type_tag": f"0x2::dynamic_field::Field<address,{value_ty}>"}

        return {
            "0x" + UPDATES_ID.hex(): [field(UPDATES_ID, a, "vector<u32>", list(w)) for a, w in s.updates],
            "0x" + ALLOW_ID.hex(): [field(ALLOW_ID, a, "bool", True) for a in sorted(s.allowlist)],
        }

    def run(self, fn: str, s: task.TaskState, now: int, pure=()) -> dict:
        """Call harness::fn on the Task `s` at clock `now`; the new object state, or MoveAbort."""
        import sui_sandbox

        from wafl_sui.contract.vm import MoveAbort, bcs_decode, bcs_encode

        objs = [
            {"object_id": s.task_id, "bcs_bytes": self.task_bcs(s), "type_tag": "0x0::task::Task",
             "is_shared": True, "mutable": True},
            {"object_id": "0x" + "0" * 63 + "6", "bcs_bytes": bytes(31) + b"\x06" + bcs_encode("u64", now),
             "type_tag": "0x2::clock::Clock", "is_shared": True, "mutable": False},
        ]
        r = sui_sandbox.call_view_function(
            "0x0", "harness", fn, package_bytecodes=self.vm._pkg, fetch_deps=False, object_inputs=objs,
            pure_inputs=[bcs_encode(t, v) for t, v in pure], child_objects=self._children(s),
        )
        if not r["success"]:
            import re

            m = re.search(r"ABORTED, sub_status: Some\((\d+)\)", r["error"] or "")
            assert m, r["error"]
            from wafl_sui.contract.vm import abort_module

            mod = abort_module(r["error"])
            name, line = self.vm.error_name(mod, int(m.group(1)))
            raise MoveAbort(mod, int(m.group(1)), name, line, r["error"])
        return self.decode(bcs_decode("vector<u8>", base64.b64decode(r["return_values"][0][0]))[0])

    def submit(self, s, now, weights, data, proof):
        return self.run("submit_dump", s, now, [("vector<u32>", weights), ("u256", data), ("vector<u8>", proof)])

    def aggregate(self, s, now):
        return self.run("aggregate_dump", s, now)


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    from wafl_sui.contract.vm import MoveVM

    pkg = tmp_path_factory.mktemp("shell") / "move"
    shutil.copytree(DEFAULT_PACKAGE, pkg, ignore=shutil.ignore_patterns("build", "tests"))
    subs = {
        "commitment.move": ("use sui::poseidon::poseidon_bn254;", "use wafl::stand_in_hash::poseidon_bn254;"),
        "task.move": ("use sui::groth16::{Self, PreparedVerifyingKey};",
                      "use wafl::stand_in_groth16::{Self as groth16, PreparedVerifyingKey};"),
    }
    for name, (old, new) in subs.items():
        f = pkg / "sources" / name
        text = f.read_text()
        assert old in text, (name, old)
        f.write_text(text.replace(old, new))
    (pkg / "sources" / "stand_in_hash.move").write_text(STAND_IN)
    (pkg / "sources" / "stand_in_groth16.move").write_text(STAND_IN_GROTH16)
    (pkg / "sources" / "harness.move").write_text(HARNESS)
    return Shell(MoveVM(build_package(pkg)))


@pytest.fixture(autouse=True)
def python_stand_in(monkeypatch):
    monkeypatch.setattr(pos, "poseidon", stand_in)
    monkeypatch.setattr(protocol, "poseidon", stand_in)


def state(quorum=2, max_rounds=2, rule=0, trim_bps=0, open_=True, model=(128,) * 6) -> task.TaskState:
    return task.create_task(TASK_ID, "0x" + "ca" * 32, SPEC, 16, quorum, DUR, max_rounds, rule, trim_bps, open_,
                          list(model), VK, START)


def stand_in_verify(vk, inputs, proof):
    return protocol.public_inputs_bytes(inputs) == proof


def honest_proof(s: task.TaskState, sender: str, weights, data) -> bytes:
    return protocol.public_inputs_bytes(task.public_inputs_for(s, sender, weights, data))


def assert_same(got: dict, want: task.TaskState):
    assert got["round"] == want.round
    assert got["round_start_ms"] == want.round_start_ms and got["deadline_ms"] == want.deadline_ms
    assert got["model"] == list(want.model)
    assert got["model_commitment"] == want.model_commitment
    assert got["submitters"] == [a for a, _ in want.updates]
    assert got["updates_size"] == len(want.updates)
    assert got["finished"] == want.finished


def names(shell_call, py_call):
    from wafl_sui.contract.vm import MoveAbort

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


# --------------------------------------------------------------------------- submit
def test_honest_submit_is_accepted_with_protocol_public_inputs(shell):
    s = state()
    w = [100, 200, 100, 200, 100, 200]
    proof = honest_proof(s, shell.sender, w, 7)
    got = shell.submit(s, START + 1, w, 7, proof)
    want = task.submit_update(s, shell.sender, w, 7, proof, START + 1, stand_in_verify)
    assert_same(got, want)
    assert got["updates_size"] == 1 and got["submitters"] == [shell.sender]


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
    cases = {
        "ETaskFinished": (dataclasses.replace(s, finished=True), START, w, 7, ok),
        "ERoundClosed": (s, START + DUR + 1, w, 7, ok),
        "ESenderNotAllowed": (dataclasses.replace(s, open=False, allowlist=frozenset({other})), START, w, 7, ok),
        "EAlreadySubmitted": (dataclasses.replace(s, updates=((shell.sender, tuple(w)),)), START, w, 7, ok),
        "EWrongLength": (s, START, w[:5], 7, ok),
        "EValueOutOfBounds": (s, START, w[:5] + [256], 7, ok),
        "EInvalidProof": (s, START, w, 7, ok[:-1]),
    }
    for want, args in cases.items():
        assert _submit_case(shell, *args) == (want, want), want
    # data commitment not a field element
    assert _submit_case(shell, s, START, w, pos.FIELD_MODULUS, ok) == ("EValueOutOfBounds",) * 2
    # a full round is closed
    full = dataclasses.replace(s, updates=tuple(("0x%064x" % (i + 1), tuple(w)) for i in range(round_rules.MAX_UPDATES_PER_ROUND)))
    assert _submit_case(shell, full, START, w, 7, ok)[0] == "ERoundClosed"
    # allowlisted sender is accepted
    allowed = dataclasses.replace(s, open=False, allowlist=frozenset({shell.sender}))
    assert _submit_case(shell, allowed, START, w, 7, honest_proof(allowed, shell.sender, w, 7)) == (None, None)


@settings(max_examples=15, deadline=None)
@given(finished=st.booleans(), late=st.booleans(), allowed=st.booleans(), already=st.booleans(),
       length=st.sampled_from([5, 6, 7]), big=st.booleans(), bad_data=st.booleans(), proof_kind=st.sampled_from(["ok", "short", "wrong"]))
def test_submit_rejection_order_matches(shell, finished, late, allowed, already, length, big, bad_data, proof_kind):
    base = state()
    w = ([1, 2, 3, 4, 5, 6, 7][:length])
    if big:
        w[-1] = 300
    data = pos.FIELD_MODULUS + 1 if bad_data else 7
    s = dataclasses.replace(
        base, finished=finished, open=allowed,
        updates=((shell.sender, (1,) * 6),) if already else (),
    )
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
    ups = tuple(("0x%064x" % (i + 1), tuple(data.draw(st.lists(st.integers(0, 255), min_size=6, max_size=6))))
                for i in range(n))
    s = dataclasses.replace(s, updates=ups)
    now = START + (DUR + 5 if late else 3)
    from wafl_sui.contract.vm import MoveAbort

    try:
        want = task.aggregate(s, now)
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
    one = dataclasses.replace(s, updates=(("0x" + "01" * 32, (1,) * 6),))
    for st_, now, want in ((s, START, "EQuorumNotReached"), (s, START + DUR + 1, "ENoUpdates"),
                           (one, START + DUR, "EQuorumNotReached"), (dataclasses.replace(one, finished=True), START, "ETaskFinished")):
        assert names(lambda: shell.aggregate(st_, now), lambda: task.aggregate(st_, now)) == (want, want)


def test_full_round_trip(shell):
    """submit (honest stand-in proof) -> aggregate -> next round, all in the Move shell."""
    s = state(quorum=1, max_rounds=2)
    w = [10, 20, 30, 40, 50, 60]
    got = shell.submit(s, START, w, 5, honest_proof(s, shell.sender, w, 5))
    s1 = task.submit_update(s, shell.sender, w, 5, honest_proof(s, shell.sender, w, 5), START, stand_in_verify)
    assert_same(got, s1)
    got = shell.aggregate(s1, START + 2)
    s2 = task.aggregate(s1, START + 2)
    assert_same(got, s2)
    assert got["model"] == w and got["round"] == 1 and not got["finished"]
    # round 1: the old-model commitment is now the aggregate's
    got = shell.submit(s2, START + 3, w, 5, honest_proof(s2, shell.sender, w, 5))
    s3 = task.submit_update(s2, shell.sender, w, 5, honest_proof(s2, shell.sender, w, 5), START + 3, stand_in_verify)
    assert_same(got, s3)
    got = shell.aggregate(s3, START + 4)
    assert got["finished"] and got["round"] == 2
