"""Gas of the WaFL contract's entry functions under Sui's gas schedule (issue: "The contract
within Sui's gas limits").

    .venv/bin/python benchmarks/bench_gas.py                 # digits + largest model, n = 4, 16, 64, max
    .venv/bin/python benchmarks/bench_gas.py --quick         # digits only, n = 4, 16 (~30 s)
    .venv/bin/python benchmarks/bench_gas.py --markdown      # also print the tables as markdown
    .venv/bin/python benchmarks/bench_gas.py --json out.json
    .venv/bin/python benchmarks/bench_gas.py --write          # the tables into its section of RESULTS.md
    .venv/bin/python benchmarks/bench_gas.py --smoke          # digits, FedAvg, n = 4 (does it run?)
    .venv/bin/python benchmarks/bench_gas.py --private-n 0    # without the private-task rows

Private tasks (docs/PRIVACY.md): for each size and for FedAvg and median, a task of
--private-n senders (default 16) made private: set_privacy, register_private #1 / #n,
submit_private_update #1 / #n (the round opened by writing open_round's fields, as above).

Method (see benchmarks/GAS.md): each transaction of the built package runs in the metered Move
interpreter of `wafl_sui/devtools/gas/` (real bytecode of the package and of the Sui framework
in the sui-sandbox wheel; Sui's GasStatus tiers and stack accounting at gas model 11; native
costs from protocol config v110). What is printed per transaction: bytecode instructions
executed (as Sui's meter counts them), native calls, computation units charged (rounded up to
1000, out-of-gas at 5,000,000), storage bytes written / rebated, and the net SUI at the given gas
price (default: reference 750 MIST) and storage price 76 MIST per storage unit (100 per byte).

Set-up shortcuts, stated in the output: the round's updates 2..n-1 are written into the task's
state directly (`TaskFlow.fill`, as submit_update leaves them); update 1 and update n are real
submits. A chunked aggregation runs its first two steps and its last one; the steps between are
counted as copies of the second. A quorum that create_task refuses (EOverGasBudget) is measured
anyway by creating with quorum 1 and setting the stored quorum.

With a Sui CLI (`sui` on PATH) or `WAFL_SUI_RPC_URL` and a published package / a task with a full
round (`--package`, `--task`, `--sender` or WAFL_GAS_PACKAGE / WAFL_GAS_TASK / WAFL_GAS_SENDER), an
`aggregate` is also dry-run on the node and its gas printed; otherwise that part is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402

from wafl_sui.devtools import gas as G  # noqa: E402

DIGITS = dict(features=64, classes=10, batch_size=16, local_steps=1, frac_bits=16, weight_bits=24,
              feature_frac_bits=4, feature_bits=6, lr_frac_bits=16, lr_bits=16)
#: Largest models tried in order (4,095 weights is Sui's pure-argument limit for vector<u32>).
LARGEST = [dict(DIGITS, features=1364, classes=3), dict(DIGITS, features=408, classes=10)]
ENTRY = ("create_task", "submit_update", "aggregate", "discard_round")
RULE_NAMES = {"fedavg": "fedavg", "median": "median", "trimmed": "trimmed mean 10%"}


def weights(spec: dict) -> int:
    return spec["classes"] * (spec["features"] + 1)


def spec_ok(build, spec: dict) -> bool:
    ch = G.Chain(build)
    rep = ch.call("spec", "new", [("u64", spec[k]) for k in G.SPEC_FIELDS])
    return rep.ok


def row(op, size, rule, n, rep, note="", gas_price=G.REFERENCE_GAS_PRICE_MIST):
    if rep is None:
        return dict(op=op, size=size, rule=rule, n=n, ok=False, note=note)
    if rep.virtual_instructions:
        note = (note + "; " if note else "") + f"+{rep.virtual_instructions:,} virtual instr."
    return dict(op=op, size=size, rule=rule, n=n, ok=rep.ok, abort=rep.abort, oog=rep.out_of_gas,
                instructions=rep.instructions, virtual=rep.virtual_instructions,
                natives=rep.native_calls, units=rep.computation_units,
                exec_units=round(rep.execution_units), stack_mb=round(rep.stack_bytes / 1e6, 2),
                written=rep.storage_written_bytes, rebated=rep.storage_rebated_bytes,
                sui=round(G.sui(rep.total_mist(gas_price)), 6), note=note)


def run_case(build, spec, rule, n, gas_price, skip_middle=True):
    """create / submit #1 / submit #n / aggregate steps / discard for one (size, rule, n)."""
    size = weights(spec)
    rows = []
    ch = G.Chain(build)
    fl = G.TaskFlow(ch, spec, rule, quorum=n)
    create = fl.create()
    refused = None
    if not create.ok:
        refused = create.abort
        rows.append(row("create_task", size, rule, n, create, f"refused: {create.abort}", gas_price))
        fl = G.TaskFlow(ch, spec, rule, quorum=1)
        again = fl.create()
        if not again.ok:
            rows.append(row("create_task", size, rule, 1, again, f"quorum 1 also fails: {again.abort}", gas_price))
            return rows, None
        fl.force_quorum(n)
    else:
        rows.append(row("create_task", size, rule, n, create, "", gas_price))
    first = fl.submit()
    rows.append(row("submit_update #1", size, rule, n, first, "", gas_price))
    if not first.ok:
        return rows, None
    last = first
    if n > 1:
        fl.fill(n - 2)
        last = fl.submit()
        rows.append(row(f"submit_update #{n}", size, rule, n, last, "", gas_price))
        if not last.ok:
            return rows, None
    snapshot = {k: G.StoredObject(**vars(v)) for k, v in ch.objects.items()}
    state = (fl.now, fl.submitted, fl._rng)
    agg = fl.aggregate(skip_middle=skip_middle)
    steps = agg.steps
    for i, st in enumerate(steps):
        label = "aggregate" if agg.total_steps == 1 else (
            f"aggregate step {i + 1}/{agg.total_steps}" if i < 2 or agg.skipped == 0
            else f"aggregate step {agg.total_steps}/{agg.total_steps} (last)")
        rows.append(row(label, size, rule, n, st, "", gas_price))
    if agg.skipped:
        rows.append(dict(op=f"  ({agg.skipped} middle steps as step 2)", size=size, rule=rule, n=n, ok=True,
                         note="not run"))
    if "discard_round" in ch.functions("task"):
        ch.objects = snapshot
        fl.now, fl.submitted, fl._rng = state
        rows.append(row("discard_round", size, rule, n, fl.discard(), "", gas_price))
    summary = dict(size=size, rule=rule, n=n, refused=refused, create=create.computation_units if create.ok else None,
                   submit_max=max(first.computation_units, last.computation_units),
                   agg_ok=agg.ok, agg_max=agg.max_units, agg_steps=agg.total_steps, agg_total=agg.total_units,
                   agg_sui=round(G.sui(agg.total_mist(gas_price)), 6),
                   oog=any(s.out_of_gas for s in steps))
    return rows, summary


