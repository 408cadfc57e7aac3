"""Sui's byte layout of BN254 points, GT elements, keys and proofs (see the package docstring)."""

from __future__ import annotations

import struct
from typing import Optional

import py_ecc.optimized_bn128 as bn
from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12

from wafl_sui.errors import WaflError
from wafl_sui.protocol import (
    G1_BYTES,
    G2_BYTES,
    GT_BYTES,
    MAX_PUBLIC_INPUTS,
    PROOF_BYTES,
    PUBLIC_INPUT_BYTES,
    VK_HEADER_BYTES,
)
from wafl_sui.zk import bn254

Q = bn.field_modulus  # base field
R = bn.curve_order  # scalar field
Y_IS_NEGATIVE = 0x80
INFINITY = 0x40
_FLAGS = Y_IS_NEGATIVE | INFINITY

# Derived from the codec layout (not new sizes): one Fq, the vk's IC count, offsets of A, B, C.
FQ_BYTES = G1_BYTES  # a compressed G1 point is one Fq (x) with the flags in its top bits
IC_COUNT_BYTES = VK_HEADER_BYTES - G1_BYTES - 3 * G2_BYTES  # u64 little-endian
MAX_PUBLIC_INPUT_BYTES = MAX_PUBLIC_INPUTS * PUBLIC_INPUT_BYTES
_PROOF_A = slice(0, G1_BYTES)
_PROOF_B = slice(G1_BYTES, G1_BYTES + G2_BYTES)
_PROOF_C = slice(G1_BYTES + G2_BYTES, PROOF_BYTES)

# arkworks' BN254 final exponentiation (Fuentes-Castaneda et al.) yields py_ecc's pairing value
# raised to 2x(6x^2+3x+1), x the BN parameter; Sui's alpha_g1_beta_g2 bytes are arkworks values.
BN_X = bn254.BN_X
ARKWORKS_GT_EXPONENT = 2 * BN_X * (6 * BN_X * BN_X + 3 * BN_X + 1)


class SuiBytesError(WaflError, ValueError):
    """Bytes that Sui's groth16 functions would reject; the message says which part and why."""


class ProofRejected(WaflError, ValueError):
    """Well-formed bytes, but the pairing check fails: not a proof for these inputs and key."""


class SuiAbort(WaflError, RuntimeError):
    """Where `sui::groth16` aborts the transaction instead of returning false (`code`: the
    Move error name, e.g. ETooManyPublicInputs)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


# --------------------------------------------------------------------------- field helpers
def _le(v: int, n: int = FQ_BYTES) -> bytearray:
    return bytearray(int(v).to_bytes(n, "little"))


def _fp_is_neg(y: int) -> bool:
    return bn254.fq_is_larger(y)


def _fp2_is_neg(c0: int, c1: int) -> bool:
    return bn254.fq2_is_larger((c0, c1))


def _fq_from(b: bytes, what: str) -> int:
    v = int.from_bytes(b, "little")
    if v >= Q:
        raise SuiBytesError(f"{what}: coordinate is not a canonical field element (>= q)")
    return v


def _take(buf: bytes, n: int, what: str) -> bytes:
    """What an arkworks reader takes: the first n bytes (the rest is ignored), or an error."""
    if len(buf) < n:
        raise SuiBytesError(f"{what}: expected {n} bytes, got {len(buf)}")
    return bytes(buf[:n])


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


# --------------------------------------------------------------------------- flags (one rule set)
def _g1_x(b: bytes, what: str) -> Optional[tuple[int, bool]]:
    """Parse a compressed G1 point's x and flags: None for infinity, else (x, y_is_larger)."""
    if len(b) != G1_BYTES:
        raise SuiBytesError(f"{what}: a compressed G1 point has {G1_BYTES} bytes, got {len(b)}")
    flags = b[-1] & _FLAGS
    x = _fq_from(bytes(b[:-1]) + bytes([b[-1] & ~_FLAGS & 0xFF]), what)
    if flags == _FLAGS:
        raise SuiBytesError(f"{what}: both the infinity and the sign flag are set")
    if flags & INFINITY:  # arkworks: the point at infinity, x (canonical) is discarded
        return None
    return x, bool(flags & Y_IS_NEGATIVE)


def _g2_x(b: bytes, what: str) -> Optional[tuple[tuple[int, int], bool]]:
    """Parse a compressed G2 point's x = (c0, c1) and flags: None for infinity, else (x, larger)."""
    if len(b) != G2_BYTES:
        raise SuiBytesError(f"{what}: a compressed G2 point has {G2_BYTES} bytes, got {len(b)}")
    flags = b[-1] & _FLAGS
    c0 = _fq_from(b[:FQ_BYTES], what)
    c1 = _fq_from(bytes(b[FQ_BYTES:-1]) + bytes([b[-1] & ~_FLAGS & 0xFF]), what)
    if flags == _FLAGS:
        raise SuiBytesError(f"{what}: both the infinity and the sign flag are set")
    if flags & INFINITY:
        return None
    return (c0, c1), bool(flags & Y_IS_NEGATIVE)


