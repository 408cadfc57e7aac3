"""The privacy accountant (wafl_sui/client/privacy_accounting.py) and the exact pmf of the
sampler (protocol.dp_noise): the pmf is exact, the TV check can fail, epsilon moves the right
way, calibrate meets its target and max_steps agrees with epsilon."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import mpmath
import pytest
from dp_accounting import dp_event
from dp_accounting.rdp import RdpAccountant

from wafl_sui.client import privacy_accounting as pa
from wafl_sui.protocol import ProtocolError, dp_noise, privacy

D = 650  # digits, linear: 10 x 65 weights


def params(**kw) -> privacy.DpParams:
    base = dict(records=359, clip_frac_bits=6, clip_q=1024, clip_factor_bits=12, noise_sigma0=39, noise_tail=347,
                noise_k=26, sample_threshold=round(64 / 359 * 2 ** 64), target_epsilon_milli=8000,
                target_delta_pico=10_000_000)
    base.update(kw)
    return privacy.DpParams(**base)


@pytest.mark.parametrize("sigma0,k", [(1, 1), (3, 2), (7, 4)])
def test_the_pmfs_sum_to_one_exactly_and_match_a_brute_force_convolution(sigma0, k):
    table = dp_noise.noise_table(sigma0, dp_noise.max_tail(sigma0))
    base = [Fraction(c, 2 ** 64) for c in dp_noise.base_pmf(table)]
    assert sum(base) == 1 and all(p > 0 for p in base)
    tail = (len(table) - 2) // 2
    lowest, counts = dp_noise.coordinate_pmf(table, k)
    coord = [Fraction(c, 2 ** 128) for c in counts]
    assert sum(coord) == 1
    brute: dict[int, Fraction] = {}
    for i, p1 in enumerate(base):
        for j, p2 in enumerate(base):
            v = (i - tail) + k * (j - tail)
            brute[v] = brute.get(v, Fraction(0)) + p1 * p2
    assert {lowest + i: p for i, p in enumerate(coord) if p} == brute


def test_sample_noise_inverts_the_table_at_every_boundary():
    table = dp_noise.noise_table(5, dp_noise.max_tail(5))
    tail = (len(table) - 2) // 2
    for j in range(len(table) - 1):
        assert dp_noise.sample_noise(table[j], table) == j - tail
        assert dp_noise.sample_noise(table[j + 1] - 1, table) == j - tail
    with pytest.raises(ProtocolError):
        dp_noise.sample_noise(1 << 64, table)


def test_max_tail_is_the_longest_valid_table():
    for sigma0 in (1, 4, 30):
        t = dp_noise.max_tail(sigma0)
        dp_noise.noise_table(sigma0, t)
        with pytest.raises(ProtocolError, match="too long"):
            dp_noise.noise_table(sigma0, t + 1)


def test_tv_is_tiny_under_smoothing_and_large_when_k_violates_it():
    assert pa.noise_tv(10, dp_noise.max_tail(10), 6) < 1e-17
    assert pa.noise_tv(39, 347, 26) < 1e-17
    assert pa.noise_tv(10, dp_noise.max_tail(10), 30) > 1e-3  # k = 3 sigma0: lumpy modulo k
    lumpy = params(noise_sigma0=10, noise_tail=dp_noise.max_tail(10), noise_k=30, clip_q=300)
    with pytest.raises(ProtocolError, match="EInvalidPrivacy.*sampler"):
        pa.epsilon(lumpy, D, 25)


def test_tv_agrees_with_a_direct_sum():
    sigma0, k = 3, 2
    tail = dp_noise.max_tail(sigma0)
    lowest, counts = dp_noise.coordinate_pmf(dp_noise.noise_table(sigma0, tail), k)
    with mpmath.workdps(60):
        s2 = mpmath.mpf(sigma0 ** 2 * (1 + k * k))
        norm = mpmath.nsum(lambda v: mpmath.exp(-v * v / (2 * s2)), [-mpmath.inf, mpmath.inf])
        g = lambda v: mpmath.exp(-mpmath.mpf(v) ** 2 / (2 * s2)) / norm  # noqa: E731
        inside = [g(lowest + i) for i in range(len(counts))]
        tv = (mpmath.fsum(abs(mpmath.mpf(c) / 2 ** 128 - gi) for c, gi in zip(counts, inside))
              + 1 - mpmath.fsum(inside)) / 2
    assert pa.noise_tv(sigma0, tail, k) == pytest.approx(float(tv), rel=1e-6)


def test_limb_distance_is_below_2_to_the_minus_61():
    assert 0 < pa.limb_tv() < 2.0 ** -61


def test_epsilon_grows_with_steps_and_falls_with_noise():
    p = params()
    e = [pa.epsilon(p, D, t) for t in (1, 5, 25, 100)]
    assert e == sorted(e) and e[0] < e[-1]
    assert pa.epsilon(p, D, 0) == 0.0
    noisier = params(noise_sigma0=52, noise_tail=dp_noise.max_tail(52), noise_k=35)
    assert pa.epsilon(noisier, D, 25) < pa.epsilon(p, D, 25)


def test_epsilon_agrees_with_the_continuous_gaussian_and_is_not_below_it():
    p = params()
    acc = RdpAccountant()  # default orders, fractional ones included
    acc.compose(dp_event.PoissonSampledDpEvent(p.sample_rate, dp_event.GaussianDpEvent(pa.noise_multiplier(p))), 25)
    continuous = acc.get_epsilon(p.target_delta)
    ours = pa.epsilon(p, D, 25)
    assert continuous <= ours <= continuous * 1.03
    # the total delta at the returned epsilon is within the target, and just below it is not
    assert pa.total_delta(p, D, 25, ours) <= p.target_delta < pa.total_delta(p, D, 25, ours * (1 - 1e-6))


def test_max_steps_is_consistent_with_epsilon():
    p = params(target_epsilon_milli=3000)
    t = pa.max_steps(p, D)
    assert t >= 1
    assert pa.epsilon(p, D, t) <= 3.0 < pa.epsilon(p, D, t + 1)
    assert pa.max_steps(params(target_epsilon_milli=1), D) == 0


def test_calibrate_meets_the_target():
    p = pa.calibrate(target_epsilon=3.0, target_delta=1e-5, steps=25, records=359, clip=2.0, clip_frac_bits=6,
                     feature_frac_bits=3, d=D, expected_batch=64)
    assert p.clip_q == 1024 and p.sample_threshold == round(64 / 359 * 2 ** 64)
    assert 1 <= p.noise_k <= pa.SMOOTHING_RATIO * p.noise_sigma0
    assert p.noise_tail == dp_noise.max_tail(p.noise_sigma0)
    assert pa.epsilon(p, D, 25) <= 3.0 and p.max_contributions >= 25
    privacy.check_params(p, frac_bits=10, feature_frac_bits=3, lr_frac_bits=8)
    d = pa.describe(p, D, 25, feature_frac_bits=3)
    assert set(d) == {"epsilon", "delta", "clip", "clip_q", "noise_multiplier", "sample_rate", "steps", "tv_per_step"}
    assert d["clip"] == 2.0 and d["epsilon"] <= 3.0 and d["tv_per_step"] < 1e-12
    assert math.isclose(d["noise_multiplier"], p.noise_sigma0 * math.sqrt(1 + p.noise_k ** 2) / 1024)


def test_unreachable_targets_say_what_to_change():
    with pytest.raises(ProtocolError, match="EInvalidPrivacy.*(clip_frac_bits|target epsilon)"):
        pa.calibrate(target_epsilon=0.05, target_delta=1e-5, steps=1000, records=359, clip=2.0, clip_frac_bits=10,
                     feature_frac_bits=3, d=D, sample_rate=0.5)
    with pytest.raises(ProtocolError, match="expected_batch"):
        pa.calibrate(target_epsilon=3, target_delta=1e-5, steps=10, records=359, clip=2.0, clip_frac_bits=6,
                     feature_frac_bits=3, d=D)
    with pytest.raises(ProtocolError, match="target delta"):
        pa.epsilon(dataclasses.replace(params(), target_delta_pico=0), D, 10)
