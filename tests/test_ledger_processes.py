"""The local ledger with real processes: a process killed (SIGKILL) in the middle of an operation's
transaction leaves the ledger as it was (and the operation can be retried), and several client
processes on one ledger file at once neither lose nor duplicate an update, an aggregation, a
task or the file itself."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.local import LedgerBusy, LocalLedger, SignedOp
from wafl_sui.devtools.updates import UpdateMaker
from wafl_sui.protocol.round import RoundRules
from wafl_sui.protocol.rules import AggregationRule
from wafl_sui.protocol.spec import StepSpec

SPEC = StepSpec(features=4, classes=3, batch_size=2)
HOUR = 3_600_000
WAIT_S = 120

APPLY_AND_HANG = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from wafl_sui.ledger.local import LocalLedger, SignedOp
    path, op_file, marker, point = sys.argv[1:5]
    def hook(name):
        if name == point:
            Path(marker).write_text(name)
            time.sleep(600)
    ledger = LocalLedger(path, _hook=hook)
    ledger.apply(SignedOp.from_bytes(Path(op_file).read_bytes()))
    print("the operation finished: the hook never ran")
""")

# A client process: wait for the start signal, run its operations, report what happened as JSON.
CLIENT = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from wafl_sui.ledger.identity import Identity
    from wafl_sui.ledger.local import LocalLedger
    from wafl_sui.protocol.errors import ProtocolError
    path, job_file, ready, go = sys.argv[1:5]
    job = json.loads(Path(job_file).read_text())
    me = Identity.from_keystore_entry(job["key"])
    def run(fn):
        try:
            r = fn()
            return {"ok": getattr(r, "tx", None) or getattr(r, "task_id", None),
                    "events": [e.type for e in getattr(r, "events", ())]}
        except ProtocolError as e:
            return {"error": e.name}
    Path(ready).write_text("ready")
    while not Path(go).exists():
        time.sleep(0.002)
    ledger = LocalLedger(path)
    out = {"chain_id": ledger.chain_id, "results": []}
    for step in job["steps"]:
        if step["op"] == "submit":
            fn = lambda: ledger.submit_update(me, step["task"], step["weights"], int(step["dc"]), bytes.fromhex(step["proof"]))
        elif step["op"] == "aggregate":
            fn = lambda: ledger.aggregate(me, step["task"])
        elif step["op"] == "create":
            from wafl_sui.protocol.round import RoundRules
            from wafl_sui.protocol.rules import AggregationRule
            from wafl_sui.protocol.spec import StepSpec
            fn = lambda: ledger.create_task(me, StepSpec(**step["spec"]), RoundRules(1, 3600000, 1, 0),
                                            AggregationRule(0), step["lr_q"], True, step["model"],
                                            bytes.fromhex(step["vk"]))
        out["results"].append(run(fn))
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def maker():
    m = UpdateMaker(SPEC)
    yield m
    m.close()


def new_task(ledger, maker, owner, quorum=2, per_round=0):
    return ledger.create_task(owner, SPEC, RoundRules(quorum, HOUR, 3, 0, per_round), AggregationRule(0), maker.lr_q, True,
                              maker.initial_model(), maker.vk)


def begin(ledger, task, *who):
    """Register `who` and open the round (every one of them sampled: quorum >= their number)."""
    for x in who:
        ledger.register(x, task)
    ledger.open_round(who[0], task)


def dump(path: Path) -> dict:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("tasks", "objects", "events", "meta", "transactions")}
    finally:
        con.close()


def wait_for(path: Path, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"{what}: the child exited ({proc.returncode}) first:\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{what}: timed out")
        time.sleep(0.01)


