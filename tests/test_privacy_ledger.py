"""Private tasks on the ledgers (docs/PRIVACY.md): attacks on set_privacy, register_private and
submit_private_update, on the local ledger (the Python twin of the contract) and in the Move VM
(`wafl::privacy`'s rules and packing, against protocol/privacy.py).

Proofs: the real DP circuit is another engineer's; an accepted private update here carries a
proof made with a Groth16 key of known trapdoor (test_sui_groth16.Synthetic, 4 public inputs),
which verifies for exactly the public inputs it was made for, so acceptance shows the ledger
built those inputs (and any other input set is rejected by the real verifier)."""

from __future__ import annotations

import dataclasses

import pytest

from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.local import LocalLedger
from wafl_sui.protocol import privacy, task as ptask
from wafl_sui.protocol.errors import ProtocolError
from wafl_sui.protocol.poseidon import FIELD_MODULUS
from wafl_sui.protocol.round import RoundRules
from wafl_sui.protocol.rules import AggregationRule
from wafl_sui.protocol.spec import StepSpec

from test_sui_groth16 import Synthetic
from ledger_clock import FixedClock as Clock  # noqa: E402

SPEC = StepSpec(features=4, classes=3, batch_size=2)
T0, DUR = 1_000_000, 10_000
PARAMS = privacy.DpParams(records=64, clip_frac_bits=8, clip_q=1 << 12, clip_factor_bits=8, noise_sigma0=4,
                          noise_tail=32, noise_k=16, sample_threshold=1 << 62, target_epsilon_milli=4000,
                          target_delta_pico=10, max_contributions=2)
DATA_C, SEED_C = 11, 22


@pytest.fixture(scope="module")
def synth():
    return Synthetic(n_inputs=4, seed=7)


@pytest.fixture(scope="module")
def ids():
    return {k: Identity.generate() for k in ("owner", "alice", "bob", "mallory")}


@pytest.fixture
def ledger(tmp_path):
    with LocalLedger(tmp_path / "ledger.sqlite", clock=Clock()) as led:
        yield led


def new_task(ledger, synth, owner, *, quorum=1, max_rounds=5, private=True, params=PARAMS):
    model = [1 << (SPEC.weight_bits - 1)] * SPEC.num_weights
    ref = ledger.create_task(owner, SPEC, RoundRules(quorum, DUR, max_rounds, 0, 8), AggregationRule(0), 16, True,
                             model, synth.vk)
    if private:
        ledger.set_privacy(owner, ref.task_id, params)
    return ref


def err(fn, *args, **kw) -> str:
    with pytest.raises(ProtocolError) as e:
        fn(*args, **kw)
    return e.value.name


def private_inputs(ledger, task, who, weights, data_c=DATA_C, seed_c=SEED_C, params=None, randomness=None) -> list[int]:
    """The public inputs of a private update as docs/PRIVACY.md defines them (computed here from
    the definition, not by the ledger's code path)."""
    st = ledger.state(task)
    data = privacy.binding(params or st.privacy, data_c, seed_c, st.randomness if randomness is None else randomness)
    return ptask.public_inputs_for(st, who.address, weights, data)


def honest(ledger, synth, task, who, **kw):
    weights = list(ledger.task(task).model)
    return weights, synth.proof(private_inputs(ledger, task, who, weights, **kw))


def submit(ledger, synth, task, who, **kw):
    weights, proof = honest(ledger, synth, task, who, **kw)
    return ledger.submit_private_update(who, task, weights, proof)


def next_round(ledger, task, who):
    ledger.aggregate(who, task)
    ledger.open_round(who, task)


# --------------------------------------------------------------------------- set_privacy
def test_set_privacy_event_params_and_readers(ledger, synth, ids):
    ref = new_task(ledger, synth, ids["owner"], private=False)
    assert ledger.privacy_params(ref.task_id) is None
    r = ledger.set_privacy(ids["owner"], ref.task_id, PARAMS)
    (e,) = r.of_type("PrivacySet")
    assert e.fields == {"task_id": ref.task_id, **PARAMS.to_dict(), "params_hash": privacy.params_hash(PARAMS)}
    assert ledger.privacy_params(ref.task_id) == PARAMS
    assert ledger.private_registration(ref.task_id, ids["alice"].address) is None
    assert ledger.contributions(ref.task_id, ids["alice"].address) == 0


