"""The one reader of compiled Move modules (binary format versions 5 to 7, `move-binary-format`).

`CompiledModule(code)` reads the header and the table directory; each table is decoded the first
time it is used, into plain records that keep the format's indices: identifiers, addresses,
module / datatype / function / field / variant handles, instantiations, signatures (as
`Token`s), the constant pool, struct and enum definitions, function definitions with their code
(every instruction with its operand, and the jump tables of enum matches), friends. Nothing is
verified. `wafl_sui.contract.signatures` (types, layouts, signature checks) and the metered
interpreter of `wafl_sui.devtools.gas` build on it.

The small functions below answer what the build, the stubs, the VM harness, abort decoding and
the API checks of the tests ask of one module: `table_headers`, `identifiers`, `module_name`,
`constants`, `error_constant_names`, `called_functions`, and `modules_in` (the modules embedded
in a binary, e.g. the framework inside the sui-sandbox wheel).

    m = CompiledModule(code)
    m.name, m.address                          # 'task', b'\\x00' * 32
    f = m.function_definitions[0]
    m.identifier(m.function_handles[f.handle].name), f.code.instructions[:2]

A signature token (`Token`) is a primitive name ("bool", "u8", "u16", "u32", "u64", "u128",
"u256", "address", "signer") or a tuple: ("vec", t), ("ref", t), ("mut", t), ("tp", index),
("dt", datatype handle, (type arguments...)). Tokens are hashable.
"""

from __future__ import annotations

import re

from wafl_sui.contract import leb128
from wafl_sui.contract.bytecode.fileformat import (
    ABILITY_NAMES,
    ADDRESS_IDENTIFIERS,
    CONSTANT_POOL,
    COPY,
    DATATYPE_HANDLES,
    DROP,
    ENTRY_FLAG,
    ENUM_DEFINITIONS,
    FRIEND,
    FUNCTION_DEFINITIONS,
    FUNCTION_HANDLES,
    IDENTIFIERS,
    KEY,
    MAGIC,
    MODULE_HANDLES,
    NATIVE_FLAG,
    OPCODES,
    PRIMITIVE_TOKENS,
    PRIVATE,
    PUBLIC,
    SIGNATURES,
    STORE,
    STRUCT_DEFINITIONS,
    VECTOR_TOKEN,
    Token,
    ability_names,
)
from wafl_sui.contract.bytecode.reader import BytecodeError, CompiledModule, Cursor, read_token
from wafl_sui.contract.bytecode.records import (
    Code,
    Constant,
    DatatypeHandle,
    EnumDefinition,
    FieldDefinition,
    FieldHandle,
    FunctionDefinition,
    FunctionHandle,
    Instantiation,
    JumpTable,
    ModuleHandle,
    StructDefinition,
    TypeParameter,
    VariantDefinition,
    VariantHandle,
)


def table_headers(code: bytes, at: int = 0) -> tuple[list[tuple[int, int, int]], int, int]:
    """(kind, offset, count) of each table of the module at `at`, the offset where the table
    contents start, and the offset just past the module (after its self-handle index)."""
    m = CompiledModule(code, at)
    return m.headers, m.tables_start, m.end


def identifiers(code: bytes) -> list[str]:
    """The identifier table of a compiled module (clever-error codes index into it)."""
    return CompiledModule(code).identifiers


def module_name(code: bytes) -> str:
    return CompiledModule(code).name


def called_functions(code: bytes) -> set[tuple[str, str, str]]:
    """(0x-address, module, function) of every function of another module this module calls
    (its function handles outside itself)."""
    m = CompiledModule(code)
    out = set()
    for h in m.function_handles:
        if h.module != m.self_index:
            addr, module = m.handle_module(h.module)
            out.add(("0x" + addr.hex(), module, m.identifier(h.name)))
    return out


def constants(code: bytes) -> list[tuple[bytes, bytes]]:
    """The constant pool of a compiled module as (type signature bytes, BCS value bytes)."""
    return [(c.signature, c.value) for c in CompiledModule(code).constants]


def error_constant_names(code: bytes) -> dict[int, str]:
    """{constant-pool index: text} of the vector<u8> constants (clever errors name their
    constant through one of them)."""
    out = {}
    for k, c in enumerate(CompiledModule(code).constants):
        if c.type == ("vec", "u8"):
            n, i = leb128.decode(c.value, 0)
            try:
                out[k] = c.value[i : i + n].decode()
            except UnicodeDecodeError:
                continue
    return out


def modules_in(blob: bytes) -> list[bytes]:
    """Every well-formed-looking Move module embedded in a binary (magic, version, tables)."""
    mods = []
    for m in re.finditer(re.escape(MAGIC), blob):
        i = m.start()
        try:
            version = int.from_bytes(blob[i + 4 : i + 8], "little") & 0xFFFFFF
            if not 5 <= version <= 8:
                continue
            ntables, _ = leb128.decode(blob, i + 8)
            if not 1 <= ntables <= 20:
                continue
            _heads, _base, stop = table_headers(blob, i)
            mods.append(blob[i:stop])
        except (IndexError, ValueError):
            continue
    return mods


__all__ = [
    # one call, one answer
    "table_headers", "identifiers", "module_name", "called_functions", "constants", "error_constant_names",
    "modules_in",
    # the reader and its records
    "CompiledModule", "BytecodeError", "Cursor", "read_token", "Token", "ability_names", "Code", "Constant",
    "DatatypeHandle", "EnumDefinition", "FieldDefinition", "FieldHandle", "FunctionDefinition", "FunctionHandle",
    "Instantiation", "JumpTable", "ModuleHandle", "StructDefinition", "TypeParameter", "VariantDefinition",
    "VariantHandle",
    # the format (see fileformat for every table kind and token)
    "MAGIC", "MODULE_HANDLES", "DATATYPE_HANDLES", "FUNCTION_HANDLES", "SIGNATURES", "CONSTANT_POOL", "IDENTIFIERS",
    "ADDRESS_IDENTIFIERS", "STRUCT_DEFINITIONS", "FUNCTION_DEFINITIONS", "ENUM_DEFINITIONS", "PRIMITIVE_TOKENS",
    "VECTOR_TOKEN", "OPCODES", "COPY", "DROP", "STORE", "KEY", "ABILITY_NAMES", "PRIVATE", "PUBLIC", "FRIEND",
    "NATIVE_FLAG", "ENTRY_FLAG",
]
