"""Private tasks (docs/PRIVACY.md) through `SuiLedger` against a fake node.

`PrivateFakeChain` extends tests/test_sui_ledger.py's `FakeChain` (pysui's real gRPC messages,
our programmable transactions executed with the protocol's own transitions) with the module
`private_task`: `set_privacy`, `register_private` (its deposit split from the gas coin) and
`submit_private_update` run `protocol.task`'s private transitions, in the contract's order of
checks, and abort with the compiled package's clever codes. After each committed transaction it
stores the task's dynamic field `private_state::PrivacyKey` and the entries of its two `Table`s
at the ids Sui derives for them, their BCS encoded by the compiled Move layouts (the package's
`MoveCodec`, as the Task itself), never by our readers' inverse: the readers
(`privacy_calls`) are checked against the compiled layouts.

The fake verifier accepts any proof; it records the public inputs the contract would build, and
the tests compare them with docs/PRIVACY.md's binding computed here.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest

from oracles import PYSUI_GRPC, import_oracle

pb = import_oracle(PYSUI_GRPC)
import test_sui_ledger as base  # noqa: E402
from grpc_server import serving  # noqa: E402
from test_sui_ledger import build, deployed, ids  # noqa: E402,F401  (fixtures)

from wafl_sui.ledger.sui import privacy_calls as P  # noqa: E402
from wafl_sui.ledger.sui.bcs import normalize_address  # noqa: E402
from wafl_sui.ledger.sui.task_object import UID, MoveCodec, dynamic_field_id  # noqa: E402
from wafl_sui.ledger.sui.transactions import decode_transaction  # noqa: E402
from wafl_sui.protocol import commitment, privacy  # noqa: E402
from wafl_sui.protocol import task as ptask  # noqa: E402
from wafl_sui.protocol.privacy import DpParams  # noqa: E402
from wafl_sui.protocol.round import RoundRules  # noqa: E402
from wafl_sui.protocol.rules import AggregationRule  # noqa: E402

SPEC, LR_Q, MODEL, VK, DUR = base.SPEC, base.LR_Q, base.MODEL, base.VK, base.DUR
# every field distinct, so a reader that takes them in another order than the struct's fails
PARAMS = DpParams(records=8, clip_frac_bits=4, clip_q=96, clip_factor_bits=7, noise_sigma0=2, noise_tail=9,
                  noise_k=3, sample_threshold=1 << 62, target_epsilon_milli=4_000, target_delta_pico=10,
                  max_contributions=2)
# u256 commitments with bytes in both halves (a reader with the wrong endianness fails)
COMMITS = {"alice": (2**250 + 11, 2**200 + 22), "bob": (2**249 + 33, 2**130 + 44)}
FIELD = "0x2::dynamic_field::Field"


# =============================================================================================
# the fake chain, with private tasks
# =============================================================================================


def field_object(codec: MoveCodec, object_id: str, name_type: str, name: Any, value_type: str, value: Any) -> bytes:
    """The BCS of a `sui::dynamic_field::Field<Name, Value>` (the framework's struct
    `{ id: UID, name: Name, value: Value }`), its name and value by the compiled layouts."""
    return codec.encode(UID, object_id) + codec.encode(name_type, name) + codec.encode(value_type, value)


class PrivateFakeChain(base.FakeChain):
    """`FakeChain` that also executes `private_task::*` and keeps a private task's dynamic fields."""

    def __init__(self) -> None:
        super().__init__(verify=self._verify)
        self.verified: list[list[int]] = []  # the public inputs of each verification (simulations too)
        self.privacy_tables: dict[str, tuple[str, str]] = {}  # task -> (registrations, contributions) Table ids
        self.field_ids: set[str] = set()  # the dynamic-field objects stored now

    def _verify(self, pvk: Any, inputs: list[int], proof: bytes) -> bool:
        self.verified.append(list(inputs))
        return True

    # --- execution -----------------------------------------------------------------------------
    def _task_arg(self, a: Any, pending: dict) -> tuple[str, ptask.TaskState]:
        if not (isinstance(a, tuple) and a[0] == "shared" and a[1] in self.tasks):
            raise base._TxFailure("TYPE_MISMATCH", f"{a} is not a Task")
        if not a[2]:
            raise base._TxFailure("INVALID_OBJECT", "the Task is passed immutably to &mut Task")
        return a[1], pending.get(a[1], self.tasks[a[1]])

    def _dispatch(self, pkg, module, fn, args, sender, pending, now):
        if module != "private_task":
            return super()._dispatch(pkg, module, fn, args, sender, pending, now)
        if fn == "set_privacy":
            cap = args[0]
            if not (isinstance(cap, tuple) and cap[0] == "owned" and cap[1] in self.caps):
                raise base._TxFailure("TYPE_MISMATCH", f"{cap} is not a TaskAdminCap")
            tid, st = self._task_arg(args[1], pending)
            new, evs = ptask.set_privacy(st, self.caps[cap[1]]["task_id"], DpParams(*args[2:]))
        elif fn == "register_private":
            tid, st = self._task_arg(args[0], pending)
            coin = args[1]
            if not (isinstance(coin, tuple) and coin[0] == "coin"):
                raise base._TxFailure("TYPE_MISMATCH", f"{coin} is not a Coin<SUI>")
            new, evs = ptask.register_private(st, sender, coin[1], args[2], args[3])
        elif fn == "submit_private_update":
            tid, st = self._task_arg(args[0], pending)
            if args[3][:2] != ("shared", normalize_address("0x6")):
                raise base._TxFailure("TYPE_MISMATCH", f"{args[3]} is not the Clock 0x6")
            new, evs = ptask.submit_private_update(st, sender, args[1], args[2], now, self.verify)
        else:
            raise base._TxFailure("FUNCTION_NOT_FOUND", f"private_task::{fn}")
        pending[tid] = new
        return [], evs

    def run(self, tx_bytes: bytes, *, commit: bool, checks: bool = True, signatures=()):
        executed = super().run(tx_bytes, commit=commit, checks=checks, signatures=signatures)
        if commit and executed.effects.status.success:
            self._store_fields(executed.digest)
        return executed

    # --- the dynamic fields of private tasks ----------------------------------------------------
    def _store_fields(self, digest: str) -> None:
        """Write each private task's field objects that changed (at the transaction's version) and
        drop those that are gone (a registration removed by `leave`)."""
        want: dict[str, tuple[str, str, bytes]] = {}
        for tid, st in self.tasks.items():
            if st.privacy is not None:
                want.update(self._private_fields(tid, st))
        for oid in self.field_ids - want.keys():
            del self.objects[oid]
        for oid, (type_, parent, contents) in want.items():
            old = self.latest(oid)
            if old is None or old.contents.value != contents:
                owner = pb.Owner(kind=pb.OwnerOwnerKind.OBJECT, address=parent)
                self._put(oid, self.lamport, type_, owner, contents, digest)
        self.field_ids = set(want)

    def _private_fields(self, tid: str, st: ptask.TaskState) -> dict[str, tuple[str, str, bytes]]:
        """object id -> (type, parent, BCS) of the `PrivacyKey` field of task `tid` and its entries."""
        pkg = self.task_pkg[tid]
        codec = self.packages[pkg][2]
        regs, contribs = self.privacy_tables.setdefault(tid, (base._oid(), base._oid()))
        key_type, value_type = f"{pkg}::private_state::PrivacyKey", f"{pkg}::private_state::Privacy"
        key = {"dummy_field": False}
        fid = dynamic_field_id(tid, key_type, codec.encode(key_type, key))
        value = {
            "params": st.privacy.to_dict(),
            "registrations": {"id": regs, "size": len(st.private_registrations)},
            "contributions": {"id": contribs, "size": len(st.contributions)},
        }
        out = {fid: (f"{FIELD}<{key_type}, {value_type}>", tid,
                     field_object(codec, fid, key_type, key, value_type, value))}

        def entry(table: str, who: str, type_: str, v: Any) -> None:
            eid = dynamic_field_id(table, "address", codec.encode("address", who))
            out[eid] = (f"{FIELD}<address, {type_}>", table, field_object(codec, eid, "address", who, type_, v))

        for who, reg in st.private_registrations:
            entry(regs, who, f"{pkg}::private_state::PrivateRegistration", dataclasses.asdict(reg))
        for who, n in st.contributions:
            entry(contribs, who, "u64", n)
        return out

    def force(self, task_id: str, **changes: Any) -> None:
        """Replace fields of a task's state in place (a state the protocol's calls cannot reach:
        the attacks of tests/test_privacy_ledger.py on the Python twin)."""
        tid = normalize_address(task_id)
        self.tasks[tid] = dataclasses.replace(self.tasks[tid], **changes)
        self.latest(tid).contents = pb.Bcs(value=self.task_contents(tid))


