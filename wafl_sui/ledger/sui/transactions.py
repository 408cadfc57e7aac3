"""Sui programmable transactions as plain data, and their `TransactionData` (V1) BCS bytes.

A pure layer (no network): build a `ProgrammableTransaction` with `PtbBuilder` (or by hand),
wrap it with a sender and `GasData` in `TransactionData`, then `to_bcs()` gives the bytes an
`Identity` signs and a node executes, and `digest()` the transaction digest the node reports
(base58 of Blake2b-256 over `b"TransactionData::" || bcs`). Layouts follow the Sui types as the
TS SDK declares them (`@mysten/sui/bcs`); `tools/sui/check_tx.mjs` decodes our bytes with it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import base58

from wafl_sui.contract.signatures import MoveType, SignatureError
from wafl_sui.ledger.sui import bcs
from wafl_sui.ledger.sui.bcs import BcsError, normalize_address

CLOCK_ID = normalize_address("0x6")
SUI_FRAMEWORK = normalize_address("0x2")
MOVE_STDLIB = normalize_address("0x1")


class TransactionBuildError(BcsError):
    """A transaction cannot be built as asked (bad target, type tag, digest or argument)."""


# --- inputs -------------------------------------------------------------------------------


def _digest_bytes(digest: str) -> bytes:
    try:
        raw = base58.b58decode(digest)
    except ValueError as exc:
        raise TransactionBuildError(f"object digest {digest!r} is not base58") from exc
    if len(raw) != 32:
        raise TransactionBuildError(f"object digest {digest!r} decodes to {len(raw)} bytes, not 32")
    return raw


@dataclass(frozen=True)
class ObjectRef:
    """An owned or immutable object at one version: (id, version, base58 digest)."""

    object_id: str
    version: int
    digest: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "object_id", normalize_address(self.object_id))
        _digest_bytes(self.digest)

    def to_bcs(self) -> bytes:
        return (
            bcs.address(self.object_id) + bcs.u64(self.version) + bcs.byte_vector(_digest_bytes(self.digest))
        )


@dataclass(frozen=True)
class Pure:
    """A `CallArg::Pure` input: the BCS bytes of a Move value (see `bcs.pure_*`)."""

    value: bytes

    def to_bcs(self) -> bytes:
        return bcs.enum(0, bcs.byte_vector(self.value))


@dataclass(frozen=True)
class OwnedObject:
    """`ObjectArg::ImmOrOwnedObject`."""

    ref: ObjectRef

    @property
    def object_id(self) -> str:
        return self.ref.object_id

    def to_bcs(self) -> bytes:
        return bcs.enum(1, bcs.enum(0, self.ref.to_bcs()))


@dataclass(frozen=True)
class SharedObject:
    """`ObjectArg::SharedObject`: id, the version at which it became shared, and mutability."""

    object_id: str
    initial_shared_version: int
    mutable: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "object_id", normalize_address(self.object_id))

    def to_bcs(self) -> bytes:
        body = bcs.address(self.object_id) + bcs.u64(self.initial_shared_version) + bcs.boolean(self.mutable)
        return bcs.enum(1, bcs.enum(1, body))


@dataclass(frozen=True)
class ReceivingObject:
    """`ObjectArg::Receiving`: an object sent to another object, to be received."""

    ref: ObjectRef

    @property
    def object_id(self) -> str:
        return self.ref.object_id

    def to_bcs(self) -> bytes:
        return bcs.enum(1, bcs.enum(2, self.ref.to_bcs()))


CallArg = Pure | OwnedObject | SharedObject | ReceivingObject
ObjectInput = OwnedObject | SharedObject | ReceivingObject

CLOCK = SharedObject(CLOCK_ID, 1, False)
"""The Clock (0x6): shared since version 1, always passed immutably."""


# --- arguments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GasCoin:
    def to_bcs(self) -> bytes:
        return bcs.enum(0)


@dataclass(frozen=True)
class Input:
    index: int

    def to_bcs(self) -> bytes:
        return bcs.enum(1, bcs.u16(self.index))


@dataclass(frozen=True)
class Result:
    """The (single) result of command `index`; `nested(i)` for one of several results."""

    index: int

    def nested(self, result: int) -> NestedResult:
        return NestedResult(self.index, result)

    def to_bcs(self) -> bytes:
        return bcs.enum(2, bcs.u16(self.index))


@dataclass(frozen=True)
class NestedResult:
    index: int
    result: int

    def to_bcs(self) -> bytes:
        return bcs.enum(3, bcs.u16(self.index) + bcs.u16(self.result))


Argument = GasCoin | Input | Result | NestedResult
GAS_COIN = GasCoin()


def _arg(a: Argument) -> bytes:
    if not isinstance(a, (GasCoin, Input, Result, NestedResult)):
        raise TransactionBuildError(
            f"a command argument must be GasCoin/Input/Result/NestedResult, got {a!r} "
            "(add values with PtbBuilder.pure(...) first)"
        )
    return a.to_bcs()


def _args(args: Sequence[Argument]) -> bytes:
    return bcs.vector(args, _arg)


# --- type tags ----------------------------------------------------------------------------

_PRIMITIVE_TAGS = {
    "bool": 0,
    "u8": 1,
    "u64": 2,
    "u128": 3,
    "address": 4,
    "signer": 5,
    "u16": 8,
    "u32": 9,
    "u256": 10,
}
def type_tag_bcs(type_tag: str) -> bytes:
    """BCS `TypeTag` of a Move type written as text: `u64`, `vector<u8>`, `0x2::coin::Coin<0x2::sui::SUI>`
    (parsed by `signatures.MoveType.parse`, the one parser of type text)."""
    try:
        ty = MoveType.parse(type_tag)
    except SignatureError as e:
        raise TransactionBuildError(f"type tag {type_tag!r}: {e}") from None

    def encode(t: MoveType) -> bytes:
        if t.kind in _PRIMITIVE_TAGS:
            return bcs.enum(_PRIMITIVE_TAGS[t.kind])
        if t.kind == "vector":
            return bcs.enum(6, encode(t.inner))
        if t.kind == "datatype":
            params = [encode(a) for a in t.type_args]
            return bcs.enum(7, bcs.address(t.address) + bcs.string(t.module) + bcs.string(t.name)
                            + bcs.uleb128(len(params)) + b"".join(params))
        raise TransactionBuildError(f"type tag {type_tag!r}: a {t.kind} is not a type argument")

    return encode(ty)


# --- commands -----------------------------------------------------------------------------


def _identifier(name: str, what: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name or ""):
        raise TransactionBuildError(f"{what} {name!r} is not a Move identifier")
    return name


@dataclass(frozen=True)
class MoveCall:
    package: str
    module: str
    function: str
    arguments: tuple[Argument, ...] = ()
    type_arguments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "package", normalize_address(self.package))
        object.__setattr__(self, "arguments", tuple(self.arguments))
        object.__setattr__(self, "type_arguments", tuple(self.type_arguments))
        _identifier(self.module, "module")
        _identifier(self.function, "function")

    @property
    def target(self) -> str:
        return f"{self.package}::{self.module}::{self.function}"

    def to_bcs(self) -> bytes:
        body = (
            bcs.address(self.package)
            + bcs.string(self.module)
            + bcs.string(self.function)
            + bcs.vector(self.type_arguments, type_tag_bcs)
            + _args(self.arguments)
        )
        return bcs.enum(0, body)


@dataclass(frozen=True)
class TransferObjects:
    objects: tuple[Argument, ...]
    address: Argument

    def to_bcs(self) -> bytes:
        return bcs.enum(1, _args(tuple(self.objects)) + _arg(self.address))


@dataclass(frozen=True)
class SplitCoins:
    coin: Argument
    amounts: tuple[Argument, ...]

    def to_bcs(self) -> bytes:
        return bcs.enum(2, _arg(self.coin) + _args(tuple(self.amounts)))


@dataclass(frozen=True)
class MergeCoins:
    destination: Argument
    sources: tuple[Argument, ...]

    def to_bcs(self) -> bytes:
        return bcs.enum(3, _arg(self.destination) + _args(tuple(self.sources)))


@dataclass(frozen=True)
class Publish:
    """Publish compiled modules (bytecode, in dependency order) that depend on `dependencies`."""

    modules: tuple[bytes, ...]
    dependencies: tuple[str, ...]

    def to_bcs(self) -> bytes:
        return bcs.enum(
            4, bcs.vector(self.modules, bcs.byte_vector) + bcs.vector(self.dependencies, bcs.address)
        )


@dataclass(frozen=True)
class MakeMoveVec:
    type_tag: str | None
    elements: tuple[Argument, ...]

    def to_bcs(self) -> bytes:
        return bcs.enum(5, bcs.option(self.type_tag, type_tag_bcs) + _args(tuple(self.elements)))


@dataclass(frozen=True)
class Upgrade:
    modules: tuple[bytes, ...]
    dependencies: tuple[str, ...]
    package: str
    ticket: Argument

    def to_bcs(self) -> bytes:
        body = (
            bcs.vector(self.modules, bcs.byte_vector)
            + bcs.vector(self.dependencies, bcs.address)
            + bcs.address(self.package)
            + _arg(self.ticket)
        )
        return bcs.enum(6, body)


Command = MoveCall | TransferObjects | SplitCoins | MergeCoins | Publish | MakeMoveVec | Upgrade


# --- transactions -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgrammableTransaction:
    inputs: tuple[CallArg, ...]
    commands: tuple[Command, ...]

    def to_bcs(self) -> bytes:
        """BCS of the `TransactionKind::ProgrammableTransaction` (what gas-less simulation takes)."""
        return bcs.enum(
            0, bcs.vector(self.inputs, lambda i: i.to_bcs()) + bcs.vector(self.commands, lambda c: c.to_bcs())
        )


@dataclass(frozen=True)
class GasData:
    """Coins paying for gas (owned by `owner`), the gas price (MIST per unit) and the budget (MIST)."""

    payment: tuple[ObjectRef, ...]
    owner: str
    price: int
    budget: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "owner", normalize_address(self.owner))
        object.__setattr__(self, "payment", tuple(self.payment))

    def to_bcs(self) -> bytes:
        return (
            bcs.vector(self.payment, lambda r: r.to_bcs())
            + bcs.address(self.owner)
            + bcs.u64(self.price)
            + bcs.u64(self.budget)
        )


@dataclass(frozen=True)
class TransactionData:
    """`TransactionData::V1`: what is signed. `expiration_epoch=None` is `TransactionExpiration::None`."""

    kind: ProgrammableTransaction
    sender: str
    gas_data: GasData
    expiration_epoch: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sender", normalize_address(self.sender))

    def to_bcs(self) -> bytes:
        expiration = (
            bcs.enum(0) if self.expiration_epoch is None else bcs.enum(1, bcs.u64(self.expiration_epoch))
        )
        body = self.kind.to_bcs() + bcs.address(self.sender) + self.gas_data.to_bcs() + expiration
        return bcs.enum(0, body)

    def digest(self) -> str:
        return transaction_digest(self.to_bcs())


def transaction_digest(tx_bytes: bytes) -> str:
    """The transaction digest a node reports: base58(Blake2b-256(b"TransactionData::" || bytes))."""
    h = hashlib.blake2b(b"TransactionData::" + bytes(tx_bytes), digest_size=32).digest()
    return base58.b58encode(h).decode()


def parse_target(target: str) -> tuple[str, str, str]:
    """`0xpkg::module::function` -> (normalized package, module, function)."""
    parts = target.split("::")
    if len(parts) != 3:
        raise TransactionBuildError(f"move call target {target!r} is not package::module::function")
    return normalize_address(parts[0]), _identifier(parts[1], "module"), _identifier(parts[2], "function")


@dataclass
class PtbBuilder:
    """Accumulates inputs and commands; object inputs are deduplicated by id (a transaction may
    name an object once), pure inputs are not. Methods return the `Argument` to pass on."""

    inputs: list[CallArg] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    def _add_input(self, arg: CallArg) -> Input:
        self.inputs.append(arg)
        if len(self.inputs) > 0xFFFF:
            raise TransactionBuildError("a transaction has at most 65535 inputs")
        return Input(len(self.inputs) - 1)

    def pure(self, value: bytes) -> Input:
        """A pure input from BCS bytes (`bcs.pure_u64(5)`, `bcs.pure_bytes(b"..")`, ...)."""
        return self._add_input(Pure(bytes(value)))

    def object(self, arg: ObjectInput) -> Input:
        for i, existing in enumerate(self.inputs):
            if isinstance(existing, Pure) or existing.object_id != arg.object_id:
                continue
            if isinstance(existing, SharedObject) and isinstance(arg, SharedObject):
                if existing.initial_shared_version != arg.initial_shared_version:
                    raise TransactionBuildError(
                        f"shared object {arg.object_id} given with two initial shared versions"
                    )
                if arg.mutable and not existing.mutable:
                    self.inputs[i] = arg
                return Input(i)
            if existing == arg:
                return Input(i)
            raise TransactionBuildError(f"object {arg.object_id} given twice with different references")
        return self._add_input(arg)

    def _command(self, command: Command) -> Result:
        self.commands.append(command)
        return Result(len(self.commands) - 1)

    def move_call(
        self, target: str, arguments: Sequence[Argument] = (), type_arguments: Sequence[str] = ()
    ) -> Result:
        package, module, function = parse_target(target)
        return self._command(MoveCall(package, module, function, tuple(arguments), tuple(type_arguments)))

    def publish(self, modules: Sequence[bytes], dependencies: Sequence[str]) -> Result:
        """Publish; the result is the package's `UpgradeCap` (transfer it, or the publish fails)."""
        deps = tuple(normalize_address(d) for d in dependencies)
        return self._command(Publish(tuple(bytes(m) for m in modules), deps))

    def transfer_objects(self, objects: Sequence[Argument], recipient: Argument | str) -> None:
        to = self.pure(bcs.pure_address(recipient)) if isinstance(recipient, str) else recipient
        self._command(TransferObjects(tuple(objects), to))

    def split_coins(self, coin: Argument, amounts: Sequence[Argument]) -> Result:
        return self._command(SplitCoins(coin, tuple(amounts)))

    def merge_coins(self, destination: Argument, sources: Sequence[Argument]) -> None:
        self._command(MergeCoins(destination, tuple(sources)))

    def make_move_vec(self, type_tag: str | None, elements: Sequence[Argument]) -> Result:
        return self._command(MakeMoveVec(type_tag, tuple(elements)))

    def upgrade(
        self, modules: Sequence[bytes], dependencies: Sequence[str], package: str, ticket: Argument
    ) -> Result:
        """Upgrade `package` with the ticket of `0x2::package::authorize_upgrade`; the result is the
        receipt for `0x2::package::commit_upgrade`."""
        deps = tuple(normalize_address(d) for d in dependencies)
        return self._command(
            Upgrade(tuple(bytes(m) for m in modules), deps, normalize_address(package), ticket)
        )

    def build(self) -> ProgrammableTransaction:
        if not self.commands:
            raise TransactionBuildError("a programmable transaction needs at least one command")
        return ProgrammableTransaction(tuple(self.inputs), tuple(self.commands))


