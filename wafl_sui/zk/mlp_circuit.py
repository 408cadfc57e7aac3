"""The MLP step circuit: per-layer widths from `protocol.layer_bounds`, the generated main
component (templates of circuits/mlp.circom, wired layer by layer) and its constraint formula.

A linear spec (no hidden layer) keeps the fixed `WaflStep` template of wafl_step.circom
(`zk.circuit`); a spec with hidden layers gets the main component written here. The public
inputs are the same four, in the same order (protocol.PUBLIC_INPUTS), so the contract builds
them as for the linear model. docs/CIRCUIT.md ("MLP") derives every width.
"""

from __future__ import annotations

from dataclasses import dataclass

from wafl_sui import protocol
from wafl_sui.protocol import BOUND_SATURATION, StepSpec, carried_bounds, layer_bounds

MAX_FIELD_BITS = 253


def _bitlen(x: int) -> int:
    return max(int(x).bit_length(), 1)


@dataclass(frozen=True)
class LayerParams:
    """Template parameters of one layer in one local step (docs/CIRCUIT.md, "MLP" and "Exact
    local steps"). Step 0 computes on the old weights W (offset OFFW); a later step t on the
    carried V = W*2^m - (glr of steps < t), every division then by 2^m more."""

    nin: int
    nout: int
    one: int       # the bias input 1.0 at the inputs' scale: 2^KX, then 2^KH
    hidden: bool   # a clamped-ReLU layer (else the hard-sigmoid output)
    NZ: int        # bits of the activation's decomposition (hidden: z - 2^(BH-1+SH); output: z)
    shift: int     # SH (hidden) or the forward shift k_in + 2 (output), + m at a carried step
    clamps: bool   # NZ - shift > BH (hidden) / > K (output): the activation can clamp
    NS: int        # bits of the back-propagated sums' decomposition (0 for layer 0)
    bp_shift: int  # the back-propagated division: K (step 0), K + m (carried)
    masked: bool   # the activation feeding this layer can clamp: its mask is a signal
    M: int         # update shift k_in + S (the carried scale's extra bits)
    FOLD: int      # 1: lr multiplies delta (B*nout products), 0: the sums (nout*(nin+1))
    offset: int    # where the layer's weights start in the flat vector
    carried: bool  # the step computes on the carried V (t >= 1), not on W


@dataclass(frozen=True)
class RoundParams:
    """The one rounding of a layer per proof: DivClamp(NA, M, BW) of V_L."""

    NA: int
    M: int
    clamps: bool   # NA - M > BW


@dataclass(frozen=True)
class MlpParams:
    D: int
    C: int
    B: int
    L: int
    K: int
    BW: int
    KX: int
    BX: int
    S: int
    BLR: int
    BH: int
    NW: int
    DOMAIN: int
    steps: tuple[tuple[LayerParams, ...], ...]
    rounding: tuple[RoundParams, ...]

    @property
    def layers(self) -> tuple[LayerParams, ...]:
        """The first local step's layers."""
        return self.steps[0]


def _check_bits(layer: int, name: str, bits: int, bound: int, error: type[Exception]) -> None:
    # a saturated bound (protocol.mul_sat) is no bound: refuse it too
    if bits >= MAX_FIELD_BITS or bound >= BOUND_SATURATION:
        raise error(f"layer {layer}'s {name} needs {bits} bits, the circuit allows < {MAX_FIELD_BITS} "
                    "(BN254 field): use fewer weight/feature/lr bits, fewer local steps or a smaller model")


