/// Unit tests of the task shell with test_scenario (run with `sui move test`). Rounds open with
/// `open_round_for_testing` (fixed randomness: `Random` exists only after genesis). Here proof
/// verification is exercised on its rejection path; accepted updates go through
/// `submit_update_for_testing`, which runs every check of `submit_update` except the proof.
/// Real proofs, accepted and rejected, are in proof_fixture_tests.move (generated).
#[test_only]
module wafl::task_tests;

use sui::clock::{Self, Clock};
use sui::coin;
use sui::sui::SUI;
use sui::test_scenario::{Self as ts, Scenario};
use wafl::round;
use wafl::rules;
use wafl::spec::{Self, StepSpec};
use wafl::task::{Self, Task, TaskAdminCap};

const ADMIN: address = @0xAD;
const ALICE: address = @0xA11CE;
const BOB: address = @0xB0B;
const CAROL: address = @0xCA201;
const START_MS: u64 = 5_000;
const DURATION_MS: u64 = 1_000;
const GRACE_MS: u64 = 500;
const DATA: u256 = 7;
/// Every round samples this many of the registered participants.
const PER_ROUND: u64 = 4;
/// round::MIN_GRACE_MS: no round is discarded sooner after its deadline.
const MIN_GRACE_MS: u64 = 60_000;
const SEED: vector<u8> = x"0101010101010101010101010101010101010101010101010101010101010101";

/// Development verifying key for 4 public inputs (tools/move/make_dev_vk.py): valid points,
/// known trapdoor. Never use it for a real task.
const DEV_VK: vector<u8> = x"ef493dfc801fb7a82cc12ae97f478224b8cdee518680a89d1809b037557014aaf705a9721515cd6427fbe51db944623124d1ebfa35960475dca9cca7f366ad23d1979052ae0a83ab2e6dbb27d4373cee4c09cc8a583911f5568c8a69f0da9e8098801fb4c199e216ff498f8d55b50280b7cbdc9d73297b6719311db667a3510c2c9c49ae4e16a4f1bf33b959327a1d70bc15b2b54b508bed473bffa5bb7170224d4075bff6893dc7c440b0199c7a10730ccb152a13ada40b3dc73bb79abacb154ec5e9a54fca6bc048247603f06fe6c0661431414837744159c6185fe37b40a50500000000000000f111b8290c6270c9d481efb9cfd214d36a77f21ff84ce8c1de71e90e0f26289e7d0af0ddc7b0628555559bb154c45c0c42767120d374d715ef1a2eeac1ff05163c85adbd93a07e673bfdbfa2a4581f6476a952a179e3bfcbf4a6771225fab49463d0459e9d9cb4edd10e6492383acb3ef24cf102e15a105fbead4b6da553f224b38965a7b4a5cff07d66cc3435b79241ac13982646c744c575f47e2a75585623";
/// Well-formed proof points that verify for no input the contract builds.
const BAD_PROOF: vector<u8> = x"f0ab15199655d3f279e6b81547d8159315bdb6b1bc3202f43fea6bc59abf6987d81064a090837013919a8aaef85ddbf5ea4839603c77e5f4132d303b429c532ea1b228e410e57106d55937afc57ab5572416e1de08121c9dd95fb561f5cc098a78e0ffab866b3a9876bd01b8ecc66fcb86936277f425539a758dbbd32e2b0717";

// === helpers ===

fun start(): (Scenario, Clock) {
    let mut sc = ts::begin(ADMIN);
    let mut clock = clock::create_for_testing(sc.ctx());
    clock.set_for_testing(START_MS);
    (sc, clock)
}

/// A 2-class, 2-feature spec (6 weights of 8 bits).
fun small_spec(): StepSpec { spec::new(2, 2, 2, 1, 4, 8, 4, 6, 8, 8) }

