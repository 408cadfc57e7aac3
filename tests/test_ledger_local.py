"""The local ledger (wafl_sui/ledger/local) through the ledger interface, with real proofs of a tiny
circuit: every rejection the contract can give, restart, signatures, replays, forged proofs,
admin operations, discard after grace, migrate, clear errors for files that are not (good)
ledgers, and open_ledger."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from wafl_sui.ledger import LedgerError, TaskNotFound, TaskView, open_ledger
from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.local import (
    InvalidSignature, LedgerFileError, LocalLedger, MalformedOperation, SignedOp, default_path, state_codec,
)
from wafl_sui.ledger.local.ops import canonical_json
from wafl_sui.devtools.updates import UpdateMaker
from wafl_sui.protocol import rules as agg_rules
from wafl_sui.protocol.errors import ProtocolError
from wafl_sui.protocol.poseidon import FIELD_MODULUS
from wafl_sui.protocol.round import MIN_GRACE_MS, RoundRules
from wafl_sui.protocol.rules import AggregationRule
from wafl_sui.protocol.spec import StepSpec
from wafl_sui.protocol import task as ptask
from wafl_sui.zk import sui_bytes
from ledger_clock import FixedClock as Clock  # noqa: E402

SPEC = StepSpec(features=4, classes=3, batch_size=2)
T0 = 1_000_000
DUR = 10_000
PER_ROUND = 8  # more than the identities below: a round samples every registered one


@pytest.fixture(scope="module")
def maker():
    m = UpdateMaker(SPEC)
    yield m
    m.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def ledger(tmp_path, clock):
    with LocalLedger(tmp_path / "ledger.sqlite", clock=clock) as led:
        yield led


@pytest.fixture(scope="module")
def ids():
    return {k: Identity.generate() for k in ("owner", "alice", "bob", "carol", "mallory")}


def new_task(ledger, maker, owner, *, quorum=2, max_rounds=2, grace=0, rule=0, trim=0, open_=True, name=None, model=None,
             ppr=PER_ROUND):
    return ledger.create_task(
        owner, SPEC, RoundRules(quorum, DUR, max_rounds, grace, ppr), AggregationRule(rule, trim), maker.lr_q, open_,
        model if model is not None else maker.initial_model(), maker.vk, name=name,
    )


def begin(ledger, task, *who):
    """Register `who` (those not registered yet) and open the task's round: with at most
    PER_ROUND registered, every one of them is sampled."""
    for x in who:
        if not ledger.task(task).is_registered(x.address):
            ledger.register(x, task)
    return ledger.open_round(who[0], task)


def err(fn, *args, **kw) -> str:
    with pytest.raises(ProtocolError) as e:
        fn(*args, **kw)
    return e.value.name


def dump(path: Path) -> dict:
    """Every row of the tables that hold the ledger's objects and history (not the transaction log)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in ("tasks", "objects", "events", "meta")}
    finally:
        con.close()


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def submit(ledger, maker, who, task, seed=0, **kw):
    u = maker.make(ledger.task(task), who.address, seed, **kw)
    return ledger.submit_update(who, task, u.new_weights, u.data_commitment, u.proof), u


# --------------------------------------------------------------------------- create, views, a full task
def test_create_task_view_ids_and_event(ledger, maker, ids, clock):
    ref = new_task(ledger, maker, ids["owner"], name="digits-1")
    assert ref.name == "digits-1"
    for x in (ref.task_id, ref.admin_cap_id):
        assert x.startswith("0x") and len(x) == 66 and int(x, 16) >= 0
    assert ref.task_id != ref.admin_cap_id
    v = ledger.task("digits-1")
    assert isinstance(v, TaskView) and v == ledger.task(ref.task_id) == ledger.task(ref.task_id.upper().replace("0X", "0x"))
    assert (v.spec, v.lr_q, v.round_rules, v.aggregation) == (SPEC, maker.lr_q, RoundRules(2, DUR, 2, 0, PER_ROUND), AggregationRule(0))
    assert (v.round, v.round_start_ms, v.deadline_ms, v.created_ms) == (0, T0, 0, T0)  # waits for open_round
    assert not v.round_open and v.registered == () and v.sampled == ()
    assert v.model == tuple(maker.initial_model()) and v.submitters == () and not v.finished and v.open
    assert v.model_commitment == ptask.commitment.model_commitment_encoded(maker.initial_model(), SPEC)
    assert v.version == ptask.VERSION and v.name == "digits-1" and v.num_updates == 0
    # the key is prepared once at creation and stored prepared, as on chain
    assert v.prepared_vk == sui_bytes.prepare_verifying_key(maker.vk)
    assert ledger.admin_cap(ref.task_id) == (ref.admin_cap_id, ids["owner"].address)
    assert (ref.admin_cap_id, "TaskAdminCap", ref.task_id) in ledger.owned_objects(ids["owner"].address)
    (ev,) = ledger.events(ref.task_id)
    assert (ev.seq, ev.type, ev.timestamp_ms) == (0, "TaskCreated", T0)
    f = ev.fields
    assert (f["task_id"], f["admin_cap_id"], f["creator"]) == (ref.task_id, ref.admin_cap_id, ids["owner"].address)
    assert f["spec"] == SPEC.move_fields() and f["round_rules"]["quorum"] == 2 and f["deadline_ms"] == 0
    assert [t.task_id for t in ledger.tasks()] == [ref.task_id]
    # a second task gets fresh ids; names are unique
    ref2 = new_task(ledger, maker, ids["alice"])
    assert len({ref.task_id, ref.admin_cap_id, ref2.task_id, ref2.admin_cap_id}) == 4
    assert [t.task_id for t in ledger.tasks()] == [ref.task_id, ref2.task_id]
    with pytest.raises(LedgerError, match="already exists"):
        new_task(ledger, maker, ids["bob"], name="digits-1")
    for bad in ("", "0xabc", "a b", "x" * 65, "-lead"):
        with pytest.raises(LedgerError, match="not valid"):
            new_task(ledger, maker, ids["bob"], name=bad)
    assert len(ledger.tasks()) == 2


