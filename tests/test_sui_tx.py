"""Our TransactionData BCS against the official TS SDK (@mysten/sui via tools/sui/check_tx.mjs):
field-by-field decode, digests, pure encodings, and Identity signatures verified by the SDK.

All the node work is one batch (one `node` process) made by the `ts` fixture."""

import base64
import json
import subprocess

import base58
import pytest

from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.sui import bcs
from wafl_sui.ledger.sui.bcs import BcsError, BcsReader, normalize_address
from wafl_sui.ledger.sui.transactions import (
    CLOCK,
    GAS_COIN,
    Input,
    MoveCall,
    NestedResult,
    ObjectRef,
    OwnedObject,
    PtbBuilder,
    ReceivingObject,
    Result,
    SharedObject,
    TransactionBuildError,
    build_transaction,
    transaction_digest,
    type_tag_bcs,
)

from oracles import require_oracle  # noqa: E402
from ts_sdk import CHECK_TX, ROOT, check_requests, needs_ts  # noqa: E402

ME = Identity(bytes(range(32)))
PKG = "0x" + "ab" * 32
TASK = "0x" + "7a" * 32
DIGEST = base58.b58encode(bytes(range(1, 33))).decode()
GAS = [ObjectRef("0x" + "c0" * 32, 12, DIGEST), ObjectRef("0xc1", 3, base58.b58encode(bytes(32)).decode())]
MODULES = [
    b"\xa1\x1c\xeb\x0b\x06\x00\x00\x00fake module one",
    b"\xa1\x1c\xeb\x0b\x06\x00\x00\x00fake module two",
]
b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731


def _publish():
    b = PtbBuilder()
    cap = b.publish(MODULES, ["0x1", "0x2"])
    b.transfer_objects([cap], ME.address)
    return build_transaction(b.build(), ME.address, GAS[:1], 1000, 50_000_000)


def _move_call():
    b = PtbBuilder()
    task = b.object(SharedObject(TASK, 7, True))
    args = [
        task,
        b.pure(bcs.pure_u64(3)),
        b.pure(bcs.pure_bytes(b"\x01\x02\xff")),
        b.pure(bcs.pure_u32_vector([1, 2, 0xFFFF_FFFF])),
        b.pure(bcs.pure_u256_vector([0, 2**255 + 7])),
        b.pure(bcs.pure_bool(True)),
        b.pure(bcs.pure_u8(255)),
        b.pure(bcs.pure_address("0x5")),
        b.pure(bcs.pure_u256(2**256 - 1)),
        b.object(CLOCK),
    ]
    b.move_call(f"{PKG}::task::submit_update", args)
    return build_transaction(b.build(), ME.address, GAS, 750, 123_456_789)


def _chained():
    b = PtbBuilder()
    task = b.object(SharedObject(TASK, 7, False))
    spec = b.move_call(f"{PKG}::spec::new", [b.pure(bcs.pure_u64(10)), b.pure(bcs.pure_u64(3))])
    pair = b.move_call(f"{PKG}::task::open_round", [task, spec, b.object(CLOCK)])
    b.object(SharedObject(TASK, 7, True))  # same object again, mutably: one input, upgraded
    b.move_call(f"{PKG}::round::close", [pair.nested(1), pair.nested(0), GAS_COIN], ["0x2::sui::SUI"])
    return build_transaction(b.build(), ME.address, GAS[:1], 1000, 10_000_000, expiration_epoch=42)


def _everything():
    b = PtbBuilder()
    coins = b.split_coins(GAS_COIN, [b.pure(bcs.pure_u64(1000)), b.pure(bcs.pure_u64(2000))])
    b.merge_coins(coins.nested(0), [coins.nested(1)])
    owned = b.object(OwnedObject(ObjectRef("0x99", 5, DIGEST)))
    recv = b.object(ReceivingObject(ObjectRef("0x98", 6, DIGEST)))
    vec = b.make_move_vec("0x2::coin::Coin<0x2::sui::SUI>", [coins.nested(0)])
    b.make_move_vec(None, [b.pure(bcs.pure_u64(1))])
    b.move_call(
        "0x2::pay::join_vec",
        [owned, vec, recv],
        [
            "vector<vector<u8>>",
            "0x2::table::Table<address, 0x1::option::Option<u64>>",
            "u16",
            "u128",
            "signer",
        ],
    )
    b.transfer_objects([coins.nested(1), owned], b.pure(bcs.pure_address(ME.address)))
    b.upgrade(MODULES, ["0x1", "0x2"], PKG, Result(0))
    return build_transaction(b.build(), ME.address, GAS, 1000, 1, gas_owner="0x" + "0e" * 32)


