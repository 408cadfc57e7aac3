"""The meter: a replica of Sui's `GasStatus` (sui-types gas_model/tables.rs), charged the way
`SuiGasMeter` charges it at gas model 11: tiered instruction, stack-height and stack-size costs,
natives (counted as instructions past `NATIVE_CALL_THRESHOLD` native calls), object reads."""

from __future__ import annotations

from wafl_sui.devtools.gas.errors import OutOfGas
from wafl_sui.devtools.gas.schedule import (
    INSTRUCTION_TIERS,
    INTERNAL_PER_UNIT,
    MAX_COMPUTATION_UNITS,
    NATIVE_CALL_THRESHOLD,
    OBJ_ACCESS_COST_READ_PER_BYTE,
    STACK_HEIGHT_TIERS,
    STACK_SIZE_TIERS,
    tier_lookup,
)
from wafl_sui.devtools.gas.values import abstract_size


class Meter:
    """Replica of `GasStatus` (tables.rs): tiered instruction / stack-height / stack-size costs."""

    __slots__ = ("left", "budget", "instructions", "height", "height_max", "size", "natives",
                 "im", "inext", "hm", "hnext", "sm", "snext", "native_internal", "read_internal", "virtual")

    def __init__(self, budget_units: int = MAX_COMPUTATION_UNITS):
        self.budget = budget_units * INTERNAL_PER_UNIT
        self.left = self.budget
        self.instructions = self.height = self.height_max = self.size = self.natives = 0
        self.native_internal = self.read_internal = self.virtual = 0
        self.im, self.inext = tier_lookup(INSTRUCTION_TIERS, 0)
        self.hm, self.hnext = tier_lookup(STACK_HEIGHT_TIERS, 0)
        self.sm, self.snext = tier_lookup(STACK_SIZE_TIERS, 0)

    def charge(self, n: int, pushes: int, pops: int, incr: int) -> None:
        if pushes:
            h = self.height + pushes
            self.height = h
            if h > self.height_max:
                self.height_max = h
            if self.hnext is not None and h > self.hnext:
                self.hm, self.hnext = tier_lookup(STACK_HEIGHT_TIERS, h)
        if n:
            c = self.instructions + n
            self.instructions = c
            if self.inext is not None and c > self.inext:
                self.im, self.inext = tier_lookup(INSTRUCTION_TIERS, c)
        if incr:
            s = self.size + incr
            self.size = s
            if self.snext is not None and s > self.snext:
                self.sm, self.snext = tier_lookup(STACK_SIZE_TIERS, s)
        cost = self.im * n + self.sm * incr + self.hm * pushes
        if cost > self.left:
            self.left = 0
            raise OutOfGas()
        self.left -= cost
        if pops:
            self.height = self.height - pops if self.height > pops else 0

    def deduct(self, amount: int) -> None:
        if amount > self.left:
            self.left = 0
            raise OutOfGas()
        self.left -= amount

    def native_result(self, amount: int, rets: list) -> None:
        """`charge_native_function`: return values pushed; the native's own cost."""
        self.natives += 1
        self.native_internal += amount
        size = 0
        for r in rets:
            size += abstract_size(r)
        if self.natives > NATIVE_CALL_THRESHOLD:
            self.virtual += amount
            self.charge(amount, len(rets), 0, size)
        else:
            self.charge(0, len(rets), 0, size)
            self.deduct(amount)

    def read_bytes(self, n: int) -> None:
        """`charge_storage_read`: input object bytes x obj_access_cost_read_per_byte."""
        amount = n * OBJ_ACCESS_COST_READ_PER_BYTE
        self.read_internal += amount
        self.deduct(amount)

    @property
    def used(self) -> int:
        return self.budget - self.left
