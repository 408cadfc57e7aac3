"""The Python mirror of the Move task's round rules (wafl_sui/protocol/task.py and round.py): every rejection,
in the contract's order, and the round life cycle."""

from __future__ import annotations

import pytest

from wafl_sui import protocol
from wafl_sui.protocol import codec, round as round_rules, rules as agg_rules, spec as spec_rules, task
from wafl_sui.protocol import ProtocolError, StepSpec

SPEC = StepSpec(features=2, classes=2, batch_size=2, local_steps=1, frac_bits=4, weight_bits=8,
                feature_frac_bits=4, feature_bits=6, lr_frac_bits=8, lr_bits=8)
VK = bytes(224) + (5).to_bytes(8, "little") + bytes(5 * 32)  # the shape of a 4-input key
TASK, CAP = "0x" + "7a" * 32, "0x" + "ca" * 32  # admin calls take the task id the cap names
ALICE, BOB, CAROL = "0xa11ce", "0xb0b", "0xca201"
START, DUR = 5_000, 1_000
PROOF = bytes(128)
MODEL = [128] * 6


def w(a, b):
    return [a, b, a, b, a, b]


def accept(vk, inputs, proof):
    return True


def reject(vk, inputs, proof):
    return False


def make(quorum=2, max_rounds=2, rule=0, trim_bps=0, open_=True, **kw):
    args = dict(task_id=TASK, admin_cap_id=CAP, spec=SPEC, lr_q=16, quorum=quorum, round_duration_ms=DUR,
                max_rounds=max_rounds, rule=rule, trim_bps=trim_bps, open_=open_, initial_model=MODEL, vk=VK,
                now_ms=START)
    args.update(kw)
    return task.create_task(**args)


def err(fn, *a, **kw):
    with pytest.raises(ProtocolError) as e:
        fn(*a, **kw)
    return e.value.name


# --------------------------------------------------------------------------- create
def test_create_state():
    s = make()
    assert s.round == 0 and s.round_start_ms == START and s.deadline_ms == START + DUR
    assert s.model == tuple(MODEL) and not s.finished and s.submitters == []
    assert s.model_commitment == protocol.model_commitment_encoded(MODEL, SPEC)
    assert s.is_allowed(ALICE)


def test_create_from_spec_dict():
    assert make(spec=SPEC.to_dict()).spec == SPEC


@pytest.mark.parametrize("kw,name", [
    (dict(spec=dict(SPEC.to_dict(), classes=1)), "EInvalidSpec"),
    (dict(lr_q=0), "EInvalidSpec"),
    (dict(lr_q=256), "EInvalidSpec"),
    (dict(quorum=0), "EInvalidRoundRules"),
    (dict(quorum=round_rules.MAX_UPDATES_PER_ROUND + 1), "EInvalidRoundRules"),
    (dict(round_duration_ms=0), "EInvalidRoundRules"),
    (dict(max_rounds=0), "EInvalidRoundRules"),
    (dict(rule=3), "EInvalidAggregationRule"),
    (dict(rule=2, trim_bps=5000), "EInvalidAggregationRule"),
    (dict(initial_model=[128] * 5), "EWrongLength"),
    (dict(initial_model=[128] * 5 + [256]), "EValueOutOfBounds"),
    (dict(vk=VK[:-32]), "EInvalidVerifyingKey"),  # length does not match the IC count
    (dict(vk=bytes(224) + (4).to_bytes(8, "little") + bytes(4 * 32)), "EInvalidVerifyingKey"),  # 3 inputs
    # order: spec before rules before model before key
    (dict(lr_q=0, quorum=0), "EInvalidSpec"),
    (dict(quorum=0, initial_model=[]), "EInvalidRoundRules"),
    (dict(initial_model=[], vk=b""), "EWrongLength"),
])
def test_create_rejections(kw, name):
    assert err(make, **kw) == name


def test_vk_num_public_inputs():
    assert codec.vk_num_public_inputs(VK) == 4
    assert err(codec.vk_num_public_inputs, b"") == "EInvalidVerifyingKey"
    assert err(codec.vk_num_public_inputs, bytes(224) + bytes(8)) == "EInvalidVerifyingKey"


