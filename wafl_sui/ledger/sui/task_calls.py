"""The WaFL package's entry functions as programmable transactions, one builder per entry of
`move/sources/task.move` (named after it, `<entry>_kind`), the package publish included; and the
same wrapped into TransactionData built offline (`build_<entry>_tx`, gas given). Pure: nothing here
reads the network.

  create_task     spec::new(10 x u64) (an MLP: spec::new_mlp(10 x u64, vector<u64>, 2 x u64)),
                  round::new_rules(5 x u64), rules::new_aggregation(u8, u64),
                  task::create_task(spec, rules, aggregation, lr_q, open, deposit_mist, model, vk,
                  &Clock): the returned TaskAdminCap is transferred to the sender in the same
                  transaction
  register        SplitCoins(GasCoin, [deposit]), task::register(&mut Task, Coin<SUI>)
  leave           task::leave(&mut Task) -> Coin<SUI>, transferred to the sender
  open_round      task::open_round(&mut Task, &Random, &Clock) (an entry function: Random 0x8 is
                  a shared, immutable input at its initial shared version, which differs per
                  network: the ledger reads it from the node)
  submit_update   task::submit_update(&mut Task, vector<u32>, u256, vector<u8>, &Clock)
  aggregate / discard_round   task::<fn>(&mut Task, &Clock)
  admin           task::<fn>(&TaskAdminCap, &mut Task, ...) with the cap as an owned object
  publish         Publish(modules, dependencies), then the upgrade policy's call on the fresh
                  UpgradeCap (UPGRADE_POLICIES: 0x2::package::only_additive_upgrades(&mut cap),
                  only_dep_upgrades(&mut cap), make_immutable(cap), or none for compatible),
                  then TransferObjects([UpgradeCap], publisher) unless make_immutable consumed it
                  (a publish whose UpgradeCap is left unused fails)

The Task is a shared input at its initial shared version (mutable), the Clock (0x6) and the
Random object (0x8) shared and immutable.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wafl_sui.ledger.sui import bcs
from wafl_sui.ledger.sui.bcs import normalize_address
from wafl_sui.ledger.sui.network import SuiNetworkError
from wafl_sui.ledger.sui.transactions import (
    CLOCK,
    GAS_COIN,
    ObjectRef,
    OwnedObject,
    ProgrammableTransaction,
    PtbBuilder,
    SharedObject,
    TransactionBuildError,
    TransactionData,
    build_transaction,
    parse_object_ref,
)

RANDOM_ID = normalize_address("0x8")
TASK_MODULE = "task"
SPEC_MODULE = "spec"
ROUND_MODULE = "round"
RULES_MODULE = "rules"
EVENTS_MODULE = "events"
TASK_STRUCT = "Task"
CAP_STRUCT = "TaskAdminCap"
_SPEC_FIELDS = (
    "features",
    "classes",
    "batch_size",
    "local_steps",
    "frac_bits",
    "weight_bits",
    "feature_frac_bits",
    "feature_bits",
    "lr_frac_bits",
    "lr_bits",
)


@dataclass(frozen=True)
class GasParams:
    """Gas of a transaction built offline: the coins that pay, the price, the budget (MIST)."""

    payment: tuple[ObjectRef, ...]
    price: int
    budget: int

    def __post_init__(self) -> None:
        payment = (self.payment,) if isinstance(self.payment, ObjectRef) else tuple(self.payment)
        object.__setattr__(self, "payment", payment)
        if not payment:
            raise TransactionBuildError("a transaction needs at least one gas coin")
        for n, v in (("gas price", self.price), ("gas budget", self.budget)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise TransactionBuildError(f"{n} must be a positive integer, got {v!r}")

    @classmethod
    def parse(cls, gas_objects: str | Sequence[str], price: int, budget: int) -> GasParams:
        """From `--gas-object ID:VERSION:DIGEST` (one or several), `--gas-price`, `--gas-budget`."""
        items = [gas_objects] if isinstance(gas_objects, str) else list(gas_objects)
        return cls(tuple(parse_object_ref(g) for g in items), int(price), int(budget))


def task_input(task_id: str, initial_shared_version: int, mutable: bool = True) -> SharedObject:
    """The Task as a shared input (at the version at which it became shared)."""
    return SharedObject(task_id, int(initial_shared_version), mutable)


def random_input(initial_shared_version: int) -> SharedObject:
    """The system's Random object (0x8) as a shared, immutable input."""
    return SharedObject(RANDOM_ID, int(initial_shared_version), False)


def _target(package_id: str, module: str, fn: str) -> str:
    return f"{normalize_address(package_id)}::{module}::{fn}"


def _u64(b: PtbBuilder, v: int):
    return b.pure(bcs.pure_u64(int(v)))


