"""The Move package's pure functions, run in the Sui Move VM (sui-sandbox), against protocol.py
and task_rules.py. Any divergence is a bug of the contract (or of the reference).

The package is compiled once per session (offline, WASM compiler + framework stubs)."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wafl_sui import protocol
from wafl_sui.protocol import codec, round as round_rules, rules as agg_rules, spec as spec_rules
from wafl_sui.protocol.poseidon import FIELD_MODULUS, poseidon, poseidon_tree16
from wafl_sui.protocol import ProtocolError, StepSpec

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not os.path.isdir(os.path.join(os.path.dirname(__file__), "..", "node_modules")),
    reason="needs node and the project's node_modules (npm ci)",
)

EXAMPLES = int(os.environ.get("WAFL_MOVE_EXAMPLES", "40"))
fast = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

U32 = (1 << 32) - 1
U64 = (1 << 64) - 1
u32s = st.one_of(st.integers(0, U32), st.sampled_from([0, 1, U32, U32 - 1, 1 << 31, (1 << 31) - 1]))
u64s = st.one_of(st.integers(0, U64), st.sampled_from([0, 1, U64, U64 - 1]))
addresses = st.binary(min_size=32, max_size=32)


@pytest.fixture(scope="session")
def vm():
    from wafl_sui.contract.vm import MoveVM

    return MoveVM.shared()


def py_result(fn, *args):
    """(value, None) or (None, error name) of a protocol function."""
    try:
        return fn(*args), None
    except ProtocolError as e:
        return None, e.name


def move_result(vm, module, function, args):
    from wafl_sui.contract.vm import MoveAbort

    try:
        out = vm.call(module, function, args)
        return (out[0] if len(out) == 1 else tuple(out) if out else None), None
    except MoveAbort as e:
        assert e.name is not None, f"abort without a decodable error name: {e}"
        return None, e.name


# --------------------------------------------------------------------------- aggregation
updates_strategy = st.integers(1, 6).flatmap(
    lambda m: st.lists(st.lists(u32s, min_size=m, max_size=m), min_size=1, max_size=7)
)


@fast
@given(updates=updates_strategy, rule=st.integers(0, 3), trim_bps=st.one_of(st.integers(0, 4999), st.sampled_from([0, 2500, 3333, 4999, 5000, 9999])))
def test_aggregate_matches_protocol(vm, updates, rule, trim_bps):
    want = py_result(protocol.aggregate, updates, rule, trim_bps)
    got = move_result(vm, "rules", "aggregate", [("vector<vector<u32>>", updates), ("u8", rule), ("u64", trim_bps)])
    assert got == want


@pytest.mark.parametrize("fn,py", [("fedavg", protocol.fedavg), ("median", protocol.median)])
def test_rule_edge_cases(vm, fn, py):
    cases = [
        [[U32]],
        [[U32, 0], [U32, 0]],
        [[U32], [U32 - 1]],  # even count: floor((a+b)/2) without overflow
        [[0], [1]],
        [[5, 1], [1, 5], [3, 3]],
        [[U32]] * 8,
    ]
    for updates in cases:
        assert move_result(vm, "rules", fn, [("vector<vector<u32>>", updates)]) == py_result(py, updates)


def test_aggregate_rejections(vm):
    def both(updates, rule=0, trim=0):
        return (
            move_result(vm, "rules", "aggregate", [("vector<vector<u32>>", updates), ("u8", rule), ("u64", trim)])[1],
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
@given(values=st.lists(st.integers(0, U64), max_size=40))
def test_heap_sort(vm, values):
    # heap_sort takes &mut vector<u64>: check through the median of single-coordinate updates
    got = move_result(vm, "rules", "median", [("vector<vector<u32>>", [[v & U32] for v in values] or [[0]])])
    want = py_result(protocol.median, [[v & U32] for v in values] or [[0]])
    assert got == want


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


@fast
@given(d=st.one_of(spec_dicts, plausible_specs, plausible_specs))
def test_spec_validation_matches_protocol(vm, d):
    got = move_result(vm, "spec", "validate_fields", [("u64", d[k]) for k in FIELDS])
    want = py_spec_ok(d)
    assert got[1] == want
    if want is None:
        assert got[0] is True
        bits = vm.call1("spec", "max_intermediate_bits", [("raw", _spec_bytes(d))])
        assert bits == protocol.max_intermediate_bits(StepSpec(**d))


def test_spec_defaults_and_digits(vm):
    for d in (spec_fields(), spec_fields(features=64, classes=10, batch_size=16), spec_fields(weight_bits=32, frac_bits=31)):
        assert move_result(vm, "spec", "validate_fields", [("u64", d[k]) for k in FIELDS]) == (True, None)
        assert vm.call1("spec", "num_weights", [("raw", _spec_bytes(d))]) == StepSpec(**d).num_weights


def _spec_bytes(d):
    from wafl_sui.contract.vm import encode_spec

    return encode_spec(d)


weights_cases = st.tuples(
    st.sampled_from([dict(features=2, classes=2, weight_bits=8, frac_bits=4),
                     dict(features=4, classes=3, weight_bits=24, frac_bits=16),
                     dict(features=1, classes=2, weight_bits=32, frac_bits=16)]),
    st.integers(-2, 2),
    st.data(),
)


@fast
@given(case=weights_cases)
def test_validate_weights_matches_protocol(vm, case):
    kw, dlen, data = case
    spec = StepSpec(**spec_fields(**kw))
    n = max(spec.num_weights + dlen, 0)
    hi = min((1 << spec.weight_bits) + 2, U32)
    values = data.draw(st.lists(st.one_of(st.integers(0, (1 << spec.weight_bits) - 1), st.integers(0, hi)), min_size=n, max_size=n))
    got = move_result(vm, "spec", "validate_weights", [("raw", _spec_bytes(spec.to_dict())), ("vector<u32>", values)])
    assert got[1] == py_result(protocol.validate_weights, values, spec)[1]


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
    got = vm.call1("codec", "pack", [("vector<u32>", values), ("u8", bits)])
    assert got == protocol.pack(values, bits)
    assert all(x < FIELD_MODULUS for x in got)
    assert vm.call1("codec", "values_per_element", [("u8", bits)]) == protocol.PACK_BITS // bits


@fast
@given(bits=st.integers(1, 31), data=st.data())
def test_pack_rejects_out_of_range(vm, bits, data):
    values = data.draw(st.lists(st.integers(0, (1 << bits) - 1), max_size=20))
    bad = data.draw(st.integers(1 << bits, U32))
    values.insert(data.draw(st.integers(0, len(values))), bad)
    got = move_result(vm, "codec", "pack", [("vector<u32>", values), ("u8", bits)])
    assert got[1] == py_result(protocol.pack, values, bits)[1] == "EValueOutOfBounds"


def test_model_commitment_is_tree16_of_move_packing(vm):
    spec = StepSpec(**spec_fields(features=64, classes=10))  # digits: 650 weights, 65 elements
    encoded = [(i * 7919) % (1 << spec.weight_bits) for i in range(spec.num_weights)]
    packed = vm.call1("codec", "pack", [("vector<u32>", encoded), ("u8", spec.weight_bits)])
    assert len(packed) == 65
    assert poseidon_tree16(packed) == protocol.model_commitment_encoded(encoded, spec)


@fast
@given(a=addresses)
def test_address_limbs(vm, a):
    hi, lo = vm.call("codec", "address_limbs", [("address", a)])
    assert (hi, lo) == protocol.address_limbs(a)


@fast
@given(task=addresses, sender=addresses, round_=u64s, lr_q=u64s)
def test_context_preimage(vm, task, sender, round_, lr_q):
    pre = vm.call1("codec", "context_preimage", [("address", task), ("address", sender), ("u64", round_), ("u64", lr_q)])
    t_hi, t_lo = protocol.address_limbs(task)
    s_hi, s_lo = protocol.address_limbs(sender)
    assert pre == [protocol.CONTEXT_DOMAIN, t_hi, t_lo, s_hi, s_lo, round_, lr_q]
    assert vm.call1("codec", "context_domain") == protocol.CONTEXT_DOMAIN


def test_context_hash_of_move_preimage(vm):
    task, sender = "0x" + "ab" * 32, "0x" + "0" * 62 + "c5"
    pre = vm.call1("codec", "context_preimage", [("address", task), ("address", sender), ("u64", 3), ("u64", 4096)])
    assert poseidon(pre) == protocol.context_hash(task, sender, 3, 4096)


field_or_not = st.one_of(st.integers(0, FIELD_MODULUS - 1), st.sampled_from([0, FIELD_MODULUS - 1, FIELD_MODULUS, (1 << 256) - 1]))


@fast
@given(vals=st.lists(field_or_not, min_size=4, max_size=4))
def test_public_inputs_and_bytes(vm, vals):
    got = move_result(vm, "codec", "public_inputs", [("u256", v) for v in vals])
    want = py_result(protocol.public_inputs, *vals)
    assert got == want
    if want[1] is None:
        raw = vm.call1("codec", "public_inputs_bytes", [("vector<u256>", got[0])])
        assert raw == protocol.public_inputs_bytes(want[0])
        assert len(raw) == 32 * len(protocol.PUBLIC_INPUTS)


def test_constants(vm):
    assert vm.call1("codec", "field_modulus") == FIELD_MODULUS
    assert vm.call1("codec", "pack_bits") == protocol.PACK_BITS
    assert vm.call1("rules", "bps") == protocol.BPS
    for name, num in protocol.AGGREGATION_RULES.items():
        assert vm.call1("rules", {"fedavg": "fedavg_rule", "median": "median_rule", "trimmed_mean": "trimmed_mean_rule"}[name]) == num


@fast
@given(ic=st.integers(0, 10), extra=st.integers(-40, 40), header=st.binary(min_size=224, max_size=224))
def test_vk_num_public_inputs(vm, ic, extra, header):
    vk = header + ic.to_bytes(8, "little") + bytes(max(32 * ic + extra, 0))
    got = move_result(vm, "codec", "vk_num_public_inputs", [("vector<u8>", vk)])
    assert got == py_result(codec.vk_num_public_inputs, vk)


# --------------------------------------------------------------------------- round rules
times = st.one_of(st.integers(0, 2000), st.sampled_from([0, U64 - 1, U64]))


@fast
@given(finished=st.booleans(), now=times, deadline=times, n=st.sampled_from([0, 1, 255, 256, 257, U64]),
       allowed=st.booleans(), already=st.booleans())
def test_check_submit(vm, finished, now, deadline, n, allowed, already):
    got = move_result(vm, "round", "check_submit", [("bool", finished), ("u64", now), ("u64", deadline), ("u64", n), ("bool", allowed), ("bool", already)])
    assert got[1] == py_result(round_rules.check_submit, finished, now, deadline, n, allowed, already)[1]
    assert vm.call1("round", "max_updates_per_round") == round_rules.MAX_UPDATES_PER_ROUND


@fast
@given(finished=st.booleans(), now=times, deadline=times, n=st.integers(0, 5), quorum=st.integers(0, 5))
def test_check_aggregate(vm, finished, now, deadline, n, quorum):
    got = move_result(vm, "round", "check_aggregate", [("bool", finished), ("u64", now), ("u64", deadline), ("u64", n), ("u64", quorum)])
    assert got[1] == py_result(round_rules.check_aggregate, finished, now, deadline, n, quorum)[1]


@fast
@given(start=times, duration=times, round_=st.integers(0, 1000), max_rounds=st.integers(1, 1000),
       q=st.sampled_from([0, 1, 2, 255, 256, 257, U64]), d=st.integers(0, 3), m=st.integers(0, 3))
def test_round_arithmetic(vm, start, duration, round_, max_rounds, q, d, m):
    assert vm.call1("round", "deadline", [("u64", start), ("u64", duration)]) == round_rules.deadline(start, duration)
    assert tuple(vm.call("round", "next_round", [("u64", round_), ("u64", max_rounds)])) == round_rules.next_round(round_, max_rounds)
    got = move_result(vm, "round", "validate_round_rules", [("u64", q), ("u64", d), ("u64", m)])[1]
    assert got == py_result(round_rules.validate_round_rules, q, d, m)[1]


@fast
@given(rule=st.integers(0, 255), trim=st.integers(0, 10000))
def test_validate_rule(vm, rule, trim):
    got = move_result(vm, "rules", "validate_rule", [("u8", rule), ("u64", trim)])[1]
    assert got == py_result(agg_rules.validate_rule, rule, trim)[1]


def test_every_move_error_is_a_protocol_error(vm):
    """The package aborts only with names from protocol.ERRORS."""
    from wafl_sui.contract.bytecode import error_constant_names

    names = set()
    for code in vm.build.module_bytes():
        names |= {v for v in error_constant_names(code).values() if v.startswith("E") and " " not in v}
    assert names, "no error constants found"
    assert names <= set(protocol.ERRORS), names - set(protocol.ERRORS)
