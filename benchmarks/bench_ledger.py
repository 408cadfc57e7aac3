"""Local ledger benchmark (not a test): the pairing check per proof (fast verifier vs the py_ecc
reference), the time of `submit_update` and `aggregate` through the ledger (signing, checks,
verification, one SQLite transaction with fsync), and the ledger file's growth per round.

    .venv/bin/python benchmarks/bench_ledger.py                       # tiny and digits
    .venv/bin/python benchmarks/bench_ledger.py --sizes tiny --clients 4 --rounds 3
    .venv/bin/python benchmarks/bench_ledger.py --write --machine idle   # its section of RESULTS.md
    .venv/bin/python benchmarks/bench_ledger.py --smoke                 # tiny, 2 clients, 1 round

Circuits and keys come from $WAFL_HOME (compiled once, cached); the ledger file is a fresh one
in a temporary folder. Real proofs from the development setup; every submit verifies for real.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
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


def _size(path: Path) -> int:
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if os.path.exists(p))


def _table_bytes(path: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            "signed_ops": con.execute("SELECT COALESCE(SUM(LENGTH(message) + LENGTH(signature)), 0) FROM transactions").fetchone()[0],
            "events": con.execute("SELECT COALESCE(SUM(LENGTH(fields)), 0) FROM events").fetchone()[0],
            "state": con.execute("SELECT COALESCE(SUM(LENGTH(state)), 0) FROM tasks").fetchone()[0],
        }
    finally:
        con.close()


def _ms(xs: list[float]) -> float:
    return round(1000 * statistics.median(xs), 2)


def run(name: str, clients: int, rounds: int, verify_runs: int, ref_runs: int) -> dict:
    from wafl_sui import protocol
    from wafl_sui.ledger.identity import Identity
    from wafl_sui.ledger.local import LocalLedger
    from wafl_sui.devtools.updates import UpdateMaker
    from wafl_sui.ledger.local.verify import verify_bytes
    from wafl_sui.protocol.round import RoundRules
    from wafl_sui.protocol.rules import AggregationRule
    from wafl_sui.zk import sui_bytes

    spec = protocol.StepSpec(**SIZES[name])
    out: dict = {"size": name, "spec": SIZES[name], "weights": spec.num_weights, "clients": clients, "rounds": rounds}
    t0 = time.perf_counter()
    maker = UpdateMaker(spec)
    out["circuit_and_prover_s"] = round(time.perf_counter() - t0, 2)
    owner = Identity.generate()
    people = [Identity.generate() for _ in range(clients)]
    folder = Path(tempfile.mkdtemp(prefix="wafl-bench-ledger-"))
    path = folder / "ledger.sqlite"

    # --- the pairing check alone, on one real proof
    t0 = time.perf_counter()
    pvk = sui_bytes.prepare_verifying_key(maker.vk)
    out["prepare_vk_s"] = round(time.perf_counter() - t0, 3)
    task_id = "0x" + "42" * 32
    view = type("V", (), {"model": maker.initial_model(), "task_id": task_id, "round": 0, "lr_q": maker.lr_q})()
    u = maker.make(view, people[0].address, 1)
    inputs = protocol.public_inputs_bytes(u.public_inputs)
    t0 = time.perf_counter()
    assert verify_bytes(pvk, inputs, u.proof, backend="fast")
    out["fast_key_setup_s"] = round(time.perf_counter() - t0, 3)
    fast = []
    for _ in range(verify_runs):
        t0 = time.perf_counter()
        assert verify_bytes(pvk, inputs, u.proof, backend="fast")
        fast.append(time.perf_counter() - t0)
    ref = []
    for _ in range(ref_runs):
        t0 = time.perf_counter()
        assert verify_bytes(pvk, inputs, u.proof, backend="py_ecc")
        ref.append(time.perf_counter() - t0)
    out["verify_fast_ms"], out["verify_py_ecc_ms"] = _ms(fast), _ms(ref)
    out["verify_ratio"] = round(statistics.median(ref) / statistics.median(fast), 1)

    # --- a federation on the ledger: clients x rounds submits, one aggregation per round
    led = LocalLedger(path, verifier="fast")
    t0 = time.perf_counter()
    led.create_task(owner, spec, RoundRules(clients, 3_600_000, rounds, 0), AggregationRule(0), maker.lr_q,
                    True, maker.initial_model(), maker.vk, name="bench")
    out["create_task_s"] = round(time.perf_counter() - t0, 3)
    for who in people:  # every client registered (and so sampled: participants_per_round = quorum = clients)
        led.register(who, "bench")
    led.close()
    sizes = [_size(path)]
    submits, aggs, proves = [], [], []
    led = LocalLedger(path, verifier="fast")
    for r in range(rounds):
        led.open_round(owner, "bench")  # draws the round's sample (every client here)
        v = led.task("bench")
        for i, who in enumerate(people):
            t0 = time.perf_counter()
            up = maker.make(v, who.address, 1000 * r + i)
            proves.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            led.submit_update(who, "bench", up.new_weights, up.data_commitment, up.proof)
            submits.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        receipts = led.aggregate_round(owner, "bench")
        aggs.append(time.perf_counter() - t0)
        assert receipts[-1].of_type("RoundAggregated")
        led.close()  # checkpoint the WAL into the file: the size is the file's
        sizes.append(_size(path))
        led = LocalLedger(path, verifier="fast")
    t0 = time.perf_counter()
    led.close()
    LocalLedger(path).close()
    out["open_s"] = round(time.perf_counter() - t0, 3)
    out["prove_ms"] = _ms(proves)
    out["submit_ms"], out["aggregate_ms"] = _ms(submits), _ms(aggs)
    out["file_bytes_after_create"] = sizes[0]
    out["file_bytes_final"] = sizes[-1]
    out["file_bytes_per_round"] = round((sizes[-1] - sizes[0]) / rounds)
    out["content_bytes"] = _table_bytes(path)

    # --- the same submit with the py_ecc verifier (one round's worth, a fresh ledger)
    slow_path = folder / "slow.sqlite"
    slow = LocalLedger(slow_path, verifier="py_ecc")
    slow.create_task(owner, spec, RoundRules(clients, 3_600_000, 1, 0), AggregationRule(0), maker.lr_q, True,
                     maker.initial_model(), maker.vk, name="slow")
    for who in people:
        slow.register(who, "slow")
    slow.open_round(owner, "slow")
    v = slow.task("slow")
    times = []
    for i, who in enumerate(people[: min(2, clients)]):
        up = maker.make(v, who.address, 7_000 + i)
        t0 = time.perf_counter()
        slow.submit_update(who, "slow", up.new_weights, up.data_commitment, up.proof)
        times.append(time.perf_counter() - t0)
    slow.close()
    out["submit_py_ecc_ms"] = _ms(times)
    out["submit_ratio"] = round(statistics.median(times) / statistics.median(submits), 1)
    maker.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="tiny,digits")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--verify-runs", type=int, default=50)
    ap.add_argument("--ref-runs", type=int, default=3)
    _results.add_arguments(ap)
    a = ap.parse_args()
    if a.smoke:
        a.sizes, a.clients, a.rounds, a.verify_runs, a.ref_runs = "tiny", 2, 1, 3, 1
    results = [run(s, a.clients, a.rounds, a.verify_runs, a.ref_runs) for s in a.sizes.split(",")]
    for r in results:
        print(json.dumps(r), flush=True)
    lines = ["| size (D, C, B) | weights | verify fast | verify py_ecc | ratio | prove | submit (fast) | submit (py_ecc) "
             "| ratio | aggregate | file / round | signed ops / events / state (total bytes) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        s = r["spec"]
        c = r["content_bytes"]
        lines.append(
            f"| {r['size']} ({s['features']}, {s['classes']}, {s['batch_size']}) | {r['weights']} "
            f"| {r['verify_fast_ms']} ms | {r['verify_py_ecc_ms']} ms | {r['verify_ratio']}x | {r['prove_ms']} ms "
            f"| {r['submit_ms']} ms | {r['submit_py_ecc_ms']} ms | {r['submit_ratio']}x | {r['aggregate_ms']} ms "
            f"| {r['file_bytes_per_round'] / 1024:.1f} KiB | {c['signed_ops']:,} / {c['events']:,} / {c['state']:,} |")
    body = "\n".join(lines) + (
        f"\n\n{a.clients} clients x {a.rounds} rounds, FedAvg, real proofs (dev keys); medians of every submit and "
        f"aggregate, of {a.verify_runs} fast and {a.ref_runs} py_ecc pairing checks; submit = signature, checks, "
        "Poseidon commitment, verify, one SQLite transaction with fsync; file sizes after a WAL checkpoint "
        "(they do not depend on the machine's speed).")
    print("\n" + body)
    from wafl_sui.protocol import StepSpec

    specs = {n: StepSpec(**SIZES[n]) for n in a.sizes.split(",")}
    _results.record(a, "bench_ledger", "Local ledger", body, _results.spec_note(specs))

if __name__ == "__main__":
    main()
