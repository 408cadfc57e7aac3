pragma circom 2.1.0;

// The private step circuit (docs/PRIVACY.md, docs/CIRCUIT.md "Private step"): one DP-SGD step of
// the linear model on the client's registered (committed) dataset, with the batch (Poisson
// sampling) and the noise drawn from a PRF of its secret seed and the round's randomness, every
// per-sample gradient clipped. Twin: wafl_sui/protocol/dp_step.py (private_step).
//
// The generator (wafl_sui/zk/dp_circuit.py) derives every bit width from the bounds, asserts each
// below 253 bits, and writes the main component with the constants: the parameters, the noise
// table (function dpNoiseCum(j), defined in the generated main file) and the domains.
//
// Witness hints (clip factors, limb splits, noise one-hots, the prefix [i < n]) are computed by
// the witness generator with `<--` and every one of them is constrained here.

include "fixed_point.circom";
include "commit.circom";

// Integer square root (witness computation only).
function dpIsqrt(a) {
    if (a == 0) {
        return 0;
    }
    var x = a;
    var y = (x + 1) \ 2;
    while (y < x) {
        x = y;
        y = (x + a \ x) \ 2;
    }
    return x;
}

// The clip factor of docs/PRIVACY.md (witness computation only): 2^F when EX = 0, else
// min(2^F, isqrt(floor(A / EX))).
function dpClipFactor(ex, a, top) {
    if (ex == 0) {
        return top;
    }
    var r = dpIsqrt(a \ ex);
    if (r < top) {
        return r;
    }
    return top;
}

// One PRF block h = l0 + 2^64 l1 + 2^128 l2 + 2^192 r with l0, l1, l2 in [0, 2^64) and
// r < RMAX = floor(p / 2^192) (RB bits hold RMAX - 1): the integer it spells is below p, so the
// decomposition is unique. 192 + 2 RB constraints.
template DpBlock(RB, RMAX) {
    signal input h;
    signal output u[3];
    signal r;
    r <-- h >> 192;
    component rb = Num2Bits(RB);
    rb.in <== r;
    component rlt = Num2Bits(RB);
    rlt.in <== r + (1 << RB) - RMAX;
    component lb = Num2Bits(192);
    lb.in <== h - r * (1 << 192);
    for (var k = 0; k < 3; k++) {
        var acc = 0;
        for (var b = 0; b < 64; b++) {
            acc += lb.out[64 * k + b] * (1 << b);
        }
        u[k] <== acc;
    }
}

// A base noise sample of a 64-bit uniform u (range checked by the caller): the one-hot sel over
// the 2*T0+1 table entries with cum[j] <= u < cum[j+1]; z = j - T0. 2*T0 + 1 + 128 constraints.
template DpSample(T0) {
    signal input u;
    signal output z;
    var J = 2 * T0 + 1;
    var cum[2 * T0 + 2];
    for (var j = 0; j < 2 * T0 + 2; j++) {
        cum[j] = dpNoiseCum(j);
    }
    signal sel[J];
    var s = 0;
    var lo = 0;
    var hi = 0;
    var val = 0;
    for (var j = 0; j < J; j++) {
        sel[j] <-- (u >= cum[j] && u < cum[j + 1]) ? 1 : 0;
        sel[j] * (sel[j] - 1) === 0;
        s += sel[j];
        lo += sel[j] * cum[j];
        hi += sel[j] * cum[j + 1];
        val += sel[j] * (j - T0);
    }
    s === 1;
    component geLo = Num2Bits(64);
    geLo.in <== u - lo;
    component ltHi = Num2Bits(64);
    ltHi.in <== hi - 1 - u;
    z <== val;
}

