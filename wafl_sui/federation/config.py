"""What a simulated federation is: the dataset, the clients and attackers, the task's rules and
hyperparameters. A config has a stable hash, so running the same command again resumes the same
run (same task, same identities) instead of starting over."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Optional

from wafl_sui.errors import WaflError
from wafl_sui.protocol import AGGREGATION_RULES, BPS

RULE_ALIASES = {"fedavg": "fedavg", "median": "median", "trimmed-mean": "trimmed_mean", "trimmed_mean": "trimmed_mean"}


class ConfigError(WaflError):
    """A simulation option is out of range; the message says which and what is allowed."""


@dataclass(frozen=True)
class SimulationConfig:
    dataset: str = "digits"
    clients: int = 4
    rounds: int = 25
    rule: str = "fedavg"
    trim: float = 0.1  # trimmed mean: fraction dropped at each end
    alpha: Optional[float] = None  # None: IID partition; else Dirichlet(alpha) label skew
    lr: float = 3.0
    batch_size: int = 16
    local_steps: int = 1
    attackers: int = 0
    attack: Optional[str] = None
    seed: int = 0
    test_fraction: float = 0.2
    label_column: Optional[str] = None
    round_duration_ms: int = 3_600_000
    grace_ms: int = 3_600_000
    name: Optional[str] = None
    model: str = "linear"  # what `wafl_sui.models.resolve` takes: linear, mlp or FILE.py:FUNCTION
    hidden: tuple[int, ...] = ()  # --model mlp: the hidden widths (empty: models.DEFAULT_HIDDEN)
    participants_per_round: Optional[int] = None  # None: every client (all sampled each round)
    # A private task (docs/PRIVACY.md): the (epsilon, delta) budget per client for the whole run,
    # the clip norm and the expected Poisson batch. None: an ordinary task.
    dp_epsilon: Optional[float] = None
    dp_delta: float = 1e-5
    dp_clip: float = 2.0
    dp_batch: int = 64

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))  # a list from JSON too
        if not self.model:
            raise ConfigError("--model must be linear, mlp or FILE.py:FUNCTION")
        if any(h < 1 for h in self.hidden):
            raise ConfigError(f"hidden widths must be >= 1, got {list(self.hidden)}")
        if self.hidden and self.model != "mlp":
            raise ConfigError("--hidden needs --model mlp (the linear model has none; a model file defines its own)")
        if self.rule not in RULE_ALIASES:
            raise ConfigError(f"unknown rule {self.rule!r}; choose fedavg, median or trimmed-mean")
        if not 1 <= self.clients <= 256:
            raise ConfigError(f"clients must be in 1..256, got {self.clients}")
        if self.rounds < 1:
            raise ConfigError(f"rounds must be >= 1, got {self.rounds}")
        if not 0 <= self.attackers <= self.clients:
            raise ConfigError(f"attackers must be in 0..clients ({self.clients}), got {self.attackers}")
        if self.attackers and self.attack is None:
            raise ConfigError("--attackers needs --attack label-flip or forged-update")
        if self.attack and not self.attackers:
            raise ConfigError("--attack needs --attackers K (how many clients attack)")
        if self.attack == "forged-update" and self.attackers == self.clients:
            raise ConfigError("with every client forging, no update can ever be accepted; keep one honest client")
        if not 0 <= self.trim < 0.5:
            raise ConfigError(f"trim must be in [0, 0.5), got {self.trim}")
        if self.alpha is not None and not self.alpha > 0:
            raise ConfigError(f"alpha (Dirichlet concentration) must be > 0, got {self.alpha}")
        if self.participants_per_round is not None and not self.quorum <= self.participants_per_round <= self.clients:
            raise ConfigError(
                f"participants per round must be in {self.quorum}..{self.clients} (the quorum .. the clients), "
                f"got {self.participants_per_round}")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"test fraction must be in (0, 1), got {self.test_fraction}")
        if self.dp_epsilon is not None:
            if not 0 < self.dp_epsilon <= 100:
                raise ConfigError(f"--dp-epsilon must be in (0, 100], got {self.dp_epsilon}")
            if not 0 < self.dp_delta < 0.01:
                raise ConfigError(f"--dp-delta must be in (0, 0.01), got {self.dp_delta}")
            if not self.dp_clip > 0:
                raise ConfigError(f"--dp-clip must be > 0, got {self.dp_clip}")
            if self.dp_batch < 1:
                raise ConfigError(f"--dp-batch must be >= 1, got {self.dp_batch}")
            if self.model != "linear" or self.local_steps != 1:
                raise ConfigError("a private task proves the linear model's step (--model linear, --local-steps 1); "
                                  "private MLP steps are not supported yet (docs/PRIVACY.md)")
            if self.attack:
                raise ConfigError("--attack simulates attacks on ordinary tasks; a private task draws its batch and "
                                  "noise inside the proof (leave out --attack, or --dp-epsilon)")

    @property
    def private(self) -> bool:
        return self.dp_epsilon is not None

    @property
    def rule_id(self) -> int:
        return AGGREGATION_RULES[RULE_ALIASES[self.rule]]

    @property
    def trim_bps(self) -> int:
        return int(round(self.trim * BPS)) if RULE_ALIASES[self.rule] == "trimmed_mean" else 0

    @property
    def quorum(self) -> int:
        """Updates that close a round: every client whose update can be accepted (forged updates
        are rejected by the proof check, so they are not waited for)."""
        forged = self.attackers if self.attack == "forged-update" else 0
        return self.clients - forged

    @property
    def sample_size(self) -> int:
        """Clients sampled each round (all of them unless participants_per_round says fewer)."""
        return self.clients if self.participants_per_round is None else self.participants_per_round

    def attack_of(self, client_index: int) -> Optional[str]:
        """Attackers are the last `attackers` clients."""
        return self.attack if client_index >= self.clients - self.attackers else None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def run_key(self) -> str:
        """Stable id of the run: everything that changes the federation (not its name)."""
        d = {k: v for k, v in self.to_dict().items() if k != "name"}
        if self.model == "linear":  # the linear model's run ids are those of runs made before --model
            del d["model"], d["hidden"]
        else:
            d["hidden"] = list(self.hidden)
        if d["participants_per_round"] is None:  # the default: runs of earlier versions keep their key
            del d["participants_per_round"]
        if not self.private:  # an ordinary run keeps the key it had before private tasks
            for k in ("dp_epsilon", "dp_delta", "dp_clip", "dp_batch"):
                del d[k]
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


ENGINES = ("local", "ray")


@dataclass(frozen=True)
class EngineOptions:
    """What runs the clients (not part of the run's identity: a run started with one engine can be
    resumed with the other). `ray_*` options need engine "ray"."""

    engine: str = "local"
    ray_address: Optional[str] = None  # None: start a local Ray instance; "auto" or HOST:PORT: join a cluster
    ray_workers: Optional[int] = None  # Ray actors, one CPU each [default: the cluster's CPUs, at most one a client]
    ray_num_cpus: Optional[int] = None  # a local Ray instance's CPUs [default: this machine's]
    ray_object_store_mb: Optional[int] = None  # a local Ray instance's object store [default: Ray's]

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}; choose {' or '.join(ENGINES)}")
        ray_opts = {"--ray-address": self.ray_address, "--ray-workers": self.ray_workers,
                    "--ray-num-cpus": self.ray_num_cpus, "--ray-object-store-mb": self.ray_object_store_mb}
        given = [k for k, v in ray_opts.items() if v is not None]
        if self.engine != "ray" and given:
            raise ConfigError(f"{', '.join(given)} needs --engine ray")
        for k in ("--ray-workers", "--ray-num-cpus", "--ray-object-store-mb"):
            if ray_opts[k] is not None and ray_opts[k] < 1:
                raise ConfigError(f"{k} must be >= 1, got {ray_opts[k]}")
        if self.ray_address is not None and not self.ray_address.strip():
            raise ConfigError("--ray-address needs 'auto' or HOST:PORT (the head node's GCS address)")
        if self.ray_address is not None and (self.ray_num_cpus or self.ray_object_store_mb):
            raise ConfigError("--ray-num-cpus and --ray-object-store-mb size a local Ray instance; "
                              "with --ray-address the cluster's nodes set them (`ray start --num-cpus ...`)")
