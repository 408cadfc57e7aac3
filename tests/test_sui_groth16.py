"""Our Sui byte encoding and both byte-level verifiers (the py_ecc reference and the fast one)
against the vectors Sui's own natives produce, against each other on malformed bytes, and on
synthetic keys whose trapdoor we know (so that proofs with points at infinity can be valid)."""

import json
import random
import statistics
import time
from pathlib import Path

import py_ecc.optimized_bn128 as bn
import pytest
from py_ecc.fields import optimized_bn128_FQ2 as FQ2

from wafl_sui.protocol.codec import G1_BYTES, G2_BYTES, GT_BYTES, PROOF_BYTES
from wafl_sui.zk import bn254
from wafl_sui.zk import sui_bytes as g

VEC = json.loads((Path(__file__).parent / "data" / "sui_groth16_bn254.json").read_text())
PREP = VEC["prepare_verifying_key_bn254"]
VER = VEC["verify_bn254"]
R = g.R


def _pvk(**override) -> g.PreparedVerifyingKey:
    parts = {k: bytes.fromhex(VER[k]) for k in ("vk_gamma_abc_g1", "alpha_g1_beta_g2", "gamma_g2_neg_pc", "delta_g2_neg_pc")}
    parts.update(override)
    return g.PreparedVerifyingKey(**parts)


def both(pvk, inputs, proof) -> bool:
    """The reference and the fast verifier (cached per key); they must agree."""
    ref = g.verify_groth16_proof(pvk, inputs, proof)
    fast = g.fast_verifier(pvk).verify(inputs, proof)
    assert ref == fast, (ref, fast)
    return ref


def scalars_bytes(values) -> bytes:
    return b"".join(int(v).to_bytes(32, "little") for v in values)


# --------------------------------------------------------------------------- Sui's vectors
def test_prepare_verifying_key_matches_sui():
    pvk = g.prepare_verifying_key(bytes.fromhex(PREP["vk"]))
    assert pvk.vk_gamma_abc_g1.hex() == PREP["expected_vk_gamma_abc_g1"]
    assert pvk.alpha_g1_beta_g2.hex() == PREP["expected_alpha_g1_beta_g2"]
    assert pvk.gamma_g2_neg_pc.hex() == PREP["expected_gamma_g2_neg_pc"]
    assert pvk.delta_g2_neg_pc.hex() == PREP["expected_delta_g2_neg_pc"]
    # the fast verifier takes Sui's own e(alpha, beta) bytes as consistent with the kept alpha, beta
    fv = g.FastVerifier(pvk)
    assert fv.fast, fv.slow_reason
    # alpha / beta are extra: equality (and a Sui contract) see the four parts only
    assert pvk == g.PreparedVerifyingKey(*pvk.parts())
    assert g.PreparedVerifyingKey.from_dict(pvk.to_dict()).alpha_g1 == pvk.alpha_g1


def test_sui_valid_vector_verifies():
    inputs, proof = bytes.fromhex(VER["public_inputs"]), bytes.fromhex(VER["proof"])
    assert both(_pvk(), inputs, proof)
    assert g.verify_prepared(_pvk(), inputs, proof)
    # Sui's four parts alone carry no alpha / beta: the fast verifier answers with the reference
    assert not g.FastVerifier(_pvk()).fast and "alpha_g1" in g.FastVerifier(_pvk()).slow_reason


def test_sui_invalid_vectors_rejected():
    inputs, proof = bytes.fromhex(VER["public_inputs"]), bytes.fromhex(VER["proof"])
    # Sui: dropping the last byte of vk_gamma_abc_g1 makes it false
    assert not both(_pvk(vk_gamma_abc_g1=bytes.fromhex(VER["vk_gamma_abc_g1"])[:-1]), inputs, proof)
    # Sui: public input bytes 0xcf make it false
    assert not both(_pvk(), bytes.fromhex("cf"), proof)
    # Sui: proof bytes 0x4a make it false
    assert not both(_pvk(), inputs, bytes.fromhex("4a"))
    # Sui: 9 inputs abort with ETooManyPublicInputs (not false)
    for verify in (g.verify_groth16_proof, g.verify_prepared, lambda *a: g.FastVerifier(a[0]).verify(*a[1:])):
        with pytest.raises(g.SuiAbort, match="ETooManyPublicInputs") as e:
            verify(_pvk(), inputs * 9, proof)
        assert e.value.code == "ETooManyPublicInputs"
    # and an empty raw vk aborts prepare (EInvalidVerifyingKey)
    with pytest.raises(g.SuiBytesError):
        g.prepare_verifying_key(b"")
    with pytest.raises(g.SuiBytesError):
        g.FastVerifier.from_vk(b"")


