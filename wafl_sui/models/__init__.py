"""Bring your own Flax model: read an `nnx` module into a WaFL architecture and fixed-point weights.

    from flax import nnx
    from wafl_sui.models import ClampedReLU, from_flax

    net = nnx.Sequential(nnx.Linear(64, 32, rngs=nnx.Rngs(0)), ClampedReLU(4.0),
                         nnx.Linear(32, 10, rngs=nnx.Rngs(0)))
    m = from_flax(net)            # m.spec (a protocol.StepSpec), m.weights (signed ints)
    load_weights(net, m.weights, m.spec)   # a global model back into the same module

Supported: an `nnx.Sequential` (or a module holding one, or holding a list / attributes of
layers in order) of `nnx.Linear` layers with a `ClampedReLU` between two of them. The output
layer's scores go through WaFL's hard sigmoid (one-vs-rest), so the module ends with a Linear.
The clamped ReLU's max is stored in fixed point as (2^act_bits - 1) / 2^act_frac_bits, the
nearest such value to the module's max (`act_format`).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import jax.numpy as jnp
import numpy as np
from flax import nnx

from wafl_sui.errors import WaflError
from wafl_sui.protocol import DEFAULT_ACT_FRAC_BITS, ProtocolError, StepSpec

SUPPORTED = "nnx.Linear, wafl_sui.models.ClampedReLU (between two Linear layers)"


class ModelError(WaflError, ValueError):
    """A user's model cannot be federated as it is; the message names the layer and the fix."""


class ClampedReLU(nnx.Module):
    """min(max(x, 0), max): the hidden activation WaFL proves (a ReLU clamped to its range)."""

    def __init__(self, max: float = 4.0):  # noqa: A002 (the activation's parameter is its max)
        if not (isinstance(max, (int, float)) and math.isfinite(max) and max > 0):
            raise ModelError(f"ClampedReLU max must be a positive number, got {max!r}")
        self.max = float(max)

    def __call__(self, x):
        return jnp.clip(x, 0.0, self.max)


def act_format(act_max: float, act_frac_bits: int = DEFAULT_ACT_FRAC_BITS) -> tuple[int, int]:
    """(act_frac_bits, act_bits) whose (2^act_bits - 1) / 2^act_frac_bits is nearest act_max."""
    bits = max(1, round(math.log2(act_max * (1 << act_frac_bits) + 1)))
    return act_frac_bits, bits


def make_mlp(features: int, hidden: tuple[int, ...] | list[int], classes: int, *, act_max: float = 4.0,
             seed: int = 0) -> nnx.Sequential:
    """The default MLP: Linear, ClampedReLU, ..., Linear (Flax's default initializers, seeded)."""
    dims = [features, *hidden, classes]
    rngs = nnx.Rngs(seed)
    layers: list[Any] = []
    for l in range(len(dims) - 1):
        layers.append(nnx.Linear(dims[l], dims[l + 1], rngs=rngs))
        if l < len(dims) - 2:
            layers.append(ClampedReLU(act_max))
    return nnx.Sequential(*layers)


def _layers_of(module: Any) -> list[Any]:
    if isinstance(module, nnx.Sequential):
        return list(module.layers)
    if isinstance(module, (nnx.Linear, ClampedReLU)):
        return [module]
    if isinstance(module, (list, tuple)):
        return list(module)
    if isinstance(module, nnx.Module):
        # a module holding layers: its Sequential / list attribute, else its layer attributes in order
        attrs = [v for k, v in vars(module).items() if not k.startswith("_")]
        seq_types = (nnx.Sequential, list, tuple) + ((nnx.List,) if hasattr(nnx, "List") else ())
        for v in attrs:
            if isinstance(v, seq_types):
                return list(v.layers) if isinstance(v, nnx.Sequential) else list(v)
        found = [v for v in attrs if isinstance(v, nnx.Module)]
        if found:
            return found
    raise ModelError(f"cannot read layers from {type(module).__name__}: expected an nnx.Sequential "
                     f"(or a module holding one) of {SUPPORTED}")


@dataclass(frozen=True)
class FlaxModel:
    """What WaFL reads from a Flax module: the spec (architecture + fixed-point format), the
    quantized initial weights (protocol order) and the float layers they came from."""

    spec: StepSpec
    weights: list[int]
    act_max: float | None


