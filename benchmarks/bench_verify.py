"""Verify benchmark of Sui-encoded Groth16 proofs (not a test): the fast verifier of the local
ledger (our decoding + arkworks through groth16py, from the prepared key) against the py_ecc
reference, per proof, on a real proof of the step circuit.

For each size: compile + dev setup + one proof (groth16py), then
  * prepare_verifying_key (reference, once per key) and FastVerifier(pvk) (once per key: decodes
    the key and checks e(alpha, beta) against the stored bytes),
  * per-verify times, median of --runs (fast: verify_prepared on a cached key; also a rejected
    proof and verify_raw from the raw vk) and of --ref-runs (reference verify_groth16_proof),
  * the ratio reference / fast.
Verification cost depends on the number of public inputs (4 for every spec), not on the size.

    .venv/bin/python benchmarks/bench_verify.py                     # digits, 200 / 5 runs
    .venv/bin/python benchmarks/bench_verify.py --sizes tiny,digits --json
    .venv/bin/python benchmarks/bench_verify.py --write --machine idle   # its section of RESULTS.md
    .venv/bin/python benchmarks/bench_verify.py --smoke                 # tiny, a few runs (does it run?)

WAFL_HOME defaults to a fresh folder under /tmp (the circuit is compiled, keyed and proved once).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402

SIZES = {
    "tiny": dict(features=4, classes=3, batch_size=2),
    "small": dict(features=16, classes=4, batch_size=8),
    "digits": dict(features=64, classes=10, batch_size=16),
}
TASK, SENDER = "0x" + "11" * 32, "0x" + "22" * 32


def _times(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _real_proof(name: str):
    from wafl_sui import protocol
    from wafl_sui.protocol import StepSpec
    from wafl_sui.zk import circuit, prover, sui_bytes, witness
    from wafl_sui.zk import setup as groth16_setup

    spec = StepSpec(**SIZES[name])
    art = circuit.build(spec)
    keys = groth16_setup.dev_setup(art)
    rng = random.Random(9)  # values within the spec's format (as bench_prover.py draws them)
    w = [rng.randint(spec.weight_min // 4, spec.weight_max // 4) for _ in range(spec.num_weights)]
    x = [[rng.randint(spec.feature_min, spec.feature_max) for _ in range(spec.features)] for _ in range(spec.batch_size)]
    y = [[1 if c == i % spec.classes else 0 for c in range(spec.classes)] for i in range(spec.batch_size)]
    lr_q = protocol.lr_to_fixed(1.0, spec.batch_size, spec.lr_frac_bits, spec.lr_bits)
    si = witness.step_inputs(spec, w, x, y, salt=5, task_id=TASK, sender=SENDER, round_=0, lr_q=lr_q)
    with prover.make_prover(art, keys, "groth16py") as p:
        res = p.prove(si)
    vk = sui_bytes.vk_bytes_from_snarkjs(res.vk_json)
    proof = sui_bytes.proof_bytes_from_snarkjs(res.proof_json)
    inputs = protocol.public_inputs_bytes(res.public_signals)
    return art.constraints, vk, proof, inputs


def run_one(name: str, runs: int, ref_runs: int) -> dict:
    from wafl_sui.zk import sui_bytes as sb

    constraints, vk, proof, inputs = _real_proof(name)
    tampered = bytearray(inputs)
    tampered[0] ^= 1
    tampered = bytes(tampered)
    out: dict = {"size": name, "spec": SIZES[name], "constraints": constraints,
                 "public_inputs": len(inputs) // 32}

    t0 = time.perf_counter()
    pvk = sb.prepare_verifying_key(vk)
    out["prepare_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    fv = sb.fast_verifier(pvk)  # what verify_prepared caches on its first call for a key
    out["fast_setup_s"] = time.perf_counter() - t0
    assert fv.fast, fv.slow_reason

    assert sb.verify_prepared(pvk, inputs, proof) and not sb.verify_prepared(pvk, tampered, proof)
    fast = _times(lambda: sb.verify_prepared(pvk, inputs, proof), runs)
    fast_reject = _times(lambda: sb.verify_prepared(pvk, tampered, proof), max(runs // 4, 1))
    raw = _times(lambda: sb.verify_raw(vk, inputs, proof), max(runs // 10, 1))
    ref = _times(lambda: sb.verify_groth16_proof(pvk, inputs, proof), ref_runs)
    out.update(
        fast_median_s=statistics.median(fast), fast_p90_s=sorted(fast)[int(0.9 * (len(fast) - 1))],
        fast_reject_median_s=statistics.median(fast_reject), verify_raw_median_s=statistics.median(raw),
        ref_median_s=statistics.median(ref), runs=runs, ref_runs=ref_runs,
    )
    out["ratio"] = out["ref_median_s"] / out["fast_median_s"]
    return out


def table(rows: list[dict]) -> str:
    lines = [
        "| size (D, C, B) | constraints | prepare (ref, once) | FastVerifier (once) | fast verify (median / p90) "
        "| fast reject | verify_raw (fast) | py_ecc verify (median) | py_ecc / fast |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r["spec"]
        lines.append(
            f"| {r['size']} ({s['features']}, {s['classes']}, {s['batch_size']}) | {r['constraints']:,} "
            f"| {r['prepare_s']:.2f} s | {r['fast_setup_s']:.2f} s "
            f"| {r['fast_median_s'] * 1e3:.1f} / {r['fast_p90_s'] * 1e3:.1f} ms | {r['fast_reject_median_s'] * 1e3:.1f} ms "
            f"| {r['verify_raw_median_s'] * 1e3:.1f} ms | {r['ref_median_s']:.2f} s | {r['ratio']:.0f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="digits", help="comma-separated: " + ",".join(SIZES))
    ap.add_argument("--runs", type=int, default=200, help="fast verifies per size (median)")
    ap.add_argument("--ref-runs", type=int, default=5, help="py_ecc reference verifies per size (median)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    _results.add_arguments(ap)
    args = ap.parse_args()
    if args.smoke:
        args.sizes, args.runs, args.ref_runs = "tiny", 4, 1
    os.environ.setdefault("WAFL_HOME", tempfile.mkdtemp(prefix="wafl-bench-verify-"))
    rows = []
    for name in args.sizes.split(","):
        if name not in SIZES:
            sys.exit(f"unknown size {name!r}; choose from {', '.join(SIZES)}")
        print(f"[{name}] compiling, setting up and proving once ...", file=sys.stderr, flush=True)
        rows.append(run_one(name, args.runs, args.ref_runs))
        r = rows[-1]
        print(f"[{name}] fast {r['fast_median_s'] * 1e3:.2f} ms, py_ecc {r['ref_median_s']:.3f} s, "
              f"ratio {r['ratio']:.0f}x", file=sys.stderr, flush=True)
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    from wafl_sui.protocol import StepSpec

    body = table(rows) + f"""

Per-proof times: the fast verifier (our decoding of the Sui bytes, arkworks' pairing through
groth16py, from the prepared key; `verify_prepared` with its key cached) against the py_ecc
reference (`verify_groth16_proof`), medians of {args.runs} and {args.ref_runs} runs on one real proof (dev
keys). "Once" columns are per key. The time depends on the number of public inputs (4 for every
spec), not on the circuit size."""
    specs = {n: StepSpec(**SIZES[n]) for n in args.sizes.split(",")}
    _results.record(args, "bench_verify", "Verify (Sui bytes)", body, _results.spec_note(specs))

if __name__ == "__main__":
    main()