def test_a_longer_proof_is_read_as_its_first_128_bytes(synth):
    """Sui's reader takes A || B || C from the front and ignores what follows (the WaFL contract
    rejects any proof that is not exactly 128 bytes before it gets there)."""
    inputs, proof = bytes.fromhex(VER["public_inputs"]), bytes.fromhex(VER["proof"])
    assert len(proof) == PROOF_BYTES
    assert g.verify_groth16_proof(_pvk(), inputs, proof + b"\x00")
    assert not g.verify_groth16_proof(_pvk(), inputs, proof[:-1])
    # the same reader rule for the prepared key's fixed-size parts
    longer = _pvk(alpha_g1_beta_g2=bytes.fromhex(VER["alpha_g1_beta_g2"]) + b"\x01",
                  gamma_g2_neg_pc=bytes.fromhex(VER["gamma_g2_neg_pc"]) + b"\x02")
    assert g.verify_groth16_proof(longer, inputs, proof)
    # and the fast verifier (a real proof of our synthetic key)
    ib, sp = scalars_bytes([1, 2]), synth.proof([1, 2])
    fv = g.fast_verifier(synth.pvk)
    assert fv.fast
    for tail in (b"\x00", b"\xff" * 7, sp, bytes(1000)):
        assert fv.verify(ib, sp + tail)
        assert g.verify_raw(synth.vk, ib, sp + tail)
    assert g.verify_groth16_proof(synth.pvk, ib, sp + b"\xff" * 7)
    assert not fv.verify(ib, sp[:-1])
    assert not fv.verify(scalars_bytes([1, 3]), sp + b"\x00")


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
    with pytest.raises(g.SuiBytesError, match="proof A"):
        g.FastVerifier(_pvk()).check(inputs, bytes(bad_point))
    with pytest.raises(g.SuiBytesError, match="verification key: too short"):
        g.prepare_verifying_key(b"\x00" * 10)
    with pytest.raises(g.SuiBytesError, match="384 bytes"):
        g.check_groth16_proof(_pvk(alpha_g1_beta_g2=b"\x01" * 10), inputs, proof)
    with pytest.raises(g.SuiBytesError, match="vk_gamma_abc_g1"):
        g.FastVerifier(_pvk(vk_gamma_abc_g1=b"\x01" * 33)).check(inputs, proof)


# --------------------------------------------------------------------------- points and flags
def test_point_encoding_round_trips_and_flags():
    for k in (1, 2, 7, 123456789, g.R - 1):
        p1 = bn.multiply(bn.G1, k)
        p2 = bn.multiply(bn.G2, k)
        assert bn.eq(g.g1_from_bytes(g.g1_to_bytes(p1)), p1)
        assert bn.eq(g.g2_from_bytes(g.g2_to_bytes(p2)), p2)
        assert g.g1_to_bytes(g.decode_g1(g.g1_to_bytes(p1))) == g.g1_to_bytes(p1)
        assert g.g2_to_bytes(g.decode_g2(g.g2_to_bytes(p2))) == g.g2_to_bytes(p2)
        # negation flips exactly the sign flag
        assert g.g1_to_bytes(bn.neg(p1))[31] ^ g.g1_to_bytes(p1)[31] == g.Y_IS_NEGATIVE
        assert g.g2_to_bytes(bn.neg(p2))[63] ^ g.g2_to_bytes(p2)[63] == g.Y_IS_NEGATIVE
    assert g.g1_to_bytes(bn.Z1) == b"\x00" * 31 + b"\x40"
    assert bn.is_inf(g.g2_from_bytes(g.g2_to_bytes(bn.Z2)))


