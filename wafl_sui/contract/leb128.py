"""Unsigned LEB128, the variable-length integers of BCS and of Move bytecode tables."""

from __future__ import annotations


def encode(n: int) -> bytes:
    if n < 0:
        raise ValueError("ULEB128 encodes non-negative integers only")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def decode(b: bytes, i: int = 0) -> tuple[int, int]:
    """The integer starting at b[i], and the index just past it."""
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if not x & 0x80:
            return r, i
