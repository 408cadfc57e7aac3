"""Bring your own Flax model (wafl_sui.models): architecture and initial weights read from an nnx
module, clear errors for what WaFL cannot prove, the export format, and `wafl prove --demo --model`."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pytest
from click.testing import CliRunner
from flax import nnx

from wafl_sui import models, protocol
from wafl_sui.client import export
from wafl_sui.protocol import StepSpec


def test_from_flax_reads_a_sequential_mlp():
    net = models.make_mlp(64, (32,), 10, seed=3)
    m = models.from_flax(net)
    assert m.spec.layer_dims == (64, 32, 10) and m.spec.num_weights == 2410
    k0 = np.asarray(net.layers[0].kernel.get_value())  # (in, out)
    assert m.weights[0] == int(np.floor(k0[0, 0] * 1024 + 0.5))  # row 0 = output unit 0, input 0
    assert m.weights[64] == 0  # its bias (Flax initializes biases to zero)
    # seeded: the same seed, the same initial model; another seed, another one
    assert models.from_flax(models.make_mlp(64, (32,), 10, seed=3)).weights == m.weights
    assert models.from_flax(models.make_mlp(64, (32,), 10, seed=4)).weights != m.weights


def test_from_flax_reads_a_module_holding_layers():
    class Net(nnx.Module):
        def __init__(self, rngs):
            self.fc1 = nnx.Linear(6, 5, rngs=rngs)
            self.act = models.ClampedReLU(2.0)
            self.fc2 = nnx.Linear(5, 3, rngs=rngs)

    m = models.from_flax(Net(nnx.Rngs(0)), StepSpec(features=6, classes=3))
    assert m.spec.hidden == (5,) and m.spec.act_bits == 7  # max 2.0 ~ 127/64
    assert m.spec.architecture()[0]["max"] == 127 / 64


@pytest.mark.parametrize("layers,fragment", [
    (lambda r: [nnx.Linear(4, 3, rngs=r), nnx.relu, nnx.Linear(3, 2, rngs=r)], "layer 1 (relu) is not supported"),
    (lambda r: [nnx.Linear(4, 3, rngs=r), nnx.Dropout(0.5, rngs=r), nnx.Linear(3, 2, rngs=r)], "layer 1 (Dropout)"),
    (lambda r: [nnx.Linear(4, 3, rngs=r), nnx.Linear(3, 2, rngs=r)], "two Linear layers in a row"),
    (lambda r: [nnx.Linear(4, 3, rngs=r), models.ClampedReLU()], "must end with an nnx.Linear"),
    (lambda r: [nnx.Linear(4, 3, rngs=r), models.ClampedReLU(), nnx.Linear(5, 2, rngs=r)], "takes 5 inputs"),
    (lambda r: [nnx.Linear(4, 3, use_bias=False, rngs=r)], "without bias"),
])
def test_unsupported_models_name_the_layer_and_what_is_supported(layers, fragment):
    with pytest.raises(models.ModelError, match=re.escape(fragment)) as e:
        models.from_flax(nnx.Sequential(*layers(nnx.Rngs(0))))
    if "not supported" in fragment or "Dropout" in fragment:
        assert "nnx.Linear" in str(e.value) and "ClampedReLU" in str(e.value)


def test_model_file_factory(tmp_path):
    f = tmp_path / "my_model.py"
    f.write_text("from flax import nnx\nfrom wafl_sui.models import ClampedReLU\n"
                 "def make_model():\n"
                 "    r = nnx.Rngs(1)\n"
                 "    return nnx.Sequential(nnx.Linear(64, 8, rngs=r), ClampedReLU(4.0), nnx.Linear(8, 10, rngs=r))\n"
                 "def broken():\n    raise RuntimeError('boom')\n")
    m = models.resolve(f"{f}:make_model", (), StepSpec())
    assert m.spec.layer_dims == (64, 8, 10)
    with pytest.raises(models.ModelError, match="calling it failed: RuntimeError: boom"):
        models.resolve(f"{f}:broken", (), StepSpec())
    with pytest.raises(models.ModelError, match="has no function 'nope'"):
        models.resolve(f"{f}:nope", (), StepSpec())
    with pytest.raises(models.ModelError, match="expected FILE.py:FUNCTION"):
        models.resolve("resnet", (), StepSpec())
    with pytest.raises(models.ModelError, match="the data has 4 features"):
        models.resolve(f"{f}:make_model", (), StepSpec(features=4, classes=10))


def test_export_format_loads_back_into_the_same_module(tmp_path):
    net = models.make_mlp(6, (5,), 3, seed=2)
    m = models.from_flax(net, StepSpec(features=6, classes=3))
    spec = m.spec
    encoded = [protocol.encode_signed(w, spec.weight_bits) for w in m.weights]
    view = SimpleNamespace(spec=spec, model=encoded, task_id="0x" + "00" * 32, round=3, model_commitment=5)
    path = export.export_model(view, tmp_path / "model.npz")
    z = np.load(path)
    arch = json.loads(str(z["architecture"]))
    assert arch == spec.architecture() and "weights" not in z.files
    assert z["layer_0_kernel"].shape == (6, 5) and z["layer_1_bias"].shape == (3,)
    # applying the layers as documented = the nnx module with the loaded weights
    fresh = models.make_mlp(6, (5,), 3, seed=99)
    export.load_into(fresh, path)
    x = np.random.default_rng(0).normal(size=(4, 6))
    a = x
    for i, layer in enumerate(arch):
        a = a @ z[f"layer_{i}_kernel"] + z[f"layer_{i}_bias"]
        if layer["activation"] == "relu":
            a = np.clip(a, 0, layer["max"])
    np.testing.assert_allclose(np.asarray(fresh(jnp.asarray(x, dtype=jnp.float32))), a, atol=1e-4)
    assert models.from_flax(fresh, spec).weights == m.weights


def test_linear_export_keeps_its_weights_array(tmp_path):
    spec = StepSpec(features=3, classes=2, batch_size=1)
    w = [1, -2, 3, 4, 5, -6, 7, 8]
    view = SimpleNamespace(spec=spec, model=[protocol.encode_signed(v, spec.weight_bits) for v in w],
                           task_id="0x" + "00" * 32, round=0, model_commitment=1)
    z = np.load(export.export_model(view, tmp_path / "m.npz"))
    assert z["weights_int"].tolist() == [w[:4], w[4:]]
    assert z["layer_0_kernel"].tolist() == (np.array([w[:3], w[4:7]]).T / 1024).tolist()


def test_prove_demo_model_errors_are_one_line():
    from wafl_sui.cli import main

    r = CliRunner().invoke(main, ["prove", "--demo", "--model", "linear", "--hidden", "8"])
    assert r.exit_code != 0 and "Error: --hidden needs --model mlp" in r.output
    assert "Traceback" not in r.output


@pytest.mark.slow
def test_prove_demo_mlp_json(tmp_path, monkeypatch):
    """`wafl prove --demo --model mlp --hidden 4 --json`: one proven MLP step, verified on the
    Sui bytes, with the architecture in the summary (43,138 constraints: compile + dev setup)."""
    from wafl_sui.cli import main

    monkeypatch.setenv("WAFL_HOME", str(tmp_path))
    r = CliRunner().invoke(main, ["prove", "--demo", "--model", "mlp", "--hidden", "4", "--seed", "1", "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    o = json.loads(r.output[r.output.index("{"):])
    assert o["verified"] is True
    assert o["architecture"][0] == {"in": 64, "out": 4, "activation": "relu", "max": 255 / 64}
    assert len(bytes.fromhex(o["public_inputs"])) == 4 * 32
