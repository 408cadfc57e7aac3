/// The round rules of a task (mirrored by `wafl_sui/protocol/round.py`): the task's round
/// options (`RoundRules`, built by the public constructor `new_rules`), and, package-internal,
/// the submit, aggregate and discard preconditions in the order the shell checks them,
/// deadlines and round advance.
module wafl::round;

#[error]
const EInvalidRoundRules: vector<u8> =
    b"quorum <= participants_per_round must be in 1..256, round duration and max_rounds >= 1";
#[error]
const ETaskFinished: vector<u8> = b"The task has finished its last round";
#[error]
const ERoundClosed: vector<u8> = b"The round's deadline has passed, or its aggregation has started";
#[error]
const ERoundNotOpen: vector<u8> = b"The round is not open yet: call open_round (it samples the round's participants)";
#[error]
const ERoundAlreadyOpen: vector<u8> = b"The round is already open (its participants are sampled)";
#[error]
const ENotSampled: vector<u8> = b"The sender is not among the round's sampled participants";
#[error]
const ESenderNotAllowed: vector<u8> = b"The sender is not on the task's allowlist";
#[error]
const EAlreadySubmitted: vector<u8> = b"The sender already has an accepted update in this round";
#[error]
const EQuorumNotReached: vector<u8> =
    b"The round is open and not every sampled participant has submitted, or it closed below its quorum";
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

/// How a task's rounds run: a round opens with `participants_per_round` participants sampled
/// from the registered ones (all of them when there are no more); it accepts their updates
/// until its deadline (`round_duration_ms` after it opened) or until every sampled participant
/// has submitted; it is then aggregated if it holds at least `quorum` updates. The task finishes
/// after `max_rounds` aggregations; `max(grace_ms, MIN_GRACE_MS)` after the deadline anyone may
/// discard a round that cannot be aggregated (below its quorum).
public struct RoundRules has copy, drop, store {
    quorum: u64,
    round_duration_ms: u64,
    max_rounds: u64,
    grace_ms: u64,
    participants_per_round: u64,
}

/// Validated round rules: 1 <= quorum <= participants_per_round <= 256, round_duration_ms >= 1,
/// max_rounds >= 1 (EInvalidRoundRules); any grace period.
public fun new_rules(
    quorum: u64,
    round_duration_ms: u64,
    max_rounds: u64,
    grace_ms: u64,
    participants_per_round: u64,
): RoundRules {
    assert!(quorum >= 1 && quorum <= participants_per_round, EInvalidRoundRules);
    assert!(participants_per_round <= MAX_UPDATES_PER_ROUND, EInvalidRoundRules);
    assert!(round_duration_ms >= 1 && max_rounds >= 1, EInvalidRoundRules);
    RoundRules { quorum, round_duration_ms, max_rounds, grace_ms, participants_per_round }
}

public fun quorum(r: &RoundRules): u64 { r.quorum }

public fun round_duration_ms(r: &RoundRules): u64 { r.round_duration_ms }

public fun max_rounds(r: &RoundRules): u64 { r.max_rounds }

public fun grace_ms(r: &RoundRules): u64 { r.grace_ms }

public fun participants_per_round(r: &RoundRules): u64 { r.participants_per_round }

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
/// round holds at least its quorum of updates. A round for which this holds can never be
/// discarded, so a discard never races a legal aggregate.
public(package) fun aggregatable_after_deadline(aggregating: bool, num_updates: u64, quorum: u64): bool {
    aggregating || num_updates >= quorum
}

/// A participant may register: ETaskFinished, then ESenderNotAllowed (a closed task, and the
/// sender is not on its allowlist).
public(package) fun check_registration(finished: bool, allowed: bool) {
    assert!(!finished, ETaskFinished);
    assert!(allowed, ESenderNotAllowed);
}

/// A round may be opened (its participants sampled): ETaskFinished, then ERoundAlreadyOpen.
public(package) fun check_open(finished: bool, round_open: bool) {
    assert!(!finished, ETaskFinished);
    assert!(!round_open, ERoundAlreadyOpen);
}

/// Preconditions of an update, in this order: ETaskFinished, ERoundNotOpen, ERoundClosed
/// (now > deadline, or the round's aggregation has started), ENotSampled, ESenderNotAllowed,
/// EAlreadySubmitted. A round takes at most one update per sampled participant, so it closes
/// when every one of them has submitted. The shell then checks the weights, the data
/// commitment and the proof.
public(package) fun check_submit(
    finished: bool,
    round_open: bool,
    now_ms: u64,
    deadline_ms: u64,
    aggregating: bool,
    sampled: bool,
    allowed: bool,
    already_submitted: bool,
) {
    assert!(!finished, ETaskFinished);
    assert!(round_open, ERoundNotOpen);
    assert!(now_ms <= deadline_ms && !aggregating, ERoundClosed);
    assert!(sampled, ENotSampled);
    assert!(allowed, ESenderNotAllowed);
    assert!(!already_submitted, EAlreadySubmitted);
}

/// An aggregation step is allowed once every sampled participant has submitted, or after the
/// deadline with at least `quorum` updates, or when the round's aggregation has started (its
/// next step): ETaskFinished, ERoundNotOpen, then EQuorumNotReached (round open, or closed
/// below its quorum) or ENoUpdates (closed, empty).
public(package) fun check_aggregate(
    finished: bool,
    round_open: bool,
    now_ms: u64,
    deadline_ms: u64,
    aggregating: bool,
    num_updates: u64,
    sample_size: u64,
    quorum: u64,
) {
    assert!(!finished, ETaskFinished);
    assert!(round_open, ERoundNotOpen);
    if (aggregating || (num_updates == sample_size && num_updates >= quorum)) return;
    assert!(now_ms > deadline_ms, EQuorumNotReached);
    assert!(num_updates > 0, ENoUpdates);
    assert!(aggregatable_after_deadline(aggregating, num_updates, quorum), EQuorumNotReached);
}

/// Anyone may discard an open round that cannot be aggregated (below its quorum, no
/// aggregation started) once now > deadline + max(grace, MIN_GRACE_MS): ETaskFinished,
/// ERoundNotOpen, ERoundHasUpdates, then EGracePeriodNotOver. The round then waits for
/// `open_round` (a new sample).
public(package) fun check_discard(
    finished: bool,
    round_open: bool,
    now_ms: u64,
    deadline_ms: u64,
    grace_ms: u64,
    aggregating: bool,
    num_updates: u64,
    quorum: u64,
) {
    assert!(!finished, ETaskFinished);
    assert!(round_open, ERoundNotOpen);
    assert!(!aggregatable_after_deadline(aggregating, num_updates, quorum), ERoundHasUpdates);
    assert!(now_ms > grace_deadline(deadline_ms, grace_ms), EGracePeriodNotOver);
}

/// The admin may restart an open round's timer only before its first update (its submitters'
/// work is never held back): ETaskFinished, ERoundNotOpen, then ERoundHasUpdates.
public(package) fun check_restart(finished: bool, round_open: bool, aggregating: bool, num_updates: u64) {
    assert!(!finished, ETaskFinished);
    assert!(round_open, ERoundNotOpen);
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
