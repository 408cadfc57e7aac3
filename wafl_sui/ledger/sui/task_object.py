"""The `Task` object and the package's events as Python values: BCS decoded (and encoded) by the
Move struct layouts compiled into the package, never by a hand-kept copy of them.

`MoveCodec(sigs)` reads and writes any value whose type the package (a `PackageSignatures`,
from our build or from the published package's bytecode) or the few framework structs it uses
(`FRAMEWORK_LAYOUTS`, checked against the framework bytecode by the tests) define. Values come
out JSON-like: integers as ints, `address` / `ID` / `UID` as `0x` + 64 hex, `String` as str,
`Option<T>` as the value or None, `vector<u8>` as bytes (hex strings in event fields), other
vectors as lists, structs as dicts by field name.

`task_view(fields, task_id)` maps the decoded `Task` struct to `base.TaskView`; `event(...)`
turns an event's BCS into `base.Event` with the field names of `move/sources/events.move`;
`dynamic_field_id` derives the id of a `Table` entry (an allowlist membership, an update).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import fields as dc_fields
from typing import Any

from wafl_sui.contract.signatures import MoveType, PackageSignatures, SignatureError
from wafl_sui.ledger.sui import bcs
from wafl_sui.ledger.sui.bcs import BcsError, BcsReader, normalize_address
from wafl_sui.ledger.sui.transactions import type_tag_bcs

A1 = normalize_address("0x1")
A2 = normalize_address("0x2")
UID = f"{A2}::object::UID"
ID = f"{A2}::object::ID"
STRING = f"{A1}::string::String"
ASCII = f"{A1}::ascii::String"
OPTION = f"{A1}::option::Option"

# Layouts of the framework structs our objects and events hold, as the framework declares them
# (tests/test_sui_ledger.py compares each with the framework bytecode in the sui-sandbox wheel).
FRAMEWORK_LAYOUTS: dict[str, tuple[tuple[str, str], ...]] = {
    UID: (("id", ID),),
    ID: (("bytes", "address"),),
    STRING: (("bytes", "vector<u8>"),),
    ASCII: (("bytes", "vector<u8>"),),
    OPTION: (("vec", "vector<T0>"),),
    f"{A2}::table::Table": (("id", UID), ("size", "u64")),
    f"{A2}::bag::Bag": (("id", UID), ("size", "u64")),
    f"{A2}::object_table::ObjectTable": (("id", UID), ("size", "u64")),
    f"{A2}::vec_set::VecSet": (("contents", "vector<T0>"),),
    f"{A2}::vec_map::VecMap": (("contents", f"vector<{A2}::vec_map::Entry<T0, T1>>"),),
    f"{A2}::vec_map::Entry": (("key", "T0"), ("value", "T1")),
    f"{A2}::balance::Balance": (("value", "u64"),),
    f"{A2}::coin::Coin": (("id", UID), ("balance", f"{A2}::balance::Balance<T0>")),
    f"{A2}::groth16::PreparedVerifyingKey": (
        ("vk_gamma_abc_g1_bytes", "vector<u8>"),
        ("alpha_g1_beta_g2_bytes", "vector<u8>"),
        ("gamma_g2_neg_pc_bytes", "vector<u8>"),
        ("delta_g2_neg_pc_bytes", "vector<u8>"),
    ),
    f"{A2}::package::UpgradeCap": (("id", UID), ("package", ID), ("version", "u64"), ("policy", "u8")),
}
_COLLAPSED = {UID, ID}  # shown as their address
_INT_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "u128": 128, "u256": 256}


class ObjectDecodeError(BcsError):
    """Object or event bytes do not decode with the package's struct layouts."""


def _parse_framework(text: str) -> MoveType:
    if text.startswith("T") and text[1:].isdigit():
        return MoveType("typeparam", index=int(text[1:]))
    if "<T" in text:  # vector<T0>, Balance<T0>, Entry<T0, T1>
        import re

        inner = re.sub(r"\bT(\d+)\b", r"0x0::__tp::P\1", text)
        return _untemplate(MoveType.parse(inner))
    return MoveType.parse(text)


