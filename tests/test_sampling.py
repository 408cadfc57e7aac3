"""Participants are sampled, not raced (issue #20, finding 1): registration with a refundable
deposit, each round's sample drawn from the registered participants with the round's randomness
(`protocol/participants.py` <-> `move/sources/participants.move`, the same sample from the same
bytes in the Move VM), a round that takes updates from its sample only, and the review's attack
(two Sybil addresses submitting first on an open task) tried again through the local ledger."""

from __future__ import annotations

import collections
import dataclasses
import secrets

import pytest

from wafl_sui.devtools.updates import UpdateMaker
from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.local import LocalLedger
from wafl_sui.protocol import AggregationRule, ProtocolError, RoundRules, StepSpec, normalize_address
from wafl_sui.protocol import participants, task

ADDRS = tuple(normalize_address("0x%x" % (i + 1)) for i in range(12))
SPEC = StepSpec(features=2, classes=2, batch_size=2, local_steps=1, frac_bits=4, weight_bits=8,
                feature_frac_bits=4, feature_bits=6, lr_frac_bits=8, lr_bits=8)
VK = bytes(96) + bytes(63) + b"\x01" + bytes(64) + (5).to_bytes(8, "little") + bytes(5 * 32)
START = 5_000


def err(fn, *a, **kw):
    with pytest.raises(ProtocolError) as e:
        fn(*a, **kw)
    return e.value.name


# --------------------------------------------------------------------------- the sample, pure
def test_sample_is_a_deterministic_subset_without_replacement():
    seed = bytes(range(32))
    s = participants.sample(ADDRS, 4, seed)
    assert len(s) == 4 == len(set(s)) and set(s) <= set(ADDRS)
    assert participants.sample(ADDRS, 4, seed) == s  # anyone recomputes it from the randomness
    assert participants.sample(ADDRS, 4, bytes(32)) != s  # other bytes, another sample
    # all of them (in drawn order) when k >= n
    assert sorted(participants.sample(ADDRS, 12, seed)) == sorted(ADDRS)
    assert sorted(participants.sample(ADDRS, 50, seed)) == sorted(ADDRS)
    assert participants.sample((), 3, seed) == ()
    # the first k of a larger draw with the same seed: a partial Fisher-Yates shuffle
    assert participants.sample(ADDRS, 12, seed)[:4] == s


def test_sample_is_uniform():
    """Each of 10 participants lands in a sample of 4 with probability 0.4 (3,000 seeds)."""
    pool = ADDRS[:10]
    counts = collections.Counter()
    n = 3000
    for i in range(n):
        counts.update(participants.sample(pool, 4, i.to_bytes(32, "little")))
    for p in pool:  # binomial(3000, 0.4): sd ~ 27; 6 sd
        assert abs(counts[p] - 0.4 * n) < 160, counts


def test_draw_is_in_range():
    for m in (1, 2, 3, 7, 512):
        for i in range(20):
            assert 0 <= participants.draw(b"\x07" * 32, i, m) < m


# --------------------------------------------------------------------------- Move = Python
@pytest.fixture(scope="module")
def vm():
    pytest.importorskip("sui_sandbox")
    from wafl_sui.devtools.vm import MoveVM

    return MoveVM.shared()


def test_move_sample_equals_python(vm):
    for k, n, seed in ((4, 10, bytes(range(32))), (3, 3, b"\xff" * 32), (1, 12, secrets.token_bytes(32)),
                       (5, 2, secrets.token_bytes(32)), (0, 5, bytes(32))):
        pool = list(ADDRS[:n])
        got = vm.inner1("participants", "sample", [("vector<address>", pool), ("u64", k), ("vector<u8>", list(seed))])
        assert tuple(normalize_address(a) for a in got) == participants.sample(pool, k, seed)
    for i, m in ((0, 10), (5, 3), (2**40, 511)):
        seed = secrets.token_bytes(32)
        assert vm.inner1("participants", "draw", [("vector<u8>", list(seed)), ("u64", i), ("u64", m)]) == \
            participants.draw(seed, i, m)
    assert vm.inner1("participants", "max_participants") == participants.MAX_PARTICIPANTS
    assert vm.inner1("participants", "randomness_bytes") == participants.RANDOMNESS_BYTES


