"""The MLP in the protocol: the spec carries the architecture (backwards compatible with the
linear specs), the bounds are sound, and the integer step is the backprop step it says it is."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from wafl_sui import protocol
from wafl_sui.protocol import ProtocolError, StepSpec
from wafl_sui.protocol.spec import layer_bounds
from wafl_sui.protocol.step import (
    carry_weights, exact_step, forward, layer_matrices, local_training, round_carried, train_step,
)

MLP = dict(features=64, classes=10, batch_size=16, hidden=(32,))


# --------------------------------------------------------------------------- the spec
def test_linear_spec_json_is_unchanged():
    """A linear spec's JSON (hashed into circuits, stored by ledgers) has exactly the old fields."""
    s = StepSpec()
    assert s.canonical_json() == (
        '{"batch_size":16,"classes":10,"feature_bits":5,"feature_frac_bits":3,"features":64,'
        '"frac_bits":10,"local_steps":1,"lr_bits":8,"lr_frac_bits":8,"weight_bits":14}')
    assert StepSpec.from_dict(json.loads(s.canonical_json())) == s
    assert s.num_weights == 650 and s.layer_dims == (64, 10) and s.is_linear


def test_mlp_spec_round_trips_and_sizes():
    s = StepSpec(**MLP)
    d = json.loads(s.canonical_json())
    assert d["hidden"] == [32] and d["act_bits"] == 8 and d["act_frac_bits"] == 6
    assert StepSpec.from_dict(d) == s
    assert s.layer_sizes == (32 * 65, 10 * 33) and s.num_weights == 2410
    assert s.layer_offsets == (0, 2080)
    arch = s.architecture()
    assert arch == [{"in": 64, "out": 32, "activation": "relu", "max": 255 / 64},
                    {"in": 32, "out": 10, "activation": "hard_sigmoid"}]
    assert StepSpec(features=4, classes=3, batch_size=2, hidden=[5, 4]).num_weights == 5 * 5 + 4 * 6 + 3 * 5


@pytest.mark.parametrize("kw,fragment", [
    (dict(hidden=(0,)), "hidden layer 0"),
    (dict(hidden=(4,) * 9), "at most 8 hidden layers"),
    (dict(hidden=(4,), act_bits=0), "act_bits"),
    (dict(hidden=(4,), act_bits=33), "act_bits"),
    (dict(hidden=(4,), act_frac_bits=14), "act_frac_bits"),
    (dict(hidden="abc"), "hidden must be a list"),
    (dict(hidden=(1 << 60,) * 8, weight_bits=32, frac_bits=1, act_frac_bits=0, lr_bits=64), "intermediate values need"),
])
def test_bad_architectures_are_refused(kw, fragment):
    with pytest.raises(ProtocolError, match=fragment) as e:
        StepSpec(**{**MLP, **kw})
    assert e.value.name == "EInvalidSpec"


def test_linear_spec_ignores_the_activation_format():
    """Old linear specs with few fraction bits stay valid whatever the (unused) activation format."""
    s = StepSpec(features=1, classes=2, batch_size=1, frac_bits=4, weight_bits=8, feature_frac_bits=1,
                 feature_bits=4, lr_frac_bits=2, lr_bits=4)
    assert s.act_frac_bits == 6 and s.is_linear


def test_max_intermediate_bits_of_the_linear_spec_is_the_old_formula():
    for kw in (dict(), protocol.WIDE_FORMAT, dict(features=4, classes=3, batch_size=2, local_steps=3)):
        s = StepSpec(**kw)
        xa = max(1 << (s.feature_bits - 1), 1 << s.feature_frac_bits)
        glr = s.batch_size * (1 << s.frac_bits) * xa * ((1 << s.lr_bits) - 1)
        w = (1 << (s.weight_bits - 1)) << s.update_shift
        u = (s.features + 1) * (1 << (s.weight_bits - 1)) * xa
        assert protocol.max_intermediate_bits(s) == max((w + glr).bit_length(), u.bit_length())


# --------------------------------------------------------------------------- bounds are sound
def _random_case(spec, rng, extreme=False):
    def w():
        return rng.choice([spec.weight_min, spec.weight_max]) if extreme else rng.randint(spec.weight_min, spec.weight_max)

    def x():
        return rng.choice([spec.feature_min, spec.feature_max]) if extreme else rng.randint(spec.feature_min, spec.feature_max)

    rows = spec.batch_size * spec.local_steps
    weights = [w() for _ in range(spec.num_weights)]
    feats = [[x() for _ in range(spec.features)] for _ in range(rows)]
    labels = []
    for _ in range(rows):
        c = rng.randrange(spec.classes)
        labels.append([int(i == c) for i in range(spec.classes)])
    return weights, feats, labels


