"""A ledger clock the test sets by hand (`LocalLedger(..., clock=FixedClock())`): ledger time in
ms, moved with `clock.t = ...`, so deadlines and grace periods are tested without sleeping."""

from __future__ import annotations

T0 = 1_000_000


class FixedClock:
    def __init__(self, t: int = T0):
        self.t = t

    def __call__(self) -> int:
        return self.t
