"""Ask a Sui faucet (`network.FAUCET_URLS`) for gas coins: HTTP POST of the v2 API. `wafl faucet`
and the ledger's top-up (`SuiLedger(faucet=...)`) call `request_gas`."""

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
