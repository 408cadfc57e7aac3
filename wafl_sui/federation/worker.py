"""A client process of a simulated federation: it loads its own partition of the data (which never
leaves the process), keeps its prover resident, and runs one client round per request.

The coordinator talks to it over a pipe: ("round", task_id) -> ("reports", [RoundReport dict]),
("stop",) -> exits. Processes are spawned (not forked), so JAX and the prover start clean.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from typing import Any, Optional


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


def _load_partition(ws: WorkerSpec):
    from wafl_sui.client import data as client_data
    from wafl_sui.client import datasets
    from wafl_sui.federation.config import SimulationConfig

    cfg = SimulationConfig(**ws.config)
    raw = datasets.load_raw(cfg.dataset, cfg.label_column)
    train, _test = datasets.split(raw, cfg.test_fraction, cfg.seed)
    scaling = datasets.scaling_for(train)
    parts = client_data.partition(datasets.to_dataset(train, scaling), cfg.clients, seed=cfg.seed, alpha=cfg.alpha)
    return parts[ws.index], cfg


def worker_main(conn: Any, ws: WorkerSpec) -> None:
    """Entry point of a client process."""
    os.environ["WAFL_HOME"] = ws.wafl_home
    try:
        from wafl_sui.client.participant import Client
        from wafl_sui.ledger import open_ledger
        from wafl_sui.ledger.identity import Identity
        from wafl_sui.protocol import StepSpec
        from wafl_sui.zk.setup import ensure_keys

        t0 = time.perf_counter()
        part, cfg = _load_partition(ws)
        spec = StepSpec.from_dict(ws.spec)
        keys = ensure_keys(spec)
        client = Client(Identity.from_file(ws.key_file), part, spec, keys,
                        seed=cfg.seed * 1000 + ws.index, attack=ws.attack)
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
