"""A client's round on a private task (docs/PRIVACY.md): register the dataset and the secret
seed once (before any round whose randomness it will use), then per sampled round: refuse beyond
the task's privacy budget, run the private step (its batch and noise follow from the seed and the
round's randomness: nothing is chosen here), prove it and submit it for the contract to bind to
the registered commitments.

The functions take the client's pieces (identity, registration, prover) rather than the
`Client`, so the ordinary round in `participant.py` only dispatches here."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from wafl_sui import protocol
from wafl_sui.client import private_data
from wafl_sui.client.private_data import Registration
from wafl_sui.errors import WaflError
from wafl_sui.protocol import ProtocolError, StepSpec
from wafl_sui.toolchain import wafl_home

if TYPE_CHECKING:
    from wafl_sui.ledger.base import Ledger


def registration_path(task_id: str, address: str, root: Path | None = None) -> Path:
    """Where a client keeps the secrets of its registration for a task (owner-only file)."""
    return Path(root or wafl_home() / "private") / task_id / f"{protocol.normalize_address(address)}.json"


def ensure_registered(ledger: "Ledger", identity: Any, view: Any, dataset: Any, spec: StepSpec,
                      root: Path | None = None) -> Registration:
    """Our registration for the task: loaded (and checked against the ledger's commitments) or
    created, saved, then registered on the ledger."""
    path = registration_path(view.task_id, identity.address, root)
    reg = private_data.load_or_create(path, dataset, spec, view.task_id)
    held = ledger.private_registration(view.task_id, identity.address)
    if held is None:
        ledger.register_private(identity, view.task_id, reg.data_commitment(spec), reg.seed_commitment())
    else:
        private_data.check_registered(reg, spec, (held[0], held[1]))
    return reg


def budget_left(ledger: "Ledger", task_id: str, address: str) -> int:
    """Updates this client may still have accepted within the task's privacy budget."""
    params = ledger.privacy(task_id)
    if params is None:
        raise WaflError(f"task {task_id} is not private")
    return params.max_contributions - ledger.contributions(task_id, address)


def prove_private(prover: Any, spec: StepSpec, view: Any, reg: Registration, sender: str) -> tuple[list[int], bytes, Any, int]:
    """The private step of this round and its proof: (new weights, proof bytes, proof result,
    batch size). The twin computes the step; the circuit proves the same integers."""
    from wafl_sui.zk import dp_circuit, sui_bytes

    old = [protocol.decode_signed(u, spec.weight_bits) for u in view.model]
    step = protocol.dp_step.private_step(old, reg.features, reg.labels, reg.n, reg.seed, view.randomness, view.lr_q, spec)
    inputs = dp_circuit.private_inputs(spec, old, reg.features, reg.labels, reg.n, reg.salt, reg.seed,
                                       view.randomness, task_id=view.task_id, sender=sender, round_=view.round,
                                       lr_q=view.lr_q)
    res = prover.prove(inputs)
    if list(res.new_weights) != step.new_weights:  # the circuit and the twin disagree: never submit
        raise WaflError("internal error: the private circuit and the protocol's private step disagree")
    return step.new_weights, sui_bytes.proof_bytes_from_snarkjs(res.proof_json), res, step.batch_size


def run_private_round(client: Any, ledger: "Ledger", view: Any) -> Any:
    """One round of `client` (a `participant.Client`) on the private task `view`."""
    rnd, spec = view.round, client.spec
    try:
        reg = ensure_registered(ledger, client.identity, view, client.data, spec, client.private_root)
    except ProtocolError as e:
        return client._report(rnd, False, e.name, skipped=f"could not register: {e}")
    view = ledger.task(view.task_id)
    if not view.round_open:
        return client._report(rnd, False, None, skipped="the round is not open yet (registered; waiting for its sample)")
    if not view.is_sampled(client.address):
        return client._report(rnd, False, None, skipped=f"not sampled in round {rnd} (registered; waiting)")
    held = ledger.private_registration(view.task_id, client.address)
    if held is not None and held[2] > rnd:
        return client._report(rnd, False, None, skipped=f"registered after round {rnd}'s randomness; "
                                                        f"contributing from round {held[2]}")
    if budget_left(ledger, view.task_id, client.address) <= 0:
        return client._report(rnd, False, "EPrivacyBudgetSpent",
                              skipped="this client's privacy budget for the task is spent: it sends no more updates")
    old = [protocol.decode_signed(u, spec.weight_bits) for u in view.model]
    new, proof, res, batch = prove_private(client.prover, spec, view, reg, client.address)
    encoded = [protocol.encode_signed(w, spec.weight_bits) for w in new]
    norm = float(np.linalg.norm(np.subtract(new, old))) / (1 << spec.frac_bits)
    t0 = time.perf_counter()
    verify, error = None, None
    try:
        receipt = ledger.submit_private_update(client.identity, view.task_id, encoded, proof)
        verify = receipt.info.get("verify_seconds")
    except ProtocolError as e:
        error, verify = e.name, getattr(e, "verify_seconds", None)
    return client._report(rnd, error is None, error, res.prove_seconds, res.witness_seconds,
                          time.perf_counter() - t0, verify, norm, batch_size=batch)
