/// The round rules of a task (mirrored by `wafl_sui/protocol/round.py`): the task's round
/// options (`RoundRules`, built by the public constructor `new_rules`), and, package-internal,
/// the submit, aggregate and discard preconditions in the order the shell checks them,
/// deadlines and round advance.
module wafl::round;

#[error]
const EInvalidRoundRules: vector<u8> = b"quorum must be in 1..256, round duration and max_rounds >= 1";
#[error]
const ETaskFinished: vector<u8> = b"The task has finished its last round";
#[error]
const ERoundClosed: vector<u8> = b"The round's deadline has passed, or its aggregation has started";
#[error]
const ERoundFull: vector<u8> = b"The round already holds its quorum of updates";
#[error]
const ESenderNotAllowed: vector<u8> = b"The sender is not on the task's allowlist";
#[error]
const EAlreadySubmitted: vector<u8> = b"The sender already has an accepted update in this round";
#[error]
const EQuorumNotReached: vector<u8> = b"The quorum is not reached and the round is still open";
#[error]
const ENoUpdates: vector<u8> = b"The round closed without any update";
#[error]
const EGracePeriodNotOver: vector<u8> = b"A round can be discarded only after its deadline plus the grace period";
#[error]
const ERoundHasUpdates: vector<u8> =
    b"The round holds updates or its aggregation has started: aggregate it; it cannot be discarded or restarted";

const MAX_U64: u64 = 0xffffffffffffffff;
/// Most updates one round accepts (quorum <= this): the last aggregation step of a robust rule
/// removes one dynamic field per update, and a Sui transaction may load at most 1000 objects.
const MAX_UPDATES_PER_ROUND: u64 = 256;
/// The shortest grace period `discard_round` waits after a deadline, whatever the task says.
const MIN_GRACE_MS: u64 = 60_000;

/// How a task's rounds run: a round closes at `quorum` updates (or at its deadline,
/// `round_duration_ms` after it started); the task finishes after `max_rounds` aggregations;
/// `max(grace_ms, MIN_GRACE_MS)` after the deadline anyone may discard a round that cannot be
/// aggregated (one without updates).
public struct RoundRules has copy, drop, store {
    quorum: u64,
    round_duration_ms: u64,
    max_rounds: u64,
    grace_ms: u64,
}

/// Validated round rules: 1 <= quorum <= 256, round_duration_ms >= 1, max_rounds >= 1
/// (EInvalidRoundRules); any grace period.
public fun new_rules(quorum: u64, round_duration_ms: u64, max_rounds: u64, grace_ms: u64): RoundRules {
    assert!(quorum >= 1 && quorum <= MAX_UPDATES_PER_ROUND, EInvalidRoundRules);
    assert!(round_duration_ms >= 1 && max_rounds >= 1, EInvalidRoundRules);
    RoundRules { quorum, round_duration_ms, max_rounds, grace_ms }
}

public fun quorum(r: &RoundRules): u64 { r.quorum }

public fun round_duration_ms(r: &RoundRules): u64 { r.round_duration_ms }

public fun max_rounds(r: &RoundRules): u64 { r.max_rounds }

public fun grace_ms(r: &RoundRules): u64 { r.grace_ms }

public(package) fun max_updates_per_round(): u64 { MAX_UPDATES_PER_ROUND }

public(package) fun min_grace_ms(): u64 { MIN_GRACE_MS }

/// Deadline of a round that starts at `start_ms` (saturating at u64::MAX). A round accepts
/// updates while now <= deadline.
public(package) fun deadline(start_ms: u64, round_duration_ms: u64): u64 {
    saturating_add(start_ms, round_duration_ms)
}

/// The end of a round's grace period: deadline + max(grace, MIN_GRACE_MS) (saturating at
/// u64::MAX).
public(package) fun grace_deadline(deadline_ms: u64, grace_ms: u64): u64 {
    saturating_add(deadline_ms, if (grace_ms < MIN_GRACE_MS) MIN_GRACE_MS else grace_ms)
}

/// Whether a round's aggregation may go on once its deadline has passed: it has started, or the
/// round holds an update (and so, at its quorum, before the deadline too). A round for which
/// this holds can never be discarded, so a discard never races a legal aggregate.
public(package) fun aggregatable_after_deadline(aggregating: bool, num_updates: u64, quorum: u64): bool {
    aggregating || num_updates >= quorum || num_updates > 0
}

/// Preconditions of an update, in this order: ETaskFinished, ERoundClosed (now > deadline, or
/// the round's aggregation has started), ERoundFull (the round holds `quorum` updates),
/// ESenderNotAllowed, EAlreadySubmitted. The shell then checks the weights, the data
/// commitment and the proof.
public(package) fun check_submit(
    finished: bool,
    now_ms: u64,
    deadline_ms: u64,
    aggregating: bool,
    num_updates: u64,
    quorum: u64,
    allowed: bool,
    already_submitted: bool,
) {
    assert!(!finished, ETaskFinished);
    assert!(now_ms <= deadline_ms && !aggregating, ERoundClosed);
    assert!(num_updates < quorum, ERoundFull);
    assert!(allowed, ESenderNotAllowed);
    assert!(!already_submitted, EAlreadySubmitted);
}

/// An aggregation step is allowed once the quorum is reached, or after the deadline with at
/// least one update, or when the round's aggregation has started (its next step):
/// ETaskFinished, then EQuorumNotReached (round open) or ENoUpdates (closed, empty).
public(package) fun check_aggregate(
    finished: bool,
    now_ms: u64,
    deadline_ms: u64,
    aggregating: bool,
    num_updates: u64,
    quorum: u64,
) {
    assert!(!finished, ETaskFinished);
    if (aggregating || num_updates >= quorum) return;
    assert!(now_ms > deadline_ms, EQuorumNotReached);
    assert!(aggregatable_after_deadline(aggregating, num_updates, quorum), ENoUpdates);
}

/// Anyone may discard a round that cannot be aggregated (no update, no aggregation started)
/// once now > deadline + max(grace, MIN_GRACE_MS): ETaskFinished, ERoundHasUpdates, then
/// EGracePeriodNotOver.
public(package) fun check_discard(
    finished: bool,
    now_ms: u64,
    deadline_ms: u64,
    grace_ms: u64,
    aggregating: bool,
    num_updates: u64,
    quorum: u64,
) {
    assert!(!finished, ETaskFinished);
    assert!(!aggregatable_after_deadline(aggregating, num_updates, quorum), ERoundHasUpdates);
    assert!(now_ms > grace_deadline(deadline_ms, grace_ms), EGracePeriodNotOver);
}

/// The admin may restart a round's timer only before its first update (its submitters' work is
/// never held back): ETaskFinished, then ERoundHasUpdates.
public(package) fun check_restart(finished: bool, aggregating: bool, num_updates: u64) {
    assert!(!finished, ETaskFinished);
    assert!(!aggregating && num_updates == 0, ERoundHasUpdates);
}

/// The round after `round` and whether the task is finished then (rounds are numbered from
/// 0; after max_rounds aggregations the task is finished).
public(package) fun next_round(round: u64, max_rounds: u64): (u64, bool) {
    let next = round + 1;
    (next, next >= max_rounds)
}

fun saturating_add(a: u64, b: u64): u64 {
    if (b > MAX_U64 - a) MAX_U64 else a + b
}
