"""The float baseline a federated run is compared with: the same model trained centrally in float
on the same (pooled) training data with the same sample budget.

FedAvg of N clients doing one local step of B samples each is, in floats, one SGD step on N*B
samples; the baseline is therefore `rounds` float steps of batch N*B (same lr, same hard-sigmoid
rule, same zero start), so the gap between the two measures what fixed point, the proofs'
integer arithmetic and the partition cost.
"""

from __future__ import annotations

import numpy as np

from wafl_sui.client import model
from wafl_sui.client.data import Dataset


def float_baseline(train: Dataset, test: Dataset, *, rounds: int, clients: int, batch_size: int,
                   local_steps: int, lr: float, seed: int = 0) -> model.Metrics:
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