def test_set_privacy_by_a_non_admin_twice_or_after_a_registration(ledger, synth, ids):
    o, m = ids["owner"], ids["mallory"]
    ref = new_task(ledger, synth, o, private=False)
    with pytest.raises(ProtocolError) as e:
        ledger.set_privacy(m, ref.task_id, PARAMS)  # mallory owns no cap of this task
    assert e.value.name == "ENotAdmin"
    ledger.register(ids["alice"], ref.task_id)
    assert err(ledger.set_privacy, o, ref.task_id, PARAMS) == "EPrivacyLocked"
    ledger.leave(ids["alice"], ref.task_id)
    ledger.register(ids["alice"], ref.task_id)
    ledger.open_round(o, ref.task_id)
    assert err(ledger.set_privacy, o, ref.task_id, PARAMS) == "EPrivacyLocked"
    ref2 = new_task(ledger, synth, o)
    assert err(ledger.set_privacy, o, ref2.task_id, PARAMS) == "EPrivacyLocked"  # twice


def test_set_privacy_checks_the_params(ledger, synth, ids):
    ref = new_task(ledger, synth, ids["owner"], private=False)
    for bad in (dict(records=0), dict(clip_frac_bits=SPEC.frac_bits + 1), dict(noise_sigma0=40),
                dict(sample_threshold=0), dict(max_contributions=1 << 64)):
        p = dataclasses.replace(PARAMS, **bad)
        assert err(ledger.set_privacy, ids["owner"], ref.task_id, p) == "EInvalidPrivacy", bad
    assert ledger.privacy_params(ref.task_id) is None


# --------------------------------------------------------------------------- registration
def test_plain_calls_on_a_private_task_and_private_calls_on_a_plain_one(ledger, synth, ids):
    a = ids["alice"]
    priv = new_task(ledger, synth, ids["owner"]).task_id
    plain = new_task(ledger, synth, ids["owner"], private=False).task_id
    assert err(ledger.register, a, priv) == "EPrivateTask"
    assert err(ledger.register_private, a, plain, DATA_C, SEED_C) == "EPrivateTask"
    ledger.register_private(a, priv, DATA_C, SEED_C)
    ledger.register(a, plain)
    ledger.open_round(a, priv)
    ledger.open_round(a, plain)
    weights, proof = honest(ledger, synth, priv, a)
    assert err(ledger.submit_update, a, priv, weights, DATA_C, proof) == "EPrivateTask"
    assert err(ledger.submit_private_update, a, plain, weights, proof) == "EPrivateTask"


def test_register_private_records_commitments_and_first_round(ledger, synth, ids):
    a, b = ids["alice"], ids["bob"]
    t = new_task(ledger, synth, ids["owner"]).task_id
    assert err(ledger.register_private, a, t, FIELD_MODULUS, SEED_C) == "EValueOutOfBounds"
    assert err(ledger.register_private, a, t, DATA_C, FIELD_MODULUS) == "EValueOutOfBounds"
    r = ledger.register_private(a, t, DATA_C, SEED_C)
    assert [e.type for e in r.events] == ["ParticipantRegistered", "PrivateRegistered"]
    assert r.events[1].fields == {"task_id": t, "participant": a.address, "data_commitment": DATA_C,
                                  "seed_commitment": SEED_C, "first_round": 0}
    assert ledger.private_registration(t, a.address) == ptask.PrivateRegistration(DATA_C, SEED_C, 0)
    assert err(ledger.register_private, a, t, DATA_C, SEED_C) == "EAlreadyRegistered"
    ledger.open_round(a, t)
    ledger.register_private(b, t, 5, 6)  # round 0's randomness exists: b counts from round 1
    assert ledger.private_registration(t, b.address) == ptask.PrivateRegistration(5, 6, 1)


