pragma circom 2.1.0;

// Fixed-point helpers for the WaFL step circuit.
// Every value here is a signed integer carried as a field element; each template documents the
// integer range its input must lie in. The generator (wafl_sui/zk/circuit.py) chooses the bit widths
// so that honest values always fit and asserts they stay below 253 bits, so no expression can
// wrap modulo the BN254 scalar field.

include "bitify.circom";
include "comparators.circom";

// Range check of a signed value v in [-2^(N-1), 2^(N-1)); outputs the offset encoding
// v + 2^(N-1) in [0, 2^N) (the value that is packed into commitments). N constraints.
template SignedRange(N) {
    signal input in;
    signal output enc;
    assert(N >= 1 && N < 253);
    component nb = Num2Bits(N);
    nb.in <== in + (1 << (N - 1));
    enc <== in + (1 << (N - 1));
}

// q = floor(in / 2^M), then out = clamp(q, -2^(KC-1), 2^(KC-1) - 1) + 2^(KC-1) in [0, 2^KC).
//
// `in` must be a signed integer with |in| < 2^(N-1). ONE decomposition of in + 2^(N-1) into N
// bits: the low M bits are the remainder (so 0 <= r < 2^M is enforced: a wrong quotient or
// remainder cannot satisfy the constraints), the top T = N - M bits are qv = q + 2^(T-1).
// The clamp is read from the top bits of qv: q is inside the KC-bit signed range iff the bits
// KC-1 .. T-2 of qv all equal 1 - (bit T-1) (the sign pattern). With s = sum of those bits and
// top = bit T-1, that is t = s - (T-KC)*(1-top) == 0, tested with one IsZero. Inside the range,
// out = (low KC-1 bits of qv) + top*2^(KC-1); above it, out = 2^KC - 1 (top = 1); below, out = 0.
// Cost: N + 3 constraints (N + 0 when T <= KC: no clamping possible).
template DivClamp(N, M, KC) {
    signal input in;
    signal output out;
    assert(N < 253);
    assert(M >= 0 && M < N);
    assert(KC >= 1);
    var T = N - M;
    component nb = Num2Bits(N);
    nb.in <== in + (1 << (N - 1));
    if (T <= KC) {
        // |q| < 2^(T-1) <= 2^(KC-1): never clamped
        var acc = 0;
        for (var j = 0; j < T; j++) {
            acc += nb.out[M + j] * (1 << j);
        }
        out <== acc - (1 << (T - 1)) + (1 << (KC - 1));
    } else {
        var top = nb.out[N - 1];
        var s = 0;
        for (var j = KC - 1; j <= T - 2; j++) {
            s += nb.out[M + j];
        }
        var low = 0;
        for (var j = 0; j < KC - 1; j++) {
            low += nb.out[M + j] * (1 << j);
        }
        component inRange = IsZero();
        inRange.in <== s - (T - KC) * (1 - top);
        var hi = (1 << KC) - 1;
        out <== inRange.out * (low + top * (1 << (KC - 1)) - top * hi) + top * hi;
    }
}
