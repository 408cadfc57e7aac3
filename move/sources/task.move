/// The WaFL task: a shared object that holds the global model, verifies Groth16 proofs of
/// honest fixed-point training steps and aggregates the accepted updates round by round.
///
/// This module is the object shell; the rules live in pure inner modules: `wafl::spec`
/// (spec and weight validation), `wafl::codec` (packing, public inputs), `wafl::rules`
/// (aggregation), `wafl::round` (round preconditions), `wafl::commitment` (Poseidon) and
/// `wafl::events`.
module wafl::task;

use sui::clock::Clock;
use sui::groth16::{Self, PreparedVerifyingKey};
use sui::table::{Self, Table};
use wafl::codec;
use wafl::commitment;
use wafl::events;
use wafl::round;
use wafl::rules;
use wafl::spec::{Self, StepSpec};

#[error]
const ENotAdmin: vector<u8> = b"The admin capability belongs to another task";
#[error]
const EInvalidProof: vector<u8> = b"The Groth16 proof does not verify for the contract's public inputs";
#[error]
const EInvalidVerifyingKey: vector<u8> = b"The verifying key is not for a circuit with 4 public inputs";

/// Public inputs of the step circuit: old model, new model, data, context.
const NUM_PUBLIC_INPUTS: u64 = 4;
/// A BN254 Groth16 proof, arkworks compressed: A (32) || B (64) || C (32).
const PROOF_BYTES: u64 = 128;

/// One federated-learning task (shared).
public struct Task has key {
    id: UID,
    spec: StepSpec,
    lr_q: u64,
    quorum: u64,
    round_duration_ms: u64,
    max_rounds: u64,
    rule: u8,
    trim_bps: u64,
    /// Anyone may submit when true; otherwise only addresses on the allowlist.
    open: bool,
    allowlist: Table<address, bool>,
    /// Prepared once at creation.
    vk: PreparedVerifyingKey,
    round: u64,
    round_start_ms: u64,
    deadline_ms: u64,
    /// Offset-encoded global model, C x (D+1) row-major, bias last in each row.
    model: vector<u32>,
    model_commitment: u256,
    /// Accepted updates of the current round, emptied entry by entry at aggregation.
    updates: Table<address, vector<u32>>,
    /// Senders of the current round's updates, in acceptance order.
    submitters: vector<address>,
    finished: bool,
    created_ms: u64,
}

/// Administers one task (allowlist, round timer).
public struct TaskAdminCap has key, store {
    id: UID,
    task_id: ID,
}

/// Create and share a task; returns its admin capability.
/// Aborts: EInvalidSpec (spec or lr_q), EInvalidRoundRules, EInvalidAggregationRule,
/// EWrongLength / EValueOutOfBounds (initial model), EInvalidVerifyingKey.
public fun create_task(
    features: u64,
    classes: u64,
    batch_size: u64,
    local_steps: u64,
    frac_bits: u64,
    weight_bits: u64,
    feature_frac_bits: u64,
    feature_bits: u64,
    lr_frac_bits: u64,
    lr_bits: u64,
    lr_q: u64,
    quorum: u64,
    round_duration_ms: u64,
    max_rounds: u64,
    rule: u8,
    trim_bps: u64,
    open: bool,
    initial_model: vector<u32>,
    vk_bytes: vector<u8>,
    clock: &Clock,
    ctx: &mut TxContext,
): TaskAdminCap {
    let spec = spec::new(
        features, classes, batch_size, local_steps, frac_bits, weight_bits,
        feature_frac_bits, feature_bits, lr_frac_bits, lr_bits,
    );
    spec.check_lr_q(lr_q);
    round::validate_round_rules(quorum, round_duration_ms, max_rounds);
    rules::validate_rule(rule, trim_bps);
    spec.validate_weights(&initial_model);
    assert!(codec::vk_num_public_inputs(&vk_bytes) == NUM_PUBLIC_INPUTS, EInvalidVerifyingKey);
    let vk = groth16::prepare_verifying_key(&groth16::bn254(), &vk_bytes);
    let model_commitment = commitment::model_commitment(&initial_model, (weight_bits as u8));
    let now = clock.timestamp_ms();
    let deadline_ms = round::deadline(now, round_duration_ms);
    let task = Task {
        id: object::new(ctx),
        spec,
        lr_q,
        quorum,
        round_duration_ms,
        max_rounds,
        rule,
        trim_bps,
        open,
        allowlist: table::new(ctx),
        vk,
        round: 0,
        round_start_ms: now,
        deadline_ms,
        model: initial_model,
        model_commitment,
        updates: table::new(ctx),
        submitters: vector[],
        finished: false,
        created_ms: now,
    };
    let task_id = object::id(&task);
    let cap = TaskAdminCap { id: object::new(ctx), task_id };
    events::emit_task_created(
        task_id,
        object::id(&cap),
        ctx.sender(),
        features,
        classes,
        spec.num_weights(),
        weight_bits,
        lr_q,
        rule,
        trim_bps,
        quorum,
        round_duration_ms,
        max_rounds,
        open,
        model_commitment,
        0,
        deadline_ms,
        now,
    );
    transfer::share_object(task);
    cap
}

