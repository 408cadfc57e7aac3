/// The round rules of a task as pure functions of its state (mirrored by
/// `wafl_sui/protocol/round.py`): task options, submit and aggregate preconditions in the order
/// the shell checks them, deadlines and round advance.
module wafl::round;

#[error]
const EInvalidRoundRules: vector<u8> = b"quorum must be in 1..256, round duration and max_rounds >= 1";
#[error]
const ETaskFinished: vector<u8> = b"The task has finished its last round";
#[error]
const ERoundClosed: vector<u8> = b"The round's deadline has passed, or the round is full";
#[error]
const ESenderNotAllowed: vector<u8> = b"The sender is not on the task's allowlist";
#[error]
const EAlreadySubmitted: vector<u8> = b"The sender already has an accepted update in this round";
#[error]
const EQuorumNotReached: vector<u8> = b"The quorum is not reached and the round is still open";
#[error]
const ENoUpdates: vector<u8> = b"The round closed without any update";

const MAX_U64: u64 = 0xffffffffffffffff;
/// Most updates one round accepts: aggregation reads and deletes one dynamic field per update
/// in one transaction (Sui caps the objects a transaction may load at 1000); a full round is
/// closed.
const MAX_UPDATES_PER_ROUND: u64 = 256;

public fun max_updates_per_round(): u64 { MAX_UPDATES_PER_ROUND }

/// 1 <= quorum <= MAX_UPDATES_PER_ROUND, round_duration_ms >= 1, max_rounds >= 1 (EInvalidRoundRules).
public fun validate_round_rules(quorum: u64, round_duration_ms: u64, max_rounds: u64) {
    assert!(quorum >= 1 && quorum <= MAX_UPDATES_PER_ROUND, EInvalidRoundRules);
    assert!(round_duration_ms >= 1 && max_rounds >= 1, EInvalidRoundRules);
}

/// Deadline of a round that starts at `start_ms` (saturating at u64::MAX). A round accepts
/// updates while now <= deadline.
public fun deadline(start_ms: u64, round_duration_ms: u64): u64 {
    if (round_duration_ms > MAX_U64 - start_ms) MAX_U64 else start_ms + round_duration_ms
}

/// Preconditions of an update, in this order: ETaskFinished, ERoundClosed (now > deadline, or
/// the round already holds MAX_UPDATES_PER_ROUND updates), ESenderNotAllowed,
/// EAlreadySubmitted. The shell then checks the weights, the data commitment and the proof.
public fun check_submit(
    finished: bool,
    now_ms: u64,
    deadline_ms: u64,
    num_updates: u64,
    allowed: bool,
    already_submitted: bool,
) {
    assert!(!finished, ETaskFinished);
    assert!(now_ms <= deadline_ms && num_updates < MAX_UPDATES_PER_ROUND, ERoundClosed);
    assert!(allowed, ESenderNotAllowed);
    assert!(!already_submitted, EAlreadySubmitted);
}

/// Aggregation is allowed once the quorum is reached, or after the deadline with at least
/// one update: ETaskFinished, then EQuorumNotReached (round open) or ENoUpdates (closed, empty).
public fun check_aggregate(
    finished: bool,
    now_ms: u64,
    deadline_ms: u64,
    num_updates: u64,
    quorum: u64,
) {
    assert!(!finished, ETaskFinished);
    if (num_updates >= quorum) return;
    assert!(now_ms > deadline_ms, EQuorumNotReached);
    assert!(num_updates > 0, ENoUpdates);
}

/// The round after `round` and whether the task is finished then (rounds are numbered from
/// 0; after max_rounds aggregations the task is finished).
public fun next_round(round: u64, max_rounds: u64): (u64, bool) {
    let next = round + 1;
    (next, next >= max_rounds)
}

/// ETaskFinished when the task is finished.
public fun check_not_finished(finished: bool) {
    assert!(!finished, ETaskFinished);
}
