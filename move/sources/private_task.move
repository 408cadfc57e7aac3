/// The entry points of private tasks (docs/PRIVACY.md): `set_privacy` (the admin, once,
/// before any registration, round or update), `register_private`, `submit_private_update`,
/// and their getters. A private task is a `wafl::task::Task` with the dynamic field
/// `private_state::PrivacyKey`; its rules are `wafl::privacy`'s. The plain `task::register`
/// and `task::submit_update` abort EPrivateTask on a private task.
module wafl::private_task;

use sui::clock::Clock;
use sui::coin::Coin;
use sui::sui::SUI;
use wafl::codec;
use wafl::events;
use wafl::privacy::{Self, DpParams};
use wafl::private_state::{Self, PrivateRegistration};
use wafl::task::{Task, TaskAdminCap};

/// Make the task private with these `DpParams` (checked against the spec): once,
/// before any registration, round or update. Aborts: EWrongVersion, ENotAdmin, EPrivacyLocked,
/// EInvalidPrivacy.
public fun set_privacy(
    cap: &TaskAdminCap,
    task: &mut Task,
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
    ctx: &mut TxContext,
) {
    task.assert_version();
    task.assert_admin(cap);
    privacy::check_unlocked(
        is_private(task), task.round(), task.round_open(), task.registered().length(), task.num_deposits(),
        task.num_updates(),
    );
    let p = privacy::new_params(
        records, clip_frac_bits, clip_q, clip_factor_bits, noise_sigma0, noise_tail, noise_k, sample_threshold,
        target_epsilon_milli, target_delta_pico, max_contributions,
    );
    let spec = task.spec();
    p.check_params(spec.frac_bits(), spec.feature_frac_bits(), spec.lr_frac_bits());
    private_state::set(task.uid_mut(), p, ctx);
    events::emit_privacy_set(object::id(task), &p, p.params_hash());
}

/// `register` for a private task, with the sender's data and seed commitments; its updates
/// count from `privacy::first_round` on. Aborts: EWrongVersion, EPrivateTask, EValueOutOfBounds
/// (data, then seed commitment), then those of `register`.
public fun register_private(
    task: &mut Task,
    deposit: Coin<SUI>,
    data_commitment: u256,
    seed_commitment: u256,
    ctx: &TxContext,
) {
    task.assert_version();
    privacy::check_kind(is_private(task), true);
    codec::assert_field_element(data_commitment);
    codec::assert_field_element(seed_commitment);
    let sender = ctx.sender();
    task.add_registered(deposit, sender);
    let first = privacy::first_round(task.round(), task.round_open());
    private_state::register(task.uid_mut(), sender, data_commitment, seed_commitment, first);
    events::emit_private_registered(object::id(task), sender, data_commitment, seed_commitment, first);
}

/// `submit_update` for a private task: the `data` public input is `privacy::binding` of the
/// task's parameters, the sender's registered commitments and the round's randomness. Aborts:
/// EWrongVersion, EPrivateTask, those of `submit_update` before the proof, then ENotRegistered,
/// ERegisteredAfterRandomness, EPrivacyBudgetSpent, then EInvalidProof.
public fun submit_private_update(
    task: &mut Task,
    new_weights: vector<u32>,
    proof: vector<u8>,
    clock: &Clock,
    ctx: &TxContext,
) {
    task.assert_version();
    privacy::check_kind(is_private(task), true);
    let sender = ctx.sender();
    let now = clock.timestamp_ms();
    let (new_commitment, context) = task.check_update(sender, &new_weights, 0, now);
    let data = check_private_update(task, sender);
    task.verify_proof(new_commitment, data, context, proof);
    task.accept_update(sender, new_weights, new_commitment, data, context, now);
    private_state::add_contribution(task.uid_mut(), sender);
}

/// The private checks of an update of `sender`; returns its `data` public input.
fun check_private_update(task: &Task, sender: address): u256 {
    let p = private_state::params(task.uid());
    let reg = private_state::registration(task.uid(), sender);
    let first = if (reg.is_some()) reg.borrow().first_round() else 0;
    privacy::check_private_update(
        reg.is_some(), first, task.round(), private_state::contributions(task.uid(), sender), p.max_contributions(),
    );
    let r = reg.destroy_some();
    p.binding(r.data_commitment(), r.seed_commitment(), task.randomness())
}

public fun is_private(task: &Task): bool { private_state::is_private(task.uid()) }

/// The task's privacy parameters (aborts on a non-private task: check `is_private`).
public fun privacy_params(task: &Task): DpParams { private_state::params(task.uid()) }

/// The private registration of `participant` (none if it has none; aborts on a non-private task).
public fun private_registration(task: &Task, participant: address): Option<PrivateRegistration> {
    private_state::registration(task.uid(), participant)
}

/// Accepted private updates of `participant` (kept across leave and re-register).
public fun contributions(task: &Task, participant: address): u64 {
    private_state::contributions(task.uid(), participant)
}