def test_infinity_flag_discards_a_canonical_x():
    """arkworks: the infinity flag alone is the point at infinity whatever (canonical) x holds;
    both flags, or a non-canonical x, are rejected."""
    x = g.g1_to_bytes(bn.G1)
    inf_g1 = bytes(x[:31]) + bytes([(x[31] & 0x3F) | g.INFINITY])
    assert bn.is_inf(g.g1_from_bytes(inf_g1)) and g.decode_g1(inf_g1) is None
    y = g.g2_to_bytes(bn.G2)
    inf_g2 = bytes(y[:63]) + bytes([(y[63] & 0x3F) | g.INFINITY])
    assert bn.is_inf(g.g2_from_bytes(inf_g2)) and g.decode_g2(inf_g2) is None
    for dec in (g.g1_from_bytes, g.decode_g1):
        with pytest.raises(g.SuiBytesError, match="both the infinity and the sign flag"):
            dec(bytes(x[:31]) + bytes([x[31] | 0xC0]))
        with pytest.raises(g.SuiBytesError, match="canonical"):  # q itself, with the infinity flag
            q = bytearray(g.Q.to_bytes(32, "little"))
            q[31] |= g.INFINITY
            dec(bytes(q))
    for dec in (g.g2_from_bytes, g.decode_g2):
        with pytest.raises(g.SuiBytesError, match="both the infinity and the sign flag"):
            dec(bytes(y[:63]) + bytes([y[63] | 0xC0]))
        with pytest.raises(g.SuiBytesError, match="canonical"):  # c0 = q
            dec(g.Q.to_bytes(32, "little") + bytes(31) + b"\x40")


def _off_subgroup_g2():
    for x0 in range(1, 50):
        x = FQ2([x0, 1])
        y = g._sqrt_fp2(x * x * x + bn.b2)
        if y is not None:
            p = (x, y, FQ2.one())
            if not bn.is_inf(bn.multiply(p, g.R)):
                return p
    pytest.fail("no off-subgroup point found")


def test_g2_subgroup_check():
    p = _off_subgroup_g2()
    for dec in (g.g2_from_bytes, g.decode_g2):
        with pytest.raises(g.SuiBytesError, match="subgroup"):
            dec(g.g2_to_bytes(p))


def test_fast_decoders_agree_with_the_reference_on_random_bytes():
    rng = random.Random(7)
    cases = [rng.randbytes(32) for _ in range(60)] + [rng.randbytes(31) + bytes([rng.randrange(64)]) for _ in range(60)]
    for b in cases:
        _same(lambda: g.g1_from_bytes(b), lambda: g.decode_g1(b), g.g1_to_bytes)
    cases = [rng.randbytes(32) + rng.randbytes(31) + bytes([rng.randrange(64) | rng.choice((0, 0x80))])
             for _ in range(30)]
    cases += [g.g2_to_bytes(bn.multiply(bn.G2, rng.randrange(1, R))) for _ in range(3)]
    for b in cases:
        _same(lambda: g.g2_from_bytes(b), lambda: g.decode_g2(b), g.g2_to_bytes)


def _same(ref, fast, enc):
    try:
        r = enc(ref())
    except g.SuiBytesError as e:
        r = ("error", str(e))
    try:
        f = enc(fast())
    except g.SuiBytesError as e:
        f = ("error", str(e))
    assert r == f


