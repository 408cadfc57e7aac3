"""Proofs of the step circuit: honest proofs verify, proofs against tampered public inputs do not.

Fast part: a small spec with the development setup and groth16py (seconds). The ceremony path
with the snarkjs prover builds a 2^12 powers of tau once (~1 min): marked slow.
"""

from __future__ import annotations

import random

import pytest

from wafl_sui import protocol
from wafl_sui.zk import circuit
from wafl_sui.zk import setup as groth16_setup
from wafl_sui.zk import prover as pv
from wafl_sui.zk import witness as wt
from wafl_sui.protocol import WIDE_FORMAT, StepSpec

SPEC = StepSpec(features=4, classes=3, batch_size=2, **WIDE_FORMAT)
TASK, SENDER = "0x" + "11" * 32, "0x" + "22" * 32


def make_inputs(seed=0, **over):
    rng = random.Random(seed)
    w = [rng.randint(-(1 << 20), 1 << 20) for _ in range(SPEC.num_weights)]
    x = [[rng.randint(SPEC.feature_min, SPEC.feature_max) for _ in range(SPEC.features)]
         for _ in range(SPEC.batch_size)]
    y = [[1, 0, 0], [0, 0, 1]]
    kw = dict(salt=99, task_id=TASK, sender=SENDER, round_=4, lr_q=3000)
    kw.update(over)
    return w, x, y, kw


@pytest.fixture(scope="module")
def art():
    return circuit.build(SPEC)


@pytest.fixture(scope="module")
def dev_prover(art):
    keys = groth16_setup.dev_setup(art)
    p = pv.Prover(art, keys, backend="groth16py")
    yield p
    p.close()


@pytest.fixture(scope="module")
def honest(dev_prover):
    w, x, y, kw = make_inputs()
    si = wt.step_inputs(SPEC, w, x, y, **kw)
    return si, dev_prover.prove(si)


def sui_verify(res) -> bool:
    """The Sui byte-level verifier on a proof (an import failure is a failure, not a pass)."""
    from wafl_sui.zk import sui_bytes as sg

    return sg.verify_raw(sg.vk_bytes_from_snarkjs(res.vk_json), protocol.public_inputs_bytes(res.public_signals),
                         sg.proof_bytes_from_snarkjs(res.proof_json))


def test_honest_proof_verifies_everywhere(honest, dev_prover):
    si, res = honest
    assert res.setup == "dev-insecure" and res.backend == "groth16py"
    assert res.public_signals == [str(v) for v in si.public_signals]
    assert res.new_weights == protocol.local_training(si.weights, si.features, si.labels, si.lr_q, SPEC)
    assert set(res.proof_json) >= {"pi_a", "pi_b", "pi_c", "protocol", "curve"}
    assert all(isinstance(v, str) for v in res.proof_json["pi_a"])
    assert res.vk_json["nPublic"] == 4 and res.vk_json["protocol"] == "groth16"
    assert dev_prover.verify(res.proof_json, res.public_signals)
    assert pv.groth16py_verify(res.vk_json, res.public_signals, res.proof_json)
    assert pv.snarkjs_verify(res.vk_json, res.public_signals, res.proof_json)
    assert sui_verify(res) is True
    assert res.witness_seconds > 0 and res.prove_seconds > 0


def _tampered_publics(si):
    """Public inputs recomputed from tampered values, one field at a time."""
    s = SPEC
    old, new, data, ctx = si.public_signals
    new_w = list(si.new_weights)
    new_w[1] += 1
    old_w = list(si.weights)
    old_w[0] -= 1
    x2 = [list(r) for r in si.features]
    x2[0][0] = x2[0][0] + 1 if x2[0][0] < s.feature_max else x2[0][0] - 1
    cases = {
        "new weights": [old, protocol.model_commitment(new_w, s), data, ctx],
        "old weights": [protocol.model_commitment(old_w, s), new, data, ctx],
        "data (features)": [old, new, protocol.data_commitment(x2, si.labels, si.salt, s), ctx],
        "data (salt)": [old, new, protocol.data_commitment(si.features, si.labels, si.salt + 1, s), ctx],
        "round": [old, new, data, protocol.context_hash(TASK, SENDER, si.round + 1, si.lr_q)],
        "lr": [old, new, data, protocol.context_hash(TASK, SENDER, si.round, si.lr_q + 1)],
        "sender": [old, new, data, protocol.context_hash(TASK, "0x" + "33" * 32, si.round, si.lr_q)],
        "task": [old, new, data, protocol.context_hash("0x" + "44" * 32, SENDER, si.round, si.lr_q)],
        "swapped models": [new, old, data, ctx],
    }
    return {k: [str(v) for v in vals] for k, vals in cases.items()}


