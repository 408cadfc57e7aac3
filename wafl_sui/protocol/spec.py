"""The step specification and its validation rules (twin of `move/sources/spec.move`).

Representation
--------------
* A *signed fixed-point value* v with f fractional bits stands for v / 2^f.
* A value with an n-bit range is a signed integer in [-2^(n-1), 2^(n-1)).
* The model is a stack of dense layers (`layer_dims`): layer l maps n_l inputs to n_{l+1} outputs
  with an n_{l+1} x (n_l + 1) matrix (row = output unit, last column = bias), the layers'
  matrices flattened row-major one after the other. n_0 = D features, n_1..n_{L-1} = the hidden
  widths, n_L = C classes. The linear model (no hidden layer) is one C x (D+1) matrix.
* Hidden layers use a clamped ReLU: activations are unsigned, act_frac_bits (KH) fractional bits,
  in [0, 2^act_bits - 1] (so the activation's max is (2^BH - 1) / 2^KH). The clamp keeps every
  later intermediate bounded whatever the previous layer did (the bounds of `layer_bounds` need
  it), it is piecewise linear (one decomposition in the circuit gives the value AND its 0/1
  derivative), and with a max of ~4 it trains digits as well as a plain ReLU (docs/PROTOCOL.md).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Sequence

from wafl_sui.protocol.codec import PACK_BITS, pack
from wafl_sui.protocol.errors import ProtocolError
from wafl_sui.protocol.privacy import DpParams, check_params

# Largest intermediate of the step circuit, in bits (BN254 headroom), as in spec.move.
MAX_INTERMEDIATE_BITS = 240
# At most this many hidden layers (bounds the loops of spec.move and the circuit generator).
MAX_HIDDEN_LAYERS = 8
# The defaults of the activation format: [0, 255/64] ~ [0, 4) at 1/64.
DEFAULT_ACT_FRAC_BITS = 6
DEFAULT_ACT_BITS = 8
# Fields a linear spec's JSON omits when they hold their defaults (old encodings stay bit for bit).
ARCHITECTURE_FIELDS = ("hidden", "act_frac_bits", "act_bits")

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
    hidden: the hidden layers' widths (empty: the linear model), act_frac_bits (KH) /
        act_bits (BH): the clamped ReLU's format (see the module docstring).

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
    hidden: tuple[int, ...] = ()
    act_frac_bits: int = DEFAULT_ACT_FRAC_BITS
    act_bits: int = DEFAULT_ACT_BITS
    # A private task's circuit constants (docs/PRIVACY.md); None: the ordinary step. Not a field of
    # the Move struct `spec::StepSpec` (the task keeps them in `privacy::DpParams`); only the
    # circuit's constants are kept here (the budget fields are zeroed), so one circuit serves
    # every budget.
    privacy: DpParams | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        except (TypeError, ValueError):
            raise ProtocolError("EInvalidSpec", f"hidden must be a list of layer widths, got {self.hidden!r}") from None
        if self.privacy is not None:
            p = self.privacy if isinstance(self.privacy, DpParams) else DpParams.from_dict(dict(self.privacy))
            object.__setattr__(self, "privacy", DpParams(*p.circuit_constants()))
        validate_spec(self)

    @property
    def is_private(self) -> bool:
        return self.privacy is not None

    def with_privacy(self, privacy: DpParams | None) -> "StepSpec":
        """The same spec with a private task's circuit constants (or without: None)."""
        return dataclasses.replace(self, privacy=privacy)

    # derived sizes -------------------------------------------------------
    @property
    def layer_dims(self) -> tuple[int, ...]:
        """(D, hidden..., C): layer l maps layer_dims[l] inputs to layer_dims[l+1] outputs."""
        return (self.features, *self.hidden, self.classes)

    @property
    def num_layers(self) -> int:
        return len(self.hidden) + 1

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Weights of each layer: n_{l+1} * (n_l + 1)."""
        d = self.layer_dims
        return tuple(d[l + 1] * (d[l] + 1) for l in range(self.num_layers))

    @property
    def layer_offsets(self) -> tuple[int, ...]:
        """Where each layer's matrix starts in the flat weight vector."""
        out, o = [], 0
        for n in self.layer_sizes:
            out.append(o)
            o += n
        return tuple(out)

    @property
    def num_weights(self) -> int:
        return sum(self.layer_sizes)

    @property
    def is_linear(self) -> bool:
        return not self.hidden

    @property
    def act_max(self) -> int:
        """The clamped ReLU's largest value, at scale 2^KH."""
        return (1 << self.act_bits) - 1

    def input_frac_bits(self, layer: int) -> int:
        """Fractional bits of layer `layer`'s inputs: KX for the features, KH for activations."""
        return self.feature_frac_bits if layer == 0 else self.act_frac_bits

    def activation_shift(self, layer: int) -> int:
        """A hidden layer's activation divides its sum (scale 2^(K + k_in)) by 2^(K + k_in - KH)."""
        return self.frac_bits + self.input_frac_bits(layer) - self.act_frac_bits

    def layer_update_shift(self, layer: int) -> int:
        """The update of layer `layer` divides by 2^(k_in + S) (gradient 2^(K+k_in), lr 2^S)."""
        return self.input_frac_bits(layer) + self.lr_frac_bits

    def architecture(self) -> list[dict]:
        """The layers as JSON: in, out, activation (and its parameters)."""
        d = self.layer_dims
        out = []
        for l in range(self.num_layers):
            if l < self.num_layers - 1:
                act = {"activation": "relu", "max": self.act_max / (1 << self.act_frac_bits)}
            else:
                act = {"activation": "hard_sigmoid"}
            out.append({"in": d[l], "out": d[l + 1], **act})
        return out

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
        """The first layer's weight update divides by 2^(KX+S) (gradient scale 2^(K+KX), lr 2^S)."""
        return self.feature_frac_bits + self.lr_frac_bits

    @property
    def forward_shift(self) -> int:
        """The hard sigmoid divides the score (scale 2^(K+k_in)) by 2^(k_in+2): z/4 at scale 2^K
        (k_in = KX for the linear model, KH after a hidden layer)."""
        return self.input_frac_bits(self.num_layers - 1) + 2

    def to_dict(self) -> dict:
        """The fields; a linear spec omits the architecture fields that hold their defaults, so
        its JSON (and everything hashed from it) is what it was before MLPs."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        if self.is_linear:
            for f in dataclasses.fields(self):
                if f.name in ARCHITECTURE_FIELDS and getattr(self, f.name) == f.default:
                    del d[f.name]
        if self.privacy is None:
            del d["privacy"]
        else:
            d["privacy"] = dict(zip(DpParams.CIRCUIT_FIELDS, self.privacy.circuit_constants()))
        return d

    def move_fields(self) -> dict:
        """Every field, as the Move struct `spec::StepSpec` holds it (`hidden` a list): what a
        BCS value of the struct, and an event carrying it, encode. `to_dict` is the hashed and
        signed form, which leaves a linear spec's default architecture fields out."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        del d["privacy"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "StepSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ProtocolError("EInvalidSpec", f"unknown spec field(s) {unknown}; known: {sorted(names)}")
        def value(k, v):
            if k == "hidden":
                return tuple(int(h) for h in v)
            if k == "privacy":
                return None if v is None else (v if isinstance(v, DpParams) else DpParams.from_dict(dict(v)))
            return int(v)

        try:
            return cls(**{k: value(k, v) for k, v in d.items()})
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
    if len(s.hidden) > MAX_HIDDEN_LAYERS:
        raise bad(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(s.hidden)}")
    for i, h in enumerate(s.hidden):
        if h < 1:
            raise bad(f"hidden layer {i} must have >= 1 unit, got {h}")
    # the activation format matters (and is checked) only when there is a hidden layer
    if s.hidden and not 1 <= s.act_bits <= 32:
        raise bad(f"act_bits must be in 1..32, got {s.act_bits}")
    if s.hidden and not 0 <= s.act_frac_bits <= s.frac_bits + s.feature_frac_bits:
        raise bad("act_frac_bits must be in 0..frac_bits+feature_frac_bits (the first activation "
                  f"divides by 2^(K+KX-KH)), got {s.act_frac_bits}")
    if s.privacy is not None:
        if s.hidden or s.local_steps != 1:
            raise bad("a private task's step is the linear model with local_steps = 1 (docs/PRIVACY.md)")
        check_params(s.privacy, s.frac_bits, s.feature_frac_bits, s.lr_frac_bits)
    if max_intermediate_bits(s) > MAX_INTERMEDIATE_BITS:
        raise bad(f"intermediate values need {max_intermediate_bits(s)} bits; the circuit needs "
                  f"them below {MAX_INTERMEDIATE_BITS} bits (BN254 field): use fewer bits or a smaller model")


