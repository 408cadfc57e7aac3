"""Aggregation rules on offset-encoded values (twin of `move/sources/rules.move`): a task's rule
(`AggregationRule`), FedAvg, coordinate-wise median and trimmed mean, all with floor semantics,
and FedAvg's running sums. Pure: no objects, no hashing.

The definitions here sort each coordinate; the contract computes the same values with a cheaper
selection (a partial heap), which the parity tests compare with these definitions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

from wafl_sui.protocol.errors import ProtocolError

AGG_FEDAVG = 0
AGG_MEDIAN = 1
AGG_TRIMMED_MEAN = 2
AGGREGATION_RULES = {"fedavg": AGG_FEDAVG, "median": AGG_MEDIAN, "trimmed_mean": AGG_TRIMMED_MEAN}
RULE_NAMES = {v: k for k, v in AGGREGATION_RULES.items()}
BPS = 10_000  # trimmed mean: trim fraction in basis points, 0 <= trim_bps < 5000


def validate_rule(rule: int, trim_bps: int) -> None:
    """A task's rule options: a known rule and 0 <= trim_bps < 5000 (EInvalidAggregationRule)."""
    if not isinstance(rule, int) or rule not in AGGREGATION_RULES.values():
        raise ProtocolError("EInvalidAggregationRule", f"unknown aggregation rule {rule}; known: {AGGREGATION_RULES}")
    if not 0 <= trim_bps < BPS // 2:
        raise ProtocolError("EInvalidAggregationRule", f"trim_bps must be in 0..{BPS // 2 - 1}, got {trim_bps}")


@dataclass(frozen=True)
class AggregationRule:
    """How a task combines a round's updates (`rules::AggregationRule`, built by
    `rules::new_aggregation`): rule 0 FedAvg, 1 median, 2 trimmed mean dropping
    floor(n * trim_bps / 10000) values at each end (0 <= trim_bps < 5000; ignored by the others)."""

    rule: int
    trim_bps: int = 0

    def __post_init__(self) -> None:
        validate_rule(self.rule, self.trim_bps)

    @property
    def name(self) -> str:
        return RULE_NAMES[self.rule]

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AggregationRule":
        return cls(int(d["rule"]), int(d.get("trim_bps", 0)))


def new_aggregation(rule: int, trim_bps: int) -> AggregationRule:
    """`rules::new_aggregation`: a validated aggregation rule (EInvalidAggregationRule)."""
    return AggregationRule(rule, trim_bps)


def check_updates(updates: Sequence[Sequence[int]]) -> int:
    """At least one update (ENoUpdates), all of one length (EWrongLength); returns that length."""
    if not updates:
        raise ProtocolError("ENoUpdates", "aggregation needs at least one update")
    n = len(updates[0])
    if any(len(u) != n for u in updates):
        raise ProtocolError("EWrongLength", "all updates must have the same length")
    return n


def fedavg(updates: Sequence[Sequence[int]]) -> list[int]:
    """Coordinate-wise floor(sum / n) (equal weights: every update covers the same sample count)."""
    n = check_updates(updates)
    k = len(updates)
    return [sum(u[j] for u in updates) // k for j in range(n)]


def median(updates: Sequence[Sequence[int]]) -> list[int]:
    """Coordinate-wise median; for an even count, floor of the mean of the two middle values."""
    n = check_updates(updates)
    k = len(updates)
    out = []
    for j in range(n):
        col = sorted(u[j] for u in updates)
        out.append(col[k // 2] if k % 2 else (col[k // 2 - 1] + col[k // 2]) // 2)
    return out


def trim_count(n: int, trim_bps: int) -> int:
    if not 0 <= trim_bps < BPS // 2:
        raise ProtocolError("EInvalidAggregationRule", f"trim_bps must be in 0..{BPS // 2 - 1}, got {trim_bps}")
    return n * trim_bps // BPS


def trimmed_mean(updates: Sequence[Sequence[int]], trim_bps: int) -> list[int]:
    """Coordinate-wise: drop the k = floor(n*trim_bps/10000) lowest and highest, floor-mean the rest."""
    n = check_updates(updates)
    k = len(updates)
    t = trim_count(k, trim_bps)
    out = []
    for j in range(n):
        col = sorted(u[j] for u in updates)[t : k - t]
        out.append(sum(col) // len(col))
    return out


def aggregate(updates: Sequence[Sequence[int]], rule: int, trim_bps: int = 0) -> list[int]:
    if rule == AGG_FEDAVG:
        return fedavg(updates)
    if rule == AGG_MEDIAN:
        return median(updates)
    if rule == AGG_TRIMMED_MEAN:
        return trimmed_mean(updates, trim_bps)
    raise ProtocolError("EInvalidAggregationRule", f"unknown aggregation rule {rule}; known: {AGGREGATION_RULES}")


# --------------------------------------------------------------------------- FedAvg running sums
def add_to_sums(sums: Sequence[int], weights: Sequence[int]) -> tuple[int, ...]:
    """`rules::add_to_sums`: FedAvg keeps the coordinate sums of a round's updates, updated at
    each submit, so its aggregation reads no update (EWrongLength on a length mismatch)."""
    if len(sums) != len(weights):
        raise ProtocolError("EWrongLength", "all updates must have the same length")
    return tuple(s + int(w) for s, w in zip(sums, weights))


def fedavg_from_sums(sums: Sequence[int], n: int) -> list[int]:
    """`rules::fedavg_from_sums`: floor(sum / n) per coordinate (= `fedavg` of the n updates)."""
    if n == 0:
        raise ProtocolError("ENoUpdates", "aggregation needs at least one update")
    return [s // n for s in sums]
