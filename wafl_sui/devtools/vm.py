"""Run pure functions of the built WaFL Move package in the Sui Move VM (sui-sandbox), offline.

`MoveVM(build).call("spec", "new", [("u64", 64), ...])` calls a public function; the package's inner
(`public(package)`) functions are reached through the `wafl::parity_*` wrappers of the harness
build (`wafl_sui/devtools/harness.py`, never published): `vm.inner("rules", "median",
[("vector<vector<u32>>", updates)])` calls `parity_rules::median`. A call BCS-encodes the
arguments, executes with `sui_sandbox.call_view_function(..., package_bytecodes=...,
fetch_deps=False)` against the framework bytecode bundled in the wheel, and decodes the
return values from their type tags. An abort raises `MoveAbort` with the error constant's
*name*, decoded from the clever-error abort code (`#[error]` constants):

    bit 63 tag | 15 reserved | 16 source line | 16 identifier index | 16 constant index

Both indices point into the aborting module's constant pool: the "identifier" constant holds
the constant's name as bytes, the other its message; the name is read from that bytecode.

Limits of the sandbox (see docs/MOVE.md): no object effects or events come back, dynamic
fields do not persist between calls, and `sui::poseidon` / `sui::groth16` cannot be called.
That is why the package keeps packing, validation and aggregation in pure modules.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Iterable, Sequence

from wafl_sui.errors import WaflError
from wafl_sui.contract.build import MoveBuild
from wafl_sui.contract.bytecode import error_constant_names, module_name
from wafl_sui.contract import leb128
from wafl_sui.protocol import address_bytes

PACKAGE_ID = "0x0"
_INT_BYTES = {"u8": 1, "u16": 2, "u32": 4, "u64": 8, "u128": 16, "u256": 32}
CLEVER_TAG = 1 << 63


class MoveAbort(Exception):
    """A Move abort: `module`, raw `code`, and `name` of the error constant (None if unknown)."""

    def __init__(self, module: str, code: int, name: str | None, line: int | None, raw: str):
        super().__init__(f"{module}::{name or code} (line {line}) : {raw[:200]}")
        self.module, self.code, self.name, self.line, self.raw = module, code, name, line, raw


class MoveVMError(WaflError, RuntimeError):
    """The call failed for another reason than an abort (bad types, missing function, VM error)."""


# ---------------------------------------------------------------- BCS


def _inner(ty: str) -> str:
    m = re.fullmatch(r"vector<(.+)>", ty.strip())
    if not m:
        raise MoveVMError(f"unsupported type {ty}")
    return m.group(1).strip()


def bcs_encode(ty: str, value: Any) -> bytes:
    """BCS of `value` as Move type `ty`; ty "raw" passes already-encoded bytes (e.g. a struct)."""
    ty = ty.strip()
    if ty == "raw":
        return bytes(value)
    if ty in _INT_BYTES:
        v = int(value)
        if not 0 <= v < 1 << (8 * _INT_BYTES[ty]):
            raise MoveVMError(f"{value} does not fit {ty}")
        return v.to_bytes(_INT_BYTES[ty], "little")
    if ty == "bool":
        return b"\x01" if value else b"\x00"
    if ty == "address":
        if isinstance(value, str):
            value = address_bytes(value)
        if len(value) != 32:
            raise MoveVMError("an address has 32 bytes")
        return bytes(value)
    inner = _inner(ty)
    if inner == "u8" and isinstance(value, (bytes, bytearray)):
        return leb128.encode(len(value)) + bytes(value)
    items = list(value)
    return leb128.encode(len(items)) + b"".join(bcs_encode(inner, x) for x in items)


def bcs_decode(ty: str, data: bytes, i: int = 0) -> tuple[Any, int]:
    ty = ty.strip()
    if ty in _INT_BYTES:
        n = _INT_BYTES[ty]
        return int.from_bytes(data[i : i + n], "little"), i + n
    if ty == "bool":
        return data[i] == 1, i + 1
    if ty == "address":
        return "0x" + data[i : i + 32].hex(), i + 32
    inner = _inner(ty)
    n, i = leb128.decode(data, i)
    if inner == "u8":
        return bytes(data[i : i + n]), i + n
    out = []
    for _ in range(n):
        v, i = bcs_decode(inner, data, i)
        out.append(v)
    return out, i


def _decode_result(ty: str, raw: bytes) -> Any:
    """A return value: decoded for primitives and vectors of them, the raw BCS for a struct."""
    return raw if "::" in ty else bcs_decode(ty, raw)[0]


def abort_module(error: str) -> str | None:
    """The module an abort happened in, from the VM error text (its `location`)."""
    m = re.search(r'location: Module\(ModuleId \{[^}]*name: Identifier\("(\w+)"\)', error)
    if m:
        return m.group(1)
    m = re.search(r'message: Some\("0x[0-9a-f]+::(\w+)::', error)
    return m.group(1) if m else None


# ---------------------------------------------------------------- the VM
class MoveVM:
    """The compiled package loaded once; `call` runs one function in a fresh VM session."""

    _shared: "MoveVM | None" = None

    @classmethod
    def shared(cls) -> "MoveVM":
        """One harness build of move/ per process (tests reuse it)."""
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def __init__(self, build: MoveBuild | None = None):
        if build is None:
            from wafl_sui.devtools.harness import build_harness

            build = build_harness()
        self.build = build
        self._code = self.build.module_bytes()
        self._names = {module_name(c): error_constant_names(c) for c in self._code}
        self._pkg = {PACKAGE_ID: self._code}
        self.last_gas_used: int | None = None  # sui-sandbox's gas_used of the last call

    def error_name(self, module: str, code: int) -> tuple[str | None, int | None]:
        """(constant name, source line) of a clever-error abort code raised in `module`."""
        if not code & CLEVER_TAG:
            return None, None
        ident = (code >> 16) & 0xFFFF
        line = (code >> 32) & 0xFFFF
        return self._names.get(module, {}).get(ident), line

    def call(self, module: str, function: str, args: Iterable[tuple[str, Any]] = ()) -> list[Any]:
        """Call `module::function` with (type, value) arguments; return the decoded results."""
        import sui_sandbox

        pure = [bcs_encode(t, v) for t, v in args]
        r = sui_sandbox.call_view_function(
            PACKAGE_ID, module, function, package_bytecodes=self._pkg, fetch_deps=False, pure_inputs=pure
        )
        self.last_gas_used = r.get("gas_used")
        if not r.get("success"):
            err = r.get("error") or ""
            m = re.search(r"major_status: ABORTED, sub_status: Some\((\d+)\)", err)
            if m:
                code = int(m.group(1))
                mod = abort_module(err) or module
                name, line = self.error_name(mod, code)
                raise MoveAbort(mod, code, name, line, err)
            raise MoveVMError(f"{module}::{function} failed: {err[:500]}")
        values = r.get("return_values") or []
        tags = r.get("return_type_tags") or []
        if not values:
            return []
        vals, types = values[0], tags[0]
        return [_decode_result(t, base64.b64decode(v)) for t, v in zip(types, vals)]

    def inner(self, module: str, function: str, args: Iterable[tuple[str, Any]] = ()) -> list[Any]:
        """Call the package-internal `module::function` through its `parity_<module>::<function>`
        wrapper (harness builds only)."""
        return self.call(f"parity_{module}", function, args)

    def inner1(self, module: str, function: str, args: Sequence[tuple[str, Any]] = ()) -> Any:
        """`inner` for a function with exactly one return value."""
        out = self.inner(module, function, args)
        if len(out) != 1:
            raise MoveVMError(f"{module}::{function} returned {len(out)} values, expected 1")
        return out[0]

    def call1(self, module: str, function: str, args: Sequence[tuple[str, Any]] = ()) -> Any:
        """`call` for a function with exactly one return value."""
        out = self.call(module, function, args)
        if len(out) != 1:
            raise MoveVMError(f"{module}::{function} returned {len(out)} values, expected 1")
        return out[0]

    def abort_name(self, module: str, function: str, args: Sequence[tuple[str, Any]] = ()) -> str | None:
        """None if the call succeeds, else the name of the error constant it aborted with."""
        try:
            self.call(module, function, args)
        except MoveAbort as e:
            return e.name or f"<abort {e.code}>"
        return None


def encode_spec(spec) -> bytes:
    """BCS of a `wafl::spec::StepSpec` (field order of the Move struct = protocol.StepSpec); a
    dict may leave out the architecture fields (a linear spec's JSON does): their defaults."""
    from wafl_sui.protocol import StepSpec

    names = ("features", "classes", "batch_size", "local_steps", "frac_bits", "weight_bits",
             "feature_frac_bits", "feature_bits", "lr_frac_bits", "lr_bits")
    defaults = StepSpec()
    if isinstance(spec, dict):
        get = lambda n: spec.get(n, getattr(defaults, n))  # noqa: E731
    else:
        get = lambda n: getattr(spec, n)  # noqa: E731
    return (b"".join(bcs_encode("u64", get(n)) for n in names)
            + bcs_encode("vector<u64>", list(get("hidden")))
            + bcs_encode("u64", get("act_frac_bits")) + bcs_encode("u64", get("act_bits")))


def encode_round_rules(rules) -> bytes:
    """BCS of a `wafl::round::RoundRules` (field order of protocol.RoundRules)."""
    return b"".join(bcs_encode("u64", getattr(rules, n)) for n in ("quorum", "round_duration_ms", "max_rounds", "grace_ms",
                                                                   "participants_per_round"))


def encode_aggregation(aggregation) -> bytes:
    """BCS of a `wafl::rules::AggregationRule` (rule: u8, trim_bps: u64)."""
    return bcs_encode("u8", aggregation.rule) + bcs_encode("u64", aggregation.trim_bps)
