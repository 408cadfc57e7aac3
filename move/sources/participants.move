/// Who takes part in a task's rounds (mirrored by `wafl_sui/protocol/participants.py`):
/// registration and leaving preconditions, the pool a round is drawn from, and the round's
/// sample, drawn uniformly without replacement from the pool with the round's randomness.
/// Package-internal: `wafl::task` calls these with its fields.
///
/// Participants register for a task (open tasks: anyone, with the deposit the creator set;
/// closed tasks: addresses on the admin's allowlist). When a round opens, `task::open_round`
/// draws 32 bytes from `sui::random` (the round's randomness) and `sample` picks the round's
/// participants from the pool with them: arrival order never decides who gets a seat.
module wafl::participants;

use std::hash;
use std::bcs;
use sui::table::Table;

#[error]
const EAlreadyRegistered: vector<u8> = b"The sender is already registered for this task (or holds a deposit: leave first)";
#[error]
const ETooManyParticipants: vector<u8> = b"The task has its maximum number of registered participants";
#[error]
const EWrongDeposit: vector<u8> = b"The deposit is not the amount the task asks for";
#[error]
const ENotRegistered: vector<u8> = b"The sender is not registered for this task and holds no deposit";
#[error]
const EParticipantSampled: vector<u8> = b"The sender is sampled in the open round: it can leave once the round ends";
#[error]
const ENotEnoughParticipants: vector<u8> = b"Fewer registered participants than the round's quorum";

/// Most participants one task registers: opening a round copies the pool and, on a closed
/// task, looks each one up on the allowlist (a Sui transaction loads at most 1000 objects).
const MAX_PARTICIPANTS: u64 = 512;
/// Bytes of a round's randomness.
const RANDOMNESS_BYTES: u64 = 32;

public(package) fun max_participants(): u64 { MAX_PARTICIPANTS }

public(package) fun randomness_bytes(): u64 { RANDOMNESS_BYTES }

/// Preconditions of `register`, in this order: ETaskFinished is the shell's; then
/// ESenderNotAllowed is the caller's (closed task, not on the allowlist); here:
/// EAlreadyRegistered, ETooManyParticipants, EWrongDeposit.
public(package) fun check_register(
    already_registered: bool,
    num_registered: u64,
    deposit: u64,
    deposit_mist: u64,
) {
    assert!(!already_registered, EAlreadyRegistered);
    assert!(num_registered < MAX_PARTICIPANTS, ETooManyParticipants);
    assert!(deposit == deposit_mist, EWrongDeposit);
}

/// Preconditions of `leave`: ENotRegistered (no deposit held), then EParticipantSampled (the
/// sender is in the sample of a round that is open and not finished).
public(package) fun check_leave(holds_deposit: bool, sampled_in_open_round: bool) {
    assert!(holds_deposit, ENotRegistered);
    assert!(!sampled_in_open_round, EParticipantSampled);
}

/// A round opens only with at least `quorum` participants in its pool (ENotEnoughParticipants).
public(package) fun check_pool(pool_size: u64, quorum: u64) {
    assert!(pool_size >= quorum, ENotEnoughParticipants);
}

/// The round's sample: `min(k, n)` addresses of `pool` (n of them), drawn uniformly without
/// replacement with `seed` (a partial Fisher-Yates shuffle: step i swaps position i with
/// i + draw(seed, i, n - i)), in drawn order.
public(package) fun sample(pool: &vector<address>, k: u64, seed: &vector<u8>): vector<address> {
    let mut order = *pool;
    let n = order.length();
    let k = if (k < n) k else n;
    let mut out = vector[];
    let mut i = 0;
    while (i < k) {
        let j = i + draw(seed, i, n - i);
        if (j != i) order.swap(i, j);
        out.push_back(order[i]);
        i = i + 1;
    };
    out
}

/// A uniform index in [0, m) for step `i`: the first 16 bytes of sha3_256(seed || bcs(i)),
/// read little-endian, modulo m (bias below 2^-118 for m <= MAX_PARTICIPANTS).
public(package) fun draw(seed: &vector<u8>, i: u64, m: u64): u64 {
    let mut data = *seed;
    data.append(bcs::to_bytes(&i));
    let h = hash::sha3_256(data);
    let mut x: u128 = 0;
    let mut b = 16;
    while (b > 0) {
        b = b - 1;
        x = (x << 8) | (h[b] as u128);
    };
    ((x % (m as u128)) as u64)
}

/// The participants a round is sampled from: the registered ones (on a closed task, those
/// still on the allowlist), in registration order (`protocol.participants.pool`).
public(package) fun pool(registered: &vector<address>, open: bool, allowlist: &Table<address, bool>): vector<address> {
    if (open) return *registered;
    let mut pool = vector[];
    let mut i = 0;
    while (i < registered.length()) {
        let p = registered[i];
        if (allowlist.contains(p)) pool.push_back(p);
        i = i + 1;
    };
    pool
}
