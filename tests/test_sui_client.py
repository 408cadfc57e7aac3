"""The network shell: pysui's gRPC client over plaintext, the SuiClient facade, the faucet
helper, plus the deployments file and abort decoding.

The node is a real grpclib server on 127.0.0.1 speaking pysui's own generated betterproto2
messages (`FakeNode`): only the transport boundary is faked. Live checks against a real node
are marked `chain` and run only with WAFL_SUI_RPC_URL set."""

import asyncio
import base64
import http.server
import json
import os
import socket
import ssl
import threading

import base58
import pytest

from oracles import PYSUI_GRPC, import_oracle, require_oracle  # noqa: E402

pb = import_oracle(PYSUI_GRPC)
from grpclib.const import Cardinality, Handler, Status  # noqa: E402
from grpclib.exceptions import GRPCError  # noqa: E402
from grpc_server import serving  # noqa: E402

from wafl_sui.errors import WaflError  # noqa: E402
from wafl_sui.ledger.identity import Identity, IdentityError, verify_signature  # noqa: E402
from wafl_sui.ledger.sui import (  # noqa: E402
    aborts,
    bcs,  # noqa: E402
    deployments,
    network,
)
from wafl_sui.ledger.sui.bcs import normalize_address  # noqa: E402
from wafl_sui.ledger.sui.client import GasCost, Owner, SuiClient, gas_budget_for, select_gas  # noqa: E402
from wafl_sui.ledger.sui.faucet import request_gas  # noqa: E402
from wafl_sui.ledger.sui.network import SuiNetworkError, parse_node_url  # noqa: E402
from wafl_sui.ledger.sui.transactions import CLOCK, PtbBuilder, SharedObject, transaction_digest  # noqa: E402

ME = Identity(bytes(range(32)))
CHAIN = base58.b58encode(bytes([7]) * 32).decode()
DIG = base58.b58encode(bytes([9]) * 32).decode()
TASK = normalize_address("0x7a")
PKG = normalize_address("0xbeef")
CAP = normalize_address("0xca9")


# --- a synthetic compiled module (what aborts decode against) ---------------------------------


def _uleb(n: int) -> bytes:
    return bcs.uleb128(n)


def fake_module(name: str, idents: list[str], errors: list[tuple[str, str]]) -> bytes:
    """A minimal Move module laid out like the real binary format: module handle, identifier
    table, and a constant pool holding each #[error] constant as the compiler does, its name
    then its text (both vector<u8>), then one u64."""
    ident_t = b"".join(_uleb(len(s)) + s.encode() for s in [name, *idents])
    texts = [t for pair in errors for t in pair]
    consts = [
        bytes([0x0A, 0x02]) + _uleb(len(_uleb(len(m)) + m.encode())) + _uleb(len(m)) + m.encode()
        for m in texts
    ]
    consts.append(bytes([0x03]) + _uleb(8) + (5).to_bytes(8, "little"))
    const_t = b"".join(consts)
    handles_t = _uleb(0) + _uleb(0)  # (address 0, name identifier 0)
    tables = [(0x1, handles_t), (0x6, const_t), (0x7, ident_t)]
    head, body = _uleb(len(tables)), b""
    for kind, t in tables:
        head += bytes([kind]) + _uleb(len(body)) + _uleb(len(t))
        body += t
    return b"\xa1\x1c\xeb\x0b" + bytes([6, 0, 0, 0]) + head + body + _uleb(0)


TASK_MODULE = fake_module(
    "task",
    ["Task", "submit"],
    [("EInvalidProof", "The Groth16 proof does not verify"), ("ENotAdmin", "Not the admin")],
)


def clever(line: int, ident: int, const: int, version: int = 1, code: int = 0xFF) -> int:
    return (
        ((0b1100 if version else 0b1000) << 60)
        | ((code if version else 0) << 48)
        | (line << 32)
        | (ident << 16)
        | const
    )


# --- the fake node -------------------------------------------------------------------------


