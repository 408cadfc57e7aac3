"""One federated-learning client and its round: read the task, check its key, draw a batch from
the private data, compute the exact integer step (JAX), commit to the batch with a fresh salt,
prove, submit, and report what happened.

The prover stays resident between rounds (loading a proving key takes seconds). The client talks
to any `Ledger`, so the same code runs on the local ledger and on Sui.

Attacks (for `wafl simulate --attack`, to show what the proofs buy):
* `label-flip`: honest steps on poisoned data (labels y -> C-1-y). The proofs verify; only robust
  aggregation rules limit the damage.
* `forged-update`: an honest step and its proof, but submitted with other weights (the update
  scaled by -4): the contract rebuilds the public inputs from the submitted weights, so the proof
  no longer matches and the update is rejected with EInvalidProof.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from wafl_sui import protocol
from wafl_sui.client import data as client_data
from wafl_sui.client import model
from wafl_sui.client.data import Dataset
from wafl_sui.client.stepfile import random_salt
from wafl_sui.client import manifest as task_manifest
from wafl_sui.client.trust import check_task_key, circuit_identity
from wafl_sui.errors import WaflError
from wafl_sui.protocol import ProtocolError, StepSpec
from wafl_sui.zk import sui_bytes, witness
from wafl_sui.zk.prover import Prover
from wafl_sui.zk.setup import Keys

if TYPE_CHECKING:  # the client talks to any ledger through its interface
    from wafl_sui.ledger.base import Ledger

ATTACKS = ("label-flip", "forged-update")
FORGE_SCALE = -4


@dataclass(frozen=True)
class RoundReport:
    """What one client's round did (one row of the metrics store's contributions)."""

    client: str
    round: int
    accepted: bool
    error: Optional[str]  # the Move error name of a rejection, e.g. "EInvalidProof"
    prove_seconds: float
    witness_seconds: float
    submit_seconds: float  # the ledger call: on the local ledger it includes the proof's verification
    verify_seconds: Optional[float]  # the ledger's own proof check, where it reports one
    update_norm: float  # L2 norm of the submitted update, in weight units (dequantized)
    batch_size: int
    attack: Optional[str] = None
    skipped: Optional[str] = None  # why no update was sent (e.g. already submitted this round)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PreparedUpdate:
    """One proven update, ready to submit (or to print unsigned): what `submit_update` takes."""

    task_id: str
    round: int
    weights: tuple[int, ...]  # offset-encoded, as the ledger takes them
    data_commitment: int
    proof: bytes  # Sui's Groth16 proof bytes
    prove_seconds: float
    witness_seconds: float
    update_norm: float


def poison(ds: Dataset, attack: Optional[str]) -> Dataset:
    """The data an attacker trains on (label-flip: y -> C-1-y); others train on their own data."""
    if attack == "label-flip":
        return Dataset(ds.x, ds.classes - 1 - ds.y, ds.classes, ds.name)
    return ds


class Client:
    """A participant with its own identity, private data and resident prover."""

    def __init__(self, identity: Any, dataset: Dataset, spec: StepSpec, keys: Keys, *, seed: int = 0,
                 attack: Optional[str] = None, prover: Optional[Prover] = None, allow_dev_key: bool = False,
                 private_root: Optional[Path] = None):
        if attack is not None and attack not in ATTACKS:
            raise WaflError(f"unknown attack {attack!r}; choose one of {ATTACKS}")
        if len(dataset) == 0:
            raise WaflError("this client has no training data (more clients than samples?); use fewer clients")
        self.identity = identity
        self.address: str = identity.address
        self.spec = spec
        self.keys = keys
        self.attack = attack
        self.data = poison(dataset, attack)
        self.rng = np.random.default_rng(seed)
        self.prover = prover or Prover(keys.artifacts, keys.setup, "groth16py")
        self._vk_bytes = sui_bytes.vk_bytes_from_snarkjs(self.prover.vk_json)
        self._checked: set[str] = set()  # tasks checked with their manifest
        self._key_checked: set[str] = set()  # tasks whose key alone was checked
        self.allow_dev_key = allow_dev_key
        self.private_root = private_root  # private tasks: where the registration secrets live (None: WAFL_HOME)
        if spec.is_private and attack is not None:
            raise WaflError("the simulated attacks are for ordinary tasks: a private task's batch and noise are "
                            "drawn inside the proof, so there is nothing to poison or forge the same way")

    def close(self) -> None:
        self.prover.close()

    # ------------------------------------------------------------------ the round
    def check_task(self, view: Any, manifest: Any = None, *, manifest_read: bool = True) -> None:
        """Refuse a task whose verifying key is not the key of our circuit of its spec, is a
        development key (unless `allow_dev_key`), or whose `manifest` (its `TaskManifest` as read
        from the ledger, None when it has none) records another circuit identity. Checked once per
        task; a check made without reading the manifest (`manifest_read=False`) is made again when
        the manifest is known."""
        if view.task_id in self._checked or (not manifest_read and view.task_id in self._key_checked):
            return
        ours = circuit_identity(self.keys)
        check_task_key(view, self.spec, self._vk_bytes, setup=ours.setup, circuit_hash=ours.circuit_hash,
                       allow_dev_key=self.allow_dev_key, recorded=getattr(manifest, "circuit", None),
                       transcript_hash=ours.transcript_hash)
        (self._checked if manifest_read else self._key_checked).add(view.task_id)

    def run_round(self, ledger: Ledger, task: str) -> RoundReport:
        view = ledger.task(task)
        rnd = view.round
        if view.finished:
            return self._report(rnd, False, "ETaskFinished", skipped="the task is finished")
        if ledger.has_submitted(view.task_id, self.address):
            return self._report(rnd, True, None, skipped="already submitted this round")
        if view.task_id not in self._checked:  # before registering: never join a task whose key we do not trust
            self.check_task(view, task_manifest.read(ledger, view.task_id))
        if self.spec.is_private:
            from wafl_sui.client.private_round import run_private_round

            return run_private_round(self, ledger, view)
        if not view.is_registered(self.address):
            try:
                ledger.register(self.identity, view.task_id)
            except ProtocolError as e:
                return self._report(rnd, False, e.name, skipped=f"could not register: {e}")
            view = ledger.task(task)
        if not view.round_open:
            return self._report(rnd, False, None, skipped="the round is not open yet (registered; waiting for its sample)")
        if not view.is_sampled(self.address):
            return self._report(rnd, False, None, skipped=f"not sampled in round {rnd} (registered; waiting)")
        up = self.prepare_update(view)
        t0 = time.perf_counter()
        verify = None
        try:
            receipt = ledger.submit_update(self.identity, view.task_id, list(up.weights), up.data_commitment, up.proof)
            verify = receipt.info.get("verify_seconds")
            error = None
        except ProtocolError as e:
            error = e.name
            verify = getattr(e, "verify_seconds", None)
        return self._report(rnd, error is None, error, up.prove_seconds, up.witness_seconds,
                            time.perf_counter() - t0, verify, up.update_norm)

    def prepare_update(self, view: Any) -> PreparedUpdate:
        """This round's update from the task's current state (`view`): check the key, draw a
        batch, the exact step (JAX, checked against the protocol reference), commit, prove."""
        self.check_task(view, manifest_read=False)
        spec = self.spec
        rnd = view.round
        old = [protocol.decode_signed(u, spec.weight_bits) for u in view.model]
        x, y = client_data.sample_batch(self.data, spec, self.rng)
        salt = random_salt()  # fresh per commitment: the commitment hides the batch
        inputs = witness.step_inputs(spec, old, x, y, salt=salt, task_id=view.task_id, sender=self.address,
                                     round_=rnd, lr_q=view.lr_q)
        jax_new = model.int_local_training(old, x, y, view.lr_q, spec)
        if jax_new.tolist() != inputs.new_weights:  # two implementations of one rule disagree
            raise WaflError("internal error: the JAX step and the protocol reference disagree")
        res = self.prover.prove(inputs)
        proof = sui_bytes.proof_bytes_from_snarkjs(res.proof_json)
        new = list(inputs.new_weights)
        if self.attack == "forged-update":
            new = [min(max(o + FORGE_SCALE * (n - o), spec.weight_min), spec.weight_max) for o, n in zip(old, new)]
        encoded = [protocol.encode_signed(w, spec.weight_bits) for w in new]
        data_c = inputs.public_signals[2]
        norm = float(np.linalg.norm(np.subtract(new, old))) / (1 << spec.frac_bits)
        return PreparedUpdate(view.task_id, rnd, tuple(encoded), data_c, proof, res.prove_seconds,
                              res.witness_seconds, norm)

    def _report(self, rnd: int, accepted: bool, error: Optional[str], prove: float = 0.0, wit: float = 0.0,
                submit: float = 0.0, verify: Optional[float] = None, norm: float = 0.0,
                skipped: Optional[str] = None, batch_size: Optional[int] = None) -> RoundReport:
        batch = self.spec.batch_size * self.spec.local_steps if batch_size is None else batch_size
        return RoundReport(self.address, rnd, accepted, error, prove, wit, submit, verify, norm,
                           batch, self.attack, skipped)
