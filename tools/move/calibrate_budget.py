"""Calibrate the gas budget model of move/sources/budget.move (and protocol/budget.py).

Measures aggregation steps of the built package with `wafl_sui.devtools.gas` (an offline replica
of Sui's gas meter, gas model 11) on a grid of (rule, updates n, weights m, coordinates c), and
prints, per step, the measured computation units and their *top-tier bound*

    bound = (100 * instructions + 100 * stack_bytes + native_internal + 15 * read_bytes) / 1000

(past Sui's top tiers, 200k instructions and 1 MB of stack, every instruction and every stack
byte cost 100 internal gas; below them less, so `bound` >= the units charged), next to the
model's `budget.step_units`. The model's constants must keep `model >= bound` on every row;
the script exits 1 if one does not.

usage: .venv/bin/python tools/move/calibrate_budget.py [--quick] [--json OUT]
(minutes on 2 cores: every update is submitted through the interpreter)
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time

from wafl_sui.devtools import gas
from wafl_sui.contract.build import build_package
from wafl_sui.protocol import budget
from wafl_sui.protocol.rules import AggregationRule

SPEC = dict(features=64, classes=10, batch_size=16, local_steps=1, frac_bits=16, weight_bits=24,
            feature_frac_bits=4, feature_bits=6, lr_frac_bits=16, lr_bits=16)  # digits: 650 weights
LARGE = dict(SPEC, features=408, weight_bits=32)  # 4,090 weights
RULES = {"median": (1, 0), "trim10": (2, 1000), "trim49": (2, 4999), "trim0": (2, 0), "fedavg": (0, 0)}


def bound_units(rep: gas.GasReport) -> float:
    return (100 * rep.instructions + 100 * rep.stack_bytes + rep.native_internal + 15 * rep.read_bytes) / 1000


def _flow(build, spec: dict, rule: str, n: int, order: str) -> gas.TaskFlow:
    r, t = RULES[rule]
    f = gas.TaskFlow(gas.Chain(build), spec, rule=r, trim_bps=t, quorum=n)
    rep = f.create()
    if not rep.ok:
        raise SystemExit(f"create_task failed: {rep.abort}")
    m = f.num_weights
    top = (1 << spec["weight_bits"]) - 1
    for k in range(n):
        if order == "random":
            w = None
        else:  # every coordinate's column ascending (or descending) in submit order: heap worst cases
            v = (k * top) // max(n - 1, 1)
            w = [v if order == "ascending" else top - v] * m
        rep = f.submit(weights=w)
        if not rep.ok:
            raise SystemExit(f"submit_update failed: {rep.abort}")
    return f


def measure_steps(build, spec: dict, rule: str, n: int, coords: list[int], order: str = "random") -> list[dict]:
    """Rows for the last aggregation step over `coords` coordinates (the partial aggregation set
    so that exactly that many remain) of a round of n updates."""
    f = _flow(build, spec, rule, n, order)
    m = f.num_weights
    saved = copy.deepcopy(f.chain.objects)
    rows = []
    for c in coords:
        f.chain.objects = copy.deepcopy(saved)
        if RULES[rule][0] != 0:
            f.chain.set_field(f.task_id, "partial", gas.Vec("u32", [0] * (m - c)))
        rep = f.chain.call("task", "aggregate", [gas.Obj(f.task_id), gas.Obj(gas.CLOCK_ID)],
                           sender=gas.sender_address(0), now_ms=f.tick())
        if not rep.ok:
            raise SystemExit(f"aggregate failed: {rep.abort}")
        agg = AggregationRule(*RULES[rule])
        rows.append(dict(rule=rule, order=order, n=n, m=m, c=c, units=rep.computation_units,
                         bound=round(bound_units(rep)), model=budget.step_units(m, agg, n, c),
                         instructions=rep.instructions, stack_bytes=rep.stack_bytes, read_bytes=rep.read_bytes,
                         native_internal=rep.native_internal))
    return rows


def grid(quick: bool) -> list[tuple]:
    g = [
        # per-coordinate cost against n (m = 650), both c to get the slope
        *[(SPEC, rule, n, [1, max(2, 2000 // n)], "random") for rule in ("median", "trim10", "trim49", "trim0")
          for n in ((2, 16, 64) if quick else (2, 4, 8, 16, 32, 64, 128, 256))],
        # heap worst cases
        *[(SPEC, rule, 64, [1, 30], order) for rule in ("median", "trim10", "trim49") for order in ("ascending", "descending")],
        # the fixed part against m
        (LARGE, "median", 16, [1, 100], "random"),
        (LARGE, "trim10", 16, [1, 100], "random"),
        # FedAvg: one step, independent of the updates
        *[(s, "fedavg", n, [0], "random") for s, n in ((SPEC, 1), (SPEC, 64), (LARGE, 16))],
    ]
    if not quick:
        g += [(SPEC, "fedavg", 256, [0], "random"), (LARGE, "median", 64, [1, 20], "random")]
    return g


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smaller grid")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args()
    build = build_package()
    rows, bad = [], 0
    print(f"{'rule':7} {'order':10} {'n':>4} {'m':>5} {'c':>5} {'units':>9} {'bound':>9} {'model':>9}  ok")
    for spec, rule, n, coords, order in grid(args.quick):
        t = time.time()
        for r in measure_steps(build, spec, rule, n, coords, order):
            ok = r["model"] >= r["bound"] >= r["units"] - 1000
            bad += not ok
            rows.append(r)
            print(f"{r['rule']:7} {r['order']:10} {r['n']:>4} {r['m']:>5} {r['c']:>5} {r['units']:>9} {r['bound']:>9} "
                  f"{r['model']:>9}  {'ok' if ok else 'MODEL TOO LOW'}  ({time.time() - t:.0f} s)", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
