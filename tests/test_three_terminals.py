"""The federation its participants run, as separate processes (the README's three terminals): a
task owner with the config `wafl new` wrote, two clients with their own CSV files (string labels
in different orders, columns in different orders), an evaluator following the task; 3 rounds that
advance by themselves (nobody aggregates by hand); then `wafl status --json` and `wafl report`
show its rounds and accuracy. Also: a client whose file holds one class (a valid non-IID client)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, WAFL_HOME=str(home), PYTHONPATH=str(ROOT))
    env.pop("WAFL_TEST_HOME", None)
    return env


def _wafl(*args: str) -> list[str]:
    return [sys.executable, "-m", "wafl_sui.cli.main", *args]


def _csv(path: Path, names: list[str], x: np.ndarray, labels: list[str]) -> None:
    path.write_text(",".join(names) + ",label\n"
                    + "\n".join(",".join(f"{v:g}" for v in row) + f",{lab}" for row, lab in zip(x, labels)) + "\n")


@pytest.mark.slow
def test_three_terminals_on_the_local_ledger(tmp_path):
    home = tmp_path / "home"
    shutil.copytree(os.environ["WAFL_HOME"], home, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("keys", "*.sqlite*"))
    env = _env(home)

    def run(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess:
        r = subprocess.run(_wafl(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    run("new", "proj")
    proj = tmp_path / "proj"
    for who in ("owner", "alice", "bob"):
        run("keys", "new", "--name", who)
    created = json.loads(run("task", "create", "--config", "wafl.toml", "--key", "owner", "--json", "--quiet",
                             cwd=proj).stdout)
    assert created["name"] == "proj" and created["classes"] == ["setosa", "versicolor", "virginica"]

    # each client's own file: string labels first seen in different orders, columns in different orders
    from wafl_sui.client import datasets

    raw = datasets.load_raw(str(proj / "data" / "client-1.csv"))
    names = list(raw.feature_names)
    labels = [raw.class_names[i] for i in raw.y]
    half = len(labels) // 2
    a_rows = sorted(range(half), key=lambda i: labels[i], reverse=True)  # virginica first
    b_rows = sorted(range(half, len(labels)), key=lambda i: labels[i])  # setosa first
    _csv(tmp_path / "alice.csv", names, raw.x[a_rows], [labels[i] for i in a_rows])
    perm = names[::-1]
    _csv(tmp_path / "bob.csv", perm, raw.x[b_rows][:, [names.index(n) for n in perm]], [labels[i] for i in b_rows])

    # three terminals: the evaluator (the project's script over `wafl task watch`) and two clients
    procs = {
        "evaluator": subprocess.Popen([sys.executable, "evaluate.py", "--evaluate", "data/test.csv", "--allow-dev-key",
                                       "--poll", "0.2"], cwd=proj, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True),
        "alice": subprocess.Popen([sys.executable, "client.py", "--key", "alice", "--data", str(tmp_path / "alice.csv"),
                                   "--allow-dev-key", "--poll", "0.2", "--seed", "1"], cwd=proj, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
        "bob": subprocess.Popen(_wafl("client", "run", "--task", "proj", "--data", str(tmp_path / "bob.csv"),
                                      "--key", "bob", "--allow-dev-key", "--poll", "0.2", "--seed", "2"),
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
    }
    outputs = {}
    deadline = time.monotonic() + 900
    try:
        for name, p in procs.items():
            out, _ = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            outputs[name] = out
            assert p.returncode == 0, (name, out)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.communicate()
    for who in ("alice", "bob"):
        for rnd in range(3):
            assert f"round {rnd}: accepted" in outputs[who], outputs[who]
    aggregated = outputs["alice"] + outputs["bob"]
    for rnd in range(3):  # each round aggregated by a participant, none by hand
        assert f"round {rnd}: aggregated 2 updates" in aggregated, aggregated
    assert "finished" in outputs["evaluator"], outputs["evaluator"]

    status = json.loads(run("status", "--task", "proj", "--json").stdout)
    rounds = {r["round"]: r for r in status["rounds_table"]}
    assert [rounds[n]["accepted"] for n in range(3)] == [2, 2, 2]
    scored = [r for r in status["rounds_table"] if r["accuracy"] is not None]
    assert scored and 2 in {r["round"] for r in scored}  # the final model was scored
    assert all(0 <= float(r["accuracy"]) <= 1 for r in scored)
    report = tmp_path / "report"
    run("report", "--task", "proj", "--out", str(report), "--csv", str(tmp_path / "rounds.csv"))
    assert (report / "report.html").exists()
    rows = (tmp_path / "rounds.csv").read_text().splitlines()
    assert len(rows) >= 4 and "accuracy" in rows[0]


def test_a_client_file_with_one_class_is_valid_under_a_data_contract(tmp_path):
    from wafl_sui.client import datasets
    from wafl_sui.client import manifest as task_manifest
    from wafl_sui.client.datasets import DatasetError

    raw = datasets.load_raw("iris")
    contract = task_manifest.fit(raw, datasets.spec_for(raw, batch_size=2), None)
    one = tmp_path / "one.csv"
    rows = [i for i in range(len(raw.y)) if raw.class_names[raw.y[i]] == "virginica"]
    _csv(one, list(raw.feature_names), raw.x[rows], ["virginica"] * len(rows))
    with pytest.raises(DatasetError, match="at least 2 classes"):  # no contract: a classifier needs 2 classes
        datasets.load_raw(str(one))
    got = task_manifest.conform(datasets.load_raw(str(one), min_classes=1), contract, str(one))
    assert got.classes == 3 and set(got.y.tolist()) == {2}  # virginica is the task's class 2, not this file's 0
