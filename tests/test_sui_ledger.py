"""The Sui ledger (wafl_sui/ledger/sui/ledger.py) without a node.

* Compiled signatures (contract/signatures.py) against sui-sandbox's own bytecode reader, and
  every transaction the ledger builds type-checked against the compiled package (a wrong
  argument type is caught); struct layouts (task_object.py) against the framework bytecode and
  against sui-sandbox's layout serializer.
* Every transaction (publish, create task, submit, aggregate, discard, each admin call,
  migrate) built offline, decoded by the TS SDK (@mysten/sui, tools/sui/check_tx.mjs): move-call
  targets, argument kinds, pure values (encoded independently by the SDK), type arguments, gas
  data, digest; our signature verified by the SDK's verifyTransactionSignature.
* The whole ledger against `FakeChain`: a grpclib server speaking pysui's generated gRPC
  messages (only the transport is faked) that executes our programmable transactions with the
  protocol's own transitions (`protocol.task`), keeps objects at versions with their BCS
  encoded by the compiled Move layouts, charges gas and aborts with clever error codes. The
  scripted federation of the local ledger's tests runs on it; lost answers are resolved without
  a second submission.

Live checks against a real node are marked `chain` and run only with WAFL_SUI_RPC_URL set.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime
import json
import math
import os
import secrets
import threading
from collections import Counter
from pathlib import Path

import base58
import pytest

from oracles import PYSUI_GRPC, import_oracle, require_oracle  # noqa: E402

pb = import_oracle(PYSUI_GRPC)
from grpclib.const import Cardinality, Handler, Status  # noqa: E402
from grpclib.exceptions import GRPCError  # noqa: E402
from grpc_server import serving  # noqa: E402

from wafl_sui.contract import bytecode  # noqa: E402
from wafl_sui.contract.signatures import (  # noqa: E402
    MoveType,
    PackageSignatures,
    SignatureMismatch,
    check_pure_value,
    check_transaction,
    parse_module,
)
from wafl_sui.ledger.base import LedgerError, TaskNotFound, TaskView  # noqa: E402
from wafl_sui.ledger.identity import Identity, verify_signature  # noqa: E402
from wafl_sui.ledger.sui import bcs, deployments  # noqa: E402
from wafl_sui.ledger.sui import ledger as L  # noqa: E402
from wafl_sui.ledger.sui import task_calls as T  # noqa: E402
from wafl_sui.ledger.sui.bcs import normalize_address  # noqa: E402
from wafl_sui.ledger.sui.client import SuiClient  # noqa: E402
from wafl_sui.ledger.sui.publish import publish  # noqa: E402
from wafl_sui.ledger.sui.task_calls import build_publish_tx  # noqa: E402
from wafl_sui.ledger.sui.task_object import (  # noqa: E402
    FRAMEWORK_LAYOUTS,
    MoveCodec,
    dynamic_field_id,
    prepared_vk_fields,
    task_view,
)
from wafl_sui.ledger.sui.transactions import (  # noqa: E402
    CLOCK_ID,
    MoveCall,
    ObjectRef,
    OwnedObject,
    Publish,
    Pure,
    SharedObject,
    SplitCoins,
    TransactionBuildError,
    TransferObjects,
    decode_transaction,
    parse_object_ref,
)
from wafl_sui.protocol import round as prounds  # noqa: E402
from wafl_sui.protocol import task as ptask  # noqa: E402
from wafl_sui.protocol.errors import ProtocolError  # noqa: E402
from wafl_sui.protocol.round import MIN_GRACE_MS, RoundRules  # noqa: E402
from wafl_sui.protocol.rules import AggregationRule  # noqa: E402
from wafl_sui.protocol.spec import StepSpec  # noqa: E402
from wafl_sui.zk import sui_bytes  # noqa: E402

from ts_sdk import ROOT, check_requests, needs_ts  # noqa: E402
FIXTURE = json.loads((ROOT / "tests" / "data" / "move_proof_fixture.json").read_text())
VK = bytes.fromhex(FIXTURE["vk"])
SPEC = StepSpec.from_dict(FIXTURE["spec"])
LR_Q = FIXTURE["lr_q"]
MODEL = FIXTURE["initial_encoded"]
CHAIN = base58.b58encode(bytes([5]) * 32).decode()
T0 = 1_700_000_000_000
DUR = 60_000
PRICE = 1000
RANDOM_VERSION = 37  # the Random object's initial shared version (one per network)
COIN_TYPE = "0x2::coin::Coin<0x2::sui::SUI>"
ME = Identity(bytes(range(32)))
PKG = "0x" + "ab" * 32
TASK = "0x" + "7a" * 32
CAP = "0x" + "ca" * 32
DIG = base58.b58encode(bytes(range(1, 33))).decode()
b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731


def _digest() -> str:
    return base58.b58encode(secrets.token_bytes(32)).decode()


def _oid() -> str:
    return "0x" + secrets.token_hex(32)


@pytest.fixture(scope="module")
def build():
    from wafl_sui.contract.build import build_package

    require_oracle("node", "node_modules")  # the offline compiler runs under node
    return build_package()  # a package that does not build is a failure, never a skip


@pytest.fixture(scope="module")
def sigs(build):
    return PackageSignatures.from_build(build)


_PVK: dict[bytes, object] = {}


def prepare(vk: bytes):
    """sui_bytes.prepare_verifying_key, once per key (a pairing in Python takes a second)."""
    if vk not in _PVK:
        _PVK[vk] = sui_bytes.prepare_verifying_key(vk)
    return _PVK[vk]


# =============================================================================================
# the fake chain
# =============================================================================================


@dataclasses.dataclass
class _New:
    """An object made by a call, waiting to be transferred (or shared) by the end of the PTB."""

    object_id: str
    type_: str
    fields: dict
    owner: str | None = None


class _TxFailure(Exception):
    def __init__(self, kind: str, description: str, abort: object = None, command: int = 0):
        super().__init__(description)
        self.kind, self.description, self.abort, self.command = kind, description, abort, command


class FakeChain:
    """A Sui node over gRPC that executes WaFL transactions with the protocol's transitions."""

    COMPUTATION = 1_000  # gas units of every transaction (x price = MIST)
    STORAGE_PER_BYTE = 76  # MIST

    def __init__(self, chain_id: str = CHAIN, verify=lambda pvk, inputs, proof: True):
        self.chain_id = chain_id
        self.now_ms = T0
        self.verify = verify
        self.lamport = 100
        self.objects: dict[str, dict[int, object]] = {}  # id -> {version: pb.Object}
        self.packages: dict[str, tuple[dict[str, bytes], PackageSignatures, MoveCodec]] = {}
        self.tasks: dict[str, object] = {}  # id -> protocol TaskState
        self.task_tables: dict[str, tuple[str, str, str]] = {}  # task -> (allowlist, updates, deposits) ids
        self.randomness: list[bytes] = []  # what each open_round drew
        self.task_pkg: dict[str, str] = {}
        self.caps: dict[str, dict] = {}  # cap id -> {"task_id", "owner"}
        self.txs: dict[str, object] = {}  # digest -> pb.ExecutedTransaction
        self.applied = Counter()  # digest -> times executed (must never exceed 1)
        self.calls: list[tuple[str, object]] = []
        self.execute_faults: list[str] = []  # lose_response | lose_request | refuse, one per execute
        self.hide_lookups: dict[str, int] = {}  # digest -> GetTransaction NOT_FOUND answers left
        self.hide_next = 0  # hide each newly executed digest for this many lookups
        self.pruned: set[tuple[str, int]] = set()
        self.fault_sleep = 2.0
        self.simulated: list = []  # gas of each simulation
        self.stale_listing = False
        self._put("0x6", 1, "0x2::clock::Clock", pb.Owner(kind=pb.OwnerOwnerKind.SHARED, version=1), bytes(40))
        self._put("0x8", RANDOM_VERSION, "0x2::random::Random",
                  pb.Owner(kind=pb.OwnerOwnerKind.SHARED, version=RANDOM_VERSION), bytes(40))

    # --- objects -------------------------------------------------------------------------------
    def _put(self, oid, version, type_, owner, contents, prev=None) -> object:
        oid = normalize_address(oid)
        obj = pb.Object(
            object_id=oid,
            version=version,
            digest=_digest(),
            object_type=type_,
            owner=owner,
            contents=pb.Bcs(value=contents),
            previous_transaction=prev,
        )
        self.objects.setdefault(oid, {})[version] = obj
        return obj

    def latest(self, oid):
        vs = self.objects.get(normalize_address(oid))
        return vs[max(vs)] if vs else None

    def fund(self, address: str, *amounts: int) -> list[str]:
        ids = []
        for a in amounts:
            oid = _oid()
            self.lamport += 1
            self._put(
                oid, self.lamport, "0x2::coin::Coin<0x2::sui::SUI>",
                pb.Owner(kind=pb.OwnerOwnerKind.ADDRESS, address=normalize_address(address)),
                bcs.address(oid) + bcs.u64(a),
            )  # fmt: skip
            self.latest(oid).balance = a
            ids.append(oid)
        return ids

    def balance(self, address: str) -> int:
        return sum(o.balance or 0 for o in self._owned(address, "0x2::coin::Coin<0x2::sui::SUI>"))

    def _owned(self, owner: str, type_: str | None):
        owner = normalize_address(owner)
        want = MoveType.parse(type_) if type_ else None
        out = []
        for oid in self.objects:
            o = self.latest(oid)
            if o.owner.kind != pb.OwnerOwnerKind.ADDRESS or o.owner.address != owner:
                continue
            if want is not None and MoveType.parse(o.object_type) != want:
                continue
            out.append(o)
        return out

    def task_contents(self, task_id: str) -> bytes:
        state = self.tasks[task_id]
        pkg = self.task_pkg[task_id]
        _, sigs, codec = self.packages[pkg]
        allow, upd, deposits = self.task_tables[task_id]
        special = {
            "id": state.task_id,
            "allowlist": {"id": allow, "size": len(state.allowlist)},
            "updates": {"id": upd, "size": len(state.updates)},
            "deposits": {"id": deposits, "size": len(state.deposits)},
            "randomness": list(state.randomness),
            "prepared_vk": prepared_vk_fields(state.prepared_vk),
        }
        fields = {}
        for name in sigs.struct("task", "Task").field_names():
            v = special[name] if name in special else getattr(state, name)
            if hasattr(v, "move_fields"):
                v = v.move_fields()
            elif hasattr(v, "to_dict"):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            fields[name] = v
        return codec.encode(f"{pkg}::task::Task", fields)

    # --- execution -----------------------------------------------------------------------------
    def _abort(self, pkg: str, err: ProtocolError, fn_module: str):
        """A Move abort with the clever code the compiler gives `err.name` in the module that
        declares it (the node does not decode it: the ledger must, from the package bytecode)."""
        modules = self.packages[pkg][0]
        order = [fn_module] + [m for m in sorted(modules) if m != fn_module]
        for m in order:
            texts = bytecode.error_constant_names(modules[m])
            idx = next((i for i, t in texts.items() if t == err.name), None)
            if idx is not None:
                code = (0b1100 << 60) | (0xFF << 48) | (100 << 32) | (idx << 16) | 0xFFFF
                return pb.MoveAbort(abort_code=code, location=pb.MoveLocation(package=pkg, module=m, function_name="f"))
        return pb.MoveAbort(abort_code=1, location=pb.MoveLocation(package=pkg, module=fn_module, function_name="f"))

    def _dispatch(self, pkg, module, fn, args, sender, pending, now):
        key = (module, fn)
        if key == ("spec", "new"):
            return [StepSpec(*args)]
        if key == ("round", "new_rules"):
            return [prounds.new_rules(*args)]
        if key == ("rules", "new_aggregation"):
            return [AggregationRule(*args)]
        if module != "task":
            raise _TxFailure("FUNCTION_NOT_FOUND", f"{module}::{fn} is not implemented by the fake chain")

        def task_of(a):
            if not (isinstance(a, tuple) and a[0] == "shared" and a[1] in self.tasks):
                raise _TxFailure("TYPE_MISMATCH", f"{a} is not a Task")
            if not a[2]:
                raise _TxFailure("INVALID_OBJECT", "the Task is passed immutably to &mut Task")
            return a[1], pending.get(a[1], self.tasks[a[1]])

        def cap_of(a):
            if not (isinstance(a, tuple) and a[0] == "owned" and a[1] in self.caps):
                raise _TxFailure("TYPE_MISMATCH", f"{a} is not a TaskAdminCap")
            return self.caps[a[1]]["task_id"]

        if fn == "create_task":
            spec, rr, agg, lr_q, open_, deposit, model, vk, _clock = args
            tid, cid = _oid(), _oid()
            state, evs = ptask.create_task(tid, cid, sender, spec, rr, agg, lr_q, open_, model, vk, now, prepare=prepare,
                                           deposit_mist=deposit)
            pending[tid] = state
            pending.setdefault("__new_tasks", []).append((tid, pkg))
            return [_New(cid, f"{pkg}::task::TaskAdminCap", {"id": cid, "task_id": tid})], evs
        if fn == "register":
            tid, st = task_of(args[0])
            coin = args[1]
            if not (isinstance(coin, tuple) and coin[0] == "coin"):
                raise _TxFailure("TYPE_MISMATCH", f"{coin} is not a Coin<SUI>")
            new, evs = ptask.register(st, sender, coin[1])
            pending[tid] = new
            return [], evs
        if fn == "leave":
            tid, st = task_of(args[0])
            new, evs = ptask.leave(st, sender)
            pending[tid] = new
            oid = _oid()
            return [_New(oid, COIN_TYPE, {"id": oid, "balance": evs[0].deposit})], evs
        if fn == "open_round":
            tid, st = task_of(args[0])
            if args[1] != ("shared", normalize_address("0x8"), False):
                raise _TxFailure("TYPE_MISMATCH", f"{args[1]} is not the Random object 0x8 (immutable)")
            randomness = os.urandom(32)
            new, evs = ptask.open_round(st, randomness, now)
            self.randomness.append(randomness)
            pending[tid] = new
            return [], evs
        if fn == "submit_update":
            tid, st = task_of(args[0])
            new, evs = ptask.submit_update(st, sender, args[1], args[2], args[3], now, self.verify)
        elif fn in ("aggregate", "discard_round"):
            tid, st = task_of(args[0])
            new, evs = getattr(ptask, fn)(st, sender, now)
        elif fn in ("add_participant", "remove_participant", "set_open", "restart_round", "migrate"):
            cap_task = cap_of(args[0])
            tid, st = task_of(args[1])
            extra = [now] if fn == "restart_round" else list(args[2:3])
            new, evs = getattr(ptask, fn)(st, cap_task, *extra)
        else:
            raise _TxFailure("FUNCTION_NOT_FOUND", f"task::{fn}")
        pending[tid] = new
        return [], evs

    def run(self, tx_bytes: bytes, *, commit: bool, checks: bool = True, signatures=()):
        """Execute (or simulate) TransactionData bytes; the pb.ExecutedTransaction."""
        tx = decode_transaction(tx_bytes)
        digest = tx.digest()
        sender = tx.sender
        g = tx.gas_data
        # --- checks before execution (a real node refuses such a transaction outright)
        if commit:
            if len(signatures) != 1:
                raise GRPCError(Status.INVALID_ARGUMENT, "expected one signature")
            if verify_signature(signatures[0], tx_bytes, 0) != sender:
                raise GRPCError(Status.INVALID_ARGUMENT, "signature is not the sender's")
            if digest in self.txs:
                return self.txs[digest]  # a digest executes once; the node answers with its effects
        have = 0
        for ref in g.payment:
            o = self.latest(ref.object_id)
            if o is None or o.version != ref.version or o.owner.address != g.owner:
                raise GRPCError(Status.INVALID_ARGUMENT, f"gas object {ref.object_id} is not available at {ref.version}")
            have += o.balance or 0
        if checks and (not g.payment or have < g.budget):
            raise GRPCError(Status.INVALID_ARGUMENT, f"gas balance {have} is lower than the budget {g.budget}")
        if checks and g.price < PRICE:
            raise GRPCError(Status.INVALID_ARGUMENT, "gas price below the reference gas price")
        for inp in tx.kind.inputs:
            if isinstance(inp, SharedObject):
                o = self.latest(inp.object_id)
                if o is None or o.owner.kind != pb.OwnerOwnerKind.SHARED or o.owner.version != inp.initial_shared_version:
                    raise GRPCError(Status.INVALID_ARGUMENT, f"shared object {inp.object_id} at {inp.initial_shared_version} unknown")
            elif isinstance(inp, OwnedObject):
                o = self.latest(inp.object_id)
                if o is None or o.version != inp.ref.version:
                    raise GRPCError(Status.INVALID_ARGUMENT, f"object {inp.object_id} is not at version {inp.ref.version}")
                if o.owner.address != sender:
                    raise GRPCError(Status.INVALID_ARGUMENT, f"object {inp.object_id} is not owned by the sender")

        # --- execution
        pending: dict = {}
        results: list = []
        events: list = []
        new_objects: list[_New] = []
        published: list = []
        split_total = 0  # MIST split from the gas coin (deposits)
        status = pb.ExecutionStatus(success=True)
        try:
            for ci, cmd in enumerate(tx.kind.commands):
                try:
                    if isinstance(cmd, MoveCall) and (cmd.package, cmd.module, cmd.function) == (normalize_address("0x2"), "clock", "timestamp_ms"):
                        results.append([self.now_ms])
                    elif isinstance(cmd, MoveCall):
                        if cmd.package not in self.packages:
                            raise _TxFailure("PACKAGE_NOT_FOUND", f"no package {cmd.package}")
                        mods, sigs, codec = self.packages[cmd.package]
                        fn = sigs.function(cmd.module, cmd.function)
                        params = list(fn.parameters)
                        if params and str(params[-1]).endswith("::tx_context::TxContext"):
                            params.pop()
                        if len(params) != len(cmd.arguments):
                            raise _TxFailure("ARITY_MISMATCH", f"{cmd.function} takes {len(params)} arguments")
                        args = []
                        for a, p in zip(cmd.arguments, params):
                            if type(a).__name__ == "Input":
                                inp = tx.kind.inputs[a.index]
                                if isinstance(inp, Pure):
                                    args.append(codec.decode(p, inp.value))
                                elif isinstance(inp, SharedObject):
                                    if p.kind == "ref" and p.mutable and not inp.mutable:
                                        raise _TxFailure("INVALID_OBJECT", "immutable shared input for &mut")
                                    args.append(("shared", inp.object_id, inp.mutable))
                                else:
                                    args.append(("owned", inp.object_id))
                            else:
                                args.append(results[a.index][getattr(a, "result", 0)])
                        out = self._dispatch(cmd.package, cmd.module, cmd.function, args, sender, pending, self.now_ms)
                        if isinstance(out, tuple):
                            out, evs = out
                            events.extend((cmd.package, e) for e in evs)
                        new_objects.extend(o for o in out if isinstance(o, _New))
                        results.append(out)
                    elif isinstance(cmd, SplitCoins):
                        if type(cmd.coin).__name__ != "GasCoin":
                            raise _TxFailure("UNSUPPORTED", "the fake chain splits the gas coin only")
                        amounts = [bcs.BcsReader(tx.kind.inputs[a.index].value).u64() for a in cmd.amounts]
                        split_total += sum(amounts)
                        if split_total > have:
                            raise _TxFailure("INSUFFICIENT_COIN_BALANCE", "the gas coin holds less than the split")
                        results.append([("coin", x) for x in amounts])
                    elif isinstance(cmd, TransferObjects):
                        to = bcs.BcsReader(tx.kind.inputs[cmd.address.index].value).address()
                        for a in cmd.objects:
                            obj = results[a.index][getattr(a, "result", 0)]
                            if not isinstance(obj, _New):
                                raise _TxFailure("TYPE_MISMATCH", "only new objects are transferred here")
                            obj.owner = to
                        results.append([])
                    elif isinstance(cmd, Publish):
                        pid = _oid()
                        mods = {bytecode.module_name(m): bytes(m) for m in cmd.modules}
                        published.append((pid, mods))
                        cap = _New(_oid(), "0x2::package::UpgradeCap", {})
                        new_objects.append(cap)
                        results.append([cap])
                    else:
                        raise _TxFailure("UNSUPPORTED", type(cmd).__name__)
                except ProtocolError as err:
                    raise _TxFailure("MOVE_ABORT", f"MoveAbort in command {ci}", self._abort(cmd.package, err, cmd.module), ci)
                except _TxFailure as f:
                    f.command = ci
                    raise
            for o in new_objects:
                if o.owner is None:
                    raise _TxFailure("UNUSED_VALUE_WITHOUT_DROP", f"object {o.object_id} ({o.type_}) was neither transferred nor shared")
        except _TxFailure as f:
            status = pb.ExecutionStatus(
                success=False,
                error=pb.ExecutionError(
                    description=f.description, command=f.command,
                    kind=getattr(pb.ExecutionErrorExecutionErrorKind, f.kind, pb.ExecutionErrorExecutionErrorKind.EXECUTION_ERROR_KIND_UNKNOWN),
                    abort=f.abort,
                ),
            )  # fmt: skip
            pending, events, new_objects, published, split_total = {}, [], [], [], 0

        # --- gas
        computation = self.COMPUTATION * g.price
        written = sum(len(e[1].__class__.__name__) for e in events) * 10 + 100 * len(new_objects)
        written += sum(len(m) for _, mods in published for m in mods.values())
        storage = self.STORAGE_PER_BYTE * (written + 200 * len([k for k in pending if not k.startswith("__")]))
        rebate = storage // 10
        if checks and g.budget < computation + storage and status.success:
            status = pb.ExecutionStatus(
                success=False,
                error=pb.ExecutionError(description="InsufficientGas", kind=pb.ExecutionErrorExecutionErrorKind.INSUFFICIENT_GAS),
            )
            pending, events, new_objects, published = {}, [], [], []
        if not status.success:
            storage, rebate = 0, 0
        charge = min(computation + storage - rebate + split_total, have) if g.payment else 0

        # --- effects (committed or not)
        self.lamport += 1 if commit else 0
        version = self.lamport if commit else self.lamport + 1
        changed = []
        shared_ids = [i.object_id for i in tx.kind.inputs if isinstance(i, SharedObject) and i.mutable]
        mutated_tasks = [t for t in shared_ids if t in self.tasks]
        new_tasks = [t for t, _ in pending.get("__new_tasks", [])]
        ts = datetime.datetime.fromtimestamp(self.now_ms / 1000, tz=datetime.timezone.utc)

        def changed_obj(oid, created, type_, owner, in_version=None, package=False):
            return pb.ChangedObject(
                object_id=oid,
                input_state=pb.ChangedObjectInputObjectState.DOES_NOT_EXIST if created else pb.ChangedObjectInputObjectState.EXISTS,
                input_version=in_version,
                output_state=pb.ChangedObjectOutputObjectState.PACKAGE_WRITE if package else pb.ChangedObjectOutputObjectState.OBJECT_WRITE,
                output_version=1 if package else version,
                output_digest=_digest(),
                output_owner=owner,
                id_operation=pb.ChangedObjectIdOperation.CREATED if created else pb.ChangedObjectIdOperation.NONE,
                object_type="package" if package else type_,
            )  # fmt: skip

        for ref in g.payment:
            o = self.latest(ref.object_id)
            changed.append(changed_obj(ref.object_id, False, o.object_type, o.owner, o.version))
        for tid in mutated_tasks:  # mutable shared inputs get a new version even when aborted
            o = self.latest(tid)
            changed.append(changed_obj(tid, False, o.object_type, o.owner, o.version))
        for tid in new_tasks:
            pkg = dict(pending["__new_tasks"])[tid]
            changed.append(changed_obj(tid, True, f"{pkg}::task::Task", pb.Owner(kind=pb.OwnerOwnerKind.SHARED, version=version)))
        for o in new_objects:
            changed.append(changed_obj(o.object_id, True, o.type_, pb.Owner(kind=pb.OwnerOwnerKind.ADDRESS, address=o.owner)))
        for pid, _ in published:
            changed.append(changed_obj(pid, True, "package", None, package=True))
        pb_events = []
        for pkg, e in events:
            codec = self.packages[pkg][2]
            pb_events.append(
                pb.Event(
                    package_id=pkg, module="task", sender=sender, event_type=f"{pkg}::events::{e.type}",
                    contents=pb.Bcs(value=codec.encode(f"{pkg}::events::{e.type}", e.to_dict())),
                )
            )  # fmt: skip
        effects = pb.TransactionEffects(
            transaction_digest=digest,
            status=status,
            changed_objects=changed,
            gas_used=pb.GasCostSummary(computation_cost=computation, storage_cost=storage, storage_rebate=rebate, non_refundable_storage_fee=0),
        )  # fmt: skip
        executed = pb.ExecutedTransaction(
            digest=digest, effects=effects, events=pb.TransactionEvents(events=pb_events),
            checkpoint=self.lamport, timestamp=ts,
        )  # fmt: skip
        if not commit:
            return executed

        # --- commit
        self.applied[digest] += 1
        for ref in g.payment:
            o = self.latest(ref.object_id)
            nb = (o.balance or 0) - charge
            charge = 0
            self._put(o.object_id, version, o.object_type, o.owner, bcs.address(o.object_id) + bcs.u64(nb), digest).balance = nb
        for pid, mods in published:
            sigs = PackageSignatures.from_modules(list(mods.values()))
            self.packages[pid] = (mods, sigs, MoveCodec(sigs, (pid,)))
        for tid, pkg in pending.get("__new_tasks", []):
            self.task_pkg[tid] = pkg
            self.task_tables[tid] = (_oid(), _oid(), _oid())
        for k, st in pending.items():
            if not k.startswith("__"):
                self.tasks[k] = st
        for tid in set(mutated_tasks) | set(new_tasks):
            self._put(tid, version, f"{self.task_pkg[tid]}::task::Task",
                      pb.Owner(kind=pb.OwnerOwnerKind.SHARED, version=version if tid in new_tasks else self.latest(tid).owner.version),
                      self.task_contents(tid), digest)  # fmt: skip
        for o in new_objects:
            if o.type_.endswith("::task::TaskAdminCap"):
                self.caps[o.object_id] = {"task_id": o.fields["task_id"], "owner": o.owner}
                codec = self.packages[o.type_.split("::")[0]][2]
                contents = codec.encode(o.type_, o.fields)
            elif o.type_ == COIN_TYPE:  # a deposit returned by leave
                contents = bcs.address(o.object_id) + bcs.u64(o.fields["balance"])
            else:
                contents = bcs.address(o.object_id) + bcs.address(published[0][0]) + bcs.u64(1) + bcs.u8(0)
            put = self._put(o.object_id, version, o.type_, pb.Owner(kind=pb.OwnerOwnerKind.ADDRESS, address=o.owner), contents, digest)
            if o.type_ == COIN_TYPE:
                put.balance = o.fields["balance"]
        self.txs[digest] = executed
        if self.hide_next:
            self.hide_lookups[digest] = self.hide_next
        return executed

    # --- gRPC routes -------------------------------------------------------------------------------
    def __mapping__(self):
        routes = {
            "LedgerService/GetServiceInfo": ("get_service_info", pb.GetServiceInfoRequest, pb.GetServiceInfoResponse),
            "LedgerService/GetEpoch": ("get_epoch", pb.GetEpochRequest, pb.GetEpochResponse),
            "LedgerService/GetObject": ("get_object", pb.GetObjectRequest, pb.GetObjectResponse),
            "LedgerService/GetTransaction": ("get_transaction", pb.GetTransactionRequest, pb.GetTransactionResponse),
            "StateService/ListOwnedObjects": ("list_owned", pb.ListOwnedObjectsRequest, pb.ListOwnedObjectsResponse),
            "MovePackageService/GetPackage": ("get_package", pb.GetPackageRequest, pb.GetPackageResponse),
            "TransactionExecutionService/SimulateTransaction": ("simulate", pb.SimulateTransactionRequest, pb.SimulateTransactionResponse),
            "TransactionExecutionService/ExecuteTransaction": ("execute", pb.ExecuteTransactionRequest, pb.ExecuteTransactionResponse),
        }  # fmt: skip

        def handler(name, method):
            async def handle(stream):
                req = await stream.recv_message()
                self.calls.append((name, req))
                if name == "ExecuteTransaction" and self.execute_faults:
                    fault = self.execute_faults.pop(0)
                    if fault == "lose_request":
                        await asyncio.sleep(self.fault_sleep)  # never executed; the client gives up
                        return
                    if fault == "lose_response":
                        self.execute(req)  # executed, but the answer never arrives
                        await asyncio.sleep(self.fault_sleep)
                        return
                    if fault == "refuse":
                        raise GRPCError(Status.INVALID_ARGUMENT, "transaction refused by the fake node")
                await stream.send_message(getattr(self, method)(req))

            return handle

        return {
            f"/sui.rpc.v2.{route}": Handler(handler(route.split("/")[1], method), Cardinality.UNARY_UNARY, rq, rs)
            for route, (method, rq, rs) in routes.items()
        }

    def get_service_info(self, req):
        return pb.GetServiceInfoResponse(chain_id=self.chain_id, chain="localnet", epoch=1, checkpoint_height=self.lamport, server="fake-chain")

    def get_epoch(self, req):
        return pb.GetEpochResponse(epoch=pb.Epoch(epoch=1, reference_gas_price=PRICE))

    def get_object(self, req):
        oid = normalize_address(req.object_id)
        if req.version is not None and (oid, req.version) in self.pruned:
            raise GRPCError(Status.NOT_FOUND, "pruned")
        vs = self.objects.get(oid)
        if vs:
            obj = vs.get(req.version) if req.version is not None else vs[max(vs)]
            if obj is None:
                raise GRPCError(Status.NOT_FOUND, f"object {oid} version {req.version} not found")
            return pb.GetObjectResponse(object=obj)
        for tid, (allow, *_) in self.task_tables.items():  # allowlist entries (dynamic fields)
            for addr in self.tasks[tid].allowlist:
                if dynamic_field_id(allow, "address", bcs.address(addr)) == oid:
                    return pb.GetObjectResponse(object=pb.Object(object_id=oid, version=1, digest=_digest(),
                                                                 object_type="0x2::dynamic_field::Field<address, bool>"))
        raise GRPCError(Status.NOT_FOUND, f"object {oid} not found")

    def list_owned(self, req):
        objs = self._owned(req.owner, req.object_type)
        if self.stale_listing:  # an owned-object index one transaction behind
            objs = [self.objects[o.object_id][sorted(self.objects[o.object_id])[-2]] if len(self.objects[o.object_id]) > 1 else o for o in objs]
        return pb.ListOwnedObjectsResponse(objects=objs)

    def get_package(self, req):
        pid = normalize_address(req.package_id)
        if pid not in self.packages:
            raise GRPCError(Status.NOT_FOUND, f"package {pid} not found")
        mods = self.packages[pid][0]
        return pb.GetPackageResponse(package=pb.Package(storage_id=pid, modules=[pb.Module(name=n, contents=c) for n, c in mods.items()]))

    def simulate(self, req):
        assert req.do_gas_selection is False
        checks = req.checks != pb.SimulateTransactionRequestTransactionChecks.DISABLED
        executed = self.run(req.transaction.bcs.value, commit=False, checks=checks)
        self.simulated.append(executed.effects.gas_used)
        return pb.SimulateTransactionResponse(transaction=executed)

    def execute(self, req):
        sigs = [base64.b64encode(s.bcs.value).decode() for s in req.signatures]
        return pb.ExecuteTransactionResponse(transaction=self.run(req.transaction.bcs.value, commit=True, signatures=sigs))

    def get_transaction(self, req):
        left = self.hide_lookups.get(req.digest, 0)
        if left:
            self.hide_lookups[req.digest] = left - 1
        if left or req.digest not in self.txs:
            raise GRPCError(Status.NOT_FOUND, f"transaction {req.digest} not found")
        return pb.GetTransactionResponse(transaction=self.txs[req.digest])

    def executes(self) -> int:
        return sum(1 for n, _ in self.calls if n == "ExecuteTransaction")


