"""The JAX path equals the integer reference bit for bit; the Flax view round-trips."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wafl_sui import protocol as P
from wafl_sui.client import data
from wafl_sui.client import model as M


def _batch(spec, rng, xlo=None, xhi=None):
    n = spec.batch_size * spec.local_steps
    x = rng.integers(spec.feature_min if xlo is None else xlo, (spec.feature_max if xhi is None else xhi) + 1,
                     size=(n, spec.features))
    y = data.one_hot(rng.integers(0, spec.classes, size=n), spec.classes)
    return x, y


def _check(spec, w, x, y, lr_q):
    ref = P.local_training(list(map(int, w)), x.tolist(), y.tolist(), lr_q, spec)
    assert M.int_local_training(w, x, y, lr_q, spec).tolist() == ref


@given(st.integers(0, 2**32 - 1), st.sampled_from([(1, 2, 1, 1), (5, 3, 4, 1), (8, 4, 3, 2), (64, 10, 16, 1)]))
@settings(max_examples=25, deadline=None)
def test_jax_equals_reference_random(seed, shape):
    d, c, b, k = shape
    spec = P.StepSpec(features=d, classes=c, batch_size=b, local_steps=k)
    rng = np.random.default_rng(seed)
    w = rng.integers(spec.weight_min, spec.weight_max + 1, size=spec.num_weights)
    x, y = _batch(spec, rng)
    _check(spec, w, x, y, int(rng.integers(1, 1 << spec.lr_bits)))


@pytest.mark.parametrize("kind", ["zeros", "max", "min", "mixed_extremes"])
def test_jax_equals_reference_edges(kind):
    spec = P.StepSpec(features=6, classes=3, batch_size=4, local_steps=2)
    rng = np.random.default_rng(1)
    n = spec.num_weights
    w = {
        "zeros": np.zeros(n, dtype=np.int64),
        "max": np.full(n, spec.weight_max),
        "min": np.full(n, spec.weight_min),
        "mixed_extremes": np.where(np.arange(n) % 2, spec.weight_max, spec.weight_min),
    }[kind]
    for xlo, xhi in ((spec.feature_min, spec.feature_min), (spec.feature_max, spec.feature_max), (0, 0), (None, None)):
        x, y = _batch(spec, rng, xlo, xhi)
        for lr_q in (1, (1 << spec.lr_bits) - 1):
            _check(spec, w, x, y, lr_q)


def test_flax_view_round_trips_and_scores_match_fixed_point():
    spec = P.StepSpec(features=5, classes=3, batch_size=2, **P.WIDE_FORMAT)  # features in 1/16
    rng = np.random.default_rng(3)
    w = rng.integers(-(1 << 18), 1 << 18, size=spec.num_weights)
    m = M.to_flax(w, spec)
    assert (M.from_flax(m, spec) == w).all()
    x = rng.integers(0, 16, size=(4, 5))
    z = np.asarray(m(x / 16.0))
    wm = M.weights_matrix(w, spec)
    exact = (x @ wm[:, :5].T + 16 * wm[:, 5]) / (1 << (spec.frac_bits + spec.feature_frac_bits))
    assert np.allclose(z, exact, atol=1e-4)


def test_quantize_features_errors():
    spec = P.StepSpec()
    with pytest.raises(P.ProtocolError, match="NaN"):
        data.quantize_features(np.full((1, 64), np.nan), spec)
    with pytest.raises(P.ProtocolError, match="rescale"):
        data.quantize_features(np.full((1, 64), 5.0), spec)
    with pytest.raises(P.ProtocolError, match="shape"):
        data.quantize_features(np.zeros((1, 3)), spec)
    assert (data.quantize_features(np.full((2, 64), 1.0), spec) == 1 << spec.feature_frac_bits).all()


def test_digits_training_learns():
    spec = P.StepSpec()
    train, test = data.train_test_split(data.load_digits())
    rng = np.random.default_rng(0)
    w = np.zeros(spec.num_weights, dtype=np.int64)
    lr_q = P.lr_to_fixed(1.0, spec.batch_size)
    before = M.evaluate(M.to_flax(w, spec), test.x, test.y)
    for _ in range(60):
        x, y = data.sample_batch(train, spec, rng)
        w = M.int_local_training(w, x, y, lr_q, spec)
    after = M.evaluate(M.to_flax(w, spec), test.x, test.y)
    assert after.accuracy > 0.85 and after.loss < before.loss


def test_partitions_cover_the_data():
    ds = data.load_digits()
    for alpha in (None, 0.5):
        parts = data.partition(ds, 4, seed=1, alpha=alpha)
        assert sum(len(p) for p in parts) == len(ds)