/// Submit a proven update for the current round. The contract builds the public inputs
/// itself: [stored model commitment, Poseidon commitment of `new_weights`, `data_commitment`,
/// context hash of (task, sender, round, lr_q)].
/// Aborts, in this order: ETaskFinished, ERoundClosed, ESenderNotAllowed, EAlreadySubmitted,
/// EWrongLength, EValueOutOfBounds (weights, then data commitment), EInvalidProof.
public fun submit_update(
    task: &mut Task,
    new_weights: vector<u32>,
    data_commitment: u256,
    proof: vector<u8>,
    clock: &Clock,
    ctx: &TxContext,
) {
    let sender = ctx.sender();
    let now = clock.timestamp_ms();
    task.check_update(sender, &new_weights, data_commitment, now);
    let new_commitment = commitment::model_commitment(&new_weights, task.weight_bits_u8());
    let context = commitment::context_hash(task.task_address(), sender, task.round, task.lr_q);
    let inputs = codec::public_inputs(task.model_commitment, new_commitment, data_commitment, context);
    assert!(proof.length() == PROOF_BYTES, EInvalidProof);
    let curve = groth16::bn254();
    let valid = groth16::verify_groth16_proof(
        &curve,
        &task.vk,
        &groth16::public_proof_inputs_from_bytes(codec::public_inputs_bytes(&inputs)),
        &groth16::proof_points_from_bytes(proof),
    );
    assert!(valid, EInvalidProof);
    task.accept_update(sender, new_weights, new_commitment, data_commitment, context, now);
}

/// Aggregate the round's updates with the task's rule (anyone may call). Allowed once the
/// quorum is reached, or after the deadline with at least one update.
/// Aborts: ETaskFinished, EQuorumNotReached, ENoUpdates.
public fun aggregate(task: &mut Task, clock: &Clock, ctx: &TxContext) {
    let now = clock.timestamp_ms();
    let num_updates = task.submitters.length();
    round::check_aggregate(task.finished, now, task.deadline_ms, num_updates, task.quorum);
    let submitters = task.submitters;
    task.submitters = vector[];
    let mut updates = vector[];
    let mut i = 0;
    while (i < num_updates) {
        updates.push_back(task.updates.remove(submitters[i]));
        i = i + 1;
    };
    let new_model = rules::aggregate(&updates, task.rule, task.trim_bps);
    let previous = task.model_commitment;
    let new_commitment = commitment::model_commitment(&new_model, task.weight_bits_u8());
    let aggregated_round = task.round;
    let (next_round, finished) = round::next_round(aggregated_round, task.max_rounds);
    task.model = new_model;
    task.model_commitment = new_commitment;
    task.round = next_round;
    task.round_start_ms = now;
    task.deadline_ms = round::deadline(now, task.round_duration_ms);
    task.finished = finished;
    let task_id = object::id(task);
    events::emit_round_aggregated(
        task_id,
        aggregated_round,
        task.rule,
        num_updates,
        submitters,
        previous,
        new_commitment,
        next_round,
        task.deadline_ms,
        ctx.sender(),
        now,
    );
    if (finished) events::emit_task_finished(task_id, next_round, new_commitment, now);
}

// === Admin ===

/// Allow `participant` to submit (allowlist tasks).
public fun add_participant(cap: &TaskAdminCap, task: &mut Task, participant: address) {
    task.assert_admin(cap);
    if (!task.allowlist.contains(participant)) task.allowlist.add(participant, true);
    events::emit_participation_changed(object::id(task), participant, true, task.open);
}

/// Remove `participant` from the allowlist (its accepted updates of this round stay).
public fun remove_participant(cap: &TaskAdminCap, task: &mut Task, participant: address) {
    task.assert_admin(cap);
    if (task.allowlist.contains(participant)) {
        task.allowlist.remove(participant);
    };
    events::emit_participation_changed(object::id(task), participant, false, task.open);
}

/// Open the task to everyone (true) or restrict it to the allowlist (false).
public fun set_open(cap: &TaskAdminCap, task: &mut Task, open: bool) {
    task.assert_admin(cap);
    task.open = open;
    events::emit_participation_changed(object::id(task), @0x0, open, open);
}

