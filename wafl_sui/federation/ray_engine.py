"""The Ray engine (`wafl simulate --engine ray`): a simulation's clients on a pool of Ray actors,
on this machine (a local Ray instance) or on a cluster (`--ray-address auto|HOST:PORT`).

* The coordinator (this process) compiles the circuit and makes or loads its keys once, as the
  local engine's host does; the files a prover needs (the witness generator's wasm and script,
  the r1cs, the proving and verifying keys: `artifact_bundle`) travel once through Ray's object
  store. Each worker writes them to its node's temporary folder (`materialize`: once a node,
  keyed by the circuit hash and the bytes' digest) and compiles nothing.
* A worker is an actor with one CPU that keeps one prover (proving key and circom's witness
  generator) resident and hosts any client: every client's partition and identity are in the
  object store, and the coordinator hands each round's clients to idle workers. The client round
  is the local engine's (`Client.run_round`); the coordinator keeps each client's random state
  between rounds, so client i draws the same batches whichever worker runs it, and a run gives
  the same accepted updates and model as the local engine.
* The local ledger stays with the coordinator: a relay actor on the coordinator's node opens its
  file; workers read the task through it and send it operations signed where the client is (its
  key never leaves the worker). On Sui, each client sends its own transactions.
* A worker that dies mid-round is replaced by a new one (up to `WORKER_RESTARTS` times a slot)
  and its client retried once (a client that already submitted is not proven twice); a client
  lost twice is skipped for that round with a line in the live table. Ctrl-C kills the workers;
  a rerun resumes from the ledger.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from wafl_sui.federation.config import EngineOptions, SimulationConfig
from wafl_sui.federation.engine import EngineError, lost_report
from wafl_sui.federation.worker import make_client, partitions
from wafl_sui.ledger.sui.network import is_sui_network

if TYPE_CHECKING:
    from wafl_sui.ledger.base import Ledger
    from wafl_sui.protocol import StepSpec
    from wafl_sui.zk.setup import Keys

RAY_HINT = "the Ray engine needs Ray: pip install 'wafl-sui[ray]' (ray==2.60.0), or use --engine local"
WORKER_RESTARTS = 2  # a dead worker is replaced this many times (each slot)
CLIENT_RETRIES = 1  # a client whose worker died is retried this many times in the round
ALREADY_SUBMITTED = "already submitted this round"  # Client.run_round's skip reason
START_TIMEOUT_S = 900.0  # workers that cannot be placed (too few CPUs) fail the start after this


def require_ray() -> Any:
    """The ray module, or EngineError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise EngineError(RAY_HINT) from None
    return ray


# --------------------------------------------------------------------------- artifacts
def artifact_bundle(keys: Keys) -> dict[str, bytes]:
    """What a prover needs of `keys`, as {path relative to the circuit's folder: bytes}."""
    art, setup = keys.artifacts, keys.setup
    root = Path(art.dir)
    files = [art.r1cs, art.wasm, art.witness_js, Path(art.witness_js).with_name("witness_calculator.js"),
             setup.vk_json, setup.pk, setup.zkey, Path(setup.dir) / "setup.json"]
    out = {}
    for f in files:
        if f is not None and Path(f).is_file():
            out[Path(f).relative_to(root).as_posix()] = Path(f).read_bytes()
    return out


def bundle_digest(bundle: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(bundle):
        h.update(name.encode() + b"\0" + hashlib.sha256(bundle[name]).digest())
    return h.hexdigest()


def _rebase(obj: Any, old: Path, new: Path) -> Any:
    changes = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, Path):
            try:
                changes[f.name] = new / v.relative_to(old)
            except ValueError:
                pass
    return dataclasses.replace(obj, **changes)


