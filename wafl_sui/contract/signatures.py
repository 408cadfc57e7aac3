"""Compiled function signatures and struct layouts of a Move package, read from its bytecode, and
a type check of programmable-transaction move calls against them.

Extends the table reader of `wafl_sui.contract.bytecode` (its table headers, identifier table,
module name) with the tables a caller of the package needs: module and datatype handles,
signatures, function handles and definitions (visibility, entry), struct definitions (field
names and types). Function bodies are skipped instruction by instruction (every opcode of
bytecode versions 5 to 7, jump tables included); nothing is verified.

    sigs = PackageSignatures.from_modules(build.module_bytes())
    sigs.function("task", "submit_update").parameters  # (&mut 0x0::task::Task, vector<u32>, ...)
    check_transaction(tx.kind, sigs, package_id, object_types)  # SignatureMismatch if it would not type-check

`check_transaction` applies the rules Sui's PTB checker applies to a move call into the package:
the function exists and is `public` (or `entry`), no type arguments unless declared, one
argument per parameter (a trailing `&TxContext` / `&mut TxContext` is supplied by the runtime),
a pure input whose bytes are exactly one BCS value of the parameter's (pure-able) type, an object
input of the parameter's struct type (a shared object passed immutably cannot bind `&mut`), and a
result of an earlier command whose type is the parameter's. `TransferObjects` needs objects with
`key` and `store`. The package's own types are written with address 0x0 in its bytecode before
publishing; they are compared against `package_id`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wafl_sui.contract import leb128
from wafl_sui.contract.bytecode import _tables, identifiers
from wafl_sui.errors import WaflError

# table kinds (move-binary-format file_format_common.rs)
MODULE_HANDLES = 0x1
DATATYPE_HANDLES = 0x2
FUNCTION_HANDLES = 0x3
SIGNATURES = 0x5
ADDRESS_IDENTIFIERS = 0x8
STRUCT_DEFS = 0xA
FUNCTION_DEFS = 0xC
FRIEND_DECLS = 0xF

# signature tokens
_TOKENS = {
    0x1: "bool",
    0x2: "u8",
    0x3: "u64",
    0x4: "u128",
    0x5: "address",
    0xC: "signer",
    0xD: "u16",
    0xE: "u32",
    0xF: "u256",
}
REFERENCE, MUTABLE_REFERENCE, DATATYPE, TYPE_PARAMETER, VECTOR, DATATYPE_INST = 0x6, 0x7, 0x8, 0x9, 0xA, 0xB

ABILITIES = ((0x1, "copy"), (0x2, "drop"), (0x4, "store"), (0x8, "key"))
VISIBILITIES = {0x0: "private", 0x1: "public", 0x3: "friend"}
ENTRY_FLAG, NATIVE_FLAG = 0x4, 0x2

# instructions: the operands of each opcode, in order ("u" ULEB128, an int: that many fixed bytes)
_OPERANDS: dict[int, tuple[str | int, ...]] = {op: () for op in range(0x01, 0x57)}
_OPERANDS.update({0x03: ("u",), 0x04: ("u",), 0x05: ("u",), 0x06: (8,), 0x07: ("u",)})  # branches, LdU64, LdConst
_OPERANDS.update({op: (1,) for op in (0x0A, 0x0B, 0x0C, 0x0D, 0x0E)})  # local indices (u8)
_OPERANDS.update({op: ("u",) for op in (0x0F, 0x10, 0x11, 0x12, 0x13)})  # fields, Call, Pack, Unpack
_OPERANDS.update({op: ("u",) for op in range(0x29, 0x2E)})  # (deprecated) global storage
_OPERANDS.update({0x31: (1,), 0x32: (16,)})  # LdU8, LdU128
_OPERANDS.update({op: ("u",) for op in range(0x36, 0x40)})  # generic field/call/pack/global
_OPERANDS.update({0x40: ("u", 8), 0x46: ("u", 8)})  # VecPack / VecUnpack: signature, u64 count
_OPERANDS.update({op: ("u",) for op in (0x41, 0x42, 0x43, 0x44, 0x45, 0x47)})  # vector ops
_OPERANDS.update({0x48: (2,), 0x49: (4,), 0x4A: (32,)})  # LdU16, LdU32, LdU256
_OPERANDS.update({op: ("u",) for op in range(0x4E, 0x57)})  # enum variants, VariantSwitch
JUMP_TABLE_FULL = 0x1


class SignatureError(WaflError, ValueError):
    """The bytecode cannot be read as a Move module (or names an unknown function or struct)."""


class SignatureMismatch(WaflError, ValueError):
    """A transaction's move call does not type-check against the package's compiled signatures."""


def _norm_addr(addr: str) -> str:
    text = addr.lower()
    text = text[2:] if text.startswith("0x") else text
    return "0x" + text.rjust(64, "0")


# --- types -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoveType:
    """A Move type of a signature: a primitive (`kind` bool, u8 ... u256, address, signer),
    `vector` (`inner`), `ref` (`inner`, `mutable`), `datatype` (`address::module::name` with
    `type_args`) or `typeparam` (`index`)."""

    kind: str
    inner: MoveType | None = None
    mutable: bool = False
    address: str | None = None
    module: str | None = None
    name: str | None = None
    type_args: tuple[MoveType, ...] = ()
    index: int | None = None

    # constructors
    @staticmethod
    def vector(inner: MoveType) -> MoveType:
        return MoveType("vector", inner)

    @staticmethod
    def ref(inner: MoveType, mutable: bool = False) -> MoveType:
        return MoveType("ref", inner, mutable)

    @staticmethod
    def datatype(address: str, module: str, name: str, type_args: Sequence[MoveType] = ()) -> MoveType:
        return MoveType("datatype", address=_norm_addr(address), module=module, name=name, type_args=tuple(type_args))

    @staticmethod
    def parse(text: str) -> MoveType:
        """`u64`, `vector<u8>`, `&mut 0x2::coin::Coin<0x2::sui::SUI>`, `0x1::option::Option<u64>`."""
        toks = _tokenize(text)
        ty, end = _parse_type(toks, 0, text)
        if end != len(toks):
            raise SignatureError(f"type {text!r} has trailing text")
        return ty

    # views
    @property
    def is_reference(self) -> bool:
        return self.kind == "ref"

    def deref(self) -> MoveType:
        return self.inner if self.kind == "ref" and self.inner is not None else self

    @property
    def struct_tag(self) -> str | None:
        """`address::module::name` of a datatype (no type arguments), else None."""
        if self.kind != "datatype":
            return None
        return f"{self.address}::{self.module}::{self.name}"

    def with_self_address(self, self_address: str, package_id: str) -> MoveType:
        """This type with the package's own address (0x0 before publishing) replaced."""
        self_address, package_id = _norm_addr(self_address), _norm_addr(package_id)
        if self.kind in ("vector", "ref") and self.inner is not None:
            return MoveType(self.kind, self.inner.with_self_address(self_address, package_id), self.mutable)
        if self.kind == "datatype":
            addr = package_id if self.address == self_address else self.address
            args = tuple(t.with_self_address(self_address, package_id) for t in self.type_args)
            return MoveType("datatype", address=addr, module=self.module, name=self.name, type_args=args)
        return self

    def __str__(self) -> str:
        if self.kind == "vector":
            return f"vector<{self.inner}>"
        if self.kind == "ref":
            return f"&{'mut ' if self.mutable else ''}{self.inner}"
        if self.kind == "typeparam":
            return f"T{self.index}"
        if self.kind == "datatype":
            args = f"<{', '.join(str(t) for t in self.type_args)}>" if self.type_args else ""
            return f"{self.address}::{self.module}::{self.name}{args}"
        return self.kind


