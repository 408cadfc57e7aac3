"""Gas of the WaFL Move package under Sui's gas schedule, measured offline.

No Sui node or CLI is needed. `measure(...)` runs one Move call (or a programmable transaction
of several calls) of the built package in a small Move bytecode interpreter (this package), and charges every step to a replica of Sui's Move gas meter (`GasStatus` of
`sui-types/src/gas_model/tables.rs` driven the way `sui-adapter`'s `SuiGasMeter` drives it at
gas model version 11, cost table v5). What is counted, exactly:

* instructions: one per bytecode executed (a `Call` of a native counts twice: the VM's
  `charge_call` + `charge_native_function_before_execution`, gas model <= 13), as the meter
  counts them; past 700 native calls Sui adds each native's own cost to the instruction count
  ("virtual instructions", reported apart as `virtual_instructions`; the tiers use the sum).
* stack height and stack size: pushes and the abstract memory size (Move VM `abstract_memory_size`,
  gas model >= 8 sizes: 8 bytes per integer < u128 and per bool, 16 / 32 for u128 / u256, 32 per
  address, 2 per struct or vector header, packed bytes for vectors of primitives) of every value
  the meter is told about. Sui never decreases the stack size it charges for, so it is the total
  of bytes pushed; its tiers (x100 per byte past 1 MB) dominate big aggregations.
* natives: the cost formula of each native this package reaches, with the protocol-config
  constants below (Mainnet protocol version 110; `sui::groth16` and `sui::poseidon` included).
* computation units = internal gas / 1000 (Move execution, plus the per-byte read charge of
  input objects and of dynamic-field objects loaded), rounded up as Sui does with
  `gas_rounding_halve_digits` (at least 1000, half the digits kept); a transaction aborts with
  out-of-gas at `max_gas_computation_bucket` = 5,000,000 units.
* storage: the object bytes written (`object_size_for_gas_metering`: BCS contents + type tag + 9,
  + 80 bytes of metadata) x 100 storage units per byte x 76 MIST, and the 99% rebate of objects
  deleted or rewritten.

The interpreter implements every bytecode of Move binary format v6/v7 that Sui Move has (the
modules are read by `wafl_sui.contract.bytecode`, the project's one reader) and the natives reached by
this package (object, tx_context, transfer, event, dynamic_field, bcs, address, hash, vector,
string utf8, poseidon, groth16). The Groth16 pairing check itself is not computed: `verify_groth16_proof`
returns `accept_proofs` (True: the measured path is an accepted update); its *cost* is Sui's.
Poseidon is computed for real (`wafl_sui.protocol.poseidon`). Integer overflow of u8..u64
arithmetic is checked at 64 bits only (the package never overflows on its accepted paths; the
state each measured call leaves is checked against the Move VM of sui-sandbox by the tests).

The interpreter's results were checked against the Move VM of sui-sandbox: the same return
values and object bytes (task submit / aggregate with stand-ins for the two natives it lacks),
and, metered with the sandbox's own meter (`profile="sandbox"`), exactly its `gas_used` (see
tests/test_gas.py).

API
  measure(module, function, args, type_args=(), *, build | modules, objects, child_objects,
          sender, now_ms, budget_units, profile, sandbox) -> GasReport
      one call, arguments as the sui-sandbox harness takes them (`objects` first, then pure
      `(type, value)` args); `sandbox=True` also records sui-sandbox's raw `gas_used`.
  Chain(build).call(module, function, args, ...) / .ptb([MoveCall(...), ...]) -> GasReport
      an offline ledger: objects persist between transactions; `Obj(id)`, `Res(i, j)` arguments.
  TaskFlow(chain, spec, rule, quorum=...): create() / submit() / fill(n) / aggregate() /
      discard() -> the WaFL entry functions with the API the built package has.
  PrivateTaskFlow(chain, spec, rule, dp=DpParams, quorum=...): a private task: setup()
      (create_task, set_privacy, register_private per sender, round 0 opened) / submit()
      (submit_private_update) / contributions(k), plus TaskFlow's aggregate() / discard().
  GasReport: instructions, native_calls, internal_gas, computation_units (charged), stack
      bytes, storage_written_bytes / storage_rebated_bytes, storage_cost_mist /
      storage_rebate_mist, total_mist(gas_price), events, returns, sandbox_gas_used.
  Pure: instruction_cost(n) / instruction_units(n) (the tier arithmetic), tier_lookup,
      round_units, computation_units(internal), storage_units(bytes), rebate_mist, mist(...),
      sui(mist); constants INSTRUCTION_TIERS, STACK_SIZE_TIERS, ..., NATIVE_COSTS.
See benchmarks/bench_gas.py and benchmarks/GAS.md for the measured figures.

Modules: `schedule` (Sui's cost tables and protocol constants, the pure unit / MIST arithmetic),
`errors`, `types` (runtime types: text, parsing, BCS type tags), `values` (runtime values, copies,
equality, abstract memory size), `meter` (`Meter`, the replica of GasStatus), `loader` (`Module`,
a `bytecode.CompiledModule` ready to run; `Loader`; `framework_modules`), `interpreter`,
`natives`, `runtime` (`StoredObject`, object sizes, the object runtime of one transaction),
`report` (`GasReport`), `chain` (`Chain`, `MoveCall`, `Obj`, `Res`), `flow` (`TaskFlow`,
`Aggregation`), `private_flow` (`PrivateTaskFlow`) and `measurement` (`measure`, `sandbox_gas_used`).
"""

