"""`CompiledModule`: the header and table directory of one compiled module, and each table
decoded on first use into the records of `records`; `Cursor` and `read_token`, the reading of
one table front to back."""

from __future__ import annotations

from functools import cached_property
from typing import Callable, TypeVar

from wafl_sui.contract import leb128
from wafl_sui.contract.bytecode.fileformat import (
    ADDRESS_IDENTIFIERS,
    CONSTANT_POOL,
    DATATYPE,
    DATATYPE_HANDLES,
    DATATYPE_INST,
    DECLARED_STRUCT,
    ENUM_DEFINITIONS,
    ENUM_INSTANTIATIONS,
    FIELD_HANDLES,
    FIELD_INSTANTIATIONS,
    FRIEND_DECLARATIONS,
    FUNCTION_DEFINITIONS,
    FUNCTION_HANDLES,
    FUNCTION_INSTANTIATIONS,
    IDENTIFIERS,
    JUMP_TABLE_FULL,
    MAGIC,
    MODULE_HANDLES,
    MUTABLE_REFERENCE,
    NATIVE_FLAG,
    NATIVE_STRUCT,
    OPCODES,
    OPERAND_WIDTH,
    PRIMITIVE_TOKENS,
    REFERENCE,
    SIGNATURES,
    STRUCT_DEFINITIONS,
    STRUCT_INSTANTIATIONS,
    TYPE_PARAMETER,
    VARIANT_HANDLES,
    VARIANT_INSTANTIATIONS,
    VECTOR_TOKEN,
    Token,
)
from wafl_sui.contract.bytecode import records

R = TypeVar("R")


class BytecodeError(ValueError):
    """The bytes cannot be read as a compiled Move module."""