def bit_length(x: int) -> int:
    """max(bit length of x, 1) (`spec::bit_length`)."""
    return max(int(x).bit_length(), 1)


@dataclass(frozen=True)
class LayerBounds:
    """Magnitude bounds of one layer's values in the step (docs/CIRCUIT.md), all inclusive.

    a_max: its inputs (with the bias input 2^k_in); z_max: its sums W.a; d_max: its error
    (delta, scale 2^K); s_max: the back-propagated sums W^T.delta (layers >= 1; 0 for layer 0,
    which propagates nothing); glr_max: gradient times lr_q; upd_max: the update numerator
    W*2^m - G*lr_q."""

    a_max: int
    z_max: int
    d_max: int
    s_max: int
    glr_max: int
    upd_max: int


# Bounds saturate here (`mul_sat`): a spec with any bound this large is invalid anyway, and the
# Move twin computes in u256 without overflowing.
BOUND_SATURATION = 1 << (MAX_INTERMEDIATE_BITS + 1)


def mul_sat(a: int, b: int) -> int:
    """min(a * b, BOUND_SATURATION) for a, b >= 0 (`spec::mul_sat`)."""
    return min(a * b, BOUND_SATURATION)


def layer_bounds(s: StepSpec) -> list[LayerBounds]:
    """Per-layer bounds, from the output layer's error |e| <= 2^K backwards:
    a_max = max(2^(BX-1), 2^KX) for layer 0, max(2^BH - 1, 2^KH) after;
    z_max = (n_l + 1) 2^(BW-1) a_max;  d_max(L-1) = 2^K;  s_max(l) = n_{l+1} 2^(BW-1) d_max(l);
    d_max(l-1) = ceil(s_max(l) / 2^K);  glr_max = B d_max a_max (2^BLR - 1);
    upd_max = 2^(BW-1+m_l) + glr_max.
    Products saturate at BOUND_SATURATION (`mul_sat`): exact for every valid spec."""
    dims = s.layer_dims
    wmax = 1 << (s.weight_bits - 1)
    lr_max = (1 << s.lr_bits) - 1
    n = s.num_layers
    d_max = [0] * n
    s_max = [0] * n
    d_max[n - 1] = 1 << s.frac_bits
    for l in range(n - 1, 0, -1):
        s_max[l] = mul_sat(mul_sat(dims[l + 1], wmax), d_max[l])
        d_max[l - 1] = -(-s_max[l] >> s.frac_bits)
    out = []
    for l in range(n):
        a_max = (max(1 << (s.feature_bits - 1), 1 << s.feature_frac_bits) if l == 0
                 else max((1 << s.act_bits) - 1, 1 << s.act_frac_bits))
        glr = mul_sat(mul_sat(mul_sat(s.batch_size, d_max[l]), a_max), lr_max)
        z = mul_sat(mul_sat(dims[l] + 1, wmax), a_max)
        out.append(LayerBounds(a_max, z, d_max[l], s_max[l], glr, (wmax << s.layer_update_shift(l)) + glr))
    return out