from __future__ import annotations

from wafl_sui.devtools.gas.chain import (
    CLOCK_ID,
    CLOCK_TYPE,
    DEFAULT_SENDER,
    GAS_COIN_BYTES,
    TX_CONTEXT_TYPE,
    Chain,
    MoveCall,
    Obj,
    Res,
)
from wafl_sui.devtools.gas.errors import GasError, MoveAbortError, NativeAbort, OutOfGas
from wafl_sui.devtools.gas.flow import RULES, SPEC_FIELDS, STAND_IN_VK, Aggregation, TaskFlow, sender_address
from wafl_sui.devtools.gas.interpreter import Interpreter
from wafl_sui.devtools.gas.loader import Datatype, Function, Loader, Module, framework_modules
from wafl_sui.devtools.gas.measurement import measure, sandbox_gas_used
from wafl_sui.devtools.gas.meter import Meter
from wafl_sui.devtools.gas.private_flow import DEFAULT_DP, PrivateTaskFlow
from wafl_sui.devtools.gas.natives import NATIVES
from wafl_sui.devtools.gas.report import GasReport
from wafl_sui.devtools.gas.runtime import Runtime, StoredObject, object_id, object_size_for_gas
from wafl_sui.devtools.gas.schedule import (
    BASE_TX_COST_FIXED,
    CHILD_READ_PER_BYTE,
    GAS_MODEL_VERSION,
    GAS_ROUNDING_STEP,
    INSTRUCTION_TIERS,
    INTERNAL_PER_UNIT,
    MAX_COMPUTATION_UNITS,
    MIST_PER_SUI,
    NATIVE_CALL_THRESHOLD,
    NATIVE_COSTS,
    OBJ_ACCESS_COST_READ_PER_BYTE,
    OBJ_DATA_COST_REFUNDABLE,
    OBJECT_METADATA_BYTES,
    PROTOCOL_VERSION,
    REFERENCE_GAS_PRICE_MIST,
    STACK_HEIGHT_TIERS,
    STACK_SIZE_TIERS,
    STORAGE_PRICE_MIST,
    STORAGE_REBATE_RATE_BPS,
    computation_units,
    instruction_cost,
    instruction_units,
    mist,
    rebate_mist,
    round_units,
    storage_units,
    sui,
    tier_lookup,
)
from wafl_sui.devtools.gas.types import PRIM_WIDTH, address_bytes, parse_type, struct_tag_bcs, type_str, type_tag_bcs
from wafl_sui.devtools.gas.values import U128, U256, Ref, Struct, Variant, Vec, abstract_size, copy_value, values_equal

__all__ = [
    # measuring
    "measure", "sandbox_gas_used", "Chain", "MoveCall", "Obj", "Res", "TaskFlow", "PrivateTaskFlow", "DEFAULT_DP",
    "Aggregation", "GasReport",
    "sender_address", "RULES", "SPEC_FIELDS", "STAND_IN_VK", "CLOCK_ID", "CLOCK_TYPE", "TX_CONTEXT_TYPE",
    "DEFAULT_SENDER", "GAS_COIN_BYTES", "StoredObject", "object_id", "object_size_for_gas",
    # errors
    "GasError", "OutOfGas", "MoveAbortError", "NativeAbort",
    # the schedule and its arithmetic
    "INSTRUCTION_TIERS", "STACK_HEIGHT_TIERS", "STACK_SIZE_TIERS", "INTERNAL_PER_UNIT", "NATIVE_CALL_THRESHOLD",
    "GAS_MODEL_VERSION", "PROTOCOL_VERSION", "MAX_COMPUTATION_UNITS", "GAS_ROUNDING_STEP", "BASE_TX_COST_FIXED",
    "OBJ_ACCESS_COST_READ_PER_BYTE", "OBJ_DATA_COST_REFUNDABLE", "STORAGE_REBATE_RATE_BPS",
    "REFERENCE_GAS_PRICE_MIST", "STORAGE_PRICE_MIST", "MIST_PER_SUI", "OBJECT_METADATA_BYTES",
    "CHILD_READ_PER_BYTE", "NATIVE_COSTS", "tier_lookup", "instruction_cost", "instruction_units", "round_units",
    "computation_units", "storage_units", "rebate_mist", "mist", "sui",
    # the machine
    "Meter", "Interpreter", "NATIVES", "Runtime", "Loader", "Module", "Function", "Datatype", "framework_modules",
    "U128", "U256", "Vec", "Struct", "Variant", "Ref", "copy_value", "abstract_size", "values_equal",
    "PRIM_WIDTH", "address_bytes", "parse_type", "type_str", "type_tag_bcs", "struct_tag_bcs",
]
