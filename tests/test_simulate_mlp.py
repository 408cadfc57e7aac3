"""The MLP federation end to end: `wafl simulate --model mlp|FILE.py:FN` and `wafl task create
--model ...` on the local ledger with real proofs at a small size (iris: 4-4-3, batch 8), the
export loaded back into the nnx module, proofs of another MLP step refused by the ledger's own
public inputs, and bad `--model` values refused with one `Error:` line before any compile."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from wafl_sui import models, protocol
from wafl_sui.cli import main
from wafl_sui.protocol import AggregationRule, RoundRules, StepSpec

SMALL_MLP = ["--dataset", "iris", "--model", "mlp", "--hidden", "4", "--batch-size", "8", "--clients", "2",
             "--lr", "2"]
MODEL_FILE = """
from flax import nnx
from wafl_sui.models import ClampedReLU

def make_model():
    rngs = nnx.Rngs(3)
    return nnx.Sequential(nnx.Linear(4, 4, rngs=rngs), ClampedReLU(4.0), nnx.Linear(4, 3, rngs=rngs))

def with_dropout():
    rngs = nnx.Rngs(0)
    return nnx.Sequential(nnx.Linear(4, 4, rngs=rngs), nnx.Dropout(0.5, rngs=rngs), nnx.Linear(4, 3, rngs=rngs))

def broken():
    raise RuntimeError("no GPU here")
"""


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def summary_of(out: str) -> dict:
    return json.loads(out[out.index("{"):])


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A private WAFL_HOME for keys and ledgers, reusing the session's compiled circuits."""
    h = tmp_path / "home"
    shutil.copytree(os.environ["WAFL_HOME"], h, dirs_exist_ok=True, ignore=shutil.ignore_patterns("keys", "*.sqlite*"))
    monkeypatch.setenv("WAFL_HOME", str(h))
    (tmp_path / "my_model.py").write_text(MODEL_FILE)
    return h


def held_out_iris(seed: int = 0, test_fraction: float = 0.2):
    """The simulator's held-out split of iris, scaled as it scales it."""
    from wafl_sui.client import datasets

    train_raw, test_raw = datasets.split(datasets.load_raw("iris"), test_fraction, seed)
    return datasets.to_dataset(test_raw, datasets.scaling_for(train_raw))


@pytest.mark.slow
def test_an_mlp_federates_end_to_end_with_every_proof_verified(home, tmp_path):
    from wafl_sui.client import export, model
    from wafl_sui.ledger import open_ledger

    ledger = tmp_path / "l.sqlite"
    r = run("simulate", *SMALL_MLP, "--rounds", "4", "--ledger", str(ledger), "--metrics", str(tmp_path / "m.sqlite"),
            "--model-out", str(tmp_path / "model.npz"), "--json")
    assert r.exit_code == 0, r.output
    s = summary_of(r.stdout)
    assert s["model"] == "mlp" and s["layer_dims"] == [4, 4, 3] and s["num_weights"] == 4 * 5 + 3 * 5
    assert s["architecture"] == [{"in": 4, "out": 4, "activation": "relu", "max": 255 / 64},
                                 {"in": 4, "out": 3, "activation": "hard_sigmoid"}]
    assert s["updates_accepted"] == s["proofs_verified"] == 8 and s["updates_rejected"] == 0
    assert s["final_accuracy"] > s["initial_accuracy"]  # it learned, from a non-zero seeded start
    assert 0 < s["float_baseline_accuracy"] <= 1
    assert "model mlp 4-4-3 (35 weights)" in r.stderr  # the live table's header (on stderr with --json)

    # the task started from the seeded initial model, committed at create_task
    base = StepSpec(features=4, classes=3, batch_size=8)
    initial = models.resolve("mlp", (4,), base, seed=0)
    assert any(w != 0 for w in initial.weights)
    with open_ledger(str(ledger)) as lg:
        view = lg.task(s["task_id"])
        created = [e for e in lg.events(s["task_id"]) if e.type == "TaskCreated"]
    assert view.spec == initial.spec and view.finished
    encoded = [protocol.encode_signed(w, initial.spec.weight_bits) for w in initial.weights]
    assert int(created[0].fields["model_commitment"]) == protocol.model_commitment_encoded(encoded, initial.spec)

    # the export loads back into an nnx module of the architecture and scores what the summary says
    net = export.load_into(models.make_mlp(4, (4,), 3), tmp_path / "model.npz")
    test = held_out_iris()
    assert round(model.evaluate(net, test.x, test.y).accuracy, 4) == s["final_accuracy"]
    z = np.load(tmp_path / "model.npz")
    assert z["layer_0_kernel"].shape == (4, 4) and z["layer_1_kernel"].shape == (4, 3) and "weights" not in z