PRIMITIVES = frozenset({"bool", "u8", "u16", "u32", "u64", "u128", "u256", "address", "signer"})


def _tokenize(text: str) -> list[str]:
    import re

    toks, pos = [], 0
    pat = re.compile(r"\s*(::|<|>|,|&|[A-Za-z0-9_]+)")
    while pos < len(text):
        m = pat.match(text, pos)
        if not m:
            if text[pos:].strip():
                raise SignatureError(f"cannot parse type {text!r} at {text[pos:]!r}")
            break
        toks.append(m.group(1))
        pos = m.end()
    return toks


def _parse_type(toks: list[str], i: int, text: str) -> tuple[MoveType, int]:
    if i >= len(toks):
        raise SignatureError(f"type {text!r} ends early")
    tok = toks[i]
    if tok == "&":
        if toks[i + 1 : i + 2] == ["mut"]:
            inner, j = _parse_type(toks, i + 2, text)
            return MoveType.ref(inner, True), j
        inner, j = _parse_type(toks, i + 1, text)
        return MoveType.ref(inner, False), j
    if tok == "vector":
        if toks[i + 1 : i + 2] != ["<"]:
            raise SignatureError(f"type {text!r}: vector needs <T>")
        inner, j = _parse_type(toks, i + 2, text)
        if toks[j : j + 1] != [">"]:
            raise SignatureError(f"type {text!r}: unclosed vector<")
        return MoveType.vector(inner), j + 1
    if tok in PRIMITIVES:
        return MoveType(tok), i + 1
    if toks[i + 1 : i + 2] != ["::"] or toks[i + 3 : i + 4] != ["::"] or i + 4 >= len(toks):
        raise SignatureError(f"type {text!r}: expected address::module::Name at {tok!r}")
    addr, module, name = toks[i], toks[i + 2], toks[i + 4]
    j = i + 5
    args: list[MoveType] = []
    if toks[j : j + 1] == ["<"]:
        j += 1
        while True:
            t, j = _parse_type(toks, j, text)
            args.append(t)
            if toks[j : j + 1] == [","]:
                j += 1
                continue
            if toks[j : j + 1] == [">"]:
                j += 1
                break
            raise SignatureError(f"type {text!r}: expected , or > in type arguments")
    return MoveType.datatype(addr, module, name, args), j


