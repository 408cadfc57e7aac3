"""The task's manifest (its data contract): the contract's rule (size, hash, once before the first
update) in Move and its Python twin, the local ledger's operation, and the clients' reading of it
(columns by name, labels by the manifest's class order, clear errors for data that does not fit)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from wafl_sui.client import manifest as cmanifest
from wafl_sui.client.datasets import load_raw
from wafl_sui.protocol import ProtocolError, StepSpec, manifest as pmanifest

SPEC = StepSpec(features=2, classes=3, batch_size=2)


def _csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return str(path)


ROWS = [(1.0, 10.0, "setosa"), (2.0, 20.0, "virginica"), (3.0, 30.0, "versicolor"), (4.0, 40.0, "setosa")]


@pytest.fixture
def creator(tmp_path):
    raw = load_raw(_csv(tmp_path / "owner.csv", ["a", "b", "species"], ROWS), "species")
    return cmanifest.fit(raw, SPEC, "species")


# --------------------------------------------------------------------------- the contract's rule
def test_size_and_hash_twin():
    assert pmanifest.MAX_MANIFEST_BYTES == 16384
    for bad in (b"", b"x" * (pmanifest.MAX_MANIFEST_BYTES + 1)):
        with pytest.raises(ProtocolError) as e:
            pmanifest.check_size(bad)
        assert e.value.name == "EManifestSize"
    pmanifest.check_size(b"x" * pmanifest.MAX_MANIFEST_BYTES)
    m = b'{"format":1}'
    assert pmanifest.manifest_hash(m) == int.from_bytes(hashlib.sha3_256(m).digest(), "big")
    assert pmanifest.decode(pmanifest.encode({"b": 1, "a": [2]})) == {"format": 1, "a": [2], "b": 1}
    assert pmanifest.encode({"b": 1, "a": 2}) == b'{"a":2,"b":1,"format":1}'


@pytest.mark.oracle("node", "node_modules")
def test_move_manifest_rule_equals_python():
    from wafl_sui.devtools.vm import MoveAbort, MoveVM

    vm = MoveVM.shared()
    assert vm.inner1("manifest", "max_manifest_bytes") == pmanifest.MAX_MANIFEST_BYTES
    for m in (b"a", b'{"format":1,"x":[1,2,3]}', bytes(range(256)) * 3):
        assert vm.inner1("manifest", "manifest_hash", [("vector<u8>", m)]) == pmanifest.manifest_hash(m)
    assert vm.inner1("manifest", "check_size", [("vector<u8>", b"x" * pmanifest.MAX_MANIFEST_BYTES)]) is True
    for bad in (b"", b"x" * (pmanifest.MAX_MANIFEST_BYTES + 1)):
        with pytest.raises(MoveAbort) as e:
            vm.inner("manifest", "check_size", [("vector<u8>", bad)])
        assert e.value.name == "EManifestSize"


# --------------------------------------------------------------------------- on the local ledger
def test_local_ledger_set_manifest_once_before_updates(tmp_path, creator):
    from wafl_sui.devtools.updates import UpdateMaker
    from wafl_sui.ledger.identity import Identity
    from wafl_sui.ledger.local import LocalLedger
    from wafl_sui.protocol.round import RoundRules
    from wafl_sui.protocol.rules import AggregationRule

    owner, alice = Identity.generate(), Identity.generate()
    maker = UpdateMaker(SPEC)
    try:
        with LocalLedger(tmp_path / "l.sqlite") as led:
            def new():
                return led.create_task(owner, SPEC, RoundRules(2, 60_000, 2, 0), AggregationRule(0), maker.lr_q, True,
                                       maker.initial_model(), maker.vk).task_id

            tid = new()
            assert led.manifest(tid) == b""
            data = creator.to_bytes()

            def err(fn, *a):
                with pytest.raises(ProtocolError) as e:
                    fn(*a)
                return e.value.name

            assert err(led.set_manifest, alice, tid, data) == "ENotAdmin"  # attack: not the admin
            assert err(led.set_manifest, owner, tid, b"") == "EManifestSize"
            assert err(led.set_manifest, owner, tid, b"x" * (pmanifest.MAX_MANIFEST_BYTES + 1)) == "EManifestSize"
            (ev,) = led.set_manifest(owner, tid, data).events
            assert ev.type == "ManifestSet" and int(ev.fields["manifest_hash"]) == creator.hash
            assert ev.fields["size"] == len(data) and led.manifest(tid) == data
            assert cmanifest.read(led, tid) == creator
            # attack: the admin rewrites the contract once clients rely on it
            assert err(led.set_manifest, owner, tid, pmanifest.encode({"other": 1})) == "EManifestAlreadySet"
            # attack: a manifest set after the first update would change what that update meant
            tid2 = new()
            bob = Identity.generate()
            for who in (alice, bob):
                led.register(who, tid2)
            led.open_round(owner, tid2)  # both sampled (2 per round)
            u = maker.make(led.task(tid2), alice.address, 0)
            led.submit_update(alice, tid2, u.new_weights, u.data_commitment, u.proof)
            assert err(led.set_manifest, owner, tid2, data) == "EManifestAlreadySet"
            assert led.manifest(tid2) == b""
    finally:
        maker.close()


# --------------------------------------------------------------------------- clients read it
def test_string_labels_follow_the_manifest_order_not_the_file(tmp_path, creator):
    assert creator.class_names == ("setosa", "versicolor", "virginica")
    # another client: columns swapped, labels in another order of appearance and only two of them
    raw = load_raw(_csv(tmp_path / "c.csv", ["species", "b", "a"], [("virginica", 20.0, 2.0), ("versicolor", 30.0, 3.0)]),
                   "species")
    assert raw.class_names == ("versicolor", "virginica")  # the file alone would say versicolor = 0
    got = cmanifest.conform(raw, creator, "c.csv")
    assert got.y.tolist() == [2, 1] and got.x.tolist() == [[2.0, 20.0], [3.0, 30.0]] and got.classes == 3
    ds = cmanifest.dataset(raw, creator, "c.csv")
    np.testing.assert_allclose(ds.x, creator.scaling.apply(np.array([[2.0, 20.0], [3.0, 30.0]])))


def test_data_that_does_not_fit_is_named(tmp_path, creator):
    cases = {
        "unknown.csv": (["a", "b", "species"], [(1, 2, "setosa"), (1, 2, "rose")], "'rose'"),
        "names.csv": (["a", "c", "species"], [(1, 2, "setosa"), (1, 2, "virginica")], "missing ['b']"),
        "wide.csv": (["a", "b", "d", "species"], [(1, 2, 3, "setosa"), (1, 2, 3, "virginica")], "not in the task ['d']"),
    }
    for name, (header, rows, says) in cases.items():
        raw = load_raw(_csv(tmp_path / name, header, rows), "species")
        with pytest.raises(cmanifest.ManifestMismatch, match=None) as e:
            cmanifest.conform(raw, creator, name)
        assert says in str(e.value) and name in str(e.value)


def test_manifest_round_trip_and_size_limit(creator):
    assert cmanifest.TaskManifest.from_bytes(creator.to_bytes()) == creator
    with pytest.raises(cmanifest.ManifestError):
        cmanifest.TaskManifest.from_bytes(b'{"format":99}')
    big = cmanifest.TaskManifest(tuple(f"feature_{i:05d}" for i in range(2000)), creator.class_names,
                                 creator.scaling, creator.spec)
    with pytest.raises(ProtocolError) as e:
        big.to_bytes()
    assert e.value.name == "EManifestSize"


# --------------------------------------------------------------------------- through the CLI
def test_cli_create_writes_the_contract_and_every_reader_applies_it(tmp_path, monkeypatch):
    import json
    import os
    import shutil

    from click.testing import CliRunner

    from wafl_sui.cli import main
    from wafl_sui.client.export import load_model

    home = tmp_path / "home"
    shutil.copytree(os.environ["WAFL_HOME"], home, dirs_exist_ok=True, ignore=shutil.ignore_patterns("keys", "*.sqlite*"))
    monkeypatch.setenv("WAFL_HOME", str(home))

    def run(*args):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    raw = load_raw("iris")
    names = ["setosa", "versicolor", "virginica"]
    header = [n.replace(" ", "_") for n in raw.feature_names]
    owner = _csv(tmp_path / "owner.csv", [*header, "species"],
                 [(*x, names[y]) for x, y in zip(raw.x[::2], raw.y[::2])])
    ledger = str(tmp_path / "l.sqlite")
    assert run("keys", "new", "--name", "admin").exit_code == 0
    r = run("task", "create", "--dataset", owner, "--label-column", "species", "--set", "batch_size=2", "--quorum", "1",
            "--rounds", "1", "--name", "c", "--ledger", ledger, "--key", "admin", "--json", "--quiet")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["classes"] == names and out["features"] == header
    from wafl_sui.ledger.local import LocalLedger

    with LocalLedger(ledger) as led:
        stored = cmanifest.read(led, "c")
    assert stored.label_column == "species" and str(stored.hash) == out["manifest_hash"]
    # an evaluator whose file has other class names, or other columns: one Error line naming it
    bad = _csv(tmp_path / "bad.csv", [*header, "species"], [(*raw.x[0], "setosa"), (*raw.x[1], "rose")])
    r = run("evaluate", "--task", "c", "--data", bad, "--ledger", ledger, "--allow-dev-key")
    assert r.exit_code == 1 and "'rose'" in r.output and "Error:" in r.output and "Traceback" not in r.output
    other = _csv(tmp_path / "other.csv", ["w", "x", "y", "z", "species"], [(*raw.x[0], "setosa"), (*raw.x[1], "virginica")])
    r = run("evaluate", "--task", "c", "--data", other, "--ledger", ledger, "--allow-dev-key")
    assert r.exit_code == 1 and "feature columns differ" in r.output
    # the export records the task's scaling, not "unknown"
    r = run("model", "export", "--task", "c", "--out", str(tmp_path / "m.npz"), "--ledger", ledger, "--allow-dev-key")
    assert r.exit_code == 0 and "unknown" not in r.output, r.output
    assert load_model(tmp_path / "m.npz")["scaling"].low == stored.scaling.low
