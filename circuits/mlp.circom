pragma circom 2.1.0;

// Building blocks of the MLP step circuit (protocol.train_step with hidden layers). The main
// component is generated per spec by wafl_sui/zk/mlp_circuit.py, which wires these templates
// layer by layer and derives every width from protocol.layer_bounds (docs/CIRCUIT.md, "MLP").
// The old weights come offset-encoded (Wenc = W + OFFW, OFFW = 2^(BW-1)) as in wafl_step.circom;
// the first local step computes on them, later steps on the exactly carried V = W*2^m - sum of
// glr (linear combinations, no constraint), rounded once per proof (protocol.local_training).
// Every value is an integer far below p/2, so nothing wraps modulo the BN254 field.

include "fixed_point.circom";

// DivClamp (fixed_point.circom) that also outputs mask = 1 iff q = floor(in / 2^M) lies in the
// KC-bit signed range (it was not clamped), else 0. Same cost: N + 3 (N when it cannot clamp).
template DivClampMask(N, M, KC) {
    signal input in;
    signal output out;
    signal output mask;
    assert(N < 253);
    assert(M >= 0 && M < N);
    assert(KC >= 1);
    var T = N - M;
    component nb = Num2Bits(N);
    nb.in <== in + (1 << (N - 1));
    if (T <= KC) {
        var acc = 0;
        for (var j = 0; j < T; j++) {
            acc += nb.out[M + j] * (1 << j);
        }
        out <== acc - (1 << (T - 1)) + (1 << (KC - 1));
        mask <== 1;
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
        mask <== inRange.out;
    }
}

// z[i][o] = sum_j W[o][j] * A[i][j] + W[o][NIN] * ONE: B*NOUT*NIN products.
template Dense(NIN, NOUT, B, ONE, OFFW) {
    signal input Wenc[NOUT][NIN + 1];
    signal input A[B][NIN];
    signal output z[B][NOUT];
    signal prod[B][NOUT][NIN];
    for (var i = 0; i < B; i++) {
        for (var o = 0; o < NOUT; o++) {
            var acc = (Wenc[o][NIN] - OFFW) * ONE;
            for (var j = 0; j < NIN; j++) {
                prod[i][o][j] <== (Wenc[o][j] - OFFW) * A[i][j];
                acc += prod[i][o][j];
            }
            z[i][o] <== acc;
        }
    }
}

// Clamped ReLU of a hidden layer: a = clamp(floor(z / 2^SH), 0, 2^BH - 1) and its derivative
// mask, with ONE DivClampMask of z - 2^(BH-1+SH) (|z| + 2^(BH-1+SH) < 2^(N-1)).
template ReluLayer(NOUT, B, N, SH, BH) {
    signal input z[B][NOUT];
    signal output a[B][NOUT];
    signal output mask[B][NOUT];
    component dc[B][NOUT];
    for (var i = 0; i < B; i++) {
        for (var o = 0; o < NOUT; o++) {
            dc[i][o] = DivClampMask(N, SH, BH);
            dc[i][o].in <== z[i][o] - (1 << (BH - 1 + SH));
            a[i][o] <== dc[i][o].out;
            mask[i][o] <== dc[i][o].mask;
        }
    }
}

// Output layer: p = clamp(floor(u / 2^FWD) + 2^(K-1), 0, 2^K - 1), delta = p - Y * 2^K.
template SigmoidError(C, B, N, FWD, K) {
    signal input z[B][C];
    signal input Y[B][C];
    signal output delta[B][C];
    component dc[B][C];
    for (var i = 0; i < B; i++) {
        for (var c = 0; c < C; c++) {
            dc[i][c] = DivClamp(N, FWD, K);
            dc[i][c].in <== z[i][c];
            delta[i][c] <== dc[i][c].out - Y[i][c] * (1 << K);
        }
    }
}

// Back-propagation through a layer: s[i][j] = sum_o W[o][j] * delta[i][o] (j < NIN: the bias
// column propagates nothing), dprev = floor(s / 2^SH) * mask (SH = K on the weights W of the
// first local step, K + m on the carried weights V of a later one). B*NIN*NOUT products, then
// per (i, j) one NS-bit decomposition of s + 2^(NS-1) (|s| < 2^(NS-1)): its low SH bits are the
// remainder, its top NS - SH bits floor(s / 2^SH) + 2^(NS-1-SH); one product by the mask
// (MASKED = 0: the mask is constant 1, no product). OFFW: the weights' offset (0: signed V).
template Backprop(NIN, NOUT, B, SH, NS, OFFW, MASKED) {
    signal input Wenc[NOUT][NIN + 1];
    signal input delta[B][NOUT];
    signal input mask[B][NIN];
    signal output dprev[B][NIN];
    assert(NS < 253 && NS > SH);
    signal prod[B][NIN][NOUT];
    component nb[B][NIN];
    for (var i = 0; i < B; i++) {
        for (var j = 0; j < NIN; j++) {
            var s = 0;
            for (var o = 0; o < NOUT; o++) {
                prod[i][j][o] <== (Wenc[o][j] - OFFW) * delta[i][o];
                s += prod[i][j][o];
            }
            nb[i][j] = Num2Bits(NS);
            nb[i][j].in <== s + (1 << (NS - 1));
            var q = 0;
            for (var b = SH; b < NS; b++) {
                q += nb[i][j].out[b] * (1 << (b - SH));
            }
            q -= 1 << (NS - 1 - SH);
            if (MASKED == 1) {
                dprev[i][j] <== q * mask[i][j];
            } else {
                dprev[i][j] <== q;
            }
        }
    }
}

// The gradient of a layer times lr: glr[o][j] = lr * sum_i delta[i][o] * A[i][j] (the bias
// input ONE for j = NIN), exact (the weights are carried exactly between local steps and
// rounded once per proof by the main component). FOLD = 1: lr multiplies delta first
// (B*NOUT products), else the sums (NOUT*(NIN+1)); B*NOUT*NIN gradient products.
template Gradient(NIN, NOUT, B, ONE, FOLD) {
    signal input delta[B][NOUT];
    signal input A[B][NIN];
    signal input lr;
    signal output glr[NOUT][NIN + 1];
    signal dlr[B][NOUT];
    signal prod[NOUT][NIN][B];
    for (var i = 0; i < B; i++) {
        for (var o = 0; o < NOUT; o++) {
            if (FOLD == 1) {
                dlr[i][o] <== delta[i][o] * lr;
            } else {
                dlr[i][o] <== delta[i][o];
            }
        }
    }
    for (var o = 0; o < NOUT; o++) {
        for (var j = 0; j <= NIN; j++) {
            var g = 0;
            for (var i = 0; i < B; i++) {
                if (j < NIN) {
                    prod[o][j][i] <== dlr[i][o] * A[i][j];
                    g += prod[o][j][i];
                } else {
                    g += dlr[i][o] * ONE;
                }
            }
            if (FOLD == 1) {
                glr[o][j] <== g;
            } else {
                glr[o][j] <== g * lr;
            }
        }
    }
}
