"""Local identities: Sui Ed25519 key pairs that sign transactions and personal messages.

Ed25519 is Mysten's fastcrypto through `pysui_fastcrypto` (a pysui dependency). Sui signs
Blake2b-256(intent || message) where the intent is [scope, 0, 0] (scope 0 TransactionData,
3 PersonalMessage, whose message is BCS `vector<u8>`). A serialized signature is
`0x00 || sig64 || pubkey32` (flag 0 = Ed25519), base64; the address is
`0x` + hex(Blake2b-256(0x00 || pubkey)). `verify_signature` checks one and returns the signer.

Key files are JSON `{"format": "wafl-identity/1", "scheme": "ed25519", "address": ..,
"private_key": "suiprivkey1..."}` written atomically with mode 0600, never overwritten unless
asked. The private key is never printed or part of `repr`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import stat
from enum import IntEnum
from pathlib import Path

import pysui_fastcrypto as _fc

from wafl_sui.errors import WaflError
from wafl_sui.ledger.sui.bcs import byte_vector, normalize_address

ED25519_FLAG = 0
SIGNATURE_LENGTH = 1 + 64 + 32
KEY_FILE_FORMAT = "wafl-identity/1"
BECH32_HRP = "suiprivkey"
_SCHEME_NAMES = {0: "Ed25519", 1: "Secp256k1", 2: "Secp256r1", 3: "MultiSig", 5: "zkLogin", 6: "Passkey"}


class IdentityError(WaflError):
    """A key file, keystore entry or signature is malformed, or a signature does not verify."""


class IntentScope(IntEnum):
    TRANSACTION_DATA = 0
    TRANSACTION_EFFECTS = 1
    CHECKPOINT_SUMMARY = 2
    PERSONAL_MESSAGE = 3


def intent_message(scope: IntentScope | int, message: bytes) -> bytes:
    """intent [scope, version 0, app Sui 0] || message (personal messages BCS-wrapped)."""
    scope = IntentScope(scope)
    body = byte_vector(message) if scope == IntentScope.PERSONAL_MESSAGE else bytes(message)
    return bytes([scope, 0, 0]) + body


def signing_digest(scope: IntentScope | int, message: bytes) -> bytes:
    """What Ed25519 signs: Blake2b-256 of the intent message."""
    return hashlib.blake2b(intent_message(scope, message), digest_size=32).digest()


def sui_address(public_key: bytes) -> str:
    """The Sui address of an Ed25519 public key."""
    if len(public_key) != 32:
        raise IdentityError(f"an Ed25519 public key is 32 bytes, got {len(public_key)}")
    return "0x" + hashlib.blake2b(bytes([ED25519_FLAG]) + public_key, digest_size=32).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse_signature(serialized: str | bytes) -> tuple[bytes, bytes]:
    """(signature64, public_key32) of a serialized Ed25519 Sui signature (base64 or raw bytes)."""
    raw = serialized
    if isinstance(serialized, str):
        try:
            raw = base64.b64decode(serialized, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise IdentityError("a serialized Sui signature is base64; this one is not") from exc
    raw = bytes(raw)
    if not raw:
        raise IdentityError("empty signature")
    if raw[0] != ED25519_FLAG:
        name = _SCHEME_NAMES.get(raw[0], f"unknown scheme {raw[0]}")
        raise IdentityError(
            f"only Ed25519 signatures (flag 0) are accepted; this one is {name} (flag {raw[0]})"
        )
    if len(raw) != SIGNATURE_LENGTH:
        raise IdentityError(
            f"an Ed25519 Sui signature is {SIGNATURE_LENGTH} bytes (flag||sig||pubkey), got {len(raw)}"
        )
    return raw[1:65], raw[65:]


def verify_signature(serialized: str | bytes, message: bytes, scope: IntentScope | int) -> str:
    """Check a serialized signature over `message` under `scope`; return the signer's address.

    Raises `IdentityError` if it is malformed or does not verify."""
    sig, pub = parse_signature(serialized)
    digest = signing_digest(scope, message)
    try:
        ok = _fc.verify_pubk(ED25519_FLAG, pub, _b64(digest), _b64(sig))
    except ValueError:
        ok = False
    if not ok:
        raise IdentityError(
            f"the signature does not verify for {IntentScope(scope).name} by {sui_address(pub)}"
        )
    return sui_address(pub)


def _keypair_from_seed(seed: bytes) -> tuple[bytes, bytes]:
    if len(seed) != 32:
        raise IdentityError(f"an Ed25519 private key is 32 bytes, got {len(seed)}")
    flag, pub, prv = _fc.keys_from_keystring(_b64(bytes([ED25519_FLAG]) + seed))
    if flag != ED25519_FLAG or bytes(prv) != seed or len(pub) != 32:  # pragma: no cover - library contract
        raise IdentityError("fastcrypto returned an unexpected key pair")
    return bytes(pub), bytes(seed)


def _check_flag(flag: int, where: str) -> None:
    if flag != ED25519_FLAG:
        name = _SCHEME_NAMES.get(flag, f"unknown scheme {flag}")
        raise IdentityError(
            f"{where}: only Ed25519 keys (flag 0) are supported, this one is {name} (flag {flag})"
        )


class Identity:
    """An Ed25519 key pair. Build with `generate()`, `from_file()`, `from_keystore_entry()`."""

    __slots__ = ("_seed", "_public_key", "_address")

    def __init__(self, seed: bytes):
        self._public_key, self._seed = _keypair_from_seed(bytes(seed))
        self._address = sui_address(self._public_key)

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def generate(cls) -> Identity:
        return cls(secrets.token_bytes(32))

    @classmethod
    def from_keystore_entry(cls, entry: str) -> Identity:
        """Import a Sui keystore entry: base64 of flag||privkey32, or bech32 `suiprivkey1...`."""
        text = entry.strip()
        if text.startswith(BECH32_HRP + "1"):
            try:
                flag, _pub, prv = _fc.decode_bech32(text, BECH32_HRP)
            except ValueError as exc:
                raise IdentityError(f"malformed bech32 private key: {exc}") from exc
            if flag == 255:
                raise IdentityError(
                    "malformed bech32 private key (bad checksum or prefix; expected suiprivkey1...)"
                )
            _check_flag(flag, "bech32 private key")
            return cls(bytes(prv))
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise IdentityError(
                "a keystore entry is base64 of flag||private key (33 bytes) or bech32 suiprivkey1...; "
                "this is neither"
            ) from exc
        if len(raw) != 33:
            raise IdentityError(
                f"a base64 keystore entry decodes to 33 bytes (flag||private key), got {len(raw)}"
            )
        _check_flag(raw[0], "keystore entry")
        return cls(raw[1:])

    @classmethod
    def from_sui_keystore(cls, path: str | Path, address: str | None = None) -> Identity:
        """Import from a Sui CLI keystore (`sui.keystore`: a JSON list of entries): the one key,
        or the key for `address`."""
        path = Path(path)
        try:
            entries = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise IdentityError(f"no Sui keystore at {path}") from exc
        except (OSError, ValueError) as exc:
            raise IdentityError(
                f"{path} is not a Sui keystore (expected a JSON list of base64 keys): {exc}"
            ) from exc
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise IdentityError(f"{path} is not a Sui keystore (expected a JSON list of base64 keys)")
        keys = []
        for e in entries:
            try:
                keys.append(cls.from_keystore_entry(e))
            except IdentityError:
                continue  # other schemes (secp256k1, ...) are skipped
        if address is None:
            if len(keys) != 1:
                raise IdentityError(f"{path} holds {len(keys)} Ed25519 keys; say which address to import")
            return keys[0]
        want = normalize_address(address)
        for k in keys:
            if k.address == want:
                return k
        raise IdentityError(f"{path} has no Ed25519 key for {want}")

    @classmethod
    def from_file(cls, path: str | Path) -> Identity:
        """Load a key file written by `save` (or a file holding one keystore entry)."""
        path = Path(path)
        try:
            st = path.stat()
            text = path.read_text()
        except FileNotFoundError as exc:
            raise IdentityError(
                f"no key file at {path}; create one with Identity.generate().save(path)"
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise IdentityError(f"cannot read key file {path}: {exc}") from exc
        if os.name == "posix" and st.st_mode & 0o077:
            raise IdentityError(
                f"key file {path} is readable by other users (mode {stat.S_IMODE(st.st_mode):o}); run chmod 600 {path}"
            )
        expected = (
            f"key file {path} is malformed: expected JSON "
            f'{{"format": "{KEY_FILE_FORMAT}", "scheme": "ed25519", "address": "0x...", '
            '"private_key": "suiprivkey1..."} or a single Sui keystore entry'
        )
        stripped = text.strip()
        if not stripped.startswith("{"):
            try:
                return cls.from_keystore_entry(stripped)
            except IdentityError as exc:
                raise IdentityError(f"{expected} ({exc})") from exc
        try:
            doc = json.loads(stripped)
        except ValueError as exc:
            raise IdentityError(f"{expected} (invalid JSON: {exc})") from exc
        if (
            not isinstance(doc, dict)
            or doc.get("format") != KEY_FILE_FORMAT
            or not isinstance(doc.get("private_key"), str)
        ):
            raise IdentityError(expected)
        if doc.get("scheme", "ed25519") != "ed25519":
            raise IdentityError(
                f"key file {path}: scheme {doc.get('scheme')!r} is not supported (only ed25519)"
            )
        try:
            ident = cls.from_keystore_entry(doc["private_key"])
        except IdentityError as exc:
            raise IdentityError(f"{expected} ({exc})") from exc
        if "address" in doc and normalize_address(str(doc["address"])) != ident.address:
            raise IdentityError(
                f"key file {path} names address {doc['address']} but its private key is for {ident.address}"
            )
        return ident

    # --- persistence ----------------------------------------------------------------------

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the key file atomically with mode 0600 (parent created 0700). Refuses to replace
        an existing file unless `overwrite=True`."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise IdentityError(
                f"key file {path} already exists; refusing to overwrite it (pass overwrite=True)"
            )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        doc = {
            "format": KEY_FILE_FORMAT,
            "scheme": "ed25519",
            "address": self.address,
            "private_key": self.to_bech32(),
        }
        data = (json.dumps(doc, indent=2) + "\n").encode()
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if overwrite:
                os.replace(tmp, path)
            else:
                try:
                    os.link(tmp, path)  # atomic create-if-absent: never clobbers a key written meanwhile
                except FileExistsError as exc:
                    raise IdentityError(f"key file {path} already exists; refusing to overwrite it") from exc
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    # --- export (explicit: these reveal the private key) -----------------------------------

    def to_keystore_entry(self) -> str:
        """base64(flag||private key), the Sui CLI keystore form. Reveals the private key."""
        return _b64(bytes([ED25519_FLAG]) + self._seed)

    def to_bech32(self) -> str:
        """`suiprivkey1...` (`sui keytool import` accepts it). Reveals the private key."""
        return _fc.encode_bech32(bytes([ED25519_FLAG]) + self._seed, BECH32_HRP)

    # --- public data ----------------------------------------------------------------------

    @property
    def address(self) -> str:
        return self._address

    @property
    def public_key(self) -> bytes:
        return self._public_key

    @property
    def public_key_base64(self) -> str:
        """flag||pubkey base64, as Sui tools show a public key."""
        return _b64(bytes([ED25519_FLAG]) + self._public_key)

    # --- signing --------------------------------------------------------------------------

    def sign(self, scope: IntentScope | int, message: bytes) -> str:
        """Serialized Sui signature (base64 of flag||sig||pubkey) over `message` under `scope`."""
        sig = base64.b64decode(
            _fc.sign_message(ED25519_FLAG, self._seed, _b64(signing_digest(scope, message)))
        )
        return _b64(bytes([ED25519_FLAG]) + sig + self._public_key)

    def sign_transaction(self, tx_bytes: bytes) -> str:
        """Sign `TransactionData` BCS bytes (intent scope 0)."""
        return self.sign(IntentScope.TRANSACTION_DATA, tx_bytes)

    def sign_personal_message(self, message: bytes) -> str:
        """Sign a personal message (intent scope 3, message BCS `vector<u8>`)."""
        return self.sign(IntentScope.PERSONAL_MESSAGE, message)

    def __repr__(self) -> str:
        return f"Identity(address={self._address})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and secrets.compare_digest(self._seed, other._seed)

    def __hash__(self) -> int:
        return hash(self._address)

    def __reduce__(self):  # keep private keys out of pickles (process pools, caches)
        raise TypeError("Identity objects cannot be pickled; save() them to a key file")