def test_register_after_the_randomness_then_submit_for_that_round(ledger, synth, ids):
    a, b = ids["alice"], ids["bob"]
    t = new_task(ledger, synth, ids["owner"]).task_id
    ledger.register_private(a, t, DATA_C, SEED_C)
    ledger.open_round(a, t)
    ledger.leave(b, t) if ledger.task(t).is_registered(b.address) else None
    ledger.register_private(b, t, DATA_C, SEED_C)
    # b is not sampled in round 0 (it registered after the sample); force the attack on the
    # protocol twin: a state where b is sampled but registered after the randomness
    st = dataclasses.replace(ledger.state(t), sampled=(a.address, b.address))
    weights = list(st.model)
    data = privacy.binding(PARAMS, DATA_C, SEED_C, st.randomness)
    proof = synth.proof(ptask.public_inputs_for(st, b.address, weights, data))
    with pytest.raises(ProtocolError) as e:
        ptask.submit_private_update(st, b.address, weights, proof, T0, lambda *x: True)
    assert e.value.name == "ERegisteredAfterRandomness"
    # a leave and re-register after the randomness loses the round too
    submit(ledger, synth, t, a)
    next_round(ledger, t, a)  # round 1: a and b sampled
    assert ledger.task(t).is_sampled(b.address)
    submit(ledger, synth, t, b)  # b's registration counts from round 1


def test_leave_and_reregister_keeps_the_contributions(ledger, synth, ids):
    a = ids["alice"]
    t = new_task(ledger, synth, ids["owner"]).task_id
    ledger.register_private(a, t, DATA_C, SEED_C)
    ledger.open_round(a, t)
    submit(ledger, synth, t, a)
    assert ledger.contributions(t, a.address) == 1
    ledger.aggregate(a, t)
    ledger.leave(a, t)
    assert ledger.private_registration(t, a.address) is None
    ledger.register_private(a, t, 33, 44)  # a new dataset and seed, same budget
    assert ledger.private_registration(t, a.address) == ptask.PrivateRegistration(33, 44, 1)
    assert ledger.contributions(t, a.address) == 1
    ledger.open_round(a, t)
    submit(ledger, synth, t, a, data_c=33, seed_c=44)
    assert ledger.contributions(t, a.address) == 2
    ledger.aggregate(a, t)
    ledger.leave(a, t)
    ledger.register_private(a, t, 55, 66)
    ledger.open_round(a, t)
    weights, proof = honest(ledger, synth, t, a, data_c=55, seed_c=66)
    assert err(ledger.submit_private_update, a, t, weights, proof) == "EPrivacyBudgetSpent"


def test_budget_is_checked_before_the_proof(ledger, synth, ids):
    a = ids["alice"]
    t = new_task(ledger, synth, ids["owner"], params=dataclasses.replace(PARAMS, max_contributions=1)).task_id
    ledger.register_private(a, t, DATA_C, SEED_C)
    ledger.open_round(a, t)
    weights = list(ledger.task(t).model)
    assert err(ledger.submit_private_update, a, t, weights, b"\x00" * 128) == "EInvalidProof"
    submit(ledger, synth, t, a)
    next_round(ledger, t, a)
    # a garbage proof (even of the wrong length) meets the budget first
    assert err(ledger.submit_private_update, a, t, weights, b"junk") == "EPrivacyBudgetSpent"
    # and a task that allows no contribution refuses the first one
    t0 = new_task(ledger, synth, ids["owner"], params=dataclasses.replace(PARAMS, max_contributions=0)).task_id
    ledger.register_private(a, t0, DATA_C, SEED_C)
    ledger.open_round(a, t0)
    assert err(ledger.submit_private_update, a, t0, weights, b"junk") == "EPrivacyBudgetSpent"


def test_unregistered_sender_and_order_of_checks(ledger, synth, ids):
    a = ids["alice"]
    t = new_task(ledger, synth, ids["owner"]).task_id
    ledger.register_private(a, t, DATA_C, SEED_C)
    ledger.open_round(a, t)
    st = ledger.state(t)
    weights = list(st.model)
    # the round's checks come first (a sender that is not sampled), then the weights, then privacy
    assert err(ledger.submit_private_update, ids["mallory"], t, weights, b"junk") == "ENotSampled"
    assert err(ledger.submit_private_update, a, t, weights[:-1], b"junk") == "EWrongLength"
    no_reg = dataclasses.replace(st, private_registrations=())
    with pytest.raises(ProtocolError) as e:
        ptask.submit_private_update(no_reg, a.address, weights, b"junk", T0, lambda *x: True)
    assert e.value.name == "ENotRegistered"


