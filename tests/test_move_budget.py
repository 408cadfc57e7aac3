"""The contract within Sui's gas limits: full rounds of the built package, measured with
`wafl_sui.devtools.gas` (an offline replica of Sui's gas meter), against the budget rules of
`protocol.budget` (twin of move/sources/budget.move).

For every call: the computation units Sui would charge fit STEP_BUDGET_UNITS (60% of the
5,000,000-unit cap), and the call's top-tier bound (every instruction and stack byte at Sui's
highest tier, >= the units charged) fits the budget model's `step_units` for that step, so the
chunking the contract computes from the model can never push a step past the budget. The
sizes are the ones docs/MOVE.md promises: median and trimmed mean of 64 updates of 650 weights
and 16 updates of 4,090 weights; FedAvg of 256 updates of 4,090 weights."""

from __future__ import annotations


import pytest

from wafl_sui.protocol import budget
from wafl_sui.protocol.rules import AggregationRule

pytestmark = pytest.mark.oracle("node", "node_modules")

DIGITS = dict(features=64, classes=10, batch_size=16, local_steps=1, frac_bits=16, weight_bits=24,
              feature_frac_bits=4, feature_bits=6, lr_frac_bits=16, lr_bits=16)  # 650 weights
LARGEST = dict(DIGITS, features=408, weight_bits=32)  # 4,090 weights (the most one update can carry)
# MLPs in the default 14-bit format: 64-32-10 (2,410 weights) and 64-54-10 (4,060 weights: the
# largest 64-H-10 whose update fits a 16 KiB pure argument, n <= 4,095; docs/MOVE.md).
MLP = dict(features=64, classes=10, batch_size=16, local_steps=1, frac_bits=10, weight_bits=14,
           feature_frac_bits=3, feature_bits=5, lr_frac_bits=8, lr_bits=8, hidden=[32], act_frac_bits=6, act_bits=8)
MLP_LARGE = dict(MLP, hidden=[54])


@pytest.fixture(scope="module")
def build():
    from wafl_sui.contract.build import build_package

    return build_package()


def bound_units(rep) -> float:
    """Units of the call with every instruction and stack byte at Sui's top tier (100 internal
    gas each): >= what Sui charges."""
    return (100 * rep.instructions + 100 * rep.stack_bytes + rep.native_internal + 15 * rep.read_bytes) / 1000


def flow(build, spec, rule, trim_bps, n):
    from wafl_sui.devtools import gas

    f = gas.TaskFlow(gas.Chain(build), spec, rule=rule, trim_bps=trim_bps, quorum=n)
    rep = f.create()
    assert rep.ok, rep.abort
    return f


def check_step(rep, m, agg, n, coords):
    assert rep.ok, rep.abort
    assert rep.computation_units <= budget.STEP_BUDGET_UNITS
    assert rep.computation_units <= bound_units(rep) + 1000  # (charged units are rounded up to 1000)
    assert bound_units(rep) <= budget.step_units(m, agg, n, coords)


def aggregate_step(f):
    from wafl_sui.devtools import gas

    return f.chain.call("task", "aggregate", [gas.Obj(f.task_id), gas.Obj(gas.CLOCK_ID)],
                        sender=gas.sender_address(0), now_ms=f.tick())


def aggregate_round(f, max_steps=1000):
    """Every aggregation step of the round (reports), until the round advances."""
    start, steps = f.round(), []
    while f.round() == start and len(steps) < max_steps:
        steps.append(aggregate_step(f))
        assert steps[-1].ok, steps[-1].abort
    return steps


def run_round(f, m, agg, n):
    for _ in range(n):
        rep = f.submit()
        assert rep.ok, rep.abort
        assert rep.computation_units <= budget.STEP_BUDGET_UNITS
    steps = aggregate_round(f)
    chunk = budget.coords_per_step(m, agg, n)
    assert len(steps) == budget.aggregation_steps(m, agg, n)
    for k, rep in enumerate(steps):
        check_step(rep, m, agg, n, min(chunk, m - k * chunk))
    assert f.round() == 1
    return steps