# --- definitions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionSignature:
    module: str
    name: str
    visibility: str  # private | public | friend (public(package))
    is_entry: bool
    type_parameters: tuple[frozenset[str], ...]  # ability constraints of each type parameter
    parameters: tuple[MoveType, ...]
    returns: tuple[MoveType, ...]
    is_native: bool = False

    def __str__(self) -> str:
        vis = {"public": "public ", "friend": "public(package) ", "private": ""}[self.visibility]
        entry = "entry " if self.is_entry else ""
        ret = ""
        if self.returns:
            ret = ": " + (str(self.returns[0]) if len(self.returns) == 1 else f"({', '.join(map(str, self.returns))})")
        return f"{vis}{entry}fun {self.module}::{self.name}({', '.join(map(str, self.parameters))}){ret}"


@dataclass(frozen=True)
class StructLayout:
    address: str
    module: str
    name: str
    abilities: frozenset[str]
    type_parameters: tuple[tuple[frozenset[str], bool], ...]  # (constraints, is_phantom)
    fields: tuple[tuple[str, MoveType], ...] | None  # None: a native struct

    @property
    def tag(self) -> str:
        return f"{self.address}::{self.module}::{self.name}"

    def field_names(self) -> list[str]:
        return [n for n, _ in self.fields or ()]


@dataclass(frozen=True)
class ModuleSignatures:
    address: str
    name: str
    version: int
    functions: dict[str, FunctionSignature]
    structs: dict[str, StructLayout]
    datatype_abilities: dict[str, frozenset[str]] = field(default_factory=dict)  # handles, incl. imported
    friends: tuple[tuple[str, str], ...] = ()


def _abilities(bits: int) -> frozenset[str]:
    return frozenset(name for bit, name in ABILITIES if bits & bit)


class _Cursor:
    def __init__(self, data: bytes, what: str):
        self.data, self.pos, self.what = data, 0, what

    def uleb(self) -> int:
        try:
            v, self.pos = leb128.decode(self.data, self.pos)
        except IndexError:
            raise SignatureError(f"{self.what}: table ends early") from None
        return v

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise SignatureError(f"{self.what}: table ends early")
        self.pos += 1
        return self.data[self.pos - 1]

    def skip(self, n: int) -> None:
        if self.pos + n > len(self.data):
            raise SignatureError(f"{self.what}: table ends early")
        self.pos += n

    def done(self) -> bool:
        return self.pos >= len(self.data)