def test_full_task_two_rounds_fedavg(ledger, maker, ids, clock):
    ref = new_task(ledger, maker, ids["owner"], quorum=2, max_rounds=2)
    a, b = ids["alice"], ids["bob"]
    begin(ledger, ref.task_id, a, b)
    r1, ua = submit(ledger, maker, a, ref.task_id, seed=1)
    assert 0 < r1.info["verify_seconds"] < 30 and r1.info["verifier"] in ("fast", "py_ecc")
    (acc,) = r1.events
    assert acc.type == "UpdateAccepted" and acc.fields["sender"] == a.address and acc.fields["num_updates"] == 1
    assert acc.fields["old_model_commitment"] == ua.public_inputs[0] and acc.fields["context_hash"] == ua.public_inputs[3]
    assert ledger.has_submitted(ref.task_id, a.address) and not ledger.has_submitted(ref.task_id, b.address)
    clock.t += 5
    _, ub = submit(ledger, maker, b, ref.task_id, seed=2)
    v = ledger.task(ref.task_id)
    assert v.submitters == (a.address, b.address)
    clock.t += 5
    (agg,) = ledger.aggregate(ids["carol"], ref.task_id).events  # anyone may aggregate, once the sample is in
    expect = agg_rules.fedavg([ua.new_weights, ub.new_weights])
    v = ledger.task(ref.task_id)
    assert list(v.model) == expect and v.round == 1 and v.submitters == ()
    assert v.model_commitment == ptask.commitment.model_commitment_encoded(expect, SPEC)
    assert (v.round_start_ms, v.deadline_ms, v.round_open) == (T0 + 10, 0, False)  # round 1 waits for its sample
    assert agg.type == "RoundAggregated" and agg.fields["round"] == 0 and agg.fields["next_round"] == 1
    assert agg.fields["submitters"] == [a.address, b.address] and agg.fields["triggered_by"] == ids["carol"].address
    # round 1 from the new model; the last round finishes the task
    ledger.open_round(b, ref.task_id)
    submit(ledger, maker, a, ref.task_id, seed=3)
    submit(ledger, maker, b, ref.task_id, seed=4)
    rec = ledger.aggregate_round(a, ref.task_id)
    assert [e.type for e in rec[-1].events] == ["RoundAggregated", "TaskFinished"]
    v = ledger.task(ref.task_id)
    assert v.finished and v.round == 2
    evs = ledger.events(ref.task_id)
    assert [e.seq for e in evs] == list(range(len(evs)))
    assert [e.type for e in evs] == ["TaskCreated", "ParticipantRegistered", "ParticipantRegistered", "RoundOpened",
                                     "UpdateAccepted", "UpdateAccepted", "RoundAggregated", "RoundOpened",
                                     "UpdateAccepted", "UpdateAccepted", "RoundAggregated", "TaskFinished"]
    assert ledger.events(ref.task_id, after_seq=9) == evs[10:]
    assert [e.tx for e in evs[10:]] == [rec[-1].tx] * 2 and list(rec[-1].events) == evs[10:]
    # a finished task takes nothing
    u = maker.make(v, ids["carol"].address, 9)
    assert err(ledger.submit_update, ids["carol"], ref.task_id, u.new_weights, u.data_commitment, u.proof) == "ETaskFinished"
    assert err(ledger.aggregate, a, ref.task_id) == "ETaskFinished"
    assert err(ledger.discard_round, a, ref.task_id) == "ETaskFinished"
    assert err(ledger.restart_round, ids["owner"], ref.task_id) == "ETaskFinished"


def test_reopen_after_restart_keeps_everything(tmp_path, maker, ids, clock):
    path = tmp_path / "ledger.sqlite"
    led = LocalLedger(path, clock=clock)
    chain = led.chain_id
    ref = new_task(led, maker, ids["owner"], name="persist")
    begin(led, "persist", ids["alice"], ids["bob"])
    submit(led, maker, ids["alice"], "persist", seed=1)
    before_view, before_events = led.task("persist"), led.events("persist")
    led.close()
    with LocalLedger(path, clock=clock) as led2:
        assert led2.chain_id == chain
        assert led2.task("persist") == before_view and led2.events("persist") == before_events
        assert led2.admin_cap("persist") == (ref.admin_cap_id, ids["owner"].address)
        submit(led2, maker, ids["bob"], "persist", seed=2)
        assert led2.aggregate(ids["bob"], "persist").of_type("RoundAggregated")
        assert led2.task("persist").round == 1
    with open_ledger(path, clock=clock) as led3:  # a path through the factory
        assert led3.task(ref.task_id).round == 1 and len(led3.events(ref.task_id)) == 7


