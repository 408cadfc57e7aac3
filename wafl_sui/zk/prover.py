"""Proving the WaFL step: one class per backend behind one interface, one output form.

    art = circuit.build(spec)
    keys = groth16_setup.dev_setup(art)                # or ceremony_setup(art, ptau, ...)
    prover = make_prover(art, keys, "groth16py")       # loads the proving key once
    res = prover.prove(witness.step_inputs(spec, W, X, Y, salt=..., task_id=..., sender=...,
                                           round_=..., lr_q=...))
    res.proof_json, res.public_signals, res.vk_json    # snarkjs JSON forms (decimal strings)

Backends (`BACKENDS`, name -> class; all subclasses of the abstract `Prover`):
  * `Groth16pyProver` ("groth16py"): arkworks in-process from the loaded key (`ProvingKey.load`
    for dev keys, `import_zkey` for ceremony keys); verifies in-process too.
  * `SnarkjsProver` ("snarkjs"): `snarkjs groth16 prove` under node; needs a ceremony .zkey.
`Prover(art, keys, backend)` still works: it makes the backend's class (same as make_prover).
Each backend's witness comes from circom's generated witness calculator, kept resident in one
node process per prover (`witness.WitnessServer`).

Every proof is normalised to snarkjs' proof.json form (pi_a, pi_b, pi_c with projective
coordinates, decimal strings) with the public signals as decimal strings in
protocol.PUBLIC_INPUTS order, and the verification key in snarkjs verification_key.json form,
so the Sui encoder (wafl_sui.zk.sui_bytes) takes one format whatever the backend.
"""

from __future__ import annotations

import abc
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar, Optional, Sequence

from wafl_sui.errors import WaflError
from wafl_sui.zk import witness as wt
from wafl_sui.zk.circuit import CircuitArtifacts, run_snarkjs
from wafl_sui.zk.setup import SetupKeys, load_keys, proving_key

DEFAULT_BACKEND = "groth16py"
Progress = Optional[Callable[[str], None]]


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


def _plain_vk(vk_json: dict) -> dict:
    return {k: v for k, v in vk_json.items() if not k.startswith("wafl_")}


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

    vk = groth16py.VerifyingKey.from_snarkjs(json.dumps(_plain_vk(vk_json)))
    try:
        return bool(groth16py.Verifier(vk).verify_snarkjs(
            json.dumps(proof_json), json.dumps([str(s) for s in public_signals])))
    except Exception:  # malformed inputs (e.g. a signal >= p) are a failed verification
        return False


def backend_class(backend: str) -> type["Prover"]:
    """The Prover class of a backend name; ProverError naming the choices if unknown."""
    try:
        return BACKENDS[backend]
    except (KeyError, TypeError):
        raise ProverError(f"unknown prover backend {backend!r}; choose one of {tuple(BACKENDS)}") from None


