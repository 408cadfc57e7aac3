"""MLPs on digits (figures, not tests): accuracy of the integer-exact federation (no proofs)
beside the float rule, and what the circuit costs per sample-step, per layer, against the floor.

The replay runs what the proofs prove and the ledger does: the simulator's data split, centred
scaling and IID partition, each client's batches from the same seeds, the JAX int64 step
(= protocol.local_training, tested bit for bit) and the protocol's FedAvg; the model starts
from the seeded Flax initialization (`models.make_mlp`, quantized). The float baseline trains
the same rule (`models.float_step`) from the same float initialization on the same batches.

    .venv/bin/python benchmarks/bench_mlp.py [--shapes 0,16,32] [--steps 1,4] [--rounds 25] [--seeds 0]
    .venv/bin/python benchmarks/bench_mlp.py --write --machine idle   # its section of RESULTS.md
    .venv/bin/python benchmarks/bench_mlp.py --smoke                 # linear and 16 hidden, 2 rounds
    .venv/bin/python benchmarks/bench_mlp.py --cost-only --steps 1,2,4  # the circuit cost table only
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402

from wafl_sui import models, protocol  # noqa: E402
from wafl_sui.client import data as client_data  # noqa: E402
from wafl_sui.client import datasets, model  # noqa: E402
from wafl_sui.protocol import StepSpec  # noqa: E402
from wafl_sui.protocol.rules import fedavg  # noqa: E402
from wafl_sui.zk import circuit, mlp_circuit  # noqa: E402


def replay(hidden: tuple[int, ...], local_steps: int, lr: float, rounds: int, seed: int, clients: int = 4,
           batch_size: int = 16) -> tuple[float, float, float]:
    raw = datasets.load_raw("digits")
    train_raw, test_raw = datasets.split(raw, 0.2, seed)
    sc = datasets.scaling_for(train_raw)
    train, test = datasets.to_dataset(train_raw, sc), datasets.to_dataset(test_raw, sc)
    base = StepSpec(features=64, classes=10, batch_size=batch_size, local_steps=local_steps)
    m = models.resolve("mlp" if hidden else "linear", hidden, base, seed=seed)
    spec = m.spec
    lr_q = protocol.lr_to_fixed(lr, batch_size, spec.lr_frac_bits, spec.lr_bits)
    parts = client_data.partition(train, clients, seed=seed)
    rngs = [np.random.default_rng(seed * 1000 + i) for i in range(clients)]
    w = list(m.weights)
    fl = models.dequantize(w, spec) if hidden else [np.zeros((10, 65))]
    act_max = spec.act_max / (1 << spec.act_frac_bits)
    t0 = time.perf_counter()
    for _ in range(rounds):
        ups, fups = [], []
        for i in range(clients):
            x, y = client_data.sample_batch(parts[i], spec, rngs[i])
            ups.append(model.int_local_training(w, x, y, lr_q, spec).tolist())
            xf = x.astype(np.float64) / (1 << spec.feature_frac_bits)
            f = fl
            for s in range(local_steps):
                rows = slice(s * batch_size, (s + 1) * batch_size)
                f = models.float_step(f, xf[rows], y[rows].astype(np.float64), lr, act_max)
            fups.append(f)
        enc = [[protocol.encode_signed(v, spec.weight_bits) for v in u] for u in ups]
        w = [protocol.decode_signed(v, spec.weight_bits) for v in fedavg(enc)]
        fl = [np.mean([u[l] for u in fups], axis=0) for l in range(len(fl))]
    secs = time.perf_counter() - t0
    acc = model.evaluate(model.to_flax(w, spec), test.x, test.y).accuracy
    fw = models.quantize(fl, spec) if hidden else None
    facc = (model.evaluate(model.to_flax(fw, spec), test.x, test.y).accuracy if hidden else
            model.evaluate(model.to_flax(np.clip(np.round(fl[0].reshape(-1) * 1024), -8192, 8191).astype(int), spec),
                           test.x, test.y).accuracy)
    return acc, facc, secs


def cost_table(specs: list[StepSpec]) -> None:
    print("\ncircuit cost (formula = compiled r1cs, tests/test_mlp_circuit.py), per proof and per sample-step;")
    print("per sample-step = the local steps' constraints / (L*B); fixed = per proof (weight range checks,")
    print("the one rounding of the weights, hashes, feature ranges and label bits)")
    print(f"  {'shape':<10} {'B':>3} {'L':>2} {'constraints':>12} {'/sample-step':>13} {'floor':>7} {'ratio':>6} "
          f"{'fixed':>9} {'rounding':>9} {'100 proofs':>11}  per layer per sample-step")
    for s in specs:
        f = circuit.constraint_formula(s)
        if circuit.generated(s):
            step = f["steps"]
            per_layer = [round(t["total"] / (s.local_steps * s.batch_size)) for t in f["per_layer"]]
        else:  # the fixed one-step linear circuit: its update is per step (and per proof)
            step = f["products_wx"] + f["hard_sigmoid"] + f["products_ex"] + f["lr_products"]
            per_layer = [round(step / s.batch_size)]
        per = step / (s.local_steps * s.batch_size)
        floor = mlp_circuit.floor_per_sample_step(s)
        shape = "-".join(map(str, s.layer_dims))
        print(f"  {shape:<10} {s.batch_size:>3} {s.local_steps:>2} {f['total']:>12,} {per:>13,.0f} {floor:>7,} "
              f"{per / floor:>6.2f} {f['total'] - step:>9,} {f['weight_update']:>9,} {100 * f['total'] / 1e6:>9.1f} M"
              f"  {per_layer}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="0,16,32", help="hidden widths (0: linear)")
    ap.add_argument("--steps", default="1,4")
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--lr", type=float, default=None, help="default: 3 (linear), 2 (MLP)")
    _results.add_arguments(ap)
    ap.add_argument("--cost-only", action="store_true", help="only the circuit cost table (no replay)")
    a = ap.parse_args()
    if a.smoke:
        a.shapes, a.steps, a.rounds = "0,16", "1", 2
    import contextlib
    import io

    class Tee(io.StringIO):  # what is printed is also the section --write records
        def write(self, text: str) -> int:
            sys.__stdout__.write(text)
            return super().write(text)

    out = Tee()
    with contextlib.redirect_stdout(out):
        run(a)
    _results.record(a, "bench_mlp", "MLPs on digits (no proofs)", "```\n" + out.getvalue().strip("\n") + "\n```",
                    "Accuracy does not depend on the machine; the replay times do.")


def run(a: argparse.Namespace) -> None:
    shapes = [int(h) for h in a.shapes.split(",")]
    steps = [int(s) for s in a.steps.split(",")]
    seeds = [int(s) for s in a.seeds.split(",")]
    specs = []
    if a.cost_only:
        cost_table([StepSpec(features=64, classes=10, batch_size=16, local_steps=L, hidden=(h,) if h else ())
                    for h in shapes for L in steps])
        return
    print(f"digits, 4 IID clients, B=16, FedAvg, {a.rounds} rounds; integer-exact replay (no proofs) vs float rule")
    print(f"  {'shape':<10} {'L':>2} {'lr':>4} {'seed':>4} {'integer':>8} {'float':>6} {'replay s':>9}")
    for h in shapes:
        hidden = (h,) if h else ()
        for L in steps:
            lr = a.lr or (2.0 if h else 3.0)
            for seed in seeds:
                acc, facc, secs = replay(hidden, L, lr, a.rounds, seed)
                shape = "-".join(map(str, (64, *hidden, 10)))
                print(f"  {shape:<10} {L:>2} {lr:>4} {seed:>4} {acc:>8.3f} {facc:>6.3f} {secs:>9.1f}", flush=True)
            specs.append(StepSpec(features=64, classes=10, batch_size=16, local_steps=L, hidden=hidden))
    cost_table(specs)


if __name__ == "__main__":
    main()