# --------------------------------------------------------------------------- create_task rejections
def test_create_task_rejections_change_nothing(ledger, maker, ids):
    o = ids["owner"]
    good = dict(spec=SPEC, round_rules=RoundRules(2, DUR, 2, 0), aggregation=AggregationRule(0), lr_q=maker.lr_q,
                open_=True, initial_model=maker.initial_model(), vk=maker.vk)
    new_task(ledger, maker, o)  # something that must stay as it is
    before = dump(ledger.path)
    n = SPEC.num_weights
    vk4 = maker.vk[:224] + (4).to_bytes(8, "little") + maker.vk[232:232 + 4 * 32]  # a key for 3 public inputs
    bad_point = bytearray(maker.vk)
    bad_point[232 + 31] |= 0xC0  # IC[0] with both the infinity and the sign flag: Sui cannot decode it
    big = StepSpec(features=1000, classes=10, batch_size=2)
    cases = [
        ("EInvalidSpec", dict(lr_q=0)),
        ("EInvalidSpec", dict(lr_q=1 << SPEC.lr_bits)),
        ("EInvalidSpec", dict(spec={**SPEC.to_dict(), "features": 0})),
        ("EInvalidRoundRules", dict(round_rules={"quorum": 0, "round_duration_ms": DUR, "max_rounds": 2, "grace_ms": 0})),
        ("EInvalidRoundRules", dict(round_rules={"quorum": 300, "round_duration_ms": DUR, "max_rounds": 2, "grace_ms": 0})),
        ("EInvalidRoundRules", dict(round_rules={"quorum": 2, "round_duration_ms": 0, "max_rounds": 2, "grace_ms": 0})),
        ("EInvalidAggregationRule", dict(aggregation={"rule": 7, "trim_bps": 0})),
        ("EInvalidAggregationRule", dict(aggregation={"rule": 2, "trim_bps": 5000})),
        ("EOverGasBudget", dict(spec=big, round_rules=RoundRules(256, DUR, 2, 0), aggregation=AggregationRule(1),
                                initial_model=[])),
        ("EWrongLength", dict(initial_model=maker.initial_model()[:-1])),
        ("EValueOutOfBounds", dict(initial_model=[1 << SPEC.weight_bits] * n)),
        ("EInvalidVerifyingKey", dict(vk=vk4)),
        ("EInvalidVerifyingKey", dict(vk=maker.vk[:-1])),
        ("EInvalidVerifyingKey", dict(vk=bytes(bad_point))),
    ]
    for name, change in cases:
        args = {**good, **change}
        assert err(ledger.create_task, o, **args) == name, change
    # the spec's checks come before lr_q's (the PTB builds the spec first), as on chain
    assert err(ledger.create_task, o, **{**good, "lr_q": 0, "round_rules": {"quorum": 0, "round_duration_ms": 1,
                                                                           "max_rounds": 1, "grace_ms": 0}}) == "EInvalidRoundRules"
    assert dump(ledger.path) == before
    aborted = [t for t in ledger.transactions() if t.status == "aborted"]
    assert [t.error for t in aborted] == [c[0] for c in cases] + ["EInvalidRoundRules"]
    assert len(ledger.tasks()) == 1


