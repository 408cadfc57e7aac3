"""`TaskFlow`: one WaFL task on an offline `Chain`, driven through the package's entry functions
(create_task, submit_update, aggregate step by step, discard_round) with the API the built
package has; `open_sample` writes a round's registered and sampled senders (there is no
`sui::random` object offline) and `fill` its updates directly for measuring large rounds, and
`Aggregation` sums the steps of one round's aggregation."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from wafl_sui.devtools.gas.chain import CLOCK_ID, Chain, MoveCall, Obj, Res
from wafl_sui.devtools.gas.errors import GasError
from wafl_sui.devtools.gas.report import GasReport
from wafl_sui.devtools.gas.schedule import REFERENCE_GAS_PRICE_MIST
from wafl_sui.devtools.gas.types import address_bytes, type_tag_bcs
from wafl_sui.devtools.gas.values import Struct, Vec

RULES = {"fedavg": (0, 0), "median": (1, 0), "trimmed": (2, 1000)}
SPEC_FIELDS = ("features", "classes", "batch_size", "local_steps", "frac_bits", "weight_bits",
               "feature_frac_bits", "feature_bits", "lr_frac_bits", "lr_bits")
#: A verifying-key shape for 4 public inputs (5 IC points); the pairing is not computed.
STAND_IN_VK = bytes(96) + bytes(63) + b"\x01" + bytes(64) + (5).to_bytes(8, "little") + bytes(5 * 32)  # gamma != delta


def sender_address(k: int) -> bytes:
    return (0x5E00_0000 + k).to_bytes(32, "big")


@dataclass
class Aggregation:
    """The steps of one round's aggregation: the measured reports, and how many steps were
    skipped (counted as copies of the second step)."""
    steps: list = field(default_factory=list)
    skipped: int = 0
    total_steps: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    @property
    def max_units(self) -> int:
        return max((s.computation_units for s in self.steps), default=0)

    @property
    def total_units(self) -> int:
        extra = self.steps[1].computation_units * self.skipped if len(self.steps) > 1 else 0
        return sum(s.computation_units for s in self.steps) + extra

    @property
    def total_instructions(self) -> int:
        extra = self.steps[1].instructions * self.skipped if len(self.steps) > 1 else 0
        return sum(s.instructions for s in self.steps) + extra

    def total_mist(self, gas_price: int = REFERENCE_GAS_PRICE_MIST) -> int:
        extra = self.steps[1].total_mist(gas_price) * self.skipped if len(self.steps) > 1 else 0
        return sum(s.total_mist(gas_price) for s in self.steps) + extra


class TaskFlow:
    """One WaFL task on an offline `Chain`, driven through the package's public functions with
    the API the built package has (detected from `task::create_task`'s parameters)."""

    def __init__(self, chain: Chain, spec: dict, rule: str = "fedavg", trim_bps: int | None = None,
                 quorum: int = 4, round_duration_ms: int = 600_000, max_rounds: int = 10, grace_ms: int = 60_000,
                 lr_q: int = 16, start_ms: int = 1_700_000_000_000, seed: int = 1,
                 participants_per_round: int | None = None):
        self.chain, self.spec = chain, dict(spec)
        self.rule = RULES[rule][0] if isinstance(rule, str) else rule
        self.trim_bps = RULES[rule][1] if trim_bps is None and isinstance(rule, str) else (trim_bps or 0)
        self.quorum, self.duration, self.max_rounds, self.grace = quorum, round_duration_ms, max_rounds, grace_ms
        self.lr_q = lr_q
        # the round's sample: senders 1..participants_per_round (default: the quorum), the
        # largest round the task's gas budget covers
        self.per_round = quorum if participants_per_round is None else participants_per_round
        self.now = start_ms
        dims = [self.spec["features"], *self.spec.get("hidden", ()), self.spec["classes"]]
        self.num_weights = sum(dims[l + 1] * (dims[l] + 1) for l in range(len(dims) - 1))
        self.weight_bits = self.spec["weight_bits"]
        self.task_id: bytes | None = None
        self.submitted = 0
        self._rng = seed

    # ------------------------------------------------------------------ helpers
    def _rand(self) -> int:
        self._rng = (self._rng * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return self._rng >> 11

    def weights(self) -> list[int]:
        mask = (1 << self.weight_bits) - 1
        return [self._rand() & mask for _ in range(self.num_weights)]

    def tick(self, ms: int = 1) -> int:
        self.now += ms
        return self.now

    def api(self) -> str:
        f = self.chain.function("task", "create_task")
        first = self.chain.loader.resolve(f.module, f.params[0])
        return "structs" if type(first) is tuple and first[0] == "S" else "flat"

    # ------------------------------------------------------------------ calls
    def create(self, quorum: int | None = None) -> GasReport:
        q = self.quorum if quorum is None else quorum
        model = [1 << (self.weight_bits - 1)] * self.num_weights
        spec_args = [("u64", self.spec[k]) for k in SPEC_FIELDS]
        spec_call = MoveCall("spec", "new", spec_args)
        if self.spec.get("hidden"):  # an MLP: spec::new_mlp with the architecture fields
            spec_call = MoveCall("spec", "new_mlp", spec_args + [
                ("vector<u64>", list(self.spec["hidden"])), ("u64", self.spec.get("act_frac_bits", 6)),
                ("u64", self.spec.get("act_bits", 8))])
        if self.api() == "structs":
            rules_fn = self.chain.function("round", "new_rules")
            k = max(self.per_round, q)
            rr = [("u64", q), ("u64", self.duration), ("u64", self.max_rounds), ("u64", self.grace),
                  ("u64", k)][: len(rules_fn.params)]
            deposit = [("u64", 0)] if self._has_sampling() else []  # create_task's deposit_mist
            calls = [
                spec_call,
                MoveCall("round", "new_rules", rr),
                MoveCall("rules", "new_aggregation", [("u8", self.rule), ("u64", self.trim_bps)]),
                MoveCall("task", "create_task", [Res(0), Res(1), Res(2), ("u64", self.lr_q), ("bool", True), *deposit,
                                                 ("vector<u32>", model), ("vector<u8>", STAND_IN_VK), Obj(CLOCK_ID)]),
            ]
        else:
            calls = [MoveCall("task", "create_task", spec_args + [
                ("u64", self.lr_q), ("u64", q), ("u64", self.duration), ("u64", self.max_rounds), ("u8", self.rule),
                ("u64", self.trim_bps), ("bool", True), ("vector<u32>", model), ("vector<u8>", STAND_IN_VK),
                Obj(CLOCK_ID)])]
        before = set(self.chain.objects)
        rep = self.chain.ptb(calls, now_ms=self.tick(), sender=sender_address(0))
        if rep.ok:
            task_type_name = "Task"
            for oid in set(self.chain.objects) - before:
                o = self.chain.objects[oid]
                if o.owner == "shared" and o.type[3] == task_type_name:
                    self.task_id = oid
            self.open_sample()
        return rep

    def _has_sampling(self) -> bool:
        return "register" in self.chain.functions("task")

    def open_sample(self, senders: list[bytes] | None = None) -> None:
        """Open the current round with `senders` (default: senders 1..participants_per_round)
        registered and sampled, written into the stored task as `register` and `open_round`
        leave it (deposits of 0 MIST aside: the local chain has no `sui::random` object, and no
        measured call reads the deposits). A package without sampling has nothing to open."""
        if self.task_id is None or not self._has_sampling() or self.chain.get_field(self.task_id, "finished"):
            return
        if senders is None:
            senders = [sender_address(k) for k in range(1, self.per_round + 1)]
        for name, value in (("registered", senders), ("sampled", senders), ("randomness", [0] * 32)):
            vec = self.chain.get_field(self.task_id, name)
            vec.v = list(value)
            self.chain.set_field(self.task_id, name, vec)
        self.chain.set_field(self.task_id, "round_open", True)
        self.chain.set_field(self.task_id, "round_start_ms", self.now)
        self.chain.set_field(self.task_id, "deadline_ms", min(self.now + self.duration, (1 << 64) - 1))

    def force_quorum(self, q: int) -> None:
        """Set the stored task's quorum (to measure rounds larger than create_task accepts)."""
        names = self.chain.field_names(self.chain.objects[self.task_id].type)
        if "round_rules" in names:
            rr = self.chain.get_field(self.task_id, "round_rules")
            rr_names = self.chain.field_names(self._field_type("round_rules"))
            rr.f[rr_names.index("quorum")] = q
            if "participants_per_round" in rr_names:
                self.per_round = max(self.per_round, q)
                rr.f[rr_names.index("participants_per_round")] = self.per_round
            self.chain.set_field(self.task_id, "round_rules", rr)
            self.open_sample()
        else:
            self.chain.set_field(self.task_id, "quorum", q)

    def _field_type(self, name: str):
        ty = self.chain.objects[self.task_id].type
        return dict(self.chain.loader.fields(ty))[name]

    def submit(self, k: int | None = None, weights: list[int] | None = None, **kw) -> GasReport:
        k = self.submitted + 1 if k is None else k
        w = self.weights() if weights is None else weights
        data = self._rand() % (1 << 250)
        rep = self.chain.call("task", "submit_update", [Obj(self.task_id), ("vector<u32>", w), ("u256", data),
                                                        ("vector<u8>", bytes(128)), Obj(CLOCK_ID)],
                              sender=sender_address(k), now_ms=self.tick(), **kw)
        if rep.ok:
            self.submitted += 1
        return rep

    def fill(self, n: int) -> None:
        """Add `n` updates to the stored task directly, as `submit_update` leaves them (a fast
        set-up for measuring large rounds; the state is the package's: `submitters`, and the
        `sums` (FedAvg) or one `updates` table entry per sender). Falls back to real submits
        when the task has no such fields."""
        ch, tid = self.chain, self.task_id
        ty = ch.objects[tid].type
        names = ch.field_names(ty)
        if "submitters" not in names or "updates" not in names:
            for _ in range(n):
                rep = self.submit()
                if not rep.ok:
                    raise GasError(f"submit_update failed while filling the round: {rep.abort}")
            return
        v = ch.value(tid)
        f = dict(zip(names, v.f))
        fedavg = "sums" in names and self.rule == 0
        updates = f["updates"]  # Table { id: UID, size }
        parent = updates.f[0].f[0].f[0]
        field_ty = ("S", address_bytes("0x2"), "dynamic_field", "Field", ("address", ("vec", "u32")))
        for _ in range(n):
            k = self.submitted + 1
            sender = sender_address(k)
            w = self.weights()
            self._rand()  # the data commitment a real submit draws (keeps the streams aligned)
            f["submitters"].v.append(sender)
            if fedavg:
                sums = f["sums"].v
                for j, x in enumerate(w):
                    sums[j] += x
            else:
                kb = sender
                cid = hashlib.blake2b(b"\xf0" + parent + len(kb).to_bytes(8, "little") + kb + type_tag_bcs("address"),
                                      digest_size=32).digest()
                child = Struct([Struct([Struct([cid])]), sender, Vec("u32", w)])
                ch._put(cid, field_ty, ch.loader.encode(field_ty, child), "object:" + parent.hex())
                updates.f[1] += 1
            self.submitted += 1
        ch.objects[tid].bcs = ch.loader.encode(ty, v)

    def round(self) -> int:
        return self.chain.get_field(self.task_id, "round")

    def aggregate_step(self, **kw) -> GasReport:
        return self.chain.call("task", "aggregate", [Obj(self.task_id), Obj(CLOCK_ID)],
                               sender=sender_address(0), now_ms=self.tick(), **kw)

    def aggregate(self, max_steps: int = 10_000, skip_middle: bool = False, **kw) -> "Aggregation":
        """Aggregation steps until the round advances (or a step fails). With `skip_middle`,
        a chunked aggregation runs its first two steps and its last one; the steps between
        (the same code on slices of the same width as the second) are skipped by writing the
        task's `partial` field to the length they would leave (values repeated from the
        measured steps), and counted as copies of the second step."""
        start = self.round()
        agg = Aggregation()
        names = self.chain.field_names(self.chain.objects[self.task_id].type)
        for _ in range(max_steps):
            rep = self.aggregate_step(**kw)
            agg.steps.append(rep)
            agg.total_steps += 1
            if not rep.ok or self.round() != start:
                break
            if skip_middle and len(agg.steps) == 2 and "partial" in names and "model" in names:
                part = self.chain.get_field(self.task_id, "partial")
                m = len(self.chain.get_field(self.task_id, "model").v)
                c = len(part.v) // 2
                if c <= 0:
                    continue
                remaining = -(-(m - len(part.v)) // c)  # steps still to run
                if remaining > 1:
                    keep = len(part.v) + (remaining - 1) * c
                    vals = part.v
                    part.v = [vals[i % len(vals)] for i in range(keep)]
                    self.chain.set_field(self.task_id, "partial", part)
                    agg.skipped = remaining - 1
                    agg.total_steps += remaining - 1
        self.submitted = 0
        if agg.ok and self.round() != start:
            self.open_sample()  # the next round's sample
        return agg

    def discard(self, **kw) -> GasReport:
        deadline = self.chain.get_field(self.task_id, "deadline_ms")
        now = max(self.now, deadline + max(self.grace, 60_000) + 1)  # round::MIN_GRACE_MS
        self.now = now
        rep = self.chain.call("task", "discard_round", [Obj(self.task_id), Obj(CLOCK_ID)],
                              sender=sender_address(0), now_ms=self.tick(), **kw)
        if rep.ok:
            self.submitted = 0
            self.open_sample()  # a discarded round is sampled afresh
        return rep
