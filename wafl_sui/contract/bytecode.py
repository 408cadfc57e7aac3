"""The one reader of compiled Move modules: table headers, identifiers, the module's name, its
constant pool and the `#[error]` constants clever abort codes point at, the functions it calls
in other modules, and the modules embedded in a binary (the framework inside the sui-sandbox
wheel). Enough for the build, the stubs, the VM harness, abort decoding and the API checks of
the tests; not a verifier."""

from __future__ import annotations

import re

from wafl_sui.contract import leb128

MAGIC = b"\xa1\x1c\xeb\x0b"
MODULE_HANDLES, FUNCTION_HANDLES, CONSTANT_POOL, IDENTIFIERS, ADDRESS_IDENTIFIERS = 0x1, 0x3, 0x6, 0x7, 0x8
VECTOR_TOKEN = 0x0A


def table_headers(code: bytes, at: int = 0) -> tuple[list[tuple[int, int, int]], int, int]:
    """(kind, offset, count) of each table of the module at `at`, the offset where the table
    contents start, and the offset just past the module (after its self-handle index)."""
    if code[at : at + 4] != MAGIC:
        raise ValueError("not a Move module (bad magic)")
    j = at + 8
    n, j = leb128.decode(code, j)
    heads = []
    for _ in range(n):
        kind = code[j]
        off, j = leb128.decode(code, j + 1)
        cnt, j = leb128.decode(code, j)
        heads.append((kind, off, cnt))
    base = j
    end = max((off + cnt for _, off, cnt in heads), default=0)
    _self, stop = leb128.decode(code, base + end)
    return heads, base, stop


def _tables(code: bytes) -> tuple[dict[int, bytes], int]:
    heads, base, _ = table_headers(code)
    tables = {kind: code[base + off : base + off + cnt] for kind, off, cnt in heads}
    end = max((off + cnt for _, off, cnt in heads), default=0)
    self_idx, _ = leb128.decode(code, base + end)
    return tables, self_idx


def identifiers(code: bytes) -> list[str]:
    """The identifier table of a compiled module (clever-error codes index into it)."""
    tables, _ = _tables(code)
    raw = tables.get(IDENTIFIERS, b"")
    out, i = [], 0
    while i < len(raw):
        n, i = leb128.decode(raw, i)
        out.append(raw[i : i + n].decode())
        i += n
    return out


def module_name(code: bytes) -> str:
    tables, self_idx = _tables(code)
    raw = tables[MODULE_HANDLES]
    i = 0
    for _k in range(self_idx + 1):
        _addr, i = leb128.decode(raw, i)
        name, i = leb128.decode(raw, i)
    return identifiers(code)[name]


def _module_handles(code: bytes, tables: dict[int, bytes]) -> list[tuple[str, str]]:
    """(0x-address, module name) of every module handle."""
    raw_addr = tables.get(ADDRESS_IDENTIFIERS, b"")
    addresses = ["0x" + raw_addr[i : i + 32].hex() for i in range(0, len(raw_addr), 32)]
    names = identifiers(code)
    raw, out, i = tables.get(MODULE_HANDLES, b""), [], 0
    while i < len(raw):
        a, i = leb128.decode(raw, i)
        n, i = leb128.decode(raw, i)
        out.append((addresses[a], names[n]))
    return out


def called_functions(code: bytes) -> set[tuple[str, str, str]]:
    """(0x-address, module, function) of every function of another module this module calls
    (its function handles outside itself)."""
    tables, self_idx = _tables(code)
    modules = _module_handles(code, tables)
    names = identifiers(code)
    raw, out, i = tables.get(FUNCTION_HANDLES, b""), set(), 0
    while i < len(raw):
        m, i = leb128.decode(raw, i)
        n, i = leb128.decode(raw, i)
        _params, i = leb128.decode(raw, i)
        _returns, i = leb128.decode(raw, i)
        count, i = leb128.decode(raw, i)
        for _ in range(count):  # type parameters' ability sets
            _abilities, i = leb128.decode(raw, i)
        if m != self_idx:
            out.add((*modules[m], names[n]))
    return out


def constants(code: bytes) -> list[tuple[bytes, bytes]]:
    """The constant pool of a compiled module as (type signature bytes, BCS value bytes)."""
    tables, _ = _tables(code)
    raw = tables.get(CONSTANT_POOL, b"")
    out, i = [], 0
    while i < len(raw):
        start = i
        while raw[i] == VECTOR_TOKEN:  # constants are primitives or vectors of them
            i += 1
        i += 1
        sig = raw[start:i]
        n, i = leb128.decode(raw, i)
        out.append((sig, raw[i : i + n]))
        i += n
    return out


def error_constant_names(code: bytes) -> dict[int, str]:
    """{constant-pool index: text} of the vector<u8> constants (clever errors name their
    constant through one of them)."""
    out = {}
    for k, (sig, val) in enumerate(constants(code)):
        if sig == bytes([VECTOR_TOKEN, 0x02]):
            n, i = leb128.decode(val, 0)
            try:
                out[k] = val[i : i + n].decode()
            except UnicodeDecodeError:
                continue
    return out


def modules_in(blob: bytes) -> list[bytes]:
    """Every well-formed-looking Move module embedded in a binary (magic, version, tables)."""
    mods = []
    for m in re.finditer(re.escape(MAGIC), blob):
        i = m.start()
        try:
            version = int.from_bytes(blob[i + 4 : i + 8], "little") & 0xFFFFFF
            if not 5 <= version <= 8:
                continue
            ntables, _ = leb128.decode(blob, i + 8)
            if not 1 <= ntables <= 20:
                continue
            _heads, _base, stop = table_headers(blob, i)
            mods.append(blob[i:stop])
        except (IndexError, ValueError):
            continue
    return mods
