/// Every event of the package (one module, as Walrus does), emitted by `wafl::task`.
module wafl::events;

use sui::event;

/// A task was created and shared.
public struct TaskCreated has copy, drop {
    task_id: ID,
    admin_cap_id: ID,
    creator: address,
    features: u64,
    classes: u64,
    num_weights: u64,
    weight_bits: u64,
    lr_q: u64,
    rule: u8,
    trim_bps: u64,
    quorum: u64,
    round_duration_ms: u64,
    max_rounds: u64,
    open: bool,
    model_commitment: u256,
    round: u64,
    deadline_ms: u64,
    timestamp_ms: u64,
}

/// A proven update was accepted for `round`.
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

/// The updates of `round` were aggregated into a new global model.
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

/// The admin restarted the timer of the current round.
public struct RoundRestarted has copy, drop {
    task_id: ID,
    round: u64,
    num_updates: u64,
    deadline_ms: u64,
    timestamp_ms: u64,
}

/// The admin changed who may submit.
public struct ParticipationChanged has copy, drop {
    task_id: ID,
    participant: address,
    allowed: bool,
    open: bool,
}

public(package) fun emit_task_created(
    task_id: ID,
    admin_cap_id: ID,
    creator: address,
    features: u64,
    classes: u64,
    num_weights: u64,
    weight_bits: u64,
    lr_q: u64,
    rule: u8,
    trim_bps: u64,
    quorum: u64,
    round_duration_ms: u64,
    max_rounds: u64,
    open: bool,
    model_commitment: u256,
    round: u64,
    deadline_ms: u64,
    timestamp_ms: u64,
) {
    event::emit(TaskCreated {
        task_id,
        admin_cap_id,
        creator,
        features,
        classes,
        num_weights,
        weight_bits,
        lr_q,
        rule,
        trim_bps,
        quorum,
        round_duration_ms,
        max_rounds,
        open,
        model_commitment,
        round,
        deadline_ms,
        timestamp_ms,
    });
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

public(package) fun emit_round_aggregated(
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
) {
    event::emit(RoundAggregated {
        task_id,
        round,
        rule,
        num_updates,
        submitters,
        previous_model_commitment,
        model_commitment,
        next_round,
        next_deadline_ms,
        triggered_by,
        timestamp_ms,
    });
}

public(package) fun emit_task_finished(
    task_id: ID,
    rounds: u64,
    model_commitment: u256,
    timestamp_ms: u64,
) {
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

public(package) fun emit_participation_changed(
    task_id: ID,
    participant: address,
    allowed: bool,
    open: bool,
) {
    event::emit(ParticipationChanged { task_id, participant, allowed, open });
}
