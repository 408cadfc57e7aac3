"""Move abort codes -> our error names.

A Move 2024 `#[error]` constant aborts with a "clever" u64 code (Sui's `ErrorBitset`):

    bits 63..60  version: 0b1000 (v0) or 0b1100 (v1)     bits 47..32  source line number
    bits 55..48  v1: the `#[error(code = n)]` code       bits 31..16  "identifier index" (the name)
    bits 15..0   constant index (the value)              0xffff / 0xff = unavailable

Both indices are into the aborting module's *constant pool*: the compiler stores the constant's
name as a `vector<u8>` constant next to its value (the Move book calls the first an identifier
index; Sui's own resolver, `resolve_clever_error`, and our compiled package agree it is a
constant-pool index). Decoding therefore needs that module's bytecode (our build, or fetched
from the chain); the reader is the project's (`wafl_sui.contract.bytecode`), imported lazily. A
node may decode it for us (gRPC `MoveAbort.clever_error`); `abort_from_grpc` uses that first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_TAG_VERSIONS = {0b1000: 0, 0b1100: 1}
_U16_NA = 0xFFFF
_U8_NA = 0xFF


@dataclass(frozen=True)
class CleverCode:
    version: int
    error_code: int | None
    line_number: int | None
    identifier_index: int | None
    constant_index: int | None


def parse_clever_code(code: int) -> CleverCode | None:
    """The fields of a clever abort code, or None for a plain numeric abort code."""
    if not 0 <= code < 1 << 64:
        raise ValueError(f"abort code {code} is not a u64")
    version = _TAG_VERSIONS.get(code >> 60)
    if version is None:
        return None

    def u16(shift: int) -> int | None:
        v = (code >> shift) & 0xFFFF
        return None if v == _U16_NA else v

    err = (code >> 48) & 0xFF
    return CleverCode(
        version=version,
        error_code=None if version == 0 or err == _U8_NA else err,
        line_number=u16(32),
        identifier_index=u16(16),
        constant_index=u16(0),
    )


@dataclass(frozen=True)
class MoveAbortInfo:
    """A decoded abort: `name` is the `#[error]` constant's name (e.g. "EInvalidProof") when known."""

    code: int
    module: str | None = None
    function: str | None = None
    package: str | None = None
    name: str | None = None
    message: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = "::".join(x for x in (self.module, self.function) if x) or "an unknown module"
        line = f" (line {self.line})" if self.line is not None else ""
        if self.name:
            return f"{self.name} in {where}{line}" + (f": {self.message}" if self.message else "")
        return f"Move abort code {self.code} in {where}{line}"


def _reader() -> Any:
    """The project's one compiled-module reader (error_constant_names, module_name)."""
    from wafl_sui.contract import bytecode

    return bytecode


def decode_clever(code: int, module_bytes: bytes) -> tuple[str | None, str | None, int | None]:
    """(constant name, message text, line) of a clever code raised by the module `module_bytes`.
    Indices outside the module's constant pool, or not at a `vector<u8>` constant (a different
    build, or a non-text value), come back as None."""
    clever = parse_clever_code(code)
    if clever is None:
        return None, None, None
    texts = _reader().error_constant_names(module_bytes)  # {constant index: text} of vector<u8> constants
    name = texts.get(clever.identifier_index) if clever.identifier_index is not None else None
    message = texts.get(clever.constant_index) if clever.constant_index is not None else None
    return name, message, clever.line_number


def _module_name(code: bytes) -> str | None:
    try:
        return _reader().module_name(code)
    except (AttributeError, ValueError, KeyError, IndexError):
        return None


def decode_abort(
    code: int,
    module: str | None,
    modules: Mapping[str, bytes] | Iterable[bytes] = (),
    *,
    function: str | None = None,
    package: str | None = None,
) -> MoveAbortInfo:
    """Decode an abort raised in `module`, with the package's compiled modules (by name, or a
    list whose names are read from the bytecode)."""
    by_name = dict(modules) if isinstance(modules, Mapping) else {}
    if not isinstance(modules, Mapping):
        for m in modules:
            n = _module_name(m)
            if n:
                by_name[n] = m
    name = message = line = None
    if module is not None and module in by_name:
        name, message, line = decode_clever(code, by_name[module])
    elif (clever := parse_clever_code(code)) is not None:
        line = clever.line_number
    return MoveAbortInfo(code, module, function, package, name, message, line)


def abort_from_grpc(abort: Any, modules: Mapping[str, bytes] | Iterable[bytes] = ()) -> MoveAbortInfo:
    """From a pysui gRPC `MoveAbort` message: the node's clever-error decoding if it sent one,
    else our own from `modules`."""
    loc = getattr(abort, "location", None)
    module = getattr(loc, "module", None) or None
    function = getattr(loc, "function_name", None) or None
    package = getattr(loc, "package", None) or None
    code = int(getattr(abort, "abort_code", 0) or 0)
    clever = getattr(abort, "clever_error", None)
    if clever is not None and getattr(clever, "constant_name", None):
        message = getattr(clever, "rendered", None)
        if message and message.startswith('"') and message.endswith('"'):
            message = message[1:-1]
        return MoveAbortInfo(
            code, module, function, package, clever.constant_name, message, clever.line_number
        )
    return decode_abort(code, module, modules, function=function, package=package)


def to_protocol_error(info: MoveAbortInfo) -> Exception | None:
    """A `ProtocolError` for an abort whose name is one of the protocol's error names, else None."""
    if not info.name:
        return None
    try:
        from wafl_sui.protocol import ERRORS, ProtocolError
    except ImportError:
        return None
    if info.name not in ERRORS:
        return None
    return ProtocolError(info.name, info.message or str(info))
