pragma circom 2.1.0;

// Commitments: bit packing of small unsigned values into field elements and the 16-ary Poseidon
// tree of wafl_sui/protocol/poseidon.py (poseidon_tree16). circomlib's Poseidon(n) is the same function as
// Sui's poseidon_bn254 over n inputs.

include "poseidon.circom";

function packedLength(n, bits) {
    var per = 253 \ bits;
    return (n + per - 1) \ per;
}

// Pack N unsigned values of BITS bits (each already range checked by the caller),
// floor(253/BITS) per field element, little-endian limbs. Linear: no constraints of its own.
template Pack(N, BITS) {
    signal input in[N];
    var PER = 253 \ BITS;
    var M = (N + PER - 1) \ PER;
    signal output out[M];
    for (var j = 0; j < M; j++) {
        var acc = 0;
        for (var k = 0; k < PER; k++) {
            if (j * PER + k < N) {
                acc += in[j * PER + k] * (1 << (BITS * k));
            }
        }
        out[j] <== acc;
    }
}

// poseidon_tree16: chunks of 16 (the last may be shorter) -> Poseidon(len) each, repeated on the
// chunk hashes until one value remains; N <= 16 is a single Poseidon(N).
template PoseidonTree16(N) {
    signal input in[N];
    signal output out;
    assert(N >= 1);
    if (N <= 16) {
        component h = Poseidon(N);
        for (var i = 0; i < N; i++) {
            h.inputs[i] <== in[i];
        }
        out <== h.out;
    } else {
        var M = (N + 15) \ 16;
        component h[M];
        for (var j = 0; j < M; j++) {
            var len = N - 16 * j;
            if (len > 16) {
                len = 16;
            }
            h[j] = Poseidon(len);
            for (var k = 0; k < len; k++) {
                h[j].inputs[k] <== in[16 * j + k];
            }
        }
        component up = PoseidonTree16(M);
        for (var j = 0; j < M; j++) {
            up.in[j] <== h[j].out;
        }
        out <== up.out;
    }
}