def _read_token(c: _Cursor, handles: list[tuple[str, str, str]]) -> MoveType:
    tag = c.byte()
    if tag in _TOKENS:
        return MoveType(_TOKENS[tag])
    if tag in (REFERENCE, MUTABLE_REFERENCE):
        return MoveType.ref(_read_token(c, handles), tag == MUTABLE_REFERENCE)
    if tag == VECTOR:
        return MoveType.vector(_read_token(c, handles))
    if tag == TYPE_PARAMETER:
        return MoveType("typeparam", index=c.uleb())
    if tag in (DATATYPE, DATATYPE_INST):
        idx = c.uleb()
        try:
            addr, mod, name = handles[idx]
        except IndexError:
            raise SignatureError(f"{c.what}: datatype handle {idx} out of range") from None
        args: list[MoveType] = []
        if tag == DATATYPE_INST:
            args = [_read_token(c, handles) for _ in range(c.uleb())]
        return MoveType.datatype(addr, mod, name, args)
    raise SignatureError(f"{c.what}: unknown signature token 0x{tag:02x} at {c.pos - 1}")


def _skip_code(c: _Cursor, version: int) -> None:
    c.uleb()  # locals signature
    for _ in range(c.uleb()):
        op = c.byte()
        operands = _OPERANDS.get(op)
        if operands is None:
            raise SignatureError(f"{c.what}: unknown opcode 0x{op:02x} at {c.pos - 1}")
        for part in operands:
            if part == "u":
                c.uleb()
            else:
                c.skip(part)
    if version >= 7:
        for _ in range(c.uleb()):  # jump tables of enum matches
            c.uleb()  # the enum definition
            branches = c.uleb()
            flavor = c.byte()
            if flavor != JUMP_TABLE_FULL:
                raise SignatureError(f"{c.what}: unknown jump table flavor {flavor}")
            for _ in range(branches):
                c.uleb()


