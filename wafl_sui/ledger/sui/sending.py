"""The sending half of `SuiLedger`: reads retried with backoff, the signature check against the
deployed package, the simulation that sets the gas budget, signing, sending safe to repeat, and
topping a signer up from the faucet.

A mixin over the ledger's state: `client`, `network`, `url`, `retries`, `backoff_s`, `_sleep`,
`read_only`, `check_signatures`, `max_budget`, `gas_margin`, `gas_price`, `faucet`, `_pkg`,
`package_id`, `_package()` and `_ensure_chain()`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from wafl_sui.errors import WaflError
from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.sui.aborts import to_protocol_error
from wafl_sui.ledger.sui.client import TxEffects
from wafl_sui.ledger.sui.errors import InsufficientGasError, OutcomeUnknown, SuiLedgerError
from wafl_sui.ledger.sui.network import InsufficientGas, SuiNetworkError, SuiUnreachable
from wafl_sui.ledger.sui.transactions import ProgrammableTransaction, TransactionData

log = logging.getLogger(__name__)
FUND_WAIT_S = 60.0


class Sending:
    """Simulate, sign and send transactions for a `SuiLedger` (see the module doc)."""

    client: Any
    network: str
    retries: int
    backoff_s: float
    _sleep: Callable[[float], None]
    read_only: bool
    check_signatures: bool
    max_budget: int
    gas_margin: float
    gas_price: int | None
    faucet: bool | str
    _pkg: Any

    def _read(self, fn: Callable[[], Any]) -> Any:
        """A read (or a simulation): retried with backoff while the node is unreachable."""
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except SuiUnreachable:
                if attempt == self.retries:
                    raise
                self._sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _check(self, kind: ProgrammableTransaction, types: Mapping[str, str]) -> None:
        if not self.check_signatures:
            return
        from wafl_sui.contract.signatures import SignatureMismatch, check_transaction

        try:
            check_transaction(kind, self._package().sigs, self.package_id, types)
        except SignatureMismatch as exc:
            raise SuiLedgerError(
                f"this WaFL does not match the package {self.package_id} deployed on {self.network}: {exc}; "
                "publish this version (`wafl deploy`) or use the matching WaFL"
            ) from None

    def _failure(self, eff: TxEffects, what: str, simulated: bool) -> Exception:
        where = (
            "in the simulation; nothing was sent or spent"
            if simulated
            else f"in transaction {eff.digest} ({eff.gas.net} MIST of gas charged)"
        )
        if eff.abort is not None:
            err = to_protocol_error(eff.abort)
            if err is not None:
                name = err.name  # type: ignore[attr-defined]
                from wafl_sui.protocol import ProtocolError

                return ProtocolError(name, f"{eff.abort.message or eff.abort} ({what} aborted {where})")
            return SuiLedgerError(f"{what} aborted {where}: {eff.abort}")
        return SuiLedgerError(f"{what} failed {where}: {eff.error}")

    def _lookup(self, digest: str, raw: bytes | None = None) -> TxEffects | None:
        """The effects of `digest`, or None when the node does not know it (yet) or is unreachable."""
        try:
            eff = self.client.transaction(digest, self._pkg.modules if self._pkg else None)
        except SuiNetworkError:
            return None
        if raw is not None:
            self.client._remember_gas(raw, eff)
        return eff

    def _send(self, raw: bytes, signature: str, digest: str, done: Callable[[], bool] | None) -> TxEffects | None:
        """Execute signed bytes; on a lost answer read the chain before sending the same bytes
        again. None: the chain shows the operation done (`done()`) but its transaction is not
        visible yet."""
        modules = self._pkg.modules if self._pkg else None
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
                eff = self._lookup(digest, raw)
                if eff is not None:
                    return eff
                if done is not None:
                    try:
                        finished = done()
                    except (WaflError, SuiNetworkError):
                        finished = False
                    if finished:
                        for k in range(self.retries):
                            self._sleep(self.backoff_s * 2**k)
                            eff = self._lookup(digest, raw)
                            if eff is not None:
                                return eff
                        return None
                log.info("re-sending transaction %s (attempt %d): %s", digest, attempt + 1, last)
            try:
                return self.client.execute(raw, [signature], modules)
            except SuiUnreachable as exc:
                last = exc
                continue
            except SuiNetworkError as exc:
                eff = self._lookup(digest, raw) if attempt else None
                if eff is not None:  # refused as a duplicate of what already executed
                    return eff
                raise SuiLedgerError(f"the node at {self.url} refused the transaction {digest}: {exc}") from None
        eff = self._lookup(digest, raw)
        if eff is not None:
            return eff
        raise OutcomeUnknown(
            f"transaction {digest} was sent to {self.url} but no answer came back after {self.retries + 1} "
            f"attempts ({last}); it may still execute: look it up by digest before retrying",
            digest,
        )

    def _transact(
        self,
        ident: Identity,
        kind: ProgrammableTransaction,
        what: str,
        types: Mapping[str, str],
        done: Callable[[], bool] | None = None,
    ) -> TxEffects | None:
        if self.read_only:
            raise SuiLedgerError(f"this ledger was opened read-only; {what} was not sent")
        self._ensure_chain(check_deployment=what != "publish")
        pkg = None if what == "publish" else self._package()
        if pkg is not None:
            self._check(kind, types)
        modules = pkg.modules if pkg else None

        def prepare() -> tuple[TransactionData, TxEffects]:
            for attempt in range(self.retries + 1):
                try:
                    return self._read(
                        lambda: self.client.prepare(
                            kind, ident.address, max_budget=self.max_budget, margin=self.gas_margin,
                            gas_price=self.gas_price, modules=modules,
                        )
                    )  # fmt: skip
                except InsufficientGas:
                    raise
                except SuiNetworkError as exc:
                    # a gas coin listed at a version already spent (the owned-object index lags a
                    # checkpoint): nothing was sent, so wait and build again
                    if "not available" not in str(exc) or attempt == self.retries:
                        raise
                    self._sleep(self.backoff_s * 2**attempt)
            raise AssertionError("unreachable")  # pragma: no cover

        try:
            tx, sim = prepare()
        except InsufficientGas as exc:
            if not self.faucet:
                raise
            self._fund(ident.address, exc)
            tx, sim = prepare()
        if not sim.success:
            raise self._failure(sim, what, simulated=True)
        raw = tx.to_bcs()
        eff = self._send(raw, ident.sign_transaction(raw), tx.digest(), done)
        if eff is not None and not eff.success:
            if eff.error_kind in ("INSUFFICIENT_GAS",):
                raise InsufficientGasError(
                    f"{what} ran out of gas in transaction {eff.digest} (budget {tx.gas_data.budget} MIST); "
                    "the chain state changed since the simulation: try again",
                    ident.address,
                    tx.gas_data.budget,
                    None,
                )
            raise self._failure(eff, what, simulated=False)
        return eff

    def _fund(self, address: str, short: InsufficientGas) -> None:
        """Ask the faucet for gas for `address` and wait until its coins show."""
        from wafl_sui.ledger.sui.faucet import request_gas

        url = self.faucet if isinstance(self.faucet, str) else None
        log.info("funding %s from the %s faucet (%s)", address, self.network, short)
        request_gas(address, self.network, url=url)
        deadline = time.monotonic() + FUND_WAIT_S
        while True:
            coins = self._read(lambda: self.client.gas_coins(address))
            have = sum(c.balance or 0 for c in coins)
            if have > short.have and (short.needed is None or have >= short.needed):
                return
            if time.monotonic() > deadline:
                raise SuiLedgerError(
                    f"the {self.network} faucet was asked for gas for {address} but after {FUND_WAIT_S:.0f} s it has "
                    f"{have} MIST ({short})"
                )
            self._sleep(0.5)
