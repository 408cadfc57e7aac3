"""Real, proven updates for the ledger's tests and benchmarks (no mocks: the circuit of the spec
is compiled and set up once, with the development setup, and its prover kept loaded).

    maker = UpdateMaker(StepSpec(features=4, classes=3, batch_size=2))
    ref = ledger.create_task(owner, maker.spec, rules, agg, maker.lr_q, True, maker.initial_model(), maker.vk)
    u = maker.make(ledger.task(ref.task_id), client.address, seed=1)
    ledger.submit_update(client, ref.task_id, u.new_weights, u.data_commitment, u.proof)

`make` can bind a proof to another task id, sender or round than the task's current ones
(`task_id=`, `sender`, `round_=`): that is how the tests forge replays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from wafl_sui import protocol
from wafl_sui.protocol import StepSpec
from wafl_sui.zk import sui_bytes, witness


@dataclass(frozen=True)
class Update:
    new_weights: list[int]  # offset-encoded, as submitted on chain
    data_commitment: int
    proof: bytes
    public_inputs: list[int]
    signed_new_weights: list[int]


class UpdateMaker:
    """Honest proven updates for tasks of one spec."""

    def __init__(self, spec: StepSpec, lr: float = 1.0):
        from wafl_sui.zk.prover import Prover
        from wafl_sui.zk.setup import ensure_keys

        self.spec = spec
        self.lr_q = protocol.lr_to_fixed(lr, spec.batch_size, spec.lr_frac_bits, spec.lr_bits)
        keys = ensure_keys(spec)
        self.prover = Prover(keys.artifacts, keys.setup)
        self.vk = sui_bytes.vk_bytes_from_snarkjs(self.prover.vk_json)
        self.offset = 1 << (spec.weight_bits - 1)

    def close(self) -> None:
        self.prover.close()

    def encode(self, signed: Sequence[int]) -> list[int]:
        return [int(w) + self.offset for w in signed]

    def decode(self, encoded: Sequence[int]) -> list[int]:
        return [int(u) - self.offset for u in encoded]

    def initial_model(self, seed: int | None = None) -> list[int]:
        """Offset-encoded initial model: zeros, or small random weights."""
        if seed is None:
            return self.encode([0] * self.spec.num_weights)
        rng = np.random.default_rng(seed)
        lim = 1 << self.spec.frac_bits
        return self.encode(rng.integers(-lim, lim, self.spec.num_weights).tolist())

    def batch(self, seed: int) -> tuple[list[list[int]], list[list[int]]]:
        s = self.spec
        rng = np.random.default_rng(seed)
        rows = s.batch_size * s.local_steps
        x = rng.integers(s.feature_min, s.feature_max + 1, (rows, s.features)).tolist()
        y = [[int(c == k) for c in range(s.classes)] for k in rng.integers(0, s.classes, rows)]
        return x, y

    def make(self, view: Any, sender: str, seed: int = 0, *, task_id: str | None = None, round_: int | None = None,
             lr_q: int | None = None, model: Sequence[int] | None = None) -> Update:
        """A proven step from the task's current model (offset-encoded `view.model`), bound to
        (task_id, sender, round, lr_q): by default the task's own."""
        x, y = self.batch(seed)
        salt = int(np.random.default_rng(seed + 10_000).integers(1, 1 << 62))
        inputs = witness.step_inputs(
            self.spec, self.decode(model if model is not None else view.model), x, y, salt=salt,
            task_id=task_id or view.task_id, sender=sender, round_=view.round if round_ is None else round_,
            lr_q=view.lr_q if lr_q is None else lr_q,
        )
        res = self.prover.prove(inputs)
        return Update(
            new_weights=self.encode(inputs.new_weights), data_commitment=int(inputs.public_signals[2]),
            proof=sui_bytes.proof_bytes_from_snarkjs(res.proof_json), public_inputs=list(inputs.public_signals),
            signed_new_weights=list(inputs.new_weights),
        )
