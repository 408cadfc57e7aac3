"""The gas budget rules (twin of `move/sources/budget.move`): what one aggregation step may cost,
how a round's aggregation is split into steps, and which tasks `create_task` refuses.

A Sui transaction may spend at most MAX_TX_UNITS computation units. Every aggregation step must
fit STEP_BUDGET_UNITS (60% of that cap: room for the PTB around the call, for data-dependent
costs and for gas-schedule changes). A step's cost is modelled as an upper bound, linear in its
work, in Sui's internal gas (1,000 per computation unit), for m weights, n updates and c
coordinates:

  FedAvg (one step: the running sums make it independent of the updates' contents)
      STEP_BASE + ADVANCE_PER_UPDATE n + (ADVANCE_PER_WEIGHT + FEDAVG_PER_WEIGHT) m
  median / trimmed mean (every step is costed as if it were the last, which also advances
  the round and removes the n updates)
      STEP_BASE + ADVANCE_PER_UPDATE n + ADVANCE_PER_WEIGHT m
      + n (LOAD_PER_UPDATE + load_per_weight(n) m)                     borrow / remove each update
      + c (COORD_BASE + COPY_PER_VALUE n + HEAP_PER_VALUE n heaps + SIFT_PER_LEVEL pops levels(n))

`heaps` / `pops` are the heap passes and pops of the contract's selection per coordinate
(`selection_work`), levels(n) = ceil(log2 n). `load_per_weight` is higher once the step makes
more than Sui's 700 native calls (4 per update), past which Sui charges natives as instructions.

The coefficients are fitted (tools/move/calibrate_budget.py) to the top-tier bound of the steps
measured with `wafl_sui.devtools.gas` (Sui's gas meter, gas model 11): past 200k instructions
and 1 MB of stack every instruction and stack byte costs 100 internal gas, below less, so the
bound is >= what Sui charges; the model is >= the bound on every measured step (docs/MOVE.md,
"Gas"). `coords_per_step` is the largest chunk that fits (at least 1); `check_task_budget`
refuses (EOverGasBudget) a (model size, rule, quorum) for which the FedAvg step, or a robust
step of one coordinate, would not fit.
"""

from __future__ import annotations

from wafl_sui.protocol.errors import ProtocolError
from wafl_sui.protocol.rules import AGG_FEDAVG, AGG_MEDIAN, AggregationRule, trim_count

MAX_TX_UNITS = 5_000_000  # Sui protocol config max_gas_computation_bucket
STEP_BUDGET_UNITS = 3_000_000  # what one aggregation step may cost: 60% of MAX_TX_UNITS
INTERNAL_PER_UNIT = 1_000  # Sui's internal gas per computation unit

# Calibrated cost coefficients, internal gas (upper bounds; docs/MOVE.md "Gas").
STEP_BASE = 5_000_000
ADVANCE_PER_UPDATE = 5_000
ADVANCE_PER_WEIGHT = 30_000
FEDAVG_PER_WEIGHT = 15_000
LOAD_PER_UPDATE = 120_000
LOAD_PER_WEIGHT = 600
LOAD_PER_WEIGHT_PAST_NATIVE_LIMIT = 1_400
COORD_BASE = 50_000
COPY_PER_VALUE = 32_000
HEAP_PER_VALUE = 50_000
SIFT_PER_LEVEL = 26_000
# Sui charges a native's cost as instructions past this many native calls in a transaction; a
# robust step makes NATIVES_PER_UPDATE per update (hash + borrow, hash + remove) and at most
# NATIVES_PER_STEP others.
NATIVE_CALL_LIMIT = 700
NATIVES_PER_UPDATE = 4
NATIVES_PER_STEP = 40


def heap_levels(n: int) -> int:
    """ceil(log2 n), at least 1: the most levels one heap pop sifts through."""
    return max(1, (n - 1).bit_length())


def selection_work(n: int, aggregation: AggregationRule) -> tuple[int, int]:
    """(heaps built, heap pops) per coordinate of the contract's selection of n values: none for
    FedAvg; median one heap and n/2 + 1 pops; trimmed mean with t = trim_count(n) > 0 two heaps
    and 2t pops, with t = 0 none (a plain mean)."""
    if aggregation.rule == AGG_FEDAVG:
        return 0, 0
    if aggregation.rule == AGG_MEDIAN:
        return 1, n // 2 + 1
    t = trim_count(n, aggregation.trim_bps)
    return (2, 2 * t) if t > 0 else (0, 0)