@pytest.mark.parametrize("change", ["data", "seed", "randomness", "params"])
def test_public_inputs_bind_commitments_randomness_and_params(ledger, synth, ids, change):
    """A proof made for the inputs of any other data commitment, seed commitment, randomness or
    params is rejected; the one for the registered ones is accepted."""
    a = ids["alice"]
    t = new_task(ledger, synth, ids["owner"]).task_id
    ledger.register_private(a, t, DATA_C, SEED_C)
    ledger.open_round(a, t)
    weights = list(ledger.task(t).model)
    other = {"data": dict(data_c=DATA_C + 1), "seed": dict(seed_c=SEED_C + 1),
             "randomness": dict(randomness=bytes(32)),
             "params": dict(params=dataclasses.replace(PARAMS, noise_sigma0=5))}[change]
    honest_in = private_inputs(ledger, t, a, weights)
    forged_in = private_inputs(ledger, t, a, weights, **other)
    assert forged_in[2] != honest_in[2] and forged_in[:2] + forged_in[3:] == honest_in[:2] + honest_in[3:]
    assert err(ledger.submit_private_update, a, t, weights, synth.proof(forged_in)) == "EInvalidProof"
    r = ledger.submit_private_update(a, t, weights, synth.proof(honest_in))
    (e,) = r.of_type("UpdateAccepted")
    assert e.fields["data_commitment"] == honest_in[2]
    assert ledger.contributions(t, a.address) == 1


def test_budget_params_are_not_in_the_binding():
    """The budget fields are the contract's, not the circuit's: they do not change params_hash."""
    p2 = dataclasses.replace(PARAMS, target_epsilon_milli=1, target_delta_pico=2, max_contributions=3)
    assert privacy.params_hash(p2) == privacy.params_hash(PARAMS)


def test_private_state_survives_the_store(tmp_path, synth, ids):
    a = ids["alice"]
    path = tmp_path / "l.sqlite"
    with LocalLedger(path, clock=Clock()) as led:
        t = new_task(led, synth, ids["owner"]).task_id
        led.register_private(a, t, DATA_C, SEED_C)
        led.open_round(a, t)
        submit(led, synth, t, a)
    with LocalLedger(path, clock=Clock()) as led:
        assert led.privacy_params(t) == PARAMS
        assert led.private_registration(t, a.address) == ptask.PrivateRegistration(DATA_C, SEED_C, 0)
        assert led.contributions(t, a.address) == 1


# --------------------------------------------------------------------------- the Move twin (VM)
PARITY_PRIVACY = """module wafl::parity_privacy;

use wafl::privacy::{Self, DpParams};

fun p(v: vector<u64>): DpParams {
    privacy::new_params(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10])
}
public fun check_params(v: vector<u64>, k: u64, kx: u64, s: u64): bool { p(v).check_params(k, kx, s); true }
public fun params_preimage(v: vector<u64>): vector<u256> { p(v).params_preimage() }
public fun params_hash(v: vector<u64>): u256 { p(v).params_hash() }
public fun binding(v: vector<u64>, d: u256, sc: u256, r: vector<u8>): u256 { p(v).binding(d, sc, &r) }
public fun binding_preimage(h: u256, d: u256, sc: u256, r: vector<u8>): vector<u256> {
    privacy::binding_preimage(h, d, sc, &r)
}
public fun first_round(round: u64, open: bool): u64 { privacy::first_round(round, open) }
public fun check_private_update(registered: bool, first: u64, round: u64, c: u64, max: u64): bool {
    privacy::check_private_update(registered, first, round, c, max);
    true
}
public fun check_unlocked(private: bool, round: u64, open: bool, nr: u64, nd: u64, nu: u64): bool {
    privacy::check_unlocked(private, round, open, nr, nd, nu);
    true
}
public fun check_kind(is_private: bool, private_call: bool): bool { privacy::check_kind(is_private, private_call); true }
public fun constants(): vector<u256> {
    let mut out = privacy::domains();
    out.push_back(privacy::max_records() as u256);
    out.push_back(privacy::max_noise_tail() as u256);
    out.push_back(privacy::max_clip_factor_bits() as u256);
    out
}
"""


