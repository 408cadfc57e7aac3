"""`wafl setup`, `wafl prove` and `wafl verify` end to end on a small spec (compiles a circuit)."""

import json
import os

import pytest
from click.testing import CliRunner

from wafl_sui import protocol as P
from wafl_sui.cli import main
from wafl_sui.client.stepfile import DEMO_SENDER, DEMO_TASK_ID

SPEC = P.StepSpec(features=4, classes=3, batch_size=2, **P.WIDE_FORMAT)


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module", autouse=True)
def own_wafl_home(tmp_path_factory, wafl_home):
    """Keys of this module only: other modules' ceremony keys for the same specs would be preferred."""
    os.environ["WAFL_HOME"] = str(tmp_path_factory.mktemp("cli-wafl-home"))
    yield
    os.environ["WAFL_HOME"] = wafl_home


@pytest.fixture(scope="module")
def step_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("step")
    step = {
        "spec": SPEC.to_dict(), "task_id": DEMO_TASK_ID, "sender": DEMO_SENDER, "round": 3,
        "lr_q": 2000, "weights": [(-1) ** i * 1000 * i for i in range(SPEC.num_weights)],
        "features": [[16, -32, 0, 31], [1, 2, 3, 4]], "labels": [2, 0], "salt": "12345",
    }
    p = d / "step.json"
    p.write_text(json.dumps(step))
    return p


@pytest.fixture(scope="module")
def proved(step_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "proof.json"
    r = run("prove", "--step", str(step_file), "--json", "--quiet", "--out", str(out))
    assert r.exit_code == 0, r.output
    return json.loads(r.output), out


def test_prove_outputs_sui_bytes_that_verify(proved, step_file):
    res, out = proved
    assert res["verified"] is True and res["setup"] == "dev-insecure"
    assert len(bytes.fromhex(res["proof"])) == 128 and len(bytes.fromhex(res["public_inputs"])) == 128
    step = json.loads(step_file.read_text())
    labels = [[int(c == y) for c in range(3)] for y in step["labels"]]
    expect_new = P.local_training(step["weights"], step["features"], labels, step["lr_q"], SPEC)
    assert res["new_weights"] == expect_new
    expect = [
        P.model_commitment(step["weights"], SPEC), P.model_commitment(expect_new, SPEC),
        P.data_commitment(step["features"], labels, 12345, SPEC),
        P.context_hash(DEMO_TASK_ID, DEMO_SENDER, 3, 2000),
    ]
    assert [int(s) for s in res["public_signals"]] == expect
    assert bytes.fromhex(res["public_inputs"]) == P.public_inputs_bytes(expect)
    r = run("verify", "--vk", str(out), "--proof", str(out), "--inputs", str(out), "--json")
    assert r.exit_code == 0 and json.loads(r.output)["verified"] is True


@pytest.mark.parametrize("what", ["new_model", "old_model", "data", "round", "lr", "sender", "task"])
def test_tampered_public_inputs_are_rejected(proved, step_file, what):
    res, out = proved
    step = json.loads(step_file.read_text())
    labels = [[int(c == y) for c in range(3)] for y in step["labels"]]
    w, x = step["weights"], step["features"]
    new = P.local_training(w, x, labels, step["lr_q"], SPEC)
    vals = dict(
        old_model=P.model_commitment(w, SPEC), new_model=P.model_commitment(new, SPEC),
        data=P.data_commitment(x, labels, 12345, SPEC),
        context=P.context_hash(DEMO_TASK_ID, DEMO_SENDER, 3, 2000),
    )
    if what == "new_model":
        vals["new_model"] = P.model_commitment([new[0] + 1] + new[1:], SPEC)
    elif what == "old_model":
        vals["old_model"] = P.model_commitment([w[0] + 1] + w[1:], SPEC)
    elif what == "data":
        vals["data"] = P.data_commitment([[x[0][0] + 1] + x[0][1:]] + x[1:], labels, 12345, SPEC)
    elif what == "round":
        vals["context"] = P.context_hash(DEMO_TASK_ID, DEMO_SENDER, 4, 2000)
    elif what == "lr":
        vals["context"] = P.context_hash(DEMO_TASK_ID, DEMO_SENDER, 3, 2001)
    elif what == "sender":
        vals["context"] = P.context_hash(DEMO_TASK_ID, "0x" + "99" * 32, 3, 2000)
    else:
        vals["context"] = P.context_hash("0x" + "88" * 32, DEMO_SENDER, 3, 2000)
    tampered = P.public_inputs_bytes([vals[k] for k in P.PUBLIC_INPUTS])
    assert tampered != bytes.fromhex(res["public_inputs"])
    r = run("verify", "--vk", str(out), "--proof", str(out), "--inputs", tampered.hex(), "--json")
    assert r.exit_code == 1 and json.loads(r.output)["verified"] is False


def test_setup_reports_insecure_dev_keys():
    r = run("setup", "--set", "features=4", "--set", "classes=3", "--set", "batch_size=2", "--json", "--quiet")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["setup"] == "dev-insecure" and "INSECURE" in out["warning"]


def test_prove_bad_inputs_are_clear(tmp_path, step_file):
    r = run("prove")
    assert r.exit_code == 2 and "--demo or --step" in r.output
    bad = json.loads(step_file.read_text())
    bad["features"][0][0] = 99  # outside 6 signed bits
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad))
    r = run("prove", "--step", str(p), "--quiet")
    assert r.exit_code == 1 and "EValueOutOfBounds" in r.output and "Traceback" not in r.output
    bad = json.loads(step_file.read_text())
    bad["weights"] = bad["weights"][:-1]
    p.write_text(json.dumps(bad))
    r = run("prove", "--step", str(p), "--quiet")
    assert r.exit_code == 1 and "EWrongLength" in r.output
    del bad["spec"]
    p.write_text(json.dumps(bad))
    r = run("prove", "--step", str(p), "--quiet")
    assert r.exit_code == 1 and "missing field" in r.output
    r = run("prove", "--step", str(tmp_path / "nope.json"))
    assert r.exit_code == 1 and "does not exist" in r.output
    r = run("prove", "--step", str(step_file), "--backend", "snarkjs", "--keys", "dev-insecure", "--quiet")
    assert r.exit_code == 1 and "zkey" in r.output


