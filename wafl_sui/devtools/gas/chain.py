"""The offline chain: the built package and the Sui framework loaded, objects that persist
between transactions, a clock; each `call` / `ptb` is one programmable transaction run by the
metered interpreter, with Sui's effects (objects created, mutated, deleted, wrapped, transferred)
and their storage costs and rebates. PTB arguments: pure `(type, value)` or BCS bytes, `Obj(id)`,
`Res(i, j)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from wafl_sui.contract.bytecode import error_constant_names
from wafl_sui.devtools.gas.errors import GasError, MoveAbortError, OutOfGas
from wafl_sui.devtools.gas.interpreter import Interpreter
from wafl_sui.devtools.gas.loader import Function, Loader, Module, framework_modules
from wafl_sui.devtools.gas.meter import Meter
from wafl_sui.devtools.gas.report import GasReport
from wafl_sui.devtools.gas.runtime import Runtime, StoredObject, object_id, object_size_for_gas
from wafl_sui.devtools.gas.schedule import (
    MAX_COMPUTATION_UNITS,
    OBJ_ACCESS_COST_READ_PER_BYTE,
    OBJECT_METADATA_BYTES,
    STORAGE_PRICE_MIST,
    computation_units,
    rebate_mist,
    storage_units,
)
from wafl_sui.devtools.gas.types import address_bytes, parse_type, type_str
from wafl_sui.devtools.gas.values import Ref, Struct, Vec

CLOCK_ID = address_bytes("0x6")
CLOCK_TYPE = ("S", address_bytes("0x2"), "clock", "Clock", ())
TX_CONTEXT_TYPE = ("S", address_bytes("0x2"), "tx_context", "TxContext", ())
#: The gas coin every transaction reads and rewrites: contents (UID 32 + balance 8) + the
#: one-byte GasCoin object type + 1 + 8 + metadata.
GAS_COIN_BYTES = OBJECT_METADATA_BYTES + 40 + 1 + 1 + 8
DEFAULT_SENDER = address_bytes("0x" + "5e" * 32)


@dataclass
class Res:
    """A PTB argument: value `j` of the results of command `i`."""
    i: int
    j: int = 0


@dataclass
class Obj:
    """A PTB argument: the object `id` of the chain (by reference or by value, per the parameter)."""
    id: bytes | str


@dataclass
class MoveCall:
    module: str
    function: str
    args: Sequence = ()
    type_args: Sequence = ()
    package: str = "0x0"


class Chain:
    """An offline ledger holding the built package, the framework, objects and a clock; each
    `call` / `ptb` is one transaction executed by the metered interpreter."""

    def __init__(self, build=None, *, modules: Sequence[bytes] | None = None, accept_proofs: bool = True,
                 budget_units: int = MAX_COMPUTATION_UNITS, epoch: int = 100, profile: str = "sui"):
        if modules is None:
            if build is None:
                from wafl_sui.contract.build import build_package

                build = build_package()
            modules = build.module_bytes()
        self.package = [Module(c) for c in modules]
        self.loader = Loader(framework_modules() + self.package)
        self.accept_proofs = accept_proofs
        self.budget_units = budget_units
        self.profile = profile
        self.epoch = epoch
        self.tx_count = 0
        self.objects: dict[bytes, StoredObject] = {}
        self.now_ms = 0
        self._put(CLOCK_ID, CLOCK_TYPE, self.loader.encode(CLOCK_TYPE, self._clock_value(0)), "shared")

    # ---------------------------------------------------------------------- objects
    def _clock_value(self, now: int) -> Struct:
        return Struct([Struct([Struct([CLOCK_ID])]), now])

    def _put(self, oid: bytes, ty, bcs: bytes, owner: str) -> StoredObject:
        size = object_size_for_gas(ty, len(bcs))
        obj = StoredObject(oid, ty, bcs, owner, storage_units(size) * STORAGE_PRICE_MIST)
        self.objects[oid] = obj
        return obj

    def add_object(self, ty, bcs: bytes, owner: str = "shared", oid: bytes | str | None = None) -> bytes:
        """Store an object given as BCS (its id is read from the contents unless given)."""
        ty = parse_type(ty) if isinstance(ty, str) else ty
        oid = address_bytes(oid) if oid is not None else bytes(bcs[:32])
        self._put(oid, ty, bytes(bcs), owner)
        return oid

    def value(self, oid) -> Any:
        obj = self.objects[address_bytes(oid)]
        return self.loader.decode(obj.type, obj.bcs)[0]

    def field_names(self, ty) -> list[str]:
        return [n for n, _ in self.loader.fields(ty)]

    def get_field(self, oid, name: str):
        obj = self.objects[address_bytes(oid)]
        names = self.field_names(obj.type)
        return self.value(oid).f[names.index(name)]

    def set_field(self, oid, name: str, value) -> None:
        """Rewrite one field of a stored object (for set-ups the entry functions do not allow)."""
        oid = address_bytes(oid)
        obj = self.objects[oid]
        v = self.value(oid)
        v.f[self.field_names(obj.type).index(name)] = value
        obj.bcs = self.loader.encode(obj.type, v)

    def children_of(self, parent) -> list[StoredObject]:
        key = "object:" + address_bytes(parent).hex()
        return [o for o in self.objects.values() if o.owner == key]

    def function(self, module: str, function: str, package: str = "0x0") -> Function:
        return self.loader.function(address_bytes(package), module, function)

    def functions(self, module: str, package: str = "0x0") -> dict[str, Function]:
        return dict(self.loader.module(address_bytes(package), module).function_by_name)

    # ---------------------------------------------------------------------- transactions
    def call(self, module: str, function: str, args: Sequence = (), type_args: Sequence = (), *,
             sender=None, now_ms: int | None = None, package: str = "0x0", budget_units: int | None = None) -> GasReport:
        return self.ptb([MoveCall(module, function, args, type_args, package)], sender=sender, now_ms=now_ms,
                        budget_units=budget_units)

    def ptb(self, calls: Sequence[MoveCall], *, sender=None, now_ms: int | None = None,
            budget_units: int | None = None, transfer_results: bool = True) -> GasReport:
        """Run `calls` as one programmable transaction (one meter, one set of effects)."""
        budget = self.budget_units if budget_units is None else budget_units
        sender = DEFAULT_SENDER if sender is None else address_bytes(sender)
        if now_ms is not None:
            self.now_ms = now_ms
        clock = self.objects[CLOCK_ID]
        clock.bcs = self.loader.encode(CLOCK_TYPE, self._clock_value(self.now_ms))
        meter = Meter(budget)
        rt = Runtime(self, sender, self.now_ms)
        self.tx_count += 1
        it = Interpreter(self.loader, rt, meter, self.profile)
        holders: dict[bytes, list] = {}  # input objects: id -> [value]
        mutable_inputs: set[bytes] = set()
        consumed: set[bytes] = set()
        results: list[list] = []
        result_types: list[list] = []
        used_results: set[tuple[int, int]] = set()
        name = "; ".join(f"{c.module}::{c.function}" for c in calls)
        abort = None
        oog = False
        try:
            if self.profile == "sui":
                meter.read_bytes(GAS_COIN_BYTES)
            for c in calls:
                f = self.loader.function(address_bytes(c.package), c.module, c.function)
                targs = tuple(parse_type(t) if isinstance(t, str) else t for t in c.type_args)
                params = [self.loader.resolve(f.module, p, targs) for p in f.params]
                argv = []
                k = 0
                for p in params:
                    if type(p) is tuple and p[0] in ("ref", "mut") and p[1] == TX_CONTEXT_TYPE:
                        argv.append(Ref([Struct([sender, Vec("u8", list(rt.digest)), rt.epoch, rt.epoch_ts,
                                                 rt.ids_created])], 0))
                        continue
                    if k >= len(c.args):
                        raise GasError(f"{c.module}::{c.function}: missing argument {k} ({type_str(p)})")
                    a = c.args[k]
                    k += 1
                    argv.append(self._arg(a, p, holders, mutable_inputs, consumed, results, meter))
                    if isinstance(a, Res) and not (type(p) is tuple and p[0] in ("ref", "mut")):
                        used_results.add((a.i, a.j))
                if k != len(c.args):
                    raise GasError(f"{c.module}::{c.function}: {len(c.args)} arguments given, {k} expected")
                rets = it.run(f, targs, argv)
                results.append(list(rets))
                result_types.append([self.loader.resolve(f.module, r, targs) for r in f.returns])
        except OutOfGas:
            oog = True
        except MoveAbortError as e:
            abort = self._abort_name(e)
        read_bytes = meter.read_internal // OBJ_ACCESS_COST_READ_PER_BYTE
        if oog:
            units = budget
        else:
            units = min(computation_units(meter.used), budget)
        rep = GasReport(name, not (oog or abort), abort, oog, meter.instructions - meter.virtual, meter.natives,
                        meter.native_internal, meter.used, read_bytes, meter.height_max, meter.size, units, budget,
                        virtual_instructions=meter.virtual)
        if rep.ok:
            leftovers = [(v, t) for i, (rs, ts) in enumerate(zip(results, result_types)) for j, (v, t) in
                         enumerate(zip(rs, ts)) if (i, j) not in used_results] if transfer_results else []
            self._apply_effects(rep, rt, holders, mutable_inputs, consumed, leftovers, sender)
            rep.returns = [r for rs in results for r in rs]
        # the gas coin is rewritten by every transaction
        coin_mist = storage_units(GAS_COIN_BYTES) * STORAGE_PRICE_MIST
        rep.storage_written_bytes += GAS_COIN_BYTES
        rep.storage_rebated_bytes += GAS_COIN_BYTES
        rep.storage_cost_mist += coin_mist
        rep.storage_rebate_mist += rebate_mist(coin_mist)
        return rep

    def _abort_name(self, e: MoveAbortError) -> str:
        if e.code == -1:
            return f"{e.module}: {e.where}"
        name = None
        if e.code >= 0 and e.code & (1 << 63):
            for m in self.package:
                if m.name == e.module:
                    name = error_constant_names(m.code).get((e.code >> 16) & 0xFFFF)
        return name or f"{e.module}::{e.where} abort {e.code}"

    def _arg(self, a, p, holders, mutable_inputs, consumed, results, meter):
        if isinstance(a, Res):
            v = results[a.i][a.j]
            return v
        if isinstance(a, Obj):
            oid = address_bytes(a.id)
            if oid not in holders:
                obj = self.objects.get(oid)
                if obj is None:
                    raise GasError(f"no object 0x{oid.hex()}")
                holders[oid] = [self.loader.decode(obj.type, obj.bcs)[0]]
                meter.read_bytes(object_size_for_gas(obj.type, len(obj.bcs)))
            if type(p) is tuple and p[0] == "mut":
                mutable_inputs.add(oid)
                return Ref(holders[oid], 0)
            if type(p) is tuple and p[0] == "ref":
                return Ref(holders[oid], 0)
            consumed.add(oid)
            return holders[oid][0]
        if isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], str):
            from wafl_sui.devtools.vm import bcs_encode

            a = bcs_encode(a[0], a[1])
        if isinstance(a, (bytes, bytearray)):
            if type(p) is tuple and p[0] in ("ref", "mut"):
                return Ref([self.loader.decode(p[1], bytes(a))[0]], 0)
            return self.loader.decode(p, bytes(a))[0]
        raise GasError(f"unsupported argument {a!r}")

    def _write(self, rep: GasReport, oid: bytes, ty, value, owner: str, old: StoredObject | None) -> None:
        bcs = self.loader.encode(ty, value)
        size = object_size_for_gas(ty, len(bcs))
        cost = storage_units(size) * STORAGE_PRICE_MIST
        rep.storage_written_bytes += size
        rep.storage_cost_mist += cost
        if old is not None:
            rep.storage_rebated_bytes += object_size_for_gas(old.type, len(old.bcs))
            rep.storage_rebate_mist += rebate_mist(old.storage_mist)
            rep.mutated += 1
        else:
            rep.created += 1
        self.objects[oid] = StoredObject(oid, ty, bcs, owner, cost, (old.version + 1) if old else 1)

    def _apply_effects(self, rep, rt, holders, mutable_inputs, consumed, results, sender):
        L = self.loader
        for oid in mutable_inputs:
            old = self.objects[oid]
            if oid in consumed:
                continue
            self._write(rep, oid, old.type, holders[oid][0], old.owner, old)
        for oid, ty, value, owner in rt.new_objects:
            self._write(rep, oid, ty, value, owner, self.objects.get(oid))
        for cid, (holder, ty, parent, orig) in rt.children.items():
            if orig is not None:
                bcs = L.encode(ty, holder[0])
                if bcs == orig.bcs:
                    continue
            self._write(rep, cid, ty, holder[0], "object:" + parent.hex(), orig)
        for cid, orig in rt.removed.items():
            if orig is None:
                continue
            rep.storage_rebated_bytes += object_size_for_gas(orig.type, len(orig.bcs))
            rep.storage_rebate_mist += rebate_mist(orig.storage_mist)
            rep.deleted += 1
            self.objects.pop(cid, None)
        for oid in consumed:  # objects passed by value: deleted or wrapped unless re-stored
            if oid in rt.deleted or oid not in [o[0] for o in rt.new_objects]:
                old = self.objects.pop(oid, None)
                if old is not None and oid != CLOCK_ID:
                    rep.storage_rebated_bytes += object_size_for_gas(old.type, len(old.bcs))
                    rep.storage_rebate_mist += rebate_mist(old.storage_mist)
                    rep.deleted += 1
        for v, ty in results:  # objects a PTB returns go to the sender (TransferObjects)
            if type(ty) is tuple and ty[0] == "S" and L.datatype(ty).abilities & 0x8:
                self._write(rep, object_id(v), ty, v, "address:" + sender.hex(), None)
        rep.events = [(type_str(t), b) for t, b in rt.events]