/// A task of the small spec, initial model all 128 (= 0.0), created and shared by ADMIN; no
/// one registered, round 0 waiting for `open_round`.
fun create_only(
    sc: &mut Scenario, clock: &Clock, quorum: u64, max_rounds: u64, rule: u8, trim_bps: u64, open: bool,
    per_round: u64,
) {
    sc.next_tx(ADMIN);
    let cap = task::create_task(
        small_spec(),
        round::new_rules(quorum, DURATION_MS, max_rounds, GRACE_MS, per_round),
        rules::new_aggregation(rule, trim_bps),
        16, // lr_q
        open,
        0, // deposit_mist
        vector[128, 128, 128, 128, 128, 128],
        DEV_VK,
        clock,
        sc.ctx(),
    );
    transfer::public_transfer(cap, ADMIN);
}

/// `create_only` with PER_ROUND; on an open task ALICE, BOB, CAROL and ADMIN register and
/// round 0 opens (all four sampled); a closed task waits for its allowlist.
fun create(sc: &mut Scenario, clock: &Clock, quorum: u64, max_rounds: u64, rule: u8, trim_bps: u64, open: bool) {
    create_only(sc, clock, quorum, max_rounds, rule, trim_bps, open, PER_ROUND);
    if (open) {
        register(sc, ALICE);
        register(sc, BOB);
        register(sc, CAROL);
        register(sc, ADMIN);
        open_round(sc, clock);
    }
}

fun register(sc: &mut Scenario, who: address) {
    sc.next_tx(who);
    let mut t = sc.take_shared<Task>();
    t.register(coin::zero<SUI>(sc.ctx()), sc.ctx());
    ts::return_shared(t);
}

fun open_round(sc: &mut Scenario, clock: &Clock) {
    sc.next_tx(ADMIN);
    let mut t = sc.take_shared<Task>();
    t.open_round_for_testing(SEED, clock);
    ts::return_shared(t);
}

/// create_task with the small spec and FedAvg, and these lr_q / model / key.
fun create_with(sc: &mut Scenario, clock: &Clock, lr_q: u64, model: vector<u32>, vk: vector<u8>) {
    let cap = task::create_task(
        small_spec(), round::new_rules(1, DURATION_MS, 1, 0, 1), rules::new_aggregation(0, 0), lr_q, true, 0,
        model, vk, clock, sc.ctx(),
    );
    transfer::public_transfer(cap, ADMIN);
}

fun submit(sc: &mut Scenario, clock: &Clock, who: address, weights: vector<u32>) {
    sc.next_tx(who);
    let mut t = sc.take_shared<Task>();
    t.submit_update_for_testing(weights, DATA, clock, sc.ctx());
    ts::return_shared(t);
}

fun aggregate(sc: &mut Scenario, clock: &Clock, who: address) {
    sc.next_tx(who);
    let mut t = sc.take_shared<Task>();
    t.aggregate(clock, sc.ctx());
    ts::return_shared(t);
}

fun discard(sc: &mut Scenario, clock: &Clock, who: address) {
    sc.next_tx(who);
    let mut t = sc.take_shared<Task>();
    t.discard_round(clock, sc.ctx());
    ts::return_shared(t);
}

/// Begin an admin transaction: the shared task and ADMIN's cap.
fun admin_begin(sc: &mut Scenario): (Task, TaskAdminCap) {
    sc.next_tx(ADMIN);
    (sc.take_shared<Task>(), sc.take_from_sender<TaskAdminCap>())
}

fun admin_end(sc: &Scenario, t: Task, cap: TaskAdminCap) {
    ts::return_shared(t);
    sc.return_to_sender(cap);
}

fun set_version(sc: &mut Scenario, version: u64) {
    sc.next_tx(ADMIN);
    let mut t = sc.take_shared<Task>();
    t.set_version_for_testing(version);
    ts::return_shared(t);
}

fun finish(sc: Scenario, clock: Clock) {
    clock.destroy_for_testing();
    sc.end();
}

fun w(a: u32, b: u32): vector<u32> { vector[a, b, a, b, a, b] }

// === creation and getters ===