# --------------------------------------------------------------------------- rounds
def test_fedavg_round_trip_and_finish():
    s = make()
    seen = []
    s = task.submit_update(s, ALICE, w(100, 200), 7, PROOF, START + 1, lambda vk, i, p: seen.append(i) or True)
    s = task.submit_update(s, BOB, w(101, 255), 7, PROOF, START + 2, accept)
    assert s.submitters == [codec.normalize_address(ALICE), codec.normalize_address(BOB)] and s.has_submitted(ALICE)
    # the public inputs the contract builds for ALICE
    assert seen[0] == [
        protocol.model_commitment_encoded(MODEL, SPEC),
        protocol.model_commitment_encoded(w(100, 200), SPEC),
        7,
        protocol.context_hash(TASK, ALICE, 0, 16),
    ]
    s = task.aggregate(s, START + 10)
    assert s.model == tuple(w(100, 227)) and s.round == 1 and s.updates == ()
    assert s.round_start_ms == START + 10 and s.deadline_ms == START + 10 + DUR and not s.finished
    assert s.model_commitment == protocol.model_commitment_encoded(w(100, 227), SPEC)
    s = task.submit_update(s, ALICE, w(0, 0), 7, PROOF, START + 11, accept)
    s = task.submit_update(s, BOB, w(1, 1), 7, PROOF, START + 11, accept)
    s = task.aggregate(s, START + 12)
    assert s.finished and s.round == 2 and s.model == tuple(w(0, 0))
    assert err(task.submit_update, s, CAROL, w(1, 1), 7, PROOF, START + 13, accept) == "ETaskFinished"
    assert err(task.aggregate, s, START + 13) == "ETaskFinished"


def test_context_binds_the_round():
    s = make(quorum=1, max_rounds=3)
    rounds = []
    rec = lambda vk, i, p: rounds.append(i[3]) or True  # noqa: E731
    s = task.aggregate(task.submit_update(s, ALICE, w(1, 1), 0, PROOF, START, rec), START)
    s = task.submit_update(s, ALICE, w(1, 1), 0, PROOF, START, rec)
    assert rounds == [protocol.context_hash(TASK, ALICE, r, 16) for r in (0, 1)]


@pytest.mark.parametrize("rule,trim,want", [(1, 0, w(3, 25)), (2, 2500, w(3, 25)), (0, 0, w(64, 22))])
def test_robust_rules(rule, trim, want):
    s = make(quorum=4, max_rounds=1, rule=rule, trim_bps=trim)
    for who, u in ((ALICE, w(1, 10)), (BOB, w(2, 20)), (CAROL, w(4, 30)), ("0xd", w(250, 31))):
        s = task.submit_update(s, who, u, 7, PROOF, START, accept)
    assert task.aggregate(s, START).model == tuple(want)


def test_submit_at_deadline_and_aggregate_after_it():
    s = make(quorum=3)
    s = task.submit_update(s, ALICE, w(7, 9), 0, PROOF, START + DUR, accept)  # now == deadline: open
    assert err(task.aggregate, s, START + DUR) == "EQuorumNotReached"
    s = task.aggregate(s, START + DUR + 1)  # closed with one update
    assert s.model == tuple(w(7, 9)) and s.round == 1


# --------------------------------------------------------------------------- submit rejections
def test_submit_rejections_each():
    s = make()
    sub = lambda st, who=ALICE, weights=w(1, 2), data=7, proof=PROOF, now=START, verify=accept: task.submit_update(  # noqa: E731
        st, who, weights, data, proof, now, verify)
    assert err(sub, s, now=START + DUR + 1) == "ERoundClosed"
    assert err(sub, make(open_=False)) == "ESenderNotAllowed"
    assert err(sub, sub(s)) == "EAlreadySubmitted"
    assert err(sub, s, weights=[1] * 5) == "EWrongLength"
    assert err(sub, s, weights=w(1, 256)) == "EValueOutOfBounds"
    assert err(sub, s, data=protocol.FIELD_MODULUS) == "EValueOutOfBounds"
    assert err(sub, s, proof=b"\x00" * 4) == "EInvalidProof"
    assert err(sub, s, verify=reject) == "EInvalidProof"
    one = task.aggregate(sub(make(quorum=1, max_rounds=1)), START)
    assert err(sub, one) == "ETaskFinished"


