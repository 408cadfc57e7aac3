"""Compiled modules loaded for execution, and the `Loader`: modules by (address, name), signature
tokens resolved to runtime types, struct / enum layouts, callees, and BCS of runtime values.

A `Module` is a `wafl_sui.contract.bytecode.CompiledModule` (the one reader of the format) with
its definitions as the interpreter wants them: `Function`s (code, resolved parameter / return /
local tokens) and `Datatype`s (fields or variants with names), by index and by name."""

from __future__ import annotations

import struct as _struct
from dataclasses import dataclass
from typing import Iterable

from wafl_sui.contract import leb128
from wafl_sui.contract.bytecode import BytecodeError, CompiledModule, modules_in
from wafl_sui.devtools.gas.errors import GasError
from wafl_sui.devtools.gas.types import PRIM_WIDTH, type_str
from wafl_sui.devtools.gas.values import U128, U256, Struct, Variant, Vec


@dataclass
class Function:
    """A function definition of a loaded module, ready to call."""
    handle: int
    name: str
    visibility: int
    is_entry: bool
    is_native: bool
    locals_sig: int
    code: list  # [(instruction name, operand)]
    jump_tables: list  # [(offset of each variant's branch)]
    module: "Module" = None  # type: ignore[assignment]
    params: tuple = ()
    returns: tuple = ()
    type_params: int = 0
    locals: tuple = ()


@dataclass
class Datatype:
    """A struct or enum definition: fields [(name, token)] (struct) or variants [(name, fields)]."""
    handle: int
    name: str
    fields: list | None  # None: native struct
    variants: list | None = None
    module: "Module" = None  # type: ignore[assignment]
    type_params: int = 0
    abilities: int = 0


class Module(CompiledModule):
    """One compiled module, its definitions decoded for execution."""

    def __init__(self, code: bytes):
        try:
            super().__init__(code)
            self.structs = [self._datatype(d.handle, self._named(d.fields), None) for d in self.struct_definitions]
            self.enums = [self._datatype(d.handle, None, [(self.identifier(v.name), self._named(v.fields))
                                                          for v in d.variants]) for d in self.enum_definitions]
            self.functions = [self._function(d) for d in self.function_definitions]
        except (BytecodeError, IndexError) as e:
            raise GasError(f"not a readable Move module: {e}") from None
        self.function_by_name = {f.name: f for f in self.functions}
        self.datatype_by_name = {d.name: d for d in self.structs + self.enums}

    def _named(self, fields) -> list | None:
        return None if fields is None else [(self.identifier(f.name), f.type) for f in fields]

    def _datatype(self, handle: int, fields, variants) -> Datatype:
        h = self.datatype_handles[handle]
        return Datatype(handle, self.identifier(h.name), fields, variants, self, len(h.type_parameters), h.abilities)

    def _function(self, d) -> Function:
        h = self.function_handles[d.handle]
        sigs = self.signatures
        if d.code is None:
            return Function(d.handle, self.identifier(h.name), d.visibility, d.is_entry, True, 0, [], [], self,
                            sigs[h.parameters], sigs[h.returns], len(h.type_parameters), ())
        return Function(d.handle, self.identifier(h.name), d.visibility, d.is_entry, False, d.code.locals,
                        list(d.code.instructions), [t.offsets for t in d.code.jump_tables], self,
                        sigs[h.parameters], sigs[h.returns], len(h.type_parameters), sigs[d.code.locals])


