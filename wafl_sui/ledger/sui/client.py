"""`SuiClient`: the few Sui node calls the ledger needs, synchronous, over pysui's gRPC client.

Each call runs pysui's async request on an event loop the client owns, and comes back as small
frozen dataclasses (no protobuf outside this module). Failures raise `SuiNetworkError` naming the
node and the fix: unreachable node, refused request, wrong network, not enough gas.

pysui 1.5.1 speaks gRPC or GraphQL only (no JSON-RPC): dry runs are gRPC SimulateTransaction.
Not wrapped here: event queries by type or sender (pysui's `ListEvents` needs a node with the
new indexed LedgerService.ListEvents); only the events of a known transaction are. Execute
returns once the effects are final; reads of owned objects may lag behind by a checkpoint.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from wafl_sui.ledger.sui.aborts import MoveAbortInfo, abort_from_grpc
from wafl_sui.ledger.sui.bcs import normalize_address
from wafl_sui.ledger.sui.network import (
    CHAIN_IDS,
    RPC_URL_ENV,
    InsufficientGas,
    SuiNetworkError,
    SuiNotFound,
    SuiUnreachable,
    rpc_url,
)
from wafl_sui.ledger.sui.transactions import (
    ObjectRef,
    ProgrammableTransaction,
    SharedObject,
    TransactionData,
    build_transaction,
)

T = TypeVar("T")
SUI_COIN_TYPE = "0x2::coin::Coin<0x2::sui::SUI>"
MAX_GAS_COINS = 256  # protocol limit on gas payment objects
DEFAULT_MAX_BUDGET = 5_000_000_000  # 5 SUI: the cap used for the simulation that sizes the budget
_TX_MASK = ["digest", "effects", "events", "checkpoint", "timestamp"]
_OBJECT_MASK = [
    "object_id",
    "version",
    "digest",
    "owner",
    "object_type",
    "contents",
    "balance",
    "previous_transaction",
]


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """kind: address | object | shared | immutable | consensus_address | unknown. `version` is
    the initial shared version of a shared object (start version for consensus_address)."""

    kind: str
    address: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class ObjectInfo:
    object_id: str
    version: int
    digest: str
    owner: Owner
    object_type: str | None = None
    contents: bytes | None = None  # BCS of the Move struct
    balance: int | None = None  # coins only
    previous_transaction: str | None = None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.object_id, self.version, self.digest)

    @property
    def initial_shared_version(self) -> int:
        if self.owner.kind != "shared" or self.owner.version is None:
            raise SuiNetworkError(f"object {self.object_id} is not shared (owner: {self.owner.kind})")
        return self.owner.version

    def shared(self, mutable: bool) -> SharedObject:
        """This object as a shared transaction input."""
        return SharedObject(self.object_id, self.initial_shared_version, mutable)


@dataclass(frozen=True)
class ServiceInfo:
    chain_id: str
    chain: str
    epoch: int | None
    checkpoint_height: int | None
    server: str


@dataclass(frozen=True)
class GasCost:
    computation: int
    storage: int
    rebate: int
    non_refundable: int

    @property
    def net(self) -> int:
        """What the sender pays in the end (MIST)."""
        return self.computation + self.storage - self.rebate

    @property
    def gross(self) -> int:
        """What the gas budget must cover (MIST): computation and storage, before the rebate."""
        return self.computation + self.storage


@dataclass(frozen=True)
class ChangedObject:
    """operation: created | mutated | deleted | wrapped | unwrapped; package: a published package."""

    object_id: str
    operation: str
    object_type: str | None
    owner: Owner | None
    version: int | None
    digest: str | None
    package: bool = False
    input_version: int | None = None  # the version the transaction read (None when created)
    input_digest: str | None = None


@dataclass(frozen=True)
class Event:
    package_id: str
    module: str
    sender: str
    event_type: str
    contents: bytes  # BCS of the event struct


@dataclass(frozen=True)
class TxEffects:
    digest: str
    success: bool
    error: str | None
    abort: MoveAbortInfo | None
    gas: GasCost
    changed: tuple[ChangedObject, ...]
    events: tuple[Event, ...]
    checkpoint: int | None = None
    error_kind: str | None = None  # e.g. MOVE_ABORT, INSUFFICIENT_GAS (the node's ExecutionErrorKind)
    timestamp_ms: int | None = None  # of the checkpoint, once the transaction is in one

    def changed_object(self, object_id: str) -> ChangedObject | None:
        oid = normalize_address(object_id)
        return next((c for c in self.changed if c.object_id == oid), None)

    @property
    def created(self) -> list[ChangedObject]:
        return [c for c in self.changed if c.operation == "created"]

    def created_of_type(self, suffix: str) -> list[ChangedObject]:
        """Created objects whose type ends with `suffix` (e.g. "::task::Task", "::package::UpgradeCap")."""
        return [
            c for c in self.created if not c.package and (c.object_type or "").split("<")[0].endswith(suffix)
        ]

    def published_package(self) -> str:
        pkgs = [c.object_id for c in self.created if c.package]
        if len(pkgs) != 1:
            raise SuiNetworkError(f"transaction {self.digest} published {len(pkgs)} packages, expected 1")
        return pkgs[0]


def gas_budget_for(cost: GasCost, gas_price: int, margin: float = 1.2) -> int:
    """A budget for a transaction whose simulation cost `cost`: gross cost plus `margin`, and at
    least one computation unit bucket (1000 gas units) at `gas_price`."""
    return max(math.ceil(cost.gross * margin), 1000 * gas_price)


def select_gas(coins: Sequence[ObjectInfo], owner: str, amount: int) -> list[ObjectRef]:
    """Largest-first SUI coins covering `amount` MIST; SuiNetworkError naming the owner and the
    shortfall when they cannot."""
    picked, total = [], 0
    for c in sorted(coins, key=lambda c: c.balance or 0, reverse=True)[:MAX_GAS_COINS]:
        if total >= amount:
            break
        picked.append(c.ref)
        total += c.balance or 0
    if total < amount:
        have = sum(c.balance or 0 for c in coins)
        raise SuiNetworkError(
            f"{normalize_address(owner)} has {have} MIST in {len(coins)} SUI coin(s) but needs {amount} MIST "
            f"for gas ({amount - min(total, have)} MIST short); fund it from the faucet or a wallet"
        )
    return picked


# --- protobuf -> dataclasses ----------------------------------------------------------------

_OWNER_KINDS = {1: "address", 2: "object", 3: "shared", 4: "immutable", 5: "consensus_address"}


def _owner(o: Any) -> Owner | None:
    if o is None:
        return None
    kind = _OWNER_KINDS.get(int(o.kind or 0), "unknown")
    return Owner(kind, normalize_address(o.address) if o.address else None, o.version)


def _object(o: Any) -> ObjectInfo:
    return ObjectInfo(
        normalize_address(o.object_id),
        int(o.version or 0),
        o.digest or "",
        _owner(o.owner) or Owner("unknown"),
        o.object_type,
        bytes(o.contents.value) if o.contents is not None and o.contents.value is not None else None,
        o.balance,
        o.previous_transaction,
    )


def _changed(c: Any) -> ChangedObject:
    id_op = int(c.id_operation or 0)
    in_state, out_state = int(c.input_state or 0), int(c.output_state or 0)
    if id_op == 2:
        op = "created"
    elif id_op == 3:
        op = "deleted"
    elif out_state == 1:  # OUTPUT_OBJECT_STATE_DOES_NOT_EXIST
        op = "wrapped"
    elif in_state == 1:  # INPUT_OBJECT_STATE_DOES_NOT_EXIST
        op = "unwrapped"
    else:
        op = "mutated"
    return ChangedObject(
        normalize_address(c.object_id),
        op,
        c.object_type,
        _owner(c.output_owner),
        c.output_version,
        c.output_digest,
        package=out_state == 3,  # OUTPUT_OBJECT_STATE_PACKAGE_WRITE
        input_version=c.input_version if in_state == 2 else None,  # INPUT_OBJECT_STATE_EXISTS
        input_digest=c.input_digest if in_state == 2 else None,
    )


def _event(e: Any) -> Event:
    return Event(
        normalize_address(e.package_id) if e.package_id else "",
        e.module or "",
        normalize_address(e.sender) if e.sender else "",
        e.event_type or "",
        bytes(e.contents.value) if e.contents is not None and e.contents.value is not None else b"",
    )


def _effects(tx: Any, modules: dict[str, bytes] | None = None) -> TxEffects:
    if tx is None or tx.effects is None:
        raise SuiNetworkError("the node returned no transaction effects")
    eff = tx.effects
    status = eff.status
    success = bool(status is not None and status.success)
    error = abort = error_kind = None
    if not success:
        err = status.error if status is not None else None
        error = (err.description if err is not None else None) or "transaction failed"
        if err is not None and err.kind is not None:
            error_kind = getattr(err.kind, "name", None) or str(err.kind)
        if err is not None and err.abort is not None:
            abort = abort_from_grpc(err.abort, modules or {})
            error = f"{error} [{abort}]"
    g = eff.gas_used
    gas = (
        GasCost(
            int(g.computation_cost or 0),
            int(g.storage_cost or 0),
            int(g.storage_rebate or 0),
            int(g.non_refundable_storage_fee or 0),
        )
        if g is not None
        else GasCost(0, 0, 0, 0)
    )
    changed = tuple(_changed(c) for c in eff.changed_objects)
    events = tuple(_event(e) for e in (tx.events.events if tx.events is not None else []))
    ts = getattr(tx, "timestamp", None)
    timestamp_ms = round(ts.timestamp() * 1000) if ts is not None else None
    return TxEffects(
        tx.digest or eff.transaction_digest or "",
        success,
        error,
        abort,
        gas,
        changed,
        events,
        tx.checkpoint,
        error_kind,
        timestamp_ms,
    )


def _status_text(result_string: Any) -> tuple[Status | None, str]:
    """pysui puts a GRPCError's args (status, message, details) in result_string."""
    if isinstance(result_string, tuple) and result_string and isinstance(result_string[0], Status):
        msg = result_string[1] if len(result_string) > 1 else ""
        return result_string[0], f"{result_string[0].name}: {msg}"
    return None, str(result_string)