def _untemplate(t: MoveType) -> MoveType:
    if t.kind == "datatype" and t.module == "__tp":
        return MoveType("typeparam", index=int(t.name[1:]))
    if t.kind in ("vector", "ref") and t.inner is not None:
        return MoveType(t.kind, _untemplate(t.inner), t.mutable)
    if t.kind == "datatype":
        return MoveType.datatype(t.address, t.module, t.name, [_untemplate(a) for a in t.type_args])
    return t


def _subst(t: MoveType, args: tuple[MoveType, ...]) -> MoveType:
    if t.kind == "typeparam":
        try:
            return args[t.index or 0]
        except IndexError:
            raise ObjectDecodeError(f"type parameter T{t.index} is not given") from None
    if t.kind in ("vector", "ref") and t.inner is not None:
        return MoveType(t.kind, _subst(t.inner, args), t.mutable)
    if t.kind == "datatype" and t.type_args:
        return MoveType.datatype(t.address, t.module, t.name, [_subst(a, args) for a in t.type_args])
    return t


class MoveCodec:
    """BCS of Move values by layout: the package's structs (any of its published ids maps to
    them), then the framework's (`FRAMEWORK_LAYOUTS`)."""

    def __init__(self, sigs: PackageSignatures, package_ids: tuple[str, ...] = ()):
        self.sigs = sigs
        self.package_ids = {normalize_address(p) for p in package_ids} | {normalize_address(sigs.address)}

    def fields_of(self, ty: MoveType) -> tuple[tuple[str, MoveType], ...]:
        tag = ty.struct_tag
        if tag is None:
            raise ObjectDecodeError(f"{ty} is not a struct")
        if ty.address in self.package_ids and ty.module in self.sigs.modules:
            try:
                layout = self.sigs.struct(ty.module, ty.name)
            except SignatureError as exc:
                raise ObjectDecodeError(str(exc)) from None
            if layout.fields is None:
                raise ObjectDecodeError(f"{tag} is a native struct")
            return tuple((n, _subst(t, ty.type_args)) for n, t in layout.fields)
        if tag in FRAMEWORK_LAYOUTS:
            return tuple((n, _subst(_parse_framework(t), ty.type_args)) for n, t in FRAMEWORK_LAYOUTS[tag])
        dep = self.sigs.layout(tag)
        if dep is not None and dep.fields is not None:
            return tuple((n, _subst(t, ty.type_args)) for n, t in dep.fields)
        raise ObjectDecodeError(f"no layout known for {tag}")

    # --- decoding
    def decode(self, ty: MoveType | str, data: bytes) -> Any:
        ty = MoveType.parse(ty) if isinstance(ty, str) else ty
        r = BcsReader(data)
        try:
            value = self.read(ty, r)
            r.done()
        except BcsError as exc:
            raise ObjectDecodeError(f"{ty}: {exc}") from None
        return value

    def read(self, ty: MoveType, r: BcsReader) -> Any:
        k = ty.kind
        if k in _INT_BITS:
            return getattr(r, k)()
        if k == "bool":
            return r.boolean()
        if k == "address":
            return r.address()
        if k == "vector":
            assert ty.inner is not None
            if ty.inner.kind == "u8":
                return r.byte_vector()
            return r.vector(lambda rr: self.read(ty.inner, rr))  # type: ignore[arg-type]
        if k != "datatype":
            raise ObjectDecodeError(f"{ty} has no BCS value")
        tag = ty.struct_tag
        if tag in _COLLAPSED:
            return r.address()
        if tag in (STRING, ASCII):
            return r.string()
        if tag == OPTION:
            n = r.uleb128()
            if n > 1:
                raise ObjectDecodeError(f"an Option holds {n} values")
            return self.read(ty.type_args[0], r) if n else None
        return {name: self.read(ft, r) for name, ft in self.fields_of(ty)}

    # --- encoding
    def encode(self, ty: MoveType | str, value: Any) -> bytes:
        ty = MoveType.parse(ty) if isinstance(ty, str) else ty
        k = ty.kind
        if k in _INT_BITS:
            return getattr(bcs, k)(int(value))
        if k == "bool":
            return bcs.boolean(bool(value))
        if k == "address":
            return bcs.address(value)
        if k == "vector":
            assert ty.inner is not None
            if ty.inner.kind == "u8":  # bytes, a list of ints, or hex (as event fields carry it)
                return bcs.byte_vector(bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value))
            return bcs.vector(list(value), lambda v: self.encode(ty.inner, v))  # type: ignore[arg-type]
        if k != "datatype":
            raise ObjectDecodeError(f"{ty} has no BCS value")
        tag = ty.struct_tag
        if tag in _COLLAPSED:
            return bcs.address(value)
        if tag in (STRING, ASCII):
            return bcs.string(value)
        if tag == OPTION:
            return bcs.option(value, lambda v: self.encode(ty.type_args[0], v))
        if not isinstance(value, Mapping):
            raise ObjectDecodeError(f"{tag} needs a dict of its fields, got {type(value).__name__}")
        out = b""
        for name, ft in self.fields_of(ty):
            if name not in value:
                raise ObjectDecodeError(f"{tag} needs field {name!r}")
            out += self.encode(ft, value[name])
        return out


