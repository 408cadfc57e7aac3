"""Groth16 (BN254) bytes exactly as Sui's `sui::groth16` takes them, and two verifiers of them.

Encoding (arkworks canonical compressed, what fastcrypto deserializes; the sizes are the
`wafl_sui.protocol.codec` constants G1_BYTES, G2_BYTES, GT_BYTES, PROOF_BYTES, VK_HEADER_BYTES,
PUBLIC_INPUT_BYTES):
  Fq            32 bytes little-endian (a compressed G1 point is its x: FQ_BYTES = G1_BYTES)
  G1            x; flags in the top two bits of the last byte:
                0x80 = y is the larger of (y, -y), 0x40 = point at infinity
  G2            x.c0 || x.c1, flags in the last byte; Fq2 order compares c1, then c0
  vk            alpha_g1 || beta_g2 || gamma_g2 || delta_g2 || u64_le(len(IC)) || IC[0..]
  proof         A (G1) || B (G2) || C (G1)                              PROOF_BYTES
  public inputs each scalar 32 bytes LE, canonical (< r), in the circuit's public order
                (protocol.public_inputs_bytes)
  prepared vk   (pvk_to_bytes order) vk_gamma_abc_g1 = IC points concatenated,
                alpha_g1_beta_g2 = e(alpha, beta) as Fq12 (GT_BYTES), -gamma, -delta (G2)

What Sui does with other bytes (fastcrypto-zkp `bn254::api`, arkworks `deserialize_compressed`
readers, and the Move native), and so what both verifiers here do:
  * A reader takes the bytes it needs from the front and ignores the rest: a proof longer than
    PROOF_BYTES is read as its first PROOF_BYTES bytes (and verifies if those do); likewise
    alpha_g1_beta_g2 (first GT_BYTES), gamma_g2_neg_pc and delta_g2_neg_pc (first G2_BYTES), and
    a raw vk after its IC points. Shorter than needed: false (prepare: EInvalidVerifyingKey).
    (The WaFL contract itself rejects a proof that is not exactly PROOF_BYTES first.)
  * vk_gamma_abc_g1 and the public inputs are cut into exact 32-byte pieces: any other length
    is false. More than MAX_PUBLIC_INPUTS inputs (over 8 * 32 bytes) aborts the transaction
    (ETooManyPublicInputs): here `SuiAbort` is raised, not False returned.
  * Every field element must be canonical (< q; scalars < r). Both flags set: rejected. The
    infinity flag alone means the point at infinity whatever x holds (arkworks discards x,
    which must still be canonical). G2 points must be in the prime-order subgroup.
  * An input count that does not match the key (len(IC) - 1) is false.

Two verifiers give the same answers (tests/test_sui_groth16.py checks both against the vectors
that Sui's own natives accept and reject, and against each other on malformed bytes):
  * the reference: `prepare_verifying_key`, `check_groth16_proof`, `verify_groth16_proof`
    (mirroring the Move calls of the same names): py_ecc arithmetic, readable, ~1.3 s a proof;
  * the fast one for the local ledger: `FastVerifier(pvk)` / `verify_prepared(pvk, inputs,
    proof)`: our own decoding of the bytes (`bn254`, plain ints) and arkworks' pairing through
    groth16py, a few milliseconds a proof. groth16py verifies from alpha and beta, not from
    e(alpha, beta), and e(alpha, beta) cannot be inverted: so `prepare_verifying_key` also keeps
    the raw vk's alpha and beta in the PreparedVerifyingKey (`alpha_g1`, `beta_g2`; not part of
    what Sui stores, not compared), and FastVerifier checks once, on construction, that
    e(alpha, beta) equals the stored alpha_g1_beta_g2 (one py_ecc pairing, ~0.5 s per key).
    Without them (a key rebuilt from Sui's four parts alone), or for a key with a point at
    infinity, it answers with the reference (slow, same answers). Points at infinity in a proof
    stay fast: the equation is rewritten (FastVerifier._verifier).
"""

from __future__ import annotations

import json
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional

import py_ecc.optimized_bn128 as bn
from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128.optimized_pairing import cast_point_to_fq12, miller_loop