@pytest.fixture
def chain():
    with serving(FakeChain()) as fake:
        yield fake


@pytest.fixture(scope="module")
def ids():
    return {k: Identity.generate() for k in ("owner", "alice", "bob", "carol", "poor")}


def _ledger(chain, tmp_path, timeout=10.0, **kw):
    client = SuiClient(chain.url, network="localnet", timeout=timeout)
    kw.setdefault("sleep", lambda s: None)
    kw.setdefault("faucet", False)
    return L.SuiLedger(
        "localnet", client=client, deployments_path=tmp_path / "deployments.json",
        history_dir=tmp_path / "history", **kw,
    )  # fmt: skip


@pytest.fixture
def deployed(chain, tmp_path, ids, build):
    """A fake chain with the WaFL package published by `owner`, and a ledger on it."""
    for who in ("owner", "alice", "bob", "carol"):
        chain.fund(ids[who].address, 10_000_000_000)
    led = _ledger(chain, tmp_path)
    dep = led.publish(ids["owner"], build)
    yield chain, led, dep
    led.client.close()


def new_task(led, owner, *, quorum=2, max_rounds=2, grace=0, open_=True, name=None, rule=0, trim=0):
    return led.create_task(owner, SPEC, RoundRules(quorum, DUR, max_rounds, grace), AggregationRule(rule, trim), LR_Q, open_, MODEL, VK, name=name)