@pytest.fixture(scope="module")
def vm():
    from test_move_commitment import HASH_STAND_IN, STAND_IN

    from wafl_sui.devtools.harness import build_variant
    from wafl_sui.devtools.vm import MoveVM

    return MoveVM(build_variant({"stand_in_hash.move": STAND_IN, "parity_privacy.move": PARITY_PRIVACY}, HASH_STAND_IN))


def _vec(p: privacy.DpParams) -> tuple[str, list[int]]:
    return ("vector<u64>", [int(v) for v in p.to_dict().values()])


def _move(vm, fn, args):
    from wafl_sui.devtools.vm import MoveAbort

    try:
        return vm.inner1("privacy", fn, args), None
    except MoveAbort as e:
        return None, e.name


def _py(fn, *args):
    try:
        return fn(*args), None
    except ProtocolError as e:
        return None, e.name


pytestmark_vm = pytest.mark.oracle("node", "node_modules")


@pytestmark_vm
def test_move_constants_and_packing(vm):
    assert vm.inner1("privacy", "constants") == [privacy.DP_PARAMS_DOMAIN, privacy.DP_BIND_DOMAIN, privacy.MAX_RECORDS,
                                                 privacy.MAX_NOISE_TAIL, privacy.MAX_CLIP_FACTOR_BITS]
    assert vm.inner1("privacy", "params_preimage", [_vec(PARAMS)]) == [privacy.DP_PARAMS_DOMAIN,
                                                                        *PARAMS.circuit_constants()]
    r = bytes(range(1, 33))
    hi, lo = privacy.randomness_limbs(r)
    assert vm.inner1("privacy", "binding_preimage", [("u256", 5), ("u256", 6), ("u256", 7), ("vector<u8>", r)]) == [
        privacy.DP_BIND_DOMAIN, 5, 6, 7, hi, lo]


@pytestmark_vm
def test_move_hash_wiring(vm, monkeypatch):
    """params_hash and binding feed the hash exactly as protocol/privacy.py (a stand-in hash on
    both sides: the sandbox VM cannot load sui::poseidon; Poseidon itself is test_poseidon's)."""
    from test_move_commitment import stand_in

    from wafl_sui.protocol import poseidon as pos

    monkeypatch.setattr(pos, "poseidon", stand_in)
    r = bytes(range(100, 132))
    assert vm.inner1("privacy", "params_hash", [_vec(PARAMS)]) == privacy.params_hash(PARAMS)
    got = vm.inner1("privacy", "binding", [_vec(PARAMS), ("u256", DATA_C), ("u256", SEED_C), ("vector<u8>", r)])
    assert got == privacy.binding(PARAMS, DATA_C, SEED_C, r)


BAD_PARAMS = [dict(records=0), dict(records=4096), dict(records=4097), dict(clip_frac_bits=9), dict(clip_frac_bits=0),
              dict(clip_q=0), dict(clip_q=(1 << 32) - 1), dict(clip_q=1 << 32), dict(clip_factor_bits=0),
              dict(clip_factor_bits=16), dict(clip_factor_bits=17), dict(noise_sigma0=0), dict(noise_sigma0=33),
              dict(noise_tail=1024, noise_sigma0=1024), dict(noise_tail=1025), dict(noise_k=0), dict(noise_k=1 << 32),
              dict(sample_threshold=0), dict(sample_threshold=(1 << 64) - 1), dict(max_contributions=(1 << 64) - 1)]


@pytestmark_vm
@pytest.mark.parametrize("change", BAD_PARAMS)
@pytest.mark.parametrize("kx,s", [(8, 8), (0, 0)])
def test_move_check_params_matches(vm, change, kx, s):
    p = dataclasses.replace(PARAMS, **change)
    k = 8  # spec frac_bits; kx, s = feature_frac_bits, lr_frac_bits (0, 0: clip_frac_bits must be >= k)
    want = _py(privacy.check_params, p, k, kx, s)[1]
    got = _move(vm, "check_params", [_vec(p), ("u64", k), ("u64", kx), ("u64", s)])[1]
    assert got == want