class FakeNode:
    """Serves the Sui gRPC routes SuiClient uses, with pysui's generated messages."""

    def __init__(self):
        self.calls: list[tuple[str, object]] = []
        self.txs: dict[str, object] = {}
        self.abort_next: int | None = None
        self.gas_price = 750
        self.objects = {
            TASK: pb.Object(
                object_id=TASK,
                version=12,
                digest=DIG,
                object_type=f"{PKG}::task::Task",
                owner=pb.Owner(kind=pb.OwnerOwnerKind.SHARED, version=7),
                contents=pb.Bcs(value=b"\x01\x02\x03"),
            ),
            normalize_address("0x6"): pb.Object(
                object_id="0x6",
                version=99,
                digest=DIG,
                object_type="0x2::clock::Clock",
                owner=pb.Owner(kind=pb.OwnerOwnerKind.SHARED, version=1),
                contents=pb.Bcs(value=bytes(40)),
            ),
        }
        self.coins = [
            pb.Object(
                object_id=normalize_address(hex(0xC0 + i)),
                version=3 + i,
                digest=DIG,
                balance=bal,
                object_type="0x2::coin::Coin<0x2::sui::SUI>",
                owner=pb.Owner(kind=pb.OwnerOwnerKind.ADDRESS, address=ME.address),
            )
            for i, bal in enumerate([400_000, 2_000_000_000, 50_000_000])
        ]

    def __mapping__(self):
        routes = {
            "LedgerService/GetServiceInfo": (
                "get_service_info",
                pb.GetServiceInfoRequest,
                pb.GetServiceInfoResponse,
            ),
            "LedgerService/GetEpoch": ("get_epoch", pb.GetEpochRequest, pb.GetEpochResponse),
            "LedgerService/GetObject": ("get_object", pb.GetObjectRequest, pb.GetObjectResponse),
            "LedgerService/GetTransaction": (
                "get_transaction",
                pb.GetTransactionRequest,
                pb.GetTransactionResponse,
            ),
            "StateService/ListOwnedObjects": (
                "list_owned",
                pb.ListOwnedObjectsRequest,
                pb.ListOwnedObjectsResponse,
            ),
            "MovePackageService/GetPackage": ("get_package", pb.GetPackageRequest, pb.GetPackageResponse),
            "TransactionExecutionService/SimulateTransaction": (
                "simulate",
                pb.SimulateTransactionRequest,
                pb.SimulateTransactionResponse,
            ),
            "TransactionExecutionService/ExecuteTransaction": (
                "execute",
                pb.ExecuteTransactionRequest,
                pb.ExecuteTransactionResponse,
            ),
        }

        def handler(name, method):
            async def handle(stream):
                req = await stream.recv_message()
                self.calls.append((name, req))
                await stream.send_message(getattr(self, method)(req))  # looked up per call: tests may patch

            return handle

        return {
            f"/sui.rpc.v2.{route}": Handler(
                handler(route.split("/")[1], method), Cardinality.UNARY_UNARY, rq, rs
            )
            for route, (method, rq, rs) in routes.items()
        }

    def get_service_info(self, req):
        return pb.GetServiceInfoResponse(
            chain_id=CHAIN, chain="localnet", epoch=3, checkpoint_height=1234, server="fake-sui/1.0"
        )

    def get_epoch(self, req):
        assert "reference_gas_price" in req.read_mask.paths
        config = None
        if "protocol_config" in req.read_mask.paths:  # pysui's own client start-up asks for it
            config = pb.ProtocolConfig(protocol_version=80)
        return pb.GetEpochResponse(
            epoch=pb.Epoch(epoch=3, reference_gas_price=self.gas_price, protocol_config=config)
        )

    def get_object(self, req):
        obj = self.objects.get(normalize_address(req.object_id))
        if obj is None:
            raise GRPCError(Status.NOT_FOUND, f"object {req.object_id} not found")
        return pb.GetObjectResponse(object=obj)

    def list_owned(self, req):
        mine = [
            c
            for c in self.coins
            if normalize_address(req.owner) == ME.address and req.object_type == c.object_type
        ]
        start = int(req.page_token or b"0")
        page = mine[start : start + (req.page_size or 50)]
        nxt = str(start + len(page)).encode() if start + len(page) < len(mine) else None
        return pb.ListOwnedObjectsResponse(objects=page, next_page_token=nxt)

    def get_package(self, req):
        return pb.GetPackageResponse(
            package=pb.Package(
                storage_id=req.package_id, modules=[pb.Module(name="task", contents=TASK_MODULE)]
            )
        )

    def _executed(self, tx_bytes: bytes) -> object:
        digest = transaction_digest(tx_bytes)
        if self.abort_next is not None:
            status = pb.ExecutionStatus(
                success=False,
                error=pb.ExecutionError(
                    description="MoveAbort in command 0",
                    command=0,
                    kind=pb.ExecutionErrorExecutionErrorKind.MOVE_ABORT,
                    abort=pb.MoveAbort(
                        abort_code=self.abort_next,
                        location=pb.MoveLocation(package=PKG, module="task", function_name="submit"),
                    ),
                ),
            )
            changed = []
        else:
            status = pb.ExecutionStatus(success=True)
            changed = [
                pb.ChangedObject(
                    object_id=PKG,
                    input_state=pb.ChangedObjectInputObjectState.DOES_NOT_EXIST,
                    output_state=pb.ChangedObjectOutputObjectState.PACKAGE_WRITE,
                    output_version=1,
                    id_operation=pb.ChangedObjectIdOperation.CREATED,
                    object_type="package",
                ),
                pb.ChangedObject(
                    object_id=CAP,
                    input_state=pb.ChangedObjectInputObjectState.DOES_NOT_EXIST,
                    output_state=pb.ChangedObjectOutputObjectState.OBJECT_WRITE,
                    output_version=2,
                    output_digest=DIG,
                    output_owner=pb.Owner(kind=pb.OwnerOwnerKind.ADDRESS, address=ME.address),
                    id_operation=pb.ChangedObjectIdOperation.CREATED,
                    object_type="0x2::package::UpgradeCap",
                ),
                pb.ChangedObject(
                    object_id=TASK,
                    input_state=pb.ChangedObjectInputObjectState.EXISTS,
                    output_state=pb.ChangedObjectOutputObjectState.OBJECT_WRITE,
                    output_version=13,
                    output_owner=pb.Owner(kind=pb.OwnerOwnerKind.SHARED, version=7),
                    id_operation=pb.ChangedObjectIdOperation.NONE,
                    object_type=f"{PKG}::task::Task",
                ),
            ]
        effects = pb.TransactionEffects(
            transaction_digest=digest,
            status=status,
            changed_objects=changed,
            gas_used=pb.GasCostSummary(
                computation_cost=1_000_000,
                storage_cost=9_000_000,
                storage_rebate=978_120,
                non_refundable_storage_fee=9_880,
            ),
        )
        events = pb.TransactionEvents(
            events=[
                pb.Event(
                    package_id=PKG,
                    module="task",
                    sender=ME.address,
                    event_type=f"{PKG}::events::UpdateAccepted",
                    contents=pb.Bcs(value=b"\x05" + bytes(7)),
                ),
            ]
        )
        return pb.ExecutedTransaction(digest=digest, effects=effects, events=events, checkpoint=77)

    def simulate(self, req):
        assert req.do_gas_selection is False
        return pb.SimulateTransactionResponse(transaction=self._executed(req.transaction.bcs.value))

    def execute(self, req):
        tx = req.transaction.bcs.value
        if len(req.signatures) != 1:
            raise GRPCError(Status.INVALID_ARGUMENT, "expected one signature")
        try:
            verify_signature(req.signatures[0].bcs.value, tx, 0)
        except IdentityError as exc:
            raise GRPCError(Status.INVALID_ARGUMENT, f"invalid user signature: {exc}") from None
        executed = self._executed(tx)
        self.txs[executed.digest] = executed
        return pb.ExecuteTransactionResponse(transaction=executed)

    def get_transaction(self, req):
        if req.digest not in self.txs:
            raise GRPCError(Status.NOT_FOUND, f"transaction {req.digest} not found")
        return pb.GetTransactionResponse(transaction=self.txs[req.digest])