def test_move_registration_checks_equal_python(vm):
    from wafl_sui.devtools.vm import MoveAbort

    cases = [
        ("check_register", [("bool", True), ("u64", 0), ("u64", 5), ("u64", 5)]),
        ("check_register", [("bool", False), ("u64", participants.MAX_PARTICIPANTS), ("u64", 5), ("u64", 5)]),
        ("check_register", [("bool", False), ("u64", 3), ("u64", 4), ("u64", 5)]),
        ("check_register", [("bool", False), ("u64", 3), ("u64", 5), ("u64", 5)]),
        ("check_leave", [("bool", False), ("bool", False)]),
        ("check_leave", [("bool", True), ("bool", True)]),
        ("check_leave", [("bool", True), ("bool", False)]),
        ("check_pool", [("u64", 1), ("u64", 2)]),
        ("check_pool", [("u64", 2), ("u64", 2)]),
    ]
    for fn, args in cases:
        try:
            getattr(participants, fn)(*[v for _, v in args])
            want = None
        except ProtocolError as e:
            want = e.name
        try:
            vm.inner1("participants", fn, args)
            got = None
        except MoveAbort as e:
            got = e.name
        assert got == want, (fn, args)


# --------------------------------------------------------------------------- the task's rules
def make(quorum=2, ppr=4, open_=True, deposit=0):
    rr = RoundRules(quorum, 1_000, 3, 70_000, ppr)
    s, _ = task.create_task("0x" + "7a" * 32, "0x" + "ca" * 32, "0xad", SPEC, rr, AggregationRule(0), 16, open_,
                            [128] * 6, VK, START, deposit_mist=deposit)
    return s


def registered(s, who, deposit=None):
    for a in who:
        s, _ = task.register(s, a, s.deposit_mist if deposit is None else deposit)
    return s


def test_a_round_waits_for_its_sample():
    s = make()
    assert not s.round_open and s.deadline_ms == 0
    assert err(task.submit_update, s, ADDRS[0], [1] * 6, 7, bytes(128), START, lambda *a: True) == "ERoundNotOpen"
    assert err(task.open_round, s, bytes(32), START) == "ENotEnoughParticipants"  # quorum 2, nobody registered
    s = registered(s, ADDRS[:10])
    s2, (ev,) = task.open_round(s, b"\x05" * 32, START + 10)
    assert s2.round_open and s2.deadline_ms == START + 10 + 1_000
    assert s2.sampled == participants.sample(ADDRS[:10], 4, b"\x05" * 32) == ev.sampled
    assert (ev.type, ev.round, ev.randomness, ev.pool_size) == ("RoundOpened", 0, "0x" + "05" * 32, 10)
    assert err(task.open_round, s2, bytes(32), START) == "ERoundAlreadyOpen"  # no re-roll
    out = next(a for a in ADDRS[:10] if a not in s2.sampled)
    assert err(task.submit_update, s2, out, [1] * 6, 7, bytes(128), START + 20, lambda *a: True) == "ENotSampled"


def test_aggregation_needs_every_sampled_or_the_deadline_and_the_quorum():
    s = registered(make(quorum=2, ppr=3), ADDRS[:5])
    s, _ = task.open_round(s, bytes(32), START)
    a, b, c = s.sampled
    s, _ = task.submit_update(s, a, [1] * 6, 7, bytes(128), START, lambda *x: True)
    assert err(task.aggregate, s, "0xcc", START) == "EQuorumNotReached"
    assert err(task.aggregate, s, "0xcc", START + 1_001) == "EQuorumNotReached"  # closed below its quorum
    s2, _ = task.submit_update(s, b, [1] * 6, 7, bytes(128), START, lambda *x: True)
    assert err(task.aggregate, s2, "0xcc", START + 1) == "EQuorumNotReached"  # c may still submit
    assert task.aggregate(s2, "0xcc", START + 1_001)[0].round == 1  # the deadline, at its quorum
    s3, _ = task.submit_update(s2, c, [1] * 6, 7, bytes(128), START, lambda *x: True)
    s4, evs = task.aggregate(s3, "0xcc", START + 1)  # every sampled participant is in
    assert s4.round == 1 and not s4.round_open and s4.sampled == () and s4.randomness == b""
    # a round below its quorum is discarded after the grace period and waits for a new sample
    assert err(task.discard_round, s, "0xdd", START + 1_000 + 70_000) == "EGracePeriodNotOver"
    s5, _ = task.discard_round(s, "0xdd", START + 1_000 + 70_001)
    assert (s5.round, s5.round_open, s5.submitters) == (0, False, ())
    assert err(task.discard_round, s2, "0xdd", START + 10**6) == "ERoundHasUpdates"  # at its quorum


