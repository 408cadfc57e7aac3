"""`SuiLedger`: the ledger interface on a Sui network (localnet, devnet, testnet), every operation
one programmable transaction into the published WaFL package.

    ledger = SuiLedger("localnet")                       # node from the network (or WAFL_SUI_RPC_URL)
    ref = ledger.create_task(owner, spec, rules, agg, lr_q, True, model, vk, name="digits")
    ledger.submit_update(client, "digits", weights, data_commitment, proof)
    ledger.aggregate_round(anyone, "digits"); ledger.task("digits"); ledger.events("digits")

A thin shell over pure parts: the transactions are built by `task_calls` (one builder per entry
of task.move, publish included) and `privacy_calls` (private tasks, and their readers), the events read by `history`, unsigned transactions made by
`unsigned`, the errors in `errors`. Before anything is signed, each transaction is type-checked
against the compiled signatures of the deployed package (`contract.signatures`), then simulated:
the gas budget is the simulated cost plus a margin (never a constant), and a Move abort surfaces
as the `ProtocolError` of its `#[error]` name with nothing spent.

Sending is safe to repeat: a signed transaction executes at most once (its digest), so a send
whose answer is lost is resolved by reading the chain (the transaction by digest, and for an
update the task's submitters) before the *same* bytes are sent again; nothing is rebuilt, so
nothing is ever submitted twice. Reads are retried with backoff; refusals are not.

Reading: the Task object is decoded by the struct layouts of the deployed package's bytecode
(`task_object`); its events come from the transactions that wrote its versions (`history`).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wafl_sui.errors import WaflError
from wafl_sui.ledger.base import Event, Ledger, Receipt, TaskNotFound, TaskRef, TaskView
from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.sui import bcs, deployments
from wafl_sui.ledger.sui import unsigned as unsigned_mod
from wafl_sui.ledger.sui.privacy_calls import PrivateTaskCalls
from wafl_sui.ledger.sui.bcs import BcsError, normalize_address
from wafl_sui.ledger.sui.client import DEFAULT_MAX_BUDGET, ObjectInfo, SuiClient, TxEffects
from wafl_sui.ledger.sui.deployments import DeploymentError, TaskDeployment
from wafl_sui.ledger.sui.errors import InsufficientGasError, OutcomeUnknown, SuiLedgerError, translated
from wafl_sui.ledger.sui.history import HistoryEntry, TaskHistory, history_path, task_events, walk_back
from wafl_sui.ledger.sui.network import SuiNetworkError, SuiNotFound, rpc_url
from wafl_sui.ledger.sui.task_calls import (
    DEFAULT_UPGRADE_POLICY, CAP_STRUCT, RANDOM_ID, TASK_MODULE, TASK_STRUCT, add_participant_kind,
    aggregate_kind, check_upgrade_policy, create_task_kind, discard_round_kind, leave_kind, migrate_kind,
    object_types, open_round_kind, publish_kind, random_input, register_kind, remove_participant_kind,
    restart_round_kind, set_manifest_kind, set_open_kind, submit_update_kind, task_input,
)
from wafl_sui.ledger.sui.transactions import ObjectRef, ProgrammableTransaction, Publish, SharedObject, TransactionData
from wafl_sui.ledger.sui.sending import Sending
from wafl_sui.ledger.sui.unsigned import UnsignedTransactions

__all__ = ["InsufficientGasError", "OutcomeUnknown", "SuiLedger", "SuiLedgerError", "open_ledger"]

log = logging.getLogger(__name__)
FAUCET_ENV = "WAFL_SUI_FAUCET"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")  # as the local ledger's task names


@dataclass(frozen=True)
class _TaskInfo:
    task_id: str
    initial_shared_version: int
    name: str | None
    admin_cap_id: str | None


@dataclass
class _Package:
    modules: dict[str, bytes]
    sigs: Any  # PackageSignatures
    codec: Any  # MoveCodec


IdentityResolver = Callable[[Any], Identity] | Mapping[str, Identity]


class SuiLedger(Sending, PrivateTaskCalls, Ledger):
    """The ledger interface over a Sui node. `identities` resolves what the CLI passes as a
    signer (an Identity is used as is; a callable or a {name/address: Identity} mapping, else a
    key-file path). `client` replaces the node connection (tests)."""

    def __init__(
        self,
        network: str = "localnet",
        identities: IdentityResolver | None = None,
        client: SuiClient | None = None,
        *,
        url: str | None = None,
        deployments_path: str | os.PathLike[str] | None = None,
        package_id: str | None = None,
        require_deployment: bool = True,
        check_signatures: bool = True,
        gas_margin: float = 1.2,
        max_budget: int = DEFAULT_MAX_BUDGET,
        gas_price: int | None = None,
        retries: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 30.0,
        history_dir: str | os.PathLike[str] | None = None,
        read_only: bool = False,
        faucet: bool | str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **_local_only: Any,  # clock, busy_timeout_s, verifier: options of the local ledger
    ):
        self.network = network
        self._identities = identities
        self._own_client = client is None
        self.client = client if client is not None else SuiClient(url or rpc_url(network), network=network, timeout=timeout_s)
        self.deployments_path = Path(deployments_path) if deployments_path else deployments.default_path()
        self._package_override = normalize_address(package_id) if package_id else None
        self.require_deployment = require_deployment
        self.check_signatures = check_signatures
        self.gas_margin, self.max_budget, self.gas_price = gas_margin, max_budget, gas_price
        self.retries, self.backoff_s, self._sleep = retries, backoff_s, sleep
        self.read_only = read_only
        # Top a signer up from the faucet when it cannot pay: localnet by default (its faucet is
        # free and local), elsewhere only when asked (faucet=True / a URL, or WAFL_SUI_FAUCET=1).
        if faucet is None:
            env = os.environ.get(FAUCET_ENV, "").strip().lower()
            faucet = env in ("1", "true", "yes") if env else network == "localnet"
        self.faucet = faucet
        self._history_dir = Path(history_dir) if history_dir else deployments.wafl_home() / "sui-history"
        self.chain_id: str | None = None
        self._chain_checked = False
        self._pkg: _Package | None = None
        self._tasks: dict[str, _TaskInfo] = {}
        self._random_input: SharedObject | None = None
        self._histories: dict[str, TaskHistory] = {}

    # --- set-up ---------------------------------------------------------------------------------

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"SuiLedger({self.network!r}, url={self.client.url!r})"

    @property
    def url(self) -> str:
        return self.client.url

    def _ensure_chain(self, check_deployment: bool = True) -> str:
        """The node's chain id, checked once against the network and (unless publishing) against
        the chain the deployment was made on."""
        if self.chain_id is None:
            info = self._read(lambda: self.client.check_network(self.network))
            self.chain_id = info.chain_id
        if check_deployment and not self._chain_checked:
            dep = self._deployment()  # raises when a deployment is required and there is none
            if dep is not None and dep.chain_id and dep.chain_id != self.chain_id:
                raise SuiLedgerError(
                    f"the {self.network} deployment in {self.deployments_path} was made on chain {dep.chain_id} "
                    f"but the node at {self.url} is on chain {self.chain_id} (the network was reset, or the URL "
                    f"points elsewhere); publish again with `wafl deploy --network {self.network}`"
                )
            self._chain_checked = True
        return self.chain_id

    def _deployment(self, required: bool | None = None) -> deployments.Deployment | None:
        deps = deployments.load(self.deployments_path)
        dep = deps.get(self.network)
        need = self.require_deployment if required is None else required
        if dep is None and need and self._package_override is None:
            raise SuiLedgerError(
                f"the WaFL package is not deployed on {self.network} (no entry in {self.deployments_path}); "
                f"publish it first with `wafl deploy --network {self.network}`"
            )
        return dep

    @property
    def deployment(self) -> deployments.Deployment | None:
        return self._deployment(required=False)

    @property
    def package_id(self) -> str:
        if self._package_override:
            return self._package_override
        dep = self._deployment(required=True)
        assert dep is not None
        return dep.package_id

    def _package(self) -> _Package:
        """The deployed package's modules, compiled signatures and struct layouts (fetched once)."""
        if self._pkg is None:
            from wafl_sui.contract.signatures import PackageSignatures, SignatureError
            from wafl_sui.ledger.sui.task_object import MoveCodec

            pid = self.package_id
            try:
                modules = self._read(lambda: self.client.package_modules(pid))
            except SuiNotFound:
                raise SuiLedgerError(
                    f"the WaFL package {pid} does not exist on {self.network} (node {self.url}); "
                    f"the network was reset or the deployments file is stale: publish again"
                ) from None
            try:
                sigs = PackageSignatures.from_modules(list(modules.values()))
            except SignatureError as exc:
                raise SuiLedgerError(f"cannot read the bytecode of package {pid}: {exc}") from None
            if TASK_MODULE not in sigs.modules:
                raise SuiLedgerError(f"package {pid} on {self.network} is not the WaFL package (no task module)")
            self._pkg = _Package(modules, sigs, MoveCodec(sigs, (pid,)))
        return self._pkg

    def _signer(self, signer: Any) -> Identity:
        if isinstance(signer, Identity):
            return signer
        res = self._identities
        if res is not None:
            got = res.get(signer) if isinstance(res, Mapping) else res(signer)
            if isinstance(got, Identity):
                return got
        if isinstance(signer, (str, os.PathLike)) and Path(signer).is_file():
            return Identity.from_file(signer)
        raise SuiLedgerError(
            f"a Sui transaction is signed by a key pair (an Identity or a key file); cannot sign as {signer!r}"
        )

    # --- tasks by name or id --------------------------------------------------------------------

    def _task_info(self, task: str) -> _TaskInfo:
        key = task.strip() if isinstance(task, str) else task
        if key in self._tasks:
            return self._tasks[key]
        dep = self._deployment(required=False)
        known = dep.tasks if dep else {}
        info: _TaskInfo | None = None
        if key in known:
            t = known[key]
            info = _TaskInfo(t.object_id, t.initial_shared_version, key if key != t.object_id else None, t.admin_cap_id)
        else:
            try:
                tid = normalize_address(key)
            except BcsError:
                names = ", ".join(sorted(n for n, t in known.items() if n != t.object_id)) or "none"
                raise TaskNotFound(f"no task named {task!r} on {self.network} (tasks in {self.deployments_path}: {names})") from None
            for n, t in known.items():
                if t.object_id == tid:
                    info = _TaskInfo(tid, t.initial_shared_version, n if n != tid else None, t.admin_cap_id)
                    break
            if info is None:
                obj = self._task_object(tid)
                info = _TaskInfo(tid, obj.initial_shared_version, None, None)
        self._tasks[key] = info
        self._tasks[info.task_id] = info
        return info

    def _task_object(self, task_id: str, version: int | None = None) -> ObjectInfo:
        try:
            obj = self._read(lambda: self.client.get_object(task_id, version))
        except SuiNotFound:
            if version is not None:
                raise
            raise TaskNotFound(f"no task {task_id} on {self.network} (node {self.url})") from None
        if not (obj.object_type or "").split("<")[0].endswith(f"::{TASK_MODULE}::{TASK_STRUCT}"):
            raise TaskNotFound(f"object {task_id} on {self.network} is not a WaFL task (its type is {obj.object_type})")
        if obj.owner.kind != "shared":
            raise TaskNotFound(f"object {task_id} is not a shared task object (owner: {obj.owner.kind})")
        return obj

    def _shared(self, task: str) -> tuple[_TaskInfo, SharedObject]:
        info = self._task_info(task)
        return info, task_input(info.task_id, info.initial_shared_version, True)

    # --- reads ----------------------------------------------------------------------------------

    def _decode_task(self, obj: ObjectInfo, name: str | None) -> TaskView:
        from wafl_sui.ledger.sui.task_object import ObjectDecodeError, struct_type, task_view

        if obj.contents is None:
            raise SuiLedgerError(f"the node returned task {obj.object_id} without its contents")
        pkg = self._package()
        try:
            fields = pkg.codec.decode(struct_type(obj.object_type), obj.contents)
            view = task_view(fields, obj.object_id, name)
            return replace(view, package_id=normalize_address(obj.object_type.split("::", 1)[0]))
        except (ObjectDecodeError, KeyError, TypeError) as exc:
            raise SuiLedgerError(
                f"task {obj.object_id} does not decode with the layout of package {self.package_id}: {exc}"
            ) from None

    def _fields(self, obj: ObjectInfo) -> dict[str, Any]:
        from wafl_sui.ledger.sui.task_object import struct_type

        return self._package().codec.decode(struct_type(obj.object_type), obj.contents or b"")

    @translated
    def task(self, task: str) -> TaskView:
        self._ensure_chain()
        info = self._task_info(task)
        return self._with_privacy(self._decode_task(self._task_object(info.task_id), info.name))

    def _with_privacy(self, view: TaskView) -> TaskView:
        p = self.privacy_params(view.task_id)  # a private task's circuit constants ride on its spec
        return view if p is None else replace(view, spec=view.spec.with_privacy(p))

    @translated
    def tasks(self) -> list[TaskView]:
        self._ensure_chain()
        dep = self._deployment(required=False)
        out = []
        for name, t in (dep.tasks if dep else {}).items():
            try:
                obj = self._task_object(t.object_id)
            except TaskNotFound as exc:
                log.warning("task %s of %s is gone from %s: %s", name, self.deployments_path, self.network, exc)
                continue
            out.append(self._with_privacy(self._decode_task(obj, name if name != t.object_id else None)))
        return sorted(out, key=lambda v: (v.created_ms, v.task_id))

    @translated
    def has_submitted(self, task: str, participant: str) -> bool:
        return normalize_address(participant) in self.task(task).submitters

    @translated
    def is_allowed(self, task: str, participant: str) -> bool:
        from wafl_sui.ledger.sui.task_object import dynamic_field_id

        self._ensure_chain()
        info = self._task_info(task)
        obj = self._task_object(info.task_id)
        fields = self._fields(obj)
        if fields.get("open"):
            return True
        who = normalize_address(participant)
        allow = fields.get("allowlist")
        if isinstance(allow, Mapping) and "contents" in allow:  # a VecSet
            return who in {normalize_address(a) for a in allow["contents"]}
        if isinstance(allow, list):
            return who in {normalize_address(a) for a in allow}
        if not isinstance(allow, Mapping) or "id" not in allow:
            raise SuiLedgerError(f"task {info.task_id} has no allowlist table this ledger can read")
        entry = dynamic_field_id(allow["id"], "address", bcs.address(who))
        try:
            self._read(lambda: self.client.get_object(entry))
        except SuiNotFound:
            return False
        return True

    def admin_cap(self, task: str) -> tuple[str, str]:
        """(admin cap id, the address that owns it) of a task, as the local ledger's."""
        self._ensure_chain()
        info = self._task_info(task)
        if info.admin_cap_id is None:
            raise SuiLedgerError(f"the admin capability of task {info.task_id} is not in {self.deployments_path}")
        obj = self._read(lambda: self.client.get_object(info.admin_cap_id))
        return obj.object_id, obj.owner.address or obj.owner.kind

    def _receipt(self, eff: TxEffects, task_id: str) -> Receipt:
        hist = self._history(task_id)
        entry = hist.add(eff)
        if entry is None:
            return Receipt(eff.digest, (), eff.gas.net)
        events = self._events_upto(task_id, entry.output_version)
        mine = tuple(e for e in events if e.tx == eff.digest)
        return Receipt(eff.digest, mine, eff.gas.net)

    # --- history -----------------------------------------------------------------------------------

    def _history(self, task_id: str) -> TaskHistory:
        if task_id not in self._histories:
            path = history_path(self._history_dir, self.network, self.chain_id, task_id) if self.chain_id else None
            self._histories[task_id] = TaskHistory.load(task_id, path)
        return self._histories[task_id]

    def _fetch_entry(self, hist: TaskHistory, version: int, previous_tx: str | None = None) -> HistoryEntry:
        """The transaction that wrote `version` of the task (from the object at that version)."""
        if previous_tx is None:
            try:
                obj = self._task_object(hist.task_id, version)
            except SuiNotFound:
                raise SuiLedgerError(
                    f"the node at {self.url} no longer has version {version} of task {hist.task_id} (its history "
                    "was pruned), so the task's earlier events cannot be read; use a node that keeps history"
                ) from None
            previous_tx = obj.previous_transaction
        if not previous_tx:
            raise SuiLedgerError(f"the node does not say which transaction wrote version {version} of {hist.task_id}")
        eff = self._read(lambda: self.client.transaction(previous_tx))
        entry = hist.add(eff)
        if entry is None or entry.output_version != version:
            raise SuiLedgerError(
                f"transaction {previous_tx} does not write version {version} of task {hist.task_id}"
            )
        return entry

    def _events_upto(self, task_id: str, head_version: int, head_tx: str | None = None) -> list[Event]:
        """Every event of the task up to the transaction that wrote `head_version`, in order."""
        hist = self._history(task_id)

        def fetch(version: int) -> HistoryEntry:
            return self._fetch_entry(hist, version, head_tx if version == head_version else None)

        chain = walk_back(hist, head_version, fetch)
        hist.save()
        return task_events(chain, self._package().codec, task_id)

    @translated
    def events(self, task: str, after_seq: int = -1) -> list[Event]:
        self._ensure_chain()
        info = self._task_info(task)
        obj = self._task_object(info.task_id)
        evs = self._events_upto(info.task_id, obj.version, obj.previous_transaction)
        return [e for e in evs if e.seq > after_seq]

    # --- operations --------------------------------------------------------------------------------

    @translated
    def publish(
        self, signer: Any, build: Any = None, *, max_budget: int | None = None, record: bool = True,
        policy: str = DEFAULT_UPGRADE_POLICY,
    ) -> deployments.Deployment:
        """Publish the package (`build_package()` when not given) under upgrade `policy`
        (task_calls.UPGRADE_POLICIES) and record it for this network."""
        check_upgrade_policy(policy)
        if build is None:
            from wafl_sui.contract.build import build_package

            build = build_package()
        ident = self._signer(signer)
        if max_budget is not None:
            self.max_budget = max_budget
        chain = self._ensure_chain(check_deployment=False)
        eff = self._transact(ident, publish_kind(build, ident.address, policy), "publish", {})
        if eff is None:  # pragma: no cover - publish has no `done` check
            raise SuiLedgerError("the publish transaction is not visible on the node")
        try:
            package_id = eff.published_package()
        except SuiNetworkError as exc:
            raise SuiLedgerError(str(exc)) from None
        caps = eff.created_of_type("::package::UpgradeCap")
        want = 0 if policy == "immutable" else 1  # make_immutable deletes the cap in the same transaction
        if len(caps) != want:
            raise SuiLedgerError(f"publish transaction {eff.digest} created {len(caps)} UpgradeCaps, expected {want}")
        cap_id = caps[0].object_id if caps else ""
        dep = deployments.Deployment(self.network, package_id, cap_id, ident.address, eff.digest, chain, {}, policy)
        if record:
            deployments.record_deployment(dep, self.deployments_path)
        self._pkg = None
        self._tasks.clear()
        self._chain_checked = False
        return dep

    def _check_name(self, name: str | None) -> None:
        if name is None:
            return
        if not isinstance(name, str) or not _NAME.match(name) or name.lower().startswith("0x"):
            raise SuiLedgerError(
                f"task name {name!r} is not valid: use 1-64 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit, and not 0x (names and ids must not be confused)"
            )
        dep = self._deployment(required=False)
        if dep is not None and name in dep.tasks:
            raise SuiLedgerError(
                f"a task named {name!r} already exists on {self.network} ({dep.tasks[name].object_id}); choose another name"
            )

    @translated
    def create_task(
        self, signer: Any, spec: Any, round_rules: Any, aggregation: Any, lr_q: int, open_: bool,
        initial_model: Sequence[int], vk: bytes, *, name: str | None = None, deposit_mist: int = 0,
    ) -> TaskRef:  # fmt: skip
        ident = self._signer(signer)
        self._ensure_chain()
        self._check_name(name)
        pkg_id = self.package_id
        kind = create_task_kind(
            pkg_id, ident.address, spec, round_rules, aggregation, lr_q, open_, initial_model, vk, deposit_mist,
        )
        eff = self._transact(ident, kind, "create_task", {})
        assert eff is not None
        tasks = eff.created_of_type(f"::{TASK_MODULE}::{TASK_STRUCT}")
        caps = eff.created_of_type(f"::{TASK_MODULE}::{CAP_STRUCT}")
        if len(tasks) != 1 or len(caps) != 1:
            raise SuiLedgerError(
                f"create_task transaction {eff.digest} created {len(tasks)} tasks and {len(caps)} admin caps, expected 1 each"
            )
        t, cap = tasks[0], caps[0]
        if t.owner is None or t.owner.kind != "shared" or t.owner.version is None:
            raise SuiLedgerError(f"task {t.object_id} of transaction {eff.digest} is not a shared object")
        key = name or t.object_id
        try:
            deployments.record_task(
                self.network, TaskDeployment(key, t.object_id, t.owner.version, cap.object_id, eff.digest), self.deployments_path
            )
        except DeploymentError as exc:
            if self._package_override is None:
                raise
            log.info("task %s not recorded: %s", t.object_id, exc)
        info = _TaskInfo(t.object_id, t.owner.version, name, cap.object_id)
        self._tasks[key] = self._tasks[t.object_id] = info
        self._history(t.object_id).add(eff)
        self._history(t.object_id).save()
        return TaskRef(t.object_id, cap.object_id, name)

    @translated
    def submit_update(
        self, signer: Any, task: str, new_weights: Sequence[int], data_commitment: int, proof: bytes
    ) -> Receipt:
        ident = self._signer(signer)
        self._ensure_chain()
        info, shared = self._shared(task)
        kind = submit_update_kind(self.package_id, shared, new_weights, data_commitment, proof)
        round_before = None

        def done() -> bool:  # the chain already holds this sender's update of this round
            v = self._decode_task(self._task_object(info.task_id), info.name)
            return ident.address in v.submitters or (round_before is not None and v.round > round_before)

        try:
            round_before = self._decode_task(self._task_object(info.task_id), info.name).round
        except WaflError:
            round_before = None
        eff = self._transact(ident, kind, "submit_update", object_types(self.package_id, info.task_id), done)
        if eff is not None:
            return self._receipt(eff, info.task_id)
        # done on chain, its transaction not visible yet: the receipt from the task's history
        for e in reversed(self.events(info.task_id)):
            if (
                e.type == "UpdateAccepted"
                and e.fields.get("sender") == ident.address
                and (round_before is None or e.fields.get("round") == round_before)
            ):
                return Receipt(e.tx or "", (e,), None)
        raise OutcomeUnknown(
            f"the update of {ident.address} is on task {info.task_id} but its transaction cannot be found yet",
            "",
        )

    def _simple(self, signer: Any, task: str, fn: str, build: Callable[[str, SharedObject], ProgrammableTransaction]) -> Receipt:
        ident = self._signer(signer)
        self._ensure_chain()
        info, shared = self._shared(task)
        eff = self._transact(ident, build(self.package_id, shared), fn, object_types(self.package_id, info.task_id))
        if eff is None:  # pragma: no cover - no `done` check given
            raise OutcomeUnknown(f"{fn} on {info.task_id}: no effects", "")
        return self._receipt(eff, info.task_id)

    @translated
    def register(self, signer: Any, task: str) -> Receipt:
        deposit = self.task(task).deposit_mist
        return self._simple(signer, task, "register", lambda pkg, shared: register_kind(pkg, shared, deposit))

    @translated
    def leave(self, signer: Any, task: str) -> Receipt:
        sender = self._signer(signer).address
        return self._simple(signer, task, "leave", lambda pkg, shared: leave_kind(pkg, sender, shared))

    def _random(self) -> SharedObject:
        """The Random object 0x8 at its initial shared version on this network (read once)."""
        if self._random_input is None:
            obj = self._read(lambda: self.client.get_object(RANDOM_ID))
            self._random_input = random_input(obj.initial_shared_version)
        return self._random_input

    @translated
    def open_round(self, signer: Any, task: str) -> Receipt:
        random = self._random()
        return self._simple(signer, task, "open_round", lambda pkg, shared: open_round_kind(pkg, shared, random))

    @translated
    def aggregate(self, signer: Any, task: str) -> Receipt:
        return self._simple(signer, task, "aggregate", aggregate_kind)

    @translated
    def discard_round(self, signer: Any, task: str) -> Receipt:
        return self._simple(signer, task, "discard_round", discard_round_kind)

    def _cap_ref(self, ident: Identity, info: _TaskInfo) -> ObjectRef:
        """The signer's admin capability of the task, as an owned-object reference. A cap the
        signer does not own cannot be used: ENotAdmin, as the local ledger."""
        from wafl_sui.protocol import ProtocolError

        if info.admin_cap_id is not None:
            try:
                obj = self._read(lambda: self.client.get_object(info.admin_cap_id))
            except SuiNotFound:
                raise SuiLedgerError(
                    f"the admin capability {info.admin_cap_id} of task {info.task_id} no longer exists on {self.network}"
                ) from None
            if obj.owner.kind != "address" or obj.owner.address != ident.address:
                raise ProtocolError(
                    "ENotAdmin",
                    f"the admin capability {obj.object_id} of task {info.task_id} is owned by "
                    f"{obj.owner.address or obj.owner.kind}, not by the sender {ident.address}",
                )
            return obj.ref
        cap_type = f"{self.package_id}::{TASK_MODULE}::{CAP_STRUCT}"
        for obj in self._read(lambda: self.client.owned_objects(ident.address, cap_type)):
            try:
                fields = self._fields(obj)
            except WaflError:
                continue
            if normalize_address(str(fields.get("task_id", ""))) == info.task_id:
                return obj.ref
        raise ProtocolError("ENotAdmin", f"{ident.address} owns no admin capability of task {info.task_id}")

    def _admin(self, signer: Any, task: str, fn: str, build: Callable[[str, ObjectRef, SharedObject], ProgrammableTransaction]) -> Receipt:
        ident = self._signer(signer)
        self._ensure_chain()
        info, shared = self._shared(task)
        cap = self._cap_ref(ident, info)
        types = object_types(self.package_id, info.task_id, cap.object_id)
        eff = self._transact(ident, build(self.package_id, cap, shared), fn, types)
        if eff is None:  # pragma: no cover
            raise OutcomeUnknown(f"{fn} on {info.task_id}: no effects", "")
        return self._receipt(eff, info.task_id)

    @translated
    def add_participant(self, signer: Any, task: str, participant: str) -> Receipt:
        return self._admin(signer, task, "add_participant", lambda p, c, t: add_participant_kind(p, c, t, participant))

    @translated
    def remove_participant(self, signer: Any, task: str, participant: str) -> Receipt:
        return self._admin(
            signer, task, "remove_participant", lambda p, c, t: remove_participant_kind(p, c, t, participant)
        )

    @translated
    def set_manifest(self, signer: Any, task: str, manifest: bytes) -> Receipt:
        return self._admin(signer, task, "set_manifest", lambda p, c, t: set_manifest_kind(p, c, t, manifest))

    @translated
    def manifest(self, task: str) -> bytes:
        """The task's manifest: the dynamic field `task::ManifestKey` of the Task (b"" when none)."""
        from wafl_sui.ledger.sui.task_object import dynamic_field_id

        self._ensure_chain()
        info = self._task_info(task)
        # ManifestKey() has no field: the compiler gives it `dummy_field: bool`, BCS one 0 byte
        raw = self._object_bytes(dynamic_field_id(info.task_id, f"{self.package_id}::task::ManifestKey", b"\x00"))
        if raw is None:
            return b""
        r = bcs.BcsReader(raw)
        r.take(32 + 1)  # Field { id: UID, name: ManifestKey, value: vector<u8> }
        return r.byte_vector()

    @translated
    def set_open(self, signer: Any, task: str, open_: bool) -> Receipt:
        return self._admin(signer, task, "set_open", lambda p, c, t: set_open_kind(p, c, t, open_))

    @translated
    def restart_round(self, signer: Any, task: str) -> Receipt:
        return self._admin(signer, task, "restart_round", restart_round_kind)

    @translated
    def migrate(self, signer: Any, task: str) -> Receipt:
        return self._admin(signer, task, "migrate", migrate_kind)

    # --- unsigned transactions (--serialize-unsigned-transaction) -----------------------------------

    def unsigned(self, sender: str) -> UnsignedTransactions:
        """The operations as unsigned TransactionData for `sender`: objects and the admin cap
        looked up on the node, the gas coins and the budget from a simulation."""
        sender = normalize_address(sender)

        def finish(kind: ProgrammableTransaction) -> TransactionData:
            self._ensure_chain(check_deployment=not any(isinstance(c, Publish) for c in kind.commands))
            tx, sim = self._read(
                lambda: self.client.prepare(
                    kind, sender, max_budget=self.max_budget, margin=self.gas_margin, gas_price=self.gas_price,
                    modules=self._pkg.modules if self._pkg else None,
                )
            )  # fmt: skip
            if not sim.success:
                raise self._failure(sim, "the transaction", simulated=True)
            return tx

        class _Me:
            address = sender

        def cap(task: str) -> ObjectRef:
            return self._cap_ref(_Me(), self._task_info(task))  # type: ignore[arg-type]

        return UnsignedTransactions(
            lambda: self.package_id, sender, translated(finish), translated(lambda t: self._shared(t)[1]), translated(cap)
        )

    # no network at all: gas, price, budget and object versions given (`unsigned.offline`)
    offline = staticmethod(unsigned_mod.offline)


def open_ledger(network: str, **kwargs: Any) -> SuiLedger:
    """What `wafl_sui.ledger.open_ledger(network)` calls for a Sui network."""
    return SuiLedger(network, **kwargs)
