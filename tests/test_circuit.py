"""The step circuit against the integer reference (wafl_sui.protocol), on small specs.

Compiling a small spec takes ~3 s (cached under $WAFL_HOME per circuit hash afterwards).
"""

from __future__ import annotations

import random
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from wafl_sui import protocol
from wafl_sui.zk import circuit
from wafl_sui.zk import witness as wt
from wafl_sui.protocol.poseidon import FIELD_MODULUS as P
from wafl_sui.protocol import WIDE_FORMAT, StepSpec

# the 24-bit format: the random steps below use its wider value ranges
SMALL = StepSpec(features=4, classes=3, batch_size=2, **WIDE_FORMAT)
TWO_STEPS = StepSpec(features=4, classes=2, batch_size=2, local_steps=2, **WIDE_FORMAT)
TASK, SENDER = "0x" + "ab" * 32, "0x" + "cd" * 31 + "01"


@pytest.fixture(scope="module")
def small():
    return circuit.build(SMALL)


@pytest.fixture(scope="module")
def two_steps():
    return circuit.build(TWO_STEPS)


def one_hot(rng, n, c):
    rows = []
    for _ in range(n):
        k = rng.randrange(c)
        rows.append([1 if j == k else 0 for j in range(c)])
    return rows


def rand_step(spec, rng, *, wscale=None, lr_q=None):
    wscale = wscale or (1 << (spec.weight_bits - 2))
    w = [rng.randint(-wscale, wscale) for _ in range(spec.num_weights)]
    n = spec.batch_size * spec.local_steps
    x = [[rng.randint(spec.feature_min, spec.feature_max) for _ in range(spec.features)] for _ in range(n)]
    y = one_hot(rng, n, spec.classes)
    return w, x, y, lr_q or rng.randint(1, (1 << spec.lr_bits) - 1)


def run_witness(art, tmp_path, spec, w, x, y, lr_q, *, salt=7, round_=3, negative="decimal"):
    si = wt.step_inputs(spec, w, x, y, salt=salt, task_id=TASK, sender=SENDER, round_=round_, lr_q=lr_q)
    path = tmp_path / "w.wtns"
    wt.compute_witness(art, si, path, negative=negative)
    values = wt.read_wtns(path)
    return si, values


def assert_matches_reference(art, si, values):
    spec = art.spec
    assert values[0] == 1
    # public signals: [old_model, new_model, data, context] right after the constant 1
    assert values[1:5] == si.public_signals
    assert si.public_signals[0] == protocol.model_commitment(si.weights, spec)
    assert si.public_signals[1] == protocol.model_commitment(si.new_weights, spec)
    assert si.public_signals[2] == protocol.data_commitment(si.features, si.labels, si.salt, spec)
    assert wt.witness_new_weights(art, values) == si.new_weights
    assert si.new_weights == protocol.local_training(si.weights, si.features, si.labels, si.lr_q, spec)


# --------------------------------------------------------------------------- structure
def test_public_inputs_order_in_sym(small):
    sym = wt.read_sym(small.sym)
    assert [sym[f"main.{n}"] for n in protocol.PUBLIC_INPUTS] == [1, 2, 3, 4]
    hdr = circuit.r1cs_header(small.r1cs)
    assert hdr["public_inputs"] == 4 and hdr["public_outputs"] == 0


@pytest.mark.parametrize("spec", [SMALL, TWO_STEPS, StepSpec(features=5, classes=2, batch_size=8),
                                  StepSpec(features=3, classes=2, batch_size=2, frac_bits=8,
                                           weight_bits=12, lr_bits=8, lr_frac_bits=8)])
def test_constraint_formula_matches_measured(spec):
    art = circuit.build(spec)
    assert circuit.constraint_formula(spec)["total"] == art.constraints


def test_digits_formula_under_budget():
    terms = circuit.constraint_formula(StepSpec())
    assert terms["total"] + 5 <= 2 ** 16  # the default digits circuit, public inputs included, fits 2^16


