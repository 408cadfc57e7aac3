"""Sybil benchmark (not a test; issue #20, finding 1): an open task on the local ledger with real
proofs, 10 registered participants of which 2 are Sybil addresses that submit first, instantly, on
junk data (every label 0), 4 participants sampled per round, 20 rounds, the iris-sized spec (4
features, 3 classes, batch 2: cheap proofs). Before sampling, the two Sybils took every seat of
every round (a round closed at its quorum); now a seat comes only with the round's sample, so
their share of the accepted updates should be near their share of the registered population
(2 / 10 = 0.2).

    .venv/bin/python benchmarks/bench_sybil.py --json
    .venv/bin/python benchmarks/bench_sybil.py --rounds 40 --machine busy --write
    .venv/bin/python benchmarks/bench_sybil.py --rounds 5 --participants 6 --sybils 2 --sample 3

The Sybils' seats follow the hypergeometric law (k of n sampled, s Sybils): per round mean
k*s/n, variance k*(s/n)*(1-s/n)*(n-k)/(n-1); the script prints the expected share and its
standard deviation over the rounds run, so one run's share reads against chance.

Circuits and keys come from $WAFL_HOME (compiled once, cached); the ledger file is a fresh one
in a temporary folder. Every update is proven and verified for real.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _results  # noqa: E402

SPEC = dict(features=4, classes=3, batch_size=2)  # iris: 4 features, 3 classes


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=10)
    ap.add_argument("--sybils", type=int, default=2)
    ap.add_argument("--sample", type=int, default=4, help="participants_per_round")
    ap.add_argument("--quorum", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _results.add_arguments(ap)
    args = ap.parse_args(argv)
    if args.smoke:  # the smallest run that still samples: 4 registered, 1 Sybil, 2 sampled, 2 rounds
        args.participants, args.sybils, args.sample, args.quorum, args.rounds = 4, 1, 2, 1, 2

    from wafl_sui.devtools.updates import UpdateMaker
    from wafl_sui.ledger.identity import Identity
    from wafl_sui.ledger.local import LocalLedger
    from wafl_sui.protocol import AggregationRule, ProtocolError, RoundRules, StepSpec

    spec = StepSpec(**SPEC)

    class JunkMaker(UpdateMaker):
        """Honest proofs of steps on junk data: every label is class 0."""

        def batch(self, seed: int):
            x, _ = super().batch(seed)
            return x, [[1] + [0] * (spec.classes - 1) for _ in x]

    honest_maker = UpdateMaker(spec)
    junk_maker = JunkMaker(spec)
    t0 = time.perf_counter()
    owner = Identity.generate()
    people = [Identity.generate() for _ in range(args.participants)]
    sybils = {p.address for p in people[: args.sybils]}
    accepted = {"sybil": 0, "honest": 0}
    refused: dict[str, int] = {}
    prove_s: list[float] = []
    sampled_sybil_seats = 0
    try:
        with tempfile.TemporaryDirectory() as d, LocalLedger(Path(d) / "ledger.sqlite") as led:
            rules = RoundRules(args.quorum, 3_600_000, args.rounds, 0, args.sample)
            ref = led.create_task(owner, spec, rules, AggregationRule(0), honest_maker.lr_q, True,
                                  honest_maker.initial_model(), honest_maker.vk)
            for p in people:
                led.register(p, ref.task_id)
            for rnd in range(args.rounds):
                led.open_round(owner, ref.task_id)
                view = led.task(ref.task_id)
                sampled_sybil_seats += sum(a in sybils for a in view.sampled)
                # the Sybils submit first and instantly; then every honest participant tries
                order = [p for p in people if p.address in sybils] + [p for p in people if p.address not in sybils]
                for p in order:
                    kind = "sybil" if p.address in sybils else "honest"
                    if kind == "honest" and p.address not in view.sampled:
                        continue  # an honest client waits while not sampled (as `wafl client run`)
                    t = time.perf_counter()
                    u = (junk_maker if kind == "sybil" else honest_maker).make(led.task(ref.task_id), p.address,
                                                                               rnd * 100 + people.index(p))
                    prove_s.append(time.perf_counter() - t)
                    try:
                        led.submit_update(p, ref.task_id, u.new_weights, u.data_commitment, u.proof)
                        accepted[kind] += 1
                    except ProtocolError as e:
                        refused[f"{kind}:{e.name}"] = refused.get(f"{kind}:{e.name}", 0) + 1
                led.aggregate_round(owner, ref.task_id)
            finished = led.task(ref.task_id).finished
    finally:
        honest_maker.close()
        junk_maker.close()
    total = accepted["sybil"] + accepted["honest"]
    n, k, s_ = args.participants, min(args.sample, args.participants), args.sybils
    per_round_var = k * (s_ / n) * (1 - s_ / n) * (n - k) / (n - 1) if n > 1 else 0.0
    seats = k * args.rounds
    out = {
        "participants": args.participants, "sybils": args.sybils, "participants_per_round": args.sample,
        "quorum": args.quorum, "rounds": args.rounds, "spec": SPEC,
        "sybil_share": round(accepted["sybil"] / total, 4) if total else None,
        "population_share": round(args.sybils / args.participants, 4),
        # the share of the sampled seats: expected = population share, sd over this many rounds
        "sybil_seat_share": round(sampled_sybil_seats / seats, 4) if seats else None,
        "seat_share_sd": round(math.sqrt(per_round_var * args.rounds) / seats, 4) if seats else None,
        "sybil_accepted": accepted["sybil"], "honest_accepted": accepted["honest"],
        "sybil_seats_sampled": sampled_sybil_seats, "refused": refused,
        "finished": finished,
        "prove_seconds_median": round(statistics.median(prove_s), 3) if prove_s else None,
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for key, v in out.items():
            print(f"{key:>24}: {v}")
    if args.write or args.smoke:
        z = ((out["sybil_seat_share"] - out["population_share"]) / out["seat_share_sd"]) if out["seat_share_sd"] else 0.0
        body = (
            "| rounds | registered (Sybils) | sampled / round | sybil_share (accepted) | Sybil seat share | population "
            "share | sd of the seat share | seats vs expected | Sybil / honest accepted | refused | prove median | wall |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
            f"| {args.rounds} | {n} ({s_}) | {k} | {out['sybil_share']} | {out['sybil_seat_share']} | "
            f"{out['population_share']} | {out['seat_share_sd']} | {z:+.1f} sd | {out['sybil_accepted']} / "
            f"{out['honest_accepted']} | {', '.join(f'{a} {b}' for a, b in sorted(refused.items())) or 'none'} | "
            f"{out['prove_seconds_median']} s | {out['wall_seconds']} s |\n\n"
            "An open task on the local ledger, real proofs of the iris-sized spec, quorum "
            f"{args.quorum}; the Sybils submit first and instantly on junk data (every label 0). Before sampling "
            "the same two addresses took every seat of every round (share 1.0); now a seat comes only with the "
            "round's sample (`ENotSampled` otherwise), so the Sybils' share follows their share of the "
            "registered population, within the chance the sd column gives."
        )
        _results.record(args, "bench_sybil", "Sybils on an open task (sampling)", body,
                        _results.spec_note({"iris": spec}))
    return out


if __name__ == "__main__":
    main()
