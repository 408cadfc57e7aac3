"""The CLI of tasks, keys and transactions: keys never printed, every contract operation through
`wafl task ...` on the local ledger with its Move error names, the trust check refusing another
circuit's key, and `--serialize-unsigned-transaction` built offline and decoded by Mysten's SDK."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from wafl_sui.cli import main

ROOT = Path(__file__).resolve().parents[1]
GAS = "0x" + "ab" * 32 + ":7:" + "11111111111111111111111111111111"  # ID:VERSION:DIGEST (base58)
PKG = "0x" + "cd" * 32


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A private WAFL_HOME for keys and ledgers, reusing the session's compiled circuits."""
    h = tmp_path / "home"
    shutil.copytree(os.environ["WAFL_HOME"], h, dirs_exist_ok=True, ignore=shutil.ignore_patterns("keys", "*.sqlite*"))
    monkeypatch.setenv("WAFL_HOME", str(h))
    return h


def test_keys_are_owner_only_and_never_printed(home):
    r = run("keys", "new", "--name", "alice")
    assert r.exit_code == 0, r.output
    key = home / "keys" / "alice.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    secret = json.loads(key.read_text())
    addr = run("keys", "show", "--name", "alice").output.strip()
    assert addr.startswith("0x") and len(addr) == 66 and addr in r.output
    for out in (r.output, run("keys", "list").output, run("keys", "show", "--name", "alice", "--json").output):
        for v in secret.values() if isinstance(secret, dict) else [secret]:
            if isinstance(v, str) and v.startswith("suiprivkey"):
                assert v not in out
    again = run("keys", "new", "--name", "alice")
    assert again.exit_code == 1 and "exists" in again.output
    assert run("keys", "show", "--name", "bob").exit_code == 1


