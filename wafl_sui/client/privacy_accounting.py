"""The privacy accountant of a private task (docs/PRIVACY.md, "Accounting"): the (epsilon, delta)
a client spends in `steps` accepted updates, the most updates a budget allows, and the noise
parameters that meet a target.

The argument, in three parts.

1. The ideal mechanism. One step publishes (a post-processing of) G + Z with G the clipped sum
   over a Poisson sample (rate q = sample_threshold / 2^64, exact) of integer per-record
   gradients, L2 sensitivity clip_q under add/remove-one, and Z a vector of d independent
   discrete Gaussians N_Z(0, sigma_eff^2), sigma_eff = noise_sigma0 * sqrt(1 + noise_k^2).
   For an integer shift D (||D||_2 <= clip_q) and an integer order j, with P = N_Z(0, s^2)^d:
       E_P[(P(x - D) / P(x))^j] = exp((j^2 - j) ||D||^2 / (2 s^2)) * sum_x P(x - j D) / sum_x P(x)
   and the last ratio is 1 because j D is an integer vector (the lattice is shift-invariant). So
   the binomial expansion of Mironov, Talwar & Zhang (2019), A_a = sum_j C(a, j) (1-q)^(a-j) q^j
   E[(P_shift / P)^j], gives at every integer order a the continuous Poisson-subsampled
   Gaussian's value with noise multiplier z = sigma_eff / clip_q. We keep, as the brief of
   issue 21 asks, Canonne, Kamath & Steinke's (2020) slack for the multivariate discrete
   Gaussian, E[(P_shift / P)^j] <= exp((j - 1)(j D^2 / (2 s^2) + tau d)) with
   tau = 10 exp(-pi^2 s^2) (their sum-of-two bound, k/(k+1) = 1/2): it is folded into a
   smaller effective multiplier, 1 / z_eff^2 = 1 / z^2 + 2 tau d / clip_q^2 (which makes
   j D^2 / (2 s_eff^2) >= j D^2 / (2 s^2) + tau d for every j >= 1), and is 0.0 in floating
   point from sigma_eff ~ 9 (2.6e-38 at 3). dp-accounting's RdpAccountant then composes the
   Poisson-sampled Gaussian of z_eff over INTEGER orders only (2..MAX_ORDER): the fractional
   orders' formula (an erfc expansion) has no discrete counterpart. The other direction of the
   subsampled divergence is taken, as dp-accounting does, from Mironov et al.'s analysis (the
   remove direction dominates); that step is cited, not re-proven here.

2. What the circuit samples instead. Coordinate w's noise is z1 + k z2 with z1, z2 drawn by the
   64-bit table of `protocol.dp_noise` from PRF limbs. Its exact pmf (`dp_noise.coordinate_pmf`)
   is compared with N_Z(0, sigma_eff^2) in total variation (TV_coord, mpmath at DIGITS digits:
   the ideal's normaliser by Poisson summation, sum_v exp(-v^2/2s^2) = s sqrt(2 pi) (1 + 2
   sum_k exp(-2 pi^2 s^2 k^2))). TV_coord is tiny only when the smoothing condition holds
   (sigma0 / sqrt(1 + k^2) above the smoothing parameter of Z, k <= ~0.68 sigma0): past it
   z1 + k z2 is visibly lumpy modulo k. The PRF (Poseidon, modelled as a random function) gives
   blocks h uniform in [0, p); the three 64-bit limbs of a block are exactly uniform when
   h < R_MAX 2^192, so a limb's (indeed a block's) distance from uniform is at most
   TV_limb = (p - R_MAX 2^192) / p < 2^-61; we charge it to each of the records + 2d limbs a
   step reads (an over-count). Per step eta = d TV_coord + (records + 2d) TV_limb; coordinates
   are independent given the uniforms, so the whole step's output is within eta of the ideal's.

3. Coupling. If the ideal T-step transcript is (eps, delta_rdp)-DP and each real step is within
   eta in TV of the ideal step (for every input and history), the real transcripts are within
   T eta, and for every event S and neighbours x, x':
       P[M'(x) in S] <= P[M(x) in S] + T eta <= e^eps P[M(x') in S] + delta_rdp + T eta
                     <= e^eps P[M'(x') in S] + delta_rdp + T eta (1 + e^eps),
   so the real mechanism is (eps, delta_rdp + T eta (1 + e^eps))-DP. `epsilon` returns the
   smallest eps whose total delta is within the task's target delta.

API: `epsilon(params, d, steps)`, `max_steps(params, d)`, `calibrate(...)`, `describe(...)`,
`multiplier_for(q, steps, target_eps, delta)`, `ideal_epsilon(q, z, steps, delta)`,
`noise_tv(sigma0, tail, k)`, `limb_tv()`, `sigma_eff(params)`, `noise_multiplier(params)`.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import mpmath
import numpy as np
from dp_accounting import dp_event
from dp_accounting.rdp import rdp_privacy_accountant as rdp

from wafl_sui.protocol import FIELD_MODULUS, ProtocolError, dp_noise, dp_step, privacy

DpParams = privacy.DpParams
SAMPLE_BITS = privacy.SAMPLE_BITS
coordinate_pmf, max_tail, noise_table = dp_noise.coordinate_pmf, dp_noise.max_tail, dp_noise.noise_table

DIGITS = 60
MAX_ORDER = 256
ORDERS = tuple(range(2, MAX_ORDER + 1))
SMOOTHING_RATIO = 0.68  # k <= SMOOTHING_RATIO * sigma0 keeps TV_coord negligible (measured by noise_tv)
NEGLIGIBLE = 1e-3  # calibrate: the sampler's share of delta at most this fraction of the target
R_MAX = dp_step.R_MAX  # the PRF block bound of the private step


def _bad(msg: str) -> ProtocolError:
    return ProtocolError("EInvalidPrivacy", msg)


def sigma_eff(params: DpParams) -> float:
    """sigma0 * sqrt(1 + k^2): the standard deviation of one coordinate's noise (in clip_q units)."""
    return params.noise_sigma0 * math.sqrt(1 + params.noise_k ** 2)