# --------------------------------------------------------------------------- submit rejections and forged proofs
def test_submit_rejections_in_contract_order(ledger, maker, ids, clock):
    a, b, c = ids["alice"], ids["bob"], ids["carol"]
    ref = new_task(ledger, maker, ids["owner"], quorum=2)
    other = new_task(ledger, maker, ids["owner"], quorum=2)
    tid = ref.task_id
    u0 = maker.make(ledger.task(tid), a.address, 1)
    assert err(ledger.submit_update, a, tid, u0.new_weights, u0.data_commitment, u0.proof) == "ERoundNotOpen"
    begin(ledger, tid, a, b)
    begin(ledger, other.task_id, a, c)
    ledger.register(c, tid)  # registered after the round opened: not in its sample
    v = ledger.task(tid)
    ua = maker.make(v, a.address, 1)
    before = dump(ledger.path)

    def sub(who, u=ua, weights=None, dc=None, proof=None, task=tid):
        return ledger.submit_update(who, task, u.new_weights if weights is None else weights,
                                    u.data_commitment if dc is None else dc, u.proof if proof is None else proof)

    lim = 1 << SPEC.weight_bits
    assert err(sub, a, weights=ua.new_weights[:-1]) == "EWrongLength"
    assert err(sub, a, weights=ua.new_weights + [0]) == "EWrongLength"
    assert err(sub, a, weights=[lim] + ua.new_weights[1:]) == "EValueOutOfBounds"
    assert err(sub, a, dc=FIELD_MODULUS) == "EValueOutOfBounds"
    assert err(sub, a, proof=ua.proof[:127]) == "EInvalidProof"
    assert err(sub, a, proof=ua.proof + b"\0") == "EInvalidProof"
    assert err(sub, a, proof=bytes(128)) == "EInvalidProof"
    assert err(sub, a, proof=ua.proof[:-1] + bytes([ua.proof[-1] ^ 1])) == "EInvalidProof"
    tampered = list(ua.new_weights)
    tampered[3] += 1
    assert err(sub, a, weights=tampered) == "EInvalidProof"  # weights the proof is not about
    assert err(sub, a, dc=(ua.data_commitment + 1) % FIELD_MODULUS) == "EInvalidProof"
    # replays of a valid proof: another sender, another round, another task
    with pytest.raises(ProtocolError, match="EInvalidProof") as e:
        sub(b)
    assert e.value.verify_seconds > 0  # the proof was checked (and failed), and how long that took
    assert err(sub, a, u=maker.make(v, a.address, 1, round_=1)) == "EInvalidProof"
    assert err(sub, a, task=other.task_id) == "EInvalidProof"
    assert err(sub, a, u=maker.make(v, a.address, 1, task_id=other.task_id)) == "EInvalidProof"
    assert err(sub, a, u=maker.make(v, a.address, 1, lr_q=maker.lr_q + 1)) == "EInvalidProof"
    assert dump(ledger.path) == before  # no rejection changed anything
    # the honest one goes in once
    sub(a)
    assert err(sub, a) == "EAlreadySubmitted"
    assert err(sub, a, u=maker.make(v, a.address, 5)) == "EAlreadySubmitted"
    submit(ledger, maker, b, tid, seed=2)
    assert err(submit, ledger, maker, c, tid, 3) == "ENotSampled"  # a seat comes with the sample, not arrival
    # the other task: its deadline (inclusive)
    clock.t = T0 + DUR
    submit(ledger, maker, c, other.task_id, 3)
    clock.t = T0 + DUR + 1
    assert err(submit, ledger, maker, a, other.task_id, 4) == "ERoundClosed"
    assert ledger.aggregate(c, tid).of_type("RoundAggregated")


def test_allowlist_and_aggregate_preconditions(ledger, maker, ids, clock):
    o, a, b, c = ids["owner"], ids["alice"], ids["bob"], ids["carol"]
    ref = new_task(ledger, maker, o, quorum=1, open_=False)
    tid = ref.task_id
    assert not ledger.is_allowed(tid, a.address)
    assert err(ledger.register, a, tid) == "ESenderNotAllowed"
    assert [e.type for e in ledger.add_participant(o, tid, a.address).events] == ["ParticipantAdded"]
    assert ledger.is_allowed(tid, a.address) and not ledger.is_allowed(tid, b.address)
    ledger.add_participant(o, tid, b.address)
    begin(ledger, tid, a, b)
    submit(ledger, maker, a, tid, 1)
    assert err(ledger.aggregate, b, tid) == "EQuorumNotReached"  # b is sampled and may still submit
    ledger.remove_participant(o, tid, a.address)
    assert not ledger.is_allowed(tid, a.address) and ledger.task(tid).submitters == (a.address,)  # its update stays
    (ev,) = ledger.set_open(o, tid, True).events
    assert ev.type == "OpenChanged" and ev.fields["open"] is True and ledger.is_allowed(tid, c.address)
    # after the deadline with one update: aggregation is allowed
    clock.t = T0 + DUR + 1
    assert ledger.aggregate(b, tid).of_type("RoundAggregated")
    # round 1 waits for its sample, then closes empty: ENoUpdates
    clock.t = T0 + 2 * DUR
    assert err(ledger.aggregate, b, tid) == "ERoundNotOpen"
    ledger.open_round(b, tid)
    clock.t = T0 + 3 * DUR + 1
    assert err(ledger.aggregate, b, tid) == "ENoUpdates"


def test_discard_after_grace_and_restart_round(ledger, maker, ids, clock):
    """Finding 3 through the ledger interface: nobody can wipe a round that holds its quorum of
    honest updates (not at its deadline + grace, not years later), and the admin cannot hold it
    open; an empty round is discarded after deadline + max(grace, MIN_GRACE_MS), its timer
    restarted by the admin."""
    o, a = ids["owner"], ids["alice"]
    ref = new_task(ledger, maker, o, quorum=1, grace=500)  # below the minimum: MIN_GRACE_MS applies
    tid = ref.task_id
    begin(ledger, tid, a, ids["bob"])
    assert err(ledger.discard_round, a, tid) == "EGracePeriodNotOver"
    clock.t = T0 + DUR + MIN_GRACE_MS
    assert err(ledger.discard_round, a, tid) == "EGracePeriodNotOver"  # the grace period's last ms
    clock.t += 1
    (ev,) = ledger.discard_round(ids["mallory"], tid).events  # anyone, after the grace period
    assert ev.type == "RoundDiscarded" and ev.fields["submitters"] == [] and ev.fields["round"] == 0
    v = ledger.task(tid)
    assert v.round == 0 and v.submitters == () and v.round_start_ms == clock.t and v.deadline_ms == 0
    assert not v.round_open  # a new sample next
    ledger.open_round(a, tid)
    # the admin restarts an empty round's timer
    clock.t += 100
    (ev,) = ledger.restart_round(o, tid).events
    assert ev.type == "RoundRestarted" and ev.fields["num_updates"] == 0
    assert ledger.task(tid).deadline_ms == clock.t + DUR
    # one honest update, the quorum: the round is never wiped nor held open, only aggregated
    _, ua = submit(ledger, maker, a, tid, 1)
    for later in (DUR + MIN_GRACE_MS + 1, 10 * 365 * 86_400_000):
        clock.t += later
        assert err(ledger.discard_round, ids["mallory"], tid) == "ERoundHasUpdates"
        assert err(ledger.restart_round, o, tid) == "ERoundHasUpdates"
    assert ledger.task(tid).submitters == (a.address,)
    assert ledger.aggregate(ids["mallory"], tid).of_type("RoundAggregated")