@pytest.fixture
def node():
    """FakeNode on a plaintext grpclib server (own thread and loop); `.url` is http://127.0.0.1:PORT."""
    with serving(FakeNode()) as fake:
        yield fake


@pytest.fixture
def client(node):
    with SuiClient(node.url, network="localnet", timeout=10) as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- URLs and profiles -----------------------------------------------------------------------


def test_errors_derive_from_waflerror():
    assert issubclass(SuiNetworkError, WaflError) and issubclass(deployments.DeploymentError, WaflError)


def test_node_urls():
    assert parse_node_url("http://127.0.0.1:9000") == network.NodeEndpoint("127.0.0.1", 9000, False)
    assert parse_node_url("https://fullnode.testnet.sui.io:443") == network.NodeEndpoint(
        "fullnode.testnet.sui.io", 443, True
    )
    assert parse_node_url("https://fullnode.devnet.sui.io").port == 443
    assert parse_node_url("fullnode.mainnet.sui.io:443").tls  # pysui's scheme-less form is TLS
    for bad in ("ftp://x:1", "http://:9000", "http://h:9000/graphql", "http://h:port"):
        with pytest.raises(SuiNetworkError):
            parse_node_url(bad)


def test_network_profiles():
    assert network.rpc_url("localnet", env={}) == "http://127.0.0.1:9000"
    assert network.rpc_url("testnet", env={}) == "https://fullnode.testnet.sui.io:443"
    assert network.rpc_url("devnet", env={}) == "https://fullnode.devnet.sui.io:443"
    assert (
        network.rpc_url("testnet", env={"WAFL_SUI_RPC_URL": "http://10.0.0.1:9000"}) == "http://10.0.0.1:9000"
    )
    with pytest.raises(SuiNetworkError, match="unknown Sui network 'moon'.*localnet"):
        network.rpc_url("moon", env={})
    assert network.faucet_url("testnet").endswith("/v2/gas")
    with pytest.raises(SuiNetworkError, match="mainnet has no faucet"):
        network.faucet_url("mainnet")