class Prover(abc.ABC):
    """A long-lived prover for one circuit and one key (the proving key stays loaded).

    Subclasses set `name` and implement `_load` (once, timed as `load_seconds`) and
    `_prove_witness` (witness file -> snarkjs proof JSON and public signals); `verify` defaults
    to snarkjs. Calling `Prover(art, keys, backend)` itself makes the backend's subclass."""

    name: ClassVar[str] = ""

    def __new__(cls, *args, **kwargs):
        if cls is Prover:
            backend = kwargs.get("backend", args[2] if len(args) > 2 else DEFAULT_BACKEND)
            cls = backend_class(backend)
        return super().__new__(cls)

    def __init__(self, artifacts: CircuitArtifacts, keys: Optional[SetupKeys] = None,
                 backend: Optional[str] = None, *, workdir: Optional[Path] = None,
                 progress: Progress = None):
        if backend is not None and backend != self.name:
            raise ProverError(f"{type(self).__name__} is the {self.name!r} backend, not {backend!r}: "
                              f"use make_prover(artifacts, keys, {backend!r})")
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
        self.vk_json = _plain_vk(self.keys.verification_key())
        self._witness = wt.WitnessServer(artifacts)  # node starts on the first proof, then stays
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="wafl-prove-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        try:
            self._load(progress)
        except BaseException:
            self.close()
            raise
        self.load_seconds = time.perf_counter() - t0

    @property
    def backend(self) -> str:
        return self.name

    # --- what a backend implements
    @abc.abstractmethod
    def _load(self, progress: Progress) -> None:
        """Check the keys suit this backend and load what proving needs (ProverError if not)."""

    @abc.abstractmethod
    def _prove_witness(self, wtns: Path, inputs: wt.StepInputs) -> tuple[dict, list[str]]:
        """Prove from a witness file: (snarkjs proof.json dict, public signals as decimal strings)."""

    def verify(self, proof_json: dict, public_signals: Sequence[str]) -> bool:
        """Verify a proof of this circuit under this key (snarkjs unless the backend has better)."""
        return snarkjs_verify(self.vk_json, public_signals, proof_json)

    # --- shared
    def prove(self, inputs: wt.StepInputs, *, negative: str = "decimal") -> ProofResult:
        if not isinstance(inputs, wt.StepInputs):
            raise ProverError("prove() takes witness.step_inputs(...) (a StepInputs)")
        if inputs.spec != self.artifacts.spec:
            raise ProverError("the inputs were built for a different spec than this prover's circuit")
        wtns = self.workdir / "step.wtns"
        wtns.unlink(missing_ok=True)
        w_secs = self._witness.compute(inputs, wtns, negative=negative)
        t0 = time.perf_counter()
        proof, public = self._prove_witness(wtns, inputs)
        p_secs = time.perf_counter() - t0
        return ProofResult(proof, public, self.vk_json, w_secs, p_secs, self.name, self.keys.kind,
                           list(inputs.new_weights))

    def close(self) -> None:
        self._witness.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Prover":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Groth16pyProver(Prover):
    """arkworks (groth16py) in-process: dev keys (ProvingKey.load) or ceremony zkeys (import_zkey)."""

    name = "groth16py"

    def _load(self, progress: Progress) -> None:
        try:
            import groth16py
        except ImportError:
            raise ProverError("groth16py is not installed; `pip install groth16py==0.2.0` or use "
                              "backend='snarkjs'") from None
        self._g16 = groth16py
        if progress:
            progress("loading the proving key ...")
        try:
            self._pk = proving_key(self.keys)  # once per process (and shared with forked children)
        except Exception as e:
            raise ProverError(str(e)) from None
        self._verifier = groth16py.Verifier(groth16py.VerifyingKey.from_snarkjs(json.dumps(self.vk_json)))

    def _prove_witness(self, wtns: Path, inputs: wt.StepInputs) -> tuple[dict, list[str]]:
        try:
            blob = self._g16.prove_wtns(self._pk, str(wtns))
        except Exception as e:
            raise ProverError(f"groth16py failed to prove: {e}") from None
        return eth_blob_to_snarkjs(bytes(blob)), list(inputs.public_json)

    def verify(self, proof_json: dict, public_signals: Sequence[str]) -> bool:
        """In-process (arkworks); malformed inputs are a failed verification."""
        try:
            return bool(self._verifier.verify_snarkjs(json.dumps(proof_json),
                                                      json.dumps([str(s) for s in public_signals])))
        except Exception:
            return False


class SnarkjsProver(Prover):
    """`snarkjs groth16 prove` under node (the reference prover); needs a ceremony .zkey."""

    name = "snarkjs"

    def _load(self, progress: Progress) -> None:
        if self.keys.zkey is None:
            raise ProverError("the snarkjs backend needs a snarkjs .zkey (ceremony_setup); the "
                              "development setup makes a groth16py key only: use "
                              "backend='groth16py' or run a ceremony setup")

    def _prove_witness(self, wtns: Path, inputs: wt.StepInputs) -> tuple[dict, list[str]]:
        proof_p, pub_p = self.workdir / "proof.json", self.workdir / "public.json"
        _run_snarkjs(["groth16", "prove", self.keys.zkey, wtns, proof_p, pub_p], "groth16 prove")
        proof = json.loads(proof_p.read_text())
        public = [str(s) for s in json.loads(pub_p.read_text())]
        if public != inputs.public_json:
            raise ProverError("snarkjs' public signals differ from protocol.py's: the circuit and "
                              "the protocol disagree (rebuild the circuit)")
        return proof, public


BACKENDS: dict[str, type[Prover]] = {"groth16py": Groth16pyProver, "snarkjs": SnarkjsProver}


def make_prover(artifacts: CircuitArtifacts, keys: Optional[SetupKeys] = None,
                backend: str = DEFAULT_BACKEND, *, workdir: Optional[Path] = None,
                progress: Progress = None) -> Prover:
    """A loaded prover of the named backend (see BACKENDS); ProverError with the fix if it cannot."""
    return backend_class(backend)(artifacts, keys, workdir=workdir, progress=progress)
