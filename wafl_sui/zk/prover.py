"""Proving the WaFL step: groth16py in-process (fast) or snarkjs (reference), one output form.

    art = circuit.build(spec)
    keys = groth16_setup.dev_setup(art)              # or ceremony_setup(art, ptau, ...)
    prover = Prover(art, keys, backend="groth16py")  # loads the proving key once
    res = prover.prove(witness.step_inputs(spec, W, X, Y, salt=..., task_id=..., sender=...,
                                           round_=..., lr_q=...))
    res.proof_json, res.public_signals, res.vk_json  # snarkjs JSON forms (decimal strings)

Every proof is normalised to snarkjs' proof.json form (pi_a, pi_b, pi_c with projective
coordinates, decimal strings) with the public signals as decimal strings in
protocol.PUBLIC_INPUTS order, and the verification key in snarkjs verification_key.json form,
so the Sui encoder (wafl_sui.sui_groth16) takes one format whatever the backend.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from wafl_sui.errors import WaflError
from wafl_sui.zk import witness as wt
from wafl_sui.zk.circuit import CircuitArtifacts, run_snarkjs
from wafl_sui.zk.setup import SetupKeys, load_keys

BACKENDS = ("groth16py", "snarkjs")


class ProverError(WaflError, RuntimeError):
    """Proving failed; the message names the problem and the fix."""


@dataclass
class ProofResult:
    proof_json: dict              # snarkjs proof.json form
    public_signals: list[str]     # decimal strings, [old_model, new_model, data, context]
    vk_json: dict                 # snarkjs verification_key.json form
    witness_seconds: float
    prove_seconds: float
    backend: str = ""
    setup: str = ""               # "dev-insecure" or "ceremony"
    new_weights: list[int] = field(default_factory=list)



def eth_blob_to_snarkjs(blob: bytes) -> dict:
    """groth16py's proof blob (8 big-endian 32-byte words, Solidity order:
    A.x A.y | B.x.c1 B.x.c0 B.y.c1 B.y.c0 | C.x C.y) -> snarkjs proof.json."""
    if len(blob) != 256:
        raise ProverError(f"unexpected groth16py proof length {len(blob)} (expected 256 bytes)")
    w = [str(int.from_bytes(blob[i:i + 32], "big")) for i in range(0, 256, 32)]
    return {"pi_a": [w[0], w[1], "1"],
            "pi_b": [[w[3], w[2]], [w[5], w[4]], ["1", "0"]],
            "pi_c": [w[6], w[7], "1"], "protocol": "groth16", "curve": "bn128"}


def _run_snarkjs(args: Sequence, what: str) -> str:
    return run_snarkjs(args, what, ProverError)


def snarkjs_verify(vk_json: dict, public_signals: Sequence[str], proof_json: dict) -> bool:
    """`snarkjs groth16 verify` on JSON objects (the reference verifier)."""
    with tempfile.TemporaryDirectory(prefix="wafl-verify-") as d:
        dp = Path(d)
        (dp / "vk.json").write_text(json.dumps(vk_json))
        (dp / "public.json").write_text(json.dumps([str(s) for s in public_signals]))
        (dp / "proof.json").write_text(json.dumps(proof_json))
        try:
            out = _run_snarkjs(["groth16", "verify", dp / "vk.json", dp / "public.json", dp / "proof.json"],
                               "groth16 verify")
        except ProverError:  # an invalid proof: snarkjs prints [ERROR] and exits non-zero
            return False
        return "OK!" in out


def groth16py_verify(vk_json: dict, public_signals: Sequence[str], proof_json: dict) -> bool:
    import groth16py

    vk = groth16py.VerifyingKey.from_snarkjs(json.dumps({k: v for k, v in vk_json.items()
                                                          if not k.startswith("wafl_")}))
    try:
        return bool(groth16py.Verifier(vk).verify_snarkjs(
            json.dumps(proof_json), json.dumps([str(s) for s in public_signals])))
    except Exception:  # malformed inputs (e.g. a signal >= p) are a failed verification
        return False


class Prover:
    """A long-lived prover for one circuit and one key (the proving key stays loaded)."""

    def __init__(self, artifacts: CircuitArtifacts, keys: Optional[SetupKeys] = None,
                 backend: str = "groth16py", *, workdir: Optional[Path] = None,
                 progress: Optional[Callable[[str], None]] = None):
        if backend not in BACKENDS:
            raise ProverError(f"unknown prover backend {backend!r}; choose one of {BACKENDS}")
        for p in (artifacts.wasm, artifacts.witness_js, artifacts.r1cs):
            if not Path(p).is_file():
                raise ProverError(f"missing circuit artifact {p}: rebuild with circuit.build(spec, force=True)")
        self.artifacts = artifacts
        try:
            self.keys = keys or load_keys(artifacts)
        except Exception as e:
            raise ProverError(str(e)) from None
        if (self.keys.meta or {}).get("circuit_hash") not in (None, artifacts.hash):
            raise ProverError(f"the keys in {self.keys.dir} belong to circuit {self.keys.meta['circuit_hash']}, "
                              f"not to {artifacts.hash}: run the setup for this circuit")
        self.backend = backend
        self.vk_json = {k: v for k, v in self.keys.verification_key().items() if not k.startswith("wafl_")}
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="wafl-prove-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._pk = None
        self._verifier = None
        t0 = time.perf_counter()
        if backend == "snarkjs":
            if self.keys.zkey is None:
                raise ProverError("the snarkjs backend needs a snarkjs .zkey (ceremony_setup); the "
                                  "development setup makes a groth16py key only: use "
                                  "backend='groth16py' or run a ceremony setup")
        else:
            try:
                import groth16py
            except ImportError:
                raise ProverError("groth16py is not installed; `pip install groth16py==0.2.0` or use "
                                  "backend='snarkjs'") from None
            if progress:
                progress("loading the proving key ...")
            try:
                if self.keys.pk is not None:
                    self._pk = groth16py.ProvingKey.load(str(self.keys.pk))
                elif self.keys.zkey is not None:
                    self._pk, _vk = groth16py.import_zkey(str(self.keys.zkey))
                else:
                    raise ProverError(f"no proving key in {self.keys.dir}")
            except ProverError:
                raise
            except Exception as e:
                raise ProverError(f"could not load the proving key from {self.keys.dir}: {e}; "
                                  "re-run the setup") from None
            self._verifier = groth16py.Verifier(groth16py.VerifyingKey.from_snarkjs(json.dumps(self.vk_json)))
        self.load_seconds = time.perf_counter() - t0

    def close(self) -> None:
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Prover":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def prove(self, inputs: wt.StepInputs, *, negative: str = "decimal") -> ProofResult:
        if not isinstance(inputs, wt.StepInputs):
            raise ProverError("prove() takes witness.step_inputs(...) (a StepInputs)")
        if inputs.spec != self.artifacts.spec:
            raise ProverError("the inputs were built for a different spec than this prover's circuit")
        wtns = self.workdir / "step.wtns"
        wtns.unlink(missing_ok=True)
        w_secs = wt.compute_witness(self.artifacts, inputs, wtns, negative=negative)
        t0 = time.perf_counter()
        if self.backend == "groth16py":
            import groth16py

            try:
                blob = groth16py.prove_wtns(self._pk, str(wtns))
            except Exception as e:
                raise ProverError(f"groth16py failed to prove: {e}") from None
            proof = eth_blob_to_snarkjs(bytes(blob))
            public = inputs.public_json
        else:
            proof_p, pub_p = self.workdir / "proof.json", self.workdir / "public.json"
            _run_snarkjs(["groth16", "prove", self.keys.zkey, wtns, proof_p, pub_p], "groth16 prove")
            proof = json.loads(proof_p.read_text())
            public = [str(s) for s in json.loads(pub_p.read_text())]
            if public != inputs.public_json:
                raise ProverError("snarkjs' public signals differ from protocol.py's: the circuit and "
                                  "the protocol disagree (rebuild the circuit)")
        p_secs = time.perf_counter() - t0
        return ProofResult(proof, public, self.vk_json, w_secs, p_secs, self.backend, self.keys.kind,
                           list(inputs.new_weights))

    def verify(self, proof_json: dict, public_signals: Sequence[str]) -> bool:
        """Verify with groth16py (in-process); falls back to snarkjs when groth16py is not loaded."""
        if self._verifier is not None:
            try:
                return bool(self._verifier.verify_snarkjs(json.dumps(proof_json),
                                                          json.dumps([str(s) for s in public_signals])))
            except Exception:
                return False
        return snarkjs_verify(self.vk_json, public_signals, proof_json)