def test_memory_config_writes_nothing(tmp_path, monkeypatch):
    from wafl_sui.ledger.sui.grpc_plaintext import memory_config

    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = memory_config("http://127.0.0.1:9000")
    assert cfg.url == "http://127.0.0.1:9000" and cfg.active_group.protocol.name == "GRPC"
    assert list(tmp_path.iterdir()) == []


# --- gRPC over plaintext ---------------------------------------------------------------------


def test_pysui_grpc_client_over_plaintext(node):
    """GrpcClient is pysui's GrpcProtocolClient (same requests, renders) on a plaintext channel."""
    from pysui.sui.sui_grpc.pgrpc_clients import GrpcProtocolClient
    from pysui.sui.sui_grpc.pgrpc_requests import GetChainIdentifierSC

    from wafl_sui.ledger.sui.grpc_plaintext import GrpcClient

    async def go():
        c = GrpcClient(node.url)
        assert isinstance(c, GrpcProtocolClient) and c.url == node.url
        try:
            res = await c.execute_grpc_request(request=GetChainIdentifierSC())
            async with c:  # pysui's own start-up: GetEpoch for the protocol config and gas price
                pass
            return res, c.current_gas_price
        finally:
            await c.close()

    res, price = asyncio.run(go())
    assert res.is_ok() and res.result_data == CHAIN
    assert price == node.gas_price
    assert [n for n, _ in node.calls] == ["GetServiceInfo", "GetEpoch"]


def test_stock_pysui_client_cannot_reach_a_plaintext_node(node):
    """Why GrpcClient exists: pysui's client opens TLS even for http:// URLs."""
    from pysui.sui.sui_grpc.pgrpc_clients import GrpcProtocolClient
    from pysui.sui.sui_grpc.pgrpc_requests import GetServiceInfo

    from wafl_sui.ledger.sui.grpc_plaintext import memory_config

    async def go():
        c = GrpcProtocolClient(pysui_config=memory_config(node.url))
        try:
            return await asyncio.wait_for(c.execute_grpc_request(request=GetServiceInfo()), 10)
        finally:
            await c.close()

    with pytest.raises(ssl.SSLError):  # a TLS handshake against plaintext HTTP/2
        asyncio.run(go())
    assert node.calls == []


def test_https_to_a_plaintext_node_is_a_clear_error(node):
    url = node.url.replace("http://", "https://")
    with (
        SuiClient(url, timeout=5) as c,
        pytest.raises(SuiNetworkError, match=f"cannot reach the Sui node at {url}"),
    ):
        c.service_info()


def test_unreachable_node_names_url_and_fix():
    url = f"http://127.0.0.1:{_free_port()}"
    with (
        SuiClient(url, timeout=5) as c,
        pytest.raises(SuiNetworkError, match=r"cannot reach the Sui node at .*sui start --with-faucet"),
    ):
        c.chain_id()


def test_closed_client(node):
    c = SuiClient(node.url)
    c.close()
    c.close()  # idempotent
    with pytest.raises(SuiNetworkError, match="closed"):
        c.chain_id()


# --- the SuiClient facade --------------------------------------------------------------------


def test_chain_and_gas_price(client):
    info = client.service_info()
    assert (info.chain_id, info.chain, info.epoch, info.checkpoint_height) == (CHAIN, "localnet", 3, 1234)
    assert client.chain_id() == CHAIN
    assert client.reference_gas_price() == 750
    assert client.check_network("localnet").chain_id == CHAIN


