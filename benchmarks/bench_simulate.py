"""Benchmarks of `wafl simulate` (figures and ratios, not tests).

1. The default run (digits, 4 clients, fedavg, 25 rounds, every update proven and verified) from
   an EMPTY artifact cache (circuit compile and set-up included): wall time, accuracy vs the
   float baseline. Targets: accuracy >= 0.92, within 2 points of the baseline, <= 240 s.
2. Label-flip attackers (1 of 4, 3 of 10) under fedavg, median and trimmed mean, side by side;
   forged updates (1 of 4): how many were accepted (must be 0).

    .venv/bin/python benchmarks/bench_simulate.py [--part default|attacks|forged|all] [--rounds N]
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
    ap.add_argument("--part", choices=["default", "attacks", "forged", "all"], default="all")
    ap.add_argument("--rounds", type=int, default=SimulationConfig.rounds)
    ap.add_argument("--attack-rounds", type=int, default=10)
    _results.add_arguments(ap)
    a = ap.parse_args()
    if a.smoke:
        a.rounds = a.attack_rounds = 1
        EXTRA.extend(["--dataset", "iris", "--batch-size", "4", "--clients", "2"])
        SHARED_HOME.append(Path(tempfile.mkdtemp(prefix="wafl-bench-smoke-")))
    if a.part in ("default", "all"):
        default_run(a.rounds)
    if a.part in ("attacks", "all"):
        attacks(a.attack_rounds)
    if a.part in ("forged", "all"):
        forged(a.attack_rounds)
    from wafl_sui.protocol import StepSpec

    dataset = "iris (D=4, C=3, B=4)" if a.smoke else "digits"
    _results.record(a, f"bench_simulate_{a.part}", f"wafl simulate: {a.part} ({dataset})", "```\n" + "\n".join(OUT) + "\n```",
                    "" if a.smoke else _results.spec_note({"digits": StepSpec()}))

if __name__ == "__main__":
    main()
