"""The proven private step (twin of the private step circuit, `wafl_sui/zk/dp_circuit.py`): one
DP-SGD step of the linear model on the client's registered dataset, with the batch (Poisson
sampling) and the noise drawn from a PRF of its secret seed and the round's randomness, every
per-sample gradient clipped, exactly as docs/PRIVACY.md ("The PRF stream", "The base sampler",
"The step") writes it. Pure integer arithmetic on Python ints."""

from __future__ import annotations

from dataclasses import dataclass
from math import isqrt
from typing import Sequence

from wafl_sui.protocol import poseidon as hashing
from wafl_sui.protocol.dp_noise import noise_table, sample_noise
from wafl_sui.protocol.errors import ProtocolError
from wafl_sui.protocol.poseidon import FIELD_MODULUS
from wafl_sui.protocol.privacy import DP_PRF_DOMAIN, DpParams, randomness_limbs
from wafl_sui.protocol.spec import StepSpec, check_lr_q, validate_weights_signed
from wafl_sui.protocol.step import check_batch, hard_sigmoid_fixed

LIMB_BITS = 64
LIMBS_PER_BLOCK = 3
# A block h = l0 + 2^64 l1 + 2^128 l2 + 2^192 r is usable only with r < R_MAX (then the
# decomposition is unique: the integer it spells is below p).
R_MAX = FIELD_MODULUS >> (LIMB_BITS * LIMBS_PER_BLOCK)


class UnprovableRound(ProtocolError):
    """A PRF block of this round has r = R_MAX (probability < 2^-61): the round cannot be proven;
    the client skips it."""

    def __init__(self, block: int):
        super().__init__("EValueOutOfBounds", f"PRF block {block} of this round is out of the provable range "
                                              "(probability < 2^-61): skip this round")


def round_key(seed: int, randomness: bytes) -> int:
    """Poseidon([DP_PRF_DOMAIN, seed, rand_hi, rand_lo])."""
    if not 0 <= seed < FIELD_MODULUS:
        raise ProtocolError("EValueOutOfBounds", "the seed must be a field element in [0, p)")
    hi, lo = randomness_limbs(randomness)
    return hashing.poseidon([DP_PRF_DOMAIN, seed, hi, lo])


