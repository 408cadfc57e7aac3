/// The step specification (model shape, fixed-point formats, batch shape) and the validation
/// rules of `protocol.validate_spec` / `protocol.validate_weights`. Pure: no objects, no hashing.
/// Users build a spec with the public constructor `new` (a PTB calls it before
/// `task::create_task`); the rules are package-internal.
module wafl::spec;

use wafl::codec;

#[error]
const EInvalidSpec: vector<u8> = b"The step specification or learning rate cannot be served exactly";
#[error]
const EWrongLength: vector<u8> = b"The model must have classes * (features + 1) weights";

/// Largest intermediate of the step circuit, in bits (BN254 headroom).
const MAX_INTERMEDIATE_BITS: u64 = 240;

/// Everything that fixes the step circuit (the fields of `protocol.StepSpec`).
public struct StepSpec has copy, drop, store {
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
}

/// A validated spec (the fields of `protocol.StepSpec`, in its order); aborts with EInvalidSpec
/// on anything `protocol.validate_spec` rejects.
public fun new(
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
): StepSpec {
    let s = StepSpec {
        features,
        classes,
        batch_size,
        local_steps,
        frac_bits,
        weight_bits,
        feature_frac_bits,
        feature_bits,
        lr_frac_bits,
        lr_bits,
    };
    validate(&s);
    s
}

/// The checks of `protocol.validate_spec`, all with EInvalidSpec.
public(package) fun validate(s: &StepSpec) {
    assert!(s.features >= 1 && s.classes >= 1 && s.batch_size >= 1 && s.local_steps >= 1, EInvalidSpec);
    assert!(s.classes >= 2, EInvalidSpec);
    assert!(s.weight_bits >= 2 && s.weight_bits <= 32, EInvalidSpec);
    assert!(s.feature_bits >= 2 && s.feature_bits <= 32, EInvalidSpec);
    assert!(s.frac_bits >= 1 && s.frac_bits < s.weight_bits, EInvalidSpec);
    assert!(s.feature_frac_bits <= s.feature_bits - 2, EInvalidSpec);
    assert!(s.lr_bits >= 1 && s.lr_bits <= 64 && s.lr_frac_bits <= 64, EInvalidSpec);
    assert!(s.frac_bits + 1 <= s.weight_bits + s.feature_bits, EInvalidSpec);
    assert!(max_intermediate_bits(s) <= MAX_INTERMEDIATE_BITS, EInvalidSpec);
}

/// Bits of the largest intermediate of the step (`protocol.max_intermediate_bits`).
/// Call on a spec whose bit widths passed the range checks of `validate`.
public(package) fun max_intermediate_bits(s: &StepSpec): u64 {
    let xa_exp = if (s.feature_bits - 1 > s.feature_frac_bits) s.feature_bits - 1
        else s.feature_frac_bits;
    let xa: u256 = 1u256 << (xa_exp as u8);
    let g = (s.batch_size as u256) * (1u256 << (s.frac_bits as u8)) * xa;
    let glr = g * ((1u256 << (s.lr_bits as u8)) - 1);
    let w = (1u256 << ((s.weight_bits - 1) as u8)) << ((s.feature_frac_bits + s.lr_frac_bits) as u8);
    let u = ((s.features as u256) + 1) * (1u256 << ((s.weight_bits - 1) as u8)) * xa;
    let a = bit_length(w + glr);
    let b = bit_length(u);
    if (a > b) a else b
}

/// max(bit length of x, 1), as `protocol._bits`.
public(package) fun bit_length(x: u256): u64 {
    let mut n = 0;
    let mut y = x;
    while (y > 0) {
        y = y >> 1;
        n = n + 1;
    };
    if (n == 0) 1 else n
}

/// The learning rate lr_q must be in 1..2^lr_bits - 1 (EInvalidSpec, as `protocol.lr_to_fixed`).
public(package) fun check_lr_q(s: &StepSpec, lr_q: u64) {
    assert!(lr_q >= 1 && (lr_q as u128) < (1u128 << (s.lr_bits as u8)), EInvalidSpec);
}

/// C * (D + 1), without overflow for any spec.
public(package) fun num_weights_u256(s: &StepSpec): u256 {
    (s.classes as u256) * ((s.features as u256) + 1)
}

/// C * (D + 1), the model's weights. Aborts (arithmetic) only for specs too large for any
/// transaction.
public fun num_weights(s: &StepSpec): u64 {
    (num_weights_u256(s) as u64)
}

/// Offset-encoded weights as submitted, validated and packed in one pass: the right length
/// (EWrongLength), each value in [0, 2^weight_bits) (EValueOutOfBounds), packed into field
/// elements as `codec::pack` (`protocol.validate_weights` then `protocol.pack`).
public(package) fun pack_weights(s: &StepSpec, encoded: &vector<u32>): vector<u256> {
    assert!((encoded.length() as u256) == num_weights_u256(s), EWrongLength);
    codec::pack(encoded, (s.weight_bits as u8))
}

// === Getters ===

public fun features(s: &StepSpec): u64 { s.features }

public fun classes(s: &StepSpec): u64 { s.classes }

public fun batch_size(s: &StepSpec): u64 { s.batch_size }

public fun local_steps(s: &StepSpec): u64 { s.local_steps }

public fun frac_bits(s: &StepSpec): u64 { s.frac_bits }

public fun weight_bits(s: &StepSpec): u64 { s.weight_bits }

public fun feature_frac_bits(s: &StepSpec): u64 { s.feature_frac_bits }

public fun feature_bits(s: &StepSpec): u64 { s.feature_bits }

public fun lr_frac_bits(s: &StepSpec): u64 { s.lr_frac_bits }

public fun lr_bits(s: &StepSpec): u64 { s.lr_bits }
