/// Private tasks (twin of `wafl_sui/protocol/privacy.py`; docs/PRIVACY.md is the definition):
/// the differential-privacy parameters a task fixes, the `data` public input that binds a
/// private update's proof to them, to the client's registered commitments and to the round's
/// randomness, and the rules the task enforces. The packing of values into field elements
/// (`params_preimage`, `binding_preimage`) is kept apart from the hash calls
/// (`commitment::poseidon`), so it can be run where `sui::poseidon` cannot. The task's storage
/// of a private task (its dynamic field) is `wafl::private_state`. Package-internal rules; the
/// `DpParams` getters are public.
module wafl::privacy;

use wafl::commitment;

#[error]
const EInvalidPrivacy: vector<u8> = b"A privacy parameter the circuit or the accountant cannot serve";
#[error]
const EPrivacyLocked: vector<u8> = b"Privacy is set once, before any registration, round or update";
#[error]
const EPrivateTask: vector<u8> = b"A plain call on a private task, or a private call on a non-private task";
#[error]
const ENotRegistered: vector<u8> = b"The sender has no private registration for this task";
#[error]
const ERegisteredAfterRandomness: vector<u8> = b"The sender registered after this round's randomness was drawn";
#[error]
const EPrivacyBudgetSpent: vector<u8> = b"The sender's accepted updates reached the task's max_contributions";

/// int.from_bytes(b"wafl.dp.params.v1", "big")
const DP_PARAMS_DOMAIN: u256 = 40623068587638201334243769670950282229297;
/// int.from_bytes(b"wafl.dp.bind.v1", "big")
const DP_BIND_DOMAIN: u256 = 619858834650241109222199868649272881;
const MAX_RECORDS: u64 = 4096;
const MAX_NOISE_TAIL: u64 = 1024;
const MAX_CLIP_FACTOR_BITS: u64 = 16;
const U32_LIMIT: u64 = 4294967296;
/// Bytes of each randomness limb (the round's 32 bytes are read as two big-endian u128).
const LIMB_BYTES: u64 = 16;

/// A private task's parameters (`protocol.privacy.DpParams`: same fields, same order). The
/// first eight are constants of the circuit (hashed by `params_hash`); the last three are the
/// per-client budget.
public struct DpParams has copy, drop, store {
    records: u64,
    clip_frac_bits: u64,
    clip_q: u64,
    clip_factor_bits: u64,
    noise_sigma0: u64,
    noise_tail: u64,
    noise_k: u64,
    sample_threshold: u64,
    target_epsilon_milli: u64,
    target_delta_pico: u64,
    max_contributions: u64,
}

/// The parameters, unchecked (`check_params` checks them against a task's spec).
public(package) fun new_params(
    records: u64,
    clip_frac_bits: u64,
    clip_q: u64,
    clip_factor_bits: u64,
    noise_sigma0: u64,
    noise_tail: u64,
    noise_k: u64,
    sample_threshold: u64,
    target_epsilon_milli: u64,
    target_delta_pico: u64,
    max_contributions: u64,
): DpParams {
    DpParams {
        records, clip_frac_bits, clip_q, clip_factor_bits, noise_sigma0, noise_tail, noise_k, sample_threshold,
        target_epsilon_milli, target_delta_pico, max_contributions,
    }
}

/// EInvalidPrivacy unless the circuit and the accountant can serve `p` for a spec of
/// K = `frac_bits`, KX = `feature_frac_bits`, S = `lr_frac_bits` (`protocol.privacy.check_params`;
/// the budget fields are u64, hence >= 0).
public(package) fun check_params(p: &DpParams, frac_bits: u64, feature_frac_bits: u64, lr_frac_bits: u64) {
    assert!(p.records >= 1 && p.records <= MAX_RECORDS, EInvalidPrivacy);
    assert!(p.clip_frac_bits <= frac_bits, EInvalidPrivacy);
    assert!(p.clip_frac_bits + feature_frac_bits + lr_frac_bits >= frac_bits, EInvalidPrivacy);
    assert!(p.clip_q >= 1 && p.clip_q < U32_LIMIT, EInvalidPrivacy);
    assert!(p.clip_factor_bits >= 1 && p.clip_factor_bits <= MAX_CLIP_FACTOR_BITS, EInvalidPrivacy);
    assert!(1 <= p.noise_sigma0 && p.noise_sigma0 <= p.noise_tail && p.noise_tail <= MAX_NOISE_TAIL, EInvalidPrivacy);
    assert!(p.noise_k >= 1 && p.noise_k < U32_LIMIT, EInvalidPrivacy);
    assert!(p.sample_threshold >= 1, EInvalidPrivacy);
}

