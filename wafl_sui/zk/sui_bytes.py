"""Groth16 (BN254) bytes exactly as Sui's `sui::groth16` takes them, and a verifier of those bytes.

Encoding (arkworks canonical compressed, what fastcrypto deserializes):
  Fq            32 bytes little-endian
  G1            x (32 LE); flags in the top two bits of the last byte:
                0x80 = y is the larger of (y, -y), 0x40 = point at infinity (x = 0)
  G2            x.c0 || x.c1 (64), flags in the last byte; Fq2 order compares c1, then c0
  vk            alpha_g1 || beta_g2 || gamma_g2 || delta_g2 || u64_le(len(IC)) || IC[0..]
  proof         A (G1) || B (G2) || C (G1)                      128 bytes
  public inputs each scalar 32 bytes LE, canonical (< r), in the circuit's public order
                (protocol.public_inputs_bytes)
  prepared vk   (pvk_to_bytes order) vk_gamma_abc_g1 = IC points concatenated,
                alpha_g1_beta_g2 = e(alpha, beta) as Fq12 (384 bytes), -gamma, -delta (G2)

`prepare_verifying_key` and `verify_groth16_proof` mirror the Move calls of the same names; the
pairing arithmetic is py_ecc's. tests/test_sui_groth16.py checks both against the vectors that
Sui's own natives accept and reject.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import py_ecc.optimized_bn128 as bn
from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128.optimized_pairing import cast_point_to_fq12, miller_loop

from wafl_sui.errors import WaflError
from wafl_sui.protocol.codec import MAX_PUBLIC_INPUTS, PROOF_BYTES  # Sui's limit; A || B || C

Q = bn.field_modulus  # base field
R = bn.curve_order  # scalar field
Y_IS_NEGATIVE = 0x80
INFINITY = 0x40

# arkworks' BN254 final exponentiation (Fuentes-Castaneda et al.) yields py_ecc's pairing value
# raised to 2x(6x^2+3x+1), x the BN parameter; Sui's alpha_g1_beta_g2 bytes are arkworks values.
BN_X = 4965661367192848881
ARKWORKS_GT_EXPONENT = 2 * BN_X * (6 * BN_X * BN_X + 3 * BN_X + 1)


class SuiBytesError(WaflError, ValueError):
    """Bytes that Sui's groth16 functions would reject; the message says which part and why."""


class ProofRejected(WaflError, ValueError):
    """Well-formed bytes, but the pairing check fails: not a proof for these inputs and key."""


# --------------------------------------------------------------------------- field helpers
def _le(v: int, n: int = 32) -> bytearray:
    return bytearray(int(v).to_bytes(n, "little"))


def _fp_is_neg(y: int) -> bool:
    return y > (Q - y) % Q


def _fp2_is_neg(c0: int, c1: int) -> bool:
    n1 = (Q - c1) % Q
    if c1 != n1:
        return c1 > n1
    return c0 > (Q - c0) % Q


def _fq_from(b: bytes, what: str) -> int:
    v = int.from_bytes(b, "little")
    if v >= Q:
        raise SuiBytesError(f"{what}: coordinate is not a canonical field element (>= q)")
    return v