def test_wrong_network_is_reported(client, node, monkeypatch):
    with pytest.raises(SuiNetworkError, match=f"is not testnet: its chain id is {CHAIN}.*69WiPg3"):
        client.check_network("testnet")
    monkeypatch.setattr(
        node,
        "get_service_info",
        lambda req: pb.GetServiceInfoResponse(chain_id=network.CHAIN_IDS["testnet"], chain="testnet"),
    )
    with pytest.raises(SuiNetworkError, match="serves testnet .* not localnet"):
        client.check_network("localnet")
    assert client.check_network("testnet").chain == "testnet"


def test_get_object_shared_and_missing(client):
    task = client.get_object("0x7a")
    assert (task.object_id, task.version, task.digest, task.contents) == (TASK, 12, DIG, b"\x01\x02\x03")
    assert task.owner == Owner("shared", None, 7) and task.initial_shared_version == 7
    assert task.shared(True) == SharedObject(TASK, 7, True)
    assert client.get_object("0x6").shared(False) == CLOCK
    with pytest.raises(SuiNetworkError, match="object 0x0+dead does not exist on localnet"):
        client.get_object("0xdead")


def test_gas_coins_page_and_select(client, node):
    coins = client.owned_objects(ME.address, "0x2::coin::Coin<0x2::sui::SUI>", limit=2)
    assert len(coins) == 2
    coins = client.gas_coins(ME.address)
    assert sorted(c.balance for c in coins) == [400_000, 50_000_000, 2_000_000_000]
    assert all(c.owner == Owner("address", ME.address) for c in coins)
    picked = select_gas(coins, ME.address, 2_010_000_000)
    assert [r.object_id for r in picked] == [normalize_address("0xc1"), normalize_address("0xc2")]
    with pytest.raises(
        SuiNetworkError,
        match=rf"{ME.address} has 2050400000 MIST in 3 SUI coin\(s\) but needs 3000000000 MIST for gas \(949600000 MIST short\)",
    ):
        select_gas(coins, ME.address, 3_000_000_000)
    assert client.gas_coins(Identity.generate().address) == []


def test_gas_budget_from_simulation():
    cost = GasCost(1_000_000, 9_000_000, 978_120, 9_880)
    assert cost.net == 9_021_880 and cost.gross == 10_000_000
    assert gas_budget_for(cost, 1000) == 12_000_000
    assert gas_budget_for(GasCost(0, 0, 0, 0), 1000) == 1_000_000


def _publish_kind():
    b = PtbBuilder()
    cap = b.publish([TASK_MODULE], ["0x1", "0x2"])
    b.transfer_objects([cap], ME.address)
    return b.build()


def test_prepare_simulate_execute_and_events(client, node):
    tx, sim = client.prepare(_publish_kind(), ME.address)
    assert sim.success and sim.gas.gross == 10_000_000
    assert tx.gas_data.budget == 12_000_000 and tx.gas_data.price == 750
    assert [r.object_id for r in tx.gas_data.payment] == [normalize_address("0xc1")]
    simulated = [r for n, r in node.calls if n == "SimulateTransaction"]
    assert (
        len(simulated) == 1 and simulated[0].transaction.bcs.value != tx.to_bcs()
    )  # simulated with the cap budget

    raw = tx.to_bcs()
    eff = client.execute(raw, [ME.sign_transaction(raw)])
    sent = [r for n, r in node.calls if n == "ExecuteTransaction"][-1]
    assert sent.transaction.bcs.value == raw
    assert base64.b64encode(sent.signatures[0].bcs.value).decode() == ME.sign_transaction(raw)
    assert eff.success and eff.error is None and eff.digest == tx.digest() and eff.checkpoint == 77
    assert eff.published_package() == PKG
    caps = eff.created_of_type("::package::UpgradeCap")
    assert [c.object_id for c in caps] == [CAP] and caps[0].owner == Owner("address", ME.address)
    assert [c.operation for c in eff.changed] == ["created", "created", "mutated"]
    assert eff.changed[2].owner.version == 7
    assert eff.events[0].event_type.endswith("::events::UpdateAccepted") and eff.events[
        0
    ].contents == b"\x05" + bytes(7)
    assert bcs.BcsReader(eff.events[0].contents).u64() == 5

    again = client.transaction(eff.digest)
    assert again == eff
    assert client.events(eff.digest) == list(eff.events)
    with pytest.raises(SuiNetworkError, match="transaction 1111 is not known"):
        client.transaction("1111")


