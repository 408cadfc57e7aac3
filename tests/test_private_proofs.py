"""A private task end to end with real proofs of the private circuit on the local ledger: an honest
private update is accepted and counted; a real proof of a private step on other data, with
another seed, for another round's randomness, or of the ordinary (non-private) step is rejected by
the contract; the client refuses beyond its budget (slow: compiles a small private circuit)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from wafl_sui import protocol
from wafl_sui.client import private_data
from wafl_sui.client.data import Dataset
from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.local import LocalLedger
from wafl_sui.protocol import ProtocolError, StepSpec, privacy
from wafl_sui.protocol.privacy import DpParams
from wafl_sui.protocol.round import RoundRules
from wafl_sui.protocol.rules import AggregationRule
from wafl_sui.zk import dp_circuit, sui_bytes
from wafl_sui.zk.prover import make_prover
from wafl_sui.zk.setup import ensure_keys

pytestmark = pytest.mark.slow

PARAMS = DpParams(records=8, clip_frac_bits=4, clip_q=128, clip_factor_bits=6, noise_sigma0=3, noise_tail=20,
                  noise_k=2, sample_threshold=1 << 63, target_epsilon_milli=8000, target_delta_pico=10_000_000,
                  max_contributions=2)
SPEC = StepSpec(features=4, classes=3, batch_size=4, privacy=PARAMS)
LR_Q = 32


@pytest.fixture(scope="module")
def keys():
    return ensure_keys(SPEC)


@pytest.fixture(scope="module")
def prover(keys):
    p = make_prover(keys.artifacts, keys.setup)
    yield p
    p.close()


def _data(seed: int, n: int = 7) -> Dataset:
    rng = np.random.default_rng(seed)
    return Dataset(rng.uniform(-1.5, 1.5, (n, 4)), rng.integers(0, 3, n), 3, "toy")


@pytest.fixture
def world(tmp_path, keys):
    ids = {k: Identity.generate() for k in ("owner", "alice", "bob")}
    ledger = LocalLedger(tmp_path / "ledger.sqlite")
    vk = sui_bytes.vk_bytes_from_snarkjs(keys.setup.verification_key())
    initial = [protocol.encode_signed(0, SPEC.weight_bits)] * SPEC.num_weights
    ref = ledger.create_task(ids["owner"], SPEC, RoundRules(2, 3_600_000, 5, 60_000, 2), AggregationRule(0), LR_Q,
                             True, initial, vk)
    ledger.set_privacy(ids["owner"], ref.task_id, PARAMS)
    regs = {}
    for who, seed in (("alice", 1), ("bob", 2)):
        reg = private_data.create(_data(seed), SPEC)
        ledger.register_private(ids[who], ref.task_id, reg.data_commitment(SPEC), reg.seed_commitment())
        regs[who] = reg
    ledger.open_round(ids["owner"], ref.task_id)
    yield ledger, ids, ref.task_id, regs
    ledger.close()


def _proof(prover, ledger, task, who, reg, **change):
    view = ledger.task(task)
    old = [protocol.decode_signed(u, SPEC.weight_bits) for u in view.model]
    args = dict(features=reg.features, labels=reg.labels, n=reg.n, salt=reg.salt, seed=reg.seed,
                randomness=view.randomness)
    args.update(change)
    inputs = dp_circuit.private_inputs(SPEC, old, args["features"], args["labels"], args["n"], args["salt"],
                                       args["seed"], args["randomness"], task_id=task, sender=who.address,
                                       round_=view.round, lr_q=view.lr_q)
    res = prover.prove(inputs)
    weights = [protocol.encode_signed(w, SPEC.weight_bits) for w in res.new_weights]
    return weights, sui_bytes.proof_bytes_from_snarkjs(res.proof_json)


def _rejected(fn, *a) -> str:
    with pytest.raises(ProtocolError) as e:
        fn(*a)
    return e.value.name


def test_honest_private_update_is_accepted_and_counted(world, prover):
    ledger, ids, task, regs = world
    weights, proof = _proof(prover, ledger, task, ids["alice"], regs["alice"])
    ledger.submit_private_update(ids["alice"], task, weights, proof)
    assert ledger.contributions(task, ids["alice"].address) == 1
    assert ledger.contributions(task, ids["bob"].address) == 0


@pytest.mark.parametrize("change", ["other records", "another seed", "another round's randomness", "bob's data"])
def test_real_proofs_of_other_private_steps_are_rejected(world, prover, change):
    """Each is a valid proof of the private circuit, but not of the step the contract binds: the
    registered data and seed of the sender, this round's randomness."""
    ledger, ids, task, regs = world
    reg = regs["alice"]
    if change == "other records":
        x = [list(r) for r in reg.features]
        x[0][0] = x[0][0] + 1 if x[0][0] < 15 else x[0][0] - 1
        kw = dict(features=x)
    elif change == "another seed":
        kw = dict(seed=reg.seed + 1)
    elif change == "another round's randomness":
        kw = dict(randomness=bytes(32))
    else:  # a proof on another registered client's data, sent by alice
        b = regs["bob"]
        kw = dict(features=b.features, labels=b.labels, n=b.n, salt=b.salt, seed=b.seed)
    weights, proof = _proof(prover, ledger, task, ids["alice"], reg, **kw)
    assert _rejected(ledger.submit_private_update, ids["alice"], task, weights, proof) == "EInvalidProof"
    assert ledger.contributions(task, ids["alice"].address) == 0


def test_a_proof_of_the_ordinary_step_is_rejected(world, tmp_path):
    """A non-private step (no clipping, no noise, a batch the client chose) proven with the
    ordinary circuit of the same shape cannot pass as a private update, nor be sent as an
    ordinary one."""
    ledger, ids, task, regs = world
    plain = dataclasses.replace(SPEC, privacy=None)
    pkeys = ensure_keys(plain)
    view = ledger.task(task)
    old = [protocol.decode_signed(u, SPEC.weight_bits) for u in view.model]
    from wafl_sui.zk import witness

    reg = regs["alice"]
    inputs = witness.step_inputs(plain, old, reg.features[:4], reg.labels[:4], salt=5, task_id=task,
                                 sender=ids["alice"].address, round_=view.round, lr_q=view.lr_q)
    p = make_prover(pkeys.artifacts, pkeys.setup)
    try:
        res = p.prove(inputs)
    finally:
        p.close()
    weights = [protocol.encode_signed(w, SPEC.weight_bits) for w in res.new_weights]
    proof = sui_bytes.proof_bytes_from_snarkjs(res.proof_json)
    assert _rejected(ledger.submit_private_update, ids["alice"], task, weights, proof) == "EInvalidProof"
    assert _rejected(ledger.submit_update, ids["alice"], task, weights, int(res.public_signals[2]), proof) == "EPrivateTask"


def test_the_budget_stops_a_client(world, prover):
    ledger, ids, task, regs = world
    for rnd in range(PARAMS.max_contributions):
        for who in ("alice", "bob"):
            weights, proof = _proof(prover, ledger, task, ids[who], regs[who])
            ledger.submit_private_update(ids[who], task, weights, proof)
        ledger.aggregate_round(ids["owner"], task)
        ledger.open_round(ids["owner"], task)
    weights, proof = _proof(prover, ledger, task, ids["alice"], regs["alice"])
    assert _rejected(ledger.submit_private_update, ids["alice"], task, weights, proof) == "EPrivacyBudgetSpent"
    assert privacy.DpParams.from_dict(ledger.privacy(task).to_dict()).max_contributions == 2