def parse_module(code: bytes) -> ModuleSignatures:
    """The functions and structs a compiled module defines, and the abilities of every datatype
    it names."""
    code = bytes(code)
    try:
        tables, self_idx = _tables(code)
        idents = identifiers(code)
    except (ValueError, IndexError) as exc:
        raise SignatureError(f"not a readable Move module: {exc}") from None
    version = int.from_bytes(code[4:8], "little") & 0xFFFFFF
    if version < 5:
        raise SignatureError(f"Move bytecode version {version} is not supported (5 or later)")

    raw_addr = tables.get(ADDRESS_IDENTIFIERS, b"")
    addresses = ["0x" + raw_addr[i : i + 32].hex() for i in range(0, len(raw_addr), 32)]

    def ident(i: int) -> str:
        try:
            return idents[i]
        except IndexError:
            raise SignatureError(f"identifier {i} out of range") from None

    c = _Cursor(tables.get(MODULE_HANDLES, b""), "module handles")
    modules: list[tuple[str, str]] = []
    while not c.done():
        a, n = c.uleb(), c.uleb()
        modules.append((addresses[a], ident(n)))
    self_addr, self_name = modules[self_idx]

    c = _Cursor(tables.get(DATATYPE_HANDLES, b""), "datatype handles")
    handles: list[tuple[str, str, str]] = []
    handle_info: list[tuple[frozenset[str], tuple[tuple[frozenset[str], bool], ...]]] = []
    while not c.done():
        m, n, abil = c.uleb(), c.uleb(), c.uleb()
        tparams = tuple((_abilities(c.uleb()), c.byte() != 0) for _ in range(c.uleb()))
        handles.append((*modules[m], ident(n)))
        handle_info.append((_abilities(abil), tparams))

    c = _Cursor(tables.get(SIGNATURES, b""), "signatures")
    signatures: list[tuple[MoveType, ...]] = []
    while not c.done():
        signatures.append(tuple(_read_token(c, handles) for _ in range(c.uleb())))

    c = _Cursor(tables.get(FUNCTION_HANDLES, b""), "function handles")
    fhandles: list[tuple[int, str, int, int, tuple[frozenset[str], ...]]] = []
    while not c.done():
        m, n, p, r = c.uleb(), c.uleb(), c.uleb(), c.uleb()
        tps = tuple(_abilities(c.uleb()) for _ in range(c.uleb()))
        fhandles.append((m, ident(n), p, r, tps))

    c = _Cursor(tables.get(STRUCT_DEFS, b""), "struct definitions")
    structs: dict[str, StructLayout] = {}
    while not c.done():
        h = c.uleb()
        kind = c.byte()
        fields: tuple[tuple[str, MoveType], ...] | None = None
        if kind == 0x2:
            fields = tuple((ident(c.uleb()), _read_token(c, handles)) for _ in range(c.uleb()))
        elif kind != 0x1:
            raise SignatureError(f"struct definition {len(structs)}: unknown field information tag {kind}")
        addr, mod, name = handles[h]
        abil, tparams = handle_info[h]
        structs[name] = StructLayout(addr, mod, name, abil, tparams, fields)

    c = _Cursor(tables.get(FUNCTION_DEFS, b""), f"function definitions of {self_name}")
    functions: dict[str, FunctionSignature] = {}
    while not c.done():
        h = c.uleb()
        vis_byte = c.byte()
        flags = c.byte()
        if vis_byte not in VISIBILITIES:
            raise SignatureError(f"function definition {len(functions)}: unknown visibility {vis_byte}")
        for _ in range(c.uleb()):  # acquires (deprecated)
            c.uleb()
        native = bool(flags & NATIVE_FLAG)
        if not native:
            _skip_code(c, version)
        m, name, p, r, tps = fhandles[h]
        functions[name] = FunctionSignature(
            self_name, name, VISIBILITIES[vis_byte], bool(flags & ENTRY_FLAG), tps, signatures[p], signatures[r], native
        )

    c = _Cursor(tables.get(FRIEND_DECLS, b""), "friends")
    friends = []
    while not c.done():
        a, n = c.uleb(), c.uleb()
        friends.append((addresses[a], ident(n)))

    datatype_abilities = {f"{a}::{m}::{n}": handle_info[i][0] for i, (a, m, n) in enumerate(handles)}
    return ModuleSignatures(self_addr, self_name, version, functions, structs, datatype_abilities, tuple(friends))