def max_intermediate_bits(s: StepSpec) -> int:
    """Bits (magnitude) of the largest intermediate of the step: a layer's sum, back-propagated
    sum or update numerator (`layer_bounds`)."""
    return max(max(bit_length(b.z_max), bit_length(b.upd_max), bit_length(b.s_max))
               for b in layer_bounds(s))


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
            "EWrongLength", f"expected {spec.num_weights} weights ({_weights_formula(spec)}), got {len(encoded)}"
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
            "EWrongLength", f"expected {spec.num_weights} weights ({_weights_formula(spec)}), got {len(weights)}"
        )
    for i, w in enumerate(weights):
        if not spec.weight_min <= int(w) <= spec.weight_max:
            raise ProtocolError(
                "EValueOutOfBounds",
                f"weight {i} = {w} is outside [{spec.weight_min}, {spec.weight_max}]",
            )


def _weights_formula(spec: StepSpec) -> str:
    if spec.is_linear:
        return "C*(D+1)"
    return "layers " + "-".join(map(str, spec.layer_dims)) + ": sum of n_out*(n_in+1)"


@dataclass(frozen=True)
class CarriedBounds:
    """Magnitude bounds of one layer in one local step of `step.local_training`, where the
    weights are carried exactly between steps as V = W*2^m_l - (the lr-scaled gradients so far),
    at scale 2^(K + m_l) (docs/CIRCUIT.md, "Exact local steps"). All inclusive, all at the
    carried scale: v_max bounds V entering the step, z_max the sums V.a (scale 2^(K+m_l+k_l)),
    d_max the layer's error (scale 2^K), s_max the back-propagated sums V^T.delta (scale
    2^(2K+m_l); 0 for layer 0), glr_max the gradient times lr_q (scale 2^(K+m_l))."""

    v_max: int
    z_max: int
    d_max: int
    s_max: int
    glr_max: int


