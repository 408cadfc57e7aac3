"""`measure`: one Move call of the built package on a fresh offline chain, with arguments as
the sui-sandbox harness takes them; `sandbox_gas_used`: sui-sandbox's own `gas_used` for it."""

from __future__ import annotations

from typing import Sequence

from wafl_sui.devtools.gas.chain import CLOCK_ID, DEFAULT_SENDER, Chain, Obj
from wafl_sui.devtools.gas.report import GasReport
from wafl_sui.devtools.gas.schedule import MAX_COMPUTATION_UNITS
from wafl_sui.devtools.gas.types import address_bytes, type_str


def measure(module: str, function: str, args: Sequence = (), type_args: Sequence = (), *, build=None,
            modules: Sequence[bytes] | None = None, objects: Sequence[dict] = (), child_objects: dict | None = None,
            sender=None, now_ms: int = 0, budget_units: int = MAX_COMPUTATION_UNITS, profile: str = "sui",
            sandbox: bool = False) -> GasReport:
    """Measure one Move call of the built package, with arguments as the sui-sandbox harness
    takes them: `objects` (dicts with object_id, bcs_bytes, type_tag; passed first, in order),
    then `args` ((type, value) pure arguments as `wafl_sui.devtools.vm.bcs_encode` takes them,
    "raw" for BCS bytes), `child_objects` {parent id: [{child_id, bcs_bytes, type_tag}]}. A
    trailing `&TxContext` / `&mut TxContext` parameter is supplied. The clock object 0x6 given in
    `objects` replaces the chain's. With `sandbox=True` the same call also runs in sui-sandbox's
    Move VM and its raw `gas_used` is recorded (`sandbox_gas_used`; None where it cannot run the
    call, e.g. `sui::poseidon` / `sui::groth16`): bucketed below 1,000,000 units, capped at
    5,000,000, 16 bytes per value, and its own object-read charges."""
    chain = Chain(build, modules=modules, budget_units=budget_units, profile=profile)
    obj_args = []
    for o in objects:
        owner = "shared" if o.get("is_shared", True) else "address:" + (sender or DEFAULT_SENDER.hex())
        oid = chain.add_object(o["type_tag"], o["bcs_bytes"], owner, o["object_id"])
        if oid == CLOCK_ID:
            chain.now_ms = int.from_bytes(o["bcs_bytes"][32:40], "little")
            now_ms = chain.now_ms
        obj_args.append(Obj(oid))
    for parent, kids in (child_objects or {}).items():
        for c in kids:
            chain.add_object(c["type_tag"], c["bcs_bytes"], "object:" + address_bytes(parent).hex(), c["child_id"])
    rep = chain.call(module, function, list(obj_args) + list(args), type_args, sender=sender, now_ms=now_ms,
                     budget_units=budget_units)
    if sandbox:
        rep.sandbox_gas_used = sandbox_gas_used(chain, module, function, args, type_args, objects, child_objects)
    return rep


def sandbox_gas_used(chain: Chain, module: str, function: str, args: Sequence = (), type_args: Sequence = (),
                     objects: Sequence[dict] = (), child_objects: dict | None = None) -> int | None:
    """sui-sandbox's raw `gas_used` for the call (None when the sandbox cannot run it)."""
    import sui_sandbox

    from wafl_sui.devtools.vm import bcs_encode

    pure = [bytes(a) if isinstance(a, (bytes, bytearray)) else bcs_encode(a[0], a[1]) for a in args]
    pkg = {"0x0": [m.code for m in chain.package]}
    try:
        r = sui_sandbox.call_view_function(
            "0x0", module, function, type_args=[t if isinstance(t, str) else type_str(t) for t in type_args],
            package_bytecodes=pkg, fetch_deps=False, pure_inputs=pure, object_inputs=list(objects),
            child_objects=child_objects or None)
    except Exception:
        return None
    return r.get("gas_used") if r.get("success") else None
