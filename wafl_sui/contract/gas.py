"""Gas of the WaFL Move package under Sui's gas schedule, measured offline.

No Sui node or CLI is needed. `measure(...)` runs one Move call (or a programmable transaction
of several calls) of the built package in a small Move bytecode interpreter that lives in this
module, and charges every step to a replica of Sui's Move gas meter (`GasStatus` of
`sui-types/src/gas_model/tables.rs` driven the way `sui-adapter`'s `SuiGasMeter` drives it at
gas model version 11, cost table v5). What is counted, exactly:

* instructions: one per bytecode executed (a `Call` of a native counts twice: the VM's
  `charge_call` + `charge_native_function_before_execution`, gas model <= 13), as the meter
  counts them; past 700 native calls Sui adds each native's own cost to the instruction count
  ("virtual instructions", reported apart as `virtual_instructions`; the tiers use the sum).
* stack height and stack size: pushes and the abstract memory size (Move VM `abstract_memory_size`,
  gas model >= 8 sizes: 8 bytes per integer < u128 and per bool, 16 / 32 for u128 / u256, 32 per
  address, 2 per struct or vector header, packed bytes for vectors of primitives) of every value
  the meter is told about. Sui never decreases the stack size it charges for, so it is the total
  of bytes pushed; its tiers (x100 per byte past 1 MB) dominate big aggregations.
* natives: the cost formula of each native this package reaches, with the protocol-config
  constants below (Mainnet protocol version 110; `sui::groth16` and `sui::poseidon` included).
* computation units = internal gas / 1000 (Move execution, plus the per-byte read charge of
  input objects and of dynamic-field objects loaded), rounded up as Sui does with
  `gas_rounding_halve_digits` (at least 1000, half the digits kept); a transaction aborts with
  out-of-gas at `max_gas_computation_bucket` = 5,000,000 units.
* storage: the object bytes written (`object_size_for_gas_metering`: BCS contents + type tag + 9,
  + 80 bytes of metadata) x 100 storage units per byte x 76 MIST, and the 99% rebate of objects
  deleted or rewritten.

The interpreter implements every bytecode of Move binary format v6/v7 and the natives reached by
this package (object, tx_context, transfer, event, dynamic_field, bcs, address, hash, vector,
string utf8, poseidon, groth16). The Groth16 pairing check itself is not computed: `verify_groth16_proof`
returns `accept_proofs` (True: the measured path is an accepted update); its *cost* is Sui's.
Poseidon is computed for real (`wafl_sui.protocol.poseidon`). Integer overflow of u8..u64
arithmetic is checked at 64 bits only (the package never overflows on its accepted paths; the
state each measured call leaves is checked against the Move VM of sui-sandbox by the tests).

The interpreter's results were checked against the Move VM of sui-sandbox: the same return
values and object bytes (task submit / aggregate with stand-ins for the two natives it lacks),
and, metered with the sandbox's own meter (`profile="sandbox"`), exactly its `gas_used` (see
tests/test_gas.py).

API
  measure(module, function, args, type_args=(), *, build | modules, objects, child_objects,
          sender, now_ms, budget_units, profile, sandbox) -> GasReport
      one call, arguments as the sui-sandbox harness takes them (`objects` first, then pure
      `(type, value)` args); `sandbox=True` also records sui-sandbox's raw `gas_used`.
  Chain(build).call(module, function, args, ...) / .ptb([MoveCall(...), ...]) -> GasReport
      an offline ledger: objects persist between transactions; `Obj(id)`, `Res(i, j)` arguments.
  TaskFlow(chain, spec, rule, quorum=...): create() / submit() / fill(n) / aggregate() /
      discard() -> the WaFL entry functions with the API the built package has.
  GasReport: instructions, native_calls, internal_gas, computation_units (charged), stack
      bytes, storage_written_bytes / storage_rebated_bytes, storage_cost_mist /
      storage_rebate_mist, total_mist(gas_price), events, returns, sandbox_gas_used.
  Pure: instruction_cost(n) / instruction_units(n) (the tier arithmetic), tier_lookup,
      round_units, computation_units(internal), storage_units(bytes), rebate_mist, mist(...),
      sui(mist); constants INSTRUCTION_TIERS, STACK_SIZE_TIERS, ..., NATIVE_COSTS.
See benchmarks/bench_gas.py and benchmarks/GAS.md for the measured figures.
"""

from __future__ import annotations

import hashlib
import struct as _struct
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from wafl_sui.contract import leb128
from wafl_sui.errors import WaflError

# =============================================================================================
# Sui's gas schedule (documented constants)
# =============================================================================================
#: `initial_cost_schedule_v5` (sui-types gas_model/tables.rs; gas model versions >= 8):
#: (tier start, multiplier). The multiplier applies once the running count EXCEEDS the start.
INSTRUCTION_TIERS: tuple[tuple[int, int], ...] = (
    (0, 1), (20_000, 2), (50_000, 10), (100_000, 50), (200_000, 100), (10_000_000, 1000),
)
STACK_HEIGHT_TIERS: tuple[tuple[int, int], ...] = ((0, 1), (1_000, 2), (10_000, 10))
STACK_SIZE_TIERS: tuple[tuple[int, int], ...] = (
    (0, 1), (100_000, 2), (500_000, 5), (1_000_000, 100), (100_000_000, 1000),
)
#: Internal gas per computation unit (`GasStatus::INTERNAL_UNIT_MULTIPLIER`).
INTERNAL_PER_UNIT = 1000
#: Native calls after which a native's cost counts as instructions (`V2_NATIVE_FUNCTION_CALL_THRESHOLD`).
NATIVE_CALL_THRESHOLD = 700
GAS_MODEL_VERSION = 11
PROTOCOL_VERSION = 110
#: Protocol config (Mainnet v110): per-transaction computation cap, rounding, base cost.
MAX_COMPUTATION_UNITS = 5_000_000  # max_gas_computation_bucket
GAS_ROUNDING_STEP = 1000  # gas_rounding_step (superseded by gas_rounding_halve_digits, see round_units)
BASE_TX_COST_FIXED = 1000  # units x gas price = the minimum budget (txn_base_cost_as_multiplier)
OBJ_ACCESS_COST_READ_PER_BYTE = 15  # internal gas per byte of each input object read
OBJ_DATA_COST_REFUNDABLE = 100  # storage units per byte of object stored
STORAGE_REBATE_RATE_BPS = 9900  # the sender gets 99% of a deleted / rewritten object's storage back
#: Prices (MIST; 1 SUI = 1e9 MIST). The reference gas price is set per epoch by validators
#: (750 at the time of writing on Mainnet / sui-sandbox's default); the storage price is a
#: protocol constant (storage_gas_price).
REFERENCE_GAS_PRICE_MIST = 750
STORAGE_PRICE_MIST = 76
MIST_PER_SUI = 1_000_000_000
#: Object metadata counted by `Object::object_size_for_gas_metering`: size_of::<Owner>() (40) +
#: TransactionDigest (32) + u64 (8); a Move object adds its type tag (BCS) + 1 + 8 (version).
OBJECT_METADATA_BYTES = 80
#: Dynamic-field child objects loaded from storage during execution are charged like input
#: objects, obj_access_cost_read_per_byte per byte of the object (an assumption: Sui's object
#: runtime charges loads, `object_runtime_charge_cache_load_gas`, by rules not modelled here).
CHILD_READ_PER_BYTE = OBJ_ACCESS_COST_READ_PER_BYTE

#: Native cost constants (InternalGas), Mainnet protocol v110.
NATIVE_COSTS = {
    "address_from_bytes": 52, "address_to_u256": 52, "address_from_u256": 52,
    "df_hash_base": 52, "df_hash_type_per_byte": 2, "df_hash_value_per_byte": 2, "df_hash_tag_per_byte": 2,
    "df_add_base": 52, "df_add_type_per_byte": 10, "df_add_value_per_byte": 1, "df_add_tag_per_byte": 10,
    "df_borrow_base": 52, "df_borrow_child_per_byte": 1, "df_borrow_type_per_byte": 10,
    "df_remove_base": 52, "df_remove_child_per_byte": 1, "df_remove_type_per_byte": 2,
    "df_has_base": 52, "df_has_ty_base": 52, "df_has_ty_type_per_byte": 2, "df_has_ty_tag_per_byte": 2,
    "event_base": 52, "event_value_per_byte": 2, "event_tag_per_byte": 5, "event_output_per_byte": 10,
    "object_borrow_uid": 52, "object_delete_impl": 52, "object_record_new_uid": 52,
    "transfer_internal": 52, "freeze_object": 52, "share_object": 52, "receive_object": 52,
    "tx_derive_id": 52, "tx_fresh_id": 52, "tx_context_getter": 30,
    "groth16_prepare_bn254": 82010, "groth16_verify_bn254_base": 115502,
    "groth16_verify_bn254_per_input": 9484, "groth16_verify_input_per_byte": 2,
    "groth16_prepare_bls12381": 53838, "groth16_verify_bls12381_base": 72090,
    "groth16_verify_bls12381_per_input": 8213,
    "poseidon_bn254_base": 260, "poseidon_bn254_per_block": 388,
    "blake2b256_base": 10, "blake2b256_per_byte": 2, "blake2b256_per_block": 2,
    "keccak256_base": 10, "keccak256_per_byte": 2, "keccak256_per_block": 2,
    "sha2_256_base": 52, "sha2_256_per_byte": 2, "sha3_256_base": 52, "sha3_256_per_byte": 2,
    "bcs_per_byte": 2, "bcs_legacy_min_output": 1,
    "type_name_get_base": 52, "type_name_get_per_byte": 2,
    "string_check_utf8_base": 52, "string_check_utf8_per_byte": 2,
    "string_is_char_boundary": 52, "string_sub_string_base": 52, "string_sub_string_per_byte": 2,
    "string_index_of_base": 52, "string_index_of_per_byte": 2,
    "vector_base": 52, "vector_reverse_per_elem": 8,
    "debug_print": 52, "crypto_invalid_args": 100,
}


class GasError(WaflError, RuntimeError):
    """The measurement could not be made (unsupported bytecode or native, bad arguments)."""


class OutOfGas(Exception):
    """The call ran past the computation budget (as Sui's OUT_OF_GAS)."""


class MoveAbortError(Exception):
    """The measured call aborted: `module`, `code`, and the partial meter at the abort."""

    def __init__(self, module: str, code: int, where: str):
        super().__init__(f"{module}: abort {code} in {where}")
        self.module, self.code, self.where = module, code, where


# =============================================================================================
# Pure tier arithmetic
# =============================================================================================
def tier_lookup(tiers: Sequence[tuple[int, int]], current: int) -> tuple[int, int | None]:
    """Sui's `CostTable::get_current_and_future_tier`: the multiplier of the tier with the
    largest start <= `current`, and the start of the next tier (> current), if any."""
    mult = tiers[0][1]
    nxt = None
    for start, m in tiers:
        if start <= current:
            mult = m
        else:
            nxt = start
            break
    return mult, nxt