#[test]
fun create_shares_task_and_gives_cap() {
    let (mut sc, clock) = start();
    create_only(&mut sc, &clock, 2, 3, 0, 0, true, PER_ROUND);
    let effects = sc.next_tx(ADMIN);
    assert!(effects.num_user_events() == 1); // TaskCreated
    let t = sc.take_shared<Task>();
    let cap = sc.take_from_sender<TaskAdminCap>();
    assert!(cap.task_id() == object::id(&t));
    assert!(t.version() == 1);
    assert!(t.round() == 0);
    assert!(t.round_start_ms() == START_MS);
    assert!(t.deadline_ms() == 0 && !t.round_open() && t.sampled().is_empty()); // waits for open_round
    assert!(t.registered().is_empty() && t.deposit_mist() == 0);
    assert!(t.spec() == small_spec() && t.spec().num_weights() == 6);
    assert!(t.spec().features() == 2 && t.spec().classes() == 2 && t.spec().weight_bits() == 8);
    assert!(t.lr_q() == 16);
    let rr = t.round_rules();
    assert!(rr.quorum() == 2 && rr.round_duration_ms() == DURATION_MS && rr.max_rounds() == 3 && rr.grace_ms() == GRACE_MS);
    assert!(rr.participants_per_round() == PER_ROUND);
    assert!(t.aggregation().rule() == 0 && t.aggregation().trim_bps() == 0 && t.open());
    assert!(*t.model() == vector[128, 128, 128, 128, 128, 128]);
    assert!(t.model_commitment() != 0);
    assert!(*t.sums() == vector[0, 0, 0, 0, 0, 0] && t.partial().is_empty()); // FedAvg: running sums
    assert!(t.aggregation_done() == 0 && t.aggregation_total() == 6);
    assert!(t.num_updates() == 0 && !t.finished() && t.created_ms() == START_MS);
    assert!(t.is_allowed(ALICE));
    ts::return_shared(t);
    sc.return_to_sender(cap);
    finish(sc, clock);
}

#[test]
fun robust_rule_keeps_updates_not_sums() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 1, 0, true);
    submit(&mut sc, &clock, ALICE, w(3, 4));
    sc.next_tx(ALICE);
    let t = sc.take_shared<Task>();
    assert!(t.sums().is_empty() && *t.update_of(ALICE) == w(3, 4));
    ts::return_shared(t);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::spec::EInvalidSpec)]
fun spec_rejects_one_class() {
    spec::new(2, 1, 2, 1, 4, 8, 4, 6, 8, 8);
}

#[test, expected_failure(abort_code = wafl::spec::EInvalidSpec)]
fun create_rejects_lr_q_out_of_range() {
    let (mut sc, clock) = start();
    create_with(&mut sc, &clock, 256, w(128, 128), DEV_VK);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::EInvalidRoundRules)]
fun round_rules_reject_zero_quorum() {
    round::new_rules(0, DURATION_MS, 1, 0, 1);
}

#[test, expected_failure(abort_code = wafl::round::EInvalidRoundRules)]
fun round_rules_reject_a_quorum_over_256() {
    round::new_rules(257, DURATION_MS, 1, 0, 257);
}

#[test, expected_failure(abort_code = wafl::round::EInvalidRoundRules)]
fun round_rules_reject_a_quorum_over_the_sample() {
    round::new_rules(3, DURATION_MS, 1, 0, 2);
}

#[test, expected_failure(abort_code = wafl::rules::EInvalidAggregationRule)]
fun aggregation_rejects_unknown_rule() {
    rules::new_aggregation(3, 0);
}

#[test, expected_failure(abort_code = wafl::rules::EInvalidAggregationRule)]
fun aggregation_rejects_trim_half() {
    rules::new_aggregation(2, 5000);
}

#[test, expected_failure(abort_code = wafl::budget::EOverGasBudget)]
fun create_rejects_a_round_over_the_gas_budget() {
    let (mut sc, clock) = start();
    // 50,000 weights, median of 256 updates: one coordinate per step would not fit. The budget
    // is checked before the model, so no model is needed.
    let cap = task::create_task(
        spec::new(4999, 10, 2, 1, 4, 8, 4, 6, 8, 8), round::new_rules(256, DURATION_MS, 1, 0, 256),
        rules::new_aggregation(1, 0), 16, true, 0, vector[], DEV_VK, &clock, sc.ctx(),
    );
    transfer::public_transfer(cap, ADMIN);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::spec::EWrongLength)]
