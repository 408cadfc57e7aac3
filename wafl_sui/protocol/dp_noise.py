"""The noise sampler of a private step (docs/PRIVACY.md, "The base sampler"): the cumulative table
of the discrete Gaussian of sigma0 on [-tail, tail] at 64-bit resolution, and the inverse-CDF
sample of a 64-bit uniform. The circuit generator compiles the same table into the circuit, so
what the circuit samples is exactly the pmf `(cum[j+1] - cum[j]) / 2^64`."""

from __future__ import annotations

import bisect
from functools import lru_cache

import mpmath

from wafl_sui.protocol.errors import ProtocolError

SAMPLE_BITS = 64
_DIGITS = 100


@lru_cache(maxsize=16)
def noise_table(sigma0: int, tail: int) -> tuple[int, ...]:
    """cum[0] = 0, cum[j] = floor(2^64 * P(v <= -tail + j - 1)) for j = 1..2*tail, cum[2*tail+1] =
    2^64, for P the discrete Gaussian of sigma0 restricted to [-tail, tail] (100-digit arithmetic).
    EInvalidPrivacy when an interval is empty (tail too long for 64-bit resolution)."""
    sigma0, tail = int(sigma0), int(tail)
    if not 1 <= sigma0 <= tail:
        raise ProtocolError("EInvalidPrivacy", f"need 1 <= noise_sigma0 <= noise_tail, got {sigma0}, {tail}")
    with mpmath.workdps(_DIGITS):
        w = [mpmath.exp(-mpmath.mpf(v * v) / (2 * sigma0 * sigma0)) for v in range(-tail, tail + 1)]
        total = mpmath.fsum(w)
        scale = mpmath.mpf(2) ** SAMPLE_BITS
        cum, acc = [0], mpmath.mpf(0)
        for j in range(2 * tail):
            acc += w[j]
            cum.append(int(mpmath.floor(scale * acc / total)))
    cum.append(1 << SAMPLE_BITS)
    for j in range(len(cum) - 1):
        if cum[j + 1] <= cum[j]:
            raise ProtocolError(
                "EInvalidPrivacy",
                f"noise_tail {tail} is too long for noise_sigma0 {sigma0}: the value {j - tail} has probability "
                f"below 2^-{SAMPLE_BITS} (use a tail of at most ~9.4 * sigma0)")
    return tuple(cum)


def sample_noise(u: int, table: tuple[int, ...]) -> int:
    """The base sample of a 64-bit uniform u: j - tail for the j with cum[j] <= u < cum[j+1]."""
    if not 0 <= u < (1 << SAMPLE_BITS):
        raise ProtocolError("EValueOutOfBounds", f"a noise uniform is a 64-bit value, got {u}")
    tail = (len(table) - 2) // 2
    return bisect.bisect_right(table, u) - 1 - tail


def base_pmf(table: tuple[int, ...]) -> list[int]:
    """The exact pmf of a base sample, as numerators over 2^64: entry j is P(sample = j - tail) *
    2^64 = cum[j+1] - cum[j]. The entries sum to 2^64 exactly."""
    return [table[j + 1] - table[j] for j in range(len(table) - 1)]


def coordinate_pmf(table: tuple[int, ...], k: int) -> tuple[int, list[int]]:
    """The exact pmf of one coordinate's noise z1 + k * z2 (z1, z2 independent base samples), as
    (lowest value, numerators over 2^128): entry i is P(Z = lowest + i) * 2^128. The entries sum
    to 2^128 exactly."""
    import numpy as np

    k = int(k)
    if k < 1:
        raise ProtocolError("EInvalidPrivacy", f"noise_k must be >= 1, got {k}")
    p = base_pmf(table)
    tail = (len(table) - 2) // 2
    width = 2 * tail  # the base support is [-tail, tail]: 2*tail + 1 values
    lowest = -tail * (1 + k)
    out = np.zeros(width * (1 + k) + 1, dtype=object)
    out[:] = 0
    base = np.array(p, dtype=object)
    for j2, c2 in enumerate(p):  # z2 = j2 - tail shifts z1's pmf by k * z2
        start = k * j2
        out[start:start + width + 1] += c2 * base
    return lowest, [int(v) for v in out]


def max_tail(sigma0: int) -> int:
    """The longest tail whose table has no empty interval at 64-bit resolution (about
    sigma0 * sqrt(2 (64 ln 2 - ln(sigma0 sqrt(2 pi))))), capped at MAX_NOISE_TAIL."""
    import math

    from wafl_sui.protocol.privacy import MAX_NOISE_TAIL

    sigma0 = int(sigma0)
    if sigma0 < 1:
        raise ProtocolError("EInvalidPrivacy", f"noise_sigma0 must be >= 1, got {sigma0}")
    room = 2 * (SAMPLE_BITS * math.log(2) - math.log(sigma0 * math.sqrt(2 * math.pi)))
    tail = min(MAX_NOISE_TAIL, int(sigma0 * math.sqrt(max(room, 1.0))) + 2)
    while tail > sigma0:
        try:
            noise_table(sigma0, tail)
            return tail
        except ProtocolError:
            tail -= 1
    return sigma0