def materialize(bundle: dict[str, bytes], keys: Keys, root: Path) -> Keys:
    """Write `bundle` under `root` (once: workers of one node share it) and return `keys` with
    its paths there."""
    from wafl_sui.zk.setup import Keys

    root.mkdir(parents=True, exist_ok=True)
    d = root / f"{keys.artifacts.hash}-{bundle_digest(bundle)[:16]}"
    if not d.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=d.name + ".tmp", dir=root))
        for name, data in bundle.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)
        try:
            os.rename(tmp, d)
        except OSError:  # another worker of this node was first
            shutil.rmtree(tmp, ignore_errors=True)
    old = Path(keys.artifacts.dir)
    return Keys(_rebase(keys.artifacts, old, d), _rebase(keys.setup, old, d))


def node_cache() -> Path:
    return Path(tempfile.gettempdir()) / f"wafl-ray-{os.getuid()}"


# --------------------------------------------------------------------------- the ledger
class LedgerRelay:
    """The coordinator's local ledger for the workers (a Ray actor on the coordinator's node)."""

    def __init__(self, path: str):
        from wafl_sui.ledger.local import LocalLedger

        self.ledger = LocalLedger(path)

    def chain_id(self) -> str:
        return self.ledger.chain_id

    def task(self, task: str) -> Any:
        return self.ledger.task(task)

    def has_submitted(self, task: str, participant: str) -> bool:
        return self.ledger.has_submitted(task, participant)

    def manifest(self, task: str) -> bytes:
        return self.ledger.manifest(task)

    def private_state(self, task: str, participant: str) -> tuple:
        """A private task's (params, the participant's registration, its accepted updates)."""
        return (self.ledger.privacy_params(task), self.ledger.private_registration(task, participant),
                self.ledger.contributions(task, participant))

    def apply(self, signed: Any) -> dict:
        """The receipt, or the protocol error as data (a ProtocolError does not survive pickling)."""
        from wafl_sui.protocol import ProtocolError

        try:
            return {"receipt": self.ledger.apply(signed)}
        except ProtocolError as e:
            return {"error": e.name, "message": str(e).removeprefix(f"{e.name}: "),
                    "verify_seconds": getattr(e, "verify_seconds", None)}


