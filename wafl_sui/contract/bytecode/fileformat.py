"""The constants of the compiled Move module format (`move-binary-format`
file_format_common.rs): magic, table kinds, signature tokens, abilities, visibilities and
flags, and every opcode with the operand that follows it."""

from __future__ import annotations

from typing import Union

MAGIC = b"\xa1\x1c\xeb\x0b"

# table kinds (file_format_common.rs TableType)
(MODULE_HANDLES, DATATYPE_HANDLES, FUNCTION_HANDLES, FUNCTION_INSTANTIATIONS, SIGNATURES, CONSTANT_POOL,
 IDENTIFIERS, ADDRESS_IDENTIFIERS) = range(0x1, 0x9)
(STRUCT_DEFINITIONS, STRUCT_INSTANTIATIONS, FUNCTION_DEFINITIONS, FIELD_HANDLES, FIELD_INSTANTIATIONS,
 FRIEND_DECLARATIONS, METADATA) = range(0xA, 0x11)
ENUM_DEFINITIONS, ENUM_INSTANTIATIONS, VARIANT_HANDLES, VARIANT_INSTANTIATIONS = range(0x11, 0x15)

# signature tokens (SerializedType)
PRIMITIVE_TOKENS = {0x1: "bool", 0x2: "u8", 0x3: "u64", 0x4: "u128", 0x5: "address", 0xC: "signer", 0xD: "u16",
                    0xE: "u32", 0xF: "u256"}
REFERENCE, MUTABLE_REFERENCE, DATATYPE, TYPE_PARAMETER, VECTOR_TOKEN, DATATYPE_INST = 0x6, 0x7, 0x8, 0x9, 0xA, 0xB

# abilities (bit flags), visibilities, function flags, struct field information, jump tables
COPY, DROP, STORE, KEY = 0x1, 0x2, 0x4, 0x8
ABILITY_NAMES = ((COPY, "copy"), (DROP, "drop"), (STORE, "store"), (KEY, "key"))
PRIVATE, PUBLIC, FRIEND = 0x0, 0x1, 0x3
NATIVE_FLAG, ENTRY_FLAG = 0x2, 0x4
NATIVE_STRUCT, DECLARED_STRUCT = 0x1, 0x2
JUMP_TABLE_FULL = 0x1

#: opcode -> (instruction name, operand): None, "uleb" (an index or a code offset), "u8" (a local),
#: "u16" ... "u256" (a little-endian constant), or "sig_n" (a signature index and a u64 count).
OPCODES: dict[int, tuple[str, str | None]] = {
    0x01: ("Pop", None), 0x02: ("Ret", None), 0x03: ("BrTrue", "uleb"), 0x04: ("BrFalse", "uleb"),
    0x05: ("Branch", "uleb"), 0x06: ("LdU64", "u64"), 0x07: ("LdConst", "uleb"), 0x08: ("LdTrue", None),
    0x09: ("LdFalse", None), 0x0A: ("CopyLoc", "u8"), 0x0B: ("MoveLoc", "u8"), 0x0C: ("StLoc", "u8"),
    0x0D: ("MutBorrowLoc", "u8"), 0x0E: ("ImmBorrowLoc", "u8"), 0x0F: ("MutBorrowField", "uleb"),
    0x10: ("ImmBorrowField", "uleb"), 0x11: ("Call", "uleb"), 0x12: ("Pack", "uleb"), 0x13: ("Unpack", "uleb"),
    0x14: ("ReadRef", None), 0x15: ("WriteRef", None), 0x16: ("Add", None), 0x17: ("Sub", None),
    0x18: ("Mul", None), 0x19: ("Mod", None), 0x1A: ("Div", None), 0x1B: ("BitOr", None), 0x1C: ("BitAnd", None),
    0x1D: ("Xor", None), 0x1E: ("Or", None), 0x1F: ("And", None), 0x20: ("Not", None), 0x21: ("Eq", None),
    0x22: ("Neq", None), 0x23: ("Lt", None), 0x24: ("Gt", None), 0x25: ("Le", None), 0x26: ("Ge", None),
    0x27: ("Abort", None), 0x28: ("Nop", None),
    0x29: ("MutBorrowGlobal", "uleb"), 0x2A: ("ImmBorrowGlobal", "uleb"), 0x2B: ("Exists", "uleb"),
    0x2C: ("MoveFrom", "uleb"), 0x2D: ("MoveTo", "uleb"),  # global storage: not in Sui Move
    0x2E: ("FreezeRef", None), 0x2F: ("Shl", None), 0x30: ("Shr", None),
    0x31: ("LdU8", "u8"), 0x32: ("LdU128", "u128"), 0x33: ("CastU8", None), 0x34: ("CastU64", None),
    0x35: ("CastU128", None), 0x36: ("MutBorrowFieldGeneric", "uleb"), 0x37: ("ImmBorrowFieldGeneric", "uleb"),
    0x38: ("CallGeneric", "uleb"), 0x39: ("PackGeneric", "uleb"), 0x3A: ("UnpackGeneric", "uleb"),
    0x3B: ("MutBorrowGlobalGeneric", "uleb"), 0x3C: ("ImmBorrowGlobalGeneric", "uleb"),
    0x3D: ("ExistsGeneric", "uleb"), 0x3E: ("MoveFromGeneric", "uleb"), 0x3F: ("MoveToGeneric", "uleb"),
    0x40: ("VecPack", "sig_n"), 0x41: ("VecLen", "uleb"), 0x42: ("VecImmBorrow", "uleb"),
    0x43: ("VecMutBorrow", "uleb"), 0x44: ("VecPushBack", "uleb"), 0x45: ("VecPopBack", "uleb"),
    0x46: ("VecUnpack", "sig_n"), 0x47: ("VecSwap", "uleb"),
    0x48: ("LdU16", "u16"), 0x49: ("LdU32", "u32"), 0x4A: ("LdU256", "u256"), 0x4B: ("CastU16", None),
    0x4C: ("CastU32", None), 0x4D: ("CastU256", None), 0x4E: ("PackVariant", "uleb"),
    0x4F: ("PackVariantGeneric", "uleb"), 0x50: ("UnpackVariant", "uleb"), 0x51: ("UnpackVariantImmRef", "uleb"),
    0x52: ("UnpackVariantMutRef", "uleb"), 0x53: ("UnpackVariantGeneric", "uleb"),
    0x54: ("UnpackVariantGenericImmRef", "uleb"), 0x55: ("UnpackVariantGenericMutRef", "uleb"),
    0x56: ("VariantSwitch", "uleb"),
}
#: Bytes of the little-endian constant operands.
OPERAND_WIDTH = {"u16": 2, "u32": 4, "u64": 8, "u128": 16, "u256": 32}

#: A signature token: a primitive name or ("vec", t), ("ref", t), ("mut", t), ("tp", index),
#: ("dt", datatype handle, (type arguments...)).
Token = Union[str, tuple]


def ability_names(bits: int) -> frozenset[str]:
    return frozenset(name for bit, name in ABILITY_NAMES if bits & bit)
