"""Values of the interpreter: integers (u8..u64 as int, `U128`, `U256`), bool, addresses (32
bytes), `Vec`, `Struct`, `Variant` and `Ref`; copying, equality, and the Move VM's abstract
memory size the meter charges for."""

from __future__ import annotations

from wafl_sui.devtools.gas.errors import GasError
from wafl_sui.devtools.gas.types import PRIM_WIDTH


class U128(int):
    """A u128 value (the VM sizes it 16 bytes)."""
    __slots__ = ()


class U256(int):
    """A u256 value (32 bytes)."""
    __slots__ = ()


class Vec:
    """A vector: `et` its runtime element type, `v` the Python list of elements."""
    __slots__ = ("et", "v")

    def __init__(self, et, v):
        self.et, self.v = et, v

    def __repr__(self):
        return f"Vec({self.et!r}, {self.v!r})"


class Struct:
    __slots__ = ("f",)

    def __init__(self, f):
        self.f = f

    def __repr__(self):
        return f"Struct({self.f!r})"


class Variant:
    __slots__ = ("tag", "f")

    def __init__(self, tag, f):
        self.tag, self.f = tag, f


class Ref:
    """A reference: the value is `c[i]` (a frame's locals, a struct's fields, a vector's
    elements, or a one-slot holder of a global object)."""
    __slots__ = ("c", "i")

    def __init__(self, c, i):
        self.c, self.i = c, i


def copy_value(v):
    t = type(v)
    if t is Vec:
        if type(v.et) is str:
            return Vec(v.et, v.v[:])
        return Vec(v.et, [copy_value(x) for x in v.v])
    if t is Struct:
        return Struct([copy_value(x) for x in v.f])
    if t is Variant:
        return Variant(v.tag, [copy_value(x) for x in v.f])
    return v


def abstract_size(v, traverse: bool = False) -> int:
    """The Move VM's `abstract_memory_size` (SizeConfig include_vector_size = true)."""
    t = type(v)
    if t is int or t is bool:
        return 8
    if t is bytes:
        return 32
    if t is U256:
        return 32
    if t is U128:
        return 16
    if t is Vec:
        et = v.et
        if type(et) is str:
            return 2 + PRIM_WIDTH[et] * len(v.v)
        return 2 + sum(abstract_size(x) for x in v.v)
    if t is Struct or t is Variant:
        return 2 + sum(abstract_size(x) for x in v.f)
    if t is Ref:
        return 8 + (abstract_size(v.c[v.i]) if traverse else 0)
    raise GasError(f"no size for {t}")


def values_equal(a, b) -> bool:
    ta = type(a)
    if ta is Ref:
        a = a.c[a.i]
        ta = type(a)
    if type(b) is Ref:
        b = b.c[b.i]
    if ta is Vec:
        return len(a.v) == len(b.v) and all(values_equal(x, y) for x, y in zip(a.v, b.v))
    if ta is Struct:
        return all(values_equal(x, y) for x, y in zip(a.f, b.f))
    if ta is Variant:
        return a.tag == b.tag and all(values_equal(x, y) for x, y in zip(a.f, b.f))
    return a == b