class Cursor:
    """Reads one table (or the header) front to back."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str, pos: int = 0):
        self.data, self.pos, self.what = data, pos, what

    def _short(self) -> BytecodeError:
        return BytecodeError(f"{self.what}: table ends early")

    def uleb(self) -> int:
        try:
            v, self.pos = leb128.decode(self.data, self.pos)
        except IndexError:
            raise self._short() from None
        return v

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise self._short()
        self.pos += 1
        return self.data[self.pos - 1]

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise self._short()
        self.pos += n
        return bytes(self.data[self.pos - n : self.pos])

    def fixed(self, n: int) -> int:
        """A little-endian unsigned integer of `n` bytes."""
        return int.from_bytes(self.raw(n), "little")

    def blob(self) -> bytes:
        """A ULEB128 length and that many bytes."""
        return self.raw(self.uleb())

    def done(self) -> bool:
        return self.pos >= len(self.data)


def read_token(c: Cursor) -> Token:
    """One signature token (see `Token`)."""
    tag = c.byte()
    if tag in PRIMITIVE_TOKENS:
        return PRIMITIVE_TOKENS[tag]
    if tag == VECTOR_TOKEN:
        return ("vec", read_token(c))
    if tag == REFERENCE:
        return ("ref", read_token(c))
    if tag == MUTABLE_REFERENCE:
        return ("mut", read_token(c))
    if tag == TYPE_PARAMETER:
        return ("tp", c.uleb())
    if tag == DATATYPE:
        return ("dt", c.uleb(), ())
    if tag == DATATYPE_INST:
        handle = c.uleb()
        return ("dt", handle, tuple(read_token(c) for _ in range(c.uleb())))
    raise BytecodeError(f"{c.what}: unknown signature token 0x{tag:02x} at {c.pos - 1}")


def _fields(c: Cursor) -> tuple[records.FieldDefinition, ...]:
    return tuple(records.FieldDefinition(c.uleb(), read_token(c)) for _ in range(c.uleb()))


def _instruction(c: Cursor) -> tuple[str, object]:
    op = c.byte()
    try:
        name, kind = OPCODES[op]
    except KeyError:
        raise BytecodeError(f"{c.what}: unknown opcode 0x{op:02x} at {c.pos - 1}") from None
    if kind is None:
        return name, None
    if kind == "uleb":
        return name, c.uleb()
    if kind == "u8":
        return name, c.byte()
    if kind == "sig_n":
        return name, (c.uleb(), c.fixed(8))
    return name, c.fixed(OPERAND_WIDTH[kind])


def _code(c: Cursor, version: int) -> records.Code:
    locals_sig = c.uleb()
    instructions = tuple(_instruction(c) for _ in range(c.uleb()))
    tables = []
    if version >= 7:
        for _ in range(c.uleb()):
            enum, branches, flavor = c.uleb(), c.uleb(), c.byte()
            if flavor != JUMP_TABLE_FULL:
                raise BytecodeError(f"{c.what}: unknown jump table flavor {flavor}")
            tables.append(records.JumpTable(enum, tuple(c.uleb() for _ in range(branches))))
    return records.Code(locals_sig, instructions, tuple(tables))


def _struct_definition(c: Cursor) -> records.StructDefinition:
    handle, kind = c.uleb(), c.byte()
    if kind == DECLARED_STRUCT:
        return records.StructDefinition(handle, _fields(c))
    if kind == NATIVE_STRUCT:
        return records.StructDefinition(handle, None)
    raise BytecodeError(f"{c.what}: unknown field information tag {kind}")


def _enum_definition(c: Cursor) -> records.EnumDefinition:
    handle = c.uleb()
    c.byte()  # declared (the only kind)
    variants = tuple(records.VariantDefinition(c.uleb(), _fields(c)) for _ in range(c.uleb()))
    return records.EnumDefinition(handle, variants)


def _function_definition(c: Cursor, version: int) -> records.FunctionDefinition:
    handle, visibility, flags = c.uleb(), c.byte(), c.byte()
    acquires = tuple(c.uleb() for _ in range(c.uleb()))  # (legacy)
    code = None if flags & NATIVE_FLAG else _code(c, version)
    return records.FunctionDefinition(handle, visibility, flags, acquires, code)


def _two(record: Callable[[int, int], R]) -> Callable[[Cursor], R]:
    """The decoder of a record of two ULEB128 indices."""
    return lambda c: record(c.uleb(), c.uleb())


def _datatype_handle(c: Cursor) -> records.DatatypeHandle:
    module, name, abilities = c.uleb(), c.uleb(), c.uleb()
    tps = tuple(records.TypeParameter(c.uleb(), c.byte() != 0) for _ in range(c.uleb()))
    return records.DatatypeHandle(module, name, abilities, tps)


def _function_handle(c: Cursor) -> records.FunctionHandle:
    module, name, params, rets = c.uleb(), c.uleb(), c.uleb(), c.uleb()
    return records.FunctionHandle(module, name, params, rets, tuple(c.uleb() for _ in range(c.uleb())))


def _constant(c: Cursor) -> records.Constant:
    start = c.pos
    ty = read_token(c)
    signature = bytes(c.data[start : c.pos])
    return records.Constant(ty, c.blob(), signature)


def _table(kind: int, what: str, item: Callable[[Cursor], R]) -> cached_property:
    """A table of a `CompiledModule`: the list of its records, decoded on first use."""

    def read(self: CompiledModule) -> list[R]:
        return self._read(kind, what, item)

    return cached_property(read)


class CompiledModule:
    """One compiled module: its header and table directory, and each table decoded on first use."""

    def __init__(self, code: bytes, at: int = 0):
        code = bytes(code)
        if code[at : at + 4] != MAGIC:
            raise BytecodeError("not a Move module (bad magic)")
        c = Cursor(code, "table directory", at + 4)
        self.version = c.fixed(4) & 0xFFFFFF
        heads = [(c.byte(), c.uleb(), c.uleb()) for _ in range(c.uleb())]
        base = c.pos
        end = max((off + cnt for _, off, cnt in heads), default=0)
        c.pos = base + end
        self.self_index = c.uleb()  # the module handle of this module
        self.headers: list[tuple[int, int, int]] = heads  # (kind, offset, count)
        self.tables_start = base
        self.end = c.pos  # just past the module
        self.tables: dict[int, bytes] = {kind: code[base + off : base + off + cnt] for kind, off, cnt in heads}
        self.code = code[at : self.end]

    def _read(self, kind: int, what: str, item: Callable[[Cursor], R]) -> list[R]:
        c = Cursor(self.tables.get(kind, b""), what)
        out = []
        while not c.done():
            out.append(item(c))
        return out

    # tables: each a list of records (see `records`), decoded on first use
    identifiers = _table(IDENTIFIERS, "identifiers", lambda c: c.blob().decode())  # [str]
    addresses = _table(ADDRESS_IDENTIFIERS, "address identifiers", lambda c: c.raw(32))  # [32 bytes]
    module_handles = _table(MODULE_HANDLES, "module handles", _two(records.ModuleHandle))
    datatype_handles = _table(DATATYPE_HANDLES, "datatype handles", _datatype_handle)
    function_handles = _table(FUNCTION_HANDLES, "function handles", _function_handle)
    function_instantiations = _table(FUNCTION_INSTANTIATIONS, "function instantiations", _two(records.Instantiation))
    struct_instantiations = _table(STRUCT_INSTANTIATIONS, "struct instantiations", _two(records.Instantiation))
    field_instantiations = _table(FIELD_INSTANTIATIONS, "field instantiations", _two(records.Instantiation))
    enum_instantiations = _table(ENUM_INSTANTIATIONS, "enum instantiations", _two(records.Instantiation))
    signatures = _table(SIGNATURES, "signatures", lambda c: tuple(read_token(c) for _ in range(c.uleb())))
    constants = _table(CONSTANT_POOL, "constant pool", _constant)
    field_handles = _table(FIELD_HANDLES, "field handles", _two(records.FieldHandle))
    variant_handles = _table(VARIANT_HANDLES, "variant handles", _two(records.VariantHandle))
    variant_instantiations = _table(VARIANT_INSTANTIATIONS, "variant instantiations", _two(records.VariantHandle))
    struct_definitions = _table(STRUCT_DEFINITIONS, "struct definitions", _struct_definition)
    enum_definitions = _table(ENUM_DEFINITIONS, "enum definitions", _enum_definition)
    friends = _table(FRIEND_DECLARATIONS, "friends", _two(records.ModuleHandle))

    @cached_property
    def function_definitions(self) -> list[records.FunctionDefinition]:
        what = f"function definitions of {self.name}"
        return self._read(FUNCTION_DEFINITIONS, what, lambda c: _function_definition(c, self.version))

    # names
    def identifier(self, i: int) -> str:
        try:
            return self.identifiers[i]
        except IndexError:
            raise BytecodeError(f"identifier {i} out of range") from None

    def address_at(self, i: int) -> bytes:
        try:
            return self.addresses[i]
        except IndexError:
            raise BytecodeError(f"address {i} out of range") from None

    def module_at(self, handle: records.ModuleHandle) -> tuple[bytes, str]:
        """(address bytes, name) of a module handle (or friend declaration)."""
        return self.address_at(handle.address), self.identifier(handle.name)

    def handle_module(self, index: int) -> tuple[bytes, str]:
        """(address bytes, name) of module handle `index`."""
        return self.module_at(self.module_handles[index])

    @cached_property
    def address(self) -> bytes:
        return self.address_at(self.module_handles[self.self_index].address)

    @cached_property
    def name(self) -> str:
        return self.identifier(self.module_handles[self.self_index].name)
