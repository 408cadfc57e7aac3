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

    def __post_init__(self) -> None:
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
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"test fraction must be in (0, 1), got {self.test_fraction}")

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

    def attack_of(self, client_index: int) -> Optional[str]:
        """Attackers are the last `attackers` clients."""
        return self.attack if client_index >= self.clients - self.attackers else None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def run_key(self) -> str:
        """Stable id of the run: everything that changes the federation (not its name)."""
        d = {k: v for k, v in self.to_dict().items() if k != "name"}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