@settings(max_examples=200, deadline=None)
@given(d=st.integers(1, 512), c=st.integers(2, 64), b=st.integers(1, 256), l=st.just(1),
       bw=st.integers(2, 32), bx=st.integers(2, 32), blr=st.integers(1, 64), s=st.integers(0, 64),
       data=st.data())
def test_bit_widths_stay_below_the_field(d, c, b, l, bw, bx, blr, s, data):
    k = data.draw(st.integers(1, bw - 1))
    kx = data.draw(st.integers(0, bx - 2))
    try:
        spec = StepSpec(features=d, classes=c, batch_size=b, local_steps=l, frac_bits=k, weight_bits=bw,
                        feature_frac_bits=kx, feature_bits=bx, lr_frac_bits=s, lr_bits=blr)
    except protocol.ProtocolError:
        return
    # (the fixed WaflStep is the one-local-step linear circuit; several local steps are generated
    # by zk.mlp_circuit with the carried bounds: tests/test_mlp_circuit.py)
    p = circuit.derive_params(spec)
    assert p.NU < 253 and p.NA < 253
    # the bounds really bound the extreme values
    xa = max(1 << (bx - 1), 1 << kx)
    assert (d + 1) * (1 << (bw - 1)) * xa < 1 << (p.NU - 1)
    assert ((1 << (bw - 1)) << spec.update_shift) + b * (1 << k) * xa * ((1 << blr) - 1) < 1 << (p.NA - 1)


def test_build_errors_are_clear(monkeypatch, tmp_path):
    with pytest.raises(circuit.CircuitError, match="StepSpec"):
        circuit.build({"features": 4})  # type: ignore[arg-type]
    monkeypatch.setenv("WAFL_NODE_MODULES", str(tmp_path))
    with pytest.raises(circuit.CircuitError, match="npm ci"):
        circuit.build(SMALL, force=True, home=tmp_path)


def test_cache_hit_is_fast(small):
    again = circuit.build(SMALL)
    assert again.dir == small.dir and again.hash == small.hash
    assert circuit.circuit_hash(SMALL) != circuit.circuit_hash(TWO_STEPS)


# --------------------------------------------------------------------------- witness == reference
@pytest.mark.parametrize("seed", range(4))
def test_random_inputs_match_reference(small, tmp_path, seed):
    rng = random.Random(seed)
    w, x, y, lr = rand_step(SMALL, rng)
    si, values = run_witness(small, tmp_path, SMALL, w, x, y, lr, salt=rng.randrange(P))
    assert_matches_reference(small, si, values)


@pytest.mark.parametrize("negative", ["decimal", "field"])
def test_negative_value_encodings(small, tmp_path, negative):
    rng = random.Random(11)
    w, x, y, lr = rand_step(SMALL, rng)
    w0 = SMALL.weight_min + 3  # the most negative weights, and the most negative feature
    w[0], x[0][0] = w0, SMALL.feature_min
    si, values = run_witness(small, tmp_path, SMALL, w, x, y, lr, negative=negative)
    inp = si.circuit_input(negative)
    if negative == "field":
        assert inp["W"][0][0] == str(P + w0)
    else:
        assert inp["W"][0][0] == str(w0)
    assert_matches_reference(small, si, values)


def _raw_scores(spec, w, x):
    d1 = spec.features + 1
    out = []
    for row in x:
        xa = list(row) + [1 << spec.feature_frac_bits]
        out.append([(sum(w[c * d1 + d] * xa[d] for d in range(d1))) >> spec.forward_shift
                    for c in range(spec.classes)])
    return out