fun create_rejects_wrong_model_length() {
    let (mut sc, clock) = start();
    create_with(&mut sc, &clock, 16, vector[128], DEV_VK);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::codec::EValueOutOfBounds)]
fun create_rejects_model_value_out_of_bounds() {
    let (mut sc, clock) = start();
    create_with(&mut sc, &clock, 16, w(128, 256), DEV_VK);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::task::EInvalidVerifyingKey)]
fun create_rejects_vk_for_other_circuit() {
    let (mut sc, clock) = start();
    // the same key with its last IC point dropped: 3 public inputs
    let mut vk = DEV_VK;
    let mut i = 0u64;
    while (i < 32) {
        vk.pop_back();
        i = i + 1;
    };
    *(&mut vk[224]) = 4; // IC count 4
    create_with(&mut sc, &clock, 16, w(128, 128), vk);
    finish(sc, clock);
}

// === rounds: submit and aggregate ===

#[test]
fun fedavg_round_trip_and_finish() {
    let (mut sc, mut clock) = start();
    create(&mut sc, &clock, 2, 2, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(100, 200));
    submit(&mut sc, &clock, BOB, w(101, 255));
    sc.next_tx(CAROL);
    {
        let t = sc.take_shared<Task>();
        assert!(t.num_updates() == 2);
        assert!(*t.submitters() == vector[ALICE, BOB]);
        assert!(t.has_submitted(ALICE) && !t.has_submitted(CAROL));
        assert!(*t.sums() == vector[201, 455, 201, 455, 201, 455]); // updated at each submit
        ts::return_shared(t);
    };
    clock.increment_for_testing(DURATION_MS + 10); // 2 of the 4 sampled: the quorum, after the deadline
    aggregate(&mut sc, &clock, CAROL);
    let effects = sc.next_tx(CAROL);
    assert!(effects.num_user_events() == 1); // RoundAggregated
    {
        let t = sc.take_shared<Task>();
        assert!(*t.model() == w(100, 227)); // floor((100+101)/2), floor((200+255)/2)
        assert!(t.round() == 1);
        assert!(t.round_start_ms() == START_MS + DURATION_MS + 10);
        assert!(t.deadline_ms() == 0 && !t.round_open() && t.sampled().is_empty()); // waits for open_round
        assert!(t.num_updates() == 0 && !t.has_submitted(ALICE));
        assert!(*t.sums() == vector[0, 0, 0, 0, 0, 0]);
        assert!(!t.finished());
        ts::return_shared(t);
    };
    // round 1: a new sample; the same senders may submit again
    open_round(&mut sc, &clock);
    sc.next_tx(ALICE);
    {
        let t = sc.take_shared<Task>();
        assert!(t.deadline_ms() == START_MS + 2 * DURATION_MS + 10 && t.sampled().length() == PER_ROUND);
        ts::return_shared(t);
    };
    submit(&mut sc, &clock, ALICE, w(0, 0));
    submit(&mut sc, &clock, BOB, w(1, 1));
    clock.increment_for_testing(DURATION_MS + 1);
    aggregate(&mut sc, &clock, ALICE);
    let effects = sc.next_tx(ALICE);
    assert!(effects.num_user_events() == 2); // RoundAggregated + TaskFinished
    {
        let t = sc.take_shared<Task>();
        assert!(*t.model() == w(0, 0));
        assert!(t.round() == 2 && t.finished());
        ts::return_shared(t);
    };
    finish(sc, clock);
}

