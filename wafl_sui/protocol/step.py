"""The proven training step (twin of the step circuit, `wafl_sui/zk/circuit.py`): one exact
integer SGD step of the model of the spec (dense layers, clamped-ReLU hidden layers, a one-vs-rest
hard-sigmoid output; no hidden layer: the linear model), and `local_steps` of them per proof."""

from __future__ import annotations

from typing import Sequence

from wafl_sui.protocol.errors import ProtocolError
from wafl_sui.protocol.spec import StepSpec, check_lr_q, validate_weights_signed


def check_batch(features: Sequence[Sequence[int]], labels: Sequence[Sequence[int]], spec: StepSpec) -> None:
    rows = spec.batch_size * spec.local_steps
    if len(features) != rows or len(labels) != rows:
        raise ProtocolError(
            "EWrongLength",
            f"a proof covers local_steps*batch_size = {rows} samples; got {len(features)} feature "
            f"rows and {len(labels)} label rows",
        )
    for i, row in enumerate(features):
        if len(row) != spec.features:
            raise ProtocolError("EWrongLength", f"feature row {i} has {len(row)} values, expected {spec.features}")
        for v in row:
            if not spec.feature_min <= int(v) <= spec.feature_max:
                raise ProtocolError(
                    "EValueOutOfBounds",
                    f"feature {v} in row {i} is outside [{spec.feature_min}, {spec.feature_max}] "
                    f"({spec.feature_bits} signed bits); rescale the data",
                )
    for i, row in enumerate(labels):
        if len(row) != spec.classes or any(int(v) not in (0, 1) for v in row) or sum(row) != 1:
            raise ProtocolError("EValueOutOfBounds", f"label row {i} is not one-hot over {spec.classes} classes")


def hard_sigmoid_fixed(q: int, frac_bits: int) -> int:
    """clamp(q + 1/2, 0, 1 - 2^-K) at scale 2^K, where q = floor(z/4) at scale 2^K."""
    return min(max(q + (1 << (frac_bits - 1)), 0), (1 << frac_bits) - 1)


def relu_fixed(z: int, shift: int, act_max: int) -> tuple[int, int]:
    """Clamped ReLU of a hidden layer: q = floor(z / 2^shift), a = clamp(q, 0, act_max), and its
    derivative mask = 1 if 0 <= q <= act_max else 0 (the unclamped region, ends included)."""
    q = z >> shift
    return min(max(q, 0), act_max), int(0 <= q <= act_max)


def layer_matrices(weights: Sequence[int], spec: StepSpec) -> list[list[list[int]]]:
    """The flat weights as one n_{l+1} x (n_l + 1) matrix per layer (bias last)."""
    dims, out = spec.layer_dims, []
    for l, off in enumerate(spec.layer_offsets):
        n_in, n_out = dims[l] + 1, dims[l + 1]
        out.append([list(weights[off + o * n_in : off + (o + 1) * n_in]) for o in range(n_out)])
    return out


def forward(
    mats: Sequence[Sequence[Sequence[int]]], features: Sequence[Sequence[int]], spec: StepSpec,
    extra: Sequence[int] | None = None,
) -> tuple[list[list[list[int]]], list[list[list[int]]], list[list[int]]]:
    """The integer forward pass of one batch: (inputs of each layer with the bias input
    appended, ReLU masks of each hidden layer, output probabilities p at scale 2^K).
    `extra[l]`: layer l's matrix is at scale 2^(K + extra[l]) (the carried weights of
    `exact_step`: extra = m_l); every division by a power of two then divides by 2^extra[l] more."""
    k, n = spec.frac_bits, spec.num_layers
    e = list(extra) if extra is not None else [0] * n
    a = [list(row) + [1 << spec.feature_frac_bits] for row in features]
    inputs, masks = [a], []
    for l in range(n - 1):
        sh, hi = spec.activation_shift(l) + e[l], spec.act_max
        nxt, msk = [], []
        for row in a:
            pairs = [relu_fixed(sum(wv * av for wv, av in zip(w_o, row)), sh, hi) for w_o in mats[l]]
            nxt.append([v for v, _ in pairs] + [1 << spec.act_frac_bits])
            msk.append([m for _, m in pairs])
        a = nxt
        inputs.append(a)
        masks.append(msk)
    fwd = spec.forward_shift + e[n - 1]
    p = [[hard_sigmoid_fixed(sum(wv * av for wv, av in zip(w_o, row)) >> fwd, k)
          for w_o in mats[n - 1]] for row in a]
    return inputs, masks, p


def carry_weights(weights: Sequence[int], spec: StepSpec) -> list[list[list[int]]]:
    """The weights as the exact carried matrices of `exact_step`: V_l = W_l * 2^m_l."""
    return [[[w << spec.layer_update_shift(l) for w in row] for row in mat]
            for l, mat in enumerate(layer_matrices(weights, spec))]


