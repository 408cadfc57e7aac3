"""The float baseline a federated run is compared with: the same model trained centrally in float
on the same (pooled) training data with the same sample budget.

FedAvg of N clients doing one local step of B samples each is, in floats, one SGD step on N*B
samples; the baseline is therefore `rounds * local_steps` float steps of batch N*B (same lr, same
hard-sigmoid rule, same start: the task's initial model), so the gap between the two measures
what fixed point, the proofs' integer arithmetic and the partition cost.

The linear model trains in JAX (`client.model.float_step`, zero start); an MLP in float64 numpy
(`models.float_step`: clamped-ReLU hidden layers, the same rule the integers prove, without
rounding) from the task's initial model, dequantized.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from wafl_sui.client import model
from wafl_sui.client.data import Dataset
from wafl_sui.protocol import StepSpec


def float_baseline(train: Dataset, test: Dataset, *, rounds: int, clients: int, batch_size: int,
                   local_steps: int, lr: float, seed: int = 0, spec: Optional[StepSpec] = None,
                   initial: Optional[Any] = None) -> model.Metrics:
    """`spec` and `initial` (its signed weights) name the model; without them, the zero linear model."""
    if spec is not None and not spec.is_linear:
        return _mlp_baseline(train, test, rounds=rounds, clients=clients, batch_size=batch_size,
                             local_steps=local_steps, lr=lr, seed=seed, spec=spec, initial=initial)
    import jax.numpy as jnp
    from flax import nnx

    rng = np.random.default_rng(seed + 7919)
    net = model.LinearClassifier(train.x.shape[1], train.classes, rngs=nnx.Rngs(0))
    per_step = clients * batch_size
    eye = np.eye(train.classes, dtype=np.float32)
    for _ in range(rounds * local_steps):
        idx = rng.choice(len(train), size=per_step, replace=len(train) < per_step)
        model.float_step(net, jnp.asarray(train.x[idx], dtype=jnp.float32), jnp.asarray(eye[train.y[idx]]), lr)
    return model.evaluate(net, test.x, test.y)


def _mlp_baseline(train: Dataset, test: Dataset, *, rounds: int, clients: int, batch_size: int,
                  local_steps: int, lr: float, seed: int, spec: StepSpec, initial: Any) -> model.Metrics:
    from wafl_sui import models

    if initial is None:
        raise ValueError("an MLP baseline starts from the task's initial model: pass initial=")
    rng = np.random.default_rng(seed + 7919)
    mats = models.dequantize(initial, spec)
    act_max = spec.act_max / (1 << spec.act_frac_bits)
    per_step = clients * batch_size
    eye = np.eye(train.classes, dtype=np.float64)
    x_all = np.asarray(train.x, dtype=np.float64)
    for _ in range(rounds * local_steps):
        idx = rng.choice(len(train), size=per_step, replace=len(train) < per_step)
        mats = models.float_step(mats, x_all[idx], eye[train.y[idx]], lr, act_max)
    net = models.make_mlp(spec.features, spec.hidden, spec.classes, act_max=act_max)
    return model.evaluate(models.set_float_layers(net, mats), test.x, test.y)