// One record: forward pass and error (as WaflTrainStep), the clip factor f (the largest f in
// [0, 2^F] with f^2 E X <= A) and the clipped error rounded toward zero, times the mask m:
// ec[c] = m * sign(e[c]) * ((f |e[c]|) >> T), T = F + K - KE.
//   NU: bits of the score decomposition; BA: bits of A - f^2 E X (in [0, A]);
//   BD: bits of (f+1)^2 E X - A - 1 (+ A + 1 when f = 2^F), in [0, (2^F + 1)^2 EXmax].
template DpRecord(D, C, K, BW, KX, F, KE, A, NU, BA, BD) {
    signal input Wenc[C][D + 1];   // W + 2^(BW-1)
    signal input X[D];             // signed, range checked by the caller
    signal input Y[C];             // one-hot bits, checked by the caller
    signal input m;                // the mask bit
    signal output ec[C];           // the masked clipped error at scale 2^KE

    var OFFW = 1 << (BW - 1);
    var ONE_X = 1 << KX;
    var FWD = KX + 2;
    var T = F + K - KE;
    var TOP = 1 << F;

    // ---- forward and error e = p - y 2^K (e < 0 exactly when y = 1)
    signal prodWX[C][D];
    component sig[C];
    var e[C];
    for (var c = 0; c < C; c++) {
        var u = (Wenc[c][D] - OFFW) * ONE_X;
        for (var d = 0; d < D; d++) {
            prodWX[c][d] <== (Wenc[c][d] - OFFW) * X[d];
            u += prodWX[c][d];
        }
        sig[c] = DivClamp(NU, FWD, K);
        sig[c].in <== u;
        e[c] = sig[c].out - Y[c] * (1 << K);
    }

    // ---- norms E = sum e^2, X = sum xa^2, and their product
    signal e2[C];
    var es = 0;
    for (var c = 0; c < C; c++) {
        e2[c] <== e[c] * e[c];
        es += e2[c];
    }
    signal x2[D];
    var xs = ONE_X * ONE_X;
    for (var d = 0; d < D; d++) {
        x2[d] <== X[d] * X[d];
        xs += x2[d];
    }
    signal EX;
    EX <== es * xs;

    // ---- clip factor: f in [0, 2^F] (t = [f == 2^F]), f^2 EX <= A, and t = 1 or (f+1)^2 EX > A
    signal f;
    f <-- dpClipFactor(EX, A, TOP);
    signal t;
    t <-- (f == TOP) ? 1 : 0;
    t * (t - 1) === 0;
    component fLow = Num2Bits(F);
    fLow.in <== f - t * TOP;
    t * (f - t * TOP) === 0;
    signal f2;
    f2 <== f * f;
    signal f2EX;
    f2EX <== f2 * EX;
    signal f1EX;
    f1EX <== (f2 + 2 * f + 1) * EX;
    component fits = Num2Bits(BA);
    fits.in <== A - f2EX;
    component maximal = Num2Bits(BD);
    maximal.in <== f1EX - A - 1 + t * (A + 1);

    // ---- clipped error: v = m f |e| in [0, 2^(F+K)], q = v >> T, ec = sign(e) q
    signal mf;
    mf <== m * f;
    signal ae[C];
    signal v[C];
    component vb[C];
    for (var c = 0; c < C; c++) {
        ae[c] <== e[c] * (1 - 2 * Y[c]);
        v[c] <== mf * ae[c];
        vb[c] = Num2Bits(F + K + 1);
        vb[c].in <== v[c];
        var q = 0;
        for (var b = T; b <= F + K; b++) {
            q += vb[c].out[b] * (1 << (b - T));
        }
        ec[c] <== q * (1 - 2 * Y[c]);
    }
}

