"""The Move package's pure functions, run in the Sui Move VM (sui-sandbox), against
wafl_sui/protocol. Any divergence is a bug of the contract (or of the reference).

The package is compiled once per session (offline, WASM compiler + framework stubs) with the
test-only `wafl::parity_*` wrappers (wafl_sui/devtools/harness.py): the rules are
`public(package)` in the published package, so the tests reach them through `vm.inner`;
the public constructors (`spec::new`, `round::new_rules`, `rules::new_aggregation`) are called
directly."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wafl_sui import protocol
from wafl_sui.protocol import budget, codec, round as round_rules, rules as agg_rules, spec as spec_rules
from wafl_sui.protocol.poseidon import FIELD_MODULUS, poseidon, poseidon_tree16
from wafl_sui.protocol import AggregationRule, ProtocolError, StepSpec

pytestmark = pytest.mark.oracle("node", "node_modules")

EXAMPLES = int(os.environ.get("WAFL_MOVE_EXAMPLES", "40"))
fast = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

U32 = (1 << 32) - 1
U64 = (1 << 64) - 1
u32s = st.one_of(st.integers(0, U32), st.sampled_from([0, 1, U32, U32 - 1, 1 << 31, (1 << 31) - 1]))
u64s = st.one_of(st.integers(0, U64), st.sampled_from([0, 1, U64, U64 - 1]))
addresses = st.binary(min_size=32, max_size=32)


@pytest.fixture(scope="session")
def vm():
    from wafl_sui.devtools.vm import MoveVM

    return MoveVM.shared()


def py_result(fn, *args):
    """(value, None) or (None, error name) of a protocol function."""
    try:
        return fn(*args), None
    except ProtocolError as e:
        return None, e.name


def move_result(vm, module, function, args, inner=True):
    """(value, None) or (None, error name) of a Move function (inner: through its parity wrapper)."""
    from wafl_sui.devtools.vm import MoveAbort

    try:
        out = vm.inner(module, function, args) if inner else vm.call(module, function, args)
        return (out[0] if len(out) == 1 else tuple(out) if out else None), None
    except MoveAbort as e:
        assert e.name is not None, f"abort without a decodable error name: {e}"
        return None, e.name


# --------------------------------------------------------------------------- aggregation
updates_strategy = st.integers(1, 6).flatmap(
    lambda m: st.lists(st.lists(u32s, min_size=m, max_size=m), min_size=1, max_size=7)
)
VVU32 = "vector<vector<u32>>"


@fast
@given(updates=updates_strategy, rule=st.integers(0, 3), trim_bps=st.one_of(st.integers(0, 4999), st.sampled_from([0, 2500, 3333, 4999, 5000, 9999])))
def test_aggregate_matches_protocol(vm, updates, rule, trim_bps):
    want = py_result(protocol.aggregate, updates, rule, trim_bps)
    got = move_result(vm, "rules", "aggregate", [(VVU32, updates), ("u8", rule), ("u64", trim_bps)])
    assert got == want


# many updates with few distinct values (ties) or spread values: the partial-heap selection
# (median ~n/2 pops, trimmed mean t pops at each end) must equal the sorting definitions
many_updates = st.integers(1, 70).flatmap(lambda n: st.lists(
    st.lists(st.one_of(st.integers(0, 3), u32s), min_size=2, max_size=2), min_size=n, max_size=n))


@fast
@given(updates=many_updates, trim_bps=st.one_of(st.integers(0, 4999), st.sampled_from([0, 1, 1000, 2500, 4999])))
def test_selection_matches_sorting(vm, updates, trim_bps):
    assert move_result(vm, "rules", "median", [(VVU32, updates)]) == py_result(protocol.median, updates)
    got = move_result(vm, "rules", "trimmed_mean", [(VVU32, updates), ("u64", trim_bps)])
    assert got == py_result(protocol.trimmed_mean, updates, trim_bps)


@pytest.mark.parametrize("fn,py", [("fedavg", protocol.fedavg), ("median", protocol.median)])
def test_rule_edge_cases(vm, fn, py):
    cases = [
        [[U32]],
        [[U32, 0], [U32, 0]],
        [[U32], [U32 - 1]],  # even count: floor((a+b)/2) without overflow
        [[0], [1]],
        [[5, 1], [1, 5], [3, 3]],
        [[U32]] * 8,
        [[i] for i in range(64, 0, -1)],  # descending
        [[i] for i in range(65)],  # ascending, odd
    ]
    for updates in cases:
        assert move_result(vm, "rules", fn, [(VVU32, updates)]) == py_result(py, updates)


def test_trimmed_mean_edge_cases(vm):
    for updates, bps in (([[U32]] * 9, 4999), ([[U32], [0], [U32], [0], [7]], 2000), ([[i] for i in range(100)], 4999),
                         ([[3]], 4999), ([[1], [2]], 4999)):
        got = move_result(vm, "rules", "trimmed_mean", [(VVU32, updates), ("u64", bps)])
        assert got == py_result(protocol.trimmed_mean, updates, bps)


def test_aggregate_rejections(vm):
    def both(updates, rule=0, trim=0):
        return (
            move_result(vm, "rules", "aggregate", [(VVU32, updates), ("u8", rule), ("u64", trim)])[1],
            py_result(protocol.aggregate, updates, rule, trim)[1],
        )

    assert both([]) == ("ENoUpdates", "ENoUpdates")
    assert both([], rule=1) == ("ENoUpdates", "ENoUpdates")
    assert both([[1, 2], [3]]) == ("EWrongLength", "EWrongLength")
    assert both([[1]], rule=7) == ("EInvalidAggregationRule", "EInvalidAggregationRule")
    assert both([[1]], rule=2, trim=5000) == ("EInvalidAggregationRule", "EInvalidAggregationRule")


@fast
@given(n=u64s, trim_bps=st.integers(0, 6000))
def test_trim_count(vm, n, trim_bps):
    assert move_result(vm, "rules", "trim_count", [("u64", n), ("u64", trim_bps)]) == py_result(protocol.trim_count, n, trim_bps)


@fast
@given(updates=st.integers(0, 5).flatmap(lambda m: st.lists(st.lists(u32s, min_size=m, max_size=m), min_size=1, max_size=6)),
       extra=st.booleans())
def test_running_sums_are_fedavg(vm, updates, extra):
    m = len(updates[0])
    sums = vm.inner1("rules", "zero_sums", [("u64", m)])
    assert sums == [0] * m
    for u in updates:
        got = move_result(vm, "rules", "add_to_sums", [("vector<u64>", sums), ("vector<u32>", u)])
        want = py_result(agg_rules.add_to_sums, sums, u)
        assert got == (list(want[0]), None)
        sums = got[0]
    assert move_result(vm, "rules", "fedavg_from_sums", [("vector<u64>", sums), ("u64", len(updates))])[0] == protocol.fedavg(updates)
    wrong = move_result(vm, "rules", "add_to_sums", [("vector<u64>", sums), ("vector<u32>", [1] * (m + 1))])
    assert wrong[1] == py_result(agg_rules.add_to_sums, sums, [1] * (m + 1))[1] == "EWrongLength"
    assert move_result(vm, "rules", "fedavg_from_sums", [("vector<u64>", sums), ("u64", 0)])[1] == "ENoUpdates"


@fast
@given(rule=st.integers(0, 255), trim=st.integers(0, 10000))
def test_new_aggregation(vm, rule, trim):
    from wafl_sui.devtools.vm import encode_aggregation

    got = move_result(vm, "rules", "new_aggregation", [("u8", rule), ("u64", trim)], inner=False)
    want = py_result(agg_rules.new_aggregation, rule, trim)
    assert got[1] == want[1] == move_result(vm, "rules", "validate_rule", [("u8", rule), ("u64", trim)])[1]
    if want[1] is None:
        assert got[0] == encode_aggregation(want[0])


# --------------------------------------------------------------------------- spec & validation
def spec_fields(**kw):
    base = dict(protocol.StepSpec().to_dict())
    base.update(kw)
    return base


FIELDS = ("features", "classes", "batch_size", "local_steps", "frac_bits", "weight_bits",
          "feature_frac_bits", "feature_bits", "lr_frac_bits", "lr_bits")
small = st.one_of(st.integers(0, 70), st.sampled_from([0, 1, 2, 31, 32, 33, 63, 64, 65, 240, U64]))
spec_dicts = st.fixed_dictionaries({
    "features": st.one_of(st.integers(0, 5000), st.sampled_from([0, 1, U64 >> 1, U64])),
    "classes": st.one_of(st.integers(0, 12), st.sampled_from([U64])),
    "batch_size": st.one_of(st.integers(0, 300), st.sampled_from([1 << 40, U64])),
    "local_steps": st.one_of(st.integers(0, 5), st.sampled_from([U64])),
    "frac_bits": small, "weight_bits": small, "feature_frac_bits": small, "feature_bits": small,
    "lr_frac_bits": small, "lr_bits": small,
})


plausible_specs = st.fixed_dictionaries({
    "features": st.integers(1, 5000), "classes": st.integers(1, 12), "batch_size": st.integers(1, 1 << 20),
    "local_steps": st.integers(1, 4), "frac_bits": st.integers(0, 33), "weight_bits": st.integers(1, 33),
    "feature_frac_bits": st.integers(0, 33), "feature_bits": st.integers(1, 33),
    "lr_frac_bits": st.integers(0, 65), "lr_bits": st.integers(0, 65),
})


def py_spec_ok(d):
    try:
        StepSpec(**d)
        return None
    except ProtocolError as e:
        return e.name


def _spec_bytes(d):
    from wafl_sui.devtools.vm import encode_spec

    return encode_spec(d)


@fast
@given(d=st.one_of(spec_dicts, plausible_specs, plausible_specs))
def test_spec_validation_matches_protocol(vm, d):
    """The public constructor `spec::new` validates exactly as protocol.StepSpec."""
    got = move_result(vm, "spec", "new", [("u64", d[k]) for k in FIELDS], inner=False)
    want = py_spec_ok(d)
    assert got[1] == want
    if want is None:
        assert got[0] == _spec_bytes(d)  # the struct's BCS: the fields in protocol order
        bits = vm.inner1("spec", "max_intermediate_bits", [("raw", _spec_bytes(d))])
        assert bits == protocol.max_intermediate_bits(StepSpec(**d))


ARCH = ("hidden", "act_frac_bits", "act_bits")
wild_mlp_specs = st.fixed_dictionaries({
    **{k: st.just(v) for k, v in StepSpec().to_dict().items()},
    "features": st.one_of(st.integers(0, 300), st.sampled_from([U64])),
    "classes": st.one_of(st.integers(0, 12), st.sampled_from([1 << 40, U64])),
    "batch_size": st.one_of(st.integers(0, 64), st.sampled_from([1 << 40, U64])),
    "frac_bits": st.integers(0, 33), "weight_bits": st.integers(1, 33),
    "lr_bits": st.integers(0, 65),
    "hidden": st.lists(st.one_of(st.integers(0, 200), st.sampled_from([1 << 20, 1 << 40, U64])), max_size=10),
    "act_frac_bits": st.one_of(st.integers(0, 40), st.sampled_from([U64])),
    "act_bits": st.one_of(st.integers(0, 34), st.sampled_from([U64])),
})
plausible_mlp_specs = st.fixed_dictionaries({
    **{k: st.just(v) for k, v in StepSpec().to_dict().items()},
    "features": st.integers(1, 100), "classes": st.integers(2, 12), "batch_size": st.integers(1, 64),
    "local_steps": st.integers(1, 4), "frac_bits": st.integers(1, 14), "weight_bits": st.integers(12, 20),
    "hidden": st.lists(st.integers(1, 64), min_size=1, max_size=4),
    "act_frac_bits": st.integers(0, 14), "act_bits": st.integers(1, 32),
})
mlp_specs = st.one_of(wild_mlp_specs, plausible_mlp_specs, plausible_mlp_specs)


def _new_mlp_args(d):
    return [("u64", d[k]) for k in FIELDS] + [("vector<u64>", d["hidden"]), ("u64", d["act_frac_bits"]),
                                               ("u64", d["act_bits"])]


@fast
@given(d=mlp_specs)
def test_mlp_spec_validation_matches_protocol(vm, d):
    """`spec::new_mlp` validates an architecture exactly as protocol.StepSpec, and computes the
    same max_intermediate_bits and num_weights (saturated bounds: no u256 overflow on any input)."""
    got = move_result(vm, "spec", "new_mlp", _new_mlp_args(d), inner=False)
    want = py_spec_ok(d)
    assert got[1] == want
    if want is None:
        spec = StepSpec(**d)
        assert got[0] == _spec_bytes(d)
        assert vm.inner1("spec", "max_intermediate_bits", [("raw", got[0])]) == protocol.max_intermediate_bits(spec)
        assert vm.inner1("spec", "num_weights_u256", [("raw", got[0])]) == spec.num_weights


@pytest.mark.parametrize("arch", [dict(hidden=[32]), dict(hidden=[16]), dict(hidden=[32, 16], act_bits=10),
                                  dict(hidden=[1], act_frac_bits=0, act_bits=1)])
def test_mlp_spec_getters_and_weights(vm, arch):
    d = spec_fields(**{"act_frac_bits": 6, "act_bits": 8, **arch})
    spec = StepSpec(**d)
    raw = move_result(vm, "spec", "new_mlp", _new_mlp_args(d), inner=False)[0]
    assert raw == _spec_bytes(d)
    assert vm.call1("spec", "num_weights", [("raw", raw)]) == spec.num_weights
    for k in FIELDS + ARCH:
        assert vm.call1("spec", k, [("raw", raw)]) == d[k]
    assert vm.inner1("spec", "max_intermediate_bits", [("raw", raw)]) == protocol.max_intermediate_bits(spec)
    encoded = [(i * 7919) % (1 << spec.weight_bits) for i in range(spec.num_weights)]
    packed = vm.inner1("spec", "pack_weights", [("raw", raw), ("vector<u32>", encoded)])
    assert poseidon_tree16(packed) == protocol.model_commitment_encoded(encoded, spec)
    short = move_result(vm, "spec", "pack_weights", [("raw", raw), ("vector<u32>", encoded[:-1])])
    assert short[1] == "EWrongLength"


def test_linear_spec_is_new_mlp_without_hidden_layers(vm):
    d = spec_fields()
    assert move_result(vm, "spec", "new", [("u64", d[k]) for k in FIELDS], inner=False)[0] == \
        move_result(vm, "spec", "new_mlp", _new_mlp_args({**d, "hidden": [], "act_frac_bits": 6, "act_bits": 8}),
                    inner=False)[0]


@fast
@given(a=st.one_of(st.integers(0, 1 << 256 - 1), st.sampled_from([0, 1, 1 << 241, (1 << 241) + 1, (1 << 256) - 1])),
       b=st.one_of(st.integers(0, 1 << 256 - 1), st.sampled_from([0, 1, 1 << 120, (1 << 256) - 1])))
def test_mul_sat(vm, a, b):
    assert vm.inner1("spec", "mul_sat", [("u256", a), ("u256", b)]) == spec_rules.mul_sat(a, b)


def test_spec_defaults_and_digits(vm):
    for d in (spec_fields(), spec_fields(features=64, classes=10, batch_size=16), spec_fields(weight_bits=32, frac_bits=31)):
        assert move_result(vm, "spec", "new", [("u64", d[k]) for k in FIELDS], inner=False) == (_spec_bytes(d), None)
        assert vm.call1("spec", "num_weights", [("raw", _spec_bytes(d))]) == StepSpec(**d).num_weights
        for k in FIELDS:  # the public getters
            assert vm.call1("spec", k, [("raw", _spec_bytes(d))]) == d[k]


weights_cases = st.tuples(
    st.sampled_from([dict(features=2, classes=2, weight_bits=8, frac_bits=4),
                     dict(features=4, classes=3, weight_bits=24, frac_bits=16),
                     dict(features=1, classes=2, weight_bits=32, frac_bits=16)]),
    st.integers(-2, 2),
    st.data(),
)


@fast
@given(case=weights_cases)
def test_pack_weights_matches_protocol(vm, case):
    """One pass validates (length, then each value) and packs, as validate_weights + pack."""
    kw, dlen, data = case
    spec = StepSpec(**spec_fields(**kw))
    n = max(spec.num_weights + dlen, 0)
    hi = min((1 << spec.weight_bits) + 2, U32)
    values = data.draw(st.lists(st.one_of(st.integers(0, (1 << spec.weight_bits) - 1), st.integers(0, hi)), min_size=n, max_size=n))
    got = move_result(vm, "spec", "pack_weights", [("raw", _spec_bytes(spec.to_dict())), ("vector<u32>", values)])
    assert got == py_result(spec_rules.pack_weights, values, spec)


@fast
@given(lr_bits=st.integers(1, 64), lr_q=u64s)
def test_lr_q_check(vm, lr_bits, lr_q):
    d = spec_fields(lr_bits=lr_bits)
    assume(py_spec_ok(d) is None)
    spec = StepSpec(**d)
    got = move_result(vm, "spec", "check_lr_q", [("raw", _spec_bytes(d)), ("u64", lr_q)])[1]
    assert got == py_result(spec_rules.check_lr_q, spec, lr_q)[1]


# --------------------------------------------------------------------------- packing & inputs
@fast
@given(bits=st.integers(1, 32), data=st.data())
def test_pack_matches_protocol(vm, bits, data):
    values = data.draw(st.lists(st.one_of(st.integers(0, (1 << bits) - 1), st.sampled_from([0, (1 << bits) - 1])), max_size=70))
    got = vm.inner1("codec", "pack", [("vector<u32>", values), ("u8", bits)])
    assert got == protocol.pack(values, bits)
    assert all(x < FIELD_MODULUS for x in got)
    assert vm.inner1("codec", "values_per_element", [("u8", bits)]) == protocol.PACK_BITS // bits


@fast
@given(bits=st.integers(1, 31), data=st.data())
def test_pack_rejects_out_of_range(vm, bits, data):
    values = data.draw(st.lists(st.integers(0, (1 << bits) - 1), max_size=20))
    bad = data.draw(st.integers(1 << bits, U32))
    values.insert(data.draw(st.integers(0, len(values))), bad)
    got = move_result(vm, "codec", "pack", [("vector<u32>", values), ("u8", bits)])
    assert got[1] == py_result(protocol.pack, values, bits)[1] == "EValueOutOfBounds"


def test_model_commitment_is_tree16_of_move_packing(vm):
    spec = StepSpec(**spec_fields(features=64, classes=10))  # digits: 650 weights of 14 bits, 18 an element
    encoded = [(i * 7919) % (1 << spec.weight_bits) for i in range(spec.num_weights)]
    packed = vm.inner1("spec", "pack_weights", [("raw", _spec_bytes(spec.to_dict())), ("vector<u32>", encoded)])
    assert len(packed) == 37
    assert poseidon_tree16(packed) == protocol.model_commitment_encoded(encoded, spec)


@fast
@given(a=addresses)
def test_address_limbs(vm, a):
    hi, lo = vm.inner("codec", "address_limbs", [("address", a)])
    assert (hi, lo) == protocol.address_limbs(a)


@fast
@given(task=addresses, sender=addresses, round_=u64s, lr_q=u64s)
def test_context_preimage(vm, task, sender, round_, lr_q):
    pre = vm.inner1("codec", "context_preimage", [("address", task), ("address", sender), ("u64", round_), ("u64", lr_q)])
    t_hi, t_lo = protocol.address_limbs(task)
    s_hi, s_lo = protocol.address_limbs(sender)
    assert pre == [protocol.CONTEXT_DOMAIN, t_hi, t_lo, s_hi, s_lo, round_, lr_q]


def test_context_hash_of_move_preimage(vm):
    task, sender = "0x" + "ab" * 32, "0x" + "0" * 62 + "c5"
    pre = vm.inner1("codec", "context_preimage", [("address", task), ("address", sender), ("u64", 3), ("u64", 4096)])
    assert poseidon(pre) == protocol.context_hash(task, sender, 3, 4096)


field_or_not = st.one_of(st.integers(0, FIELD_MODULUS - 1), st.sampled_from([0, FIELD_MODULUS - 1, FIELD_MODULUS, (1 << 256) - 1]))


@fast
@given(vals=st.lists(field_or_not, min_size=4, max_size=4))
def test_public_inputs_and_bytes(vm, vals):
    got = move_result(vm, "codec", "public_inputs", [("u256", v) for v in vals])
    want = py_result(protocol.public_inputs, *vals)
    assert got == want
    if want[1] is None:
        raw = vm.inner1("codec", "public_inputs_bytes", [("vector<u256>", got[0])])
        assert raw == protocol.public_inputs_bytes(want[0])
        assert len(raw) == 32 * len(protocol.PUBLIC_INPUTS)


def test_constants(vm):
    assert vm.inner1("codec", "constants") == [FIELD_MODULUS, protocol.PACK_BITS, protocol.CONTEXT_DOMAIN]
    r = protocol.AGGREGATION_RULES
    assert vm.inner1("rules", "constants") == [r["fedavg"], r["median"], r["trimmed_mean"], protocol.BPS]
    assert vm.inner1("round", "max_updates_per_round") == round_rules.MAX_UPDATES_PER_ROUND
    assert vm.inner1("budget", "constants") == [budget.MAX_TX_UNITS, budget.STEP_BUDGET_UNITS] + [
        budget.INTERNAL_PER_UNIT, budget.STEP_BASE, budget.ADVANCE_PER_UPDATE, budget.ADVANCE_PER_WEIGHT,
        budget.FEDAVG_PER_WEIGHT, budget.LOAD_PER_UPDATE, budget.LOAD_PER_WEIGHT, budget.LOAD_PER_WEIGHT_PAST_NATIVE_LIMIT,
        budget.COORD_BASE, budget.COPY_PER_VALUE, budget.HEAP_PER_VALUE, budget.SIFT_PER_LEVEL,
        budget.NATIVE_CALL_LIMIT, budget.NATIVES_PER_UPDATE, budget.NATIVES_PER_STEP]


@fast
@given(ic=st.integers(0, 10), extra=st.integers(-40, 40), header=st.binary(min_size=224, max_size=224))
def test_vk_num_public_inputs(vm, ic, extra, header):
    vk = header + ic.to_bytes(8, "little") + bytes(max(32 * ic + extra, 0))
    got = move_result(vm, "codec", "vk_num_public_inputs", [("vector<u8>", vk)])
    assert got == py_result(codec.vk_num_public_inputs, vk)


@fast
@given(flags=st.lists(st.sampled_from([0, 0, 0x40, 0x80, 0xC0]), min_size=9, max_size=9),
       gamma_is_delta=st.booleans(), ic=st.integers(1, 6))
def test_check_verifying_key(vm, flags, gamma_is_delta, ic):
    """codec::check_verifying_key (points at infinity, gamma == delta, counts) equals the twin's."""
    from test_verifying_key import ALPHA, BETA, DELTA, GAMMA, IC, key

    points = [ALPHA, BETA, GAMMA, DELTA if not gamma_is_delta else GAMMA] + [IC[i % 2] for i in range(ic)]
    points = [p[:-1] + bytes([(p[-1] & 0x3F) | f]) if i < len(flags) else p for i, (p, f) in
              enumerate(zip(points, flags + [0] * len(points)))]
    vk = key(points[0], points[1], points[2], points[3], points[4:])
    got = move_result(vm, "codec", "check_verifying_key", [("vector<u8>", vk)])
    assert got == py_result(codec.check_verifying_key, vk)