@pytest.mark.slow
@pytest.mark.parametrize("rule,trim_bps", [(1, 0), (2, 1000)])
def test_robust_rounds_of_64_updates_of_650_weights(build, rule, trim_bps):
    agg = AggregationRule(rule, trim_bps)
    steps = run_round(flow(build, DIGITS, rule, trim_bps, 64), 650, agg, 64)
    assert len(steps) > 1  # chunked: one transaction could not hold it within the budget


@pytest.mark.slow
@pytest.mark.parametrize("rule,trim_bps", [(1, 0), (2, 1000)])
def test_robust_rounds_of_16_updates_of_4090_weights(build, rule, trim_bps):
    run_round(flow(build, LARGEST, rule, trim_bps, 16), 4090, AggregationRule(rule, trim_bps), 16)


def test_trimmed_mean_at_the_widest_trim(build):
    """trim_bps 4999 (the most pops per coordinate): the first step of a round of 64 updates."""
    agg = AggregationRule(2, 4999)
    f = flow(build, DIGITS, 2, 4999, 64)
    for _ in range(64):
        assert f.submit().ok
    check_step(aggregate_step(f), 650, agg, 64, budget.coords_per_step(650, agg, 64))


def test_fedavg_of_256_updates_of_4090_weights_is_one_step(build):
    """FedAvg reads the running sums only: the step costs the same for any number of updates.
    (The 256 submits are not replayed: the round's submitters and sums are set directly.)"""
    from wafl_sui.devtools import gas

    m, n = 4090, 256
    f = flow(build, LARGEST, 0, 0, n)
    rep = f.submit()
    assert rep.ok and rep.computation_units <= budget.STEP_BUDGET_UNITS
    f.chain.set_field(f.task_id, "submitters", gas.Vec("address", [gas.sender_address(k) for k in range(1, n + 1)]))
    f.chain.set_field(f.task_id, "sums", gas.Vec("u64", [(j * 977) % (n << 32) for j in range(m)]))
    steps = aggregate_round(f)
    assert len(steps) == 1 and f.round() == 1
    check_step(steps[0], m, AggregationRule(0), n, m)


@pytest.mark.parametrize("rule", [0, 1])
def test_submit_at_the_largest_model_is_small(build, rule):
    """submit_update is one pass that validates and packs (plus the running sums for FedAvg, or
    storing the update otherwise): well inside the budget at the largest model."""
    f = flow(build, LARGEST, rule, 0, 16)
    rep = f.submit()
    assert rep.ok, rep.abort
    assert rep.computation_units <= budget.STEP_BUDGET_UNITS // 20, rep.computation_units


def test_a_full_round_is_aggregated_never_discarded(build):
    """discard_round cannot wipe a round with updates (finding 3): it aborts, deletes nothing and
    collects no rebate; the updates' storage rebates go to whoever runs the aggregation's last
    step, so discarding never pays better than aggregating. An empty round is discarded cheaply."""
    f = flow(build, DIGITS, 1, 0, 64)
    for _ in range(64):
        assert f.submit().ok
    rep = f.discard()
    assert not rep.ok and rep.abort == "ERoundHasUpdates" and rep.deleted == 0
    agg = f.aggregate()
    assert agg.steps[-1].ok and agg.steps[-1].deleted == 64 and agg.steps[-1].storage_rebate_mist > 0
    rep = f.discard()  # the next round is empty: discarded after the grace period, nothing to delete
    assert rep.ok, rep.abort
    assert rep.deleted == 0 and bound_units(rep) <= budget.step_units(650, AggregationRule(1), 64, 0)


@pytest.mark.parametrize("spec,m", [(MLP, 2410), (MLP_LARGE, 4060)])
def test_mlp_fedavg_round_fits(build, spec, m):
    """An MLP task (spec::new_mlp): submits and the FedAvg step of a round of 4 at 2,410 and
    4,060 weights fit the budget and its model (num_weights follows the architecture)."""
    from wafl_sui.protocol import StepSpec

    assert StepSpec.from_dict(spec).num_weights == m
    f = flow(build, spec, 0, 0, 4)
    assert f.num_weights == m
    run_round(f, m, AggregationRule(0), 4)


@pytest.mark.slow
def test_mlp_median_round_fits(build):
    run_round(flow(build, MLP, 1, 0, 16), 2410, AggregationRule(1), 16)
