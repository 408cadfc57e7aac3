"""Ask a Sui faucet (localnet, devnet, testnet) for gas coins: HTTP POST of the v2 API."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from wafl_sui.ledger.sui.bcs import normalize_address
from wafl_sui.ledger.sui.network import SuiNetworkError, faucet_url


@dataclass(frozen=True)
class FaucetCoin:
    object_id: str
    amount: int
    transfer_digest: str


def request_gas(
    address: str, network: str = "localnet", *, url: str | None = None, timeout: float = 60.0
) -> list[FaucetCoin]:
    """POST {"FixedAmountRequest": {"recipient": address}} to the faucet; the coins it sent."""
    recipient = normalize_address(address)
    endpoint = url or faucet_url(network)
    try:
        resp = httpx.post(endpoint, json={"FixedAmountRequest": {"recipient": recipient}}, timeout=timeout)
    except httpx.HTTPError as exc:
        hint = " (is `sui start --with-faucet` running?)" if network == "localnet" and not url else ""
        raise SuiNetworkError(f"cannot reach the {network} faucet at {endpoint}{hint}: {exc}") from exc
    if resp.status_code == 429:
        raise SuiNetworkError(
            f"the {network} faucet at {endpoint} is rate limiting this machine (HTTP 429 Too Many Requests); "
            f"wait and retry, or fund {recipient} another way (for testnet: https://faucet.sui.io/?address={recipient})"
        )
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code >= 400 or not isinstance(body, dict):
        text = resp.text[:300].strip()
        raise SuiNetworkError(
            f"the {network} faucet at {endpoint} answered HTTP {resp.status_code}: {text or 'no body'}"
        )
    status = body.get("status")
    if status != "Success":
        reason = status.get("Failure", status) if isinstance(status, dict) else status or body.get("error")
        if isinstance(reason, dict):
            reason = reason.get("internal", reason)
        raise SuiNetworkError(f"the {network} faucet refused to fund {recipient}: {reason}")
    return [
        FaucetCoin(normalize_address(c["id"]), int(c["amount"]), str(c.get("transferTxDigest", "")))
        for c in body.get("coins_sent") or []
    ]


def main(argv: list[str] | None = None) -> int:
    """`python -m wafl_sui.ledger.sui.faucet (--key FILE | --address 0x..) [--network localnet]`:
    ask the faucet for gas; prints the coins sent (exit 1 with the reason otherwise)."""
    import argparse
    import sys

    from wafl_sui.errors import WaflError

    ap = argparse.ArgumentParser(prog="python -m wafl_sui.ledger.sui.faucet", description=main.__doc__)
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--key", help="a key file (its address is funded)")
    who.add_argument("--address")
    ap.add_argument("--network", default="localnet", choices=["localnet", "devnet", "testnet"])
    ap.add_argument("--url", help="faucet URL [default: the network's]")
    args = ap.parse_args(argv)
    try:
        if args.key:
            from wafl_sui.ledger.identity import Identity

            address = Identity.from_file(args.key).address
        else:
            address = normalize_address(args.address)
        coins = request_gas(address, args.network, url=args.url)
    except WaflError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    total = sum(c.amount for c in coins)
    print(f"funded {address} on {args.network}: {len(coins)} coin(s), {total} MIST")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
