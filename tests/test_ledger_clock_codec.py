"""Findings 4 and 6 of the security review, tried again on the local ledger:
* a process whose clock is ten years ahead applies an operation: ledger time does not move (it is
  the machine's boot clock, anchored in the file), nothing is discarded early, time is not frozen;
* a crafted ledger file whose state names some other class (one that would create a file where
  it chooses) is refused with a clear error, and nothing is instantiated."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from wafl_sui.ledger import LedgerError
from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.local import LocalLedger, state_codec
from wafl_sui.ledger.local.clock import ANCHOR_KEY, MachineClock
from wafl_sui.ledger.local.store import Store, row_digest

from test_verifying_key import STEP_VK, create

TEN_YEARS_MS = 10 * 365 * 86_400_000


def test_a_process_ten_years_ahead_moves_ledger_time_by_nothing(tmp_path, monkeypatch):
    path = tmp_path / "ledger.sqlite"
    mallory = Identity.generate()
    with LocalLedger(path) as led:
        if MachineClock().boot() is None or MachineClock().boot_time() is None:
            pytest.skip("no boot clock on this machine: ledger time is the wall clock")
        ref = create(led, STEP_VK)
        alice, bob = Identity.generate(), Identity.generate()
        for who in (alice, bob):
            led.register(who, ref.task_id)
        led.open_round(alice, ref.task_id)  # an open round, empty: discardable once its deadline + grace pass
        created = led.transactions()[-1].timestamp_ms
    real_ns = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real_ns() + TEN_YEARS_MS * 1_000_000)
    monkeypatch.setattr(time, "time", lambda: real_ns() / 1e9 + TEN_YEARS_MS / 1000)
    with LocalLedger(path) as led:  # the attacker's process: its wall clock says 2036
        with pytest.raises(Exception) as e:
            led.discard_round(mallory, ref.task_id)
        assert getattr(e.value, "name", None) == "EGracePeriodNotOver"
        t = led.transactions()[-1].timestamp_ms
    assert created <= t < created + 600_000  # minutes at most, not ten years
    monkeypatch.setattr(time, "time_ns", real_ns)
    with LocalLedger(path) as led:  # and time was not frozen in the future
        with pytest.raises(Exception):
            led.discard_round(mallory, ref.task_id)
        assert led.transactions()[-1].timestamp_ms < created + 600_000


class FakeMachine:
    def __init__(self):
        self.wall, self.boot_id, self.up = 1_000_000, "boot-1", 5_000

    def clock(self) -> MachineClock:
        return MachineClock(wall=lambda: self.wall, boot=lambda: self.boot_id, boot_time=lambda: self.up)


def _con(tmp_path) -> sqlite3.Connection:
    con = sqlite3.connect(tmp_path / "meta.sqlite")
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    return con


def test_machine_clock_follows_the_boot_clock_and_reanchors_after_a_reboot(tmp_path):
    m, con = FakeMachine(), _con(tmp_path)
    clk = m.clock()
    assert clk.now(con, write=True) == 1_000_000  # first use: anchored on the wall clock
    m.wall += TEN_YEARS_MS  # the wall clock (or a process's idea of it) jumps: ignored
    m.up += 250
    assert clk.now(con, write=True) == 1_000_250
    m.wall -= 2 * TEN_YEARS_MS  # and back: ignored too
    m.up += 50
    assert clk.now(con, write=True) == 1_000_300
    Store.set_meta(con, "clock_ms", 1_000_300)
    m.boot_id, m.up, m.wall = "boot-2", 10, 900_000  # a reboot with a wall clock behind: never backwards
    assert clk.now(con, write=True) == 1_000_300
    m.up += 1_000
    assert clk.now(con, write=True) == 1_001_300
    assert json.loads(Store.get_meta(con, ANCHOR_KEY))["boot"] == "boot-2"
    no_boot = MachineClock(wall=lambda: 2_000_000, boot=lambda: None, boot_time=lambda: None)
    assert no_boot.now(con, write=False) == 2_000_000  # no boot clock: the wall clock, never backwards


def _tamper(path, task_id: str, edit) -> None:
    con = sqlite3.connect(path)
    (text,) = con.execute("SELECT state FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
    new = json.dumps(edit(json.loads(text)), separators=(",", ":"))
    con.execute("UPDATE tasks SET state = ?, state_digest = ? WHERE task_id = ?", (new, row_digest(task_id, new), task_id))
    con.commit()
    con.close()


def test_a_crafted_state_naming_another_class_is_refused(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with LocalLedger(path) as led:
        ref = create(led, STEP_VK)
        assert state_codec.loads(state_codec.dumps(led.state(ref.task_id))) == led.state(ref.task_id)
    target = tmp_path / "chosen.sqlite"

    def evil(d):  # the review's attack: a wafl_sui class that opens an SQLite file at a chosen path
        d["f"]["spec"] = {"$dc": "wafl_sui.metrics.store:MetricsStore", "f": {"path": str(target)}}
        return d

    _tamper(path, ref.task_id, evil)
    with LocalLedger(path) as led:
        with pytest.raises(LedgerError, match="not a record type of a task state"):
            led.task(ref.task_id)
    assert not target.exists()
    for ref_name in ("builtins:object", "os:system", "wafl_sui.ledger.local.ledger:LocalLedger", 7):
        with pytest.raises(state_codec.StateCodecError):
            state_codec.loads(json.dumps({"$dc": ref_name, "f": {}}))
    with pytest.raises(state_codec.StateCodecError):
        state_codec.loads(json.dumps({"$e": "wafl_sui.protocol.task:TaskState", "v": 1}))  # no enum tag any more