def begin(led, task, *who):
    """Register `who` (each not registered yet) and open the task's round (with at most
    participants_per_round registered, every one is sampled)."""
    for x in who:
        if not led.task(task).is_registered(x.address):
            led.register(x, task)
    return led.open_round(who[0], task)


def update(seed: int) -> tuple[list[int], int, bytes]:
    """An update a fake-verifying chain accepts: in-range weights, a field element, 128 bytes."""
    limit = 1 << SPEC.weight_bits
    w = [(v + 1000 * seed) % limit for v in MODEL]
    return w, 10**20 + seed, bytes([seed % 256]) * 128


def err(fn, *args, **kw) -> str:
    with pytest.raises(ProtocolError) as e:
        fn(*args, **kw)
    return e.value.name


# =============================================================================================
# compiled signatures and layouts
# =============================================================================================


def _iface_type(t: dict) -> MoveType:
    k = t["kind"]
    if k == "vector":
        return MoveType.vector(_iface_type(t["type"]))
    if k == "ref":
        return MoveType.ref(_iface_type(t["to"]), t["mutable"])
    if k == "datatype":
        return MoveType.datatype(t["address"], t["module"], t["name"], [_iface_type(x) for x in t["type_args"]])
    if k == "type_param":
        return MoveType("typeparam", index=t["index"])
    return MoveType(k)


def _sandbox_interface(modules: list[bytes], tmp: Path) -> dict:
    import sui_sandbox

    d = tmp / "bytecode_modules"
    d.mkdir(parents=True)
    for i, m in enumerate(modules):
        (d / f"m{i}.mv").write_bytes(m)
    return sui_sandbox.extract_interface(bytecode_dir=str(tmp))["modules"]


def _same_as_sandbox(code: bytes, mi: dict) -> int:
    ms = parse_module(code)
    assert set(ms.functions) == set(mi["functions"]), ms.name
    for name, f in mi["functions"].items():
        mine = ms.functions[name]
        assert list(mine.parameters) == [_iface_type(p) for p in f["params"]], (ms.name, name)
        assert list(mine.returns) == [_iface_type(p) for p in f["returns"]], (ms.name, name)
        assert (mine.visibility, mine.is_entry, len(mine.type_parameters)) == (
            f["visibility"], f["is_entry"], len(f["type_params"]),
        ), (ms.name, name)  # fmt: skip
    assert set(ms.structs) == set(mi["structs"])
    for name, s in mi["structs"].items():
        assert list(ms.structs[name].fields or ()) == [(x["name"], _iface_type(x["type"])) for x in s["fields"]]
        assert ms.structs[name].abilities == set(s["abilities"])
    return len(mi["functions"])


