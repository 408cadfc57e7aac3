"""How a simulation's clients run. An engine sets up the circuit and its keys once, starts the
clients (each with its prover resident), runs one round of a chosen set of clients, and stops them:

* `local` (`LocalEngine`): one process per client on this machine, forked from one host process
  that shares the loaded proving key (`worker.ClientHost`);
* `ray` (`ray_engine.RayEngine`): a pool of Ray actors, on this machine or a cluster.

Both run the same client round (`client.participant.Client.run_round`) on the same data, so the
same configuration gives the same accepted updates and the same model whatever the engine. Which
clients train in a round is `round_clients`, the one place a per-round sample plugs in.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, Sequence

from wafl_sui.errors import WaflError
from wafl_sui.federation.config import SimulationConfig
from wafl_sui.federation.worker import ClientHost, HostError, WorkerSpec
from wafl_sui import protocol




class EngineError(WaflError):
    """The clients could not be started or a client failed; the message says which and why."""


class ClientEngine(Protocol):
    name: str

    def verifying_key(self) -> dict:
        """The verifying key (snarkjs JSON) of the clients' proving key, once the set-up is done."""

    def start(self) -> None:
        """Wait until every client has loaded its data and prover."""

    def run_clients(self, task_id: str, indices: Sequence[int], rnd: int) -> list[dict]:
        """One round of clients `indices`: their `RoundReport` dicts, in that order. A client the
        engine lost (its worker died twice) gets a skipped report with `lost` set."""

    def info(self) -> dict:
        """What ran the clients (for the summary): engine name, workers, nodes."""

    def stop(self) -> None:
        """Stop every client (idempotent)."""


def round_clients(cfg: SimulationConfig, view: Any, addresses: Optional[Sequence[str]] = None) -> list[int]:
    """The clients asked to train in the round of `view`: those its on-chain sample holds (client i
    has `addresses[i]`); every client when the addresses are not given or the round is not open.
    The engines run whatever it says."""
    if addresses is None or not getattr(view, "round_open", False):
        return list(range(cfg.clients))
    sampled = {protocol.normalize_address(a) for a in view.sampled}
    return [i for i, a in enumerate(addresses) if protocol.normalize_address(a) in sampled]


def lost_report(address: str, reason: str) -> dict:
    """The report of a client whose worker was lost this round: nothing was sent for it."""
    return {"client": address, "accepted": False, "error": None, "skipped": f"worker lost: {reason}",
            "lost": True}


class LocalEngine:
    """The clients as processes of this machine (`worker.ClientHost`)."""

    name = "local"

    def __init__(self, workers: list[WorkerSpec], say: Callable[[str], None] = print):
        self.workers = workers
        self.host = ClientHost(workers, say=say)
        self._conns: Optional[list[Any]] = None

    def verifying_key(self) -> dict:
        try:
            return self.host.verifying_key()
        except HostError as e:
            raise EngineError(str(e)) from None

    def start(self) -> None:
        try:
            self._conns = self.host.clients()
        except HostError as e:
            raise EngineError(str(e)) from None

    def run_clients(self, task_id: str, indices: Sequence[int], rnd: int) -> list[dict]:
        if self._conns is None:
            self.start()
        conns = self._conns
        assert conns is not None
        for i in indices:
            conns[i].send(("round", task_id))
        reports = []
        for i in indices:
            try:
                kind, payload = conns[i].recv()
            except EOFError:
                raise EngineError(f"client {i} exited in round {rnd}") from None
            if kind == "error":
                raise EngineError(f"client {i} failed in round {rnd}: {payload['message']}\n{payload['traceback']}".rstrip())
            reports.append(payload)
        return reports

    def info(self) -> dict:
        return {"engine": self.name, "workers": len(self.workers), "nodes": 1}

    def stop(self) -> None:
        self.host.stop()
