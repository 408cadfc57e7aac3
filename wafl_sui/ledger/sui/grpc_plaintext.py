"""pysui's gRPC client with plaintext for http:// node URLs.

pysui 1.5.1's `GrpcProtocolClient` always opens its grpclib channel with `ssl=True`, so it
cannot talk to a local `sui start` node (plaintext HTTP/2 on http://127.0.0.1:9000). `GrpcClient`
is that client with the channel opened from the URL's scheme (plaintext for http, TLS for
https), built from an in-memory pysui configuration (no ~/.pysui/PysuiConfig.json needed).
Everything else (requests, executors, `transaction()`) is pysui's.

Construct it inside a running event loop (grpclib binds a channel to the current loop).
"""

from __future__ import annotations

from pathlib import Path

from grpclib.client import Channel
from pysui import PysuiConfiguration
from pysui.sui.sui_common.config import confgroup
from pysui.sui.sui_common.config.confmodel import _CURRENT_CONFIG_VERSION, PysuiConfigModel
from pysui.sui.sui_grpc.pgrpc_clients import GrpcProtocolClient

from wafl_sui.ledger.sui.network import NodeEndpoint, parse_node_url

_GROUP = "wafl"
_PROFILE = "node"


def open_channel(endpoint: NodeEndpoint | str) -> Channel:
    """A grpclib channel to the node: TLS (default CA bundle) for https, plaintext for http."""
    ep = parse_node_url(endpoint) if isinstance(endpoint, str) else endpoint
    return Channel(host=ep.host, port=ep.port, ssl=True if ep.tls else None)


def memory_config(url: str, address: str = "") -> PysuiConfiguration:
    """A pysui configuration held in memory with one gRPC profile for `url` (never saved)."""
    config = PysuiConfiguration.__new__(PysuiConfiguration)  # pysui's own initialize_config does this
    model = PysuiConfigModel(_CURRENT_CONFIG_VERSION, "")
    group = confgroup.ProfileGroup(
        _GROUP,
        _PROFILE,
        address,
        [],
        [],
        [address] if address else [],
        [confgroup.Profile(_PROFILE, url)],
        confgroup.GroupProtocol.GRPC,
    )
    model.add_group(group=group, make_active=True)
    config._model = model  # type: ignore[attr-defined]
    config._config_root = Path("/nonexistent-wafl-memory-config")  # type: ignore[attr-defined]
    config._config_file = config._config_root / "PysuiConfig.json"  # type: ignore[attr-defined]
    return config


class GrpcClient(GrpcProtocolClient):
    """`GrpcProtocolClient` whose channel follows the URL scheme (http -> plaintext)."""

    def __init__(self, url: str, *, default_header: dict | None = None):
        self.endpoint = parse_node_url(url)
        super().__init__(pysui_config=memory_config(self.endpoint.url), default_header=default_header)
        self._channel.close()  # the TLS channel pysui opened (idle, never connected)
        self._channel = open_channel(self.endpoint)

    @property
    def url(self) -> str:
        return self.endpoint.url
