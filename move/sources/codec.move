/// Pure encoding rules shared with `wafl_sui/protocol/codec.py`: packing of offset-encoded values
/// into BN254 field elements, address limbs, the context-hash pre-image and the byte layout
/// of the Groth16 public inputs. No hashing here (see `wafl::commitment`), so every function
/// of this module runs in a plain Move VM. Package-internal.
module wafl::codec;

use std::bcs;

#[error]
const EValueOutOfBounds: vector<u8> =
    b"A value does not fit in its bit width, or is not a BN254 field element";
#[error]
const EInvalidVerifyingKey: vector<u8> =
    b"The verifying key is malformed or degenerate (length vs IC count, a point at infinity, gamma == delta)";

/// Values are packed little-endian into field elements of at most this many bits.
const PACK_BITS: u64 = 253;
/// The BN254 scalar field modulus r (public inputs and Poseidon inputs are < r).
const FIELD_MODULUS: u256 =
    21888242871839275222246405745257275088548364400416034343698204186575808495617;
/// Domain tag of the context hash: the ASCII bytes "wafl.step.v1" read big-endian.
const CONTEXT_DOMAIN: u256 = 0x7761666c2e737465702e7631;
const LOW_128_MASK: u256 = 0xffffffffffffffffffffffffffffffff;
/// Bytes of one public input in `groth16::public_proof_inputs_from_bytes`.
const PUBLIC_INPUT_BYTES: u64 = 32;

public(package) fun pack_bits(): u64 { PACK_BITS }

public(package) fun field_modulus(): u256 { FIELD_MODULUS }

public(package) fun context_domain(): u256 { CONTEXT_DOMAIN }

/// How many `bits`-bit values one field element holds: floor(253 / bits).
public(package) fun values_per_element(bits: u8): u64 {
    assert!(bits >= 1 && bits <= 32, EValueOutOfBounds);
    PACK_BITS / (bits as u64)
}

/// Offset-encoded values of `bits` bits -> field elements, floor(253/bits) values per element,
/// value k of a group at bit offset k*bits (little-endian limbs), as `protocol.pack`.
public(package) fun pack(values: &vector<u32>, bits: u8): vector<u256> {
    let per = values_per_element(bits);
    let limit: u64 = 1u64 << bits;
    let n = values.length();
    let mut out = vector[];
    let mut i = 0;
    while (i < n) {
        let end = if (n - i < per) n else i + per;
        let mut acc: u256 = 0;
        let mut shift: u8 = 0;
        while (i < end) {
            let v = values[i];
            assert!((v as u64) < limit, EValueOutOfBounds);
            acc = acc | ((v as u256) << shift);
            shift = shift + bits;
            i = i + 1;
        };
        out.push_back(acc);
    };
    out
}

/// Whether `x` is a canonical BN254 scalar (< r).
public(package) fun is_field_element(x: u256): bool { x < FIELD_MODULUS }

public(package) fun assert_field_element(x: u256) {
    assert!(x < FIELD_MODULUS, EValueOutOfBounds);
}

/// A 32-byte address / object id as (high 128 bits, low 128 bits) of its big-endian integer
/// (the value `sui::address::to_u256` returns on chain). Folded from the address bytes so the
/// result does not depend on that native (sui-sandbox's version of it reverses the bytes).
public(package) fun address_limbs(a: address): (u256, u256) {
    let x = address_to_u256(a);
    (x >> 128, x & LOW_128_MASK)
}

/// The address bytes (BCS: the 32 bytes in the order of its hex form) as a big-endian integer.
public(package) fun address_to_u256(a: address): u256 {
    let bytes = bcs::to_bytes(&a);
    let mut x: u256 = 0;
    let mut i = 0;
    while (i < 32) {
        x = (x << 8) | (bytes[i] as u256);
        i = i + 1;
    };
    x
}

/// The seven Poseidon inputs of the context hash:
/// [CONTEXT_DOMAIN, task_hi, task_lo, sender_hi, sender_lo, round, lr_q].
public(package) fun context_preimage(task: address, sender: address, round: u64, lr_q: u64): vector<u256> {
    let (t_hi, t_lo) = address_limbs(task);
    let (s_hi, s_lo) = address_limbs(sender);
    vector[CONTEXT_DOMAIN, t_hi, t_lo, s_hi, s_lo, round as u256, lr_q as u256]
}