def _raw_updates(spec, w, x, y, lr):
    """Unclamped floor((W*2^m - g*lr)/2^m) of one step."""
    d1, k, m = spec.features + 1, spec.frac_bits, spec.update_shift
    xa = [list(r) + [1 << spec.feature_frac_bits] for r in x]
    err = [[protocol.hard_sigmoid_fixed(q, k) - (y[i][c] << k) for c, q in enumerate(qs)]
           for i, qs in enumerate(_raw_scores(spec, w, x))]
    return [((w[c * d1 + d] << m) - sum(err[i][c] * xa[i][d] for i in range(len(x))) * lr) >> m
            for c in range(spec.classes) for d in range(d1)]


def test_edge_bounds_and_clamping(small, tmp_path):
    s = SMALL
    d1 = s.features + 1
    # class 0: score far below the sigmoid range, its label 1 pushes W[0] (at the max) up;
    # class 1: score far above, label 0 pushes W[0] (at the min) down; class 2: zero weights
    w = ([s.weight_max] + [s.weight_min] * (s.features - 1) + [0]
         + [s.weight_min] + [s.weight_max] * (s.features - 1) + [0] + [0] * d1)
    x = [[s.feature_max] * s.features, [0] * s.features]
    y = [[1, 0, 0], [0, 0, 1]]
    lr = (1 << s.lr_bits) - 1
    q = _raw_scores(s, w, x)
    half = 1 << (s.frac_bits - 1)
    assert max(max(r) for r in q) >= half and min(min(r) for r in q) < -half  # sigmoid clamps both ways
    raw = _raw_updates(s, w, x, y, lr)
    assert max(raw) > s.weight_max and min(raw) < s.weight_min                # update clamps both ways
    si, values = run_witness(small, tmp_path, s, w, x, y, lr)
    assert s.weight_max in si.new_weights and s.weight_min in si.new_weights
    assert_matches_reference(small, si, values)


def test_zero_weights_and_features(small, tmp_path):
    s = SMALL
    w = [0] * s.num_weights
    x = [[0] * s.features for _ in range(s.batch_size)]
    y = [[0, 0, 1], [0, 1, 0]]
    si, values = run_witness(small, tmp_path, s, w, x, y, 1)
    assert_matches_reference(small, si, values)


def test_boundary_of_the_sigmoid_range(small, tmp_path):
    # scores right at the clamping boundaries: q = 2^(K-1)-1, 2^(K-1), -2^(K-1), -2^(K-1)-1
    s = SMALL
    d1 = s.features + 1
    half = 1 << (s.frac_bits - 1)
    one_x = 1 << s.feature_frac_bits
    fs = 1 << s.forward_shift
    w = [0] * s.num_weights
    # u = bias * 2^KX, q = floor(u / 2^(KX+2)) = floor(bias / 4)
    for c, qv in enumerate([half - 1, half, -half - 1]):
        w[c * d1 + s.features] = qv * fs // one_x
    x = [[0] * s.features for _ in range(s.batch_size)]
    y = [[1, 0, 0], [0, 0, 1]]
    assert [r for r in _raw_scores(s, w, x)[0]] == [half - 1, half, -half - 1]
    si, values = run_witness(small, tmp_path, s, w, x, y, 1000)
    assert_matches_reference(small, si, values)


@pytest.mark.parametrize("seed", range(2))
def test_two_local_steps(two_steps, tmp_path, seed):
    rng = random.Random(100 + seed)
    w, x, y, lr = rand_step(TWO_STEPS, rng)
    si, values = run_witness(two_steps, tmp_path, TWO_STEPS, w, x, y, lr)
    # the weights are carried exactly between the two steps and rounded once (protocol.local_training)
    v = protocol.exact_step(protocol.carry_weights(w, TWO_STEPS), x[:2], y[:2], lr, TWO_STEPS)
    v = protocol.exact_step(v, x[2:], y[2:], lr, TWO_STEPS)
    assert si.new_weights == protocol.round_carried(v, TWO_STEPS)
    assert_matches_reference(two_steps, si, values)