def derive_mlp_params(spec: StepSpec, error: type[Exception] = ValueError) -> MlpParams:
    """Every decomposition width of the generated circuit, per local step and layer, each checked
    below 253 bits (`error`): step 0 from `protocol.layer_bounds`, later steps and the final
    rounding from `protocol.carried_bounds`."""
    first = layer_bounds(spec)
    carried, final = carried_bounds(spec)
    dims, n = spec.layer_dims, spec.num_layers
    K, BW, BH, B = spec.frac_bits, spec.weight_bits, spec.act_bits, spec.batch_size
    steps = []
    for t in range(spec.local_steps):
        layers = []
        for l in range(n):
            m = spec.layer_update_shift(l)
            extra = m if t else 0
            z_max, s_max = (carried[t][l].z_max, carried[t][l].s_max) if t else (first[l].z_max, first[l].s_max)
            hidden = l < n - 1
            if hidden:
                sh = spec.activation_shift(l) + extra
                nz = _bitlen(z_max + (1 << (BH - 1 + sh))) + 1
                clamps = nz - sh > BH
            else:
                sh = spec.forward_shift + extra
                nz = _bitlen(z_max) + 1
                clamps = nz - sh > K
            ns = _bitlen(s_max) + 1 if l else 0
            _check_bits(l, "activation", nz, z_max, error)
            _check_bits(l, "back-propagated sum", ns, s_max, error)
            if ns and ns <= K + extra:
                raise error(f"layer {l}'s back-propagated sum has {ns} bits, not more than its shift {K + extra}")
            # layer l >= 1 back-propagates through the activation of layer l-1: masked iff it can clamp
            masked = l > 0 and layers[l - 1].clamps
            layers.append(LayerParams(dims[l], dims[l + 1], 1 << spec.input_frac_bits(l), hidden, nz, sh, clamps,
                                      ns, K + extra, masked, m, 1 if B < dims[l] + 1 else 0,
                                      spec.layer_offsets[l], bool(t)))
        steps.append(tuple(layers))
    rounding = []
    for l in range(n):
        na, m = _bitlen(final[l]) + 1, spec.layer_update_shift(l)
        _check_bits(l, "update numerator", na, final[l], error)
        rounding.append(RoundParams(na, m, na - m > BW))
    return MlpParams(spec.features, spec.classes, B, spec.local_steps, K, BW, spec.feature_frac_bits,
                     spec.feature_bits, spec.lr_frac_bits, spec.lr_bits, BH, spec.num_weights,
                     protocol.CONTEXT_DOMAIN, tuple(steps), tuple(rounding))


def step_constraints(p: MlpParams, t: int) -> list[dict[str, int]]:
    """Constraints of local step t, layer by layer (circom --O2), term by term."""
    out = []
    B = p.B
    for l, lp in enumerate(p.steps[t]):
        nin, nout = lp.nin, lp.nout
        tm = {
            "forward_products": B * nout * nin,
            "activation": B * nout * (lp.NZ + (3 if lp.clamps else 0)),
            "backprop_products": B * nin * nout if l else 0,
            "backprop_division": B * nin * (lp.NS + (1 if lp.masked else 0)) if l else 0,
            "lr_products": B * nout if lp.FOLD else nout * (nin + 1),
            "gradient_products": B * nout * nin,
        }
        tm["total"] = sum(tm.values())
        out.append(tm)
    return out


def layer_constraints(p: MlpParams) -> list[dict[str, int]]:
    """Constraints of all local steps, layer by layer, term by term (the per-proof rounding apart)."""
    per = [step_constraints(p, t) for t in range(p.L)]
    return [{k: sum(per[t][l][k] for t in range(p.L)) for k in per[0][l]} for l in range(len(p.layers))]


def constraint_formula(spec: StepSpec, params: MlpParams, tree16, packed, context: int) -> dict:
    """Predicted constraint count of the generated circuit: per layer (all local steps), the
    per-proof rounding and the fixed terms; `tree16`, `packed` and `context` (the context hash's
    count) are zk.circuit's, which calls this."""
    p = params
    L, B, D, C = p.L, p.B, p.D, p.C
    per_layer = layer_constraints(p)
    terms = {
        "weight_range": p.NW * p.BW,
        "feature_range": L * B * D * p.BX,
        "label_bits": L * B * C,
        "lr_range": p.BLR,
        "steps": sum(t["total"] for t in per_layer),
        "weight_update": sum(lp.nout * (lp.nin + 1) * (r.NA + (3 if r.clamps else 0))
                             for lp, r in zip(p.layers, p.rounding)),
        "hash_models": 2 * tree16(packed(p.NW, p.BW)),
        "hash_data": tree16(1 + packed(L * B * D, p.BX) + packed(L * B * C, 1)),
    }
    terms["hash_context"] = context
    terms["total"] = sum(terms.values())
    terms["per_layer"] = per_layer
    terms["per_step"] = [step_constraints(p, t) for t in range(L)]
    return terms


def floor_per_sample_step(spec: StepSpec) -> int:
    """The issue's floor: one product per weight per sample forward and one backward, per layer."""
    return 2 * sum(d_out * d_in for d_in, d_out in zip(spec.layer_dims, spec.layer_dims[1:]))