def noise_multiplier(params: DpParams) -> float:
    """z = sigma_eff / clip_q."""
    return sigma_eff(params) / params.clip_q


def tau(sigma: float) -> float:
    """Canonne-Kamath-Steinke's slack for the discrete Gaussian of sigma, 10 exp(-pi^2 sigma^2)."""
    return 10 * math.exp(-math.pi ** 2 * sigma ** 2)


def effective_multiplier(params: DpParams, d: int) -> float:
    """z folded with tau: 1 / z_eff^2 = 1 / z^2 + 2 tau d / clip_q^2."""
    z = noise_multiplier(params)
    t = tau(sigma_eff(params))
    if t == 0.0:
        return z
    return 1 / math.sqrt(1 / z ** 2 + 2 * t * d / params.clip_q ** 2)


@lru_cache(maxsize=64)
def _step_rdp(q: float, z: float) -> tuple[float, ...]:
    acc = rdp.RdpAccountant(orders=ORDERS)
    acc.compose(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(z)))
    return tuple(float(v) for v in acc.rdp)


def ideal_epsilon(q: float, z: float, steps: int, delta: float) -> float:
    """epsilon of `steps` Poisson-sampled Gaussian steps (rate q, multiplier z) at delta,
    dp-accounting's RDP accountant at integer orders."""
    if steps <= 0:
        return 0.0
    eps, _ = rdp.compute_epsilon(ORDERS, np.asarray(_step_rdp(float(q), float(z))) * steps, delta)
    return float(eps)


def _ideal_delta(q: float, z: float, steps: int, eps: float) -> float:
    if steps <= 0:
        return 0.0
    delta, _ = rdp.compute_delta(ORDERS, np.asarray(_step_rdp(float(q), float(z))) * steps, eps)
    return float(delta)


@lru_cache(maxsize=32)
def noise_tv(sigma0: int, tail: int, k: int) -> float:
    """Total variation distance between one coordinate's noise z1 + k z2 (the exact pmf of the
    table) and the discrete Gaussian N_Z(0, sigma0^2 (1 + k^2)), at DIGITS digits."""
    lowest, counts = coordinate_pmf(noise_table(sigma0, tail), k)
    with mpmath.workdps(DIGITS):
        s2 = mpmath.mpf(sigma0) ** 2 * (1 + k * k)
        s = mpmath.sqrt(s2)
        theta = 1 + 2 * mpmath.fsum(mpmath.exp(-2 * mpmath.pi ** 2 * s2 * j * j) for j in range(1, 4))
        norm = s * mpmath.sqrt(2 * mpmath.pi) * theta
        scale = mpmath.mpf(2) ** (2 * SAMPLE_BITS)
        # g(v) by the recurrence g(v+1) = g(v) r s^v (r = exp(-1/(2 s2)), s = exp(-1/s2)): one
        # multiplication per value instead of an exp
        g = mpmath.exp(-mpmath.mpf(lowest) ** 2 / (2 * s2)) / norm
        step = mpmath.exp(-(2 * mpmath.mpf(lowest) + 1) / (2 * s2))
        ratio = mpmath.exp(-1 / s2)
        diff, inside = mpmath.mpf(0), mpmath.mpf(0)
        for c in counts:
            diff += abs(c / scale - g)
            inside += g
            g *= step
            step *= ratio
        tv = (diff + max(mpmath.mpf(0), 1 - inside)) / 2
        return float(tv)