def test_admin_needs_the_owned_cap(ledger, maker, ids):
    o, a = ids["owner"], ids["alice"]
    ref = new_task(ledger, maker, o, open_=False)
    mine = new_task(ledger, maker, a)  # alice owns the cap of another task
    tid = ref.task_id
    before = dump(ledger.path)
    for call in (lambda: ledger.add_participant(a, tid, a.address), lambda: ledger.remove_participant(a, tid, a.address),
                 lambda: ledger.set_open(a, tid, True), lambda: ledger.restart_round(a, tid), lambda: ledger.migrate(a, tid)):
        assert err(call) == "ENotAdmin"
    # her own cap (of the other task) on this task: the contract's check
    for op, args in (("set_open", {"open": True}), ("add_participant", {"participant": a.address})):
        signed = ledger.build_operation(a, op, tid, cap=mine.admin_cap_id, **args)
        assert err(ledger.apply, signed) == "ENotAdmin"
    assert dump(ledger.path) == before and not ledger.is_allowed(tid, a.address)
    with pytest.raises(LedgerError, match="not a TaskAdminCap"):
        ledger.apply(ledger.build_operation(o, "set_open", tid, cap=tid, open=True))
    with pytest.raises(LedgerError, match="no object"):
        ledger.apply(ledger.build_operation(o, "set_open", tid, cap="0x" + "ab" * 32, open=True))


