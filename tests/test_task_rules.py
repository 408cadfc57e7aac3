"""The Python twin of the Move task (wafl_sui/protocol/task.py, round.py, rules.py, budget.py,
events.py): every rejection in the contract's order, the events of each transition, the round
life cycle (FedAvg running sums, chunked robust aggregation, discarding, migration)."""

from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wafl_sui import protocol
from wafl_sui.protocol import budget, codec, events as ev, round as round_rules, rules as agg_rules
from wafl_sui.protocol import spec as spec_rules, task
from wafl_sui.protocol import AggregationRule, ProtocolError, RoundRules, StepSpec

SPEC = StepSpec(features=2, classes=2, batch_size=2, local_steps=1, frac_bits=4, weight_bits=8,
                feature_frac_bits=4, feature_bits=6, lr_frac_bits=8, lr_bits=8)
DIGITS = StepSpec(features=64, classes=10)  # 650 weights of 14 bits
VK = bytes(96) + bytes(63) + b"\x01" + bytes(64) + (5).to_bytes(8, "little") + bytes(5 * 32)  # a 4-input key (gamma != delta)
TASK, CAP = "0x" + "7a" * 32, "0x" + "ca" * 32  # admin calls take the task id the cap names
ADMIN, ALICE, BOB, CAROL = "0xad", "0xa11ce", "0xb0b", "0xca201"
START, DUR, GRACE = 5_000, 1_000, 70_000  # GRACE > round.MIN_GRACE_MS
PROOF = bytes(128)
MODEL = [128] * 6
U64 = (1 << 64) - 1
norm = codec.normalize_address


def w(a, b):
    return [a, b, a, b, a, b]


def accept(vk, inputs, proof):
    return True


def reject(vk, inputs, proof):
    return False


def unchecked(cls, **fields):
    """An instance that skips __post_init__ validation (to test create_task's own checks)."""
    obj = object.__new__(cls)
    for k, v in fields.items():
        object.__setattr__(obj, k, v)
    return obj


def make_with_events(quorum=2, max_rounds=2, rule=0, trim_bps=0, open_=True, grace_ms=GRACE, duration=DUR, **kw):
    args = dict(task_id=TASK, admin_cap_id=CAP, creator=ADMIN, spec=SPEC,
                round_rules=unchecked(RoundRules, quorum=quorum, round_duration_ms=duration, max_rounds=max_rounds,
                                      grace_ms=grace_ms, participants_per_round=kw.pop("ppr", max(quorum, 1)
                                                                                       if isinstance(quorum, int) else 1)),
                aggregation=unchecked(AggregationRule, rule=rule, trim_bps=trim_bps),
                lr_q=16, open_=open_, initial_model=MODEL, vk=VK, now_ms=START)
    args.update(kw)
    return task.create_task(**args)


def make(**kw):
    return make_with_events(**kw)[0]


def err(fn, *a, **kw):
    with pytest.raises(ProtocolError) as e:
        fn(*a, **kw)
    return e.value.name


def opened(s, at=None):
    """The round open with an empty sample, its deadline counted from `at` (default: when the
    round started: the task's creation or the last aggregation / discard)."""
    if s.finished or s.round_open:
        return s
    at = s.round_start_ms if at is None else at
    return dataclasses.replace(s, round_open=True, sampled=(), randomness=bytes(32), round_start_ms=at,
                               deadline_ms=round_rules.deadline(at, s.round_rules.round_duration_ms))


def seat(s, *who):
    """The round open with `who` added to its sample (the round rules' tests take a given sample;
    test_sampling draws real ones): a round whose every sampled participant submitted closes."""
    s = opened(s)
    for p in map(norm, who):
        if not s.finished and p not in s.sampled:
            s = dataclasses.replace(s, sampled=s.sampled + (p,))
    return s


def submit(s, who=ALICE, weights=None, data=7, proof=PROOF, now=START, verify=accept):
    s = seat(s, who)
    return task.submit_update(s, who, w(1, 2) if weights is None else weights, data, proof, now, verify)[0]


def aggregate(s, who=CAROL, now=START):
    return task.aggregate(s, who, now)[0]


def full_round(s, updates, now=START):
    for i, u in enumerate(updates):
        s = submit(s, "0x%x" % (i + 1), u, now=now)
    return s


# --------------------------------------------------------------------------- create
def test_create_state_and_event():
    s, events = make_with_events()
    assert s.version == task.VERSION == 1
    assert s.round == 0 and s.round_start_ms == START and s.deadline_ms == 0  # waits for open_round
    assert not s.round_open and s.sampled == () and s.registered == () and s.deposit_mist == 0
    assert s.model == tuple(MODEL) and not s.finished and s.submitters == () and s.num_updates == 0
    assert s.model_commitment == protocol.model_commitment_encoded(MODEL, SPEC)
    assert s.is_allowed(ALICE) and s.prepared_vk == VK
    assert s.sums == (0,) * 6 and s.updates == () and s.partial == ()  # FedAvg keeps running sums
    assert s.aggregation_done == 0 and s.aggregation_total == 6
    assert events == [ev.TaskCreated(
        task_id=TASK, admin_cap_id=CAP, creator=norm(ADMIN), version=1, spec=SPEC,
        round_rules=RoundRules(2, DUR, 2, GRACE, 2), aggregation=AggregationRule(0, 0), lr_q=16, open=True,
        deposit_mist=0, num_weights=6, model_commitment=s.model_commitment, round=0, deadline_ms=0,
        timestamp_ms=START)]
    d = events[0].to_dict()
    assert d["spec"] == SPEC.move_fields() and d["round_rules"]["grace_ms"] == GRACE and d["creator"] == norm(ADMIN)
    json.dumps(d)