@dataclass(frozen=True)
class PackageSignatures:
    """The modules of one package (plus, optionally, dependency modules for their layouts)."""

    modules: dict[str, ModuleSignatures]
    address: str  # the package's address in its bytecode (0x0 before publishing)
    dependencies: dict[str, ModuleSignatures] = field(default_factory=dict)  # "addr::module"

    @classmethod
    def from_modules(cls, modules: Iterable[bytes], dependencies: Iterable[bytes] = ()) -> PackageSignatures:
        mods = [parse_module(m) for m in modules]
        if not mods:
            raise SignatureError("a package needs at least one module")
        addrs = {m.address for m in mods}
        if len(addrs) != 1:
            raise SignatureError(f"the modules of one package have one address, these have {sorted(addrs)}")
        deps = {}
        for d in dependencies:
            dm = parse_module(d)
            deps[f"{dm.address}::{dm.name}"] = dm
        return cls({m.name: m for m in mods}, addrs.pop(), deps)

    @classmethod
    def from_build(cls, build: Any) -> PackageSignatures:
        """From a `wafl_sui.contract.build.MoveBuild`."""
        return cls.from_modules(build.module_bytes())

    def function(self, module: str, name: str) -> FunctionSignature:
        try:
            return self.modules[module].functions[name]
        except KeyError:
            known = ", ".join(sorted(self.modules)) if module not in self.modules else ", ".join(
                sorted(self.modules[module].functions)
            )
            where = "module" if module not in self.modules else f"function of {module}"
            raise SignatureError(f"the package has no {where} {module}::{name} (known: {known})") from None

    def struct(self, module: str, name: str) -> StructLayout:
        try:
            return self.modules[module].structs[name]
        except KeyError:
            raise SignatureError(f"the package has no struct {module}::{name}") from None

    def layout(self, tag: str) -> StructLayout | None:
        """The layout of `address::module::Name` (the package's own, under its bytecode address or
        any published id, or a dependency's), or None if unknown here."""
        addr, module, name = tag.split("<")[0].split("::")
        addr = _norm_addr(addr)
        mod = self.modules.get(module)
        if mod is not None and name in mod.structs and (addr == self.address or addr not in _FRAMEWORK):
            return mod.structs[name]
        dep = self.dependencies.get(f"{addr}::{module}")
        return dep.structs.get(name) if dep else None

    def abilities(self, ty: MoveType, package_id: str | None = None) -> frozenset[str] | None:
        """Abilities of a datatype named by this package's modules (its own types also under
        their published `package_id`), else None."""
        if ty.kind != "datatype":
            return None
        tag = ty.struct_tag
        if package_id is not None and ty.address == _norm_addr(package_id):
            tag = f"{self.address}::{ty.module}::{ty.name}"
        for mod in [*self.modules.values(), *self.dependencies.values()]:
            if tag in mod.datatype_abilities:
                return mod.datatype_abilities[tag]
        return None

    def own(self, ty: MoveType, package_id: str) -> MoveType:
        """A signature type with the package's bytecode address replaced by `package_id`."""
        return ty.with_self_address(self.address, package_id)


_FRAMEWORK = {_norm_addr("0x1"), _norm_addr("0x2"), _norm_addr("0x3")}


# --- pure values ---------------------------------------------------------------------------------

STRING_TYPES = {
    f"{_norm_addr('0x1')}::string::String",
    f"{_norm_addr('0x1')}::ascii::String",
}
ID_TYPE = f"{_norm_addr('0x2')}::object::ID"
OPTION_TYPE = f"{_norm_addr('0x1')}::option::Option"
TX_CONTEXT_TYPE = f"{_norm_addr('0x2')}::tx_context::TxContext"
_INT_BYTES = {"u8": 1, "u16": 2, "u32": 4, "u64": 8, "u128": 16, "u256": 32}


def is_pure_type(ty: MoveType) -> bool:
    """Types a pure input may have (Sui: primitives, vectors of them, String, ID, Option)."""
    if ty.kind in _INT_BYTES or ty.kind in ("bool", "address"):
        return True
    if ty.kind == "vector":
        return ty.inner is not None and is_pure_type(ty.inner)
    if ty.kind == "datatype":
        if ty.struct_tag in STRING_TYPES or ty.struct_tag == ID_TYPE:
            return not ty.type_args
        if ty.struct_tag == OPTION_TYPE:
            return len(ty.type_args) == 1 and is_pure_type(ty.type_args[0])
    return False


def _uleb_at(data: bytes, pos: int) -> tuple[int, int]:
    try:
        return leb128.decode(data, pos)
    except IndexError:
        raise SignatureMismatch("the bytes end inside a length") from None


