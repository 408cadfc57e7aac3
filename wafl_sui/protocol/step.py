"""The proven training step (twin of `circuits/wafl_step.circom`): one exact integer SGD step of
the one-vs-rest hard-sigmoid linear model, and `local_steps` of them per proof."""

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


def train_step(
    weights: Sequence[int], features: Sequence[Sequence[int]], labels: Sequence[Sequence[int]],
    lr_q: int, spec: StepSpec,
) -> list[int]:
    """One exact integer SGD step of the one-vs-rest hard-sigmoid linear model (one batch of B).

    xa = features ++ [2^KX]                                     (bias input 1.0)
    u[i][c]  = sum_d W[c][d] * xa[i][d]                         (scale 2^(K+KX))
    p[i][c]  = clamp(floor(u / 2^(KX+2)) + 2^(K-1), 0, 2^K - 1)  (hard sigmoid, scale 2^K)
    e[i][c]  = p - y*2^K
    g[c][d]  = sum_i e[i][c] * xa[i][d]                         (scale 2^(K+KX))
    W'[c][d] = clamp(floor((W*2^(KX+S) - g*lr_q) / 2^(KX+S)), -2^(BW-1), 2^(BW-1)-1)
    """
    d_, c_, k = spec.features, spec.classes, spec.frac_bits
    one_x = 1 << spec.feature_frac_bits
    w = [list(weights[c * (d_ + 1) : (c + 1) * (d_ + 1)]) for c in range(c_)]
    xa = [list(row) + [one_x] for row in features]
    err = []
    for xi, yi in zip(xa, labels):
        row = []
        for c in range(c_):
            u = sum(wc * xv for wc, xv in zip(w[c], xi))
            p = hard_sigmoid_fixed(u >> spec.forward_shift, k)
            row.append(p - (int(yi[c]) << k))
        err.append(row)
    m = spec.update_shift
    out = []
    for c in range(c_):
        for d in range(d_ + 1):
            g = sum(err[i][c] * xa[i][d] for i in range(len(xa)))
            t = ((w[c][d] << m) - g * lr_q) >> m
            out.append(min(max(t, spec.weight_min), spec.weight_max))
    return out


def local_training(
    weights: Sequence[int], features: Sequence[Sequence[int]], labels: Sequence[Sequence[int]],
    lr_q: int, spec: StepSpec,
) -> list[int]:
    """local_steps exact steps, step s on rows [s*B, (s+1)*B): what one proof attests."""
    validate_weights_signed(weights, spec)
    check_batch(features, labels, spec)
    check_lr_q(spec, lr_q)
    w = list(weights)
    b = spec.batch_size
    for s in range(spec.local_steps):
        w = train_step(w, features[s * b : (s + 1) * b], labels[s * b : (s + 1) * b], lr_q, spec)
    return w