from wafl_sui.errors import WaflError
from wafl_sui.protocol.codec import (
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


# --------------------------------------------------------------------------- prepared key
@dataclass(frozen=True)
class PreparedVerifyingKey:
    """What `groth16::prepare_verifying_key` returns and a Sui contract stores (the first four
    fields, `parts()`), plus the raw vk's alpha and beta (compressed; empty when unknown) that
    the fast verifier needs. alpha_g1 and beta_g2 are not part of the key's identity: equality
    and hashing look at the four Sui parts only."""

    vk_gamma_abc_g1: bytes
    alpha_g1_beta_g2: bytes
    gamma_g2_neg_pc: bytes
    delta_g2_neg_pc: bytes
    alpha_g1: bytes = field(default=b"", compare=False, repr=False)
    beta_g2: bytes = field(default=b"", compare=False, repr=False)

    def parts(self) -> list[bytes]:
        """The four byte strings in `groth16::pvk_to_bytes` order."""
        return [self.vk_gamma_abc_g1, self.alpha_g1_beta_g2, self.gamma_g2_neg_pc, self.delta_g2_neg_pc]

    def to_dict(self) -> dict[str, str]:
        """Hex of every field (alpha_g1 / beta_g2 only when known): store this to keep the fast path."""
        d = {
            "vk_gamma_abc_g1": self.vk_gamma_abc_g1.hex(),
            "alpha_g1_beta_g2": self.alpha_g1_beta_g2.hex(),
            "gamma_g2_neg_pc": self.gamma_g2_neg_pc.hex(),
            "delta_g2_neg_pc": self.delta_g2_neg_pc.hex(),
        }
        if self.alpha_g1 and self.beta_g2:
            d["alpha_g1"], d["beta_g2"] = self.alpha_g1.hex(), self.beta_g2.hex()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PreparedVerifyingKey":
        """The inverse of to_dict (hex strings or bytes)."""
        def b(k: str) -> bytes:
            v = d.get(k, b"")
            return bytes.fromhex(v) if isinstance(v, str) else bytes(v)

        return cls(b("vk_gamma_abc_g1"), b("alpha_g1_beta_g2"), b("gamma_g2_neg_pc"),
                   b("delta_g2_neg_pc"), alpha_g1=b("alpha_g1"), beta_g2=b("beta_g2"))

    def _cache_key(self) -> tuple:
        return (*self.parts(), self.alpha_g1, self.beta_g2)


def _split_vk(vk: bytes) -> tuple[bytes, bytes, bytes, bytes, list[bytes]]:
    """arkworks' VerifyingKey reader: alpha, beta, gamma, delta, then a u64 count and that many
    IC points; bytes after them are ignored. Raises SuiBytesError where Sui aborts."""
    vk = bytes(vk)
    if len(vk) < VK_HEADER_BYTES:
        raise SuiBytesError(f"verification key: too short ({len(vk)} bytes; the header alone has {VK_HEADER_BYTES})")
    o = 0
    alpha, o = vk[o : o + G1_BYTES], o + G1_BYTES
    beta, o = vk[o : o + G2_BYTES], o + G2_BYTES
    gamma, o = vk[o : o + G2_BYTES], o + G2_BYTES
    delta, o = vk[o : o + G2_BYTES], o + G2_BYTES
    (n,) = struct.unpack("<Q", vk[o : o + IC_COUNT_BYTES])
    o += IC_COUNT_BYTES
    if len(vk) - o < G1_BYTES * n:
        raise SuiBytesError(f"verification key: says {n} IC points but carries {len(vk) - o} bytes")
    ic = [vk[o + G1_BYTES * i : o + G1_BYTES * (i + 1)] for i in range(n)]
    return alpha, beta, gamma, delta, ic


def _to_pyecc_g1(p: bn254.G1Point):
    return bn.Z1 if p is None else (FQ(p[0]), FQ(p[1]), FQ.one())


def _to_pyecc_g2(p: bn254.G2Point):
    return bn.Z2 if p is None else (FQ2(list(p[0])), FQ2(list(p[1])), FQ2.one())


def _pairing_product(pairs) -> FQ12:
    """prod e(g1, g2), as arkworks (and so Sui) computes it (py_ecc arithmetic)."""
    acc = FQ12.one()
    for g1, g2 in pairs:
        if bn.is_inf(g1) or bn.is_inf(g2):
            continue
        acc = acc * miller_loop(bn.twist(g2), cast_point_to_fq12(g1), final_exponentiate=False)
    return bn.final_exponentiate(acc) ** ARKWORKS_GT_EXPONENT


def prepare_verifying_key(vk: bytes) -> PreparedVerifyingKey:
    """Like `groth16::prepare_verifying_key(&bn254(), &vk)`; raises SuiBytesError where Sui aborts
    (EInvalidVerifyingKey). Also keeps alpha and beta (canonical bytes) for the fast verifier."""
    a_b, b_b, g_b, d_b, ic_b = _split_vk(vk)
    alpha = g1_from_bytes(a_b, "vk alpha")
    beta = g2_from_bytes(b_b, "vk beta")
    gamma = g2_from_bytes(g_b, "vk gamma")
    delta = g2_from_bytes(d_b, "vk delta")
    ic = [g1_from_bytes(p, f"vk IC[{i}]") for i, p in enumerate(ic_b)]
    return PreparedVerifyingKey(
        vk_gamma_abc_g1=b"".join(g1_to_bytes(p) for p in ic),
        alpha_g1_beta_g2=gt_to_bytes(_pairing_product([(alpha, beta)])),
        gamma_g2_neg_pc=g2_to_bytes(bn.neg(gamma)),
        delta_g2_neg_pc=g2_to_bytes(bn.neg(delta)),
        alpha_g1=g1_to_bytes(alpha),
        beta_g2=g2_to_bytes(beta),
    )


def _check_inputs_length(public_inputs: bytes) -> None:
    if len(public_inputs) > MAX_PUBLIC_INPUT_BYTES:
        raise SuiAbort("ETooManyPublicInputs",
                       f"{len(public_inputs)} bytes of public inputs; Sui allows at most {MAX_PUBLIC_INPUTS} "
                       f"inputs ({MAX_PUBLIC_INPUT_BYTES} bytes)")


def _scalars(public_inputs: bytes) -> list[int]:
    if len(public_inputs) % PUBLIC_INPUT_BYTES:
        raise SuiBytesError(f"public inputs: {len(public_inputs)} bytes; expected {PUBLIC_INPUT_BYTES} bytes per input")
    out = []
    for i in range(0, len(public_inputs), PUBLIC_INPUT_BYTES):
        s = int.from_bytes(public_inputs[i : i + PUBLIC_INPUT_BYTES], "little")
        if s >= R:
            raise SuiBytesError(f"public input {i // PUBLIC_INPUT_BYTES} is not a canonical scalar (>= r)")
        out.append(s)
    return out


def _ic_pieces(raw: bytes) -> list[bytes]:
    if len(raw) % G1_BYTES:
        raise SuiBytesError(f"prepared key: vk_gamma_abc_g1 has {len(raw)} bytes, not a multiple of {G1_BYTES}")
    return [raw[i : i + G1_BYTES] for i in range(0, len(raw), G1_BYTES)]


def _check_count(n_inputs: int, n_ic: int) -> None:
    if n_ic == 0:
        raise SuiBytesError("prepared key: vk_gamma_abc_g1 is empty (no proof verifies against it)")
    if n_inputs + 1 != n_ic:
        raise SuiBytesError(f"public inputs: the key expects {n_ic - 1} inputs, got {n_inputs}")


def _proof_head(proof: bytes) -> bytes:
    if len(proof) < PROOF_BYTES:
        raise SuiBytesError(f"proof: expected {PROOF_BYTES} bytes (A || B || C), got {len(proof)}")
    return bytes(proof[:PROOF_BYTES])  # Sui reads the first PROOF_BYTES bytes, ignores the rest


def check_groth16_proof(pvk: PreparedVerifyingKey, public_inputs: bytes, proof: bytes) -> None:
    """The reference (py_ecc) check. Returns None iff the proof verifies; SuiBytesError for bytes
    Sui reads as false, ProofRejected when the pairing check fails, SuiAbort where Sui aborts."""
    public_inputs = bytes(public_inputs)
    _check_inputs_length(public_inputs)
    ic = [g1_from_bytes(p, f"vk IC[{i}]") for i, p in enumerate(_ic_pieces(pvk.vk_gamma_abc_g1))]
    alpha_beta = gt_from_bytes(_take(pvk.alpha_g1_beta_g2, GT_BYTES, "prepared alpha_g1_beta_g2"),
                               "prepared alpha_g1_beta_g2")
    gamma_neg = g2_from_bytes(_take(pvk.gamma_g2_neg_pc, G2_BYTES, "prepared -gamma"), "prepared -gamma")
    delta_neg = g2_from_bytes(_take(pvk.delta_g2_neg_pc, G2_BYTES, "prepared -delta"), "prepared -delta")
    scalars = _scalars(public_inputs)
    head = _proof_head(proof)
    a = g1_from_bytes(head[_PROOF_A], "proof A")
    b = g2_from_bytes(head[_PROOF_B], "proof B")
    c = g1_from_bytes(head[_PROOF_C], "proof C")
    _check_count(len(scalars), len(ic))
    vk_x = ic[0]
    for s, p in zip(scalars, ic[1:]):
        vk_x = bn.add(vk_x, bn.multiply(p, s))
    # e(A, B) * e(vk_x, -gamma) * e(C, -delta) == e(alpha, beta)
    if _pairing_product([(a, b), (vk_x, gamma_neg), (c, delta_neg)]) != alpha_beta:
        raise ProofRejected("the proof does not verify against this key and these public inputs")


def verify_groth16_proof(pvk: PreparedVerifyingKey, public_inputs: bytes, proof: bytes) -> bool:
    """Like `groth16::verify_groth16_proof` (the reference): True iff valid; malformed bytes give
    False; more than MAX_PUBLIC_INPUTS inputs raise SuiAbort (Sui aborts)."""
    try:
        check_groth16_proof(pvk, public_inputs, proof)
    except (SuiBytesError, ProofRejected):
        return False
    return True


# --------------------------------------------------------------------------- the fast verifier
def _g1_json_str(p: tuple[int, int]) -> list[str]:
    return [str(p[0]), str(p[1]), "1"]


def _g2_json_str(p) -> list[list[str]]:
    (x0, x1), (y0, y1) = p
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


def _be(v: int) -> bytes:
    return int(v).to_bytes(FQ_BYTES, "big")


def _eth_proof(a, b, c) -> bytes:
    """groth16py's proof layout (Solidity order, big-endian): A.x A.y B.x.c1 B.x.c0 B.y.c1 B.y.c0 C.x C.y."""
    (bx0, bx1), (by0, by1) = b
    return b"".join(_be(v) for v in (a[0], a[1], bx1, bx0, by1, by0, c[0], c[1]))


class FastVerifier:
    """Verify Sui-encoded proofs against one prepared key, fast: decoded key material and the
    arkworks verifiers (groth16py) are kept, so each verify decodes the proof (our code) and runs
    one pairing check (~ms). Same answers as the reference `verify_groth16_proof`.

        fv = FastVerifier(pvk)           # pvk from prepare_verifying_key (carries alpha, beta)
        fv.verify(public_inputs, proof)  # -> bool; SuiAbort for > 8 inputs, like Sui
        fv.fast                          # False: answers come from the reference (and why: fv.slow_reason)
    """

    def __init__(self, pvk: PreparedVerifyingKey, *, _raw: Optional[tuple] = None):
        self._pvk: Optional[PreparedVerifyingKey] = pvk
        self._vk_bytes: Optional[bytes] = None
        self.key_error: Optional[str] = None  # set when no proof can verify (Sui: always false)
        self.slow_reason: Optional[str] = None
        self._verifiers: dict[str, object] = {}
        self._lock = threading.Lock()
        if _raw is not None:  # from_vk: points already decoded from the raw vk
            self._vk_bytes, alpha, beta, gamma_neg, delta_neg, ic = _raw
            if not ic:
                self.key_error = "prepared key: vk_gamma_abc_g1 is empty (no proof verifies against it)"
            else:
                self._setup(alpha, beta, gamma_neg, delta_neg, ic)
            return
        try:
            ic = [decode_g1(p, f"vk IC[{i}]") for i, p in enumerate(_ic_pieces(pvk.vk_gamma_abc_g1))]
            target = _take(pvk.alpha_g1_beta_g2, GT_BYTES, "prepared alpha_g1_beta_g2")
            _gt_check(target, "prepared alpha_g1_beta_g2")
            gamma_neg = decode_g2(_take(pvk.gamma_g2_neg_pc, G2_BYTES, "prepared -gamma"), "prepared -gamma")
            delta_neg = decode_g2(_take(pvk.delta_g2_neg_pc, G2_BYTES, "prepared -delta"), "prepared -delta")
            if not ic:
                raise SuiBytesError("prepared key: vk_gamma_abc_g1 is empty (no proof verifies against it)")
        except SuiBytesError as e:
            self.key_error = str(e)
            return
        if not (pvk.alpha_g1 and pvk.beta_g2):
            self.slow_reason = ("the prepared key has no alpha_g1 / beta_g2 (built from Sui's four parts "
                                "alone): use the key prepare_verifying_key returns")
            return
        try:
            alpha = decode_g1(pvk.alpha_g1, "alpha_g1")
            beta = decode_g2(pvk.beta_g2, "beta_g2")
        except SuiBytesError as e:
            self.slow_reason = f"the prepared key's {e}"
            return
        # groth16py recomputes e(alpha, beta): it must be the stored alpha_g1_beta_g2 (once per key).
        if gt_to_bytes(_pairing_product([(_to_pyecc_g1(alpha), _to_pyecc_g2(beta))])) != target:
            self.slow_reason = "the prepared key's alpha_g1 / beta_g2 do not match its alpha_g1_beta_g2"
            return
        self._setup(alpha, beta, gamma_neg, delta_neg, ic)

    @classmethod
    def from_vk(cls, vk: bytes) -> "FastVerifier":
        """From a raw vk (the bytes prepare_verifying_key takes), without computing e(alpha, beta);
        SuiBytesError where Sui's prepare_verifying_key aborts."""
        a_b, b_b, g_b, d_b, ic_b = _split_vk(vk)
        alpha = decode_g1(a_b, "vk alpha")
        beta = decode_g2(b_b, "vk beta")
        gamma = decode_g2(g_b, "vk gamma")
        delta = decode_g2(d_b, "vk delta")
        ic = [decode_g1(p, f"vk IC[{i}]") for i, p in enumerate(ic_b)]
        return cls(None, _raw=(bytes(vk), alpha, beta, bn254.g2_neg(gamma), bn254.g2_neg(delta), ic))  # type: ignore[arg-type]

    @property
    def pvk(self) -> PreparedVerifyingKey:
        if self._pvk is None:
            self._pvk = prepare_verifying_key(self._vk_bytes)  # type: ignore[arg-type]
        return self._pvk

    @property
    def fast(self) -> bool:
        return self.key_error is None and self.slow_reason is None

    def _setup(self, alpha, beta, gamma_neg, delta_neg, ic) -> None:
        self._ic_len = len(ic)
        if any(p is None for p in (alpha, beta, gamma_neg, delta_neg, *ic)):
            self.slow_reason = "the key has a point at infinity (no real setup makes one)"
            return
        try:
            import groth16py
        except ImportError:
            self.slow_reason = "groth16py is not installed"
            return
        self._g16 = groth16py
        self._alpha, self._beta = alpha, beta
        self._gamma, self._delta = bn254.g2_neg(gamma_neg), bn254.g2_neg(delta_neg)
        self._ic = ic
        self._neg_alpha = bn254.g1_neg(alpha)
        self._verifier("plain")  # the common case, built now

    def _verifier(self, case: str):
        """groth16py verifiers: 'plain' for the key itself; the others verify the same equation
        when proof points are at infinity (groth16py cannot take the point at infinity):
          A or B = O:  e(x,-g) e(C,-d) = e(a,b)  <=>  e(a,b) e(x,-g) e(C,-d) = e(2a,b)
          C = O:       e(A,B) e(x,-g) = e(a,b)   <=>  e(A,B) e(x,-g) e(-a,-b) = e(2a,b)
          both:        e(x,-g) = e(a,b)          <=>  e(a,b) e(x,-g) e(-a,-b) = e(3a,b)."""
        v = self._verifiers.get(case)
        if v is not None:
            return v
        alpha, delta = self._alpha, self._delta
        if case != "plain":
            k = 3 if case == "abc" else 2
            alpha = _g1_affine(bn.multiply(_to_pyecc_g1(self._alpha), k))
            if case in ("c", "abc"):
                delta = self._beta
        vk_json = json.dumps({
            "protocol": "groth16", "curve": "bn128", "nPublic": len(self._ic) - 1,
            "vk_alpha_1": _g1_json_str(alpha), "vk_beta_2": _g2_json_str(self._beta),
            "vk_gamma_2": _g2_json_str(self._gamma), "vk_delta_2": _g2_json_str(delta),
            "IC": [_g1_json_str(p) for p in self._ic],
        })
        with self._lock:
            v = self._verifiers.get(case)
            if v is None:
                v = self._g16.Verifier(self._g16.VerifyingKey.from_snarkjs(vk_json))
                self._verifiers[case] = v
        return v

    def check(self, public_inputs: bytes, proof: bytes) -> None:
        """Like check_groth16_proof: None iff valid; SuiBytesError, ProofRejected or SuiAbort."""
        public_inputs = bytes(public_inputs)
        _check_inputs_length(public_inputs)
        if self.key_error is not None:
            raise SuiBytesError(self.key_error)
        if not self.fast:
            check_groth16_proof(self.pvk, public_inputs, proof)
            return
        scalars = _scalars(public_inputs)
        head = _proof_head(proof)
        a = decode_g1(head[_PROOF_A], "proof A")
        b = decode_g2(head[_PROOF_B], "proof B")
        c = decode_g1(head[_PROOF_C], "proof C")
        _check_count(len(scalars), self._ic_len)
        ab_inf, c_inf = a is None or b is None, c is None
        if ab_inf:
            a, b = self._alpha, self._beta
        if c_inf:
            c = self._neg_alpha
        case = "abc" if ab_inf and c_inf else "ab" if ab_inf else "c" if c_inf else "plain"
        try:
            ok = bool(self._verifier(case).verify(_eth_proof(a, b, c), scalars))
        except Exception:  # groth16py refused bytes we accept: let the reference decide
            check_groth16_proof(self.pvk, public_inputs, proof)
            return
        if not ok:
            raise ProofRejected("the proof does not verify against this key and these public inputs")

    def verify(self, public_inputs: bytes, proof: bytes) -> bool:
        """True iff Sui's verify_groth16_proof returns true (SuiAbort where Sui aborts)."""
        try:
            self.check(public_inputs, proof)
        except (SuiBytesError, ProofRejected):
            return False
        return True


_CACHE: "OrderedDict[tuple, FastVerifier]" = OrderedDict()
_CACHE_SIZE = 64
_CACHE_LOCK = threading.Lock()


def fast_verifier(pvk: PreparedVerifyingKey) -> FastVerifier:
    """The FastVerifier of this prepared key, made once and kept (the last 64 keys)."""
    key = pvk._cache_key()
    with _CACHE_LOCK:
        fv = _CACHE.get(key)
        if fv is not None:
            _CACHE.move_to_end(key)
            return fv
    fv = FastVerifier(pvk)
    with _CACHE_LOCK:
        _CACHE[key] = fv
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return fv


def verify_prepared(pvk: PreparedVerifyingKey, public_inputs: bytes, proof: bytes) -> bool:
    """Fast `groth16::verify_groth16_proof(&bn254(), &pvk, inputs, proof)`: the local ledger's
    verify function (the first call per key sets up, then milliseconds per proof)."""
    return fast_verifier(pvk).verify(public_inputs, proof)


def verify_raw(vk: bytes, public_inputs: bytes, proof: bytes) -> bool:
    """prepare + verify in one call (what the contract does with its stored prepared key),
    through the fast verifier; False where Sui's prepare would abort."""
    try:
        fv = FastVerifier.from_vk(vk)
    except SuiBytesError:
        return False
    return fv.verify(public_inputs, proof)


def verify_raw_reference(vk: bytes, public_inputs: bytes, proof: bytes) -> bool:
    """verify_raw with the reference (py_ecc) verifier only."""
    try:
        pvk = prepare_verifying_key(vk)
    except SuiBytesError:
        return False
    return verify_groth16_proof(pvk, public_inputs, proof)
