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
from wafl_sui.protocol import BOUND_SATURATION, StepSpec, layer_bounds

MAX_FIELD_BITS = 253


def _bitlen(x: int) -> int:
    return max(int(x).bit_length(), 1)


@dataclass(frozen=True)
class LayerParams:
    """Template parameters of one layer (docs/CIRCUIT.md, "MLP")."""

    nin: int
    nout: int
    one: int       # the bias input 1.0 at the inputs' scale: 2^KX, then 2^KH
    hidden: bool   # a clamped-ReLU layer (else the hard-sigmoid output)
    NZ: int        # bits of the activation's decomposition (hidden: z - 2^(BH-1+SH); output: z)
    shift: int     # SH (hidden) or the forward shift k_in + 2 (output)
    clamps: bool   # NZ - shift > BH (hidden) / > K (output): the activation can clamp
    NS: int        # bits of the back-propagated sums' decomposition (0 for layer 0)
    masked: bool   # the activation feeding this layer can clamp: its mask is a signal
    NA: int        # bits of the update decomposition
    M: int         # update shift k_in + S
    FOLD: int      # 1: lr multiplies delta (B*nout products), 0: the sums (nout*(nin+1))
    offset: int    # where the layer's weights start in the flat vector


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
    layers: tuple[LayerParams, ...]


def derive_mlp_params(spec: StepSpec, error: type[Exception] = ValueError) -> MlpParams:
    """Every decomposition width of the MLP circuit, each checked below 253 bits (`error`)."""
    bounds = layer_bounds(spec)
    dims, n = spec.layer_dims, spec.num_layers
    K, BW, BH, B = spec.frac_bits, spec.weight_bits, spec.act_bits, spec.batch_size
    layers = []
    for l in range(n):
        b = bounds[l]
        hidden = l < n - 1
        if hidden:
            sh = spec.activation_shift(l)
            nz = _bitlen(b.z_max + (1 << (BH - 1 + sh))) + 1
            clamps = nz - sh > BH
        else:
            sh = spec.forward_shift
            nz = _bitlen(b.z_max) + 1
            clamps = nz - sh > K
        ns = _bitlen(b.s_max) + 1 if l else 0
        na = _bitlen(b.upd_max) + 1
        m = spec.layer_update_shift(l)
        layers.append(LayerParams(dims[l], dims[l + 1], 1 << spec.input_frac_bits(l), hidden, nz, sh, clamps,
                                  ns, False, na, m, 1 if B < dims[l] + 1 else 0, spec.layer_offsets[l]))
        for name, bits, bound in (("activation", nz, b.z_max), ("back-propagated sum", ns, b.s_max),
                                  ("update numerator", na, b.upd_max)):
            # a saturated bound (protocol.mul_sat) is no bound: refuse it too
            if bits >= MAX_FIELD_BITS or bound >= BOUND_SATURATION:
                raise error(f"layer {l}'s {name} needs {bits} bits, the circuit allows < {MAX_FIELD_BITS} "
                            "(BN254 field): use fewer weight/feature/lr bits or a smaller model")
        if ns and ns <= K:
            raise error(f"layer {l}'s back-propagated sum has {ns} bits, not more than frac_bits {K}")
    # layer l >= 1 back-propagates through the activation of layer l-1: masked iff it can clamp
    layers = [lp if l == 0 else LayerParams(**{**lp.__dict__, "masked": layers[l - 1].clamps})
              for l, lp in enumerate(layers)]
    return MlpParams(spec.features, spec.classes, B, spec.local_steps, K, BW, spec.feature_frac_bits,
                     spec.feature_bits, spec.lr_frac_bits, spec.lr_bits, BH, spec.num_weights,
                     protocol.CONTEXT_DOMAIN, tuple(layers))


def layer_constraints(p: MlpParams) -> list[dict[str, int]]:
    """Constraints of one local step, layer by layer (circom --O2), term by term."""
    out = []
    B = p.B
    for l, lp in enumerate(p.layers):
        nin, nout = lp.nin, lp.nout
        t = {
            "forward_products": B * nout * nin,
            "activation": B * nout * (lp.NZ + (3 if lp.clamps else 0)),
            "backprop_products": B * nin * nout if l else 0,
            "backprop_division": B * nin * (lp.NS + (1 if lp.masked else 0)) if l else 0,
            "lr_products": B * nout if lp.FOLD else nout * (nin + 1),
            "gradient_products": B * nout * nin,
            "weight_update": nout * (nin + 1) * (lp.NA + (3 if lp.NA - lp.M > p.BW else 0)),
        }
        t["total"] = sum(t.values())
        out.append(t)
    return out


def constraint_formula(spec: StepSpec, params: MlpParams, tree16, packed, context: int) -> dict:
    """Predicted constraint count of the MLP circuit: per layer (one step) and the fixed terms;
    `tree16`, `packed` and `context` (the context hash's count) are zk.circuit's, which calls this."""
    p = params
    L, B, D, C = p.L, p.B, p.D, p.C
    per_layer = layer_constraints(p)
    terms = {
        "weight_range": p.NW * p.BW,
        "feature_range": L * B * D * p.BX,
        "label_bits": L * B * C,
        "lr_range": p.BLR,
        "steps": L * sum(t["total"] for t in per_layer),
        "hash_models": 2 * tree16(packed(p.NW, p.BW)),
        "hash_data": tree16(1 + packed(L * B * D, p.BX) + packed(L * B * C, 1)),
    }
    terms["hash_context"] = context
    terms["total"] = sum(terms.values())
    terms["per_layer"] = per_layer
    return terms