def test_wrong_public_input_is_rejected_by_the_witness_generator(small, tmp_path):
    rng = random.Random(5)
    w, x, y, lr = rand_step(SMALL, rng)
    si = wt.step_inputs(SMALL, w, x, y, salt=1, task_id=TASK, sender=SENDER, round_=1, lr_q=lr)
    inp = si.circuit_input()
    inp["new_model"] = str(si.public_signals[1] + 1)
    with pytest.raises(wt.WitnessGenerationError):
        wt.compute_witness(small, inp, tmp_path / "bad.wtns")


# --------------------------------------------------------------------------- tampered witnesses
@pytest.fixture(scope="module")
def honest(small, tmp_path_factory):
    rng = random.Random(21)
    w, x, y, lr = rand_step(SMALL, rng, wscale=1 << 18)
    tmp = tmp_path_factory.mktemp("honest")
    si, values = run_witness(small, tmp, SMALL, w, x, y, lr)
    cons = wt.read_r1cs_constraints(small.r1cs)
    assert wt.check_r1cs(cons, values) == []
    return si, values, cons, wt.read_sym(small.sym)


def _bits(sym, prefix, n):
    return [sym[f"{prefix}.nb.out[{j}]"] for j in range(n)]


@pytest.mark.parametrize("where", ["sigmoid", "update"])
def test_wrong_quotient_and_remainder_fail(small, honest, where):
    si, values, cons, sym = honest
    p = small.params
    if where == "sigmoid":
        prefix, n, m = "main.step[0].sig[0][0]", p.NU, SMALL.forward_shift
    else:
        prefix, n, m = "main.step[0].upd[1][2]", p.NA, SMALL.update_shift
    idx = _bits(sym, prefix, n)
    # the optimizer may substitute a few top bits away (still constrained); the low ones stay
    assert min(idx[0], idx[m], idx[m + 1]) > 0
    # quotient - 1 and remainder + 2^m: the sum is unchanged, the bits are not bits any more
    bad = list(values)
    bad[idx[m]] = (bad[idx[m]] - 1) % P
    bad[idx[0]] = (bad[idx[0]] + (1 << m)) % P
    assert wt.check_r1cs(cons, bad)
    # a flipped quotient bit (wrong quotient, right remainder): the sum no longer matches
    bad = list(values)
    bad[idx[m + 1]] = 1 - bad[idx[m + 1]]
    assert wt.check_r1cs(cons, bad)
    # a flipped remainder bit
    bad = list(values)
    bad[idx[0]] = 1 - bad[idx[0]]
    assert wt.check_r1cs(cons, bad)