// The private step. Public inputs (protocol.PUBLIC_INPUTS order):
//   old_model, new_model as every task;
//   data    = Poseidon([BIND_DOMAIN, PARAMS_HASH, data_commitment, seed_commitment, rand_hi, rand_lo])
//             data_commitment = tree16([salt, n] ++ pack(X + 2^(BX-1), BX) ++ pack(Y, 1)) over N rows,
//             seed_commitment = Poseidon([SEED_DOMAIN, seed]);
//   context = Poseidon([DOMAIN, task_hi, task_lo, sender_hi, sender_lo, round, lr_q]).
template DpStep(D, C, N, K, BW, KX, BX, S, BLR, KE, F, T0, NOISE_K, THRESH, A, NU, BA, BD, NA, M,
                RB, RMAX, NB, PARAMS_HASH, DOMAIN, SEED_DOMAIN, PRF_DOMAIN, BIND_DOMAIN) {
    signal input old_model;
    signal input new_model;
    signal input data;
    signal input context;
    signal input W[C][D + 1];
    signal input X[N][D];
    signal input Y[N][C];
    signal input n;
    signal input salt;
    signal input seed;
    signal input rand_hi;
    signal input rand_lo;
    signal input task_hi;
    signal input task_lo;
    signal input sender_hi;
    signal input sender_lo;
    signal input round;
    signal input lr_q;

    var NW = C * (D + 1);
    var OFFW = 1 << (BW - 1);
    var ONE_X = 1 << KX;

    // ---- ranges of the private inputs
    component lrRange = Num2Bits(BLR);
    lrRange.in <== lr_q;
    component wr[C][D + 1];
    signal Wenc[C][D + 1];
    for (var c = 0; c < C; c++) {
        for (var d = 0; d <= D; d++) {
            wr[c][d] = SignedRange(BW);
            wr[c][d].in <== W[c][d];
            Wenc[c][d] <== wr[c][d].enc;
        }
    }
    component xr[N][D];
    for (var i = 0; i < N; i++) {
        for (var d = 0; d < D; d++) {
            xr[i][d] = SignedRange(BX);
            xr[i][d].in <== X[i][d];
        }
        var rowSum = 0;
        for (var c = 0; c < C; c++) {
            Y[i][c] * (Y[i][c] - 1) === 0;
            rowSum += Y[i][c];
        }
        rowSum === 1;
    }

    // ---- the PRF stream: round_key, then NB blocks of three 64-bit uniforms
    component hKey = Poseidon(4);
    hKey.inputs[0] <== PRF_DOMAIN;
    hKey.inputs[1] <== seed;
    hKey.inputs[2] <== rand_hi;
    hKey.inputs[3] <== rand_lo;
    component hBlock[NB];
    component blk[NB];
    for (var j = 0; j < NB; j++) {
        hBlock[j] = Poseidon(2);
        hBlock[j].inputs[0] <== hKey.out;
        hBlock[j].inputs[1] <== j;
        blk[j] = DpBlock(RB, RMAX);
        blk[j].h <== hBlock[j].out;
    }

    // ---- the mask: m_i = [key_i < THRESH] * [i < n], [i < n] a non-increasing bit prefix of sum n
    signal a[N];
    signal m[N];
    component keyCmp[N];
    var prefix = 0;
    for (var i = 0; i < N; i++) {
        a[i] <-- (i < n) ? 1 : 0;
        a[i] * (a[i] - 1) === 0;
        if (i > 0) {
            a[i] * (1 - a[i - 1]) === 0;
        }
        prefix += a[i];
        keyCmp[i] = Num2Bits(65);
        keyCmp[i].in <== blk[i \ 3].u[i % 3] + (1 << 64) - THRESH;
        m[i] <== (1 - keyCmp[i].out[64]) * a[i];
    }
    prefix === n;

    // ---- per record: forward, clip, masked clipped error
    component rec[N];
    for (var i = 0; i < N; i++) {
        rec[i] = DpRecord(D, C, K, BW, KX, F, KE, A, NU, BA, BD);
        rec[i].m <== m[i];
        for (var c = 0; c < C; c++) {
            for (var d = 0; d <= D; d++) {
                rec[i].Wenc[c][d] <== Wenc[c][d];
            }
            rec[i].Y[c] <== Y[i][c];
        }
        for (var d = 0; d < D; d++) {
            rec[i].X[d] <== X[i][d];
        }
    }

    // ---- noise, the clipped sum and the update
    component zs[2 * NW];
    for (var s = 0; s < 2 * NW; s++) {
        zs[s] = DpSample(T0);
        zs[s].u <== blk[(N + s) \ 3].u[(N + s) % 3];
    }
    signal prodEX[C][D][N];
    signal hl[C][D + 1];
    signal Wnew[C][D + 1];
    component upd[C][D + 1];
    for (var c = 0; c < C; c++) {
        for (var d = 0; d <= D; d++) {
            var g = 0;
            for (var i = 0; i < N; i++) {
                if (d < D) {
                    prodEX[c][d][i] <== rec[i].ec[c] * X[i][d];
                    g += prodEX[c][d][i];
                } else {
                    g += rec[i].ec[c] * ONE_X;
                }
            }
            var w = c * (D + 1) + d;
            hl[c][d] <== (g + zs[2 * w].z + NOISE_K * zs[2 * w + 1].z) * lr_q;
            upd[c][d] = DivClamp(NA, M, BW);
            upd[c][d].in <== (Wenc[c][d] - OFFW) * (1 << M) - hl[c][d];
            Wnew[c][d] <== upd[c][d].out;
        }
    }

    // ---- commitments and the binding
    component packOld = Pack(NW, BW);
    component packNew = Pack(NW, BW);
    for (var c = 0; c < C; c++) {
        for (var d = 0; d <= D; d++) {
            packOld.in[c * (D + 1) + d] <== Wenc[c][d];
            packNew.in[c * (D + 1) + d] <== Wnew[c][d];
        }
    }
    var MW = packedLength(NW, BW);
    component hOld = PoseidonTree16(MW);
    component hNew = PoseidonTree16(MW);
    for (var j = 0; j < MW; j++) {
        hOld.in[j] <== packOld.out[j];
        hNew.in[j] <== packNew.out[j];
    }
    old_model === hOld.out;
    new_model === hNew.out;

    component packX = Pack(N * D, BX);
    for (var i = 0; i < N; i++) {
        for (var d = 0; d < D; d++) {
            packX.in[i * D + d] <== xr[i][d].enc;
        }
    }
    component packY = Pack(N * C, 1);
    for (var i = 0; i < N; i++) {
        for (var c = 0; c < C; c++) {
            packY.in[i * C + c] <== Y[i][c];
        }
    }
    var MX = packedLength(N * D, BX);
    var MY = packedLength(N * C, 1);
    component hData = PoseidonTree16(2 + MX + MY);
    hData.in[0] <== salt;
    hData.in[1] <== n;
    for (var j = 0; j < MX; j++) {
        hData.in[2 + j] <== packX.out[j];
    }
    for (var j = 0; j < MY; j++) {
        hData.in[2 + MX + j] <== packY.out[j];
    }
    component hSeed = Poseidon(2);
    hSeed.inputs[0] <== SEED_DOMAIN;
    hSeed.inputs[1] <== seed;
    component hBind = Poseidon(6);
    hBind.inputs[0] <== BIND_DOMAIN;
    hBind.inputs[1] <== PARAMS_HASH;
    hBind.inputs[2] <== hData.out;
    hBind.inputs[3] <== hSeed.out;
    hBind.inputs[4] <== rand_hi;
    hBind.inputs[5] <== rand_lo;
    data === hBind.out;

    component hCtx = Poseidon(7);
    hCtx.inputs[0] <== DOMAIN;
    hCtx.inputs[1] <== task_hi;
    hCtx.inputs[2] <== task_lo;
    hCtx.inputs[3] <== sender_hi;
    hCtx.inputs[4] <== sender_lo;
    hCtx.inputs[5] <== round;
    hCtx.inputs[6] <== lr_q;
    context === hCtx.out;
}