@pytestmark_vm
def test_move_rules_match(vm):
    for rnd in (0, 1, 7):
        for open_ in (False, True):
            assert vm.inner1("privacy", "first_round", [("u64", rnd), ("bool", open_)]) == privacy.first_round(rnd, open_)
    for reg in (False, True):
        for first in (0, 3, 4):
            for c, mx in ((0, 0), (0, 1), (1, 1), (2, 5)):
                want = _py(privacy.check_private_update, first if reg else None, 3, c, mx)[1]
                got = _move(vm, "check_private_update", [("bool", reg), ("u64", first), ("u64", 3), ("u64", c),
                                                         ("u64", mx)])[1]
                assert got == want, (reg, first, c, mx)
    assert _move(vm, "check_kind", [("bool", True), ("bool", False)])[1] == "EPrivateTask"
    assert _move(vm, "check_kind", [("bool", False), ("bool", False)])[1] is None
    ok = [("bool", False), ("u64", 0), ("bool", False), ("u64", 0), ("u64", 0), ("u64", 0)]
    assert _move(vm, "check_unlocked", ok)[1] is None
    for i, v in ((0, True), (1, 1), (2, True), (3, 1), (4, 1), (5, 1)):
        args = list(ok)
        args[i] = (args[i][0], v)
        assert _move(vm, "check_unlocked", args)[1] == "EPrivacyLocked", i


# --------------------------------------------------------------------------- Sui transactions
SUI_PKG, SUI_TASK, SUI_CAP = "0x" + "ab" * 32, "0x" + "7a" * 32, "0x" + "ca" * 32


def _sui_txs():
    import base58

    from wafl_sui.ledger.sui import privacy_calls as P
    from wafl_sui.ledger.sui.task_calls import GasParams, task_input
    from wafl_sui.ledger.sui.transactions import ObjectRef

    dig = base58.b58encode(bytes(range(1, 33))).decode()
    gas = GasParams.parse(f"0xc0:12:{dig}", 750, 12_345_678)
    me = Identity(bytes(range(32))).address
    task_ = task_input(SUI_TASK, 7)
    cap = ObjectRef(SUI_CAP, 9, dig)
    return me, gas, dig, {
        "set_privacy": P.build_set_privacy_tx(SUI_PKG, me, gas, cap, task_, PARAMS),
        "register_private": P.build_register_private_tx(SUI_PKG, me, gas, task_, 2_500, FIELD_MODULUS - 1, 2**200),
        "submit_private_update": P.build_submit_private_update_tx(SUI_PKG, me, gas, task_, [1, 2, 2**32 - 1],
                                                                  b"\x07" * 128),
    }


def test_sui_private_calls_type_check_against_the_package():
    from wafl_sui.contract.build import DEFAULT_PACKAGE, build_package
    from wafl_sui.contract.signatures import PackageSignatures, check_transaction
    from wafl_sui.ledger.sui.task_calls import object_types

    sigs = PackageSignatures.from_build(build_package(DEFAULT_PACKAGE))
    _, _, _, txs = _sui_txs()
    for name, tx in txs.items():
        (sig,) = check_transaction(tx.kind, sigs, SUI_PKG, object_types(SUI_PKG, SUI_TASK, SUI_CAP))
        assert (sig.module, sig.name) == ("private_task", name)


