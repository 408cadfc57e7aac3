"""Signed operations of the local ledger: the canonical bytes a sender signs, and their checks.

A local operation plays the part of a Sui transaction. Its content is one canonical JSON object
(sorted keys, no spaces, ASCII):

    {"args": {...}, "chain": "0x<ledger chain id>", "domain": "wafl-local-ledger/1",
     "nonce": "<32 hex>", "op": "submit_update", "sender": "0x<address>", "task": "0x<task id>"}

signed as a Sui *personal message* (intent scope 3) by the sender's Ed25519 key, so any Sui
wallet could sign it too. The chain id binds it to one ledger file, the task id to one task,
the random nonce makes each operation unique; its digest (Blake2b-256 of the bytes) is the
operation id, which the ledger records so that the same signed operation never has a second
effect. `decode` rebuilds every argument with its type and rejects anything that is not exactly
the canonical form (a tampered or re-encoded message), a signature that does not verify, and a
signature by another key than the named sender.

Argument encodings (what the Move call takes): u64 / u8 / bool as JSON ints and booleans,
u256 as a decimal string, `vector<u8>` as lower-case hex, `vector<u32>` as a list of ints,
addresses and object ids as 0x + 64 hex, the spec / round rules / aggregation rule as objects
of their fields.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any, Mapping

from wafl_sui.ledger.base import LedgerError
from wafl_sui.ledger.identity import IdentityError, IntentScope, verify_signature
from wafl_sui.protocol import normalize_address

DOMAIN = "wafl-local-ledger/1"
OPS_FORMAT = "wafl-local-signed-op/1"

# operation name -> its argument names and kinds (the Move entry function's parameters)
OPS: dict[str, dict[str, str]] = {
    "create_task": {
        "spec": "spec", "round_rules": "round_rules", "aggregation": "aggregation", "lr_q": "int",
        "open": "bool", "deposit_mist": "int", "initial_model": "ints", "vk": "bytes", "name": "name",
    },
    "register": {"deposit": "int"},
    "leave": {},
    "open_round": {},
    "submit_update": {"new_weights": "ints", "data_commitment": "u256", "proof": "bytes"},
    "aggregate": {},
    "discard_round": {},
    "add_participant": {"cap": "address", "participant": "address"},
    "remove_participant": {"cap": "address", "participant": "address"},
    "set_open": {"cap": "address", "open": "bool"},
    "restart_round": {"cap": "address"},
    "migrate": {"cap": "address"},
    "set_manifest": {"cap": "address", "manifest": "bytes"},
    # private tasks (`wafl::private_task`)
    "set_privacy": {"cap": "address", "params": "privacy"},
    "register_private": {"deposit": "int", "data_commitment": "u256", "seed_commitment": "u256"},
    "submit_private_update": {"new_weights": "ints", "proof": "bytes"},
}
ADMIN_OPS = frozenset(op for op, a in OPS.items() if "cap" in a)
TASKLESS_OPS = frozenset({"create_task"})

_HEX64 = re.compile(r"0x[0-9a-f]{64}\Z")
_NONCE = re.compile(r"[0-9a-f]{32}\Z")
_HEX = re.compile(r"(?:[0-9a-f]{2})*\Z")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
MAX_MESSAGE_BYTES = 1 << 22  # 4 MiB: far above any valid operation (a model has at most 4,095 weights)


class InvalidSignature(LedgerError):
    """The signature of an operation does not verify, or was made by another key than its sender."""


class MalformedOperation(LedgerError):
    """Bytes that are not a canonical signed operation of this ledger (tampered, truncated, ...)."""


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def digest(message: bytes) -> str:
    """The operation id: 0x + Blake2b-256 of the signed bytes (the local 'transaction digest')."""
    return "0x" + hashlib.blake2b(message, digest_size=32).hexdigest()


def check_name(name: Any) -> str | None:
    """A task name: 1-64 characters [A-Za-z0-9._-], starting with a letter or digit, not 0x..."""
    if name is None:
        return None
    if not isinstance(name, str) or not _NAME.match(name) or name.lower().startswith("0x"):
        raise LedgerError(
            f"task name {name!r} is not valid: use 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit and not with 0x (that is how ids are written)"
        )
    return name


# --------------------------------------------------------------------------- argument kinds
def _enc_int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        try:
            if isinstance(v, bool) or int(v) != v:
                raise TypeError
            v = int(v)
        except (TypeError, ValueError):
            raise LedgerError(f"{what} must be an integer, got {type(v).__name__}") from None
    return int(v)


def _fields(obj: Any, what: str) -> dict[str, Any]:
    """A frozen dataclass of integer fields (StepSpec, RoundRules, AggregationRule) or a dict; a
    field may be a list of integers (a spec's `hidden`). A StepSpec is taken in its `to_dict`
    form, so a linear spec signs exactly the fields it signed before MLPs."""
    import dataclasses

    if hasattr(obj, "to_dict") and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        d = obj.to_dict()
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        d = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}
    elif isinstance(obj, Mapping):
        d = dict(obj)
    else:
        raise LedgerError(f"{what} must be a {what} object, got {type(obj).__name__}")
    return {str(k): ([_enc_int(x, f"{what}.{k}") for x in v] if isinstance(v, (list, tuple))
                     else _enc_int(v, f"{what}.{k}")) for k, v in d.items()}


def encode_arg(kind: str, value: Any, what: str) -> Any:
    """A Python argument -> its JSON form in a signed operation."""
    if kind in ("spec", "round_rules", "aggregation", "privacy"):
        if kind == "spec" and getattr(value, "privacy", None) is not None:
            value = value.with_privacy(None)  # as `spec::new`: the task's DpParams come with set_privacy
        return _fields(value, what)
    if kind == "int":
        return _enc_int(value, what)
    if kind == "bool":
        if not isinstance(value, bool):
            raise LedgerError(f"{what} must be True or False, got {value!r}")
        return value
    if kind == "ints":
        try:
            return [_enc_int(v, f"{what}[{i}]") for i, v in enumerate(value)]
        except TypeError:
            raise LedgerError(f"{what} must be a sequence of integers") from None
    if kind == "u256":
        return str(_enc_int(value, what))
    if kind == "bytes":
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise LedgerError(f"{what} must be bytes, got {type(value).__name__}")
        return bytes(value).hex()
    if kind == "address":
        try:
            return normalize_address(value)
        except (ValueError, TypeError, AttributeError):
            raise LedgerError(f"{what} must be a Sui address (0x + up to 64 hex digits), got {value!r}") from None
    if kind == "name":
        return check_name(value)
    raise AssertionError(kind)  # pragma: no cover


def _bad(what: str, expected: str) -> MalformedOperation:
    return MalformedOperation(f"malformed operation: {what} must be {expected}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def decode_arg(kind: str, value: Any, what: str) -> Any:
    """The JSON form of an argument -> its Python value (exact types; anything else is malformed)."""
    if kind in ("spec", "round_rules", "aggregation", "privacy"):
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and (_is_int(v) or (isinstance(v, list) and all(_is_int(x) for x in v)))
                for k, v in value.items()):
            raise _bad(what, "an object of integer fields (or lists of integers)")
        return dict(value)
    if kind == "int":
        if not _is_int(value):
            raise _bad(what, "an integer")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad(what, "true or false")
        return value
    if kind == "ints":
        if not isinstance(value, list) or not all(_is_int(v) for v in value):
            raise _bad(what, "a list of integers")
        return value
    if kind == "u256":
        if not isinstance(value, str) or not value.isdigit() or not value.isascii() or (len(value) > 1 and value[0] == "0"):
            raise _bad(what, "a decimal string without leading zeros")
        return int(value)
    if kind == "bytes":
        if not isinstance(value, str) or not _HEX.match(value):
            raise _bad(what, "lower-case hex")
        return bytes.fromhex(value)
    if kind == "address":
        if not isinstance(value, str) or not _HEX64.match(value):
            raise _bad(what, "0x + 64 lower-case hex digits")
        return value
    if kind == "name":
        if value is None:
            return None
        try:
            return check_name(value)
        except LedgerError as e:
            raise MalformedOperation(f"malformed operation: {e}") from None
    raise AssertionError(kind)  # pragma: no cover


# --------------------------------------------------------------------------- operations
@dataclass(frozen=True)
class Operation:
    """A decoded, signature-checked operation."""

    op: str
    chain: str
    task: str | None
    sender: str
    nonce: str
    args: dict[str, Any]
    digest: str


@dataclass(frozen=True)
class SignedOp:
    """The signed bytes of one operation, as they would travel between processes or machines."""

    message: bytes
    signature: str  # base64 Sui serialized signature: flag || sig || pubkey

    @property
    def digest(self) -> str:
        return digest(self.message)

    def to_json(self) -> dict[str, str]:
        return {"format": OPS_FORMAT, "message": base64.b64encode(self.message).decode(), "signature": self.signature}

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, doc: Any) -> "SignedOp":
        if not isinstance(doc, Mapping) or doc.get("format") != OPS_FORMAT:
            raise MalformedOperation(f'a signed operation is a JSON object {{"format": "{OPS_FORMAT}", "message", "signature"}}')
        msg, sig = doc.get("message"), doc.get("signature")
        if not isinstance(msg, str) or not isinstance(sig, str):
            raise MalformedOperation("a signed operation has a base64 'message' and a base64 'signature'")
        try:
            raw = base64.b64decode(msg, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedOperation("the message of a signed operation is not base64") from None
        return cls(raw, sig)

    @classmethod
    def from_bytes(cls, data: bytes | str) -> "SignedOp":
        try:
            return cls.from_json(json.loads(data))
        except (ValueError, UnicodeDecodeError) as e:
            if isinstance(e, MalformedOperation):
                raise
            raise MalformedOperation(f"a signed operation is JSON; this is not ({e})") from None


def build(signer: Any, chain: str, op: str, task: str | None, args: Mapping[str, Any], nonce: str | None = None) -> SignedOp:
    """Encode the operation canonically and sign it with `signer` (an `Identity`)."""
    if op not in OPS:
        raise LedgerError(f"unknown operation {op!r}; the ledger knows {sorted(OPS)}")
    kinds = OPS[op]
    extra = sorted(set(args) - set(kinds))
    missing = sorted(set(kinds) - set(args) - {"name"})
    if extra or missing:
        raise LedgerError(f"operation {op}: unexpected arguments {extra}, missing {missing}")
    if op in TASKLESS_OPS:
        if task is not None:
            raise LedgerError(f"operation {op} takes no task")
    else:
        task = encode_arg("address", task, "task")
    try:
        sender = signer.address
        sign = signer.sign_personal_message
    except AttributeError:
        raise LedgerError(f"the signer must be an Identity (a Sui Ed25519 key pair), got {type(signer).__name__}") from None
    body = {
        "args": {k: encode_arg(kind, args.get(k), k) for k, kind in kinds.items()},
        "chain": chain,
        "domain": DOMAIN,
        "nonce": nonce or secrets.token_hex(16),
        "op": op,
        "sender": normalize_address(sender),
        "task": task,
    }
    message = canonical_json(body)
    return SignedOp(message, sign(message))


def decode(signed: SignedOp, chain: str) -> Operation:
    """Check a signed operation for this ledger: canonical bytes, known operation, argument types,
    the signature, and that it was signed by the sender it names."""
    if not isinstance(signed, SignedOp):
        raise MalformedOperation(f"expected a SignedOp, got {type(signed).__name__}")
    msg = signed.message
    if not isinstance(msg, (bytes, bytearray)) or len(msg) > MAX_MESSAGE_BYTES:
        raise MalformedOperation("the message of a signed operation is bytes of at most 4 MiB")
    try:
        body = json.loads(bytes(msg).decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedOperation("malformed operation: the message is not canonical JSON") from None
    if not isinstance(body, dict) or set(body) != {"args", "chain", "domain", "nonce", "op", "sender", "task"}:
        raise MalformedOperation("malformed operation: expected the fields args, chain, domain, nonce, op, sender, task")
    try:
        canonical = canonical_json(body)
    except ValueError:
        canonical = b""
    if canonical != bytes(msg):
        raise MalformedOperation("malformed operation: the message is not in canonical form (re-encoded or tampered)")
    if body["domain"] != DOMAIN:
        raise MalformedOperation(f"malformed operation: domain {body['domain']!r} is not {DOMAIN!r}")
    if body["chain"] != chain:
        raise LedgerError(
            f"the operation was signed for ledger {body['chain']}, not for this ledger ({chain}); "
            "build it again against this ledger"
        )
    op = body["op"]
    if op not in OPS:
        raise MalformedOperation(f"malformed operation: unknown operation {op!r}")
    if not isinstance(body["nonce"], str) or not _NONCE.match(body["nonce"]):
        raise MalformedOperation("malformed operation: nonce must be 32 lower-case hex digits")
    sender = decode_arg("address", body["sender"], "sender")
    task = body["task"]
    if op in TASKLESS_OPS:
        if task is not None:
            raise MalformedOperation(f"malformed operation: {op} takes no task")
    else:
        task = decode_arg("address", task, "task")
    kinds = OPS[op]
    raw_args = body["args"]
    if not isinstance(raw_args, dict) or set(raw_args) != set(kinds):
        raise MalformedOperation(f"malformed operation: {op} takes the arguments {sorted(kinds)}")
    args = {k: decode_arg(kind, raw_args[k], k) for k, kind in kinds.items()}
    try:
        signer = verify_signature(signed.signature, bytes(msg), IntentScope.PERSONAL_MESSAGE)
    except IdentityError as e:
        raise InvalidSignature(f"operation {op} by {sender} rejected: {e}") from None
    if signer != sender:
        raise InvalidSignature(
            f"operation {op} names sender {sender} but was signed by {signer}; only the sender's own key "
            "can sign its operations"
        )
    return Operation(op=op, chain=chain, task=task, sender=sender, nonce=body["nonce"], args=args, digest=digest(bytes(msg)))
