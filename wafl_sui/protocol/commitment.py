"""Poseidon commitments (twin of `move/sources/commitment.move`): the model commitment (16-ary
Poseidon tree over the packed offset-encoded weights), the context hash that binds a proof to
one task, sender, round and learning rate, and the client's hiding data commitment."""

from __future__ import annotations

from typing import Sequence

from wafl_sui.protocol.codec import context_preimage, encode_signed, pack
from wafl_sui.protocol.errors import ProtocolError
from wafl_sui.protocol import poseidon as hashing
from wafl_sui.protocol.poseidon import FIELD_MODULUS
from wafl_sui.protocol.spec import StepSpec, validate_weights, validate_weights_signed
from wafl_sui.protocol.step import check_batch



def tree16(leaves: Sequence[int]) -> int:
    """16-ary Poseidon tree (`commitment::tree16`; the construction is `poseidon.poseidon_tree16`)."""
    return hashing.poseidon_tree16(leaves)


def model_commitment(weights: Sequence[int], spec: StepSpec) -> int:
    """Commitment of a model: tree16 Poseidon of its offset-encoded weights, packed."""
    validate_weights_signed(weights, spec)
    return tree16(pack([encode_signed(w, spec.weight_bits) for w in weights], spec.weight_bits))


def model_commitment_encoded(encoded: Sequence[int], spec: StepSpec) -> int:
    """The same commitment from offset-encoded weights (what the contract receives)."""
    validate_weights(encoded, spec)
    return tree16(pack(list(encoded), spec.weight_bits))


def data_commitment(
    features: Sequence[Sequence[int]], labels: Sequence[Sequence[int]], salt: int, spec: StepSpec
) -> int:
    """Hiding commitment of the proof's private batch(es).

    features: local_steps*B rows of D quantized features; labels: local_steps*B one-hot rows of C.
    h = tree16([salt] ++ pack(encode(features), BX) ++ pack(labels, 1)).
    """
    if not 0 <= salt < FIELD_MODULUS:
        raise ProtocolError("EValueOutOfBounds", "salt must be a field element in [0, r)")
    check_batch(features, labels, spec)
    xs = [encode_signed(v, spec.feature_bits) for row in features for v in row]
    ys = [int(v) for row in labels for v in row]
    return tree16([salt] + pack(xs, spec.feature_bits) + pack(ys, 1))


def context_hash(task_id: bytes | str, sender: bytes | str, round_: int, lr_q: int) -> int:
    """Binds a proof to one task, one sender, one round and the task's learning rate."""
    return hashing.poseidon(context_preimage(task_id, sender, round_, lr_q))
