"""How every command and page says rounds, times and big numbers: one definition of each.

Rounds. "Round N" is the ledger's round N (0, 1, ...), the number in every event and in the
client's "round N: accepted": the round whose updates are being collected while the task's
counter is N. "The model of round N" is the global model made by aggregating round N's updates
(the model after N + 1 aggregations); before the first aggregation there is only "the initial
model". A task whose counter is R has finished rounds 0..R-1, so the current global model is the
model of round R - 1: `model_round` says so, and `wafl status`, `wafl evaluate`, `wafl model
export`, `wafl task show`, the reports and the dashboard all use it.

Times. Ledger times are Unix milliseconds; people read them as UTC and relative to now
("2026-12-01 10:00:00 UTC (in 5 min)"), or in local time where they wait on them (`local_time`).

Big integers. JSON numbers above 2^53 lose digits in a browser (a 254-bit commitment shows as
1.96e+76), so every JSON API sends integers of that size as decimal strings (`json_safe`).
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from typing import Any, Mapping, Optional

JS_SAFE_INT = (1 << 53) - 1


# --------------------------------------------------------------------------- rounds
def model_round(completed_rounds: int) -> Optional[int]:
    """The round whose aggregate is the current model when `completed_rounds` rounds are done
    (the ledger's round counter); None for the initial model."""
    if isinstance(completed_rounds, bool) or not isinstance(completed_rounds, int) or completed_rounds < 0:
        raise ValueError(f"completed_rounds must be an integer >= 0, got {completed_rounds!r}")
    return completed_rounds - 1 if completed_rounds > 0 else None


def model_text(completed_rounds: int) -> str:
    """'the model of round 4' or 'the initial model'."""
    r = model_round(completed_rounds)
    return "the initial model" if r is None else f"the model of round {r}"


def round_text(round_: int, max_rounds: int, finished: bool) -> str:
    """Where a task stands: 'round 2 (rounds 0..4)' or 'finished (rounds 0..4 done)'."""
    span = f"rounds 0..{max_rounds - 1}" if max_rounds > 1 else "round 0"
    if finished:
        return f"finished ({span} done)"
    return f"round {round_} ({span})"


# --------------------------------------------------------------------------- times
def _span(seconds: float) -> str:
    a = abs(seconds)
    if a < 120:
        return f"{round(a)} s"
    if a < 7200:
        return f"{round(a / 60)} min"
    if a < 172800:
        return f"{round(a / 3600)} h"
    return f"{round(a / 86400)} days"


def relative(ms: int, now_ms: Optional[int] = None) -> str:
    """'in 5 min', '3 s ago', 'now'."""
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    s = (ms - now) / 1000
    if abs(s) < 0.5:
        return "now"
    return f"in {_span(s)}" if s > 0 else f"{_span(s)} ago"


def utc(ms: int) -> str:
    """'2026-12-01 10:00:00 UTC'."""
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def when(ms: Optional[int], now_ms: Optional[int] = None) -> str:
    """A ledger time for people: UTC and relative to now ('–' if None)."""
    if ms is None:
        return "–"
    return f"{utc(ms)} ({relative(ms, now_ms)})"


def local_time(ms: int, now_ms: Optional[int] = None) -> str:
    """A time in this machine's zone and relative: '14:03:20 CET (in 5 min)'; the date when not today."""
    t = _dt.datetime.fromtimestamp(ms / 1000).astimezone()
    today = _dt.datetime.now().astimezone().date()
    text = t.strftime("%H:%M:%S %Z") if t.date() == today else t.strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"{text} ({relative(ms, now_ms)})"


# --------------------------------------------------------------------------- numbers
def json_safe(v: Any) -> Any:
    """A copy of `v` for a JSON API: integers beyond 2^53 - 1 become decimal strings (the exact
    value survives any JSON reader); bytes become 0x-hex; tuples become lists."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        return str(v) if abs(v) > JS_SAFE_INT else v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Mapping):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    if hasattr(v, "item") and callable(v.item):  # numpy scalars
        return json_safe(v.item())
    return v


def number(v: Optional[float], digits: int = 4) -> str:
    """A figure for a table: rounded, '–' when missing."""
    if v is None:
        return "–"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return f"{v:.{digits}f}"