def test_signatures_of_our_package_match_sui_sandbox(build, tmp_path):
    mods = build.module_bytes()
    iface = _sandbox_interface(mods, tmp_path)
    n = sum(_same_as_sandbox(m, iface[bytecode.module_name(m)]) for m in mods)
    assert n > 50
    s = PackageSignatures.from_build(build)
    assert str(s.function("task", "submit_update")).startswith("public fun task::submit_update(&mut 0x")
    assert [str(p) for p in s.function("round", "new_rules").parameters] == ["u64"] * 5
    open_round = str(s.function("task", "open_round"))
    assert open_round.startswith("entry fun task::open_round(&mut 0x") and "::random::Random, &" in open_round, open_round


def test_signatures_of_the_framework_match_sui_sandbox(tmp_path):
    """Every framework module in the sui-sandbox wheel (bytecode v7, enums and jump tables incl.)."""
    from wafl_sui.contract import stubs

    mods = bytecode.modules_in(stubs._sandbox_library().read_bytes())
    n = 0
    for i, code in enumerate(mods):
        try:
            iface = _sandbox_interface([code], tmp_path / str(i))
        except Exception:  # noqa: BLE001 - a false magic match inside the binary
            continue
        for mi in iface.values():
            n += _same_as_sandbox(code, mi)
    assert n > 1000


def test_framework_layouts_are_the_frameworks(tmp_path):
    """FRAMEWORK_LAYOUTS (the framework structs our objects hold) equal the framework bytecode."""
    from wafl_sui.contract import stubs
    from wafl_sui.ledger.sui.task_object import _parse_framework

    found = {}
    for code in bytecode.modules_in(stubs._sandbox_library().read_bytes()):
        try:
            ms = parse_module(code)
        except Exception:  # noqa: BLE001
            continue
        for s in ms.structs.values():
            found[s.tag] = s
    for tag, fields in FRAMEWORK_LAYOUTS.items():
        assert tag in found, tag
        assert list(found[tag].fields) == [(n, _parse_framework(t)) for n, t in fields], tag


def test_task_and_event_encoding_match_sui_sandbox(build, sigs):
    """Our layout-driven BCS of a Task and of every event equals sui-sandbox's serializer
    (`json_to_bcs`, Sui's layouts from the same bytecode); vector<u8> left empty (the sandbox
    reads JSON numbers in a vector<u8> as u64)."""
    import sui_sandbox

    codec = MoveCodec(sigs)
    mods = build.module_bytes()
    state, _ = ptask.create_task(TASK, CAP, ME.address, SPEC, RoundRules(2, DUR, 3, 5), AggregationRule(1, 0), LR_Q, False, MODEL, VK, T0, prepare=prepare)
    state = dataclasses.replace(state, submitters=(ME.address,), updates=(tuple(MODEL),), partial=(1, 2, 3), round=4,
                                deposit_mist=7, registered=(ME.address,), deposits=frozenset({ME.address}),
                                round_open=True, sampled=(ME.address,), randomness=bytes(range(32)))
    fields = {
        name: (
            {"id": "0x" + "a1" * 32, "size": 1} if name in ("allowlist", "updates", "deposits")
            else {k: b"" for k in prepared_vk_fields(state.prepared_vk)} if name == "prepared_vk"
            else state.task_id if name == "id"
            else (lambda v: v.move_fields() if hasattr(v, "move_fields") else v.to_dict() if hasattr(v, "to_dict") else list(v) if isinstance(v, tuple) else v)(getattr(state, name))
        )
        for name in sigs.struct("task", "Task").field_names()
    }  # fmt: skip
    ours = codec.encode("0x0::task::Task", fields)

    def js(v):
        if isinstance(v, dict):
            return {k: js(x) for k, x in v.items()}
        if isinstance(v, (list, bytes)):
            return [js(x) for x in v]
        return str(v) if isinstance(v, int) and not isinstance(v, bool) and v > 2**53 else v

    j = js(fields)
    j["id"] = {"id": fields["id"]}
    for t in ("allowlist", "updates", "deposits"):
        j[t] = {"id": {"id": fields[t]["id"]}, "size": 1}
    assert bytes(sui_sandbox.json_to_bcs("0x0::task::Task", json.dumps(j), mods)) == ours
    assert codec.decode("0x0::task::Task", ours) == fields
    # events: every struct of the events module, with values of each field's type
    from wafl_sui.protocol import events as pev

    ev_mod = sigs.modules["events"]
    assert set(ev_mod.structs) == set(pev.EVENT_TYPES)  # one Python dataclass per Move event
    sample = {"u8": 2, "u64": 2**40 + 1, "u256": 2**255 + 3, "bool": True, "address": ME.address}
    for name, layout in ev_mod.structs.items():
        assert [f.name for f in dataclasses.fields(pev.EVENT_TYPES[name])] == layout.field_names(), name

        def value(t):
            if t.kind in sample:
                return sample[t.kind]
            if t.kind == "vector":
                return bytes([2, 2]) if t.inner.kind == "u8" else [value(t.inner)] * 2
            if t.struct_tag and t.struct_tag.endswith("::object::ID"):
                return TASK
            return {n: value(ft) for n, ft in codec.fields_of(t)}

        f = {n: value(t) for n, t in layout.fields}
        mine = codec.encode(f"0x0::events::{name}", f)
        jf = js(f)
        assert bytes(sui_sandbox.json_to_bcs(f"0x0::events::{name}", json.dumps(jf), mods)) == mine, name
        assert codec.decode(f"0x0::events::{name}", mine) == f


def test_task_view_from_the_object(sigs):
    codec = MoveCodec(sigs, (PKG,))
    state, _ = ptask.create_task(TASK, CAP, ME.address, SPEC, RoundRules(2, DUR, 3, 5), AggregationRule(2, 1000), LR_Q, True, MODEL, VK, T0, prepare=prepare)
    fields = {n: v for n, v in codec.decode(f"{PKG}::task::Task", _encode_state(codec, sigs, state)).items()}
    v = task_view(fields, TASK, "t")
    assert isinstance(v, TaskView)
    assert (v.task_id, v.spec, v.lr_q, v.round_rules, v.aggregation, v.open) == (
        TASK, SPEC, LR_Q, RoundRules(2, DUR, 3, 5), AggregationRule(2, 1000), True,
    )  # fmt: skip
    assert (v.round, v.round_start_ms, v.deadline_ms, v.created_ms, v.version, v.name) == (0, T0, 0, T0, ptask.VERSION, "t")
    assert (v.round_open, v.sampled, v.registered, v.randomness) == (False, (), (), b"")
    opened = dataclasses.replace(state, registered=(ME.address, CAP), round_open=True, sampled=(CAP,),
                                 randomness=bytes(range(32)), deposits=frozenset({ME.address, CAP}))
    w = task_view(codec.decode(f"{PKG}::task::Task", _encode_state(codec, sigs, opened)), TASK, "t")
    assert (w.round_open, w.sampled, w.registered, w.randomness) == (True, (CAP,), (ME.address, CAP), bytes(range(32)))
    assert w.is_sampled(CAP) and not w.is_sampled(ME.address) and w.is_registered(ME.address)
    assert v.model == tuple(MODEL) and v.model_commitment == state.model_commitment and v.submitters == ()
    assert v.prepared_vk == prepare(VK) and (v.aggregation_done, v.aggregation_total) == (0, len(MODEL))


def _encode_state(codec, sigs, state):
    special = {
        "id": state.task_id,
        "allowlist": {"id": "0x" + "a1" * 32, "size": 0},
        "updates": {"id": "0x" + "a2" * 32, "size": 0},
        "deposits": {"id": "0x" + "a3" * 32, "size": len(state.deposits)},
        "prepared_vk": prepared_vk_fields(state.prepared_vk),
    }
    f = {}
    for n in sigs.struct("task", "Task").field_names():
        v = special[n] if n in special else getattr(state, n)
        f[n] = v.move_fields() if hasattr(v, "move_fields") else v.to_dict() if hasattr(v, "to_dict") else list(v) if isinstance(v, tuple) else v
    return codec.encode(f"{PKG}::task::Task", f)


def test_pure_values_are_checked_against_the_parameter_type():
    check_pure_value(MoveType.parse("vector<u32>"), bcs.pure_u32_vector([1, 2]))
    check_pure_value(MoveType.parse("0x1::option::Option<u64>"), bcs.pure_option_u64(3))
    check_pure_value(MoveType.parse("0x1::string::String"), bcs.pure_string("hé"))
    for ty, raw, why in [
        ("u8", bcs.pure_u64(1), "more"),
        ("vector<u32>", bcs.pure_u64_vector([1, 2]), "more"),
        ("u256", bcs.pure_u64(5), "end early"),
        ("bool", b"\x02", "not a bool"),
        ("0x1::option::Option<u64>", b"\x02", "0 or 1"),
        ("0x1::string::String", bcs.pure_bytes(b"\xff"), "UTF-8"),
        ("0x2::clock::Clock", b"", "cannot have type"),
    ]:
        with pytest.raises(SignatureMismatch, match=why):
            check_pure_value(MoveType.parse(ty), raw)


# =============================================================================================
# every transaction, offline: TS SDK decode, signatures, compiled type check
# =============================================================================================

GAS = T.GasParams.parse([f"{'0x' + 'c0' * 32}:12:{DIG}", f"0xc1:3:{base58.b58encode(bytes(32)).decode()}"], 750, 12_345_678)
TASK_IN = T.task_input(TASK, 7)
CAP_REF = ObjectRef(CAP, 9, DIG)
ALICE = normalize_address("0xa11ce")


def _txs(build):
    """name -> (TransactionData, [(target, [(argument kind, (TS type, value) | object), ...])])."""
    spec_vals = [("u64", str(getattr(SPEC, f))) for f in T._SPEC_FIELDS]
    weights, dc, proof = update(3)
    task_arg = ("SharedObject", TASK, "7", True)
    clock = ("SharedObject", CLOCK_ID, "1", False)
    cap = ("ImmOrOwnedObject", CAP, "9", DIG)
    p = PKG
    return {
        "publish": (build_publish_tx(build, ME.address, GAS.payment, GAS.price, GAS.budget), None),
        **{f"publish:{policy}": (build_publish_tx(build, ME.address, GAS.payment, GAS.price, GAS.budget, policy), None)
           for policy in ("additive", "dependency-only", "immutable")},
        "create_task": (
            T.build_create_task_tx(p, ME.address, GAS, SPEC, RoundRules(3, DUR, 5, 777, 4), AggregationRule(2, 1500), LR_Q, True,
                                   MODEL, VK, deposit_mist=2_500),
            [
                (f"{p}::spec::new", spec_vals),
                (f"{p}::round::new_rules", [("u64", "3"), ("u64", str(DUR)), ("u64", "5"), ("u64", "777"), ("u64", "4")]),
                (f"{p}::rules::new_aggregation", [("u8", 2), ("u64", "1500")]),
                (f"{p}::task::create_task", [("Result", 0), ("Result", 1), ("Result", 2), ("u64", str(LR_Q)), ("bool", True),
                                             ("u64", "2500"), ("vector<u32>", MODEL), ("vector<u8>", list(VK)), clock]),
            ],
        ),  # fmt: skip
        "register": (T.build_register_tx(p, ME.address, GAS, TASK_IN, 2_500), [(f"{p}::task::register", [task_arg, ("Result", 0)])]),
        "leave": (T.build_leave_tx(p, ME.address, GAS, TASK_IN), [(f"{p}::task::leave", [task_arg])]),
        "open_round": (
            T.build_open_round_tx(p, ME.address, GAS, TASK_IN, T.random_input(RANDOM_VERSION)),
            [(f"{p}::task::open_round", [task_arg, ("SharedObject", normalize_address("0x8"), str(RANDOM_VERSION), False), clock])],
        ),
        "submit_update": (
            T.build_submit_tx(p, ME.address, GAS, TASK_IN, weights, dc, proof),
            [(f"{p}::task::submit_update", [task_arg, ("vector<u32>", weights), ("u256", str(dc)), ("vector<u8>", list(proof)), clock])],
        ),
        "aggregate": (T.build_aggregate_tx(p, ME.address, GAS, TASK_IN), [(f"{p}::task::aggregate", [task_arg, clock])]),
        "discard_round": (T.build_discard_round_tx(p, ME.address, GAS, TASK_IN), [(f"{p}::task::discard_round", [task_arg, clock])]),
        "add_participant": (
            T.build_add_participant_tx(p, ME.address, GAS, CAP_REF, TASK_IN, ALICE),
            [(f"{p}::task::add_participant", [cap, task_arg, ("address", ALICE)])],
        ),
        "remove_participant": (
            T.build_remove_participant_tx(p, ME.address, GAS, CAP_REF, TASK_IN, ALICE),
            [(f"{p}::task::remove_participant", [cap, task_arg, ("address", ALICE)])],
        ),
        "set_open": (T.build_set_open_tx(p, ME.address, GAS, CAP_REF, TASK_IN, False), [(f"{p}::task::set_open", [cap, task_arg, ("bool", False)])]),
        "restart_round": (T.build_restart_round_tx(p, ME.address, GAS, CAP_REF, TASK_IN), [(f"{p}::task::restart_round", [cap, task_arg, clock])]),
        "migrate": (T.build_migrate_tx(p, ME.address, GAS, CAP_REF, TASK_IN), [(f"{p}::task::migrate", [cap, task_arg])]),
    }


