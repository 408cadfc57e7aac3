"""What a measurement raises: a measurement that cannot be made (`GasError`), the budget running
out (`OutOfGas`), a Move abort (`MoveAbortError`) and a native's abort (`NativeAbort`)."""

from __future__ import annotations

from wafl_sui.errors import WaflError


class GasError(WaflError, RuntimeError):
    """The measurement could not be made (unsupported bytecode or native, bad arguments)."""


class OutOfGas(Exception):
    """The call ran past the computation budget (as Sui's OUT_OF_GAS)."""


class MoveAbortError(Exception):
    """The measured call aborted: `module`, `code`, and the partial meter at the abort."""

    def __init__(self, module: str, code: int, where: str):
        super().__init__(f"{module}: abort {code} in {where}")
        self.module, self.code, self.where = module, code, where


class NativeAbort(Exception):
    """A native aborted with `code` after charging `cost`."""

    def __init__(self, code: int, cost: int):
        super().__init__(code)
        self.code, self.cost = code, cost