class RelayedLedger:
    """The ledger as a client on a worker sees it: what `Client.run_round` uses, through the relay;
    operations are signed here, with the client's key."""

    def __init__(self, relay: Any, chain_id: str):
        self.relay = relay
        self.chain_id = chain_id

    def task(self, task: str) -> Any:
        import ray

        return ray.get(self.relay.task.remote(task))

    def has_submitted(self, task: str, participant: str) -> bool:
        import ray

        return ray.get(self.relay.has_submitted.remote(task, participant))

    def manifest(self, task: str) -> bytes:
        import ray

        return ray.get(self.relay.manifest.remote(task))

    def register(self, signer: Any, task: str) -> Any:
        """`task::register` (the simulation registers its clients first; this is for a client
        that finds itself unregistered), signed here like a submit."""
        return self._apply(signer, "register", task, {"deposit": self.task(task).deposit_mist})

    def submit_update(self, signer: Any, task: str, new_weights: Sequence[int], data_commitment: int,
                      proof: bytes) -> Any:
        return self._apply(signer, "submit_update", task,
                           {"new_weights": new_weights, "data_commitment": data_commitment, "proof": proof})

    # a private task (docs/PRIVACY.md): what `client.private_round` reads and sends
    def _private(self, task: str, participant: str) -> tuple:
        import ray

        return ray.get(self.relay.private_state.remote(task, participant))

    def privacy(self, task: str) -> Any:
        return self._private(task, "0x0")[0]

    def private_registration(self, task: str, participant: str) -> Any:
        return self._private(task, participant)[1]

    def contributions(self, task: str, participant: str) -> int:
        return self._private(task, participant)[2]

    def register_private(self, signer: Any, task: str, data_commitment: int, seed_commitment: int) -> Any:
        return self._apply(signer, "register_private", task, {"deposit": self.task(task).deposit_mist,
                                                              "data_commitment": data_commitment,
                                                              "seed_commitment": seed_commitment})

    def submit_private_update(self, signer: Any, task: str, new_weights: Sequence[int], proof: bytes) -> Any:
        return self._apply(signer, "submit_private_update", task, {"new_weights": new_weights, "proof": proof})

    def _apply(self, signer: Any, op: str, task: str, args: dict) -> Any:
        import ray

        from wafl_sui.ledger.local import ops
        from wafl_sui.protocol import ProtocolError

        signed = ops.build(signer, self.chain_id, op, task, args)
        out = ray.get(self.relay.apply.remote(signed))
        if "error" in out:
            err = ProtocolError(out["error"], out["message"])
            err.verify_seconds = out["verify_seconds"]  # type: ignore[attr-defined]
            raise err
        return out["receipt"]

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- the workers
class ClientWorker:
    """A Ray actor (one CPU): one resident prover, and any client of the run on request."""

    def __init__(self, cfg: dict, keys: Keys, shared: list, ledger: tuple):
        """`shared`: object refs of the artifact bundle, every client's partition and identity (nested,
        so a restarted worker fetches them again from the coordinator's references)."""
        import ray

        from wafl_sui.zk.prover import Prover

        t0 = time.perf_counter()
        bundle, parts, entries = ray.get(shared)
        self.cfg = SimulationConfig(**cfg)
        self.keys = materialize(bundle, keys, node_cache())
        self.prover = Prover(self.keys.artifacts, self.keys.setup, "groth16py")
        self.parts = parts
        self.entries = entries
        if ledger[0] == "relay":
            self.ledger: Any = RelayedLedger(ledger[1], ledger[2])
        else:
            from wafl_sui.ledger import open_ledger

            self.ledger = open_ledger(ledger[1])
        self.clients: dict[int, Any] = {}
        self.node = ray.get_runtime_context().get_node_id()
        self.startup_seconds = time.perf_counter() - t0

    def ready(self) -> dict:
        return {"node": self.node, "pid": os.getpid(), "startup_seconds": self.startup_seconds}

    def _client(self, index: int) -> Any:
        if index not in self.clients:
            from wafl_sui.ledger.identity import Identity

            self.clients[index] = make_client(Identity.from_keystore_entry(self.entries[index]), self.parts[index],
                                              self.keys, self.cfg, index, prover=self.prover)
        return self.clients[index]

    def run_client(self, task_id: str, index: int, rng_state: Optional[dict],
                   retry: bool = False) -> tuple[dict, dict, str]:
        """Client `index`'s round, from its random state; (report, its next random state, node).
        `retry`: its last worker died this round; if that one had submitted already, its batch
        is drawn again (and dropped), so the client's next rounds draw what they would have."""
        from wafl_sui.client.data import sample_batch

        client = self._client(index)
        if rng_state is not None:
            client.rng.bit_generator.state = rng_state
        report = client.run_round(self.ledger, task_id).to_dict()
        if retry and report.get("skipped") == ALREADY_SUBMITTED:
            sample_batch(client.data, client.spec, client.rng)  # the draw of run_round's lost attempt
        return report, client.rng.bit_generator.state, self.node

    def close(self) -> None:
        self.prover.close()
        self.ledger.close()


