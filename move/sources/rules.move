/// Aggregation rules on offset-encoded u32 values, exactly as `protocol.fedavg`, `median`,
/// `trimmed_mean` (floor semantics), and FedAvg's running sums. No hashing; only `update_slices`
/// reads an object (the task's table of updates).
///
/// The reference definitions sort every coordinate; here the median and the trimmed mean use a
/// partial heap instead (median: about n/2 pops; trimmed mean: t pops from each end, none when
/// t = 0), which gives the same values (the parity tests check it) at less gas.
/// Users build a rule with the public constructor `new_aggregation`; the rest is internal.
module wafl::rules;

use sui::table::Table;

#[error]
const EInvalidAggregationRule: vector<u8> = b"Unknown aggregation rule, or trim_bps not in 0..4999";
#[error]
const ENoUpdates: vector<u8> = b"Aggregation needs at least one update";
#[error]
const EWrongLength: vector<u8> = b"All updates must have the same length";

const RULE_FEDAVG: u8 = 0;
const RULE_MEDIAN: u8 = 1;
const RULE_TRIMMED_MEAN: u8 = 2;
/// Basis points: trim_bps / BPS is the fraction dropped at each end by the trimmed mean.
const BPS: u64 = 10_000;
const MAX_U32: u64 = 0xffffffff;

/// How a task combines a round's updates: `rule` 0 FedAvg, 1 median, 2 trimmed mean dropping
/// floor(n * trim_bps / 10000) values at each end (trim_bps is ignored by the other rules).
public struct AggregationRule has copy, drop, store {
    rule: u8,
    trim_bps: u64,
}

/// A validated rule: a known rule and 0 <= trim_bps < 5000 (EInvalidAggregationRule).
public fun new_aggregation(rule: u8, trim_bps: u64): AggregationRule {
    validate_rule(rule, trim_bps);
    AggregationRule { rule, trim_bps }
}

public fun rule(a: &AggregationRule): u8 { a.rule }

public fun trim_bps(a: &AggregationRule): u64 { a.trim_bps }

public(package) fun is_fedavg(a: &AggregationRule): bool { a.rule == RULE_FEDAVG }

public(package) fun fedavg_rule(): u8 { RULE_FEDAVG }

public(package) fun median_rule(): u8 { RULE_MEDIAN }

public(package) fun trimmed_mean_rule(): u8 { RULE_TRIMMED_MEAN }

public(package) fun bps(): u64 { BPS }

/// A task's rule options: a known rule and 0 <= trim_bps < 5000 (EInvalidAggregationRule).
public(package) fun validate_rule(rule: u8, trim_bps: u64) {
    assert!(rule <= RULE_TRIMMED_MEAN, EInvalidAggregationRule);
    assert!(trim_bps < BPS / 2, EInvalidAggregationRule);
}

/// k = floor(n * trim_bps / 10000) values dropped at each end.
public(package) fun trim_count(n: u64, trim_bps: u64): u64 {
    assert!(trim_bps < BPS / 2, EInvalidAggregationRule);
    (((n as u128) * (trim_bps as u128) / (BPS as u128)) as u64)
}

/// The aggregate of `updates` under `rule` (`protocol.aggregate`).
public(package) fun aggregate(updates: &vector<vector<u32>>, rule: u8, trim_bps: u64): vector<u32> {
    if (rule == RULE_FEDAVG) fedavg(updates)
    else if (rule == RULE_MEDIAN) median(updates)
    else if (rule == RULE_TRIMMED_MEAN) trimmed_mean(updates, trim_bps)
    else abort EInvalidAggregationRule
}

/// Coordinate-wise floor(sum / n).
public(package) fun fedavg(updates: &vector<vector<u32>>): vector<u32> {
    let m = check_updates(updates);
    let k = updates.length();
    let mut out = vector[];
    let mut j = 0;
    while (j < m) {
        let mut sum: u128 = 0;
        let mut i = 0;
        while (i < k) {
            sum = sum + (updates[i][j] as u128);
            i = i + 1;
        };
        out.push_back(((sum / (k as u128)) as u32));
        j = j + 1;
    };
    out
}

/// Coordinate-wise median; for an even count, floor of the mean of the two middle values.
public(package) fun median(updates: &vector<vector<u32>>): vector<u32> {
    let m = check_updates(updates);
    let mut out = vector[];
    let mut j = 0;
    while (j < m) {
        let mut col = column(updates, j);
        out.push_back(median_of(&mut col));
        j = j + 1;
    };
    out
}

/// Coordinate-wise: drop the t = floor(n * trim_bps / 10000) lowest and highest values,
/// floor-mean the rest.
public(package) fun trimmed_mean(updates: &vector<vector<u32>>, trim_bps: u64): vector<u32> {
    let m = check_updates(updates);
    let t = trim_count(updates.length(), trim_bps);
    let mut out = vector[];
    let mut j = 0;
    while (j < m) {
        let mut col = column(updates, j);
        out.push_back(trimmed_mean_of(&mut col, t));
        j = j + 1;
    };
    out
}

/// At least one update (ENoUpdates), all of one length (EWrongLength); returns that length.
public(package) fun check_updates(updates: &vector<vector<u32>>): u64 {
    let k = updates.length();
    assert!(k > 0, ENoUpdates);
    let m = updates[0].length();
    let mut i = 1;
    while (i < k) {
        assert!(updates[i].length() == m, EWrongLength);
        i = i + 1;
    };
    m
}

