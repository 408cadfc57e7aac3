"""The natives this package reaches (std: bcs, hash, vector, string; sui: address, tx_context,
object, transfer, event, dynamic_field, hash, poseidon, groth16), each returning its cost by
the formula of protocol config v110 (`NATIVE_COSTS`) and its return values. Poseidon is
computed; the Groth16 pairing is not (`verify_groth16_proof` returns the chain's
`accept_proofs`), its cost is Sui's. `NATIVES` maps (address byte, module, function) to each."""

from __future__ import annotations

import hashlib
from typing import Callable

from wafl_sui.devtools.gas.errors import GasError, NativeAbort
from wafl_sui.devtools.gas.runtime import object_id
from wafl_sui.devtools.gas.schedule import MAX_COMPUTATION_UNITS, NATIVE_COSTS, REFERENCE_GAS_PRICE_MIST
from wafl_sui.devtools.gas.types import struct_tag_bcs, tag_abstract_size, type_node_size, type_tag_bcs
from wafl_sui.devtools.gas.values import U256, Ref, Struct, Vec, abstract_size

NATIVES: dict[tuple[int, str, str], Callable] = {}


def _native(addr: int, module: str, name: str):
    def deco(fn):
        NATIVES[(addr, module, name)] = fn
        return fn
    return deco


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


# --- transfer
def _new_owner(cost: str, owner: Callable[[list], str]):
    """A transfer native: the object (args[0]) gets `owner(args)` when the transaction ends."""
    def impl(it, targs, args):
        it.runtime.new_objects.append((object_id(args[0]), targs[0], args[0], owner(args)))
        return C[cost], []
    return impl


NATIVES[(2, "transfer", "share_object_impl")] = _new_owner("share_object", lambda args: "shared")
NATIVES[(2, "transfer", "transfer_impl")] = _new_owner("transfer_internal", lambda args: "address:" + args[1].hex())
NATIVES[(2, "transfer", "freeze_object_impl")] = _new_owner("freeze_object", lambda args: "immutable")


# --- event
@_native(2, "event", "emit")
def _n_emit(it, targs, args):
    ty = targs[0]
    b = it.loader.encode(ty, args[0])
    tag = tag_abstract_size(ty)
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
    cost = (C["df_hash_base"] + C["df_hash_type_per_byte"] * type_node_size(ty)
            + C["df_hash_value_per_byte"] * abstract_size(k) + C["df_hash_tag_per_byte"] * len(tag))
    h = hashlib.blake2b(b"\xf0" + parent + len(kb).to_bytes(8, "little") + kb + tag, digest_size=32).digest()
    return cost, [h]


@_native(2, "dynamic_field", "add_child_object")
def _n_df_add(it, targs, args):
    parent, child = args
    ty = targs[0]
    rt = it.runtime
    cost = (C["df_add_base"] + C["df_add_value_per_byte"] * 2 + C["df_add_type_per_byte"] * type_node_size(ty)
            + C["df_add_tag_per_byte"] * len(struct_tag_bcs(ty)))
    cid = object_id(child)
    if cid in rt.children or (cid not in rt.removed and cid in it.runtime.chain.objects):
        raise NativeAbort(0, cost)  # E_KEY_ALREADY_EXISTS
    rt.children[cid] = [[child], ty, parent, rt.removed.pop(cid, None)]
    return cost, []


def _df_borrow(it, targs, args):
    uid_ref, cid = args
    parent = uid_ref.c[uid_ref.i].f[0].f[0]
    ty = targs[0]
    base = C["df_borrow_base"] + C["df_borrow_type_per_byte"] * type_node_size(ty)
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
    base = C["df_remove_base"] + C["df_remove_type_per_byte"] * type_node_size(ty)
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
    cost = (C["df_has_ty_base"] + C["df_has_ty_type_per_byte"] * type_node_size(ty)
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