@pytest.fixture
def chain():
    with serving(PrivateFakeChain()) as fake:
        yield fake


def private_task(led, owner, *, params: DpParams = PARAMS, quorum: int = 2, deposit: int = 0) -> str:
    """A task created with a private spec (its circuit constants on it), then `set_privacy`; each
    round samples every registered participant (up to 4)."""
    ref = led.create_task(owner, SPEC.with_privacy(params), RoundRules(quorum, DUR, 3, 0, 4), AggregationRule(0),
                          LR_Q, True, MODEL, VK, deposit_mist=deposit)
    led.set_privacy(owner, ref.task_id, params)
    return ref.task_id


def register(led, ids, task: str, *names: str) -> None:
    for n in names:
        led.register_private(ids[n], task, *COMMITS[n])


def binding(name: str, randomness: bytes, params: DpParams = PARAMS) -> int:
    """docs/PRIVACY.md's `data` input: Poseidon([DP_BIND_DOMAIN, params_hash, data, seed, rand_hi, rand_lo])."""
    from wafl_sui.protocol.poseidon import poseidon

    data, seed = COMMITS[name]
    hi, lo = int.from_bytes(randomness[:16], "big"), int.from_bytes(randomness[16:], "big")
    return poseidon([privacy.DP_BIND_DOMAIN, privacy.params_hash(params), data, seed, hi, lo])