class Loader:
    """Modules by (address, name); type resolution; struct layouts; compiled code."""

    def __init__(self, modules: Iterable[Module]):
        self.modules: dict[tuple[bytes, str], Module] = {}
        for m in modules:
            self.modules[(m.address, m.name)] = m
        self._tcache: dict = {}
        self._fcache: dict = {}

    def module(self, addr: bytes, name: str) -> Module:
        try:
            return self.modules[(addr, name)]
        except KeyError:
            raise GasError(f"module 0x{addr.hex().lstrip('0') or '0'}::{name} is not loaded") from None

    def resolve(self, mod: Module, tok, targs: tuple = ()):
        key = (id(mod), tok, targs)
        r = self._tcache.get(key)
        if r is not None:
            return r
        r = self._resolve(mod, tok, targs)
        self._tcache[key] = r
        return r

    def _resolve(self, mod, tok, targs):
        if type(tok) is str:
            return tok
        k = tok[0]
        if k == "vec":
            return ("vec", self._resolve(mod, tok[1], targs))
        if k == "tp":
            return targs[tok[1]]
        if k == "dt":
            h = mod.datatype_handles[tok[1]]
            addr, mname = mod.handle_module(h.module)
            return ("S", addr, mname, mod.identifiers[h.name], tuple(self._resolve(mod, a, targs) for a in tok[2]))
        if k in ("ref", "mut"):
            return (k, self._resolve(mod, tok[1], targs))
        raise GasError(f"bad token {tok}")

    def datatype(self, ty) -> Datatype:
        m = self.module(ty[1], ty[2])
        try:
            return m.datatype_by_name[ty[3]]
        except KeyError:
            raise GasError(f"no datatype {type_str(ty)}") from None

    def fields(self, ty) -> list:
        """[(name, runtime type)] of struct type `ty`."""
        key = ("fields", ty)
        r = self._tcache.get(key)
        if r is None:
            d = self.datatype(ty)
            if d.fields is None:
                raise GasError(f"{type_str(ty)} is not a struct with fields")
            r = [(n, self.resolve(d.module, t, ty[4])) for n, t in d.fields]
            self._tcache[key] = r
        return r

    def variants(self, ty) -> list:
        key = ("variants", ty)
        r = self._tcache.get(key)
        if r is None:
            d = self.datatype(ty)
            r = [(vn, [(n, self.resolve(d.module, t, ty[4])) for n, t in fs]) for vn, fs in d.variants]
            self._tcache[key] = r
        return r

    def function(self, addr: bytes, module: str, name: str) -> Function:
        m = self.module(addr, module)
        try:
            return m.function_by_name[name]
        except KeyError:
            raise GasError(f"no function {module}::{name}") from None

    def callee(self, mod: Module, handle_idx: int) -> Function:
        key = (id(mod), handle_idx)
        f = self._fcache.get(key)
        if f is None:
            h = mod.function_handles[handle_idx]
            addr, mname = mod.handle_module(h.module)
            f = self.function(addr, mname, mod.identifiers[h.name])
            self._fcache[key] = f
        return f

    # ----------------------------------------------------------------------------- BCS
    def decode(self, ty, b: bytes, i: int = 0):
        if type(ty) is str:
            if ty == "u64":
                return int.from_bytes(b[i : i + 8], "little"), i + 8
            if ty == "address":
                return bytes(b[i : i + 32]), i + 32
            if ty == "bool":
                return b[i] == 1, i + 1
            if ty == "u8":
                return b[i], i + 1
            if ty == "u16":
                return int.from_bytes(b[i : i + 2], "little"), i + 2
            if ty == "u32":
                return int.from_bytes(b[i : i + 4], "little"), i + 4
            if ty == "u128":
                return U128(int.from_bytes(b[i : i + 16], "little")), i + 16
            if ty == "u256":
                return U256(int.from_bytes(b[i : i + 32], "little")), i + 32
            raise GasError(f"cannot decode {ty}")
        k = ty[0]
        if k == "vec":
            n, i = leb128.decode(b, i)
            et = ty[1]
            if et == "u8":
                return Vec("u8", list(b[i : i + n])), i + n
            if et == "u32":
                return Vec("u32", list(_struct.unpack_from(f"<{n}I", b, i))), i + 4 * n
            if et == "u64":
                return Vec("u64", list(_struct.unpack_from(f"<{n}Q", b, i))), i + 8 * n
            out = []
            for _ in range(n):
                v, i = self.decode(et, b, i)
                out.append(v)
            return Vec(et, out), i
        d = self.datatype(ty)
        if d.fields is not None:
            out = []
            for _, ft in self.fields(ty):
                v, i = self.decode(ft, b, i)
                out.append(v)
            return Struct(out), i
        tag, i = leb128.decode(b, i)
        out = []
        for _, ft in self.variants(ty)[tag][1]:
            v, i = self.decode(ft, b, i)
            out.append(v)
        return Variant(tag, out), i

    def encode(self, ty, v) -> bytes:
        out = bytearray()
        self._enc(ty, v, out)
        return bytes(out)

    def _enc(self, ty, v, out: bytearray) -> None:
        if type(ty) is str:
            if ty == "address":
                out += v
            elif ty == "bool":
                out.append(1 if v else 0)
            else:
                out += int(v).to_bytes(PRIM_WIDTH[ty], "little")
            return
        if ty[0] == "vec":
            out += leb128.encode(len(v.v))
            et = ty[1]
            if et == "u8":
                out += bytes(v.v)
            elif et == "u32":
                out += _struct.pack(f"<{len(v.v)}I", *v.v)
            elif et == "u64":
                out += _struct.pack(f"<{len(v.v)}Q", *v.v)
            else:
                for x in v.v:
                    self._enc(et, x, out)
            return
        d = self.datatype(ty)
        if d.fields is not None:
            for (_, ft), x in zip(self.fields(ty), v.f):
                self._enc(ft, x, out)
            return
        out += leb128.encode(v.tag)
        for (_, ft), x in zip(self.variants(ty)[v.tag][1], v.f):
            self._enc(ft, x, out)


def framework_modules() -> list[Module]:
    """The Move stdlib and Sui framework modules inside the sui-sandbox wheel (parsed once)."""
    global _FRAMEWORK
    if _FRAMEWORK is None:
        from wafl_sui.contract.stubs import _sandbox_library

        mods = {}
        for code in modules_in(_sandbox_library().read_bytes()):
            try:
                m = Module(code)
            except Exception:  # not needed here (e.g. tables this reader does not decode)
                continue
            if m.address[:-1] == bytes(31) and m.address[-1] in (1, 2):
                mods[(m.address, m.name)] = m
        _FRAMEWORK = list(mods.values())
    return _FRAMEWORK


_FRAMEWORK: list[Module] | None = None