def _set_version(path: Path, task_id: str, version: int) -> None:
    """Make the stored task an object of another package version (what an upgrade leaves)."""
    from wafl_sui.ledger.local.store import row_digest

    con = sqlite3.connect(path)
    with con:
        (text,) = con.execute("SELECT state FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        doc = json.loads(text)
        doc["f"]["version"] = version
        text = json.dumps(doc, separators=(",", ":"))
        con.execute("UPDATE tasks SET state = ?, state_digest = ?, object_version = object_version + 1 WHERE task_id = ?",
                    (text, row_digest(task_id, text), task_id))
    con.close()


def test_wrong_version_and_migrate(ledger, maker, ids):
    o, a = ids["owner"], ids["alice"]
    ref = new_task(ledger, maker, o)
    tid = ref.task_id
    begin(ledger, tid, a, ids["bob"])
    assert err(ledger.migrate, o, tid) == "EWrongVersion"  # nothing to migrate
    _set_version(ledger.path, tid, ptask.VERSION - 1)
    assert ledger.task(tid).version == ptask.VERSION - 1
    assert err(submit, ledger, maker, a, tid, 1) == "EWrongVersion"
    assert err(ledger.aggregate, a, tid) == "EWrongVersion"
    assert err(ledger.discard_round, a, tid) == "EWrongVersion"
    assert err(ledger.set_open, o, tid, False) == "EWrongVersion"  # before the admin check
    assert err(ledger.migrate, a, tid) == "ENotAdmin"
    (ev,) = ledger.migrate(o, tid).events
    assert ev.type == "TaskMigrated" and (ev.fields["from_version"], ev.fields["to_version"]) == (ptask.VERSION - 1, ptask.VERSION)
    assert ledger.task(tid).version == ptask.VERSION
    submit(ledger, maker, a, tid, 1)


# --------------------------------------------------------------------------- signatures and replays
def _resign(signed: SignedOp, body_change, signer=None) -> SignedOp:
    body = json.loads(signed.message)
    body_change(body)
    msg = canonical_json(body)
    return SignedOp(msg, signer.sign_personal_message(msg) if signer else signed.signature)


def test_signatures_bind_sender_and_content(ledger, maker, ids, tmp_path):
    a, m = ids["alice"], ids["mallory"]
    ref = new_task(ledger, maker, ids["owner"])
    tid = ref.task_id
    begin(ledger, tid, a, m)
    u = maker.make(ledger.task(tid), a.address, 1)
    signed = ledger.build_operation(a, "submit_update", tid, new_weights=u.new_weights, data_commitment=u.data_commitment,
                                    proof=u.proof)
    before = dump(ledger.path)
    # Mallory signs Alice's operation with her own key: the signature is not the sender's
    with pytest.raises(InvalidSignature, match="signed by " + m.address):
        ledger.apply(SignedOp(signed.message, m.sign_personal_message(signed.message)))
    # tampered content under Alice's signature
    def bump(body):
        body["args"]["new_weights"][0] += 1
    with pytest.raises(InvalidSignature, match="does not verify"):
        ledger.apply(_resign(signed, bump))
    with pytest.raises(InvalidSignature):
        ledger.apply(_resign(signed, lambda b: b.update(nonce="0" * 32)))
    with pytest.raises(InvalidSignature):
        ledger.apply(SignedOp(signed.message, "AA" + signed.signature[2:]))
    with pytest.raises(InvalidSignature):
        ledger.apply(SignedOp(signed.message, "not base64!"))
    # a re-encoding of the same content is not the signed operation
    with pytest.raises(MalformedOperation, match="canonical"):
        ledger.apply(SignedOp(json.dumps(json.loads(signed.message), indent=1).encode(), signed.signature))
    with pytest.raises(MalformedOperation):
        ledger.apply(SignedOp(b"\xff\x00", signed.signature))
    # Mallory names herself as the sender of Alice's update: properly signed, but the proof is Alice's
    stolen = _resign(signed, lambda b: b.update(sender=m.address), signer=m)
    assert err(ledger.apply, stolen) == "EInvalidProof"
    # an operation signed for another ledger file
    with LocalLedger(tmp_path / "other.sqlite") as other:
        with pytest.raises(LedgerError, match="signed for ledger"):
            other.apply(signed)
    assert dump(ledger.path) == before
    # the signed bytes travel (another process, the network) and apply there
    receipt = ledger.apply(SignedOp.from_bytes(signed.to_bytes()))
    assert receipt.tx == signed.digest and receipt.events[0].fields["sender"] == a.address
    assert ledger.signed_operation(signed.digest) == signed
    with pytest.raises(MalformedOperation):
        SignedOp.from_bytes(b'{"format": "other"}')


@pytest.mark.parametrize("field, bad", [
    ("domain", "wafl-local-ledger/2"), ("domain", "sui-intent/0"), ("domain", ""),
    ("nonce", ""), ("nonce", "0" * 31), ("nonce", "0" * 33), ("nonce", "A" * 32), ("nonce", "g" * 32),
    ("nonce", "0" * 31 + "\n"), ("nonce", 7),
])
def test_a_properly_signed_operation_outside_the_format_is_refused(ledger, maker, ids, field, bad):
    """The sender itself signs an operation of another domain (another protocol's signed message,
    or a later format) or with a nonce that is not 32 lower-case hex digits: the signature is
    good, the content is not this ledger's, so nothing applies."""
    a = ids["alice"]
    tid = new_task(ledger, maker, ids["owner"]).task_id
    begin(ledger, tid, a, ids["bob"])
    u = maker.make(ledger.task(tid), a.address, 1)
    signed = ledger.build_operation(a, "submit_update", tid, new_weights=u.new_weights, data_commitment=u.data_commitment,
                                    proof=u.proof)
    before = dump(ledger.path)
    bent = _resign(signed, lambda b: b.update({field: bad}), signer=a)
    with pytest.raises(MalformedOperation, match=field):
        ledger.apply(bent)
    assert dump(ledger.path) == before and ledger.task(tid).num_updates == 0
    assert ledger.apply(signed).events[0].type == "UpdateAccepted"  # the well-formed one applies


def test_replayed_operations_have_no_second_effect(ledger, maker, ids):
    a, b = ids["alice"], ids["bob"]
    ref = new_task(ledger, maker, ids["owner"], quorum=2)
    tid = ref.task_id
    begin(ledger, tid, a, b)
    u = maker.make(ledger.task(tid), a.address, 1)
    signed = ledger.build_operation(a, "submit_update", tid, new_weights=u.new_weights, data_commitment=u.data_commitment,
                                    proof=u.proof)
    first = ledger.apply(signed)
    after = dump(ledger.path)
    again = ledger.apply(signed)
    assert (again.tx, again.events) == (first.tx, first.events) and again.info == {"replayed": True}
    assert dump(ledger.path) == after and ledger.task(tid).num_updates == 1
    # an aborted operation stays aborted (the same abort, nothing recorded twice)
    early = ledger.build_operation(b, "aggregate", tid)
    assert err(ledger.apply, early) == "EQuorumNotReached"
    n_tx = len(ledger.transactions())
    submit(ledger, maker, b, tid, 2)  # now the sample is in, but that signed aggregate already failed
    assert err(ledger.apply, early) == "EQuorumNotReached"
    assert len(ledger.transactions()) == n_tx + 1
    agg = ledger.build_operation(b, "aggregate", tid)
    r1 = ledger.apply(agg)
    r2 = ledger.apply(agg)
    assert (r1.tx, r1.events) == (r2.tx, r2.events) and len(ledger.events(tid)) == 7 and ledger.task(tid).round == 1
    # a replayed create_task is the same task
    create = ledger.build_operation(ids["owner"], "create_task", spec=SPEC, round_rules=RoundRules(1, DUR, 1, 0),
                                    aggregation=AggregationRule(0), lr_q=maker.lr_q, open=True,
                                    initial_model=maker.initial_model(), vk=maker.vk, name="once", deposit_mist=0)
    t1 = ledger.task_ref(ledger.apply(create))
    t2 = ledger.task_ref(ledger.apply(create))
    assert t1 == t2 and len(ledger.tasks()) == 2
    statuses = [(t.op, t.status) for t in ledger.transactions()]
    assert statuses.count(("submit_update", "ok")) == 2 and statuses.count(("aggregate", "ok")) == 1
    assert statuses.count(("create_task", "ok")) == 2


def test_wrong_signer_objects_and_unknown_tasks(ledger, maker, ids):
    ref = new_task(ledger, maker, ids["owner"])
    with pytest.raises(LedgerError, match="Identity"):
        ledger.aggregate("0x" + "11" * 32, ref.task_id)
    for call in (lambda: ledger.task("nope"), lambda: ledger.task("0x" + "12" * 32), lambda: ledger.events("nope"),
                 lambda: ledger.aggregate(ids["alice"], "nope"), lambda: ledger.has_submitted("nope", ids["alice"].address),
                 lambda: ledger.task("0xzz")):
        with pytest.raises(TaskNotFound):
            call()
    with pytest.raises(LedgerError, match="unknown operation"):
        ledger.build_operation(ids["alice"], "steal", ref.task_id)
    with pytest.raises(LedgerError, match="unexpected arguments"):
        ledger.build_operation(ids["alice"], "aggregate", ref.task_id, extra=1)
    with pytest.raises(LedgerError, match="Sui address"):
        ledger.has_submitted(ref.task_id, "alice")
    with pytest.raises(LedgerError, match="unknown verifier"):
        LocalLedger(ledger.path, verifier="gpu")


def test_py_ecc_verifier_gives_the_same_answers(tmp_path, maker, ids):
    with LocalLedger(tmp_path / "ref.sqlite", verifier="py_ecc") as led:
        ref = new_task(led, maker, ids["owner"])
        begin(led, ref.task_id, ids["alice"], ids["bob"])
        u = maker.make(led.task(ref.task_id), ids["alice"].address, 1)
        assert err(led.submit_update, ids["bob"], ref.task_id, u.new_weights, u.data_commitment, u.proof) == "EInvalidProof"
        led.submit_update(ids["alice"], ref.task_id, u.new_weights, u.data_commitment, u.proof)
        assert led.task(ref.task_id).submitters == (ids["alice"].address,)


def test_ledger_time_never_goes_back(ledger, maker, ids, clock):
    ref = new_task(ledger, maker, ids["owner"], quorum=1)
    begin(ledger, ref.task_id, ids["alice"])
    clock.t = T0 + 50
    ledger.set_open(ids["owner"], ref.task_id, False)
    clock.t = T0 - 10_000  # the wall clock jumps back
    (ev,) = ledger.restart_round(ids["owner"], ref.task_id).events
    assert ev.fields["timestamp_ms"] == T0 + 50 and ledger.events(ref.task_id)[-1].timestamp_ms == T0 + 50


def test_median_task_state_round_trips(ledger, maker, ids):
    ref = new_task(ledger, maker, ids["owner"], quorum=3, rule=1, open_=False)
    ledger.add_participant(ids["owner"], ref.task_id, ids["alice"].address)
    ledger.add_participant(ids["owner"], ref.task_id, ids["bob"].address)
    ledger.add_participant(ids["owner"], ref.task_id, ids["carol"].address)
    begin(ledger, ref.task_id, ids["alice"], ids["bob"], ids["carol"])
    submit(ledger, maker, ids["alice"], ref.task_id, 1)
    submit(ledger, maker, ids["bob"], ref.task_id, 2)
    state = ledger.state(ref.task_id)
    assert len(state.updates) == 2 and len(state.allowlist) == 3 and len(state.sampled) == 3
    assert state_codec.loads(state_codec.dumps(state)) == state
    with LocalLedger(ledger.path) as fresh:  # decoded from the file, not from a cache
        assert fresh.state(ref.task_id) == state


# --------------------------------------------------------------------------- files
def _ledger_with_tasks(path: Path, maker, ids, names=("a", "b")) -> None:
    with LocalLedger(path) as led:
        for n in names:
            new_task(led, maker, ids["owner"], name=n)


def test_files_that_are_not_ledgers_are_refused_untouched(tmp_path, maker, ids):
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"hello, I am not a database" * 100)
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    foreign = tmp_path / "foreign.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO photos VALUES (1, 'cat')")
    con.commit()
    con.close()
    for path, match in ((garbage, "not an SQLite database"), (empty, "empty"), (foreign, "not a WaFL ledger")):
        h = sha(path)
        with pytest.raises(LedgerFileError, match=match) as e:
            LocalLedger(path)
        assert str(path) in str(e.value) and "untouched" in str(e.value)
        assert sha(path) == h and sorted(os.listdir(tmp_path)) == ["empty.sqlite", "foreign.sqlite", "garbage.sqlite"]
    with pytest.raises(LedgerFileError, match="folder"):
        LocalLedger(tmp_path)