def read_architecture(module: Any) -> tuple[list[Any], list[int], float | None]:
    """(Linear layers, dims [D, hidden..., C], the activations' max) or ModelError."""
    layers = _layers_of(module)
    linears, act_max = [], None
    expect_linear = True
    for i, layer in enumerate(layers):
        name = type(layer).__name__ if isinstance(layer, nnx.Module) else getattr(layer, "__name__", repr(layer))
        if isinstance(layer, nnx.Linear):
            if not expect_linear:
                raise ModelError(f"layer {i} ({name}): two Linear layers in a row; put a ClampedReLU "
                                 "between them (WaFL's hidden activation) or merge them")
            if linears and layer.in_features != linears[-1].out_features:
                raise ModelError(f"layer {i} ({name}) takes {layer.in_features} inputs but the layer before "
                                 f"gives {linears[-1].out_features}")
            if getattr(layer, "bias", None) is None:
                raise ModelError(f"layer {i} (Linear without bias): WaFL's layers have a bias (use_bias=True)")
            linears.append(layer)
            expect_linear = False
        elif isinstance(layer, ClampedReLU):
            if expect_linear:
                raise ModelError(f"layer {i} (ClampedReLU) must follow a Linear layer")
            if act_max is not None and layer.max != act_max:
                raise ModelError(f"layer {i}: every ClampedReLU must have the same max ({act_max} before, {layer.max} here)")
            act_max = layer.max
            expect_linear = True
        else:
            raise ModelError(f"layer {i} ({name}) is not supported; supported layers: {SUPPORTED}")
    if not linears:
        raise ModelError(f"the model has no nnx.Linear layer; supported layers: {SUPPORTED}")
    if expect_linear:
        raise ModelError("the model must end with an nnx.Linear layer (its scores go through WaFL's hard sigmoid)")
    dims = [linears[0].in_features] + [lin.out_features for lin in linears]
    return linears, dims, act_max


def float_layers(linears: list[Any]) -> list[np.ndarray]:
    """Each Linear as an (out, in + 1) float matrix, bias last (protocol layout)."""
    out = []
    for lin in linears:
        k = np.asarray(lin.kernel.get_value(), dtype=np.float64)  # (in, out)
        b = np.asarray(lin.bias.get_value(), dtype=np.float64)
        out.append(np.concatenate([k.T, b[:, None]], axis=1))
    return out


def quantize(mats: list[np.ndarray], spec: StepSpec) -> list[int]:
    """Float layers -> signed fixed-point weights (round to nearest, clipped to the weight range)."""
    flat = np.concatenate([m.reshape(-1) for m in mats])
    if not np.all(np.isfinite(flat)):
        raise ModelError("model weights contain NaN or infinity")
    q = np.floor(flat * (1 << spec.frac_bits) + 0.5)
    return np.clip(q, spec.weight_min, spec.weight_max).astype(np.int64).tolist()


def from_flax(module: Any, base: StepSpec | None = None, **overrides: Any) -> FlaxModel:
    """Read an `nnx` model: its architecture into a spec (the format fields of `base`, default
    the digits format, then `overrides`) and its current weights, quantized, as the initial model."""
    linears, dims, act_max = read_architecture(module)
    fields = (base or StepSpec()).to_dict()
    fields.update(features=dims[0], classes=dims[-1], hidden=list(dims[1:-1]))
    if act_max is not None:
        kh, bh = act_format(act_max, fields.get("act_frac_bits", DEFAULT_ACT_FRAC_BITS))
        fields.update(act_frac_bits=kh, act_bits=bh)
    fields.update(overrides)
    try:
        spec = StepSpec.from_dict(fields)
    except ProtocolError as e:
        raise ModelError(f"the model's architecture {'-'.join(map(str, dims))} cannot be proven with this "
                         f"format: {e}") from None
    if spec.layer_dims != tuple(dims):
        raise ModelError(f"overrides change the architecture {dims} to {list(spec.layer_dims)}")
    return FlaxModel(spec, quantize(float_layers(linears), spec), act_max)


def dequantize(weights: Any, spec: StepSpec) -> list[np.ndarray]:
    """Signed weights -> float (out, in + 1) matrices per layer."""
    w = np.asarray(weights, dtype=np.float64) / (1 << spec.frac_bits)
    dims = spec.layer_dims
    return [w[o : o + n].reshape(dims[l + 1], dims[l] + 1)
            for l, (o, n) in enumerate(zip(spec.layer_offsets, spec.layer_sizes))]


def load_weights(module: Any, weights: Any, spec: StepSpec) -> Any:
    """Set a module's Linear kernels (in, out) and biases from fixed-point weights; returns it."""
    linears, dims, _ = read_architecture(module)
    if tuple(dims) != spec.layer_dims:
        raise ModelError(f"the module's layers {dims} do not match the model's {list(spec.layer_dims)}")
    return set_float_layers(module, dequantize(weights, spec))


