"""Compiled function signatures and struct layouts of a Move package, read from its bytecode, and
a type check of programmable-transaction move calls against them.

Built on the one reader of compiled modules, `wafl_sui.contract.bytecode` (`CompiledModule`):
its module and datatype handles, signatures, function handles and definitions (visibility,
entry) and struct definitions become `MoveType`s, `FunctionSignature`s and `StructLayout`s, the
view a caller of the package needs; nothing is verified.

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

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wafl_sui.contract import bytecode as bc
from wafl_sui.contract import leb128
from wafl_sui.errors import WaflError
from wafl_sui.protocol import normalize_address

VISIBILITIES = {bc.PRIVATE: "private", bc.PUBLIC: "public", bc.FRIEND: "friend"}


class SignatureError(WaflError, ValueError):
    """The bytecode cannot be read as a Move module (or names an unknown function or struct)."""


class SignatureMismatch(WaflError, ValueError):
    """A transaction's move call does not type-check against the package's compiled signatures."""





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
        return MoveType("datatype", address=normalize_address(address), module=module, name=name, type_args=tuple(type_args))

    @staticmethod
    def parse(text: str) -> MoveType:
        """`u64`, `vector<u8>`, `&mut 0x2::coin::Coin<0x2::sui::SUI>`, `0x1::option::Option<u64>`."""
        toks = tokenize_type(text)
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
        self_address, package_id = normalize_address(self_address), normalize_address(package_id)
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


_TYPE_TOKEN = re.compile(r"\s*(::|<|>|,|&|[A-Za-z0-9_]+)")


def tokenize_type(text: str, error: type[Exception] = SignatureError) -> list[str]:
    """The tokens of a Move type written as text (`&mut 0x2::coin::Coin<0x2::sui::SUI>`)."""
    toks, pos = [], 0
    while pos < len(text):
        m = _TYPE_TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip():
                raise error(f"cannot parse type {text!r} at {text[pos:]!r}")
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


def _move_type(tok: bc.Token, handles: list[tuple[str, str, str]]) -> MoveType:
    """The MoveType of a signature token, datatypes named through `handles`."""
    if type(tok) is str:
        return MoveType(tok)
    kind = tok[0]
    if kind == "vec":
        return MoveType.vector(_move_type(tok[1], handles))
    if kind in ("ref", "mut"):
        return MoveType.ref(_move_type(tok[1], handles), kind == "mut")
    if kind == "tp":
        return MoveType("typeparam", index=tok[1])
    try:
        addr, mod, name = handles[tok[1]]
    except IndexError:
        raise SignatureError(f"datatype handle {tok[1]} out of range") from None
    return MoveType.datatype(addr, mod, name, [_move_type(t, handles) for t in tok[2]])


def parse_module(code: bytes) -> ModuleSignatures:
    """The functions and structs a compiled module defines, and the abilities of every datatype
    it names."""
    try:
        return _signatures_of(bc.CompiledModule(code))
    except (bc.BytecodeError, IndexError) as exc:
        raise SignatureError(f"not a readable Move module: {exc}") from None


def _signatures_of(m: bc.CompiledModule) -> ModuleSignatures:
    if m.version < 5:
        raise SignatureError(f"Move bytecode version {m.version} is not supported (5 or later)")

    def module(h: bc.ModuleHandle) -> tuple[str, str]:
        addr, name = m.module_at(h)
        return "0x" + addr.hex(), name

    modules = [module(h) for h in m.module_handles]
    self_addr, self_name = modules[m.self_index]
    handles = [(*modules[h.module], m.identifier(h.name)) for h in m.datatype_handles]
    signatures = [tuple(_move_type(t, handles) for t in sig) for sig in m.signatures]

    structs: dict[str, StructLayout] = {}
    for d in m.struct_definitions:
        fields = None
        if d.fields is not None:
            fields = tuple((m.identifier(f.name), _move_type(f.type, handles)) for f in d.fields)
        h = m.datatype_handles[d.handle]
        tparams = tuple((bc.ability_names(tp.constraints), tp.is_phantom) for tp in h.type_parameters)
        addr, mod, name = handles[d.handle]
        structs[name] = StructLayout(addr, mod, name, bc.ability_names(h.abilities), tparams, fields)

    functions: dict[str, FunctionSignature] = {}
    for f in m.function_definitions:
        if f.visibility not in VISIBILITIES:
            raise SignatureError(f"function definition {len(functions)}: unknown visibility {f.visibility}")
        h = m.function_handles[f.handle]
        name = m.identifier(h.name)
        tps = tuple(bc.ability_names(a) for a in h.type_parameters)
        functions[name] = FunctionSignature(self_name, name, VISIBILITIES[f.visibility], f.is_entry, tps,
                                            signatures[h.parameters], signatures[h.returns], f.is_native)

    friends = tuple(module(h) for h in m.friends)
    datatype_abilities = {
        f"{a}::{mod}::{n}": bc.ability_names(h.abilities) for (a, mod, n), h in zip(handles, m.datatype_handles)
    }
    return ModuleSignatures(self_addr, self_name, m.version, functions, structs, datatype_abilities, friends)


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
        addr = normalize_address(addr)
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
        if package_id is not None and ty.address == normalize_address(package_id):
            tag = f"{self.address}::{ty.module}::{ty.name}"
        for mod in [*self.modules.values(), *self.dependencies.values()]:
            if tag in mod.datatype_abilities:
                return mod.datatype_abilities[tag]
        return None

    def own(self, ty: MoveType, package_id: str) -> MoveType:
        """A signature type with the package's bytecode address replaced by `package_id`."""
        return ty.with_self_address(self.address, package_id)


_FRAMEWORK = {normalize_address("0x1"), normalize_address("0x2"), normalize_address("0x3")}


# --- pure values ---------------------------------------------------------------------------------

STRING_TYPES = {
    f"{normalize_address('0x1')}::string::String",
    f"{normalize_address('0x1')}::ascii::String",
}
ID_TYPE = f"{normalize_address('0x2')}::object::ID"
OPTION_TYPE = f"{normalize_address('0x1')}::option::Option"
TX_CONTEXT_TYPE = f"{normalize_address('0x2')}::tx_context::TxContext"
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
        normalize_address("0x6"): MoveType.datatype("0x2", "clock", "Clock"),
        normalize_address("0x8"): MoveType.datatype("0x2", "random", "Random"),
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
        known[normalize_address(oid)] = t if isinstance(t, MoveType) else MoveType.parse(t)
    package_id = normalize_address(package_id)
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
            oid = normalize_address(inp.object_id)
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
        if cname == "MoveCall" and normalize_address(cmd.package) == package_id:
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