CASES = {"publish": _publish, "move_call": _move_call, "chained": _chained, "everything": _everything}
PURE = [
    ("u8", 255, bcs.pure_u8(255)),
    ("u16", 65535, bcs.pure_u16(65535)),
    ("u32", 7, bcs.pure_u32(7)),
    ("u64", str(2**64 - 1), bcs.pure_u64(2**64 - 1)),
    ("u128", str(2**100), bcs.pure_u128(2**100)),
    ("u256", str(2**256 - 2), bcs.pure_u256(2**256 - 2)),
    ("bool", False, bcs.pure_bool(False)),
    ("address", "0x2", bcs.pure_address("0x2")),
    ("vector<u8>", list(b"\x00\x01\xfe"), bcs.pure_bytes(b"\x00\x01\xfe")),
    ("vector<u8>", list(bytes(300)), bcs.pure_bytes(bytes(300))),
    ("vector<u32>", [1, 2, 3], bcs.pure_u32_vector([1, 2, 3])),
    ("vector<u64>", ["1", str(2**64 - 1)], bcs.pure_u64_vector([1, 2**64 - 1])),
    ("vector<u256>", ["0", str(2**255)], bcs.pure_u256_vector([0, 2**255])),
    ("vector<address>", ["0x1", ME.address], bcs.pure_address_vector(["0x1", ME.address])),
    ("vector<vector<u8>>", [[1], [2, 3]], bcs.pure_bytes_vector([b"\x01", b"\x02\x03"])),
    ("string", "héllo", bcs.pure_string("héllo")),
    ("option<u64>", None, bcs.pure_option_u64(None)),
    ("option<u64>", "9", bcs.pure_option_u64(9)),
]


def _tamper(raw: bytes, at: int) -> bytes:
    out = bytearray(raw)
    out[at] ^= 0x01
    return bytes(out)


@pytest.fixture(scope="module")
def txs():
    return {name: make() for name, make in CASES.items()}


@pytest.fixture(scope="module")
def ts(txs):
    """One check_tx.mjs run over every case, plus tampered copies and the pure encodings."""
    require_oracle("ts_sdk")
    reqs = []
    for tx in txs.values():
        raw = tx.to_bcs()
        reqs.append({"tx": b64(raw), "signature": ME.sign_transaction(raw)})
    raw = txs["move_call"].to_bcs()
    sig = ME.sign_transaction(raw)
    pm = b"WaFL round 3: update of client 7"
    reqs += [
        {"tx": b64(_tamper(raw, len(raw) - 5)), "signature": sig},  # a gas-budget byte changed
        {
            "tx": b64(raw),
            "signature": b64(
                base64.b64decode(Identity.generate().sign_transaction(raw))[:65] + ME.public_key
            ),
        },
        {"message": b64(pm), "signature": ME.sign_personal_message(pm)},
        {"message": b64(pm + b"!"), "signature": ME.sign_personal_message(pm)},
        {"message": b64(pm), "signature": ME.sign_transaction(pm)},  # wrong intent scope
        {"pure": [{"type": t, "value": v} for t, v, _ in PURE]},
    ]
    out = check_requests(reqs)
    names = list(txs)
    res = dict(zip(names, out[: len(names)], strict=True))
    res.update(
        zip(
            ["tampered_tx", "forged_sig", "pm", "pm_tampered", "pm_wrong_scope", "pure"],
            out[len(names) :],
            strict=True,
        )
    )
    return res


# --- pure layer (no node) -------------------------------------------------------------