def test_tampered_public_inputs_rejected(honest, dev_prover):
    si, res = honest
    for name, pub in _tampered_publics(si).items():
        assert pub != res.public_signals, name
        assert not dev_prover.verify(res.proof_json, pub), name
        assert not pv.groth16py_verify(res.vk_json, pub, res.proof_json), name
    # snarkjs is slower to start: check a few
    cases = _tampered_publics(si)
    for name in ("new weights", "data (salt)", "sender"):
        assert not pv.snarkjs_verify(res.vk_json, cases[name], res.proof_json), name


def test_tampered_public_rejected_by_sui_encoder(honest):
    from wafl_sui.zk import sui_bytes as sg

    si, res = honest
    vk = sg.vk_bytes_from_snarkjs(res.vk_json)
    proof = sg.proof_bytes_from_snarkjs(res.proof_json)
    assert sg.verify_raw(vk, protocol.public_inputs_bytes(res.public_signals), proof)
    for name in ("new weights", "round", "task"):
        pub = _tampered_publics(si)[name]
        assert not sg.verify_raw(vk, protocol.public_inputs_bytes(pub), proof), name


def test_fast_sui_verifier_on_a_real_proof(honest):
    """The ledger's fast verifier (from the prepared key) and the py_ecc reference agree on a
    proof made by our prover, honest and for tampered public inputs."""
    from wafl_sui.zk import sui_bytes as sg

    si, res = honest
    vk = sg.vk_bytes_from_snarkjs(res.vk_json)
    proof = sg.proof_bytes_from_snarkjs(res.proof_json)
    pvk = sg.prepare_verifying_key(vk)
    fv = sg.FastVerifier(pvk)
    assert fv.fast, fv.slow_reason
    good = protocol.public_inputs_bytes(res.public_signals)
    assert fv.verify(good, proof) and sg.verify_prepared(pvk, good, proof)
    assert sg.verify_groth16_proof(pvk, good, proof)
    cases = _tampered_publics(si)
    for name, pub in cases.items():
        assert not sg.verify_prepared(pvk, protocol.public_inputs_bytes(pub), proof), name
    for name in ("new weights", "sender"):  # the reference is ~1 s a proof: two of them
        assert not sg.verify_groth16_proof(pvk, protocol.public_inputs_bytes(cases[name]), proof), name


def test_backends_are_classes_behind_one_interface(art, dev_prover):
    assert set(pv.BACKENDS) == {"groth16py", "snarkjs"}
    assert pv.BACKENDS["groth16py"] is pv.Groth16pyProver and pv.BACKENDS["snarkjs"] is pv.SnarkjsProver
    assert all(issubclass(c, pv.Prover) for c in pv.BACKENDS.values())
    assert isinstance(dev_prover, pv.Groth16pyProver) and dev_prover.backend == "groth16py"
    assert dev_prover.load_seconds >= 0
    with pv.make_prover(art, dev_prover.keys, "groth16py") as p:
        assert type(p) is pv.Groth16pyProver and p.keys.kind == "dev-insecure"
    with pv.Prover(art, dev_prover.keys) as p:  # the old call: backend defaults to groth16py
        assert type(p) is pv.Groth16pyProver
    with pytest.raises(pv.ProverError, match="unknown prover backend"):
        pv.make_prover(art, dev_prover.keys, "rapidsnark")
    with pytest.raises(pv.ProverError, match="zkey"):
        pv.make_prover(art, dev_prover.keys, "snarkjs")
    with pytest.raises(pv.ProverError, match="zkey"):
        pv.SnarkjsProver(art, dev_prover.keys)
    with pytest.raises(pv.ProverError, match="not 'snarkjs'"):
        pv.Groth16pyProver(art, dev_prover.keys, "snarkjs")
    with pytest.raises(TypeError):  # the base is abstract: a backend implements _load and _prove_witness
        type("Half", (pv.Prover,), {"name": "half"})(art, dev_prover.keys)


