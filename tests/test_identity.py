"""Local identities: Sui Ed25519 keys, key files, keystore import, intent signatures.

Cross-checks: RFC 8032 test vector 1 (the Ed25519 library), the @mysten/sui TS SDK (address
and bech32 of a fixed key), and pysui's own signer (intent handling)."""

import base64
import hashlib
import json
import os
import pickle
import stat
import subprocess
from pathlib import Path

import pytest

from wafl_sui import toolchain
from wafl_sui.errors import WaflError
from wafl_sui.ledger import identity as idm
from wafl_sui.ledger.identity import Identity, IdentityError, IntentScope, verify_signature

ROOT = Path(__file__).resolve().parent.parent
SEED = bytes(range(32))
SEED_ADDRESS = "0x160179a1565ea7cff27ead23f54cc7f50893bf58155cd7285156e57afa31c3ac"
SEED_BECH32 = "suiprivkey1qqqqzqsrqszsvpcgpy9qkrqdpc83qygjzv2p29shrqv35xcur50p74yefn7"


@pytest.fixture
def ident() -> Identity:
    return Identity(SEED)


def test_identity_error_is_a_wafl_error():
    assert issubclass(IdentityError, WaflError)


def test_rfc8032_vector_1():
    """The Ed25519 implementation (fastcrypto via pysui_fastcrypto) is standard Ed25519."""
    import pysui_fastcrypto as fc

    sk = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    pk = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    sig = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    assert Identity(sk).public_key.hex() == pk
    assert base64.b64decode(fc.sign_message(0, sk, "")).hex() == sig


def test_address_derivation(ident):
    want = "0x" + hashlib.blake2b(b"\x00" + ident.public_key, digest_size=32).hexdigest()
    assert ident.address == want == SEED_ADDRESS
    assert len(ident.address) == 66
    assert idm.sui_address(ident.public_key) == want
    assert base64.b64decode(ident.public_key_base64) == b"\x00" + ident.public_key


