"""The prepared key and the reference verifier (py_ecc): `prepare_verifying_key`,
`check_groth16_proof`, `verify_groth16_proof`, mirroring the Move calls of the same names."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import py_ecc.optimized_bn128 as bn
from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128.optimized_pairing import cast_point_to_fq12, miller_loop

from wafl_sui.protocol import (
    G1_BYTES, G2_BYTES, GT_BYTES, MAX_PUBLIC_INPUTS, PROOF_BYTES, PUBLIC_INPUT_BYTES, VK_HEADER_BYTES,
)
from wafl_sui.zk import bn254
from wafl_sui.zk.sui_bytes.encoding import (
    _PROOF_A, _PROOF_B, _PROOF_C, ARKWORKS_GT_EXPONENT, IC_COUNT_BYTES, MAX_PUBLIC_INPUT_BYTES, R, ProofRejected,
    SuiAbort, SuiBytesError, _take, g1_from_bytes, g1_to_bytes, g2_from_bytes, g2_to_bytes, gt_from_bytes,
    gt_to_bytes,
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


def verify_raw_reference(vk: bytes, public_inputs: bytes, proof: bytes) -> bool:
    """verify_raw with the reference (py_ecc) verifier only."""
    try:
        pvk = prepare_verifying_key(vk)
    except SuiBytesError:
        return False
    return verify_groth16_proof(pvk, public_inputs, proof)
