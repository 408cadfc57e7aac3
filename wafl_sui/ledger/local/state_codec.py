"""TaskState <-> JSON text: a lossless, type-exact encoding of the protocol's immutable state.

The ledger stores whatever `wafl_sui.protocol.task.TaskState` holds without knowing its fields,
so a field added to the protocol is stored with no change here. JSON keeps ints exact (any
size); the other types are tagged:

    bytes     {"$b": "<hex>"}             tuple      {"$t": [...]}
    frozenset {"$fs": [...]} (sorted)     set        {"$s": [...]} (sorted)
    dict      {"$d": [[k, v], ...]}       dataclass  {"$dc": "module:Qualname", "f": {...}}
    lists, str, bool, int, float, None as themselves

Only dataclasses of `wafl_sui` modules are rebuilt (through their constructors, so their own
validation runs again). `STATE_FORMAT` names this encoding; a stored state with fields the
running protocol does not know is refused with a clear error rather than silently dropped.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import json
from typing import Any

from wafl_sui.ledger.base import LedgerError

STATE_FORMAT = 1


class StateCodecError(LedgerError):
    """A task state that cannot be stored, or stored bytes that do not decode to a state."""


def _sort_key(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def to_jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, enum.Enum):
        return {"$e": f"{type(obj).__module__}:{type(obj).__qualname__}", "v": to_jsonable(obj.value)}
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            raise StateCodecError(f"cannot store the non-finite float {obj!r}")
        return obj
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"$b": bytes(obj).hex()}
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return {"$t": [to_jsonable(v) for v in obj]}
    if isinstance(obj, list):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, frozenset):
        return {"$fs": sorted((to_jsonable(v) for v in obj), key=_sort_key)}
    if isinstance(obj, set):
        return {"$s": sorted((to_jsonable(v) for v in obj), key=_sort_key)}
    if isinstance(obj, dict):
        return {"$d": [[to_jsonable(k), to_jsonable(v)] for k, v in obj.items()]}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        if not cls.__module__.startswith("wafl_sui."):
            raise StateCodecError(f"cannot store a {cls.__module__}.{cls.__qualname__} (not a wafl_sui dataclass)")
        return {
            "$dc": f"{cls.__module__}:{cls.__qualname__}",
            "f": {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init},
        }
    raise StateCodecError(f"cannot store a value of type {type(obj).__module__}.{type(obj).__qualname__}")


def _class(ref: str) -> type:
    mod, _, qual = ref.partition(":")
    if not mod.startswith("wafl_sui.") or not qual:
        raise StateCodecError(f"stored state names the class {ref!r}, which is not a wafl_sui class")
    try:
        obj: Any = importlib.import_module(mod)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise StateCodecError(f"stored state names the class {ref!r}, which this WaFL does not have") from None
    if not isinstance(obj, type):
        raise StateCodecError(f"stored state names {ref!r}, which is not a class")
    return obj


def from_jsonable(v: Any) -> Any:
    if isinstance(v, list):
        return [from_jsonable(x) for x in v]
    if not isinstance(v, dict):
        return v
    if len(v) == 1:
        ((tag, body),) = v.items()
        if tag == "$b":
            return bytes.fromhex(body)
        if tag == "$t":
            return tuple(from_jsonable(x) for x in body)
        if tag == "$fs":
            return frozenset(from_jsonable(x) for x in body)
        if tag == "$s":
            return set(from_jsonable(x) for x in body)
        if tag == "$d":
            return {_hashable(from_jsonable(k)): from_jsonable(x) for k, x in body}
    if set(v) == {"$e", "v"}:
        return _class(v["$e"])(from_jsonable(v["v"]))
    if set(v) == {"$dc", "f"}:
        cls = _class(v["$dc"])
        if not dataclasses.is_dataclass(cls):
            raise StateCodecError(f"stored state names {v['$dc']}, which is not a dataclass here")
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(v["f"]) - known)
        if unknown:
            raise StateCodecError(
                f"the stored {cls.__qualname__} has fields {unknown} that this WaFL does not know: the ledger "
                "was written by a newer WaFL; upgrade WaFL to read it"
            )
        return cls(**{k: from_jsonable(x) for k, x in v["f"].items()})
    raise StateCodecError(f"stored state holds an untagged object {sorted(v)[:5]}")


def _hashable(k: Any) -> Any:
    return tuple(_hashable(x) for x in k) if isinstance(k, list) else k


def dumps(state: Any) -> str:
    return json.dumps(to_jsonable(state), separators=(",", ":"), allow_nan=False)


def loads(text: str | bytes) -> Any:
    try:
        return from_jsonable(json.loads(text))
    except StateCodecError:
        raise
    except (ValueError, TypeError, KeyError) as e:  # includes ProtocolError (a ValueError) from constructors
        raise StateCodecError(f"a stored task state does not decode: {e}") from None