def test_uleb128_and_integers():
    assert [bcs.uleb128(n) for n in (0, 1, 127, 128, 300, 16384, 2**32 - 1)] == [
        b"\x00",
        b"\x01",
        b"\x7f",
        b"\x80\x01",
        b"\xac\x02",
        b"\x80\x80\x01",
        b"\xff\xff\xff\xff\x0f",
    ]
    assert bcs.u64(1) == b"\x01" + bytes(7)
    assert bcs.u16(0x1234) == b"\x34\x12"
    assert bcs.u256(1) == b"\x01" + bytes(31)
    for bad in (
        lambda: bcs.u8(256),
        lambda: bcs.u64(-1),
        lambda: bcs.u256(2**256),
        lambda: bcs.u32(True),
        lambda: bcs.uleb128(-1),
    ):
        with pytest.raises(BcsError):
            bad()


def test_addresses():
    assert normalize_address("0x2") == "0x" + "0" * 63 + "2"
    assert normalize_address("AB") == "0x" + "0" * 62 + "ab"
    assert normalize_address(bytes(31) + b"\x06") == normalize_address("0x6")
    assert bcs.address("0x6") == bytes(31) + b"\x06"
    for bad in ("", "0x", "0xg1", "0x" + "1" * 65, 5):
        with pytest.raises(BcsError, match="address"):
            normalize_address(bad)


def test_reader_round_trip():
    data = (
        bcs.u8(7)
        + bcs.u64(2**63)
        + bcs.u256(5)
        + bcs.boolean(True)
        + bcs.address("0x2")
        + bcs.string("hé")
        + bcs.pure_u32_vector([1, 2])
        + bcs.option(None, bcs.u64)
        + bcs.option(3, bcs.u64)
    )
    r = BcsReader(data)
    assert (r.u8(), r.u64(), r.u256(), r.boolean(), r.address(), r.string()) == (
        7,
        2**63,
        5,
        True,
        normalize_address("0x2"),
        "hé",
    )
    assert r.vector(BcsReader.u32) == [1, 2]
    assert r.option(BcsReader.u64) is None and r.option(BcsReader.u64) == 3
    r.done()
    with pytest.raises(BcsError, match="ends early"):
        BcsReader(b"\x01").u64()
    r = BcsReader(b"\x01\x02")
    r.u8()
    with pytest.raises(BcsError, match="trailing"):
        r.done()


def test_type_tags():
    assert type_tag_bcs("u64") == b"\x02"
    assert type_tag_bcs("vector<u8>") == b"\x06\x01"
    sui = type_tag_bcs("0x2::sui::SUI")
    assert sui == b"\x07" + bcs.address("0x2") + bcs.string("sui") + bcs.string("SUI") + b"\x00"
    coin = type_tag_bcs("0x2::coin::Coin<0x2::sui::SUI>")
    assert coin == b"\x07" + bcs.address("0x2") + bcs.string("coin") + bcs.string("Coin") + b"\x01" + sui
    for bad in ("vector<u8", "0x2::coin", "u64 u8", "0x2::a::B<u8,>", "vector u8", "0x2::a::B<u8"):
        with pytest.raises(TransactionBuildError):
            type_tag_bcs(bad)


def test_builder_rules():
    b = PtbBuilder()
    assert b.object(SharedObject(TASK, 7, False)) == Input(0)
    assert b.object(SharedObject(TASK, 7, True)) == Input(0)
    assert b.inputs[0] == SharedObject(TASK, 7, True)  # upgraded to mutable
    assert b.object(SharedObject(TASK, 7, False)) == Input(0) and b.inputs[0].mutable
    with pytest.raises(TransactionBuildError, match="two initial shared versions"):
        b.object(SharedObject(TASK, 8, True))
    ref = ObjectRef("0x99", 1, DIGEST)
    assert b.object(OwnedObject(ref)) == Input(1) == b.object(OwnedObject(ref))
    with pytest.raises(TransactionBuildError, match="different references"):
        b.object(OwnedObject(ObjectRef("0x99", 2, DIGEST)))
    assert b.pure(bcs.pure_u64(1)) == Input(2) and b.pure(bcs.pure_u64(1)) == Input(3)  # pure: no dedup
    with pytest.raises(TransactionBuildError, match="needs at least one command"):
        b.build()
    r = b.move_call("0x2::m::f", [Input(0)])
    assert r == Result(0) and r.nested(2) == NestedResult(0, 2)
    with pytest.raises(TransactionBuildError, match="package::module::function"):
        b.move_call("0x2::m", [])
    with pytest.raises(TransactionBuildError, match="not a Move identifier"):
        b.move_call("0x2::m-x::f", [])
    with pytest.raises(TransactionBuildError, match="GasCoin/Input/Result/NestedResult"):
        MoveCall("0x2", "m", "f", (5,)).to_bcs()
    with pytest.raises(TransactionBuildError, match="not 32"):
        ObjectRef("0x1", 1, base58.b58encode(bytes(31)).decode())


