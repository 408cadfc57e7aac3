"""Sui networks: names -> node (gRPC) and faucet URLs, chain ids, and the network error class.

Pure lookups. Fullnode URLs are pysui's (`PysuiConfiguration` gRPC group: `fullnode.<net>.sui.io:443`,
written here with their https scheme); localnet is a `sui start` node, plaintext gRPC on
http://127.0.0.1:9000. `WAFL_SUI_RPC_URL` overrides the node URL of every network.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from wafl_sui.errors import WaflError

RPC_URL_ENV = "WAFL_SUI_RPC_URL"

SUI_NETWORKS = ("localnet", "devnet", "testnet")  # the Sui networks WaFL deploys to (the CLI's choices)
LEDGER_NETWORKS = ("local", *SUI_NETWORKS)  # `--network`: the embedded local ledger, or one of those

NODE_URLS: dict[str, str] = {
    "localnet": "http://127.0.0.1:9000",
    "devnet": "https://fullnode.devnet.sui.io:443",
    "testnet": "https://fullnode.testnet.sui.io:443",
    "mainnet": "https://fullnode.mainnet.sui.io:443",
}

FAUCET_URLS: dict[str, str] = {  # the v2 endpoints the TS SDK's requestSuiFromFaucetV2 posts to
    "localnet": "http://127.0.0.1:9123/v2/gas",
    "devnet": "https://faucet.devnet.sui.io/v2/gas",
    "testnet": "https://faucet.testnet.sui.io/v2/gas",
}

CHAIN_IDS: dict[str, str] = {  # genesis checkpoint digests; devnet and localnet change on reset
    "mainnet": "4btiuiMPvEENsttpZC7CZ53DruC3MAgfznDbASZ7DR6S",
    "testnet": "69WiPg3DAQiwdxfncX6wYQ2siKwAe6L9BZthQea3JNMD",
}


class SuiNetworkError(WaflError):
    """A Sui node or faucet could not serve a request: unreachable, wrong network, refused,
    rate limited, or not enough gas."""


class SuiUnreachable(SuiNetworkError):
    """The node did not answer (connection refused or lost, timeout, unavailable): the request
    may or may not have been served."""


class SuiNotFound(SuiNetworkError):
    """The node answered that the object, package or transaction does not exist."""


class InsufficientGas(SuiNetworkError):
    """`address` cannot pay for a transaction: it has `have` MIST in SUI coins, the transaction
    needs `needed` MIST of gas budget (None when the node could not say)."""

    def __init__(self, address: str, have: int, needed: int | None, network: str = "", detail: str = ""):
        self.address, self.have, self.needed = address, have, needed
        on = f" on {network}" if network else ""
        if have == 0:
            need = f"; this transaction needs a gas budget of {needed} MIST ({needed} MIST short)" if needed else ""
            text = f"{address} has no SUI coins{on} to pay gas{need}"
        elif needed is None:
            text = f"{address} has {have} MIST{on}, not enough to pay for this transaction"
        else:
            text = (
                f"{address} has {have} MIST{on} but this transaction needs a gas budget of {needed} MIST "
                f"({self.short} MIST short)"
            )
        hint = "; fund it from the faucet (`wafl faucet`, or https://faucet.sui.io) or a wallet"
        super().__init__(text + (f" ({detail})" if detail else "") + hint)

    @property
    def short(self) -> int | None:
        return None if self.needed is None else max(self.needed - self.have, 0)


def network_names() -> list[str]:
    """Every Sui network with a known node (SUI_NETWORKS and mainnet)."""
    return list(NODE_URLS)


def is_sui_network(name: str) -> bool:
    """`name` is a Sui network with a known node (mainnet included: the Sui ledger decides)."""
    return name in NODE_URLS


def rpc_url(network: str, env: Mapping[str, str] | None = None) -> str:
    """The node URL for `network`, or `$WAFL_SUI_RPC_URL` when set."""
    env = os.environ if env is None else env
    override = env.get(RPC_URL_ENV, "").strip()
    if override:
        return override
    try:
        return NODE_URLS[network]
    except KeyError:
        raise SuiNetworkError(
            f"unknown Sui network {network!r}; use one of {', '.join(NODE_URLS)} or set {RPC_URL_ENV}"
        ) from None


def faucet_url(network: str) -> str:
    try:
        return FAUCET_URLS[network]
    except KeyError:
        raise SuiNetworkError(
            f"{network} has no faucet; fund the address from a wallet (faucets: {', '.join(FAUCET_URLS)})"
        ) from None


@dataclass(frozen=True)
class NodeEndpoint:
    """Where a gRPC node listens: `tls` False for http:// (plaintext h2c), True for https://
    or a bare `host:port` (as pysui writes URLs)."""

    host: str
    port: int
    tls: bool

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"


def parse_node_url(url: str) -> NodeEndpoint:
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise SuiNetworkError(f"node URL {url!r}: scheme must be http (plaintext) or https (TLS)")
    if not parts.hostname:
        raise SuiNetworkError(f"node URL {url!r} has no host")
    if parts.path not in ("", "/") or parts.query:
        raise SuiNetworkError(f"node URL {url!r}: a gRPC URL is scheme://host:port with no path")
    try:
        port = parts.port
    except ValueError:
        raise SuiNetworkError(f"node URL {url!r} has a malformed port") from None
    tls = parts.scheme == "https"
    return NodeEndpoint(parts.hostname, port or (443 if tls else 80), tls)
