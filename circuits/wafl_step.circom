pragma circom 2.1.0;

// WaFL step circuit: local_steps exact integer SGD steps of the one-vs-rest hard-sigmoid linear
// model of wafl_sui/protocol/step.py (train_step / local_training), from committed old weights to
// committed new weights, on a committed private batch, bound to a public context hash.
//
// Public inputs, in this order (protocol.PUBLIC_INPUTS):
//   old_model = poseidon_tree16(pack(W + 2^(BW-1), BW))
//   new_model = poseidon_tree16(pack(W' + 2^(BW-1), BW))
//   data      = poseidon_tree16([salt] ++ pack(X + 2^(BX-1), BX) ++ pack(Y, 1))
//   context   = Poseidon([DOMAIN, task_hi, task_lo, sender_hi, sender_lo, round, lr_q])
//
// Parameters (see docs/CIRCUIT.md; wafl_sui/zk/circuit.py derives and checks them):
//   D features, C classes, B batch size, L local steps, K weight fraction bits, BW weight bits,
//   KX feature fraction bits, BX feature bits, S lr fraction bits, BLR lr bits,
//   NU bits of the score decomposition, NA bits of the update decomposition,
//   FOLD = 1: multiply the error by lr_q (B*C products) instead of the gradient (C*(D+1)),
//   DOMAIN = protocol.CONTEXT_DOMAIN.

include "fixed_point.circom";
include "commit.circom";

// One step: offset-encoded weights in, offset-encoded weights out.
template WaflTrainStep(D, C, B, K, BW, KX, BX, S, BLR, NU, NA, FOLD) {
    signal input Wenc[C][D + 1];   // W + 2^(BW-1), in [0, 2^BW) (range checked by the caller)
    signal input X[B][D];          // signed, range checked by the caller
    signal input Y[B][C];          // one-hot bits, checked by the caller
    signal input lr;               // lr_q, range checked by the caller
    signal output WencNew[C][D + 1];

    var OFFW = 1 << (BW - 1);
    var ONE_X = 1 << KX;           // the bias input 1.0 at scale 2^KX
    var FWD = KX + 2;              // protocol forward_shift
    var M = KX + S;                // protocol update_shift

    // ---- forward: u[i][c] = sum_d W[c][d] * X[i][d] + W[c][D] * 2^KX; p = hard sigmoid
    signal prodWX[B][C][D];
    component sig[B][C];
    for (var i = 0; i < B; i++) {
        for (var c = 0; c < C; c++) {
            var u = (Wenc[c][D] - OFFW) * ONE_X;
            for (var d = 0; d < D; d++) {
                prodWX[i][c][d] <== (Wenc[c][d] - OFFW) * X[i][d];
                u += prodWX[i][c][d];
            }
            // pred = clamp(floor(u / 2^FWD) + 2^(K-1), 0, 2^K - 1)
            sig[i][c] = DivClamp(NU, FWD, K);
            sig[i][c].in <== u;
        }
    }

    // ---- error e = p - y*2^K, in [-2^K, 2^K - 1]
    // ---- gradient times lr: G[c][d] = lr * sum_i e[i][c] * xa[i][d]
    signal elr[B][C];
    signal prodEX[C][D][B];
    signal glr[C][D + 1];
    for (var i = 0; i < B; i++) {
        for (var c = 0; c < C; c++) {
            if (FOLD == 1) {
                elr[i][c] <== (sig[i][c].out - Y[i][c] * (1 << K)) * lr;
            } else {
                elr[i][c] <== sig[i][c].out - Y[i][c] * (1 << K);
            }
        }
    }
    component upd[C][D + 1];
    for (var c = 0; c < C; c++) {
        for (var d = 0; d <= D; d++) {
            var g = 0;
            for (var i = 0; i < B; i++) {
                if (d < D) {
                    prodEX[c][d][i] <== elr[i][c] * X[i][d];
                    g += prodEX[c][d][i];
                } else {
                    g += elr[i][c] * ONE_X;
                }
            }
            if (FOLD == 1) {
                glr[c][d] <== g;
            } else {
                glr[c][d] <== g * lr;
            }
            // W' = clamp(floor((W * 2^M - G) / 2^M), -2^(BW-1), 2^(BW-1) - 1), offset encoded
            upd[c][d] = DivClamp(NA, M, BW);
            upd[c][d].in <== (Wenc[c][d] - OFFW) * (1 << M) - glr[c][d];
            WencNew[c][d] <== upd[c][d].out;
        }
    }
}

