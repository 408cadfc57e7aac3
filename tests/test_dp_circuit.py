"""The private step circuit (circuits/dp_step.circom, wafl_sui/zk/dp_circuit.py) against its twin
protocol.dp_step.private_step (docs/PRIVACY.md): the constraint formula equals the compiled r1cs,
the witness equals the twin bit for bit (masked, padding and clipped records, saturating clamps),
the public `data` is privacy.binding(...), and a witness that breaks a rule of the step (mask,
clip factor, rounding, noise index, noise, update) or inputs other than the registered ones
(record, seed, randomness) are rejected.

Each small spec compiles in ~15 s (then cached under $WAFL_HOME per circuit hash)."""

from __future__ import annotations

import json
import random

import pytest

from wafl_sui.protocol import StepSpec
from wafl_sui.protocol import dp_step, privacy
from wafl_sui.protocol.poseidon import FIELD_MODULUS as P
from wafl_sui.protocol.poseidon import poseidon
from wafl_sui.protocol.privacy import DpParams
from wafl_sui.zk import circuit, dp_circuit
from wafl_sui.zk import witness as wt

TASK, SENDER = "0x" + "ab" * 32, "0x" + "cd" * 31 + "01"
# N = 8, tail 6, half the records sampled, clip 1500 / 2^9 (clips about half the records)
SMALL = StepSpec(features=4, classes=3, batch_size=4, privacy=DpParams(
    records=8, clip_frac_bits=6, clip_q=1500, clip_factor_bits=4, noise_sigma0=2, noise_tail=6, noise_k=3,
    sample_threshold=1 << 63))
# N = 11, tail 8, F = 3, a tight clip (every record clipped), most records sampled, wide lr
TIGHT = StepSpec(features=4, classes=3, batch_size=8, lr_bits=10, privacy=DpParams(
    records=11, clip_frac_bits=8, clip_q=300, clip_factor_bits=3, noise_sigma0=2, noise_tail=8, noise_k=5,
    sample_threshold=(3 << 62)))


@pytest.fixture(scope="module")
def small():
    return circuit.build(SMALL)


@pytest.fixture(scope="module")
def tight():
    return circuit.build(TIGHT)


