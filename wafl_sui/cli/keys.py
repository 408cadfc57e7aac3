"""`wafl keys new|import|show|list` and `wafl faucet`: local identities (Sui Ed25519 keys).

Key files live in $WAFL_HOME/keys/ with owner-only permissions; a private key is never printed.
"""

from __future__ import annotations

import click

from wafl_sui.cli.chain import key_path, keys_dir, load_identity
from wafl_sui.cli.common import emit, friendly_errors
from wafl_sui.ledger.sui.network import SUI_NETWORKS


@click.group("keys", help="Identities: Sui Ed25519 key pairs (addresses), stored owner-only.")
def keys_group() -> None:
    pass


@keys_group.command("new")
@click.option("--name", default="default", show_default=True)
@friendly_errors
def new_cmd(name: str) -> None:
    """Create a key pair and show its address."""
    from wafl_sui.ledger.identity import Identity

    p = key_path(name)
    if p.exists():
        raise click.ClickException(f"key {name!r} exists ({p}); choose another --name (nothing was overwritten)")
    ident = Identity.generate()
    ident.save(p)
    click.echo(f"{name}: {ident.address} (key file {p}, readable by you only)")


@keys_group.command("import")
@click.option("--name", default="default", show_default=True)
@click.option("--sui-keystore", type=click.Path(exists=True, dir_okay=False),
              help="A Sui CLI keystore (e.g. ~/.sui/sui_config/sui.keystore).")
@click.option("--address", help="Which key of the keystore (default: the first).")
@friendly_errors
def import_cmd(name: str, sui_keystore: str | None, address: str | None) -> None:
    """Import a key from a Sui keystore, or a `suiprivkey1...` key read from standard input."""
    from wafl_sui.ledger.identity import Identity

    p = key_path(name)
    if p.exists():
        raise click.ClickException(f"key {name!r} exists ({p}); choose another --name (nothing was overwritten)")
    if sui_keystore:
        ident = Identity.from_sui_keystore(sui_keystore, address)
    else:
        entry = click.prompt("private key (suiprivkey1... or base64 keystore entry)", hide_input=True, err=True)
        ident = Identity.from_keystore_entry(entry.strip())
    ident.save(p)
    click.echo(f"{name}: {ident.address} (key file {p})")


@keys_group.command("show")
@click.option("--name", default="default", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def show_cmd(name: str, as_json: bool) -> None:
    """The address of a key (never the private key)."""
    ident = load_identity(name)
    emit({"name": name, "address": ident.address, "file": str(key_path(name))}, as_json,
         lambda o: click.echo(o["address"]))


@keys_group.command("list")
@friendly_errors
def list_cmd() -> None:
    """Every key in $WAFL_HOME/keys with its address."""
    found = sorted(keys_dir().glob("*.key")) if keys_dir().is_dir() else []
    if not found:
        click.echo("no keys yet: `wafl keys new`")
    for p in found:
        click.echo(f"{p.stem:>16}  {load_identity(str(p)).address}")


@click.command("faucet")
@click.option("--network", type=click.Choice(SUI_NETWORKS), default="localnet", show_default=True)
@click.option("--key", "key", default="default", show_default=True)
@friendly_errors
def faucet_cmd(network: str, key: str) -> None:
    """Ask the network's faucet for SUI for a key's address."""
    from wafl_sui.ledger.sui.faucet import request_gas

    ident = load_identity(key)
    coins = request_gas(ident.address, network)
    total = sum(getattr(c, "amount", 0) for c in coins)
    click.echo(f"{network} faucet sent {len(coins)} coin(s), {total / 1e9:g} SUI, to {ident.address}")
