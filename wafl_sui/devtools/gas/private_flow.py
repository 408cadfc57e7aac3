"""`PrivateTaskFlow`: a private WaFL task (docs/PRIVACY.md) on an offline `Chain`, driven through
the package's entry functions: `task::create_task`, `private_task::set_privacy` (the admin),
`private_task::register_private` (one transaction per sender, each paying its deposit with a
coin object it owns), the round's opening, and `private_task::submit_private_update`;
`aggregate` / `discard` are `TaskFlow`'s.

The round is opened as `TaskFlow.open_sample` opens it (the offline chain has no `sui::random`
object, so `open_round` itself is not run): the stored task gets `round_open`, the round's 32
randomness bytes (drawn from the flow's own stream, not zero: the binding hashes them) and a
sample of the registered senders, exactly the fields `open_round` writes. Everything else, the
`PrivacyKey` dynamic field included, is what the entry functions leave: the chain keeps the
field and its tables' entries between transactions."""

from __future__ import annotations

import dataclasses

from wafl_sui.devtools.gas.chain import CLOCK_ID, Chain, Obj
from wafl_sui.devtools.gas.flow import TaskFlow, sender_address
from wafl_sui.devtools.gas.report import GasReport
from wafl_sui.devtools.gas.values import Vec
from wafl_sui.protocol import privacy

DpParams = privacy.DpParams

#: The parameters of tests/test_privacy_ledger.py (valid for any spec with frac_bits <=
#: clip_frac_bits + feature_frac_bits + lr_frac_bits and clip_frac_bits <= frac_bits).
DEFAULT_DP = DpParams(records=64, clip_frac_bits=8, clip_q=1 << 12, clip_factor_bits=8, noise_sigma0=4,
                      noise_tail=32, noise_k=16, sample_threshold=1 << 62, target_epsilon_milli=4000,
                      target_delta_pico=10, max_contributions=2)
SUI_COIN = "0x2::coin::Coin<0x2::sui::SUI>"


class PrivateTaskFlow(TaskFlow):
    """A private task: `create()` creates it (round 0 not opened), then `set_privacy()`,
    `register_private(k)` for each sender and `open_round()`; or `setup()` for all of these.
    `submit(k)` is `submit_private_update` of sender k."""

    def __init__(self, chain: Chain, spec: dict, rule: str = "fedavg", dp: DpParams = DEFAULT_DP, **kw):
        self.dp = dp
        self.cap_id: bytes | None = None
        self.private = False  # set_privacy accepted: rounds may open
        self._coins = 0
        super().__init__(chain, spec, rule, **kw)

    # ------------------------------------------------------------------ helpers
    def commitments(self, k: int) -> tuple[int, int]:
        """Sender k's (data, seed) commitments: fixed field elements (the contract only stores them)."""
        return 1_000 + k, 2_000 + k

    def coin(self, k: int, value: int = 0) -> bytes:
        """A `Coin<SUI>` of `value` MIST owned by sender k (its deposit)."""
        self._coins += 1
        oid = (0xC0_0000 + self._coins).to_bytes(32, "big")
        return self.chain.add_object(SUI_COIN, oid + value.to_bytes(8, "little"), "address:" + sender_address(k).hex())

    def registered(self) -> list[bytes]:
        return list(self.chain.get_field(self.task_id, "registered").v)

    # ------------------------------------------------------------------ calls
    def create(self, quorum: int | None = None) -> GasReport:
        before = set(self.chain.objects)
        rep = super().create(quorum)  # its open_sample waits for set_privacy (see open_sample)
        for oid in set(self.chain.objects) - before:
            if self.chain.objects[oid].type[3] == "TaskAdminCap":
                self.cap_id = oid
        return rep

    def set_privacy(self, dp: DpParams | None = None, **kw) -> GasReport:
        p = self.dp if dp is None else dp
        args = [("u64", getattr(p, f.name)) for f in dataclasses.fields(DpParams)]
        rep = self.chain.call("private_task", "set_privacy", [Obj(self.cap_id), Obj(self.task_id), *args],
                              sender=sender_address(0), now_ms=self.tick(), **kw)
        if rep.ok:
            self.private = True
        return rep

    def register_private(self, k: int, data_commitment: int | None = None, seed_commitment: int | None = None,
                         **kw) -> GasReport:
        d, s = self.commitments(k)
        d = d if data_commitment is None else data_commitment
        s = s if seed_commitment is None else seed_commitment
        return self.chain.call("private_task", "register_private",
                               [Obj(self.task_id), Obj(self.coin(k)), ("u256", d), ("u256", s)],
                               sender=sender_address(k), now_ms=self.tick(), **kw)

    def register_plain(self, k: int, **kw) -> GasReport:
        """`task::register` of sender k (a non-private registration)."""
        return self.chain.call("task", "register", [Obj(self.task_id), Obj(self.coin(k))],
                               sender=sender_address(k), now_ms=self.tick(), **kw)

    def open_sample(self, senders: list[bytes] | None = None) -> None:
        """Open the current round as `open_round` leaves it: `senders` (default: the first
        `participants_per_round` registered senders) sampled, fresh randomness. Not before the
        task is private (privacy is set before round 0 opens)."""
        if self.task_id is None or not self.private or self.chain.get_field(self.task_id, "finished"):
            return
        if senders is None:
            senders = self.registered()[: self.per_round]
        randomness = b"".join(self._rand().to_bytes(8, "big") for _ in range(4))
        self.chain.set_field(self.task_id, "sampled", Vec("address", list(senders)))
        self.chain.set_field(self.task_id, "randomness", Vec("u8", list(randomness)))
        self.chain.set_field(self.task_id, "round_open", True)
        self.chain.set_field(self.task_id, "round_start_ms", self.now)
        self.chain.set_field(self.task_id, "deadline_ms", min(self.now + self.duration, (1 << 64) - 1))

    open_round = open_sample

    def setup(self, senders: int | None = None) -> dict[str, list[GasReport]]:
        """create, set_privacy, register_private of senders 1..`senders` (default: the round's
        sample size), open round 0. The reports by entry function; stops at the first failure."""
        n = self.per_round if senders is None else senders
        out: dict[str, list[GasReport]] = {"create_task": [self.create()]}
        if not out["create_task"][0].ok:
            return out
        out["set_privacy"] = [self.set_privacy()]
        if not self.private:
            return out
        out["register_private"] = []
        for k in range(1, n + 1):
            rep = self.register_private(k)
            out["register_private"].append(rep)
            if not rep.ok:
                return out
        self.open_round()
        return out

    def submit(self, k: int | None = None, weights: list[int] | None = None, proof: bytes = bytes(128),
               **kw) -> GasReport:
        k = self.submitted + 1 if k is None else k
        w = self.weights() if weights is None else weights
        rep = self.chain.call("private_task", "submit_private_update",
                              [Obj(self.task_id), ("vector<u32>", w), ("vector<u8>", proof), Obj(CLOCK_ID)],
                              sender=sender_address(k), now_ms=self.tick(), **kw)
        if rep.ok:
            self.submitted += 1
        return rep

    def submit_plain(self, k: int, **kw) -> GasReport:
        """`task::submit_update` of sender k on this task."""
        return TaskFlow.submit(self, k, **kw)

    def contributions(self, k: int) -> int:
        """Sender k's accepted private updates, read by running the getter."""
        rep = self.chain.call("private_task", "contributions", [Obj(self.task_id), ("address", sender_address(k))])
        assert rep.ok, rep.abort
        return rep.returns[0]
