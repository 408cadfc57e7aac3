"""The WaFL protocol: the one definition the circuit, the client and the Move package agree on.

One module per Move module of `move/sources`, with the same name and the same functions:
`spec`, `codec`, `commitment`, `rules`, `round`, `participants`, `budget`, `events`, `task`, `privacy`; plus `step` (the proven training step,
twin of the circuit), `dp_step` and `dp_noise` (the private step and its sampler), `poseidon` (Sui's `poseidon_bn254`) and `errors` (the shared error
names). Everything is pure integer arithmetic on Python ints; docs/PROTOCOL.md writes each
rule down and the tests check the circuit, the JAX path and the Move package against it.
The public names are re-exported here, and this facade is the one way in: code outside
`protocol/` writes `from wafl_sui.protocol import pack, StepSpec` or `from wafl_sui import
protocol; protocol.pack(...)`, never a submodule path (`wafl_sui.protocol.spec`); the submodules
themselves are names of the facade (`protocol.task.create_task`, `from wafl_sui.protocol import
codec`). The hash itself stays `protocol.poseidon.poseidon`, so the submodule name is not
shadowed. `__all__` lists the names; tests/test_architecture.py holds the package to it.
"""

from wafl_sui.protocol.codec import (
    CONTEXT_DOMAIN, G1_BYTES, G2_BYTES, GT_BYTES, MAX_PUBLIC_INPUTS, PACK_BITS, PROOF_BYTES,
    PUBLIC_INPUT_BYTES, PUBLIC_INPUTS, VK_HEADER_BYTES, address_bytes, address_limbs,
    assert_field_element, context_preimage, decode_signed, encode_signed, flatten,
    is_field_element, normalize_address, pack, public_inputs, public_inputs_bytes,
    values_per_element, vk_num_public_inputs, check_verifying_key, INFINITY_FLAG,
)
from wafl_sui.protocol.commitment import context_hash, data_commitment, model_commitment, model_commitment_encoded, tree16
from wafl_sui.protocol.errors import ERRORS, ProtocolError
from wafl_sui.protocol.poseidon import FIELD_MODULUS, PoseidonInputError, poseidon_calls, poseidon_tree16, tree16_shape
from wafl_sui.protocol.participants import MAX_PARTICIPANTS, RANDOMNESS_BYTES
from wafl_sui.protocol.round import MAX_UPDATES_PER_ROUND, MIN_GRACE_MS, RoundRules, new_rules, validate_round_rules
from wafl_sui.protocol.rules import (
    AGG_FEDAVG, AGG_MEDIAN, AGG_TRIMMED_MEAN, AGGREGATION_RULES, BPS, RULE_NAMES, AggregationRule, add_to_sums,
    aggregate, check_updates, fedavg, fedavg_from_sums, median, new_aggregation, trim_count, trimmed_mean,
    validate_rule,
)
from wafl_sui.protocol.spec import (
    BOUND_SATURATION, CarriedBounds, DEFAULT_ACT_BITS, DEFAULT_ACT_FRAC_BITS, DIGITS_SPEC_DEFAULTS, MAX_HIDDEN_LAYERS,
    MAX_INTERMEDIATE_BITS, WIDE_FORMAT, LayerBounds, StepSpec, bit_length, check_lr_q, layer_bounds, lr_to_fixed,
    carried_bounds, carried_max_bits, max_intermediate_bits, mul_sat, validate_spec, validate_weights, validate_weights_signed,
)
from wafl_sui.protocol.step import (
    carry_weights, check_batch, exact_step, forward, hard_sigmoid_fixed, layer_matrices, local_training, relu_fixed,
    round_carried, train_step,
)
from wafl_sui.protocol import (  # noqa: E402  (the submodules: protocol.task.create_task, ...)
    budget, codec, commitment, dp_noise, dp_step, errors, events, manifest, participants, poseidon, privacy, round,
    rules, spec, step, task,
)
from wafl_sui.protocol.task import TaskState

PROTOCOL_VERSION = 1

__all__ = [
    # submodules (one per Move module, plus step, poseidon, errors)
    "budget", "codec", "commitment", "errors", "events", "manifest", "participants", "poseidon", "round", "rules", "spec", "step", "task",
    "privacy", "dp_step", "dp_noise",
    # codec
    "CONTEXT_DOMAIN", "G1_BYTES", "G2_BYTES", "GT_BYTES", "MAX_PUBLIC_INPUTS", "PACK_BITS", "PROOF_BYTES",
    "PUBLIC_INPUT_BYTES", "PUBLIC_INPUTS", "VK_HEADER_BYTES", "address_bytes", "address_limbs",
    "assert_field_element", "context_preimage", "decode_signed", "encode_signed", "flatten",
    "is_field_element", "normalize_address", "pack", "public_inputs", "public_inputs_bytes",
    "values_per_element", "vk_num_public_inputs", "check_verifying_key", "INFINITY_FLAG",
    # commitment
    "context_hash", "data_commitment", "model_commitment", "model_commitment_encoded", "tree16",
    # errors, poseidon
    "ERRORS", "ProtocolError", "FIELD_MODULUS", "PoseidonInputError", "poseidon_calls", "poseidon_tree16",
    "tree16_shape",
    # round, rules
    "MAX_PARTICIPANTS", "RANDOMNESS_BYTES", "MAX_UPDATES_PER_ROUND", "MIN_GRACE_MS", "RoundRules", "new_rules", "validate_round_rules",
    "AGG_FEDAVG", "AGG_MEDIAN", "AGG_TRIMMED_MEAN", "AGGREGATION_RULES", "BPS", "RULE_NAMES", "AggregationRule",
    "add_to_sums", "aggregate", "check_updates", "fedavg", "fedavg_from_sums", "median", "new_aggregation",
    "trim_count", "trimmed_mean", "validate_rule",
    # spec, step, task
    "DIGITS_SPEC_DEFAULTS", "MAX_INTERMEDIATE_BITS", "WIDE_FORMAT", "StepSpec", "bit_length", "check_lr_q",
    "lr_to_fixed", "max_intermediate_bits", "validate_spec", "validate_weights", "validate_weights_signed",
    "check_batch", "hard_sigmoid_fixed", "local_training", "train_step", "TaskState",
    "BOUND_SATURATION", "DEFAULT_ACT_BITS", "DEFAULT_ACT_FRAC_BITS", "MAX_HIDDEN_LAYERS", "LayerBounds",
    "layer_bounds", "mul_sat", "forward", "layer_matrices", "relu_fixed",
    "CarriedBounds", "carried_bounds", "carried_max_bits", "carry_weights", "exact_step", "round_carried",
    "PROTOCOL_VERSION",
]
