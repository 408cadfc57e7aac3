/// The WaFL task: a shared object that holds the global model, verifies Groth16 proofs of
/// honest fixed-point training steps and aggregates the accepted updates round by round
/// (mirrored by `wafl_sui/protocol/task.py`).
///
/// This module is the object shell and the package's public API: `create_task`, `register`,
/// `leave`, `open_round` (an `entry`: it takes `sui::random::Random`), `submit_update`,
/// `aggregate`, `discard_round`, the admin calls (with the `TaskAdminCap`), `migrate` and the
/// getters. The rules live in package-internal modules: `wafl::spec` (spec, weight
/// validation), `wafl::codec` (packing, public inputs), `wafl::rules` (aggregation),
/// `wafl::round` (round preconditions), `wafl::participants` (registration, the round's
/// sample), `wafl::budget` (gas budget, chunking), `wafl::commitment` (Poseidon) and
/// `wafl::events`.
///
/// The `Task` is versioned like Walrus' and DeepBook's shared objects: every mutating call
/// checks `task.version == VERSION`; after a package upgrade bumps VERSION, the admin calls
/// `migrate` and the old package's functions stop working on the object.
module wafl::task;

use sui::balance::Balance;
use sui::clock::Clock;
use sui::coin::{Self, Coin};
use sui::groth16::{Self, PreparedVerifyingKey};
use sui::random::{Self, Random};
use sui::sui::SUI;
use sui::table::{Self, Table};
use wafl::budget;
use wafl::codec;
use wafl::commitment;
use wafl::events;
use wafl::participants;
use wafl::privacy;
use wafl::private_state;
use wafl::round::{Self, RoundRules};
use wafl::rules::{Self, AggregationRule};
use wafl::spec::StepSpec;

#[error]
const ENotAdmin: vector<u8> = b"The admin capability belongs to another task";
#[error]
const EInvalidProof: vector<u8> = b"The Groth16 proof does not verify for the contract's public inputs";
#[error]
const EInvalidVerifyingKey: vector<u8> = b"The verifying key is not for a circuit with 4 public inputs";
#[error]
const EWrongVersion: vector<u8> = b"The task object's version is not this package's (migrate it)";

/// The package version: every mutating call requires `task.version == VERSION`.
const VERSION: u64 = 1;
/// Public inputs of the step circuit: old model, new model, data, context.
const NUM_PUBLIC_INPUTS: u64 = 4;
/// A BN254 Groth16 proof, arkworks compressed: A (32) || B (64) || C (32).
const PROOF_BYTES: u64 = 128;

/// One federated-learning task (shared).
public struct Task has key {
    id: UID,
    /// Package VERSION the object is at (see `migrate`).
    version: u64,
    spec: StepSpec,
    lr_q: u64,
    round_rules: RoundRules,
    aggregation: AggregationRule,
    /// Anyone may register when true; otherwise only addresses on the allowlist.
    open: bool,
    allowlist: Table<address, bool>,
    /// The deposit (MIST) a participant locks to register; returned by `leave`.
    deposit_mist: u64,
    /// Registered participants, in registration order: the pool rounds are sampled from.
    registered: vector<address>,
    /// The deposit of each participant that registered and has not left yet.
    deposits: Table<address, Balance<SUI>>,
    /// The current round is open: its participants are sampled, its deadline runs.
    round_open: bool,
    /// The current round's sampled participants (empty until `open_round`).
    sampled: vector<address>,
    /// The 32 bytes from `sui::random` the current round's sample was drawn with.
    randomness: vector<u8>,
    /// Prepared once at creation.
    prepared_vk: PreparedVerifyingKey,
    round: u64,
    round_start_ms: u64,
    deadline_ms: u64,
    /// Offset-encoded global model, C x (D+1) row-major, bias last in each row.
    model: vector<u32>,
    model_commitment: u256,
    /// Senders of the current round's updates, in acceptance order.
    submitters: vector<address>,
    /// Median / trimmed mean: the round's updates (one dynamic field each, paid by its sender,
    /// removed by the last aggregation step or by `discard_round`).
    updates: Table<address, vector<u32>>,
    /// FedAvg: the coordinate sums of the round's updates (updated at each submit).
    sums: vector<u64>,
    /// Median / trimmed mean: the coordinates of the round aggregated so far.
    partial: vector<u32>,
    finished: bool,
    created_ms: u64,
}

