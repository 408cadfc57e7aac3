"""The MLP step circuit (wafl_sui.zk.mlp_circuit + circuits/mlp.circom) on small architectures:
the constraint formula equals the compiled r1cs, the witness equals protocol.local_training,
and a witness with any kind of intermediate changed (activation, its remainder, mask,
back-propagated error, gradient product, update) violates the constraints.

Each small spec compiles in a few seconds (then cached under $WAFL_HOME per circuit hash)."""

from __future__ import annotations

import random

import pytest

from wafl_sui import protocol
from wafl_sui.protocol import StepSpec
from wafl_sui.protocol.poseidon import FIELD_MODULUS as P
from wafl_sui.zk import circuit, mlp_circuit
from wafl_sui.zk import witness as wt

ONE_HIDDEN = StepSpec(features=4, classes=3, batch_size=2, hidden=(3,))
TWO_HIDDEN = StepSpec(features=5, classes=2, batch_size=3, local_steps=2, hidden=(4, 3))
TINY_ACT = StepSpec(features=3, classes=2, batch_size=2, hidden=(2,), act_frac_bits=0, act_bits=2)
WIDE_B = StepSpec(features=2, classes=2, batch_size=4, hidden=(3,))  # B >= nin+1: lr multiplies the sums
# several local steps: weights carried exactly between steps, rounded once (the linear model too)
LINEAR_TWO = StepSpec(features=3, classes=2, batch_size=2, local_steps=2)
LINEAR_FOUR = StepSpec(features=3, classes=3, batch_size=2, local_steps=4)
MLP_FOUR = StepSpec(features=3, classes=2, batch_size=2, local_steps=4, hidden=(3,))
TASK, SENDER = "0x" + "ab" * 32, "0x" + "cd" * 31 + "01"


