"""The client's side of a private task: its registration secrets, the checks before any work, and
the options that make a task private."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest
from click.testing import CliRunner

from wafl_sui.cli import main as cli
from wafl_sui.client import private_data
from wafl_sui.client.data import Dataset
from wafl_sui.federation.config import ConfigError, SimulationConfig
from wafl_sui.protocol import StepSpec, privacy
from wafl_sui.protocol.privacy import DpParams

PARAMS = DpParams(records=12, clip_frac_bits=4, clip_q=64, clip_factor_bits=8, noise_sigma0=2, noise_tail=8,
                  noise_k=1, sample_threshold=1 << 62)
SPEC = StepSpec(features=4, classes=3, batch_size=3, privacy=PARAMS)


def _data(n: int, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    return Dataset(rng.uniform(-1, 1, (n, 4)), rng.integers(0, 3, n), 3, "toy")


def test_registration_round_trip_keeps_secrets_private(tmp_path):
    ds = _data(10)
    path = tmp_path / "reg.json"
    reg = private_data.load_or_create(path, ds, SPEC, "0xtask")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    body = json.loads(path.read_text())
    assert "features" not in body and "labels" not in body  # the data itself is never written there
    again = private_data.load_or_create(path, ds, SPEC, "0xtask")
    assert again == reg
    assert reg.n == 10 and len(reg.features) == PARAMS.records
    assert reg.features[10:] == [[0] * 4] * 2 and reg.labels[10:] == [[1, 0, 0]] * 2  # padding rows
    assert reg.seed_commitment() == privacy.seed_commitment(reg.seed)


def test_commitment_hides_and_depends_on_every_record(tmp_path):
    ds = _data(10)
    a = private_data.create(ds, SPEC)
    b = private_data.build(ds, SPEC, a.rows, a.salt + 1, a.seed)
    assert a.data_commitment(SPEC) != b.data_commitment(SPEC)  # the salt hides
    x = ds.x.copy()
    x[3, 1] = -x[3, 1] if abs(x[3, 1]) > 0.2 else 0.9
    c = private_data.build(Dataset(x, ds.y, 3), SPEC, a.rows, a.salt, a.seed)
    assert a.data_commitment(SPEC) != c.data_commitment(SPEC)


def test_changed_data_is_refused_before_any_proof(tmp_path):
    ds = _data(10)
    path = tmp_path / "reg.json"
    private_data.load_or_create(path, ds, SPEC, "0xtask")
    y = ds.y.copy()
    y[0] = (y[0] + 1) % 3
    with pytest.raises(private_data.PrivateDataError, match="no longer matches"):
        private_data.load(path, Dataset(ds.x, y, 3), SPEC, "0xtask")
    with pytest.raises(private_data.PrivateDataError, match="not 0xother"):
        private_data.load(path, ds, SPEC, "0xother")
    path.write_text("{not json")
    with pytest.raises(private_data.PrivateDataError, match="cannot read"):
        private_data.load(path, ds, SPEC, "0xtask")


def test_more_records_than_the_task_takes_registers_a_fixed_subset(tmp_path):
    ds = _data(30)
    reg = private_data.create(ds, SPEC)
    assert reg.n == PARAMS.records and len(set(reg.rows)) == PARAMS.records
    assert private_data.build(ds, SPEC, reg.rows, reg.salt, reg.seed) == reg


def test_ledger_commitments_must_be_ours():
    reg = private_data.create(_data(5), SPEC)
    private_data.check_registered(reg, SPEC, (reg.data_commitment(SPEC), reg.seed_commitment()))
    with pytest.raises(private_data.PrivateDataError, match="other commitments"):
        private_data.check_registered(reg, SPEC, (reg.data_commitment(SPEC), reg.seed_commitment() + 1))


@pytest.mark.parametrize("kw, match", [
    (dict(model="mlp"), "linear model"),
    (dict(local_steps=2), "linear model"),
    (dict(attackers=1, attack="label-flip"), "--attack"),
    (dict(dp_delta=0.5), "--dp-delta"),
    (dict(dp_clip=0.0), "--dp-clip"),
])
def test_private_simulation_options_are_checked(kw, match):
    with pytest.raises(ConfigError, match=match):
        SimulationConfig(dp_epsilon=3.0, **kw)


def test_private_run_key_differs_and_ordinary_key_is_unchanged():
    plain = SimulationConfig()
    assert SimulationConfig(dp_clip=5.0).run_key() == plain.run_key()  # dp fields ignored unless private
    assert SimulationConfig(dp_epsilon=3.0).run_key() != plain.run_key()
    assert SimulationConfig(dp_epsilon=3.0).run_key() != SimulationConfig(dp_epsilon=8.0).run_key()


def test_private_spec_round_trips_and_keeps_only_circuit_constants():
    full = DpParams(*PARAMS.circuit_constants(), target_epsilon_milli=3000, target_delta_pico=10, max_contributions=7)
    spec = StepSpec(features=4, classes=3, batch_size=3, privacy=full)
    assert spec.privacy == PARAMS  # the budget is not part of the circuit
    assert StepSpec.from_dict(spec.to_dict()) == spec
    assert "privacy" not in spec.move_fields()
    assert "privacy" not in StepSpec(features=4, classes=3).to_dict()  # ordinary specs hash as before
    from wafl_sui.protocol import ProtocolError

    with pytest.raises(ProtocolError, match="linear model"):
        StepSpec(features=4, classes=3, hidden=(4,), privacy=PARAMS)


def test_cli_dp_options_errors_before_any_work(tmp_path):
    r = CliRunner().invoke(cli, ["task", "create", "--dataset", "iris", "--dp-epsilon", "3",
                                 "--ledger", str(tmp_path / "l.db")])
    assert r.exit_code != 0 and "--dp-records" in r.output
    r = CliRunner().invoke(cli, ["task", "create", "--dataset", "iris", "--dp-records", "30",
                                 "--ledger", str(tmp_path / "l.db")])
    assert r.exit_code != 0 and "needs --dp-epsilon" in r.output
    r = CliRunner().invoke(cli, ["simulate", "--dataset", "iris", "--dp-epsilon", "3", "--model", "mlp"])
    assert r.exit_code != 0 and "linear model" in r.output and "Traceback" not in r.output


@pytest.mark.slow
def test_a_private_task_from_the_command_line(tmp_path, monkeypatch):
    """`wafl task create --dp-epsilon` then `wafl client run`: the client registers its data and seed
    commitments, contributes proven private updates, and `wafl status` shows what it spent."""
    import os
    import shutil

    home = tmp_path / "home"
    shutil.copytree(os.environ["WAFL_HOME"], home, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("keys", "*.sqlite*", "private"))
    monkeypatch.setenv("WAFL_HOME", str(home))
    ledger, metrics = str(home / "l.sqlite"), str(home / "m.sqlite")
    for name in ("admin", "alice"):
        assert cli_run("keys", "new", "--name", name).exit_code == 0
    r = cli_run("task", "create", "--dataset", "iris", "--dp-epsilon", "8", "--dp-records", "60", "--dp-batch", "8",
                "--quorum", "1", "--rounds", "2", "--name", "p", "--ledger", ledger, "--key", "admin", "--json", "--quiet")
    assert r.exit_code == 0, r.output
    created = json.loads(r.output)
    assert created["dp"]["epsilon"] == 8.0 and created["spec"]["privacy"]["records"] == 60
    # the same task built offline (the circuit is compiled now): create_task, then its data
    # contract and its privacy in one transaction, decoded by Mysten's SDK
    from test_cli_chain import GAS, PKG, _decode, _pure_bytes, _targets

    offline = ["task", "create", "--dataset", "iris", "--dp-epsilon", "8", "--dp-records", "60", "--dp-batch", "8",
               "--quorum", "1", "--rounds", "2", "--key", "admin", "--network", "localnet", "--package-id", PKG,
               "--serialize-unsigned-transaction", "--gas-object", GAS, "--gas-price", "1000", "--gas-budget",
               "50000000", "--quiet"]
    r = CliRunner().invoke(cli, offline, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert _targets(_decode(r.stdout.strip()))[-2:] == ["task::create_task", "TransferObjects"]
    assert "set_privacy" in r.stderr
    r = CliRunner().invoke(cli, [*offline, "--task-id", "0x" + "ef" * 32, "--task-version", "3",
                                 "--admin-cap", GAS.replace("ab", "ac")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    tx = _decode(r.stdout.strip())
    assert _targets(tx) == ["task::set_manifest", "private_task::set_privacy"]
    from wafl_sui.ledger.sui import bcs

    pures = [bytes(_pure_bytes(i)) for i in tx["inputs"] if i["kind"] == "Pure"][1:]
    assert len(pures) == 11 and pures[8] == bcs.pure_u64(8_000)  # the 11 DpParams; epsilon 8 in milli
    assert pures[:8] == [bcs.pure_u64(v) for v in created["spec"]["privacy"].values()]  # the online task's circuit
    r = cli_run("task", "register", "--task", "p", "--ledger", ledger, "--key", "alice")
    assert r.exit_code == 1 and "EPrivateTask" in r.output and "Traceback" not in r.output
    data = tmp_path / "alice.csv"
    from wafl_sui.client import datasets

    raw = datasets.load_raw("iris")
    data.write_text(",".join(raw.feature_names) + ",label\n" + "\n".join(",".join(map(str, [*x, raw.class_names[y]]))
                                                                for x, y in zip(raw.x[::3], raw.y[::3])))
    r = cli_run("client", "run", "--task", "p", "--data", str(data), "--rounds", "2", "--ledger", ledger,
                "--key", "alice", "--metrics", metrics, "--quiet", "--allow-dev-key")
    assert r.exit_code == 0, r.output
    assert "round 0: accepted" in r.output and "round 1: accepted" in r.output
    secrets_dir = home / "private"
    (reg_file,) = list(secrets_dir.rglob("*.json"))
    assert stat.S_IMODE(reg_file.stat().st_mode) == 0o600
    r = cli_run("status", "--task", "p", "--ledger", ledger, "--metrics", metrics, "--json")
    assert r.exit_code == 0, r.output
    dp = json.loads(r.output)["status"]["privacy"]
    assert dp["updates"] and max(dp["updates"].values()) == 2
    assert 0 < dp["epsilon_spent_max"] <= 8.0


def cli_run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)