def test_execute_with_a_bad_signature_is_refused(client):
    tx, _ = client.prepare(_publish_kind(), ME.address)
    raw = tx.to_bcs()
    sig = bytearray(base64.b64decode(ME.sign_transaction(raw)))
    sig[5] ^= 1
    with pytest.raises(
        SuiNetworkError, match="refused ExecuteTransaction: INVALID_ARGUMENT: invalid user signature"
    ):
        client.execute(raw, [base64.b64encode(bytes(sig)).decode()])


def test_abort_is_decoded_in_effects(client, node):
    modules = client.package_modules(PKG)
    assert modules == {"task": TASK_MODULE}
    node.abort_next = clever(88, 0, 1)
    tx, sim = client.prepare(_publish_kind(), ME.address)
    assert not sim.success  # the simulation already shows the abort
    assert sim.abort.name is None and sim.abort.line == 88  # without the module bytes: the line only
    raw = tx.to_bcs()
    eff = client.execute(raw, [ME.sign_transaction(raw)], modules=modules)
    assert not eff.success
    assert (eff.abort.name, eff.abort.module, eff.abort.function, eff.abort.line) == (
        "EInvalidProof",
        "task",
        "submit",
        88,
    )
    assert eff.abort.message == "The Groth16 proof does not verify"
    assert "EInvalidProof in task::submit (line 88): The Groth16 proof does not verify" in eff.error


def test_prepare_without_coins(client):
    with pytest.raises(SuiNetworkError, match="has no SUI coins on localnet"):
        client.prepare(_publish_kind(), Identity.generate().address)


# --- aborts ------------------------------------------------------------------------------------


def test_clever_code_layout():
    assert clever(0x65, 4, 5) == 0xC0FF_0065_0004_0005  # as the compiler emits in our task module
    c = aborts.parse_clever_code(clever(88, 0, 1))
    assert (c.version, c.error_code, c.line_number, c.identifier_index, c.constant_index) == (
        1,
        None,
        88,
        0,
        1,
    )
    c = aborts.parse_clever_code(clever(7, 2, 1, code=5))
    assert c.error_code == 5
    v0 = aborts.parse_clever_code(clever(3, 4, 0xFFFF, version=0))
    assert (v0.version, v0.line_number, v0.identifier_index, v0.constant_index) == (0, 3, 4, None)
    assert aborts.parse_clever_code(42) is None  # a plain numeric abort
    assert aborts.parse_clever_code(1 << 63 | 1 << 62 | 1 << 61) is None  # tag bit set, unknown version
    with pytest.raises(ValueError):
        aborts.parse_clever_code(1 << 64)


def test_decode_abort_against_module_tables():
    assert aborts.decode_clever(clever(88, 0, 1), TASK_MODULE) == (
        "EInvalidProof",
        "The Groth16 proof does not verify",
        88,
    )
    assert aborts.decode_clever(clever(12, 2, 3), TASK_MODULE) == ("ENotAdmin", "Not the admin", 12)
    assert aborts.decode_clever(clever(12, 40, 40), TASK_MODULE) == (
        None,
        None,
        12,
    )  # another build's indices
    assert aborts.decode_clever(clever(12, 4, 4), TASK_MODULE) == (
        None,
        None,
        12,
    )  # the u64 constant is no text
    assert aborts.decode_clever(clever(9, 0xFFFF, 0xFFFF), TASK_MODULE) == (
        None,
        None,
        9,
    )  # assert!(cond): line only
    info = aborts.decode_abort(clever(12, 2, 3), "task", [TASK_MODULE], function="set_admin")
    assert str(info) == "ENotAdmin in task::set_admin (line 12): Not the admin"
    plain = aborts.decode_abort(7, "task", {"task": TASK_MODULE})
    assert plain.name is None and str(plain) == "Move abort code 7 in task"


def test_abort_from_node_clever_error_and_protocol_error():
    msg = pb.MoveAbort(
        abort_code=clever(30, 9, 9),
        location=pb.MoveLocation(module="round", function_name="submit"),
        clever_error=pb.CleverError(
            constant_name="ERoundClosed", line_number=30, rendered='"The round is closed"'
        ),
    )
    info = aborts.abort_from_grpc(msg)
    assert (info.name, info.message, info.line, info.module) == (
        "ERoundClosed",
        "The round is closed",
        30,
        "round",
    )
    err = aborts.to_protocol_error(info)
    if err is not None:  # wafl_sui.protocol.errors is importable
        assert isinstance(err, WaflError) and err.name == "ERoundClosed"
    assert aborts.to_protocol_error(aborts.MoveAbortInfo(5)) is None