def private_case(build, spec, rule, n, gas_price):
    """A private task (docs/PRIVACY.md) of n senders: create / set_privacy / register_private #1
    and #n / submit_private_update #1 and #n (updates 2..n-1 filled as in `run_case`; the round
    is opened by writing open_round's fields: no `sui::random` offline). Its aggregation and
    discard are the plain task's."""
    size = weights(spec)
    fl = G.PrivateTaskFlow(G.Chain(build), spec, rule, quorum=n)
    out = fl.setup()
    rows = [row("create_task (private)", size, rule, n, out["create_task"][0], "", gas_price)]
    if "set_privacy" in out:
        rows.append(row("set_privacy", size, rule, n, out["set_privacy"][0], "", gas_price))
    regs = out.get("register_private", [])
    for i in sorted({0, len(regs) - 1}) if regs else []:
        rows.append(row(f"register_private #{i + 1}", size, rule, n, regs[i], "", gas_price))
    if not regs or not regs[-1].ok:
        return rows
    first = fl.submit()
    rows.append(row("submit_private_update #1", size, rule, n, first, "", gas_price))
    if first.ok and n > 1:
        fl.fill(n - 2)
        rows.append(row(f"submit_private_update #{n}", size, rule, n, fl.submit(), "", gas_price))
    return rows


