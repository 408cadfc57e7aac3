"""The private step circuit (docs/PRIVACY.md; docs/CIRCUIT.md, "Private step"): bit widths derived
from the value bounds (each asserted below 253 bits), the generated main component of
circuits/dp_step.circom with its constants (the parameters, the noise table, the domains), the
constraint formula term by term and a breakdown by purpose for the benchmark.

The twin is `protocol.dp_step.private_step`; `zk.circuit` dispatches here when `spec.privacy`.
"""

from __future__ import annotations

from dataclasses import dataclass

from wafl_sui import protocol
from wafl_sui.protocol import FIELD_MODULUS, StepSpec, dp_noise, dp_step, privacy

LIMB_BITS, LIMBS_PER_BLOCK, R_MAX = dp_step.LIMB_BITS, dp_step.LIMBS_PER_BLOCK, dp_step.R_MAX
SAMPLE_BITS = privacy.SAMPLE_BITS

MAX_FIELD_BITS = 253
TEMPLATE_FILE = "dp_step.circom"


@dataclass(frozen=True)
class DpCircuitParams:
    """Template parameters of DpStep (circuits/dp_step.circom), in its order."""

    D: int
    C: int
    N: int          # records (the padded dataset)
    K: int
    BW: int
    KX: int
    BX: int
    S: int
    BLR: int
    KE: int
    F: int
    T0: int         # noise tail
    NOISE_K: int
    THRESH: int     # sample_threshold
    A: int          # clip_q^2 2^(2(F + K - KE))
    NU: int         # bits of the score decomposition
    BA: int         # bits of A - f^2 E X
    BD: int         # bits of the maximality slack
    NA: int         # bits of the update decomposition
    M: int          # update shift KE + KX + S - K
    RB: int         # bits of R_MAX - 1
    RMAX: int
    NB: int         # PRF blocks
    PARAMS_HASH: int
    DOMAIN: int
    SEED_DOMAIN: int
    PRF_DOMAIN: int
    BIND_DOMAIN: int

    def template_args(self) -> list[int]:
        return [getattr(self, f) for f in self.__dataclass_fields__]

    @property
    def NW(self) -> int:
        return self.C * (self.D + 1)


def derive_dp_params(spec: StepSpec, error: type[Exception] = ValueError) -> DpCircuitParams:
    """Every width of the private circuit from the bounds of its values; `error` when one would
    reach 253 bits (nothing may wrap modulo p)."""
    p = spec.privacy
    if p is None:
        raise error("derive_dp_params needs a private spec (spec.privacy)")
    D, C, N = spec.features, spec.classes, p.records
    K, BW, KX, BX = spec.frac_bits, spec.weight_bits, spec.feature_frac_bits, spec.feature_bits
    S, BLR, KE, F = spec.lr_frac_bits, spec.lr_bits, p.clip_frac_bits, p.clip_factor_bits
    xa = max(1 << (BX - 1), 1 << KX)                   # |xa[j]| <= xa
    wmax = 1 << (BW - 1)
    u_max = (D + 1) * wmax * xa
    nu = protocol.bit_length(u_max) + 1                            # |u| < 2^(NU-1)
    e_max = 1 << K                                     # |e| <= 2^K
    ex_max = C * e_max ** 2 * (D * (1 << (2 * (BX - 1))) + (1 << (2 * KX)))  # E X
    a = p.clip_q ** 2 << (2 * (F + K - KE))
    ba = protocol.bit_length(a)                                    # A - f^2 EX in [0, A]
    f2ex_max = (1 << (2 * F)) * ex_max                 # f^2 EX, f <= 2^F
    bd = protocol.bit_length(((1 << F) + 1) ** 2 * ex_max)         # maximality slack in [0, (2^F+1)^2 EX]
    v_bits = F + K + 1                                 # m f |e| in [0, 2^(F+K)]
    g_max = N * (1 << KE) * xa                         # |G| (|ec| <= 2^KE)
    z_max = p.noise_tail * (1 + p.noise_k)             # |Z|
    lr_max = (1 << BLR) - 1
    m = dp_step.update_shift(p, spec)
    a_upd = (wmax << m) + (g_max + z_max) * lr_max
    na = protocol.bit_length(a_upd) + 1
    rb = protocol.bit_length(R_MAX - 1)
    for name, bits in (("score", nu), ("clip bound A", ba + 1), ("f^2 E X", protocol.bit_length(f2ex_max) + 1),
                       ("clip maximality slack", max(bd, ba) + 1), ("clipped error", v_bits + 1),
                       ("update numerator", na), ("noise key comparison", SAMPLE_BITS + 2)):
        if bits >= MAX_FIELD_BITS - 1:
            raise error(f"the private circuit's {name} needs {bits} bits, it allows < {MAX_FIELD_BITS - 1} "
                        "(BN254 field): use fewer bits, a smaller clip_q or fewer records")
    # a negative slack (a violated inequality) maps to p - |slack|, far above 2^BA and 2^BD
    assert a + 1 + (1 << bd) < FIELD_MODULUS and f2ex_max + (1 << ba) < FIELD_MODULUS
    assert nu > spec.forward_shift and na > m >= 0 and F + K - KE >= 1
    assert LIMB_BITS == SAMPLE_BITS == 64 and LIMBS_PER_BLOCK == 3 and (R_MAX << 192) < FIELD_MODULUS
    nb = dp_step.num_blocks(N, C * (D + 1))
    return DpCircuitParams(D, C, N, K, BW, KX, BX, S, BLR, KE, F, p.noise_tail, p.noise_k, p.sample_threshold,
                           a, nu, ba, bd, na, m, rb, R_MAX, nb, privacy.params_hash(p), protocol.CONTEXT_DOMAIN,
                           privacy.DP_SEED_DOMAIN, privacy.DP_PRF_DOMAIN, privacy.DP_BIND_DOMAIN)


