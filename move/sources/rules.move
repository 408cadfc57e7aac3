/// Aggregation rules on offset-encoded u32 values, exactly as `protocol.fedavg`, `median`,
/// `trimmed_mean` (floor semantics). Pure: no objects, no hashing.
module wafl::rules;

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

public fun fedavg_rule(): u8 { RULE_FEDAVG }

public fun median_rule(): u8 { RULE_MEDIAN }

public fun trimmed_mean_rule(): u8 { RULE_TRIMMED_MEAN }

public fun bps(): u64 { BPS }

/// A task's rule options: a known rule and 0 <= trim_bps < 5000 (EInvalidAggregationRule).
public fun validate_rule(rule: u8, trim_bps: u64) {
    assert!(rule <= RULE_TRIMMED_MEAN, EInvalidAggregationRule);
    assert!(trim_bps < BPS / 2, EInvalidAggregationRule);
}

/// k = floor(n * trim_bps / 10000) values dropped at each end.
public fun trim_count(n: u64, trim_bps: u64): u64 {
    assert!(trim_bps < BPS / 2, EInvalidAggregationRule);
    (((n as u128) * (trim_bps as u128) / (BPS as u128)) as u64)
}

/// The aggregate of `updates` under `rule` (`protocol.aggregate`).
public fun aggregate(updates: &vector<vector<u32>>, rule: u8, trim_bps: u64): vector<u32> {
    if (rule == RULE_FEDAVG) fedavg(updates)
    else if (rule == RULE_MEDIAN) median(updates)
    else if (rule == RULE_TRIMMED_MEAN) trimmed_mean(updates, trim_bps)
    else abort EInvalidAggregationRule
}

/// Coordinate-wise floor(sum / n).
public fun fedavg(updates: &vector<vector<u32>>): vector<u32> {
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
public fun median(updates: &vector<vector<u32>>): vector<u32> {
    let m = check_updates(updates);
    let k = updates.length();
    let mut out = vector[];
    let mut j = 0;
    while (j < m) {
        let col = sorted_column(updates, j);
        let v = if (k % 2 == 1) col[k / 2] else (col[k / 2 - 1] + col[k / 2]) / 2;
        out.push_back((v as u32));
        j = j + 1;
    };
    out
}

/// Coordinate-wise: drop the k = floor(n * trim_bps / 10000) lowest and highest values,
/// floor-mean the rest.
public fun trimmed_mean(updates: &vector<vector<u32>>, trim_bps: u64): vector<u32> {
    let m = check_updates(updates);
    let k = updates.length();
    let t = trim_count(k, trim_bps);
    let kept = k - 2 * t;
    let mut out = vector[];
    let mut j = 0;
    while (j < m) {
        let col = sorted_column(updates, j);
        let mut sum: u128 = 0;
        let mut i = t;
        while (i < k - t) {
            sum = sum + (col[i] as u128);
            i = i + 1;
        };
        out.push_back(((sum / (kept as u128)) as u32));
        j = j + 1;
    };
    out
}

/// At least one update (ENoUpdates), all of one length (EWrongLength); returns that length.
public fun check_updates(updates: &vector<vector<u32>>): u64 {
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

/// Column j of the updates, sorted ascending (as u64, so that a + b cannot overflow).
fun sorted_column(updates: &vector<vector<u32>>, j: u64): vector<u64> {
    let k = updates.length();
    let mut col = vector[];
    let mut i = 0;
    while (i < k) {
        col.push_back((updates[i][j] as u64));
        i = i + 1;
    };
    heap_sort(&mut col);
    col
}

/// In-place ascending heap sort: O(n log n) comparisons, no allocation.
public fun heap_sort(v: &mut vector<u64>) {
    let n = v.length();
    if (n < 2) return;
    let mut start = n / 2;
    while (start > 0) {
        start = start - 1;
        sift_down(v, start, n);
    };
    let mut end = n;
    while (end > 1) {
        end = end - 1;
        v.swap(0, end);
        sift_down(v, 0, end);
    };
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
