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

Modules: `encoding` (the byte layout: flags, points, GT, keys and proofs from snarkjs JSON),
`reference` (the prepared key and the py_ecc verifier), `fast` (the fast verifier); the names are
re-exported here, so callers write `sui_bytes.prepare_verifying_key(...)`.
"""

from wafl_sui.zk.sui_bytes.encoding import (  # noqa: F401
    ARKWORKS_GT_EXPONENT, BN_X, FQ_BYTES, IC_COUNT_BYTES, INFINITY, MAX_PUBLIC_INPUT_BYTES, ProofRejected, Q,
    R, SuiAbort, SuiBytesError, Y_IS_NEGATIVE, _sqrt_fp, _sqrt_fp2, decode_g1, decode_g2, g1_from_bytes,
    g1_to_bytes, g2_from_bytes, g2_to_bytes, gt_from_bytes, gt_to_bytes, proof_bytes_from_snarkjs,
    vk_bytes_from_snarkjs,
)
from wafl_sui.zk.sui_bytes.reference import (  # noqa: F401
    PreparedVerifyingKey, check_groth16_proof, prepare_verifying_key, verify_groth16_proof,
    verify_raw_reference,
)
from wafl_sui.zk.sui_bytes.fast import (  # noqa: F401
    FastVerifier, fast_verifier, verify_prepared, verify_raw,
)

__all__ = [
    "ARKWORKS_GT_EXPONENT", "BN_X", "FQ_BYTES", "FastVerifier", "IC_COUNT_BYTES", "INFINITY",
    "MAX_PUBLIC_INPUT_BYTES", "PreparedVerifyingKey", "ProofRejected", "Q", "R", "SuiAbort", "SuiBytesError",
    "Y_IS_NEGATIVE", "check_groth16_proof", "decode_g1", "decode_g2", "fast_verifier", "g1_from_bytes",
    "g1_to_bytes", "g2_from_bytes", "g2_to_bytes", "gt_from_bytes", "gt_to_bytes", "prepare_verifying_key",
    "proof_bytes_from_snarkjs", "verify_groth16_proof", "verify_prepared", "verify_raw",
    "verify_raw_reference", "vk_bytes_from_snarkjs",
]