def main_source(spec: StepSpec, params: MlpParams) -> str:
    """The main component: ranges, L local steps of every layer (step 0 on W, later steps on the
    carried V), the one rounding of the new weights, the four commitments."""
    p = params
    D, C, B, L, NW = p.D, p.C, p.B, p.L, p.NW
    OFFW = 1 << (p.BW - 1)
    n = len(p.layers)
    w = []
    a = w.append
    a("pragma circom 2.1.0;")
    a(f"// generated by wafl_sui.zk.mlp_circuit for spec {spec.canonical_json()}")
    a('include "mlp.circom";')
    a('include "commit.circom";')
    a("")
    a("template WaflMlpStep() {")
    a("    signal input old_model;\n    signal input new_model;\n    signal input data;\n    signal input context;")
    a(f"    signal input W[{NW}];\n    signal input X[{L * B}][{D}];\n    signal input Y[{L * B}][{C}];")
    a("    signal input salt;\n    signal input task_hi;\n    signal input task_lo;")
    a("    signal input sender_hi;\n    signal input sender_lo;\n    signal input round;\n    signal input lr_q;")
    a(f"    component lrRange = Num2Bits({p.BLR});\n    lrRange.in <== lr_q;")
    a(f"    signal Wenc[{NW}];\n    signal Wnew[{NW}];")
    a(f"    component wr[{NW}];")
    a(f"    for (var k = 0; k < {NW}; k++) {{ wr[k] = SignedRange({p.BW}); wr[k].in <== W[k]; Wenc[k] <== wr[k].enc; }}")
    a(f"    component xr[{L * B}][{D}];")
    a(f"    for (var i = 0; i < {L * B}; i++) {{ for (var d = 0; d < {D}; d++) {{ xr[i][d] = SignedRange({p.BX}); xr[i][d].in <== X[i][d]; }} }}")
    a(f"    for (var i = 0; i < {L * B}; i++) {{")
    a("        var rowSum = 0;")
    a(f"        for (var c = 0; c < {C}; c++) {{ Y[i][c] * (Y[i][c] - 1) === 0; rowSum += Y[i][c]; }}")
    a("        rowSum === 1;")
    a("    }")

    def weights_of(s: int, l: int, comp: str) -> None:
        lp = p.steps[s][l]
        nin, nout = lp.nin, lp.nout
        src = f"Wenc[{lp.offset} + o * {nin + 1} + j]" if s == 0 else f"V_{s}_{l}[o][j]"
        a(f"    for (var o = 0; o < {nout}; o++) {{ for (var j = 0; j <= {nin}; j++) {{ {comp}.Wenc[o][j] <== {src}; }} }}")

    for s in range(L):
        r0 = s * B
        off = OFFW if s == 0 else 0
        a(f"    // ---- local step {s}: rows [{r0}, {r0 + B}), on {'W' if s == 0 else f'the carried V_{s}'}")
        for l, lp in enumerate(p.steps[s]):
            nin, nout = lp.nin, lp.nout
            a(f"    component fw_{s}_{l} = Dense({nin}, {nout}, {B}, {lp.one}, {off});")
            weights_of(s, l, f"fw_{s}_{l}")
            if l == 0:
                a(f"    for (var i = 0; i < {B}; i++) {{ for (var j = 0; j < {nin}; j++) {{ fw_{s}_0.A[i][j] <== X[{r0} + i][j]; }} }}")
            else:
                a(f"    for (var i = 0; i < {B}; i++) {{ for (var j = 0; j < {nin}; j++) {{ fw_{s}_{l}.A[i][j] <== act_{s}_{l - 1}.a[i][j]; }} }}")
            if lp.hidden:
                a(f"    component act_{s}_{l} = ReluLayer({nout}, {B}, {lp.NZ}, {lp.shift}, {p.BH});")
                a(f"    act_{s}_{l}.z <== fw_{s}_{l}.z;")
            else:
                a(f"    component err_{s} = SigmoidError({C}, {B}, {lp.NZ}, {lp.shift}, {p.K});")
                a(f"    err_{s}.z <== fw_{s}_{l}.z;")
                a(f"    for (var i = 0; i < {B}; i++) {{ for (var c = 0; c < {C}; c++) {{ err_{s}.Y[i][c] <== Y[{r0} + i][c]; }} }}")
        # backward: deltas from the output layer down, with the step's weights
        a(f"    signal dl_{s}_{n - 1}[{B}][{C}];\n    dl_{s}_{n - 1} <== err_{s}.delta;")
        for l in range(n - 1, 0, -1):
            lp = p.steps[s][l]
            nin, nout = lp.nin, lp.nout
            a(f"    component bp_{s}_{l} = Backprop({nin}, {nout}, {B}, {lp.bp_shift}, {lp.NS}, {off}, {1 if lp.masked else 0});")
            weights_of(s, l, f"bp_{s}_{l}")
            a(f"    bp_{s}_{l}.delta <== dl_{s}_{l};")
            a(f"    bp_{s}_{l}.mask <== act_{s}_{l - 1}.mask;")
            a(f"    signal dl_{s}_{l - 1}[{B}][{nin}];\n    dl_{s}_{l - 1} <== bp_{s}_{l}.dprev;")
        # gradients times lr; the carried weights of the next step (linear: no constraint)
        for l, lp in enumerate(p.steps[s]):
            nin, nout = lp.nin, lp.nout
            a(f"    component gr_{s}_{l} = Gradient({nin}, {nout}, {B}, {lp.one}, {lp.FOLD});")
            a(f"    gr_{s}_{l}.lr <== lr_q;")
            a(f"    gr_{s}_{l}.delta <== dl_{s}_{l};")
            src = f"X[{r0} + i][j]" if l == 0 else f"act_{s}_{l - 1}.a[i][j]"
            a(f"    for (var i = 0; i < {B}; i++) {{ for (var j = 0; j < {nin}; j++) {{ gr_{s}_{l}.A[i][j] <== {src}; }} }}")
            prev = (f"(Wenc[{lp.offset} + o * {nin + 1} + j] - {OFFW}) * {1 << lp.M}" if s == 0
                    else f"V_{s}_{l}[o][j]")
            a(f"    signal V_{s + 1}_{l}[{nout}][{nin + 1}];")
            a(f"    for (var o = 0; o < {nout}; o++) {{ for (var j = 0; j <= {nin}; j++) {{ "
              f"V_{s + 1}_{l}[o][j] <== {prev} - gr_{s}_{l}.glr[o][j]; }} }}")
    # the one rounding per proof: W' = clamp(floor(V_L / 2^m), -2^(BW-1), 2^(BW-1)-1), offset encoded
    for l, (lp, r) in enumerate(zip(p.layers, p.rounding)):
        nin, nout = lp.nin, lp.nout
        a(f"    component rd_{l}[{nout}][{nin + 1}];")
        a(f"    for (var o = 0; o < {nout}; o++) {{ for (var j = 0; j <= {nin}; j++) {{ "
          f"rd_{l}[o][j] = DivClamp({r.NA}, {r.M}, {p.BW}); rd_{l}[o][j].in <== V_{L}_{l}[o][j]; "
          f"Wnew[{lp.offset} + o * {nin + 1} + j] <== rd_{l}[o][j].out; }} }}")
    # commitments, as WaflStep
    a(f"    component packOld = Pack({NW}, {p.BW});\n    component packNew = Pack({NW}, {p.BW});")
    a(f"    for (var k = 0; k < {NW}; k++) {{ packOld.in[k] <== Wenc[k]; packNew.in[k] <== Wnew[k]; }}")
    a(f"    var MW = packedLength({NW}, {p.BW});")
    a("    component hOld = PoseidonTree16(MW);\n    component hNew = PoseidonTree16(MW);")
    a("    for (var j = 0; j < MW; j++) { hOld.in[j] <== packOld.out[j]; hNew.in[j] <== packNew.out[j]; }")
    a("    old_model === hOld.out;\n    new_model === hNew.out;")
    a(f"    component packX = Pack({L * B * D}, {p.BX});")
    a(f"    for (var i = 0; i < {L * B}; i++) {{ for (var d = 0; d < {D}; d++) {{ packX.in[i * {D} + d] <== xr[i][d].enc; }} }}")
    a(f"    component packY = Pack({L * B * C}, 1);")
    a(f"    for (var i = 0; i < {L * B}; i++) {{ for (var c = 0; c < {C}; c++) {{ packY.in[i * {C} + c] <== Y[i][c]; }} }}")
    a(f"    var MX = packedLength({L * B * D}, {p.BX});\n    var MY = packedLength({L * B * C}, 1);")
    a("    component hData = PoseidonTree16(1 + MX + MY);\n    hData.in[0] <== salt;")
    a("    for (var j = 0; j < MX; j++) { hData.in[1 + j] <== packX.out[j]; }")
    a("    for (var j = 0; j < MY; j++) { hData.in[1 + MX + j] <== packY.out[j]; }")
    a("    data === hData.out;")
    a("    component hCtx = Poseidon(7);")
    a(f"    hCtx.inputs[0] <== {p.DOMAIN};")
    for i, name in enumerate(("task_hi", "task_lo", "sender_hi", "sender_lo", "round", "lr_q"), start=1):
        a(f"    hCtx.inputs[{i}] <== {name};")
    a("    context === hCtx.out;")
    a("}")
    a("")
    a("component main {public [old_model, new_model, data, context]} = WaflMlpStep();")
    return "\n".join(w) + "\n"


def new_weight_signals(spec: StepSpec, params: MlpParams, k: int) -> list[str]:
    """Names under which the witness may hold the k-th new (offset-encoded) weight, in order of
    preference (circom --O2 may drop the intermediate copies)."""
    for l, lp in enumerate(params.layers):
        if lp.offset <= k < lp.offset + lp.nout * (lp.nin + 1):
            o, j = divmod(k - lp.offset, lp.nin + 1)
            return [f"main.Wnew[{k}]", f"main.rd_{l}[{o}][{j}].out"]
    raise IndexError(k)