def instruction_cost(n: int, tiers: Sequence[tuple[int, int]] = INSTRUCTION_TIERS) -> int:
    """Internal gas of the first `n` instructions of a transaction counted one at a time:
    instruction k (1-based) costs the multiplier of the tier with the largest start < k."""
    if n < 0:
        raise ValueError("n must be >= 0")
    total = 0
    for idx, (start, mult) in enumerate(tiers):
        end = tiers[idx + 1][0] if idx + 1 < len(tiers) else None
        lo = start  # instructions start+1 .. end are in this tier
        hi = n if end is None else min(n, end)
        if hi > lo:
            total += (hi - lo) * mult
    return total


def instruction_units(n: int) -> float:
    """Computation units of `n` instructions alone (no stack, natives or reads)."""
    return instruction_cost(n) / INTERNAL_PER_UNIT


def round_units(units: int, step: int | None = None) -> int:
    """Sui's rounding of the computation units a transaction is charged. With the protocol
    flag `gas_rounding_halve_digits` (on at v110) it is `half_digits_rounding`: at least 1000,
    else rounded up to keep the leading half of the digits (1001 -> 1010, 711,234 -> 711,300).
    With `step`, the older `gas_rounding_step` rounding: up to the next multiple of `step`
    (a positive exact multiple stays; 0 becomes one step)."""
    if step is not None:
        if units > 0 and units % step == 0:
            return units
        return (units // step + 1) * step
    if units < 1000:
        return 1000
    base = 10 ** ((len(str(units)) - 1) // 2)
    return -(-units // base) * base


def computation_units(internal_gas: int) -> int:
    """Charged computation units of a transaction whose meter used `internal_gas`."""
    return round_units(internal_gas // INTERNAL_PER_UNIT)


def storage_units(object_bytes: int) -> int:
    """Storage units of `object_bytes` bytes of objects (obj_data_cost_refundable per byte)."""
    return object_bytes * OBJ_DATA_COST_REFUNDABLE


def rebate_mist(storage_mist: int) -> int:
    """What the sender gets back of an object's stored `storage_mist` when it is deleted or
    rewritten (`sender_rebate`: 99%, rounded half up)."""
    return (storage_mist * STORAGE_REBATE_RATE_BPS + 5000) // 10000


def mist(units: int = 0, storage_bytes: int = 0, rebate_bytes: int = 0,
         gas_price: int = REFERENCE_GAS_PRICE_MIST, storage_price: int = STORAGE_PRICE_MIST) -> int:
    """Net MIST of `units` computation units at `gas_price` plus `storage_bytes` written at
    `storage_price`, less the rebate of `rebate_bytes` deleted / rewritten (assuming they were
    stored at the same storage price)."""
    comp = units * gas_price
    store = storage_units(storage_bytes) * storage_price
    rebate = rebate_mist(storage_units(rebate_bytes) * storage_price)
    return comp + store - rebate


def sui(mist_amount: int) -> float:
    return mist_amount / MIST_PER_SUI


# =============================================================================================
# Move binary format (v6 / v7): the tables the interpreter needs
# =============================================================================================
_MAGIC = b"\xa1\x1c\xeb\x0b"
(T_MODULE_HANDLES, T_STRUCT_HANDLES, T_FUNCTION_HANDLES, T_FUNCTION_INST, T_SIGNATURES, T_CONSTANTS,
 T_IDENTIFIERS, T_ADDRESS_IDENTIFIERS) = range(1, 9)
T_STRUCT_DEFS, T_STRUCT_DEF_INST, T_FUNCTION_DEFS, T_FIELD_HANDLES, T_FIELD_INST, T_FRIENDS, T_METADATA = range(0xA, 0x11)
T_ENUM_DEFS, T_ENUM_DEF_INST, T_VARIANT_HANDLES, T_VARIANT_INST = range(0x11, 0x15)

PRIMS = {1: "bool", 2: "u8", 3: "u64", 4: "u128", 5: "address", 0xC: "signer", 0xD: "u16", 0xE: "u32", 0xF: "u256"}
#: Bytes of one element of a vector of primitives (`size_of_val` in the VM's size visitor).
PRIM_WIDTH = {"bool": 1, "u8": 1, "u16": 2, "u32": 4, "u64": 8, "u128": 16, "u256": 32, "address": 32, "signer": 32}
INT_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "u128": 128, "u256": 256}

# opcodes -> (name, operand kind)
_OPS = {
    0x01: ("Pop", None), 0x02: ("Ret", None), 0x03: ("BrTrue", "off"), 0x04: ("BrFalse", "off"),
    0x05: ("Branch", "off"), 0x06: ("LdU64", "u64"), 0x07: ("LdConst", "idx"), 0x08: ("LdTrue", None),
    0x09: ("LdFalse", None), 0x0A: ("CopyLoc", "u8"), 0x0B: ("MoveLoc", "u8"), 0x0C: ("StLoc", "u8"),
    0x0D: ("MutBorrowLoc", "u8"), 0x0E: ("ImmBorrowLoc", "u8"), 0x0F: ("MutBorrowField", "idx"),
    0x10: ("ImmBorrowField", "idx"), 0x11: ("Call", "idx"), 0x12: ("Pack", "idx"), 0x13: ("Unpack", "idx"),
    0x14: ("ReadRef", None), 0x15: ("WriteRef", None), 0x16: ("Add", None), 0x17: ("Sub", None),
    0x18: ("Mul", None), 0x19: ("Mod", None), 0x1A: ("Div", None), 0x1B: ("BitOr", None), 0x1C: ("BitAnd", None),
    0x1D: ("Xor", None), 0x1E: ("Or", None), 0x1F: ("And", None), 0x20: ("Not", None), 0x21: ("Eq", None),
    0x22: ("Neq", None), 0x23: ("Lt", None), 0x24: ("Gt", None), 0x25: ("Le", None), 0x26: ("Ge", None),
    0x27: ("Abort", None), 0x28: ("Nop", None), 0x2E: ("FreezeRef", None), 0x2F: ("Shl", None), 0x30: ("Shr", None),
    0x31: ("LdU8", "u8"), 0x32: ("LdU128", "u128"), 0x33: ("CastU8", None), 0x34: ("CastU64", None),
    0x35: ("CastU128", None), 0x36: ("MutBorrowFieldGeneric", "idx"), 0x37: ("ImmBorrowFieldGeneric", "idx"),
    0x38: ("CallGeneric", "idx"), 0x39: ("PackGeneric", "idx"), 0x3A: ("UnpackGeneric", "idx"),
    0x40: ("VecPack", "sig_n"), 0x41: ("VecLen", "idx"), 0x42: ("VecImmBorrow", "idx"), 0x43: ("VecMutBorrow", "idx"),
    0x44: ("VecPushBack", "idx"), 0x45: ("VecPopBack", "idx"), 0x46: ("VecUnpack", "sig_n"), 0x47: ("VecSwap", "idx"),
    0x48: ("LdU16", "u16"), 0x49: ("LdU32", "u32"), 0x4A: ("LdU256", "u256"), 0x4B: ("CastU16", None),
    0x4C: ("CastU32", None), 0x4D: ("CastU256", None), 0x4E: ("PackVariant", "idx"),
    0x4F: ("PackVariantGeneric", "idx"), 0x50: ("UnpackVariant", "idx"), 0x51: ("UnpackVariantImmRef", "idx"),
    0x52: ("UnpackVariantMutRef", "idx"), 0x53: ("UnpackVariantGeneric", "idx"),
    0x54: ("UnpackVariantGenericImmRef", "idx"), 0x55: ("UnpackVariantGenericMutRef", "idx"),
    0x56: ("VariantSwitch", "idx"),
}


class _Reader:
    __slots__ = ("b", "i")

    def __init__(self, b: bytes, i: int = 0):
        self.b, self.i = b, i

    def uleb(self) -> int:
        v, self.i = leb128.decode(self.b, self.i)
        return v

    def u8(self) -> int:
        v = self.b[self.i]
        self.i += 1
        return v

    def fixed(self, n: int) -> int:
        v = int.from_bytes(self.b[self.i : self.i + n], "little")
        self.i += n
        return v

    def raw(self, n: int) -> bytes:
        v = self.b[self.i : self.i + n]
        self.i += n
        return v

    def blob(self) -> bytes:
        return self.raw(self.uleb())


def _token(r: _Reader):
    """A signature token: a primitive name, ("vec", t), ("ref", t), ("mut", t), ("tp", i),
    ("dt", handle, (type args...))."""
    tag = r.u8()
    if tag in PRIMS:
        return PRIMS[tag]
    if tag == 0xA:
        return ("vec", _token(r))
    if tag == 6:
        return ("ref", _token(r))
    if tag == 7:
        return ("mut", _token(r))
    if tag == 8:
        return ("dt", r.uleb(), ())
    if tag == 9:
        return ("tp", r.uleb())
    if tag == 0xB:
        h = r.uleb()
        n = r.uleb()
        return ("dt", h, tuple(_token(r) for _ in range(n)))
    raise GasError(f"unknown signature token {tag:#x}")


@dataclass
class FunctionDef:
    handle: int
    name: str
    visibility: int
    is_entry: bool
    is_native: bool
    locals_sig: int
    code: list  # [(opname, operand)]
    jump_tables: list  # [[offsets]]
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


class Module:
    """One compiled module: its tables, decoded enough to execute it."""

    def __init__(self, code: bytes):
        if code[:4] != _MAGIC:
            raise GasError("not a Move module")
        self.version = int.from_bytes(code[4:8], "little") & 0xFFFFFF
        r = _Reader(code, 8)
        heads = [(r.u8(), r.uleb(), r.uleb()) for _ in range(r.uleb())]
        base = r.i
        tables = {k: (base + off, cnt) for k, off, cnt in heads}
        end = max((off + cnt for _, off, cnt in heads), default=0)
        self_idx = _Reader(code, base + end).uleb()
        self.code_bytes = code

        def items(kind, parse):
            if kind not in tables:
                return []
            start, cnt = tables[kind]
            rr = _Reader(code, start)
            out = []
            while rr.i < start + cnt:
                out.append(parse(rr))
            return out

        self.identifiers = [x.decode() for x in items(T_IDENTIFIERS, lambda rr: rr.blob())]
        self.addresses = items(T_ADDRESS_IDENTIFIERS, lambda rr: rr.raw(32))
        self.module_handles = items(T_MODULE_HANDLES, lambda rr: (rr.uleb(), rr.uleb()))

        def dt_handle(rr):
            mod, name, abilities = rr.uleb(), rr.uleb(), rr.uleb()
            tps = [(rr.uleb(), rr.uleb()) for _ in range(rr.uleb())]
            return (mod, name, abilities, tps)

        self.datatype_handles = items(T_STRUCT_HANDLES, dt_handle)

        def fn_handle(rr):
            mod, name, params, rets = rr.uleb(), rr.uleb(), rr.uleb(), rr.uleb()
            tps = [rr.uleb() for _ in range(rr.uleb())]
            return (mod, name, params, rets, tps)

        self.function_handles = items(T_FUNCTION_HANDLES, fn_handle)
        self.function_insts = items(T_FUNCTION_INST, lambda rr: (rr.uleb(), rr.uleb()))
        self.signatures = items(T_SIGNATURES, lambda rr: tuple(_token(rr) for _ in range(rr.uleb())))
        self.constants = items(T_CONSTANTS, lambda rr: (_token(rr), rr.blob()))
        self.field_handles = items(T_FIELD_HANDLES, lambda rr: (rr.uleb(), rr.uleb()))
        self.field_insts = items(T_FIELD_INST, lambda rr: (rr.uleb(), rr.uleb()))
        self.struct_def_insts = items(T_STRUCT_DEF_INST, lambda rr: (rr.uleb(), rr.uleb()))
        self.enum_def_insts = items(T_ENUM_DEF_INST, lambda rr: (rr.uleb(), rr.uleb()))
        self.variant_handles = items(T_VARIANT_HANDLES, lambda rr: (rr.uleb(), rr.uleb()))
        self.variant_insts = items(T_VARIANT_INST, lambda rr: (rr.uleb(), rr.uleb()))
        mh = self.module_handles[self_idx]
        self.address = self.addresses[mh[0]]
        self.name = self.identifiers[mh[1]]

        def struct_def(rr):
            h = rr.uleb()
            kind = rr.u8()
            fields = None
            if kind == 2:
                fields = [(self.identifiers[rr.uleb()], _token(rr)) for _ in range(rr.uleb())]
            hd = self.datatype_handles[h]
            return Datatype(h, self.identifiers[hd[1]], fields, None, self, len(hd[3]), hd[2])

        self.structs = items(T_STRUCT_DEFS, struct_def)

        def enum_def(rr):
            h = rr.uleb()
            rr.u8()  # declared
            variants = []
            for _ in range(rr.uleb()):
                vname = self.identifiers[rr.uleb()]
                variants.append((vname, [(self.identifiers[rr.uleb()], _token(rr)) for _ in range(rr.uleb())]))
            hd = self.datatype_handles[h]
            return Datatype(h, self.identifiers[hd[1]], None, variants, self, len(hd[3]), hd[2])

        self.enums = items(T_ENUM_DEFS, enum_def)

        def function_def(rr):
            h = rr.uleb()
            vis = rr.u8()
            flags = rr.u8()
            for _ in range(rr.uleb()):  # acquires (legacy)
                rr.uleb()
            native = bool(flags & 0x2)
            locals_sig, code, jts = 0, [], []
            if not native:
                locals_sig = rr.uleb()
                for _ in range(rr.uleb()):
                    op = rr.u8()
                    if op not in _OPS:
                        raise GasError(f"unsupported opcode {op:#x} in {self.name}")
                    name, kind = _OPS[op]
                    if kind is None:
                        arg = None
                    elif kind == "off" or kind == "idx":
                        arg = rr.uleb()
                    elif kind == "u8":
                        arg = rr.u8()
                    elif kind == "u16":
                        arg = rr.fixed(2)
                    elif kind == "u32":
                        arg = rr.fixed(4)
                    elif kind == "u64":
                        arg = rr.fixed(8)
                    elif kind == "u128":
                        arg = rr.fixed(16)
                    elif kind == "u256":
                        arg = rr.fixed(32)
                    else:  # sig_n
                        arg = (rr.uleb(), rr.fixed(8))
                    code.append((name, arg))
                if self.version >= 7:
                    for _ in range(rr.uleb()):
                        rr.uleb()  # head enum
                        rr.u8()  # kind (full)
                        jts.append([rr.uleb() for _ in range(rr.uleb())])
            fh = self.function_handles[h]
            return FunctionDef(h, self.identifiers[fh[1]], vis, bool(flags & 0x4), native, locals_sig, code, jts, self,
                               self.signatures[fh[2]], self.signatures[fh[3]], len(fh[4]),
                               self.signatures[locals_sig] if not native else ())

        self.functions = items(T_FUNCTION_DEFS, function_def)
        self.function_by_name = {f.name: f for f in self.functions}
        self.datatype_by_name = {d.name: d for d in self.structs + self.enums}

    def handle_module(self, handle_module_idx: int) -> tuple[bytes, str]:
        a, n = self.module_handles[handle_module_idx]
        return self.addresses[a], self.identifiers[n]


# =============================================================================================
# Values
# =============================================================================================
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


_MASK = {"u8": 0xFF, "u16": 0xFFFF, "u32": 0xFFFFFFFF, "u64": (1 << 64) - 1}


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


def _type_node_size(ty) -> int:
    """`Type::size()` (legacy: 1 per node, used by natives' per-type charges)."""
    if type(ty) is str:
        return 1
    if ty[0] == "vec":
        return 1 + _type_node_size(ty[1])
    return 1 + sum(_type_node_size(t) for t in ty[4])


# =============================================================================================
# The meter: Sui's GasStatus, charged as SuiGasMeter does at gas model 11
# =============================================================================================
class Meter:
    """Replica of `GasStatus` (tables.rs): tiered instruction / stack-height / stack-size costs."""

    __slots__ = ("left", "budget", "instructions", "height", "height_max", "size", "natives",
                 "im", "inext", "hm", "hnext", "sm", "snext", "native_internal", "read_internal", "virtual")

    def __init__(self, budget_units: int = MAX_COMPUTATION_UNITS):
        self.budget = budget_units * INTERNAL_PER_UNIT
        self.left = self.budget
        self.instructions = self.height = self.height_max = self.size = self.natives = 0
        self.native_internal = self.read_internal = self.virtual = 0
        self.im, self.inext = tier_lookup(INSTRUCTION_TIERS, 0)
        self.hm, self.hnext = tier_lookup(STACK_HEIGHT_TIERS, 0)
        self.sm, self.snext = tier_lookup(STACK_SIZE_TIERS, 0)

    def charge(self, n: int, pushes: int, pops: int, incr: int) -> None:
        if pushes:
            h = self.height + pushes
            self.height = h
            if h > self.height_max:
                self.height_max = h
            if self.hnext is not None and h > self.hnext:
                self.hm, self.hnext = tier_lookup(STACK_HEIGHT_TIERS, h)
        if n:
            c = self.instructions + n
            self.instructions = c
            if self.inext is not None and c > self.inext:
                self.im, self.inext = tier_lookup(INSTRUCTION_TIERS, c)
        if incr:
            s = self.size + incr
            self.size = s
            if self.snext is not None and s > self.snext:
                self.sm, self.snext = tier_lookup(STACK_SIZE_TIERS, s)
        cost = self.im * n + self.sm * incr + self.hm * pushes
        if cost > self.left:
            self.left = 0
            raise OutOfGas()
        self.left -= cost
        if pops:
            self.height = self.height - pops if self.height > pops else 0

    def deduct(self, amount: int) -> None:
        if amount > self.left:
            self.left = 0
            raise OutOfGas()
        self.left -= amount

    def native_result(self, amount: int, rets: list) -> None:
        """`charge_native_function`: return values pushed; the native's own cost."""
        self.natives += 1
        self.native_internal += amount
        size = 0
        for r in rets:
            size += abstract_size(r)
        if self.natives > NATIVE_CALL_THRESHOLD:
            self.virtual += amount
            self.charge(amount, len(rets), 0, size)
        else:
            self.charge(0, len(rets), 0, size)
            self.deduct(amount)

    def read_bytes(self, n: int) -> None:
        """`charge_storage_read`: input object bytes x obj_access_cost_read_per_byte."""
        amount = n * OBJ_ACCESS_COST_READ_PER_BYTE
        self.read_internal += amount
        self.deduct(amount)

    @property
    def used(self) -> int:
        return self.budget - self.left


# simple instructions: (pushes, pops, push size) of get_simple_instruction_stack_change
# (Type::X.size() is 1 for every primitive; references 8).
_SIMPLE = {
    "Nop": (0, 0, 0), "Ret": (0, 0, 0), "BrTrue": (0, 1, 0), "BrFalse": (0, 1, 0), "Branch": (0, 0, 0),
    "LdU8": (1, 0, 1), "LdU16": (1, 0, 1), "LdU32": (1, 0, 1), "LdU64": (1, 0, 1), "LdU128": (1, 0, 1),
    "LdU256": (1, 0, 1), "LdTrue": (1, 0, 1), "LdFalse": (1, 0, 1), "FreezeRef": (1, 1, 8),
    "ImmBorrowLoc": (1, 0, 8), "MutBorrowLoc": (1, 0, 8), "ImmBorrowField": (1, 1, 8), "MutBorrowField": (1, 1, 8),
    "ImmBorrowFieldGeneric": (1, 1, 8), "MutBorrowFieldGeneric": (1, 1, 8),
    "CastU8": (1, 1, 1), "CastU16": (1, 1, 1), "CastU32": (1, 1, 1), "CastU64": (1, 1, 1), "CastU128": (1, 1, 1),
    "CastU256": (1, 1, 1), "Add": (1, 2, 1), "Sub": (1, 2, 1), "Mul": (1, 2, 1), "Mod": (1, 2, 1), "Div": (1, 2, 1),
    "BitOr": (1, 2, 1), "BitAnd": (1, 2, 1), "Xor": (1, 2, 1), "Shl": (1, 2, 1), "Shr": (1, 2, 1),
    "Or": (1, 2, 1), "And": (1, 2, 1), "Lt": (1, 2, 1), "Gt": (1, 2, 1), "Le": (1, 2, 1), "Ge": (1, 2, 1),
    "Not": (1, 1, 1), "Abort": (0, 1, 0),
}


# =============================================================================================
# Types, layouts and BCS
# =============================================================================================
def _addr(a) -> bytes:
    if isinstance(a, (bytes, bytearray)):
        return bytes(a).rjust(32, b"\x00")
    h = a[2:] if a.startswith("0x") else a
    return bytes.fromhex(h.rjust(64, "0"))


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


def _tag_abstract_size(ty) -> int:
    """Approximation of `TypeTag::abstract_size_for_gas_metering` (bytes of the tag)."""
    return len(type_tag_bcs(ty))


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
            addr, mname = mod.handle_module(h[0])
            return ("S", addr, mname, mod.identifiers[h[1]], tuple(self._resolve(mod, a, targs) for a in tok[2]))
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

    def function(self, addr: bytes, module: str, name: str) -> FunctionDef:
        m = self.module(addr, module)
        try:
            return m.function_by_name[name]
        except KeyError:
            raise GasError(f"no function {module}::{name}") from None

    def callee(self, mod: Module, handle_idx: int) -> FunctionDef:
        key = (id(mod), handle_idx)
        f = self._fcache.get(key)
        if f is None:
            h = mod.function_handles[handle_idx]
            addr, mname = mod.handle_module(h[0])
            f = self.function(addr, mname, mod.identifiers[h[1]])
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


def object_size_for_gas(loader: Loader, ty, contents_len: int) -> int:
    """`Object::object_size_for_gas_metering` of a Move object: metadata + contents + type tag
    (MoveObjectType::Other(StructTag): 1 + BCS) + has_public_transfer (1) + version (8)."""
    return OBJECT_METADATA_BYTES + contents_len + 1 + len(struct_tag_bcs(ty)) + 1 + 8


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


# =============================================================================================
# The interpreter
# =============================================================================================
(OP_COPY, OP_MOVE, OP_ST, OP_LDI, OP_BRF, OP_BRT, OP_BR, OP_ADD, OP_LT, OP_VBORROW, OP_READ, OP_BORROWLOC,
 OP_BORROWF, OP_CALL, OP_RET, OP_SUB, OP_CMP, OP_VLEN, OP_WRITE, OP_POP, OP_PUSHB, OP_CAST, OP_ARITH,
 OP_BITS, OP_SHIFT, OP_BOOL, OP_NOT, OP_EQ, OP_NEQ, OP_LDCONST, OP_LDBOOL, OP_PACK, OP_UNPACK, OP_FREEZE,
 OP_VPACK, OP_VPOP, OP_VUNPACK, OP_VSWAP, OP_ABORT, OP_NOP, OP_PACKV, OP_UNPACKV, OP_UNPACKVREF,
 OP_VSWITCH) = range(44)

_U64 = (1 << 64) - 1
_U128 = (1 << 128) - 1
_U256 = (1 << 256) - 1


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

    def __init__(self, loader: Loader, runtime: "Runtime", meter: Meter, profile: str = "sui"):
        self.loader, self.runtime, self.meter = loader, runtime, meter
        self.profile = profile
        self._compiled: dict[int, list] = {}

    # ------------------------------------------------------------------ compile
    def compiled(self, f: FunctionDef) -> list:
        ops = self._compiled.get(id(f))
        if ops is not None:
            return ops
        m = f.module
        L = self.loader
        ops = []
        for name, arg in f.code:
            if name == "CopyLoc":
                ops.append((OP_COPY, arg, None))
            elif name == "MoveLoc":
                ops.append((OP_MOVE, arg, None))
            elif name == "StLoc":
                ops.append((OP_ST, arg, None))
            elif name in ("LdU8", "LdU16", "LdU32", "LdU64"):
                ops.append((OP_LDI, arg, None))
            elif name == "LdU128":
                ops.append((OP_LDI, U128(arg), None))
            elif name == "LdU256":
                ops.append((OP_LDI, U256(arg), None))
            elif name == "BrFalse":
                ops.append((OP_BRF, arg, None))
            elif name == "BrTrue":
                ops.append((OP_BRT, arg, None))
            elif name == "Branch":
                ops.append((OP_BR, arg, None))
            elif name == "Add":
                ops.append((OP_ADD, None, None))
            elif name == "Sub":
                ops.append((OP_SUB, None, None))
            elif name in ("Mul", "Div", "Mod"):
                ops.append((OP_ARITH, name, None))
            elif name in ("BitOr", "BitAnd", "Xor"):
                ops.append((OP_BITS, name, None))
            elif name in ("Shl", "Shr"):
                ops.append((OP_SHIFT, name, None))
            elif name == "Lt":
                ops.append((OP_LT, None, None))
            elif name in ("Gt", "Le", "Ge"):
                ops.append((OP_CMP, name, None))
            elif name in ("Or", "And"):
                ops.append((OP_BOOL, name, None))
            elif name == "Not":
                ops.append((OP_NOT, None, None))
            elif name == "Eq":
                ops.append((OP_EQ, None, None))
            elif name == "Neq":
                ops.append((OP_NEQ, None, None))
            elif name in ("VecImmBorrow", "VecMutBorrow"):
                ops.append((OP_VBORROW, None, None))
            elif name == "VecLen":
                ops.append((OP_VLEN, None, None))
            elif name == "VecPushBack":
                ops.append((OP_PUSHB, None, None))
            elif name == "VecPopBack":
                ops.append((OP_VPOP, None, None))
            elif name == "VecSwap":
                ops.append((OP_VSWAP, None, None))
            elif name == "VecPack":
                sig, n = arg
                ops.append((OP_VPACK, n, m.signatures[sig][0]))
            elif name == "VecUnpack":
                ops.append((OP_VUNPACK, arg[1], None))
            elif name == "ReadRef":
                ops.append((OP_READ, None, None))
            elif name == "WriteRef":
                ops.append((OP_WRITE, None, None))
            elif name in ("ImmBorrowLoc", "MutBorrowLoc"):
                ops.append((OP_BORROWLOC, arg, None))
            elif name in ("ImmBorrowField", "MutBorrowField"):
                ops.append((OP_BORROWF, m.field_handles[arg][1], None))
            elif name in ("ImmBorrowFieldGeneric", "MutBorrowFieldGeneric"):
                fh = m.field_insts[arg][0]
                ops.append((OP_BORROWF, m.field_handles[fh][1], None))
            elif name == "Call":
                callee = L.callee(m, arg)
                ops.append((OP_CALL, callee, None))
            elif name == "CallGeneric":
                h, sig = m.function_insts[arg]
                callee = L.callee(m, h)
                ops.append((OP_CALL, callee, m.signatures[sig]))
            elif name == "Ret":
                ops.append((OP_RET, None, None))
            elif name == "Pop":
                ops.append((OP_POP, None, None))
            elif name in ("CastU8", "CastU16", "CastU32", "CastU64", "CastU128", "CastU256"):
                ops.append((OP_CAST, name[4:].lower(), None))
            elif name == "LdConst":
                tok, data = m.constants[arg]
                ty = L.resolve(m, tok)
                ops.append((OP_LDCONST, L.decode(ty, data)[0], len(data)))
            elif name in ("LdTrue", "LdFalse"):
                ops.append((OP_LDBOOL, name == "LdTrue", None))
            elif name == "Pack":
                d = m.structs[arg]
                ops.append((OP_PACK, len(d.fields or ()), None))
            elif name == "PackGeneric":
                d = m.structs[m.struct_def_insts[arg][0]]
                ops.append((OP_PACK, len(d.fields or ()), None))
            elif name in ("Unpack", "UnpackGeneric"):
                ops.append((OP_UNPACK, None, None))
            elif name == "FreezeRef":
                ops.append((OP_FREEZE, None, None))
            elif name == "Abort":
                ops.append((OP_ABORT, None, None))
            elif name == "Nop":
                ops.append((OP_NOP, None, None))
            elif name in ("PackVariant", "PackVariantGeneric", "UnpackVariant", "UnpackVariantGeneric",
                          "UnpackVariantImmRef", "UnpackVariantMutRef", "UnpackVariantGenericImmRef",
                          "UnpackVariantGenericMutRef"):
                if "Generic" in name:
                    ed_inst, tag = m.variant_insts[arg]
                    ed = m.enum_def_insts[ed_inst][0]
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
    def run(self, f: FunctionDef, targs: tuple, args: list) -> list:
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
    def _native(self, f: FunctionDef, targs: tuple, args: list) -> list:
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


class NativeAbort(Exception):
    def __init__(self, code: int, cost: int):
        super().__init__(code)
        self.code, self.cost = code, cost


NATIVES: dict[tuple[int, str, str], Callable] = {}


def _native(addr: int, module: str, name: str):
    def deco(fn):
        NATIVES[(addr, module, name)] = fn
        return fn
    return deco


# =============================================================================================
# Object runtime and natives
# =============================================================================================
@dataclass
class StoredObject:
    """An object of the offline chain: type, BCS contents, owner and the storage it paid."""
    id: bytes
    type: tuple
    bcs: bytes
    owner: str  # "shared" | "address:<hex>" | "object:<hex parent>" | "immutable"
    storage_mist: int = 0
    version: int = 1


class Runtime:
    """What natives see during one transaction: the tx context, child objects, new objects, events."""

    def __init__(self, chain: "Chain", sender: bytes, now_ms: int):
        self.chain, self.loader = chain, chain.loader
        self.sender = sender
        self.digest = hashlib.blake2b(b"wafl-gas-tx" + chain.tx_count.to_bytes(8, "little"), digest_size=32).digest()
        self.epoch, self.epoch_ts = chain.epoch, now_ms
        self.ids_created = 0
        self.created: set[bytes] = set()
        self.deleted: set[bytes] = set()
        self.children: dict[bytes, list] = {}  # id -> [holder, type, parent, original StoredObject | None]
        self.removed: dict[bytes, StoredObject | None] = {}
        self.new_objects: list[tuple[bytes, tuple, Any, str]] = []
        self.events: list[tuple[tuple, bytes]] = []
        self.loaded_bytes = 0

    def fresh_id(self) -> bytes:
        h = hashlib.blake2b(b"\xf1" + self.digest + self.ids_created.to_bytes(8, "little"), digest_size=32).digest()
        self.ids_created += 1
        self.created.add(h)
        return h

    def child(self, parent: bytes, cid: bytes, ty, meter: Meter):
        """The slot of child object `cid` of `parent` (loading it from the chain), or None."""
        slot = self.children.get(cid)
        if slot is not None:
            return slot if slot[1] == ty else False
        if cid in self.removed:
            return None
        obj = self.chain.objects.get(cid)
        if obj is None or obj.owner != "object:" + parent.hex():
            return None
        if obj.type != ty:
            return False
        value, _ = self.loader.decode(ty, obj.bcs)
        size = object_size_for_gas(self.loader, ty, len(obj.bcs))
        if CHILD_READ_PER_BYTE:  # child objects are read like inputs when first loaded
            meter.read_internal += size * CHILD_READ_PER_BYTE
            meter.deduct(size * CHILD_READ_PER_BYTE)
        self.loaded_bytes += size
        slot = [[value], ty, parent, obj]
        self.children[cid] = slot
        return slot


def _vec_bytes(v) -> bytes:
    return bytes(v.v)


C = NATIVE_COSTS


@_native(1, "bcs", "to_bytes")
def _n_bcs_to_bytes(it, targs, args):
    b = it.loader.encode(targs[0], args[0].c[args[0].i])
    return C["bcs_per_byte"] * max(len(b), 1), [Vec("u8", list(b))]


@_native(1, "hash", "sha2_256")
def _n_sha2(it, targs, args):
    d = _vec_bytes(args[0])
    return C["sha2_256_base"] + C["sha2_256_per_byte"] * len(d), [Vec("u8", list(hashlib.sha256(d).digest()))]


@_native(1, "hash", "sha3_256")
def _n_sha3(it, targs, args):
    d = _vec_bytes(args[0])
    return C["sha3_256_base"] + C["sha3_256_per_byte"] * len(d), [Vec("u8", list(hashlib.sha3_256(d).digest()))]


@_native(2, "hash", "blake2b256")
def _n_blake(it, targs, args):
    d = _vec_bytes(args[0].c[args[0].i])
    blocks = (len(d) + 127) // 128
    cost = C["blake2b256_base"] + C["blake2b256_per_byte"] * len(d) + C["blake2b256_per_block"] * blocks
    return cost, [Vec("u8", list(hashlib.blake2b(d, digest_size=32).digest()))]


@_native(2, "hash", "keccak256")
def _n_keccak(it, targs, args):
    raise GasError("keccak256 is not modeled")


@_native(1, "vector", "empty")
def _n_vempty(it, targs, args):
    return C["vector_base"], [Vec(targs[0], [])]


@_native(1, "vector", "length")
def _n_vlen(it, targs, args):
    r = args[0]
    return C["vector_base"], [len(r.c[r.i].v)]


@_native(1, "vector", "push_back")
def _n_vpush(it, targs, args):
    r = args[0]
    r.c[r.i].v.append(args[1])
    return C["vector_base"], []


@_native(1, "vector", "borrow")
def _n_vborrow(it, targs, args):
    r, i = args
    v = r.c[r.i]
    if i >= len(v.v):
        raise NativeAbort(0x20000, C["vector_base"])
    return C["vector_base"], [Ref(v.v, i)]


NATIVES[(1, "vector", "borrow_mut")] = _n_vborrow


@_native(1, "vector", "pop_back")
def _n_vpop(it, targs, args):
    r = args[0]
    v = r.c[r.i]
    if not v.v:
        raise NativeAbort(0x20000, C["vector_base"])
    return C["vector_base"], [v.v.pop()]


@_native(1, "vector", "destroy_empty")
def _n_vdestroy(it, targs, args):
    if args[0].v:
        raise NativeAbort(0x20000, C["vector_base"])
    return C["vector_base"], []


@_native(1, "vector", "swap")
def _n_vswap(it, targs, args):
    r, i, j = args
    v = r.c[r.i].v
    if i >= len(v) or j >= len(v):
        raise NativeAbort(0x20000, C["vector_base"])
    v[i], v[j] = v[j], v[i]
    return C["vector_base"], []


@_native(1, "string", "internal_check_utf8")
def _n_utf8(it, targs, args):
    d = _vec_bytes(args[0].c[args[0].i])
    try:
        d.decode("utf-8")
        ok = True
    except UnicodeDecodeError:
        ok = False
    return C["string_check_utf8_base"] + C["string_check_utf8_per_byte"] * len(d), [ok]


@_native(2, "address", "to_u256")
def _n_addr_to_u256(it, targs, args):
    return C["address_to_u256"], [U256(int.from_bytes(args[0], "big"))]


@_native(2, "address", "from_u256")
def _n_addr_from_u256(it, targs, args):
    return C["address_from_u256"], [int(args[0]).to_bytes(32, "big")]


@_native(2, "address", "from_bytes")
def _n_addr_from_bytes(it, targs, args):
    d = _vec_bytes(args[0])
    if len(d) != 32:
        raise NativeAbort(0, C["address_from_bytes"])
    return C["address_from_bytes"], [d]


# --- tx_context
def _ctx_getter(value_fn):
    def impl(it, targs, args):
        return C["tx_context_getter"], [value_fn(it.runtime)]
    return impl


NATIVES[(2, "tx_context", "native_sender")] = _ctx_getter(lambda rt: rt.sender)
NATIVES[(2, "tx_context", "native_epoch")] = _ctx_getter(lambda rt: rt.epoch)
NATIVES[(2, "tx_context", "native_epoch_timestamp_ms")] = _ctx_getter(lambda rt: rt.epoch_ts)
NATIVES[(2, "tx_context", "native_rgp")] = _ctx_getter(lambda rt: REFERENCE_GAS_PRICE_MIST)
NATIVES[(2, "tx_context", "native_gas_price")] = _ctx_getter(lambda rt: REFERENCE_GAS_PRICE_MIST)
NATIVES[(2, "tx_context", "native_gas_budget")] = _ctx_getter(lambda rt: MAX_COMPUTATION_UNITS * REFERENCE_GAS_PRICE_MIST)
NATIVES[(2, "tx_context", "native_ids_created")] = _ctx_getter(lambda rt: rt.ids_created)
NATIVES[(2, "tx_context", "native_sponsor")] = _ctx_getter(lambda rt: Vec("address", []))


@_native(2, "tx_context", "fresh_id")
def _n_fresh_id(it, targs, args):
    return C["tx_fresh_id"], [it.runtime.fresh_id()]


@_native(2, "tx_context", "derive_id")
def _n_derive_id(it, targs, args):
    d = _vec_bytes(args[0]) + int(args[1]).to_bytes(8, "little")
    return C["tx_derive_id"], [hashlib.blake2b(b"\xf1" + d, digest_size=32).digest()]


# --- object
@_native(2, "object", "borrow_uid")
def _n_borrow_uid(it, targs, args):
    r = args[0]
    return C["object_borrow_uid"], [Ref(r.c[r.i].f, 0)]


@_native(2, "object", "delete_impl")
def _n_delete(it, targs, args):
    rt = it.runtime
    if args[0] in rt.created:
        rt.created.discard(args[0])
    else:
        rt.deleted.add(args[0])
    return C["object_delete_impl"], []


@_native(2, "object", "record_new_uid")
def _n_record_new_uid(it, targs, args):
    it.runtime.created.add(args[0])
    return C["object_record_new_uid"], []


def _object_id(v) -> bytes:
    return v.f[0].f[0].f[0]  # UID { id: ID { bytes } }


# --- transfer
@_native(2, "transfer", "share_object_impl")
def _n_share(it, targs, args):
    it.runtime.new_objects.append((_object_id(args[0]), targs[0], args[0], "shared"))
    return C["share_object"], []


@_native(2, "transfer", "transfer_impl")
def _n_transfer(it, targs, args):
    it.runtime.new_objects.append((_object_id(args[0]), targs[0], args[0], "address:" + args[1].hex()))
    return C["transfer_internal"], []


@_native(2, "transfer", "freeze_object_impl")
def _n_freeze(it, targs, args):
    it.runtime.new_objects.append((_object_id(args[0]), targs[0], args[0], "immutable"))
    return C["freeze_object"], []


# --- event
@_native(2, "event", "emit")
def _n_emit(it, targs, args):
    ty = targs[0]
    b = it.loader.encode(ty, args[0])
    tag = _tag_abstract_size(ty)
    cost = (C["event_base"] + C["event_value_per_byte"] * abstract_size(args[0]) + C["event_tag_per_byte"] * tag
            + C["event_output_per_byte"] * (tag + len(b)))
    it.runtime.events.append((ty, b))
    return cost, []


# --- dynamic fields
@_native(2, "dynamic_field", "hash_type_and_key")
def _n_df_hash(it, targs, args):
    parent, k = args
    ty = targs[0]
    kb = it.loader.encode(ty, k)
    tag = type_tag_bcs(ty)
    cost = (C["df_hash_base"] + C["df_hash_type_per_byte"] * _type_node_size(ty)
            + C["df_hash_value_per_byte"] * abstract_size(k) + C["df_hash_tag_per_byte"] * len(tag))
    h = hashlib.blake2b(b"\xf0" + parent + len(kb).to_bytes(8, "little") + kb + tag, digest_size=32).digest()
    return cost, [h]


@_native(2, "dynamic_field", "add_child_object")
def _n_df_add(it, targs, args):
    parent, child = args
    ty = targs[0]
    rt = it.runtime
    cost = (C["df_add_base"] + C["df_add_value_per_byte"] * 2 + C["df_add_type_per_byte"] * _type_node_size(ty)
            + C["df_add_tag_per_byte"] * len(struct_tag_bcs(ty)))
    cid = _object_id(child)
    if cid in rt.children or (cid not in rt.removed and cid in it.runtime.chain.objects):
        raise NativeAbort(0, cost)  # E_KEY_ALREADY_EXISTS
    rt.children[cid] = [[child], ty, parent, rt.removed.pop(cid, None)]
    return cost, []


def _df_borrow(it, targs, args):
    uid_ref, cid = args
    parent = uid_ref.c[uid_ref.i].f[0].f[0]
    ty = targs[0]
    base = C["df_borrow_base"] + C["df_borrow_type_per_byte"] * _type_node_size(ty)
    slot = it.runtime.child(parent, cid, ty, it.meter)
    if slot is False:
        raise NativeAbort(2, base)
    if slot is None:
        raise NativeAbort(1, base)
    value = slot[0][0]
    return base + C["df_borrow_child_per_byte"] * abstract_size(value), [Ref(slot[0], 0)]


NATIVES[(2, "dynamic_field", "borrow_child_object")] = _df_borrow
NATIVES[(2, "dynamic_field", "borrow_child_object_mut")] = _df_borrow


@_native(2, "dynamic_field", "remove_child_object")
def _n_df_remove(it, targs, args):
    parent, cid = args
    ty = targs[0]
    rt = it.runtime
    base = C["df_remove_base"] + C["df_remove_type_per_byte"] * _type_node_size(ty)
    slot = rt.child(parent, cid, ty, it.meter)
    if slot is False:
        raise NativeAbort(2, base)
    if slot is None:
        raise NativeAbort(1, base)
    value = slot[0][0]
    del rt.children[cid]
    rt.removed[cid] = slot[3]
    return base + C["df_remove_child_per_byte"] * abstract_size(value), [value]


@_native(2, "dynamic_field", "has_child_object")
def _n_df_has(it, targs, args):
    parent, cid = args
    rt = it.runtime
    slot = rt.children.get(cid)
    if slot is not None:
        ok = slot[2] == parent
    elif cid in rt.removed:
        ok = False
    else:
        obj = rt.chain.objects.get(cid)
        ok = obj is not None and obj.owner == "object:" + parent.hex()
    return C["df_has_base"], [ok]


@_native(2, "dynamic_field", "has_child_object_with_ty")
def _n_df_has_ty(it, targs, args):
    parent, cid = args
    ty = targs[0]
    cost = (C["df_has_ty_base"] + C["df_has_ty_type_per_byte"] * _type_node_size(ty)
            + C["df_has_ty_tag_per_byte"] * len(struct_tag_bcs(ty)))
    slot = it.runtime.child(parent, cid, ty, it.meter)
    return cost, [bool(slot)]


# --- crypto
@_native(2, "poseidon", "poseidon_bn254_internal")
def _n_poseidon(it, targs, args):
    from wafl_sui.protocol import poseidon as pos

    data = args[0].c[args[0].i].v
    cost = C["poseidon_bn254_base"] + C["poseidon_bn254_per_block"] * len(data)
    xs = [int.from_bytes(bytes(x.v), "little") for x in data]
    if not xs or len(xs) > pos.MAX_INPUTS or any(x >= pos.FIELD_MODULUS for x in xs):
        raise NativeAbort(1, cost)
    h = pos.poseidon(xs)
    return cost, [Vec("u8", list(h.to_bytes(32, "little")))]


@_native(2, "groth16", "prepare_verifying_key_internal")
def _n_prepare_vk(it, targs, args):
    curve, vk_ref = args
    vk = _vec_bytes(vk_ref.c[vk_ref.i])
    cost = C["groth16_prepare_bn254"] if curve == 1 else C["groth16_prepare_bls12381"]
    # The pairing is not computed: the prepared key is given its real shape, the four byte
    # strings arkworks produces for a BN254 key: the IC points (compressed G1, 32 bytes each, as
    # in the raw key), alpha*beta (GT, 384 bytes), -gamma and -delta (G2, 64 bytes each).
    n_ic = max((len(vk) - 232) // 32, 0)
    pvk = (vk[232 : 232 + 32 * n_ic], bytes(384), bytes(64), bytes(64))
    return cost, [Struct([Vec("u8", list(bytes(x))) for x in pvk])]


@_native(2, "groth16", "verify_groth16_proof_internal")
def _n_verify(it, targs, args):
    curve = args[0]
    inputs = _vec_bytes(args[5].c[args[5].i])
    n = len(inputs) // 32
    if curve == 1:
        cost = C["groth16_verify_bn254_base"] + C["groth16_verify_bn254_per_input"] * n
    else:
        cost = C["groth16_verify_bls12381_base"] + C["groth16_verify_bls12381_per_input"] * n
    cost += C["groth16_verify_input_per_byte"] * len(inputs)
    return cost, [bool(it.runtime.chain.accept_proofs)]


# =============================================================================================
# The offline chain: transactions under the meter, effects, storage
# =============================================================================================
CLOCK_ID = _addr("0x6")
CLOCK_TYPE = ("S", _addr("0x2"), "clock", "Clock", ())
TX_CONTEXT_TYPE = ("S", _addr("0x2"), "tx_context", "TxContext", ())
#: The gas coin every transaction reads and rewrites: contents (UID 32 + balance 8) + the
#: one-byte GasCoin object type + 1 + 8 + metadata.
GAS_COIN_BYTES = OBJECT_METADATA_BYTES + 40 + 1 + 1 + 8
DEFAULT_SENDER = _addr("0x" + "5e" * 32)


@dataclass
class Res:
    """A PTB argument: value `j` of the results of command `i`."""
    i: int
    j: int = 0


@dataclass
class Obj:
    """A PTB argument: the object `id` of the chain (by reference or by value, per the parameter)."""
    id: bytes | str


@dataclass
class MoveCall:
    module: str
    function: str
    args: Sequence = ()
    type_args: Sequence = ()
    package: str = "0x0"


@dataclass
class GasReport:
    """What one transaction cost. Units are computation units unless named otherwise."""
    call: str
    ok: bool
    abort: str | None
    out_of_gas: bool
    instructions: int  # executed: bytecodes + the call / native-call charges, as the VM counts
    native_calls: int
    native_internal: int
    internal_gas: int  # Move execution + object reads, as the meter counts (1000 per unit)
    read_bytes: int  # input / loaded child object bytes charged at 15 internal per byte
    stack_height_max: int
    stack_bytes: int  # the stack size Sui charges for (total bytes pushed)
    computation_units: int  # charged (rounded as Sui does); the whole budget on out-of-gas
    budget_units: int
    storage_written_bytes: int = 0
    storage_rebated_bytes: int = 0
    storage_cost_mist: int = 0
    storage_rebate_mist: int = 0  # what the sender gets back (99%)
    created: int = 0
    mutated: int = 0
    deleted: int = 0
    events: list = field(default_factory=list)  # [(type string, BCS bytes)]
    returns: list = field(default_factory=list)
    sandbox_gas_used: int | None = None
    virtual_instructions: int = 0  # natives' costs counted as instructions past 700 native calls

    @property
    def meter_instructions(self) -> int:
        """The count Sui's instruction tiers run on (executed + virtual)."""
        return self.instructions + self.virtual_instructions

    @property
    def execution_units(self) -> float:
        """Unrounded computation units of the Move execution and reads."""
        return self.internal_gas / INTERNAL_PER_UNIT

    @property
    def storage_units(self) -> int:
        return storage_units(self.storage_written_bytes)

    def computation_mist(self, gas_price: int = REFERENCE_GAS_PRICE_MIST) -> int:
        return self.computation_units * gas_price

    def total_mist(self, gas_price: int = REFERENCE_GAS_PRICE_MIST, storage_price: int = STORAGE_PRICE_MIST) -> int:
        """Net MIST: computation + storage - rebate (storage as priced by `storage_price`)."""
        scale = storage_price / STORAGE_PRICE_MIST
        return self.computation_mist(gas_price) + round((self.storage_cost_mist - self.storage_rebate_mist) * scale)

    def total_sui(self, gas_price: int = REFERENCE_GAS_PRICE_MIST) -> float:
        return sui(self.total_mist(gas_price))

    def fits(self, budget_units: int) -> bool:
        return self.ok and self.computation_units <= budget_units

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in (
            "call", "ok", "abort", "out_of_gas", "instructions", "native_calls", "native_internal", "internal_gas",
            "read_bytes", "stack_height_max", "stack_bytes", "computation_units", "budget_units",
            "storage_written_bytes", "storage_rebated_bytes", "storage_cost_mist", "storage_rebate_mist",
            "created", "mutated", "deleted", "sandbox_gas_used", "virtual_instructions")}
        d["events"] = [t for t, _ in self.events]
        d["total_mist"] = self.total_mist()
        return d


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
    return ("S", _addr(parts[0]), parts[1], parts[2], tuple(args)), j


def framework_modules() -> list[Module]:
    """The Move stdlib and Sui framework modules inside the sui-sandbox wheel (parsed once)."""
    global _FRAMEWORK
    if _FRAMEWORK is None:
        from wafl_sui.contract import bytecode
        from wafl_sui.contract.stubs import _sandbox_library

        mods = {}
        for code in bytecode.modules_in(_sandbox_library().read_bytes()):
            try:
                m = Module(code)
            except Exception:  # not needed here (e.g. tables this reader does not decode)
                continue
            if m.address[:-1] == bytes(31) and m.address[-1] in (1, 2):
                mods[(m.address, m.name)] = m
        _FRAMEWORK = list(mods.values())
    return _FRAMEWORK


_FRAMEWORK: list[Module] | None = None


class Chain:
    """An offline ledger holding the built package, the framework, objects and a clock; each
    `call` / `ptb` is one transaction executed by the metered interpreter."""

    def __init__(self, build=None, *, modules: Sequence[bytes] | None = None, accept_proofs: bool = True,
                 budget_units: int = MAX_COMPUTATION_UNITS, epoch: int = 100, profile: str = "sui"):
        if modules is None:
            if build is None:
                from wafl_sui.contract.build import build_package

                build = build_package()
            modules = build.module_bytes()
        self.package = [Module(c) for c in modules]
        self.loader = Loader(framework_modules() + self.package)
        self.accept_proofs = accept_proofs
        self.budget_units = budget_units
        self.profile = profile
        self.epoch = epoch
        self.tx_count = 0
        self.objects: dict[bytes, StoredObject] = {}
        self.now_ms = 0
        self._put(CLOCK_ID, CLOCK_TYPE, self.loader.encode(CLOCK_TYPE, self._clock_value(0)), "shared")

    # ---------------------------------------------------------------------- objects
    def _clock_value(self, now: int) -> Struct:
        return Struct([Struct([Struct([CLOCK_ID])]), now])

    def _put(self, oid: bytes, ty, bcs: bytes, owner: str) -> StoredObject:
        size = object_size_for_gas(self.loader, ty, len(bcs))
        obj = StoredObject(oid, ty, bcs, owner, storage_units(size) * STORAGE_PRICE_MIST)
        self.objects[oid] = obj
        return obj

    def add_object(self, ty, bcs: bytes, owner: str = "shared", oid: bytes | str | None = None) -> bytes:
        """Store an object given as BCS (its id is read from the contents unless given)."""
        ty = parse_type(ty) if isinstance(ty, str) else ty
        oid = _addr(oid) if oid is not None else bytes(bcs[:32])
        self._put(oid, ty, bytes(bcs), owner)
        return oid

    def value(self, oid) -> Any:
        obj = self.objects[_addr(oid)]
        return self.loader.decode(obj.type, obj.bcs)[0]

    def field_names(self, ty) -> list[str]:
        return [n for n, _ in self.loader.fields(ty)]

    def get_field(self, oid, name: str):
        obj = self.objects[_addr(oid)]
        names = self.field_names(obj.type)
        return self.value(oid).f[names.index(name)]

    def set_field(self, oid, name: str, value) -> None:
        """Rewrite one field of a stored object (for set-ups the entry functions do not allow)."""
        oid = _addr(oid)
        obj = self.objects[oid]
        v = self.value(oid)
        v.f[self.field_names(obj.type).index(name)] = value
        obj.bcs = self.loader.encode(obj.type, v)

    def children_of(self, parent) -> list[StoredObject]:
        key = "object:" + _addr(parent).hex()
        return [o for o in self.objects.values() if o.owner == key]

    def function(self, module: str, function: str, package: str = "0x0") -> FunctionDef:
        return self.loader.function(_addr(package), module, function)

    def functions(self, module: str, package: str = "0x0") -> dict[str, FunctionDef]:
        return dict(self.loader.module(_addr(package), module).function_by_name)

    # ---------------------------------------------------------------------- transactions
    def call(self, module: str, function: str, args: Sequence = (), type_args: Sequence = (), *,
             sender=None, now_ms: int | None = None, package: str = "0x0", budget_units: int | None = None) -> GasReport:
        return self.ptb([MoveCall(module, function, args, type_args, package)], sender=sender, now_ms=now_ms,
                        budget_units=budget_units)

    def ptb(self, calls: Sequence[MoveCall], *, sender=None, now_ms: int | None = None,
            budget_units: int | None = None, transfer_results: bool = True) -> GasReport:
        """Run `calls` as one programmable transaction (one meter, one set of effects)."""
        budget = self.budget_units if budget_units is None else budget_units
        sender = DEFAULT_SENDER if sender is None else _addr(sender)
        if now_ms is not None:
            self.now_ms = now_ms
        clock = self.objects[CLOCK_ID]
        clock.bcs = self.loader.encode(CLOCK_TYPE, self._clock_value(self.now_ms))
        meter = Meter(budget)
        rt = Runtime(self, sender, self.now_ms)
        self.tx_count += 1
        it = Interpreter(self.loader, rt, meter, self.profile)
        holders: dict[bytes, list] = {}  # input objects: id -> [value]
        mutable_inputs: set[bytes] = set()
        consumed: set[bytes] = set()
        results: list[list] = []
        result_types: list[list] = []
        used_results: set[tuple[int, int]] = set()
        name = "; ".join(f"{c.module}::{c.function}" for c in calls)
        abort = None
        oog = False
        try:
            if self.profile == "sui":
                meter.read_bytes(GAS_COIN_BYTES)
            for c in calls:
                f = self.loader.function(_addr(c.package), c.module, c.function)
                targs = tuple(parse_type(t) if isinstance(t, str) else t for t in c.type_args)
                params = [self.loader.resolve(f.module, p, targs) for p in f.params]
                argv = []
                k = 0
                for p in params:
                    if type(p) is tuple and p[0] in ("ref", "mut") and p[1] == TX_CONTEXT_TYPE:
                        argv.append(Ref([Struct([sender, Vec("u8", list(rt.digest)), rt.epoch, rt.epoch_ts,
                                                 rt.ids_created])], 0))
                        continue
                    if k >= len(c.args):
                        raise GasError(f"{c.module}::{c.function}: missing argument {k} ({type_str(p)})")
                    a = c.args[k]
                    k += 1
                    argv.append(self._arg(a, p, holders, mutable_inputs, consumed, results, meter))
                    if isinstance(a, Res) and not (type(p) is tuple and p[0] in ("ref", "mut")):
                        used_results.add((a.i, a.j))
                if k != len(c.args):
                    raise GasError(f"{c.module}::{c.function}: {len(c.args)} arguments given, {k} expected")
                rets = it.run(f, targs, argv)
                results.append(list(rets))
                result_types.append([self.loader.resolve(f.module, r, targs) for r in f.returns])
        except OutOfGas:
            oog = True
        except MoveAbortError as e:
            abort = self._abort_name(e)
        read_bytes = meter.read_internal // OBJ_ACCESS_COST_READ_PER_BYTE
        if oog:
            units = budget
        else:
            units = min(computation_units(meter.used), budget)
        rep = GasReport(name, not (oog or abort), abort, oog, meter.instructions - meter.virtual, meter.natives,
                        meter.native_internal, meter.used, read_bytes, meter.height_max, meter.size, units, budget,
                        virtual_instructions=meter.virtual)
        if rep.ok:
            leftovers = [(v, t) for i, (rs, ts) in enumerate(zip(results, result_types)) for j, (v, t) in
                         enumerate(zip(rs, ts)) if (i, j) not in used_results] if transfer_results else []
            self._apply_effects(rep, rt, holders, mutable_inputs, consumed, leftovers, sender)
            rep.returns = [r for rs in results for r in rs]
        # the gas coin is rewritten by every transaction
        coin_mist = storage_units(GAS_COIN_BYTES) * STORAGE_PRICE_MIST
        rep.storage_written_bytes += GAS_COIN_BYTES
        rep.storage_rebated_bytes += GAS_COIN_BYTES
        rep.storage_cost_mist += coin_mist
        rep.storage_rebate_mist += rebate_mist(coin_mist)
        return rep

    def _abort_name(self, e: MoveAbortError) -> str:
        if e.code == -1:
            return f"{e.module}: {e.where}"
        name = None
        if e.code >= 0 and e.code & (1 << 63):
            from wafl_sui.contract.bytecode import error_constant_names

            for m in self.package:
                if m.name == e.module:
                    name = error_constant_names(m.code_bytes).get((e.code >> 16) & 0xFFFF)
        return name or f"{e.module}::{e.where} abort {e.code}"

    def _arg(self, a, p, holders, mutable_inputs, consumed, results, meter):
        if isinstance(a, Res):
            v = results[a.i][a.j]
            return v
        if isinstance(a, Obj):
            oid = _addr(a.id)
            if oid not in holders:
                obj = self.objects.get(oid)
                if obj is None:
                    raise GasError(f"no object 0x{oid.hex()}")
                holders[oid] = [self.loader.decode(obj.type, obj.bcs)[0]]
                meter.read_bytes(object_size_for_gas(self.loader, obj.type, len(obj.bcs)))
            if type(p) is tuple and p[0] == "mut":
                mutable_inputs.add(oid)
                return Ref(holders[oid], 0)
            if type(p) is tuple and p[0] == "ref":
                return Ref(holders[oid], 0)
            consumed.add(oid)
            return holders[oid][0]
        if isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], str):
            from wafl_sui.contract.vm import bcs_encode

            a = bcs_encode(a[0], a[1])
        if isinstance(a, (bytes, bytearray)):
            if type(p) is tuple and p[0] in ("ref", "mut"):
                return Ref([self.loader.decode(p[1], bytes(a))[0]], 0)
            return self.loader.decode(p, bytes(a))[0]
        raise GasError(f"unsupported argument {a!r}")

    def _write(self, rep: GasReport, oid: bytes, ty, value, owner: str, old: StoredObject | None) -> None:
        bcs = self.loader.encode(ty, value)
        size = object_size_for_gas(self.loader, ty, len(bcs))
        cost = storage_units(size) * STORAGE_PRICE_MIST
        rep.storage_written_bytes += size
        rep.storage_cost_mist += cost
        if old is not None:
            rep.storage_rebated_bytes += object_size_for_gas(self.loader, old.type, len(old.bcs))
            rep.storage_rebate_mist += rebate_mist(old.storage_mist)
            rep.mutated += 1
        else:
            rep.created += 1
        self.objects[oid] = StoredObject(oid, ty, bcs, owner, cost, (old.version + 1) if old else 1)

    def _apply_effects(self, rep, rt, holders, mutable_inputs, consumed, results, sender):
        L = self.loader
        for oid in mutable_inputs:
            old = self.objects[oid]
            if oid in consumed:
                continue
            self._write(rep, oid, old.type, holders[oid][0], old.owner, old)
        for oid, ty, value, owner in rt.new_objects:
            self._write(rep, oid, ty, value, owner, self.objects.get(oid))
        for cid, (holder, ty, parent, orig) in rt.children.items():
            if orig is not None:
                bcs = L.encode(ty, holder[0])
                if bcs == orig.bcs:
                    continue
            self._write(rep, cid, ty, holder[0], "object:" + parent.hex(), orig)
        for cid, orig in rt.removed.items():
            if orig is None:
                continue
            rep.storage_rebated_bytes += object_size_for_gas(L, orig.type, len(orig.bcs))
            rep.storage_rebate_mist += rebate_mist(orig.storage_mist)
            rep.deleted += 1
            self.objects.pop(cid, None)
        for oid in consumed:  # objects passed by value: deleted or wrapped unless re-stored
            if oid in rt.deleted or oid not in [o[0] for o in rt.new_objects]:
                old = self.objects.pop(oid, None)
                if old is not None and oid != CLOCK_ID:
                    rep.storage_rebated_bytes += object_size_for_gas(L, old.type, len(old.bcs))
                    rep.storage_rebate_mist += rebate_mist(old.storage_mist)
                    rep.deleted += 1
        for v, ty in results:  # objects a PTB returns go to the sender (TransferObjects)
            if type(ty) is tuple and ty[0] == "S" and L.datatype(ty).abilities & 0x8:
                self._write(rep, _object_id(v), ty, v, "address:" + sender.hex(), None)
        rep.events = [(type_str(t), b) for t, b in rt.events]


# =============================================================================================
# The WaFL task flow: create_task, submit_update, aggregate (each step), discard_round
# =============================================================================================
RULES = {"fedavg": (0, 0), "median": (1, 0), "trimmed": (2, 1000)}
SPEC_FIELDS = ("features", "classes", "batch_size", "local_steps", "frac_bits", "weight_bits",
               "feature_frac_bits", "feature_bits", "lr_frac_bits", "lr_bits")
#: A verifying-key shape for 4 public inputs (5 IC points); the pairing is not computed.
STAND_IN_VK = bytes(224) + (5).to_bytes(8, "little") + bytes(5 * 32)


def sender_address(k: int) -> bytes:
    return (0x5E00_0000 + k).to_bytes(32, "big")


@dataclass
class Aggregation:
    """The steps of one round's aggregation: the measured reports, and how many steps were
    skipped (counted as copies of the second step)."""
    steps: list = field(default_factory=list)
    skipped: int = 0
    total_steps: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    @property
    def max_units(self) -> int:
        return max((s.computation_units for s in self.steps), default=0)

    @property
    def total_units(self) -> int:
        extra = self.steps[1].computation_units * self.skipped if len(self.steps) > 1 else 0
        return sum(s.computation_units for s in self.steps) + extra

    @property
    def total_instructions(self) -> int:
        extra = self.steps[1].instructions * self.skipped if len(self.steps) > 1 else 0
        return sum(s.instructions for s in self.steps) + extra

    def total_mist(self, gas_price: int = REFERENCE_GAS_PRICE_MIST) -> int:
        extra = self.steps[1].total_mist(gas_price) * self.skipped if len(self.steps) > 1 else 0
        return sum(s.total_mist(gas_price) for s in self.steps) + extra


class TaskFlow:
    """One WaFL task on an offline `Chain`, driven through the package's public functions with
    the API the built package has (detected from `task::create_task`'s parameters)."""

    def __init__(self, chain: Chain, spec: dict, rule: str = "fedavg", trim_bps: int | None = None,
                 quorum: int = 4, round_duration_ms: int = 600_000, max_rounds: int = 10, grace_ms: int = 60_000,
                 lr_q: int = 16, start_ms: int = 1_700_000_000_000, seed: int = 1):
        self.chain, self.spec = chain, dict(spec)
        self.rule = RULES[rule][0] if isinstance(rule, str) else rule
        self.trim_bps = RULES[rule][1] if trim_bps is None and isinstance(rule, str) else (trim_bps or 0)
        self.quorum, self.duration, self.max_rounds, self.grace = quorum, round_duration_ms, max_rounds, grace_ms
        self.lr_q = lr_q
        self.now = start_ms
        self.num_weights = self.spec["classes"] * (self.spec["features"] + 1)
        self.weight_bits = self.spec["weight_bits"]
        self.task_id: bytes | None = None
        self.submitted = 0
        self._rng = seed

    # ------------------------------------------------------------------ helpers
    def _rand(self) -> int:
        self._rng = (self._rng * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return self._rng >> 11

    def weights(self) -> list[int]:
        mask = (1 << self.weight_bits) - 1
        return [self._rand() & mask for _ in range(self.num_weights)]

    def tick(self, ms: int = 1) -> int:
        self.now += ms
        return self.now

    def api(self) -> str:
        f = self.chain.function("task", "create_task")
        first = self.chain.loader.resolve(f.module, f.params[0])
        return "structs" if type(first) is tuple and first[0] == "S" else "flat"

    # ------------------------------------------------------------------ calls
    def create(self, quorum: int | None = None) -> GasReport:
        q = self.quorum if quorum is None else quorum
        model = [1 << (self.weight_bits - 1)] * self.num_weights
        spec_args = [("u64", self.spec[k]) for k in SPEC_FIELDS]
        if self.api() == "structs":
            rules_fn = self.chain.function("round", "new_rules")
            rr = [("u64", q), ("u64", self.duration), ("u64", self.max_rounds), ("u64", self.grace)][: len(rules_fn.params)]
            calls = [
                MoveCall("spec", "new", spec_args),
                MoveCall("round", "new_rules", rr),
                MoveCall("rules", "new_aggregation", [("u8", self.rule), ("u64", self.trim_bps)]),
                MoveCall("task", "create_task", [Res(0), Res(1), Res(2), ("u64", self.lr_q), ("bool", True),
                                                 ("vector<u32>", model), ("vector<u8>", STAND_IN_VK), Obj(CLOCK_ID)]),
            ]
        else:
            calls = [MoveCall("task", "create_task", spec_args + [
                ("u64", self.lr_q), ("u64", q), ("u64", self.duration), ("u64", self.max_rounds), ("u8", self.rule),
                ("u64", self.trim_bps), ("bool", True), ("vector<u32>", model), ("vector<u8>", STAND_IN_VK),
                Obj(CLOCK_ID)])]
        before = set(self.chain.objects)
        rep = self.chain.ptb(calls, now_ms=self.tick(), sender=sender_address(0))
        if rep.ok:
            task_type_name = "Task"
            for oid in set(self.chain.objects) - before:
                o = self.chain.objects[oid]
                if o.owner == "shared" and o.type[3] == task_type_name:
                    self.task_id = oid
        return rep

    def force_quorum(self, q: int) -> None:
        """Set the stored task's quorum (to measure rounds larger than create_task accepts)."""
        names = self.chain.field_names(self.chain.objects[self.task_id].type)
        if "round_rules" in names:
            rr = self.chain.get_field(self.task_id, "round_rules")
            rr_names = self.chain.field_names(self._field_type("round_rules"))
            rr.f[rr_names.index("quorum")] = q
            self.chain.set_field(self.task_id, "round_rules", rr)
        else:
            self.chain.set_field(self.task_id, "quorum", q)

    def _field_type(self, name: str):
        ty = self.chain.objects[self.task_id].type
        return dict(self.chain.loader.fields(ty))[name]

    def submit(self, k: int | None = None, weights: list[int] | None = None, **kw) -> GasReport:
        k = self.submitted + 1 if k is None else k
        w = self.weights() if weights is None else weights
        data = self._rand() % (1 << 250)
        rep = self.chain.call("task", "submit_update", [Obj(self.task_id), ("vector<u32>", w), ("u256", data),
                                                        ("vector<u8>", bytes(128)), Obj(CLOCK_ID)],
                              sender=sender_address(k), now_ms=self.tick(), **kw)
        if rep.ok:
            self.submitted += 1
        return rep

    def fill(self, n: int) -> None:
        """Add `n` updates to the stored task directly, as `submit_update` leaves them (a fast
        set-up for measuring large rounds; the state is the package's: `submitters`, and the
        `sums` (FedAvg) or one `updates` table entry per sender). Falls back to real submits
        when the task has no such fields."""
        ch, tid = self.chain, self.task_id
        ty = ch.objects[tid].type
        names = ch.field_names(ty)
        if "submitters" not in names or "updates" not in names:
            for _ in range(n):
                rep = self.submit()
                if not rep.ok:
                    raise GasError(f"submit_update failed while filling the round: {rep.abort}")
            return
        v = ch.value(tid)
        f = dict(zip(names, v.f))
        fedavg = "sums" in names and self.rule == 0
        updates = f["updates"]  # Table { id: UID, size }
        parent = updates.f[0].f[0].f[0]
        field_ty = ("S", _addr("0x2"), "dynamic_field", "Field", ("address", ("vec", "u32")))
        for _ in range(n):
            k = self.submitted + 1
            sender = sender_address(k)
            w = self.weights()
            self._rand()  # the data commitment a real submit draws (keeps the streams aligned)
            f["submitters"].v.append(sender)
            if fedavg:
                sums = f["sums"].v
                for j, x in enumerate(w):
                    sums[j] += x
            else:
                kb = sender
                cid = hashlib.blake2b(b"\xf0" + parent + len(kb).to_bytes(8, "little") + kb + type_tag_bcs("address"),
                                      digest_size=32).digest()
                child = Struct([Struct([Struct([cid])]), sender, Vec("u32", w)])
                ch._put(cid, field_ty, ch.loader.encode(field_ty, child), "object:" + parent.hex())
                updates.f[1] += 1
            self.submitted += 1
        ch.objects[tid].bcs = ch.loader.encode(ty, v)

    def round(self) -> int:
        return self.chain.get_field(self.task_id, "round")

    def aggregate_step(self, **kw) -> GasReport:
        return self.chain.call("task", "aggregate", [Obj(self.task_id), Obj(CLOCK_ID)],
                               sender=sender_address(0), now_ms=self.tick(), **kw)

    def aggregate(self, max_steps: int = 10_000, skip_middle: bool = False, **kw) -> "Aggregation":
        """Aggregation steps until the round advances (or a step fails). With `skip_middle`,
        a chunked aggregation runs its first two steps and its last one; the steps between
        (the same code on slices of the same width as the second) are skipped by writing the
        task's `partial` field to the length they would leave (values repeated from the
        measured steps), and counted as copies of the second step."""
        start = self.round()
        agg = Aggregation()
        names = self.chain.field_names(self.chain.objects[self.task_id].type)
        for _ in range(max_steps):
            rep = self.aggregate_step(**kw)
            agg.steps.append(rep)
            agg.total_steps += 1
            if not rep.ok or self.round() != start:
                break
            if skip_middle and len(agg.steps) == 2 and "partial" in names and "model" in names:
                part = self.chain.get_field(self.task_id, "partial")
                m = len(self.chain.get_field(self.task_id, "model").v)
                c = len(part.v) // 2
                if c <= 0:
                    continue
                remaining = -(-(m - len(part.v)) // c)  # steps still to run
                if remaining > 1:
                    keep = len(part.v) + (remaining - 1) * c
                    vals = part.v
                    part.v = [vals[i % len(vals)] for i in range(keep)]
                    self.chain.set_field(self.task_id, "partial", part)
                    agg.skipped = remaining - 1
                    agg.total_steps += remaining - 1
        self.submitted = 0
        return agg

    def discard(self, **kw) -> GasReport:
        deadline = self.chain.get_field(self.task_id, "deadline_ms")
        now = max(self.now, deadline + self.grace + 1)
        self.now = now
        rep = self.chain.call("task", "discard_round", [Obj(self.task_id), Obj(CLOCK_ID)],
                              sender=sender_address(0), now_ms=self.tick(), **kw)
        if rep.ok:
            self.submitted = 0
        return rep


def measure(module: str, function: str, args: Sequence = (), type_args: Sequence = (), *, build=None,
            modules: Sequence[bytes] | None = None, objects: Sequence[dict] = (), child_objects: dict | None = None,
            sender=None, now_ms: int = 0, budget_units: int = MAX_COMPUTATION_UNITS, profile: str = "sui",
            sandbox: bool = False) -> GasReport:
    """Measure one Move call of the built package, with arguments as the sui-sandbox harness
    takes them: `objects` (dicts with object_id, bcs_bytes, type_tag; passed first, in order),
    then `args` ((type, value) pure arguments as `wafl_sui.contract.vm.bcs_encode` takes them,
    "raw" for BCS bytes), `child_objects` {parent id: [{child_id, bcs_bytes, type_tag}]}. A
    trailing `&TxContext` / `&mut TxContext` parameter is supplied. The clock object 0x6 given in
    `objects` replaces the chain's. With `sandbox=True` the same call also runs in sui-sandbox's
    Move VM and its raw `gas_used` is recorded (`sandbox_gas_used`; None where it cannot run the
    call, e.g. `sui::poseidon` / `sui::groth16`): bucketed below 1,000,000 units, capped at
    5,000,000, 16 bytes per value, and its own object-read charges."""
    chain = Chain(build, modules=modules, budget_units=budget_units, profile=profile)
    obj_args = []
    for o in objects:
        owner = "shared" if o.get("is_shared", True) else "address:" + (sender or DEFAULT_SENDER.hex())
        oid = chain.add_object(o["type_tag"], o["bcs_bytes"], owner, o["object_id"])
        if oid == CLOCK_ID:
            chain.now_ms = int.from_bytes(o["bcs_bytes"][32:40], "little")
            now_ms = chain.now_ms
        obj_args.append(Obj(oid))
    for parent, kids in (child_objects or {}).items():
        for c in kids:
            chain.add_object(c["type_tag"], c["bcs_bytes"], "object:" + _addr(parent).hex(), c["child_id"])
    rep = chain.call(module, function, list(obj_args) + list(args), type_args, sender=sender, now_ms=now_ms,
                     budget_units=budget_units)
    if sandbox:
        rep.sandbox_gas_used = sandbox_gas_used(chain, module, function, args, type_args, objects, child_objects)
    return rep


def sandbox_gas_used(chain: Chain, module: str, function: str, args: Sequence = (), type_args: Sequence = (),
                     objects: Sequence[dict] = (), child_objects: dict | None = None) -> int | None:
    """sui-sandbox's raw `gas_used` for the call (None when the sandbox cannot run it)."""
    import sui_sandbox

    from wafl_sui.contract.vm import bcs_encode

    pure = [bytes(a) if isinstance(a, (bytes, bytearray)) else bcs_encode(a[0], a[1]) for a in args]
    pkg = {"0x0": [m.code_bytes for m in chain.package]}
    try:
        r = sui_sandbox.call_view_function(
            "0x0", module, function, type_args=[t if isinstance(t, str) else type_str(t) for t in type_args],
            package_bytecodes=pkg, fetch_deps=False, pure_inputs=pure, object_inputs=list(objects),
            child_objects=child_objects or None)
    except Exception:
        return None
    return r.get("gas_used") if r.get("success") else None