def set_float_layers(module: Any, mats: list[np.ndarray]) -> Any:
    """Set a module's Linear kernels (in, out) and biases from float (out, in + 1) matrices
    (protocol layout, bias last; what `float_layers` reads and `float_step` trains); returns it."""
    linears, dims, _ = read_architecture(module)
    shapes = [(dims[l + 1], dims[l] + 1) for l in range(len(linears))]
    if [tuple(np.shape(m)) for m in mats] != shapes:
        raise ModelError(f"the module's layers {dims} do not match matrices of shapes {[np.shape(m) for m in mats]}")
    for lin, m in zip(linears, mats):
        lin.kernel.set_value(jnp.asarray(m[:, :-1].T, dtype=jnp.float32))
        lin.bias.set_value(jnp.asarray(m[:, -1], dtype=jnp.float32))
    return module


def to_flax(weights: Any, spec: StepSpec) -> nnx.Sequential:
    """A fresh nnx MLP of the spec's architecture holding the weights (float view)."""
    act_max = spec.act_max / (1 << spec.act_frac_bits)
    return load_weights(make_mlp(spec.features, spec.hidden, spec.classes, act_max=act_max), weights, spec)


def load_factory(ref: str) -> Callable[[], Any]:
    """'path/to/file.py:make_model' -> the function (called with no arguments by the CLI)."""
    path, sep, name = ref.rpartition(":")
    if not sep or not path or not name:
        raise ModelError(f"--model {ref!r}: expected FILE.py:FUNCTION (e.g. my_model.py:make_model), "
                         "'mlp' or 'linear'")
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"--model {ref!r}: {p} is not a file")
    spec_ = importlib.util.spec_from_file_location(f"wafl_user_model_{abs(hash(str(p.resolve())))}", p)
    if spec_ is None or spec_.loader is None:
        raise ModelError(f"--model {ref!r}: cannot load {p} as Python")
    mod = importlib.util.module_from_spec(spec_)
    sys.modules[spec_.name] = mod
    try:
        spec_.loader.exec_module(mod)
    except Exception as e:  # a user's file: report what failed, never a traceback
        raise ModelError(f"--model {ref!r}: importing {p} failed: {type(e).__name__}: {e}") from None
    fn = getattr(mod, name, None)
    if not callable(fn):
        raise ModelError(f"--model {ref!r}: {p} has no function {name!r}")
    return fn


DEFAULT_HIDDEN = 32


def resolve(model: str, hidden: tuple[int, ...] | None, base: StepSpec, *, seed: int = 0) -> FlaxModel:
    """What `--model` names: 'linear' (the zero model of `base`), 'mlp' (make_mlp with `hidden`,
    default (32,), seeded) or 'FILE.py:FUNCTION' (the user's nnx module, read by from_flax).
    The format fields (bits, batch, local steps) come from `base`."""
    if model == "linear":
        if hidden:
            raise ModelError("--hidden needs --model mlp (the linear model has no hidden layer)")
        spec = StepSpec.from_dict({k: v for k, v in base.to_dict().items() if k != "hidden"})
        return FlaxModel(spec, [0] * spec.num_weights, None)
    if model == "mlp":
        widths = tuple(hidden) if hidden else (DEFAULT_HIDDEN,)
        net = make_mlp(base.features, widths, base.classes, seed=seed)
        return from_flax(net, base)
    if hidden:
        raise ModelError("--hidden applies to --model mlp; a model file defines its own layers")
    fn = load_factory(model)
    try:
        net = fn()
    except Exception as e:  # the user's code: its failure, named, never a traceback
        raise ModelError(f"--model {model!r}: calling it failed: {type(e).__name__}: {e}") from None
    m = from_flax(net, base)
    if m.spec.features != base.features or m.spec.classes != base.classes:
        raise ModelError(f"--model {model!r} maps {m.spec.features} features to {m.spec.classes} classes; "
                         f"the data has {base.features} features and {base.classes} classes")
    return m


def float_step(mats: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float, act_max: float) -> list[np.ndarray]:
    """The step the integers prove, in float64 with no rounding (the float baseline's rule):
    clamped-ReLU hidden layers, hard-sigmoid output, error p - y back-propagated with the old
    weights, W -= lr * mean-free sum_i delta_i a_i / B (lr per mean gradient, as lr_to_fixed)."""
    acts, masks, a = [x], [], x
    for m in mats[:-1]:
        z = np.concatenate([a, np.ones((len(a), 1))], axis=1) @ m.T
        masks.append(((z >= 0) & (z <= act_max)).astype(np.float64))
        a = np.clip(z, 0.0, act_max)
        acts.append(a)
    z = np.concatenate([a, np.ones((len(a), 1))], axis=1) @ mats[-1].T
    delta = np.clip(z / 4 + 0.5, 0.0, 1.0) - y
    new = [None] * len(mats)
    for l in range(len(mats) - 1, -1, -1):
        aa = np.concatenate([acts[l], np.ones((len(acts[l]), 1))], axis=1)
        new[l] = mats[l] - lr * delta.T @ aa / len(x)
        if l:
            delta = (delta @ mats[l][:, :-1]) * masks[l - 1]
    return new