def carried_bounds(s: StepSpec) -> tuple[list[list[CarriedBounds]], list[int]]:
    """Per local step t = 0..L-1 and layer l, the bounds of the exact carried step, and the
    bound of each layer's final numerator V_L (rounded once: W' = clamp(floor(V_L / 2^m_l))):
    v_max(0) = 2^(BW-1+m_l);  v_max(t+1) = v_max(t) + glr_max(t);
    z_max = (n_l + 1) v_max a_max;  d_max(L-1) = 2^K;  s_max(l) = n_{l+1} v_max(l) d_max(l);
    d_max(l-1) = ceil(s_max(l) / 2^(K+m_l));  glr_max = B d_max a_max (2^BLR - 1).
    Step 0 is `layer_bounds` at the carried scale (z_max and s_max times 2^m_l, the same d_max
    and glr_max), and V_1's bound is layer_bounds' upd_max: one local step is the old step.
    Products saturate at BOUND_SATURATION (`mul_sat`)."""
    dims, n = s.layer_dims, s.num_layers
    wmax = 1 << (s.weight_bits - 1)
    lr_max = (1 << s.lr_bits) - 1
    ms = [s.layer_update_shift(l) for l in range(n)]
    a_max = [max(1 << (s.feature_bits - 1), 1 << s.feature_frac_bits) if l == 0
             else max((1 << s.act_bits) - 1, 1 << s.act_frac_bits) for l in range(n)]
    v = [min(wmax << m, BOUND_SATURATION) for m in ms]
    steps = []
    for _ in range(s.local_steps):
        d_max, s_max = [0] * n, [0] * n
        d_max[n - 1] = 1 << s.frac_bits
        for l in range(n - 1, 0, -1):
            s_max[l] = mul_sat(mul_sat(dims[l + 1], v[l]), d_max[l])
            d_max[l - 1] = -(-s_max[l] >> (s.frac_bits + ms[l]))
        row = []
        for l in range(n):
            glr = mul_sat(mul_sat(mul_sat(s.batch_size, d_max[l]), a_max[l]), lr_max)
            row.append(CarriedBounds(v[l], mul_sat(mul_sat(dims[l] + 1, v[l]), a_max[l]), d_max[l], s_max[l], glr))
        steps.append(row)
        v = [min(v[l] + row[l].glr_max, BOUND_SATURATION) for l in range(n)]
    return steps, v


def carried_max_bits(s: StepSpec) -> int:
    """Bits (magnitude) of the largest intermediate of `step.local_training` with its exact
    carried weights, computed as the circuit and the JAX step do: the first step on W itself
    (`layer_bounds`), the later ones on the carried V (`carried_bounds`), then the final
    numerators. With one local step it is `max_intermediate_bits`."""
    steps, final = carried_bounds(s)
    later = [max(bit_length(b.z_max), bit_length(b.s_max)) for row in steps[1:] for b in row]
    return max([max_intermediate_bits(s)] + [bit_length(v) for v in final] + later)