def round_carried(carried: Sequence[Sequence[Sequence[int]]], spec: StepSpec) -> list[int]:
    """The one rounding of a proof: W' = clamp(floor(V_l / 2^m_l), -2^(BW-1), 2^(BW-1)-1), flat."""
    out: list[int] = []
    for l, mat in enumerate(carried):
        m = spec.layer_update_shift(l)
        out.extend(min(max(v >> m, spec.weight_min), spec.weight_max) for row in mat for v in row)
    return out


def exact_step(
    carried: Sequence[Sequence[Sequence[int]]], features: Sequence[Sequence[int]],
    labels: Sequence[Sequence[int]], lr_q: int, spec: StepSpec,
) -> list[list[list[int]]]:
    """One exact integer SGD step on the carried weights V_l (scale 2^(K + m_l), m_l = k_l + S):
    nothing is rounded but the activations, the hard sigmoid and the back-propagated errors,
    all floor divisions.

    Forward, layer l = 0..L-1 with inputs a_l (a_0 = features at scale 2^KX; hidden activations
    at scale 2^KH), each row extended by the bias input 1.0 (2^KX, resp. 2^KH):
    z_l[i][o]  = sum_j V_l[o][j] * a_l[i][j]                    (scale 2^(K + m_l + k_l))
    hidden:  q = floor(z / 2^(K + k_l - KH + m_l)); a_{l+1} = clamp(q, 0, 2^BH - 1),
             mask_{l+1} = [0 <= q <= 2^BH - 1]
    output:  p[i][c] = clamp(floor(z / 2^(k_l + 2 + m_l)) + 2^(K-1), 0, 2^K - 1)   (hard sigmoid)
    Backward, from the output error delta_{L-1} = p - y*2^K (scale 2^K), with the step's V:
    s[i][j]           = sum_o V_l[o][j] * delta_l[i][o]          (j < n_l; scale 2^(2K + m_l))
    delta_{l-1}[i][j] = floor(s / 2^(K + m_l)) * mask_l[i][j]     (scale 2^K)
    Gradient and update, every layer:
    G_l[o][j]  = sum_i delta_l[i][o] * a_l[i][j]                  (scale 2^(K + k_l))
    V_l'[o][j] = V_l[o][j] - G_l[o][j] * lr_q                     (scale 2^(K + m_l), exact)
    With V = W * 2^m every division equals the old step's (floor(x*2^m / 2^(s+m)) = floor(x/2^s)).
    """
    n, k = spec.num_layers, spec.frac_bits
    ms = [spec.layer_update_shift(l) for l in range(n)]
    inputs, masks, p = forward(carried, features, spec, ms)
    delta = [[p[i][c] - (int(labels[i][c]) << k) for c in range(spec.classes)] for i in range(len(p))]
    deltas = [None] * n
    deltas[n - 1] = delta
    for l in range(n - 1, 0, -1):
        n_in, sh = spec.layer_dims[l], k + ms[l]
        deltas[l - 1] = [
            [(sum(carried[l][o][j] * di[o] for o in range(len(di))) >> sh) * masks[l - 1][i][j]
             for j in range(n_in)]
            for i, di in enumerate(deltas[l])]
    out = []
    for l in range(n):
        a, dl = inputs[l], deltas[l]
        out.append([[v - sum(dl[i][o] * a[i][j] for i in range(len(a))) * lr_q for j, v in enumerate(v_o)]
                    for o, v_o in enumerate(carried[l])])
    return out


def train_step(
    weights: Sequence[int], features: Sequence[Sequence[int]], labels: Sequence[Sequence[int]],
    lr_q: int, spec: StepSpec,
) -> list[int]:
    """One integer SGD step of the model (one batch of B), rounded: `exact_step` from
    V = W * 2^m, then `round_carried`. Written out (m_l = k_l + S):
    z = W.a; hidden a' = clamp(floor(z / 2^(K+k_l-KH)), 0, 2^BH-1); p = clamp(floor(z /
    2^(k_l+2)) + 2^(K-1), 0, 2^K-1); delta_{l-1} = floor(W^T.delta / 2^K) * mask;
    W' = clamp(floor((W*2^m_l - G*lr_q) / 2^m_l), -2^(BW-1), 2^(BW-1)-1).
    With no hidden layer this is the linear step (the same integers as before MLPs)."""
    return round_carried(exact_step(carry_weights(weights, spec), features, labels, lr_q, spec), spec)


def local_training(
    weights: Sequence[int], features: Sequence[Sequence[int]], labels: Sequence[Sequence[int]],
    lr_q: int, spec: StepSpec,
) -> list[int]:
    """What one proof attests: local_steps exact steps (`exact_step`, step s on rows
    [s*B, (s+1)*B)) on the weights carried exactly from V = W * 2^m, rounded and clipped ONCE at
    the end (`round_carried`). local_steps = 1 is `train_step`; for more steps the weights are
    not rounded between steps (bounds: `protocol.carried_bounds`)."""
    validate_weights_signed(weights, spec)
    check_batch(features, labels, spec)
    check_lr_q(spec, lr_q)
    v = carry_weights(weights, spec)
    b = spec.batch_size
    for s in range(spec.local_steps):
        v = exact_step(v, features[s * b : (s + 1) * b], labels[s * b : (s + 1) * b], lr_q, spec)
    return round_carried(v, spec)
