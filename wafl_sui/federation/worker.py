"""The client processes of a simulated federation. Each loads its own partition of the data
(which never leaves the process), keeps its prover resident, and runs one client round per
request; the coordinator talks to it over a pipe: ("round", task_id) -> ("report", RoundReport
dict), ("stop",) -> exits.

They are started by one host process (`ClientHost`, spawned clean: no JAX, no threads). The host
compiles the circuit and makes or loads the proving key once, sends the verifying key to the
coordinator, and then forks the clients, which share that loaded key instead of each reading it
again (~15 s of CPU a client at the digits size). Each client imports JAX itself, after the fork.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a client process needs, as plain values (it is sent to a spawned process)."""

    index: int
    key_file: str
    ledger: str  # what `ledger.open_ledger` takes: "local", a ledger file path, or a network name
    config: dict  # SimulationConfig.to_dict()
    spec: dict  # StepSpec.to_dict()
    attack: Optional[str]
    wafl_home: str


def partitions(cfg: Any) -> list:
    """Every client's training data (a `SimulationConfig`): the split, scaling and partition
    the coordinator also uses. Client i trains on partitions(cfg)[i], whatever the engine."""
    from wafl_sui.client import data as client_data
    from wafl_sui.client import datasets

    raw = datasets.load_raw(cfg.dataset, cfg.label_column)
    train, _test = datasets.split(raw, cfg.test_fraction, cfg.seed)
    scaling = datasets.scaling_for(train)
    return client_data.partition(datasets.to_dataset(train, scaling), cfg.clients, seed=cfg.seed, alpha=cfg.alpha)


def make_client(identity: Any, part: Any, keys: Any, cfg: Any, index: int, prover: Any = None) -> Any:
    """Simulated client `index` of `cfg` (its seed and attack); `prover` may be shared by clients
    of one process (the Ray engine's workers host several). The simulator's task runs on the keys
    the simulator made or loaded, usually a development setup: the clients accept it as
    `--allow-dev-key` would (the run says so when it starts)."""
    from wafl_sui.client.participant import Client

    return Client(identity, part, keys.artifacts.spec, keys, seed=cfg.seed * 1000 + index,
                  attack=cfg.attack_of(index), prover=prover, allow_dev_key=True)


def _load_partition(ws: WorkerSpec):
    from wafl_sui.federation.config import SimulationConfig

    cfg = SimulationConfig(**ws.config)
    return partitions(cfg)[ws.index], cfg


def worker_main(conn: Any, ws: WorkerSpec, keys: Any) -> None:
    """Entry point of a client process, forked by the host with the circuit and keys it set up."""
    try:
        from wafl_sui.ledger import open_ledger
        from wafl_sui.ledger.identity import Identity

        t0 = time.perf_counter()
        part, cfg = _load_partition(ws)
        client = make_client(Identity.from_file(ws.key_file), part, keys, cfg, ws.index)
        ledger = open_ledger(ws.ledger)
        conn.send(("ready", {"index": ws.index, "address": client.address, "samples": len(part),
                             "startup_seconds": time.perf_counter() - t0}))
    except BaseException as e:  # report start-up failures to the coordinator instead of dying silently
        conn.send(("error", _describe(e)))
        return
    try:
        while True:
            msg = conn.recv()
            if msg[0] == "stop":
                break
            if msg[0] == "round":
                try:
                    conn.send(("report", client.run_round(ledger, msg[1]).to_dict()))
                except BaseException as e:
                    conn.send(("error", _describe(e)))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        client.close()
        ledger.close()


def _describe(e: BaseException) -> dict:
    from wafl_sui.errors import WaflError

    return {"type": type(e).__name__, "message": str(e), "user_error": isinstance(e, WaflError),
            "traceback": "" if isinstance(e, WaflError) else traceback.format_exc()}


def _import_client_modules() -> None:
    import importlib

    try:
        for name in ("wafl_sui.client.participant", "wafl_sui.client.datasets", "wafl_sui.ledger"):
            importlib.import_module(name)  # participant brings jax, flax and the prover
    except BaseException:  # the client reports any real import failure itself, after the fork
        pass


