"""The fast verifier of Sui bytes for the local ledger: our decoding, arkworks' pairing through
groth16py (`FastVerifier`, `fast_verifier`, `verify_prepared`, `verify_raw`)."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Optional

import py_ecc.optimized_bn128 as bn

from wafl_sui.protocol import G2_BYTES, GT_BYTES
from wafl_sui.zk import bn254
from wafl_sui.zk.sui_bytes.encoding import (
    _PROOF_A, _PROOF_B, _PROOF_C, FQ_BYTES, ProofRejected, SuiBytesError, _g1_affine, _gt_check, _take, decode_g1,
    decode_g2, gt_to_bytes,
)
from wafl_sui.zk.sui_bytes.reference import (
    PreparedVerifyingKey, _check_count, _check_inputs_length, _ic_pieces, _pairing_product, _proof_head, _scalars,
    _split_vk, _to_pyecc_g1, _to_pyecc_g2, check_groth16_proof, prepare_verifying_key,
)

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