# --------------------------------------------------------------------------- round rules
times = st.one_of(st.integers(0, 2000), st.sampled_from([0, U64 - 1, U64]))
counts = st.sampled_from([0, 1, 2, 255, 256, 257, U64])


@fast
@given(finished=st.booleans(), round_open=st.booleans(), now=times, deadline=times, aggregating=st.booleans(),
       sampled=st.booleans(), allowed=st.booleans(), already=st.booleans())
def test_check_submit(vm, finished, round_open, now, deadline, aggregating, sampled, allowed, already):
    args = (finished, round_open, now, deadline, aggregating, sampled, allowed, already)
    types = ("bool", "bool", "u64", "u64", "bool", "bool", "bool", "bool")
    got = move_result(vm, "round", "check_submit", list(zip(types, args)))
    assert got[1] == py_result(round_rules.check_submit, *args)[1]


@fast
@given(finished=st.booleans(), round_open=st.booleans(), now=times, deadline=times, aggregating=st.booleans(),
       n=st.integers(0, 5), k=st.integers(0, 5), quorum=st.integers(0, 5))
def test_check_aggregate(vm, finished, round_open, now, deadline, aggregating, n, k, quorum):
    args = (finished, round_open, now, deadline, aggregating, n, k, quorum)
    types = ("bool", "bool", "u64", "u64", "bool", "u64", "u64", "u64")
    got = move_result(vm, "round", "check_aggregate", list(zip(types, args)))
    assert got[1] == py_result(round_rules.check_aggregate, *args)[1]