template WaflStep(D, C, B, L, K, BW, KX, BX, S, BLR, NU, NA, FOLD, DOMAIN) {
    // public inputs (order matters: it is the order of the Groth16 public signals)
    signal input old_model;
    signal input new_model;
    signal input data;
    signal input context;
    // private inputs
    signal input W[C][D + 1];
    signal input X[L * B][D];
    signal input Y[L * B][C];
    signal input salt;
    signal input task_hi;
    signal input task_lo;
    signal input sender_hi;
    signal input sender_lo;
    signal input round;
    signal input lr_q;

    var NW = C * (D + 1);

    // ---- ranges of the private inputs
    component lrRange = Num2Bits(BLR);
    lrRange.in <== lr_q;

    component wr[C][D + 1];
    signal Wenc[L + 1][C][D + 1];
    for (var c = 0; c < C; c++) {
        for (var d = 0; d <= D; d++) {
            wr[c][d] = SignedRange(BW);
            wr[c][d].in <== W[c][d];
            Wenc[0][c][d] <== wr[c][d].enc;
        }
    }
    component xr[L * B][D];
    for (var i = 0; i < L * B; i++) {
        for (var d = 0; d < D; d++) {
            xr[i][d] = SignedRange(BX);
            xr[i][d].in <== X[i][d];
        }
    }
    for (var i = 0; i < L * B; i++) {
        var rowSum = 0;
        for (var c = 0; c < C; c++) {
            Y[i][c] * (Y[i][c] - 1) === 0;
            rowSum += Y[i][c];
        }
        rowSum === 1;
    }

    // ---- the local steps, step s on rows [s*B, (s+1)*B)
    component step[L];
    for (var s = 0; s < L; s++) {
        step[s] = WaflTrainStep(D, C, B, K, BW, KX, BX, S, BLR, NU, NA, FOLD);
        step[s].lr <== lr_q;
        for (var c = 0; c < C; c++) {
            for (var d = 0; d <= D; d++) {
                step[s].Wenc[c][d] <== Wenc[s][c][d];
            }
        }
        for (var i = 0; i < B; i++) {
            for (var d = 0; d < D; d++) {
                step[s].X[i][d] <== X[s * B + i][d];
            }
            for (var c = 0; c < C; c++) {
                step[s].Y[i][c] <== Y[s * B + i][c];
            }
        }
        for (var c = 0; c < C; c++) {
            for (var d = 0; d <= D; d++) {
                Wenc[s + 1][c][d] <== step[s].WencNew[c][d];
            }
        }
    }

    // ---- commitments
    component packOld = Pack(NW, BW);
    component packNew = Pack(NW, BW);
    for (var c = 0; c < C; c++) {
        for (var d = 0; d <= D; d++) {
            packOld.in[c * (D + 1) + d] <== Wenc[0][c][d];
            packNew.in[c * (D + 1) + d] <== Wenc[L][c][d];
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

    component packX = Pack(L * B * D, BX);
    for (var i = 0; i < L * B; i++) {
        for (var d = 0; d < D; d++) {
            packX.in[i * D + d] <== xr[i][d].enc;
        }
    }
    component packY = Pack(L * B * C, 1);
    for (var i = 0; i < L * B; i++) {
        for (var c = 0; c < C; c++) {
            packY.in[i * C + c] <== Y[i][c];
        }
    }
    var MX = packedLength(L * B * D, BX);
    var MY = packedLength(L * B * C, 1);
    component hData = PoseidonTree16(1 + MX + MY);
    hData.in[0] <== salt;
    for (var j = 0; j < MX; j++) {
        hData.in[1 + j] <== packX.out[j];
    }
    for (var j = 0; j < MY; j++) {
        hData.in[1 + MX + j] <== packY.out[j];
    }
    data === hData.out;

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
