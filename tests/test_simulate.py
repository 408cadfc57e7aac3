"""`wafl simulate` end to end on the local ledger, with real proofs at a small size (iris: D=4,
C=3, batch 4): the JSON summary, the model export, resume after a killed run, a finished run,
forged updates rejected, and bad options."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from wafl_sui.cli import main

SMALL = ["--dataset", "iris", "--batch-size", "4", "--clients", "2", "--quiet"]


def _run(args, _home=None):
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WAFL_HOME", os.environ["WAFL_HOME"])  # share compiled circuits with the session
    return tmp_path


def _summary(out: str) -> dict:
    return json.loads(out[out.index("{"):])


def _held_out_accuracy(z, seed: int, test_fraction: float) -> tuple[float, float]:
    """The exported model's accuracy on iris' held-out rows, computed here from the .npz and the
    documented split and scaling (not through the simulator's code), and the zero model's."""
    from sklearn.datasets import load_iris

    data = load_iris()
    perm = np.random.default_rng(seed).permutation(len(data.target))  # datasets.split's documented split
    held_out = perm[: max(1, int(round(len(perm) * test_fraction)))]
    x, y = data.data[held_out], data.target[held_out]
    sc = json.loads(str(z["scaling"]))  # clip((x - center) / (high - low), -1, 1)
    low, high, center = (np.asarray(sc[k], dtype=np.float64) for k in ("low", "high", "center"))
    xs = np.clip((x - center) / (high - low), -1.0, 1.0)
    w = np.asarray(z["weights"], dtype=np.float64)  # (C, D + 1), bias last
    scores = xs @ w[:, :-1].T + w[:, -1]
    return float(np.mean(scores.argmax(axis=1) == y)), float(np.mean(y == 0))  # all-zero scores: class 0


@pytest.mark.slow
def test_simulate_json_summary_model_export_and_rerun(home):
    ledger, metrics = home / "l.sqlite", home / "m.sqlite"
    args = ["simulate", *SMALL, "--rounds", "3", "--ledger", str(ledger), "--metrics", str(metrics),
            "--model-out", str(home / "model.npz"), "--report-dir", str(home / "report"), "--json"]
    r = _run(args, home)
    assert r.exit_code == 0, r.output
    s = _summary(r.stdout)
    for k in ("task_id", "ledger", "dataset", "clients", "rounds", "rule", "final_accuracy", "final_loss",
              "float_baseline_accuracy", "updates_accepted", "updates_rejected", "proofs_verified",
              "prove_seconds_median", "verify_seconds_median", "wall_seconds", "model_file"):
        assert k in s, k
    assert s["rounds"] == 3 and s["updates_accepted"] == 6 and s["updates_rejected"] == 0
    assert s["proofs_verified"] == 6 and s["prove_seconds_median"] > 0 and s["verify_seconds_median"] > 0
    z = np.load(s["model_file"])
    assert z["weights"].shape == (3, 5) and z["weights_int"].shape == (3, 5)
    k = json.loads(str(z["spec"]))["frac_bits"]
    assert np.allclose(z["weights"], z["weights_int"] / 2 ** k) and str(z["task_id"]) == s["task_id"]
    # the federation learns, and the exported model scores what the summary says on the held-out data
    acc, initial = _held_out_accuracy(z, seed=0, test_fraction=0.2)
    assert acc == pytest.approx(s["final_accuracy"], abs=5e-5)  # the summary gives 4 decimals; 1 row = 0.033
    assert acc >= 0.5 and acc >= initial + 0.25, (acc, initial)  # chance is 1/3; the zero model scores `initial`
    assert (home / "report" / "report.html").is_file() and (home / "report" / "accuracy.png").is_file()
    # the same command again: the task is finished, nothing is re-proven
    args[args.index("--model-out") + 1] = str(home / "model2.npz")
    r2 = CliRunner().invoke(main, [a for a in args if a != "--quiet"], catch_exceptions=False)
    assert r2.exit_code == 0, r2.output
    s2 = _summary(r2.stdout)
    assert s2["task_id"] == s["task_id"] and s2["updates_accepted"] == 6
    assert "already finished" in r2.stderr
    # wafl model export gives the same weights
    r3 = _run(["model", "export", "--task", s["task_id"], "--ledger", str(ledger), "--metrics", str(metrics),
               "--out", str(home / "again.npz")], home)
    assert r3.exit_code == 1 and "--allow-dev-key" in r3.output and not (home / "again.npz").exists()
    r3 = _run(["model", "export", "--task", s["task_id"], "--ledger", str(ledger), "--metrics", str(metrics),
               "--out", str(home / "again.npz"), "--allow-dev-key"], home)
    assert r3.exit_code == 0, r3.output
    assert np.array_equal(np.load(home / "again.npz")["weights_int"], z["weights_int"])
    scaling = json.loads(str(np.load(home / "again.npz")["scaling"]))
    assert len(scaling["low"]) == len(scaling["center"]) == 4
    # the simulated task carries its data contract, as a created one does: clients joining it read it
    from wafl_sui.client import manifest as task_manifest
    from wafl_sui.ledger import open_ledger

    with open_ledger(str(ledger), read_only=True) as led:
        contract = task_manifest.read(led, s["task_id"])
    assert contract is not None and contract.class_names == ("setosa", "versicolor", "virginica")
    assert [float(v) for v in contract.scaling.low] == scaling["low"]
    r4 = _run(["model", "export", "--task", s["task_id"], "--ledger", str(ledger), "--out", str(home / "again.npz")], home)
    assert r4.exit_code == 1 and "exists" in r4.output


@pytest.mark.slow
def test_forged_updates_are_all_rejected(home):
    args = ["simulate", "--dataset", "iris", "--batch-size", "4", "--clients", "3", "--attackers", "1",
            "--attack", "forged-update", "--rounds", "2", "--quiet", "--json",
            "--ledger", str(home / "l.sqlite"), "--metrics", str(home / "m.sqlite")]
    r = _run(args, home)
    assert r.exit_code == 0, r.output
    s = _summary(r.stdout)
    assert s["forged_accepted"] == 0 and s["rejected_by_error"] == {"EInvalidProof": 2}
    assert s["updates_accepted"] == 4 and s["proofs_verified"] == 6


@pytest.mark.slow
def test_a_killed_run_resumes_from_the_ledger(home):
    ledger, metrics = home / "l.sqlite", home / "m.sqlite"
    cmd = [sys.executable, "-m", "wafl_sui.cli.main", "simulate", *SMALL, "--rounds", "4", "--ledger", str(ledger),
           "--metrics", str(metrics), "--json"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True)
    from wafl_sui.ledger import open_ledger

    deadline = time.monotonic() + 300
    task_round = 0
    while time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.5)
        if ledger.exists():
            try:
                with open_ledger(str(ledger)) as lg:
                    views = lg.tasks()
                    task_round = views[0].round if views else 0
            except Exception:  # the file may be mid-creation
                continue
            if task_round >= 1:
                break
    assert task_round >= 1, "the first run did not finish a round in time"
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    r = CliRunner().invoke(main, [c for c in cmd[3:] if c != "--quiet"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    s = _summary(r.stdout)
    assert "resuming task" in r.stderr
    assert s["rounds"] == 4 and s["finished"] and s["updates_accepted"] == 8  # no update lost or duplicated


def test_bad_options_are_clear(home):
    r = _run(["simulate", "--attackers", "1"], home)
    assert r.exit_code == 1 and "--attack" in r.output and "Traceback" not in r.output
    r = _run(["simulate", "--dataset", str(home / "missing.csv")], home)
    assert r.exit_code == 1 and "neither a bundled dataset" in r.output
    (home / "bad.csv").write_text("a,b,label\n1,oops,0\n2,3,1\n4,5,0\n")
    r = _run(["simulate", "--dataset", str(home / "bad.csv"), "--ledger", str(home / "l.sqlite")], home)
    assert r.exit_code == 1 and "row 2, column 'b'" in r.output
    r = _run(["simulate", "--clients", "2", "--attackers", "2", "--attack", "forged-update"], home)
    assert r.exit_code == 1 and "keep one honest client" in r.output
    r = _run(["simulate", "--network", "testnet", "--ledger", "x.sqlite"], home)
    assert r.exit_code == 2 and "does not go with --network" in r.output


def test_a_learning_rate_the_spec_cannot_hold_is_clear(home):
    r = _run(["simulate", *SMALL, "--lr", "100", "--ledger", str(home / "l.sqlite")], home)
    assert r.exit_code == 1 and "learning rate 100.0" in r.output and "lr_bits" in r.output
    assert "Traceback" not in r.output and not (home / "l.sqlite").exists()


def test_a_failed_circuit_set_up_in_the_client_host_is_reported(tmp_path, monkeypatch):
    """The client host compiles the circuit (here it cannot: no node); its error reaches the
    user as one clear message, the coordinator and the host exit, and no task is created."""
    monkeypatch.setenv("WAFL_HOME", str(tmp_path / "home"))  # an empty cache: the host must compile
    monkeypatch.setenv("WAFL_NODE", str(tmp_path / "no-such-node"))
    r = _run(["simulate", *SMALL, "--rounds", "1", "--ledger", str(tmp_path / "l.sqlite")])
    assert r.exit_code == 1, r.output
    assert "the circuit set-up failed" in r.output and "WAFL_NODE" in r.output
    assert "Traceback" not in r.output
    from wafl_sui.ledger import open_ledger

    with open_ledger(str(tmp_path / "l.sqlite")) as lg:
        assert lg.tasks() == []