@pytest.mark.oracle("ts_sdk")
def test_matches_ts_sdk_keypair(ident):
    script = (
        "import { Ed25519Keypair } from '@mysten/sui/keypairs/ed25519';"
        "const kp = Ed25519Keypair.fromSecretKey(Uint8Array.from(JSON.parse(process.argv[1])));"
        "console.log(JSON.stringify({address: kp.toSuiAddress(), secret: kp.getSecretKey(),"
        " pub: kp.getPublicKey().toBase64()}));"
    )
    out = subprocess.run(
        [toolchain.node_bin(), "--input-type=module", "-e", script, json.dumps(list(SEED))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ts = json.loads(out.stdout)
    assert ts["address"] == ident.address
    assert ts["secret"] == ident.to_bech32() == SEED_BECH32
    assert base64.b64decode(ts["pub"]) == ident.public_key


def test_generate_is_random():
    a, b = Identity.generate(), Identity.generate()
    assert a.address != b.address and a != b
    assert a == Identity(bytes(a._seed))


def test_repr_hides_private_key(ident):
    text = repr(ident) + str(ident) + f"{ident}"
    assert ident.address in text
    for secret in (ident.to_bech32(), ident.to_keystore_entry(), SEED.hex(), base64.b64encode(SEED).decode()):
        assert secret not in text
    with pytest.raises(TypeError):
        pickle.dumps(ident)


def test_save_and_load(tmp_path, ident):
    path = tmp_path / "keys" / "client.key"
    assert ident.save(path) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    doc = json.loads(path.read_text())
    assert doc["format"] == "wafl-identity/1" and doc["address"] == ident.address
    assert Identity.from_file(path) == ident
    assert [p.name for p in path.parent.iterdir()] == ["client.key"]  # no temp file left


def test_save_never_overwrites_without_flag(tmp_path, ident):
    path = tmp_path / "client.key"
    ident.save(path)
    other = Identity.generate()
    with pytest.raises(IdentityError, match="already exists.*overwrite"):
        other.save(path)
    assert Identity.from_file(path) == ident
    other.save(path, overwrite=True)
    assert Identity.from_file(path) == other
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["client.key"]


def test_save_refuses_existing_dangling_symlink(tmp_path, ident):
    path = tmp_path / "client.key"
    os.symlink(tmp_path / "nowhere", path)
    with pytest.raises(IdentityError, match="already exists"):
        ident.save(path)


def test_from_file_errors_name_the_file(tmp_path, ident):
    missing = tmp_path / "missing.key"
    with pytest.raises(IdentityError, match="no key file at .*missing.key"):
        Identity.from_file(missing)

    bad = tmp_path / "bad.key"
    for content in (
        "{not json",
        '{"format": "other"}',
        "[1, 2]",
        "hello",
        '{"format": "wafl-identity/1", "private_key": "AAAA"}',
    ):
        bad.write_text(content)
        bad.chmod(0o600)
        with pytest.raises(IdentityError, match=r"bad\.key is malformed: expected JSON"):
            Identity.from_file(bad)

    wrong = tmp_path / "wrong.key"
    ident.save(wrong)
    doc = json.loads(wrong.read_text())
    doc["address"] = Identity.generate().address
    wrong.write_text(json.dumps(doc))
    with pytest.raises(IdentityError, match="names address .* but its private key is for"):
        Identity.from_file(wrong)


def test_from_file_refuses_group_readable(tmp_path, ident):
    path = ident.save(tmp_path / "client.key")
    path.chmod(0o644)
    with pytest.raises(IdentityError, match="readable by other users.*chmod 600"):
        Identity.from_file(path)


def test_from_file_accepts_a_bare_keystore_entry(tmp_path, ident):
    for text in (ident.to_bech32(), ident.to_keystore_entry()):
        p = tmp_path / "bare.key"
        p.write_text(text + "\n")
        p.chmod(0o600)
        assert Identity.from_file(p) == ident


def test_keystore_entries(ident):
    assert Identity.from_keystore_entry(ident.to_keystore_entry()) == ident
    assert Identity.from_keystore_entry(SEED_BECH32) == ident
    assert Identity.from_keystore_entry("  " + SEED_BECH32 + "\n") == ident
    secp = base64.b64encode(b"\x01" + SEED).decode()
    with pytest.raises(IdentityError, match="only Ed25519.*Secp256k1 \\(flag 1\\)"):
        Identity.from_keystore_entry(secp)
    with pytest.raises(IdentityError, match="33 bytes"):
        Identity.from_keystore_entry(base64.b64encode(b"\x00" + SEED[:31]).decode())
    with pytest.raises(IdentityError, match="neither"):
        Identity.from_keystore_entry("not base64 !!")
    broken = SEED_BECH32[:-1] + ("8" if SEED_BECH32[-1] != "8" else "9")
    with pytest.raises(IdentityError, match="bech32"):
        Identity.from_keystore_entry(broken)


def test_sui_keystore_import(tmp_path, ident):
    other = Identity.generate()
    secp = base64.b64encode(b"\x01" + bytes(32)).decode()
    ks = tmp_path / "sui.keystore"
    ks.write_text(json.dumps([secp, ident.to_keystore_entry(), other.to_keystore_entry()]))
    assert Identity.from_sui_keystore(ks, ident.address) == ident
    assert Identity.from_sui_keystore(ks, other.address.upper().replace("0X", "0x")) == other
    with pytest.raises(IdentityError, match="2 Ed25519 keys; say which address"):
        Identity.from_sui_keystore(ks)
    with pytest.raises(IdentityError, match="no Ed25519 key for"):
        Identity.from_sui_keystore(ks, Identity.generate().address)
    ks.write_text(json.dumps([secp, ident.to_keystore_entry()]))
    assert Identity.from_sui_keystore(ks) == ident
    ks.write_text('{"a": 1}')
    with pytest.raises(IdentityError, match="not a Sui keystore"):
        Identity.from_sui_keystore(ks)


def test_intent_messages():
    msg = b"hello"
    assert idm.intent_message(IntentScope.TRANSACTION_DATA, msg) == b"\x00\x00\x00hello"
    assert idm.intent_message(IntentScope.PERSONAL_MESSAGE, msg) == b"\x03\x00\x00\x05hello"
    long = bytes(200)
    assert idm.intent_message(3, long)[:5] == b"\x03\x00\x00\xc8\x01"
    assert idm.signing_digest(0, msg) == hashlib.blake2b(b"\x00\x00\x00hello", digest_size=32).digest()


def test_signatures_verify_and_recover_the_address(ident):
    tx = b"\x00" + bytes(range(100))
    sig = ident.sign_transaction(tx)
    raw = base64.b64decode(sig)
    assert len(raw) == 97 and raw[0] == 0 and raw[65:] == ident.public_key
    assert verify_signature(sig, tx, IntentScope.TRANSACTION_DATA) == ident.address
    assert verify_signature(raw, tx, 0) == ident.address

    pm = ident.sign_personal_message(b"round 3 update")
    assert verify_signature(pm, b"round 3 update", IntentScope.PERSONAL_MESSAGE) == ident.address
    assert sig == ident.sign_transaction(tx)  # Ed25519 is deterministic


def test_signature_failures(ident):
    tx = bytes(range(64))
    sig = base64.b64decode(ident.sign_transaction(tx))
    with pytest.raises(IdentityError, match="does not verify"):
        verify_signature(sig, tx + b"\x00", 0)  # tampered message
    with pytest.raises(IdentityError, match="does not verify"):
        verify_signature(sig, tx, IntentScope.PERSONAL_MESSAGE)  # wrong scope
    flipped = bytearray(sig)
    flipped[10] ^= 1
    with pytest.raises(IdentityError, match="does not verify"):
        verify_signature(bytes(flipped), tx, 0)  # tampered signature
    other = Identity.generate()
    swapped = sig[:65] + other.public_key
    with pytest.raises(IdentityError, match="does not verify"):
        verify_signature(swapped, tx, 0)  # claims another signer
    with pytest.raises(IdentityError, match="only Ed25519 signatures.*Secp256r1"):
        verify_signature(b"\x02" + sig[1:], tx, 0)
    with pytest.raises(IdentityError, match="97 bytes"):
        verify_signature(sig[:-1], tx, 0)
    with pytest.raises(IdentityError, match="base64"):
        verify_signature("%%%", tx, 0)


def test_matches_pysui_signer(ident):
    """pysui's SuiKeyPair (same Sui intent rules, independent code path) signs identically."""
    from pysui.sui.sui_crypto import SuiKeyPair

    kp = SuiKeyPair.from_b64(ident.to_keystore_entry())
    msg = b"some transaction bytes"
    b64 = base64.b64encode(msg).decode()
    assert kp.new_sign_secure(b64) == ident.sign_transaction(msg)
    assert kp.sign_personal_message(b64) == ident.sign_personal_message(msg)
