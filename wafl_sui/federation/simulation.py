"""`wafl simulate`: a whole federation on one machine, every update proven and verified.

The coordinator (this process) creates the task, holds the evaluator's held-out data, starts the
clients through an engine (`engine.py`; by default one process per client through one host
process, `worker.ClientHost`: it compiles the circuit and makes or loads the proving key once,
while this process computes the float baseline, then forks the clients, which share the key;
each loads its own partition and keeps its prover resident, so proving uses all cores; or Ray
actors, `ray_engine.py`), and then, round by round: asks the round's clients (`engine.round_clients`)
for their updates, waits for their reports,
aggregates on the ledger (anyone may), evaluates the new global model and records everything in
the metrics store. The run is keyed by its configuration: running the same command again
continues from the ledger's state (same task, same identities) instead of starting over.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, TextIO

import numpy as np

from wafl_sui import protocol
from wafl_sui.client import datasets
from wafl_sui.client import manifest as task_manifest
from wafl_sui.errors import WaflError
from wafl_sui.federation.config import EngineOptions, SimulationConfig
from wafl_sui.federation.engine import ClientEngine, EngineError, LocalEngine, round_clients
from wafl_sui.federation.worker import WorkerSpec
from wafl_sui.ledger.sui.network import is_sui_network
from wafl_sui.protocol import AggregationRule, ProtocolError, RoundRules
from wafl_sui.toolchain import wafl_home

if TYPE_CHECKING:
    from wafl_sui.ledger.base import Ledger

Say = Callable[[str], None]


class SimulationError(WaflError):
    """The federation could not run (a client process failed, the ledger refused, ...)."""


@dataclass
class RoundRow:
    """One line of the live table."""

    round: int
    accepted: int
    rejected: int
    accuracy: float
    loss: float
    prove_seconds: float
    verify_seconds: Optional[float]
    errors: dict[str, int] = field(default_factory=dict)


FORGED_ROUND_MS = 20_000  # the round duration of a run whose sampled forgers never get an update in (the
# honest proofs must land before it on a busy machine: 5 s did not, with two clients proving at once)


def network_of(ledger_spec: str) -> str:
    """"local" for the embedded ledger (the name "local" or a file path), else the Sui network."""
    return ledger_spec if is_sui_network(ledger_spec) else "local"


def run_dir(cfg: SimulationConfig, ledger_spec: str) -> Path:
    import hashlib

    where = hashlib.sha256(ledger_spec.encode()).hexdigest()[:8]
    return wafl_home() / "runs" / f"{cfg.dataset.replace('/', '_')[-40:]}-{cfg.run_key()}-{where}"


def _identities(d: Path, clients: int) -> tuple[Any, list[Path]]:
    from wafl_sui.ledger.identity import Identity

    d.mkdir(parents=True, exist_ok=True)
    paths = [d / "admin.key"] + [d / f"client-{i}.key" for i in range(clients)]
    for p in paths:
        if not p.exists():
            Identity.generate().save(p)
    return Identity.from_file(paths[0]), paths[1:]


def private_params(cfg: SimulationConfig, spec: Any) -> Any:
    """A private run's DpParams: records = the largest client's rows, the expected batch
    `dp_batch`, clip `dp_clip`, and noise calibrated so that `rounds` updates of a client spend
    at most its (dp_epsilon, dp_delta) (`client.private_params`)."""
    from wafl_sui.client.private_params import private_params as calibrated
    from wafl_sui.federation.worker import partitions

    records = max(len(p) for p in partitions(cfg))
    try:
        return calibrated(spec, target_epsilon=cfg.dp_epsilon, target_delta=cfg.dp_delta, steps=cfg.rounds,
                          records=records, clip=cfg.dp_clip, expected_batch=cfg.dp_batch)
    except ProtocolError as e:
        raise SimulationError(f"private task: {e}") from None


def _median(xs: list[float]) -> Optional[float]:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Simulation:
    """One run: set up (or resume) the task, run the remaining rounds, summarise."""

    def __init__(self, cfg: SimulationConfig, ledger_spec: str, *, metrics_path: Optional[Path] = None,
                 say: Say = print, table_file: Optional[TextIO] = None, progress_bar: bool = True,
                 engine: Optional[EngineOptions] = None):
        self.cfg = cfg
        self.engine_options = engine or EngineOptions()
        self.engine_info: dict = {}
        self.ledger_spec = ledger_spec
        self.network = network_of(ledger_spec)
        self.say = say
        self.table_file = table_file or sys.stdout
        self.progress_bar = progress_bar
        self.metrics_path = metrics_path
        self.dir = run_dir(cfg, ledger_spec)
        self.rows: list[RoundRow] = []
        self.reports: list[dict] = []

    # ------------------------------------------------------------------ set-up
    def _data(self) -> None:
        cfg = self.cfg
        raw = datasets.load_raw(cfg.dataset, cfg.label_column)
        if len(raw.y) < cfg.clients * 2:
            raise SimulationError(f"dataset {cfg.dataset} has {len(raw.y)} samples: too few for {cfg.clients} clients")
        self.train_raw, self.test_raw = datasets.split(raw, cfg.test_fraction, cfg.seed)
        self.scaling = datasets.scaling_for(self.train_raw)
        self.train = datasets.to_dataset(self.train_raw, self.scaling)
        self.test = datasets.to_dataset(self.test_raw, self.scaling)
        batch = cfg.dp_batch if cfg.private else cfg.batch_size
        base = datasets.spec_for(self.train_raw, batch_size=batch, local_steps=cfg.local_steps)
        from wafl_sui import models
        from wafl_sui.zk.circuit import check_size

        # the model (--model linear|mlp|FILE.py:FN): its spec and its initial weights (seeded)
        self.model = models.resolve(cfg.model, cfg.hidden, base, seed=cfg.seed)
        self.spec = self.model.spec
        self.dp_params = None
        if cfg.private:  # the noise calibrated to the budget over the run's rounds (docs/PRIVACY.md)
            self.dp_params = private_params(cfg, self.spec)
            self.spec = self.spec.with_privacy(self.dp_params)
        # every size limit before any compiling: the circuit's bounds and size, the gas budget
        check_size(self.spec)
        protocol.budget.check_task_budget(self.spec.num_weights, AggregationRule(cfg.rule_id, cfg.trim_bps), cfg.quorum)
        self.lr_q = protocol.lr_to_fixed(cfg.lr, self.spec.batch_size, self.spec.lr_frac_bits, self.spec.lr_bits)

    def _existing(self, ledger: Ledger) -> Any:
        """The task of an earlier run of this configuration on this ledger, or None."""
        from wafl_sui.ledger.base import TaskNotFound

        run_file = self.dir / "run.json"
        if not run_file.exists():
            return None
        task_id = json.loads(run_file.read_text())["task_id"]
        try:
            view = ledger.task(task_id)
        except TaskNotFound:
            self.say(f"task {task_id} of an earlier run is not on this ledger; creating a new one")
            return None
        if view.spec != self.spec:  # e.g. the model file changed since: a new task, the old one stays
            self.say(f"task {task_id} of an earlier run has another spec ({'-'.join(map(str, view.spec.layer_dims))}"
                     f" vs {'-'.join(map(str, self.spec.layer_dims))}); creating a new one")
            return None
        self.say(f"resuming task {task_id} at round {view.round} of {self.cfg.rounds}")
        return view

    def _create(self, ledger: Ledger, admin: Any, vk: bytes) -> Any:
        cfg = self.cfg
        duration = cfg.round_duration_ms
        if cfg.attack == "forged-update" and cfg.quorum < cfg.sample_size:
            # forged proofs are rejected, so a round with a sampled forger closes at its deadline
            duration = min(duration, FORGED_ROUND_MS)
            self.say(f"forging clients are sampled too: their rounds close at the deadline ({duration} ms)")
        rules = RoundRules(quorum=min(cfg.quorum, cfg.sample_size), round_duration_ms=duration,
                           max_rounds=cfg.rounds, grace_ms=cfg.grace_ms, participants_per_round=cfg.sample_size)
        agg = AggregationRule(cfg.rule_id, cfg.trim_bps)
        # the initial model: zeros for the linear model, the seeded initializers of an MLP
        initial = [protocol.encode_signed(w, self.spec.weight_bits) for w in self.model.weights]
        ref = ledger.create_task(admin, self.spec, rules, agg, self.lr_q, True, initial, vk,
                                 name=cfg.name or f"sim-{cfg.run_key()}")
        # the task's data contract, as `wafl task create` writes it: clients and evaluators that
        # join a simulated task read its columns, class order and scaling, and the circuit's
        # identity (the keys the engine set up: ensure_keys again finds them in the cache)
        from wafl_sui.client.trust import circuit_identity
        from wafl_sui.zk.setup import ensure_keys

        contract = task_manifest.fit(self.train_raw, self.spec, cfg.label_column, self.scaling,
                                     circuit=circuit_identity(ensure_keys(self.spec)))
        ledger.set_manifest(admin, ref.task_id, contract.to_bytes())
        if self.dp_params is not None:  # before any registration: the contract refuses it later
            ledger.set_privacy(admin, ref.task_id, self.dp_params)
        (self.dir / "run.json").write_text(json.dumps({"task_id": ref.task_id, "admin_cap_id": ref.admin_cap_id,
                                                       "ledger": self.ledger_spec, "config": cfg.to_dict()}, indent=1))
        self.say(f"created task {ref.task_id} ({self.architecture_name()}, {cfg.rule}, quorum {cfg.quorum}, "
                 f"{cfg.rounds} rounds)")
        return ledger.task(ref.task_id)

    def _metrics(self, view: Any) -> Any:
        from wafl_sui.metrics.store import MetricsStore

        store = MetricsStore(self.metrics_path)
        cfg = self.cfg
        store.record_task(
            view.task_id, self.network, name=view.name or cfg.name or "", rules={
                "spec": self.spec.to_dict(), "model": cfg.model, "architecture": self.spec.architecture(),
                "lr": cfg.lr, "lr_q": self.lr_q, "rule": cfg.rule,
                "trim_bps": cfg.trim_bps, "quorum": cfg.quorum, "max_rounds": cfg.rounds,
                "round_duration_ms": cfg.round_duration_ms, "clients": cfg.clients,
                "attackers": cfg.attackers, "attack": cfg.attack, "dataset": cfg.dataset,
                "partition": "iid" if cfg.alpha is None else f"dirichlet({cfg.alpha})",
            },
            status=self._status(view), float_baseline_accuracy=self.baseline.accuracy,
            extra={"scaling": self.scaling.to_dict(), "config": cfg.to_dict(),
                   "float_baseline_loss": self.baseline.loss},
        )
        return store

    @staticmethod
    def _status(view: Any) -> dict:
        from wafl_sui.metrics.ledger_sync import status_of

        return status_of(view)

    def _start_engine(self, key_files: list[Path], ledger: Ledger) -> ClientEngine:
        """The clients' engine: it compiles the circuit and makes or loads the proving key (in the
        background, while this process computes the float baseline), then starts the clients."""
        if self.engine_options.engine == "ray":
            from wafl_sui.federation.ray_engine import RayEngine

            return RayEngine(self.cfg, self.spec, key_files, ledger, self.ledger_spec, self.engine_options,
                             say=self.say)
        workers = [WorkerSpec(i, str(kf), self.ledger_spec, self.cfg.to_dict(), self.spec.to_dict(),
                              self.cfg.attack_of(i), str(wafl_home())) for i, kf in enumerate(key_files)]
        return LocalEngine(workers, say=self.say)

    def architecture_name(self) -> str:
        """E.g. "linear 64-10" or "mlp 64-16-10" (the layer widths)."""
        return f"{'linear' if self.spec.is_linear else 'mlp'} {'-'.join(map(str, self.spec.layer_dims))}"

    # ------------------------------------------------------------------ the run
    def evaluate(self, view: Any) -> Any:
        return self._evaluate_weights([protocol.decode_signed(u, self.spec.weight_bits) for u in view.model])

    def _evaluate_weights(self, signed: list[int]) -> Any:
        from wafl_sui.client import model

        return model.evaluate(model.to_flax(signed, self.spec), self.test.x, self.test.y)

    def run(self, *, report_dir: Optional[Path] = None, model_file: Optional[Path] = None) -> dict:
        from wafl_sui.federation.baseline import float_baseline
        from wafl_sui.ledger import open_ledger
        from wafl_sui.zk import sui_bytes

        t_start = time.perf_counter()
        cfg = self.cfg
        self._data()
        admin, key_files = _identities(self.dir / "keys", cfg.clients)
        self._admin, self.key_files = admin, key_files
        with open_ledger(self.ledger_spec) as ledger:
            view = self._existing(ledger)
            host = self._start_engine(key_files, ledger) if view is None or not view.finished else None
            try:
                self.baseline = float_baseline(self.train, self.test, rounds=cfg.rounds, clients=cfg.clients,
                                               batch_size=self.spec.batch_size, local_steps=self.spec.local_steps,
                                               lr=cfg.lr, seed=cfg.seed, spec=self.spec,
                                               initial=self.model.weights)
                self.initial = self._evaluate_weights(self.model.weights)
                if view is None:
                    view = self._create(ledger, admin, sui_bytes.vk_bytes_from_snarkjs(self._host(host.verifying_key)))
                store = self._metrics(view)
                if view.finished:
                    self.say(f"task {view.task_id} already finished all {cfg.rounds} rounds; nothing to do "
                             "(change an option, e.g. --seed, for a new run)")
                else:
                    self._rounds(ledger, admin, view, host, store)
            finally:
                if host is not None:
                    self.engine_info = host.info()
                    host.stop()
            view = ledger.task(view.task_id)
            final = self.evaluate(view)
            summary = self._summary(view, final, store)
            summary["model_file"] = str(self._export(ledger, view, model_file))
            summary["report_dir"] = str(self._report(store, view, report_dir))
            summary["wall_seconds"] = round(time.perf_counter() - t_start, 2)
        return summary

    @staticmethod
    def _host(wait: Callable[[], Any]) -> Any:
        try:
            return wait()
        except EngineError as e:
            raise SimulationError(str(e)) from None

    def _rounds(self, ledger: Ledger, admin: Any, view: Any, host: ClientEngine, store: Any) -> None:
        from tqdm import tqdm

        cfg = self.cfg
        self._host(host.verifying_key)
        self.say(f"starting {cfg.clients} clients ({host.name} engine; each keeps its prover resident) ...")
        self.say("the simulated clients accept the task's key as `--allow-dev-key` would: the simulator made or "
                 "loaded it here (a development key is single-party: for tests and demos only)")
        self._host(host.start)
        self._register(ledger, view, host)
        history = ledger.events(view.task_id)
        seq = max((e.seq for e in history), default=-1)
        store.record_events(view.task_id, self.network, [self._event(e) for e in history])
        bar = tqdm(total=cfg.rounds, initial=view.round, desc="rounds", unit="round",
                   disable=not self.progress_bar, leave=False)

        def emit(line: str) -> None:
            bar.write(line, file=self.table_file)

        emit(f"model {self.architecture_name()} ({self.spec.num_weights:,} weights), batch {self.spec.batch_size} x "
             f"{self.spec.local_steps} local step(s) per proof; initial accuracy {self.initial.accuracy:.3f}")
        emit(f"{'round':>5} {'accepted':>8} {'rejected':>8} {'accuracy':>8} {'loss':>7} {'prove s':>7} {'verify s':>8}")
        try:
            while not view.finished:
                rnd = view.round
                if not view.round_open:
                    ledger.open_round(admin, view.task_id)
                    view = ledger.task(view.task_id)
                if view.num_updates < len(view.sampled):
                    reports = self._collect(host, view, store, rnd)
                else:
                    reports = []
                view = ledger.task(view.task_id)
                if view.round_rules.quorum <= view.num_updates < len(view.sampled):
                    self._wait_for_deadline(ledger, view)
                elif view.num_updates == 0:
                    raise SimulationError(f"round {rnd}: no update was accepted ({self._errors(reports)}); "
                                          "nothing to aggregate")
                elif view.num_updates < view.round_rules.quorum:
                    raise SimulationError(
                        f"round {rnd}: {view.num_updates} of {view.round_rules.quorum} updates accepted "
                        f"({self._errors(reports)}); the round closes at its deadline; then `wafl task aggregate` "
                        "or this command again continues")
                else:
                    ledger.aggregate_round(admin, view.task_id)
                view = ledger.task(view.task_id)
                m = self.evaluate(view)
                store.record_evaluation(view.task_id, self.network, rnd, m.accuracy, m.loss)
                new = ledger.events(view.task_id, seq)
                if new:
                    store.record_events(view.task_id, self.network, [self._event(e) for e in new])
                    seq = new[-1].seq
                store.update_status(view.task_id, self.network, self._status(view))
                row = self._row(rnd, reports, m)
                self.rows.append(row)
                bar.update(1)
                line = (f"{row.round:>5} {row.accepted:>8} {row.rejected:>8} {row.accuracy:>8.3f} {row.loss:>7.4f} "
                        f"{row.prove_seconds:>7.2f} " + (f"{row.verify_seconds:>8.3f}" if row.verify_seconds is not None else f"{'-':>8}")
                        + (f"  {row.errors}" if row.errors else ""))
                emit(line)
        finally:
            bar.close()

    def _register(self, ledger: Ledger, view: Any, engine: ClientEngine) -> None:
        """Register every simulated client for the task (the simulator holds their key files). On a
        private task each client registers itself (its data and seed commitments), before the first
        round opens: the engine runs every client once."""
        from wafl_sui.ledger.identity import Identity

        if self.spec.is_private:
            missing = [i for i, p in enumerate(self.key_files)
                       if ledger.private_registration(view.task_id, Identity.from_file(p).address) is None]
            if missing:
                self.say(f"{len(missing)} client(s) register their data and seed commitments ...")
                for r in self._host(lambda: engine.run_clients(view.task_id, missing, view.round)):
                    if r.get("error") and not r.get("accepted"):
                        raise SimulationError(f"client {r['client']} could not register: {r.get('skipped') or r['error']}")
            return
        for path in self.key_files:
            ident = Identity.from_file(path)
            if ident.address not in view.registered:
                ledger.register(ident, view.task_id)

    def _wait_for_deadline(self, ledger: Ledger, view: Any) -> None:
        """A round with a sampled participant that did not get an update in (a forger) closes at its
        deadline: wait for it (the ledger's clock)."""
        self.say(f"round {view.round}: {view.num_updates} of {len(view.sampled)} sampled clients got an update "
                 "in; the round closes at its deadline")
        limit = time.monotonic() + view.round_rules.round_duration_ms / 1000 + 30
        while time.monotonic() < limit:
            try:
                ledger.aggregate_round(self._admin, view.task_id)
                return
            except ProtocolError as e:
                if e.name != "EQuorumNotReached":
                    raise
            time.sleep(0.25)
        raise SimulationError(f"round {view.round} did not close at its deadline")

    def _collect(self, engine: ClientEngine, view: Any, store: Any, rnd: int) -> list[dict]:
        """One round of the round's sampled clients (`round_clients`). Forging clients go first, so
        that their rejected proofs show in the round's table."""
        from wafl_sui.ledger.identity import Identity

        chosen = round_clients(self.cfg, view, [Identity.from_file(p).address for p in self.key_files])
        forging = [i for i in chosen if self.cfg.attack_of(i) == "forged-update"]
        others = [i for i in chosen if i not in forging]
        reports = []
        for phase in (forging, others):
            if phase:
                reports += self._receive(self._host(lambda: engine.run_clients(view.task_id, phase, rnd)),
                                         view.task_id, store, rnd)
        self.reports.extend(reports)
        return reports

    def _receive(self, payloads: list[dict], task_id: str, store: Any, rnd: int) -> list[dict]:
        reports = []
        for payload in payloads:
            reports.append(payload)
            if payload.get("skipped"):
                continue
            store.record_contribution(
                task_id, self.network, rnd, payload["client"], accepted=payload["accepted"],
                update_norm=payload["update_norm"], batch_size=payload["batch_size"],
                prove_seconds=payload["prove_seconds"], verify_seconds=payload["verify_seconds"],
                error=payload["error"], attacker=payload["attack"])
        return reports

    @staticmethod
    def _errors(reports: list[dict]) -> str:
        errs: dict[str, int] = {}
        for r in reports:
            if r.get("error"):
                errs[r["error"]] = errs.get(r["error"], 0) + 1
        return ", ".join(f"{k} x{v}" for k, v in errs.items()) or "no rejections"

    @staticmethod
    def _event(e: Any) -> dict:
        from wafl_sui.metrics.ledger_sync import event_record

        return event_record(e)

    @staticmethod
    def _row(rnd: int, reports: list[dict], m: Any) -> RoundRow:
        sent = [r for r in reports if not r.get("skipped")]
        errs: dict[str, int] = {}
        lost = sum(1 for r in reports if r.get("lost"))
        if lost:
            errs["worker lost, skipped"] = lost
        for r in sent:
            if r["error"]:
                errs[r["error"]] = errs.get(r["error"], 0) + 1
        return RoundRow(rnd, sum(r["accepted"] for r in sent), sum(not r["accepted"] for r in sent),
                        m.accuracy, m.loss, _median([r["prove_seconds"] for r in sent]) or 0.0,
                        _median([r["verify_seconds"] for r in sent]), errs)

    # ------------------------------------------------------------------ results
    def _summary(self, view: Any, final: Any, store: Any) -> dict:
        from wafl_sui.metrics import query

        contrib = query.contributions(store, view.task_id, self.network)
        accepted = sum(1 for c in contrib if c["accepted"])
        rejected = len(contrib) - accepted
        invalid = sum(1 for c in contrib if c.get("error") == "EInvalidProof")
        return {
            "task_id": view.task_id, "ledger": self.ledger_spec, "network": self.network,
            "dataset": self.cfg.dataset, "clients": self.cfg.clients, "rounds": view.round,
            "model": self.cfg.model, "architecture": self.spec.architecture(),
            "layer_dims": list(self.spec.layer_dims), "num_weights": self.spec.num_weights,
            "local_steps": self.spec.local_steps, "batch_size": self.spec.batch_size,
            "rule": self.cfg.rule, "attackers": self.cfg.attackers, "attack": self.cfg.attack,
            "final_accuracy": round(final.accuracy, 4), "final_loss": round(final.loss, 4),
            "initial_accuracy": round(self.initial.accuracy, 4), "initial_loss": round(self.initial.loss, 4),
            "float_baseline_accuracy": round(self.baseline.accuracy, 4),
            "float_baseline_loss": round(self.baseline.loss, 4),
            "updates_accepted": accepted, "updates_rejected": rejected,
            "rejected_by_error": _count(c.get("error") for c in contrib if not c["accepted"]),
            "forged_accepted": sum(1 for c in contrib if c["accepted"] and c.get("attacker") == "forged-update"),
            "proofs_verified": accepted + invalid,
            "prove_seconds_median": _round(_median([c.get("prove_seconds") for c in contrib])),
            "verify_seconds_median": _round(_median([c.get("verify_seconds") for c in contrib])),
            "finished": view.finished, "engine": self.engine_info or {"engine": self.engine_options.engine},
            "dp": self._dp_summary(list(_count(c["client"] for c in contrib if c["accepted"]).values())),
        }

    def _dp_summary(self, contributions: list[int]) -> Optional[dict]:
        """A private run's `dp` entry: the task's budget and parameters, and the epsilon spent by
        the client that contributed most (the accountant over its accepted updates)."""
        if self.dp_params is None:
            return None
        from wafl_sui.client import privacy_accounting
        from wafl_sui.zk.circuit import constraint_formula

        p, d = self.dp_params, self.spec.num_weights
        spent = max(contributions, default=0)
        info = privacy_accounting.describe(p, d, max(spent, 1), feature_frac_bits=self.spec.feature_frac_bits)
        return {"epsilon": p.target_epsilon, "delta": p.target_delta, "clip": info["clip"],
                "noise_multiplier": round(info["noise_multiplier"], 4), "sample_rate": round(p.sample_rate, 4),
                "epsilon_spent": round(info["epsilon"], 4) if spent else 0.0, "updates_per_client_max": spent,
                "max_contributions": p.max_contributions, "noise_sigma0": p.noise_sigma0, "noise_k": p.noise_k,
                "records": p.records, "constraints": constraint_formula(self.spec)["total"]}

    def _export(self, ledger: Ledger, view: Any, model_file: Optional[Path]) -> Path:
        from wafl_sui.client.export import export_model

        path = model_file or (self.dir / "model.npz")
        export_model(view, path, scaling=self.scaling, overwrite=model_file is None)
        return path

    def _report(self, store: Any, view: Any, report_dir: Optional[Path]) -> Path:
        from wafl_sui.metrics.report import write_report

        out = report_dir or (self.dir / "report")
        write_report(store, view.task_id, self.network, out)
        return out


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in items:
        out[k] = out.get(k, 0) + 1
    return out


def _round(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(x, 4)

