"""The iden3 binary container of circom's .r1cs and .wtns files: magic, version, then sections
of (u32 type, u64 size, body). Only the requested sections are read (an r1cs can be large)."""

from __future__ import annotations

import struct
from pathlib import Path


def read_sections(path: Path, magic: bytes, types: set[int]) -> dict[int, bytes]:
    """The bodies of the sections of the given types; ValueError if the magic does not match."""
    out: dict[int, bytes] = {}
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != magic:
            raise ValueError(f"{path} is not a {magic.decode()} file")
        (n_sections,) = struct.unpack_from("<I", head, 8)
        pos = 12
        for _ in range(n_sections):
            f.seek(pos)
            stype, ssize = struct.unpack("<IQ", f.read(12))
            if stype in types:
                out[stype] = f.read(ssize)
            pos += 12 + ssize
    return out