@pytest.mark.slow
def test_ceremony_setup_and_snarkjs_prover_from_the_cli(tmp_path, test_ptau):
    """`wafl setup --ptau` (phase 2 + zkey verify), then both provers on the ceremony keys."""
    spec_args = ["--set", "features=3", "--set", "classes=2", "--set", "batch_size=2"]
    r = run("setup", *spec_args, "--ptau", str(test_ptau()), "--contributions", "2", "--json", "--quiet")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["setup"] == "ceremony" and out["warning"] is None
    r = run("setup", *spec_args, "--ptau", str(test_ptau()), "--quiet")
    assert r.exit_code == 1 and "already exist" in r.output and "nothing was changed" in r.output
    spec = P.StepSpec(features=3, classes=2, batch_size=2)
    step = {"spec": spec.to_dict(), "task_id": DEMO_TASK_ID, "sender": DEMO_SENDER, "round": 0,
            "lr_q": 100, "weights": [5] * spec.num_weights, "features": [[1, 2, 3], [-4, 5, -6]],
            "labels": [0, 1], "salt": "1"}
    p = tmp_path / "step.json"
    p.write_text(json.dumps(step))
    results = []
    for backend in ("snarkjs", "groth16py"):
        r = run("prove", "--step", str(p), "--backend", backend, "--keys", "ceremony", "--json", "--quiet")
        assert r.exit_code == 0, r.output
        res = json.loads(r.output)
        assert res["verified"] and res["setup"] == "ceremony" and res["vk"] == out["vk"]
        results.append(res)
    assert results[0]["public_inputs"] == results[1]["public_inputs"]
