"""Private tasks on Sui (docs/PRIVACY.md; `move/sources/private_task.move`): the transactions of
`private_task::set_privacy`, `register_private` and `submit_private_update` (pure builders, like
`task_calls`), the readers of the task's dynamic field `private_state::PrivacyKey` (its
`DpParams` and the two `Table`s of private registrations and contributions), and
`PrivateTaskCalls`, the `SuiLedger` methods built on them.

  set_privacy            private_task::set_privacy(&TaskAdminCap, &mut Task, 11 x u64) (cap owned),
                         offline after task::set_manifest in the same transaction
  register_private       SplitCoins(GasCoin, [deposit]),
                         private_task::register_private(&mut Task, Coin<SUI>, u256, u256)
  submit_private_update  private_task::submit_private_update(&mut Task, vector<u32>, vector<u8>, &Clock)

Layouts read (BCS of the dynamic-field objects):
  Field<PrivacyKey, Privacy>             id (32) | dummy_field (1) | DpParams (11 x u64) |
                                         registrations: Table (id 32, size u64) | contributions: Table
  Field<address, PrivateRegistration>    id | key (32) | data_commitment u256 | seed_commitment u256 | first_round u64
  Field<address, u64>                    id | key | count u64
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any, Callable

from wafl_sui.ledger.sui import bcs
from wafl_sui.ledger.sui.errors import translated
from wafl_sui.ledger.sui.task_calls import GAS_COIN, add_set_manifest, with_gas
from wafl_sui.ledger.sui.transactions import CLOCK, ObjectRef, OwnedObject, ProgrammableTransaction, PtbBuilder, SharedObject
from wafl_sui import protocol

DpParams = protocol.privacy.DpParams
PrivateRegistration = protocol.task.PrivateRegistration

PRIVATE_TASK_MODULE = "private_task"
PRIVACY_KEY = "private_state::PrivacyKey"


def _call(package_id: str, fn: str) -> str:
    return f"{bcs.normalize_address(package_id)}::{PRIVATE_TASK_MODULE}::{fn}"


def param_values(params: DpParams) -> list[int]:
    """The DpParams fields in the Move struct's order (set_privacy's u64 arguments)."""
    return [int(getattr(params, f.name)) for f in fields(params)]


def set_privacy_kind(package_id: str, cap: ObjectRef, task: SharedObject, params: DpParams, *,
                     manifest: bytes | None = None) -> ProgrammableTransaction:
    """private_task::set_privacy; with `manifest`, task::set_manifest first in the same transaction
    (a private task created offline: its data contract and its privacy land together, before
    anyone can register)."""
    b = PtbBuilder()
    if manifest is not None:
        add_set_manifest(b, package_id, cap, task, manifest)
    args = [b.object(OwnedObject(cap)), b.object(task)] + [b.pure(bcs.pure_u64(v)) for v in param_values(params)]
    b.move_call(_call(package_id, "set_privacy"), args)
    return b.build()


def register_private_kind(
    package_id: str, task: SharedObject, deposit_mist: int, data_commitment: int, seed_commitment: int
) -> ProgrammableTransaction:
    """The deposit split from the gas coin, then private_task::register_private."""
    b = PtbBuilder()
    coin = b.split_coins(GAS_COIN, [b.pure(bcs.pure_u64(int(deposit_mist)))])
    b.move_call(_call(package_id, "register_private"), [
        b.object(task), coin, b.pure(bcs.pure_u256(int(data_commitment))), b.pure(bcs.pure_u256(int(seed_commitment)))])
    return b.build()


def submit_private_update_kind(
    package_id: str, task: SharedObject, new_weights: Sequence[int], proof: bytes
) -> ProgrammableTransaction:
    b = PtbBuilder()
    b.move_call(_call(package_id, "submit_private_update"), [
        b.object(task), b.pure(bcs.pure_u32_vector([int(w) for w in new_weights])), b.pure(bcs.pure_bytes(bytes(proof))),
        b.object(CLOCK)])
    return b.build()


def build_set_privacy_tx(package_id: str, sender: str, gas: Any, cap: ObjectRef, task: SharedObject, params: DpParams):
    return with_gas(set_privacy_kind(package_id, cap, task, params), sender, gas)


def build_register_private_tx(package_id: str, sender: str, gas: Any, task: SharedObject, deposit_mist: int,
                              data_commitment: int, seed_commitment: int):
    return with_gas(register_private_kind(package_id, task, deposit_mist, data_commitment, seed_commitment), sender, gas)


def build_submit_private_update_tx(package_id: str, sender: str, gas: Any, task: SharedObject,
                                   new_weights: Sequence[int], proof: bytes):
    return with_gas(submit_private_update_kind(package_id, task, new_weights, proof), sender, gas)


# --- readers ------------------------------------------------------------------------------------


def privacy_field_id(package_id: str, task_id: str) -> str:
    """The object id of the task's `PrivacyKey` field (`PrivacyKey()` is BCS one 0 byte: the
    compiler's `dummy_field: bool`)."""
    from wafl_sui.ledger.sui.task_object import dynamic_field_id

    return dynamic_field_id(task_id, f"{bcs.normalize_address(package_id)}::{PRIVACY_KEY}", b"\x00")