def limb_tv() -> float:
    """Distance of a PRF block's three 64-bit limbs from uniform: (p - R_MAX 2^192) / p."""
    with mpmath.workdps(DIGITS):
        return float(mpmath.mpf(FIELD_MODULUS - (R_MAX << 192)) / FIELD_MODULUS)


def eta(params: DpParams, d: int) -> float:
    """Per step: d TV_coord + (records + 2d) TV_limb."""
    return d * noise_tv(params.noise_sigma0, params.noise_tail, params.noise_k) + \
        (params.records + 2 * d) * limb_tv()


def _check(params: DpParams, d: int) -> float:
    if d < 1:
        raise _bad(f"the number of weights d must be >= 1, got {d}")
    if not 1 <= params.sample_threshold < (1 << SAMPLE_BITS):
        raise _bad(f"sample_threshold must be in 1..2^64-1, got {params.sample_threshold}")
    if params.target_delta_pico <= 0:
        raise _bad("the task states no target delta (target_delta_pico = 0): set --dp-delta, e.g. 1e-5")
    if params.clip_q < 1 or params.noise_sigma0 < 1 or params.noise_k < 1:
        raise _bad("clip_q, noise_sigma0 and noise_k must be >= 1")
    return params.target_delta


def total_delta(params: DpParams, d: int, steps: int, eps: float) -> float:
    """delta_rdp(eps) + steps * eta * (1 + e^eps): the real mechanism's delta at eps."""
    _check(params, d)
    z = effective_multiplier(params, d)
    return _ideal_delta(params.sample_rate, z, steps, eps) + steps * eta(params, d) * (1 + math.exp(eps))


def epsilon(params: DpParams, d: int, steps: int) -> float:
    """The smallest epsilon (to 1e-9 relative) at which `steps` accepted updates are
    (epsilon, target delta)-DP, counting the sampler's distance from the ideal. EInvalidPrivacy
    when no epsilon reaches the target delta (the sampler's share alone exceeds it)."""
    delta = _check(params, d)
    steps = int(steps)
    if steps < 0:
        raise _bad(f"steps must be >= 0, got {steps}")
    if steps == 0:
        return 0.0
    z = effective_multiplier(params, d)
    e = eta(params, d)
    lo = ideal_epsilon(params.sample_rate, z, steps, delta)  # the sampler's share only adds
    if steps * e * 2 >= delta:
        raise _bad(f"the sampler's distance from the ideal noise ({e:.3g} per step, {steps} steps) alone "
                   f"exceeds delta {delta:g}: use k <= {SMOOTHING_RATIO} * noise_sigma0, a larger noise_sigma0, "
                   "or fewer steps")

    def ok(eps: float) -> bool:
        return _ideal_delta(params.sample_rate, z, steps, eps) + steps * e * (1 + math.exp(eps)) <= delta

    # total delta(eps) = delta_rdp(eps) (falling) + steps eta (1 + e^eps) (rising): search upward
    # from the ideal's epsilon, no further than where the sampler's share alone reaches delta
    cap = math.log(delta / (steps * e) - 1) if e > 0 else math.inf
    hi, step = lo, max(1e-9, 1e-4 * lo)
    while not ok(hi):
        hi += step
        step *= 2
        if hi > cap:
            raise _bad(f"no epsilon reaches delta {delta:g}: the sampler's distance from the ideal noise ({e:.3g} "
                       f"per step) over {steps} steps is too large; use a larger noise_sigma0, k <= "
                       f"{SMOOTHING_RATIO} * noise_sigma0, or fewer steps")
    while hi - lo > 1e-9 * max(hi, 1e-9):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def max_steps(params: DpParams, d: int, limit: int = 1 << 20) -> int:
    """The most accepted updates whose epsilon (at the target delta) stays within the target
    epsilon; 0 when even one exceeds it."""
    _check(params, d)
    target = params.target_epsilon
    if target <= 0:
        raise _bad("the task states no target epsilon (target_epsilon_milli = 0): set --dp-epsilon")

    def fits(t: int) -> bool:
        try:
            return epsilon(params, d, t) <= target
        except ProtocolError:
            return False

    if not fits(1):
        return 0
    lo, hi = 1, 2
    while hi <= limit and fits(hi):
        lo, hi = hi, hi * 2
    if hi > limit:
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def multiplier_for(q: float, steps: int, target_eps: float, delta: float) -> float:
    """The smallest noise multiplier (to 1e-4) meeting target_eps at delta over steps."""
    lo, hi = 0.3, 1.0
    while ideal_epsilon(q, hi, steps, delta) > target_eps:
        lo, hi = hi, hi * 2
        if hi > 1e4:
            raise _bad(f"epsilon {target_eps} needs a noise multiplier above 1e4 for {steps} steps at rate "
                       f"{q:.4g}: raise the target epsilon, lower the sample rate or take fewer steps")
    while hi - lo > 1e-4:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if ideal_epsilon(q, mid, steps, delta) <= target_eps else (mid, hi)
    return hi