def rand_case(spec, rng, *, extreme=False):
    def pick(lo, hi):
        return rng.choice([lo, hi]) if extreme else rng.randint(lo, hi)

    w = [pick(spec.weight_min // 4, spec.weight_max // 4) for _ in range(spec.num_weights)]
    n = spec.batch_size * spec.local_steps
    x = [[pick(spec.feature_min, spec.feature_max) for _ in range(spec.features)] for _ in range(n)]
    y = []
    for _ in range(n):
        k = rng.randrange(spec.classes)
        y.append([int(j == k) for j in range(spec.classes)])
    return w, x, y, rng.randint(1, (1 << spec.lr_bits) - 1)


def run_witness(art, tmp_path, w, x, y, lr_q):
    si = wt.step_inputs(art.spec, w, x, y, salt=5, task_id=TASK, sender=SENDER, round_=2, lr_q=lr_q)
    path = tmp_path / "w.wtns"
    wt.compute_witness(art, si, path)
    return si, wt.read_wtns(path)


@pytest.mark.parametrize("spec", [ONE_HIDDEN, TWO_HIDDEN, TINY_ACT, WIDE_B, LINEAR_TWO, LINEAR_FOUR, MLP_FOUR])
def test_constraint_formula_matches_compiled_r1cs(spec):
    art = circuit.build(spec)
    f = circuit.constraint_formula(spec)
    assert art.constraints == f["total"]
    assert f["steps"] == sum(t["total"] for t in f["per_layer"])
    assert f["steps"] == sum(t["total"] for step in f["per_step"] for t in step)
    assert len(f["per_layer"]) == spec.num_layers and len(f["per_step"]) == spec.local_steps


@pytest.mark.parametrize("spec", [ONE_HIDDEN, TWO_HIDDEN, TINY_ACT, WIDE_B, LINEAR_TWO, LINEAR_FOUR, MLP_FOUR])
def test_witness_equals_protocol_step(spec, tmp_path):
    art = circuit.build(spec)
    cons = wt.read_r1cs_constraints(art.r1cs)
    rng = random.Random(3)
    for trial in range(3):
        w, x, y, lr = rand_case(spec, rng, extreme=trial == 1)
        if trial == 2:
            x[0] = [0] * spec.features
        si, values = run_witness(art, tmp_path, w, x, y, lr)
        assert values[1:5] == si.public_signals
        assert si.new_weights == protocol.local_training(w, x, y, lr, spec)
        assert wt.witness_new_weights(art, values) == si.new_weights
        assert wt.check_r1cs(cons, values) == []


def test_a_spec_whose_bounds_do_not_fit_is_refused_before_compiling(monkeypatch):
    """The spec refuses bounds past 240 bits (EInvalidSpec); the circuit generator checks each
    layer again (< 253 bits) and names the layer, before circom runs."""
    with pytest.raises(protocol.ProtocolError, match="intermediate values need"):
        StepSpec(features=4, classes=3, batch_size=1 << 60, hidden=(3,) * 8, weight_bits=32, frac_bits=1,
                 act_frac_bits=0, lr_bits=64)
    spec = StepSpec(features=4, classes=3, batch_size=2, hidden=(3,))
    object.__setattr__(spec, "lr_bits", 250)  # a spec object that skipped validation
    ran = []
    monkeypatch.setattr(circuit.subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(circuit.CircuitError, match="layer 0's update numerator needs"):
        circuit.build(spec, force=True)
    assert ran == []


# --------------------------------------------------------------------------- tampered witnesses
@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    spec = TWO_HIDDEN
    art = circuit.build(spec)
    rng = random.Random(8)
    w, x, y, lr = rand_case(spec, rng)
    si, values = run_witness(art, tmp_path_factory.mktemp("mlp"), w, x, y, lr)
    cons = wt.read_r1cs_constraints(art.r1cs)
    assert wt.check_r1cs(cons, values) == []
    return art, si, values, cons, wt.read_sym(art.sym)


def _changed(values, idx, delta=1):
    bad = list(values)
    bad[idx] = (bad[idx] + delta) % P
    return bad


@pytest.mark.parametrize("name", [
    "main.act_0_0.a[1][2]",             # a hidden activation
    "main.act_0_1.mask[0][1]",          # its derivative mask
    "main.fw_0_1.prod[2][1][2]",        # a forward product of the second layer (the last of
                                        # each sum is substituted away by --O2, still constrained)
    "main.dl_0_1[1][0]",                # a back-propagated error (bp_0_2.dprev)
    "main.bp_0_1.prod[0][2][1]",        # a back-propagation product
    "main.gr_0_0.prod[1][2][0]",        # a gradient product of the first layer
    "main.gr_1_2.dlr[0][1]",            # error times lr
    # the carried step 1 (weights V = W*2^m - glr of step 0, not rounded)
    "main.act_1_0.a[1][2]",             # an activation computed from the carried V
    "main.act_1_1.mask[0][1]",          # its mask
    "main.fw_1_0.prod[2][1][2]",        # a forward product V * a
    "main.dl_1_1[1][0]",                # a back-propagated error (floor(V^T delta / 2^(K+m)))
    "main.bp_1_2.prod[0][2][1]",        # a back-propagation product V * delta
    "main.gr_1_1.prod[1][2][0]",        # a gradient product of the carried step
    "main.Wnew[35]",                    # the one rounding: new weight [2][1] of layer 1 (rd_1[2][1])
])
def test_each_kind_of_intermediate_is_constrained(honest, name):
    art, si, values, cons, sym = honest
    idx = sym.get(name, -1)
    assert idx > 0, f"{name} not in the witness"
    assert wt.check_r1cs(cons, _changed(values, idx))


@pytest.mark.parametrize("prefix,where,n_name,m_name", [
    ("main.act_0_0.dc[0][1]", (0, 0), "NZ", "shift"),   # activation: quotient and remainder
    ("main.act_1_1.dc[2][0]", (1, 1), "NZ", "shift"),   # the same at the carried step (shift + m)
    ("main.err_1.dc[1][1]", (1, 2), "NZ", "shift"),     # the carried hard sigmoid
    ("main.rd_1[1][1]", None, "NA", "M"),               # the one rounding: quotient and remainder
])
def test_wrong_quotient_and_remainder_fail(honest, prefix, where, n_name, m_name):
    art, si, values, cons, sym = honest
    layer = art.params.rounding[1] if where is None else art.params.steps[where[0]][where[1]]
    n, m = getattr(layer, n_name), getattr(layer, m_name)
    idx = [sym[f"{prefix}.nb.out[{j}]"] for j in range(n)]
    assert min(idx[0], idx[m], idx[m + 1]) > 0
    bad = list(values)
    bad[idx[m]] = (bad[idx[m]] - 1) % P
    bad[idx[0]] = (bad[idx[0]] + (1 << m)) % P  # same sum, a "bit" that is not a bit
    assert wt.check_r1cs(cons, bad)
    for j in (0, m + 1):  # a flipped remainder bit / quotient bit
        bad = list(values)
        bad[idx[j]] = 1 - bad[idx[j]]
        assert wt.check_r1cs(cons, bad)


@pytest.mark.parametrize("step", [0, 1])
def test_backprop_remainder_cannot_be_shifted(honest, step):
    """The back-propagated division's remainder bits (by 2^K on W, by 2^(K+m) on the carried
    V): moving one unit of the quotient into the remainder (the same sum) breaks the bits."""
    art, si, values, cons, sym = honest
    lp = art.params.steps[step][2]
    k, ns = lp.bp_shift, lp.NS
    assert k == art.spec.frac_bits + (lp.M if step else 0)
    idx = [sym[f"main.bp_{step}_2.nb[1][1].out[{j}]"] for j in range(ns)]
    bad = list(values)
    bad[idx[k]] = (bad[idx[k]] - 1) % P
    bad[idx[0]] = (bad[idx[0]] + (1 << k)) % P
    assert wt.check_r1cs(cons, bad)


def test_per_layer_cost_against_the_floor():
    """64-32-10: what one sample-step costs per layer, beside the floor (two products per weight)."""
    spec = StepSpec(features=64, classes=10, batch_size=16, hidden=(32,))
    f = circuit.constraint_formula(spec)
    per_sample = sum(t["total"] for t in f["per_layer"]) / spec.batch_size
    floor = mlp_circuit.floor_per_sample_step(spec)
    assert floor == 2 * (64 * 32 + 32 * 10)
    assert f["per_layer"][0]["forward_products"] == 16 * 32 * 64
    assert per_sample > floor  # range checks and updates come on top (benchmarks print the ratio)


def test_a_valid_spec_whose_carried_bounds_do_not_fit_is_refused_before_compiling(monkeypatch):
    """Local steps widen the bounds (weights carried exactly, not clipped between steps): a spec
    the protocol accepts for one step can need too wide a circuit for four; refused, naming the
    layer, before circom runs."""
    kw = dict(features=4, classes=3, batch_size=2, hidden=(3,) * 8, weight_bits=24, frac_bits=8, lr_bits=32)
    assert protocol.max_intermediate_bits(StepSpec(**kw, local_steps=4)) < protocol.MAX_INTERMEDIATE_BITS
    mlp_circuit.derive_mlp_params(StepSpec(**kw), circuit.CircuitError)  # one step fits
    ran = []
    monkeypatch.setattr(circuit.subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(circuit.CircuitError, match="layer [0-9]'s .* needs [0-9]+ bits"):
        circuit.build(StepSpec(**kw, local_steps=4), force=True)
    assert ran == []