def test_negative_field_encoding_proves(dev_prover):
    w, x, y, kw = make_inputs(3)
    si = wt.step_inputs(SPEC, w, x, y, **kw)
    res = dev_prover.prove(si, negative="field")
    assert dev_prover.verify(res.proof_json, res.public_signals)


def test_prover_errors(art, tmp_path):
    keys = groth16_setup.load_keys(art, "dev-insecure") if _has_dev(art) else groth16_setup.dev_setup(art)
    with pytest.raises(pv.ProverError, match="unknown prover backend"):
        pv.Prover(art, keys, backend="rapidsnark")
    with pytest.raises(pv.ProverError, match="ceremony") as e:
        pv.Prover(art, keys, backend="snarkjs")
    assert "zkey" in str(e.value)
    other = StepSpec(features=4, classes=2, batch_size=2, **WIDE_FORMAT)
    w = [0] * other.num_weights
    si = wt.step_inputs(other, w, [[0] * 4] * 2, [[1, 0], [0, 1]], salt=1, task_id=TASK, sender=SENDER,
                        round_=1, lr_q=1)
    with pv.Prover(art, keys) as p:
        with pytest.raises(pv.ProverError, match="different spec"):
            p.prove(si)
        with pytest.raises(pv.ProverError, match="StepInputs"):
            p.prove({"W": []})  # type: ignore[arg-type]
    import dataclasses
    foreign = dataclasses.replace(keys, meta={**keys.meta, "circuit_hash": "0123456789abcdef"})
    with pytest.raises(pv.ProverError, match="belong to circuit"):
        pv.Prover(art, foreign)
    broken = dataclasses.replace(art, wasm=tmp_path / "missing.wasm")
    with pytest.raises(pv.ProverError, match="missing circuit artifact"):
        pv.Prover(broken, keys)


def _has_dev(art):
    try:
        groth16_setup.load_keys(art, "dev-insecure")
        return True
    except groth16_setup.SetupError:
        return False


def test_eth_blob_conversion_rejects_bad_length():
    with pytest.raises(pv.ProverError):
        pv.eth_blob_to_snarkjs(b"\0" * 10)


# --------------------------------------------------------------------------- ceremony (slow)




@pytest.mark.slow
def test_ceremony_keys_both_provers(art, test_ptau):
    keys = groth16_setup.ceremony_setup(art, test_ptau(), contributions=["entropy one", "entropy two"],
                                        force=True)
    assert keys.kind == "ceremony" and keys.zkey is not None and keys.meta["verified"]
    w, x, y, kw = make_inputs(7)
    si = wt.step_inputs(SPEC, w, x, y, **kw)
    results = {}
    for backend in ("snarkjs", "groth16py"):
        with pv.Prover(art, keys, backend=backend) as p:
            res = p.prove(si)
            assert res.setup == "ceremony" and res.backend == backend
            assert p.verify(res.proof_json, res.public_signals)
            assert pv.snarkjs_verify(res.vk_json, res.public_signals, res.proof_json)
            assert pv.groth16py_verify(res.vk_json, res.public_signals, res.proof_json)
            assert sui_verify(res) is True
            bad = _tampered_publics(si)["new weights"]
            assert not p.verify(res.proof_json, bad)
            assert not pv.snarkjs_verify(res.vk_json, bad, res.proof_json)
            results[backend] = res
    assert results["snarkjs"].public_signals == results["groth16py"].public_signals
    # both backends use the same (ceremony) verification key
    assert results["snarkjs"].vk_json == results["groth16py"].vk_json