def test_newer_schema_is_refused_untouched(tmp_path, maker, ids):
    path = tmp_path / "ledger.sqlite"
    _ledger_with_tasks(path, maker, ids)
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 2")
    con.close()
    h = sha(path)
    with pytest.raises(LedgerFileError, match="newer WaFL") as e:
        LocalLedger(path)
    assert str(path) in str(e.value) and sha(path) == h


def test_corrupt_ledger_is_refused_and_nothing_is_lost(tmp_path, maker, ids):
    path = tmp_path / "ledger.sqlite"
    _ledger_with_tasks(path, maker, ids, names=("first", "second"))
    with LocalLedger(path) as led:
        want_first, want_events = led.task("first"), led.events("first")
        second_id = led.task("second").task_id
    data = path.read_bytes()
    # 1. damaged b-tree pages: refused at open (quick_check), the file is never written
    broken = tmp_path / "broken.sqlite"
    bad = bytearray(data)
    page = 4096
    for k in range(page, len(bad) - page, page):
        bad[k:k + 64] = bytes(range(64))  # every page header after the first
    broken.write_bytes(bad)
    h = sha(broken)
    with pytest.raises(LedgerFileError, match="corrupt|damaged|malformed") as e:
        LocalLedger(broken).tasks()
    assert str(broken) in str(e.value) and sha(broken) == h
    # 2. damaged bytes inside one task's state: that task is refused, the others are intact
    dented = tmp_path / "dented.sqlite"
    bad = bytearray(data)
    start = bad.find(b'"f":{"task_id":"' + second_id.encode())
    at = bad.find(b'"model_commitment":', start)
    assert start >= 0 and at > start, "the test did not find the stored state"
    d = at + len(b'"model_commitment":')
    bad[d] = ord("1") if bad[d] != ord("1") else ord("2")  # one digit of the stored commitment
    dented.write_bytes(bad)
    h = sha(dented)
    with LocalLedger(dented) as led:
        assert led.task("first") == want_first and led.events("first") == want_events
        with pytest.raises(LedgerFileError, match="checksum"):
            led.task("second")
        with pytest.raises(LedgerFileError, match="checksum"):
            led.aggregate(ids["alice"], "second")
    assert sha(dented) == h
    # 3. a truncated file
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(data[: len(data) // 2])
    h = sha(cut)
    with pytest.raises(LedgerFileError):
        LocalLedger(cut).tasks()
    assert sha(cut) == h
    # the original is still a good ledger
    with LocalLedger(path) as led:
        assert led.task("first") == want_first


def test_read_only_and_unwritable_locations(tmp_path, maker, ids):
    path = tmp_path / "ledger.sqlite"
    with pytest.raises(LedgerFileError, match="no ledger"):
        LocalLedger(path, read_only=True)
    _ledger_with_tasks(path, maker, ids, names=("ro",))
    h = sha(path)
    with LocalLedger(path, read_only=True) as ro:
        assert ro.task("ro").round == 0 and len(ro.events("ro")) == 1
        with pytest.raises(LedgerFileError, match="read_only"):
            ro.set_open(ids["owner"], "ro", False)
    assert sha(path) == h
    afile = tmp_path / "a-file"
    afile.write_text("x")
    with pytest.raises(LedgerFileError, match="cannot create the folder"):
        LocalLedger(afile / "sub" / "ledger.sqlite")
    if os.path.isdir("/proc/self"):
        with pytest.raises(LedgerFileError, match="read-only location"):
            LocalLedger("/proc/wafl-no-such-dir/ledger.sqlite")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(LedgerFileError, match="read-only location"):
            LocalLedger(locked / "ledger.sqlite")


def test_default_path_and_open_ledger(tmp_path, monkeypatch):
    monkeypatch.setenv("WAFL_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert default_path() == tmp_path / "home" / "ledger.sqlite"
    with open_ledger() as led:
        assert led.path == tmp_path / "home" / "ledger.sqlite" and led.network == "local"
    with open_ledger("local") as led:
        assert led.path == default_path()
    with open_ledger(f"local:{tmp_path / 'x.sqlite'}") as led:
        assert led.path == tmp_path / "x.sqlite"
    with open_ledger(str(tmp_path / "y.db")) as led:
        assert led.path == tmp_path / "y.db"
    with open_ledger("rel.sqlite") as led:
        assert led.path.resolve() == (tmp_path / "rel.sqlite").resolve()
    from importlib.util import find_spec

    if find_spec("wafl_sui.ledger.sui.ledger") is None:
        for net in ("localnet", "devnet", "testnet"):
            with pytest.raises(LedgerError, match="not wired"):
                open_ledger(net)
    else:  # the Sui ledger is wired: the factory hands the network name to it (no node is contacted)
        sui = open_ledger("localnet", clock=lambda: 0)
        try:
            assert sui.network == "localnet" and not isinstance(sui, LocalLedger)
        finally:
            sui.close()
    for bad in ("bogus", "", "local:", "   "):
        with pytest.raises(LedgerError):
            open_ledger(bad)


def test_every_operation_has_its_handler(tmp_path):
    from wafl_sui.ledger.local.ops import OPS

    with LocalLedger(tmp_path / "ledger.sqlite") as led:
        handlers = {name: led._operation(name) for name in OPS}
        assert {h.__name__ for h in handlers.values()} == {f"_do_{name}" for name in OPS}
        with pytest.raises(KeyError):
            led._operation("not_an_operation")
