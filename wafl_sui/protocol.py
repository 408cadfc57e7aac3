"""The WaFL protocol: the one definition the circuit, the client and the Move package agree on.

Everything here is pure integer arithmetic on Python ints (arbitrary precision), so it is the
reference for the circuit (circom), the JAX path (`wafl_sui.model`) and the Move package
(`move/sources`). Each rule is written down in docs/PROTOCOL.md; tests check every other
language against the functions below.

Representation
--------------
* A *signed fixed-point value* v with f fractional bits stands for v / 2^f.
* A value with an n-bit range is a signed integer in [-2^(n-1), 2^(n-1)).
* On chain (Move has no signed integers) a value travels *offset-encoded*:
  u = v + 2^(n-1), an unsigned integer in [0, 2^n).  All aggregation rules commute with this
  offset (floor((sum u)/k) = floor((sum v)/k) + 2^(n-1)), so the contract works on u directly.
* The model is a C x (D+1) matrix W (row c = class c, column D = bias), flattened row-major.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Iterable, Sequence

from wafl_sui.poseidon import FIELD_MODULUS, poseidon, poseidon_tree16

PROTOCOL_VERSION = 1
# Domain tag of the context hash: the ASCII bytes "wafl.step.v1" read big-endian.
CONTEXT_DOMAIN = int.from_bytes(b"wafl.step.v1", "big")
# Values are packed little-endian into field elements of at most this many bits (< log2 r).
PACK_BITS = 253
# Order of the public inputs of the step circuit (and of the bytes given to sui::groth16).
PUBLIC_INPUTS = ("old_model", "new_model", "data", "context")
MAX_PUBLIC_INPUTS = 8  # Sui's limit for groth16 public inputs

# Aggregation rules (task option), same numbers in move/sources/rules.move.
AGG_FEDAVG = 0
AGG_MEDIAN = 1
AGG_TRIMMED_MEAN = 2
AGGREGATION_RULES = {"fedavg": AGG_FEDAVG, "median": AGG_MEDIAN, "trimmed_mean": AGG_TRIMMED_MEAN}
BPS = 10_000  # trimmed mean: trim fraction in basis points, 0 <= trim_bps < 5000

# Error names: the Move package aborts with constants of these names, the local ledger raises
# ProtocolError with the same names.
ERRORS = (
    "EInvalidSpec",
    "EInvalidRule",
    "EInvalidProof",
    "ERoundClosed",
    "EAlreadySubmitted",
    "ESenderNotAllowed",
    "EValueOutOfBounds",
    "EWrongLength",
    "ETaskFinished",
    "EQuorumNotReached",
    "ENoUpdates",
    "ENotAdmin",
)


class ProtocolError(ValueError):
    """A rule of the protocol was broken. `name` is the shared error name (see ERRORS)."""

    def __init__(self, name: str, message: str):
        if name not in ERRORS:
            raise AssertionError(f"unknown protocol error name {name}")
        super().__init__(f"{name}: {message}")
        self.name = name


# --------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class StepSpec:
    """Everything that fixes the step circuit: model shape, fixed-point formats, batch shape.

    features (D), classes (C): the linear model maps D features to C class scores.
    frac_bits (K) / weight_bits (BW): weights have K fractional bits, range BW bits (signed).
    feature_frac_bits (KX) / feature_bits (BX): features likewise.
    lr_frac_bits (S) / lr_bits (BLR): the learning rate lr_q is unsigned, S fractional bits,
        and already divided by the batch size (see `lr_to_fixed`).
    batch_size (B) samples per local step, local_steps steps per proof.
    """

    features: int = 64
    classes: int = 10
    batch_size: int = 16
    local_steps: int = 1
    frac_bits: int = 16
    weight_bits: int = 24
    feature_frac_bits: int = 4
    feature_bits: int = 6
    lr_frac_bits: int = 16
    lr_bits: int = 16

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
    if max_intermediate_bits(s) > 240:
        raise bad(f"intermediate values need {max_intermediate_bits(s)} bits; the circuit needs "
                  "them below 240 bits (BN254 field): use fewer bits or a smaller model")


def _bits(x: int) -> int:
    return max(int(x).bit_length(), 1)


def max_intermediate_bits(s: StepSpec) -> int:
    """Bits (magnitude) of the largest intermediate of the step: the update numerator."""
    xa = max(1 << (s.feature_bits - 1), 1 << s.feature_frac_bits)
    g = s.batch_size * (1 << s.frac_bits) * xa
    glr = g * ((1 << s.lr_bits) - 1)
    w = (1 << (s.weight_bits - 1)) << s.update_shift
    u = (s.features + 1) * (1 << (s.weight_bits - 1)) * xa
    return max(_bits(w + glr), _bits(u))


# --------------------------------------------------------------------------- fixed point
def lr_to_fixed(lr: float, batch_size: int, lr_frac_bits: int = 16, lr_bits: int = 16) -> int:
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


def encode_signed(v: int, bits: int) -> int:
    """Signed value in [-2^(bits-1), 2^(bits-1)) -> offset-encoded unsigned in [0, 2^bits)."""
    u = int(v) + (1 << (bits - 1))
    if not 0 <= u < (1 << bits):
        raise ProtocolError("EValueOutOfBounds", f"value {v} does not fit in {bits} signed bits")
    return u


def decode_signed(u: int, bits: int) -> int:
    if not 0 <= int(u) < (1 << bits):
        raise ProtocolError("EValueOutOfBounds", f"encoded value {u} does not fit in {bits} bits")
    return int(u) - (1 << (bits - 1))


def pack(values: Sequence[int], bits: int) -> list[int]:
    """Unsigned values of `bits` bits -> field elements, floor(253/bits) per element, little-endian."""
    per = PACK_BITS // bits
    out = []
    for j in range(0, len(values), per):
        acc = 0
        for k, v in enumerate(values[j : j + per]):
            if not 0 <= v < (1 << bits):
                raise ProtocolError("EValueOutOfBounds", f"packed value {v} does not fit in {bits} bits")
            acc |= int(v) << (bits * k)
        out.append(acc)
    return out


# --------------------------------------------------------------------------- commitments
def model_commitment(weights: Sequence[int], spec: StepSpec) -> int:
    """Commitment of a model: tree16 Poseidon of its offset-encoded weights, packed."""
    validate_weights_signed(weights, spec)
    return poseidon_tree16(pack([encode_signed(w, spec.weight_bits) for w in weights], spec.weight_bits))


def model_commitment_encoded(encoded: Sequence[int], spec: StepSpec) -> int:
    """The same commitment from offset-encoded weights (what the contract receives)."""
    validate_weights(encoded, spec)
    return poseidon_tree16(pack(list(encoded), spec.weight_bits))


def data_commitment(
    features: Sequence[Sequence[int]], labels: Sequence[Sequence[int]], salt: int, spec: StepSpec
) -> int:
    """Hiding commitment of the proof's private batch(es).

    features: local_steps*B rows of D quantized features; labels: local_steps*B one-hot rows of C.
    h = tree16([salt] ++ pack(encode(features), BX) ++ pack(labels, 1)).
    """
    if not 0 <= salt < FIELD_MODULUS:
        raise ProtocolError("EValueOutOfBounds", "salt must be a field element in [0, r)")
    check_batch(features, labels, spec)
    xs = [encode_signed(v, spec.feature_bits) for row in features for v in row]
    ys = [int(v) for row in labels for v in row]
    return poseidon_tree16([salt] + pack(xs, spec.feature_bits) + pack(ys, 1))


def address_limbs(addr: bytes | str) -> tuple[int, int]:
    """A 32-byte Sui address / object id -> (high 128 bits, low 128 bits), big-endian as in hex."""
    if isinstance(addr, str):
        h = addr[2:] if addr.startswith("0x") else addr
        if len(h) > 64 or any(ch not in "0123456789abcdefABCDEF" for ch in h):
            raise ValueError(f"not a Sui address: {addr!r} (expected 0x + up to 64 hex digits)")
        addr = bytes.fromhex(h.rjust(64, "0"))
    if len(addr) != 32:
        raise ValueError(f"a Sui address has 32 bytes, got {len(addr)}")
    x = int.from_bytes(addr, "big")
    return x >> 128, x & ((1 << 128) - 1)


def context_hash(task_id: bytes | str, sender: bytes | str, round_: int, lr_q: int) -> int:
    """Binds a proof to one task, one sender, one round and the task's learning rate."""
    if not 0 <= round_ < (1 << 64) or not 0 <= lr_q < (1 << 64):
        raise ProtocolError("EValueOutOfBounds", "round and lr_q are u64 values")
    t_hi, t_lo = address_limbs(task_id)
    s_hi, s_lo = address_limbs(sender)
    return poseidon([CONTEXT_DOMAIN, t_hi, t_lo, s_hi, s_lo, int(round_), int(lr_q)])


