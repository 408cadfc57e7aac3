"""Publish the WaFL Move package from its offline build (`wafl_sui.contract.build.build_package`).

One programmable transaction: `Publish(modules, dependencies)` then `TransferObjects([upgrade
cap], publisher)` (a publish whose UpgradeCap is left unused fails). The gas budget comes from a
simulation of that transaction; the package id and the UpgradeCap come from the effects, and
the deployment (package, cap, publisher, publish digest, the node's chain id) is recorded in the
deployments file for the network.

    build_publish_tx(build, sender, gas)  # offline: TransactionData, nothing sent
    publish(signer, network="localnet")   # build, simulate, sign, execute, record
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wafl_sui.ledger.sui import deployments
from wafl_sui.ledger.sui.bcs import normalize_address
from wafl_sui.ledger.sui.network import SuiNetworkError
from wafl_sui.ledger.sui.transactions import (
    ObjectRef,
    ProgrammableTransaction,
    PtbBuilder,
    TransactionData,
    build_transaction,
)


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


def publish_kind(build: Any, publisher: str) -> ProgrammableTransaction:
    """Publish + TransferObjects(UpgradeCap -> publisher)."""
    mods, deps = _modules_and_deps(build)
    b = PtbBuilder()
    cap = b.publish(mods, deps)
    b.transfer_objects([cap], normalize_address(publisher))
    return b.build()


def build_publish_tx(
    build: Any, sender: str, gas_payment: Sequence[ObjectRef] | ObjectRef, gas_price: int, gas_budget: int
) -> TransactionData:
    """The publish transaction, built offline from given gas data (no network)."""
    payment = [gas_payment] if isinstance(gas_payment, ObjectRef) else list(gas_payment)
    return build_transaction(publish_kind(build, sender), sender, payment, gas_price, gas_budget)


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
) -> deployments.Deployment:
    """Publish `build` (default: `build_package()` of move/) on `network` signed by `signer`
    (an `Identity`); record and return the deployment. Raises `SuiLedgerError` (a LedgerError)
    for a refused or failed publish, `InsufficientGas` when the signer cannot pay."""
    from wafl_sui.ledger.sui.ledger import SuiLedger

    if build is None:
        from wafl_sui.contract.build import build_package

        build = build_package()
    ledger = SuiLedger(network, client=client, url=url, deployments_path=deployments_path, require_deployment=False)
    try:
        return ledger.publish(signer, build, max_budget=max_budget, record=record)
    finally:
        if client is None:
            ledger.close()


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m wafl_sui.ledger.sui.publish --network localnet --key KEY [--fund]`: publish the
    package (built offline from move/) and print the recorded deployment as JSON. The fallback
    of `wafl deploy`; errors are one line on stderr, exit status 1."""
    import argparse
    import json
    import sys

    from wafl_sui.errors import WaflError
    from wafl_sui.ledger.identity import Identity

    ap = argparse.ArgumentParser(prog="python -m wafl_sui.ledger.sui.publish", description=main.__doc__)
    ap.add_argument("--network", default="localnet", choices=["localnet", "devnet", "testnet"])
    ap.add_argument("--key", required=True, help="key file of the publisher (created with --new-key)")
    ap.add_argument("--new-key", action="store_true", help="create the key file if it does not exist")
    ap.add_argument("--fund", action="store_true", help="ask the network's faucet for gas first")
    ap.add_argument("--url", help="node URL [default: the network's, or $WAFL_SUI_RPC_URL]")
    ap.add_argument("--deployments", help="deployments file [default: $WAFL_HOME/deployments.json]")
    ap.add_argument("--package", help="Move package folder [default: move/ of this checkout]")
    ap.add_argument("--unsigned", action="store_true",
                    help="print the unsigned publish TransactionData (base64) instead of sending it")
    args = ap.parse_args(argv)
    try:
        key = Path(args.key)
        if not key.exists() and args.new_key:
            Identity.generate().save(key)
        me = Identity.from_file(key)
        from wafl_sui.contract.build import build_package

        build = build_package(args.package) if args.package else build_package()
        if args.fund:
            from wafl_sui.ledger.sui.faucet import request_gas

            request_gas(me.address, args.network)
        from wafl_sui.ledger.sui.ledger import SuiLedger

        path = Path(args.deployments) if args.deployments else None
        with SuiLedger(args.network, url=args.url, deployments_path=path, require_deployment=False,
                       faucet=True if args.fund else None) as ledger:  # fmt: skip
            if args.unsigned:
                print(ledger.unsigned(me.address).publish(build))
                return 0
            dep = ledger.publish(me, build)
        print(json.dumps({"network": dep.network, **dep.to_json()}, indent=2))
        return 0
    except WaflError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
