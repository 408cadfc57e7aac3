/// Every event of the package (one module, as Walrus does), emitted by `wafl::task`; mirrored
/// field for field by `wafl_sui/protocol/events.py`. The emit functions are package-internal.
module wafl::events;

use sui::event;
use wafl::privacy::DpParams;
use wafl::round::RoundRules;
use wafl::rules::AggregationRule;
use wafl::spec::StepSpec;

/// A task was created and shared.
public struct TaskCreated has copy, drop {
    task_id: ID,
    admin_cap_id: ID,
    creator: address,
    version: u64,
    spec: StepSpec,
    round_rules: RoundRules,
    aggregation: AggregationRule,
    lr_q: u64,
    open: bool,
    deposit_mist: u64,
    num_weights: u64,
    model_commitment: u256,
    round: u64,
    deadline_ms: u64,
    timestamp_ms: u64,
}

/// The task's admin stored the task's manifest (its data contract): `manifest_hash` is the
/// SHA3-256 of the stored bytes (big-endian), `size` their length.
public struct ManifestSet has copy, drop {
    task_id: ID,
    manifest_hash: u256,
    size: u64,
}

/// The task's admin made the task private (docs/PRIVACY.md): its `DpParams`, field for field,
/// and `params_hash` (Poseidon of the circuit's constants).
public struct PrivacySet has copy, drop {
    task_id: ID,
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
    params_hash: u256,
}

/// A participant registered for a private task with its data and seed commitments; its updates
/// count from `first_round` on.
public struct PrivateRegistered has copy, drop {
    task_id: ID,
    participant: address,
    data_commitment: u256,
    seed_commitment: u256,
    first_round: u64,
}

/// A participant registered for the task, locking `deposit` MIST; `num_registered` counts the
/// registered participants now.
public struct ParticipantRegistered has copy, drop {
    task_id: ID,
    participant: address,
    deposit: u64,
    num_registered: u64,
}

/// A participant left the task and took its `deposit` back.
public struct ParticipantLeft has copy, drop {
    task_id: ID,
    participant: address,
    deposit: u64,
    num_registered: u64,
}

/// `round` opened: `sampled` (drawn from `pool_size` registered participants with
/// `randomness`, 32 bytes from `sui::random`) may submit until `deadline_ms`.
public struct RoundOpened has copy, drop {
    task_id: ID,
    round: u64,
    randomness: vector<u8>,
    sampled: vector<address>,
    pool_size: u64,
    deadline_ms: u64,
    timestamp_ms: u64,
}

/// A proven update was accepted for `round`; `num_updates` counts the round's updates now.
public struct UpdateAccepted has copy, drop {
    task_id: ID,
    round: u64,
    sender: address,
    old_model_commitment: u256,
    new_model_commitment: u256,
    data_commitment: u256,
    context_hash: u256,
    num_updates: u64,
    timestamp_ms: u64,
}

/// An aggregation step (a chunk of coordinates) of `round` was done; the round advances on the
/// step that reaches `coords_total`.
public struct AggregationProgressed has copy, drop {
    task_id: ID,
    round: u64,
    coords_done: u64,
    coords_total: u64,
    triggered_by: address,
    timestamp_ms: u64,
}

/// The updates of `round` were aggregated into a new global model; the next round started.
public struct RoundAggregated has copy, drop {
    task_id: ID,
    round: u64,
    rule: u8,
    num_updates: u64,
    submitters: vector<address>,
    previous_model_commitment: u256,
    model_commitment: u256,
    next_round: u64,
    next_deadline_ms: u64,
    triggered_by: address,
    timestamp_ms: u64,
}

/// The task ran its last round; no more updates are accepted.
public struct TaskFinished has copy, drop {
    task_id: ID,
    rounds: u64,
    model_commitment: u256,
    timestamp_ms: u64,
}

/// The admin restarted the timer of the current round (its updates are kept).
public struct RoundRestarted has copy, drop {
    task_id: ID,
    round: u64,
    num_updates: u64,
    deadline_ms: u64,
    timestamp_ms: u64,
}

/// The round's updates (of `submitters`, below its quorum) were dropped after the grace period;
/// the same round number waits for `open_round` (a new sample; `deadline_ms` is 0).
public struct RoundDiscarded has copy, drop {
    task_id: ID,
    round: u64,
    num_updates: u64,
    submitters: vector<address>,
    deadline_ms: u64,
    triggered_by: address,
    timestamp_ms: u64,
}

/// The admin put `participant` on the allowlist.
public struct ParticipantAdded has copy, drop {
    task_id: ID,
    participant: address,
}

/// The admin took `participant` off the allowlist (its accepted updates stay).
public struct ParticipantRemoved has copy, drop {
    task_id: ID,
    participant: address,
}

/// The admin opened the task to everyone (open) or restricted it to the allowlist.
public struct OpenChanged has copy, drop {
    task_id: ID,
    open: bool,
}

/// The admin migrated the task object to this package version.
public struct TaskMigrated has copy, drop {
    task_id: ID,
    from_version: u64,
    to_version: u64,
}