def create_task_kind(
    package_id: str,
    sender: str,
    spec: Any,
    round_rules: Any,
    aggregation: Any,
    lr_q: int,
    open_: bool,
    initial_model: Sequence[int],
    vk: bytes,
    deposit_mist: int = 0,
) -> ProgrammableTransaction:
    """spec::new (spec::new_mlp for a spec with hidden layers), round::new_rules,
    rules::new_aggregation, task::create_task, then the admin cap to the sender."""
    b = PtbBuilder()
    spec_args = [_u64(b, getattr(spec, f)) for f in _SPEC_FIELDS]
    if spec.hidden:
        spec_args += [b.pure(bcs.pure_u64_vector(list(spec.hidden))), _u64(b, spec.act_frac_bits),
                      _u64(b, spec.act_bits)]
    s = b.move_call(_target(package_id, SPEC_MODULE, "new_mlp" if spec.hidden else "new"), spec_args)
    r = b.move_call(
        _target(package_id, ROUND_MODULE, "new_rules"),
        [
            _u64(b, round_rules.quorum),
            _u64(b, round_rules.round_duration_ms),
            _u64(b, round_rules.max_rounds),
            _u64(b, round_rules.grace_ms),
            _u64(b, round_rules.participants_per_round),
        ],
    )
    a = b.move_call(
        _target(package_id, RULES_MODULE, "new_aggregation"),
        [b.pure(bcs.pure_u8(int(aggregation.rule))), _u64(b, aggregation.trim_bps)],
    )
    cap = b.move_call(
        _target(package_id, TASK_MODULE, "create_task"),
        [
            s,
            r,
            a,
            _u64(b, lr_q),
            b.pure(bcs.pure_bool(bool(open_))),
            _u64(b, deposit_mist),
            b.pure(bcs.pure_u32_vector([int(w) for w in initial_model])),
            b.pure(bcs.pure_bytes(bytes(vk))),
            b.object(CLOCK),
        ],
    )
    b.transfer_objects([cap], normalize_address(sender))
    return b.build()


def register_kind(package_id: str, task: SharedObject, deposit_mist: int) -> ProgrammableTransaction:
    """The deposit split from the gas coin (a zero coin when the task asks for none), then
    task::register."""
    b = PtbBuilder()
    coin = b.split_coins(GAS_COIN, [_u64(b, deposit_mist)])
    b.move_call(_target(package_id, TASK_MODULE, "register"), [b.object(task), coin])
    return b.build()


def leave_kind(package_id: str, sender: str, task: SharedObject) -> ProgrammableTransaction:
    """task::leave, then the returned deposit to the sender."""
    b = PtbBuilder()
    coin = b.move_call(_target(package_id, TASK_MODULE, "leave"), [b.object(task)])
    b.transfer_objects([coin], normalize_address(sender))
    return b.build()


def open_round_kind(package_id: str, task: SharedObject, random: SharedObject) -> ProgrammableTransaction:
    """task::open_round(&mut Task, &Random, &Clock): the only command (Sui allows no command
    after one that uses Random except transfers and merges)."""
    b = PtbBuilder()
    b.move_call(_target(package_id, TASK_MODULE, "open_round"), [b.object(task), b.object(random), b.object(CLOCK)])
    return b.build()


def submit_update_kind(
    package_id: str, task: SharedObject, new_weights: Sequence[int], data_commitment: int, proof: bytes
) -> ProgrammableTransaction:
    b = PtbBuilder()
    b.move_call(
        _target(package_id, TASK_MODULE, "submit_update"),
        [
            b.object(task),
            b.pure(bcs.pure_u32_vector([int(w) for w in new_weights])),
            b.pure(bcs.pure_u256(int(data_commitment))),
            b.pure(bcs.pure_bytes(bytes(proof))),
            b.object(CLOCK),
        ],
    )
    return b.build()


def _task_clock_kind(package_id: str, fn: str, task: SharedObject) -> ProgrammableTransaction:
    b = PtbBuilder()
    b.move_call(_target(package_id, TASK_MODULE, fn), [b.object(task), b.object(CLOCK)])
    return b.build()


def aggregate_kind(package_id: str, task: SharedObject) -> ProgrammableTransaction:
    return _task_clock_kind(package_id, "aggregate", task)


def discard_round_kind(package_id: str, task: SharedObject) -> ProgrammableTransaction:
    return _task_clock_kind(package_id, "discard_round", task)


def _admin_kind(package_id: str, fn: str, cap: ObjectRef, task: SharedObject, extra: Sequence[Any]) -> ProgrammableTransaction:
    b = PtbBuilder()
    _admin_call(b, package_id, fn, cap, task, extra)
    return b.build()