def _check_pure_at(ty: MoveType, data: bytes, pos: int) -> int:
    def need(n: int) -> int:
        if pos + n > len(data):
            raise SignatureMismatch(f"the bytes end early for a {ty}")
        return pos + n

    if ty.kind in _INT_BYTES:
        return need(_INT_BYTES[ty.kind])
    if ty.kind == "bool":
        end = need(1)
        if data[pos] > 1:
            raise SignatureMismatch(f"byte {data[pos]} is not a bool")
        return end
    if ty.kind == "address":
        return need(32)
    if ty.kind == "vector":
        n, pos = _uleb_at(data, pos)
        assert ty.inner is not None
        if ty.inner.kind == "u8":
            if pos + n > len(data):
                raise SignatureMismatch(f"a vector<u8> of {n} bytes but only {len(data) - pos} follow")
            return pos + n
        for _ in range(n):
            pos = _check_pure_at(ty.inner, data, pos)
        return pos
    if ty.struct_tag in STRING_TYPES:
        n, p = _uleb_at(data, pos)
        if p + n > len(data):
            raise SignatureMismatch("a string runs past the end of the bytes")
        raw = data[p : p + n]
        if ty.module == "ascii" and any(b > 0x7F for b in raw):
            raise SignatureMismatch("an ascii::String holds non-ASCII bytes")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureMismatch("a string::String holds invalid UTF-8") from None
        return p + n
    if ty.struct_tag == ID_TYPE:
        return need(32)
    if ty.struct_tag == OPTION_TYPE:
        n, p = _uleb_at(data, pos)
        if n > 1:
            raise SignatureMismatch(f"an Option has 0 or 1 element, these bytes say {n}")
        return _check_pure_at(ty.type_args[0], data, p) if n else p
    raise SignatureMismatch(f"{ty} cannot be a pure argument")


def check_pure_value(ty: MoveType, data: bytes) -> None:
    """SignatureMismatch unless `data` is exactly one BCS value of the pure type `ty`."""
    if not is_pure_type(ty):
        raise SignatureMismatch(f"a pure input cannot have type {ty} (an object or struct is expected)")
    end = _check_pure_at(ty, bytes(data), 0)
    if end != len(data):
        raise SignatureMismatch(f"{len(data)} bytes hold one {ty} of {end} bytes and {len(data) - end} more")


# --- type check of a programmable transaction -------------------------------------------------------


def _sui_object_types() -> dict[str, MoveType]:
    return {
        _norm_addr("0x6"): MoveType.datatype("0x2", "clock", "Clock"),
        _norm_addr("0x8"): MoveType.datatype("0x2", "random", "Random"),
    }


GAS_COIN_TYPE = MoveType.datatype("0x2", "coin", "Coin", [MoveType.datatype("0x2", "sui", "SUI")])
UPGRADE_CAP_TYPE = MoveType.datatype("0x2", "package", "UpgradeCap")


def _is_tx_context(ty: MoveType) -> bool:
    return ty.kind == "ref" and ty.inner is not None and ty.inner.struct_tag == TX_CONTEXT_TYPE


def _object_input_kind(inp: Any) -> str:
    return type(inp).__name__  # Pure | OwnedObject | SharedObject | ReceivingObject