def test_digest_is_blake2b_of_prefixed_bytes(txs):
    import hashlib

    raw = txs["publish"].to_bcs()
    want = base58.b58encode(hashlib.blake2b(b"TransactionData::" + raw, digest_size=32).digest()).decode()
    assert txs["publish"].digest() == transaction_digest(raw) == want
    assert transaction_digest(_tamper(raw, 40)) != want


# --- against the TS SDK ---------------------------------------------------------------


def _arg(a):
    if a is GAS_COIN or type(a).__name__ == "GasCoin":
        return {"kind": "GasCoin"}
    if isinstance(a, NestedResult):
        return {"kind": "NestedResult", "index": a.index, "result": a.result}
    return {"kind": type(a).__name__, "index": a.index}


def _ref(r):
    return {"objectId": r.object_id, "version": str(r.version), "digest": r.digest}


def _expected_inputs(tx):
    out = []
    for i in tx.kind.inputs:
        name = type(i).__name__
        if name == "Pure":
            out.append({"kind": "Pure", "bytes": b64(i.value)})
        elif name == "SharedObject":
            out.append(
                {
                    "kind": "SharedObject",
                    "objectId": i.object_id,
                    "initialSharedVersion": str(i.initial_shared_version),
                    "mutable": i.mutable,
                }
            )
        else:
            out.append({"kind": "ImmOrOwnedObject" if name == "OwnedObject" else "Receiving", **_ref(i.ref)})
    return out


@needs_ts
@pytest.mark.parametrize("name", list(CASES))
def test_ts_decodes_our_bytes_field_by_field(ts, txs, name):
    tx, got = txs[name], ts[name]["transaction"]
    assert got["roundTrip"] is True  # the SDK re-encodes its decode to exactly our bytes
    assert got["digest"] == got["sdkDigest"] == tx.digest()
    assert got["sender"] == ME.address
    assert got["expiration"] == (None if tx.expiration_epoch is None else {"epoch": str(tx.expiration_epoch)})
    g = tx.gas_data
    assert got["gasData"] == {
        "payment": [_ref(r) for r in g.payment],
        "owner": g.owner,
        "price": str(g.price),
        "budget": str(g.budget),
    }
    assert got["inputs"] == _expected_inputs(tx)
    assert len(got["commands"]) == len(tx.kind.commands)
    for c, want in zip(got["commands"], tx.kind.commands, strict=True):
        assert c["kind"] == type(want).__name__
        if c["kind"] == "MoveCall":
            assert c["target"] == want.target
            assert c["arguments"] == [_arg(a) for a in want.arguments]
        elif c["kind"] in ("Publish", "Upgrade"):
            assert c["modules"] == [b64(m) for m in want.modules]
            assert c["dependencies"] == [normalize_address(d) for d in want.dependencies]
        elif c["kind"] == "TransferObjects":
            assert c["objects"] == [_arg(a) for a in want.objects] and c["address"] == _arg(want.address)