def _admin_call(b: PtbBuilder, package_id: str, fn: str, cap: ObjectRef, task: SharedObject, extra: Sequence[Any]) -> None:
    """Adds `task::fn(&TaskAdminCap, &mut Task, extra...)` to the transaction `b` builds."""
    args = [b.object(OwnedObject(cap)), b.object(task)]
    for kind, value in extra:
        if kind == "address":
            args.append(b.pure(bcs.pure_address(value)))
        elif kind == "bool":
            args.append(b.pure(bcs.pure_bool(bool(value))))
        elif kind == "clock":
            args.append(b.object(CLOCK))
        elif kind == "bytes":
            args.append(b.pure(bcs.pure_bytes(bytes(value))))
        else:  # pragma: no cover - programming error
            raise TransactionBuildError(f"unknown admin argument {kind}")
    b.move_call(_target(package_id, TASK_MODULE, fn), args)


def add_participant_kind(package_id: str, cap: ObjectRef, task: SharedObject, participant: str) -> ProgrammableTransaction:
    return _admin_kind(package_id, "add_participant", cap, task, [("address", participant)])


def remove_participant_kind(
    package_id: str, cap: ObjectRef, task: SharedObject, participant: str
) -> ProgrammableTransaction:
    return _admin_kind(package_id, "remove_participant", cap, task, [("address", participant)])


def set_open_kind(package_id: str, cap: ObjectRef, task: SharedObject, open_: bool) -> ProgrammableTransaction:
    return _admin_kind(package_id, "set_open", cap, task, [("bool", open_)])


def restart_round_kind(package_id: str, cap: ObjectRef, task: SharedObject) -> ProgrammableTransaction:
    return _admin_kind(package_id, "restart_round", cap, task, [("clock", None)])


def migrate_kind(package_id: str, cap: ObjectRef, task: SharedObject) -> ProgrammableTransaction:
    return _admin_kind(package_id, "migrate", cap, task, [])


def set_manifest_kind(package_id: str, cap: ObjectRef, task: SharedObject, manifest: bytes) -> ProgrammableTransaction:
    b = PtbBuilder()
    add_set_manifest(b, package_id, cap, task, manifest)
    return b.build()


def add_set_manifest(b: PtbBuilder, package_id: str, cap: ObjectRef, task: SharedObject, manifest: bytes) -> None:
    """Adds task::set_manifest to `b` (alone, or before a private task's set_privacy)."""
    _admin_call(b, package_id, "set_manifest", cap, task, [("bytes", manifest)])



def _modules_and_deps(build: Any) -> tuple[list[bytes], list[str]]:
    """(module bytecode in publish order, dependency ids) of a MoveBuild or the
    `sui move build --dump-bytecode-as-base64` JSON shape."""
    if isinstance(build, dict):
        mods = [base64.b64decode(m) for m in build["modules"]]
        deps = list(build["dependencies"])
    else:
        mods = build.module_bytes()
        deps = list(build.dependencies)
    if not mods:
        raise SuiNetworkError("the build has no modules to publish (a test-mode build cannot be published)")
    return mods, [normalize_address(d) for d in deps]


# The upgrade policies `wafl deploy --policy` offers: name -> the `0x2::package` function the publish
# transaction calls on the fresh UpgradeCap right after Publish (None: the cap keeps Sui's default,
# compatible). Sui only lets a policy be restricted, never loosened: the choice is final.
UPGRADE_POLICIES: dict[str, str | None] = {
    "compatible": None,
    "additive": "only_additive_upgrades",
    "dependency-only": "only_dep_upgrades",
    "immutable": "make_immutable",  # takes the cap by value and deletes it: no upgrade, ever
}
# compatible: the package's Task is versioned (task::VERSION, `migrate`) so that a bug in the
# contract can be fixed by an upgrade; the UpgradeCap holder (the publisher) is trusted with that
# (docs/MOVE.md "Upgrades").
DEFAULT_UPGRADE_POLICY = "compatible"


def check_upgrade_policy(policy: str) -> str:
    """`policy` if it is one of UPGRADE_POLICIES, else TransactionBuildError naming them."""
    if policy not in UPGRADE_POLICIES:
        raise TransactionBuildError(
            f"unknown upgrade policy {policy!r}: use one of {', '.join(UPGRADE_POLICIES)}"
        )
    return policy


def publish_kind(build: Any, publisher: str, policy: str = DEFAULT_UPGRADE_POLICY) -> ProgrammableTransaction:
    """Publish, the policy's call on the UpgradeCap, TransferObjects(UpgradeCap -> publisher)
    (no transfer under `immutable`: make_immutable consumes the cap)."""
    restrict = UPGRADE_POLICIES[check_upgrade_policy(policy)]
    mods, deps = _modules_and_deps(build)
    b = PtbBuilder()
    cap = b.publish(mods, deps)
    if restrict is not None:
        b.move_call(f"0x2::package::{restrict}", [cap])
    if policy != "immutable":
        b.transfer_objects([cap], normalize_address(publisher))
    return b.build()


