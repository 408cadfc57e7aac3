/// The step specification (model shape, fixed-point formats, batch shape) and the validation
/// rules of `protocol.validate_spec` / `protocol.validate_weights`. Pure: no objects, no hashing.
/// Users build a spec with the public constructor `new` (a PTB calls it before
/// `task::create_task`); the rules are package-internal.
module wafl::spec;

use wafl::codec;

#[error]
const EInvalidSpec: vector<u8> = b"The step specification or learning rate cannot be served exactly";
#[error]
const EWrongLength: vector<u8> = b"The model must have the spec's num_weights weights (C * (D + 1) for the linear model)";

/// Largest intermediate of the step circuit, in bits (BN254 headroom).
const MAX_INTERMEDIATE_BITS: u64 = 240;
/// At most this many hidden layers (`protocol.MAX_HIDDEN_LAYERS`).
const MAX_HIDDEN_LAYERS: u64 = 8;
/// The activation format of `new` (`protocol.DEFAULT_ACT_FRAC_BITS` / `DEFAULT_ACT_BITS`).
const DEFAULT_ACT_FRAC_BITS: u64 = 6;
const DEFAULT_ACT_BITS: u64 = 8;
/// Bounds saturate here: 2^(MAX_INTERMEDIATE_BITS + 1) (`protocol.BOUND_SATURATION`).
const BOUND_SATURATION: u256 = 1u256 << 241;

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
    /// The hidden layers' widths (empty: the linear model).
    hidden: vector<u64>,
    /// The clamped ReLU of the hidden layers: act_frac_bits fractional bits, in [0, 2^act_bits - 1].
    act_frac_bits: u64,
    act_bits: u64,
}

/// A validated linear spec (the fields of `protocol.StepSpec`, in its order, no hidden layer,
/// the default activation format); aborts with EInvalidSpec on anything
/// `protocol.validate_spec` rejects.
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
    new_mlp(
        features, classes, batch_size, local_steps, frac_bits, weight_bits, feature_frac_bits,
        feature_bits, lr_frac_bits, lr_bits, vector[], DEFAULT_ACT_FRAC_BITS, DEFAULT_ACT_BITS,
    )
}

/// A validated spec with hidden layers (all the fields of `protocol.StepSpec`, in its order);
/// aborts with EInvalidSpec on anything `protocol.validate_spec` rejects.
public fun new_mlp(
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
    hidden: vector<u64>,
    act_frac_bits: u64,
    act_bits: u64,
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
        hidden,
        act_frac_bits,
        act_bits,
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
    assert!(s.hidden.length() <= MAX_HIDDEN_LAYERS, EInvalidSpec);
    let mut i = 0;
    while (i < s.hidden.length()) {
        assert!(s.hidden[i] >= 1, EInvalidSpec);
        i = i + 1;
    };
    // the activation format matters (and is checked) only when there is a hidden layer
    assert!(s.hidden.is_empty() || (s.act_bits >= 1 && s.act_bits <= 32), EInvalidSpec);
    assert!(s.hidden.is_empty() || s.act_frac_bits <= s.frac_bits + s.feature_frac_bits, EInvalidSpec);
    assert!(max_intermediate_bits(s) <= MAX_INTERMEDIATE_BITS, EInvalidSpec);
}

/// Bits of the largest intermediate of the step (`protocol.max_intermediate_bits`): over the
/// layers, the bits of the sum W.a, the back-propagated sum and the update numerator, from the
/// bounds of `protocol.layer_bounds` (products saturated by `mul_sat`, as there).
/// Call on a spec whose bit widths passed the range checks of `validate`.
public(package) fun max_intermediate_bits(s: &StepSpec): u64 {
    let n = s.hidden.length() + 1;
    let wmax: u256 = 1u256 << ((s.weight_bits - 1) as u8);
    let lr_max: u256 = (1u256 << (s.lr_bits as u8)) - 1;
    // d_max per layer, from the output layer back (error 2^K)
    let mut d_max = vector<u256>[];
    while (d_max.length() < n - 1) d_max.push_back(0);
    d_max.push_back(1u256 << (s.frac_bits as u8));
    let mut best = 1;
    let mut l = n - 1;
    while (l > 0) {
        let sm = mul_sat(mul_sat(layer_dim(s, l + 1) as u256, wmax), d_max[l]);
        best = max_u64(best, bit_length(sm));
        let k = 1u256 << (s.frac_bits as u8);
        *&mut d_max[l - 1] = (sm + k - 1) / k;
        l = l - 1;
    };
    l = 0;
    while (l < n) {
        let (a_max, k_in) = if (l == 0) {
            let xa_exp = if (s.feature_bits - 1 > s.feature_frac_bits) s.feature_bits - 1
                else s.feature_frac_bits;
            (1u256 << (xa_exp as u8), s.feature_frac_bits)
        } else {
            let top = (1u256 << (s.act_bits as u8)) - 1;
            let one = 1u256 << (s.act_frac_bits as u8);
            (if (top > one) top else one, s.act_frac_bits)
        };
        let glr = mul_sat(mul_sat(mul_sat(s.batch_size as u256, d_max[l]), a_max), lr_max);
        let z = mul_sat(mul_sat((layer_dim(s, l) as u256) + 1, wmax), a_max);
        let upd = (wmax << ((k_in + s.lr_frac_bits) as u8)) + glr;
        best = max_u64(best, max_u64(bit_length(z), bit_length(upd)));
        l = l + 1;
    };
    best
}

/// min(a * b, BOUND_SATURATION) without overflow (`protocol.mul_sat`).
public(package) fun mul_sat(a: u256, b: u256): u256 {
    if (a == 0 || b == 0) 0
    else if (a > BOUND_SATURATION / b) BOUND_SATURATION
    else {
        let p = a * b;
        if (p > BOUND_SATURATION) BOUND_SATURATION else p
    }
}

/// Width of layer boundary i: features for 0, hidden[i-1], classes after the last hidden layer
/// (`protocol.StepSpec.layer_dims[i]`).
public(package) fun layer_dim(s: &StepSpec, i: u64): u64 {
    if (i == 0) s.features
    else if (i <= s.hidden.length()) s.hidden[i - 1]
    else s.classes
}

fun max_u64(a: u64, b: u64): u64 { if (a > b) a else b }

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

/// The model's weights, sum over the layers of n_out * (n_in + 1) (C * (D + 1) for the
/// linear model), without overflow for any spec.
public(package) fun num_weights_u256(s: &StepSpec): u256 {
    let n = s.hidden.length() + 1;
    let mut total = 0u256;
    let mut l = 0;
    while (l < n) {
        total = total + (layer_dim(s, l + 1) as u256) * ((layer_dim(s, l) as u256) + 1);
        l = l + 1;
    };
    total
}

/// The model's weights (`num_weights_u256`). Aborts (arithmetic) only for specs too large for any
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

public fun hidden(s: &StepSpec): vector<u64> { s.hidden }

public fun act_frac_bits(s: &StepSpec): u64 { s.act_frac_bits }

public fun act_bits(s: &StepSpec): u64 { s.act_bits }