@pytest.mark.slow
def test_decode_against_the_real_package_build():
    """Our #[error] constants, from the real compiled package: name and text round-trip."""
    from wafl_sui.contract import build, bytecode

    require_oracle("node", "node_modules")  # the offline compiler runs under node
    mods = build.build_package().module_bytes()  # a package that does not build is a failure
    import re

    task = next(m for m in mods if bytecode.module_name(m) == "task")
    texts = bytecode.error_constant_names(task)
    # the clever codes the compiler emitted (LdU64 immediates with a clever tag), decoded
    codes = {int.from_bytes(m.group(1), "little") for m in re.finditer(rb"\x06(.{8})", task, re.S)}
    decoded = {aborts.decode_clever(c, task)[0] for c in codes if aborts.parse_clever_code(c)}
    assert "EInvalidProof" in decoded and "ENotAdmin" in decoded
    name_at = next(i for i, t in texts.items() if t == "EInvalidProof")
    text_at = next(i for i, t in texts.items() if "Groth16" in t)
    info = aborts.decode_abort(clever(40, name_at, text_at), "task", mods)
    assert (info.name, info.line) == ("EInvalidProof", 40) and "Groth16" in info.message


# --- faucet --------------------------------------------------------------------------------------


@pytest.fixture
def faucet():
    """A local HTTP faucet: /ok succeeds, /limited answers 429, /broken reports a failure."""
    seen = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, body))
            recipient = body["FixedAmountRequest"]["recipient"]
            if self.path == "/limited":
                code, out = 429, {"error": "slow down"}
            elif self.path == "/broken":
                code, out = 200, {"status": {"Failure": {"internal": "faucet is empty"}}}
            elif self.path == "/html":
                code, out = 502, None
            else:
                code, out = (
                    201,
                    {
                        "status": "Success",
                        "coins_sent": [{"amount": 1000000000, "id": "0xc0", "transferTxDigest": DIG}],
                    },
                )
            data = b"<html>bad gateway</html>" if out is None else json.dumps(out).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            assert recipient == ME.address

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", seen
    srv.shutdown()
    srv.server_close()


def test_faucet(faucet):
    base, seen = faucet
    coins = request_gas(ME.address, "localnet", url=f"{base}/v2/gas")
    assert coins[0].amount == 1_000_000_000 and coins[0].object_id == normalize_address("0xc0")
    assert seen[0] == ("/v2/gas", {"FixedAmountRequest": {"recipient": ME.address}})
    with pytest.raises(SuiNetworkError, match=r"rate limiting this machine \(HTTP 429"):
        request_gas(ME.address, "testnet", url=f"{base}/limited")
    with pytest.raises(SuiNetworkError, match="refused to fund .*faucet is empty"):
        request_gas(ME.address, "devnet", url=f"{base}/broken")
    with pytest.raises(SuiNetworkError, match="answered HTTP 502"):
        request_gas(ME.address, "devnet", url=f"{base}/html")
    with pytest.raises(SuiNetworkError, match="cannot reach the localnet faucet"):
        request_gas(ME.address, "localnet", url=f"http://127.0.0.1:{_free_port()}/v2/gas", timeout=5)


# --- deployments file ------------------------------------------------------------------------


def _dep(net="localnet", chain=CHAIN):
    return deployments.Deployment(net, PKG, CAP, ME.address, DIG, chain)


def test_deployments_round_trip(tmp_path):
    path = tmp_path / "deployments.json"
    assert deployments.load(path) == {}
    deployments.record_deployment(_dep(), path)
    deployments.record_deployment(_dep("testnet", network.CHAIN_IDS["testnet"]), path)
    task = deployments.TaskDeployment("mnist", "0x7a", 7, "0xad", DIG)
    dep = deployments.record_task("localnet", task, path)
    assert dep.task("mnist") == task and task.object_id == TASK
    loaded = deployments.load(path)
    assert set(loaded) == {"localnet", "testnet"}
    assert loaded["localnet"] == dep and loaded["localnet"].tasks["mnist"].initial_shared_version == 7
    assert deployments.get("localnet", path, chain_id=CHAIN).package_id == PKG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deployments.json", "deployments.json.lock"]
    doc = json.loads(path.read_text())
    assert doc["format"] == "wafl-deployments/1" and doc["networks"]["localnet"]["tasks"]["mnist"][
        "admin_cap_id"
    ] == normalize_address("0xad")
    # a new publish replaces the entry, tasks included
    deployments.record_deployment(_dep(), path)
    assert deployments.get("localnet", path).tasks == {}


