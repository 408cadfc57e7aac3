/// Poseidon commitments computed on chain with `sui::poseidon::poseidon_bn254` (1..16 inputs
/// per call), as `wafl_sui/protocol/poseidon.py`. The packing they hash is in `wafl::codec`.
/// Package-internal.
module wafl::commitment;

use sui::poseidon::poseidon_bn254;
use wafl::codec;

const MAX_INPUTS: u64 = 16;

/// 16-ary Poseidon tree: chunks of 16 (the last may be shorter) are hashed, then the list of
/// hashes the same way, until at most 16 remain, which are hashed once. `leaves` must be
/// non-empty field elements (the native aborts otherwise).
public(package) fun tree16(leaves: vector<u256>): u256 {
    let mut level = leaves;
    while (level.length() > MAX_INPUTS) {
        let n = level.length();
        let mut next = vector[];
        let mut i = 0;
        while (i < n) {
            let end = if (n - i < MAX_INPUTS) n else i + MAX_INPUTS;
            let mut chunk = vector[];
            while (i < end) {
                chunk.push_back(level[i]);
                i = i + 1;
            };
            next.push_back(poseidon_bn254(&chunk));
        };
        level = next;
    };
    poseidon_bn254(&level)
}

/// Poseidon of 1..16 field elements (`protocol.poseidon.poseidon`).
public(package) fun poseidon(inputs: &vector<u256>): u256 { poseidon_bn254(inputs) }

/// Commitment of a model: tree16 Poseidon of its offset-encoded weights packed with
/// `codec::pack(weights, weight_bits)` (`protocol.model_commitment_encoded`). A submitted
/// update is packed once, while it is validated (`spec::pack_weights`), and hashed with `tree16`.
public(package) fun model_commitment(encoded: &vector<u32>, weight_bits: u8): u256 {
    tree16(codec::pack(encoded, weight_bits))
}

/// Binds a proof to one task, one sender, one round and the task's learning rate
/// (`protocol.context_hash`).
public(package) fun context_hash(task: address, sender: address, round: u64, lr_q: u64): u256 {
    poseidon_bn254(&codec::context_preimage(task, sender, round, lr_q))
}