/// Restart the timer of the current round (round start = now), e.g. after a round closed
/// with no update. Accepted updates of the round are kept. Aborts: ENotAdmin, ETaskFinished.
public fun restart_round(cap: &TaskAdminCap, task: &mut Task, clock: &Clock) {
    task.assert_admin(cap);
    round::check_not_finished(task.finished);
    let now = clock.timestamp_ms();
    task.round_start_ms = now;
    task.deadline_ms = round::deadline(now, task.round_duration_ms);
    events::emit_round_restarted(
        object::id(task), task.round, task.submitters.length(), task.deadline_ms, now,
    );
}

// === Getters ===

public fun task_id(cap: &TaskAdminCap): ID { cap.task_id }

public fun spec(task: &Task): StepSpec { task.spec }

public fun features(task: &Task): u64 { task.spec.features() }

public fun classes(task: &Task): u64 { task.spec.classes() }

public fun num_weights(task: &Task): u64 { task.model.length() }

public fun weight_bits(task: &Task): u64 { task.spec.weight_bits() }

public fun lr_q(task: &Task): u64 { task.lr_q }

public fun quorum(task: &Task): u64 { task.quorum }

public fun round_duration_ms(task: &Task): u64 { task.round_duration_ms }

public fun max_rounds(task: &Task): u64 { task.max_rounds }

public fun rule(task: &Task): u8 { task.rule }

public fun trim_bps(task: &Task): u64 { task.trim_bps }

public fun open(task: &Task): bool { task.open }

public fun is_allowed(task: &Task, participant: address): bool {
    task.open || task.allowlist.contains(participant)
}

public fun verifying_key(task: &Task): &PreparedVerifyingKey { &task.vk }

public fun round(task: &Task): u64 { task.round }

public fun round_start_ms(task: &Task): u64 { task.round_start_ms }

public fun deadline_ms(task: &Task): u64 { task.deadline_ms }

public fun model(task: &Task): &vector<u32> { &task.model }

public fun model_commitment(task: &Task): u256 { task.model_commitment }

public fun submitters(task: &Task): &vector<address> { &task.submitters }

public fun num_updates(task: &Task): u64 { task.submitters.length() }

public fun has_submitted(task: &Task, participant: address): bool {
    task.updates.contains(participant)
}

/// The update `participant` submitted in the current round (aborts if none).
public fun update_of(task: &Task, participant: address): &vector<u32> { &task.updates[participant] }

public fun finished(task: &Task): bool { task.finished }

public fun created_ms(task: &Task): u64 { task.created_ms }

/// The context hash a proof of `sender` for the current round must be bound to.
public fun current_context_hash(task: &Task, sender: address): u256 {
    commitment::context_hash(task.task_address(), sender, task.round, task.lr_q)
}

// === Internal ===

fun task_address(task: &Task): address { object::id_address(task) }

fun weight_bits_u8(task: &Task): u8 { (task.spec.weight_bits() as u8) }

fun assert_admin(task: &Task, cap: &TaskAdminCap) {
    assert!(cap.task_id == object::id(task), ENotAdmin);
}

/// Every check of `submit_update` before the proof, in its order.
fun check_update(task: &Task, sender: address, weights: &vector<u32>, data_commitment: u256, now: u64) {
    round::check_submit(
        task.finished,
        now,
        task.deadline_ms,
        task.submitters.length(),
        task.is_allowed(sender),
        task.updates.contains(sender),
    );
    task.spec.validate_weights(weights);
    codec::assert_field_element(data_commitment);
}

fun accept_update(
    task: &mut Task,
    sender: address,
    weights: vector<u32>,
    new_commitment: u256,
    data_commitment: u256,
    context: u256,
    now: u64,
) {
    task.updates.add(sender, weights);
    task.submitters.push_back(sender);
    events::emit_update_accepted(
        object::id(task),
        task.round,
        sender,
        task.model_commitment,
        new_commitment,
        data_commitment,
        context,
        task.submitters.length(),
        now,
    );
}

// === Test-only ===

/// Accept an update with every check of `submit_update` except the proof (unit tests only).
#[test_only]
public fun submit_update_for_testing(
    task: &mut Task,
    new_weights: vector<u32>,
    data_commitment: u256,
    clock: &Clock,
    ctx: &TxContext,
) {
    let sender = ctx.sender();
    let now = clock.timestamp_ms();
    task.check_update(sender, &new_weights, data_commitment, now);
    let new_commitment = commitment::model_commitment(&new_weights, task.weight_bits_u8());
    let context = commitment::context_hash(task.task_address(), sender, task.round, task.lr_q);
    task.accept_update(sender, new_weights, new_commitment, data_commitment, context, now);
}
