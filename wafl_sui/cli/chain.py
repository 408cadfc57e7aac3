"""What the commands that send transactions share: the signer's key (`--key`) and the Sui CLI's
`--serialize-unsigned-transaction` convention (print the base64 TransactionData, send nothing),
which works with no network when the object references are given as options."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from wafl_sui.ledger.sui.network import SUI_NETWORKS
from wafl_sui.toolchain import wafl_home


def keys_dir() -> Path:
    return wafl_home() / "keys"


def key_path(name: str) -> Path:
    """A key by name ($WAFL_HOME/keys/NAME.key) or by path."""
    p = Path(name)
    return p if (p.suffix == ".key" or "/" in name) else keys_dir() / f"{name}.key"


def load_identity(name: str) -> Any:
    from wafl_sui.ledger.identity import Identity

    p = key_path(name)
    if not p.exists():
        raise click.ClickException(f"no key {name!r} ({p}); create one with `wafl keys new --name {name}` "
                                   "or import one with `wafl keys import`")
    return Identity.from_file(p)


def key_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--key", "key", default="default", show_default=True,
                        help="The signer: a key name ($WAFL_HOME/keys/NAME.key) or a key file.")(fn)


tx_options = [
    click.option("--serialize-unsigned-transaction", "serialize", is_flag=True,
                 help="Print the base64 TransactionData and send nothing (Sui networks)."),
    click.option("--sender", help="With --serialize-unsigned-transaction: the sender address [default: --key's]."),
    click.option("--gas-object", "gas_objects", multiple=True, metavar="ID:VERSION:DIGEST",
                 help="Gas coin(s) to pay with (offline: no lookup)."),
    click.option("--gas-price", type=int, help="Gas price in MIST (offline)."),
    click.option("--gas-budget", type=int, help="Gas budget in MIST (offline)."),
    click.option("--task-version", type=int, help="The task's initial shared version (offline)."),
    click.option("--admin-cap", metavar="ID:VERSION:DIGEST", help="The task's admin capability (offline admin calls)."),
    click.option("--package-id", metavar="ID",
                 help="The WaFL package (offline) [default: the deployment recorded for --network]."),
]


def with_tx_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(tx_options):
        fn = opt(fn)
    return fn


def unsigned_builder(network: str, key: str, opts: dict[str, Any]) -> Any:
    """The `UnsignedTransactions` of `--serialize-unsigned-transaction`, or None when sending."""
    if not opts.get("serialize"):
        return None
    if network == "local":
        raise click.UsageError("--serialize-unsigned-transaction builds Sui transactions: give --network "
                               f"{', '.join(SUI_NETWORKS[:-1])} or {SUI_NETWORKS[-1]}")
    from wafl_sui.ledger.sui.ledger import SuiLedger

    sender = opts.get("sender") or load_identity(key).address
    offline = opts.get("gas_objects") and opts.get("gas_price") is not None and opts.get("gas_budget") is not None
    if offline:
        return SuiLedger.offline(sender, list(opts["gas_objects"]), opts["gas_price"], opts["gas_budget"],
                                 network=network, task_version=opts.get("task_version"),
                                 admin_cap=opts.get("admin_cap"), package_id=opts.get("package_id"))
    if opts.get("gas_objects") or opts.get("gas_price") is not None or opts.get("gas_budget") is not None:
        raise click.UsageError("offline serialization needs all of --gas-object, --gas-price and --gas-budget")
    return SuiLedger(network).unsigned(sender)


def tx_opts(**kw: Any) -> dict[str, Any]:
    return {k: kw.get(k) for k in ("serialize", "sender", "gas_objects", "gas_price", "gas_budget",
                                    "task_version", "admin_cap", "package_id")}
