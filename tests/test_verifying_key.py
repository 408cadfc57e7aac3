"""Finding 2 of the security review, tried again: a verifying key of points at infinity (or with
gamma == delta) let anyone "prove" anything, and Sui's own `prepare_verifying_key` accepts such a
key. `codec.check_verifying_key` (twin of `codec::check_verifying_key`, compared in the Move VM in
test_move_parity.py) refuses it in `create_task`, on every ledger; the prepare step refuses
points off the curve. Built from the bytes of Sui's own test vectors (tests/data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wafl_sui import protocol
from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.local import LocalLedger
from wafl_sui.protocol import ProtocolError, RoundRules, StepSpec, codec
from wafl_sui.protocol.rules import AggregationRule
from wafl_sui.zk import sui_bytes

VECTORS = json.loads((Path(__file__).parent / "data" / "sui_groth16_bn254.json").read_text())
SUI_VK = bytes.fromhex(VECTORS["prepare_verifying_key_bn254"]["vk"])  # 1 public input (2 IC points)
G1, G2, HEADER = codec.G1_BYTES, codec.G2_BYTES, codec.VK_HEADER_BYTES
G1_INF = bytes(G1 - 1) + bytes([codec.INFINITY_FLAG])
G2_INF = bytes(G2 - 1) + bytes([codec.INFINITY_FLAG])
SPEC = StepSpec(features=4, classes=3, batch_size=2)
LR_Q = protocol.lr_to_fixed(1.0, SPEC.batch_size, SPEC.lr_frac_bits, SPEC.lr_bits)


def off_curve_g1() -> bytes:
    """A compressed G1 point whose x has no y on the curve (x^3 + 3 is not a square mod q)."""
    q = sui_bytes.Q
    x = next(x for x in range(1, 100) if pow(x ** 3 + 3, (q - 1) // 2, q) == q - 1)
    return x.to_bytes(G1, "little")


def parts(vk: bytes) -> tuple[bytes, bytes, bytes, bytes, list[bytes]]:
    o = G1
    alpha, beta, gamma, delta = vk[:o], vk[o:o + G2], vk[o + G2:o + 2 * G2], vk[o + 2 * G2:o + 3 * G2]
    n = int.from_bytes(vk[HEADER - 8:HEADER], "little")
    return alpha, beta, gamma, delta, [vk[HEADER + G1 * i:HEADER + G1 * (i + 1)] for i in range(n)]


def key(alpha: bytes, beta: bytes, gamma: bytes, delta: bytes, ic: list[bytes]) -> bytes:
    return alpha + beta + gamma + delta + len(ic).to_bytes(8, "little") + b"".join(ic)


ALPHA, BETA, GAMMA, DELTA, IC = parts(SUI_VK)
STEP_VK = key(ALPHA, BETA, GAMMA, DELTA, [IC[i % 2] for i in range(5)])  # well formed, 4 public inputs


def err(fn, *args) -> str:
    with pytest.raises(ProtocolError) as e:
        fn(*args)
    return e.value.name


def test_sui_keys_pass_and_count_their_inputs():
    assert codec.check_verifying_key(SUI_VK) == 1
    assert codec.check_verifying_key(STEP_VK) == 4


@pytest.mark.parametrize("where", ["alpha", "beta", "gamma", "delta", "IC[0]", "IC[4]"])
def test_a_point_at_infinity_anywhere_is_refused(where):
    a, b, g, d, ic = parts(STEP_VK)
    if where == "alpha":
        a = G1_INF
    elif where in ("beta", "gamma", "delta"):
        b, g, d = (G2_INF if where == w else p for w, p in (("beta", b), ("gamma", g), ("delta", d)))
    else:
        i = int(where[3])
        ic = [G1_INF if j == i else p for j, p in enumerate(ic)]
    with pytest.raises(ProtocolError, match=where.replace("[", r"\[").replace("]", r"\]")) as e:
        codec.check_verifying_key(key(a, b, g, d, ic))
    assert e.value.name == "EInvalidVerifyingKey"


def test_gamma_equal_to_delta_is_refused():
    assert err(codec.check_verifying_key, key(ALPHA, BETA, GAMMA, GAMMA, [IC[0]] * 5)) == "EInvalidVerifyingKey"


def test_the_attack_key_is_real_without_the_check():
    """Why the contract must check: Sui's prepare (mirrored by sui_bytes) takes a key whose alpha
    and IC points are at infinity, and then a proof of points at infinity verifies for ANY inputs."""
    bad = key(G1_INF, BETA, GAMMA, DELTA, [G1_INF] * 5)
    inputs = protocol.public_inputs_bytes([1, 2, 3, 4])
    inf_proof = G1_INF + G2_INF + G1_INF
    assert sui_bytes.verify_raw_reference(bad, inputs, inf_proof) is True
    assert err(codec.check_verifying_key, bad) == "EInvalidVerifyingKey"


def test_infinity_points_in_a_proof_do_not_pass_a_real_key():
    """Sui reads proof points at infinity (arkworks' flag) and lets the pairing decide: against a
    well-formed key an all-infinity proof fails, in both of our verifiers, as on Sui."""
    vec = VECTORS["verify_bn254"]
    pvk = sui_bytes.PreparedVerifyingKey(*(bytes.fromhex(vec[k]) for k in
                                          ("vk_gamma_abc_g1", "alpha_g1_beta_g2", "gamma_g2_neg_pc", "delta_g2_neg_pc")))
    inputs = bytes.fromhex(vec["public_inputs"])
    assert sui_bytes.verify_groth16_proof(pvk, inputs, bytes.fromhex(vec["proof"])) is True
    for proof in (G1_INF + G2_INF + G1_INF, bytes.fromhex(vec["proof"])[:G1 + G2] + G1_INF,
                  G1_INF + bytes.fromhex(vec["proof"])[G1:]):
        assert sui_bytes.verify_groth16_proof(pvk, inputs, proof) is False
        assert sui_bytes.verify_prepared(pvk, inputs, proof) is False


@pytest.fixture
def ledger(tmp_path):
    with LocalLedger(tmp_path / "ledger.sqlite") as led:
        yield led


def create(ledger, vk: bytes):
    zero = [protocol.encode_signed(0, SPEC.weight_bits)] * SPEC.num_weights
    return ledger.create_task(Identity.generate(), SPEC, RoundRules(2, 60_000, 2), AggregationRule(0), LR_Q, True,
                              zero, vk)


def test_the_ledger_refuses_degenerate_keys_and_takes_a_good_one(ledger):
    """The attack through the ledger interface: every degenerate key is refused by create_task."""
    bad_keys = {
        "all at infinity": key(G1_INF, G2_INF, G2_INF, G2_INF, [G1_INF] * 5),
        "alpha and IC at infinity": key(G1_INF, BETA, GAMMA, DELTA, [G1_INF] * 5),
        "an IC point off the curve": key(ALPHA, BETA, GAMMA, DELTA, [IC[0]] * 4 + [off_curve_g1()]),
        "one IC at infinity": key(ALPHA, BETA, GAMMA, DELTA, [IC[0]] * 4 + [G1_INF]),
        "gamma == delta": key(ALPHA, BETA, DELTA, DELTA, [IC[0]] * 5),
        "alpha off the curve": key(off_curve_g1(), BETA, GAMMA, DELTA, [IC[0]] * 5),
        "wrong count": key(ALPHA, BETA, GAMMA, DELTA, [IC[0]] * 4),
        "count says more than it carries": STEP_VK[:HEADER - 8] + (6).to_bytes(8, "little") + STEP_VK[HEADER:],
    }
    for what, vk in bad_keys.items():
        with pytest.raises(ProtocolError) as e:
            create(ledger, vk)
        assert e.value.name == "EInvalidVerifyingKey", what
    assert not ledger.tasks()
    ref = create(ledger, STEP_VK)
    assert ledger.task(ref.task_id).prepared_vk is not None
