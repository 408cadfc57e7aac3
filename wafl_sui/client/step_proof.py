"""A client's proof of one local-training step, from step fields to the bytes Sui verifies.

    keys   = ensure_keys(spec)   # zk.setup: compile + set up once (cached per circuit hash)
    result = prove_step(spec, step, keys=keys)  # JAX step, witness, proof, Sui bytes, our check

The new weights come from the JAX integer path and are checked against the protocol reference
before proving; the bytes are checked with `zk.sui_bytes` (what `sui::groth16` would say).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from wafl_sui import protocol
from wafl_sui.client import model
from wafl_sui.protocol import StepSpec
from wafl_sui.zk import sui_bytes, witness
from wafl_sui.zk.prover import Prover
from wafl_sui.zk.setup import Keys

Progress = Optional[Callable[[str], None]]


@dataclass
class StepProof:
    spec: StepSpec
    circuit_hash: str
    constraints: int
    backend: str
    setup: str
    vk: bytes
    proof: bytes
    public_inputs: bytes
    public_signals: list[int]
    new_weights: list[int]
    witness_seconds: float
    prove_seconds: float
    verify_seconds: float
    verified: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "vk": self.vk.hex(),
            "proof": self.proof.hex(),
            "public_inputs": self.public_inputs.hex(),
            "public_signals": [str(v) for v in self.public_signals],
            "public_input_names": ["old_model", "new_model", "data", "context"],
            "constraints": self.constraints,
            "prove_seconds": round(self.prove_seconds, 4),
            "witness_seconds": round(self.witness_seconds, 4),
            "verify_seconds": round(self.verify_seconds, 4),
            "verified": self.verified,
            "backend": self.backend,
            "setup": self.setup,
            "circuit_hash": self.circuit_hash,
            "spec": self.spec.to_dict(),
            "new_weights": self.new_weights,
            **self.extra,
        }


def prove_step(
    spec: StepSpec, step: dict[str, Any], *, keys: Keys, backend: str = "groth16py",
    prover: Optional[Prover] = None, progress: Progress = None,
) -> StepProof:
    """Prove one step given its fields (see `stepfile`): weights, features, labels, salt, context."""
    if progress:
        progress("computing the integer step (JAX) and the witness inputs ...")
    inputs = witness.step_inputs(
        spec, step["weights"], step["features"], step["labels"], salt=step["salt"],
        task_id=step["task_id"], sender=step["sender"], round_=step["round"], lr_q=step["lr_q"],
    )
    jax_new = model.int_local_training(inputs.weights, inputs.features, inputs.labels, inputs.lr_q, spec)
    if jax_new.tolist() != inputs.new_weights:  # the two implementations of one rule disagree
        raise RuntimeError("internal error: the JAX step and the protocol reference disagree")
    own = prover is None
    prover = prover or Prover(keys.artifacts, keys.setup, backend, progress=progress)
    try:
        if progress:
            progress(f"proving with {prover.backend} ...")
        res = prover.prove(inputs)
    finally:
        if own:
            prover.close()
    vk_b = sui_bytes.vk_bytes_from_snarkjs(res.vk_json)
    proof_b = sui_bytes.proof_bytes_from_snarkjs(res.proof_json)
    inputs_b = protocol.public_inputs_bytes(res.public_signals)
    t0 = time.perf_counter()
    ok = sui_bytes.verify_raw(vk_b, inputs_b, proof_b)
    v_secs = time.perf_counter() - t0
    return StepProof(
        spec=spec, circuit_hash=keys.artifacts.hash, constraints=keys.artifacts.constraints,
        backend=res.backend, setup=res.setup, vk=vk_b, proof=proof_b, public_inputs=inputs_b,
        public_signals=[int(s) for s in res.public_signals], new_weights=list(res.new_weights),
        witness_seconds=res.witness_seconds, prove_seconds=res.prove_seconds,
        verify_seconds=v_secs, verified=ok,
        extra={"task_id": step["task_id"], "sender": step["sender"], "round": step["round"]},
    )