def num_blocks(records: int, num_weights: int) -> int:
    """PRF blocks of one step: N Poisson keys and 2 uniforms per weight, 3 limbs a block."""
    return -(-(records + 2 * num_weights) // LIMBS_PER_BLOCK)


def split_block(h: int, j: int = 0) -> tuple[int, int, int, int]:
    """(l0, l1, l2, r) of a block; UnprovableRound when r >= R_MAX."""
    mask = (1 << LIMB_BITS) - 1
    r = h >> (LIMB_BITS * LIMBS_PER_BLOCK)
    if r >= R_MAX:
        raise UnprovableRound(j)
    return h & mask, (h >> LIMB_BITS) & mask, (h >> (2 * LIMB_BITS)) & mask, r


def prf_stream(key: int, count: int) -> list[int]:
    """The first `count` 64-bit uniforms u[0..count): limbs l0, l1, l2 of Poseidon([key, j]), j = 0, 1, ..."""
    out: list[int] = []
    j = 0
    while len(out) < count:
        out.extend(split_block(hashing.poseidon([key, j]), j)[:LIMBS_PER_BLOCK])
        j += 1
    return out[:count]


def clip_factor(e_norm2: int, x_norm2: int, p: DpParams, spec: StepSpec) -> int:
    """The largest f in [0, 2^F] with f^2 E X <= clip_q^2 2^(2(F + K - KE)) (2^F when E X = 0)."""
    top = 1 << p.clip_factor_bits
    ex = e_norm2 * x_norm2
    if ex == 0:
        return top
    a = p.clip_q ** 2 << (2 * (p.clip_factor_bits + spec.frac_bits - p.clip_frac_bits))
    return min(top, isqrt(a // ex))


def clip_error(e: Sequence[int], f: int, p: DpParams, spec: StepSpec) -> list[int]:
    """ec[c] = sign(e[c]) * ((f |e[c]|) >> (F + K - KE)): rounded toward zero."""
    t = p.clip_factor_bits + spec.frac_bits - p.clip_frac_bits
    return [(f * v) >> t if v >= 0 else -((f * -v) >> t) for v in e]


@dataclass(frozen=True)
class PrivateStep:
    """What one private proof attests, with the intermediates the witness and the tests use."""

    new_weights: list[int]
    mask: list[int]          # m_i, per record (0 for padding rows)
    factors: list[int]       # f_i, per record
    clipped_sum: list[int]   # G, flat (weights order)
    noise: list[int]         # Z, flat

    @property
    def batch_size(self) -> int:
        return sum(self.mask)


def update_shift(p: DpParams, spec: StepSpec) -> int:
    """M = KE + KX + S - K: the update divides (W 2^M - H lr_q) by 2^M."""
    return p.clip_frac_bits + spec.feature_frac_bits + spec.lr_frac_bits - spec.frac_bits


def private_step(
    weights: Sequence[int], features: Sequence[Sequence[int]], labels: Sequence[Sequence[int]], n: int,
    seed: int, randomness: bytes, lr_q: int, spec: StepSpec,
) -> PrivateStep:
    """One private step (docs/PRIVACY.md): `features`/`labels` are the registered dataset padded to
    `records` rows (`privacy.pad_dataset`), n the real row count."""
    p = spec.privacy
    if p is None:
        raise ProtocolError("EInvalidPrivacy", "private_step needs a private spec (spec.privacy)")
    validate_weights_signed(weights, spec)
    check_lr_q(spec, lr_q)
    if len(features) != p.records or len(labels) != p.records:
        raise ProtocolError("EWrongLength", f"the registered dataset has {p.records} rows (padded); got "
                                            f"{len(features)} feature and {len(labels)} label rows")
    if not 0 <= n <= p.records:
        raise ProtocolError("EValueOutOfBounds", f"the record count {n} is outside [0, {p.records}]")
    check_batch(features, labels, StepSpec(**{**spec.move_fields(), "hidden": (), "batch_size": p.records}))
    c_n, d_n, k = spec.classes, spec.features, spec.frac_bits
    nw = c_n * (d_n + 1)
    u = prf_stream(round_key(seed, randomness), p.records + 2 * nw)
    w = [list(weights[c * (d_n + 1):(c + 1) * (d_n + 1)]) for c in range(c_n)]
    one, fwd = 1 << spec.feature_frac_bits, spec.forward_shift
    g = [[0] * (d_n + 1) for _ in range(c_n)]
    mask, factors = [], []
    for i in range(p.records):
        xa = [int(v) for v in features[i]] + [one]
        e = [hard_sigmoid_fixed(sum(a * b for a, b in zip(w[c], xa)) >> fwd, k) - (int(labels[i][c]) << k)
             for c in range(c_n)]
        f = clip_factor(sum(v * v for v in e), sum(v * v for v in xa), p, spec)
        m = int(u[i] < p.sample_threshold and i < n)
        mask.append(m)
        factors.append(f)
        if m:
            ec = clip_error(e, f, p, spec)
            for c in range(c_n):
                if ec[c]:
                    row = g[c]
                    for j in range(d_n + 1):
                        row[j] += ec[c] * xa[j]
    table = noise_table(p.noise_sigma0, p.noise_tail)
    flat_g = [v for row in g for v in row]
    noise = [sample_noise(u[p.records + 2 * t], table) + p.noise_k * sample_noise(u[p.records + 2 * t + 1], table)
             for t in range(nw)]
    m_shift = update_shift(p, spec)
    new = [min(max(((int(wv) << m_shift) - (gv + z) * lr_q) >> m_shift, spec.weight_min), spec.weight_max)
           for wv, gv, z in zip((v for row in w for v in row), flat_g, noise)]
    return PrivateStep(new, mask, factors, flat_g, noise)
