"""`wafl deploy`: publish the Move package on a Sui network and record the deployment."""

from __future__ import annotations

import click

from wafl_sui.cli.chain import key_option, load_identity, tx_opts, unsigned_builder, with_tx_options
from wafl_sui.cli.common import emit, friendly_errors
from wafl_sui.ledger.sui.network import SUI_NETWORKS


@click.command("deploy")
@click.option("--network", type=click.Choice(SUI_NETWORKS), required=True)
@key_option
@with_tx_options
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def deploy_cmd(network: str, key: str, as_json: bool, **kw) -> None:
    """Compile move/ and publish it (UpgradeCap to the publisher); later commands find the package."""
    from wafl_sui.contract.build import build_package

    build = build_package()
    unsigned = unsigned_builder(network, key, tx_opts(**kw))
    if unsigned is not None:
        click.echo(unsigned.publish(build))
        return
    from wafl_sui.ledger.sui.publish import publish

    dep = publish(load_identity(key), network, build=build)
    out = {"network": network, "package_id": dep.package_id, "upgrade_cap": dep.upgrade_cap_id,
           "digest": dep.digest, "publisher": dep.publisher}
    emit(out, as_json, lambda o: click.echo(f"published on {network}: package {o['package_id']} "
                                            f"(UpgradeCap {o['upgrade_cap']}, tx {o['digest']})"))
