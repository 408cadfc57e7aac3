"""Sui's gas schedule, as documented: the cost tables of gas model 11 (cost table v5), the
protocol-config constants of Mainnet v110 (computation cap, rounding, object reads, storage,
rebates, natives' costs), and the pure arithmetic on them: tiers, units, rounding, storage units,
rebates, MIST and SUI."""

from __future__ import annotations

from typing import Sequence

#: `initial_cost_schedule_v5` (sui-types gas_model/tables.rs; gas model versions >= 8):
#: (tier start, multiplier). The multiplier applies once the running count EXCEEDS the start.
INSTRUCTION_TIERS: tuple[tuple[int, int], ...] = (
    (0, 1), (20_000, 2), (50_000, 10), (100_000, 50), (200_000, 100), (10_000_000, 1000),
)
STACK_HEIGHT_TIERS: tuple[tuple[int, int], ...] = ((0, 1), (1_000, 2), (10_000, 10))
STACK_SIZE_TIERS: tuple[tuple[int, int], ...] = (
    (0, 1), (100_000, 2), (500_000, 5), (1_000_000, 100), (100_000_000, 1000),
)
#: Internal gas per computation unit (`GasStatus::INTERNAL_UNIT_MULTIPLIER`).
INTERNAL_PER_UNIT = 1000
#: Native calls after which a native's cost counts as instructions (`V2_NATIVE_FUNCTION_CALL_THRESHOLD`).
NATIVE_CALL_THRESHOLD = 700
GAS_MODEL_VERSION = 11
PROTOCOL_VERSION = 110
#: Protocol config (Mainnet v110): per-transaction computation cap, rounding, base cost.
MAX_COMPUTATION_UNITS = 5_000_000  # max_gas_computation_bucket
GAS_ROUNDING_STEP = 1000  # gas_rounding_step (superseded by gas_rounding_halve_digits, see round_units)
BASE_TX_COST_FIXED = 1000  # units x gas price = the minimum budget (txn_base_cost_as_multiplier)
OBJ_ACCESS_COST_READ_PER_BYTE = 15  # internal gas per byte of each input object read
OBJ_DATA_COST_REFUNDABLE = 100  # storage units per byte of object stored
STORAGE_REBATE_RATE_BPS = 9900  # the sender gets 99% of a deleted / rewritten object's storage back
#: Prices (MIST; 1 SUI = 1e9 MIST). The reference gas price is set per epoch by validators
#: (750 at the time of writing on Mainnet / sui-sandbox's default); the storage price is a
#: protocol constant (storage_gas_price).
REFERENCE_GAS_PRICE_MIST = 750
STORAGE_PRICE_MIST = 76
MIST_PER_SUI = 1_000_000_000
#: Object metadata counted by `Object::object_size_for_gas_metering`: size_of::<Owner>() (40) +
#: TransactionDigest (32) + u64 (8); a Move object adds its type tag (BCS) + 1 + 8 (version).
OBJECT_METADATA_BYTES = 80
#: Dynamic-field child objects loaded from storage during execution are charged like input
#: objects, obj_access_cost_read_per_byte per byte of the object (an assumption: Sui's object
#: runtime charges loads, `object_runtime_charge_cache_load_gas`, by rules not modelled here).
CHILD_READ_PER_BYTE = OBJ_ACCESS_COST_READ_PER_BYTE

#: Native cost constants (InternalGas), Mainnet protocol v110.
NATIVE_COSTS = {
    "address_from_bytes": 52, "address_to_u256": 52, "address_from_u256": 52,
    "df_hash_base": 52, "df_hash_type_per_byte": 2, "df_hash_value_per_byte": 2, "df_hash_tag_per_byte": 2,
    "df_add_base": 52, "df_add_type_per_byte": 10, "df_add_value_per_byte": 1, "df_add_tag_per_byte": 10,
    "df_borrow_base": 52, "df_borrow_child_per_byte": 1, "df_borrow_type_per_byte": 10,
    "df_remove_base": 52, "df_remove_child_per_byte": 1, "df_remove_type_per_byte": 2,
    "df_has_base": 52, "df_has_ty_base": 52, "df_has_ty_type_per_byte": 2, "df_has_ty_tag_per_byte": 2,
    "event_base": 52, "event_value_per_byte": 2, "event_tag_per_byte": 5, "event_output_per_byte": 10,
    "object_borrow_uid": 52, "object_delete_impl": 52, "object_record_new_uid": 52,
    "transfer_internal": 52, "freeze_object": 52, "share_object": 52, "receive_object": 52,
    "tx_derive_id": 52, "tx_fresh_id": 52, "tx_context_getter": 30,
    "groth16_prepare_bn254": 82010, "groth16_verify_bn254_base": 115502,
    "groth16_verify_bn254_per_input": 9484, "groth16_verify_input_per_byte": 2,
    "groth16_prepare_bls12381": 53838, "groth16_verify_bls12381_base": 72090,
    "groth16_verify_bls12381_per_input": 8213,
    "poseidon_bn254_base": 260, "poseidon_bn254_per_block": 388,
    "blake2b256_base": 10, "blake2b256_per_byte": 2, "blake2b256_per_block": 2,
    "keccak256_base": 10, "keccak256_per_byte": 2, "keccak256_per_block": 2,
    "sha2_256_base": 52, "sha2_256_per_byte": 2, "sha3_256_base": 52, "sha3_256_per_byte": 2,
    "bcs_per_byte": 2, "bcs_legacy_min_output": 1,
    "type_name_get_base": 52, "type_name_get_per_byte": 2,
    "string_check_utf8_base": 52, "string_check_utf8_per_byte": 2,
    "string_is_char_boundary": 52, "string_sub_string_base": 52, "string_sub_string_per_byte": 2,
    "string_index_of_base": 52, "string_index_of_per_byte": 2,
    "vector_base": 52, "vector_reverse_per_elem": 8,
    "debug_print": 52, "crypto_invalid_args": 100,
}