def test_task_operations_on_the_local_ledger(home):
    ledger = str(home / "l.sqlite")
    for name in ("admin", "mallory"):
        assert run("keys", "new", "--name", name).exit_code == 0
    r = run("task", "create", "--dataset", "iris", "--set", "batch_size=2", "--quorum", "2", "--rounds", "3",
            "--name", "demo", "--ledger", ledger, "--key", "admin", "--json", "--quiet")
    assert r.exit_code == 0, r.output
    created = json.loads(r.output)
    show = json.loads(run("task", "show", "--task", "demo", "--ledger", ledger, "--json").output)
    assert show["task_id"] == created["task_id"] and show["quorum"] == 2 and show["round"] == 0
    assert show["spec"]["features"] == 4 and show["spec"]["batch_size"] == 2
    from wafl_sui.protocol import task as ptask

    assert show["version"] == ptask.VERSION and show["package_id"] is None  # the package version that made it; no package locally
    # rules of the contract, with their names
    r = run("task", "aggregate", "--task", "demo", "--ledger", ledger, "--key", "admin")
    assert r.exit_code == 1 and "ERoundNotOpen" in r.output  # round 0 waits for its sample
    r = run("task", "open-round", "--task", "demo", "--ledger", ledger, "--key", "admin")
    assert r.exit_code == 1 and "ENotEnoughParticipants" in r.output
    for name in ("admin", "mallory"):
        r = run("task", "register", "--task", "demo", "--ledger", ledger, "--key", name, "--json")
        assert r.exit_code == 0 and json.loads(r.output)["events"][0]["type"] == "ParticipantRegistered", r.output
    r = run("task", "open-round", "--task", "demo", "--ledger", ledger, "--key", "mallory", "--json")
    assert r.exit_code == 0, r.output
    (opened,) = json.loads(r.output)["events"]
    assert opened["type"] == "RoundOpened" and len(opened["sampled"]) == 2 and len(opened["randomness"]) == 66
    r = run("task", "aggregate", "--task", "demo", "--ledger", ledger, "--key", "admin")
    assert r.exit_code == 1 and "EQuorumNotReached" in r.output
    r = run("task", "leave", "--task", "demo", "--ledger", ledger, "--key", "mallory")
    assert r.exit_code == 1 and "EParticipantSampled" in r.output  # sampled in the open round: it stays
    r = run("task", "open-round", "--task", "demo", "--network", "localnet", "--key", "admin",
            "--serialize-unsigned-transaction", "--gas-object", "0xc0:1:11111111111111111111111111111111",
            "--gas-price", "1000", "--gas-budget", "10000000", "--package-id", "0x" + "ab" * 32, "--task-version", "3")
    assert r.exit_code == 1 and "--random-version" in r.output and "Traceback" not in r.output
    r = run("task", "set-open", "--task", "demo", "--allowlist", "--ledger", ledger, "--key", "mallory")
    assert r.exit_code == 1 and "ENotAdmin" in r.output
    mallory = run("keys", "show", "--name", "mallory").output.strip()
    r = run("task", "set-open", "--task", "demo", "--allowlist", "--ledger", ledger, "--key", "admin", "--json")
    assert r.exit_code == 0 and [e["type"] for e in json.loads(r.output)["events"]] == ["OpenChanged"]
    r = run("task", "add-participant", "--task", "demo", mallory, "--ledger", ledger, "--key", "admin", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["events"][0]["type"] == "ParticipantAdded"
    r = run("task", "discard-round", "--task", "demo", "--ledger", ledger, "--key", "mallory")
    assert r.exit_code == 1 and "EGracePeriodNotOver" in r.output
    assert json.loads(run("task", "show", "--task", "demo", "--ledger", ledger, "--json").output)["open"] is False
    # the trust check refuses this machine's development key without --allow-dev-key, and accepts it
    # with the flag (the key of the spec's circuit held here)
    r = run("task", "check", "--task", "demo", "--ledger", ledger, "--json", "--quiet")
    assert r.exit_code == 1 and "development key" in r.output and "--allow-dev-key" in r.output
    assert "Traceback" not in r.output
    r = run("task", "check", "--task", "demo", "--ledger", ledger, "--json", "--quiet", "--allow-dev-key")
    assert r.exit_code == 0 and json.loads(r.output)["trusted"] is True and json.loads(r.output)["setup"] == "dev-insecure"
    r = run("task", "show", "--task", "0x" + "99" * 32, "--ledger", ledger)
    assert r.exit_code == 1 and "Traceback" not in r.output


def test_trust_check_refuses_the_key_of_another_circuit(home, tmp_path):
    from wafl_sui import protocol
    from wafl_sui.ledger import open_ledger
    from wafl_sui.ledger.identity import Identity
    from wafl_sui.protocol.round import RoundRules
    from wafl_sui.protocol.rules import AggregationRule
    from wafl_sui.zk import sui_bytes
    from wafl_sui.zk.setup import ensure_keys

    task_spec = protocol.StepSpec(features=4, classes=3, batch_size=2, **protocol.WIDE_FORMAT)
    other = protocol.StepSpec(features=4, classes=3, batch_size=3, **protocol.WIDE_FORMAT)  # another circuit, same key shape
    vk = sui_bytes.vk_bytes_from_snarkjs(ensure_keys(other).setup.verification_key())
    ensure_keys(task_spec)
    ledger = str(home / "l.sqlite")
    with open_ledger(ledger) as lg:
        zero = [protocol.encode_signed(0, task_spec.weight_bits)] * task_spec.num_weights
        ref = lg.create_task(Identity.generate(), task_spec, RoundRules(2, 60_000, 2), AggregationRule(0), 4096,
                             True, zero, vk)
    r = run("task", "check", "--task", ref.task_id, "--ledger", ledger, "--quiet", "--allow-dev-key")
    assert r.exit_code == 1 and "not the key of the step circuit" in r.output
    out = tmp_path / "m.npz"  # an exporter and an evaluator refuse it too, before any work
    r = run("model", "export", "--task", ref.task_id, "--ledger", ledger, "--out", str(out), "--allow-dev-key")
    assert r.exit_code == 1 and "not the key of the step circuit" in r.output and not out.exists()
    r = run("evaluate", "--task", ref.task_id, "--data", "iris", "--ledger", ledger, "--allow-dev-key")
    assert r.exit_code == 1 and "not the key of the step circuit" in r.output


def _decode(tx_b64: str) -> dict:
    r = subprocess.run(["node", str(ROOT / "tools" / "sui" / "check_tx.mjs"), "--tx", tx_b64],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["transaction"]


def _targets(tx: dict) -> list[str]:
    """module::function of each MoveCall, else the command's kind (e.g. TransferObjects)."""
    return [f"{c['module']}::{c['function']}" if c["kind"] == "MoveCall" else c["kind"] for c in tx["commands"]]


def _pure_bytes(inp: dict) -> list[int]:
    """The bytes of a Pure input as the SDK's JSON gives them (base64 or a list)."""
    import base64

    b = inp["bytes"]
    return list(base64.b64decode(b)) if isinstance(b, str) else list(b)


def test_serialize_unsigned_transactions_offline(home):
    assert run("keys", "new").exit_code == 0
    sender = run("keys", "show").output.strip()
    offline = ["--network", "localnet", "--serialize-unsigned-transaction", "--gas-object", GAS,
               "--gas-price", "1000", "--gas-budget", "50000000"]
    task_id = "0x" + "ef" * 32
    cases = {
        ("task", "aggregate"): "task::aggregate",
        ("task", "discard-round"): "task::discard_round",
        ("task", "migrate"): "task::migrate",
        ("task", "restart-round"): "task::restart_round",
    }
    # a fresh home: nothing deployed, and a publish needs no package id
    r = run("deploy", *offline)
    assert r.exit_code == 0, r.output
    assert _targets(_decode(r.stdout.strip())) == ["Publish", "TransferObjects"]  # compatible: the default
    for policy, targets in [("additive", ["Publish", "package::only_additive_upgrades", "TransferObjects"]),
                            ("dependency-only", ["Publish", "package::only_dep_upgrades", "TransferObjects"]),
                            ("immutable", ["Publish", "package::make_immutable"])]:
        r = run("deploy", *offline, "--policy", policy)
        assert r.exit_code == 0, r.output
        assert _targets(_decode(r.stdout.strip())) == targets, policy
    r = run("deploy", *offline, "--policy", "frozen")
    assert r.exit_code == 2 and "frozen" in r.output and "immutable" in r.output
    # every other call needs one: a clear error, or --package-id
    r = run("task", "aggregate", "--task", task_id, *offline, "--task-version", "3")
    assert r.exit_code == 1 and "not deployed on localnet" in r.output and "--package-id" in r.output
    r = run("task", "aggregate", "--task", task_id, *offline, "--task-version", "3", "--package-id", PKG)
    assert r.exit_code == 0, r.output
    tx = _decode(r.stdout.strip())
    assert _targets(tx) == ["task::aggregate"] and tx["commands"][0]["package"] == PKG
    assert "run this command again" in r.stderr  # a chunked round: how to go on
    from wafl_sui.ledger.sui import deployments

    deployments.record_deployment(deployments.Deployment("localnet", PKG, "0x" + "01" * 32, sender, "d"))
    for (group, op), target in cases.items():
        r = run(group, op, "--task", task_id, *offline, "--task-version", "3", "--admin-cap", GAS.replace("ab", "ac"))
        assert r.exit_code == 0, r.output
        tx = _decode(r.stdout.strip())
        assert target in _targets(tx) and tx["sender"] == sender
        assert tx["gasData"]["price"] in ("1000", 1000) and tx["gasData"]["budget"] in ("50000000", 50000000)
    create = ["task", "create", "--dataset", "iris", "--set", "batch_size=2", "--quorum", "2", *offline, "--quiet"]
    r = run(*create)
    assert r.exit_code == 0, r.output
    assert _targets(_decode(r.stdout.strip()))[-2:] == ["task::create_task", "TransferObjects"]
    assert "--task-id" in r.stderr and "set_manifest" in r.stderr  # the second transaction, once the id is known
    # the task's data contract: its set_manifest transaction, the manifest bytes as fitted on the data
    cap = GAS.replace("ab", "ac")
    r = run(*create, "--task-id", task_id, "--task-version", "3", "--admin-cap", cap)
    assert r.exit_code == 0, r.output
    tx = _decode(r.stdout.strip())
    assert _targets(tx) == ["task::set_manifest"] and tx["sender"] == sender
    from wafl_sui.client import datasets
    from wafl_sui.client import manifest as task_manifest

    from wafl_sui.client.trust import circuit_identity
    from wafl_sui.zk.setup import ensure_keys

    raw = datasets.load_raw("iris")
    spec = datasets.spec_for(raw, batch_size=2)  # the contract names the circuit and its key's setup
    want = task_manifest.fit(raw, spec, None, circuit=circuit_identity(ensure_keys(spec))).to_bytes()
    assert b'"setup":"dev-insecure"' in want
    pure = [i for i in tx["inputs"] if i["kind"] == "Pure"]
    assert any(want in bytes(_pure_bytes(i)) for i in pure)
    r = run(*create, "--task-id", task_id, "--task-version", "3")
    assert r.exit_code == 1 and "--admin-cap" in r.output  # an admin call built offline needs the cap
    r = run("task", "create", "--dataset", "iris", "--task-id", task_id, "--quiet")
    assert r.exit_code == 2 and "--serialize-unsigned-transaction" in r.output
    # the client's submit: a Sui transaction, never on the local ledger
    r = run("client", "run", "--task", task_id, "--data", "iris", "--serialize-unsigned-transaction")
    assert r.exit_code == 2 and "--network" in r.output
    # not on the local ledger, and not half the offline options
    r = run("task", "aggregate", "--task", task_id, "--serialize-unsigned-transaction")
    assert r.exit_code == 2 and "--network" in r.output
    r = run("task", "aggregate", "--task", task_id, "--network", "localnet", "--serialize-unsigned-transaction",
            "--gas-price", "1000")
    assert r.exit_code == 2 and "--gas-object" in r.output


@pytest.mark.slow
def test_a_client_joins_a_task_and_an_evaluator_scores_it(home, tmp_path):
    ledger, metrics = str(home / "l.sqlite"), str(home / "m.sqlite")
    for name in ("admin", "alice"):
        assert run("keys", "new", "--name", name).exit_code == 0
    r = run("task", "create", "--dataset", "iris", "--set", "batch_size=2", "--quorum", "1", "--rounds", "2",
            "--name", "t", "--ledger", ledger, "--key", "admin", "--json", "--quiet")
    assert r.exit_code == 0, r.output
    data = tmp_path / "alice.csv"
    from wafl_sui.client import datasets

    raw = datasets.load_raw("iris")
    data.write_text(",".join(raw.feature_names) + ",label\n" + "\n".join(",".join(map(str, [*x, raw.class_names[y]]))
                                                                for x, y in zip(raw.x[::3], raw.y[::3])))
    r = run("client", "run", "--task", "t", "--data", str(data), "--rounds", "1", "--ledger", ledger,
            "--key", "alice", "--metrics", metrics, "--quiet")
    assert r.exit_code == 1 and "development key" in r.output  # refused before any proof
    r = run("client", "run", "--task", "t", "--data", str(data), "--rounds", "1", "--ledger", ledger,
            "--key", "alice", "--metrics", metrics, "--quiet", "--allow-dev-key")
    assert r.exit_code == 0, r.output
    assert "round 0: accepted" in r.output
    # the quorum (1) was reached: the client aggregated the round itself, nobody has to by hand
    assert "round 0: aggregated 1 updates (by this client)" in r.output
    show = json.loads(run("task", "show", "--task", "t", "--ledger", ledger, "--json").output)
    assert show["round"] == 1 and show["num_updates"] == 0 and show["model_round"] == 0
    r = run("task", "aggregate", "--task", "t", "--ledger", ledger, "--key", "alice", "--json")
    assert r.exit_code == 1 and "ERoundNotOpen" in r.output  # round 1 waits for its sample
    r = run("evaluate", "--task", "t", "--data", "iris", "--ledger", ledger, "--metrics", metrics, "--json")
    assert r.exit_code == 1 and "development key" in r.output
    r = run("evaluate", "--task", "t", "--data", "iris", "--ledger", ledger, "--metrics", metrics, "--json",
            "--allow-dev-key")
    assert r.exit_code == 0, r.output
    ev = json.loads(r.output)
    assert ev["round"] == 0 and 0 <= ev["accuracy"] <= 1
    r = run("evaluate", "--task", "t", "--data", "wine", "--ledger", ledger, "--metrics", metrics)
    assert r.exit_code == 1 and "feature columns differ from the task's" in r.output  # the task's data contract
