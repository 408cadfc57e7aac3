"""Benchmarks of `wafl simulate` (figures and ratios, not tests).

1. The default run (digits, 4 clients, fedavg, 25 rounds, every update proven and verified) from
   an EMPTY artifact cache (circuit compile and set-up included): wall time, accuracy vs the
   float baseline. Targets: accuracy >= 0.92, within 2 points of the baseline, <= 240 s.
2. The MLP federation (`--part mlp`): `wafl simulate --model mlp --hidden H` (digits, 4
   clients, every update proven and verified, empty cache): wall time, accuracy against the
   float MLP of the same budget (same data, scaling, batch, rounds, local steps, initial model),
   the initial model's accuracy, constraints per proof and per sample-step.
3. The private federation (`--part private`): `wafl simulate --dp-epsilon E` (digits, 4 clients,
   delta 1e-5, every clipped, noised update on registered data proven and verified, empty cache):
   wall time, accuracy against the non-private float baseline, the (epsilon, delta) spent,
   constraints per proof. Target (issue 21): epsilon <= 8 with accuracy >= 0.90.
4. Label-flip attackers (1 of 4, 3 of 10) under fedavg, median and trimmed mean, side by side;
   forged updates (1 of 4): how many were accepted (must be 0).

    .venv/bin/python benchmarks/bench_simulate.py [--part default|mlp|private|attacks|forged|all] [--rounds N]
        [--mlp-hidden 16 --mlp-rounds 20 --mlp-local-steps 1 --mlp-lr 3] [--dp-epsilon 8 --dp-batch 64]
    .venv/bin/python benchmarks/bench_simulate.py --part default --write --machine idle  # its section of RESULTS.md
    .venv/bin/python benchmarks/bench_simulate.py --smoke      # every part once on iris, 1 round (does it run?)
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import _results  # noqa: E402
from wafl_sui.federation.config import SimulationConfig  # noqa: E402  (the defaults of `wafl simulate`)
WAFL = [sys.executable, "-m", "wafl_sui.cli.main"]
OUT: list[str] = []  # what this run printed: the section --write records
EXTRA: list[str] = []  # simulate options every run gets (--smoke: a small dataset)


def say(line: str) -> None:
    OUT.append(line)
    print(line, flush=True)


SHARED_HOME: list[Path] = []  # --smoke: one artifact home for every run (compile once)


def simulate(home: Path, *args: str) -> dict:
    env = dict(os.environ, WAFL_HOME=str(SHARED_HOME[0] if SHARED_HOME else home))
    t0 = time.perf_counter()
    r = subprocess.run([*WAFL, "simulate", "--json", "--quiet", *EXTRA, *args], env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"simulate {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    s = json.loads(r.stdout[r.stdout.index("{"):])
    s["process_wall_seconds"] = round(wall, 1)
    return s


def default_run(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="wafl-bench-") as d:
        s = simulate(Path(d), "--rounds", str(rounds))
    gap = s["final_accuracy"] - s["float_baseline_accuracy"]
    say(f"default simulate ({s['dataset']}, {s['clients']} clients, {s['rule']}, {rounds} rounds, empty cache):")
    say(f"  wall {s['process_wall_seconds']} s (target <= 240 s: {'ok' if s['process_wall_seconds'] <= 240 else 'MISSED'})")
    say(f"  test accuracy {s['final_accuracy']:.4f}, float baseline {s['float_baseline_accuracy']:.4f}, "
          f"gap {gap:+.4f} (targets >= 0.92 and within 0.02)")
    say(f"  updates accepted {s['updates_accepted']}, proofs verified {s['proofs_verified']}, "
          f"median prove {s['prove_seconds_median']} s, median verify {s['verify_seconds_median']} s")


def mlp_run(hidden: list[int], rounds: int, local_steps: int, lr: float) -> None:
    from wafl_sui.protocol import StepSpec
    from wafl_sui.zk.circuit import constraint_formula

    args = ["--model", "mlp", *[a for h in hidden for a in ("--hidden", str(h))], "--rounds", str(rounds),
            "--local-steps", str(local_steps), "--lr", str(lr)]
    with tempfile.TemporaryDirectory(prefix="wafl-bench-") as d:
        s = simulate(Path(d), *args)
    dims, b = s["layer_dims"], s["batch_size"]
    spec = StepSpec(features=dims[0], classes=dims[-1], hidden=tuple(dims[1:-1]), batch_size=b, local_steps=local_steps)
    constraints = constraint_formula(spec)["total"]
    gap = s["final_accuracy"] - s["float_baseline_accuracy"]
    say(f"MLP simulate ({s['dataset']}, {'-'.join(map(str, dims))}, {s['clients']} clients, {s['rule']}, {rounds} rounds, "
        f"B={b} x {local_steps} local step(s), lr {lr}, empty cache):")
    say(f"  wall {s['process_wall_seconds']} s (target <= 360 s: {'ok' if s['process_wall_seconds'] <= 360 else 'MISSED'})")
    say(f"  test accuracy {s['final_accuracy']:.4f} (initial model {s['initial_accuracy']:.4f}), float MLP baseline "
        f"{s['float_baseline_accuracy']:.4f}, gap {gap:+.4f} (targets >= 0.96 and within 0.015)")
    say(f"  {s['num_weights']:,} weights; {constraints:,} constraints per proof, "
        f"{constraints / (b * local_steps):,.0f} per sample-step; updates accepted {s['updates_accepted']}, "
        f"proofs verified {s['proofs_verified']}, median prove {s['prove_seconds_median']} s, "
        f"median verify {s['verify_seconds_median']} s")


def private_run(rounds: int, epsilon: float, batch: int) -> None:
    with tempfile.TemporaryDirectory(prefix="wafl-bench-") as d:
        s = simulate(Path(d), "--rounds", str(rounds), "--dp-epsilon", str(epsilon), "--dp-batch", str(batch))
    dp = s["dp"]
    constraints = dp["constraints"]
    ok = dp["epsilon_spent"] <= 8 and s["final_accuracy"] >= 0.90
    target = f"; target epsilon <= 8 with >= 0.90: {'ok' if ok else 'MISSED'}" if s["dataset"] == "digits" else ""
    say(f"private simulate ({s['dataset']}, {s['clients']} clients, {s['rule']}, {rounds} rounds, epsilon {dp['epsilon']}, "
        f"delta {dp['delta']:.0e}, expected batch {batch}, empty cache):")
    say(f"  wall {s['process_wall_seconds']} s; {constraints:,} constraints per proof ({dp['records']} records a client)")
    say(f"  test accuracy {s['final_accuracy']:.4f} (initial model {s['initial_accuracy']:.4f}), non-private float "
        f"baseline {s['float_baseline_accuracy']:.4f}{target}")
    say(f"  epsilon spent {dp['epsilon_spent']} of {dp['epsilon']} (clip {dp['clip']}, noise multiplier "
        f"{dp['noise_multiplier']}, sample rate {dp['sample_rate']}, sigma0 {dp['noise_sigma0']}, k {dp['noise_k']})")
    say(f"  updates accepted {s['updates_accepted']}, proofs verified {s['proofs_verified']}, "
        f"median prove {s['prove_seconds_median']} s, median verify {s['verify_seconds_median']} s")


def attacks(rounds: int, settings: tuple = ((4, 0), (4, 1), (10, 3))) -> None:
    if EXTRA:  # --smoke: one small setting
        settings = ((3, 1),)
    with tempfile.TemporaryDirectory(prefix="wafl-bench-") as d:
        home = Path(d)
        say(f"label-flip attackers ({rounds} rounds, {'iris' if EXTRA else 'digits'}), test accuracy by rule:")
        say(f"  {'setting':<22} {'fedavg':>8} {'median':>8} {'trimmed':>8}")
        for clients, attackers in settings:
            accs = []
            for rule in (("fedavg",) if attackers == 0 else ("fedavg", "median", "trimmed-mean")):
                extra = ["--attackers", str(attackers), "--attack", "label-flip"] if attackers else []
                trim = ["--trim", "0.3"] if clients == 10 else ["--trim", "0.25"]
                s = simulate(home, "--clients", str(clients), "--rounds", str(rounds), "--rule", rule, *trim, *extra)
                accs.append(s["final_accuracy"])
            label = f"{attackers} of {clients}"
            cells = "".join(f" {a:>8.4f}" for a in accs)
            say(f"  {label:<22}{cells}")


def forged(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="wafl-bench-") as d:
        s = simulate(Path(d), "--clients", "2" if EXTRA else "4", "--rounds", str(rounds), "--attackers", "1",
                     "--attack", "forged-update")
    say(f"forged updates (1 of {2 if EXTRA else 4}, {rounds} rounds): accepted {s['forged_accepted']}, rejected {s['rejected_by_error']}, "
          f"accuracy {s['final_accuracy']:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["default", "mlp", "private", "attacks", "forged", "all"], default="all")
    ap.add_argument("--rounds", type=int, default=SimulationConfig.rounds)
    ap.add_argument("--attack-rounds", type=int, default=10)
    ap.add_argument("--mlp-hidden", type=int, action="append", help="hidden width (repeat for more layers) [16]")
    ap.add_argument("--mlp-rounds", type=int, default=20)
    ap.add_argument("--mlp-local-steps", type=int, default=1)
    ap.add_argument("--mlp-lr", type=float, default=SimulationConfig.lr)
    ap.add_argument("--dp-epsilon", type=float, default=8.0)
    ap.add_argument("--dp-batch", type=int, default=SimulationConfig.dp_batch)
    _results.add_arguments(ap)
    a = ap.parse_args()
    if a.smoke:
        a.rounds = a.attack_rounds = a.mlp_rounds = 1
        a.mlp_hidden = a.mlp_hidden or [4]
        a.dp_batch = 8
        EXTRA.extend(["--dataset", "iris", "--batch-size", "4", "--clients", "2"])
        SHARED_HOME.append(Path(tempfile.mkdtemp(prefix="wafl-bench-smoke-")))
    if a.part in ("default", "all"):
        default_run(a.rounds)
    if a.part in ("mlp", "all"):
        mlp_run(a.mlp_hidden or [16], a.mlp_rounds, a.mlp_local_steps, a.mlp_lr)
    if a.part in ("private", "all"):
        private_run(a.rounds, a.dp_epsilon, a.dp_batch)
    if a.part in ("attacks", "all"):
        attacks(a.attack_rounds)
    if a.part in ("forged", "all"):
        forged(a.attack_rounds)
    from wafl_sui.protocol import StepSpec

    dataset = "iris (D=4, C=3, B=4)" if a.smoke else "digits"
    if a.part == "mlp" and not a.smoke:
        dataset += f", MLP 64-{'-'.join(map(str, a.mlp_hidden or [16]))}-10"
    if a.part == "private" and not a.smoke:
        dataset += f", epsilon {a.dp_epsilon:g}"
    spec = StepSpec(batch_size=a.dp_batch) if a.part == "private" else StepSpec()  # private: the expected batch
    _results.record(a, f"bench_simulate_{a.part}", f"wafl simulate: {a.part} ({dataset})", "```\n" + "\n".join(OUT) + "\n```",
                    "" if a.smoke else _results.spec_note({"digits": spec}))

if __name__ == "__main__":
    main()