@needs_ts
def test_ts_specific_shapes(ts, txs):
    pub = ts["publish"]["transaction"]
    assert [c["kind"] for c in pub["commands"]] == ["Publish", "TransferObjects"]
    assert pub["commands"][0]["dependencies"] == [normalize_address("0x1"), normalize_address("0x2")]
    assert pub["commands"][1] == {
        "kind": "TransferObjects",
        "objects": [{"kind": "Result", "index": 0}],
        "address": {"kind": "Input", "index": 0},
    }
    assert base64.b64decode(pub["inputs"][0]["bytes"]) == bcs.address(
        ME.address
    )  # the UpgradeCap goes to the sender

    mc = ts["move_call"]["transaction"]
    assert mc["inputs"][0] == {
        "kind": "SharedObject",
        "objectId": TASK,
        "initialSharedVersion": "7",
        "mutable": True,
    }
    assert mc["inputs"][-1] == {
        "kind": "SharedObject",
        "objectId": normalize_address("0x6"),
        "initialSharedVersion": "1",
        "mutable": False,
    }
    assert (
        mc["commands"][0]["target"] == f"{PKG}::task::submit_update"
        and mc["commands"][0]["typeArguments"] == []
    )

    ch = ts["chained"]["transaction"]
    assert len([i for i in ch["inputs"] if i["kind"] == "SharedObject" and i["objectId"] == TASK]) == 1
    assert ch["inputs"][0]["mutable"] is True
    assert ch["commands"][1]["arguments"][1] == {"kind": "Result", "index": 0}
    assert ch["commands"][2]["arguments"] == [
        {"kind": "NestedResult", "index": 1, "result": 1},
        {"kind": "NestedResult", "index": 1, "result": 0},
        {"kind": "GasCoin"},
    ]
    assert ch["commands"][2]["typeArguments"] == [normalize_address("0x2") + "::sui::SUI"]

    ev = ts["everything"]["transaction"]
    assert [c["kind"] for c in ev["commands"]] == [
        "SplitCoins",
        "MergeCoins",
        "MakeMoveVec",
        "MakeMoveVec",
        "MoveCall",
        "TransferObjects",
        "Upgrade",
    ]
    two = normalize_address("0x2")
    assert (
        ev["commands"][2]["type"] == f"{two}::coin::Coin<{two}::sui::SUI>"
        and ev["commands"][3]["type"] is None
    )
    assert ev["commands"][4]["typeArguments"] == [
        "vector<vector<u8>>",
        f"{two}::table::Table<address, {normalize_address('0x1')}::option::Option<u64>>",
        "u16",
        "u128",
        "signer",
    ]
    assert ev["commands"][6]["package"] == PKG and ev["commands"][6]["ticket"] == {
        "kind": "Result",
        "index": 0,
    }
    assert ev["gasData"]["owner"] == "0x" + "0e" * 32


@needs_ts
def test_ts_pure_encodings_match(ts):
    assert ts["pure"]["pure"] == [b64(ours) for _, _, ours in PURE]


@needs_ts
@pytest.mark.parametrize("name", list(CASES))
def test_ts_verifies_our_transaction_signature(ts, name):
    sig = ts[name]["signature"]
    assert sig["valid"] is True, sig
    assert sig["address"] == ME.address and sig["scheme"] == 0
    assert base64.b64decode(sig["publicKey"]) == ME.public_key


@needs_ts
def test_ts_rejects_tampering(ts, txs):
    tampered = ts["tampered_tx"]
    assert tampered["transaction"]["digest"] != txs["move_call"].digest()
    assert tampered["transaction"]["gasData"]["budget"] != str(txs["move_call"].gas_data.budget)
    assert tampered["signature"]["valid"] is False
    assert ts["forged_sig"]["signature"]["valid"] is False  # another key's signature, our public key


@needs_ts
def test_ts_personal_messages(ts):
    assert ts["pm"]["personalMessage"]["valid"] is True
    assert ts["pm"]["personalMessage"]["address"] == ME.address
    assert ts["pm_tampered"]["personalMessage"]["valid"] is False
    assert ts["pm_wrong_scope"]["personalMessage"]["valid"] is False


@needs_ts
def test_check_tx_cli_flags_and_bad_input(txs):
    raw = txs["publish"].to_bcs()
    p = subprocess.run(
        ["node", str(CHECK_TX), "--tx", b64(raw), "--signature", ME.sign_transaction(raw)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["transaction"]["digest"] == txs["publish"].digest() and out["signature"]["valid"]
    bad = subprocess.run(
        ["node", str(CHECK_TX), "--tx", b64(raw[:-3])], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert bad.returncode == 2 and "check_tx:" in bad.stderr
