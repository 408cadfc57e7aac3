"""`GasReport`: what one transaction of the offline chain cost (instructions, natives, internal
gas, computation units charged, stack, storage written / rebated, MIST), and what it returned."""

from __future__ import annotations

from dataclasses import dataclass, field

from wafl_sui.devtools.gas.schedule import (
    INTERNAL_PER_UNIT,
    REFERENCE_GAS_PRICE_MIST,
    STORAGE_PRICE_MIST,
    storage_units,
    sui,
)


@dataclass
class GasReport:
    """What one transaction cost. Units are computation units unless named otherwise."""
    call: str
    ok: bool
    abort: str | None
    out_of_gas: bool
    instructions: int  # executed: bytecodes + the call / native-call charges, as the VM counts
    native_calls: int
    native_internal: int
    internal_gas: int  # Move execution + object reads, as the meter counts (1000 per unit)
    read_bytes: int  # input / loaded child object bytes charged at 15 internal per byte
    stack_height_max: int
    stack_bytes: int  # the stack size Sui charges for (total bytes pushed)
    computation_units: int  # charged (rounded as Sui does); the whole budget on out-of-gas
    budget_units: int
    storage_written_bytes: int = 0
    storage_rebated_bytes: int = 0
    storage_cost_mist: int = 0
    storage_rebate_mist: int = 0  # what the sender gets back (99%)
    created: int = 0
    mutated: int = 0
    deleted: int = 0
    events: list = field(default_factory=list)  # [(type string, BCS bytes)]
    returns: list = field(default_factory=list)
    sandbox_gas_used: int | None = None
    virtual_instructions: int = 0  # natives' costs counted as instructions past 700 native calls

    @property
    def meter_instructions(self) -> int:
        """The count Sui's instruction tiers run on (executed + virtual)."""
        return self.instructions + self.virtual_instructions

    @property
    def execution_units(self) -> float:
        """Unrounded computation units of the Move execution and reads."""
        return self.internal_gas / INTERNAL_PER_UNIT

    @property
    def storage_units(self) -> int:
        return storage_units(self.storage_written_bytes)

    def computation_mist(self, gas_price: int = REFERENCE_GAS_PRICE_MIST) -> int:
        return self.computation_units * gas_price

    def total_mist(self, gas_price: int = REFERENCE_GAS_PRICE_MIST, storage_price: int = STORAGE_PRICE_MIST) -> int:
        """Net MIST: computation + storage - rebate (storage as priced by `storage_price`)."""
        scale = storage_price / STORAGE_PRICE_MIST
        return self.computation_mist(gas_price) + round((self.storage_cost_mist - self.storage_rebate_mist) * scale)

    def total_sui(self, gas_price: int = REFERENCE_GAS_PRICE_MIST) -> float:
        return sui(self.total_mist(gas_price))

    def fits(self, budget_units: int) -> bool:
        return self.ok and self.computation_units <= budget_units

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in (
            "call", "ok", "abort", "out_of_gas", "instructions", "native_calls", "native_internal", "internal_gas",
            "read_bytes", "stack_height_max", "stack_bytes", "computation_units", "budget_units",
            "storage_written_bytes", "storage_rebated_bytes", "storage_cost_mist", "storage_rebate_mist",
            "created", "mutated", "deleted", "sandbox_gas_used", "virtual_instructions")}
        d["events"] = [t for t, _ in self.events]
        d["total_mist"] = self.total_mist()
        return d