/// Administers one task (allowlist, round timer, migration).
public struct TaskAdminCap has key, store {
    id: UID,
    task_id: ID,
}

/// Create and share a task; returns its admin capability (the PTB transfers it). A PTB builds
/// the arguments first with `spec::new`, `round::new_rules` and `rules::new_aggregation`.
/// Round 0 waits for `open_round` (participants register first); `deposit_mist` is what each
/// participant locks to register (0: none).
/// Aborts: EInvalidSpec (lr_q), EOverGasBudget, EWrongLength / EValueOutOfBounds (initial
/// model), EInvalidVerifyingKey (malformed or degenerate: `codec::check_verifying_key`; not for
/// 4 public inputs; `prepare_verifying_key` rejects points off the curve or the subgroup).
public fun create_task(
    spec: StepSpec,
    round_rules: RoundRules,
    aggregation: AggregationRule,
    lr_q: u64,
    open: bool,
    deposit_mist: u64,
    initial_model: vector<u32>,
    vk_bytes: vector<u8>,
    clock: &Clock,
    ctx: &mut TxContext,
): TaskAdminCap {
    spec.check_lr_q(lr_q);
    budget::check_task_budget(spec.num_weights_u256(), &aggregation, round_rules.participants_per_round());
    let packed = spec.pack_weights(&initial_model);
    assert!(codec::check_verifying_key(&vk_bytes) == NUM_PUBLIC_INPUTS, EInvalidVerifyingKey);
    let prepared_vk = groth16::prepare_verifying_key(&groth16::bn254(), &vk_bytes);
    let model_commitment = commitment::tree16(packed);
    let now = clock.timestamp_ms();
    let deadline_ms = 0;
    let sums = if (aggregation.is_fedavg()) rules::zero_sums(initial_model.length()) else vector[];
    let task = Task {
        id: object::new(ctx),
        version: VERSION,
        spec,
        lr_q,
        round_rules,
        aggregation,
        open,
        allowlist: table::new(ctx),
        deposit_mist,
        registered: vector[],
        deposits: table::new(ctx),
        round_open: false,
        sampled: vector[],
        randomness: vector[],
        prepared_vk,
        round: 0,
        round_start_ms: now,
        deadline_ms,
        model: initial_model,
        model_commitment,
        submitters: vector[],
        updates: table::new(ctx),
        sums,
        partial: vector[],
        finished: false,
        created_ms: now,
    };
    let cap = TaskAdminCap { id: object::new(ctx), task_id: object::id(&task) };
    events::emit_task_created(
        object::id(&task), object::id(&cap), ctx.sender(), VERSION, spec, round_rules, aggregation,
        lr_q, open, deposit_mist, model_commitment, deadline_ms, now,
    );
    transfer::share_object(task);
    cap
}

/// Register the sender for the task's rounds with the task's deposit (exactly `deposit_mist`;
/// a zero coin when it is 0). Open tasks: anyone; closed tasks: addresses on the allowlist.
/// Aborts: EWrongVersion, ETaskFinished, ESenderNotAllowed, EAlreadyRegistered,
/// ETooManyParticipants, EWrongDeposit.
/// On a private task: EPrivateTask (after EWrongVersion; use `register_private`).
public fun register(task: &mut Task, deposit: Coin<SUI>, ctx: &TxContext) {
    task.assert_version();
    privacy::check_kind(private_state::is_private(&task.id), false);
    task.add_registered(deposit, ctx.sender());
}