def _intermediates(spec, weights, feats, labels, lr_q):
    """Every layer's largest |z|, |s|, |update numerator| of one step (recomputed directly)."""
    mats = layer_matrices(weights, spec)
    inputs, masks, p = forward(mats, feats, spec)
    k, n = spec.frac_bits, spec.num_layers
    deltas = [None] * n
    deltas[n - 1] = [[p[i][c] - (labels[i][c] << k) for c in range(spec.classes)] for i in range(len(p))]
    smax = [0] * n
    for l in range(n - 1, 0, -1):
        sums = [[sum(mats[l][o][j] * d[o] for o in range(len(d))) for j in range(spec.layer_dims[l])] for d in deltas[l]]
        smax[l] = max(abs(v) for row in sums for v in row)
        deltas[l - 1] = [[(v >> k) * masks[l - 1][i][j] for j, v in enumerate(row)] for i, row in enumerate(sums)]
    out = []
    for l in range(n):
        z = max(abs(sum(a * b for a, b in zip(w_o, row))) for w_o in mats[l] for row in inputs[l])
        m = spec.layer_update_shift(l)
        upd = max(abs((w << m) - sum(deltas[l][i][o] * inputs[l][i][j] for i in range(len(inputs[l]))) * lr_q)
                  for o, w_o in enumerate(mats[l]) for j, w in enumerate(w_o))
        dm = max(abs(v) for row in deltas[l] for v in row)
        out.append((z, smax[l], upd, dm))
    return out


@pytest.mark.parametrize("kw", [dict(features=5, classes=3, batch_size=3, hidden=(4,)),
                                dict(features=3, classes=2, batch_size=2, hidden=(3, 2), act_bits=4, act_frac_bits=2),
                                dict(features=4, classes=4, batch_size=2, hidden=(6,), frac_bits=4, weight_bits=6)])
def test_layer_bounds_hold_on_random_and_extreme_inputs(kw):
    spec = StepSpec(**kw)
    rng = random.Random(7)
    bounds = layer_bounds(spec)
    lr_q = (1 << spec.lr_bits) - 1
    for trial in range(40):
        weights, feats, labels = _random_case(spec, rng, extreme=trial % 2 == 1)
        for l, (z, s, upd, dm) in enumerate(_intermediates(spec, weights, feats[:spec.batch_size],
                                                            labels[:spec.batch_size], lr_q)):
            b = bounds[l]
            assert z <= b.z_max and s <= b.s_max and upd <= b.upd_max and dm <= b.d_max


# --------------------------------------------------------------------------- the step
def _float_backprop_step(spec, weights, feats, labels, lr_q):
    """The same step in float64 with no rounding (the rule the integers approximate)."""
    k = spec.frac_bits
    mats = [np.array(m, dtype=np.float64) / (1 << k) for m in layer_matrices(weights, spec)]
    a = np.array(feats, dtype=np.float64) / (1 << spec.feature_frac_bits)
    y = np.array(labels, dtype=np.float64)
    hi = spec.act_max / (1 << spec.act_frac_bits)
    acts, masks = [a], []
    for m in mats[:-1]:
        z = np.concatenate([a, np.ones((len(a), 1))], axis=1) @ m.T
        masks.append(((z >= 0) & (z <= hi)).astype(np.float64))
        a = np.clip(z, 0, hi)
        acts.append(a)
    z = np.concatenate([a, np.ones((len(a), 1))], axis=1) @ mats[-1].T
    delta = np.clip(z / 4 + 0.5, 0, 1) - y
    lr = lr_q / (1 << spec.lr_frac_bits)
    new = [None] * len(mats)
    for l in range(len(mats) - 1, -1, -1):
        aa = np.concatenate([acts[l], np.ones((len(acts[l]), 1))], axis=1)
        new[l] = mats[l] - lr * delta.T @ aa
        if l:
            delta = (delta @ mats[l][:, :-1]) * masks[l - 1]
    return np.concatenate([m.reshape(-1) for m in new])


def test_mlp_step_is_backprop_in_fixed_point():
    """With fine fixed point, the integer step is the float backprop step up to rounding."""
    spec = StepSpec(features=6, classes=3, batch_size=4, hidden=(5, 4), frac_bits=16, weight_bits=24,
                    feature_frac_bits=8, feature_bits=12, act_frac_bits=12, act_bits=16,
                    lr_frac_bits=12, lr_bits=12)
    rng = np.random.default_rng(3)
    weights = [int(v) for v in rng.integers(-(1 << 15), 1 << 15, spec.num_weights)]
    feats = rng.integers(-(1 << 9), 1 << 9, (4, 6)).tolist()
    labels = np.eye(3, dtype=int)[rng.integers(0, 3, 4)].tolist()
    lr_q = 600
    got = np.array(train_step(weights, feats, labels, lr_q, spec), dtype=np.float64) / (1 << 16)
    want = _float_backprop_step(spec, weights, feats, labels, lr_q)
    old = np.array(weights, dtype=np.float64) / (1 << 16)
    assert np.abs(got - old).max() > 0.01  # the step moved the weights
    assert np.abs(got - want).max() < 2e-3


