"""The circuit's identity on the task: `wafl task create` records, in the task's manifest (stored
and hashed on chain), the hash of the spec and circuit artifacts and how the key was made; the
shared trust check (`task check`, `client run`, `evaluate`, `model export`) compares it with the
circuit held here. Attacks: a manifest that names another circuit, a development key declared,
another ceremony's transcript."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from click.testing import CliRunner

from wafl_sui.cli import main
from wafl_sui.client import manifest as cmanifest
from wafl_sui.client.datasets import load_raw
from wafl_sui.client.trust import UntrustedTask, check_task_key, circuit_identity
from wafl_sui.protocol import StepSpec, manifest as pmanifest

SPEC = StepSpec(features=2, classes=3, batch_size=2)


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A private WAFL_HOME for keys and ledgers, reusing the session's compiled circuits."""
    h = tmp_path / "home"
    shutil.copytree(os.environ["WAFL_HOME"], h, dirs_exist_ok=True, ignore=shutil.ignore_patterns("keys", "*.sqlite*"))
    monkeypatch.setenv("WAFL_HOME", str(h))
    return h


# --------------------------------------------------------------------------- the manifest field
def _manifest(circuit=None):
    raw = load_raw("iris")
    spec = StepSpec(features=4, classes=3, batch_size=2)
    return cmanifest.fit(raw, spec, circuit=circuit)


def test_the_identity_round_trips_and_an_older_manifest_has_none():
    ident = cmanifest.CircuitIdentity("ab" * 32, "ceremony", "cd" * 32)
    m = _manifest(ident)
    assert cmanifest.TaskManifest.from_bytes(m.to_bytes()).circuit == ident
    old = _manifest()  # written before circuits were recorded: the same bytes as then, no identity
    assert "circuit" not in pmanifest.decode(old.to_bytes()) and cmanifest.TaskManifest.from_bytes(old.to_bytes()).circuit is None
    assert m.hash != old.hash  # the identity is part of what the chain hashes
    for bad in ({"circuit_hash": 5, "setup": "ceremony"}, {"circuit_hash": "ab", "setup": "trusted-me"},
                {"circuit_hash": "ab", "setup": "ceremony", "transcript_hash": 7}, "ab"):
        d = pmanifest.decode(old.to_bytes())
        d["circuit"] = bad
        with pytest.raises(cmanifest.ManifestError, match="circuit"):
            cmanifest.TaskManifest.from_bytes(pmanifest.encode({k: v for k, v in d.items() if k != "format"}))
    # the size checked before compiling uses the longest identity: never shorter than a real one
    assert len(_manifest(cmanifest.LONGEST_CIRCUIT_IDENTITY).to_bytes()) >= len(_manifest(ident).to_bytes())


# --------------------------------------------------------------------------- through the CLI
def _create(ledger: str) -> dict:
    assert run("keys", "new", "--name", "admin").exit_code == 0
    r = run("task", "create", "--dataset", "iris", "--set", "batch_size=2", "--quorum", "1", "--rounds", "1",
            "--name", "c", "--ledger", ledger, "--key", "admin", "--json", "--quiet")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_task_create_records_the_circuit_and_the_check_compares_it(home, tmp_path):
    from wafl_sui.ledger.identity import Identity
    from wafl_sui.ledger.local import LocalLedger
    from wafl_sui.zk import sui_bytes
    from wafl_sui.zk.circuit import circuit_hash
    from wafl_sui.zk.setup import ensure_keys

    ledger = str(home / "l.sqlite")
    _create(ledger)
    with LocalLedger(ledger) as led:
        view = led.task("c")
        stored = cmanifest.read(led, "c")
    keys = ensure_keys(view.spec)
    assert stored.circuit == cmanifest.CircuitIdentity(circuit_hash(view.spec), "dev-insecure", None)
    assert stored.circuit == circuit_identity(keys)
    r = run("task", "check", "--task", "c", "--ledger", ledger, "--quiet")
    assert r.exit_code == 1 and "dev-insecure" in r.output and "--allow-dev-key" in r.output
    r = run("task", "check", "--task", "c", "--ledger", ledger, "--quiet", "--allow-dev-key", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["circuit_hash"] == stored.circuit.circuit_hash

    # the attack: a task on the right key whose manifest names another circuit (other sources)
    vk = sui_bytes.vk_bytes_from_snarkjs(keys.setup.verification_key())
    forged = cmanifest.fit(load_raw("iris"), view.spec, circuit=cmanifest.CircuitIdentity("ee" * 32, "dev-insecure"))
    creator = Identity.generate()
    with LocalLedger(ledger) as led:
        ref = led.create_task(creator, view.spec, view.round_rules, view.aggregation, view.lr_q, True, list(view.model), vk)
        led.set_manifest(creator, ref.task_id, forged.to_bytes())
    for cmd in (["task", "check", "--quiet"], ["model", "export", "--out", str(tmp_path / "m.npz")]):
        r = run(*cmd, "--task", ref.task_id, "--ledger", ledger, "--allow-dev-key")
        assert r.exit_code == 1 and f"records circuit {'ee' * 32}" in r.output and "Traceback" not in r.output, r.output
    assert not (tmp_path / "m.npz").exists()


def test_a_declared_development_key_and_another_transcript_are_refused(home):
    """check_task_key against the recorded identity, whatever the keys held here say."""
    from wafl_sui.ledger.local import LocalLedger
    from wafl_sui.zk import sui_bytes
    from wafl_sui.zk.setup import ensure_keys

    ledger = str(home / "l.sqlite")
    _create(ledger)
    with LocalLedger(ledger) as led:
        view = led.task("c")
    keys = ensure_keys(view.spec)
    vk = sui_bytes.vk_bytes_from_snarkjs(keys.setup.verification_key())
    h = keys.artifacts.hash

    def check(recorded, **kw):
        return check_task_key(view, view.spec, vk, circuit_hash=h, recorded=recorded, **kw)

    # held here as ceremony keys (say), but the task's creator declares a development setup
    dev = cmanifest.CircuitIdentity(h, "dev-insecure")
    with pytest.raises(UntrustedTask, match="records in its manifest .*development key"):
        check(dev, setup="ceremony", transcript_hash="aa" * 32)
    assert check(dev, setup="ceremony", allow_dev_key=True).setup == "ceremony"
    # the keys of another ceremony of the same circuit (other transcript)
    other = cmanifest.CircuitIdentity(h, "ceremony", "bb" * 32)
    with pytest.raises(UntrustedTask, match=f"transcript {'bb' * 32}.*{'aa' * 32}"):
        check(other, setup="ceremony", transcript_hash="aa" * 32)
    assert check(cmanifest.CircuitIdentity(h, "ceremony", "aa" * 32), setup="ceremony", transcript_hash="aa" * 32)
    # another circuit
    with pytest.raises(UntrustedTask, match="records circuit"):
        check(cmanifest.CircuitIdentity("0" * 64, "ceremony"), setup="ceremony")