def check_transaction(
    kind: Any,
    sigs: PackageSignatures,
    package_id: str,
    object_types: Mapping[str, MoveType | str] | None = None,
) -> list[FunctionSignature]:
    """Type-check every move call into `package_id` of a `ProgrammableTransaction` against the
    package's compiled signatures; returns the signatures of the calls. Calls into other packages
    are not checked (their results are then of unknown type, accepted where they are used).
    `object_types`: {object id: type} of the object inputs (the Clock is known)."""
    known: dict[str, MoveType] = _sui_object_types()
    for oid, t in (object_types or {}).items():
        known[_norm_addr(oid)] = t if isinstance(t, MoveType) else MoveType.parse(t)
    package_id = _norm_addr(package_id)
    results: list[tuple[MoveType | None, ...] | None] = []  # per command; None = unknown
    checked: list[FunctionSignature] = []

    def arg_type(a: Any, where: str) -> tuple[str, MoveType | None, Any]:
        name = type(a).__name__
        if name == "GasCoin":
            return "gas", GAS_COIN_TYPE, None
        if name == "Input":
            try:
                inp = kind.inputs[a.index]
            except IndexError:
                raise SignatureMismatch(f"{where}: input {a.index} does not exist") from None
            k = _object_input_kind(inp)
            if k == "Pure":
                return "pure", None, inp
            oid = _norm_addr(inp.object_id)
            if oid not in known:
                raise SignatureMismatch(f"{where}: the type of object input {oid} is not known to the check")
            return k, known[oid], inp
        if name in ("Result", "NestedResult"):
            idx = a.index
            if idx >= len(results):
                raise SignatureMismatch(f"{where}: command {idx} has not run yet")
            res = results[idx]
            if res is None:
                return "result", None, None
            j = a.result if name == "NestedResult" else 0
            if name == "Result" and len(res) != 1:
                raise SignatureMismatch(f"{where}: command {idx} returns {len(res)} values; use NestedResult")
            if j >= len(res):
                raise SignatureMismatch(f"{where}: command {idx} has no result {j}")
            return "result", res[j], None
        raise SignatureMismatch(f"{where}: unknown argument {a!r}")

    for ci, cmd in enumerate(kind.commands):
        cname = type(cmd).__name__
        if cname == "MoveCall" and _norm_addr(cmd.package) == package_id:
            where = f"command {ci} ({cmd.module}::{cmd.function})"
            try:
                fn = sigs.function(cmd.module, cmd.function)
            except SignatureError as exc:
                raise SignatureMismatch(f"{where}: {exc}") from None
            if fn.visibility != "public" and not fn.is_entry:
                raise SignatureMismatch(
                    f"{where}: {fn.visibility} functions cannot be called from a transaction (it is not public or entry)"
                )
            if len(cmd.type_arguments) != len(fn.type_parameters):
                raise SignatureMismatch(
                    f"{where}: {len(cmd.type_arguments)} type arguments given, the function takes {len(fn.type_parameters)}"
                )
            params = [sigs.own(p, package_id) for p in fn.parameters]
            if params and _is_tx_context(params[-1]):
                params = params[:-1]
            if len(cmd.arguments) != len(params):
                raise SignatureMismatch(
                    f"{where}: {len(cmd.arguments)} arguments given, the function takes {len(params)} "
                    f"({', '.join(map(str, params))})"
                )
            for ai, (a, p) in enumerate(zip(cmd.arguments, params)):
                w = f"{where} argument {ai} ({p})"
                how, ty, inp = arg_type(a, w)
                if how == "pure":
                    try:
                        check_pure_value(p, inp.value)
                    except SignatureMismatch as exc:
                        raise SignatureMismatch(f"{w}: {exc}") from None
                    continue
                if ty is None:
                    continue  # a result of a call this check does not know
                want = p.deref()
                if ty != want:
                    raise SignatureMismatch(f"{w}: got a value of type {ty}")
                if how == "SharedObject" and p.kind == "ref" and p.mutable and not inp.mutable:
                    raise SignatureMismatch(f"{w}: shared object {inp.object_id} is passed immutably to &mut")
                if how == "SharedObject" and p.kind != "ref":
                    raise SignatureMismatch(f"{w}: a shared object cannot be passed by value here")
                if how == "ReceivingObject":
                    raise SignatureMismatch(f"{w}: a Receiving input needs a 0x2::transfer::Receiving parameter")
            results.append(tuple(sigs.own(r, package_id) for r in fn.returns))
            checked.append(fn)
        elif cname == "Publish":
            results.append((UPGRADE_CAP_TYPE,))
        elif cname == "SplitCoins":
            _, coin_ty, _ = arg_type(cmd.coin, f"command {ci} (SplitCoins)")
            results.append(tuple(coin_ty for _ in cmd.amounts))
        elif cname == "TransferObjects":
            for oi, o in enumerate(cmd.objects):
                _, ty, _ = arg_type(o, f"command {ci} (TransferObjects) object {oi}")
                if ty is None:
                    continue
                abil = sigs.abilities(ty, package_id)
                if ty == UPGRADE_CAP_TYPE or ty == GAS_COIN_TYPE:
                    abil = frozenset({"key", "store"})
                if abil is not None and not {"key", "store"} <= abil:
                    raise SignatureMismatch(
                        f"command {ci} (TransferObjects) object {oi}: {ty} has abilities {sorted(abil)}; "
                        "a transferred object needs key and store"
                    )
                if ty.kind == "ref" or ty.kind in PRIMITIVES or ty.kind == "vector":
                    raise SignatureMismatch(f"command {ci} (TransferObjects) object {oi}: {ty} is not an object")
            results.append(())
        else:
            results.append(None if cname in ("MoveCall", "MakeMoveVec", "Upgrade") else ())
    return checked