def test_mlp_local_training_chains_steps_and_validates():
    spec = StepSpec(features=3, classes=2, batch_size=2, local_steps=3, hidden=(4,))
    rng = random.Random(1)
    weights, feats, labels = _random_case(spec, rng)
    v = carry_weights(weights, spec)
    for s in range(3):
        v = exact_step(v, feats[2 * s:2 * s + 2], labels[2 * s:2 * s + 2], 40, spec)
    assert local_training(weights, feats, labels, 40, spec) == round_carried(v, spec)
    with pytest.raises(ProtocolError, match="EWrongLength"):
        local_training(weights[:-1], feats, labels, 40, spec)


def test_saturated_activations_pass_no_gradient():
    """A hidden unit clamped at 0 or at its max gets no error: its incoming weights keep their
    value (lr times a zero gradient), while an active unit's weights move."""
    spec = StepSpec(features=2, classes=2, batch_size=1, hidden=(3,))
    one = 1 << spec.frac_bits
    # unit 0: z hugely negative (clamped at 0); unit 1: huge (clamped at max); unit 2: active
    hidden = [[-8 * one + 1, -8 * one + 1, 0], [8 * one - 1, 8 * one - 1, 0], [one // 4, 0, 0]]
    out = [[one, one, one, 0], [-one, -one, -one, 0]]
    weights = [v for row in hidden + out for v in row]
    feats, labels = [[15, 15]], [[0, 1]]
    mats = layer_matrices(weights, spec)
    _, masks, _ = forward(mats, feats, spec)
    assert masks[0][0] == [0, 0, 1]
    new = train_step(weights, feats, labels, 100, spec)
    assert new[0:6] == weights[0:6]  # the clamped units' rows
    assert new[6:9] != weights[6:9]


def test_zero_rows_update_only_biases_of_the_first_layer():
    spec = StepSpec(features=3, classes=2, batch_size=2, hidden=(2,))
    rng = random.Random(5)
    weights, _, labels = _random_case(spec, rng)
    new = train_step(weights, [[0, 0, 0], [0, 0, 0]], labels[:2], 200, spec)
    for o in range(2):  # the first layer's feature columns do not move: the inputs are zero
        assert new[o * 4:o * 4 + 3] == weights[o * 4:o * 4 + 3]


# --------------------------------------------------------------------------- JAX equals the protocol
JAX_SPECS = [
    dict(features=5, classes=3, batch_size=3, hidden=(4,)),
    dict(features=6, classes=4, batch_size=2, local_steps=3, hidden=(5, 3), act_bits=5, act_frac_bits=3),
    dict(features=8, classes=3, batch_size=4, local_steps=2, hidden=(7,), act_frac_bits=0, act_bits=2),
    dict(features=4, classes=2, batch_size=2, hidden=(3,), frac_bits=16, weight_bits=24, feature_frac_bits=4,
         feature_bits=6, lr_frac_bits=16, lr_bits=16, act_frac_bits=12, act_bits=16),
]


@pytest.mark.parametrize("kw", JAX_SPECS)
def test_jax_mlp_step_equals_protocol_bit_for_bit(kw):
    """Random, extreme (all weights and features at the range ends: saturated activations and
    clamped updates) and zero-row batches: the JAX int64 step equals protocol.local_training."""
    from wafl_sui.client import model as M

    spec = StepSpec(**kw)
    rng = random.Random(11)
    for trial in range(12):
        weights, feats, labels = _random_case(spec, rng, extreme=trial % 3 == 1)
        if trial % 3 == 2:
            feats[0] = [0] * spec.features
        lr_q = rng.choice([1, (1 << spec.lr_bits) - 1, rng.randint(1, (1 << spec.lr_bits) - 1)])
        want = local_training(weights, feats, labels, lr_q, spec)
        assert M.int_local_training(weights, feats, labels, lr_q, spec).tolist() == want


def test_flax_view_of_an_mlp_round_trips():
    from wafl_sui import models
    from wafl_sui.client import model as M

    spec = StepSpec(features=6, classes=3, batch_size=2, hidden=(5,))
    rng = random.Random(2)
    weights, _, _ = _random_case(spec, rng)
    net = M.to_flax(weights, spec)
    assert M.from_flax(net, spec).tolist() == weights
    assert models.from_flax(net).weights == weights