public(package) fun add_registered(task: &mut Task, deposit: Coin<SUI>, sender: address) {
    round::check_registration(task.finished, task.is_allowed(sender));
    participants::check_register(
        task.deposits.contains(sender), task.registered.length(), deposit.value(), task.deposit_mist,
    );
    let amount = deposit.value();
    task.deposits.add(sender, deposit.into_balance());
    task.registered.push_back(sender);
    events::emit_participant_registered(object::id(task), sender, amount, task.registered.length());
}

/// Leave the task and take the deposit back: any time except while sampled in the open round
/// of an unfinished task (then once that round ends). Also returns the deposit of a participant
/// the admin removed. Aborts: EWrongVersion, ENotRegistered, EParticipantSampled.
public fun leave(task: &mut Task, ctx: &mut TxContext): Coin<SUI> {
    task.assert_version();
    let sender = ctx.sender();
    let sampled_now = !task.finished && task.round_open && task.sampled.contains(&sender);
    participants::check_leave(task.deposits.contains(sender), sampled_now);
    task.unregister(sender);
    private_state::unregister(&mut task.id, sender);
    let refund = task.deposits.remove(sender);
    let amount = refund.value();
    events::emit_participant_left(object::id(task), sender, amount, task.registered.length());
    coin::from_balance(refund, ctx)
}

/// Open the current round (anyone may call): draw 32 bytes from `sui::random` (the round's
/// randomness) and sample `participants_per_round` of the registered participants (all of them
/// when there are no more; on a closed task, those still on the allowlist) uniformly without
/// replacement (`participants::sample`); the round's deadline starts now. An `entry` (not
/// `public`) function, as Sui requires of callers of `Random`. Aborts: EWrongVersion,
/// ETaskFinished, ERoundAlreadyOpen, ENotEnoughParticipants.
entry fun open_round(task: &mut Task, r: &Random, clock: &Clock, ctx: &mut TxContext) {
    let mut generator = random::new_generator(r, ctx);
    let randomness = generator.generate_bytes((participants::randomness_bytes() as u16));
    task.open_round_with(randomness, clock.timestamp_ms());
}

/// Submit a proven update for the current round. The contract builds the public inputs
/// itself: [stored model commitment, Poseidon commitment of `new_weights`, `data_commitment`,
/// context hash of (task, sender, round, lr_q)].
/// Aborts, in this order: EWrongVersion, ETaskFinished, ERoundNotOpen, ERoundClosed,
/// ENotSampled, ESenderNotAllowed, EAlreadySubmitted, EWrongLength, EValueOutOfBounds (weights, then data
/// commitment), EInvalidProof. On a private task: EPrivateTask (after EWrongVersion).
public fun submit_update(
    task: &mut Task,
    new_weights: vector<u32>,
    data_commitment: u256,
    proof: vector<u8>,
    clock: &Clock,
    ctx: &TxContext,
) {
    task.assert_version();
    privacy::check_kind(private_state::is_private(&task.id), false);
    let sender = ctx.sender();
    let now = clock.timestamp_ms();
    let (new_commitment, context) = task.check_update(sender, &new_weights, data_commitment, now);
    task.verify_proof(new_commitment, data_commitment, context, proof);
    task.accept_update(sender, new_weights, new_commitment, data_commitment, context, now);
}

/// EInvalidProof unless `proof` verifies for the public inputs the contract builds.
public(package) fun verify_proof(task: &Task, new_commitment: u256, data_commitment: u256, context: u256, proof: vector<u8>) {
    assert!(proof.length() == PROOF_BYTES, EInvalidProof);
    let inputs = codec::public_inputs(task.model_commitment, new_commitment, data_commitment, context);
    let valid = groth16::verify_groth16_proof(
        &groth16::bn254(),
        &task.prepared_vk,
        &groth16::public_proof_inputs_from_bytes(codec::public_inputs_bytes(&inputs)),
        &groth16::proof_points_from_bytes(proof),
    );
    assert!(valid, EInvalidProof);
}

