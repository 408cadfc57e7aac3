"""Binary Canonical Serialization (BCS), the small subset Sui transactions and our objects need.

Pure functions, no network. Integers are little-endian, lengths and enum tags ULEB128, a
vector is its length then its elements, an `Option` is a 0/1 tag then the value. `BcsReader`
decodes the same forms (object contents, events). Addresses are 32 bytes, written `0x` + 64
lowercase hex (`normalize_address` accepts the short forms such as `0x2`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from wafl_sui.errors import WaflError
from wafl_sui.protocol import codec

ADDRESS_LENGTH = 32
T = TypeVar("T")


class BcsError(WaflError, ValueError):
    """A value cannot be BCS-encoded (out of range, malformed address) or bytes do not decode."""


def uleb128(n: int) -> bytes:
    """ULEB128 of a non-negative int (BCS lengths and enum tags; at most u32 in BCS)."""
    if n < 0 or n > 0xFFFF_FFFF:
        raise BcsError(f"ULEB128 length/tag {n} is outside 0..2^32-1")
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _uint(value: int, bits: int) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BcsError(f"u{bits} needs an int, got {type(value).__name__}")
    if not 0 <= value < 1 << bits:
        raise BcsError(f"{value} does not fit in u{bits}")
    return value.to_bytes(bits // 8, "little")


def u8(value: int) -> bytes:
    return _uint(value, 8)


def u16(value: int) -> bytes:
    return _uint(value, 16)


def u32(value: int) -> bytes:
    return _uint(value, 32)


def u64(value: int) -> bytes:
    return _uint(value, 64)


def u128(value: int) -> bytes:
    return _uint(value, 128)


def u256(value: int) -> bytes:
    return _uint(value, 256)


def boolean(value: bool) -> bytes:
    if not isinstance(value, bool):
        raise BcsError(f"bool needs True/False, got {value!r}")
    return b"\x01" if value else b"\x00"


def byte_vector(value: bytes) -> bytes:
    """`vector<u8>`: length then the bytes."""
    value = bytes(value)
    return uleb128(len(value)) + value


def string(value: str) -> bytes:
    """A Move `String` / Rust `String`: UTF-8 bytes as `vector<u8>`."""
    return byte_vector(value.encode("utf-8"))


def vector(items: Iterable[T], encode: Callable[[T], bytes]) -> bytes:
    parts = [encode(x) for x in items]
    return uleb128(len(parts)) + b"".join(parts)


def option(value: T | None, encode: Callable[[T], bytes]) -> bytes:
    return b"\x00" if value is None else b"\x01" + encode(value)


def enum(tag: int, payload: bytes = b"") -> bytes:
    return uleb128(tag) + payload


def normalize_address(address: str | bytes) -> str:
    """`0x` + 64 lowercase hex (`protocol.codec.normalize_address`), as a BcsError when malformed."""
    try:
        return codec.normalize_address(address)
    except ValueError as e:
        raise BcsError(f"malformed Sui address {address!r}: {e}") from None


def address(value: str | bytes) -> bytes:
    """The 32 raw bytes of an address (BCS `address` has no length prefix)."""
    return bytes.fromhex(normalize_address(value)[2:])


# --- pure-argument encoders: the bytes of a `CallArg::Pure` input --------------------------


def pure_u8(value: int) -> bytes:
    return u8(value)


def pure_u16(value: int) -> bytes:
    return u16(value)


def pure_u32(value: int) -> bytes:
    return u32(value)


def pure_u64(value: int) -> bytes:
    return u64(value)


def pure_u128(value: int) -> bytes:
    return u128(value)


def pure_u256(value: int) -> bytes:
    return u256(value)


def pure_bool(value: bool) -> bytes:
    return boolean(value)


def pure_address(value: str | bytes) -> bytes:
    return address(value)


def pure_bytes(value: bytes) -> bytes:
    """`vector<u8>`."""
    return byte_vector(value)


def pure_string(value: str) -> bytes:
    """`0x1::string::String` (UTF-8)."""
    return string(value)


def pure_u32_vector(values: Sequence[int]) -> bytes:
    return vector(values, u32)


def pure_u64_vector(values: Sequence[int]) -> bytes:
    return vector(values, u64)


def pure_u256_vector(values: Sequence[int]) -> bytes:
    return vector(values, u256)


def pure_address_vector(values: Sequence[str | bytes]) -> bytes:
    return vector(values, address)


def pure_bytes_vector(values: Sequence[bytes]) -> bytes:
    """`vector<vector<u8>>`."""
    return vector(values, byte_vector)


def pure_option_u64(value: int | None) -> bytes:
    return option(value, u64)


# --- decoding ---------------------------------------------------------------------------


class BcsReader:
    """Sequential BCS decoder over `data`; `done()` checks nothing is left over."""

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise BcsError(f"BCS data ends early: need {n} bytes at offset {self.pos} of {len(self.data)}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uleb128(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > 28:
                raise BcsError(f"ULEB128 at offset {self.pos} is longer than a u32")
        return value

    def _uint(self, bits: int) -> int:
        return int.from_bytes(self.take(bits // 8), "little")

    def u8(self) -> int:
        return self._uint(8)

    def u16(self) -> int:
        return self._uint(16)

    def u32(self) -> int:
        return self._uint(32)

    def u64(self) -> int:
        return self._uint(64)

    def u128(self) -> int:
        return self._uint(128)

    def u256(self) -> int:
        return self._uint(256)

    def boolean(self) -> bool:
        b = self.u8()
        if b > 1:
            raise BcsError(f"bool byte {b} at offset {self.pos - 1} is not 0 or 1")
        return b == 1

    def address(self) -> str:
        return "0x" + self.take(ADDRESS_LENGTH).hex()

    def byte_vector(self) -> bytes:
        return self.take(self.uleb128())

    def string(self) -> str:
        return self.byte_vector().decode("utf-8")

    def vector(self, decode: Callable[[BcsReader], T]) -> list[T]:
        return [decode(self) for _ in range(self.uleb128())]

    def option(self, decode: Callable[[BcsReader], T]) -> T | None:
        tag = self.u8()
        if tag > 1:
            raise BcsError(f"Option tag {tag} at offset {self.pos - 1} is not 0 or 1")
        return decode(self) if tag else None

    def done(self) -> None:
        if self.pos != len(self.data):
            raise BcsError(f"{len(self.data) - self.pos} unexpected trailing bytes after BCS value")
