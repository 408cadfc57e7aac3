"""`--serialize-unsigned-transaction`: the ledger's operations as unsigned TransactionData
(base64) to sign elsewhere. `UnsignedTransactions` mirrors the ledger's methods; `offline(...)`
makes one with no network at all (gas object, price, budget and object versions given),
`SuiLedger.unsigned(sender)` one whose objects and budget are looked up on the node.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from wafl_sui.ledger.base import TaskNotFound
from wafl_sui import protocol
from wafl_sui.ledger.sui import deployments
from wafl_sui.ledger.sui.bcs import BcsError, normalize_address
from wafl_sui.ledger.sui.errors import SuiLedgerError
from wafl_sui.ledger.sui.privacy_calls import register_private_kind, set_privacy_kind, submit_private_update_kind
from wafl_sui.ledger.sui.task_calls import (
    DEFAULT_UPGRADE_POLICY,
    GasParams,
    add_participant_kind,
    aggregate_kind,
    create_task_kind,
    discard_round_kind,
    leave_kind,
    migrate_kind,
    open_round_kind,
    publish_kind,
    random_input,
    register_kind,
    remove_participant_kind,
    restart_round_kind,
    set_manifest_kind,
    set_open_kind,
    submit_update_kind,
    task_input,
    with_gas,
)
from wafl_sui.ledger.sui.transactions import ObjectRef, ProgrammableTransaction, SharedObject, TransactionData, parse_object_ref


def _b64(tx: TransactionData) -> str:
    return base64.b64encode(tx.to_bcs()).decode()


class UnsignedTransactions:
    """The ledger's operations as unsigned TransactionData (base64), for
    `--serialize-unsigned-transaction`. Made by `SuiLedger.offline(...)` (nothing looked up) or
    `SuiLedger.unsigned(sender)` (objects and gas from the node)."""

    def __init__(
        self,
        package_id: str | Callable[[], str],
        sender: str,
        finish: Callable[[ProgrammableTransaction], TransactionData],
        resolve_task: Callable[[str], SharedObject],
        resolve_cap: Callable[[str], ObjectRef],
    ):
        self._package_id = package_id if callable(package_id) else normalize_address(package_id)
        self.sender = normalize_address(sender)
        self._finish, self._task, self._cap = finish, resolve_task, resolve_cap

    @property
    def package_id(self) -> str:
        """The package the calls go to (not needed to publish)."""
        pid = self._package_id
        return normalize_address(pid() if callable(pid) else pid)

    def transaction(self, kind: ProgrammableTransaction) -> TransactionData:
        return self._finish(kind)

    def publish(self, build: Any, policy: str = DEFAULT_UPGRADE_POLICY) -> str:
        return _b64(self._finish(publish_kind(build, self.sender, policy)))

    def create_task(
        self, spec: Any, round_rules: Any, aggregation: Any, lr_q: int, open_: bool,
        initial_model: Sequence[int], vk: bytes, deposit_mist: int = 0,
    ) -> str:  # fmt: skip
        kind = create_task_kind(
            self.package_id, self.sender, spec, round_rules, aggregation, lr_q, open_, initial_model, vk, deposit_mist,
        )
        return _b64(self._finish(kind))

    def register(self, task: str, deposit_mist: int) -> str:
        """task::register with `deposit_mist` split from the gas coin (the task's deposit)."""
        return _b64(self._finish(register_kind(self.package_id, self._task(task), deposit_mist)))

    def leave(self, task: str) -> str:
        return _b64(self._finish(leave_kind(self.package_id, self.sender, self._task(task))))

    def open_round(self, task: str, random_version: int) -> str:
        """task::open_round with the Random object 0x8 at `random_version`, its initial shared
        version on the network (`sui client object 0x8`)."""
        return _b64(self._finish(open_round_kind(self.package_id, self._task(task), random_input(random_version))))

    def submit_update(self, task: str, new_weights: Sequence[int], data_commitment: int, proof: bytes) -> str:
        return _b64(self._finish(submit_update_kind(self.package_id, self._task(task), new_weights, data_commitment, proof)))

    def aggregate(self, task: str) -> str:
        return _b64(self._finish(aggregate_kind(self.package_id, self._task(task))))

    def discard_round(self, task: str) -> str:
        return _b64(self._finish(discard_round_kind(self.package_id, self._task(task))))

    def add_participant(self, task: str, participant: str) -> str:
        return _b64(self._finish(add_participant_kind(self.package_id, self._cap(task), self._task(task), participant)))

    def remove_participant(self, task: str, participant: str) -> str:
        kind = remove_participant_kind(self.package_id, self._cap(task), self._task(task), participant)
        return _b64(self._finish(kind))

    def set_open(self, task: str, open_: bool) -> str:
        return _b64(self._finish(set_open_kind(self.package_id, self._cap(task), self._task(task), open_)))

    def restart_round(self, task: str) -> str:
        return _b64(self._finish(restart_round_kind(self.package_id, self._cap(task), self._task(task))))

    def migrate(self, task: str) -> str:
        return _b64(self._finish(migrate_kind(self.package_id, self._cap(task), self._task(task))))

    def set_manifest(self, task: str, manifest: bytes, privacy: protocol.privacy.DpParams | None = None) -> str:
        """The task's data contract; with `privacy`, and set_privacy in the same transaction."""
        if privacy is not None:
            return _b64(self._finish(set_privacy_kind(self.package_id, self._cap(task), self._task(task), privacy,
                                                      manifest=manifest)))
        return _b64(self._finish(set_manifest_kind(self.package_id, self._cap(task), self._task(task), manifest)))

    def set_privacy(self, task: str, params: protocol.privacy.DpParams) -> str:
        return _b64(self._finish(set_privacy_kind(self.package_id, self._cap(task), self._task(task), params)))

    def register_private(self, task: str, deposit_mist: int, data_commitment: int, seed_commitment: int) -> str:
        return _b64(self._finish(register_private_kind(
            self.package_id, self._task(task), deposit_mist, data_commitment, seed_commitment)))

    def submit_private_update(self, task: str, new_weights: Sequence[int], proof: bytes) -> str:
        return _b64(self._finish(submit_private_update_kind(self.package_id, self._task(task), new_weights, proof)))


def offline(
    sender: str,
    gas_object: str | ObjectRef | Sequence[str | ObjectRef],
    gas_price: int,
    budget: int,
    *,
    network: str = "localnet",
    package_id: str | None = None,
    task_version: int | None = None,
    admin_cap: str | ObjectRef | None = None,
    deployments_path: str | os.PathLike[str] | None = None,
) -> UnsignedTransactions:
    """Unsigned transactions built with no network at all: gas coin(s) `ID:VERSION:DIGEST`,
    price and budget given; the package and tasks (with their initial shared versions) from
    the deployments file unless `package_id` / `task_version` say; admin operations need
    `admin_cap` (`ID:VERSION:DIGEST`, its current version)."""
    items = [gas_object] if isinstance(gas_object, (str, ObjectRef)) else list(gas_object)
    payment = tuple(g if isinstance(g, ObjectRef) else parse_object_ref(g) for g in items)
    gas = GasParams(payment, int(gas_price), int(budget))
    path = Path(deployments_path) if deployments_path else deployments.default_path()
    dep = deployments.load(path).get(network)
    package: str | Callable[[], str]
    if package_id is not None:
        package = package_id
    elif dep is not None:
        package = dep.package_id
    else:  # a publish needs no package: only the calls into it ask for one

        def package() -> str:
            raise SuiLedgerError(
                f"the WaFL package is not deployed on {network} (no entry in {path}); give its id "
                "(--package-id), or publish it first (`wafl deploy`)"
            )
    cap_ref = admin_cap if isinstance(admin_cap, ObjectRef) or admin_cap is None else parse_object_ref(admin_cap)
    sender_n = normalize_address(sender)

    def resolve_task(task: str) -> SharedObject:
        known = dep.tasks if dep else {}
        t = known.get(task) or next((t for t in known.values() if _same_id(t.object_id, task)), None)
        if task_version is not None:
            tid = t.object_id if t else _id_or_none(task)
            if tid is None:
                raise TaskNotFound(f"no task named {task!r} on {network} in {path}; give its id")
            return task_input(tid, task_version, True)
        if t is None:
            raise TaskNotFound(
                f"task {task!r} is not in {path} for {network}; give --task-version (its initial shared version)"
            )
        return task_input(t.object_id, t.initial_shared_version, True)

    def resolve_cap(task: str) -> ObjectRef:
        if cap_ref is None:
            raise SuiLedgerError(
                "an admin transaction built offline needs the admin capability as ID:VERSION:DIGEST (--admin-cap)"
            )
        return cap_ref

    return UnsignedTransactions(package, sender_n, lambda k: with_gas(k, sender_n, gas), resolve_task, resolve_cap)


def _id_or_none(text: str) -> str | None:
    try:
        return normalize_address(text)
    except BcsError:
        return None


def _same_id(a: str, b: str) -> bool:
    bb = _id_or_none(b)
    return bb is not None and normalize_address(a) == bb
