"""TaskState <-> JSON text: a lossless, type-exact encoding of the protocol's immutable state.

The ledger stores whatever `wafl_sui.protocol.task.TaskState` holds without knowing its fields,
so a field added to the protocol is stored with no change here. JSON keeps ints exact (any
size); the other types are tagged:

    bytes     {"$b": "<hex>"}             tuple      {"$t": [...]}
    frozenset {"$fs": [...]} (sorted)     set        {"$s": [...]} (sorted)
    dict      {"$d": [[k, v], ...]}       dataclass  {"$dc": "module:Qualname", "f": {...}}
    lists, str, bool, int, float, None as themselves

Only the record types a task state is made of (`RECORD_TYPES`: TaskState, StepSpec, RoundRules,
AggregationRule, PreparedVerifyingKey, DpParams, PrivateRegistration) are stored and rebuilt, through their constructors (so
their own validation runs again); a stored state that names any other class is refused, never
imported or instantiated (a crafted ledger file cannot make `wafl task show` build arbitrary
objects). `STATE_FORMAT` names this encoding; a stored state with fields the running protocol
does not know is refused with a clear error rather than silently dropped.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from wafl_sui.ledger.base import LedgerError

STATE_FORMAT = 1


class StateCodecError(LedgerError):
    """A task state that cannot be stored, or stored bytes that do not decode to a state."""


def _record_types() -> dict[str, type]:
    from wafl_sui import protocol
    from wafl_sui.protocol import AggregationRule, RoundRules, StepSpec, TaskState
    from wafl_sui.zk.sui_bytes import PreparedVerifyingKey

    return {f"{c.__module__}:{c.__qualname__}": c
            for c in (TaskState, StepSpec, RoundRules, AggregationRule, PreparedVerifyingKey, protocol.privacy.DpParams,
                      protocol.task.PrivateRegistration)}


RECORD_TYPES: dict[str, type] = {}


def record_types() -> dict[str, type]:
    """The classes a stored task state may name ("module:Qualname" -> class)."""
    if not RECORD_TYPES:
        RECORD_TYPES.update(_record_types())
    return RECORD_TYPES


def _sort_key(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def to_jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, (bool, str)):
        return obj
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
        ref = f"{cls.__module__}:{cls.__qualname__}"
        if record_types().get(ref) is not cls:
            raise StateCodecError(f"cannot store a {cls.__module__}.{cls.__qualname__} (not a record type of a task state)")
        return {
            "$dc": ref,
            "f": {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init},
        }
    raise StateCodecError(f"cannot store a value of type {type(obj).__module__}.{type(obj).__qualname__}")


def _class(ref: Any) -> type:
    cls = record_types().get(ref) if isinstance(ref, str) else None
    if cls is None:
        raise StateCodecError(f"stored state names the type {str(ref)[:80]!r}, which is not a record type of a task state")
    return cls


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
    if set(v) == {"$dc", "f"}:
        cls = _class(v["$dc"])
        if not isinstance(v["f"], dict):
            raise StateCodecError(f"stored {cls.__qualname__} has no field object")
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