@pytest.fixture(scope="module")
def txs(build):
    return _txs(build)


@pytest.fixture(scope="module")
def ts(txs):
    """One check_tx.mjs run: every transaction with our signature, and the SDK's own pure
    encoding of every value we meant to pass."""
    require_oracle("ts_sdk")
    reqs, names = [], []
    for name, (tx, calls) in txs.items():
        raw = tx.to_bcs()
        pure = [{"type": a[0], "value": a[1]} for _, args in (calls or []) for a in args if len(a) == 2 and a[0] != "Result"]
        req = {"tx": b64(raw), "signature": ME.sign_transaction(raw)}
        if pure:
            req["pure"] = pure
        reqs.append(req)
        names.append(name)
    parent = "0x" + "a1" * 32
    reqs.append({"dynamicFieldIds": [{"parentId": parent, "typeTag": "address", "key": b64(bcs.address(a))} for a in (ME.address, ALICE)]})
    out = check_requests(reqs)
    res = dict(zip(names, out[:-1], strict=True))
    res["__df"] = (parent, out[-1]["dynamicFieldIds"])
    return res


OPS = ["publish", "publish:additive", "publish:dependency-only", "publish:immutable", "create_task", "register", "leave", "open_round", "submit_update", "aggregate", "discard_round",
       "add_participant", "remove_participant", "set_open", "restart_round", "migrate"]  # fmt: skip


@needs_ts
@pytest.mark.parametrize("name", OPS)
def test_ts_sdk_decodes_every_transaction(ts, txs, build, name):
    tx, calls = txs[name]
    got = ts[name]["transaction"]
    assert got["roundTrip"] is True and got["digest"] == got["sdkDigest"] == tx.digest()
    assert got["sender"] == ME.address and got["expiration"] is None
    assert got["gasData"] == {
        "payment": [{"objectId": r.object_id, "version": str(r.version), "digest": r.digest} for r in GAS.payment],
        "owner": ME.address, "price": "750", "budget": "12345678",
    }  # fmt: skip
    sig = ts[name]["signature"]
    assert sig["valid"] is True and sig["address"] == ME.address and sig["scheme"] == 0
    cmds = got["commands"]
    if name.startswith("publish"):
        policy = name.partition(":")[2] or "compatible"
        restrict = {"compatible": [], "additive": ["only_additive_upgrades"], "dependency-only": ["only_dep_upgrades"],
                    "immutable": ["make_immutable"]}[policy]  # fmt: skip
        transfer = [] if policy == "immutable" else ["TransferObjects"]
        assert [c["kind"] for c in cmds] == ["Publish"] + ["MoveCall"] * len(restrict) + transfer
        assert cmds[0]["modules"] == build.modules and cmds[0]["dependencies"] == [normalize_address(d) for d in build.dependencies]
        for c, fn in zip(cmds[1:], restrict):  # the policy call takes the fresh UpgradeCap (the Publish result)
            assert c["target"] == f"{normalize_address('0x2')}::package::{fn}" and c["typeArguments"] == []
            assert c["arguments"] == [{"kind": "Result", "index": 0}]
        if transfer:
            assert cmds[-1]["objects"] == [{"kind": "Result", "index": 0}]
            assert base64.b64decode(got["inputs"][cmds[-1]["address"]["index"]]["bytes"]) == bcs.address(ME.address)
        else:
            assert got["inputs"] == []  # nothing transferred: the cap is consumed
        return
    moves = [c for c in cmds if c["kind"] == "MoveCall"]
    assert [c["target"] for c in moves] == [t for t, _ in calls]
    assert all(c["typeArguments"] == [] for c in moves)
    sdk_pure = iter(ts[name].get("pure", []))
    for c, (_, want) in zip(moves, calls):
        assert len(c["arguments"]) == len(want)
        for a, w in zip(c["arguments"], want):
            if w[0] == "Result":
                assert a == {"kind": "Result", "index": w[1]}
                continue
            assert a["kind"] == "Input"
            inp = got["inputs"][a["index"]]
            if len(w) == 2:  # a pure value: the SDK's own encoding of what we meant
                assert inp == {"kind": "Pure", "bytes": next(sdk_pure)}, (c["target"], w[0])
            elif w[0] == "SharedObject":
                assert inp == {"kind": "SharedObject", "objectId": w[1], "initialSharedVersion": w[2], "mutable": w[3]}
            else:
                assert inp == {"kind": "ImmOrOwnedObject", "objectId": w[1], "version": w[2], "digest": w[3]}
    if name == "register":  # the deposit: a coin split from the gas coin, passed by value
        assert cmds[0]["kind"] == "SplitCoins" and cmds[0]["coin"] == {"kind": "GasCoin"}
        (amount,) = cmds[0]["amounts"]
        assert base64.b64decode(got["inputs"][amount["index"]]["bytes"]) == bcs.u64(2_500)
    if name in ("leave", "create_task"):  # the returned coin / admin cap goes to the sender in the same transaction
        assert cmds[-1]["kind"] == "TransferObjects" and cmds[-1]["objects"] == [{"kind": "Result", "index": len(cmds) - 2}]
        assert base64.b64decode(got["inputs"][cmds[-1]["address"]["index"]]["bytes"]) == bcs.address(ME.address)
    if name == "open_round":  # nothing after the command that uses Random
        assert len(cmds) == 1
    if name == "create_task":  # the returned admin cap goes to the sender in the same transaction
        assert cmds[-1]["kind"] == "TransferObjects" and cmds[-1]["objects"] == [{"kind": "Result", "index": 3}]
        assert base64.b64decode(got["inputs"][cmds[-1]["address"]["index"]]["bytes"]) == bcs.address(ME.address)


@needs_ts
def test_dynamic_field_ids_match_the_sdk(ts):
    parent, got = ts["__df"]
    assert got == [dynamic_field_id(parent, "address", bcs.address(a)) for a in (ME.address, ALICE)]


@pytest.mark.parametrize("name", OPS)
def test_every_transaction_type_checks_against_the_compiled_package(txs, sigs, name):
    tx, calls = txs[name]
    types = T.object_types(PKG, TASK, CAP)
    checked = check_transaction(tx.kind, sigs, PKG, types)
    assert [f"{PKG}::{f.module}::{f.name}" for f in checked] == [t for t, _ in (calls or [])]
    assert decode_transaction(tx.to_bcs()).to_bcs() == tx.to_bcs()


def _replace_input(kind, index, new):
    inputs = list(kind.inputs)
    inputs[index] = new
    return dataclasses.replace(kind, inputs=tuple(inputs))


def test_wrong_argument_types_are_caught(txs, sigs):
    types = T.object_types(PKG, TASK, CAP)
    create = txs["create_task"][0].kind
    submit = txs["submit_update"][0].kind
    admin = txs["add_participant"][0].kind
    # rule as u64 instead of u8 (rules::new_aggregation's first input is input 14)
    rule_in = create.commands[2].arguments[0].index
    with pytest.raises(SignatureMismatch, match=r"new_aggregation\) argument 0 \(u8\)"):
        check_transaction(_replace_input(create, rule_in, Pure(bcs.pure_u64(2))), sigs, PKG, types)
    # weights as vector<u64>
    with pytest.raises(SignatureMismatch, match=r"submit_update\) argument 1 \(vector<u32>\)"):
        check_transaction(_replace_input(submit, 1, Pure(bcs.pure_u64_vector([1, 2]))), sigs, PKG, types)
    # the data commitment as u64 (u256 expected)
    with pytest.raises(SignatureMismatch, match=r"argument 2 \(u256\).*end early"):
        check_transaction(_replace_input(submit, 2, Pure(bcs.pure_u64(7))), sigs, PKG, types)
    # the Task passed immutably to &mut Task
    with pytest.raises(SignatureMismatch, match="passed immutably"):
        check_transaction(_replace_input(submit, 0, T.task_input(TASK, 7, mutable=False)), sigs, PKG, types)
    # the admin cap and the task swapped
    swapped = dataclasses.replace(admin, commands=(dataclasses.replace(admin.commands[0], arguments=(admin.commands[0].arguments[1], admin.commands[0].arguments[0], admin.commands[0].arguments[2])),))
    with pytest.raises(SignatureMismatch, match="TaskAdminCap.*got a value of type .*::task::Task"):
        check_transaction(swapped, sigs, PKG, types)
    # a missing argument, an unknown function, a package-internal function, a type argument
    short = dataclasses.replace(submit, commands=(dataclasses.replace(submit.commands[0], arguments=submit.commands[0].arguments[:-1]),))
    with pytest.raises(SignatureMismatch, match="4 arguments given, the function takes 5"):
        check_transaction(short, sigs, PKG, types)
    for fn, why in (("no_such_fn", "no function"), ("accept_update", "no function|not public"), ("check_update", "no function|not public")):
        bad = dataclasses.replace(submit, commands=(dataclasses.replace(submit.commands[0], function=fn),))
        with pytest.raises(SignatureMismatch, match=why):
            check_transaction(bad, sigs, PKG, types)
    internal = next(n for n, f in sigs.modules["rules"].functions.items() if f.visibility == "friend")
    bad = dataclasses.replace(submit, commands=(MoveCall(PKG, "rules", internal, ()),))
    with pytest.raises(SignatureMismatch, match="friend functions cannot be called"):
        check_transaction(bad, sigs, PKG, types)
    bad = dataclasses.replace(submit, commands=(dataclasses.replace(submit.commands[0], type_arguments=("u64",)),))
    with pytest.raises(SignatureMismatch, match="1 type arguments given"):
        check_transaction(bad, sigs, PKG, types)
    # a created admin cap left untransferred is fine for the checker, but a Task cannot be transferred
    nocap = dataclasses.replace(create, commands=create.commands[:-1] + (TransferObjects((create.commands[3].arguments[0],), create.commands[-1].address),))
    with pytest.raises(SignatureMismatch, match="needs key and store"):
        check_transaction(nocap, sigs, PKG, types)
    # an object input whose type the check does not know
    with pytest.raises(SignatureMismatch, match="not known"):
        check_transaction(submit, sigs, PKG, {})