def tier_lookup(tiers: Sequence[tuple[int, int]], current: int) -> tuple[int, int | None]:
    """Sui's `CostTable::get_current_and_future_tier`: the multiplier of the tier with the
    largest start <= `current`, and the start of the next tier (> current), if any."""
    mult = tiers[0][1]
    nxt = None
    for start, m in tiers:
        if start <= current:
            mult = m
        else:
            nxt = start
            break
    return mult, nxt


def instruction_cost(n: int, tiers: Sequence[tuple[int, int]] = INSTRUCTION_TIERS) -> int:
    """Internal gas of the first `n` instructions of a transaction counted one at a time:
    instruction k (1-based) costs the multiplier of the tier with the largest start < k."""
    if n < 0:
        raise ValueError("n must be >= 0")
    total = 0
    for idx, (start, mult) in enumerate(tiers):
        end = tiers[idx + 1][0] if idx + 1 < len(tiers) else None
        lo = start  # instructions start+1 .. end are in this tier
        hi = n if end is None else min(n, end)
        if hi > lo:
            total += (hi - lo) * mult
    return total


def instruction_units(n: int) -> float:
    """Computation units of `n` instructions alone (no stack, natives or reads)."""
    return instruction_cost(n) / INTERNAL_PER_UNIT


def round_units(units: int, step: int | None = None) -> int:
    """Sui's rounding of the computation units a transaction is charged. With the protocol
    flag `gas_rounding_halve_digits` (on at v110) it is `half_digits_rounding`: at least 1000,
    else rounded up to keep the leading half of the digits (1001 -> 1010, 711,234 -> 711,300).
    With `step`, the older `gas_rounding_step` rounding: up to the next multiple of `step`
    (a positive exact multiple stays; 0 becomes one step)."""
    if step is not None:
        if units > 0 and units % step == 0:
            return units
        return (units // step + 1) * step
    if units < 1000:
        return 1000
    base = 10 ** ((len(str(units)) - 1) // 2)
    return -(-units // base) * base


def computation_units(internal_gas: int) -> int:
    """Charged computation units of a transaction whose meter used `internal_gas`."""
    return round_units(internal_gas // INTERNAL_PER_UNIT)


def storage_units(object_bytes: int) -> int:
    """Storage units of `object_bytes` bytes of objects (obj_data_cost_refundable per byte)."""
    return object_bytes * OBJ_DATA_COST_REFUNDABLE


def rebate_mist(storage_mist: int) -> int:
    """What the sender gets back of an object's stored `storage_mist` when it is deleted or
    rewritten (`sender_rebate`: 99%, rounded half up)."""
    return (storage_mist * STORAGE_REBATE_RATE_BPS + 5000) // 10000


def mist(units: int = 0, storage_bytes: int = 0, rebate_bytes: int = 0,
         gas_price: int = REFERENCE_GAS_PRICE_MIST, storage_price: int = STORAGE_PRICE_MIST) -> int:
    """Net MIST of `units` computation units at `gas_price` plus `storage_bytes` written at
    `storage_price`, less the rebate of `rebate_bytes` deleted / rewritten (assuming they were
    stored at the same storage price)."""
    comp = units * gas_price
    store = storage_units(storage_bytes) * storage_price
    rebate = rebate_mist(storage_units(rebate_bytes) * storage_price)
    return comp + store - rebate


def sui(mist_amount: int) -> float:
    return mist_amount / MIST_PER_SUI
