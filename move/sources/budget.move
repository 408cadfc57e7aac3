/// The gas budget rules (mirrored by `wafl_sui/protocol/budget.py`): what one aggregation step
/// may cost, how a round's aggregation is split into steps, and which tasks `create_task`
/// refuses. Pure and package-internal.
///
/// A Sui transaction may spend at most MAX_TX_UNITS computation units; every aggregation step
/// must fit STEP_BUDGET_UNITS (60% of that cap). A step's cost is modelled as an upper bound,
/// linear in its work, in Sui's internal gas (1000 per computation unit), for m weights,
/// n updates and c coordinates:
///   FedAvg: STEP_BASE + ADVANCE_PER_UPDATE n + (ADVANCE_PER_WEIGHT + FEDAVG_PER_WEIGHT) m
///   median / trimmed mean (each step costed as the last one):
///       STEP_BASE + ADVANCE_PER_UPDATE n + ADVANCE_PER_WEIGHT m
///       + n (LOAD_PER_UPDATE + load_per_weight(n) m)
///       + c (COORD_BASE + COPY_PER_VALUE n + HEAP_PER_VALUE n heaps + SIFT_PER_LEVEL pops levels(n))
/// The coefficients are fitted to the gas of the package's own steps under Sui's gas meter
/// (docs/MOVE.md, "Gas"). Arithmetic is in u256: no input overflows it.
module wafl::budget;

use wafl::rules::{Self, AggregationRule};

#[error]
const EOverGasBudget: vector<u8> =
    b"An aggregation step of this model size, rule and quorum would not fit the gas budget";

/// Sui protocol config `max_gas_computation_bucket`: computation units one transaction may use.
const MAX_TX_UNITS: u64 = 5_000_000;
/// What one aggregation step may cost: 60% of MAX_TX_UNITS.
const STEP_BUDGET_UNITS: u64 = 3_000_000;
/// Sui's internal gas per computation unit.
const INTERNAL_PER_UNIT: u64 = 1_000;

// Calibrated cost coefficients, internal gas (upper bounds).
const STEP_BASE: u64 = 5_000_000;
const ADVANCE_PER_UPDATE: u64 = 5_000;
const ADVANCE_PER_WEIGHT: u64 = 30_000;
const FEDAVG_PER_WEIGHT: u64 = 15_000;
const LOAD_PER_UPDATE: u64 = 120_000;
const LOAD_PER_WEIGHT: u64 = 600;
const LOAD_PER_WEIGHT_PAST_NATIVE_LIMIT: u64 = 1_400;
const COORD_BASE: u64 = 50_000;
const COPY_PER_VALUE: u64 = 32_000;
const HEAP_PER_VALUE: u64 = 50_000;
const SIFT_PER_LEVEL: u64 = 26_000;
/// Sui charges a native's cost as instructions past this many native calls in a transaction;
/// a robust step makes NATIVES_PER_UPDATE per update and at most NATIVES_PER_STEP others.
const NATIVE_CALL_LIMIT: u64 = 700;
const NATIVES_PER_UPDATE: u64 = 4;
const NATIVES_PER_STEP: u64 = 40;

public(package) fun max_tx_units(): u64 { MAX_TX_UNITS }

public(package) fun step_budget_units(): u64 { STEP_BUDGET_UNITS }

/// The cost coefficients in the order of `protocol.budget` (for the parity tests).
public(package) fun coefficients(): vector<u64> {
    vector[
        INTERNAL_PER_UNIT, STEP_BASE, ADVANCE_PER_UPDATE, ADVANCE_PER_WEIGHT, FEDAVG_PER_WEIGHT,
        LOAD_PER_UPDATE, LOAD_PER_WEIGHT, LOAD_PER_WEIGHT_PAST_NATIVE_LIMIT, COORD_BASE,
        COPY_PER_VALUE, HEAP_PER_VALUE, SIFT_PER_LEVEL, NATIVE_CALL_LIMIT, NATIVES_PER_UPDATE,
        NATIVES_PER_STEP,
    ]
}

/// ceil(log2 n), at least 1: the most levels one heap pop sifts through.
public(package) fun heap_levels(n: u64): u64 {
    if (n <= 2) return 1;
    let mut x = n - 1;
    let mut levels = 0;
    while (x > 0) {
        x = x >> 1;
        levels = levels + 1;
    };
    levels
}