def test_gas_and_object_refs_from_the_command_line():
    g = T.GasParams.parse(f"0xc0:12:{DIG}", 1000, 5_000_000)
    assert g.payment == (ObjectRef("0xc0", 12, DIG),) and (g.price, g.budget) == (1000, 5_000_000)
    assert parse_object_ref(f" 0x5:0:{DIG} ") == ObjectRef("0x5", 0, DIG)
    for bad in ("0x5", f"0x5:x:{DIG}", "0x5:1:notbase58!", f"0x5:-1:{DIG}"):
        with pytest.raises(TransactionBuildError):
            parse_object_ref(bad)
    with pytest.raises(TransactionBuildError, match="positive"):
        T.GasParams.parse(f"0xc0:1:{DIG}", 0, 5)


def test_offline_unsigned_transactions(tmp_path, txs, build):
    path = tmp_path / "deployments.json"
    fresh = L.SuiLedger.offline(ME.address, f"0xc0:12:{DIG}", 750, 10_000, deployments_path=path)  # a fresh home
    with pytest.raises(LedgerError, match="not deployed on localnet.*--package-id"):  # a call needs the package
        fresh.create_task(SPEC, RoundRules(3, DUR, 5, 777), AggregationRule(2, 1500), LR_Q, True, MODEL, VK)
    deployments.record_deployment(deployments.Deployment("localnet", PKG, CAP, ME.address, DIG, CHAIN), path)
    deployments.record_task("localnet", deployments.TaskDeployment("mnist", TASK, 7, CAP, DIG), path)
    u = L.SuiLedger.offline(ME.address, [GAS.payment[0].object_id + f":12:{DIG}", f"0xc1:3:{GAS.payment[1].digest}"], 750, 12_345_678,
                            deployments_path=path)  # fmt: skip
    w, dc, proof = update(3)
    for got, (want, _) in [
        (u.submit_update("mnist", w, dc, proof), txs["submit_update"]),
        (u.submit_update(TASK, w, dc, proof), txs["submit_update"]),
        (u.aggregate("mnist"), txs["aggregate"]),
        (u.discard_round("mnist"), txs["discard_round"]),
        (u.publish(build), txs["publish"]),
        (u.publish(build, "immutable"), txs["publish:immutable"]),
        (u.publish(build, "additive"), txs["publish:additive"]),
        (u.create_task(SPEC, RoundRules(3, DUR, 5, 777, 4), AggregationRule(2, 1500), LR_Q, True, MODEL, VK, deposit_mist=2_500),
         txs["create_task"]),
        (u.register("mnist", 2_500), txs["register"]),
        (u.leave("mnist"), txs["leave"]),
        (u.open_round("mnist", RANDOM_VERSION), txs["open_round"]),
    ]:
        assert base64.b64decode(got) == want.to_bcs()
    with pytest.raises(LedgerError, match="admin capability as ID:VERSION:DIGEST"):
        u.set_open("mnist", False)
    with pytest.raises(TaskNotFound, match="task-version"):
        u.aggregate("0x" + "99" * 32)
    u2 = L.SuiLedger.offline(ME.address, GAS.payment, 750, 12_345_678, deployments_path=path, admin_cap=f"{CAP}:9:{DIG}", task_version=7)
    assert base64.b64decode(u2.set_open("0x" + "7a" * 32, False)) == txs["set_open"][0].to_bcs()
    assert base64.b64decode(u2.migrate("mnist")) == txs["migrate"][0].to_bcs()
    assert base64.b64decode(u2.add_participant("mnist", ALICE)) == txs["add_participant"][0].to_bcs()


# =============================================================================================
# the ledger against the fake chain
# =============================================================================================


def test_upgrade_policy_calls_are_the_frameworks():
    """Each policy's call in the publish transaction is a `0x2::package` entry function of the
    framework that takes the fresh UpgradeCap as the PTB passes it (&mut, or by value to delete it)."""
    from wafl_sui.contract import stubs

    funs = stubs.framework_interfaces()[stubs.SUI_ADDRESS]["package"]["functions"]
    cap = {"address": normalize_address("0x2"), "kind": "datatype", "module": "package", "name": "UpgradeCap", "type_args": []}
    for policy, fn in T.UPGRADE_POLICIES.items():
        if fn is None:
            continue
        f = funs[fn]
        want = cap if policy == "immutable" else {"kind": "ref", "mutable": True, "to": cap}
        assert f["visibility"] == "public" and f["params"] == [want] and f["returns"] == [] and f["type_params"] == [], fn
    assert T.DEFAULT_UPGRADE_POLICY in T.UPGRADE_POLICIES
    with pytest.raises(T.TransactionBuildError, match="unknown upgrade policy 'frozen'.*immutable"):
        T.check_upgrade_policy("frozen")


def test_deployments_record_the_upgrade_policy(tmp_path):
    path = tmp_path / "d.json"
    deployments.record_deployment(deployments.Deployment("devnet", PKG, "", ME.address, DIG, CHAIN, {}, "immutable"), path)
    deployments.record_task("devnet", deployments.TaskDeployment("mnist", TASK, 7, CAP, DIG), path)
    dep = deployments.get("devnet", path)
    assert dep.upgrade_policy == "immutable" and dep.upgrade_cap_id == "" and "mnist" in dep.tasks
    with pytest.raises(Exception, match="not a Sui address"):  # an empty cap is only for an immutable package
        deployments.Deployment("devnet", PKG, "", ME.address, DIG)
    doc = json.loads(path.read_text())
    del doc["networks"]["devnet"]["upgrade_policy"]  # a file written before policies: Sui's default
    doc["networks"]["devnet"]["upgrade_cap_id"] = CAP
    path.write_text(json.dumps(doc))
    assert deployments.get("devnet", path).upgrade_policy == "compatible"


def test_publish_records_the_deployment(chain, tmp_path, ids, build):
    chain.fund(ids["owner"].address, 5_000_000_000)
    with SuiClient(chain.url) as client:
        dep = publish(ids["owner"], "localnet", build=build, client=client, deployments_path=tmp_path / "d.json")
    assert dep.package_id in chain.packages and dep.publisher == ids["owner"].address and dep.chain_id == CHAIN
    cap = chain.latest(dep.upgrade_cap_id)
    assert cap.object_type == "0x2::package::UpgradeCap" and cap.owner.address == ids["owner"].address
    assert deployments.get("localnet", tmp_path / "d.json", chain_id=CHAIN) == dep
    (sent,) = [r for n, r in chain.calls if n == "ExecuteTransaction"]
    tx = decode_transaction(sent.transaction.bcs.value)
    (simulated,) = chain.simulated
    gross = simulated.computation_cost + simulated.storage_cost
    assert tx.gas_data.budget == max(math.ceil(gross * 1.2), 1000 * PRICE)  # sized from the simulation, no constant
    assert chain.packages[dep.package_id][0] == {bytecode.module_name(m): m for m in build.module_bytes()}


def test_scripted_federation(deployed, ids, tmp_path):
    """The local ledger's scripted federation, on Sui: create, two updates, aggregate (twice, to
    the end), with task views, receipts and the event history."""
    chain, led, dep = deployed
    o, a, b, c = ids["owner"], ids["alice"], ids["bob"], ids["carol"]
    ref = new_task(led, o, quorum=2, max_rounds=2, name="digits-1")
    assert ref.name == "digits-1" and chain.caps[ref.admin_cap_id]["owner"] == o.address
    t = deployments.get("localnet", led.deployments_path).task("digits-1")
    assert (t.object_id, t.admin_cap_id) == (ref.task_id, ref.admin_cap_id)
    assert t.initial_shared_version == chain.latest(ref.task_id).owner.version
    v = led.task("digits-1")
    assert v == led.task(ref.task_id) and v.name == "digits-1" and v.package_id == dep.package_id  # the Task type's package
    assert (v.spec, v.lr_q, v.round_rules, v.aggregation, v.open) == (SPEC, LR_Q, RoundRules(2, DUR, 2, 0), AggregationRule(0), True)
    assert (v.round, v.round_start_ms, v.deadline_ms, v.created_ms, v.version) == (0, T0, 0, T0, ptask.VERSION)
    assert v.model == tuple(MODEL) and v.submitters == () and v.prepared_vk == prepare(VK)
    assert v.model_commitment == ptask.commitment.model_commitment_encoded(MODEL, SPEC)
    assert led.admin_cap("digits-1") == (ref.admin_cap_id, o.address)

    from wafl_sui.protocol import events as pev_

    (reg,) = led.register(a, "digits-1").events
    assert reg.type == "ParticipantRegistered" and reg.fields["participant"] == a.address and reg.fields["deposit"] == 0
    led.register(b, "digits-1")
    (opened,) = led.open_round(c, "digits-1").events  # anyone may open it: Random 0x8 draws the sample
    assert opened.type == "RoundOpened" and sorted(opened.fields["sampled"]) == sorted([a.address, b.address])
    assert pev_.randomness_hex(opened.fields["randomness"]) == chain.randomness[-1].hex() and led.round_sample("digits-1").sampled == tuple(
        opened.fields["sampled"])
    assert led.task("digits-1").deadline_ms == T0 + DUR
    wa, dca, pa = update(1)
    r1 = led.submit_update(a, "digits-1", wa, dca, pa)
    (acc,) = r1.events
    assert (acc.seq, acc.type, acc.tx) == (4, "UpdateAccepted", r1.tx)
    assert acc.fields["sender"] == a.address and acc.fields["num_updates"] == 1 and acc.fields["data_commitment"] == dca
    assert led.has_submitted("digits-1", a.address) and not led.has_submitted("digits-1", b.address)
    chain.now_ms += 5
    wb, dcb, pb_ = update(2)
    led.submit_update(b, ref.task_id, wb, dcb, pb_)
    assert led.task(ref.task_id).submitters == (a.address, b.address)
    chain.now_ms += 5
    (agg,) = led.aggregate(c, "digits-1").events  # anyone may aggregate
    from wafl_sui.protocol import rules as agg_rules

    expect = agg_rules.fedavg([wa, wb])
    v = led.task(ref.task_id)
    assert list(v.model) == expect and v.round == 1 and v.submitters == ()
    assert (v.round_start_ms, v.deadline_ms, v.round_open) == (T0 + 10, 0, False)  # round 1 waits for its sample
    assert agg.type == "RoundAggregated" and agg.fields["round"] == 0 and agg.fields["next_round"] == 1
    assert agg.fields["submitters"] == [a.address, b.address] and agg.fields["triggered_by"] == c.address
    led.open_round(a, ref.task_id)
    for who, seed in ((a, 3), (b, 4)):
        led.submit_update(who, ref.task_id, *update(seed))
    rec = led.aggregate_round(a, ref.task_id)
    assert [e.type for e in rec[-1].events] == ["RoundAggregated", "TaskFinished"]
    v = led.task(ref.task_id)
    assert v.finished and v.round == 2
    evs = led.events(ref.task_id)
    assert [e.seq for e in evs] == list(range(len(evs)))
    assert [e.type for e in evs] == ["TaskCreated", "ParticipantRegistered", "ParticipantRegistered", "RoundOpened",
                                     "UpdateAccepted", "UpdateAccepted", "RoundAggregated", "RoundOpened",
                                     "UpdateAccepted", "UpdateAccepted", "RoundAggregated", "TaskFinished"]  # fmt: skip
    assert led.events(ref.task_id, after_seq=9) == evs[10:]
    assert [e.tx for e in evs[10:]] == [rec[-1].tx] * 2 and list(rec[-1].events) == evs[10:]
    f = evs[0].fields  # the field names and values of move/sources/events.move, JSON-safe
    assert (f["task_id"], f["admin_cap_id"], f["creator"]) == (ref.task_id, ref.admin_cap_id, o.address)
    assert f["spec"] == SPEC.move_fields() and f["round_rules"] == RoundRules(2, DUR, 2, 0).to_dict() and evs[0].timestamp_ms == T0
    from wafl_sui.protocol import events as pev

    for e in evs:  # each event rebuilds as the protocol's dataclass of the same name
        assert pev.from_dict(e.type, e.fields).to_dict() == e.fields
    # the e2e script's checker accepts this history, and names what is wrong with a broken one
    import importlib.util

    spec_ = importlib.util.spec_from_file_location("check_events", ROOT / "tools" / "sui" / "check_events.py")
    ce = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(ce)
    assert ce.check(evs, v, clients=2, rounds=2)["ok"]
    with pytest.raises(ce.Violation, match="round 0: 2 accepted updates, expected 3"):
        ce.check(evs, v, clients=3, rounds=2)
    with pytest.raises(ce.Violation, match="aggregated submitters differ"):
        ce.check(evs[:6] + [dataclasses.replace(evs[6], fields={**evs[6].fields, "submitters": [a.address]})] + evs[7:], v, 2, 2)
    with pytest.raises(ce.Violation, match="not in round 0's sample"):
        ce.check(evs[:3] + [dataclasses.replace(evs[3], fields={**evs[3].fields, "sampled": [a.address]})] + evs[4:], v, 2, 2)
    # a fresh ledger with no cache walks the task's versions back to the same history
    fresh = _ledger(chain, tmp_path / "fresh")
    fresh.deployments_path = led.deployments_path
    assert fresh.events("digits-1") == evs and fresh.tasks() == led.tasks() == [v]
    # a finished task takes nothing: the simulation aborts, nothing is sent
    sent = chain.executes()
    assert err(led.submit_update, c, ref.task_id, *update(9)) == "ETaskFinished"
    assert err(led.aggregate, a, ref.task_id) == "ETaskFinished"
    assert err(led.restart_round, o, ref.task_id) == "ETaskFinished"
    assert chain.executes() == sent
    # every digest executed exactly once
    assert set(chain.applied.values()) == {1}