def test_bn254_arithmetic():
    def ints(p):
        x, y = bn.normalize(p)
        return (int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1]))

    gen = ints(bn.G2)
    assert bn254.psi(gen) == ints(bn.multiply(bn.G2, bn254.Q % R))  # psi acts as [q] on G2
    assert bn254.g2_in_subgroup(ints(bn.multiply(bn.G2, 987654321)))
    rng = random.Random(3)
    tested = 0
    while tested < 8:
        p = bn254.g2_from_x((rng.randrange(bn254.Q), rng.randrange(bn254.Q)), rng.random() < 0.5)
        if p is None:
            continue
        pp = (FQ2(list(p[0])), FQ2(list(p[1])), FQ2.one())
        assert bn254.g2_in_subgroup(p) == bn.is_inf(bn.multiply(pp, R))
        cleared = bn.multiply(pp, 2 * bn254.Q - R)  # cofactor clearing lands in G2
        assert bn254.g2_in_subgroup(ints(cleared))
        tested += 1
    for _ in range(100):
        a = (rng.randrange(bn254.Q), rng.randrange(bn254.Q) if rng.random() < 0.7 else 0)
        s = bn254.fq2_sqrt(a)
        is_square = FQ2(list(a)) ** ((bn254.Q**2 - 1) // 2) == FQ2.one()
        assert (s is not None) == is_square
        if s is not None:
            assert bn254.fq2_sqr(s) == a


def test_gt_bytes_round_trip():
    raw = bytes.fromhex(PREP["expected_alpha_g1_beta_g2"])
    assert g.gt_to_bytes(g.gt_from_bytes(raw)) == raw


# --------------------------------------------------------------------------- synthetic keys
G1_ZERO = g.g1_to_bytes(bn.Z1)
G2_ZERO = g.g2_to_bytes(bn.Z2)


class Synthetic:
    """A Groth16 key with known trapdoor (alpha, beta, gamma, delta, IC as scalars), so proofs
    (A, B, C) = (a, b, c) * generators can be made for any inputs, with a, b, c free to be 0."""

    def __init__(self, n_inputs: int = 2, seed: int = 1):
        rng = self.rng = random.Random(seed)
        self.al, self.be, self.ga, self.de = (rng.randrange(1, R) for _ in range(4))
        self.ic = [rng.randrange(1, R) for _ in range(n_inputs + 1)]
        self.vk = (g.g1_to_bytes(bn.multiply(bn.G1, self.al)) + g.g2_to_bytes(bn.multiply(bn.G2, self.be))
                   + g.g2_to_bytes(bn.multiply(bn.G2, self.ga)) + g.g2_to_bytes(bn.multiply(bn.G2, self.de))
                   + len(self.ic).to_bytes(8, "little")
                   + b"".join(g.g1_to_bytes(bn.multiply(bn.G1, k)) for k in self.ic))
        self.pvk = g.prepare_verifying_key(self.vk)

    def x(self, inputs) -> int:
        return (self.ic[0] + sum(s * k for s, k in zip(inputs, self.ic[1:]))) % R

    def inputs_with_x(self, target: int) -> list[int]:
        """Inputs whose vk_x is target * G1 (the last input solves for it)."""
        head = [self.rng.randrange(R) for _ in range(len(self.ic) - 2)]
        rest = (target - self.ic[0] - sum(s * k for s, k in zip(head, self.ic[1:]))) % R
        return head + [rest * pow(self.ic[-1], -1, R) % R]

    def proof(self, inputs, a=None, b=None, c_zero=False) -> bytes:
        """e(A,B) e(X,-gamma) e(C,-delta) = e(alpha,beta)  <=>  ab - x gamma - c delta = alpha beta."""
        rng = self.rng
        rhs = (self.al * self.be + self.x(inputs) * self.ga) % R
        a = rng.randrange(1, R) if a is None else a
        if c_zero:  # ab = rhs
            b = rhs * pow(a, -1, R) % R
        b = rng.randrange(1, R) if b is None else b
        c = (a * b - rhs) * pow(self.de, -1, R) % R
        return (g.g1_to_bytes(bn.multiply(bn.G1, a)) + g.g2_to_bytes(bn.multiply(bn.G2, b))
                + g.g1_to_bytes(bn.multiply(bn.G1, c)))


@pytest.fixture(scope="module")
def synth():
    return Synthetic()


def _flip(b: bytes, i: int = 0) -> bytes:
    out = bytearray(b)
    out[i] ^= 1
    return bytes(out)


def test_fast_verifier_is_fast_and_agrees_on_a_synthetic_key(synth):
    fv = g.fast_verifier(synth.pvk)
    assert fv.fast, fv.slow_reason
    inputs = [5, 7]
    proof = synth.proof(inputs)
    ib = scalars_bytes(inputs)
    assert both(synth.pvk, ib, proof)
    assert not both(synth.pvk, scalars_bytes([5, 8]), proof)
    assert g.verify_raw(synth.vk, ib, proof) and g.verify_raw_reference(synth.vk, ib, proof)
    assert g.FastVerifier.from_vk(synth.vk).fast
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        assert g.verify_prepared(synth.pvk, ib, proof)
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 0.05, times


def _infinity_cases(synth):
    inputs = [11, 13]
    x_both = (-synth.al * synth.be) * pow(synth.ga, -1, R) % R  # alpha beta + x gamma = 0
    inp_both = synth.inputs_with_x(x_both)
    inp0 = synth.inputs_with_x(0)
    return {
        "A = O": (inputs, synth.proof(inputs, a=0), lambda p: p[:G1_BYTES] == G1_ZERO),
        "B = O": (inputs, synth.proof(inputs, b=0), lambda p: p[G1_BYTES:G1_BYTES + G2_BYTES] == G2_ZERO),
        "C = O": (inputs, synth.proof(inputs, c_zero=True), lambda p: p[G1_BYTES + G2_BYTES:] == G1_ZERO),
        "A = C = O": (inp_both, synth.proof(inp_both, a=0),
                      lambda p: p[:G1_BYTES] == G1_ZERO == p[G1_BYTES + G2_BYTES:]),
        "vk_x = O": (inp0, synth.proof(inp0), lambda p: True),
    }


def _other(inputs):
    return [(inputs[0] + 1) % R] + inputs[1:]


def test_points_at_infinity_in_valid_and_invalid_proofs(synth):
    """groth16py cannot take the point at infinity: the fast verifier rewrites the equation.
    Each case is a valid proof, then the same proof for other inputs (invalid)."""
    fv = g.fast_verifier(synth.pvk)
    for name, (inp, proof, has_inf) in _infinity_cases(synth).items():
        assert has_inf(proof), name
        assert fv.verify(scalars_bytes(inp), proof), name
        assert not fv.verify(scalars_bytes(_other(inp)), proof), name
    # the reference agrees (one valid case here; all of them in the slow test)
    inp, proof, _ = _infinity_cases(synth)["A = C = O"]
    assert g.verify_groth16_proof(synth.pvk, scalars_bytes(inp), proof)


@pytest.mark.slow
def test_points_at_infinity_reference_agrees(synth):
    for name, (inp, proof, _) in _infinity_cases(synth).items():
        assert both(synth.pvk, scalars_bytes(inp), proof), name
        assert not both(synth.pvk, scalars_bytes(_other(inp)), proof), name


def test_fast_and_reference_agree_on_malformed_bytes(synth):
    inputs = [3, 4]
    ib, proof = scalars_bytes(inputs), synth.proof(inputs)
    off_curve_x = next(x for x in range(2, 100) if g._sqrt_fp(x**3 + 3) is None).to_bytes(32, "little")
    off_sub = g.g2_to_bytes(_off_subgroup_g2())
    a, b, c = proof[:G1_BYTES], proof[G1_BYTES:G1_BYTES + G2_BYTES], proof[G1_BYTES + G2_BYTES:]
    q_bytes = g.Q.to_bytes(32, "little")
    bad_proofs = {
        "empty": b"", "short": proof[:-1], "A off curve": off_curve_x + b + c,
        "A non-canonical": q_bytes + b + c, "A both flags": a[:31] + bytes([a[31] | 0xC0]) + b + c,
        "B off subgroup": a + off_sub + c, "B non-canonical": a + q_bytes + b[32:] + c,
        "B arbitrary x": a + bytes(63) + b"\x01" + c, "C off curve": a + b + off_curve_x,
    }
    for name, p in bad_proofs.items():
        assert not both(synth.pvk, ib, p), name
    bad_inputs = {"31 bytes": ib[:-1], "33 bytes": ib + b"\x00", "r": scalars_bytes([R, 4]),
                  "2^256 - 1": b"\xff" * 32 + ib[32:], "too few": ib[:32], "too many": ib + ib[:32], "none": b""}
    for name, i in bad_inputs.items():
        assert not both(synth.pvk, i, proof), name
    pvk = synth.pvk
    bad_keys = {
        "IC cut": g.PreparedVerifyingKey(pvk.vk_gamma_abc_g1[:-1], *pvk.parts()[1:], alpha_g1=pvk.alpha_g1, beta_g2=pvk.beta_g2),
        "IC empty": g.PreparedVerifyingKey(b"", *pvk.parts()[1:], alpha_g1=pvk.alpha_g1, beta_g2=pvk.beta_g2),
        "IC off curve": g.PreparedVerifyingKey(off_curve_x + pvk.vk_gamma_abc_g1[32:], *pvk.parts()[1:],
                                               alpha_g1=pvk.alpha_g1, beta_g2=pvk.beta_g2),
        "GT short": g.PreparedVerifyingKey(pvk.vk_gamma_abc_g1, pvk.alpha_g1_beta_g2[:-1], *pvk.parts()[2:],
                                           alpha_g1=pvk.alpha_g1, beta_g2=pvk.beta_g2),
        "GT non-canonical": g.PreparedVerifyingKey(pvk.vk_gamma_abc_g1, q_bytes + pvk.alpha_g1_beta_g2[32:],
                                                   *pvk.parts()[2:], alpha_g1=pvk.alpha_g1, beta_g2=pvk.beta_g2),
        "-gamma off subgroup": g.PreparedVerifyingKey(*pvk.parts()[:2], off_sub, pvk.delta_g2_neg_pc,
                                                      alpha_g1=pvk.alpha_g1, beta_g2=pvk.beta_g2),
        "-delta short": g.PreparedVerifyingKey(*pvk.parts()[:3], pvk.delta_g2_neg_pc[:G2_BYTES - 1],
                                               alpha_g1=pvk.alpha_g1, beta_g2=pvk.beta_g2),
    }
    for name, k in bad_keys.items():
        assert not both(k, ib, proof), name
        assert g.FastVerifier(k).key_error, name


def test_decodable_but_wrong_bytes_agree(synth):
    """Bytes that decode but are not the proof: both verifiers run the pairing and say false."""
    inputs = [3, 4]
    ib, proof = scalars_bytes(inputs), synth.proof(inputs)
    a = proof[:G1_BYTES]
    assert not both(synth.pvk, ib, bytes([*a[:31], a[31] ^ g.Y_IS_NEGATIVE]) + proof[G1_BYTES:])  # -A
    assert not both(synth.pvk, ib, bytes([*a[:31], (a[31] & 0x3F) | g.INFINITY]) + proof[G1_BYTES:])  # A = O
    assert both(synth.pvk, ib, proof + b"trailing")


def test_inconsistent_alpha_beta_falls_back_to_the_reference(synth):
    pvk = synth.pvk
    wrong = g.PreparedVerifyingKey(*pvk.parts(), alpha_g1=g.g1_to_bytes(bn.G1), beta_g2=pvk.beta_g2)
    fv = g.FastVerifier(wrong)
    assert not fv.fast and "do not match" in fv.slow_reason
    proof = synth.proof([1, 2])
    assert fv.verify(scalars_bytes([1, 2]), proof)  # the reference answers, for the four parts


def test_prepare_reads_like_arkworks(synth):
    """The raw vk reader ignores bytes after the IC points; a count of 0 IC points prepares a key
    that no proof verifies against."""
    longer = g.prepare_verifying_key(synth.vk + b"\x00" * 5)
    assert longer == synth.pvk
    header = synth.vk[: len(synth.vk) - G1_BYTES * len(synth.ic) - 8]
    empty = g.prepare_verifying_key(header + (0).to_bytes(8, "little"))
    assert empty.vk_gamma_abc_g1 == b""
    assert not both(empty, b"", synth.proof([1, 2]))
    assert not g.verify_raw(header + (0).to_bytes(8, "little"), b"", synth.proof([1, 2]))
    with pytest.raises(g.SuiBytesError, match="IC points"):
        g.prepare_verifying_key(header + (5).to_bytes(8, "little"))


def test_layout_constants_come_from_the_codec():
    assert g.encoding.PROOF_BYTES == PROOF_BYTES and g.encoding.GT_BYTES == GT_BYTES and g.FQ_BYTES == G1_BYTES
    assert g.IC_COUNT_BYTES == 8 and g.MAX_PUBLIC_INPUT_BYTES == 8 * 32
