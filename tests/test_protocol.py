"""The protocol reference: fixed point, packing, commitments, the exact step, aggregation rules."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wafl_sui import protocol as P
from wafl_sui.protocol.poseidon import FIELD_MODULUS, poseidon, poseidon_tree16

SMALL = P.StepSpec(features=3, classes=2, batch_size=2)


def _rand_model(spec, rng):
    return [rng.randint(spec.weight_min, spec.weight_max) for _ in range(spec.num_weights)]


def _rand_batch(spec, rng):
    n = spec.batch_size * spec.local_steps
    x = [[rng.randint(spec.feature_min, spec.feature_max) for _ in range(spec.features)] for _ in range(n)]
    y = []
    for _ in range(n):
        row = [0] * spec.classes
        row[rng.randrange(spec.classes)] = 1
        y.append(row)
    return x, y


@given(st.integers(2, 32), st.data())
def test_offset_encoding_round_trip(bits, data):
    v = data.draw(st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1))
    u = P.encode_signed(v, bits)
    assert 0 <= u < (1 << bits) and P.decode_signed(u, bits) == v


def test_encoding_out_of_range_is_rejected():
    with pytest.raises(P.ProtocolError) as e:
        P.encode_signed(1 << 23, 24)
    assert e.value.name == "EValueOutOfBounds"


@given(st.integers(1, 32), st.lists(st.integers(0, 1 << 32), max_size=40))
def test_pack_is_little_endian_limbs_below_the_field(bits, raw):
    vals = [v % (1 << bits) for v in raw]
    packed = P.pack(vals, bits)
    per = P.PACK_BITS // bits
    assert len(packed) == -(-len(vals) // per)
    for j, elem in enumerate(packed):
        assert 0 <= elem < FIELD_MODULUS
        for k, v in enumerate(vals[j * per : (j + 1) * per]):
            assert (elem >> (bits * k)) & ((1 << bits) - 1) == v


def test_model_commitment_is_tree_of_packed_offsets():
    spec = P.StepSpec()  # digits: 650 weights of 14 bits, 18 to a field element
    w = [((i * 7919) % 1000) - 500 for i in range(spec.num_weights)]
    enc = [v + (1 << 13) for v in w]
    packed = [sum(u << (14 * k) for k, u in enumerate(enc[j : j + 18])) for j in range(0, 650, 18)]
    assert len(packed) == 37
    leaves = [poseidon(packed[i : i + 16]) for i in range(0, 37, 16)]
    assert P.model_commitment(w, spec) == poseidon(leaves) == poseidon_tree16(packed)
    assert P.model_commitment_encoded(enc, spec) == P.model_commitment(w, spec)


def test_context_binds_every_field():
    task, sender = "0x" + "ab" * 32, "0x" + "cd" * 32
    base = P.context_hash(task, sender, 3, 4096)
    hi, lo = P.address_limbs(task)
    assert base == poseidon([P.CONTEXT_DOMAIN, hi, lo, *P.address_limbs(sender), 3, 4096])
    assert P.CONTEXT_DOMAIN == int.from_bytes(b"wafl.step.v1", "big")
    others = {
        P.context_hash("0x" + "ab" * 31 + "ac", sender, 3, 4096),
        P.context_hash(task, "0x" + "cd" * 31 + "ce", 3, 4096),
        P.context_hash(task, sender, 4, 4096),
        P.context_hash(task, sender, 3, 4097),
        P.context_hash(sender, task, 3, 4096),
    }
    assert base not in others and len(others) == 5


U64_MAX = (1 << 64) - 1


def test_context_round_and_lr_are_u64():
    """round and lr_q are u64 in Move (`context_preimage(..., round: u64, lr_q: u64)`): the largest
    u64 is a context, one past it (or below 0) is refused, not hashed as a field element the
    contract could never build."""
    task, sender = "0x" + "ab" * 32, "0x" + "cd" * 32
    assert P.context_preimage(task, sender, U64_MAX, U64_MAX)[-2:] == [U64_MAX, U64_MAX]
    P.context_hash(task, sender, U64_MAX, 0)
    for round_, lr_q in ((U64_MAX + 1, 1), (1, U64_MAX + 1), (1 << 65, 1), (1, 1 << 65), (-1, 1), (1, -1),
                         (FIELD_MODULUS - 1, 1), (1, FIELD_MODULUS - 1)):
        with pytest.raises(P.ProtocolError) as e:
            P.context_preimage(task, sender, round_, lr_q)
        assert e.value.name == "EValueOutOfBounds"
        with pytest.raises(P.ProtocolError):
            P.context_hash(task, sender, round_, lr_q)


def test_address_limbs_short_hex_and_errors():
    assert P.address_limbs("0x2") == (0, 2)
    assert P.address_limbs("0x" + "01" + "00" * 31) == (1 << 120, 0)
    with pytest.raises(ValueError, match="not a Sui address"):
        P.address_limbs("0xzz")


def test_public_inputs_order_and_bytes():
    vals = P.public_inputs(1, 2, 3, FIELD_MODULUS - 1)
    assert P.PUBLIC_INPUTS == ("old_model", "new_model", "data", "context")
    b = P.public_inputs_bytes(vals)
    assert len(b) == 128 and b[:32] == (1).to_bytes(32, "little") and b[96:] == (FIELD_MODULUS - 1).to_bytes(32, "little")
    with pytest.raises(P.ProtocolError):
        P.public_inputs(FIELD_MODULUS, 0, 0, 0)


def test_lr_to_fixed():
    assert P.lr_to_fixed(1.0, 16) == 16  # the default format: 8 fractional bits, / B
    assert P.lr_to_fixed(1.0, 16, 16, 16) == 4096
    assert P.lr_to_fixed(3.0, 16) == 48
    for bad in (0.0, -1.0, float("nan"), 1e9):
        with pytest.raises(P.ProtocolError) as e:
            P.lr_to_fixed(bad, 16)
        assert e.value.name == "EInvalidSpec"


def test_spec_validation_and_round_trip():
    s = P.StepSpec()
    assert P.StepSpec.from_dict(s.to_dict()) == s
    for bad in (dict(classes=1), dict(weight_bits=40), dict(feature_frac_bits=5), dict(batch_size=0)):
        with pytest.raises(P.ProtocolError) as e:
            P.StepSpec(**bad)
        assert e.value.name == "EInvalidSpec"
    with pytest.raises(P.ProtocolError, match="unknown spec field"):
        P.StepSpec.from_dict({"featurez": 3})


def test_step_by_hand():
    # D=1, C=2, B=1: every quantity computed by hand
    spec = P.StepSpec(features=1, classes=2, batch_size=1, frac_bits=4, weight_bits=8,
                      feature_frac_bits=1, feature_bits=4, lr_frac_bits=2, lr_bits=4)
    w = [4, -2, -8, 3]  # class 0: w=4/16, b=-2/16 ; class 1: w=-8/16, b=3/16
    x, y = [[2]], [[1, 0]]  # x = 1.0, label 0
    # xa = [2, 2]; u0 = 8 - 4 = 4 ; u1 = -16 + 6 = -10 ; forward_shift = 3
    # q0 = 0, q1 = floor(-10/8) = -2 ; p = clamp(q + 8, 0, 15) = 8, 6 ; err = 8-16 = -8, 6
    # g0 = [-16, -16], g1 = [12, 12] ; lr_q = 3 ; m = 3
    # w' = floor((w*8 - g*3) / 8): (32+48)/8 = 10, (-16+48)/8 = 4, (-64-36)/8 = -12.5 -> -13, (24-36)/8 = -1.5 -> -2
    assert P.train_step(w, x, y, 3, spec) == [10, 4, -13, -2]


def test_step_clamps_at_the_weight_bounds():
    spec = P.StepSpec(features=2, classes=2, batch_size=4, frac_bits=4, weight_bits=6,
                      feature_frac_bits=2, feature_bits=5, lr_frac_bits=0, lr_bits=8)
    w = [spec.weight_max] * 3 + [spec.weight_min] * 3
    x = [[spec.feature_max, spec.feature_max]] * 4
    y = [[0, 1]] * 4
    new = P.train_step(w, x, y, 200, spec)
    assert min(new) >= spec.weight_min and max(new) <= spec.weight_max
    assert new[:3] == [spec.weight_min] * 3 and new[3:] == [spec.weight_max] * 3


def test_local_training_applies_each_batch_in_turn():
    spec = P.StepSpec(features=3, classes=2, batch_size=2, local_steps=3)
    rng = random.Random(5)
    w = _rand_model(spec, rng)
    x, y = _rand_batch(spec, rng)
    v = P.carry_weights(w, spec)
    for s in range(3):  # exact steps, batch s on rows [2s, 2s+2), rounded once at the end
        v = P.exact_step(v, x[2 * s : 2 * s + 2], y[2 * s : 2 * s + 2], 77, spec)
    assert P.local_training(w, x, y, 77, spec) == P.round_carried(v, spec)


def test_batch_validation_names_the_problem():
    x, y = _rand_batch(SMALL, random.Random(1))
    w = [0] * SMALL.num_weights
    cases = [
        ((w[:-1], x, y), "EWrongLength"),
        ((w, x[:-1], y), "EWrongLength"),
        ((w, [[99, 0, 0]] + x[1:], y), "EValueOutOfBounds"),
        ((w, x, [[1, 1]] + y[1:]), "EValueOutOfBounds"),
        (([1 << 30] + w[1:], x, y), "EValueOutOfBounds"),
    ]
    for args, name in cases:
        with pytest.raises(P.ProtocolError) as e:
            P.local_training(*args, 5, SMALL)
        assert e.value.name == name


updates_st = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, (1 << 24) - 1), min_size=n, max_size=n), min_size=1, max_size=9)
)


@given(updates_st, st.integers(0, 4999))
@settings(max_examples=60)
def test_aggregation_commutes_with_the_offset(updates, trim_bps):
    """The rules on offset-encoded values equal the rules on signed values, re-encoded."""
    off = 1 << 23
    signed = [[u - off for u in row] for row in updates]
    for rule in (P.AGG_FEDAVG, P.AGG_MEDIAN, P.AGG_TRIMMED_MEAN):
        a = P.aggregate(updates, rule, trim_bps)
        b = [v + off for v in P.aggregate(signed, rule, trim_bps)]
        assert a == b


@given(updates_st)
@settings(max_examples=60)
def test_aggregation_definitions(updates):
    n, k = len(updates[0]), len(updates)
    for j in range(n):
        col = sorted(u[j] for u in updates)
        assert P.fedavg(updates)[j] == sum(col) // k
        assert col[0] <= P.median(updates)[j] <= col[-1]
        assert P.trimmed_mean(updates, 0)[j] == P.fedavg(updates)[j]
    if k % 2 == 1:
        assert P.median(updates) == P.trimmed_mean(updates, 4999) or k == 1


def test_aggregation_rejections():
    with pytest.raises(P.ProtocolError) as e:
        P.fedavg([])
    assert e.value.name == "ENoUpdates"
    with pytest.raises(P.ProtocolError) as e:
        P.fedavg([[1, 2], [3]])
    assert e.value.name == "EWrongLength"
    with pytest.raises(P.ProtocolError) as e:
        P.aggregate([[1]], 7)
    assert e.value.name == "EInvalidAggregationRule"
    with pytest.raises(P.ProtocolError) as e:
        P.trimmed_mean([[1]], 5000)
    assert e.value.name == "EInvalidAggregationRule"
    assert P.median([[1], [4]]) == [2] and P.trimmed_mean([[0], [10], [11], [1000]], 2500) == [10]


def test_public_inputs_bytes_rejects_what_sui_rejects():
    with pytest.raises(P.ProtocolError, match="canonical"):
        P.public_inputs_bytes([FIELD_MODULUS])
    with pytest.raises(P.ProtocolError, match="at most 8"):
        P.public_inputs_bytes([0] * 9)