def test_rejections_map_to_protocol_errors(deployed, ids):
    chain, led, dep = deployed
    o, a = ids["owner"], ids["alice"]
    sent = chain.executes()
    bad_rules = dataclasses.replace(RoundRules(2, DUR, 2, 0))
    object.__setattr__(bad_rules, "quorum", 0)  # past the Python check: the chain's own rule
    with pytest.raises(ProtocolError) as e:
        led.create_task(o, SPEC, bad_rules, AggregationRule(0), LR_Q, True, MODEL, VK)
    assert e.value.name == "EInvalidRoundRules" and "nothing was sent" in str(e.value)
    assert err(led.create_task, o, SPEC, RoundRules(2, DUR, 2, 0), AggregationRule(0), LR_Q, True, MODEL[:-1], VK) == "EWrongLength"
    assert err(led.create_task, o, SPEC, RoundRules(2, DUR, 2, 0), AggregationRule(0), LR_Q, True, MODEL, VK[:-32]) == "EInvalidVerifyingKey"
    assert chain.executes() == sent  # aborts in the simulation cost nothing
    ref = new_task(led, o)
    assert err(led.submit_update, a, ref.task_id, *update(1)) == "ERoundNotOpen"
    begin(led, ref.task_id, a, ids["bob"])
    led.submit_update(a, ref.task_id, *update(1))
    assert err(led.submit_update, a, ref.task_id, *update(2)) == "EAlreadySubmitted"
    assert err(led.submit_update, ids["carol"], ref.task_id, *update(4)) == "ENotSampled"
    assert err(led.aggregate, a, ref.task_id) == "EQuorumNotReached"
    w, dc, p = update(3)
    assert err(led.submit_update, ids["bob"], ref.task_id, w, dc, p[:100]) == "EInvalidProof"
    assert err(led.submit_update, ids["bob"], ref.task_id, w[:-1], dc, p) == "EWrongLength"
    assert err(led.discard_round, a, ref.task_id) == "EGracePeriodNotOver"  # below its quorum: after deadline + grace
    # an abort at execution (the state changed after the simulation): charged, reported, in history
    chain.verify = lambda *x: False
    real_simulate = chain.simulate
    chain.simulate = lambda req: (setattr(chain, "verify", lambda *x: True), real_simulate(req), setattr(chain, "verify", lambda *x: False))[1]
    before = chain.balance(ids["bob"].address)
    with pytest.raises(ProtocolError, match=r"EInvalidProof.*in transaction \w+ \(\d+ MIST of gas charged\)"):
        led.submit_update(ids["bob"], ref.task_id, w, dc, p)
    assert chain.balance(ids["bob"].address) < before
    chain.simulate, chain.verify = real_simulate, lambda *x: True
    assert [e.type for e in led.events(ref.task_id)] == [
        "TaskCreated", "ParticipantRegistered", "ParticipantRegistered", "RoundOpened", "UpdateAccepted",
    ]  # the failed tx walked past
    new_task(led, o, name="x1")
    with pytest.raises(LedgerError, match="already exists"):
        new_task(led, o, name="x1")
    for bad in ("", "0xabc", "a b", "x" * 65, "-lead"):
        with pytest.raises(LedgerError, match="not valid"):
            new_task(led, o, name=bad)


def test_admin_operations_and_discard(deployed, ids):
    chain, led, dep = deployed
    o, a, b = ids["owner"], ids["alice"], ids["bob"]
    ref = new_task(led, o, open_=False, quorum=1, grace=1_000)
    tid = ref.task_id
    assert not led.is_allowed(tid, a.address)
    assert err(led.register, a, tid) == "ESenderNotAllowed"
    (ev,) = led.add_participant(o, tid, a.address).events
    assert ev.type == "ParticipantAdded" and ev.fields == {"task_id": tid, "participant": a.address}
    assert led.is_allowed(tid, a.address) and not led.is_allowed(tid, b.address)  # a Table entry: a dynamic field
    begin(led, tid, a)
    led.submit_update(a, tid, *update(1))
    (ev,) = led.remove_participant(o, tid, a.address).events
    assert ev.type == "ParticipantRemoved" and not led.is_allowed(tid, a.address)
    (ev,) = led.set_open(o, tid, True).events
    assert ev.type == "OpenChanged" and ev.fields["open"] is True and led.is_allowed(tid, b.address)
    chain.now_ms += DUR + 1
    assert err(led.restart_round, o, tid) == "ERoundHasUpdates"  # the admin cannot hold honest work open
    chain.now_ms += 10 * MIN_GRACE_MS
    assert err(led.discard_round, b, tid) == "ERoundHasUpdates"  # nor can anyone wipe it: it is aggregated
    assert led.aggregate(b, tid).of_type("RoundAggregated")
    assert err(led.discard_round, b, tid) == "ERoundNotOpen"
    assert err(led.open_round, b, tid) == "ENotEnoughParticipants"  # a was removed: the pool is empty
    begin(led, tid, b)
    chain.now_ms += DUR
    assert err(led.discard_round, b, tid) == "EGracePeriodNotOver"  # empty round: deadline + max(grace, minimum)
    chain.now_ms += MIN_GRACE_MS + 1
    (ev,) = led.discard_round(b, tid).events  # anyone, after deadline + grace
    assert ev.type == "RoundDiscarded" and ev.fields["submitters"] == [] and ev.fields["triggered_by"] == b.address
    assert led.task(tid).submitters == () and led.task(tid).deadline_ms == 0 and not led.task(tid).round_open
    led.open_round(b, tid)
    chain.now_ms += 7
    (ev,) = led.restart_round(o, tid).events
    assert ev.type == "RoundRestarted" and ev.fields["num_updates"] == 0 and led.task(tid).deadline_ms == chain.now_ms + DUR
    assert err(led.migrate, o, tid) == "EWrongVersion"  # already at this package's version
    # not the cap's owner: ENotAdmin before anything is sent, as on the local ledger
    sent = chain.executes()
    for call in (lambda: led.add_participant(a, tid, a.address), lambda: led.set_open(a, tid, False),
                 lambda: led.restart_round(a, tid), lambda: led.migrate(a, tid)):  # fmt: skip
        assert err(call) == "ENotAdmin"
    assert chain.executes() == sent
    # her own cap of another task, on this task: the contract's check
    mine = new_task(led, a)
    my_cap = chain.latest(mine.admin_cap_id)
    my_cap_ref = ObjectRef(mine.admin_cap_id, my_cap.version, my_cap.digest)
    kind = T.set_open_kind(led.package_id, my_cap_ref, T.task_input(tid, chain.latest(tid).owner.version), False)
    with pytest.raises(ProtocolError, match="ENotAdmin"):
        led._transact(a, kind, "set_open", T.object_types(led.package_id, tid, mine.admin_cap_id))
    # a task whose cap is not in the deployments file: found among the signer's objects
    other = _ledger(chain, Path(led.deployments_path).parent / "other", package_id=led.package_id)
    other.deployments_path = Path(led.deployments_path).parent / "none.json"
    (ev,) = other.set_open(o, tid, False).events
    assert ev.type == "OpenChanged" and not other.task(tid).open
    assert [e.type for e in led.events(tid)] == [
        "TaskCreated", "ParticipantAdded", "ParticipantRegistered", "RoundOpened", "UpdateAccepted", "ParticipantRemoved",
        "OpenChanged", "RoundAggregated", "ParticipantRegistered", "RoundOpened", "RoundDiscarded", "RoundOpened", "RoundRestarted", "OpenChanged",
    ]  # fmt: skip
    other.client.close()


def test_gas_shortfall_names_the_address_and_amount(deployed, ids):
    chain, led, dep = deployed
    ref = new_task(led, ids["owner"])
    poor = ids["poor"]
    with pytest.raises(L.InsufficientGasError, match=rf"{poor.address} has no SUI coins on localnet to pay gas; this transaction needs a gas budget of (\d+) MIST") as e:
        led.register(poor, ref.task_id)
    assert e.value.address == poor.address and e.value.have == 0 and e.value.needed > 1_000_000 and e.value.short == e.value.needed
    chain.fund(poor.address, 500_000)  # less than one transaction's computation
    with pytest.raises(L.InsufficientGasError, match=r"has 500000 MIST on localnet but this transaction needs a gas budget of \d+ MIST \(\d+ MIST short\)") as e:
        led.register(poor, ref.task_id)
    assert e.value.have == 500_000 and e.value.short == e.value.needed - 500_000
    assert isinstance(e.value, LedgerError)