def struct_type(tag: str) -> MoveType:
    """`0xpkg::module::Name` (or with type arguments) as a MoveType."""
    return MoveType.parse(tag)


def json_safe(value: Any) -> Any:
    """Event field values for JSON: bytes as 0x-hex, the rest as decoded."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


# --- the Task -------------------------------------------------------------------------------

_MISSING = object()


def _get(fields: Mapping[str, Any], *paths: str, default: Any = _MISSING) -> Any:
    """The first of `paths` ("a" or "a.b") present in `fields`."""
    for path in paths:
        cur: Any = fields
        ok = True
        for part in path.split("."):
            if isinstance(cur, Mapping) and part in cur:
                cur = cur[part]
            else:
                ok = False
                break
        if ok:
            return cur
    if default is _MISSING:
        raise ObjectDecodeError(f"the Task object has none of the fields {', '.join(paths)}")
    return default


def _dataclass_from(cls: type, source: Mapping[str, Any], flat: Mapping[str, Any] | None = None) -> Any:
    names = [f.name for f in dc_fields(cls)]
    kwargs = {}
    for n in names:
        if n in source:
            kwargs[n] = source[n]
        elif flat is not None and n in flat:
            kwargs[n] = flat[n]
    return cls(**kwargs)


def prepared_vk(value: Mapping[str, Any]) -> Any:
    """`sui::groth16::PreparedVerifyingKey` fields -> `zk.sui_bytes.PreparedVerifyingKey`."""
    from wafl_sui.zk.sui_bytes import PreparedVerifyingKey

    return PreparedVerifyingKey(
        vk_gamma_abc_g1=bytes(value["vk_gamma_abc_g1_bytes"]),
        alpha_g1_beta_g2=bytes(value["alpha_g1_beta_g2_bytes"]),
        gamma_g2_neg_pc=bytes(value["gamma_g2_neg_pc_bytes"]),
        delta_g2_neg_pc=bytes(value["delta_g2_neg_pc_bytes"]),
    )


def prepared_vk_fields(pvk: Any) -> dict[str, bytes]:
    """The inverse of `prepared_vk` (for encoding a Task)."""
    return {
        "vk_gamma_abc_g1_bytes": pvk.vk_gamma_abc_g1,
        "alpha_g1_beta_g2_bytes": pvk.alpha_g1_beta_g2,
        "gamma_g2_neg_pc_bytes": pvk.gamma_g2_neg_pc,
        "delta_g2_neg_pc_bytes": pvk.delta_g2_neg_pc,
    }


def task_view(fields: Mapping[str, Any], task_id: str | None = None, name: str | None = None) -> Any:
    """`base.TaskView` of a decoded `Task` struct. Nested parts (spec, round rules, aggregation
    rule) are read from their struct fields, or from flat fields of the same names."""
    from wafl_sui.ledger.base import TaskView
    from wafl_sui.protocol import AggregationRule, RoundRules, StepSpec

    spec = _dataclass_from(StepSpec, _get(fields, "spec"))
    rr_src = _get(fields, "round_rules", "rules", default={})
    round_rules = _dataclass_from(RoundRules, rr_src, fields)
    agg_src = _get(fields, "aggregation", "aggregation_rule", default={})
    aggregation = _dataclass_from(AggregationRule, agg_src, fields)
    tid = task_id or _get(fields, "id")
    return TaskView(
        task_id=normalize_address(tid),
        spec=spec,
        lr_q=int(_get(fields, "lr_q")),
        round_rules=round_rules,
        aggregation=aggregation,
        open=bool(_get(fields, "open")),
        round=int(_get(fields, "round")),
        round_start_ms=int(_get(fields, "round_start_ms")),
        deadline_ms=int(_get(fields, "deadline_ms")),
        model=tuple(int(v) for v in _get(fields, "model")),
        model_commitment=int(_get(fields, "model_commitment")),
        submitters=tuple(normalize_address(a) for a in _get(fields, "submitters")),
        finished=bool(_get(fields, "finished")),
        created_ms=int(_get(fields, "created_ms")),
        version=int(_get(fields, "version", default=1)),
        prepared_vk=prepared_vk(_get(fields, "vk", "prepared_vk")),
        # task::aggregation_done / aggregation_total: coordinates aggregated so far (the
        # `partial` model of a robust rule) out of the model's
        aggregation_done=len(_get(fields, "partial", default=())),
        aggregation_total=len(_get(fields, "model")),
        name=name,
        deposit_mist=int(_get(fields, "deposit_mist", default=0)),
        registered=tuple(normalize_address(a) for a in _get(fields, "registered", default=())),
        round_open=bool(_get(fields, "round_open", default=False)),
        sampled=tuple(normalize_address(a) for a in _get(fields, "sampled", default=())),
        randomness=bytes(int(b) for b in _get(fields, "randomness", default=())),
    )


def table_id(fields: Mapping[str, Any], name: str) -> str:
    """The object id of a `Table` field of a decoded struct (its dynamic fields hang off it)."""
    t = _get(fields, name)
    if not isinstance(t, Mapping) or "id" not in t:
        raise ObjectDecodeError(f"field {name} is not a Table")
    return normalize_address(t["id"])


def dynamic_field_id(parent: str, key_type: str, key_bcs: bytes) -> str:
    """The object id of the dynamic field `key` of object `parent` (a `Table` entry):
    Blake2b-256(0xf0 || parent || len(key) as u64 LE || key || BCS type tag of the key)."""
    h = hashlib.blake2b(digest_size=32)
    h.update(b"\xf0")
    h.update(bcs.address(parent))
    h.update(len(key_bcs).to_bytes(8, "little"))
    h.update(bytes(key_bcs))
    h.update(type_tag_bcs(key_type))
    return "0x" + h.hexdigest()


# --- events -----------------------------------------------------------------------------------


def event_name(event_type: str) -> str:
    """`0xpkg::events::UpdateAccepted` -> `UpdateAccepted`."""
    return event_type.split("<")[0].split("::")[-1]


def decode_event(codec: MoveCodec, event_type: str, contents: bytes) -> dict[str, Any]:
    """The fields of one event, JSON-safe, by the layout of its struct."""
    return json_safe(codec.decode(struct_type(event_type), contents))
