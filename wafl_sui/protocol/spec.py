"""The step specification and its validation rules (twin of `move/sources/spec.move`).

Representation
--------------
* A *signed fixed-point value* v with f fractional bits stands for v / 2^f.
* A value with an n-bit range is a signed integer in [-2^(n-1), 2^(n-1)).
* The model is a C x (D+1) matrix W (row c = class c, column D = bias), flattened row-major.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Sequence

from wafl_sui.protocol.codec import PACK_BITS, pack
from wafl_sui.protocol.errors import ProtocolError

# Largest intermediate of the step circuit, in bits (BN254 headroom), as in spec.move.
MAX_INTERMEDIATE_BITS = 240

# The fixed-point format with 24-bit weights (16 fractional bits), the default before the digits
# circuit moved under 2^16 constraints: StepSpec(**shape, **WIDE_FORMAT). Benchmarks compare the
# two; tests use it where they need the wider value ranges.
WIDE_FORMAT = dict(frac_bits=16, weight_bits=24, feature_frac_bits=4, feature_bits=6, lr_frac_bits=16, lr_bits=16)


@dataclass(frozen=True)
class StepSpec:
    """Everything that fixes the step circuit: model shape, fixed-point formats, batch shape.

    features (D), classes (C): the linear model maps D features to C class scores.
    frac_bits (K) / weight_bits (BW): weights have K fractional bits, range BW bits (signed).
    feature_frac_bits (KX) / feature_bits (BX): features likewise.
    lr_frac_bits (S) / lr_bits (BLR): the learning rate lr_q is unsigned, S fractional bits,
        and already divided by the batch size (see `lr_to_fixed`).
    batch_size (B) samples per local step, local_steps steps per proof.

    The defaults are the digits task: weights in [-8, 8) with 1/1024 resolution (K=10, BW=14),
    centred features in [-2, 2) with 1/8 resolution (KX=3, BX=5), lr_q with 8 fractional bits
    and at most 255 (S=8, BLR=8: lr up to ~16 at B=16). This is the smallest format that trains
    digits as well as 24-bit weights did (docs/CIRCUIT.md), and it keeps the circuit under
    2^16 constraints (64,866), which the prover's time steps on.
    """

    features: int = 64
    classes: int = 10
    batch_size: int = 16
    local_steps: int = 1
    frac_bits: int = 10
    weight_bits: int = 14
    feature_frac_bits: int = 3
    feature_bits: int = 5
    lr_frac_bits: int = 8
    lr_bits: int = 8

    def __post_init__(self) -> None:
        validate_spec(self)

    # derived sizes -------------------------------------------------------
    @property
    def num_weights(self) -> int:
        return self.classes * (self.features + 1)

    @property
    def weights_per_element(self) -> int:
        return PACK_BITS // self.weight_bits

    @property
    def features_per_element(self) -> int:
        return PACK_BITS // self.feature_bits

    @property
    def weight_min(self) -> int:
        return -(1 << (self.weight_bits - 1))

    @property
    def weight_max(self) -> int:
        return (1 << (self.weight_bits - 1)) - 1

    @property
    def feature_min(self) -> int:
        return -(1 << (self.feature_bits - 1))

    @property
    def feature_max(self) -> int:
        return (1 << (self.feature_bits - 1)) - 1

    @property
    def update_shift(self) -> int:
        """The weight update divides by 2^(KX+S) (gradient scale 2^(K+KX), lr scale 2^S)."""
        return self.feature_frac_bits + self.lr_frac_bits

    @property
    def forward_shift(self) -> int:
        """The hard sigmoid divides the score (scale 2^(K+KX)) by 2^(KX+2): z/4 at scale 2^K."""
        return self.feature_frac_bits + 2

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "StepSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ProtocolError("EInvalidSpec", f"unknown spec field(s) {unknown}; known: {sorted(names)}")
        try:
            return cls(**{k: int(v) for k, v in d.items()})
        except (TypeError, ValueError) as e:
            if isinstance(e, ProtocolError):
                raise
            raise ProtocolError("EInvalidSpec", f"spec fields must be integers: {e}") from None

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))



DIGITS_SPEC_DEFAULTS = dict(features=64, classes=10, batch_size=16)


def validate_spec(s: StepSpec) -> None:
    """Reject specs the circuit, the client or the contract cannot serve exactly."""

    def bad(msg: str) -> ProtocolError:
        return ProtocolError("EInvalidSpec", msg)

    for name in ("features", "classes", "batch_size", "local_steps"):
        if getattr(s, name) < 1:
            raise bad(f"{name} must be >= 1, got {getattr(s, name)}")
    if s.classes < 2:
        raise bad("classes must be >= 2 (one-vs-rest needs at least two classes)")
    if not 2 <= s.weight_bits <= 32:
        raise bad(f"weight_bits must be in 2..32 (stored as u32 on chain), got {s.weight_bits}")
    if not 2 <= s.feature_bits <= 32:
        raise bad(f"feature_bits must be in 2..32, got {s.feature_bits}")
    if not 1 <= s.frac_bits < s.weight_bits:
        raise bad(f"frac_bits must be in 1..weight_bits-1, got {s.frac_bits}")
    if not 0 <= s.feature_frac_bits <= s.feature_bits - 2:
        raise bad("feature_frac_bits must be in 0..feature_bits-2 so that 1.0 (the bias input) "
                  f"is a representable feature, got {s.feature_frac_bits}")
    if not 1 <= s.lr_bits <= 64 or not 0 <= s.lr_frac_bits <= 64:
        raise bad("lr_bits must be in 1..64 and lr_frac_bits in 0..64")
    if s.frac_bits + 1 > s.weight_bits + s.feature_bits:
        raise bad("frac_bits too large for the weight and feature ranges")
    if max_intermediate_bits(s) > MAX_INTERMEDIATE_BITS:
        raise bad(f"intermediate values need {max_intermediate_bits(s)} bits; the circuit needs "
                  f"them below {MAX_INTERMEDIATE_BITS} bits (BN254 field): use fewer bits or a smaller model")


def bit_length(x: int) -> int:
    """max(bit length of x, 1) (`spec::bit_length`)."""
    return max(int(x).bit_length(), 1)


def max_intermediate_bits(s: StepSpec) -> int:
    """Bits (magnitude) of the largest intermediate of the step: the update numerator."""
    xa = max(1 << (s.feature_bits - 1), 1 << s.feature_frac_bits)
    g = s.batch_size * (1 << s.frac_bits) * xa
    glr = g * ((1 << s.lr_bits) - 1)
    w = (1 << (s.weight_bits - 1)) << s.update_shift
    u = (s.features + 1) * (1 << (s.weight_bits - 1)) * xa
    return max(bit_length(w + glr), bit_length(u))


def check_lr_q(s: StepSpec, lr_q: int) -> None:
    """The learning rate lr_q must be in 1..2^lr_bits - 1 (EInvalidSpec), `spec::check_lr_q`."""
    if not 1 <= int(lr_q) < (1 << s.lr_bits):
        raise ProtocolError("EInvalidSpec", f"lr_q {lr_q} must be in 1..{(1 << s.lr_bits) - 1}")


def lr_to_fixed(lr: float, batch_size: int, lr_frac_bits: int = StepSpec.lr_frac_bits,
                lr_bits: int = StepSpec.lr_bits) -> int:
    """Learning rate (per mean gradient) -> lr_q = round(lr * 2^S / B), the integer the circuit uses."""
    if not lr == lr or lr <= 0:
        raise ProtocolError("EInvalidSpec", f"learning rate must be a positive number, got {lr}")
    q = int(round(lr * (1 << lr_frac_bits) / batch_size))
    if not 1 <= q < (1 << lr_bits):
        raise ProtocolError(
            "EInvalidSpec",
            f"learning rate {lr} with batch size {batch_size} is {q} in fixed point; it must be in "
            f"1..{(1 << lr_bits) - 1} (change lr, or lr_frac_bits/lr_bits of the spec)",
        )
    return q



def validate_weights(encoded: Sequence[int], spec: StepSpec) -> None:
    """Offset-encoded weights as submitted on chain: right length, each in [0, 2^BW)."""
    if len(encoded) != spec.num_weights:
        raise ProtocolError(
            "EWrongLength", f"expected {spec.num_weights} weights (C*(D+1)), got {len(encoded)}"
        )
    limit = 1 << spec.weight_bits
    for i, u in enumerate(encoded):
        if not 0 <= int(u) < limit:
            raise ProtocolError("EValueOutOfBounds", f"weight {i} = {u} is outside [0, 2^{spec.weight_bits})")


def pack_weights(encoded: Sequence[int], spec: StepSpec) -> list[int]:
    """`spec::pack_weights`: validate offset-encoded weights (`validate_weights`) and pack them
    into field elements (`codec.pack`), as the contract does in one pass."""
    validate_weights(encoded, spec)
    return pack([int(u) for u in encoded], spec.weight_bits)


def validate_weights_signed(weights: Sequence[int], spec: StepSpec) -> None:
    if len(weights) != spec.num_weights:
        raise ProtocolError(
            "EWrongLength", f"expected {spec.num_weights} weights (C*(D+1)), got {len(weights)}"
        )
    for i, w in enumerate(weights):
        if not spec.weight_min <= int(w) <= spec.weight_max:
            raise ProtocolError(
                "EValueOutOfBounds",
                f"weight {i} = {w} is outside [{spec.weight_min}, {spec.weight_max}]",
            )


