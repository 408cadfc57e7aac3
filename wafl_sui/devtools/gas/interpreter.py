"""The Move bytecode interpreter: each function of a loaded module compiled once to a compact
op list, then executed with every step charged to a `Meter` (profile "sui": as `SuiGasMeter`
at gas model 11; "sandbox": as sui-sandbox's AccurateGasMeter, for checking the instruction
stream against its Move VM). Natives are dispatched to `natives.NATIVES`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wafl_sui.devtools.gas.errors import GasError, MoveAbortError, NativeAbort
from wafl_sui.devtools.gas.loader import Function, Loader
from wafl_sui.devtools.gas.meter import Meter
from wafl_sui.devtools.gas.natives import NATIVES
from wafl_sui.devtools.gas.values import U128, U256, Ref, Struct, Variant, Vec, abstract_size, copy_value, values_equal

if TYPE_CHECKING:
    from wafl_sui.devtools.gas.runtime import Runtime

(OP_COPY, OP_MOVE, OP_ST, OP_LDI, OP_BRF, OP_BRT, OP_BR, OP_ADD, OP_LT, OP_VBORROW, OP_READ, OP_BORROWLOC,
 OP_BORROWF, OP_CALL, OP_RET, OP_SUB, OP_CMP, OP_VLEN, OP_WRITE, OP_POP, OP_PUSHB, OP_CAST, OP_ARITH,
 OP_BITS, OP_SHIFT, OP_BOOL, OP_NOT, OP_EQ, OP_NEQ, OP_LDCONST, OP_LDBOOL, OP_PACK, OP_UNPACK, OP_FREEZE,
 OP_VPACK, OP_VPOP, OP_VUNPACK, OP_VSWAP, OP_ABORT, OP_NOP, OP_PACKV, OP_UNPACKV, OP_UNPACKVREF,
 OP_VSWITCH) = range(44)

_U64 = (1 << 64) - 1
_U128 = (1 << 128) - 1
_U256 = (1 << 256) - 1
_MASK = {"u8": 0xFF, "u16": 0xFFFF, "u32": 0xFFFFFFFF, "u64": _U64}

#: Instructions compiled to (op, their operand, None) ...
_WITH_OPERAND = {"CopyLoc": OP_COPY, "MoveLoc": OP_MOVE, "StLoc": OP_ST, "LdU8": OP_LDI, "LdU16": OP_LDI,
                 "LdU32": OP_LDI, "LdU64": OP_LDI, "BrFalse": OP_BRF, "BrTrue": OP_BRT, "Branch": OP_BR,
                 "ImmBorrowLoc": OP_BORROWLOC, "MutBorrowLoc": OP_BORROWLOC}
#: ... to (op, None, None) ...
_PLAIN = {"Add": OP_ADD, "Sub": OP_SUB, "Lt": OP_LT, "Not": OP_NOT, "Eq": OP_EQ, "Neq": OP_NEQ,
          "VecImmBorrow": OP_VBORROW, "VecMutBorrow": OP_VBORROW, "VecLen": OP_VLEN, "VecPushBack": OP_PUSHB,
          "VecPopBack": OP_VPOP, "VecSwap": OP_VSWAP, "ReadRef": OP_READ, "WriteRef": OP_WRITE, "Ret": OP_RET,
          "Pop": OP_POP, "Unpack": OP_UNPACK, "UnpackGeneric": OP_UNPACK, "FreezeRef": OP_FREEZE,
          "Abort": OP_ABORT, "Nop": OP_NOP}
#: ... and to (op, their name, None).
_BY_NAME = {"Mul": OP_ARITH, "Div": OP_ARITH, "Mod": OP_ARITH, "BitOr": OP_BITS, "BitAnd": OP_BITS,
            "Xor": OP_BITS, "Shl": OP_SHIFT, "Shr": OP_SHIFT, "Gt": OP_CMP, "Le": OP_CMP, "Ge": OP_CMP,
            "Or": OP_BOOL, "And": OP_BOOL}


class ArithmeticError_(Exception):
    pass


def _rewrap(a, r):
    ta = type(a)
    if ta is int:
        if r > _U64 or r < 0:
            raise ArithmeticError_()
        return r
    if ta is U256:
        if r > _U256 or r < 0:
            raise ArithmeticError_()
        return U256(r)
    if ta is U128:
        if r > _U128 or r < 0:
            raise ArithmeticError_()
        return U128(r)
    raise ArithmeticError_()


class Interpreter:
    """Executes Move functions of the loaded modules, charging `meter`; natives go to `runtime`."""

    def __init__(self, loader: Loader, runtime: Runtime, meter: Meter, profile: str = "sui"):
        self.loader, self.runtime, self.meter = loader, runtime, meter
        self.profile = profile
        self._compiled: dict[int, list] = {}

    # ------------------------------------------------------------------ compile
    def compiled(self, f: Function) -> list:
        ops = self._compiled.get(id(f))
        if ops is not None:
            return ops
        m = f.module
        L = self.loader
        ops = []
        for name, arg in f.code:
            if name in _WITH_OPERAND:
                ops.append((_WITH_OPERAND[name], arg, None))
            elif name in _PLAIN:
                ops.append((_PLAIN[name], None, None))
            elif name in _BY_NAME:
                ops.append((_BY_NAME[name], name, None))
            elif name == "LdU128":
                ops.append((OP_LDI, U128(arg), None))
            elif name == "LdU256":
                ops.append((OP_LDI, U256(arg), None))
            elif name == "VecPack":
                sig, n = arg
                ops.append((OP_VPACK, n, m.signatures[sig][0]))
            elif name == "VecUnpack":
                ops.append((OP_VUNPACK, arg[1], None))
            elif name in ("ImmBorrowField", "MutBorrowField"):
                ops.append((OP_BORROWF, m.field_handles[arg].field, None))
            elif name in ("ImmBorrowFieldGeneric", "MutBorrowFieldGeneric"):
                fh = m.field_instantiations[arg].generic
                ops.append((OP_BORROWF, m.field_handles[fh].field, None))
            elif name == "Call":
                callee = L.callee(m, arg)
                ops.append((OP_CALL, callee, None))
            elif name == "CallGeneric":
                h, sig = m.function_instantiations[arg]
                callee = L.callee(m, h)
                ops.append((OP_CALL, callee, m.signatures[sig]))
            elif name in ("CastU8", "CastU16", "CastU32", "CastU64", "CastU128", "CastU256"):
                ops.append((OP_CAST, name[4:].lower(), None))
            elif name == "LdConst":
                const = m.constants[arg]
                ty = L.resolve(m, const.type)
                ops.append((OP_LDCONST, L.decode(ty, const.value)[0], len(const.value)))
            elif name in ("LdTrue", "LdFalse"):
                ops.append((OP_LDBOOL, name == "LdTrue", None))
            elif name == "Pack":
                d = m.structs[arg]
                ops.append((OP_PACK, len(d.fields or ()), None))
            elif name == "PackGeneric":
                d = m.structs[m.struct_instantiations[arg].generic]
                ops.append((OP_PACK, len(d.fields or ()), None))
            elif name in ("PackVariant", "PackVariantGeneric", "UnpackVariant", "UnpackVariantGeneric",
                          "UnpackVariantImmRef", "UnpackVariantMutRef", "UnpackVariantGenericImmRef",
                          "UnpackVariantGenericMutRef"):
                if "Generic" in name:
                    ed_inst, tag = m.variant_instantiations[arg]
                    ed = m.enum_instantiations[ed_inst].generic
                else:
                    ed, tag = m.variant_handles[arg]
                nf = len(m.enums[ed].variants[tag][1])
                if name.startswith("Pack"):
                    ops.append((OP_PACKV, tag, nf))
                elif name.endswith("Ref"):
                    ops.append((OP_UNPACKVREF, tag, nf))
                else:
                    ops.append((OP_UNPACKV, tag, nf))
            elif name == "VariantSwitch":
                ops.append((OP_VSWITCH, f.jump_tables[arg], None))
            else:
                raise GasError(f"unsupported bytecode {name}")
        self._compiled[id(f)] = ops
        return ops

    # ------------------------------------------------------------------ run
    def run(self, f: Function, targs: tuple, args: list) -> list:
        """Execute `f` with `args` (already values); the return values."""
        sb = self.profile == "sandbox"
        m = self.meter
        if f.is_native:
            m.charge(1, 0, len(args), 0)
            return self._native(f, targs, list(args))
        L = self.loader
        charge = m.charge
        # Per-profile charges. "sui": SuiGasMeter at gas model 11 (sizes from the values).
        # "sandbox": sui-sandbox 0.22's AccurateGasMeter (16 bytes for every value, its own
        # pushes/pops), used only to check the instruction stream against the real Move VM.
        K = 16 if sb else 8  # size of an integer / bool value copied, read or written
        LD = 16 if sb else 1  # push size of loads, arithmetic, comparisons, casts
        MV_POPS, MV_INCR = (1, 16) if sb else (0, 8)
        BR_POPS = 0 if sb else 1
        CALL_INCR = 2 if sb else 0
        size = (lambda v: 16) if sb else abstract_size
        stack: list = []
        push = stack.append
        pop = stack.pop
        frames: list = []
        ops = self.compiled(f)
        locs = list(args) + [None] * len(f.locals)
        pc = 0
        cur, cur_targs = f, targs
        try:
            while True:
                op, a, b = ops[pc]
                if op == OP_COPY:
                    v = locs[a]
                    tv = type(v)
                    if tv is int or tv is bool:
                        charge(1, 1, 0, K)
                    elif tv is Ref:
                        charge(1, 1, 0, 16 if sb else 8)
                    else:
                        v = copy_value(v)
                        charge(1, 1, 0, size(v))
                    push(v)
                    pc += 1
                elif op == OP_MOVE:
                    push(locs[a])
                    locs[a] = None
                    charge(1, 1, MV_POPS, MV_INCR)
                    pc += 1
                elif op == OP_ST:
                    locs[a] = pop()
                    charge(1, 0, 1, 0)
                    pc += 1
                elif op == OP_LDI:
                    charge(1, 1, 0, LD)
                    push(a)
                    pc += 1
                elif op == OP_BRF:
                    charge(1, 0, BR_POPS, 0)
                    pc = pc + 1 if pop() else a
                elif op == OP_BRT:
                    charge(1, 0, BR_POPS, 0)
                    pc = a if pop() else pc + 1
                elif op == OP_BR:
                    charge(1, 0, 0, 0)
                    pc = a
                elif op == OP_ADD:
                    y = pop()
                    x = pop()
                    charge(1, 1, 2, LD)
                    r = x + y
                    if type(x) is int:
                        if r > _U64:
                            raise ArithmeticError_()
                        push(r)
                    else:
                        push(_rewrap(x, r))
                    pc += 1
                elif op == OP_SUB:
                    y = pop()
                    x = pop()
                    charge(1, 1, 2, LD)
                    r = x - y
                    if r < 0:
                        raise ArithmeticError_()
                    push(r if type(x) is int else _rewrap(x, r))
                    pc += 1
                elif op == OP_LT:
                    y = pop()
                    x = pop()
                    charge(1, 1, 2, LD)
                    push(x < y)
                    pc += 1
                elif op == OP_CMP:
                    y = pop()
                    x = pop()
                    charge(1, 1, 2, LD)
                    push(x > y if a == "Gt" else (x <= y if a == "Le" else x >= y))
                    pc += 1
                elif op == OP_VBORROW:
                    idx = pop()
                    r = pop()
                    charge(1, 1, 2, 8)
                    vec = r.c[r.i]
                    if idx >= len(vec.v):
                        raise MoveAbortError(cur.module.name, 0x20001, f"{cur.name}: vector index out of bounds")
                    push(Ref(vec.v, idx))
                    pc += 1
                elif op == OP_READ:
                    r = pop()
                    v = r.c[r.i]
                    tv = type(v)
                    if tv is int or tv is bool:
                        charge(1, 1, 1, K)
                    else:
                        v = copy_value(v)
                        charge(1, 1, 1, size(v))
                    push(v)
                    pc += 1
                elif op == OP_BORROWLOC:
                    charge(1, 1, 0, 8)
                    push(Ref(locs, a))
                    pc += 1
                elif op == OP_BORROWF:
                    r = pop()
                    charge(1, 1, 1, 8)
                    push(Ref(r.c[r.i].f, a))
                    pc += 1
                elif op == OP_CALL:
                    callee = a
                    n = len(callee.params)
                    ctargs = tuple(L.resolve(cur.module, t, cur_targs) for t in b) if b is not None else ()
                    charge(1, 0, n, CALL_INCR + (16 * len(ctargs) if sb else 0))  # charge_call(_generic)
                    if n:
                        args_ = stack[-n:]
                        del stack[-n:]
                    else:
                        args_ = []
                    if callee.is_native:
                        if not sb:
                            charge(1, 0, n, 0)  # charge_native_function_before_execution (gas model <= 13)
                        stack.extend(self._native(callee, ctargs, args_))
                        pc += 1
                    else:
                        frames.append((cur, cur_targs, ops, locs, pc))
                        cur, cur_targs = callee, ctargs
                        ops = self.compiled(callee)
                        locs = args_ + [None] * len(callee.locals)
                        pc = 0
                elif op == OP_RET:
                    charge(1, 0, 0, 0)
                    if sb:  # AccurateGasMeter::charge_drop_frame
                        charge(1, 0, sum(1 for x in locs if x is not None and type(x) is not Ref), 0)
                    if not frames:
                        return stack
                    cur, cur_targs, ops, locs, pc = frames.pop()
                    pc += 1
                elif op == OP_VLEN:
                    r = pop()
                    charge(1, 1, 1, LD)
                    push(len(r.c[r.i].v))
                    pc += 1
                elif op == OP_WRITE:
                    r = pop()
                    v = pop()
                    if sb:
                        charge(1, 0, 2, 0)
                    else:
                        tv = type(v)
                        charge(1, 1, 2, 8 if (tv is int or tv is bool) else abstract_size(v))
                    r.c[r.i] = v
                    pc += 1
                elif op == OP_POP:
                    pop()
                    charge(1, 0, 1, 0)
                    pc += 1
                elif op == OP_PUSHB:
                    v = pop()
                    r = pop()
                    charge(1, 0, 2, 0)
                    r.c[r.i].v.append(v)
                    pc += 1
                elif op == OP_CAST:
                    v = pop()
                    charge(1, 1, 1, LD)
                    v = int(v)
                    if a == "u256":
                        push(U256(v))
                    elif a == "u128":
                        if v > _U128:
                            raise ArithmeticError_()
                        push(U128(v))
                    else:
                        if v > _MASK[a]:
                            raise ArithmeticError_()
                        push(v)
                    pc += 1
                elif op == OP_ARITH:
                    y = pop()
                    x = pop()
                    charge(1, 1, 2, LD)
                    if a == "Mul":
                        push(_rewrap(x, x * y))
                    else:
                        if y == 0:
                            raise ArithmeticError_()
                        r = x // y if a == "Div" else x % y
                        push(r if type(x) is int else type(x)(r))
                    pc += 1
                elif op == OP_BITS:
                    y = pop()
                    x = pop()
                    charge(1, 1, 2, LD)
                    r = x | y if a == "BitOr" else (x & y if a == "BitAnd" else x ^ y)
                    push(r if type(x) is int else type(x)(r))
                    pc += 1
                elif op == OP_SHIFT:
                    y = pop()
                    x = pop()
                    charge(1, 1, 2, LD)
                    tx = type(x)
                    bits = 256 if tx is U256 else (128 if tx is U128 else 64)
                    if y >= bits:
                        raise ArithmeticError_()
                    if a == "Shl":
                        r = (x << y) & ((1 << bits) - 1)
                    else:
                        r = x >> y
                    push(r if tx is int else tx(r))
                    pc += 1
                elif op == OP_BOOL:
                    y = pop()
                    x = pop()
                    charge(1, 1, 2, LD)
                    push((x or y) if a == "Or" else (x and y))
                    pc += 1
                elif op == OP_NOT:
                    charge(1, 1, 1, LD)
                    push(not pop())
                    pc += 1
                elif op == OP_EQ or op == OP_NEQ:
                    y = pop()
                    x = pop()
                    charge(1, 1, 2, 16 if sb else 1 + abstract_size(x, True) + abstract_size(y, True))
                    e = values_equal(x, y)
                    push(e if op == OP_EQ else not e)
                    pc += 1
                elif op == OP_LDCONST:
                    charge(1, 1, 0, b)
                    push(copy_value(a))
                    pc += 1
                elif op == OP_LDBOOL:
                    charge(1, 1, 0, LD)
                    push(a)
                    pc += 1
                elif op == OP_PACK:
                    charge(1, 1, a, 2)
                    if a:
                        fs = stack[-a:]
                        del stack[-a:]
                    else:
                        fs = []
                    push(Struct(fs))
                    pc += 1
                elif op == OP_UNPACK:
                    s_ = pop()
                    nf = len(s_.f)
                    charge(1, nf, 1, 16 * nf if sb else 0)
                    stack.extend(s_.f)
                    pc += 1
                elif op == OP_FREEZE:
                    charge(1, 1, 1, 8)
                    pc += 1
                elif op == OP_VPACK:
                    charge(1, 1, a, 8)
                    if a:
                        es = stack[-a:]
                        del stack[-a:]
                    else:
                        es = []
                    push(Vec(L.resolve(cur.module, b, cur_targs), es))
                    pc += 1
                elif op == OP_VPOP:
                    r = pop()
                    charge(1, 1, 1, 16 if sb else 0)
                    vec = r.c[r.i]
                    if not vec.v:
                        raise MoveAbortError(cur.module.name, 0x20000, f"{cur.name}: pop from empty vector")
                    push(vec.v.pop())
                    pc += 1
                elif op == OP_VUNPACK:
                    vec = pop()
                    charge(1, a, 1, 16 * a if sb else 0)
                    if len(vec.v) != a:
                        raise MoveAbortError(cur.module.name, 0x20002, f"{cur.name}: vector unpack length")
                    stack.extend(vec.v)
                    pc += 1
                elif op == OP_VSWAP:
                    j = pop()
                    i = pop()
                    r = pop()
                    if sb:
                        charge(1, 0, 3, 0)
                    else:
                        charge(1, 1, 1, 0)
                    vv = r.c[r.i].v
                    if i >= len(vv) or j >= len(vv):
                        raise MoveAbortError(cur.module.name, 0x20001, f"{cur.name}: swap out of bounds")
                    vv[i], vv[j] = vv[j], vv[i]
                    pc += 1
                elif op == OP_ABORT:
                    code = pop()
                    charge(1, 0, 1, 0)
                    raise MoveAbortError(cur.module.name, code, cur.name)
                elif op == OP_NOP:
                    charge(1, 0, 0, 0)
                    pc += 1
                elif op == OP_PACKV:
                    charge(1, 1, b, 2)
                    if b:
                        fs = stack[-b:]
                        del stack[-b:]
                    else:
                        fs = []
                    push(Variant(a, fs))
                    pc += 1
                elif op == OP_UNPACKV:
                    v = pop()
                    nf = len(v.f)
                    charge(1, nf, 1, 16 * nf if sb else 0)
                    if v.tag != a:
                        raise MoveAbortError(cur.module.name, 0x20003, f"{cur.name}: variant mismatch")
                    stack.extend(v.f)
                    pc += 1
                elif op == OP_UNPACKVREF:
                    r = pop()
                    v = r.c[r.i]
                    if v.tag != a:
                        raise MoveAbortError(cur.module.name, 0x20003, f"{cur.name}: variant mismatch")
                    nf = len(v.f)
                    charge(1, nf, 1, 16 * nf if sb else 0)
                    stack.extend(Ref(v.f, k) for k in range(nf))
                    pc += 1
                elif op == OP_VSWITCH:
                    r = pop()
                    charge(1, 0, 0 if sb else 1, 0)
                    pc = a[r.c[r.i].tag]
                else:  # pragma: no cover
                    raise GasError(f"opcode {op} not implemented")
        except ArithmeticError_:
            raise MoveAbortError(cur.module.name, -1, f"{cur.name}: arithmetic error (ARITHMETIC_ERROR)") from None

    # ------------------------------------------------------------------ natives
    def _native(self, f: Function, targs: tuple, args: list) -> list:
        key = (f.module.address, f.module.name, f.name)
        impl = NATIVES.get((f.module.address[-1], f.module.name, f.name)) if f.module.address[:-1] == bytes(31) else None
        if impl is None:
            raise GasError(f"native {f.module.name}::{f.name} is not modeled (0x{key[0].hex().lstrip('0')})")
        try:
            cost, rets = impl(self, targs, args)
        except NativeAbort as e:
            self._native_charge(e.cost, [])
            raise MoveAbortError(f.module.name, e.code, f.name) from None
        self._native_charge(cost, rets)
        return rets

    def _native_charge(self, cost: int, rets: list) -> None:
        if self.profile == "sandbox":  # AccurateGasMeter: the native's cost only
            self.meter.natives += 1
            self.meter.native_internal += cost
            self.meter.deduct(cost)
        else:
            self.meter.native_result(cost, rets)