def fits(summary, budget) -> bool:
    return bool(summary and summary["agg_ok"] and summary["agg_max"] <= budget and summary["submit_max"] <= budget)


def largest_quorum(build, spec, rule, budget, hi, known, gas_price, probes=6):
    """The largest n <= hi whose submits and every aggregation step fit `budget` (measured)."""
    ok = [n for n, s in known.items() if fits(s, budget)]
    bad = [n for n, s in known.items() if not fits(s, budget)]
    lo = max(ok, default=0)
    top = min([b for b in bad if b > lo], default=None)
    if top is None:
        if hi in known:
            return lo, "measured"
        _, s = run_case(build, spec, rule, hi, gas_price)
        known[hi] = s
        if fits(s, budget):
            return hi, "measured"
        top = hi
    for _ in range(probes):
        if top - lo <= 1:
            break
        mid = (lo + top) // 2
        _, s = run_case(build, spec, rule, mid, gas_price)
        known[mid] = s
        if fits(s, budget):
            lo = mid
        else:
            top = mid
    return lo, "measured" if top - lo <= 1 else f"between {lo} and {top} (search stopped)"


def print_table(rows, markdown=False):
    cols = [("op", "operation"), ("size", "weights"), ("rule", "rule"), ("n", "n"), ("instructions", "instructions"),
            ("natives", "natives"), ("units", "units"), ("stack_mb", "stack MB"), ("written", "written B"),
            ("rebated", "rebated B"), ("sui", "SUI"), ("note", "note")]
    def cell(r, k):
        v = r.get(k, "")
        if k == "note" and not r.get("ok", True) and not v:
            v = "OUT OF GAS" if r.get("oog") else (r.get("abort") or "failed")
        if k == "rule":
            v = RULE_NAMES.get(v, v)
        if isinstance(v, int) and k not in ("n", "size"):
            return f"{v:,}"
        return str(v)
    table = [[h for _, h in cols]] + [[cell(r, k) for k, _ in cols] for r in rows]
    if markdown:
        print("| " + " | ".join(table[0]) + " |")
        print("|" + "|".join("---" for _ in cols) + "|")
        for t in table[1:]:
            print("| " + " | ".join(t) + " |")
        return
    widths = [max(len(t[i]) for t in table) for i in range(len(cols))]
    for t in table:
        print("  ".join(x.rjust(w) if i in (3, 4, 5, 6, 7, 8, 9, 10) else x.ljust(w) for i, (x, w) in enumerate(zip(t, widths))))


