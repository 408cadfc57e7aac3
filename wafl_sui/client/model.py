"""The model in JAX/Flax: the fixed-point step (bit-exact with protocol.train_step) and float views.

* `int_step` / `int_local_training`: the integer step in JAX with 64-bit integers. It equals
  `protocol.local_training` bit for bit (tests check it on random and edge-case inputs), and is
  the fast path the client uses to train.
* `LinearClassifier`: a `flax.nnx` module (one `nnx.Linear`) holding the dequantized model, for
  evaluation (accuracy, loss) and for float training with the same rule (`float_step`).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from wafl_sui.protocol import StepSpec, carried_max_bits


def _check_int64(spec: StepSpec) -> None:
    if carried_max_bits(spec) > 62:
        raise ValueError(
            f"this spec needs {carried_max_bits(spec)}-bit intermediates; the JAX path works in "
            "int64: use protocol.local_training (Python ints) or a smaller spec"
        )


def weights_matrix(weights, spec: StepSpec) -> np.ndarray:
    """The linear model's C x (D+1) matrix (`layer_matrices` for any spec)."""
    if not spec.is_linear:
        raise ValueError("weights_matrix is for the linear model; use layer_matrices")
    w = np.asarray(weights, dtype=np.int64)
    if w.shape != (spec.num_weights,):
        raise ValueError(f"expected {spec.num_weights} weights (C*(D+1)), got shape {w.shape}")
    return w.reshape(spec.classes, spec.features + 1)


def layer_matrices(weights, spec: StepSpec) -> list[np.ndarray]:
    """Flat signed weights -> one (n_out, n_in + 1) int64 matrix per layer (bias last)."""
    w = np.asarray(weights, dtype=np.int64)
    if w.shape != (spec.num_weights,):
        raise ValueError(f"expected {spec.num_weights} weights (layers {'-'.join(map(str, spec.layer_dims))}), "
                         f"got shape {w.shape}")
    dims = spec.layer_dims
    return [w[off : off + size].reshape(dims[l + 1], dims[l] + 1)
            for l, (off, size) in enumerate(zip(spec.layer_offsets, spec.layer_sizes))]


def _with_bias(a, one: int):
    return jnp.concatenate([a, jnp.full((a.shape[0], 1), one, dtype=jnp.int64)], axis=1)


def _exact_step(carried, x, y, lr_q, spec: StepSpec, scaled: bool = True):
    """protocol.exact_step on int64 arrays (arithmetic shifts are floor divisions): the carried
    weights V_l at scale 2^(K + m_l) in, the exact V_l - G_l * lr_q out. scaled=False: the first
    step takes the weights W themselves (V = W * 2^m, the same integers with 2^m-times smaller
    intermediates, as the circuit's first step does)."""
    n, k = spec.num_layers, spec.frac_bits
    ms = [spec.layer_update_shift(l) if scaled else 0 for l in range(n)]
    a = _with_bias(x, 1 << spec.feature_frac_bits)
    inputs, masks = [a], []
    for l in range(n - 1):
        q = jnp.right_shift(a @ carried[l].T, spec.activation_shift(l) + ms[l])
        masks.append(((q >= 0) & (q <= spec.act_max)).astype(jnp.int64))
        a = _with_bias(jnp.clip(q, 0, spec.act_max), 1 << spec.act_frac_bits)
        inputs.append(a)
    q = jnp.right_shift(a @ carried[n - 1].T, spec.forward_shift + ms[n - 1])  # (B, C), hard sigmoid
    p = jnp.clip(q + (1 << (k - 1)), 0, (1 << k) - 1)
    delta = p - jnp.left_shift(y, k)
    new = [None] * n
    for l in range(n - 1, -1, -1):
        g = delta.T @ inputs[l]  # (n_out, n_in + 1)
        v = carried[l] if scaled else jnp.left_shift(carried[l], spec.layer_update_shift(l))
        new[l] = v - g * lr_q
        if l:
            delta = jnp.right_shift(delta @ carried[l][:, :-1], k + ms[l]) * masks[l - 1]
    return new