// === FedAvg running sums ===

/// Add an update to the round's coordinate sums (FedAvg keeps them at submit, so its
/// aggregation reads no update). EWrongLength on a length mismatch. A round holds at most 256
/// updates of u32 values, so a sum stays below 2^40.
public(package) fun add_to_sums(sums: &mut vector<u64>, weights: &vector<u32>) {
    let m = weights.length();
    assert!(sums.length() == m, EWrongLength);
    let mut j = 0;
    while (j < m) {
        let s = &mut sums[j];
        *s = *s + (weights[j] as u64);
        j = j + 1;
    };
}

/// floor(sum / n) per coordinate: the FedAvg of the n updates summed in `sums`.
public(package) fun fedavg_from_sums(sums: &vector<u64>, n: u64): vector<u32> {
    assert!(n > 0, ENoUpdates);
    let m = sums.length();
    let mut out = vector[];
    let mut j = 0;
    while (j < m) {
        out.push_back(((sums[j] / n) as u32));
        j = j + 1;
    };
    out
}

/// `m` zero sums (a round without updates).
public(package) fun zero_sums(m: u64): vector<u64> {
    let mut out = vector[];
    let mut j = 0;
    while (j < m) {
        out.push_back(0);
        j = j + 1;
    };
    out
}

// === Selection on one coordinate ===

/// Column j of the updates (as u64, so that a + b cannot overflow).
fun column(updates: &vector<vector<u32>>, j: u64): vector<u64> {
    let k = updates.length();
    let mut col = vector[];
    let mut i = 0;
    while (i < k) {
        col.push_back((updates[i][j] as u64));
        i = i + 1;
    };
    col
}

/// The median of `col` (consumed): with d_0 >= d_1 >= ... the values in descending order,
/// d_{n/2} for odd n, floor((d_{n/2-1} + d_{n/2}) / 2) for even n.
fun median_of(col: &mut vector<u64>): u32 {
    let n = col.length();
    heapify(col, n);
    let mut end = n;
    let mut pops = if (n % 2 == 1) n / 2 else n / 2 - 1;
    while (pops > 0) {
        pop_max(col, end);
        end = end - 1;
        pops = pops - 1;
    };
    if (n % 2 == 1) return (col[0] as u32);
    let a = pop_max(col, end);
    ((a + col[0]) / 2 as u32)
}

/// The floor mean of `col` (consumed) without its t largest and t smallest values (t < n / 2):
/// the total minus the t largest (popped from a max-heap) minus the t smallest (popped from a
/// max-heap of the complements MAX_U32 - v of what remains).
fun trimmed_mean_of(col: &mut vector<u64>, t: u64): u32 {
    let n = col.length();
    let mut total: u128 = 0;
    let mut i = 0;
    while (i < n) {
        total = total + (col[i] as u128);
        i = i + 1;
    };
    if (t == 0) return ((total / (n as u128)) as u32);
    heapify(col, n);
    let mut end = n;
    let mut k = 0;
    while (k < t) {
        total = total - (pop_max(col, end) as u128);
        end = end - 1;
        k = k + 1;
    };
    i = 0;
    while (i < end) {
        let v = &mut col[i];
        *v = MAX_U32 - *v;
        i = i + 1;
    };
    heapify(col, end);
    k = 0;
    while (k < t) {
        total = total - ((MAX_U32 - pop_max(col, end)) as u128);
        end = end - 1;
        k = k + 1;
    };
    ((total / ((n - 2 * t) as u128)) as u32)
}

/// Make v[0..end) a max-heap in place.
fun heapify(v: &mut vector<u64>, end: u64) {
    let mut start = end / 2;
    while (start > 0) {
        start = start - 1;
        sift_down(v, start, end);
    };
}

/// Move the largest value of the heap v[0..end) (end >= 1) to v[end - 1], restore the heap on
/// v[0..end - 1) and return the value.
fun pop_max(v: &mut vector<u64>, end: u64): u64 {
    let last = end - 1;
    v.swap(0, last);
    sift_down(v, 0, last);
    v[last]
}

fun sift_down(v: &mut vector<u64>, mut root: u64, end: u64) {
    loop {
        let left = 2 * root + 1;
        if (left >= end) break;
        let right = left + 1;
        let mut child = left;
        if (right < end && v[right] > v[left]) child = right;
        if (v[child] <= v[root]) break;
        v.swap(root, child);
        root = child;
    }
}

/// Coordinates [start, end) of every update of the round, in submitter order (the task's
/// table of updates, one per submitter).
public(package) fun update_slices(
    updates: &Table<address, vector<u32>>,
    submitters: &vector<address>,
    start: u64,
    end: u64,
): vector<vector<u32>> {
    let n = submitters.length();
    let mut slices = vector[];
    let mut i = 0;
    while (i < n) {
        let update = &updates[submitters[i]];
        let mut slice = vector[];
        let mut j = start;
        while (j < end) {
            slice.push_back(update[j]);
            j = j + 1;
        };
        slices.push_back(slice);
        i = i + 1;
    };
    slices
}
