"""Runtime types of the interpreter, as hashable tuples: a primitive name ("u64", "address", ...),
("vec", element), ("ref", t) / ("mut", t), or ("S", address bytes, module, name, (type args...))
for a struct or enum. Their Move text, parsing that text, their BCS type tags, and sizes."""

from __future__ import annotations

from wafl_sui.contract import leb128
from wafl_sui.devtools.gas.errors import GasError
from wafl_sui.protocol import codec

#: Bytes of one element of a vector of primitives (`size_of_val` in the VM's size visitor).
PRIM_WIDTH = {"bool": 1, "u8": 1, "u16": 2, "u32": 4, "u64": 8, "u128": 16, "u256": 32, "address": 32, "signer": 32}


def address_bytes(a) -> bytes:
    """A 32-byte address from (possibly short) bytes or 0x-hex text (`protocol.codec.address_bytes`)."""
    if isinstance(a, (bytes, bytearray)):
        return bytes(a).rjust(32, b"\x00")
    return codec.address_bytes(a)


def type_str(ty) -> str:
    """A runtime type as Move source text (addresses short)."""
    if type(ty) is str:
        return ty
    if ty[0] == "vec":
        return f"vector<{type_str(ty[1])}>"
    if ty[0] in ("ref", "mut"):
        return ("&" if ty[0] == "ref" else "&mut ") + type_str(ty[1])
    a = "0x" + (ty[1].hex().lstrip("0") or "0")
    args = f"<{','.join(type_str(t) for t in ty[4])}>" if ty[4] else ""
    return f"{a}::{ty[2]}::{ty[3]}{args}"


_TAG = {"bool": 0, "u8": 1, "u64": 2, "u128": 3, "address": 4, "signer": 5, "u16": 8, "u32": 9, "u256": 10}


def struct_tag_bcs(ty) -> bytes:
    out = bytearray(ty[1])
    for s in (ty[2], ty[3]):
        b = s.encode()
        out += leb128.encode(len(b)) + b
    out += leb128.encode(len(ty[4]))
    for t in ty[4]:
        out += type_tag_bcs(t)
    return bytes(out)


def type_tag_bcs(ty) -> bytes:
    if type(ty) is str:
        return bytes([_TAG[ty]])
    if ty[0] == "vec":
        return b"\x06" + type_tag_bcs(ty[1])
    return b"\x07" + struct_tag_bcs(ty)


def tag_abstract_size(ty) -> int:
    """Approximation of `TypeTag::abstract_size_for_gas_metering` (bytes of the tag)."""
    return len(type_tag_bcs(ty))


def parse_type(s: str):
    """A Move type string (`u64`, `vector<u8>`, `0x2::dynamic_field::Field<address,vector<u32>>`)
    as a runtime type."""
    s = s.replace(" ", "")
    ty, i = _parse_type(s, 0)
    if i != len(s):
        raise GasError(f"bad type {s!r}")
    return ty


def _parse_type(s: str, i: int):
    j = i
    while j < len(s) and s[j] not in "<>,":
        j += 1
    head = s[i:j]
    args = []
    if j < len(s) and s[j] == "<":
        j += 1
        while True:
            t, j = _parse_type(s, j)
            args.append(t)
            if s[j] == ",":
                j += 1
                continue
            if s[j] == ">":
                j += 1
                break
            raise GasError(f"bad type {s!r}")
    if head == "vector":
        return ("vec", args[0]), j
    if head in PRIM_WIDTH:
        return head, j
    parts = head.split("::")
    if len(parts) != 3:
        raise GasError(f"bad type {head!r}")
    return ("S", address_bytes(parts[0]), parts[1], parts[2], tuple(args)), j


def type_node_size(ty) -> int:
    """`Type::size()` (legacy: 1 per node, used by natives' per-type charges)."""
    if type(ty) is str:
        return 1
    if ty[0] == "vec":
        return 1 + type_node_size(ty[1])
    return 1 + sum(type_node_size(t) for t in ty[4])