# --- the client -----------------------------------------------------------------------------


class SuiClient:
    """Synchronous Sui node client (gRPC through pysui). Use as a context manager or `close()`."""

    def __init__(self, url: str | None = None, *, network: str = "localnet", timeout: float = 30.0):
        from wafl_sui.ledger.sui.grpc_plaintext import GrpcClient  # pysui import is ~1 s

        self.network = network
        self.url = url or rpc_url(network)
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        # gas coins this client's transactions changed: id -> (version, digest, balance), or
        # (version, None, None) for a coin merged away; and the balances last seen of coins
        self._spent_gas: dict[str, tuple[int, str | None, int | None]] = {}
        self._balances: dict[str, int] = {}

        async def make() -> GrpcClient:
            return GrpcClient(self.url)

        try:
            self._grpc = self._loop.run_until_complete(make())
        except Exception:
            self._loop.close()
            raise

    def __enter__(self) -> SuiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._loop.run_until_complete(self._grpc.close())
        finally:
            self._loop.close()

    def __repr__(self) -> str:
        return f"SuiClient({self.url!r}, network={self.network!r})"

    # --- plumbing -------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            coro.close()
            raise SuiNetworkError("this SuiClient is closed")
        return self._loop.run_until_complete(asyncio.wait_for(coro, self.timeout + 5))

    def _unreachable(self, what: str, exc: BaseException) -> SuiUnreachable:
        hint = (
            "start a local node with `sui start --with-faucet` (gRPC on http://127.0.0.1:9000)"
            if self.url.startswith("http://127.0.0.1") or self.url.startswith("http://localhost")
            else f"check the URL and your connection, or point {RPC_URL_ENV} at another node"
        )
        detail = str(exc) or type(exc).__name__
        return SuiUnreachable(f"cannot reach the Sui node at {self.url} ({what}): {detail}; {hint}")

    def _request(self, request: Any, what: str, *, not_found: str | None = None) -> Any:
        try:
            res = self._run(self._grpc.execute_grpc_request(request=request, timeout=self.timeout))
        except (OSError, TimeoutError, StreamTerminatedError, ProtocolError) as exc:
            raise self._unreachable(what, exc) from exc
        except GRPCError as exc:  # pysui catches these for unary calls; kept for safety
            text = f"{exc.status.name}: {exc.message}"
            raise SuiNetworkError(f"the Sui node at {self.url} refused {what}: {text}") from exc
        if not res.is_ok():
            status, text = _status_text(res.result_string)
            if status == Status.NOT_FOUND and not_found:
                raise SuiNotFound(not_found)
            if status in (Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED):  # the outcome is unknown
                raise self._unreachable(what, RuntimeError(text))
            raise SuiNetworkError(f"the Sui node at {self.url} refused {what}: {text}")
        return res.result_data

    # --- chain ----------------------------------------------------------------------------

    def service_info(self) -> ServiceInfo:
        from pysui.sui.sui_grpc.pgrpc_requests import GetServiceInfo

        r = self._request(GetServiceInfo(), "GetServiceInfo")
        return ServiceInfo(r.chain_id or "", r.chain or "", r.epoch, r.checkpoint_height, r.server or "")

    def chain_id(self) -> str:
        return self.service_info().chain_id

    def check_network(self, network: str | None = None) -> ServiceInfo:
        """Check the node serves `network` (default: this client's): the genesis digest for
        mainnet/testnet, and that a localnet/devnet URL is not actually mainnet/testnet."""
        network = network or self.network
        info = self.service_info()
        expected = CHAIN_IDS.get(network)
        actual = next((n for n, cid in CHAIN_IDS.items() if cid == info.chain_id), None)
        if expected and info.chain_id != expected:
            raise SuiNetworkError(
                f"the node at {self.url} is not {network}: its chain id is {info.chain_id} "
                f"({actual or info.chain or 'another network'}), {network}'s is {expected}; fix the URL or the network"
            )
        if not expected and actual:
            raise SuiNetworkError(
                f"the node at {self.url} serves {actual} (chain id {info.chain_id}), not {network}; "
                f"fix the URL ({RPC_URL_ENV}) or choose --network {actual}"
            )
        return info

    def reference_gas_price(self) -> int:
        from pysui.sui.sui_grpc.pgrpc_requests import GetEpoch

        r = self._request(GetEpoch(field_mask=["epoch", "reference_gas_price"]), "GetEpoch")
        epoch = r.epoch  # GetEpochResponse
        if epoch is None or epoch.reference_gas_price is None:
            raise SuiNetworkError(f"the Sui node at {self.url} did not report a reference gas price")
        return int(epoch.reference_gas_price)

    # --- objects --------------------------------------------------------------------------

    def get_object(self, object_id: str, version: int | None = None) -> ObjectInfo:
        """The object now, or at `version` (a node may have pruned old versions: SuiNotFound)."""
        from pysui.sui.sui_grpc.pgrpc_requests import GetObject, GetPastObject

        oid = normalize_address(object_id)
        at = f" at version {version}" if version is not None else ""
        req = (
            GetObject(object_id=oid, field_mask=_OBJECT_MASK)
            if version is None
            else GetPastObject(object_id=oid, version=version, field_mask=_OBJECT_MASK)
        )
        r = self._request(
            req,
            f"GetObject {oid}{at}",
            not_found=f"object {oid}{at} does not exist on {self.network} (node {self.url}); check the id and the network",
        )
        obj = r.object  # GetObjectResponse
        if obj is None:
            raise SuiNotFound(f"object {oid}{at} does not exist on {self.network} (node {self.url})")
        return _object(obj)

    def owned_objects(
        self, owner: str, object_type: str | None = None, limit: int = 1000
    ) -> list[ObjectInfo]:
        """Objects owned by `owner` (optionally of one type), following pages up to `limit`."""
        from pysui.sui.sui_grpc.pgrpc_requests import GetObjectsOwnedByAddress

        addr = normalize_address(owner)
        out: list[ObjectInfo] = []
        token: bytes | None = None
        while len(out) < limit:
            req = GetObjectsOwnedByAddress(
                owner=addr,
                object_type=object_type,
                field_mask=_OBJECT_MASK,
                page_size=min(limit - len(out), 500),
                page_token=token,
            )
            r = self._request(req, f"ListOwnedObjects {addr}")
            out.extend(_object(o) for o in r.objects)
            token = r.next_page_token
            if not token:
                break
        return out[:limit]

    def gas_coins(self, owner: str) -> list[ObjectInfo]:
        """The SUI coins of `owner` with their balances. Coins this client's own transactions
        paid with are shown at the version those transactions left them (a node's owned-object
        index may lag a checkpoint behind; building on an old version would be refused)."""
        coins = self.owned_objects(owner, SUI_COIN_TYPE)
        out = []
        for c in coins:
            fresh = self._spent_gas.get(c.object_id)
            if fresh is None or fresh[0] <= c.version:
                out.append(c)
            elif fresh[1] is not None:  # still a coin, at a newer version
                version, digest, balance = fresh
                out.append(dataclasses.replace(c, version=version, digest=digest, balance=balance))
            # else: merged into the primary gas coin by that transaction
        for c in out:
            if c.balance is not None:
                self._balances[c.object_id] = c.balance
        return out

    def _remember_gas(self, tx_bytes: bytes, eff: TxEffects) -> None:
        """Note the versions a transaction of ours left its gas coins at (see `gas_coins`)."""
        from wafl_sui.ledger.sui.transactions import TransactionBuildError, decode_transaction

        try:
            payment = decode_transaction(tx_bytes).gas_data.payment
        except TransactionBuildError:
            return
        if not payment:
            return
        primary = eff.changed_object(payment[0].object_id)
        if primary is None or primary.version is None or not primary.digest:
            return
        before = sum(self._balances.get(r.object_id, 0) for r in payment)
        self._spent_gas[primary.object_id] = (primary.version, primary.digest, max(before - eff.gas.net, 0))
        for r in payment[1:]:
            self._spent_gas[r.object_id] = (primary.version, None, None)

    def package_modules(self, package_id: str) -> dict[str, bytes]:
        """{module name: bytecode} of a published package (for decoding its abort codes)."""
        from pysui.sui.sui_grpc.pgrpc_requests import GetPackage

        pid = normalize_address(package_id)
        r = self._request(
            GetPackage(package=pid),
            f"GetPackage {pid}",
            not_found=f"package {pid} does not exist on {self.network}",
        )
        pkg = r.package
        return {m.name: bytes(m.contents) for m in (pkg.modules if pkg else []) if m.name and m.contents}

    # --- transactions ---------------------------------------------------------------------

    def simulate(
        self, tx_bytes: bytes, modules: dict[str, bytes] | None = None, *, checks: bool = True
    ) -> TxEffects:
        """Dry-run `TransactionData` bytes (no signature needed): effects and gas used. With
        `checks=False` the node skips the transaction checks (gas balance, ...), as a dev-inspect."""
        from pysui.sui.sui_grpc.pgrpc_requests import SimulateTransaction

        r = self._request(
            SimulateTransaction(transaction=bytes(tx_bytes), gas_selection=False, checks_enabled=checks),
            "SimulateTransaction",
        )
        return _effects(r.transaction, modules)

    def execute(
        self, tx_bytes: bytes, signatures: Sequence[str], modules: dict[str, bytes] | None = None
    ) -> TxEffects:
        """Submit signed `TransactionData`; its effects (status, changed objects, events) once final."""
        from pysui.sui.sui_grpc.pgrpc_requests import ExecuteTransaction

        req = ExecuteTransaction(tx_bytestr=bytes(tx_bytes), sig_array=list(signatures), field_mask=_TX_MASK)
        r = self._request(req, "ExecuteTransaction")  # pysui renders it to the ExecutedTransaction
        eff = _effects(r, modules)
        self._remember_gas(tx_bytes, eff)
        return eff

    def transaction(self, digest: str, modules: dict[str, bytes] | None = None) -> TxEffects:
        from pysui.sui.sui_grpc.pgrpc_requests import GetTransaction

        r = self._request(
            GetTransaction(digest=digest, field_mask=_TX_MASK),
            f"GetTransaction {digest}",
            not_found=f"transaction {digest} is not known to the node at {self.url}",
        )
        return _effects(r.transaction, modules)  # GetTransactionResponse

    def events(self, digest: str) -> list[Event]:
        return list(self.transaction(digest).events)

    def prepare(
        self,
        kind: ProgrammableTransaction,
        sender: str,
        *,
        max_budget: int = DEFAULT_MAX_BUDGET,
        margin: float = 1.2,
        gas_price: int | None = None,
        modules: dict[str, bytes] | None = None,
    ) -> tuple[TransactionData, TxEffects]:
        """Gas for `kind`: pick the sender's coins, simulate with them, size the budget from
        the simulated cost. Returns the transaction to sign and the simulation (check
        `.success`: an abort shows here before anything is spent). `InsufficientGas` names the
        sender and the shortfall when its coins cannot pay."""
        sender = normalize_address(sender)
        price = gas_price if gas_price is not None else self.reference_gas_price()
        coins = self.gas_coins(sender)
        have = sum(c.balance or 0 for c in coins)
        if not coins or have == 0:
            raise InsufficientGas(sender, 0, self._estimate_budget(kind, sender, price, margin), self.network)
        cap = min(max_budget, have)
        payment = select_gas(coins, sender, cap)
        sim = self.simulate(build_transaction(kind, sender, payment, price, cap).to_bcs(), modules)
        if not sim.success and sim.error_kind in ("INSUFFICIENT_GAS", "INSUFFICIENT_COIN_BALANCE"):
            needed = self._estimate_budget(kind, sender, price, margin)
            if cap < max_budget or (needed is not None and needed <= max_budget):
                raise InsufficientGas(sender, have, needed, self.network)
            raise SuiNetworkError(
                f"the transaction needs more gas than the cap of {max_budget} MIST ({sim.error})"
            )
        if not sim.success:
            return build_transaction(kind, sender, payment, price, cap), sim
        budget = gas_budget_for(sim.gas, price, margin)
        if budget > max_budget:
            raise SuiNetworkError(
                f"the transaction needs a gas budget of {budget} MIST, above the cap of {max_budget}"
            )
        if budget > have:
            raise InsufficientGas(sender, have, budget, self.network)
        payment = select_gas(coins, sender, budget)
        return build_transaction(kind, sender, payment, price, budget), sim

    def _estimate_budget(
        self, kind: ProgrammableTransaction, sender: str, price: int, margin: float
    ) -> int | None:
        """The budget `kind` would need, from a simulation without checks (no coins needed);
        None when the node cannot tell."""
        try:
            sim = self.simulate(
                build_transaction(kind, sender, [], price, DEFAULT_MAX_BUDGET).to_bcs(), checks=False
            )
        except SuiNetworkError:
            return None
        if not sim.success and sim.gas.gross == 0:
            return None
        return gas_budget_for(sim.gas, price, margin)