#[test]
fun median_round() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 4, 1, 1, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 10));
    submit(&mut sc, &clock, BOB, w(2, 20));
    submit(&mut sc, &clock, CAROL, w(3, 30));
    submit(&mut sc, &clock, ADMIN, w(250, 31));
    aggregate(&mut sc, &clock, ADMIN);
    sc.next_tx(ADMIN);
    let t = sc.take_shared<Task>();
    assert!(*t.model() == w(2, 25)); // floor((2+3)/2), floor((20+30)/2)
    assert!(t.finished() && t.num_updates() == 0);
    ts::return_shared(t);
    finish(sc, clock);
}

#[test]
fun trimmed_mean_round() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 4, 1, 2, 2500, true); // drop 1 lowest and 1 highest of 4
    submit(&mut sc, &clock, ALICE, w(1, 10));
    submit(&mut sc, &clock, BOB, w(2, 20));
    submit(&mut sc, &clock, CAROL, w(4, 30));
    submit(&mut sc, &clock, ADMIN, w(250, 31));
    aggregate(&mut sc, &clock, ADMIN);
    sc.next_tx(ADMIN);
    let t = sc.take_shared<Task>();
    assert!(*t.model() == w(3, 25));
    ts::return_shared(t);
    finish(sc, clock);
}

#[test]
fun a_started_aggregation_finishes_the_remaining_coordinates() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 3, 2, 1, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 10));
    submit(&mut sc, &clock, BOB, w(2, 20));
    submit(&mut sc, &clock, CAROL, w(3, 30));
    sc.next_tx(ADMIN);
    {
        let mut t = sc.take_shared<Task>();
        t.set_partial_for_testing(vector[9, 9, 9, 9, 9]); // 5 of 6 coordinates done
        assert!(t.aggregation_done() == 5);
        ts::return_shared(t);
    };
    aggregate(&mut sc, &clock, ADMIN); // the last coordinate: median of 20, 20, 30... of column 5
    sc.next_tx(ADMIN);
    let t = sc.take_shared<Task>();
    assert!(*t.model() == vector[9, 9, 9, 9, 9, 20]);
    assert!(t.round() == 1 && t.aggregation_done() == 0 && t.num_updates() == 0);
    ts::return_shared(t);
    finish(sc, clock);
}

#[test]
fun aggregate_after_deadline_with_the_quorum() {
    let (mut sc, mut clock) = start();
    create(&mut sc, &clock, 1, 5, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(7, 9));
    clock.set_for_testing(START_MS + DURATION_MS + 1);
    aggregate(&mut sc, &clock, BOB);
    sc.next_tx(BOB);
    let t = sc.take_shared<Task>();
    assert!(*t.model() == w(7, 9) && t.round() == 1);
    ts::return_shared(t);
    finish(sc, clock);
}

#[test]
fun submit_at_deadline_is_accepted() {
    let (mut sc, mut clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    clock.set_for_testing(START_MS + DURATION_MS);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::EQuorumNotReached)]
fun aggregate_after_deadline_below_the_quorum() {
    let (mut sc, mut clock) = start();
    create(&mut sc, &clock, 3, 5, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(7, 9));
    submit(&mut sc, &clock, BOB, w(7, 9));
    clock.set_for_testing(START_MS + DURATION_MS + 1);
    aggregate(&mut sc, &clock, BOB);
    finish(sc, clock);
}

#[test]
fun a_round_closes_when_every_sampled_participant_submitted() {
    let (mut sc, clock) = start();
    create_only(&mut sc, &clock, 1, 1, 0, 0, true, 2);
    register(&mut sc, ALICE);
    register(&mut sc, BOB);
    register(&mut sc, CAROL);
    open_round(&mut sc, &clock);
    sc.next_tx(ADMIN);
    let t = sc.take_shared<Task>();
    let sampled = *t.sampled();
    assert!(sampled.length() == 2 && t.randomness() == &SEED);
    ts::return_shared(t);
    submit(&mut sc, &clock, sampled[0], w(1, 2));
    submit(&mut sc, &clock, sampled[1], w(3, 4));
    aggregate(&mut sc, &clock, CAROL); // before the deadline: all of the sample is in
    sc.next_tx(CAROL);
    let t = sc.take_shared<Task>();
    assert!(t.finished() && *t.model() == w(2, 3));
    ts::return_shared(t);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::ERoundNotOpen)]