grace_times = st.one_of(times, st.sampled_from([59_999, 60_000, 60_001, 100_000]), st.integers(0, 200_000))


@fast
@given(finished=st.booleans(), round_open=st.booleans(), now=grace_times, deadline=times, grace=grace_times,
       aggregating=st.booleans(), n=st.integers(0, 3), k=st.integers(1, 4), quorum=st.integers(1, 3))
def test_check_discard(vm, finished, round_open, now, deadline, grace, aggregating, n, k, quorum):
    args = (finished, round_open, now, deadline, grace, aggregating, n, quorum)
    types = ("bool", "bool", "u64", "u64", "u64", "bool", "u64", "u64")
    got = move_result(vm, "round", "check_discard", list(zip(types, args)))
    assert got[1] == py_result(round_rules.check_discard, *args)[1]
    assert vm.inner1("round", "grace_deadline", [("u64", deadline), ("u64", grace)]) == round_rules.grace_deadline(deadline, grace)
    # a discard never races a legal aggregate: at any time, at most one of them is allowed
    agg = py_result(round_rules.check_aggregate, finished, round_open, now, deadline, aggregating, n, max(k, n),
                    quorum)[1]
    assert agg is not None or got[1] is not None


@fast
@given(finished=st.booleans(), round_open=st.booleans(), aggregating=st.booleans(), n=st.integers(0, 3))
def test_check_restart(vm, finished, round_open, aggregating, n):
    got = move_result(vm, "round", "check_restart",
                      [("bool", finished), ("bool", round_open), ("bool", aggregating), ("u64", n)])
    assert got[1] == py_result(round_rules.check_restart, finished, round_open, aggregating, n)[1]
    assert vm.inner1("round", "min_grace_ms", []) == round_rules.MIN_GRACE_MS


