"""A task's event history on Sui, cached in `$WAFL_HOME/sui-history/<network>/<chain>/<task>.json`.

A task's events are those of the transactions that changed the Task object, found by walking the
object's versions back (each version names the transaction that wrote it). `TaskHistory` holds
those transactions by the Task version they wrote; `walk_back` orders them from the creation to a
given version (fetching the missing ones), `task_events` decodes their WaFL events.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wafl_sui.errors import WaflError
from wafl_sui.ledger.base import Event
from wafl_sui.ledger.sui.bcs import normalize_address
from wafl_sui.ledger.sui.client import TxEffects
from wafl_sui.ledger.sui.errors import SuiLedgerError
from wafl_sui.ledger.sui.task_calls import EVENTS_MODULE

log = logging.getLogger(__name__)

@dataclass
class HistoryEntry:
    """One transaction that changed the Task: its digest, the Task versions it read and wrote,
    its raw events and its checkpoint time."""

    digest: str
    input_version: int | None  # None: the transaction created the task
    output_version: int
    events: list[tuple[str, bytes]]
    timestamp_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "input_version": self.input_version,
            "output_version": self.output_version,
            "events": [[t, base64.b64encode(c).decode()] for t, c in self.events],
            "timestamp_ms": self.timestamp_ms,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> HistoryEntry:
        return cls(
            str(d["digest"]),
            None if d["input_version"] is None else int(d["input_version"]),
            int(d["output_version"]),
            [(str(t), base64.b64decode(c)) for t, c in d["events"]],
            None if d.get("timestamp_ms") is None else int(d["timestamp_ms"]),
        )


HISTORY_FORMAT = "wafl-sui-history/1"


@dataclass
class TaskHistory:
    task_id: str
    path: Path | None
    entries: dict[int, HistoryEntry] = field(default_factory=dict)  # by output version
    dirty: bool = False

    @classmethod
    def load(cls, task_id: str, path: Path | None) -> TaskHistory:
        h = cls(task_id, path)
        if path is None or not path.is_file():
            return h
        try:
            doc = json.loads(path.read_text())
            if doc.get("format") != HISTORY_FORMAT or normalize_address(doc["task_id"]) != task_id:
                raise ValueError("not a history file of this task")
            for d in doc["entries"]:
                e = HistoryEntry.from_json(d)
                h.entries[e.output_version] = e
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the unreadable event cache %s (%s); it is rebuilt from the chain", path, exc)
            h.entries = {}
        return h

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        self.dirty = False
        doc = {
            "format": HISTORY_FORMAT,
            "task_id": self.task_id,
            "entries": [e.to_json() for _, e in sorted(self.entries.items())],
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
            tmp.write_text(json.dumps(doc))
            os.replace(tmp, self.path)
        except OSError as exc:  # a cache: the chain stays the truth
            log.warning("cannot write the event cache %s: %s", self.path, exc)

    def add(self, eff: TxEffects) -> HistoryEntry | None:
        ch = eff.changed_object(self.task_id)
        if ch is None or ch.version is None:
            return None
        if ch.operation not in ("created", "mutated"):
            return None
        entry = HistoryEntry(
            eff.digest,
            None if ch.operation == "created" else ch.input_version,
            int(ch.version),
            [(e.event_type, e.contents) for e in eff.events],
            eff.timestamp_ms,
        )
        old = self.entries.get(entry.output_version)
        if old is not None and old.timestamp_ms is not None and entry.timestamp_ms is None:
            entry.timestamp_ms = old.timestamp_ms
        if old != entry:
            self.entries[entry.output_version] = entry
            self.dirty = True
        return entry




def history_path(root: Path, network: str, chain_id: str, task_id: str) -> Path:
    """Where the history of `task_id` on that chain is cached."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", chain_id)
    return root / network / safe / f"{task_id}.json"


def walk_back(hist: TaskHistory, head_version: int, fetch: Callable[[int], HistoryEntry]) -> list[HistoryEntry]:
    """The transactions that wrote the task up to `head_version`, oldest first; `fetch(version)`
    reads (and adds) an entry the cache lacks."""
    chain: list[HistoryEntry] = []
    version: int | None = head_version
    while version is not None:
        entry = hist.entries.get(version)
        if entry is None:
            entry = fetch(version)
        chain.append(entry)
        version = entry.input_version
        if len(chain) > 1_000_000:  # pragma: no cover - a cycle would be a node bug
            raise SuiLedgerError(f"the history of task {hist.task_id} does not end")
    chain.reverse()
    return chain


def task_events(chain: list[HistoryEntry], codec: Any, task_id: str) -> list[Event]:
    """The WaFL events of `task_id` in the transactions `chain` (oldest first), decoded by the
    package's layouts (`codec`), numbered from 0; an event without its own time takes its
    checkpoint's."""
    from wafl_sui.ledger.sui.task_object import decode_event, event_name

    out: list[Event] = []
    last_ts = 0
    for entry in chain:
        for etype, contents in entry.events:
            if f"::{EVENTS_MODULE}::" not in etype:
                continue
            try:
                fields = decode_event(codec, etype, contents)
            except (WaflError, ValueError) as exc:
                log.warning("skipping an undecodable event %s of %s: %s", etype, entry.digest, exc)
                continue
            if normalize_address(str(fields.get("task_id", task_id))) != task_id:
                continue
            ts = fields.get("timestamp_ms")
            ts = int(ts) if isinstance(ts, int) else (entry.timestamp_ms or last_ts)
            last_ts = ts
            out.append(Event(len(out), event_name(etype), fields, ts, entry.digest))
    return out