fun submit_before_the_round_opens() {
    let (mut sc, clock) = start();
    create_only(&mut sc, &clock, 1, 1, 0, 0, true, 2);
    register(&mut sc, ALICE);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::participants::ENotEnoughParticipants)]
fun open_a_round_below_the_quorum() {
    let (mut sc, clock) = start();
    create_only(&mut sc, &clock, 2, 1, 0, 0, true, 2);
    register(&mut sc, ALICE);
    open_round(&mut sc, &clock);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::ERoundAlreadyOpen)]
fun open_an_open_round() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    open_round(&mut sc, &clock);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::participants::EAlreadyRegistered)]
fun register_twice() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    register(&mut sc, ALICE);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::participants::EParticipantSampled)]
fun leave_while_sampled() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    sc.next_tx(ALICE);
    let mut t = sc.take_shared<Task>();
    let refund = t.leave(sc.ctx());
    transfer::public_transfer(refund, ALICE);
    ts::return_shared(t);
    finish(sc, clock);
}

// === rejections of submit_update ===

#[test, expected_failure(abort_code = wafl::task::EWrongVersion)]
fun submit_to_a_task_of_another_version() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    set_version(&mut sc, 0);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::ETaskFinished)]
fun submit_after_finish() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 1, 1, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    aggregate(&mut sc, &clock, ALICE);
    submit(&mut sc, &clock, BOB, w(1, 2));
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::ERoundClosed)]
fun submit_after_deadline() {
    let (mut sc, mut clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    clock.set_for_testing(START_MS + DURATION_MS + 1);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::ERoundClosed)]
fun submit_once_aggregation_started() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 3, 1, 1, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    sc.next_tx(ADMIN);
    {
        let mut t = sc.take_shared<Task>();
        t.set_partial_for_testing(vector[1]);
        ts::return_shared(t);
    };
    submit(&mut sc, &clock, BOB, w(1, 2));
    finish(sc, clock);
}

/// The round's seats go to its sample, never to whoever arrives first (issue #20's Sybil
/// attack: a third fast sender took the seat of an honest one).
#[test, expected_failure(abort_code = wafl::round::ENotSampled)]
fun submit_when_not_sampled() {
    let (mut sc, clock) = start();
    create_only(&mut sc, &clock, 2, 1, 0, 0, true, 2);
    register(&mut sc, ALICE);
    register(&mut sc, BOB);
    register(&mut sc, CAROL);
    open_round(&mut sc, &clock);
    sc.next_tx(ADMIN);
    let t = sc.take_shared<Task>();
    let outsider = if (!t.is_sampled(ALICE)) ALICE else if (!t.is_sampled(BOB)) BOB else CAROL;
    assert!(!t.is_sampled(outsider));
    ts::return_shared(t);
    submit(&mut sc, &clock, outsider, w(1, 2));
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::EAlreadySubmitted)]
fun submit_twice_in_a_round() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 3, 1, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    submit(&mut sc, &clock, ALICE, w(3, 4));
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::ESenderNotAllowed)]
fun register_not_on_allowlist() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, false);
    register(&mut sc, ALICE);
    finish(sc, clock);
}

#[test]
fun allowlist_add_then_submit() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 1, 1, 0, 0, false);
    let (mut t, cap) = admin_begin(&mut sc);
    task::add_participant(&cap, &mut t, ALICE);
    task::add_participant(&cap, &mut t, ALICE); // idempotent
    assert!(t.is_allowed(ALICE) && !t.is_allowed(BOB));
    admin_end(&sc, t, cap);
    let effects = sc.next_tx(ALICE);
    assert!(effects.num_user_events() == 2); // ParticipantAdded twice
    register(&mut sc, ALICE);
    open_round(&mut sc, &clock);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::ESenderNotAllowed)]