def decode_privacy_field(contents: bytes) -> tuple[DpParams, str, str]:
    """(params, registrations table id, contributions table id) of the Field<PrivacyKey, Privacy>."""
    r = bcs.BcsReader(contents)
    r.take(32 + 1)
    params = DpParams(*(r.u64() for _ in fields(DpParams)))
    regs = r.address()
    r.u64()
    contribs = r.address()
    r.u64()
    r.done()
    return params, regs, contribs


def entry_id(table_id: str, participant: str) -> str:
    """The object id of the entry of `participant` in a `Table<address, _>`."""
    from wafl_sui.ledger.sui.task_object import dynamic_field_id

    return dynamic_field_id(table_id, "address", bcs.pure_address(participant))


def decode_registration(contents: bytes) -> PrivateRegistration:
    r = bcs.BcsReader(contents)
    r.take(32 + 32)
    reg = PrivateRegistration(r.u256(), r.u256(), r.u64())
    r.done()
    return reg


def decode_count(contents: bytes) -> int:
    r = bcs.BcsReader(contents)
    r.take(32 + 32)
    n = r.u64()
    r.done()
    return n


class PrivateTaskCalls:
    """The private-task methods of `SuiLedger` (a mixin: it uses the ledger's `_admin`,
    `_simple`, `_transact`, `_shared`, `_signer`, `_task_info`, `_read`, `task`, `client` and
    `package_id`)."""

    @translated
    def set_privacy(self, signer: Any, task: str, params: DpParams) -> Any:
        return self._admin(signer, task, "set_privacy", lambda p, c, t: set_privacy_kind(p, c, t, params))  # type: ignore[attr-defined]

    @translated
    def register_private(self, signer: Any, task: str, data_commitment: int, seed_commitment: int) -> Any:
        deposit = self.task(task).deposit_mist  # type: ignore[attr-defined]
        return self._simple(signer, task, "register_private", lambda pkg, shared: register_private_kind(  # type: ignore[attr-defined]
            pkg, shared, deposit, data_commitment, seed_commitment))

    @translated
    def submit_private_update(self, signer: Any, task: str, new_weights: Sequence[int], proof: bytes) -> Any:
        return self._simple(signer, task, "submit_private_update",  # type: ignore[attr-defined]
                            lambda pkg, shared: submit_private_update_kind(pkg, shared, new_weights, proof))

    def _object_bytes(self, object_id: str) -> bytes | None:
        from wafl_sui.ledger.sui.errors import SuiLedgerError
        from wafl_sui.ledger.sui.network import SuiNotFound

        try:
            obj = self._read(lambda: self.client.get_object(object_id))  # type: ignore[attr-defined]
        except SuiNotFound:
            return None
        if obj.contents is None:
            raise SuiLedgerError(f"the node returned object {object_id} without its contents")
        return obj.contents

    def _privacy(self, task: str) -> tuple[DpParams, str, str] | None:
        self._ensure_chain()  # type: ignore[attr-defined]
        info = self._task_info(task)  # type: ignore[attr-defined]
        raw = self._object_bytes(privacy_field_id(self.package_id, info.task_id))  # type: ignore[attr-defined]
        return None if raw is None else decode_privacy_field(raw)

    @translated
    def privacy_params(self, task: str) -> DpParams | None:
        p = self._privacy(task)
        return None if p is None else p[0]

    def _entry(self, task: str, participant: str, which: int, decode: Callable[[bytes], Any]) -> Any:
        p = self._privacy(task)
        if p is None:
            return None
        raw = self._object_bytes(entry_id(p[which], participant))
        return None if raw is None else decode(raw)

    @translated
    def private_registration(self, task: str, participant: str) -> PrivateRegistration | None:
        return self._entry(task, participant, 1, decode_registration)

    @translated
    def contributions(self, task: str, participant: str) -> int:
        return self._entry(task, participant, 2, decode_count) or 0


__all__ = [
    "PrivateTaskCalls", "set_privacy_kind", "register_private_kind", "submit_private_update_kind",
    "build_set_privacy_tx", "build_register_private_tx", "build_submit_private_update_tx", "privacy_field_id",
    "decode_privacy_field", "entry_id", "decode_registration", "decode_count", "param_values",
]
