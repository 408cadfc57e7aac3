"""The objects of the offline chain (`StoredObject`, the bytes Sui meters for one), and the
object runtime of one transaction (`Runtime`): its tx context, the dynamic-field child objects it
loads, adds and removes, the objects it creates, shares or transfers, and its events."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wafl_sui.devtools.gas.meter import Meter
from wafl_sui.devtools.gas.schedule import CHILD_READ_PER_BYTE, OBJECT_METADATA_BYTES
from wafl_sui.devtools.gas.types import struct_tag_bcs

if TYPE_CHECKING:
    from wafl_sui.devtools.gas.chain import Chain


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

    def __init__(self, chain: Chain, sender: bytes, now_ms: int):
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
        size = object_size_for_gas(ty, len(obj.bcs))
        if CHILD_READ_PER_BYTE:  # child objects are read like inputs when first loaded
            meter.read_internal += size * CHILD_READ_PER_BYTE
            meter.deduct(size * CHILD_READ_PER_BYTE)
        self.loaded_bytes += size
        slot = [[value], ty, parent, obj]
        self.children[cid] = slot
        return slot


def object_size_for_gas(ty, contents_len: int) -> int:
    """`Object::object_size_for_gas_metering` of a Move object: metadata + contents + type tag
    (MoveObjectType::Other(StructTag): 1 + BCS) + has_public_transfer (1) + version (8)."""
    return OBJECT_METADATA_BYTES + contents_len + 1 + len(struct_tag_bcs(ty)) + 1 + 8


def object_id(v) -> bytes:
    """The id of an object value: its first field, `UID { id: ID { bytes } }`."""
    return v.f[0].f[0].f[0]