def test_deployments_errors(tmp_path):
    path = tmp_path / "deployments.json"
    with pytest.raises(deployments.DeploymentError, match="not deployed on devnet .*publish it first"):
        deployments.get("devnet", path)
    deployments.record_deployment(_dep(), path)
    with pytest.raises(deployments.DeploymentError, match="no task named 'x' is deployed on localnet"):
        deployments.get("localnet", path).task("x")
    with pytest.raises(
        deployments.DeploymentError,
        match="was made on chain .* but the node is on chain other.*publish again",
    ):
        deployments.get("localnet", path, chain_id="other")
    with pytest.raises(deployments.DeploymentError, match="not deployed on devnet"):
        deployments.record_task("devnet", deployments.TaskDeployment("t", "0x1", 1, "0x2"), path)


@pytest.mark.parametrize(
    "content",
    [
        "{broken",
        '{"format": "other"}',
        '{"format": "wafl-deployments/1", "networks": {"x": {"package_id": "zz"}}}',
    ],
)
def test_corrupt_deployments_file_is_reported_and_kept(tmp_path, content):
    path = tmp_path / "deployments.json"
    path.write_text(content)
    with pytest.raises(
        deployments.DeploymentError,
        match=r"deployments\.json.*(corrupt|not a WaFL|malformed|not a Sui address).*",
    ):
        deployments.load(path)
    with pytest.raises(deployments.DeploymentError):
        deployments.record_deployment(_dep(), path)
    assert path.read_text() == content


def test_deployments_default_path(monkeypatch, tmp_path):
    assert deployments.wafl_home({}) == deployments.Path("~/.cache/wafl").expanduser()
    assert deployments.default_path({"WAFL_HOME": str(tmp_path)}) == tmp_path / "deployments.json"
    monkeypatch.setenv("WAFL_HOME", str(tmp_path / "h"))
    deployments.record_deployment(_dep())
    assert (tmp_path / "h" / "deployments.json").is_file()


# --- live node (WAFL_SUI_RPC_URL) -------------------------------------------------------------


@pytest.mark.chain
@pytest.mark.skipif(
    not os.environ.get("WAFL_SUI_RPC_URL"), reason="set WAFL_SUI_RPC_URL to test against a live node"
)
def test_live_node():
    net = os.environ.get("WAFL_SUI_NETWORK", "localnet")
    with SuiClient(network.rpc_url(net), network=net) as c:
        info = c.check_network()
        assert info.chain_id
        assert c.reference_gas_price() > 0
        clock = c.get_object("0x6")
        assert clock.shared(False) == CLOCK and clock.contents


def _live_identity(c: SuiClient, net: str) -> Identity:
    """WAFL_SUI_TEST_KEY (a funded key file), or a fresh key funded by the localnet faucet."""
    import time

    if os.environ.get("WAFL_SUI_TEST_KEY"):
        return Identity.from_file(os.environ["WAFL_SUI_TEST_KEY"])
    if net != "localnet":
        pytest.skip("set WAFL_SUI_TEST_KEY to a funded key file to send a transaction on " + net)
    me = Identity.generate()
    request_gas(me.address, "localnet")
    for _ in range(60):
        if c.gas_coins(me.address):
            return me
        time.sleep(0.5)
    pytest.fail(f"the localnet faucet's coins for {me.address} did not appear")


@pytest.mark.chain
@pytest.mark.skipif(
    not os.environ.get("WAFL_SUI_RPC_URL"), reason="set WAFL_SUI_RPC_URL to test against a live node"
)
def test_live_transaction_with_our_bytes():
    """A real node accepts our BCS, our signature and our digest: read the Clock in a move call."""
    net = os.environ.get("WAFL_SUI_NETWORK", "localnet")
    with SuiClient(network.rpc_url(net), network=net) as c:
        me = _live_identity(c, net)
        b = PtbBuilder()
        b.move_call("0x2::clock::timestamp_ms", [b.object(CLOCK)])
        tx, sim = c.prepare(b.build(), me.address)
        assert sim.success, sim.error
        raw = tx.to_bcs()
        eff = c.execute(raw, [me.sign_transaction(raw)])
        assert eff.success, eff.error
        assert eff.digest == tx.digest()
        assert 0 < eff.gas.net <= tx.gas_data.budget