def build_publish_tx(
    build: Any, sender: str, gas_payment: Sequence[ObjectRef] | ObjectRef, gas_price: int, gas_budget: int,
    policy: str = DEFAULT_UPGRADE_POLICY,
) -> TransactionData:
    """The publish transaction, built offline from given gas data (no network)."""
    payment = [gas_payment] if isinstance(gas_payment, ObjectRef) else list(gas_payment)
    return build_transaction(publish_kind(build, sender, policy), sender, payment, gas_price, gas_budget)


def with_gas(kind: ProgrammableTransaction, sender: str, gas: GasParams) -> TransactionData:
    """The TransactionData of `kind` sent by `sender` with the gas given (offline)."""
    return build_transaction(kind, sender, gas.payment, gas.price, gas.budget)


def build_create_task_tx(
    package_id: str, sender: str, gas: GasParams, spec: Any, round_rules: Any, aggregation: Any,
    lr_q: int, open_: bool, initial_model: Sequence[int], vk: bytes, deposit_mist: int = 0,
) -> TransactionData:  # fmt: skip
    kind = create_task_kind(
        package_id, sender, spec, round_rules, aggregation, lr_q, open_, initial_model, vk, deposit_mist,
    )
    return with_gas(kind, sender, gas)


def build_register_tx(
    package_id: str, sender: str, gas: GasParams, task: SharedObject, deposit_mist: int
) -> TransactionData:
    return with_gas(register_kind(package_id, task, deposit_mist), sender, gas)


def build_leave_tx(package_id: str, sender: str, gas: GasParams, task: SharedObject) -> TransactionData:
    return with_gas(leave_kind(package_id, sender, task), sender, gas)


def build_open_round_tx(
    package_id: str, sender: str, gas: GasParams, task: SharedObject, random: SharedObject
) -> TransactionData:
    return with_gas(open_round_kind(package_id, task, random), sender, gas)


def build_submit_tx(
    package_id: str, sender: str, gas: GasParams, task: SharedObject,
    new_weights: Sequence[int], data_commitment: int, proof: bytes,
) -> TransactionData:  # fmt: skip
    return with_gas(submit_update_kind(package_id, task, new_weights, data_commitment, proof), sender, gas)


def build_aggregate_tx(package_id: str, sender: str, gas: GasParams, task: SharedObject) -> TransactionData:
    return with_gas(aggregate_kind(package_id, task), sender, gas)


def build_discard_round_tx(package_id: str, sender: str, gas: GasParams, task: SharedObject) -> TransactionData:
    return with_gas(discard_round_kind(package_id, task), sender, gas)


def build_add_participant_tx(
    package_id: str, sender: str, gas: GasParams, cap: ObjectRef, task: SharedObject, participant: str
) -> TransactionData:
    return with_gas(add_participant_kind(package_id, cap, task, participant), sender, gas)


def build_remove_participant_tx(
    package_id: str, sender: str, gas: GasParams, cap: ObjectRef, task: SharedObject, participant: str
) -> TransactionData:
    return with_gas(remove_participant_kind(package_id, cap, task, participant), sender, gas)


def build_set_open_tx(
    package_id: str, sender: str, gas: GasParams, cap: ObjectRef, task: SharedObject, open_: bool
) -> TransactionData:
    return with_gas(set_open_kind(package_id, cap, task, open_), sender, gas)


def build_restart_round_tx(
    package_id: str, sender: str, gas: GasParams, cap: ObjectRef, task: SharedObject
) -> TransactionData:
    return with_gas(restart_round_kind(package_id, cap, task), sender, gas)


def build_migrate_tx(package_id: str, sender: str, gas: GasParams, cap: ObjectRef, task: SharedObject) -> TransactionData:
    return with_gas(migrate_kind(package_id, cap, task), sender, gas)


def build_set_manifest_tx(
    package_id: str, sender: str, gas: GasParams, cap: ObjectRef, task: SharedObject, manifest: bytes
) -> TransactionData:
    return with_gas(set_manifest_kind(package_id, cap, task, manifest), sender, gas)


def object_types(package_id: str, task_id: str | None = None, cap_id: str | None = None) -> dict[str, str]:
    """{object id: Move type} of a transaction's object inputs (for `signatures.check_transaction`)."""
    pkg = normalize_address(package_id)
    out = {}
    if task_id:
        out[normalize_address(task_id)] = f"{pkg}::{TASK_MODULE}::{TASK_STRUCT}"
    if cap_id:
        out[normalize_address(cap_id)] = f"{pkg}::{TASK_MODULE}::{CAP_STRUCT}"
    return out