public(package) fun emit_task_created(
    task_id: ID,
    admin_cap_id: ID,
    creator: address,
    version: u64,
    spec: StepSpec,
    round_rules: RoundRules,
    aggregation: AggregationRule,
    lr_q: u64,
    open: bool,
    deposit_mist: u64,
    model_commitment: u256,
    deadline_ms: u64,
    timestamp_ms: u64,
) {
    event::emit(TaskCreated {
        task_id,
        admin_cap_id,
        creator,
        version,
        spec,
        round_rules,
        aggregation,
        lr_q,
        open,
        deposit_mist,
        num_weights: spec.num_weights(),
        model_commitment,
        round: 0,
        deadline_ms,
        timestamp_ms,
    });
}

public(package) fun emit_participant_registered(
    task_id: ID,
    participant: address,
    deposit: u64,
    num_registered: u64,
) {
    event::emit(ParticipantRegistered { task_id, participant, deposit, num_registered });
}

public(package) fun emit_participant_left(task_id: ID, participant: address, deposit: u64, num_registered: u64) {
    event::emit(ParticipantLeft { task_id, participant, deposit, num_registered });
}

public(package) fun emit_round_opened(
    task_id: ID,
    round: u64,
    randomness: vector<u8>,
    sampled: vector<address>,
    pool_size: u64,
    deadline_ms: u64,
    timestamp_ms: u64,
) {
    event::emit(RoundOpened { task_id, round, randomness, sampled, pool_size, deadline_ms, timestamp_ms });
}

public(package) fun emit_update_accepted(
    task_id: ID,
    round: u64,
    sender: address,
    old_model_commitment: u256,
    new_model_commitment: u256,
    data_commitment: u256,
    context_hash: u256,
    num_updates: u64,
    timestamp_ms: u64,
) {
    event::emit(UpdateAccepted {
        task_id,
        round,
        sender,
        old_model_commitment,
        new_model_commitment,
        data_commitment,
        context_hash,
        num_updates,
        timestamp_ms,
    });
}

public(package) fun emit_aggregation_progressed(
    task_id: ID,
    round: u64,
    coords_done: u64,
    coords_total: u64,
    triggered_by: address,
    timestamp_ms: u64,
) {
    event::emit(AggregationProgressed { task_id, round, coords_done, coords_total, triggered_by, timestamp_ms });
}

public(package) fun emit_round_aggregated(
    task_id: ID,
    round: u64,
    rule: u8,
    submitters: vector<address>,
    previous_model_commitment: u256,
    model_commitment: u256,
    next_round: u64,
    next_deadline_ms: u64,
    triggered_by: address,
    timestamp_ms: u64,
) {
    event::emit(RoundAggregated {
        task_id,
        round,
        rule,
        num_updates: submitters.length(),
        submitters,
        previous_model_commitment,
        model_commitment,
        next_round,
        next_deadline_ms,
        triggered_by,
        timestamp_ms,
    });
}

public(package) fun emit_task_finished(task_id: ID, rounds: u64, model_commitment: u256, timestamp_ms: u64) {
    event::emit(TaskFinished { task_id, rounds, model_commitment, timestamp_ms });
}

public(package) fun emit_round_restarted(
    task_id: ID,
    round: u64,
    num_updates: u64,
    deadline_ms: u64,
    timestamp_ms: u64,
) {
    event::emit(RoundRestarted { task_id, round, num_updates, deadline_ms, timestamp_ms });
}

public(package) fun emit_round_discarded(
    task_id: ID,
    round: u64,
    submitters: vector<address>,
    deadline_ms: u64,
    triggered_by: address,
    timestamp_ms: u64,
) {
    event::emit(RoundDiscarded {
        task_id,
        round,
        num_updates: submitters.length(),
        submitters,
        deadline_ms,
        triggered_by,
        timestamp_ms,
    });
}

public(package) fun emit_participant_added(task_id: ID, participant: address) {
    event::emit(ParticipantAdded { task_id, participant });
}

public(package) fun emit_participant_removed(task_id: ID, participant: address) {
    event::emit(ParticipantRemoved { task_id, participant });
}

public(package) fun emit_open_changed(task_id: ID, open: bool) {
    event::emit(OpenChanged { task_id, open });
}

public(package) fun emit_task_migrated(task_id: ID, from_version: u64, to_version: u64) {
    event::emit(TaskMigrated { task_id, from_version, to_version });
}

public(package) fun emit_manifest_set(task_id: ID, manifest_hash: u256, size: u64) {
    event::emit(ManifestSet { task_id, manifest_hash, size });
}

public(package) fun emit_privacy_set(task_id: ID, p: &DpParams, params_hash: u256) {
    event::emit(PrivacySet {
        task_id,
        records: p.records(),
        clip_frac_bits: p.clip_frac_bits(),
        clip_q: p.clip_q(),
        clip_factor_bits: p.clip_factor_bits(),
        noise_sigma0: p.noise_sigma0(),
        noise_tail: p.noise_tail(),
        noise_k: p.noise_k(),
        sample_threshold: p.sample_threshold(),
        target_epsilon_milli: p.target_epsilon_milli(),
        target_delta_pico: p.target_delta_pico(),
        max_contributions: p.max_contributions(),
        params_hash,
    });
}

public(package) fun emit_private_registered(
    task_id: ID,
    participant: address,
    data_commitment: u256,
    seed_commitment: u256,
    first_round: u64,
) {
    event::emit(PrivateRegistered { task_id, participant, data_commitment, seed_commitment, first_round });
}
