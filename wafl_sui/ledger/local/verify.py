"""The one Groth16 check of the local ledger: Sui's bytes, decoded as Sui decodes them, and a full
pairing check against the stored *prepared* key (as `groth16::verify_groth16_proof` does).

Two implementations of the same check live in `wafl_sui.zk.sui_bytes` and give the same answers:
the fast one (`verify_prepared(pvk, inputs, proof)`: one `FastVerifier` per key and process,
set up once, then arkworks' pairing through groth16py, milliseconds a proof) and the py_ecc
reference (`verify_groth16_proof`, about a second a proof). `verify_bytes` is the one function
the ledger calls; it takes the fast one when this build has it. Switching is `DEFAULT_BACKEND`
(or the `backend=` argument: the ledger's `verifier=`, which the benchmark uses to compare).
"""

from __future__ import annotations

import hashlib
from typing import Any

from wafl_sui.zk import sui_bytes

DEFAULT_BACKEND = "fast" if (hasattr(sui_bytes, "FastVerifier") or hasattr(sui_bytes, "verify_prepared")) else "py_ecc"
BACKENDS = ("fast", "py_ecc")


def pvk_digest(pvk: Any) -> bytes:
    """A stable digest of a prepared key (its four Sui byte strings)."""
    h = hashlib.blake2b(digest_size=32)
    for part in pvk.parts():
        h.update(len(part).to_bytes(4, "little"))
        h.update(part)
    return h.digest()


def available_backends() -> tuple[str, ...]:
    return BACKENDS if DEFAULT_BACKEND == "fast" else ("py_ecc",)


def _fast(pvk: Any, public_inputs: bytes, proof: bytes) -> bool:
    if hasattr(sui_bytes, "verify_prepared"):  # keeps one FastVerifier per key
        return sui_bytes.verify_prepared(pvk, public_inputs, proof)
    return sui_bytes.FastVerifier(pvk).verify(public_inputs, proof)


def warm(pvk: Any, *, backend: str | None = None) -> bool:
    """Do the per-key set-up of the verifier now (the fast one checks the key once per process,
    ~0.5 s); True when a verification is then cheap (milliseconds), False when it is not (the
    py_ecc reference, or a key the fast verifier hands to the reference)."""
    if (backend or DEFAULT_BACKEND) != "fast":
        return False
    try:
        if hasattr(sui_bytes, "fast_verifier"):
            return bool(sui_bytes.fast_verifier(pvk).fast)
    except ValueError:
        return False
    return False


def verify_bytes(pvk: Any, public_inputs: bytes, proof: bytes, *, backend: str | None = None) -> bool:
    """True iff `proof` verifies for `public_inputs` under the prepared key `pvk`; malformed bytes
    (what Sui's deserialisation would reject) give False, like `verify_groth16_proof`."""
    backend = backend or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise ValueError(f"unknown verifier backend {backend!r}; choose one of {BACKENDS}")
    try:
        if backend == "fast":
            result = _fast(pvk, bytes(public_inputs), bytes(proof))
        else:
            result = sui_bytes.verify_groth16_proof(pvk, bytes(public_inputs), bytes(proof))
    except ValueError:  # SuiBytesError / ProofRejected: what Sui rejects
        return False
    return bool(result)