@pytest.mark.slow
def test_digits_spec_end_to_end():
    """The default digits spec: under 2^16 constraints as measured, formula exact, proof verifies
    with groth16py, snarkjs and the Sui byte-level verifier (~40 s: compile, setup, key load)."""
    spec = StepSpec()
    art = circuit.build(spec)
    assert art.constraints == circuit.constraint_formula(spec)["total"] < 1 << 16
    keys = groth16_setup.dev_setup(art)
    rng = random.Random(9)
    w = [rng.randint(spec.weight_min, spec.weight_max) for _ in range(spec.num_weights)]
    x = [[rng.randint(spec.feature_min, spec.feature_max) for _ in range(spec.features)] for _ in range(spec.batch_size)]
    y = [[1 if c == i % spec.classes else 0 for c in range(spec.classes)] for i in range(spec.batch_size)]
    si = wt.step_inputs(spec, w, x, y, salt=5, task_id=TASK, sender=SENDER, round_=0, lr_q=48)
    with pv.Prover(art, keys) as p:
        res = p.prove(si)
        assert p.verify(res.proof_json, res.public_signals)
    assert pv.snarkjs_verify(res.vk_json, res.public_signals, res.proof_json)
    assert sui_verify(res) is True
    assert res.new_weights == protocol.local_training(w, x, y, 48, spec)


# --------------------------------------------------------------------------- resident witness, shared key
def test_witness_server_matches_a_fresh_generator_and_survives_errors(art, tmp_path):
    """The resident node witness generator writes the same witness as circom's one-shot script,
    answers request after request, reports a rejected input and goes on, and restarts if node dies."""
    w, x, y, kw = make_inputs(5)
    si = wt.step_inputs(SPEC, w, x, y, **kw)
    wt.compute_witness(art, si, tmp_path / "fresh.wtns")
    with wt.WitnessServer(art) as ws:
        ws.compute(si, tmp_path / "a.wtns")
        assert (tmp_path / "a.wtns").read_bytes() == (tmp_path / "fresh.wtns").read_bytes()
        pid = ws._proc.pid
        bad = wt.step_inputs(SPEC, w, x, y, **kw)
        bad.public_signals[1] += 1  # the claimed new model is not the step's
        with pytest.raises(wt.WitnessGenerationError, match="rejected the inputs") as e:
            ws.compute(bad, tmp_path / "bad.wtns")
        assert "Assert Failed" in str(e.value) and not (tmp_path / "bad.wtns").exists()
        ws.compute(si, tmp_path / "b.wtns")  # same process, still serving
        assert ws._proc.pid == pid
        assert wt.read_wtns(tmp_path / "b.wtns") == wt.read_wtns(tmp_path / "fresh.wtns")
        ws._proc.kill()
        ws._proc.wait()
        ws.compute(si, tmp_path / "c.wtns")  # a new node process
        assert ws._proc.pid != pid
        assert (tmp_path / "c.wtns").read_bytes() == (tmp_path / "fresh.wtns").read_bytes()
    assert ws._proc is None


def _prove_in_child(conn, art, keys):
    from wafl_sui.zk import setup as s

    conn.send(len(s._RESIDENT))  # inherited from the parent: nothing read from disk here
    w, x, y, kw = make_inputs(6)
    with pv.Prover(art, keys) as p:
        res = p.prove(wt.step_inputs(SPEC, w, x, y, **kw))
        conn.send(p.verify(res.proof_json, res.public_signals))


def test_a_forked_process_proves_with_the_parents_loaded_key(art, dev_prover):
    """The simulator's client host loads the proving key once and forks the clients: a forked
    child proves with the inherited key, and the key is loaded once per process, by file."""
    import multiprocessing as mp

    keys = dev_prover.keys
    assert groth16_setup.proving_key(keys) is groth16_setup.proving_key(keys) is dev_prover._pk
    parent, child = mp.get_context("fork").Pipe()
    proc = mp.get_context("fork").Process(target=_prove_in_child, args=(child, art, keys))
    proc.start()
    assert parent.recv() >= 1
    assert parent.recv() is True
    proc.join(timeout=60)
    assert proc.exitcode == 0