def main_source(spec: StepSpec, params: DpCircuitParams) -> str:
    """The main component: the noise table as a constant function, then DpStep(constants)."""
    cum = dp_noise.noise_table(spec.privacy.noise_sigma0, spec.privacy.noise_tail)
    assert len(cum) == 2 * params.T0 + 2
    table = ", ".join(str(v) for v in cum)
    args = ", ".join(str(a) for a in params.template_args())
    return (
        "pragma circom 2.1.0;\n"
        f"// generated by wafl_sui.zk.dp_circuit for spec {spec.canonical_json()}\n"
        f'include "{TEMPLATE_FILE}";\n\n'
        "// the base sampler's table (protocol.dp_noise.noise_table)\n"
        "function dpNoiseCum(j) {\n"
        f"    var cum[{len(cum)}] = [{table}];\n"
        "    return cum[j];\n"
        "}\n\n"
        "component main {public [old_model, new_model, data, context]} =\n"
        f"    DpStep({args});\n"
    )


def constraint_formula(spec: StepSpec, p: DpCircuitParams, tree16_constraints, packed,
                       poseidon_constraints) -> dict:
    """Predicted constraints (circom --O2), term by term; `total` their sum."""
    D, C, N, F, K, T0 = p.D, p.C, p.N, p.F, p.K, p.T0
    nw = p.NW
    sig = p.NU + (3 if p.NU - spec.forward_shift > K else 0)
    upd = p.NA + (3 if p.NA - p.M > p.BW else 0)
    terms = {
        "weight_range": nw * p.BW,
        "lr_range": p.BLR,
        "feature_range": N * D * p.BX,
        "label_bits": N * C,
        "prf_key": poseidon_constraints(4) - 3,
        "prf_blocks": p.NB * (poseidon_constraints(2) - 3 + LIMBS_PER_BLOCK * LIMB_BITS + 2 * p.RB),
        "mask_prefix": 2 * N - 1,
        "mask_keys": N * (SAMPLE_BITS + 1 + 1),
        "products_wx": N * C * D,
        "hard_sigmoid": N * C * sig,
        "norms": N * (C + D + 1),
        "clip_factor": N * ((F + 2) + 3 + p.BA + p.BD),
        "clipped_error": N * (1 + C * (3 + F + K + 1)),
        "products_ex": N * C * D,
        "noise": 2 * nw * (2 * T0 + 1 + 2 * SAMPLE_BITS),
        "lr_products": nw,
        "weight_update": nw * upd,
        "hash_models": 2 * tree16_constraints(packed(nw, p.BW)),
        "hash_data": tree16_constraints(2 + packed(N * D, p.BX) + packed(N * C, 1)),
        "hash_seed": poseidon_constraints(2) - 3,
        "hash_binding": poseidon_constraints(6) - 6,
        "hash_context": poseidon_constraints(7) - 3,
    }
    terms["total"] = sum(terms.values())
    return terms


BREAKDOWN = {
    "membership": ("feature_range", "label_bits", "hash_data", "hash_seed", "hash_binding"),
    "prf": ("prf_key", "prf_blocks"),
    "mask": ("mask_prefix", "mask_keys"),
    "clipping": ("norms", "clip_factor", "clipped_error"),
    "noise": ("noise",),
    "step": ("weight_range", "lr_range", "products_wx", "hard_sigmoid", "products_ex", "lr_products",
             "weight_update", "hash_models", "hash_context"),
}


def breakdown(terms: dict, spec: StepSpec) -> dict:
    """Constraints by purpose (membership/commitment, PRF, mask, clipping, noise, step), with the
    per-record and per-weight costs, for the benchmark: `breakdown(circuit.constraint_formula(spec), spec)`."""
    p = spec.privacy
    out = {k: sum(terms[t] for t in names) for k, names in BREAKDOWN.items()}
    assert sum(out.values()) == terms["total"]
    out["total"] = terms["total"]
    nw = spec.num_weights
    per_record = ("feature_range", "label_bits", "mask_prefix", "mask_keys", "products_wx", "hard_sigmoid",
                  "norms", "clip_factor", "clipped_error", "products_ex")
    out["per_record"] = sum(terms[t] for t in per_record) / p.records
    out["per_weight_noise"] = terms["noise"] / nw
    out["per_weight_prf"] = terms["prf_blocks"] * 2 * nw / (p.records + 2 * nw) / nw
    return out


def format_breakdown(spec: StepSpec, terms: dict) -> str:
    """A printable table of `breakdown`."""
    b = breakdown(terms, spec)
    rows = [f"{k:>18}: {v:>12,.0f}" if isinstance(v, int) else f"{k:>18}: {v:>12,.1f}" for k, v in b.items()]
    return "\n".join(rows)


def private_inputs(spec: StepSpec, weights, features, labels, n: int, salt: int, seed: int, randomness: bytes, *,
                   task_id, sender, round_: int, lr_q: int):
    """The client's entry point (`client.private_round`): `witness.private_step_inputs` with the
    registration's pieces positional; a `witness.PrivateStepInputs` for `Prover.prove`."""
    from wafl_sui.zk.witness import private_step_inputs

    return private_step_inputs(spec, weights, features, labels, n=n, salt=salt, seed=seed, randomness=randomness,
                               task_id=task_id, sender=sender, round_=round_, lr_q=lr_q)
