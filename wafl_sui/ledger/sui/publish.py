"""Publish the WaFL Move package from its offline build (`wafl_sui.contract.build.build_package`):
what `wafl deploy` calls.

The transaction (`task_calls.publish_kind`): `Publish(modules, dependencies)`, the upgrade
policy's `0x2::package` call on the UpgradeCap, then `TransferObjects([upgrade cap], publisher)`
(none under `immutable`: the cap is consumed). The gas budget comes from a simulation of that
transaction; the package id and the UpgradeCap come from the effects, and the deployment
(package, cap, publisher, publish digest, the node's chain id) is recorded in the deployments
file for the network.

    task_calls.build_publish_tx(build, sender, gas)  # offline: TransactionData, nothing sent
    publish(signer, network="localnet")              # build, simulate, sign, execute, record
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wafl_sui.ledger.sui import deployments
from wafl_sui.ledger.sui.ledger import SuiLedger
from wafl_sui.ledger.sui.task_calls import DEFAULT_UPGRADE_POLICY


def publish(
    signer: Any,
    network: str = "localnet",
    *,
    build: Any = None,
    client: Any = None,
    url: str | None = None,
    deployments_path: Path | None = None,
    max_budget: int | None = None,
    record: bool = True,
    policy: str = DEFAULT_UPGRADE_POLICY,
) -> deployments.Deployment:
    """Publish `build` (default: `build_package()` of move/) on `network` signed by `signer`
    (an `Identity`) under upgrade `policy` (task_calls.UPGRADE_POLICIES); record and return the deployment. Raises `SuiLedgerError` (a LedgerError)
    for a refused or failed publish, `InsufficientGas` when the signer cannot pay."""
    if build is None:
        from wafl_sui.contract.build import build_package

        build = build_package()
    ledger = SuiLedger(network, client=client, url=url, deployments_path=deployments_path, require_deployment=False)
    try:
        return ledger.publish(signer, build, max_budget=max_budget, record=record, policy=policy)
    finally:
        if client is None:
            ledger.close()