/// One aggregation step (anyone may call): allowed once every sampled participant has
/// submitted, after the deadline with at least the quorum, or when the round's aggregation has
/// started. FedAvg
/// computes the new model from its running sums in one step; median and trimmed mean compute
/// the next `budget::coords_per_step` coordinates (AggregationProgressed) until the last step,
/// which stores the model, removes the updates and moves to the next round, which waits for
/// `open_round` (RoundAggregated, and TaskFinished after the last round).
/// Aborts: EWrongVersion, ETaskFinished, ERoundNotOpen, EQuorumNotReached, ENoUpdates.
public fun aggregate(task: &mut Task, clock: &Clock, ctx: &TxContext) {
    task.assert_version();
    let now = clock.timestamp_ms();
    let n = task.submitters.length();
    round::check_aggregate(
        task.finished, task.round_open, now, task.deadline_ms, task.aggregating(), n,
        task.sampled.length(), task.round_rules.quorum(),
    );
    if (task.aggregation.is_fedavg()) {
        let model = rules::fedavg_from_sums(&task.sums, n);
        task.advance(model, now, ctx.sender());
        return
    };
    let m = task.model.length();
    let start = task.partial.length();
    let step = budget::coords_per_step(m, &task.aggregation, n);
    let end = if (m - start < step) m else start + step;
    let slices = rules::update_slices(&task.updates, &task.submitters, start, end);
    task.partial.append(rules::aggregate(&slices, task.aggregation.rule(), task.aggregation.trim_bps()));
    if (end < m) {
        events::emit_aggregation_progressed(object::id(task), task.round, end, m, ctx.sender(), now);
        return
    };
    let model = task.partial;
    task.advance(model, now, ctx.sender());
}

/// Discard a failed round (anyone may call): an open round that cannot be aggregated (below
/// its quorum, no aggregation started), once now > deadline + max(grace period, 1 minute). The
/// round number stays; the round waits for `open_round` (a new sample). A round at its quorum
/// is aggregated, never discarded, so a discard never races a legal `aggregate`; the updates
/// of a round below its quorum are dropped (the storage rebate of their fields goes to the
/// caller: at most what an aggregation of as many updates would have earned). Aborts:
/// EWrongVersion, ETaskFinished, ERoundNotOpen, ERoundHasUpdates, EGracePeriodNotOver.
public fun discard_round(task: &mut Task, clock: &Clock, ctx: &TxContext) {
    task.assert_version();
    let now = clock.timestamp_ms();
    round::check_discard(
        task.finished, task.round_open, now, task.deadline_ms, task.round_rules.grace_ms(),
        task.aggregating(), task.submitters.length(), task.round_rules.quorum(),
    );
    let dropped = task.clear_round();
    task.close_sample();
    task.round_start_ms = now;
    task.deadline_ms = 0;
    events::emit_round_discarded(object::id(task), task.round, dropped, task.deadline_ms, ctx.sender(), now);
}

// === Admin ===

/// Allow `participant` to register (allowlist tasks; idempotent).
/// Aborts: EWrongVersion, ENotAdmin.
public fun add_participant(cap: &TaskAdminCap, task: &mut Task, participant: address) {
    task.assert_version();
    task.assert_admin(cap);
    if (!task.allowlist.contains(participant)) task.allowlist.add(participant, true);
    events::emit_participant_added(object::id(task), participant);
}

/// Remove `participant` from the allowlist and from the registered participants (its accepted
/// updates of this round stay; its deposit waits for its `leave`).
/// Aborts: EWrongVersion, ENotAdmin.
public fun remove_participant(cap: &TaskAdminCap, task: &mut Task, participant: address) {
    task.assert_version();
    task.assert_admin(cap);
    if (task.allowlist.contains(participant)) {
        task.allowlist.remove(participant);
    };
    task.unregister(participant);
    events::emit_participant_removed(object::id(task), participant);
}

