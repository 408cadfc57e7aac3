"""Exact local steps (issue #16): the weights are carried exactly between the local steps of a
proof and rounded once at the end (protocol.local_training). One local step is the old step;
an independent formulation (initial weights plus the exact accumulated update, in Fractions)
gives the same integers; the carried bounds hold on random and extreme inputs; JAX agrees."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from wafl_sui.protocol import StepSpec, carried_bounds, layer_bounds
from wafl_sui.protocol.step import (
    carry_weights, exact_step, forward, layer_matrices, local_training, round_carried, train_step,
)

SPECS = [
    dict(features=5, classes=3, batch_size=3, local_steps=4),                      # linear
    dict(features=4, classes=3, batch_size=2, local_steps=3, hidden=(3,)),
    dict(features=3, classes=2, batch_size=2, local_steps=2, hidden=(3, 2), act_bits=4, act_frac_bits=2),
    dict(features=4, classes=4, batch_size=2, local_steps=3, hidden=(6,), frac_bits=4, weight_bits=6),
]


def _case(spec, rng, extreme=False):
    def pick(lo, hi):
        return rng.choice([lo, hi]) if extreme else rng.randint(lo, hi)

    rows = spec.batch_size * spec.local_steps
    w = [pick(spec.weight_min, spec.weight_max) for _ in range(spec.num_weights)]
    x = [[pick(spec.feature_min, spec.feature_max) for _ in range(spec.features)] for _ in range(rows)]
    y = []
    for _ in range(rows):
        c = rng.randrange(spec.classes)
        y.append([int(i == c) for i in range(spec.classes)])
    return w, x, y


def _reference(spec, weights, feats, labels, lr_q):
    """local_training written independently: real weights W/2^K minus the exact accumulated
    update U/2^(K+m) (Fractions), every rounding a math.floor of a real value."""
    k, n = spec.frac_bits, spec.num_layers
    mats = layer_matrices(weights, spec)
    ms = [spec.layer_update_shift(l) for l in range(n)]
    acc = [[[0] * len(r) for r in m] for m in mats]  # U, at scale 2^(K + m_l)
    b = spec.batch_size
    for t in range(spec.local_steps):
        real = [[[Fraction(w, 1 << k) - Fraction(u, 1 << (k + ms[l])) for w, u in zip(r, ur)]
                 for r, ur in zip(mats[l], acc[l])] for l in range(n)]
        rows = range(t * b, (t + 1) * b)
        acts = [[list(feats[i]) + [1 << spec.feature_frac_bits] for i in rows]]  # integers
        scales = [spec.feature_frac_bits]
        masks = []
        for l in range(n - 1):
            nxt, msk = [], []
            for a in acts[-1]:
                zs = [sum(w * Fraction(v, 1 << scales[-1]) for w, v in zip(r, a)) for r in real[l]]
                qs = [math.floor(z * (1 << spec.act_frac_bits)) for z in zs]
                nxt.append([min(max(q, 0), spec.act_max) for q in qs] + [1 << spec.act_frac_bits])
                msk.append([int(0 <= q <= spec.act_max) for q in qs])
            acts.append(nxt)
            masks.append(msk)
            scales.append(spec.act_frac_bits)
        delta = []
        for a, i in zip(acts[-1], rows):
            zs = [sum(w * Fraction(v, 1 << scales[-1]) for w, v in zip(r, a)) for r in real[n - 1]]
            p = [min(max(math.floor(z * (1 << k) / 4) + (1 << (k - 1)), 0), (1 << k) - 1) for z in zs]
            delta.append([pc - (labels[i][c] << k) for c, pc in enumerate(p)])
        deltas = [None] * n
        deltas[n - 1] = delta
        for l in range(n - 1, 0, -1):
            deltas[l - 1] = [[math.floor(sum(real[l][o][j] * d[o] for o in range(len(d)))) * masks[l - 1][i][j]
                              for j in range(spec.layer_dims[l])] for i, d in enumerate(deltas[l])]
        for l in range(n):
            for o in range(len(mats[l])):
                for j in range(len(mats[l][o])):
                    g = sum(deltas[l][i][o] * acts[l][i][j] for i in range(b))
                    acc[l][o][j] += g * lr_q
    out = []
    for l in range(n):
        for r, ur in zip(mats[l], acc[l]):
            out += [min(max(((w << ms[l]) - u) >> ms[l], spec.weight_min), spec.weight_max) for w, u in zip(r, ur)]
    return out


@pytest.mark.parametrize("kw", SPECS)
def test_local_training_is_initial_weights_plus_exact_update_rounded_once(kw):
    spec = StepSpec(**kw)
    rng = random.Random(21)
    for trial in range(6):
        w, x, y = _case(spec, rng, extreme=trial % 3 == 1)
        lr_q = rng.choice([1, (1 << spec.lr_bits) - 1, rng.randint(1, (1 << spec.lr_bits) - 1)])
        assert local_training(w, x, y, lr_q, spec) == _reference(spec, w, x, y, lr_q)


@pytest.mark.parametrize("kw", SPECS)
def test_one_local_step_is_the_rounded_step(kw):
    spec = StepSpec(**{**kw, "local_steps": 1})
    rng = random.Random(4)
    for trial in range(8):
        w, x, y = _case(spec, rng, extreme=trial % 2 == 1)
        lr_q = rng.randint(1, (1 << spec.lr_bits) - 1)
        got = local_training(w, x, y, lr_q, spec)
        assert got == train_step(w, x, y, lr_q, spec) == _reference(spec, w, x, y, lr_q)


def test_train_step_is_the_old_formula():
    """train_step written as before exact carrying (per-step floor and clamp of W*2^m - G*lr)."""
    spec = StepSpec(features=4, classes=3, batch_size=2, hidden=(3,))
    rng = random.Random(9)
    k = spec.frac_bits
    for _ in range(6):
        w, x, y = _case(spec, rng)
        mats = layer_matrices(w, spec)
        inputs, masks, p = forward(mats, x, spec)
        d1 = [[p[i][c] - (y[i][c] << k) for c in range(spec.classes)] for i in range(len(p))]
        d0 = [[(sum(mats[1][o][j] * d[o] for o in range(spec.classes)) >> k) * masks[0][i][j] for j in range(3)]
              for i, d in enumerate(d1)]
        want = []
        for l, dl in ((0, d0), (1, d1)):
            m = spec.layer_update_shift(l)
            for o, r in enumerate(mats[l]):
                for j, wv in enumerate(r):
                    g = sum(dl[i][o] * inputs[l][i][j] for i in range(2))
                    want.append(min(max(((wv << m) - g * 77) >> m, spec.weight_min), spec.weight_max))
        assert train_step(w, x, y, 77, spec) == want


def test_exact_carrying_differs_from_rounding_every_step():
    """Small updates accumulate instead of being floored away step by step."""
    spec = StepSpec(features=5, classes=3, batch_size=3, local_steps=4)
    rng = random.Random(2)
    differs = 0
    for _ in range(10):
        w, x, y = _case(spec, rng)
        stepwise = w
        for t in range(4):
            stepwise = train_step(stepwise, x[3 * t:3 * t + 3], y[3 * t:3 * t + 3], 1, spec)
        differs += local_training(w, x, y, 1, spec) != stepwise
    assert differs


def _observed(spec, v, feats, labels):
    """Per layer: max |V|, |z|, |delta|, |s| of one exact step from carried V (recomputed)."""
    n, k = spec.num_layers, spec.frac_bits
    ms = [spec.layer_update_shift(l) for l in range(n)]
    inputs, masks, p = forward(v, feats, spec, ms)
    deltas = [None] * n
    deltas[n - 1] = [[p[i][c] - (labels[i][c] << k) for c in range(spec.classes)] for i in range(len(p))]
    smax = [0] * n
    for l in range(n - 1, 0, -1):
        sums = [[sum(v[l][o][j] * d[o] for o in range(len(d))) for j in range(spec.layer_dims[l])] for d in deltas[l]]
        smax[l] = max(abs(x) for r in sums for x in r)
        deltas[l - 1] = [[(x >> (k + ms[l])) * masks[l - 1][i][j] for j, x in enumerate(r)] for i, r in enumerate(sums)]
    out = []
    for l in range(n):
        z = max(abs(sum(a * b for a, b in zip(r, row))) for r in v[l] for row in inputs[l])
        out.append((max(abs(x) for r in v[l] for x in r), z, max(abs(x) for r in deltas[l] for x in r), smax[l]))
    return out


@pytest.mark.parametrize("kw", SPECS)
def test_carried_bounds_hold_on_random_and_extreme_inputs(kw):
    spec = StepSpec(**kw)
    steps, final = carried_bounds(spec)
    rng = random.Random(13)
    b = spec.batch_size
    for trial in range(10):
        w, x, y = _case(spec, rng, extreme=trial % 2 == 1)
        lr_q = (1 << spec.lr_bits) - 1
        v = carry_weights(w, spec)
        for t in range(spec.local_steps):
            for l, (vm, z, d, s) in enumerate(_observed(spec, v, x[t * b:(t + 1) * b], y[t * b:(t + 1) * b])):
                cb = steps[t][l]
                assert vm <= cb.v_max and z <= cb.z_max and d <= cb.d_max and s <= cb.s_max
            v = exact_step(v, x[t * b:(t + 1) * b], y[t * b:(t + 1) * b], lr_q, spec)
        for l in range(spec.num_layers):
            assert max(abs(e) for r in v[l] for e in r) <= final[l]
        round_carried(v, spec)


@pytest.mark.parametrize("kw", SPECS + [dict(hidden=(32,), local_steps=4), dict(local_steps=4)])
def test_first_carried_step_is_layer_bounds_at_the_finer_scale(kw):
    spec = StepSpec(**kw)
    steps, final = carried_bounds(spec)
    for l, (lb, cb) in enumerate(zip(layer_bounds(spec), steps[0])):
        m = spec.layer_update_shift(l)
        assert cb.z_max == lb.z_max << m and cb.s_max == lb.s_max << m
        assert cb.d_max == lb.d_max and cb.glr_max == lb.glr_max
        assert cb.v_max + cb.glr_max == lb.upd_max
    one = carried_bounds(StepSpec(**{**kw, "local_steps": 1}))[1]
    assert one == [lb.upd_max for lb in layer_bounds(spec)]
    assert all(f >= o for f, o in zip(final, one))


@pytest.mark.parametrize("kw", [dict(local_steps=4), dict(hidden=(8,), local_steps=2, batch_size=4)])
def test_jax_equals_protocol_on_digits_sized_specs(kw):
    """Digits-format specs (linear 64-10 with 4 local steps, an MLP): random, extreme, zero rows."""
    from wafl_sui.client import model as M

    spec = StepSpec(**kw)
    rng = random.Random(3)
    for trial in range(3):
        w, x, y = _case(spec, rng, extreme=trial == 1)
        if trial == 2:
            x[0] = [0] * spec.features
        lr_q = rng.choice([1, 255, 64])
        assert M.int_local_training(w, x, y, lr_q, spec).tolist() == local_training(w, x, y, lr_q, spec)


@pytest.mark.slow
def test_a_proof_of_carried_local_steps_verifies_on_the_sui_bytes():
    """An MLP with two carried local steps: proved, verified on the Sui bytes; the same proof
    against the public inputs of the step rounded after every local step does not verify."""
    from wafl_sui import protocol
    from wafl_sui.client.step_proof import prove_step
    from wafl_sui.client.stepfile import DEMO_SENDER, DEMO_TASK_ID
    from wafl_sui.zk import sui_bytes
    from wafl_sui.zk.setup import ensure_keys

    spec = StepSpec(features=3, classes=2, batch_size=2, local_steps=2, hidden=(3,))
    rng = random.Random(17)
    while True:  # a case where carrying exactly and rounding every step differ (most do)
        w, x, y = _case(spec, rng)
        stepwise = train_step(train_step(w, x[:2], y[:2], 200, spec), x[2:], y[2:], 200, spec)
        if stepwise != local_training(w, x, y, 200, spec):
            break
    step = {"weights": w, "features": x, "labels": y, "salt": 99, "task_id": DEMO_TASK_ID,
            "sender": DEMO_SENDER, "round": 1, "lr_q": 200}
    res = prove_step(spec, step, keys=ensure_keys(spec))
    assert res.verified and res.new_weights == local_training(w, x, y, 200, spec)
    other = protocol.public_inputs_bytes([res.public_signals[0], protocol.model_commitment(stepwise, spec),
                                          *res.public_signals[2:]])
    assert not sui_bytes.verify_raw(res.vk, other, res.proof)
