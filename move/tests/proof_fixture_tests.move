/// PLACEHOLDER for an end-to-end test of `submit_update` with a real Groth16 proof.
///
/// To fill it: run `sui move test print_public_inputs_for_fixture` once; it prints the task id,
/// the old-model commitment, the new-model commitment of NEW_WEIGHTS and the context hash
/// that the contract builds for SENDER in round 0 (test_scenario ids are deterministic).
/// Generate a proof for these public inputs (with DATA as data commitment) with the step
/// circuit of the same spec, put its verifying key in FIXTURE_VK and its proof in
/// FIXTURE_PROOF (arkworks compressed hex, `wafl_sui.sui_groth16`). While FIXTURE_PROOF is
/// empty, `submit_with_real_proof` only checks that the placeholder is still empty.
#[test_only]
module wafl::proof_fixture_tests;

use sui::clock;
use sui::test_scenario as ts;
use wafl::task::{Self, Task};

const ADMIN: address = @0xAD;
const SENDER: address = @0xA11CE;
const DATA: u256 = 7;
const FIXTURE_VK: vector<u8> = x"";
const FIXTURE_PROOF: vector<u8> = x"";

#[test]
fun print_public_inputs_for_fixture() {
    let vk = FIXTURE_VK;
    if (vk.length() == 0) return;
    let mut sc = ts::begin(ADMIN);
    let clock = clock::create_for_testing(sc.ctx());
    let cap = task::create_task(
        2, 2, 2, 1, 4, 8, 4, 6, 8, 8, 16, 1, 1000, 1, 0, 0, true,
        vector[128, 128, 128, 128, 128, 128], vk, &clock, sc.ctx(),
    );
    transfer::public_transfer(cap, ADMIN);
    sc.next_tx(SENDER);
    let t = sc.take_shared<Task>();
    std::debug::print(&object::id(&t));
    std::debug::print(&t.model_commitment());
    std::debug::print(&t.current_context_hash(SENDER));
    ts::return_shared(t);
    clock.destroy_for_testing();
    sc.end();
}

#[test]
fun submit_with_real_proof() {
    let vk = FIXTURE_VK;
    let proof = FIXTURE_PROOF;
    if (proof.length() == 0) return;
    let mut sc = ts::begin(ADMIN);
    let clock = clock::create_for_testing(sc.ctx());
    let cap = task::create_task(
        2, 2, 2, 1, 4, 8, 4, 6, 8, 8, 16, 1, 1000, 1, 0, 0, true,
        vector[128, 128, 128, 128, 128, 128], vk, &clock, sc.ctx(),
    );
    transfer::public_transfer(cap, ADMIN);
    sc.next_tx(SENDER);
    let mut t = sc.take_shared<Task>();
    t.submit_update(vector[128, 128, 128, 128, 128, 128], DATA, proof, &clock, sc.ctx());
    assert!(t.num_updates() == 1);
    ts::return_shared(t);
    clock.destroy_for_testing();
    sc.end();
}