/// Open the task to everyone (true) or restrict it to the allowlist (false).
/// Aborts: EWrongVersion, ENotAdmin.
public fun set_open(cap: &TaskAdminCap, task: &mut Task, open: bool) {
    task.assert_version();
    task.assert_admin(cap);
    task.open = open;
    events::emit_open_changed(object::id(task), open);
}

/// Restart the timer of the current open round (round start = now; same sample), e.g. after a
/// round closed with no update; only before the round's first update, so the admin cannot hold
/// a round with honest work open. Aborts: EWrongVersion, ENotAdmin, ETaskFinished,
/// ERoundNotOpen, ERoundHasUpdates.
public fun restart_round(cap: &TaskAdminCap, task: &mut Task, clock: &Clock) {
    task.assert_version();
    task.assert_admin(cap);
    round::check_restart(task.finished, task.round_open, task.aggregating(), task.submitters.length());
    let now = clock.timestamp_ms();
    task.round_start_ms = now;
    task.deadline_ms = round::deadline(now, task.round_rules.round_duration_ms());
    events::emit_round_restarted(
        object::id(task), task.round, task.submitters.length(), task.deadline_ms, now,
    );
}

/// Bring a task object of an older package version to this one (after an upgrade).
/// Aborts: ENotAdmin, EWrongVersion (the object is not older than VERSION).
public fun migrate(cap: &TaskAdminCap, task: &mut Task) {
    task.assert_admin(cap);
    assert!(task.version < VERSION, EWrongVersion);
    let from = task.version;
    task.version = VERSION;
    events::emit_task_migrated(object::id(task), from, VERSION);
}

// === Getters ===

public fun task_id(cap: &TaskAdminCap): ID { cap.task_id }

public fun version(task: &Task): u64 { task.version }

public fun spec(task: &Task): StepSpec { task.spec }

public fun lr_q(task: &Task): u64 { task.lr_q }

public fun round_rules(task: &Task): RoundRules { task.round_rules }

public fun aggregation(task: &Task): AggregationRule { task.aggregation }

public fun open(task: &Task): bool { task.open }

public fun is_allowed(task: &Task, participant: address): bool {
    task.open || task.allowlist.contains(participant)
}

public fun deposit_mist(task: &Task): u64 { task.deposit_mist }

public fun registered(task: &Task): &vector<address> { &task.registered }

public fun is_registered(task: &Task, participant: address): bool {
    task.registered.contains(&participant)
}

/// The deposit `participant` holds in the task (0 if none).
public fun deposit_of(task: &Task, participant: address): u64 {
    if (task.deposits.contains(participant)) task.deposits[participant].value() else 0
}

public fun round_open(task: &Task): bool { task.round_open }

public fun sampled(task: &Task): &vector<address> { &task.sampled }

public fun is_sampled(task: &Task, participant: address): bool { task.sampled.contains(&participant) }

public fun randomness(task: &Task): &vector<u8> { &task.randomness }

public fun prepared_vk(task: &Task): &PreparedVerifyingKey { &task.prepared_vk }

public fun round(task: &Task): u64 { task.round }

public fun round_start_ms(task: &Task): u64 { task.round_start_ms }

public fun deadline_ms(task: &Task): u64 { task.deadline_ms }

public fun model(task: &Task): &vector<u32> { &task.model }

public fun model_commitment(task: &Task): u256 { task.model_commitment }

public fun submitters(task: &Task): &vector<address> { &task.submitters }

public fun num_updates(task: &Task): u64 { task.submitters.length() }

public fun has_submitted(task: &Task, participant: address): bool {
    task.submitters.contains(&participant)
}

/// The update `participant` submitted in the current round (median / trimmed mean only;
/// aborts if there is none).
public fun update_of(task: &Task, participant: address): &vector<u32> { &task.updates[participant] }

/// FedAvg: the coordinate sums of the current round's updates.
public fun sums(task: &Task): &vector<u64> { &task.sums }

/// Median / trimmed mean: the coordinates of the current round aggregated so far.
public fun partial(task: &Task): &vector<u32> { &task.partial }

