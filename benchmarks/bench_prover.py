"""Prover benchmark of the WaFL step circuit (not a test).

For each size: constraints (measured and formula), compile time, setup time (dev setup with
groth16py; ceremony phase 2 with snarkjs when a big enough --ptau-dir file exists), witness
time, prove time (median of --runs) and peak memory, for groth16py and snarkjs, and their ratio.
Each size runs in a fresh subprocess so the peak memory figures are per size.

    .venv/bin/python benchmarks/bench_prover.py                       # tiny, small, digits
    .venv/bin/python benchmarks/bench_prover.py --sizes digits --runs 5
    .venv/bin/python benchmarks/bench_prover.py --ptau-dir DIR        # DIR/dev_<power>.ptau files
    .venv/bin/python benchmarks/bench_prover.py --sizes digits,digits-24bit --runs 5 --write --machine idle
    .venv/bin/python benchmarks/bench_prover.py --smoke                 # tiny, one proof (does it run?)

WAFL_HOME defaults to a fresh folder under /tmp so compile times are real (not cache hits).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402
from wafl_sui.protocol import WIDE_FORMAT, StepSpec  # noqa: E402

SIZES = {
    "tiny": dict(features=4, classes=3, batch_size=2),
    "small": dict(features=16, classes=4, batch_size=8),
    "medium": dict(features=32, classes=10, batch_size=16),
    "digits": dict(features=64, classes=10, batch_size=16),
    "digits-b32": dict(features=64, classes=10, batch_size=32),
    # the digits format before the default moved under 2^16 constraints (24-bit weights)
    "digits-24bit": dict(features=64, classes=10, batch_size=16, **WIDE_FORMAT),
}


def _rss_mb(who) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0


def run_one(name: str, runs: int, ptau_dir: str | None) -> dict:
    from wafl_sui.zk import circuit
    from wafl_sui.zk import setup as groth16_setup
    from wafl_sui.zk import prover
    from wafl_sui.zk import witness
    from wafl_sui import protocol
    from wafl_sui.protocol import StepSpec

    spec = StepSpec(**SIZES[name])
    out: dict = {"size": name, "spec": SIZES[name]}
    t0 = time.perf_counter()
    art = circuit.build(spec, force=True)
    out["compile_s"] = round(time.perf_counter() - t0, 2)
    out["constraints"] = art.constraints
    out["formula"] = circuit.constraint_formula(spec)["total"]
    out["power"] = max(art.constraints - 1, 1).bit_length()

    rng = random.Random(0)
    w = [rng.randint(spec.weight_min // 4, spec.weight_max // 4) for _ in range(spec.num_weights)]
    x = [[rng.randint(0, spec.feature_max) for _ in range(spec.features)] for _ in range(spec.batch_size)]
    y = [[1 if c == i % spec.classes else 0 for c in range(spec.classes)] for i in range(spec.batch_size)]
    si = witness.step_inputs(spec, w, x, y, salt=12345, task_id="0x1", sender="0x2", round_=1,
                            lr_q=protocol.lr_to_fixed(1.0, spec.batch_size, spec.lr_frac_bits, spec.lr_bits))

    t0 = time.perf_counter()
    dev = groth16_setup.dev_setup(art, force=True)
    out["dev_setup_s"] = round(time.perf_counter() - t0, 2)

    def bench(keys, backend):
        t0 = time.perf_counter()
        p = prover.Prover(art, keys, backend=backend)
        load = time.perf_counter() - t0
        wit, prv = [], []
        for _ in range(runs):
            r = p.prove(si)
            wit.append(r.witness_seconds)
            prv.append(r.prove_seconds)
        ok = p.verify(r.proof_json, r.public_signals) and prover.snarkjs_verify(
            r.vk_json, r.public_signals, r.proof_json)
        p.close()
        return {"load_s": round(load, 2), "witness_s": round(statistics.median(wit), 3),
                "prove_s": round(statistics.median(prv), 3), "prove_runs": [round(v, 3) for v in prv],
                "verified": ok}

    out["groth16py_dev"] = bench(dev, "groth16py")
    out["peak_rss_python_mb"] = round(_rss_mb(resource.RUSAGE_SELF))

    ptau = None
    if ptau_dir:
        for pw in range(out["power"], 29):
            cand = Path(ptau_dir) / f"dev_{pw}.ptau"
            if cand.is_file():
                ptau = cand
                break
    if ptau:
        t0 = time.perf_counter()
        cer = groth16_setup.ceremony_setup(art, ptau, contributions=1, force=True)
        out["ceremony_setup_s"] = round(time.perf_counter() - t0, 2)
        out["ceremony_ptau"] = ptau.name
        out["snarkjs"] = bench(cer, "snarkjs")
        out["groth16py_ceremony"] = bench(cer, "groth16py")
        out["ratio_snarkjs_over_groth16py"] = round(out["snarkjs"]["prove_s"] / out["groth16py_ceremony"]["prove_s"], 2)
    else:
        out["snarkjs"] = f"no dev_<power>.ptau with power >= {out['power']} in --ptau-dir: no zkey"
    out["peak_rss_python_mb"] = round(_rss_mb(resource.RUSAGE_SELF))
    out["peak_rss_node_mb"] = round(_rss_mb(resource.RUSAGE_CHILDREN))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="tiny,small,digits", help=f"comma list of {sorted(SIZES)}")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ptau-dir", default=None, help="folder with dev_<power>.ptau files (snarkjs rows)")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    _results.add_arguments(ap)
    a = ap.parse_args()
    if a.smoke:
        a.sizes, a.runs = "tiny", 1
    if a.one:
        print("RESULT " + json.dumps(run_one(a.one, a.runs, a.ptau_dir)), flush=True)
        return
    env = dict(os.environ)
    env.setdefault("WAFL_HOME", tempfile.mkdtemp(prefix="wafl-bench-"))
    results = []
    for name in a.sizes.split(","):
        cmd = [sys.executable, __file__, "--one", name, "--runs", str(a.runs)]
        if a.ptau_dir:
            cmd += ["--ptau-dir", a.ptau_dir]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
        if r.returncode != 0 or not line:
            print(f"{name}: FAILED\n{r.stderr[-2000:]}")
            continue
        res = json.loads(line[-1][7:])
        results.append(res)
        print(json.dumps(res, indent=1), flush=True)
    lines = ["| size | constraints (formula) | compile s | dev setup s | witness s | groth16py prove s "
             "| snarkjs prove s | ratio | peak RSS py / node MB |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        g = r["groth16py_dev"]
        sj = r["snarkjs"]
        sj_s = f"{sj['prove_s']}" if isinstance(sj, dict) else "n/a (no zkey)"
        ratio = r.get("ratio_snarkjs_over_groth16py", "n/a")
        lines.append(f"| {r['size']} | {r['constraints']:,} ({r['formula']:,}) | {r['compile_s']} | {r['dev_setup_s']} "
                     f"| {g['witness_s']} | {g['prove_s']} | {sj_s} | {ratio} "
                     f"| {r['peak_rss_python_mb']} / {r['peak_rss_node_mb']} |")
    body = "\n".join(lines) + (
        f"\n\nMedians of {a.runs} proofs per size, in seconds, each size in a fresh process, compiled and "
        "set up afresh (not cache hits); witness by the resident node witness generator; "
        "snarkjs (and its ratio) only with a --ptau-dir holding a large enough powers of tau. Peak RSS: the "
        "Python process / node.")
    print("\n" + body)
    if len(results) != len(a.sizes.split(",")):
        sys.exit("some sizes failed (above): nothing written")
    _results.record(a, "bench_prover", "Proving", body,
                    _results.spec_note({r["size"]: StepSpec(**SIZES[r["size"]]) for r in results}))
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