@pytest.mark.oracle("ts_sdk")
def test_ts_sdk_decodes_the_private_transactions():
    import base64

    from test_sui_tx import _arg, _expected_inputs
    from ts_sdk import check_requests

    me, _, _, txs = _sui_txs()
    ident = Identity(bytes(range(32)))
    reqs = [{"tx": base64.b64encode(tx.to_bcs()).decode(), "signature": ident.sign_transaction(tx.to_bcs())}
            for tx in txs.values()]
    for (name, tx), got in zip(txs.items(), check_requests(reqs), strict=True):
        got = got["transaction"]
        assert got["roundTrip"] is True and got["digest"] == tx.digest() and got["sender"] == me
        assert got["inputs"] == _expected_inputs(tx)
        calls = [c for c in got["commands"] if c["kind"] == "MoveCall"]
        assert [c["target"] for c in calls] == [f"{SUI_PKG}::private_task::{name}"]
        want = [c for c in tx.kind.commands if type(c).__name__ == "MoveCall"][0]
        assert calls[0]["arguments"] == [_arg(a) for a in want.arguments]
    # the pure values: the 11 params in the struct's order, the two commitments as u256
    from wafl_sui.ledger.sui import bcs

    pures = [i.value for i in txs["set_privacy"].kind.inputs if type(i).__name__ == "Pure"]
    assert pures == [bcs.pure_u64(v) for v in PARAMS.to_dict().values()]
    pures = [i.value for i in txs["register_private"].kind.inputs if type(i).__name__ == "Pure"]
    assert pures == [bcs.pure_u64(2_500), bcs.pure_u256(FIELD_MODULUS - 1), bcs.pure_u256(2**200)]
    # a private task created offline: its data contract and its privacy in one transaction
    from wafl_sui.ledger.sui import privacy_calls as P
    from wafl_sui.ledger.sui.task_calls import task_input, with_gas
    from wafl_sui.ledger.sui.transactions import ObjectRef

    _, gas, dig, _ = _sui_txs()
    both = with_gas(P.set_privacy_kind(SUI_PKG, ObjectRef(SUI_CAP, 9, dig), task_input(SUI_TASK, 7), PARAMS,
                                       manifest=b"{}"), me, gas)
    (got,) = check_requests([{"tx": base64.b64encode(both.to_bcs()).decode(),
                              "signature": ident.sign_transaction(both.to_bcs())}])
    got = got["transaction"]
    assert got["roundTrip"] is True and got["digest"] == both.digest() and got["inputs"] == _expected_inputs(both)
    assert [c["target"] for c in got["commands"]] == [f"{SUI_PKG}::task::set_manifest",
                                                      f"{SUI_PKG}::private_task::set_privacy"]


def test_offline_unsigned_private_transactions(tmp_path):
    import base64

    from wafl_sui.ledger.sui import deployments
    from wafl_sui.ledger.sui.ledger import SuiLedger

    me, gas, dig, txs = _sui_txs()
    path = tmp_path / "deployments.json"
    deployments.record_deployment(deployments.Deployment("localnet", SUI_PKG, SUI_CAP, me, dig, "chain"), path)
    u = SuiLedger.offline(me, f"0xc0:12:{dig}", 750, 12_345_678, deployments_path=path, admin_cap=f"{SUI_CAP}:9:{dig}",
                          task_version=7)
    assert base64.b64decode(u.set_privacy(SUI_TASK, PARAMS)) == txs["set_privacy"].to_bcs()
    assert base64.b64decode(u.register_private(SUI_TASK, 2_500, FIELD_MODULUS - 1, 2**200)) == \
        txs["register_private"].to_bcs()
    assert base64.b64decode(u.submit_private_update(SUI_TASK, [1, 2, 2**32 - 1], b"\x07" * 128)) == \
        txs["submit_private_update"].to_bcs()