@fast
@given(finished=st.booleans(), other=st.booleans())
def test_check_registration_and_open(vm, finished, other):
    for fn in ("check_registration", "check_open"):
        got = move_result(vm, "round", fn, [("bool", finished), ("bool", other)])
        assert got[1] == py_result(getattr(round_rules, fn), finished, other)[1]


@fast
@given(start=times, duration=times, round_=st.integers(0, 1000), max_rounds=st.integers(1, 1000),
       q=st.sampled_from([0, 1, 2, 255, 256, 257, U64]), d=st.integers(0, 3), m=st.integers(0, 3), g=u64s,
       k=st.sampled_from([0, 1, 2, 255, 256, 257, U64]))
def test_round_arithmetic_and_new_rules(vm, start, duration, round_, max_rounds, q, d, m, g, k):
    from wafl_sui.devtools.vm import encode_round_rules

    assert vm.inner1("round", "deadline", [("u64", start), ("u64", duration)]) == round_rules.deadline(start, duration)
    assert tuple(vm.inner("round", "next_round", [("u64", round_), ("u64", max_rounds)])) == round_rules.next_round(round_, max_rounds)
    got = move_result(vm, "round", "new_rules", [("u64", q), ("u64", d), ("u64", m), ("u64", g), ("u64", k)], inner=False)
    want = py_result(round_rules.new_rules, q, d, m, g, k)
    assert got[1] == want[1]
    if want[1] is None:
        assert got[0] == encode_round_rules(want[0])