/// Coordinates of the current round aggregated so far (0 until its first robust-rule step).
public fun aggregation_done(task: &Task): u64 { task.partial.length() }

/// Coordinates a round's aggregation computes (the model's weights).
public fun aggregation_total(task: &Task): u64 { task.model.length() }

public fun finished(task: &Task): bool { task.finished }

public fun created_ms(task: &Task): u64 { task.created_ms }

/// The context hash a proof of `sender` for the current round must be bound to.
public fun current_context_hash(task: &Task, sender: address): u256 {
    commitment::context_hash(task.task_address(), sender, task.round, task.lr_q)
}

// === Internal ===

public(package) fun package_version(): u64 { VERSION }

fun task_address(task: &Task): address { object::id_address(task) }

/// The task's UID (its dynamic fields: `wafl::private_task`).
public(package) fun uid(task: &Task): &UID { &task.id }

public(package) fun uid_mut(task: &mut Task): &mut UID { &mut task.id }

public(package) fun num_deposits(task: &Task): u64 { task.deposits.length() }

fun aggregating(task: &Task): bool { !task.partial.is_empty() }

public(package) fun assert_version(task: &Task) {
    assert!(task.version == VERSION, EWrongVersion);
}

public(package) fun assert_admin(task: &Task, cap: &TaskAdminCap) {
    assert!(cap.task_id == object::id(task), ENotAdmin);
}

/// Every check of `submit_update` before the proof, in its order; returns the new model's
/// commitment (the weights are validated and packed in one pass) and the context hash.
public(package) fun check_update(
    task: &Task,
    sender: address,
    weights: &vector<u32>,
    data_commitment: u256,
    now: u64,
): (u256, u256) {
    task.assert_version();
    round::check_submit(
        task.finished,
        task.round_open,
        now,
        task.deadline_ms,
        task.aggregating(),
        task.sampled.contains(&sender),
        task.is_allowed(sender),
        task.submitters.contains(&sender),
    );
    let packed = task.spec.pack_weights(weights);
    codec::assert_field_element(data_commitment);
    let new_commitment = commitment::tree16(packed);
    let context = commitment::context_hash(task.task_address(), sender, task.round, task.lr_q);
    (new_commitment, context)
}