def test_localnet_signers_are_funded_by_the_faucet(deployed, ids):
    """On localnet a signer without gas is topped up from the faucet (`wafl simulate` makes new keys)."""
    import http.server

    chain, led, dep = deployed
    ref = new_task(led, ids["owner"])
    seen = []

    class Faucet(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            who = body["FixedAmountRequest"]["recipient"]
            seen.append(who)
            (coin,) = chain.fund(who, 1_000_000_000)
            data = json.dumps({"status": "Success", "coins_sent": [{"amount": 1_000_000_000, "id": coin, "transferTxDigest": DIG}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Faucet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        newbie = Identity.generate()
        led.faucet = f"http://127.0.0.1:{srv.server_address[1]}/v2/gas"
        r = led.register(newbie, ref.task_id)
        assert seen == [newbie.address] and r.events[0].fields["participant"] == newbie.address
        led.register(ids["alice"], ref.task_id)  # funded already: no faucet call
        assert seen == [newbie.address]
    finally:
        srv.shutdown()
        srv.server_close()
    assert L.SuiLedger("testnet", client=led.client).faucet is False and L.SuiLedger("localnet", client=led.client).faucet is True


def test_wrong_network_missing_objects_and_no_deployment(chain, tmp_path, ids, build):
    led = _ledger(chain, tmp_path)
    with pytest.raises(LedgerError, match="not deployed on localnet.*wafl deploy --network localnet"):
        led.task("anything")
    chain.fund(ids["owner"].address, 10_000_000_000)
    dep = led.publish(ids["owner"], build)
    with pytest.raises(TaskNotFound, match="no task named 'nope' on localnet"):
        led.task("nope")
    with pytest.raises(TaskNotFound, match="no task 0x0+dead on localnet"):
        led.task("0xdead")
    with pytest.raises(TaskNotFound, match="is not a WaFL task"):
        led.task(dep.upgrade_cap_id)
    # the deployment was made on another chain (a reset localnet)
    path = tmp_path / "deployments.json"
    deployments.record_deployment(dataclasses.replace(dep, chain_id="another-chain"), path)
    led2 = _ledger(chain, tmp_path)
    with pytest.raises(LedgerError, match="was made on chain another-chain but the node .* is on chain"):
        led2.tasks()
    # the node is not the network asked for
    chain.chain_id = "69WiPg3DAQiwdxfncX6wYQ2siKwAe6L9BZthQea3JNMD"  # testnet's
    led3 = _ledger(chain, tmp_path)
    with pytest.raises(LedgerError, match="serves testnet"):
        led3.tasks()
    # a package id that is not on the chain
    chain.chain_id = CHAIN
    deployments.record_deployment(dataclasses.replace(dep, package_id="0x" + "ee" * 32), path)
    led4 = _ledger(chain, tmp_path)
    with pytest.raises(LedgerError, match="does not exist on localnet.*publish again"):
        new_task(led4, ids["owner"])
    for x in (led, led2, led3, led4):
        x.client.close()


def test_a_lost_answer_is_resolved_on_chain_never_submitted_twice(deployed, ids, tmp_path):
    chain, led, dep = deployed
    ref = new_task(led, ids["owner"], quorum=3)
    tid = ref.task_id
    begin(led, tid, ids["alice"], ids["bob"], ids["carol"])
    chain.fault_sleep = 1.5
    slow = _ledger(chain, tmp_path, timeout=0.5)
    a, b, c = ids["alice"], ids["bob"], ids["carol"]
    # 1. executed, the answer lost: found by digest, no second execution
    chain.execute_faults = ["lose_response"]
    sent = chain.executes()
    r = slow.submit_update(a, tid, *update(1))
    assert chain.executes() == sent + 1 and chain.applied[r.tx] == 1
    assert [e.type for e in r.events] == ["UpdateAccepted"] and slow.task(tid).submitters == (a.address,)
    # 2. executed, the answer lost, the node's transaction index lagging: has_submitted settles it
    chain.execute_faults, chain.hide_next = ["lose_response"], 3
    sent = chain.executes()
    r = slow.submit_update(b, tid, *update(2))
    assert chain.executes() == sent + 1  # not sent again
    chain.hide_next = 0
    assert r.events[0].fields["sender"] == b.address and chain.applied[r.tx] == 1
    assert slow.task(tid).submitters == (a.address, b.address)
    # 3. the request itself lost: the same signed bytes again, executed once
    chain.hide_lookups.clear()
    chain.execute_faults = ["lose_request"]
    sent = chain.executes()
    r = slow.submit_update(c, tid, *update(3))
    assert chain.executes() == sent + 2 and chain.applied[r.tx] == 1
    sent_txs = [rq.transaction.bcs.value for n, rq in chain.calls if n == "ExecuteTransaction"][-2:]
    assert sent_txs[0] == sent_txs[1]  # the very same transaction, not a rebuilt one
    assert slow.task(tid).submitters == (a.address, b.address, c.address)
    # 4. never any answer: OutcomeUnknown with the digest to look up
    chain.execute_faults = ["lose_request"] * 10
    with pytest.raises(L.OutcomeUnknown, match="may still execute") as e:
        slow.aggregate(a, tid)
    assert e.value.digest
    chain.execute_faults = []
    # 5. a refusal is not retried
    chain.execute_faults = ["refuse"]
    sent = chain.executes()
    with pytest.raises(LedgerError, match="refused the transaction"):
        slow.aggregate(a, tid)
    assert chain.executes() == sent + 1
    assert set(chain.applied.values()) == {1}
    slow.client.close()


def test_back_to_back_transactions_with_a_lagging_coin_index(deployed, ids):
    """The node lists a sender's gas coin at its previous version: the client uses the version
    its own last transaction left it at, so the next transaction is not refused."""
    chain, led, dep = deployed
    t1, t2 = new_task(led, ids["owner"]), new_task(led, ids["owner"])
    for t in (t1, t2):
        begin(led, t.task_id, ids["alice"], ids["bob"])
    chain.stale_listing = True
    a = ids["alice"]
    led.submit_update(a, t1.task_id, *update(1))
    led.submit_update(a, t2.task_id, *update(2))  # refused ("gas object not available") without the fix
    assert led.task(t1.task_id).submitters == (a.address,) == led.task(t2.task_id).submitters
    fresh = _ledger(chain, Path(led.deployments_path).parent)  # another client: only the node's (stale) view
    with pytest.raises(LedgerError, match="not available"):
        fresh.submit_update(a, t1.task_id, *update(3))
    chain.stale_listing = False
    fresh.client.close()


def test_unsigned_transactions_from_the_node(deployed, ids):
    chain, led, dep = deployed
    o = ids["owner"]
    ref = new_task(led, o, name="u1")
    begin(led, "u1", ids["alice"], ids["bob"])
    u = led.unsigned(ids["alice"].address)
    raw = base64.b64decode(u.submit_update("u1", *update(1)))
    tx = decode_transaction(raw)
    assert tx.sender == ids["alice"].address and tx.gas_data.owner == ids["alice"].address and tx.gas_data.budget > 0
    assert tx.kind.inputs[0] == T.task_input(ref.task_id, chain.latest(ref.task_id).owner.version)
    assert chain.executes() == 5  # publish, create, 2 registrations, open: nothing sent for the unsigned one
    # it can be signed elsewhere and executed as is
    sig = ids["alice"].sign_transaction(raw)
    eff = led.client.execute(raw, [sig])
    assert eff.success and led.task("u1").submitters == (ids["alice"].address,)
    admin = decode_transaction(base64.b64decode(led.unsigned(o.address).set_open("u1", False)))
    assert admin.kind.inputs[0] == OwnedObject(ObjectRef(ref.admin_cap_id, chain.latest(ref.admin_cap_id).version, chain.latest(ref.admin_cap_id).digest))
    with pytest.raises(ProtocolError, match="ENotAdmin"):
        led.unsigned(ids["bob"].address).set_open("u1", False)


def test_pruned_history_is_a_clear_error(deployed, ids, tmp_path):
    chain, led, dep = deployed
    ref = new_task(led, ids["owner"])
    begin(led, ref.task_id, ids["alice"], ids["bob"])
    led.submit_update(ids["alice"], ref.task_id, *update(1))
    led.submit_update(ids["bob"], ref.task_id, *update(2))
    versions = sorted(chain.objects[ref.task_id])
    chain.pruned.add((ref.task_id, versions[1]))
    fresh = _ledger(chain, tmp_path / "fresh")
    fresh.deployments_path = led.deployments_path
    with pytest.raises(LedgerError, match="no longer has version .* pruned"):
        fresh.events(ref.task_id)
    # the ledger that sent them kept its history on disk: no walk needed
    again = _ledger(chain, Path(led.deployments_path).parent)
    assert [e.type for e in again.events(ref.task_id)] == [
        "TaskCreated", "ParticipantRegistered", "ParticipantRegistered", "RoundOpened", "UpdateAccepted", "UpdateAccepted"]
    fresh.client.close()
    again.client.close()


def test_signers_and_read_only(deployed, ids, tmp_path):
    chain, led, dep = deployed
    key = tmp_path / "alice.key"
    ids["alice"].save(key)
    ref = new_task(led, ids["owner"])
    begin(led, ref.task_id, ids["alice"], ids["bob"])
    assert led.submit_update(str(key), ref.task_id, *update(1)).events[0].fields["sender"] == ids["alice"].address
    named = _ledger(chain, Path(led.deployments_path).parent, identities={"bob": ids["bob"]})
    assert named.submit_update("bob", ref.task_id, *update(2)).events[0].fields["sender"] == ids["bob"].address
    with pytest.raises(LedgerError, match="cannot sign as 'carol'"):
        named.aggregate("carol", ref.task_id)
    ro = _ledger(chain, Path(led.deployments_path).parent, read_only=True)
    with pytest.raises(LedgerError, match="read-only"):
        ro.aggregate(ids["bob"], ref.task_id)
    assert ro.task(ref.task_id).num_updates == 2
    for x in (named, ro):
        x.client.close()


def test_open_ledger_opens_the_sui_ledger(chain, tmp_path, monkeypatch):
    from wafl_sui.ledger import open_ledger

    monkeypatch.setenv("WAFL_SUI_RPC_URL", chain.url)
    with open_ledger("localnet", deployments_path=tmp_path / "d.json", clock=lambda: 0) as led:
        assert isinstance(led, L.SuiLedger) and led.url == chain.url and led.network == "localnet"
        with pytest.raises(LedgerError, match="not deployed"):
            led.tasks()


# =============================================================================================
# with real proofs (slow: compiles and sets up the step circuit once)
# =============================================================================================


@pytest.mark.slow
def test_federation_with_real_proofs_verified_by_the_fake_chain(chain, tmp_path, ids, build):
    """Proofs made by the real prover, verified in the fake chain with the Sui Groth16 bytes
    (zk.sui_bytes) against the prepared key it stores: a forged replay is rejected."""
    from wafl_sui.devtools.updates import UpdateMaker

    spec = StepSpec(features=4, classes=3, batch_size=2)
    maker = UpdateMaker(spec)
    try:
        chain.verify = lambda pvk, inputs, proof: sui_bytes.verify_groth16_proof(pvk, ptask.codec.public_inputs_bytes(inputs), proof)
        for who in ("owner", "alice", "bob"):
            chain.fund(ids[who].address, 10_000_000_000)
        led = _ledger(chain, tmp_path)
        led.publish(ids["owner"], build)
        ref = led.create_task(ids["owner"], spec, RoundRules(2, DUR, 1, 0), AggregationRule(0), maker.lr_q, True, maker.initial_model(), maker.vk)
        begin(led, ref.task_id, ids["alice"], ids["bob"])
        ua = maker.make(led.task(ref.task_id), ids["alice"].address, 1)
        led.submit_update(ids["alice"], ref.task_id, ua.new_weights, ua.data_commitment, ua.proof)
        assert err(led.submit_update, ids["bob"], ref.task_id, ua.new_weights, ua.data_commitment, ua.proof) == "EInvalidProof"
        ub = maker.make(led.task(ref.task_id), ids["bob"].address, 2)
        led.submit_update(ids["bob"], ref.task_id, ub.new_weights, ub.data_commitment, ub.proof)
        rec = led.aggregate_round(ids["bob"], ref.task_id)
        assert [e.type for e in rec[-1].events] == ["RoundAggregated", "TaskFinished"]
        led.client.close()
    finally:
        maker.close()


# =============================================================================================
# a live node (WAFL_SUI_RPC_URL)
# =============================================================================================


@pytest.mark.chain
@pytest.mark.skipif(not os.environ.get("WAFL_SUI_RPC_URL"), reason="set WAFL_SUI_RPC_URL to test against a live node")
def test_live_publish_create_and_read(tmp_path, build):
    """Publish, create a task, read it back and its event, on a real node (localnet: a fresh
    key funded by the faucet; elsewhere WAFL_SUI_TEST_KEY)."""
    import time

    from wafl_sui.ledger.sui.faucet import request_gas

    net = os.environ.get("WAFL_SUI_NETWORK", "localnet")
    led = L.SuiLedger(net, deployments_path=tmp_path / "d.json", history_dir=tmp_path / "h")
    if os.environ.get("WAFL_SUI_TEST_KEY"):
        me = Identity.from_file(os.environ["WAFL_SUI_TEST_KEY"])
    elif net == "localnet":
        me = Identity.generate()
        request_gas(me.address, "localnet")
        for _ in range(60):
            if led.client.gas_coins(me.address):
                break
            time.sleep(0.5)
    else:
        pytest.skip("set WAFL_SUI_TEST_KEY to a funded key file")
    dep = led.publish(me, build)
    assert dep.package_id and dep.chain_id
    ref = led.create_task(me, SPEC, RoundRules(1, 600_000, 1, 0), AggregationRule(0), LR_Q, True, MODEL, VK, name="live")
    v = led.task("live")
    assert v.task_id == ref.task_id and v.model == tuple(MODEL) and v.prepared_vk == prepare(VK)
    (ev,) = led.events("live")
    assert ev.type == "TaskCreated" and ev.fields["admin_cap_id"] == ref.admin_cap_id
    assert err(led.aggregate, me, "live") == "EQuorumNotReached"
    led.close()