def rand_case(spec, rng, *, extreme=False, n=None):
    N = spec.privacy.records
    pick = (lambda lo, hi: rng.choice([lo, hi])) if extreme else rng.randint
    w = [pick(spec.weight_min, spec.weight_max) if extreme else rng.randint(spec.weight_min // 4, spec.weight_max // 4)
         for _ in range(spec.num_weights)]
    n = rng.randint(0, N) if n is None else n
    xs = [[pick(spec.feature_min, spec.feature_max) for _ in range(spec.features)] for _ in range(n)]
    if n and rng.random() < 0.5:
        xs[0] = [0] * spec.features  # a zero record: ||xa|| = 2^KX
    ys = [[int(j == k) for j in range(spec.classes)] for k in (rng.randrange(spec.classes) for _ in range(n))]
    x, y, n = privacy.pad_dataset(xs, ys, N, spec.features, spec.classes)
    lr = (1 << spec.lr_bits) - 1 if extreme else rng.randint(1, (1 << spec.lr_bits) - 1)
    return dict(weights=w, features=x, labels=y, n=n, salt=rng.randrange(P), seed=rng.randrange(P),
                randomness=rng.randbytes(32), lr_q=lr)


def inputs(spec, case, round_=3):
    return wt.private_step_inputs(spec, case["weights"], case["features"], case["labels"], n=case["n"],
                                  salt=case["salt"], seed=case["seed"], randomness=case["randomness"],
                                  task_id=TASK, sender=SENDER, round_=round_, lr_q=case["lr_q"])


def sig(sym, name):
    idx = sym[name]
    assert idx > 0, name
    return idx


@pytest.mark.parametrize("spec", [SMALL, TIGHT], ids=["small", "tight"])
def test_constraint_formula_matches_compiled_r1cs(spec):
    art = circuit.build(spec)
    f = circuit.constraint_formula(spec)
    assert art.constraints == f["total"]
    b = dp_circuit.breakdown(f, spec)
    assert sum(b[k] for k in dp_circuit.BREAKDOWN) == art.constraints
    assert "noise" in dp_circuit.format_breakdown(spec, f)


@pytest.mark.parametrize("spec", [SMALL, TIGHT], ids=["small", "tight"])
def test_witness_equals_the_twin_bit_for_bit(spec, tmp_path):
    art = circuit.build(spec)
    cons = wt.read_r1cs_constraints(art.r1cs)
    sym = wt.read_sym(art.sym)
    rng = random.Random(11)
    N = spec.privacy.records
    seen = dict(masked=0, padding=0, clipped=0, unclipped=0, sampled=0, saturated=0)
    with wt.WitnessServer(art) as ws:
        for trial in range(10):
            case = rand_case(spec, rng, extreme=trial % 3 == 1, n=[N, 0, None][trial % 3] if trial < 3 else None)
            si = inputs(spec, case)
            ws.compute(si, tmp_path / "w.wtns")
            values = wt.read_wtns(tmp_path / "w.wtns")
            step = dp_step.private_step(case["weights"], case["features"], case["labels"], case["n"], case["seed"],
                                        case["randomness"], case["lr_q"], spec)
            assert si.new_weights == step.new_weights
            assert values[1:5] == si.public_signals
            assert wt.witness_new_weights(art, values, sym) == step.new_weights
            assert [values[sig(sym, f"main.m[{i}]")] for i in range(N)] == step.mask
            assert [values[sig(sym, f"main.rec[{i}].f")] for i in range(N)] == step.factors
            assert wt.check_r1cs(cons, values) == []
            top = 1 << spec.privacy.clip_factor_bits
            seen["masked"] += sum(1 for i in range(case["n"]) if not step.mask[i])
            seen["padding"] += N - case["n"]
            seen["sampled"] += sum(step.mask)
            seen["clipped"] += sum(1 for f in step.factors if f < top)
            seen["unclipped"] += sum(1 for f in step.factors if f == top)
            seen["saturated"] += sum(1 for v in step.new_weights if v in (spec.weight_min, spec.weight_max))
    if spec is TIGHT:  # its clip bound is below every record's gradient
        assert seen.pop("unclipped") == 0
    assert all(seen.values()), seen


def test_public_data_is_the_binding(small, tmp_path):
    case = rand_case(SMALL, random.Random(5), n=6)
    si = inputs(SMALL, case)
    p = SMALL.privacy
    dc = privacy.private_data_commitment(case["features"], case["labels"], case["n"], case["salt"], SMALL.feature_bits)
    assert si.public_signals[2] == privacy.binding(p, dc, privacy.seed_commitment(case["seed"]), case["randomness"])
    wt.compute_witness(small, si, tmp_path / "w.wtns")
    assert wt.read_wtns(tmp_path / "w.wtns")[3] == si.public_signals[2]


# --------------------------------------------------------------------------- soundness
@pytest.fixture(scope="module")
def honest(small, tmp_path_factory):
    rng = random.Random(23)
    for _ in range(50):  # a case with a sampled and a non-sampled real record, and a clipped one
        case = rand_case(SMALL, rng, n=7)
        step = dp_step.private_step(case["weights"], case["features"], case["labels"], case["n"], case["seed"],
                                    case["randomness"], case["lr_q"], SMALL)
        if 0 < sum(step.mask[:7]) < 7 and any(f < 16 for f in step.factors):
            break
    si = inputs(SMALL, case)
    path = tmp_path_factory.mktemp("dp") / "w.wtns"
    wt.compute_witness(small, si, path)
    values = wt.read_wtns(path)
    cons = wt.read_r1cs_constraints(small.r1cs)
    assert wt.check_r1cs(cons, values) == []
    return case, si, step, values, cons, wt.read_sym(small.sym)


def _violated_wires(cons, bad):
    out = set()
    for k in wt.check_r1cs(cons, bad):
        for lc in cons[k]:
            out |= set(lc)
    return out


def _set_bits(bad, sym, prefix, nbits, value):
    """Write the low nbits of value (mod p) into a Num2Bits' output wires (those the optimizer kept)."""
    v = value % P
    for b in range(nbits):
        idx = sym.get(f"{prefix}.out[{b}]", -1)
        if idx > 0:
            bad[idx] = (v >> b) & 1


def test_a_flipped_mask_fails(honest):
    case, si, step, values, cons, sym = honest
    for i in (step.mask.index(1), step.mask.index(0), 7):  # sampled, not sampled, padding
        bad = list(values)
        bad[sig(sym, f"main.m[{i}]")] = 1 - step.mask[i]
        assert wt.check_r1cs(cons, bad), i
    # the prefix [i < n] (n = 7): no bit of it flips (the optimizer keeps a[N-1] as n - sum of the others)
    for i in range(SMALL.privacy.records):
        idx = sym[f"main.a[{i}]"]
        if idx > 0:
            bad = list(values)
            bad[idx] = 1 - values[idx]
            assert wt.check_r1cs(cons, bad), i


def _tamper_factor(values, sym, i, f, spec):
    """The witness of record i with clip factor f and every clip wire recomputed consistently."""
    p = spec.privacy
    prm = dp_circuit.derive_dp_params(spec)
    bad = list(values)
    ex = values[sig(sym, f"main.rec[{i}].EX")]
    top = 1 << p.clip_factor_bits
    t = int(f == top)
    bad[sig(sym, f"main.rec[{i}].f")] = f
    bad[sig(sym, f"main.rec[{i}].t")] = t
    _set_bits(bad, sym, f"main.rec[{i}].fLow", prm.F, f - t * top)
    bad[sig(sym, f"main.rec[{i}].f2")] = f * f
    bad[sig(sym, f"main.rec[{i}].f2EX")] = f * f * ex
    bad[sig(sym, f"main.rec[{i}].f1EX")] = (f + 1) ** 2 * ex
    _set_bits(bad, sym, f"main.rec[{i}].fits", prm.BA, prm.A - f * f * ex)
    _set_bits(bad, sym, f"main.rec[{i}].maximal", prm.BD, (f + 1) ** 2 * ex - prm.A - 1 + t * (prm.A + 1))
    return bad


def test_a_wrong_clip_factor_fails_exactly_at_its_inequality(honest):
    """On a record outside the batch (nothing downstream changes), a clip factor one below the
    maximal one breaks only the maximality range check, one above only f^2 E X <= A."""
    case, si, step, values, cons, sym = honest
    i = next(i for i in range(SMALL.privacy.records) if not step.mask[i] and step.factors[i] < 16)
    f = step.factors[i]
    assert wt.check_r1cs(cons, _tamper_factor(values, sym, i, f, SMALL)) == []  # the repair is exact
    for f_bad, guard in ((f - 1, "maximal"), (f + 1, "fits")):
        if f_bad < 0:
            continue
        bad = _tamper_factor(values, sym, i, f_bad, SMALL)
        assert wt.check_r1cs(cons, bad), f_bad
        guard_wires = {sym[k] for k in sym if k.startswith(f"main.rec[{i}].{guard}.") and sym[k] > 0}
        assert _violated_wires(cons, bad) & guard_wires, f_bad
    # a factor above 2^F on an unclipped record
    j = next(j for j in range(SMALL.privacy.records) if step.factors[j] == 16 and not step.mask[j])
    assert wt.check_r1cs(cons, _tamper_factor(values, sym, j, 17, SMALL))


def test_a_wrong_rounding_of_the_clipped_error_fails(honest):
    case, si, step, values, cons, sym = honest
    prm = dp_circuit.derive_dp_params(SMALL)
    T = prm.F + prm.K - prm.KE
    i = step.mask.index(1)
    for c in range(SMALL.classes):
        bits = [sym.get(f"main.rec[{i}].vb[{c}].out[{b}]", -1) for b in range(prm.F + prm.K + 1)]
        if bits[T] > 0 and bits[0] > 0 and values[bits[T]] == 1:
            break
    else:
        pytest.skip("no record with a set quotient bit")
    # quotient - 1 and remainder + 2^T: the same v, a remainder that is no longer T bits
    bad = list(values)
    bad[bits[T]] = 0
    bad[bits[0]] = (bad[bits[0]] + (1 << T)) % P
    assert wt.check_r1cs(cons, bad)
    bad = list(values)  # rounding away from zero: ec one larger in magnitude
    bad[sig(sym, f"main.rec[{i}].ec[{c}]")] = (values[sig(sym, f"main.rec[{i}].ec[{c}]")] + 1) % P
    assert wt.check_r1cs(cons, bad)


def test_another_noise_index_or_value_fails(honest):
    case, si, step, values, cons, sym = honest
    T0 = SMALL.privacy.noise_tail
    for s in (0, 7, 2 * SMALL.num_weights - 1):
        sel = [sym[f"main.zs[{s}].sel[{j}]"] for j in range(2 * T0 + 1)]
        j = next(j for j, idx in enumerate(sel) if values[idx] == 1)
        for j_bad in (j - 1, j + 1):
            if not 0 <= j_bad <= 2 * T0:
                continue
            bad = list(values)  # still a one-hot, but cum[j_bad] <= u < cum[j_bad + 1] is false
            bad[sel[j]], bad[sel[j_bad]] = 0, 1
            guard = {sym[k] for k in sym if k.startswith(f"main.zs[{s}].") and "Num2Bits" not in k and sym[k] > 0
                     and (".geLo." in k or ".ltHi." in k)}
            assert _violated_wires(cons, bad) & guard, (s, j_bad)
        bad = list(values)  # two entries selected
        bad[sel[(j + 1) % len(sel)]] = 1
        assert wt.check_r1cs(cons, bad)
    bad = list(values)  # another noise value in the update
    bad[sig(sym, "main.hl[1][2]")] = (values[sig(sym, "main.hl[1][2]")] + 1) % P
    assert wt.check_r1cs(cons, bad)


def test_prf_limbs_cannot_be_split_another_way(honest):
    """The other integer with the same residue, h + p = l' + 2^192 r' (r' >= R_MAX), passes the
    bit decompositions of the limbs and of r' but not r' < R_MAX."""
    case, si, step, values, cons, sym = honest
    prm = dp_circuit.derive_dp_params(SMALL)
    for j in range(prm.NB):
        h = poseidon([dp_step.round_key(case["seed"], case["randomness"]), j])
        alt = h + P
        if alt < 1 << (192 + prm.RB):
            break
    else:
        pytest.skip("no block with a second decomposition below 2^254")
    bad = list(values)
    _set_bits(bad, sym, f"main.blk[{j}].rb", prm.RB, alt >> 192)
    _set_bits(bad, sym, f"main.blk[{j}].lb", 192, alt)
    _set_bits(bad, sym, f"main.blk[{j}].rlt", prm.RB, (alt >> 192) + (1 << prm.RB) - prm.RMAX)
    guard = {sym[k] for k in sym if k.startswith(f"main.blk[{j}].rlt.") and sym[k] > 0}
    assert _violated_wires(cons, bad) & guard


def test_unregistered_data_seed_or_randomness_is_rejected(small, honest, tmp_path):
    """Other private inputs under the registered public `data`: the witness generator refuses;
    recomputed honestly, they change `data` (the contract computes it from the registration)."""
    case, si, step, values, cons, sym = honest
    base = si.circuit_input()
    tampers = {
        "record": lambda d: d["X"][0].__setitem__(0, str(int(d["X"][0][0]) ^ 1)),
        "label": lambda d: d.__setitem__("Y", [d["Y"][1], d["Y"][0]] + d["Y"][2:]),
        "n": lambda d: d.__setitem__("n", str(int(d["n"]) - 1)),
        "salt": lambda d: d.__setitem__("salt", str(int(d["salt"]) + 1)),
        "seed": lambda d: d.__setitem__("seed", str(int(d["seed"]) + 1)),
        "randomness": lambda d: d.__setitem__("rand_lo", str(int(d["rand_lo"]) ^ 1)),
    }
    for name, tamper in tampers.items():
        d = json.loads(json.dumps(base))
        tamper(d)
        with pytest.raises(wt.WitnessGenerationError):
            wt.compute_witness(small, d, tmp_path / f"{name}.wtns")
    other = dict(case, seed=case["seed"] + 1)
    assert inputs(SMALL, other).public_signals[2] != si.public_signals[2]
    other = dict(case, randomness=bytes(32))
    assert inputs(SMALL, other).public_signals[2] != si.public_signals[2]


def test_non_private_spec_and_bad_inputs_are_refused():
    with pytest.raises(wt.WitnessInputError):
        wt.private_step_inputs(StepSpec(features=4, classes=3, batch_size=2), [0] * 15, [], [], n=0, salt=1,
                               seed=1, randomness=bytes(32), task_id=TASK, sender=SENDER, round_=0, lr_q=1)
    case = rand_case(SMALL, random.Random(1))
    with pytest.raises(wt.WitnessInputError):
        inputs(SMALL, dict(case, features=case["features"][:-1]))  # not padded to N rows


@pytest.mark.slow
def test_groth16_proof_of_a_private_step(small):
    from wafl_sui.zk import prover as pv
    from wafl_sui.zk import setup as groth16_setup

    keys = groth16_setup.dev_setup(small)
    case = rand_case(SMALL, random.Random(9), n=6)
    si = inputs(SMALL, case)
    with pv.make_prover(small, keys) as prv:
        res = prv.prove(si)
        assert res.public_signals == si.public_json
        assert res.new_weights == si.new_weights
        assert prv.verify(res.proof_json, res.public_signals)
        wrong = list(res.public_signals)
        wrong[2] = str((int(wrong[2]) + 1) % P)  # another binding (other data, seed or randomness)
        assert not prv.verify(res.proof_json, wrong)
    print(f"\nprivate step N={SMALL.privacy.records}: {small.constraints} constraints, witness "
          f"{res.witness_seconds:.2f} s, proof {res.prove_seconds:.2f} s")


def test_the_client_entry_point_is_private_step_inputs():
    case = rand_case(SMALL, random.Random(4), n=5)
    a = dp_circuit.private_inputs(SMALL, case["weights"], case["features"], case["labels"], case["n"], case["salt"],
                                  case["seed"], case["randomness"], task_id=TASK, sender=SENDER, round_=3,
                                  lr_q=case["lr_q"])
    assert a.circuit_input() == inputs(SMALL, case).circuit_input()
