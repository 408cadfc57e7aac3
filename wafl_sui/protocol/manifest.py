"""The task's manifest (its data contract) as the contract sees it: opaque bytes of bounded size
and their hash (twin of `move/sources/manifest.move`). The content (feature names and scaling,
class names in order, label column, model and spec) is canonical JSON that the clients write
and read: `encode` / `decode` here, its meaning in `wafl_sui/client/manifest.py`.

check_size      EManifestSize (empty, or over MAX_MANIFEST_BYTES)
manifest_hash   SHA3-256 of the bytes, read as a big-endian integer (`ManifestSet.manifest_hash`)
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from wafl_sui.protocol.errors import ProtocolError

MAX_MANIFEST_BYTES = 16384  # `manifest::MAX_MANIFEST_BYTES`
MANIFEST_FORMAT = 1  # the JSON schema's version ("format" key)


def check_size(manifest: bytes) -> None:
    """`manifest::check_size`: EManifestSize unless 0 < len(manifest) <= MAX_MANIFEST_BYTES."""
    n = len(manifest)
    if not 0 < n <= MAX_MANIFEST_BYTES:
        raise ProtocolError("EManifestSize", f"the manifest has {n} bytes; it needs 1..{MAX_MANIFEST_BYTES} "
                                             "(fewer features or shorter names)")


def manifest_hash(manifest: bytes) -> int:
    """`manifest::manifest_hash`: SHA3-256 of the bytes as a big-endian integer."""
    return int.from_bytes(hashlib.sha3_256(bytes(manifest)).digest(), "big")


def encode(content: dict[str, Any]) -> bytes:
    """Canonical JSON bytes of a manifest's content (sorted keys, no spaces, UTF-8): one content,
    one byte string, one hash."""
    return json.dumps({"format": MANIFEST_FORMAT, **content}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode()


def decode(manifest: bytes) -> dict[str, Any]:
    """The content of stored manifest bytes (ValueError when they are not a manifest of this format)."""
    d = json.loads(bytes(manifest).decode())
    if not isinstance(d, dict) or d.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"not a WaFL manifest of format {MANIFEST_FORMAT}")
    return d