def host_main(conn: Any, workers: list[WorkerSpec], client_conns: list) -> None:
    """Entry point of the host process: keys once, then fork the clients and wait for ("stop",).
    Every client has the same spec and artifact home (the first one's)."""
    os.environ["WAFL_HOME"] = workers[0].wafl_home
    # The clients' modules (JAX, Flax, the ledger) are imported here, on the other core while
    # circom compiles, so the forked clients start with them loaded. Importing JAX starts no
    # XLA backend (that happens at a client's first step, after the fork).
    preload = threading.Thread(target=_import_client_modules, daemon=True)
    preload.start()
    try:
        from wafl_sui.protocol import StepSpec
        from wafl_sui.zk.setup import ensure_keys, proving_key

        keys = ensure_keys(StepSpec.from_dict(workers[0].spec), progress=lambda m: conn.send(("say", m)))
        proving_key(keys.setup)  # made by the set-up or read once here; the forked clients share it
        conn.send(("keys", keys.setup.verification_key()))
    except BaseException as e:
        conn.send(("error", _describe(e)))
        return
    preload.join()  # no thread of ours may be running at the fork
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=worker_main, args=(c, ws, keys), daemon=True, name=f"wafl-client-{ws.index}")
             for c, ws in zip(client_conns, workers)]
    for p in procs:
        p.start()
    for c in client_conns:
        c.close()  # the clients hold their ends now
    try:
        conn.recv()  # ("stop",), or EOF when the coordinator is gone
    except (EOFError, KeyboardInterrupt):
        pass
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.terminate()


class ClientHost:
    """The coordinator's side of the host process and its clients.

        host = ClientHost(workers, say=print)         # spawns the host: compile, keys, fork
        vk_json = host.verifying_key()                # waits for the set-up (relays its messages)
        conns = host.clients()                         # waits for every client to be ready
        host.stop()
    """

    def __init__(self, workers: list[WorkerSpec], say: Callable[[str], None] = print):
        ctx = mp.get_context("spawn")
        self.say = say
        self._conn, host_end = ctx.Pipe()
        pairs = [ctx.Pipe() for _ in workers]
        self.conns = [a for a, _ in pairs]
        self._proc = ctx.Process(target=host_main, args=(host_end, list(workers), [b for _, b in pairs]),
                                 daemon=False, name="wafl-client-host")  # it has children; it exits
        # on ("stop",) or when this process's end of its pipe closes
        self._proc.start()
        host_end.close()
        for _, b in pairs:
            b.close()
        self._vk: Optional[dict] = None

    def verifying_key(self) -> dict:
        """The verifying key (snarkjs JSON) of the clients' proving key; raises HostError on failure."""
        while self._vk is None:
            try:
                kind, payload = self._conn.recv()
            except EOFError:
                raise HostError(f"the client host exited during the set-up (exit code {self._proc.exitcode})") from None
            if kind == "say":
                self.say(payload)
            elif kind == "error":
                raise HostError.of(payload, "the circuit set-up failed")
            else:
                self._vk = payload
        return self._vk

    def clients(self) -> list[Any]:
        """The clients' pipes, once every client has loaded its data and prover."""
        self.verifying_key()
        for i, conn in enumerate(self.conns):
            try:
                kind, payload = conn.recv()
            except EOFError:
                raise HostError(f"client {i} exited while starting") from None
            if kind == "error":
                raise HostError.of(payload, f"client {i} could not start")
        return self.conns

    def stop(self) -> None:
        for conn in [*self.conns, self._conn]:
            try:
                conn.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
        self._proc.join(timeout=20)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=5)
        for conn in [*self.conns, self._conn]:
            conn.close()


class HostError(Exception):
    """A client process (or their host) failed; the message says what and why."""

    @classmethod
    def of(cls, payload: dict, what: str) -> "HostError":
        return cls(f"{what}: {payload['message']}\n{payload.get('traceback', '')}".rstrip())
