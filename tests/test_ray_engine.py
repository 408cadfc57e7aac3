"""`wafl simulate --engine ray`: the clients as Ray actors, on a local Ray instance (2 CPUs) and on
a two-node cluster on this machine (`ray.cluster_utils.Cluster`), give the local engine's result
for the same configuration (the same accepted updates, round by round, and the same model); a
worker killed mid-round is restarted and nothing is lost; Ctrl-C stops the workers and a rerun
resumes. Every Ray instance is shut down at the end of its test (object stores of 100 MiB)."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from wafl_sui.cli import main
from wafl_sui.federation.config import ConfigError, EngineOptions, SimulationConfig
from wafl_sui.federation.engine import round_clients
from wafl_sui.federation.ray_engine import materialize

# 8 clients, 2 rounds, the smallest spec (iris, batch 4); the last client forges its update, so
# the ledger relay's rejections (EInvalidProof) are part of what must match.
CFG = SimulationConfig(dataset="iris", clients=8, rounds=2, batch_size=4, attackers=1, attack="forged-update")
STORE_MB = 100


def _history(ledger_file: Path, task_id: str, keys_dir: Path) -> dict:
    """What the ledger accepted, by client index (runs on two ledgers have their own addresses):
    per round, the commitment of each client's accepted update and of the aggregated model; the
    final model."""
    from wafl_sui.ledger import open_ledger
    from wafl_sui.ledger.identity import Identity

    index = {Identity.from_file(k).address: int(k.stem.split("-")[1]) for k in keys_dir.glob("client-*.key")}
    with open_ledger(str(ledger_file)) as lg:
        events = lg.events(task_id)
        view = lg.task(task_id)
    rounds: dict[int, dict] = {}
    for e in events:
        r = rounds.setdefault(e.fields.get("round"), {"updates": {}, "model": None})
        if e.type == "UpdateAccepted":
            r["updates"][index[e.fields["sender"]]] = e.fields["new_model_commitment"]
        elif e.type == "RoundAggregated":
            r["model"] = e.fields["model_commitment"]
    rounds.pop(None, None)
    return {"rounds": rounds, "model": list(view.model), "finished": view.finished}


def _simulate(tmp: Path, engine: EngineOptions, cfg: SimulationConfig = CFG, capture: list | None = None):
    from wafl_sui.federation.simulation import Simulation

    said: list[str] = []
    ledger_file = tmp / f"{engine.engine}-{len(list(tmp.iterdir()))}.sqlite"
    sim = Simulation(cfg, str(ledger_file), metrics_path=tmp / f"metrics-{ledger_file.stem}.sqlite",
                     say=said.append, table_file=sys.stderr, progress_bar=False, engine=engine)
    if capture is not None:  # hand the test the engine the simulation starts (to act on its workers)
        start = sim._start_engine

        def keep(*args, **kwargs):
            capture.append(start(*args, **kwargs))
            return capture[-1]

        sim._start_engine = keep  # type: ignore[method-assign]
    summary = sim.run(report_dir=tmp / f"report-{ledger_file.stem}")
    return summary, _history(ledger_file, summary["task_id"], sim.dir / "keys"), said, ledger_file


def _no_ray_left() -> None:
    import ray

    assert not ray.is_initialized()
    names = {p.name() for p in psutil.Process().children(recursive=True) if p.is_running()}
    assert not names & {"raylet", "gcs_server", "plasma_store"}, names


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The local engine's run of CFG: what every Ray run must equal."""
    summary, history, _, _ = _simulate(tmp_path_factory.mktemp("local"), EngineOptions())
    assert summary["updates_accepted"] == 14 and summary["updates_rejected"] == 2
    assert len(history["rounds"]) == 2 and all(len(r["updates"]) == 7 for r in history["rounds"].values())
    return summary, history


def _same_result(ray_summary: dict, ray_history: dict, local: tuple) -> None:
    summary, history = local
    assert ray_history == history
    for k in ("updates_accepted", "updates_rejected", "rejected_by_error", "proofs_verified", "final_accuracy",
              "final_loss", "forged_accepted"):
        assert ray_summary[k] == summary[k], k


# --------------------------------------------------------------------------- without Ray running
def test_engine_options_are_checked():
    EngineOptions("ray", ray_address="auto", ray_workers=4)
    for kwargs, words in [({"engine": "spark"}, "unknown engine"),
                          ({"ray_address": "auto"}, "--ray-address needs --engine ray"),
                          ({"engine": "ray", "ray_workers": 0}, "--ray-workers must be >= 1"),
                          ({"engine": "ray", "ray_address": " "}, "HOST:PORT"),
                          ({"engine": "ray", "ray_address": "auto", "ray_num_cpus": 2}, "ray start --num-cpus")]:
        with pytest.raises(ConfigError, match=words):
            EngineOptions(**kwargs)


def test_ray_options_without_the_ray_engine_are_a_clear_error(tmp_path):
    r = CliRunner().invoke(main, ["simulate", "--ray-workers", "2", "--ledger", str(tmp_path / "l.sqlite")])
    assert r.exit_code == 1 and "Error: --ray-workers needs --engine ray" in r.output, r.output
    assert not (tmp_path / "l.sqlite").exists()


def test_without_ray_installed_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    r = CliRunner().invoke(main, ["simulate", "--engine", "ray", "--dataset", "iris",
                                  "--ledger", str(tmp_path / "l.sqlite")])
    assert r.exit_code == 1 and "pip install 'wafl-sui[ray]'" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "l.sqlite").exists()  # nothing was done


def test_every_client_trains_in_every_round_until_sampling_comes():
    assert round_clients(CFG, view=None) == list(range(8))


@dataclasses.dataclass(frozen=True)
class _Art:
    hash: str
    dir: Path
    wasm: Path
    spec: str = "s"