def build_transaction(
    kind: ProgrammableTransaction,
    sender: str,
    gas_payment: Sequence[ObjectRef],
    gas_price: int,
    gas_budget: int,
    gas_owner: str | None = None,
    expiration_epoch: int | None = None,
) -> TransactionData:
    """`TransactionData` paid by `gas_owner` (default: the sender)."""
    gas = GasData(tuple(gas_payment), gas_owner or sender, gas_price, gas_budget)
    return TransactionData(kind, sender, gas, expiration_epoch)


# --- decoding (the inverse of to_bcs) ------------------------------------------------------

_PRIMITIVE_NAMES = {v: k for k, v in _PRIMITIVE_TAGS.items()}


def _read_type_tag(r: bcs.BcsReader) -> str:
    tag = r.uleb128()
    if tag in _PRIMITIVE_NAMES:
        return _PRIMITIVE_NAMES[tag]
    if tag == 6:
        return f"vector<{_read_type_tag(r)}>"
    if tag == 7:
        addr, module, name = r.address(), r.string(), r.string()
        params = [_read_type_tag(r) for _ in range(r.uleb128())]
        return f"{addr}::{module}::{name}" + (f"<{', '.join(params)}>" if params else "")
    raise TransactionBuildError(f"unknown TypeTag variant {tag}")


