"""Rounds that advance by themselves (wafl_sui/client/advance.py, run_loop.py) on the local
ledger with real proofs of a tiny circuit: a ready round is aggregated by whoever sees it first,
every chunk of a chunked rule; losing the race is not an error; a waiting participant says what
it waits for; two clients run a whole task with nobody aggregating by hand."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from wafl_sui import protocol
from wafl_sui.client.advance import advance, discard_if_stuck, not_ready_reason, open_if_waiting, waiting_text
from wafl_sui.client.data import Dataset
from wafl_sui.client.participant import Client
from wafl_sui.client.run_loop import participate
from wafl_sui.devtools.updates import UpdateMaker
from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.local import LocalLedger
from wafl_sui.protocol import AggregationRule, RoundRules, StepSpec
from ledger_clock import FixedClock as Clock  # noqa: E402

SPEC = StepSpec(features=4, classes=3, batch_size=2)
DUR = 60_000
T0 = 1_000_000


@pytest.fixture(scope="module")
def maker():
    m = UpdateMaker(SPEC)
    yield m
    m.close()


@pytest.fixture(scope="module")
def ids():
    return {k: Identity.generate() for k in ("owner", "alice", "bob", "carol")}


def new_task(led, maker, owner, quorum=2, rounds=2, rule=0, grace=0, ppr=0):
    return led.create_task(owner, SPEC, RoundRules(quorum, DUR, rounds, grace, ppr), AggregationRule(rule),
                           maker.lr_q, True, maker.initial_model(), maker.vk).task_id


def begin(led, task, *who):
    """Register `who` and open the round (every registered one sampled: ppr >= their number)."""
    for x in who:
        led.register(x, task)
    assert open_if_waiting(led, who[0], led.task(task)).of_type("RoundOpened")


def submit(led, maker, who, task, seed):
    u = maker.make(led.task(task), who.address, seed=seed)
    led.submit_update(who, task, u.new_weights, u.data_commitment, u.proof)


def test_a_ready_round_is_aggregated_once_and_the_loser_is_not_an_error(tmp_path, maker, ids):
    clock = Clock()
    with LocalLedger(tmp_path / "l.sqlite", clock=clock) as led:
        task = new_task(led, maker, ids["owner"])
        assert not_ready_reason(led.task(task), T0) == "ERoundNotOpen"
        assert open_if_waiting(led, ids["alice"], led.task(task)) is None  # 0 registered, quorum 2: nothing sent
        assert "waiting for registrations (0 registered, the quorum is 2)" in waiting_text(led.task(task))
        begin(led, task, ids["alice"], ids["bob"])
        assert open_if_waiting(led, ids["bob"], led.task(task)) is None  # already open: no error
        submit(led, maker, ids["alice"], task, 1)
        view = led.task(task)
        assert not_ready_reason(view, T0) == "EQuorumNotReached"
        assert advance(led, ids["alice"], task, T0) == []  # not ready: nothing sent
        text = waiting_text(view, ids["alice"].address, T0)
        assert text.startswith("round 0: 1 of 2 sampled participants submitted (quorum 2) (yours among them); "
                               "waiting for 1 more, or for the deadline at ")
        assert "(in 60 s)" in text
        submit(led, maker, ids["bob"], task, 2)
        receipts = advance(led, ids["bob"], task, T0)
        assert len(receipts) == 1 and receipts[0].of_type("RoundAggregated")[0].fields["round"] == 0
        assert advance(led, ids["alice"], task, T0) == []  # the round moved on: lost the race, no error
        assert led.task(task).round == 1


def test_after_the_deadline_a_round_with_updates_is_ready(tmp_path, maker, ids):
    clock = Clock()
    with LocalLedger(tmp_path / "l.sqlite", clock=clock) as led:
        task = new_task(led, maker, ids["owner"], quorum=1, ppr=3)
        begin(led, task, ids["alice"], ids["bob"], ids["carol"])
        submit(led, maker, ids["alice"], task, 1)
        assert not_ready_reason(led.task(task), clock.t) == "EQuorumNotReached"  # 1 of the 3 sampled
        clock.t = led.task(task).deadline_ms + 1
        view = led.task(task)
        assert not_ready_reason(view, clock.t) is None
        assert "the deadline passed at" in waiting_text(view, None, clock.t)
        assert advance(led, ids["carol"], task, clock.t)[-1].of_type("RoundAggregated")


def test_an_empty_closed_round_says_how_it_can_go_on(tmp_path, maker, ids):
    clock = Clock()
    with LocalLedger(tmp_path / "l.sqlite", clock=clock) as led:
        task = new_task(led, maker, ids["owner"])
        begin(led, task, ids["alice"], ids["bob"])
        view = led.task(task)
        after = view.deadline_ms + 1
        assert not_ready_reason(view, after) == "ENoUpdates" and advance(led, ids["carol"], task, after) == []
        text = waiting_text(view, None, after)
        assert "closed below its quorum" in text and "discard-round" in text
        clock.t = after
        assert discard_if_stuck(led, ids["carol"], led.task(task)) is None  # within the grace period
        clock.t = protocol.round.grace_deadline(view.deadline_ms, 0) + 1
        assert discard_if_stuck(led, ids["carol"], led.task(task)).of_type("RoundDiscarded")
        assert open_if_waiting(led, ids["carol"], led.task(task)).of_type("RoundOpened")  # a new sample


def test_every_chunk_of_a_chunked_rule_and_a_race_between_two_aggregators(tmp_path, maker, ids, monkeypatch):
    med = AggregationRule(protocol.AGG_MEDIAN)
    # a budget that holds a step of 2 coordinates: the tiny model's round takes several steps
    monkeypatch.setattr(protocol.budget, "STEP_BUDGET_UNITS", protocol.budget.step_units(SPEC.num_weights, med, 2, 2))
    chunks = protocol.budget.aggregation_steps(SPEC.num_weights, med, 2)
    assert chunks >= 5
    path = tmp_path / "l.sqlite"
    with LocalLedger(path) as led:
        task = new_task(led, maker, ids["owner"], rule=protocol.AGG_MEDIAN, rounds=3)
        begin(led, task, ids["alice"], ids["bob"])
        submit(led, maker, ids["alice"], task, 1)
        submit(led, maker, ids["bob"], task, 2)
        steps = advance(led, ids["alice"], task)
        assert len(steps) == chunks and steps[-1].of_type("RoundAggregated")
        open_if_waiting(led, ids["bob"], led.task(task))
        submit(led, maker, ids["alice"], task, 3)
        submit(led, maker, ids["bob"], task, 4)
    # two aggregators at once, each with its own connection: the round advances once, nobody fails
    results: dict[str, object] = {}

    def race(who: str) -> None:
        with LocalLedger(path) as mine:
            try:
                results[who] = advance(mine, ids[who], task)
            except Exception as e:  # noqa: BLE001 - the test reports it
                results[who] = e

    threads = [threading.Thread(target=race, args=(w,)) for w in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(isinstance(v, list) for v in results.values()), results
    done = [r for v in results.values() for r in v]
    assert sum(bool(r.of_type("RoundAggregated")) for r in done) == 1
    assert len(done) == chunks  # every chunk made exactly once, whoever made it
    with LocalLedger(path) as led:
        assert led.task(task).round == 2


def _client(who, seed):
    from wafl_sui.zk.setup import ensure_keys

    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, size=(20, SPEC.features))
    ds = Dataset(x, (x[:, 0] * 3).astype(int).clip(0, 2), SPEC.classes, f"c{seed}")
    return Client(who, ds, SPEC, ensure_keys(SPEC), seed=seed, allow_dev_key=True)


class Stop(Exception):
    pass


def test_two_clients_run_a_task_with_nobody_aggregating_by_hand(tmp_path, maker, ids):
    path = tmp_path / "l.sqlite"
    with LocalLedger(path) as led:
        task = new_task(led, maker, ids["owner"], rounds=2)
    out: dict[str, object] = {}

    def one(who: str, seed: int) -> None:
        c = _client(ids[who], seed)
        try:
            with LocalLedger(path) as mine:
                out[who] = participate(mine, c, task, poll=0.05)
        except Exception as e:  # noqa: BLE001 - the test reports it
            out[who] = e
        finally:
            c.close()

    threads = [threading.Thread(target=one, args=(w, i)) for i, w in enumerate(("alice", "bob"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert all(not isinstance(v, Exception) for v in out.values()), out
    assert [out[w].contributed for w in ("alice", "bob")] == [2, 2] and all(v.finished for v in out.values())
    assert sum(v.aggregated for v in out.values()) == 2
    with LocalLedger(path) as led:
        v = led.task(task)
        assert v.finished and v.round == 2
        assert [e.type for e in led.events(task)].count("RoundAggregated") == 2


def test_running_again_in_a_round_already_submitted_says_what_it_waits_for(tmp_path, maker, ids):
    with LocalLedger(tmp_path / "l.sqlite") as led:
        task = new_task(led, maker, ids["owner"], quorum=2)
        begin(led, task, ids["alice"], ids["bob"])
        submit(led, maker, ids["alice"], task, 1)
        said: list[str] = []
        c = _client(ids["alice"], 1)
        try:
            def sleep(_: float) -> None:
                raise Stop

            with pytest.raises(Stop):
                participate(led, c, task, poll=0.05, say=said.append, sleep=sleep)
        finally:
            c.close()
    assert len(said) == 1 and said[0].startswith(
        "round 0: 1 of 2 sampled participants submitted (quorum 2) (yours among them); waiting for 1 more")
