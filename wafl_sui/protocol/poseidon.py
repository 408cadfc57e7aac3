"""Poseidon over BN254 exactly as `sui::poseidon::poseidon_bn254` and circomlib compute it.

`poseidon(inputs)` hashes 1 to 16 field elements in one permutation (circomlib's `Poseidon(n)`,
the same function Sui's native computes). `poseidon_tree16(inputs)` hashes any non-empty list with
calls of at most 16 inputs: chunks of 16 (the last may be shorter) are hashed, then the list of
chunk hashes is hashed the same way, until one value remains. The Move package and the circuit
build the same tree (see docs/PROTOCOL.md); `tests/test_poseidon.py` checks both against the
vectors that Sui's own native produces.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Sequence

from wafl_sui.errors import WaflError

FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617
MAX_INPUTS = 16
_ROUNDS_F = 8
_ROUNDS_P = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)


class PoseidonInputError(WaflError, ValueError):
    """An input Sui's native would reject (empty, too many, or not a canonical field element)."""


@lru_cache(maxsize=1)
def _constants() -> tuple[list[list[int]], list[list[list[int]]]]:
    raw = json.loads(
        resources.files("wafl_sui.protocol").joinpath("data/poseidon_bn254_constants.json").read_text()
    )
    c = [[int(x, 16) for x in row] for row in raw["C"]]
    m = [[[int(x, 16) for x in r] for r in mat] for mat in raw["M"]]
    return c, m


def poseidon(inputs: Sequence[int]) -> int:
    """Poseidon hash of 1..16 canonical field elements (Sui's `poseidon_bn254` for one call)."""
    n = len(inputs)
    if n == 0:
        raise PoseidonInputError("poseidon needs at least one input (Sui aborts with EEmptyInput)")
    if n > MAX_INPUTS:
        raise PoseidonInputError(
            f"poseidon takes at most {MAX_INPUTS} inputs per call, got {n} "
            "(Sui aborts with ETooManyInputs); use poseidon_tree16 for longer data"
        )
    for v in inputs:
        if not 0 <= int(v) < FIELD_MODULUS:
            raise PoseidonInputError(
                f"poseidon input {v} is not a canonical BN254 field element "
                "(Sui aborts with ENonCanonicalInput)"
            )
    all_c, all_m = _constants()
    t = n + 1
    c, m = all_c[t - 2], all_m[t - 2]
    rounds_p = _ROUNDS_P[t - 2]
    p = FIELD_MODULUS
    state = [0] + [int(v) for v in inputs]
    half_f = _ROUNDS_F // 2
    for r in range(_ROUNDS_F + rounds_p):
        state = [(a + c[r * t + i]) % p for i, a in enumerate(state)]
        if r < half_f or r >= half_f + rounds_p:
            state = [pow(a, 5, p) for a in state]
        else:
            state[0] = pow(state[0], 5, p)
        state = [sum(m[i][j] * state[j] for j in range(t)) % p for i in range(t)]
    return state[0]


def tree16_shape(n: int) -> list[int]:
    """Number of inputs of each level of the tree over n leaves: [n, ceil(n/16), ..., 1]."""
    if n <= 0:
        raise PoseidonInputError("poseidon_tree16 needs at least one input")
    levels = [n]
    while levels[-1] > MAX_INPUTS:
        levels.append(-(-levels[-1] // MAX_INPUTS))
    return levels


def poseidon_tree16(inputs: Sequence[int]) -> int:
    """16-ary Poseidon tree; a list of at most 16 values is one plain `poseidon` call."""
    level = [int(v) for v in inputs]
    tree16_shape(len(level))
    while len(level) > MAX_INPUTS:
        level = [poseidon(level[i : i + MAX_INPUTS]) for i in range(0, len(level), MAX_INPUTS)]
    return poseidon(level)


def poseidon_calls(n: int) -> int:
    """How many `poseidon_bn254` calls `poseidon_tree16` makes for n inputs (gas estimate)."""
    return sum(-(-size // MAX_INPUTS) for size in tree16_shape(n))