fun allowlist_remove_then_submit() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 1, 1, 0, 0, false);
    let (mut t, cap) = admin_begin(&mut sc);
    task::add_participant(&cap, &mut t, ALICE);
    admin_end(&sc, t, cap);
    register(&mut sc, ALICE);
    open_round(&mut sc, &clock); // ALICE sampled, then removed from the allowlist
    let (mut t, cap) = admin_begin(&mut sc);
    task::remove_participant(&cap, &mut t, ALICE);
    admin_end(&sc, t, cap);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    finish(sc, clock);
}

#[test]
fun set_open_lets_everyone_submit() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 1, 1, 0, 0, false);
    let (mut t, cap) = admin_begin(&mut sc);
    task::set_open(&cap, &mut t, true);
    assert!(t.open() && t.is_allowed(BOB));
    admin_end(&sc, t, cap);
    let effects = sc.next_tx(BOB);
    assert!(effects.num_user_events() == 1); // OpenChanged
    register(&mut sc, BOB);
    open_round(&mut sc, &clock);
    submit(&mut sc, &clock, BOB, w(1, 2));
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::spec::EWrongLength)]
fun submit_wrong_length() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    submit(&mut sc, &clock, ALICE, vector[1, 2, 3, 4, 5]);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::codec::EValueOutOfBounds)]
fun submit_weight_out_of_bounds() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 256));
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::codec::EValueOutOfBounds)]
fun submit_data_commitment_not_a_field_element() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    sc.next_tx(ALICE);
    let mut t = sc.take_shared<Task>();
    t.submit_update_for_testing(w(1, 2), 21888242871839275222246405745257275088548364400416034343698204186575808495617, &clock, sc.ctx());
    ts::return_shared(t);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::task::EInvalidProof)]
fun submit_invalid_proof() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    sc.next_tx(ALICE);
    let mut t = sc.take_shared<Task>();
    t.submit_update(w(1, 2), DATA, BAD_PROOF, &clock, sc.ctx());
    ts::return_shared(t);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::task::EInvalidProof)]
fun submit_truncated_proof() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    sc.next_tx(ALICE);
    let mut t = sc.take_shared<Task>();
    t.submit_update(w(1, 2), DATA, x"00112233", &clock, sc.ctx());
    ts::return_shared(t);
    finish(sc, clock);
}

// === rejections of aggregate ===

#[test, expected_failure(abort_code = wafl::round::EQuorumNotReached)]
fun aggregate_before_quorum() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    aggregate(&mut sc, &clock, ALICE);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::ENoUpdates)]
fun aggregate_closed_round_without_updates() {
    let (mut sc, mut clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    clock.set_for_testing(START_MS + DURATION_MS + 1);
    aggregate(&mut sc, &clock, ALICE);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::ETaskFinished)]
fun aggregate_finished_task() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 1, 1, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    aggregate(&mut sc, &clock, ALICE);
    aggregate(&mut sc, &clock, ALICE);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::task::EWrongVersion)]
fun aggregate_a_task_of_another_version() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 1, 1, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    set_version(&mut sc, 2);
    aggregate(&mut sc, &clock, ALICE);
    finish(sc, clock);
}

// === discard_round ===

#[test]
fun discard_a_stuck_round_after_the_grace_period() {
    let (mut sc, mut clock) = start();
    create(&mut sc, &clock, 3, 1, 1, 0, true); // median: the updates are dynamic fields
    submit(&mut sc, &clock, ALICE, w(1, 2));
    submit(&mut sc, &clock, BOB, w(3, 4));
    clock.set_for_testing(START_MS + DURATION_MS + MIN_GRACE_MS + 1); // GRACE_MS is below the minimum
    discard(&mut sc, &clock, CAROL); // anyone may
    let effects = sc.next_tx(CAROL);
    assert!(effects.num_user_events() == 1); // RoundDiscarded
    {
        let t = sc.take_shared<Task>();
        assert!(t.round() == 0 && t.num_updates() == 0 && !t.has_submitted(ALICE));
        assert!(t.round_start_ms() == START_MS + DURATION_MS + MIN_GRACE_MS + 1);
        assert!(t.deadline_ms() == 0 && !t.round_open()); // a new sample next
        assert!(*t.model() == w(128, 128));
        ts::return_shared(t);
    };
    open_round(&mut sc, &clock);
    submit(&mut sc, &clock, ALICE, w(5, 6)); // the reopened round takes updates again
    finish(sc, clock);
}