def public_inputs(old_model: int, new_model: int, data: int, context: int) -> list[int]:
    """Public inputs of the step circuit, in PUBLIC_INPUTS order."""
    vals = [old_model, new_model, data, context]
    for name, v in zip(PUBLIC_INPUTS, vals):
        if not 0 <= v < FIELD_MODULUS:
            raise ProtocolError("EValueOutOfBounds", f"public input {name} is not a field element")
    return vals


def public_inputs_bytes(values: Sequence[int | str]) -> bytes:
    """Sui's `public_proof_inputs_from_bytes` layout: each value 32 bytes little-endian, canonical
    (< r), at most MAX_PUBLIC_INPUTS of them."""
    if len(values) > MAX_PUBLIC_INPUTS:
        raise ProtocolError("EValueOutOfBounds", f"Sui allows at most {MAX_PUBLIC_INPUTS} public inputs, got {len(values)}")
    out = b""
    for i, v in enumerate(values):
        x = int(v)
        if not 0 <= x < FIELD_MODULUS:
            raise ProtocolError("EValueOutOfBounds", f"public input {i} is not a canonical scalar (must be in [0, r))")
        out += x.to_bytes(32, "little")
    return out


# --------------------------------------------------------------------------- validation
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


# --------------------------------------------------------------------------- the training step
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
    if not 1 <= lr_q < (1 << spec.lr_bits):
        raise ProtocolError("EValueOutOfBounds", f"lr_q {lr_q} outside 1..2^{spec.lr_bits}-1")
    w = list(weights)
    b = spec.batch_size
    for s in range(spec.local_steps):
        w = train_step(w, features[s * b : (s + 1) * b], labels[s * b : (s + 1) * b], lr_q, spec)
    return w