def test_a_private_task_created_offline_sets_its_contract_and_privacy_in_one_transaction(tmp_path):
    """`task create --dp-epsilon --serialize-unsigned-transaction --task-id`: set_manifest then
    set_privacy, one cap and one task input shared by both calls, type-checked against the package;
    the offline builder prints exactly that transaction."""
    import base64

    from wafl_sui.contract.build import DEFAULT_PACKAGE, build_package
    from wafl_sui.contract.signatures import PackageSignatures, check_transaction
    from wafl_sui.ledger.sui import bcs, deployments
    from wafl_sui.ledger.sui import privacy_calls as P
    from wafl_sui.ledger.sui.ledger import SuiLedger
    from wafl_sui.ledger.sui.task_calls import object_types, set_manifest_kind, task_input, with_gas
    from wafl_sui.ledger.sui.transactions import ObjectRef

    me, gas, dig, _ = _sui_txs()
    contract = b'{"contract":1}'
    kind = P.set_privacy_kind(SUI_PKG, ObjectRef(SUI_CAP, 9, dig), task_input(SUI_TASK, 7), PARAMS, manifest=contract)
    sigs = PackageSignatures.from_build(build_package(DEFAULT_PACKAGE))
    got = check_transaction(kind, sigs, SUI_PKG, object_types(SUI_PKG, SUI_TASK, SUI_CAP))
    assert [(g.module, g.name) for g in got] == [("task", "set_manifest"), ("private_task", "set_privacy")]
    assert len([i for i in kind.inputs if type(i).__name__ != "Pure"]) == 2  # the cap and the task, each once
    pures = [i.value for i in kind.inputs if type(i).__name__ == "Pure"]
    assert pures == [bcs.pure_bytes(contract)] + [bcs.pure_u64(v) for v in PARAMS.to_dict().values()]
    path = tmp_path / "deployments.json"
    deployments.record_deployment(deployments.Deployment("localnet", SUI_PKG, SUI_CAP, me, dig, "chain"), path)
    u = SuiLedger.offline(me, f"0xc0:12:{dig}", 750, 12_345_678, deployments_path=path, admin_cap=f"{SUI_CAP}:9:{dig}",
                          task_version=7)
    assert base64.b64decode(u.set_manifest(SUI_TASK, contract, privacy=PARAMS)) == with_gas(kind, me, gas).to_bcs()
    plain = set_manifest_kind(SUI_PKG, ObjectRef(SUI_CAP, 9, dig), task_input(SUI_TASK, 7), contract)
    assert base64.b64decode(u.set_manifest(SUI_TASK, contract)) == with_gas(plain, me, gas).to_bcs()  # ordinary


def test_sui_readers_decode_the_dynamic_fields():
    from wafl_sui.ledger.sui import bcs
    from wafl_sui.ledger.sui import privacy_calls as P

    regs, contribs = "0x" + "11" * 32, "0x" + "22" * 32
    field = (bytes(32) + b"\x00" + b"".join(bcs.pure_u64(v) for v in P.param_values(PARAMS))
             + bytes.fromhex(regs[2:]) + bcs.pure_u64(3) + bytes.fromhex(contribs[2:]) + bcs.pure_u64(2))
    assert P.decode_privacy_field(field) == (PARAMS, regs, contribs)
    entry = bytes(32) + bytes(32) + bcs.pure_u256(5) + bcs.pure_u256(6) + bcs.pure_u64(4)
    assert P.decode_registration(entry) == ptask.PrivateRegistration(5, 6, 4)
    assert P.decode_count(bytes(64) + bcs.pure_u64(9)) == 9
    # ids: the key type is the package's private_state::PrivacyKey; entries are address-keyed
    assert P.privacy_field_id(SUI_PKG, SUI_TASK) != P.privacy_field_id(SUI_PKG, "0x" + "7b" * 32)
    assert P.entry_id(regs, "0xa") != P.entry_id(contribs, "0xa")


def test_registration_unpacks_and_privacy_alias(ledger, synth, ids):
    """What the client reads: `privacy(task)` and the registration as a 3-tuple."""
    a = ids["alice"]
    t = new_task(ledger, synth, ids["owner"]).task_id
    ledger.register_private(a, t, DATA_C, SEED_C)
    held = ledger.private_registration(t, a.address)
    assert tuple(held) == (DATA_C, SEED_C, 0) and held[2] == 0
    assert ledger.privacy(t) == ledger.privacy_params(t) == PARAMS


def test_a_private_spec_creates_the_task_and_the_view_carries_the_params(ledger, synth, ids):
    """The spec of a private task (circuit constants on it) creates the task as `spec::new` does
    (without them); once set_privacy ran, the view's spec carries them again."""
    model = [1 << (SPEC.weight_bits - 1)] * SPEC.num_weights
    ref = ledger.create_task(ids["owner"], SPEC.with_privacy(PARAMS), RoundRules(1, DUR, 5, 0, 8), AggregationRule(0),
                             16, True, model, synth.vk)
    assert ledger.state(ref.task_id).spec == SPEC and ledger.task(ref.task_id).spec == SPEC
    ledger.set_privacy(ids["owner"], ref.task_id, PARAMS)
    assert ledger.task(ref.task_id).spec == SPEC.with_privacy(PARAMS)
    assert ledger.state(ref.task_id).spec == SPEC  # the Move twin's spec is the struct's