def update(seed: int) -> tuple[list[int], bytes]:
    w, _, proof = base.update(seed)
    return w, proof


err = base.err  # the ProtocolError name a call raises


# =============================================================================================
# tests
# =============================================================================================


def test_private_flow_through_the_sui_ledger(deployed, ids):
    """Create with a private spec, set_privacy, two register_private (deposit split from the gas
    coin), a round of two private updates, aggregate: the readers give back exactly what was set,
    registered and counted; the contract's `data` input is docs/PRIVACY.md's binding."""
    chain, led, dep = deployed
    o, a, b, c = ids["owner"], ids["alice"], ids["bob"], ids["carol"]
    t = private_task(led, o, deposit=5_000)
    v = led.task(t)
    assert v.spec == SPEC.with_privacy(PARAMS) and v.spec.privacy.circuit_constants() == PARAMS.circuit_constants()
    assert chain.tasks[t].spec == SPEC and v.deposit_mist == 5_000  # the Move struct's spec has no privacy
    assert led.privacy_params(t) == led.privacy(t) == PARAMS
    assert led.private_registration(t, a.address) is None and led.contributions(t, a.address) == 0
    fid = P.privacy_field_id(dep.package_id, t)  # the reader's id holds the field the chain stored
    assert chain.latest(fid).object_type.endswith("::private_state::Privacy>") and fid in chain.field_ids

    r = led.register_private(a, t, *COMMITS["alice"])
    assert [e.type for e in r.events] == ["ParticipantRegistered", "PrivateRegistered"]
    assert r.events[0].fields["deposit"] == 5_000
    assert r.events[1].fields == {"task_id": t, "participant": a.address, "data_commitment": COMMITS["alice"][0],
                                  "seed_commitment": COMMITS["alice"][1], "first_round": 0}
    register(led, ids, t, "bob")
    for n in ("alice", "bob"):
        assert led.private_registration(t, ids[n].address) == ptask.PrivateRegistration(*COMMITS[n], 0)
    assert led.private_registration(t, c.address) is None
    led.open_round(c, t)
    randomness = chain.randomness[-1]
    sent = []
    for seed, n in enumerate(("alice", "bob"), 1):
        w, proof = update(seed)
        (acc,) = led.submit_private_update(ids[n], t, w, proof).events
        data = binding(n, randomness)
        assert acc.fields["sender"] == ids[n].address and acc.fields["data_commitment"] == data
        assert chain.verified[-1] == [commitment.model_commitment_encoded(MODEL, SPEC),
                                      commitment.model_commitment_encoded(w, SPEC), data,
                                      commitment.context_hash(t, ids[n].address, 0, LR_Q)]
        assert led.contributions(t, ids[n].address) == 1
        sent.append(w)
    assert led.contributions(t, c.address) == 0
    (agg,) = led.aggregate(c, t).events
    from wafl_sui.protocol import rules

    v = led.task(t)
    assert agg.type == "RoundAggregated" and list(v.model) == rules.fedavg(sent) and v.round == 1
    assert [led.contributions(t, ids[n].address) for n in ("alice", "bob")] == [1, 1]
    assert led.privacy_params(t) == PARAMS and v.spec == SPEC.with_privacy(PARAMS)
    assert led.tasks() == [v]  # the listing's views carry the privacy too (as the local ledger's)
    evs = led.events(t)
    assert [e.type for e in evs] == ["TaskCreated", "PrivacySet", "ParticipantRegistered", "PrivateRegistered",
                                     "ParticipantRegistered", "PrivateRegistered", "RoundOpened", "UpdateAccepted",
                                     "UpdateAccepted", "RoundAggregated"]
    assert evs[1].fields == {"task_id": t, **PARAMS.to_dict(), "params_hash": privacy.params_hash(PARAMS)}
    assert set(chain.applied.values()) == {1}