/// (heaps built, heap pops) per coordinate of `rules`' selection of n values: none for FedAvg;
/// median one heap and n/2 + 1 pops; trimmed mean with t = trim_count(n) > 0 two heaps and 2t
/// pops, with t = 0 none (a plain mean).
public(package) fun selection_work(n: u64, aggregation: &AggregationRule): (u64, u64) {
    if (aggregation.is_fedavg()) return (0, 0);
    if (aggregation.rule() == rules::median_rule()) return (1, n / 2 + 1);
    let t = rules::trim_count(n, aggregation.trim_bps());
    if (t > 0) (2, 2 * t) else (0, 0)
}

/// Upper bound of the internal gas one coordinate of a median / trimmed-mean step costs.
public(package) fun coordinate_internal(n: u64, aggregation: &AggregationRule): u256 {
    let (heaps, pops) = selection_work(n, aggregation);
    let n = n as u256;
    (COORD_BASE as u256) + (COPY_PER_VALUE as u256) * n + (HEAP_PER_VALUE as u256) * n * (heaps as u256)
        + (SIFT_PER_LEVEL as u256) * (pops as u256) * (heap_levels(n as u64) as u256)
}

/// Internal gas per weight of borrowing and removing one update, in a step with n updates.
public(package) fun load_per_weight(n: u64): u64 {
    let natives = (NATIVES_PER_STEP as u256) + (NATIVES_PER_UPDATE as u256) * (n as u256);
    if (natives > (NATIVE_CALL_LIMIT as u256)) LOAD_PER_WEIGHT_PAST_NATIVE_LIMIT else LOAD_PER_WEIGHT
}

/// Upper bound of the internal gas of one aggregation step over `coords` coordinates of a
/// round of n updates (every robust step costed as the last one).
public(package) fun step_internal(num_weights: u256, aggregation: &AggregationRule, n: u64, coords: u64): u256 {
    let m = num_weights;
    let fixed = (STEP_BASE as u256) + (ADVANCE_PER_UPDATE as u256) * (n as u256) + (ADVANCE_PER_WEIGHT as u256) * m;
    if (aggregation.is_fedavg()) return fixed + (FEDAVG_PER_WEIGHT as u256) * m;
    let load = (n as u256) * ((LOAD_PER_UPDATE as u256) + (load_per_weight(n) as u256) * m);
    fixed + load + (coords as u256) * coordinate_internal(n, aggregation)
}

/// `step_internal` in computation units (rounded up).
public(package) fun step_units(num_weights: u256, aggregation: &AggregationRule, n: u64, coords: u64): u256 {
    let per = INTERNAL_PER_UNIT as u256;
    (step_internal(num_weights, aggregation, n, coords) + per - 1) / per
}

/// How many coordinates one aggregation step computes: all of them for FedAvg; for the robust
/// rules the most that fit STEP_BUDGET_UNITS, at least 1 and at most num_weights.
public(package) fun coords_per_step(num_weights: u64, aggregation: &AggregationRule, n: u64): u64 {
    if (aggregation.is_fedavg()) return num_weights;
    let budget = (STEP_BUDGET_UNITS as u256) * (INTERNAL_PER_UNIT as u256);
    let fixed = step_internal(num_weights as u256, aggregation, n, 0);
    let free = if (budget > fixed) budget - fixed else 0;
    let fit = free / coordinate_internal(n, aggregation);
    let c = if (fit < (num_weights as u256)) (fit as u64) else num_weights;
    if (c == 0) 1 else c
}

/// `aggregate` calls a round of n updates takes (the last one advances the round).
public(package) fun aggregation_steps(num_weights: u64, aggregation: &AggregationRule, n: u64): u64 {
    if (aggregation.is_fedavg()) return 1;
    let c = coords_per_step(num_weights, aggregation, n);
    (num_weights + c - 1) / c
}

/// EOverGasBudget unless an aggregation step of a full round (quorum updates) fits
/// STEP_BUDGET_UNITS: the FedAvg step, or a robust-rule step of one coordinate (steps with
/// fewer updates cost less: every term grows with n).
public(package) fun check_task_budget(num_weights: u256, aggregation: &AggregationRule, quorum: u64) {
    let coords = if (aggregation.is_fedavg()) 0 else 1;
    let units = step_units(num_weights, aggregation, quorum, coords);
    assert!(units <= (STEP_BUDGET_UNITS as u256), EOverGasBudget);
}
