"""The errors the Sui ledger raises (all `LedgerError`s), and the translation of the Sui layer's
errors (network, deployments file, bytes) into them at the ledger's public methods."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from wafl_sui.ledger.base import LedgerError
from wafl_sui.ledger.sui.bcs import BcsError
from wafl_sui.ledger.sui.deployments import DeploymentError
from wafl_sui.ledger.sui.network import InsufficientGas, SuiNetworkError



class SuiLedgerError(LedgerError):
    """The Sui ledger could not do what was asked: unreachable or wrong node, missing object,
    no deployment, a refused or failed transaction."""


class InsufficientGasError(SuiLedgerError):
    """The signer cannot pay: `address`, `have` (MIST in SUI coins), `needed` (gas budget, MIST,
    or None when the node could not tell) and `short`."""

    def __init__(self, message: str, address: str, have: int, needed: int | None):
        super().__init__(message)
        self.address, self.have, self.needed = address, have, needed

    @property
    def short(self) -> int | None:
        return None if self.needed is None else max(self.needed - self.have, 0)


class OutcomeUnknown(SuiLedgerError):
    """A transaction was sent but neither its effects nor its result could be read back."""

    def __init__(self, message: str, digest: str):
        super().__init__(message)
        self.digest = digest


def ledger_error(exc: Exception) -> LedgerError:
    """The LedgerError for an error of the Sui layer (network, deployments file, bytes)."""
    if isinstance(exc, InsufficientGas):
        return InsufficientGasError(str(exc), exc.address, exc.have, exc.needed)
    return SuiLedgerError(str(exc))


def translated(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Public methods raise LedgerError (or ProtocolError), never the Sui layer's errors."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (SuiNetworkError, DeploymentError, BcsError) as exc:
            raise ledger_error(exc) from exc

    return wrapper