def int_local_training(weights, features, labels, lr_q: int, spec: StepSpec) -> np.ndarray:
    """JAX version of protocol.local_training: flat signed weights in, flat signed weights out;
    the weights carried exactly between the local steps and rounded once at the end."""
    _check_int64(spec)
    with jax.enable_x64(True):
        ms = [spec.layer_update_shift(l) for l in range(spec.num_layers)]
        v = [jnp.asarray(m) for m in layer_matrices(weights, spec)]
        x = jnp.asarray(np.asarray(features, dtype=np.int64))
        y = jnp.asarray(np.asarray(labels, dtype=np.int64))
        b = spec.batch_size
        for s in range(spec.local_steps):
            v = _exact_step(v, x[s * b : (s + 1) * b], y[s * b : (s + 1) * b], jnp.int64(lr_q), spec, s > 0)
        w = [jnp.clip(jnp.right_shift(m, s), spec.weight_min, spec.weight_max) for m, s in zip(v, ms)]
        return np.concatenate([np.asarray(m, dtype=np.int64).reshape(-1) for m in w])


# --------------------------------------------------------------------------- float views (Flax)
class LinearClassifier(nnx.Module):
    """One-vs-rest linear classifier; probabilities are the hard sigmoid clamp(z/4 + 1/2, 0, 1)."""

    def __init__(self, features: int, classes: int, *, rngs: nnx.Rngs):
        self.linear = nnx.Linear(features, classes, kernel_init=nnx.initializers.zeros, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.linear(x)  # class scores z


def hard_sigmoid(z: jax.Array) -> jax.Array:
    return jnp.clip(z / 4 + 0.5, 0.0, 1.0)


def to_flax(weights, spec: StepSpec) -> nnx.Module:
    """Fixed-point weights -> an nnx model with kernel W[:, :D].T / 2^K and bias W[:, D] / 2^K
    (an MLP spec: the `nnx.Sequential` of `wafl_sui.models.to_flax`)."""
    if not spec.is_linear:
        from wafl_sui import models

        return models.to_flax(weights, spec)
    w = weights_matrix(weights, spec).astype(np.float64) / (1 << spec.frac_bits)
    model = LinearClassifier(spec.features, spec.classes, rngs=nnx.Rngs(0))
    model.linear.kernel.set_value(jnp.asarray(w[:, : spec.features].T, dtype=jnp.float32))
    model.linear.bias.set_value(jnp.asarray(w[:, spec.features], dtype=jnp.float32))
    return model


def from_flax(model: nnx.Module, spec: StepSpec) -> np.ndarray:
    """Float model -> fixed-point weights (round to nearest, clipped to the weight range)."""
    if not spec.is_linear:
        from wafl_sui import models

        linears, _, _ = models.read_architecture(model)
        return np.asarray(models.quantize(models.float_layers(linears), spec), dtype=np.int64)
    k = np.asarray(model.linear.kernel.get_value(), dtype=np.float64).T
    b = np.asarray(model.linear.bias.get_value(), dtype=np.float64)[:, None]
    w = np.concatenate([k, b], axis=1)
    if not np.all(np.isfinite(w)):
        raise ValueError("model weights contain NaN or infinity")
    q = np.floor(w * (1 << spec.frac_bits) + 0.5)
    return np.clip(q, spec.weight_min, spec.weight_max).astype(np.int64).reshape(-1)


@dataclass(frozen=True)
class Metrics:
    accuracy: float
    loss: float  # one-vs-rest logistic loss (mean over samples and classes)
    samples: int

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "loss": self.loss, "samples": self.samples}


@nnx.jit
def _scores(model: LinearClassifier, x: jax.Array) -> jax.Array:
    return model(x)


def evaluate(model: LinearClassifier, x: np.ndarray, y: np.ndarray) -> Metrics:
    if len(y) == 0:
        raise ValueError("cannot evaluate on an empty dataset")
    z = _scores(model, jnp.asarray(x, dtype=jnp.float32))
    targets = jax.nn.one_hot(jnp.asarray(y), z.shape[1])
    loss = optax.sigmoid_binary_cross_entropy(z, targets).mean()
    acc = (jnp.argmax(z, axis=1) == jnp.asarray(y)).mean()
    return Metrics(float(acc), float(loss), int(len(y)))


def float_step(model: LinearClassifier, x: jax.Array, y_onehot: jax.Array, lr: float) -> None:
    """The same rule in floats: W -= lr * mean_i (hardsig(z_i) - y_i) x_i (in place)."""
    err = hard_sigmoid(model(x)) - y_onehot  # (B, C)
    n = x.shape[0]
    model.linear.kernel.set_value(model.linear.kernel.get_value() - lr * (x.T @ err) / n)
    model.linear.bias.set_value(model.linear.bias.get_value() - lr * err.mean(axis=0))
