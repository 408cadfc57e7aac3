"""Encoding rules (twin of `move/sources/codec.move`): offset encoding of signed values, packing
into BN254 field elements, Sui addresses and their limbs, the context-hash pre-image, the byte
layout of the Groth16 public inputs, and the sizes of the arkworks-compressed key and proof.

On chain (Move has no signed integers) a value travels *offset-encoded*: u = v + 2^(n-1), an
unsigned integer in [0, 2^n). All aggregation rules commute with this offset
(floor((sum u)/k) = floor((sum v)/k) + 2^(n-1)), so the contract works on u directly.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from wafl_sui.protocol.errors import ProtocolError
from wafl_sui.protocol.poseidon import FIELD_MODULUS

# Domain tag of the context hash: the ASCII bytes "wafl.step.v1" read big-endian.
CONTEXT_DOMAIN = int.from_bytes(b"wafl.step.v1", "big")
# Values are packed little-endian into field elements of at most this many bits (< log2 r).
PACK_BITS = 253
# Order of the public inputs of the step circuit (and of the bytes given to sui::groth16).
PUBLIC_INPUTS = ("old_model", "new_model", "data", "context")
MAX_PUBLIC_INPUTS = 8  # Sui's limit for groth16 public inputs
PUBLIC_INPUT_BYTES = 32  # one public input: a scalar, 32 bytes little-endian

# arkworks canonical compressed BN254 points and the Groth16 layouts built from them.
G1_BYTES = 32
G2_BYTES = 64
GT_BYTES = 384
PROOF_BYTES = G1_BYTES + G2_BYTES + G1_BYTES  # A || B || C
# A verifying key: alpha (G1) || beta, gamma, delta (G2) || u64 LE count of IC points || IC (G1 each)
VK_HEADER_BYTES = G1_BYTES + 3 * G2_BYTES + 8


def encode_signed(v: int, bits: int) -> int:
    """Signed value in [-2^(bits-1), 2^(bits-1)) -> offset-encoded unsigned in [0, 2^bits)."""
    u = int(v) + (1 << (bits - 1))
    if not 0 <= u < (1 << bits):
        raise ProtocolError("EValueOutOfBounds", f"value {v} does not fit in {bits} signed bits")
    return u


def decode_signed(u: int, bits: int) -> int:
    if not 0 <= int(u) < (1 << bits):
        raise ProtocolError("EValueOutOfBounds", f"encoded value {u} does not fit in {bits} bits")
    return int(u) - (1 << (bits - 1))


def values_per_element(bits: int) -> int:
    """How many `bits`-bit values one field element holds: floor(253 / bits)."""
    if not 1 <= bits <= 32:
        raise ProtocolError("EValueOutOfBounds", f"packed values have 1..32 bits, got {bits}")
    return PACK_BITS // bits


def pack(values: Sequence[int], bits: int) -> list[int]:
    """Unsigned values of `bits` bits -> field elements, floor(253/bits) per element, little-endian."""
    per = PACK_BITS // bits
    out = []
    for j in range(0, len(values), per):
        acc = 0
        for k, v in enumerate(values[j : j + per]):
            if not 0 <= v < (1 << bits):
                raise ProtocolError("EValueOutOfBounds", f"packed value {v} does not fit in {bits} bits")
            acc |= int(v) << (bits * k)
        out.append(acc)
    return out


def is_field_element(x: int) -> bool:
    return 0 <= int(x) < FIELD_MODULUS


def assert_field_element(x: int, what: str = "value") -> None:
    if not is_field_element(x):
        raise ProtocolError("EValueOutOfBounds", f"{what} is not a BN254 field element (must be in [0, r))")


# --------------------------------------------------------------------------- addresses
def address_bytes(addr: bytes | str) -> bytes:
    """A Sui address / object id (0x + up to 64 hex digits, or 32 bytes) as its 32 bytes."""
    if isinstance(addr, (bytes, bytearray)):
        if len(addr) != 32:
            raise ValueError(f"a Sui address has 32 bytes, got {len(addr)}")
        return bytes(addr)
    if not isinstance(addr, str):
        raise ValueError(f"a Sui address is 0x-hex text or 32 bytes, got {type(addr).__name__}")
    addr = addr.strip()
    h = addr[2:] if addr.startswith(("0x", "0X")) else addr
    if not h or len(h) > 64 or any(ch not in "0123456789abcdefABCDEF" for ch in h):
        raise ValueError(f"not a Sui address: {addr!r} (expected 0x + up to 64 hex digits)")
    return bytes.fromhex(h.rjust(64, "0"))


def normalize_address(addr: bytes | str) -> str:
    """The canonical text form of an address: 0x + 64 lower-case hex digits."""
    return "0x" + address_bytes(addr).hex()


def address_limbs(addr: bytes | str) -> tuple[int, int]:
    """A 32-byte Sui address / object id -> (high 128 bits, low 128 bits), big-endian as in hex."""
    x = int.from_bytes(address_bytes(addr), "big")
    return x >> 128, x & ((1 << 128) - 1)


def context_preimage(task_id: bytes | str, sender: bytes | str, round_: int, lr_q: int) -> list[int]:
    """The seven Poseidon inputs of the context hash:
    [CONTEXT_DOMAIN, task_hi, task_lo, sender_hi, sender_lo, round, lr_q]."""
    if not 0 <= round_ < (1 << 64) or not 0 <= lr_q < (1 << 64):
        raise ProtocolError("EValueOutOfBounds", "round and lr_q are u64 values")
    t_hi, t_lo = address_limbs(task_id)
    s_hi, s_lo = address_limbs(sender)
    return [CONTEXT_DOMAIN, t_hi, t_lo, s_hi, s_lo, int(round_), int(lr_q)]


# --------------------------------------------------------------------------- public inputs
def public_inputs(old_model: int, new_model: int, data: int, context: int) -> list[int]:
    """Public inputs of the step circuit, in PUBLIC_INPUTS order."""
    vals = [old_model, new_model, data, context]
    for name, v in zip(PUBLIC_INPUTS, vals):
        assert_field_element(v, f"public input {name}")
    return vals


def public_inputs_bytes(values: Sequence[int | str]) -> bytes:
    """Sui's `public_proof_inputs_from_bytes` layout: each value 32 bytes little-endian, canonical
    (< r), at most MAX_PUBLIC_INPUTS of them."""
    if len(values) > MAX_PUBLIC_INPUTS:
        raise ProtocolError("EValueOutOfBounds", f"Sui allows at most {MAX_PUBLIC_INPUTS} public inputs, got {len(values)}")
    out = b""
    for i, v in enumerate(values):
        x = int(v)
        if not is_field_element(x):
            raise ProtocolError("EValueOutOfBounds", f"public input {i} is not a canonical scalar (must be in [0, r))")
        out += x.to_bytes(PUBLIC_INPUT_BYTES, "little")
    return out


def vk_num_public_inputs(vk: bytes) -> int:
    """Public inputs of a raw arkworks-compressed BN254 verifying key, read from its IC count
    (EInvalidVerifyingKey when the byte length does not match the count)."""
    if len(vk) < VK_HEADER_BYTES:
        raise ProtocolError("EInvalidVerifyingKey", f"a verifying key has at least {VK_HEADER_BYTES} bytes, got {len(vk)}")
    ic = int.from_bytes(vk[VK_HEADER_BYTES - 8 : VK_HEADER_BYTES], "little")
    if not 1 <= ic <= (len(vk) - VK_HEADER_BYTES) // G1_BYTES or len(vk) != VK_HEADER_BYTES + G1_BYTES * ic:
        raise ProtocolError("EInvalidVerifyingKey", "verifying key length does not match its IC count")
    return ic - 1


INFINITY_FLAG = 0x40  # arkworks compressed encoding: the point at infinity (bit of a point's last byte)


def check_verifying_key(vk: bytes) -> int:
    """`codec::check_verifying_key`: the step circuit's key before `prepare_verifying_key` (which
    accepts points at infinity, and with them a key against which anyone "proves" anything):
    the length matches the IC count, no point (alpha, beta, gamma, delta, any IC) carries the
    infinity flag, gamma != delta (with gamma == delta, A = alpha, B = beta, C = -vk_x verifies
    for any inputs). Points off the curve or outside the subgroup are refused by the prepare
    step itself. Returns the key's number of public inputs (EInvalidVerifyingKey)."""
    vk = bytes(vk)
    n = vk_num_public_inputs(vk)
    points = [("alpha", G1_BYTES)] + [(name, G1_BYTES + G2_BYTES * (g + 1)) for g, name in enumerate(("beta", "gamma", "delta"))]
    points += [(f"IC[{i}]", VK_HEADER_BYTES + G1_BYTES * (i + 1)) for i in range(n + 1)]
    for name, end in points:
        if vk[end - 1] & INFINITY_FLAG:
            raise ProtocolError(
                "EInvalidVerifyingKey",
                f"the verifying key's {name} is the point at infinity (no real setup makes one; with it any proof passes)",
            )
    gamma, delta = G1_BYTES + G2_BYTES, G1_BYTES + 2 * G2_BYTES
    if vk[gamma : gamma + G2_BYTES] == vk[delta : delta + G2_BYTES]:
        raise ProtocolError("EInvalidVerifyingKey", "the verifying key's gamma equals its delta (then any proof can be forged)")
    return n


def flatten(rows: Iterable[Iterable[int]]) -> list[int]:
    return [int(v) for row in rows for v in row]