/// The public inputs of the step circuit in protocol order; each must be a field element.
public(package) fun public_inputs(old_model: u256, new_model: u256, data: u256, context: u256): vector<u256> {
    let values = vector[old_model, new_model, data, context];
    let mut i = 0;
    while (i < 4) {
        assert_field_element(values[i]);
        i = i + 1;
    };
    values
}

/// Sui's `public_proof_inputs_from_bytes` layout: each value as 32 bytes little-endian.
public(package) fun public_inputs_bytes(values: &vector<u256>): vector<u8> {
    let mut out = vector[];
    let n = values.length();
    let mut i = 0;
    while (i < n) {
        let mut x = values[i];
        let mut k = 0;
        while (k < PUBLIC_INPUT_BYTES) {
            out.push_back(((x & 0xff) as u8));
            x = x >> 8;
            k = k + 1;
        };
        i = i + 1;
    };
    out
}

/// Bytes before the IC points of an arkworks compressed BN254 verifying key:
/// alpha (G1, 32) || beta, gamma, delta (G2, 64 each) || u64 LE count of IC points.
const VK_HEADER_BYTES: u64 = 232;
const G1_BYTES: u64 = 32;
const G2_BYTES: u64 = 64;
/// arkworks' compressed encoding marks the point at infinity with this bit of a point's last byte.
const INFINITY_FLAG: u8 = 0x40;

/// Number of public inputs a raw (arkworks compressed) BN254 verifying key is for, read from
/// its IC count; aborts with EInvalidVerifyingKey when the byte length does not match the count.
public(package) fun vk_num_public_inputs(vk: &vector<u8>): u64 {
    let len = vk.length();
    assert!(len >= VK_HEADER_BYTES, EInvalidVerifyingKey);
    let mut ic: u64 = 0;
    let mut k = 0;
    while (k < 8) {
        ic = ic | ((vk[VK_HEADER_BYTES - 8 + k] as u64) << ((8 * k) as u8));
        k = k + 1;
    };
    assert!(ic >= 1 && ic <= (len - VK_HEADER_BYTES) / G1_BYTES, EInvalidVerifyingKey);
    assert!(len == VK_HEADER_BYTES + G1_BYTES * ic, EInvalidVerifyingKey);
    ic - 1
}

/// The step circuit's key, checked before `groth16::prepare_verifying_key` (which accepts
/// points at infinity, and with them a key against which anyone "proves" anything): the length
/// matches the IC count; no point (alpha, beta, gamma, delta, any IC) carries the infinity flag;
/// gamma != delta (with gamma == delta, A = alpha, B = beta, C = -vk_x verifies for any public
/// inputs). Points off the curve or outside the prime-order subgroup are refused by
/// `prepare_verifying_key` itself. Returns the key's number of public inputs; aborts with
/// EInvalidVerifyingKey.
public(package) fun check_verifying_key(vk: &vector<u8>): u64 {
    let n = vk_num_public_inputs(vk);
    // alpha (G1) at 0; beta, gamma, delta (G2) at 32, 96, 160; IC points from VK_HEADER_BYTES.
    assert!(!is_infinity(vk, G1_BYTES - 1), EInvalidVerifyingKey);
    let mut g = 0;
    while (g < 3) {
        assert!(!is_infinity(vk, G1_BYTES + G2_BYTES * (g + 1) - 1), EInvalidVerifyingKey);
        g = g + 1;
    };
    let mut i = 0;
    while (i <= n) {
        assert!(!is_infinity(vk, VK_HEADER_BYTES + G1_BYTES * (i + 1) - 1), EInvalidVerifyingKey);
        i = i + 1;
    };
    let gamma = G1_BYTES + G2_BYTES;
    let delta = G1_BYTES + 2 * G2_BYTES;
    let mut same = true;
    let mut k = 0;
    while (k < G2_BYTES && same) {
        same = vk[gamma + k] == vk[delta + k];
        k = k + 1;
    };
    assert!(!same, EInvalidVerifyingKey);
    n
}

fun is_infinity(vk: &vector<u8>, last_byte: u64): bool {
    (vk[last_byte] & INFINITY_FLAG) != 0
}