@pytest.mark.slow
def test_a_user_model_file_federates_and_task_create_commits_its_weights(home, tmp_path):
    """`--model FILE.py:FN`: the user's nnx module's architecture and current weights (same
    circuit as `--model mlp --hidden 4`, so cached); `wafl task create --model` commits them."""
    from wafl_sui.ledger import open_ledger
    from wafl_sui.ledger.identity import Identity

    ref = f"{tmp_path / 'my_model.py'}:make_model"
    r = run("simulate", "--dataset", "iris", "--model", ref, "--batch-size", "8", "--clients", "2", "--rounds", "1",
            "--ledger", str(tmp_path / "l.sqlite"), "--metrics", str(tmp_path / "m.sqlite"), "--json", "--quiet")
    assert r.exit_code == 0, r.output
    s = summary_of(r.stdout)
    assert s["model"] == ref and s["layer_dims"] == [4, 4, 3] and s["proofs_verified"] == 2

    Identity.generate().save(tmp_path / "admin.key")
    r = run("task", "create", "--dataset", "iris", "--model", ref, "--set", "batch_size=8", "--quorum", "2",
            "--ledger", str(tmp_path / "t.sqlite"), "--key", str(tmp_path / "admin.key"), "--json", "--quiet")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["architecture"][0] == {"in": 4, "out": 4, "activation": "relu", "max": 255 / 64}
    user = models.from_flax(models.load_factory(ref)(), StepSpec(features=4, classes=3, batch_size=8))
    with open_ledger(str(tmp_path / "t.sqlite")) as lg:
        view = lg.task(out["task_id"])
    assert view.spec == user.spec
    assert [protocol.decode_signed(u, user.spec.weight_bits) for u in view.model] == user.weights


# --------------------------------------------------------------------------- a proof of another step
def test_a_proof_of_another_mlp_step_does_not_verify(tmp_path):
    """The local ledger builds the public inputs as the contract does (old model commitment, the
    submitted weights' commitment, the data commitment, the context): an honest MLP proof is
    accepted only with its own new weights, data commitment and sender."""
    from wafl_sui.devtools.updates import UpdateMaker
    from wafl_sui.ledger import open_ledger
    from wafl_sui.ledger.identity import Identity
    from wafl_sui.protocol.errors import ProtocolError

    spec = StepSpec(features=4, classes=3, batch_size=2, hidden=(3,))
    maker = UpdateMaker(spec)
    owner, alice, bob = Identity.generate(), Identity.generate(), Identity.generate()
    try:
        with open_ledger(str(tmp_path / "l.sqlite")) as lg:
            ref = lg.create_task(owner, spec, RoundRules(2, 3_600_000, 2, 3_600_000), AggregationRule(0),
                                 maker.lr_q, True, maker.initial_model(seed=1), maker.vk)
            for who in (alice, bob):  # both registered and sampled (2 of 2): only the proof decides
                lg.register(who, ref.task_id)
            lg.open_round(owner, ref.task_id)
            view = lg.task(ref.task_id)
            u = maker.make(view, alice.address, seed=1)
            other = maker.make(view, alice.address, seed=2)  # the same model, another batch
            assert other.new_weights != u.new_weights

            def refused(signer, weights, dc, proof) -> str:
                with pytest.raises(ProtocolError) as e:
                    lg.submit_update(signer, ref.task_id, weights, dc, proof)
                return e.value.name

            tweaked = list(u.new_weights)
            tweaked[-1] += 1  # one output bias off by one unit
            assert refused(alice, tweaked, u.data_commitment, u.proof) == "EInvalidProof"
            assert refused(alice, other.new_weights, u.data_commitment, u.proof) == "EInvalidProof"
            assert refused(alice, u.new_weights, other.data_commitment, u.proof) == "EInvalidProof"
            assert refused(alice, u.new_weights, u.data_commitment, other.proof) == "EInvalidProof"
            assert refused(bob, u.new_weights, u.data_commitment, u.proof) == "EInvalidProof"  # alice's proof
            assert lg.task(ref.task_id).num_updates == 0
            lg.submit_update(alice, ref.task_id, u.new_weights, u.data_commitment, u.proof)
            assert lg.task(ref.task_id).num_updates == 1
    finally:
        maker.close()