# --------------------------------------------------------------------------- points <-> bytes
def g1_to_bytes(p) -> bytes:
    """A py_ecc G1 point (or an int-affine tuple / None from `bn254`) -> compressed bytes."""
    p = _g1_affine(p)
    if p is None:
        out = _le(0)
        out[-1] |= INFINITY
        return bytes(out)
    x, y = p
    out = _le(x)
    if _fp_is_neg(y):
        out[-1] |= Y_IS_NEGATIVE
    return bytes(out)


def g2_to_bytes(p) -> bytes:
    """A py_ecc G2 point (or an int-affine tuple / None from `bn254`) -> compressed bytes."""
    p = _g2_affine(p)
    if p is None:
        out = _le(0, G2_BYTES)
        out[-1] |= INFINITY
        return bytes(out)
    (x0, x1), (y0, y1) = p
    out = _le(x0) + _le(x1)
    if _fp2_is_neg(y0, y1):
        out[-1] |= Y_IS_NEGATIVE
    return bytes(out)


def _g1_affine(p) -> Optional[tuple[int, int]]:
    if p is None:
        return None
    if len(p) == 3:  # py_ecc (x, y, z)
        if bn.is_inf(p):
            return None
        x, y = bn.normalize(p)
        return int(x.n), int(y.n)
    return int(p[0]), int(p[1])


def _g2_affine(p) -> Optional[tuple[tuple[int, int], tuple[int, int]]]:
    if p is None:
        return None
    if len(p) == 3:
        if bn.is_inf(p):
            return None
        x, y = bn.normalize(p)
        return (int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1]))
    return (int(p[0][0]), int(p[0][1])), (int(p[1][0]), int(p[1][1]))


# The reference decoders: py_ecc points, subgroup membership as [r]P == O.
def g1_from_bytes(b: bytes, what: str = "G1 point"):
    parsed = _g1_x(b, what)
    if parsed is None:
        return bn.Z1
    x, larger = parsed
    y = _sqrt_fp((x * x * x + 3) % Q)
    if y is None:
        raise SuiBytesError(f"{what}: x is not the x-coordinate of a point on BN254 G1")
    if _fp_is_neg(y) != larger:
        y = Q - y
    return (FQ(x), FQ(y), FQ.one())


def g2_from_bytes(b: bytes, what: str = "G2 point"):
    parsed = _g2_x(b, what)
    if parsed is None:
        return bn.Z2
    (c0, c1), larger = parsed
    x = FQ2([c0, c1])
    y = _sqrt_fp2(x * x * x + bn.b2)
    if y is None:
        raise SuiBytesError(f"{what}: x is not the x-coordinate of a point on the BN254 G2 twist")
    y0, y1 = (int(c) for c in y.coeffs)
    if _fp2_is_neg(y0, y1) != larger:
        y = -y
    p = (x, y, FQ2.one())
    if not bn.is_inf(bn.multiply(p, R)):
        raise SuiBytesError(f"{what}: point is not in the prime-order subgroup of G2")
    return p


# The fast decoders: int-affine tuples (None = infinity), subgroup test psi(P) == [6x^2]P.
def decode_g1(b: bytes, what: str = "G1 point") -> bn254.G1Point:
    parsed = _g1_x(b, what)
    if parsed is None:
        return None
    p = bn254.g1_from_x(*parsed)
    if p is None:
        raise SuiBytesError(f"{what}: x is not the x-coordinate of a point on BN254 G1")
    return p


def decode_g2(b: bytes, what: str = "G2 point") -> bn254.G2Point:
    parsed = _g2_x(b, what)
    if parsed is None:
        return None
    p = bn254.g2_from_x(*parsed)
    if p is None:
        raise SuiBytesError(f"{what}: x is not the x-coordinate of a point on the BN254 G2 twist")
    if not bn254.g2_in_subgroup(p):
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
    if len(b) != GT_BYTES:
        raise SuiBytesError(f"{what}: an Fq12 element has {GT_BYTES} bytes, got {len(b)}")
    coeffs = [0] * 12
    pos = 0
    for i in range(2):
        for j in range(3):
            x = _fq_from(b[pos : pos + FQ_BYTES], what)
            y = _fq_from(b[pos + FQ_BYTES : pos + 2 * FQ_BYTES], what)
            pos += 2 * FQ_BYTES
            k = 2 * j + i
            coeffs[k] = (x - 9 * y) % Q
            coeffs[k + 6] = y
    return FQ12(coeffs)


def _gt_check(b: bytes, what: str) -> None:
    """Sui's reader of an Fq12: GT_BYTES of canonical Fq elements (not checked to be in GT)."""
    for pos in range(0, GT_BYTES, FQ_BYTES):
        _fq_from(b[pos : pos + FQ_BYTES], what)


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