# --------------------------------------------------------------------------- the engine
class RayEngine:
    """The clients of a simulation as Ray actors (see the module doc)."""

    name = "ray"

    def __init__(self, cfg: SimulationConfig, spec: StepSpec, key_files: list[Path], ledger: Ledger,
                 ledger_spec: str, opts: EngineOptions, say: Callable[[str], None] = print):
        self.ray = require_ray()
        self.cfg, self.spec, self.key_files, self.opts, self.say = cfg, spec, key_files, opts, say
        self.ledger_spec = ledger_spec
        self.ledger_path = None if is_sui_network(ledger_spec) else str(Path(ledger.path).resolve())  # type: ignore[attr-defined]
        self._keys: Optional[Keys] = None
        self._setup_error: Optional[BaseException] = None
        self._setup = threading.Thread(target=self._make_keys, daemon=True, name="wafl-ray-setup")
        self._setup.start()  # circom and the set-up, while Ray starts and the coordinator works
        self.actors: list[Any] = []
        self.relay: Any = None
        self.nodes: dict[str, int] = {}
        self._states: dict[int, dict] = {}
        self._owns_ray = False
        self._shared: list[Any] = []  # held while the workers live: a new worker reads them again
        self._target: tuple = ()
        self._restarts: list[int] = []
        self._connect()

    def _make_keys(self) -> None:
        from wafl_sui.zk.setup import ensure_keys

        try:
            self._keys = ensure_keys(self.spec, progress=self.say)
        except BaseException as e:  # raised in verifying_key()
            self._setup_error = e

    def _connect(self) -> None:
        ray, opts = self.ray, self.opts
        if ray.is_initialized():  # e.g. a test's cluster: use it, leave it running
            return
        quiet = {"logging_level": "ERROR", "log_to_driver": False, "configure_logging": True}
        try:
            if opts.ray_address:
                self.say(f"joining the Ray cluster at {opts.ray_address} ...")
                ray.init(address=opts.ray_address, **quiet)  # stop() disconnects; the cluster stays up
            else:
                cpus = opts.ray_num_cpus or len(os.sched_getaffinity(0))
                self.say(f"starting a local Ray instance ({cpus} CPUs) ...")
                ray.init(num_cpus=cpus, include_dashboard=False,
                         object_store_memory=opts.ray_object_store_mb * 2**20 if opts.ray_object_store_mb else None,
                         **quiet)
            self._owns_ray = True
        except Exception as e:
            where = f"join the Ray cluster at {opts.ray_address}" if opts.ray_address else "start a local Ray instance"
            raise EngineError(f"could not {where}: {type(e).__name__}: {e}; start the cluster with `ray start --head` "
                              "(and `ray start --address HEAD:6379` on the other nodes), or use --engine local") from None

    def verifying_key(self) -> dict:
        self._setup.join()
        if self._setup_error is not None:
            raise EngineError(f"the circuit set-up failed: {self._setup_error}")
        assert self._keys is not None
        return self._keys.setup.verification_key()

    def start(self) -> None:
        if self.actors:
            return
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from wafl_sui.ledger.identity import Identity

        self.verifying_key()
        ray = self.ray
        here = ray.get_runtime_context().get_node_id()
        if self.ledger_path is not None:
            Relay = ray.remote(num_cpus=0)(LedgerRelay)
            self.relay = Relay.options(scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False)).remote(
                self.ledger_path)
            target: tuple = ("relay", self.relay, ray.get(self.relay.chain_id.remote()))
        else:
            target = ("sui", self.ledger_spec)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        n = self.opts.ray_workers or max(1, min(self.cfg.clients, cpus))
        self._shared = [ray.put(artifact_bundle(self._keys)), ray.put(partitions(self.cfg)),
                        ray.put([Identity.from_file(kf).to_keystore_entry() for kf in self.key_files])]
        self._target = target
        self.actors = [self._new_worker() for _ in range(n)]
        self._restarts = [0] * n
        t0 = time.perf_counter()
        try:
            infos = ray.get([a.ready.remote() for a in self.actors], timeout=START_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            raise EngineError(f"the {n} Ray workers did not all start in {START_TIMEOUT_S:.0f} s: the cluster has "
                              f"{cpus} CPUs; use --ray-workers {cpus} or fewer") from None
        except ray.exceptions.RayError as e:
            raise EngineError(f"a Ray worker could not start: {_cause(e)}") from None
        for info in infos:
            self.nodes[info["node"]] = self.nodes.get(info["node"], 0) + 1
        self.say(f"{n} Ray workers ready on {len(self.nodes)} node(s) in {time.perf_counter() - t0:.1f} s "
                 f"(median start-up {sorted(i['startup_seconds'] for i in infos)[n // 2]:.1f} s each)")

    def _new_worker(self) -> Any:
        Worker = self.ray.remote(num_cpus=1, max_restarts=0)(ClientWorker)  # the engine replaces dead ones
        return Worker.remote(self.cfg.to_dict(), self._keys, self._shared, self._target)

    def _replace(self, k: int, rnd: int) -> bool:
        """A new worker in slot k after its worker died; False once the slot has used its restarts."""
        if self._restarts[k] >= WORKER_RESTARTS:
            self.say(f"round {rnd}: worker {k} died {WORKER_RESTARTS + 1} times; it is not restarted again")
            return False
        self._restarts[k] += 1
        self.actors[k] = self._new_worker()
        return True

    def run_clients(self, task_id: str, indices: Sequence[int], rnd: int) -> list[dict]:
        """Each idle worker takes the next client; a client whose worker died is retried once, on
        a new worker."""
        ray = self.ray
        self.start()
        pending = collections.deque(indices)
        idle = [k for k in range(len(self.actors)) if self._restarts[k] <= WORKER_RESTARTS]
        running: dict[Any, tuple[int, int]] = {}
        tries: dict[int, int] = {}
        results: dict[int, dict] = {}
        while pending or running:
            if pending and not idle and not running:  # every worker is gone
                for i in pending:
                    results[i] = lost_report(self._address(i), "no worker left")
                self.say(f"round {rnd}: no Ray worker left; {len(pending)} clients skipped this round")
                break
            while pending and idle:
                k, i = idle.pop(0), pending.popleft()
                running[self.actors[k].run_client.remote(task_id, i, self._states.get(i), i in tries)] = (i, k)
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                i, k = running.pop(ref)
                try:
                    report, state, _node = ray.get(ref)
                except ray.exceptions.RayActorError as e:  # the worker died: a new one takes its slot
                    if self._replace(k, rnd):
                        idle.append(k)
                    else:
                        self._restarts[k] = WORKER_RESTARTS + 1  # retired
                    tries[i] = tries.get(i, 0) + 1
                    if tries[i] <= CLIENT_RETRIES:
                        self.say(f"round {rnd}: the worker of client {i} died ({_short(e)}); retrying client {i}")
                        pending.append(i)
                    else:
                        self.say(f"round {rnd}: client {i} skipped this round: its worker died again ({_short(e)})")
                        results[i] = lost_report(self._address(i), _short(e))
                    continue
                except ray.exceptions.RayTaskError as e:
                    raise EngineError(f"client {i} failed in round {rnd}: {_cause(e)}") from None
                idle.append(k)
                self._states[i] = state
                results[i] = report
        return [results[i] for i in indices]

    def _address(self, i: int) -> str:
        from wafl_sui.ledger.identity import Identity

        return Identity.from_file(self.key_files[i]).address

    def info(self) -> dict:
        return {"engine": self.name, "workers": len(self.actors), "nodes": len(self.nodes),
                "ray_address": self.opts.ray_address or "local"}

    def stop(self) -> None:
        ray = self.ray
        if self.actors:
            closing = [a.close.remote() for a in self.actors]
            ray.wait(closing, num_returns=len(closing), timeout=10)  # a busy worker (Ctrl-C) is killed
        for a in [*self.actors, *([self.relay] if self.relay is not None else [])]:
            try:
                ray.kill(a)
            except Exception:
                pass
        self.actors, self.relay, self._shared = [], None, []
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
            self._owns_ray = False


def _cause(e: BaseException) -> str:
    """The message of the exception a Ray error wraps (a WaflError's own line when it is one)."""
    cause = getattr(e, "cause", None)
    if cause is not None:
        return f"{type(cause).__name__}: {cause}" if not _is_user_error(cause) else str(cause)
    return str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__


def _is_user_error(e: BaseException) -> bool:
    from wafl_sui.errors import WaflError

    return isinstance(e, WaflError)


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:160]