def test_register_and_leave_with_a_deposit():
    s = make(deposit=1_000)
    assert err(task.register, s, ADDRS[0], 999) == "EWrongDeposit"
    s, (ev,) = task.register(s, ADDRS[0], 1_000)
    assert (ev.type, ev.deposit, ev.num_registered) == ("ParticipantRegistered", 1_000, 1)
    assert err(task.register, s, ADDRS[0], 1_000) == "EAlreadyRegistered"
    s = registered(s, ADDRS[1:4])
    s, _ = task.open_round(s, bytes(32), START)
    inside = s.sampled[0]
    assert err(task.leave, s, inside) == "EParticipantSampled"  # not while it holds a seat
    assert err(task.leave, s, ADDRS[9]) == "ENotRegistered"
    s, _ = task.submit_update(s, inside, [1] * 6, 7, bytes(128), START, lambda *x: True)
    for other in s.sampled[1:]:
        s, _ = task.submit_update(s, other, [1] * 6, 7, bytes(128), START, lambda *x: True)
    s, _ = task.aggregate(s, "0xcc", START)
    s, (ev,) = task.leave(s, inside)  # the round ended: the deposit comes back
    assert (ev.type, ev.deposit, ev.num_registered) == ("ParticipantLeft", 1_000, 3)
    assert inside not in s.registered and inside not in s.deposits


def test_closed_task_samples_from_the_allowlist():
    s = make(open_=False, quorum=1, ppr=2)
    assert err(task.register, s, ADDRS[0], 0) == "ESenderNotAllowed"
    for a in ADDRS[:3]:
        s, _ = task.add_participant(s, s.task_id, a)
    s = registered(s, ADDRS[:3])
    s, _ = task.remove_participant(s, s.task_id, ADDRS[1])  # taken off the allowlist and the pool
    s, (ev,) = task.open_round(s, bytes(32), START)
    assert set(s.sampled) == {ADDRS[0], ADDRS[2]} and ev.pool_size == 2


def test_round_rules_participants_per_round():
    assert RoundRules(2, 1, 1).participants_per_round == 2  # 0: as many as the quorum
    assert err(RoundRules, 3, 1, 1, 0, 2) == "EInvalidRoundRules"  # quorum > sample
    assert err(RoundRules, 1, 1, 1, 0, 257) == "EInvalidRoundRules"


# --------------------------------------------------------------------------- the attack, on the ledger
LSPEC = StepSpec(features=4, classes=3, batch_size=2)


@pytest.fixture(scope="module")
def maker():
    m = UpdateMaker(LSPEC)
    yield m
    m.close()


def test_two_sybils_no_longer_take_an_open_task(tmp_path, maker):
    """The review's attack: two fresh addresses submit first in every round of an open task. Now
    they get a seat only when sampled; the honest sampled participants' updates are accepted
    whatever the arrival order, and the round's sample and randomness are public."""
    owner = Identity.generate()
    sybils = [Identity.generate() for _ in range(2)]
    honest = [Identity.generate() for _ in range(4)]
    with LocalLedger(tmp_path / "l.sqlite") as led:
        ref = led.create_task(owner, LSPEC, RoundRules(2, 600_000, 3, 0, 3), AggregationRule(0), maker.lr_q, True,
                              maker.initial_model(), maker.vk, deposit_mist=10)
        for who in sybils + honest:
            (ev,) = led.register(who, ref.task_id).events
            assert ev.fields["deposit"] == 10
        seen = set()
        for rnd in range(3):
            (opened,) = led.open_round(sybils[0], ref.task_id).of_type("RoundOpened")  # anyone may open it
            view = led.task(ref.task_id)
            sample = led.round_sample(ref.task_id)
            assert sample.sampled == view.sampled and sample.randomness == view.randomness and len(view.randomness) == 32
            assert sample.sampled == participants.sample(view.registered, 3, sample.randomness)  # recomputable
            seen.add(sample.randomness)
            for s in sybils:  # the Sybils go first, every round
                u = maker.make(view, s.address, rnd)
                if s.address in view.sampled:
                    led.submit_update(s, ref.task_id, u.new_weights, u.data_commitment, u.proof)
                else:
                    assert err(led.submit_update, s, ref.task_id, u.new_weights, u.data_commitment, u.proof) == \
                        "ENotSampled"
            for h in honest:  # every sampled honest participant still gets its update in
                if h.address in view.sampled:
                    u = maker.make(led.task(ref.task_id), h.address, rnd)
                    led.submit_update(h, ref.task_id, u.new_weights, u.data_commitment, u.proof)
            assert set(led.task(ref.task_id).submitters) == set(view.sampled)
            led.aggregate_round(owner, ref.task_id)
            assert led.round_sample(ref.task_id, rnd).sampled == view.sampled  # still readable afterwards
        assert len(seen) == 3  # fresh randomness each round
        assert led.task(ref.task_id).finished
        for s in sybils:  # the deposits come back at the end
            assert led.leave(s, ref.task_id).events[0].fields["deposit"] == 10
