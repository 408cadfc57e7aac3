"""The Ray engine against the local engine on this machine (figures, not tests).

Runs the same federation (`wafl simulate`, a fresh ledger each time, the circuit compiled and set
up once beforehand) with the local engine and with Ray at 1 and 2 worker CPUs, and prints the
wall time, the proofs per second (proofs over the whole run's wall time, start-up included) and
Ray's scaling from 1 to 2 CPUs, so a user can extrapolate to a cluster: a round costs about
clients x proof time / CPUs. It also checks that every run ends with the same model.

    .venv/bin/python benchmarks/bench_ray.py [--dataset digits] [--clients 4] [--rounds 3] [--batch-size 16]
    .venv/bin/python benchmarks/bench_ray.py --write --machine idle   # its section of RESULTS.md
    .venv/bin/python benchmarks/bench_ray.py --smoke                 # iris, 2 clients, 1 round

Figures on this project's 2-core machine are shared with other work: say so when quoting them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402
WAFL = [sys.executable, "-c", "from wafl_sui.cli import main; main()"]


def simulate(home: Path, ledger: Path, *args: str) -> dict:
    env = dict(os.environ, WAFL_HOME=str(home))
    t0 = time.perf_counter()
    r = subprocess.run([*WAFL, "simulate", "--json", "--quiet", "--ledger", str(ledger), *args], env=env,
                       capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"simulate {' '.join(args)} failed:\n{r.stdout}\n{r.stderr[-4000:]}")
    s = json.loads(r.stdout[r.stdout.index("{"):])
    s["process_wall_seconds"] = round(wall, 1)
    return s


def final_model(ledger: Path, task_id: str) -> list[int]:
    sys.path.insert(0, str(ROOT))
    from wafl_sui.ledger import open_ledger

    with open_ledger(str(ledger)) as lg:
        return list(lg.task(task_id).model)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=16)
    _results.add_arguments(ap)
    a = ap.parse_args()
    if a.smoke:
        a.dataset, a.clients, a.rounds, a.batch_size = "iris", 2, 1, 4
    base = ["--dataset", a.dataset, "--clients", str(a.clients), "--rounds", str(a.rounds),
            "--batch-size", str(a.batch_size)]
    runs = [("local engine", []),
            ("ray, 1 worker CPU", ["--engine", "ray", "--ray-num-cpus", "1", "--ray-object-store-mb", "200"]),
            ("ray, 2 worker CPUs", ["--engine", "ray", "--ray-num-cpus", "2", "--ray-object-store-mb", "200"])]
    with tempfile.TemporaryDirectory(prefix="wafl-bench-ray-") as d:
        home = Path(d)
        t0 = time.perf_counter()
        simulate(home, home / "warm-up.sqlite", *base[:-4], "--rounds", "1", "--batch-size", str(a.batch_size))
        print(f"{a.dataset}, {a.clients} clients, {a.rounds} rounds, batch {a.batch_size} "
              f"(circuit compiled and set up first: {time.perf_counter() - t0:.0f} s, not counted)")
        print(f"  {'engine':<20} {'wall s':>7} {'proofs':>6} {'proofs/s':>8} {'median prove s':>14}")
        rows = ["| engine | wall | proofs | proofs/s | median proof |", "|---|---|---|---|---|"]
        results = {}
        for label, extra in runs:
            ledger = home / f"{label.replace(' ', '_').replace(',', '')}.sqlite"
            s = simulate(home, ledger, *base, *extra)
            proofs = s["updates_accepted"] + s["updates_rejected"]
            results[label] = (s, final_model(ledger, s["task_id"]))
            print(f"  {label:<20} {s['wall_seconds']:>7.1f} {proofs:>6} {proofs / s['wall_seconds']:>8.3f} "
                  f"{s['prove_seconds_median']:>14.2f}")
            rows.append(f"| {label} | {s['wall_seconds']:.1f} s | {proofs} | {proofs / s['wall_seconds']:.3f} "
                        f"| {s['prove_seconds_median']:.2f} s |")
        one, two = results["ray, 1 worker CPU"][0], results["ray, 2 worker CPUs"][0]
        local = results["local engine"][0]
        print(f"  ray scaling 1 -> 2 CPUs: {one['wall_seconds'] / two['wall_seconds']:.2f}x "
              f"(wall); ray at 2 CPUs / local: {two['wall_seconds'] / local['wall_seconds']:.2f}x the wall time")
        models = {label: m for label, (_, m) in results.items()}
        same = len({tuple(m) for m in models.values()}) == 1
        print(f"  same final model in every run: {'yes' if same else 'NO'}")
        body = "\n".join(rows) + (
            f"\n\n{a.dataset}, {a.clients} clients, {a.rounds} rounds, batch {a.batch_size}; the circuit compiled and set "
            f"up once first (not counted). Ray scaling 1 -> 2 worker CPUs: {one['wall_seconds'] / two['wall_seconds']:.2f}x "
            f"(wall); Ray at 2 CPUs / local: {two['wall_seconds'] / local['wall_seconds']:.2f}x the wall time; same final "
            f"model in every run: {'yes' if same else 'NO'}.")
        _results.record(a, "bench_ray", "Ray engine against the local engine", body)
        if not same:
            raise SystemExit("the engines ended with different models")


if __name__ == "__main__":
    main()
