"""How the fixed-point format, the feature scaling and the learning rate train digits (figures,
not tests): an integer-exact replay of `wafl simulate`'s federation without the proofs.

It runs what the proofs prove and the ledger does, with the project's own code: the same data
split, scaling and IID partition, each client's batches from the same seeds, the protocol's
integer step (`protocol.local_training`) and its FedAvg (`protocol.rules.fedavg`), and prints
the held-out test accuracy of the global model at chosen rounds, with the float baseline at the
last one. A proven run gives the same numbers (the proofs check this arithmetic).

    .venv/bin/python benchmarks/bench_formats.py [--seeds 0,1,2,3] [--rounds 10,15,20,25,40]
    .venv/bin/python benchmarks/bench_formats.py --write --machine idle   # its section of RESULTS.md
    .venv/bin/python benchmarks/bench_formats.py --smoke                 # one seed, 2 rounds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402

from wafl_sui import protocol  # noqa: E402
from wafl_sui.client import data as client_data  # noqa: E402
from wafl_sui.client import datasets, model  # noqa: E402
from wafl_sui.federation.baseline import float_baseline  # noqa: E402
from wafl_sui.protocol import WIDE_FORMAT, StepSpec  # noqa: E402
from wafl_sui.protocol.rules import fedavg  # noqa: E402

FORMATS = {
    "default": {},
    "24-bit": WIDE_FORMAT,
}
SETTINGS = [  # (format, centred features, lr)
    ("24-bit", False, 1.0), ("default", False, 1.0), ("default", True, 1.0), ("default", True, 3.0),
]


def replay(fmt: str, centred: bool, lr: float, rounds: list[int], seed: int, clients: int = 4,
           batch_size: int = 16) -> tuple[dict[int, float], float]:
    raw = datasets.load_raw("digits")
    train_raw, test_raw = datasets.split(raw, 0.2, seed)
    sc = datasets.scaling_for(train_raw)
    if not centred:
        sc = datasets.FeatureScaling(sc.low, sc.high, sc.feature_names, sc.class_names)  # center = low
    train, test = datasets.to_dataset(train_raw, sc), datasets.to_dataset(test_raw, sc)
    spec = StepSpec(features=64, classes=10, batch_size=batch_size, **FORMATS[fmt])
    lr_q = protocol.lr_to_fixed(lr, batch_size, spec.lr_frac_bits, spec.lr_bits)
    parts = client_data.partition(train, clients, seed=seed)
    rngs = [np.random.default_rng(seed * 1000 + i) for i in range(clients)]  # as the simulator's clients
    w = [0] * spec.num_weights
    acc = {}
    for r in range(1, max(rounds) + 1):
        updates = []
        for i in range(clients):
            x, y = client_data.sample_batch(parts[i], spec, rngs[i])
            updates.append(protocol.local_training(w, x.tolist(), y.tolist(), lr_q, spec))
        w = fedavg(updates)
        if r in rounds:
            acc[r] = model.evaluate(model.to_flax(w, spec), test.x, test.y).accuracy
    base = float_baseline(train, test, rounds=max(rounds), clients=clients, batch_size=batch_size,
                          local_steps=1, lr=lr, seed=seed)
    return acc, base.accuracy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument("--rounds", default="10,15,20,25,40")
    _results.add_arguments(ap)
    a = ap.parse_args()
    if a.smoke:
        a.seeds, a.rounds = "0", "1,2"
    seeds = [int(s) for s in a.seeds.split(",")]
    rounds = sorted(int(r) for r in a.rounds.split(","))
    out = []

    def say(line: str) -> None:
        out.append(line)
        print(line, flush=True)

    say("digits, 4 IID clients, B=16, FedAvg, integer-exact replay; test accuracy by round")
    head = "".join(f" {'r' + str(r):>6}" for r in rounds)
    say(f"  {'format':<8} {'features':<9} {'lr':>4} {'seed':>4}{head} {'float@' + str(rounds[-1]):>9}")
    for fmt, centred, lr in SETTINGS:
        table = []
        for seed in seeds:
            acc, base = replay(fmt, centred, lr, rounds, seed)
            table.append([acc[r] for r in rounds] + [base])
            cells = "".join(f" {v:>6.3f}" for v in table[-1][:-1])
            say(f"  {fmt:<8} {'centred' if centred else '[0, 1]':<9} {lr:>4} {seed:>4}{cells} {base:>9.3f}")
        mean = np.mean(table, axis=0)
        say(f"  {fmt:<8} {'centred' if centred else '[0, 1]':<9} {lr:>4} {'mean':>4}"
            + "".join(f" {v:>6.3f}" for v in mean[:-1]) + f" {mean[-1]:>9.3f}")
    specs = {f"digits {fmt}": StepSpec(features=64, classes=10, batch_size=16, **FORMATS[fmt]) for fmt in FORMATS}
    _results.record(a, "bench_formats", "Accuracy by format, scaling and lr (no proofs)",
                    "```\n" + "\n".join(out) + "\n```\n\nAccuracy does not depend on the machine.",
                    _results.spec_note(specs))

if __name__ == "__main__":
    main()
