"""Our Sui byte encoding and byte-level verifier against the vectors Sui's own natives produce."""

import json
from pathlib import Path

import py_ecc.optimized_bn128 as bn
import pytest

from wafl_sui.zk import sui_bytes as g

VEC = json.loads((Path(__file__).parent / "data" / "sui_groth16_bn254.json").read_text())
PREP = VEC["prepare_verifying_key_bn254"]
VER = VEC["verify_bn254"]


def _pvk(**override) -> g.PreparedVerifyingKey:
    parts = {k: bytes.fromhex(VER[k]) for k in ("vk_gamma_abc_g1", "alpha_g1_beta_g2", "gamma_g2_neg_pc", "delta_g2_neg_pc")}
    parts.update(override)
    return g.PreparedVerifyingKey(**parts)


def test_prepare_verifying_key_matches_sui():
    pvk = g.prepare_verifying_key(bytes.fromhex(PREP["vk"]))
    assert pvk.vk_gamma_abc_g1.hex() == PREP["expected_vk_gamma_abc_g1"]
    assert pvk.alpha_g1_beta_g2.hex() == PREP["expected_alpha_g1_beta_g2"]
    assert pvk.gamma_g2_neg_pc.hex() == PREP["expected_gamma_g2_neg_pc"]
    assert pvk.delta_g2_neg_pc.hex() == PREP["expected_delta_g2_neg_pc"]


def test_sui_valid_vector_verifies():
    assert g.verify_groth16_proof(_pvk(), bytes.fromhex(VER["public_inputs"]), bytes.fromhex(VER["proof"]))


def test_sui_invalid_vectors_rejected():
    inputs, proof = bytes.fromhex(VER["public_inputs"]), bytes.fromhex(VER["proof"])
    # Sui: dropping the last byte of vk_gamma_abc_g1 makes it false
    assert not g.verify_groth16_proof(_pvk(vk_gamma_abc_g1=bytes.fromhex(VER["vk_gamma_abc_g1"])[:-1]), inputs, proof)
    # Sui: proof bytes 0x4a make it false
    assert not g.verify_groth16_proof(_pvk(), inputs, bytes.fromhex("4a"))
    # a different public input
    tampered = bytearray(inputs)
    tampered[0] ^= 1
    assert not g.verify_groth16_proof(_pvk(), bytes(tampered), proof)


def test_malformed_bytes_give_clear_errors():
    inputs, proof = bytes.fromhex(VER["public_inputs"]), bytes.fromhex(VER["proof"])
    with pytest.raises(g.SuiBytesError, match="proof: expected 128 bytes"):
        g.check_groth16_proof(_pvk(), inputs, proof[:-1])
    with pytest.raises(g.SuiBytesError, match="not a canonical scalar"):
        g.check_groth16_proof(_pvk(), (g.R).to_bytes(32, "little"), proof)
    with pytest.raises(g.SuiBytesError, match="expects 1 inputs, got 2"):
        g.check_groth16_proof(_pvk(), inputs * 2, proof)
    bad_point = bytearray(proof)
    x = next(x for x in range(2, 100) if g._sqrt_fp(x**3 + 3) is None)  # not on the curve
    bad_point[0:32] = x.to_bytes(32, "little")
    with pytest.raises(g.SuiBytesError, match="proof A"):
        g.check_groth16_proof(_pvk(), inputs, bytes(bad_point))
    with pytest.raises(g.SuiBytesError, match="verification key: too short"):
        g.prepare_verifying_key(b"\x00" * 10)
    with pytest.raises(g.SuiBytesError, match="384 bytes"):
        g.check_groth16_proof(_pvk(alpha_g1_beta_g2=b"\x01" * 10), inputs, proof)


def test_point_encoding_round_trips_and_flags():
    for k in (1, 2, 7, 123456789, g.R - 1):
        p1 = bn.multiply(bn.G1, k)
        p2 = bn.multiply(bn.G2, k)
        assert bn.eq(g.g1_from_bytes(g.g1_to_bytes(p1)), p1)
        assert bn.eq(g.g2_from_bytes(g.g2_to_bytes(p2)), p2)
        # negation flips exactly the sign flag
        assert g.g1_to_bytes(bn.neg(p1))[31] ^ g.g1_to_bytes(p1)[31] == g.Y_IS_NEGATIVE
        assert g.g2_to_bytes(bn.neg(p2))[63] ^ g.g2_to_bytes(p2)[63] == g.Y_IS_NEGATIVE
    assert g.g1_to_bytes(bn.Z1) == b"\x00" * 31 + b"\x40"
    assert bn.is_inf(g.g2_from_bytes(g.g2_to_bytes(bn.Z2)))


def test_g2_subgroup_check():
    # a point on the twist outside the r-torsion: find x with a square rhs and cofactor != 1
    from py_ecc.fields import optimized_bn128_FQ2 as FQ2
    for x0 in range(1, 50):
        x = FQ2([x0, 1])
        y = g._sqrt_fp2(x * x * x + bn.b2)
        if y is not None:
            p = (x, y, FQ2.one())
            if not bn.is_inf(bn.multiply(p, g.R)):
                with pytest.raises(g.SuiBytesError, match="subgroup"):
                    g.g2_from_bytes(g.g2_to_bytes(p))
                return
    pytest.fail("no off-subgroup point found")


def test_gt_bytes_round_trip():
    raw = bytes.fromhex(PREP["expected_alpha_g1_beta_g2"])
    assert g.gt_to_bytes(g.gt_from_bytes(raw)) == raw
