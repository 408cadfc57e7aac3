"""`wafl new NAME` and `--config FILE`: the project's files, its config read by `task create` and
`simulate` with command-line options overriding it, and clear errors before any work."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner

from wafl_sui.cli import main
from wafl_sui.cli.config_file import for_simulate, read_config


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture()
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    shutil.copytree(os.environ["WAFL_HOME"], h, dirs_exist_ok=True, ignore=shutil.ignore_patterns("keys", "*.sqlite*"))
    monkeypatch.setenv("WAFL_HOME", str(h))
    monkeypatch.chdir(tmp_path)
    return h


def test_new_writes_a_project_and_never_overwrites(home, tmp_path):
    r = run("new", "fl-demo")
    assert r.exit_code == 0, r.output
    p = tmp_path / "fl-demo"
    for f in ("wafl.toml", "model.py", "client.py", "evaluate.py", "README.md", "data/owner.csv",
              "data/client-1.csv", "data/client-2.csv", "data/test.csv"):
        assert (p / f).is_file(), f
    cfg = read_config(p / "wafl.toml")
    assert cfg["name"] == "fl-demo" and cfg["dataset"] == str((p / "data" / "owner.csv").resolve())
    assert cfg["overrides"] == ["batch_size=2"] and cfg["quorum"] == 2 and cfg["rounds"] == 3
    # string labels, and the two clients' files hold disjoint rows
    c1 = (p / "data" / "client-1.csv").read_text().splitlines()
    c2 = (p / "data" / "client-2.csv").read_text().splitlines()
    assert c1[0] == c2[0] and c1[0].endswith(",label") and c1[1].split(",")[-1] in ("setosa", "versicolor", "virginica")
    assert not set(c1[1:]) & set(c2[1:]) or len(set(c1[1:]) & set(c2[1:])) < 3  # iris has a few duplicate rows
    readme = (p / "README.md").read_text()
    assert "wafl task create --config wafl.toml" in readme and "devnet" in readme
    # the model file builds a model WaFL reads
    from wafl_sui import models
    from wafl_sui.protocol import StepSpec

    m = models.resolve(f"{p / 'model.py'}:build", None, StepSpec(features=4, classes=3, batch_size=2))
    assert m.spec.hidden == (8,) and m.spec.num_weights == len(m.weights)
    # an existing folder: a clear error, nothing touched
    before = (p / "wafl.toml").read_text()
    (p / "wafl.toml").write_text(before + "# mine\n")
    r = run("new", "fl-demo")
    assert r.exit_code == 1 and "Error: fl-demo already exists" in r.output
    assert (p / "wafl.toml").read_text() == before + "# mine\n"
    r = run("new", "9 bad name")
    assert r.exit_code == 1 and "project name" in r.output and not (tmp_path / "9 bad name").exists()


def test_config_errors_are_clear_and_come_first(home, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[rules]\nquorm = 2\n')
    r = run("task", "create", "--config", str(bad))
    assert r.exit_code == 1 and "unknown key 'quorm' in [rules]" in r.output and "quorum" in r.output
    bad.write_text('[rulez]\n')
    r = run("task", "create", "--config", str(bad))
    assert r.exit_code == 1 and "unknown section [rulez]" in r.output
    bad.write_text('[rules\n')
    r = run("simulate", "--config", str(bad))
    assert r.exit_code == 1 and "not a readable TOML file" in r.output
    r = run("simulate", "--config", str(tmp_path / "none.toml"))
    assert r.exit_code == 1 and "no such file" in r.output
    bad.write_text('[model]\nmodel = "mlp"\nhidden = [4096]\n')  # the config's MLP reaches simulate: too big
    r = run("simulate", "--config", str(bad))
    assert r.exit_code == 1 and "(layers 64-4096-10" in r.output and "constraints" in r.output
    bad.write_text('[spec]\nbatch_size = "two"\n')
    r = run("task", "create", "--config", str(bad))
    assert r.exit_code == 1 and "batch_size must be an integer" in r.output


def test_simulate_takes_the_configs_batch_and_rules():
    s = for_simulate({"name": "t", "overrides": ["batch_size=2", "local_steps=1"], "quorum": 2, "rounds": 3,
                      "round_duration_s": 60, "model": "linear", "clients": 2})
    assert s == {"name": "t", "batch_size": 2, "local_steps": 1, "rounds": 3, "clients": 2, "model": "linear"}
    assert for_simulate({"model": "mlp", "hidden": [16, 8]}) == {"model": "mlp", "hidden": (16, 8)}
    with pytest.raises(Exception, match="batch_size and local_steps"):
        for_simulate({"overrides": ["frac_bits=8"]})


def test_task_create_reads_the_config_and_options_override_it(home, tmp_path):
    assert run("new", "proj").exit_code == 0
    assert run("keys", "new", "--name", "owner").exit_code == 0
    ledger = str(home / "l.sqlite")
    r = run("task", "create", "--config", "proj/wafl.toml", "--rounds", "2", "--ledger", ledger, "--key", "owner",
            "--json", "--quiet")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["name"] == "proj" and out["spec"]["batch_size"] == 2 and out["classes"] == ["setosa", "versicolor", "virginica"]
    show = json.loads(run("task", "show", "--task", "proj", "--ledger", ledger, "--json").output)
    assert show["quorum"] == 2 and show["max_rounds"] == 2  # the file's quorum, the command line's rounds