#[test]
fun discard_zeroes_the_fedavg_sums() {
    let (mut sc, mut clock) = start();
    create(&mut sc, &clock, 3, 1, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    clock.set_for_testing(START_MS + DURATION_MS + MIN_GRACE_MS + 1);
    discard(&mut sc, &clock, CAROL);
    sc.next_tx(CAROL);
    let t = sc.take_shared<Task>();
    assert!(*t.sums() == vector[0, 0, 0, 0, 0, 0] && t.num_updates() == 0);
    ts::return_shared(t);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::EGracePeriodNotOver)]
fun discard_within_the_grace_period() {
    let (mut sc, mut clock) = start();
    create(&mut sc, &clock, 3, 1, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    clock.set_for_testing(START_MS + DURATION_MS + MIN_GRACE_MS);
    discard(&mut sc, &clock, CAROL);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::round::ETaskFinished)]
fun discard_a_finished_task() {
    let (mut sc, mut clock) = start();
    create(&mut sc, &clock, 1, 1, 0, 0, true);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    aggregate(&mut sc, &clock, ALICE);
    clock.set_for_testing(START_MS + 10 * DURATION_MS);
    discard(&mut sc, &clock, CAROL);
    finish(sc, clock);
}

// === admin calls and migration ===

#[test]
fun restart_round_reopens_an_expired_round() {
    let (mut sc, mut clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    clock.set_for_testing(START_MS + 5 * DURATION_MS);
    let (mut t, cap) = admin_begin(&mut sc);
    task::restart_round(&cap, &mut t, &clock);
    assert!(t.deadline_ms() == START_MS + 6 * DURATION_MS && t.round() == 0);
    admin_end(&sc, t, cap);
    submit(&mut sc, &clock, ALICE, w(1, 2));
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::task::ENotAdmin)]
fun admin_cap_of_another_task() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, false);
    sc.next_tx(ADMIN);
    let first = sc.take_from_sender<TaskAdminCap>();
    create(&mut sc, &clock, 2, 1, 0, 0, false); // a second task, shared after the first
    sc.next_tx(ADMIN);
    let mut t = sc.take_shared_by_id<Task>(first.task_id());
    let other = sc.take_from_sender<TaskAdminCap>();
    // `other` administers the second task, not `t`
    let (bad, good) = if (other.task_id() == object::id(&t)) (first, other) else (other, first);
    task::add_participant(&bad, &mut t, ALICE);
    ts::return_shared(t);
    sc.return_to_sender(bad);
    sc.return_to_sender(good);
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::task::EWrongVersion)]
fun admin_calls_check_the_version() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, false);
    set_version(&mut sc, 0);
    let (mut t, cap) = admin_begin(&mut sc);
    task::set_open(&cap, &mut t, true);
    admin_end(&sc, t, cap);
    finish(sc, clock);
}

#[test]
fun migrate_an_older_task() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    set_version(&mut sc, 0);
    let (mut t, cap) = admin_begin(&mut sc);
    task::migrate(&cap, &mut t);
    assert!(t.version() == 1);
    admin_end(&sc, t, cap);
    let effects = sc.next_tx(ALICE);
    assert!(effects.num_user_events() == 1); // TaskMigrated
    submit(&mut sc, &clock, ALICE, w(1, 2)); // the migrated task works with this package
    finish(sc, clock);
}

#[test, expected_failure(abort_code = wafl::task::EWrongVersion)]
fun migrate_a_current_task() {
    let (mut sc, clock) = start();
    create(&mut sc, &clock, 2, 1, 0, 0, true);
    let (mut t, cap) = admin_begin(&mut sc);
    task::migrate(&cap, &mut t);
    admin_end(&sc, t, cap);
    finish(sc, clock);
}