@dataclasses.dataclass(frozen=True)
class _Setup:
    dir: Path
    pk: Path
    zkey: Path | None = None


def test_artifacts_are_written_once_a_node_and_the_paths_follow(tmp_path):
    from wafl_sui.zk.setup import Keys

    src = tmp_path / "coordinator" / "c1"
    keys = Keys(_Art("c1", src, src / "main_js" / "main.wasm"), _Setup(src / "keys" / "dev", src / "keys" / "dev" / "pk"))
    bundle = {"main_js/main.wasm": b"wasm", "keys/dev/pk": b"key"}
    node = tmp_path / "node"
    a = materialize(bundle, keys, node)
    assert a.artifacts.wasm.read_bytes() == b"wasm" and a.setup.pk.read_bytes() == b"key"
    assert a.artifacts.dir.parent == node and a.setup.dir == a.artifacts.dir / "keys" / "dev"
    assert a.artifacts.spec == "s" and a.setup.zkey is None
    b = materialize(bundle, keys, node)  # a second worker of the node: the same folder, not rewritten
    assert b.artifacts.dir == a.artifacts.dir and len(list(node.iterdir())) == 1
    c = materialize({**bundle, "keys/dev/pk": b"other key"}, keys, node)  # other bytes: another folder
    assert c.artifacts.dir != a.artifacts.dir and c.setup.pk.read_bytes() == b"other key"


# --------------------------------------------------------------------------- Ray federations
@pytest.mark.slow
def test_a_local_ray_instance_gives_the_local_engines_result(tmp_path, local_run):
    summary, history, said, _ = _simulate(tmp_path, EngineOptions("ray", ray_num_cpus=2, ray_object_store_mb=STORE_MB))
    _same_result(summary, history, local_run)
    assert summary["engine"] == {"engine": "ray", "workers": 2, "nodes": 1, "ray_address": "local"}
    assert any("starting a local Ray instance (2 CPUs)" in m for m in said)
    _no_ray_left()


@pytest.mark.slow
def test_a_two_node_cluster_gives_the_local_engines_result(tmp_path, local_run):
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": STORE_MB * 2**20,
                                                             "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1, object_store_memory=STORE_MB * 2**20)
        cluster.wait_for_nodes()
        address = cluster.address
        summary, history, said, _ = _simulate(tmp_path, EngineOptions("ray", ray_address=address))
        assert not ray.is_initialized()  # the engine disconnected ...
    finally:
        cluster.shutdown()  # ... and the cluster is the test's to stop
    _same_result(summary, history, local_run)
    assert summary["engine"]["nodes"] == 2 and summary["engine"]["workers"] == 2
    assert any(f"joining the Ray cluster at {address}" in m for m in said), said
    _no_ray_left()


def _when(ledger_file: Path, ready, then) -> threading.Thread:
    """Call `then()` once `ready(events)` holds for the run's ledger (polled from a thread)."""
    def watch() -> None:
        from wafl_sui.ledger import open_ledger

        deadline = time.time() + 600
        while time.time() < deadline:
            if ledger_file.exists():
                try:
                    with open_ledger(str(ledger_file)) as lg:
                        tasks = lg.tasks()
                        if tasks and ready(lg.events(tasks[0].task_id)):
                            then()
                            return
                except Exception:  # the file is being created
                    pass
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def _accepted(events, rnd: int) -> int:
    return sum(1 for e in events if e.type == "UpdateAccepted" and e.fields["round"] == rnd)


@pytest.mark.slow
def test_a_worker_killed_mid_round_is_restarted_and_nothing_is_lost(tmp_path, local_run):
    """Worker 0 is killed after the first accepted update (it is proving another client then): a
    new worker takes its place, its client is retried, and the run still equals the local engine's."""
    import ray

    engines: list = []
    killed = threading.Event()

    def kill() -> None:
        ray.kill(engines[0].actors[0])
        killed.set()

    ledger_file = tmp_path / "ray-0.sqlite"  # the name _simulate gives the run's ledger
    _when(ledger_file, lambda ev: engines and _accepted(ev, 0) >= 1, kill)
    summary, history, said, used = _simulate(tmp_path, EngineOptions("ray", ray_num_cpus=2, ray_object_store_mb=STORE_MB),
                                             capture=engines)
    assert used == ledger_file and killed.is_set()
    assert any("died" in m and "retrying client" in m for m in said), said
    _same_result(summary, history, local_run)
    _no_ray_left()


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_a_rerun_resumes(tmp_path):
    cfg = dataclasses.replace(CFG, attackers=0, attack=None, clients=4)
    ledger_file = tmp_path / "ray-0.sqlite"
    _when(ledger_file, lambda ev: _accepted(ev, 1) >= 1, lambda: os.kill(os.getpid(), signal.SIGINT))
    opts = EngineOptions("ray", ray_num_cpus=2, ray_object_store_mb=STORE_MB)
    with pytest.raises(KeyboardInterrupt):
        _simulate(tmp_path, opts, cfg)
    _no_ray_left()
    from wafl_sui.federation.simulation import Simulation

    said: list[str] = []
    sim = Simulation(cfg, str(ledger_file), metrics_path=tmp_path / "metrics-ray-0.sqlite", say=said.append,
                     table_file=sys.stderr, progress_bar=False, engine=opts)
    summary = sim.run(report_dir=tmp_path / "report-again")
    assert any("resuming task" in m and "at round 1" in m for m in said), said
    history = _history(ledger_file, summary["task_id"], sim.dir / "keys")  # the ledger: nothing accepted before Ctrl-C was lost
    assert summary["finished"] and history["finished"]
    assert [len(history["rounds"][r]["updates"]) for r in (0, 1)] == [4, 4]
    _no_ray_left()