def test_submit_rejection_order():
    """The contract's order: finished, closed, allowed, already, length, bounds, data, proof."""
    s = make(open_=False)
    assert err(task.submit_update, s, ALICE, [1], 7, b"", START + DUR + 1, reject) == "ERoundClosed"
    assert err(task.submit_update, s, ALICE, [1], 7, b"", START, reject) == "ESenderNotAllowed"
    s = task.add_participant(s, TASK, ALICE)
    s = task.submit_update(s, ALICE, w(1, 2), 7, PROOF, START, accept)
    assert err(task.submit_update, s, ALICE, [1], 7, b"", START, reject) == "EAlreadySubmitted"
    s = task.add_participant(s, TASK, BOB)
    assert err(task.submit_update, s, BOB, [999] * 5, protocol.FIELD_MODULUS, b"", START, reject) == "EWrongLength"
    assert err(task.submit_update, s, BOB, w(999, 1), protocol.FIELD_MODULUS, b"", START, reject) == "EValueOutOfBounds"
    assert err(task.submit_update, s, BOB, w(1, 1), protocol.FIELD_MODULUS, b"", START, reject) == "EValueOutOfBounds"
    assert err(task.submit_update, s, BOB, w(1, 1), 7, b"", START, reject) == "EInvalidProof"


# --------------------------------------------------------------------------- aggregate & admin
def test_aggregate_rejections():
    s = make(quorum=2)
    assert err(task.aggregate, s, START) == "EQuorumNotReached"
    assert err(task.aggregate, s, START + DUR + 1) == "ENoUpdates"
    s1 = task.submit_update(s, ALICE, w(1, 2), 7, PROOF, START, accept)
    assert err(task.aggregate, s1, START + DUR) == "EQuorumNotReached"


def test_admin():
    s = make(open_=False)
    assert err(task.add_participant, s, "0x" + "11" * 32, ALICE) == "ENotAdmin"
    assert err(task.remove_participant, s, "0x1", ALICE) == "ENotAdmin"
    assert err(task.set_open, s, "0x1", True) == "ENotAdmin"
    assert err(task.restart_round, s, "0x1", START) == "ENotAdmin"
    s = task.add_participant(s, TASK, ALICE)
    assert s.is_allowed(ALICE) and not s.is_allowed(BOB)
    s = task.remove_participant(s, TASK, ALICE)
    assert not s.is_allowed(ALICE)
    assert task.set_open(s, TASK, True).is_allowed(BOB)
    # restart an expired round
    s = task.restart_round(make(), TASK, START + 5 * DUR)
    assert s.deadline_ms == START + 6 * DUR and s.round == 0
    s = task.submit_update(s, ALICE, w(1, 2), 7, PROOF, START + 5 * DUR, accept)
    done = task.aggregate(task.submit_update(make(quorum=1, max_rounds=1), ALICE, w(1, 2), 7, PROOF, START, accept), START)
    assert err(task.restart_round, done, TASK, START) == "ETaskFinished"


def test_pure_rules():
    assert round_rules.deadline(2**64 - 10, 100) == 2**64 - 1
    assert round_rules.next_round(0, 1) == (1, True) and round_rules.next_round(0, 2) == (1, False)
    assert err(round_rules.check_submit, True, 0, 0, 0, False, True) == "ETaskFinished"
    assert err(round_rules.check_submit, False, 0, 0, round_rules.MAX_UPDATES_PER_ROUND, True, False) == "ERoundClosed"
    round_rules.check_submit(False, 0, 0, round_rules.MAX_UPDATES_PER_ROUND - 1, True, False)
    assert err(round_rules.check_aggregate, True, 0, 0, 5, 1) == "ETaskFinished"
    round_rules.check_aggregate(False, 0, 10, 2, 2)
    assert err(agg_rules.validate_rule, 0, 5000) == "EInvalidAggregationRule"
    assert err(spec_rules.check_lr_q, SPEC, 256) == "EInvalidSpec"