public(package) fun accept_update(
    task: &mut Task,
    sender: address,
    weights: vector<u32>,
    new_commitment: u256,
    data_commitment: u256,
    context: u256,
    now: u64,
) {
    if (task.aggregation.is_fedavg()) rules::add_to_sums(&mut task.sums, &weights)
    else task.updates.add(sender, weights);
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

/// Empty the round: remove its updates (robust rules) or zero its sums (FedAvg), drop any
/// partial aggregation; returns the round's submitters.
fun clear_round(task: &mut Task): vector<address> {
    let submitters = task.submitters;
    task.submitters = vector[];
    task.partial = vector[];
    if (task.aggregation.is_fedavg()) {
        task.sums = rules::zero_sums(task.model.length());
    } else {
        let mut i = 0;
        while (i < submitters.length()) {
            task.updates.remove(submitters[i]);
            i = i + 1;
        };
    };
    submitters
}

/// Open the current round with `randomness`: sample its participants and start its deadline.
fun open_round_with(task: &mut Task, randomness: vector<u8>, now: u64) {
    task.assert_version();
    round::check_open(task.finished, task.round_open);
    let pool = participants::pool(&task.registered, task.open, &task.allowlist);
    participants::check_pool(pool.length(), task.round_rules.quorum());
    let sampled = participants::sample(&pool, task.round_rules.participants_per_round(), &randomness);
    task.round_open = true;
    task.sampled = sampled;
    task.randomness = randomness;
    task.round_start_ms = now;
    task.deadline_ms = round::deadline(now, task.round_rules.round_duration_ms());
    events::emit_round_opened(
        object::id(task), task.round, task.randomness, task.sampled, pool.length(), task.deadline_ms, now,
    );
}

/// Take `participant` off the registered participants (order of the others kept).
fun unregister(task: &mut Task, participant: address) {
    let (found, i) = task.registered.index_of(&participant);
    if (found) {
        task.registered.remove(i);
    };
}

/// The round is no longer open: no sample, no randomness (the next one waits for `open_round`).
fun close_sample(task: &mut Task) {
    task.round_open = false;
    task.sampled = vector[];
    task.randomness = vector[];
}

/// Store the aggregated model and its commitment, empty the round and move to the next one,
/// which waits for `open_round` (or finish the task).
fun advance(task: &mut Task, model: vector<u32>, now: u64, sender: address) {
    let submitters = task.clear_round();
    let previous = task.model_commitment;
    let new_commitment = commitment::model_commitment(&model, (task.spec.weight_bits() as u8));
    let aggregated_round = task.round;
    let (next_round, finished) = round::next_round(aggregated_round, task.round_rules.max_rounds());
    task.model = model;
    task.model_commitment = new_commitment;
    task.round = next_round;
    task.close_sample();
    task.round_start_ms = now;
    task.deadline_ms = 0;
    task.finished = finished;
    let task_id = object::id(task);
    events::emit_round_aggregated(
        task_id,
        aggregated_round,
        task.aggregation.rule(),
        submitters,
        previous,
        new_commitment,
        next_round,
        task.deadline_ms,
        sender,
        now,
    );
    if (finished) events::emit_task_finished(task_id, next_round, new_commitment, now);
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
    let (new_commitment, context) = task.check_update(sender, &new_weights, data_commitment, now);
    task.accept_update(sender, new_weights, new_commitment, data_commitment, context, now);
}

/// Open the current round with the given randomness (unit tests: `Random` cannot be created
/// outside the system's own genesis transaction there).
#[test_only]
public fun open_round_for_testing(task: &mut Task, randomness: vector<u8>, clock: &Clock) {
    task.open_round_with(randomness, clock.timestamp_ms());
}

/// Set the object's version (unit tests of `migrate` and of EWrongVersion).
#[test_only]
public fun set_version_for_testing(task: &mut Task, version: u64) {
    task.version = version;
}

/// Set the coordinates aggregated so far (unit tests of a started chunked aggregation: a real
/// one needs more updates and weights than a unit test affords).
#[test_only]
public fun set_partial_for_testing(task: &mut Task, partial: vector<u32>) {
    task.partial = partial;
}

// === Manifest (the task's data contract) ===

#[error]
const EManifestAlreadySet: vector<u8> = b"The manifest is set once, before the task's first update";

/// Key of the dynamic field of the `Task` that holds its manifest.
public struct ManifestKey() has copy, drop, store;

/// Store the task's manifest (`wafl::manifest`): once, before the first update (round 0, no
/// update in). Aborts: EWrongVersion, ENotAdmin, EManifestAlreadySet, EManifestSize.
public fun set_manifest(cap: &TaskAdminCap, task: &mut Task, manifest: vector<u8>) {
    task.assert_version();
    task.assert_admin(cap);
    assert!(
        !sui::dynamic_field::exists_(&task.id, ManifestKey()) && task.round == 0 && task.submitters.is_empty(),
        EManifestAlreadySet,
    );
    wafl::manifest::check_size(&manifest);
    let manifest_hash = wafl::manifest::manifest_hash(&manifest);
    let size = manifest.length();
    sui::dynamic_field::add(&mut task.id, ManifestKey(), manifest);
    events::emit_manifest_set(object::id(task), manifest_hash, size);
}

/// Whether the task has a manifest.
public fun has_manifest(task: &Task): bool { sui::dynamic_field::exists_(&task.id, ManifestKey()) }

/// The task's manifest (aborts when it has none: check `has_manifest`).
public fun manifest(task: &Task): &vector<u8> { sui::dynamic_field::borrow(&task.id, ManifestKey()) }