def dry_run(args) -> None:
    """A node-side dry run of `aggregate` when a Sui CLI or WAFL_SUI_RPC_URL is available."""
    pkg = args.package or os.environ.get("WAFL_GAS_PACKAGE")
    task = args.task or os.environ.get("WAFL_GAS_TASK")
    sender = args.sender or os.environ.get("WAFL_GAS_SENDER")
    cli = shutil.which("sui")
    rpc = os.environ.get("WAFL_SUI_RPC_URL")
    if not cli and not rpc:
        print("dry run on a node: skipped (no `sui` CLI on PATH and WAFL_SUI_RPC_URL is not set)")
        return
    if not (pkg and task):
        print(f"dry run on a node: {'Sui CLI ' + cli if cli else 'WAFL_SUI_RPC_URL'} found, but no published package /"
              " task given (--package, --task, or WAFL_GAS_PACKAGE / WAFL_GAS_TASK): skipped")
        return
    if cli:
        cmd = [cli, "client", "call", "--dry-run", "--package", pkg, "--module", "task", "--function", "aggregate",
               "--args", task, "0x6", "--gas-budget", str(G.MAX_COMPUTATION_UNITS * G.REFERENCE_GAS_PRICE_MIST), "--json"]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            data = json.loads(out.stdout or "{}")
            used = (data.get("effects") or {}).get("gasUsed") or data.get("gasUsed")
            print(f"dry run (sui client call --dry-run) of task::aggregate: {used or out.stderr.strip()[:300]}")
        except Exception as e:  # noqa: BLE001
            print(f"dry run (sui CLI) failed: {e}")
        return
    try:
        from wafl_sui.ledger.sui.client import SuiClient
        from wafl_sui.ledger.sui import transactions as T

        with SuiClient(rpc) as client:
            obj = client.get_object(task)
            shared = T.SharedObject(task, obj.initial_shared_version, True)
            kind = T.ProgrammableTransaction((shared, T.CLOCK), (T.MoveCall(pkg, "task", "aggregate", (T.Input(0), T.Input(1))),))
            _, sim = client.prepare(kind, sender or obj.owner.address)
            print(f"dry run (SimulateTransaction at {rpc}) of task::aggregate: success={sim.success} "
                  f"computation={sim.gas.computation} storage={sim.gas.storage} rebate={sim.gas.rebate} MIST")
    except Exception as e:  # noqa: BLE001
        print(f"dry run (WAFL_SUI_RPC_URL) failed: {e}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="digits only, n = 4 and 16")
    ap.add_argument("--sizes", default="digits,largest")
    ap.add_argument("--rules", default="fedavg,median,trimmed")
    ap.add_argument("--n", default="4,16,64,max", help="round sizes ('max' = the contract's largest quorum)")
    ap.add_argument("--budget", type=int, default=3_000_000, help="units each transaction must fit (60%% of the cap)")
    ap.add_argument("--gas-price", type=int, default=G.REFERENCE_GAS_PRICE_MIST)
    ap.add_argument("--no-search", action="store_true", help="do not search the largest fitting quorum")
    ap.add_argument("--private-n", type=int, default=16, help="senders of the private-task rows (0: none)")
    ap.add_argument("--all-steps", action="store_true", help="run every step of a chunked aggregation")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--package")
    ap.add_argument("--task")
    ap.add_argument("--sender")
    _results.add_arguments(ap)
    args = ap.parse_args(argv)
    if args.smoke:
        args.sizes, args.rules, args.n, args.no_search = "digits", "fedavg", "4", True
        args.private_n = 4
    if args.quick:
        args.sizes, args.n = "digits", "4,16"

    from wafl_sui.contract.build import build_package

    t0 = time.time()
    build = build_package()
    chain = G.Chain(build)
    print("method (b): instructions counted by executing the package's compiled bytecode (and the Sui framework's)")
    print("  in the metered Move interpreter of wafl_sui/devtools/gas/, charged to a replica of Sui's gas meter;")
    print("  sui-sandbox 0.22 reports no instruction count (its gas_used is bucketed, capped at 5M units, 16 bytes")
    print("  per value, and cannot run sui::poseidon / sui::groth16): tests/test_gas.py checks the interpreter")
    print("  against its Move VM (same results and object bytes; same gas_used under the sandbox's own meter).")
    print(f"  gas model {G.GAS_MODEL_VERSION} / cost table v5, protocol config v{G.PROTOCOL_VERSION} natives;"
          f" cap {G.MAX_COMPUTATION_UNITS:,} units; price {args.gas_price} MIST/unit, storage {G.STORAGE_PRICE_MIST}"
          f" MIST/storage unit ({G.OBJ_DATA_COST_REFUNDABLE} per byte)")
    print(f"  package {build.digest_hex()[:16]}..., modules {', '.join(build.module_names)}")
    task_fns = chain.functions("task") if "task" in build.module_names else {}
    missing = [f for f in ENTRY if f not in task_fns]
    if missing:
        print(f"  not in the built package (cannot measure): {', '.join('task::' + m for m in missing)}")
    if any(f in missing for f in ("create_task", "submit_update", "aggregate")):
        print("the task flow cannot run on this package; stopping")
        dry_run(args)
        return 1
    max_q = 256
    try:
        mq = chain.call("round", "max_updates_per_round")
        if mq.ok:
            max_q = mq.returns[0]
    except G.GasError:
        pass
    print(f"  largest quorum allowed by the package: {max_q}")

    sizes = []
    for s in args.sizes.split(","):
        if s == "digits":
            sizes.append(("digits", DIGITS))
        elif s == "largest":
            for cand in LARGEST:
                if spec_ok(build, cand):
                    sizes.append(("largest", cand))
                    break
            else:
                print("  no largest-model spec passes spec::new; skipped")
    ns = [max_q if x == "max" else int(x) for x in args.n.split(",")]
    rules = args.rules.split(",")
    all_rows, summaries = [], {}
    for label, spec in sizes:
        print(f"\n== {label}: features={spec['features']} classes={spec['classes']} -> {weights(spec)} weights,"
              f" weight_bits={spec['weight_bits']}")
        for rule in rules:
            for n in ns:
                t = time.time()
                try:
                    rows, s = run_case(build, spec, rule, n, args.gas_price, skip_middle=not args.all_steps)
                except (G.GasError, KeyError, ValueError, IndexError) as e:  # the package's API moved on
                    print(f"  could not measure {label}/{rule}/n={n}: {type(e).__name__}: {e}")
                    continue
                summaries[(label, rule, n)] = s
                all_rows.extend(rows)
                print_table(rows)
                print(f"   ({time.time() - t:.1f} s)")
            if args.private_n > 0 and rule in ("fedavg", "median") and "private_task" in build.module_names:
                t = time.time()
                try:
                    rows = private_case(build, spec, rule, args.private_n, args.gas_price)
                except (G.GasError, KeyError, ValueError, IndexError) as e:
                    print(f"  could not measure the private task {label}/{rule}: {type(e).__name__}: {e}")
                    continue
                all_rows.extend(rows)
                print_table(rows)
                print(f"   (private task, {time.time() - t:.1f} s)")
    print("\n== largest quorum whose submits and every aggregation step fit "
          f"{args.budget:,} units (measured)")
    fit_rows = []
    for label, spec in sizes:
        for rule in rules:
            known = {n: summaries[(label, rule, n)] for n in ns if (label, rule, n) in summaries}
            if args.no_search:
                ok = [n for n, s in known.items() if fits(s, args.budget)]
                q, how = max(ok, default=0), "of the measured n only"
            else:
                try:
                    q, how = largest_quorum(build, spec, rule, args.budget, max_q, known, args.gas_price)
                except (G.GasError, KeyError, ValueError, IndexError) as e:
                    print(f"  could not search {label}/{rule}: {type(e).__name__}: {e}")
                    continue
            s = known.get(q)
            refused = s and s.get("refused")
            fit_rows.append((label, weights(spec), RULE_NAMES[rule], q, how, refused))
            print(f"  {label:8s} {weights(spec):5d} weights  {RULE_NAMES[rule]:17s} largest n = {q:4d} ({how})"
                  + (f"; create_task refuses n={q}: {refused}" if refused else ""))
    refusals = [(k, s) for k, s in summaries.items() if s and s.get("refused") and fits(s, args.budget)]
    accepted_bad = [(k, s) for k, s in summaries.items() if s and not s.get("refused") and not fits(s, G.MAX_COMPUTATION_UNITS)]
    print("\n== contract check: tasks create_task accepts whose aggregation does not fit the 5,000,000 cap: "
          + (", ".join(f"{k}" for k, _ in accepted_bad) if accepted_bad else "none measured"))
    if refusals:
        print("   tasks create_task refuses although they fit the budget (conservative): "
              + ", ".join(f"{k[0]}/{k[1]}/n={k[2]}" for k, _ in refusals))
    print()
    dry_run(args)
    print(f"\ntotal {time.time() - t0:.0f} s")
    if args.markdown:
        print()
        print_table(all_rows, markdown=True)
    if args.write or args.smoke:
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            print_table(all_rows, markdown=True)
        fit = "\n".join(f"- {label} ({w:,} weights), {rule}: largest quorum {q} ({how})" for label, w, rule, q, how, _ in fit_rows)
        body = (buf.getvalue() + f"\nLargest quorum whose submits and every aggregation step fit {args.budget:,} units:\n"
                + fit + "\n\nComputation units from the offline replica of Sui's gas meter (an estimate until "
                "measured on a network; method: benchmarks/GAS.md); they do not depend on the machine.")
        _results.record(args, "bench_gas", "Gas (offline replica of Sui's meter)", body,
                        "Sizes: " + ", ".join(f"{label} ({weights(spec):,} weights, weight_bits={spec['weight_bits']})"
                                              for label, spec in sizes) + ".")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(rows=all_rows, summaries=[v for v in summaries.values() if v],
                                                   largest=fit_rows), indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