def floor_per_sample_step(spec: StepSpec) -> int:
    """The issue's floor: one product per weight per sample forward and one backward, per layer."""
    return 2 * sum(d_out * d_in for d_in, d_out in zip(spec.layer_dims, spec.layer_dims[1:]))


def main_source(spec: StepSpec, params: MlpParams) -> str:
    """The main component: ranges, L local steps of every layer, the four commitments."""
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
    a(f"    signal Wenc[{L + 1}][{NW}];")
    a(f"    component wr[{NW}];")
    a(f"    for (var k = 0; k < {NW}; k++) {{ wr[k] = SignedRange({p.BW}); wr[k].in <== W[k]; Wenc[0][k] <== wr[k].enc; }}")
    a(f"    component xr[{L * B}][{D}];")
    a(f"    for (var i = 0; i < {L * B}; i++) {{ for (var d = 0; d < {D}; d++) {{ xr[i][d] = SignedRange({p.BX}); xr[i][d].in <== X[i][d]; }} }}")
    a(f"    for (var i = 0; i < {L * B}; i++) {{")
    a("        var rowSum = 0;")
    a(f"        for (var c = 0; c < {C}; c++) {{ Y[i][c] * (Y[i][c] - 1) === 0; rowSum += Y[i][c]; }}")
    a("        rowSum === 1;")
    a("    }")
    for s in range(L):
        r0 = s * B
        a(f"    // ---- local step {s}: rows [{r0}, {r0 + B})")
        # forward
        for l, lp in enumerate(p.layers):
            nin, nout = lp.nin, lp.nout
            a(f"    component fw_{s}_{l} = Dense({nin}, {nout}, {B}, {lp.one}, {OFFW});")
            a(f"    for (var o = 0; o < {nout}; o++) {{ for (var j = 0; j <= {nin}; j++) {{ "
              f"fw_{s}_{l}.Wenc[o][j] <== Wenc[{s}][{lp.offset} + o * {nin + 1} + j]; }} }}")
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
        # backward: deltas from the output layer down, with the step's old weights
        a(f"    signal dl_{s}_{n - 1}[{B}][{C}];\n    dl_{s}_{n - 1} <== err_{s}.delta;")
        for l in range(n - 1, 0, -1):
            lp = p.layers[l]
            nin, nout = lp.nin, lp.nout
            a(f"    component bp_{s}_{l} = Backprop({nin}, {nout}, {B}, {p.K}, {lp.NS}, {OFFW}, {1 if lp.masked else 0});")
            a(f"    for (var o = 0; o < {nout}; o++) {{ for (var j = 0; j <= {nin}; j++) {{ "
              f"bp_{s}_{l}.Wenc[o][j] <== Wenc[{s}][{lp.offset} + o * {nin + 1} + j]; }} }}")
            a(f"    bp_{s}_{l}.delta <== dl_{s}_{l};")
            a(f"    bp_{s}_{l}.mask <== act_{s}_{l - 1}.mask;")
            a(f"    signal dl_{s}_{l - 1}[{B}][{nin}];\n    dl_{s}_{l - 1} <== bp_{s}_{l}.dprev;")
        # gradients and updates
        for l, lp in enumerate(p.layers):
            nin, nout = lp.nin, lp.nout
            a(f"    component up_{s}_{l} = Update({nin}, {nout}, {B}, {lp.one}, {OFFW}, {lp.NA}, {lp.M}, {p.BW}, {lp.FOLD});")
            a(f"    up_{s}_{l}.lr <== lr_q;")
            a(f"    up_{s}_{l}.delta <== dl_{s}_{l};")
            src = f"X[{r0} + i][j]" if l == 0 else f"act_{s}_{l - 1}.a[i][j]"
            a(f"    for (var i = 0; i < {B}; i++) {{ for (var j = 0; j < {nin}; j++) {{ up_{s}_{l}.A[i][j] <== {src}; }} }}")
            a(f"    for (var o = 0; o < {nout}; o++) {{ for (var j = 0; j <= {nin}; j++) {{ "
              f"up_{s}_{l}.Wenc[o][j] <== Wenc[{s}][{lp.offset} + o * {nin + 1} + j]; }} }}")
            a(f"    for (var o = 0; o < {nout}; o++) {{ for (var j = 0; j <= {nin}; j++) {{ "
              f"Wenc[{s + 1}][{lp.offset} + o * {nin + 1} + j] <== up_{s}_{l}.WencNew[o][j]; }} }}")
    # commitments, as WaflStep
    a(f"    component packOld = Pack({NW}, {p.BW});\n    component packNew = Pack({NW}, {p.BW});")
    a(f"    for (var k = 0; k < {NW}; k++) {{ packOld.in[k] <== Wenc[0][k]; packNew.in[k] <== Wenc[{L}][k]; }}")
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
    s = params.L - 1
    for l, lp in enumerate(params.layers):
        if lp.offset <= k < lp.offset + lp.nout * (lp.nin + 1):
            o, j = divmod(k - lp.offset, lp.nin + 1)
            return [f"main.Wenc[{params.L}][{k}]", f"main.up_{s}_{l}.WencNew[{o}][{j}]",
                    f"main.up_{s}_{l}.upd[{o}][{j}].out"]
    raise IndexError(k)