/// [DP_PARAMS_DOMAIN, records, clip_frac_bits, clip_q, clip_factor_bits, noise_sigma0,
/// noise_tail, noise_k, sample_threshold]: what `params_hash` hashes.
public(package) fun params_preimage(p: &DpParams): vector<u256> {
    vector[
        DP_PARAMS_DOMAIN, p.records as u256, p.clip_frac_bits as u256, p.clip_q as u256,
        p.clip_factor_bits as u256, p.noise_sigma0 as u256, p.noise_tail as u256, p.noise_k as u256,
        p.sample_threshold as u256,
    ]
}

/// Poseidon of the circuit's constants (`protocol.privacy.params_hash`).
public(package) fun params_hash(p: &DpParams): u256 { commitment::poseidon(&params_preimage(p)) }

/// The round's 32 randomness bytes as two big-endian 128-bit integers (hi, lo).
public(package) fun randomness_limbs(randomness: &vector<u8>): (u256, u256) {
    let (mut hi, mut lo) = (0u256, 0u256);
    let mut i = 0;
    while (i < LIMB_BYTES) {
        hi = (hi << 8) | (randomness[i] as u256);
        lo = (lo << 8) | (randomness[i + LIMB_BYTES] as u256);
        i = i + 1;
    };
    (hi, lo)
}

/// [DP_BIND_DOMAIN, params_hash, data_commitment, seed_commitment, rand_hi, rand_lo].
public(package) fun binding_preimage(
    params_hash: u256,
    data_commitment: u256,
    seed_commitment: u256,
    randomness: &vector<u8>,
): vector<u256> {
    let (hi, lo) = randomness_limbs(randomness);
    vector[DP_BIND_DOMAIN, params_hash, data_commitment, seed_commitment, hi, lo]
}

/// The `data` public input of a private update (`protocol.privacy.binding`).
public(package) fun binding(p: &DpParams, data_commitment: u256, seed_commitment: u256, randomness: &vector<u8>): u256 {
    commitment::poseidon(&binding_preimage(params_hash(p), data_commitment, seed_commitment, randomness))
}

/// The first round whose randomness is drawn after a registration made now.
public(package) fun first_round(round: u64, round_open: bool): u64 { if (round_open) round + 1 else round }

/// EPrivateTask unless the task's kind is the call's (`is_private == private_call`).
public(package) fun check_kind(is_private: bool, private_call: bool) {
    assert!(is_private == private_call, EPrivateTask);
}

/// EPrivacyLocked unless privacy can still be set: not set yet, round 0 not open, no one
/// registered or holding a deposit, no update in.
public(package) fun check_unlocked(is_private: bool, round: u64, round_open: bool, num_registered: u64, num_deposits: u64, num_updates: u64) {
    assert!(
        !is_private && round == 0 && !round_open && num_registered == 0 && num_deposits == 0 && num_updates == 0,
        EPrivacyLocked,
    );
}

/// Preconditions of a private update, in this order: ENotRegistered (no private
/// registration), ERegisteredAfterRandomness (registered after round `round`'s randomness),
/// EPrivacyBudgetSpent (`contributions` reached `max_contributions`).
public(package) fun check_private_update(registered: bool, first_round: u64, round: u64, contributions: u64, max_contributions: u64) {
    assert!(registered, ENotRegistered);
    assert!(first_round <= round, ERegisteredAfterRandomness);
    assert!(contributions < max_contributions, EPrivacyBudgetSpent);
}

public(package) fun max_records(): u64 { MAX_RECORDS }

public(package) fun max_noise_tail(): u64 { MAX_NOISE_TAIL }

public(package) fun max_clip_factor_bits(): u64 { MAX_CLIP_FACTOR_BITS }

public(package) fun domains(): vector<u256> { vector[DP_PARAMS_DOMAIN, DP_BIND_DOMAIN] }

// === DpParams getters ===

public fun records(p: &DpParams): u64 { p.records }

public fun clip_frac_bits(p: &DpParams): u64 { p.clip_frac_bits }

public fun clip_q(p: &DpParams): u64 { p.clip_q }

public fun clip_factor_bits(p: &DpParams): u64 { p.clip_factor_bits }

public fun noise_sigma0(p: &DpParams): u64 { p.noise_sigma0 }

public fun noise_tail(p: &DpParams): u64 { p.noise_tail }

public fun noise_k(p: &DpParams): u64 { p.noise_k }

public fun sample_threshold(p: &DpParams): u64 { p.sample_threshold }

public fun target_epsilon_milli(p: &DpParams): u64 { p.target_epsilon_milli }

public fun target_delta_pico(p: &DpParams): u64 { p.target_delta_pico }

public fun max_contributions(p: &DpParams): u64 { p.max_contributions }
