"""Aggregation rules on offset-encoded values (twin of `move/sources/rules.move`): FedAvg,
coordinate-wise median and trimmed mean, all with floor semantics. Pure: no objects, no hashing."""

from __future__ import annotations

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
    if rule not in AGGREGATION_RULES.values():
        raise ProtocolError("EInvalidAggregationRule", f"unknown aggregation rule {rule}; known: {AGGREGATION_RULES}")
    if not 0 <= trim_bps < BPS // 2:
        raise ProtocolError("EInvalidAggregationRule", f"trim_bps must be in 0..{BPS // 2 - 1}, got {trim_bps}")


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


