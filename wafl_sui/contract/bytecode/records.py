"""The records a compiled module's tables hold, as named tuples that keep the format's indices
(into the identifiers, addresses, handles, signatures and definitions of the same module)."""

from __future__ import annotations

from typing import NamedTuple

from wafl_sui.contract.bytecode.fileformat import ENTRY_FLAG, NATIVE_FLAG, Token


class ModuleHandle(NamedTuple):
    address: int  # into addresses
    name: int  # into identifiers


class TypeParameter(NamedTuple):
    constraints: int  # ability bits
    is_phantom: bool


class DatatypeHandle(NamedTuple):
    module: int
    name: int
    abilities: int
    type_parameters: tuple[TypeParameter, ...]


class FunctionHandle(NamedTuple):
    module: int
    name: int
    parameters: int  # into signatures
    returns: int
    type_parameters: tuple[int, ...]  # ability bits of each


class Instantiation(NamedTuple):
    """A generic function handle, struct / enum definition, field handle or enum instantiation
    with its type arguments (a signature index)."""

    generic: int
    type_arguments: int


class FieldHandle(NamedTuple):
    owner: int  # struct definition
    field: int  # its field index


class VariantHandle(NamedTuple):
    enum: int  # enum definition (or enum instantiation, for a variant instantiation)
    variant: int


class Constant(NamedTuple):
    type: Token
    value: bytes  # BCS
    signature: bytes  # the type's signature bytes as stored


class FieldDefinition(NamedTuple):
    name: int
    type: Token


class StructDefinition(NamedTuple):
    handle: int
    fields: tuple[FieldDefinition, ...] | None  # None: a native struct


class VariantDefinition(NamedTuple):
    name: int
    fields: tuple[FieldDefinition, ...]


class EnumDefinition(NamedTuple):
    handle: int
    variants: tuple[VariantDefinition, ...]


class JumpTable(NamedTuple):
    enum: int  # the enum definition matched on
    offsets: tuple[int, ...]  # code offset of each variant's branch


class Code(NamedTuple):
    locals: int  # signature of the locals after the parameters
    instructions: tuple[tuple[str, object], ...]  # (name, operand) per instruction, see OPCODES
    jump_tables: tuple[JumpTable, ...]


class FunctionDefinition(NamedTuple):
    handle: int
    visibility: int  # PRIVATE | PUBLIC | FRIEND
    flags: int
    acquires: tuple[int, ...]
    code: Code | None  # None: a native function

    @property
    def is_entry(self) -> bool:
        return bool(self.flags & ENTRY_FLAG)

    @property
    def is_native(self) -> bool:
        return bool(self.flags & NATIVE_FLAG)