# --------------------------------------------------------------------------- bad --model values
@pytest.mark.parametrize("cmd", [["simulate", "--rounds", "1"], ["task", "create", "--key", "k"]])
@pytest.mark.parametrize("model_args, fragment", [
    (["--model", "{dir}/missing.py:make_model"], "is not a file"),
    (["--model", "{dir}/my_model.py:nope"], "has no function 'nope'"),
    (["--model", "{dir}/my_model.py:with_dropout"], "layer 1 (Dropout) is not supported; supported layers: nnx.Linear"),
    (["--model", "{dir}/my_model.py:broken"], "calling it failed: RuntimeError: no GPU here"),
    (["--model", "transformer"], "expected FILE.py:FUNCTION"),
    (["--model", "linear", "--hidden", "8"], "--hidden needs --model mlp"),
    (["--model", "mlp", "--hidden", "4096"], "constraints, over the 1,048,576 WaFL compiles (layers 64-4096-10"),
])  # fmt: skip
def test_bad_models_are_one_error_line_before_any_compile(home, tmp_path, cmd, model_args, fragment):
    args = [a.replace("{dir}", str(tmp_path)) for a in model_args]
    r = run(*cmd, *args, "--ledger", str(tmp_path / "l.sqlite"))
    assert r.exit_code == 1, r.output
    assert f"Error: {fragment}" in r.output or ("Error: " in r.output and fragment in r.output), r.output
    assert "Traceback" not in r.output and not (tmp_path / "l.sqlite").exists()
    assert not list((home / "circuits").glob("*.tmp*")) if (home / "circuits").exists() else True
    assert "compiling" not in r.output


def test_a_model_whose_bounds_do_not_fit_is_refused_before_compiling(home, tmp_path):
    (tmp_path / "wide.py").write_text(
        "from flax import nnx\nfrom wafl_sui.models import ClampedReLU\n"
        "def make():\n    r = nnx.Rngs(0)\n"
        "    return nnx.Sequential(nnx.Linear(64, 8, rngs=r), ClampedReLU(1e12), nnx.Linear(8, 10, rngs=r))\n")
    before = sorted(p.name for p in (home / "circuits").iterdir()) if (home / "circuits").exists() else []
    r = run("simulate", "--model", f"{tmp_path / 'wide.py'}:make", "--ledger", str(tmp_path / "l.sqlite"))
    assert r.exit_code == 1 and "Error: the model's architecture 64-8-10 cannot be proven" in r.output
    assert "act_bits" in r.output and "Traceback" not in r.output
    after = sorted(p.name for p in (home / "circuits").iterdir()) if (home / "circuits").exists() else []
    assert after == before


def test_the_linear_run_id_is_unchanged_by_the_model_options():
    """Runs made before --model existed resume: the linear config's key has no model fields."""
    from wafl_sui.federation.config import ConfigError, SimulationConfig

    old = SimulationConfig()
    assert "model" in old.to_dict()
    import hashlib

    later = ("name", "model", "hidden", "participants_per_round", "dp_epsilon", "dp_delta", "dp_clip", "dp_batch")
    d = {k: v for k, v in old.to_dict().items() if k not in later}
    assert old.run_key() == hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
    assert SimulationConfig(dp_epsilon=8.0).run_key() != old.run_key()  # a private run is another run
    assert SimulationConfig(model="mlp").run_key() != old.run_key()
    assert SimulationConfig(model="mlp", hidden=(16,)).run_key() != SimulationConfig(model="mlp").run_key()
    assert SimulationConfig(model="mlp", hidden=[16]) == SimulationConfig(model="mlp", hidden=(16,))  # from JSON
    with pytest.raises(ConfigError, match="--hidden needs --model mlp"):
        SimulationConfig(hidden=(8,))


def test_the_mlp_float_baseline_trains_from_the_initial_model():
    """Same data, batch N*B, rounds * local steps, from the task's initial model: it beats that
    model on digits, and a zero-step budget scores exactly the initial model."""
    from wafl_sui.client import datasets, model
    from wafl_sui.federation.baseline import float_baseline

    train_raw, test_raw = datasets.split(datasets.load_raw("iris"), 0.2, 0)
    sc = datasets.scaling_for(train_raw)
    train, test = datasets.to_dataset(train_raw, sc), datasets.to_dataset(test_raw, sc)
    m = models.resolve("mlp", (8,), datasets.spec_for(train_raw, batch_size=8), seed=0)
    start = model.evaluate(model.to_flax(m.weights, m.spec), test.x, test.y)
    kw = dict(clients=2, batch_size=8, lr=2.0, spec=m.spec, initial=m.weights)
    trained = float_baseline(train, test, rounds=30, local_steps=2, **kw)
    assert trained.accuracy > start.accuracy + 0.2
    assert float_baseline(train, test, rounds=0, local_steps=1, **kw).accuracy == pytest.approx(start.accuracy)