def test_wrong_outputs_fail(small, honest, tmp_path):
    si, values, cons, sym = honest
    for name in ("main.step[0].sig[1][2].out", "main.Wenc[1][0][0]", "main.step[0].prodWX[0][1][2]",
                 "main.step[0].prodEX[2][3][1]", "main.step[0].elr[1][1]"):
        idx = sym[name]
        assert idx > 0, name
        bad = list(values)
        bad[idx] = (bad[idx] + 1) % P
        assert wt.check_r1cs(cons, bad), name
    # and snarkjs' own checker agrees on one of them
    bad = list(values)
    bad[sym["main.Wenc[1][0][0]"]] += 1
    wt.write_wtns(tmp_path / "bad.wtns", bad)
    wt.write_wtns(tmp_path / "good.wtns", values)
    node, sj = circuit.node_bin(), str(circuit.snarkjs_cli())
    ok = subprocess.run([node, sj, "wtns", "check", str(small.r1cs), str(tmp_path / "good.wtns")],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "WITNESS IS CORRECT" in ok.stdout
    ko = subprocess.run([node, sj, "wtns", "check", str(small.r1cs), str(tmp_path / "bad.wtns")],
                        capture_output=True, text=True)
    assert "WITNESS IS CORRECT" not in ko.stdout


def test_non_boolean_label_fails(small, honest):
    si, values, cons, sym = honest
    # find a label that is 1 and one that is 0 in the same row: swapping a 1 for 2/0 breaks bits/rowsum
    i = 0
    row = si.labels[i]
    one = row.index(1)
    idx = sym[f"main.Y[{i}][{one}]"]
    if idx > 0:
        bad = list(values)
        bad[idx] = 2
        assert wt.check_r1cs(cons, bad)


# --------------------------------------------------------------------------- input validation
def test_input_validation_errors():
    s = SMALL
    rng = random.Random(3)
    w, x, y, lr = rand_step(s, rng)
    kw = dict(salt=1, task_id=TASK, sender=SENDER, round_=1, lr_q=lr)
    with pytest.raises(wt.WitnessInputError, match="nan"):
        wt.step_inputs(s, [float("nan")] + w[1:], x, y, **kw)
    with pytest.raises(wt.WitnessInputError, match="not an integer"):
        wt.step_inputs(s, [0.5] + w[1:], x, y, **kw)
    with pytest.raises(wt.WitnessInputError, match="EWrongLength"):
        wt.step_inputs(s, w[:-1], x, y, **kw)
    with pytest.raises(wt.WitnessInputError, match="EValueOutOfBounds"):
        wt.step_inputs(s, [s.weight_max + 1] + w[1:], x, y, **kw)
    bad_x = [list(r) for r in x]
    bad_x[0][0] = s.feature_max + 1
    with pytest.raises(wt.WitnessInputError, match="EValueOutOfBounds"):
        wt.step_inputs(s, w, bad_x, y, **kw)
    with pytest.raises(wt.WitnessInputError, match="one-hot"):
        wt.step_inputs(s, w, x, [[1, 1, 0], [0, 1, 0]], **kw)
    with pytest.raises(wt.WitnessInputError, match="lr_q"):
        wt.step_inputs(s, w, x, y, **{**kw, "lr_q": 1 << s.lr_bits})
    with pytest.raises(wt.WitnessInputError, match="address"):
        wt.step_inputs(s, w, x, y, **{**kw, "sender": "0xnothex"})


def test_numpy_inputs_accepted():
    import numpy as np
    s = SMALL
    rng = random.Random(4)
    w, x, y, lr = rand_step(s, rng)
    a = wt.step_inputs(s, np.array(w, dtype=np.int64).reshape(s.classes, -1), np.array(x), np.array(y),
                       salt=1, task_id=TASK, sender=SENDER, round_=np.int64(2), lr_q=np.int32(lr))
    b = wt.step_inputs(s, w, x, y, salt=1, task_id=TASK, sender=SENDER, round_=2, lr_q=lr)
    assert a.public_signals == b.public_signals and a.new_weights == b.new_weights


# --------------------------------------------------------------------------- property test
_EDGE_W = st.one_of(st.sampled_from([SMALL.weight_min, SMALL.weight_max, 0, -1, 1]),
                    st.integers(SMALL.weight_min, SMALL.weight_max))
_EDGE_X = st.one_of(st.sampled_from([SMALL.feature_min, SMALL.feature_max, 0, -1]),
                    st.integers(SMALL.feature_min, SMALL.feature_max))


@settings(max_examples=12, deadline=None)
@given(w=st.lists(_EDGE_W, min_size=SMALL.num_weights, max_size=SMALL.num_weights),
       x=st.lists(st.lists(_EDGE_X, min_size=4, max_size=4), min_size=2, max_size=2),
       labels=st.lists(st.integers(0, 2), min_size=2, max_size=2),
       lr=st.one_of(st.sampled_from([1, (1 << 16) - 1]), st.integers(1, (1 << 16) - 1)),
       salt=st.integers(0, P - 1))
def test_property_witness_matches_reference(small, tmp_path_factory, w, x, labels, lr, salt):
    y = [[1 if c == k else 0 for c in range(3)] for k in labels]
    si, values = run_witness(small, tmp_path_factory.mktemp("prop"), SMALL, w, x, y, lr, salt=salt)
    assert_matches_reference(small, si, values)