# --------------------------------------------------------------------------- aggregation
def _check_updates(updates: Sequence[Sequence[int]]) -> int:
    if not updates:
        raise ProtocolError("ENoUpdates", "aggregation needs at least one update")
    n = len(updates[0])
    if any(len(u) != n for u in updates):
        raise ProtocolError("EWrongLength", "all updates must have the same length")
    return n


def fedavg(updates: Sequence[Sequence[int]]) -> list[int]:
    """Coordinate-wise floor(sum / n) (equal weights: every update covers the same sample count)."""
    n = _check_updates(updates)
    k = len(updates)
    return [sum(u[j] for u in updates) // k for j in range(n)]


def median(updates: Sequence[Sequence[int]]) -> list[int]:
    """Coordinate-wise median; for an even count, floor of the mean of the two middle values."""
    n = _check_updates(updates)
    k = len(updates)
    out = []
    for j in range(n):
        col = sorted(u[j] for u in updates)
        out.append(col[k // 2] if k % 2 else (col[k // 2 - 1] + col[k // 2]) // 2)
    return out


def trim_count(n: int, trim_bps: int) -> int:
    if not 0 <= trim_bps < BPS // 2:
        raise ProtocolError("EInvalidRule", f"trim_bps must be in 0..{BPS // 2 - 1}, got {trim_bps}")
    return n * trim_bps // BPS


def trimmed_mean(updates: Sequence[Sequence[int]], trim_bps: int) -> list[int]:
    """Coordinate-wise: drop the k = floor(n*trim_bps/10000) lowest and highest, floor-mean the rest."""
    n = _check_updates(updates)
    k = len(updates)
    t = trim_count(k, trim_bps)
    out = []
    for j in range(n):
        col = sorted(u[j] for u in updates)[t : k - t]
        out.append(sum(col) // len(col))
    return out


def aggregate(updates: Sequence[Sequence[int]], rule: int, trim_bps: int = 0) -> list[int]:
    if rule == AGG_FEDAVG:
        return fedavg(updates)
    if rule == AGG_MEDIAN:
        return median(updates)
    if rule == AGG_TRIMMED_MEAN:
        return trimmed_mean(updates, trim_bps)
    raise ProtocolError("EInvalidRule", f"unknown aggregation rule {rule}; known: {AGGREGATION_RULES}")


def flatten(rows: Iterable[Iterable[int]]) -> list[int]:
    return [int(v) for row in rows for v in row]
