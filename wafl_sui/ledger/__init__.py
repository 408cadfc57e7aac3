"""Ledgers: one interface (`base.Ledger`), the embedded local ledger (`local`) and Sui (`sui`).

    from wafl_sui.ledger import open_ledger
    ledger = open_ledger()                    # the local ledger at $WAFL_HOME/ledger.sqlite
    ledger = open_ledger("runs/a.sqlite")     # a local ledger in that file
    ledger = open_ledger("testnet")           # the Sui network (wafl_sui.ledger.sui.ledger)

`open_ledger` takes None / "local" (the default local ledger), "local:PATH" or a path (a local
ledger in that file), or a Sui network name (`ledger.sui.network.SUI_NETWORKS`).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wafl_sui.ledger.sui.network import SUI_NETWORKS, is_sui_network

if TYPE_CHECKING:  # imported lazily: `ledger.identity` and `ledger.sui` must not need the protocol
    from wafl_sui.ledger.base import Event, Ledger, LedgerError, Receipt, TaskNotFound, TaskRef, TaskView
    from wafl_sui.ledger.local import LocalLedger

_LOCAL_SUFFIXES = (".sqlite", ".sqlite3", ".db")

__all__ = [
    "Event", "Ledger", "LedgerError", "LocalLedger", "Receipt", "SUI_NETWORKS", "TaskNotFound", "TaskRef", "TaskView",
    "open_ledger",
]
_BASE_NAMES = ("Event", "Ledger", "LedgerError", "Receipt", "TaskNotFound", "TaskRef", "TaskView")


def __getattr__(name: str) -> Any:
    """The names of `base` and `LocalLedger`, imported on first use (importing `wafl_sui.ledger.sui`
    or `.identity` loads neither the protocol nor SQLite)."""
    if name in _BASE_NAMES:
        from wafl_sui.ledger import base

        return getattr(base, name)
    if name == "LocalLedger":
        from wafl_sui.ledger.local import LocalLedger

        return LocalLedger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _open_sui(network: str, **kwargs: Any) -> "Ledger":
    from wafl_sui.ledger.base import LedgerError

    if importlib.util.find_spec("wafl_sui.ledger.sui.ledger") is None:
        raise LedgerError(
            f"the Sui ledger ({network}) is not wired into this WaFL yet; use the local ledger "
            "(--ledger local, or a path to a ledger file)"
        )
    from wafl_sui.ledger.sui import ledger as sui_ledger

    opener = getattr(sui_ledger, "open_ledger", None) or getattr(sui_ledger, "open_sui_ledger", None)
    if opener is not None:
        return opener(network, **kwargs)
    cls = getattr(sui_ledger, "SuiLedger", None)
    if cls is None:
        raise LedgerError(f"wafl_sui.ledger.sui.ledger has no SuiLedger; the Sui ledger ({network}) is not usable")
    return cls(network, **kwargs)


def open_ledger(spec: str | os.PathLike[str] | None = None, **kwargs: Any) -> "Ledger":
    """The ledger `spec` names (see the module doc). Keyword arguments go to the ledger's
    constructor (for the local ledger: clock, read_only, busy_timeout_s, verifier)."""
    from wafl_sui.ledger.base import LedgerError
    from wafl_sui.ledger.local import LocalLedger

    if spec is None:
        return LocalLedger(None, **kwargs)
    if isinstance(spec, os.PathLike):
        return LocalLedger(spec, **kwargs)
    if not isinstance(spec, str) or not spec.strip():
        raise LedgerError(f"a ledger is 'local', a path to a ledger file, or one of {', '.join(SUI_NETWORKS)}; got {spec!r}")
    text = spec.strip()
    low = text.lower()
    if low == "local":
        return LocalLedger(None, **kwargs)
    if low.startswith("local:"):
        path = text[len("local:"):]
        if not path:
            raise LedgerError("'local:' needs a path after it, e.g. local:runs/ledger.sqlite")
        return LocalLedger(path, **kwargs)
    if is_sui_network(low):  # mainnet too: as the Sui ledger decides
        return _open_sui(low, **kwargs)
    p = Path(os.path.expanduser(text))
    if os.sep in text or (os.altsep and os.altsep in text) or p.suffix.lower() in _LOCAL_SUFFIXES or p.exists():
        return LocalLedger(p, **kwargs)
    raise LedgerError(
        f"unknown ledger {spec!r}: use 'local', a path to a ledger file (e.g. ./ledger.sqlite), "
        f"or one of {', '.join(SUI_NETWORKS)}"
    )