def _read_ref(r: bcs.BcsReader) -> ObjectRef:
    oid, version = r.address(), r.u64()
    return ObjectRef(oid, version, base58.b58encode(r.byte_vector()).decode())


def _read_input(r: bcs.BcsReader) -> CallArg:
    tag = r.uleb128()
    if tag == 0:
        return Pure(r.byte_vector())
    if tag != 1:
        raise TransactionBuildError(f"unknown CallArg variant {tag}")
    kind = r.uleb128()
    if kind == 0:
        return OwnedObject(_read_ref(r))
    if kind == 1:
        return SharedObject(r.address(), r.u64(), r.boolean())
    if kind == 2:
        return ReceivingObject(_read_ref(r))
    raise TransactionBuildError(f"unknown ObjectArg variant {kind}")


def _read_arg(r: bcs.BcsReader) -> Argument:
    tag = r.uleb128()
    if tag == 0:
        return GAS_COIN
    if tag == 1:
        return Input(r.u16())
    if tag == 2:
        return Result(r.u16())
    if tag == 3:
        return NestedResult(r.u16(), r.u16())
    raise TransactionBuildError(f"unknown Argument variant {tag}")


def _read_args(r: bcs.BcsReader) -> tuple[Argument, ...]:
    return tuple(r.vector(_read_arg))