def test_create_robust_rule_keeps_updates_not_sums():
    s = make(rule=1)
    assert s.sums == () and s.updates == ()


def test_create_from_spec_dict_and_prepare():
    assert make(spec=SPEC.to_dict()).spec == SPEC
    s = make(prepare=lambda vk: ("prepared", vk))
    assert s.prepared_vk == ("prepared", VK)

    def bad(vk):
        raise ProtocolError("EInvalidVerifyingKey", "not on the curve")

    assert err(make, prepare=bad) == "EInvalidVerifyingKey"


BIG = StepSpec(features=4999, classes=10)  # 50,000 weights: a robust round of 256 cannot fit


@pytest.mark.parametrize("kw,name", [
    (dict(spec=dict(SPEC.to_dict(), classes=1)), "EInvalidSpec"),
    (dict(lr_q=0), "EInvalidSpec"),
    (dict(lr_q=256), "EInvalidSpec"),
    (dict(quorum=0), "EInvalidRoundRules"),
    (dict(quorum=round_rules.MAX_UPDATES_PER_ROUND + 1), "EInvalidRoundRules"),
    (dict(duration=0), "EInvalidRoundRules"),
    (dict(max_rounds=0), "EInvalidRoundRules"),
    (dict(grace_ms=-1), "EInvalidRoundRules"),
    (dict(rule=3), "EInvalidAggregationRule"),
    (dict(rule=2, trim_bps=5000), "EInvalidAggregationRule"),
    (dict(spec=BIG, rule=1, quorum=256, initial_model=[0] * BIG.num_weights), "EOverGasBudget"),
    (dict(initial_model=[128] * 5), "EWrongLength"),
    (dict(initial_model=[128] * 5 + [256]), "EValueOutOfBounds"),
    (dict(vk=VK[:-32]), "EInvalidVerifyingKey"),  # length does not match the IC count
    (dict(vk=bytes(224) + (4).to_bytes(8, "little") + bytes(4 * 32)), "EInvalidVerifyingKey"),  # 3 inputs
    # order: spec, lr_q, round rules, aggregation rule, budget, model, key
    (dict(lr_q=0, quorum=0), "EInvalidSpec"),
    (dict(quorum=0, rule=3), "EInvalidRoundRules"),
    (dict(rule=3, spec=BIG, quorum=256), "EInvalidAggregationRule"),
    (dict(spec=BIG, rule=1, quorum=256, initial_model=[]), "EOverGasBudget"),
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
def test_fedavg_round_trip_events_and_finish():
    s = seat(make(), ALICE, BOB)
    seen = []
    s, e1 = task.submit_update(s, ALICE, w(100, 200), 7, PROOF, START + 1, lambda vk, i, p: seen.append((vk, i)) or True)
    s, e2 = task.submit_update(s, BOB, w(101, 255), 7, PROOF, START + 2, accept)
    assert s.submitters == (norm(ALICE), norm(BOB)) and s.has_submitted(ALICE) and not s.has_submitted(CAROL)
    assert s.sums == tuple(w(201, 455)) and s.updates == () and s.update_of(ALICE) is None
    # the public inputs the contract builds for ALICE, checked against the stored prepared key
    inputs = [
        protocol.model_commitment_encoded(MODEL, SPEC),
        protocol.model_commitment_encoded(w(100, 200), SPEC),
        7,
        protocol.context_hash(TASK, ALICE, 0, 16),
    ]
    assert seen == [(VK, inputs)]
    assert e1 == [ev.UpdateAccepted(task_id=TASK, round=0, sender=norm(ALICE), old_model_commitment=inputs[0],
                                    new_model_commitment=inputs[1], data_commitment=7, context_hash=inputs[3],
                                    num_updates=1, timestamp_ms=START + 1)]
    assert e2[0].num_updates == 2 and e2[0].sender == norm(BOB)
    s, events = task.aggregate(s, CAROL, START + 10)  # before the deadline: every sampled participant is in
    assert s.model == tuple(w(100, 227)) and s.round == 1 and s.submitters == () and s.sums == (0,) * 6
    assert s.round_start_ms == START + 10 and not s.finished
    assert s.deadline_ms == 0 and not s.round_open and s.sampled == ()  # the next round waits for its sample
    assert s.model_commitment == protocol.model_commitment_encoded(w(100, 227), SPEC)
    assert events == [ev.RoundAggregated(
        task_id=TASK, round=0, rule=0, num_updates=2, submitters=(norm(ALICE), norm(BOB)),
        previous_model_commitment=inputs[0], model_commitment=s.model_commitment, next_round=1,
        next_deadline_ms=0, triggered_by=norm(CAROL), timestamp_ms=START + 10)]
    s = submit(s, ALICE, w(0, 0), now=START + 11)
    s = submit(s, BOB, w(1, 1), now=START + 11)
    s, events = task.aggregate(s, ALICE, START + 12)
    assert s.finished and s.round == 2 and s.model == tuple(w(0, 0))
    assert [e.type for e in events] == ["RoundAggregated", "TaskFinished"]
    assert events[1] == ev.TaskFinished(task_id=TASK, rounds=2, model_commitment=s.model_commitment, timestamp_ms=START + 12)
    assert err(task.submit_update, s, CAROL, w(1, 1), 7, PROOF, START + 13, accept) == "ETaskFinished"
    assert err(task.aggregate, s, CAROL, START + 13) == "ETaskFinished"


def test_context_binds_the_round():
    s = make(quorum=1, max_rounds=3)
    rounds = []
    rec = lambda vk, i, p: rounds.append(i[3]) or True  # noqa: E731
    s = aggregate(task.submit_update(seat(s, ALICE), ALICE, w(1, 1), 0, PROOF, START, rec)[0])
    s = task.submit_update(seat(s, ALICE), ALICE, w(1, 1), 0, PROOF, START, rec)[0]
    assert rounds == [protocol.context_hash(TASK, ALICE, r, 16) for r in (0, 1)]


@pytest.mark.parametrize("rule,trim,want", [(1, 0, w(3, 25)), (2, 2500, w(3, 25)), (0, 0, w(64, 22))])
def test_robust_rules(rule, trim, want):
    s = make(quorum=4, max_rounds=1, rule=rule, trim_bps=trim)
    for who, u in ((ALICE, w(1, 10)), (BOB, w(2, 20)), (CAROL, w(4, 30)), ("0xd", w(250, 31))):
        s = submit(s, who, u)
    if rule:
        assert s.update_of(BOB) == tuple(w(2, 20)) and len(s.updates) == 4
    assert aggregate(s).model == tuple(want)


def test_submit_at_deadline_and_aggregate_after_it():
    s = seat(make(quorum=1, ppr=3), BOB, CAROL)
    s = submit(s, ALICE, w(7, 9), now=START + DUR)  # now == deadline: open
    assert err(task.aggregate, s, CAROL, START + DUR) == "EQuorumNotReached"  # 1 of the 3 sampled, still open
    s = aggregate(s, now=START + DUR + 1)  # closed with one update: the quorum
    assert s.model == tuple(w(7, 9)) and s.round == 1
    below = submit(seat(make(quorum=2, ppr=3), BOB, CAROL), ALICE)
    assert err(task.aggregate, below, CAROL, START + DUR + 1) == "EQuorumNotReached"  # closed below its quorum


def test_a_round_takes_its_sample_only_and_closes_when_all_of_it_submitted():
    """Issue #20's Sybil attack: a fast sender outside the sample gets no seat (ENotSampled), the
    round closes once its whole sample submitted."""
    s = submit(submit(make(quorum=2)), BOB)  # the sample: ALICE, BOB
    assert err(task.submit_update, s, CAROL, w(1, 2), 7, PROOF, START, accept) == "ENotSampled"
    assert err(task.submit_update, s, CAROL, w(1, 2), 7, PROOF, START + DUR + 1, accept) == "ERoundClosed"
    assert aggregate(s).round == 1


# --------------------------------------------------------------------------- the rules as docs/PROTOCOL.md writes them
def by_definition(updates, rule, trim_bps=0):
    """docs/PROTOCOL.md's table, written out independently of `protocol.rules`: per coordinate,
    sort the n values; FedAvg floor(sum / n); median the middle value, for even n
    floor((a + b) / 2) of the two middle values; trimmed mean drops t = floor(n * trim_bps / 10000)
    values at each end and floor-means the rest."""
    n = len(updates)
    out = []
    for column in zip(*updates):
        v = sorted(column)
        if rule == 0:
            out.append(math.floor(Fraction(sum(v), n)))
        elif rule == 1:
            lower, upper = v[(n - 1) // 2], v[n // 2]  # the same value when n is odd
            out.append(math.floor(Fraction(lower + upper, 2)))
        else:
            t = math.floor(Fraction(n * trim_bps, 10_000))
            kept = v[t:n - t]
            out.append(math.floor(Fraction(sum(kept), len(kept))))
    return out


@pytest.mark.parametrize("rule, trim_bps, column, want", [
    (1, 0, [7, 1, 3], 3),  # odd n: the middle of the sorted values, not of the input order
    (1, 0, [10, 1, 5, 2], 3),  # even n: floor((2 + 5) / 2); not the lower (2), upper (5), or rounded (4) middle
    (1, 0, [4, 4, 9, 9], 6),  # floor(6.5)
    (1, 0, [0, 1], 0),
    (2, 2500, [0, 10, 11, 1000], 10),  # t = floor(4 * 0.25) = 1 at each end; floor(21 / 2)
    (2, 1999, [0, 0, 10, 20, 30, 40, 50, 60, 1000, 1000], 151),  # t = floor(1.999) = 1 (2 would give 35)
    (2, 2000, [0, 0, 10, 20, 30, 40, 50, 60, 1000, 1000], 35),  # t = 2
    (2, 1111, [1000] + [10] * 7 + [0], 118),  # t = floor(0.9999) = 0: floor(1070 / 9) (t = 1 would give 10)
    (2, 4999, [5, 1, 9, 3, 7], 5),  # t = floor(2.4995) = 2: only the middle value stays
    (0, 0, [1, 2], 1),  # floor(1.5)
])
def test_rules_by_hand(rule, trim_bps, column, want):
    updates = [[v, 2 * v] for v in column]
    assert by_definition(updates, rule, trim_bps)[0] == want  # the written-out definition agrees by hand
    assert protocol.aggregate(updates, rule, trim_bps) == [want, by_definition(updates, rule, trim_bps)[1]]


@given(st.integers(1, 12).flatmap(lambda n: st.lists(
           st.lists(st.integers(0, (1 << 14) - 1) | st.sampled_from([0, 1, (1 << 14) - 1]), min_size=3, max_size=3),
           min_size=n, max_size=n)),
       st.integers(0, 4999))
@settings(max_examples=150, deadline=None)
def test_rules_match_their_written_definitions(updates, trim_bps):
    for rule in (0, 1, 2):
        assert protocol.aggregate(updates, rule, trim_bps) == by_definition(updates, rule, trim_bps), rule
    assert agg_rules.trim_count(len(updates), trim_bps) == math.floor(Fraction(len(updates) * trim_bps, 10_000))


# --------------------------------------------------------------------------- chunked aggregation
def _digits_updates(n, seed=3):
    import random

    r = random.Random(seed)
    return [[r.randrange(1 << DIGITS.weight_bits) for _ in range(DIGITS.num_weights)] for _ in range(n)]


@pytest.mark.parametrize("rule,trim_bps,n", [(1, 0, 64), (2, 1000, 64), (2, 0, 16), (1, 0, 7)])
def test_robust_aggregation_in_steps(rule, trim_bps, n):
    agg = AggregationRule(rule, trim_bps)
    s = make(spec=DIGITS, quorum=n, max_rounds=2, rule=rule, trim_bps=trim_bps, initial_model=[0] * 650)
    updates = _digits_updates(n)
    s = full_round(s, updates)
    steps = budget.aggregation_steps(650, agg, n)
    chunk = budget.coords_per_step(650, agg, n)
    for k in range(1, steps):
        s, events = task.aggregate(s, "0x%x" % k, START + k)
        assert events == [ev.AggregationProgressed(task_id=TASK, round=0, coords_done=k * chunk, coords_total=650,
                                                   triggered_by=norm("0x%x" % k), timestamp_ms=START + k)]
        assert s.aggregation_done == k * chunk and s.aggregating and s.round == 0
        assert err(submit, s, "0xfff") == "ERoundClosed"  # no update once aggregation started
    s, events = task.aggregate(s, CAROL, START + steps)
    assert [e.type for e in events] == ["RoundAggregated"]
    assert s.model == tuple(by_definition(updates, rule, trim_bps)) and s.round == 1
    assert s.partial == () and s.updates == () and s.submitters == () and not s.aggregating


def test_aggregation_steps_cannot_be_held_by_a_restart():
    """Once aggregation started, the admin cannot restart the round, the next steps are always
    allowed and the round stays closed to updates."""
    s = full_round(make(spec=DIGITS, quorum=64, rule=1, initial_model=[0] * 650), _digits_updates(64))
    s = aggregate(s)
    assert err(task.restart_round, s, TASK, START + 1) == "ERoundHasUpdates"
    assert s.aggregating and err(submit, s, "0xfff", now=START + 1) == "ERoundClosed"
    s = aggregate(s, now=START + 2)
    assert s.aggregation_done == 2 * budget.coords_per_step(650, AggregationRule(1), 64)


# --------------------------------------------------------------------------- submit rejections
def test_submit_rejections_each():
    s = make()
    assert err(task.submit_update, s, ALICE, w(1, 2), 7, PROOF, START, accept) == "ERoundNotOpen"
    assert err(task.submit_update, opened(s), ALICE, w(1, 2), 7, PROOF, START, accept) == "ENotSampled"
    assert err(submit, s, now=START + DUR + 1) == "ERoundClosed"
    assert err(submit, make(open_=False)) == "ESenderNotAllowed"
    assert err(submit, submit(s)) == "EAlreadySubmitted"
    assert err(submit, s, weights=[1] * 5) == "EWrongLength"
    assert err(submit, s, weights=w(1, 256)) == "EValueOutOfBounds"
    assert err(submit, s, data=protocol.FIELD_MODULUS) == "EValueOutOfBounds"
    assert err(submit, s, proof=b"\x00" * 4) == "EInvalidProof"
    assert err(submit, s, verify=reject) == "EInvalidProof"
    one = aggregate(submit(make(quorum=1, max_rounds=1)))
    assert err(submit, one) == "ETaskFinished"
    assert err(submit, dataclasses.replace(s, version=0)) == "EWrongVersion"
    assert err(submit, dataclasses.replace(s, version=2)) == "EWrongVersion"


def test_submit_rejection_order():
    """The contract's order: version, finished, not open, closed, not sampled, allowed, already,
    length, bounds, data, proof."""
    s = make(open_=False, quorum=2)
    old = dataclasses.replace(s, version=0, finished=True)
    assert err(task.submit_update, old, ALICE, [1], 7, b"", START + DUR + 1, reject) == "EWrongVersion"
    assert err(task.submit_update, dataclasses.replace(s, finished=True), ALICE, [1], 7, b"", START + DUR + 1, reject) == "ETaskFinished"
    assert err(task.submit_update, s, ALICE, [1], 7, b"", START + DUR + 1, reject) == "ERoundNotOpen"
    s = opened(s)
    assert err(task.submit_update, s, ALICE, [1], 7, b"", START + DUR + 1, reject) == "ERoundClosed"
    assert err(task.submit_update, s, ALICE, [1], 7, b"", START, reject) == "ENotSampled"
    s = seat(s, ALICE, BOB)
    assert err(task.submit_update, s, ALICE, [1], 7, b"", START, reject) == "ESenderNotAllowed"
    s = task.add_participant(s, TASK, ALICE)[0]
    s = submit(s, ALICE)
    assert err(task.submit_update, s, ALICE, [1], 7, b"", START, reject) == "EAlreadySubmitted"
    s = task.add_participant(s, TASK, BOB)[0]
    assert err(task.submit_update, s, BOB, [999] * 5, protocol.FIELD_MODULUS, b"", START, reject) == "EWrongLength"
    assert err(task.submit_update, s, BOB, w(999, 1), protocol.FIELD_MODULUS, b"", START, reject) == "EValueOutOfBounds"
    assert err(task.submit_update, s, BOB, w(1, 1), protocol.FIELD_MODULUS, b"", START, reject) == "EValueOutOfBounds"
    assert err(task.submit_update, s, BOB, w(1, 1), 7, b"", START, reject) == "EInvalidProof"
    # outside the sample: ENotSampled before the allowlist and the contents
    assert err(task.submit_update, s, CAROL, [1], 7, b"", START, reject) == "ENotSampled"
    full = submit(s, BOB)
    assert err(task.submit_update, full, ALICE, [1], 7, b"", START, reject) == "EAlreadySubmitted"


# --------------------------------------------------------------------------- aggregate & discard
def test_aggregate_rejections():
    assert err(task.aggregate, make(quorum=2), CAROL, START + DUR + 1) == "ERoundNotOpen"
    s = seat(make(quorum=2, ppr=3), ALICE, BOB, CAROL)
    assert err(task.aggregate, s, CAROL, START) == "EQuorumNotReached"
    assert err(task.aggregate, s, CAROL, START + DUR + 1) == "ENoUpdates"
    s1 = submit(s)
    assert err(task.aggregate, s1, CAROL, START + DUR) == "EQuorumNotReached"
    assert err(task.aggregate, s1, CAROL, START + DUR + 1) == "EQuorumNotReached"  # closed below its quorum
    full = submit(s1, BOB)
    assert err(task.aggregate, full, CAROL, START) == "EQuorumNotReached"  # the quorum, but CAROL may still submit
    assert aggregate(full, now=START + DUR + 1).round == 1
    assert err(task.aggregate, dataclasses.replace(full, version=0), CAROL, START) == "EWrongVersion"
    assert err(task.aggregate, dataclasses.replace(full, version=0, finished=True), CAROL, START) == "EWrongVersion"


@pytest.mark.parametrize("rule", [0, 1])
def test_a_round_with_updates_is_never_discarded(rule):
    """The attack of finding 3: discarding a round that holds its quorum of honest updates (in its
    grace period, long after, or once its chunked aggregation started) fails; anyone may
    aggregate it instead. Only a round below its quorum is discarded (after the grace)."""
    s = submit(submit(seat(make(quorum=2, ppr=3, rule=rule), CAROL)), BOB)  # 2 of the 3 sampled: the quorum
    for now in (START, START + DUR + 1, START + DUR + GRACE, START + DUR + GRACE + 1, U64):
        assert err(task.discard_round, s, CAROL, now) == "ERoundHasUpdates"
    assert aggregate(s, now=START + DUR + GRACE + 1).round == 1
    full_ = submit(s, CAROL)  # its whole sample
    assert err(task.discard_round, full_, CAROL, U64) == "ERoundHasUpdates"
    below = submit(seat(make(quorum=2, ppr=3, rule=rule), BOB, CAROL))
    assert err(task.discard_round, below, CAROL, START + DUR + GRACE) == "EGracePeriodNotOver"
    assert task.discard_round(below, CAROL, START + DUR + GRACE + 1)[0].num_updates == 0
    started = aggregate(full_round(make(spec=DIGITS, quorum=64, rule=1, initial_model=[0] * 650), _digits_updates(64)))
    assert started.aggregating and err(task.discard_round, started, CAROL, U64) == "ERoundHasUpdates"


def test_discard_an_empty_round_after_the_grace_period():
    s = opened(make(quorum=3))
    end = START + DUR + GRACE
    assert err(task.discard_round, s, CAROL, START) == "EGracePeriodNotOver"
    assert err(task.discard_round, s, CAROL, end) == "EGracePeriodNotOver"
    d, events = task.discard_round(s, CAROL, end + 1)
    assert d.round == 0 and d.submitters == () and d.model == s.model and d.sums == (0,) * 6
    assert d.round_start_ms == end + 1 and d.deadline_ms == 0 and not d.round_open  # a new sample next
    assert events == [ev.RoundDiscarded(task_id=TASK, round=0, num_updates=0, submitters=(),
                                        deadline_ms=0, triggered_by=norm(CAROL), timestamp_ms=end + 1)]
    assert submit(d, ALICE, now=end + 2).num_updates == 1


def test_the_grace_period_has_a_minimum():
    """grace 0 does not let a discard follow the deadline by a millisecond: MIN_GRACE_MS at least."""
    s = opened(make(grace_ms=0))
    assert err(task.discard_round, s, CAROL, START + DUR + 1) == "EGracePeriodNotOver"
    assert err(task.discard_round, s, CAROL, START + DUR + round_rules.MIN_GRACE_MS) == "EGracePeriodNotOver"
    assert task.discard_round(s, CAROL, START + DUR + round_rules.MIN_GRACE_MS + 1)[0].round == 0


def test_discard_rejections():
    late = START + DUR + GRACE + 1
    assert err(task.discard_round, make(), CAROL, late) == "ERoundNotOpen"
    s = opened(make())
    assert err(task.discard_round, dataclasses.replace(s, finished=True), CAROL, late) == "ETaskFinished"
    assert err(task.discard_round, dataclasses.replace(s, version=0, finished=True), CAROL, late) == "EWrongVersion"
    never = opened(make(duration=U64 - START, grace_ms=10))  # deadline + grace saturates at u64::MAX
    assert err(task.discard_round, never, CAROL, U64) == "EGracePeriodNotOver"


# --------------------------------------------------------------------------- admin & migrate
def test_admin():
    s = make(open_=False)
    assert err(task.add_participant, s, "0x" + "11" * 32, ALICE) == "ENotAdmin"
    assert err(task.remove_participant, s, "0x1", ALICE) == "ENotAdmin"
    assert err(task.set_open, s, "0x1", True) == "ENotAdmin"
    assert err(task.restart_round, s, "0x1", START) == "ENotAdmin"
    s, events = task.add_participant(s, TASK, ALICE)
    assert events == [ev.ParticipantAdded(task_id=TASK, participant=norm(ALICE))]
    assert s.is_allowed(ALICE) and not s.is_allowed(BOB)
    assert task.add_participant(s, TASK, ALICE)[0] == s  # idempotent
    s, events = task.remove_participant(s, TASK, ALICE)
    assert events == [ev.ParticipantRemoved(task_id=TASK, participant=norm(ALICE))] and not s.is_allowed(ALICE)
    now_open, events = task.set_open(s, TASK, True)
    assert now_open.is_allowed(BOB) and events == [ev.OpenChanged(task_id=TASK, open=True)]
    # restart an expired round without updates; a round with one cannot be held open
    assert err(task.restart_round, submit(make(quorum=3)), TASK, START + 5 * DUR) == "ERoundHasUpdates"
    assert err(task.restart_round, make(quorum=3), TASK, START + 5 * DUR) == "ERoundNotOpen"
    s, events = task.restart_round(opened(make(quorum=3)), TASK, START + 5 * DUR)
    assert s.deadline_ms == START + 6 * DUR and s.round == 0 and s.num_updates == 0
    assert events == [ev.RoundRestarted(task_id=TASK, round=0, num_updates=0, deadline_ms=START + 6 * DUR,
                                        timestamp_ms=START + 5 * DUR)]
    s = submit(s, BOB, now=START + 5 * DUR)
    done = aggregate(submit(make(quorum=1, max_rounds=1)))
    assert err(task.restart_round, done, TASK, START) == "ETaskFinished"


def test_admin_checks_the_version_first():
    old = dataclasses.replace(make(), version=0)
    for call in (lambda: task.add_participant(old, "0x1", ALICE), lambda: task.remove_participant(old, "0x1", ALICE),
                 lambda: task.set_open(old, "0x1", True), lambda: task.restart_round(old, "0x1", START)):
        assert err(call) == "EWrongVersion"


def test_migrate():
    s = make()
    assert err(task.migrate, s, TASK) == "EWrongVersion"  # already at VERSION: nothing to migrate
    old = dataclasses.replace(s, version=0)
    assert err(task.migrate, old, "0x1") == "ENotAdmin"
    assert err(submit, old) == "EWrongVersion"
    new, events = task.migrate(old, TASK)
    assert new.version == task.VERSION and events == [ev.TaskMigrated(task_id=TASK, from_version=0, to_version=1)]
    assert submit(new).num_updates == 1
    assert err(task.migrate, dataclasses.replace(s, version=2), TASK) == "EWrongVersion"


# --------------------------------------------------------------------------- events
def test_events_round_trip_through_dicts():
    s, out = make_with_events(quorum=1, max_rounds=1, open_=False)
    for step in (lambda s: task.set_manifest(s, TASK, b'{"format":1}'), lambda s: task.add_participant(s, TASK, ALICE), lambda s: task.set_open(s, TASK, True),
                 lambda s: task.remove_participant(s, TASK, ALICE),
                 lambda s: task.register(s, ALICE, 0), lambda s: task.register(s, BOB, 0),
                 lambda s: task.leave(s, BOB), lambda s: task.open_round(s, bytes(32), START),
                 lambda s: task.restart_round(s, TASK, START),
                 lambda s: task.discard_round(s, BOB, START + DUR + GRACE + 1),
                 lambda s: task.open_round(s, bytes(range(32)), START + DUR + GRACE + 1),
                 lambda s: task.submit_update(s, ALICE, w(1, 2), 7, PROOF, START + DUR + GRACE + 1, accept),
                 lambda s: task.aggregate(s, BOB, START + DUR + GRACE + 2)):
        s, e = step(s)
        out += e
    out += task.migrate(dataclasses.replace(s, version=0), TASK)[1]
    p = task.create_task(TASK, CAP, ALICE, SPEC, RoundRules(1, DUR, 1, GRACE), AggregationRule(0), 16, True,
                         [128] * SPEC.num_weights, VK, START)[0]
    params = protocol.privacy.DpParams(64, 4, 4096, 8, 4, 32, 16, 1 << 62, 4000, 10, 2)
    p, e = task.set_privacy(p, TASK, params)
    out += e
    out += task.register_private(p, BOB, 0, 5, 6)[1]
    assert {e.type for e in out} == set(ev.EVENT_TYPES) - {"AggregationProgressed"}
    for e in out:
        d = e.to_dict()
        again = ev.from_dict(e.type, json.loads(json.dumps(d)))
        assert again == e and again.to_dict() == d
    progressed = ev.AggregationProgressed(task_id=TASK, round=0, coords_done=1, coords_total=2, triggered_by=norm(BOB),
                                          timestamp_ms=1)
    assert ev.from_dict("AggregationProgressed", progressed.to_dict()) == progressed


# --------------------------------------------------------------------------- pure rules
def test_round_rules_validation():
    assert RoundRules(1, 1, 1).grace_ms == 0
    assert RoundRules(2, 1, 1).participants_per_round == 2  # 0: as many as the quorum
    assert round_rules.new_rules(256, 1, 1, U64, 256) == RoundRules(256, 1, 1, U64)
    assert err(round_rules.new_rules, 1, 1, 1, 0, 0) == "EInvalidRoundRules"  # Move has no "0 = quorum"
    assert RoundRules.from_dict(RoundRules(3, 4, 5, 6, 7).to_dict()) == RoundRules(3, 4, 5, 6, 7)
    for bad in ((0, 1, 1, 0), (257, 1, 1, 0), (1, 0, 1, 0), (1, 1, 0, 0), (1, 1, 1, -1), (1, 1, 1, U64 + 1), (1.5, 1, 1, 0),
                (3, 1, 1, 0, 2), (1, 1, 1, 0, 257)):
        assert err(RoundRules, *bad) == "EInvalidRoundRules", bad


def test_aggregation_rule_validation():
    assert agg_rules.new_aggregation(2, 4999).name == "trimmed_mean"
    assert AggregationRule.from_dict({"rule": 1}) == AggregationRule(1, 0)
    for bad in ((3, 0), (0, 5000), (2, -1), (-1, 0)):
        assert err(AggregationRule, *bad) == "EInvalidAggregationRule", bad


def test_pure_rules():
    assert round_rules.deadline(2**64 - 10, 100) == 2**64 - 1
    assert round_rules.grace_deadline(2**64 - 10, 100) == 2**64 - 1
    assert round_rules.next_round(0, 1) == (1, True) and round_rules.next_round(0, 2) == (1, False)
    cs = round_rules.check_submit  # finished, open, now, deadline, aggregating, sampled, allowed, already
    assert err(cs, True, True, 0, 0, False, True, True, False) == "ETaskFinished"
    assert err(cs, False, False, 0, 0, False, True, True, False) == "ERoundNotOpen"
    assert err(cs, False, True, 1, 0, False, True, True, False) == "ERoundClosed"
    assert err(cs, False, True, 0, 0, True, True, True, False) == "ERoundClosed"
    assert err(cs, False, True, 0, 0, False, False, False, True) == "ENotSampled"
    assert err(cs, False, True, 0, 0, False, True, False, True) == "ESenderNotAllowed"
    assert err(cs, False, True, 0, 0, False, True, True, True) == "EAlreadySubmitted"
    cs(False, True, 0, 0, False, True, True, False)
    ca = round_rules.check_aggregate  # finished, open, now, deadline, aggregating, updates, sampled, quorum
    assert err(ca, True, True, 0, 0, True, 5, 5, 1) == "ETaskFinished"
    assert err(ca, False, False, 11, 10, False, 0, 0, 1) == "ERoundNotOpen"
    ca(False, True, 0, 10, False, 2, 2, 2)  # every sampled participant submitted
    ca(False, True, 0, 10, True, 1, 2, 2)  # aggregation started: the next step is allowed
    assert err(ca, False, True, 10, 10, False, 1, 2, 1) == "EQuorumNotReached"  # at the quorum, still open
    ca(False, True, 11, 10, False, 1, 2, 1)  # closed at the quorum
    assert err(ca, False, True, 11, 10, False, 1, 3, 2) == "EQuorumNotReached"  # closed below it
    assert err(ca, False, True, 11, 10, False, 0, 2, 1) == "ENoUpdates"
    cd = round_rules.check_discard  # finished, open, now, deadline, grace, aggregating, updates, quorum
    g = round_rules.MIN_GRACE_MS
    assert err(cd, True, True, 10**9, 0, 0, False, 0, 1) == "ETaskFinished"
    assert err(cd, False, False, 10**9, 0, 0, False, 0, 1) == "ERoundNotOpen"
    assert err(cd, False, True, 10**9, 0, 0, False, 2, 2) == "ERoundHasUpdates"
    assert err(cd, False, True, 10**9, 0, 0, True, 0, 2) == "ERoundHasUpdates"
    cd(False, True, 10**9, 0, 0, False, 1, 2)  # below its quorum, after the grace
    assert err(cd, False, True, 5 + g, 5, 5, False, 0, 1) == "EGracePeriodNotOver"  # grace 5 < the minimum
    cd(False, True, 6 + g, 5, 5, False, 0, 1)
    cd(False, True, 5 + g + 2, 5, g + 1, False, 0, 1)
    cr = round_rules.check_restart  # finished, open, aggregating, updates
    assert err(cr, True, True, False, 0) == "ETaskFinished" and err(cr, False, False, False, 0) == "ERoundNotOpen"
    assert err(cr, False, True, False, 1) == "ERoundHasUpdates" and err(cr, False, True, True, 0) == "ERoundHasUpdates"
    cr(False, True, False, 0)
    assert err(agg_rules.validate_rule, 0, 5000) == "EInvalidAggregationRule"
    assert err(spec_rules.check_lr_q, SPEC, 256) == "EInvalidSpec"


def test_running_sums_are_fedavg():
    ups = [[1, 2, 3], [4, 5, 7], [2**32 - 1, 0, 1]]
    sums = (0, 0, 0)
    for u in ups:
        sums = agg_rules.add_to_sums(sums, u)
    assert agg_rules.fedavg_from_sums(sums, 3) == protocol.fedavg(ups)
    assert err(agg_rules.add_to_sums, (0, 0), [1]) == "EWrongLength"
    assert err(agg_rules.fedavg_from_sums, (0,), 0) == "ENoUpdates"


# --------------------------------------------------------------------------- budget
TARGETS = [(650, 64), (4095, 16)]  # the sizes the robust rules must serve (docs/MOVE.md)


@pytest.mark.parametrize("m,n", TARGETS)
@pytest.mark.parametrize("agg", [AggregationRule(1), AggregationRule(2, 1000), AggregationRule(2, 4999), AggregationRule(2, 0)])
def test_budget_serves_the_target_sizes(m, n, agg):
    budget.check_task_budget(m, agg, n)
    c = budget.coords_per_step(m, agg, n)
    assert 1 <= c <= m and budget.step_units(m, agg, n, c) <= budget.STEP_BUDGET_UNITS
    assert c == m or budget.step_units(m, agg, n, c + 1) > budget.STEP_BUDGET_UNITS  # the largest that fits
    assert budget.aggregation_steps(m, agg, n) == -(-m // c)


def test_budget_fedavg_is_one_step_independent_of_the_updates():
    fed = AggregationRule(0)
    for m in (6, 650, 4095):
        for n in (1, 64, 256):
            budget.check_task_budget(m, fed, n)
            assert budget.coords_per_step(m, fed, n) == m and budget.aggregation_steps(m, fed, n) == 1
    assert budget.STEP_BUDGET_UNITS * 5 == budget.MAX_TX_UNITS * 3  # the budget is 60% of the cap
    assert budget.step_units(650, fed, 1, 650) == -(-budget.step_internal(650, fed, 1, 650) // 1000)


def test_budget_costs_grow_with_the_work():
    for agg in (AggregationRule(0), AggregationRule(1), AggregationRule(2, 2500)):
        for n in (1, 2, 17, 64, 255):
            assert budget.step_units(650, agg, n + 1, 3) >= budget.step_units(650, agg, n, 3)
            assert budget.step_units(651, agg, n, 3) >= budget.step_units(650, agg, n, 3)
    assert budget.selection_work(64, AggregationRule(1)) == (1, 33)
    assert budget.selection_work(64, AggregationRule(2, 1000)) == (2, 12)
    assert budget.selection_work(64, AggregationRule(2, 100)) == (0, 0)  # t = 0: a plain mean
    # past Sui's 700 native calls per transaction (4 per update) a step's loads cost more
    assert budget.load_per_weight(165) == budget.LOAD_PER_WEIGHT < budget.load_per_weight(166)
    assert [budget.heap_levels(n) for n in (1, 2, 3, 4, 5, 64, 65)] == [1, 1, 2, 2, 3, 6, 7]


def test_budget_rejections():
    big = BIG.num_weights
    assert err(budget.check_task_budget, big, AggregationRule(1), 256) == "EOverGasBudget"
    assert err(budget.check_task_budget, 2_000_000, AggregationRule(0), 1) == "EOverGasBudget"
    # a steps' chunk never drops below one coordinate, even past the budget
    assert budget.coords_per_step(big, AggregationRule(1), 256) == 1