def coordinate_internal(n: int, aggregation: AggregationRule) -> int:
    """Upper bound of the internal gas one coordinate of a median / trimmed-mean step costs."""
    heaps, pops = selection_work(n, aggregation)
    return (COORD_BASE + COPY_PER_VALUE * n + HEAP_PER_VALUE * n * heaps
            + SIFT_PER_LEVEL * pops * heap_levels(n))


def load_per_weight(n: int) -> int:
    """Internal gas per weight of borrowing and removing one update, in a step with n updates."""
    past_limit = NATIVES_PER_STEP + NATIVES_PER_UPDATE * n > NATIVE_CALL_LIMIT
    return LOAD_PER_WEIGHT_PAST_NATIVE_LIMIT if past_limit else LOAD_PER_WEIGHT


def step_internal(num_weights: int, aggregation: AggregationRule, n: int, coords: int) -> int:
    """Upper bound of the internal gas of one aggregation step over `coords` coordinates of a
    round of n updates (every robust step costed as the last one)."""
    fixed = STEP_BASE + ADVANCE_PER_UPDATE * n + ADVANCE_PER_WEIGHT * num_weights
    if aggregation.rule == AGG_FEDAVG:
        return fixed + FEDAVG_PER_WEIGHT * num_weights
    load = n * (LOAD_PER_UPDATE + load_per_weight(n) * num_weights)
    return fixed + load + coords * coordinate_internal(n, aggregation)


def step_units(num_weights: int, aggregation: AggregationRule, n: int, coords: int) -> int:
    """`step_internal` in computation units (rounded up)."""
    return -(-step_internal(num_weights, aggregation, n, coords) // INTERNAL_PER_UNIT)


def coords_per_step(num_weights: int, aggregation: AggregationRule, n: int) -> int:
    """How many coordinates one aggregation step computes: all of them for FedAvg; for the robust
    rules the most that fit STEP_BUDGET_UNITS, at least 1 and at most num_weights."""
    if aggregation.rule == AGG_FEDAVG:
        return num_weights
    budget = STEP_BUDGET_UNITS * INTERNAL_PER_UNIT
    fixed = step_internal(num_weights, aggregation, n, 0)
    free = budget - fixed if budget > fixed else 0
    return max(1, min(num_weights, free // coordinate_internal(n, aggregation)))


def aggregation_steps(num_weights: int, aggregation: AggregationRule, n: int) -> int:
    """`aggregate` calls a round of n updates takes (the last one advances the round)."""
    if aggregation.rule == AGG_FEDAVG:
        return 1
    c = coords_per_step(num_weights, aggregation, n)
    return (num_weights + c - 1) // c


def aggregation_steps_left(num_weights: int, aggregation: AggregationRule, n: int, done: int) -> int:
    """`aggregate` calls still needed by a round of n updates whose aggregation has computed
    `done` coordinates (the last call advances the round)."""
    if aggregation.rule == AGG_FEDAVG or done <= 0:
        return aggregation_steps(num_weights, aggregation, n)
    c = coords_per_step(num_weights, aggregation, n)
    return max(1, (num_weights - done + c - 1) // c)


def check_task_budget(num_weights: int, aggregation: AggregationRule, quorum: int) -> None:
    """EOverGasBudget unless an aggregation step of a full round (quorum updates) fits
    STEP_BUDGET_UNITS: the FedAvg step, or a robust-rule step of one coordinate. (Steps with
    fewer updates cost less: every term grows with n.)"""
    coords = 0 if aggregation.rule == AGG_FEDAVG else 1
    units = step_units(num_weights, aggregation, quorum, coords)
    if units > STEP_BUDGET_UNITS:
        raise ProtocolError(
            "EOverGasBudget",
            f"an aggregation step of {quorum} updates of {num_weights} weights ({aggregation.name}) "
            f"would cost up to {units:,} computation units; the budget is {STEP_BUDGET_UNITS:,} "
            "(use a smaller quorum or model)",
        )
