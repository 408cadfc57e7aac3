"""The local ledger's own time: a monotonic clock of the machine that holds the file, never the
time of the process that happens to apply an operation.

A chain gives every transaction the time of its consensus, not the sender's. The local ledger
does the same with the machine's boot clock (`CLOCK_BOOTTIME`: milliseconds since the machine
started, kept by the kernel for every process alike, not settable, not moved by changes of the
wall clock or by a process that fakes its own). The ledger file records an anchor: (boot id,
boot-clock reading, ledger time) when it was last anchored. Ledger time is then

    anchor.ledger_ms + (boot clock now - anchor.boot_ms)      on the same boot,

and never less than the time of the ledger's previous operation. After a reboot (another boot
id) or on a file without an anchor, the ledger re-anchors once on the machine's wall clock, never
going backwards. So a process whose clock is ten years ahead moves ledger time by nothing. What
this cannot stop (the limit of any ledger in one file): someone who can write the file, or who
sets the wall clock just before the first operation after a reboot.

Where the boot clock or the boot id is unavailable (not Linux), ledger time is the wall clock,
never going backwards.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from wafl_sui.ledger.local.store import Store

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
ANCHOR_KEY = "clock_anchor"
LAST_KEY = "clock_ms"


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def boot_id() -> Optional[str]:
    """This boot of the machine (Linux), or None."""
    try:
        return _BOOT_ID.read_text().strip() or None
    except OSError:
        return None


def boot_clock_ms() -> Optional[int]:
    """Milliseconds since the machine started (CLOCK_BOOTTIME), or None where there is none."""
    clk = getattr(time, "CLOCK_BOOTTIME", None)
    if clk is None:
        return None
    try:
        return time.clock_gettime_ns(clk) // 1_000_000
    except OSError:
        return None


@dataclass(frozen=True)
class Anchor:
    boot: str
    boot_ms: int
    ledger_ms: int

    def dumps(self) -> str:
        return json.dumps({"boot": self.boot, "boot_ms": self.boot_ms, "ledger_ms": self.ledger_ms})

    @classmethod
    def loads(cls, text: Optional[str]) -> Optional["Anchor"]:
        try:
            d = json.loads(text or "")
            return cls(str(d["boot"]), int(d["boot_ms"]), int(d["ledger_ms"]))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass
class MachineClock:
    """Ledger time from the machine's boot clock (see the module docstring). `wall`, `boot` and
    `boot_time` are the machine's sources, replaceable in tests."""

    wall: Callable[[], int] = wall_clock_ms
    boot: Callable[[], Optional[str]] = boot_id
    boot_time: Callable[[], Optional[int]] = boot_clock_ms

    def now(self, con: sqlite3.Connection, *, write: bool) -> int:
        """Ledger time for an operation; inside a write transaction (`write`), (re-)anchors the
        file when needed."""
        last = int(Store.get_meta(con, LAST_KEY) or 0)
        boot, up = self.boot(), self.boot_time()
        if boot is None or up is None:
            return max(last, int(self.wall()))
        anchor = Anchor.loads(Store.get_meta(con, ANCHOR_KEY))
        if anchor is not None and anchor.boot == boot and up >= anchor.boot_ms:
            return max(last, anchor.ledger_ms + (up - anchor.boot_ms))
        now = max(last, int(self.wall()))
        if write:
            Store.set_meta(con, ANCHOR_KEY, Anchor(boot, up, now).dumps())
        return now


@dataclass
class FixedClock:
    """A time source given by the program (tests, replays): `clock()` in ms, never going backwards."""

    clock: Callable[[], int]

    def now(self, con: sqlite3.Connection, *, write: bool) -> int:
        return max(int(self.clock()), int(Store.get_meta(con, LAST_KEY) or 0))
