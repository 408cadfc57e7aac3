"""`wafl deploy`: publish the Move package on a Sui network and record the deployment."""

from __future__ import annotations

import click

from wafl_sui.cli.chain import key_option, load_identity, tx_opts, unsigned_builder, with_tx_options
from wafl_sui.cli.common import emit, friendly_errors
from wafl_sui.ledger.sui.network import SUI_NETWORKS
from wafl_sui.ledger.sui.task_calls import DEFAULT_UPGRADE_POLICY, UPGRADE_POLICIES

_POLICY_HELP = (
    "Upgrade policy set on the UpgradeCap in the publish transaction (final: Sui lets a policy be "
    "tightened later, never loosened). compatible (default): the cap holder (you) can fix the "
    "contract, and can also add functions that mutate any Task; additive: new code only, existing "
    "functions frozen (new functions can still mutate tasks); dependency-only: only dependency "
    "updates; immutable: no upgrade ever, no UpgradeCap. See docs/MOVE.md, Upgrades."
)


@click.command("deploy")
@click.option("--network", type=click.Choice(SUI_NETWORKS), required=True)
@key_option
@click.option("--policy", type=click.Choice(list(UPGRADE_POLICIES)), default=DEFAULT_UPGRADE_POLICY,
              show_default=True, help=_POLICY_HELP)
@with_tx_options
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def deploy_cmd(network: str, key: str, policy: str, as_json: bool, **kw) -> None:
    """Compile move/ and publish it under an upgrade --policy (the UpgradeCap, if any, goes to the
    publisher); later commands find the package."""
    from wafl_sui.contract.build import build_package

    build = build_package()
    unsigned = unsigned_builder(network, key, tx_opts(**kw))
    if unsigned is not None:
        click.echo(unsigned.publish(build, policy))
        return
    from wafl_sui.ledger.sui.publish import publish

    dep = publish(load_identity(key), network, build=build, policy=policy)
    out = {"network": network, "package_id": dep.package_id, "upgrade_cap": dep.upgrade_cap_id or None,
           "upgrade_policy": dep.upgrade_policy, "digest": dep.digest, "publisher": dep.publisher}
    emit(out, as_json, lambda o: click.echo(f"published on {network}: package {o['package_id']} "
                                            f"(upgrade policy {o['upgrade_policy']}, "
                                            + (f"UpgradeCap {o['upgrade_cap']} held by {o['publisher']}"
                                               if o["upgrade_cap"] else "no UpgradeCap: never upgradable")
                                            + f", tx {o['digest']})"))