def _sqrt_fp(a: int) -> int | None:
    s = pow(a, (Q + 1) // 4, Q)
    return s if s * s % Q == a % Q else None


def _sqrt_fp2(a: FQ2) -> FQ2 | None:
    # Q = 3 mod 4: algorithm 9 of eprint 2012/685
    a1 = a ** ((Q - 3) // 4)
    alpha = a1 * a1 * a
    x0 = a1 * a
    if alpha == FQ2([Q - 1, 0]):
        cand = FQ2([0, 1]) * x0
    else:
        cand = (alpha + FQ2([1, 0])) ** ((Q - 1) // 2) * x0
    return cand if cand * cand == a else None


# --------------------------------------------------------------------------- points <-> bytes
def g1_to_bytes(p) -> bytes:
    if bn.is_inf(p):
        out = _le(0)
        out[31] |= INFINITY
        return bytes(out)
    x, y = (int(c.n) for c in bn.normalize(p))
    out = _le(x)
    if _fp_is_neg(y):
        out[31] |= Y_IS_NEGATIVE
    return bytes(out)


def g2_to_bytes(p) -> bytes:
    if bn.is_inf(p):
        out = _le(0, 64)
        out[63] |= INFINITY
        return bytes(out)
    x, y = bn.normalize(p)
    out = _le(int(x.coeffs[0])) + _le(int(x.coeffs[1]))
    y0, y1 = (int(c) for c in y.coeffs)
    if _fp2_is_neg(y0, y1):
        out[63] |= Y_IS_NEGATIVE
    return bytes(out)


def g1_from_bytes(b: bytes, what: str = "G1 point"):
    if len(b) != 32:
        raise SuiBytesError(f"{what}: a compressed G1 point has 32 bytes, got {len(b)}")
    flags = b[31] & 0xC0
    body = bytes(b[:31]) + bytes([b[31] & 0x3F])
    if flags == Y_IS_NEGATIVE | INFINITY:
        raise SuiBytesError(f"{what}: both the infinity and the sign flag are set")
    if flags & INFINITY:
        if any(body):
            raise SuiBytesError(f"{what}: infinity flag set but x is not zero")
        return bn.Z1
    x = _fq_from(body, what)
    y = _sqrt_fp((x * x * x + 3) % Q)
    if y is None:
        raise SuiBytesError(f"{what}: x is not the x-coordinate of a point on BN254 G1")
    if _fp_is_neg(y) != bool(flags & Y_IS_NEGATIVE):
        y = Q - y
    return (FQ(x), FQ(y), FQ.one())


def g2_from_bytes(b: bytes, what: str = "G2 point"):
    if len(b) != 64:
        raise SuiBytesError(f"{what}: a compressed G2 point has 64 bytes, got {len(b)}")
    flags = b[63] & 0xC0
    c1_body = bytes(b[32:63]) + bytes([b[63] & 0x3F])
    if flags == Y_IS_NEGATIVE | INFINITY:
        raise SuiBytesError(f"{what}: both the infinity and the sign flag are set")
    if flags & INFINITY:
        if any(b[:32]) or any(c1_body):
            raise SuiBytesError(f"{what}: infinity flag set but x is not zero")
        return bn.Z2
    x = FQ2([_fq_from(b[:32], what), _fq_from(c1_body, what)])
    y = _sqrt_fp2(x * x * x + bn.b2)
    if y is None:
        raise SuiBytesError(f"{what}: x is not the x-coordinate of a point on the BN254 G2 twist")
    y0, y1 = (int(c) for c in y.coeffs)
    if _fp2_is_neg(y0, y1) != bool(flags & Y_IS_NEGATIVE):
        y = -y
    p = (x, y, FQ2.one())
    if not bn.is_inf(bn.multiply(p, R)):
        raise SuiBytesError(f"{what}: point is not in the prime-order subgroup of G2")
    return p


# --------------------------------------------------------------------------- GT (Fq12) bytes
# arkworks: Fq12 = Fq6[w]/(w^2 - v), Fq6 = Fq2[v]/(v^3 - (9+u)), Fq2 = Fq[u]/(u^2 + 1);
# py_ecc: Fq12 = Fq[w]/(w^12 - 18 w^6 + 82) with the same w, and u = w^6 - 9.
# arkworks element sum_{i<2, j<3} (x_ij + y_ij u) v^j w^i has, in py_ecc's basis, coefficient
# x_ij - 9 y_ij at w^(2j+i) and y_ij at w^(2j+i+6); serialization order is i, then j, then (x, y).
def gt_to_bytes(f: FQ12) -> bytes:
    c = [int(v) % Q for v in f.coeffs]
    out = b""
    for i in range(2):
        for j in range(3):
            k = 2 * j + i
            y = c[k + 6]
            x = (c[k] + 9 * y) % Q
            out += bytes(_le(x)) + bytes(_le(y))
    return out


def gt_from_bytes(b: bytes, what: str = "GT element") -> FQ12:
    if len(b) != 384:
        raise SuiBytesError(f"{what}: an Fq12 element has 384 bytes, got {len(b)}")
    coeffs = [0] * 12
    pos = 0
    for i in range(2):
        for j in range(3):
            x = _fq_from(b[pos : pos + 32], what)
            y = _fq_from(b[pos + 32 : pos + 64], what)
            pos += 64
            k = 2 * j + i
            coeffs[k] = (x - 9 * y) % Q
            coeffs[k + 6] = y
    return FQ12(coeffs)


# --------------------------------------------------------------------------- snarkjs JSON -> bytes
def _g1_json(pt, what: str):
    x, y, z = (int(v) for v in pt)
    if z == 0:
        return bn.Z1
    if z != 1:
        raise SuiBytesError(f"{what}: expected an affine point (z = 1)")
    p = (FQ(x), FQ(y), FQ.one())
    if not bn.is_on_curve(p, bn.b):
        raise SuiBytesError(f"{what}: not on the BN254 curve")
    return p


def _g2_json(pt, what: str):
    (x0, x1), (y0, y1), (z0, z1) = ((int(a), int(b)) for a, b in pt)
    if (z0, z1) == (0, 0):
        return bn.Z2
    if (z0, z1) != (1, 0):
        raise SuiBytesError(f"{what}: expected an affine point (z = 1)")
    p = (FQ2([x0, x1]), FQ2([y0, y1]), FQ2.one())
    if not bn.is_on_curve(p, bn.b2):
        raise SuiBytesError(f"{what}: not on the BN254 G2 twist")
    return p


def vk_bytes_from_snarkjs(vk: dict) -> bytes:
    """snarkjs verification_key.json (groth16, bn128) -> the bytes `prepare_verifying_key` takes."""
    if vk.get("protocol") != "groth16" or vk.get("curve") not in ("bn128", "bn254"):
        raise SuiBytesError("verification key: expected a snarkjs groth16 key on bn128")
    ic = vk["IC"]
    if len(ic) != int(vk["nPublic"]) + 1:
        raise SuiBytesError("verification key: IC must have nPublic + 1 points")
    if int(vk["nPublic"]) > MAX_PUBLIC_INPUTS:
        raise SuiBytesError(f"verification key: Sui allows at most {MAX_PUBLIC_INPUTS} public inputs")
    return (
        g1_to_bytes(_g1_json(vk["vk_alpha_1"], "vk alpha"))
        + g2_to_bytes(_g2_json(vk["vk_beta_2"], "vk beta"))
        + g2_to_bytes(_g2_json(vk["vk_gamma_2"], "vk gamma"))
        + g2_to_bytes(_g2_json(vk["vk_delta_2"], "vk delta"))
        + struct.pack("<Q", len(ic))
        + b"".join(g1_to_bytes(_g1_json(p, f"vk IC[{i}]")) for i, p in enumerate(ic))
    )


def proof_bytes_from_snarkjs(proof: dict) -> bytes:
    return (
        g1_to_bytes(_g1_json(proof["pi_a"], "proof A"))
        + g2_to_bytes(_g2_json(proof["pi_b"], "proof B"))
        + g1_to_bytes(_g1_json(proof["pi_c"], "proof C"))
    )



# --------------------------------------------------------------------------- prepare + verify
@dataclass(frozen=True)
class PreparedVerifyingKey:
    vk_gamma_abc_g1: bytes
    alpha_g1_beta_g2: bytes
    gamma_g2_neg_pc: bytes
    delta_g2_neg_pc: bytes

    def parts(self) -> list[bytes]:
        """The four byte strings in `groth16::pvk_to_bytes` order."""
        return [self.vk_gamma_abc_g1, self.alpha_g1_beta_g2, self.gamma_g2_neg_pc, self.delta_g2_neg_pc]


def _pairing_product(pairs) -> FQ12:
    """prod e(g1, g2), as arkworks (and so Sui) computes it."""
    acc = FQ12.one()
    for g1, g2 in pairs:
        if bn.is_inf(g1) or bn.is_inf(g2):
            continue
        acc = acc * miller_loop(bn.twist(g2), cast_point_to_fq12(g1), final_exponentiate=False)
    return bn.final_exponentiate(acc) ** ARKWORKS_GT_EXPONENT


def prepare_verifying_key(vk: bytes) -> PreparedVerifyingKey:
    """Like `groth16::prepare_verifying_key(&bn254(), &vk)`; raises SuiBytesError where Sui aborts."""
    vk = bytes(vk)
    if len(vk) < 32 + 3 * 64 + 8:
        raise SuiBytesError(f"verification key: too short ({len(vk)} bytes)")
    alpha = g1_from_bytes(vk[0:32], "vk alpha")
    beta = g2_from_bytes(vk[32:96], "vk beta")
    gamma = g2_from_bytes(vk[96:160], "vk gamma")
    delta = g2_from_bytes(vk[160:224], "vk delta")
    (n,) = struct.unpack("<Q", vk[224:232])
    ic_bytes = vk[232:]
    if n < 1 or len(ic_bytes) != 32 * n:
        raise SuiBytesError(f"verification key: says {n} IC points but carries {len(ic_bytes)} bytes")
    for i in range(n):
        g1_from_bytes(ic_bytes[32 * i : 32 * i + 32], f"vk IC[{i}]")
    return PreparedVerifyingKey(
        vk_gamma_abc_g1=ic_bytes,
        alpha_g1_beta_g2=gt_to_bytes(_pairing_product([(alpha, beta)])),
        gamma_g2_neg_pc=g2_to_bytes(bn.neg(gamma)),
        delta_g2_neg_pc=g2_to_bytes(bn.neg(delta)),
    )


def check_groth16_proof(pvk: PreparedVerifyingKey, public_inputs: bytes, proof: bytes) -> None:
    """Return None iff the proof verifies; SuiBytesError for malformed bytes, else ProofRejected."""
    ic_raw = pvk.vk_gamma_abc_g1
    if len(ic_raw) == 0 or len(ic_raw) % 32:
        raise SuiBytesError("prepared key: vk_gamma_abc_g1 must be a non-empty multiple of 32 bytes")
    ic = [g1_from_bytes(ic_raw[i : i + 32], f"vk IC[{i // 32}]") for i in range(0, len(ic_raw), 32)]
    alpha_beta = gt_from_bytes(pvk.alpha_g1_beta_g2, "prepared alpha_g1_beta_g2")
    gamma_neg = g2_from_bytes(pvk.gamma_g2_neg_pc, "prepared -gamma")
    delta_neg = g2_from_bytes(pvk.delta_g2_neg_pc, "prepared -delta")
    if len(public_inputs) % 32 or len(public_inputs) > 32 * MAX_PUBLIC_INPUTS:
        raise SuiBytesError(
            f"public inputs: {len(public_inputs)} bytes; expected 32 bytes per input, at most {MAX_PUBLIC_INPUTS}"
        )
    scalars = [int.from_bytes(public_inputs[i : i + 32], "little") for i in range(0, len(public_inputs), 32)]
    for i, s in enumerate(scalars):
        if s >= R:
            raise SuiBytesError(f"public input {i} is not a canonical scalar (>= r)")
    if len(scalars) + 1 != len(ic):
        raise SuiBytesError(
            f"public inputs: the key expects {len(ic) - 1} inputs, got {len(scalars)}"
        )
    if len(proof) != PROOF_BYTES:
        raise SuiBytesError(f"proof: expected {PROOF_BYTES} bytes (A || B || C), got {len(proof)}")
    a = g1_from_bytes(proof[0:32], "proof A")
    b = g2_from_bytes(proof[32:96], "proof B")
    c = g1_from_bytes(proof[96:128], "proof C")
    vk_x = ic[0]
    for s, p in zip(scalars, ic[1:]):
        vk_x = bn.add(vk_x, bn.multiply(p, s))
    # e(A, B) * e(vk_x, -gamma) * e(C, -delta) == e(alpha, beta)
    if _pairing_product([(a, b), (vk_x, gamma_neg), (c, delta_neg)]) != alpha_beta:
        raise ProofRejected("the proof does not verify against this key and these public inputs")


def verify_groth16_proof(pvk: PreparedVerifyingKey, public_inputs: bytes, proof: bytes) -> bool:
    """Like `groth16::verify_groth16_proof`: True iff valid; malformed bytes give False."""
    try:
        check_groth16_proof(pvk, public_inputs, proof)
    except ValueError:
        return False
    return True


def verify_raw(vk: bytes, public_inputs: bytes, proof: bytes) -> bool:
    """prepare + verify in one call (what the contract does with its stored prepared key)."""
    try:
        pvk = prepare_verifying_key(vk)
    except SuiBytesError:
        return False
    return verify_groth16_proof(pvk, public_inputs, proof)