def calibrate(*, target_epsilon: float, target_delta: float, steps: int, records: int, clip: float,
              clip_frac_bits: int, feature_frac_bits: int, d: int, sample_rate: float | None = None,
              expected_batch: int | None = None, clip_factor_bits: int = 12) -> DpParams:
    """DpParams meeting (target_epsilon, target_delta) for `steps` accepted updates: clip_q =
    round(clip 2^(KE+KX)); the Poisson rate q (or expected_batch / records); the noise
    multiplier z from the accountant; then the smallest noise_sigma0 (with noise_k <=
    SMOOTHING_RATIO sigma0, the tail as long as the 64-bit table allows) whose sigma_eff >= z
    clip_q and whose sampler's share of delta is below NEGLIGIBLE of the target.
    max_contributions = max_steps of the result (>= steps)."""
    if (sample_rate is None) == (expected_batch is None):
        raise _bad("give exactly one of sample_rate and expected_batch")
    if records < 1:
        raise _bad(f"records must be >= 1, got {records}")
    q = float(sample_rate) if sample_rate is not None else expected_batch / records
    if not 0 < q < 1:
        raise _bad(f"the sample rate must be in (0, 1), got {q} (expected batch below records)")
    if not 0 < target_delta < 1 or target_epsilon <= 0 or steps < 1:
        raise _bad("need target_epsilon > 0, 0 < target_delta < 1 and steps >= 1")
    clip_q = round(clip * 2 ** (clip_frac_bits + feature_frac_bits))
    if clip_q < 1:
        raise _bad(f"clip {clip} rounds to clip_q 0 at {clip_frac_bits}+{feature_frac_bits} fractional bits: "
                   "raise clip or clip_frac_bits")
    threshold = round(q * (1 << SAMPLE_BITS))
    q = threshold / (1 << SAMPLE_BITS)
    # a little of delta is left for the sampler's share
    z = multiplier_for(q, steps, target_epsilon, target_delta * (1 - 2 * NEGLIGIBLE))
    sigma = z * clip_q
    base = dict(records=records, clip_frac_bits=clip_frac_bits, clip_q=clip_q, clip_factor_bits=clip_factor_bits,
                sample_threshold=threshold, target_epsilon_milli=math.floor(target_epsilon * 1000),
                target_delta_pico=math.floor(target_delta * 1e12))
    MAX_NOISE_TAIL = privacy.MAX_NOISE_TAIL
    sigma0 = max(2, math.floor(math.sqrt(sigma / SMOOTHING_RATIO)))
    while True:
        if sigma0 > MAX_NOISE_TAIL // 8:
            raise _bad(f"noise multiplier {z:.3f} at clip_q {clip_q} needs sigma_eff {sigma:.0f}, beyond the sampler "
                       f"(noise_sigma0 <= {MAX_NOISE_TAIL // 8}): lower clip_frac_bits (a smaller clip_q), raise "
                       "the target epsilon or take fewer steps")
        k = max(1, math.ceil(math.sqrt(max((sigma / sigma0) ** 2 - 1, 0.0))))
        if k <= SMOOTHING_RATIO * sigma0:
            p = DpParams(noise_sigma0=sigma0, noise_tail=max_tail(sigma0), noise_k=k, **base)
            share = steps * eta(p, d) * (1 + math.exp(target_epsilon))
            if share <= NEGLIGIBLE * target_delta and epsilon(p, d, steps) <= target_epsilon:
                return dataclasses.replace(p, max_contributions=max_steps(p, d))
        sigma0 += 1


def describe(params: DpParams, d: int, steps: int, *, feature_frac_bits: int | None = None) -> dict:
    """{epsilon, delta, clip, clip_q, noise_multiplier, sample_rate, steps, tv_per_step}: what a
    task's summary reports (clip in feature units when feature_frac_bits is given, else None)."""
    delta = _check(params, d)
    clip = None if feature_frac_bits is None else params.clip_q / 2 ** (params.clip_frac_bits + feature_frac_bits)
    return {"epsilon": epsilon(params, d, steps), "delta": delta, "clip": clip, "clip_q": params.clip_q,
            "noise_multiplier": noise_multiplier(params), "sample_rate": params.sample_rate, "steps": int(steps),
            "tv_per_step": eta(params, d)}