def test_private_rejections_map_to_the_contract_errors(deployed, ids):
    """set_privacy twice, plain calls on a private task (and a private one on a plain task), an
    unregistered sender, a registration after the round's randomness, a spent budget: each is
    the compiled package's abort, named by our errors; leaving keeps the budget spent."""
    chain, led, dep = deployed
    o, a, b, c = ids["owner"], ids["alice"], ids["bob"], ids["carol"]
    t = private_task(led, o, params=dataclasses.replace(PARAMS, max_contributions=1), quorum=1)
    assert err(led.set_privacy, o, t, PARAMS) == "EPrivacyLocked"
    assert err(led.set_privacy, a, t, PARAMS) == "ENotAdmin"  # alice holds no cap of the task
    assert err(led.register, a, t) == "EPrivateTask"
    plain = base.new_task(led, o).task_id
    assert err(led.register_private, a, plain, *COMMITS["alice"]) == "EPrivateTask"
    assert led.privacy_params(plain) is None and led.private_registration(plain, a.address) is None
    assert led.contributions(plain, a.address) == 0
    register(led, ids, t, "alice")
    led.open_round(a, t)
    assert led.task(t).sampled == (a.address,)
    w, proof = update(1)
    assert err(led.submit_update, a, t, w, 10**20, proof) == "EPrivateTask"
    # an unregistered sender is not in the round's sample (the round's checks come first) ...
    assert err(led.submit_private_update, c, t, w, proof) == "ENotSampled"
    # ... and sampled without a private registration (a state the calls cannot reach): ENotRegistered
    chain.force(t, sampled=(a.address, c.address))
    assert err(led.submit_private_update, c, t, w, proof) == "ENotRegistered"
    # bob registers while round 0 is open: his registration counts from round 1, even if sampled in 0
    register(led, ids, t, "bob")
    assert led.private_registration(t, b.address) == ptask.PrivateRegistration(*COMMITS["bob"], 1)
    chain.force(t, sampled=(a.address, b.address))
    assert err(led.submit_private_update, b, t, w, proof) == "ERegisteredAfterRandomness"
    chain.force(t, sampled=(a.address,))
    sent = chain.executes()
    led.submit_private_update(a, t, w, proof)
    assert chain.executes() == sent + 1  # the rejections above aborted in the simulation: nothing sent
    led.aggregate(a, t)
    # leaving drops the registration, never the count; a new registration counts from round 1
    led.leave(a, t)
    assert led.private_registration(t, a.address) is None and led.contributions(t, a.address) == 1
    led.register_private(a, t, 77, 88)
    assert led.private_registration(t, a.address) == ptask.PrivateRegistration(77, 88, 1)
    led.open_round(a, t)
    assert set(led.task(t).sampled) == {a.address, b.address}
    assert err(led.submit_private_update, a, t, *update(2)) == "EPrivacyBudgetSpent"
    led.submit_private_update(b, t, *update(3))  # sampled in round 1: his registration counts now
    assert [led.contributions(t, x.address) for x in (a, b)] == [1, 1]


def test_unsigned_private_transactions_from_the_node(deployed, ids):
    """`led.unsigned(...)` (what `--serialize-unsigned-transaction` prints) for register_private and
    submit_private_update: decodable, nothing sent, and executed as is once signed elsewhere."""
    chain, led, dep = deployed
    o, a = ids["owner"], ids["alice"]
    t = private_task(led, o, quorum=1, deposit=1_234)
    u = led.unsigned(a.address)
    sent = chain.executes()
    raw = base64.b64decode(u.register_private(t, 1_234, *COMMITS["alice"]))
    tx = decode_transaction(raw)
    assert tx.sender == a.address and tx.gas_data.owner == a.address and tx.gas_data.budget > 0
    kinds = [type(cmd).__name__ for cmd in tx.kind.commands]
    assert kinds == ["SplitCoins", "MoveCall"] and tx.kind.commands[1].function == "register_private"
    assert chain.executes() == sent
    assert led.client.execute(raw, [a.sign_transaction(raw)]).success
    assert led.private_registration(t, a.address) == ptask.PrivateRegistration(*COMMITS["alice"], 0)
    led.open_round(a, t)
    raw = base64.b64decode(led.unsigned(a.address).submit_private_update(t, *update(1)))
    assert decode_transaction(raw).kind.commands[0].function == "submit_private_update"
    assert led.client.execute(raw, [a.sign_transaction(raw)]).success
    assert led.contributions(t, a.address) == 1 and led.task(t).submitters == (a.address,)