# --------------------------------------------------------------------------- gas budget
aggregations = st.one_of(st.just(AggregationRule(0)), st.just(AggregationRule(1)),
                         st.integers(0, 4999).map(lambda t: AggregationRule(2, t)))


def _agg(a):
    from wafl_sui.devtools.vm import encode_aggregation

    return ("raw", encode_aggregation(a))


@fast
@given(m=st.one_of(st.integers(1, 5000), st.sampled_from([6, 650, 4095])), n=st.one_of(st.integers(0, 300), st.sampled_from([165, 166])), a=aggregations,
       coords=st.integers(0, 5000))
def test_budget_matches_protocol(vm, m, n, a, coords):
    assert vm.inner1("budget", "heap_levels", [("u64", n)]) == budget.heap_levels(n)
    assert tuple(vm.inner("budget", "selection_work", [("u64", n), _agg(a)])) == budget.selection_work(n, a)
    assert vm.inner1("budget", "coordinate_internal", [("u64", n), _agg(a)]) == budget.coordinate_internal(n, a)
    assert vm.inner1("budget", "load_per_weight", [("u64", n)]) == budget.load_per_weight(n)
    args = [("u256", m), _agg(a), ("u64", n), ("u64", coords)]
    assert vm.inner1("budget", "step_internal", args) == budget.step_internal(m, a, n, coords)
    assert vm.inner1("budget", "step_units", args) == budget.step_units(m, a, n, coords)
    assert vm.inner1("budget", "coords_per_step", [("u64", m), _agg(a), ("u64", n)]) == budget.coords_per_step(m, a, n)
    assert vm.inner1("budget", "aggregation_steps", [("u64", m), _agg(a), ("u64", n)]) == budget.aggregation_steps(m, a, n)


@fast
@given(m=st.one_of(st.integers(1, 100_000), st.sampled_from([650, 4095, 50_010, U64, 1 << 80])), q=st.integers(1, 256),
       a=aggregations)
def test_check_task_budget_matches_protocol(vm, m, q, a):
    got = move_result(vm, "budget", "check_task_budget", [("u256", m), _agg(a), ("u64", q)])[1]
    assert got == py_result(budget.check_task_budget, m, a, q)[1]


def test_every_move_error_is_a_protocol_error(vm):
    """The package aborts only with names from protocol.ERRORS."""
    from wafl_sui.contract.bytecode import error_constant_names

    names = set()
    for code in vm.build.module_bytes():
        names |= {v for v in error_constant_names(code).values() if v.startswith("E") and " " not in v}
    assert names, "no error constants found"
    assert names <= set(protocol.ERRORS), names - set(protocol.ERRORS)