def run_clients(tmp_path: Path, ledger_path: Path, jobs: list[dict]) -> list[dict]:
    """Start one process per job, release them together, and collect their reports."""
    procs = []
    go = tmp_path / "go"
    for i, job in enumerate(jobs):
        jf = tmp_path / f"job{i}.json"
        jf.write_text(json.dumps(job))
        ready = tmp_path / f"ready{i}"
        procs.append((ready, subprocess.Popen([sys.executable, "-c", CLIENT, str(ledger_path), str(jf), str(ready), str(go)],
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    for ready, p in procs:
        wait_for(ready, p, "client start")
    go.write_text("go")
    reports = []
    for _, p in procs:
        out, err = p.communicate(timeout=WAIT_S)
        assert p.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


# --------------------------------------------------------------------------- killed in the middle
@pytest.mark.parametrize("op,point", [
    ("submit_update", "state_written"), ("submit_update", "events_written"), ("submit_update", "before_commit"),
    ("aggregate", "events_written"), ("create_task", "before_commit"),
])
def test_killed_process_leaves_the_ledger_as_before(tmp_path, maker, op, point):
    path = tmp_path / "ledger.sqlite"
    owner, alice, bob = Identity.generate(), Identity.generate(), Identity.generate()
    led = LocalLedger(path)
    ref = new_task(led, maker, owner)
    begin(led, ref.task_id, alice, bob)
    u = maker.make(led.task(ref.task_id), alice.address, 1)
    led.submit_update(alice, ref.task_id, u.new_weights, u.data_commitment, u.proof)
    if op == "submit_update":
        ub = maker.make(led.task(ref.task_id), bob.address, 2)
        signed = led.build_operation(bob, op, ref.task_id, new_weights=ub.new_weights, data_commitment=ub.data_commitment,
                                     proof=ub.proof)
    elif op == "aggregate":
        ub = maker.make(led.task(ref.task_id), bob.address, 2)
        led.submit_update(bob, ref.task_id, ub.new_weights, ub.data_commitment, ub.proof)
        signed = led.build_operation(bob, op, ref.task_id)
    else:
        signed = led.build_operation(owner, op, spec=SPEC, round_rules=RoundRules(2, HOUR, 3, 0),
                                     aggregation=AggregationRule(1), lr_q=maker.lr_q, open=True,
                                     initial_model=maker.initial_model(), vk=maker.vk, name="later", deposit_mist=0)
    led.close()
    before = dump(path)
    op_file, marker = tmp_path / "op.json", tmp_path / "marker"
    op_file.write_bytes(signed.to_bytes())
    child = subprocess.Popen([sys.executable, "-c", APPLY_AND_HANG, str(path), str(op_file), str(marker), point],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(marker, child, "reaching the hook")
        # the child is inside its write transaction: readers see the committed state, writers wait
        with LocalLedger(path, busy_timeout_s=0.3) as other:
            assert [t.task_id for t in other.tasks()] == [ref.task_id]
            assert other.task(ref.task_id).num_updates == (2 if op == "aggregate" else 1)
            t0 = time.monotonic()
            with pytest.raises(LedgerBusy):
                other.set_open(owner, ref.task_id, False)
            assert time.monotonic() - t0 < 10
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    after = dump(path)
    assert after == before
    with LocalLedger(path) as led:
        assert len(led.events(ref.task_id)) == len(before["events"])
        receipt = led.apply(SignedOp.from_bytes(op_file.read_bytes()))  # the same operation, retried
        kinds = [e.type for e in receipt.events]
        if op == "submit_update":
            assert kinds == ["UpdateAccepted"] and led.task(ref.task_id).num_updates == 2
        elif op == "aggregate":
            assert kinds == ["RoundAggregated"] and led.task(ref.task_id).round == 1
        else:
            assert kinds == ["TaskCreated"] and led.task("later").aggregation == AggregationRule(1)
        again = led.apply(SignedOp.from_bytes(op_file.read_bytes()))  # and only once
        assert (again.tx, again.events, again.info) == (receipt.tx, receipt.events, {"replayed": True})


# --------------------------------------------------------------------------- concurrent clients
def test_concurrent_submits_lose_and_duplicate_nothing(tmp_path, maker):
    path = tmp_path / "ledger.sqlite"
    owner = Identity.generate()
    clients = [Identity.generate() for _ in range(6)]
    with LocalLedger(path) as led:
        ref = new_task(led, maker, owner, quorum=6, per_round=8)
        begin(led, ref.task_id, *clients)
        view = led.task(ref.task_id)
    jobs, updates = [], {}
    for i, c in enumerate(clients):
        u = updates[c.address] = maker.make(view, c.address, 100 + i)
        step = {"op": "submit", "task": ref.task_id, "weights": u.new_weights, "dc": str(u.data_commitment),
                "proof": u.proof.hex()}
        jobs.append({"key": c.to_keystore_entry(), "steps": [step, step]})  # the second: a new operation, same update
    reports = run_clients(tmp_path, path, jobs)
    for rep in reports:
        first, second = rep["results"]
        assert first["events"] == ["UpdateAccepted"] and second == {"error": "EAlreadySubmitted"}
    with LocalLedger(path) as led:
        v = led.task(ref.task_id)
        assert sorted(v.submitters) == sorted(c.address for c in clients) and v.num_updates == 6
        evs = led.events(ref.task_id)
        assert [e.seq for e in evs] == list(range(14))  # created, 6 registered, opened, 6 accepted
        accepted = [e for e in evs if e.type == "UpdateAccepted"]
        assert sorted(e.fields["num_updates"] for e in accepted) == [1, 2, 3, 4, 5, 6]
        assert [e.fields["num_updates"] for e in accepted] == [1, 2, 3, 4, 5, 6]  # in commit order
        assert sorted(e.tx for e in accepted) == sorted(r["results"][0]["ok"] for r in reports)
        tx = led.transactions(ref.task_id)
        assert sum(t.status == "ok" and t.op == "submit_update" for t in tx) == 6
        assert sum(t.status == "aborted" for t in tx) == 6
        # the state is exactly the running sums of the six updates
        state = led.state(ref.task_id)
        assert list(state.sums) == [sum(col) for col in zip(*(updates[s].new_weights for s in state.submitters))]


def test_concurrent_aggregators_advance_the_round_once(tmp_path, maker):
    path = tmp_path / "ledger.sqlite"
    owner, a, b = Identity.generate(), Identity.generate(), Identity.generate()
    with LocalLedger(path) as led:
        ref = new_task(led, maker, owner, quorum=2)
        begin(led, ref.task_id, a, b)
        for who, seed in ((a, 1), (b, 2)):
            u = maker.make(led.task(ref.task_id), who.address, seed)
            led.submit_update(who, ref.task_id, u.new_weights, u.data_commitment, u.proof)
    aggregators = [Identity.generate() for _ in range(4)]
    reports = run_clients(tmp_path, path, [
        {"key": g.to_keystore_entry(), "steps": [{"op": "aggregate", "task": ref.task_id}]} for g in aggregators])
    results = [r["results"][0] for r in reports]
    assert sum(r.get("events") == ["RoundAggregated"] for r in results) == 1
    assert sorted(r.get("error", "") for r in results) == ["", "ERoundNotOpen", "ERoundNotOpen", "ERoundNotOpen"]  # round 1 waits
    with LocalLedger(path) as led:
        assert led.task(ref.task_id).round == 1
        assert [e.type for e in led.events(ref.task_id)].count("RoundAggregated") == 1


def test_concurrent_creators_share_one_new_ledger_file(tmp_path, maker):
    path = tmp_path / "new" / "ledger.sqlite"  # made by the processes themselves, all at once
    owners = [Identity.generate() for _ in range(4)]
    step = {"op": "create", "spec": SPEC.to_dict(), "lr_q": maker.lr_q, "model": maker.initial_model(), "vk": maker.vk.hex()}
    reports = run_clients(tmp_path, path, [{"key": o.to_keystore_entry(), "steps": [step] * 3} for o in owners])
    assert len({r["chain_id"] for r in reports}) == 1
    created = [res["ok"] for r in reports for res in r["results"]]
    assert len(created) == 12 and len(set(created)) == 12
    assert sorted(os.listdir(path.parent)) in (["ledger.sqlite"], ["ledger.sqlite", "ledger.sqlite-shm", "ledger.sqlite-wal"])
    with LocalLedger(path) as led:
        assert led.chain_id == reports[0]["chain_id"]
        tasks = led.tasks()
        assert sorted(t.task_id for t in tasks) == sorted(created)
        for t in tasks:
            assert [e.type for e in led.events(t.task_id)] == ["TaskCreated"]
        caps = [led.admin_cap(t.task_id) for t in tasks]
        assert len({c for c, _ in caps} | set(created)) == 24
        per_owner = {o.address: sum(owner == o.address for _, owner in caps) for o in owners}
        assert set(per_owner.values()) == {3}


def _forked_child(ledger: LocalLedger, key: str, task_id: str, q) -> None:
    try:
        me = Identity.from_keystore_entry(key)
        kinds = [e.type for e in ledger.set_open(me, task_id, False).events]
        # it wrote through a connection of its own, not through the parent's (SQLite: never share one across fork)
        q.put(kinds + ["own connection"] * (ledger._store._pid == os.getpid()))
    except BaseException as e:  # report, do not hang the parent
        q.put(repr(e))


def test_a_ledger_object_inherited_by_a_forked_process_reconnects(tmp_path, maker):
    import multiprocessing

    owner = Identity.generate()
    led = LocalLedger(tmp_path / "ledger.sqlite")
    ref = new_task(led, maker, owner)
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_forked_child, args=(led, owner.to_keystore_entry(), ref.task_id, q))
    p.start()
    got = q.get(timeout=WAIT_S)
    p.join(WAIT_S)
    assert got == ["OpenChanged", "own connection"] and p.exitcode == 0
    assert not led.task(ref.task_id).open  # the parent's connection still works and sees the child's write
    assert [e.type for e in led.set_open(owner, ref.task_id, True).events] == ["OpenChanged"]
    led.close()