def _read_command(r: bcs.BcsReader) -> Command:
    tag = r.uleb128()
    if tag == 0:
        package, module, function = r.address(), r.string(), r.string()
        types = tuple(r.vector(_read_type_tag))
        return MoveCall(package, module, function, _read_args(r), types)
    if tag == 1:
        objects = _read_args(r)
        return TransferObjects(objects, _read_arg(r))
    if tag == 2:
        coin = _read_arg(r)
        return SplitCoins(coin, _read_args(r))
    if tag == 3:
        dest = _read_arg(r)
        return MergeCoins(dest, _read_args(r))
    if tag == 4:
        modules = tuple(r.vector(bcs.BcsReader.byte_vector))
        return Publish(modules, tuple(r.vector(bcs.BcsReader.address)))
    if tag == 5:
        type_tag = r.option(_read_type_tag)
        return MakeMoveVec(type_tag, _read_args(r))
    if tag == 6:
        modules = tuple(r.vector(bcs.BcsReader.byte_vector))
        deps = tuple(r.vector(bcs.BcsReader.address))
        package = r.address()
        return Upgrade(modules, deps, package, _read_arg(r))
    raise TransactionBuildError(f"unknown Command variant {tag}")


def decode_transaction(tx_bytes: bytes) -> TransactionData:
    """`TransactionData::V1` BCS of a programmable transaction -> `TransactionData`
    (`decode_transaction(tx.to_bcs()) == tx`)."""
    r = bcs.BcsReader(tx_bytes)
    try:
        if r.uleb128() != 0:
            raise TransactionBuildError("only TransactionData::V1 is supported")
        if r.uleb128() != 0:
            raise TransactionBuildError("only programmable transactions are supported")
        inputs = tuple(r.vector(_read_input))
        commands = tuple(r.vector(_read_command))
        sender = r.address()
        payment = tuple(r.vector(_read_ref))
        owner, price, budget = r.address(), r.u64(), r.u64()
        exp = r.uleb128()
        if exp not in (0, 1):
            raise TransactionBuildError(f"unknown TransactionExpiration variant {exp}")
        epoch = r.u64() if exp == 1 else None
        r.done()
    except BcsError as exc:
        raise TransactionBuildError(f"not TransactionData bytes: {exc}") from None
    kind = ProgrammableTransaction(inputs, commands)
    return TransactionData(kind, sender, GasData(payment, owner, price, budget), epoch)


def parse_object_ref(text: str) -> ObjectRef:
    """`ID:VERSION:DIGEST` (as given to `--gas-object` / `--admin-cap`) -> ObjectRef."""
    parts = text.strip().split(":")
    if len(parts) != 3:
        raise TransactionBuildError(f"object reference {text!r} is not ID:VERSION:DIGEST")
    oid, version, digest = parts
    try:
        v = int(version)
    except ValueError:
        raise TransactionBuildError(f"object reference {text!r}: version {version!r} is not an integer") from None
    if v < 0:
        raise TransactionBuildError(f"object reference {text!r}: version must be >= 0")
    return ObjectRef(oid, v, digest)
