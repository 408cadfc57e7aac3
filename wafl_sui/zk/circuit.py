"""Generate, compile and cache the WaFL step circuit for a `protocol.StepSpec`.

The circom template library lives in `circuits/` (wafl_step.circom, fixed_point.circom,
commit.circom); this module derives every bit width from the spec (and asserts that no
intermediate can reach 253 bits, so nothing wraps modulo the BN254 field), writes a small main
component, compiles it with circom 2 (the pinned `circom2` npm package, WASM) and caches the
artifacts under $WAFL_HOME/circuits/<hash>/ where <hash> covers the template sources, circomlib's
sources, the compiler version and the spec.

    art = build(StepSpec(features=8, classes=3, batch_size=4))
    art.r1cs, art.wasm, art.constraints
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from wafl_sui import protocol
from wafl_sui.errors import WaflError
from wafl_sui.protocol import FIELD_MODULUS, StepSpec, tree16_shape
from wafl_sui.toolchain import js_tool, node_bin, node_modules_dir, repo_root, wafl_home
from wafl_sui.zk.iden3_binary import read_sections
from wafl_sui.zk.mlp_circuit import generated  # noqa: F401 (re-exported: circuit.generated)

CIRCUIT_VERSION = 1
TEMPLATE_FILES = ("wafl_step.circom", "fixed_point.circom", "commit.circom")
MLP_TEMPLATE_FILES = ("mlp.circom",)  # hashed and copied only for specs with hidden layers
DP_TEMPLATE_FILES = ("dp_step.circom",)  # hashed and copied only for private specs
CIRCOMLIB_FILES = ("poseidon.circom", "poseidon_constants.circom", "bitify.circom",
                   "comparators.circom", "binsum.circom", "aliascheck.circom", "compconstant.circom")
MAX_FIELD_BITS = 253  # every decomposed / intermediate value must stay below 2^252 in magnitude
# Poseidon rounds of circomlib (t = n + 1): 8 full rounds, partial rounds by t.
_ROUNDS_P = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)

Progress = Optional[Callable[[str], None]]


class CircuitError(WaflError, RuntimeError):
    """Building the step circuit failed; the message names the problem and the fix."""


# --------------------------------------------------------------------------- locations
def templates_dir() -> Path:
    env = os.environ.get("WAFL_CIRCUITS_DIR")
    # a checkout has them in circuits/; an installed package may ship them in wafl_sui/circom/
    cands = [Path(env)] if env else [repo_root() / "circuits", Path(__file__).resolve().parent / "circom"]
    for d in cands:
        if (d / "wafl_step.circom").is_file():
            return d
    raise CircuitError(f"circom templates not found in {' or '.join(map(str, cands))} (expected "
                       "wafl_step.circom); run from a checkout of the project or set WAFL_CIRCUITS_DIR")


def circomlib_dir() -> Path:
    d = node_modules_dir() / "circomlib" / "circuits"
    if not (d / "poseidon.circom").is_file():
        raise CircuitError(f"circomlib not found in {d}; run `npm ci` in the project root "
                           "(package.json pins circomlib 2.0.5) or set WAFL_NODE_MODULES")
    return d


def circom2_cli() -> Path:
    return js_tool("circom2", "cli.js")


def snarkjs_cli() -> Path:
    return js_tool("snarkjs", "build/cli.cjs")


def run_snarkjs(args: Sequence[object], what: str, error: type[Exception] = CircuitError,
                cwd: Optional[Path] = None) -> str:
    """Run the pinned snarkjs CLI under node; its output, or `error` naming the step that failed."""
    cmd = [node_bin(), "--max-old-space-size=16384", str(snarkjs_cli()), *map(str, args)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    except OSError as e:
        raise error(f"could not run snarkjs for {what}: {e}") from None
    out = r.stdout + r.stderr
    if r.returncode != 0 or "[ERROR]" in out:
        raise error(f"snarkjs {what} failed (exit {r.returncode}):\n{out.strip()[-3000:]}")
    return out


# --------------------------------------------------------------------------- parameters
def _bitlen(x: int) -> int:
    return max(int(x).bit_length(), 1)


@dataclass(frozen=True)
class CircuitParams:
    """Template parameters of WaflStep, derived from a spec (docs/CIRCUIT.md)."""

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
    NU: int    # bits of the score decomposition: |u| < 2^(NU-1)
    NA: int    # bits of the update decomposition: |W*2^m - g*lr| < 2^(NA-1)
    FOLD: int  # 1: lr multiplies the error (B*C products), 0: the gradient (C*(D+1))
    DOMAIN: int

    def template_args(self) -> list[int]:
        return [self.D, self.C, self.B, self.L, self.K, self.BW, self.KX, self.BX, self.S,
                self.BLR, self.NU, self.NA, self.FOLD, self.DOMAIN]


def derive_params(spec: StepSpec):
    """Bit widths of every decomposition, with the no-wrap argument checked (assertions): a
    `CircuitParams` for the linear model with one local step, an `mlp_circuit.MlpParams` for a
    generated circuit (`generated`), a `dp_circuit.DpCircuitParams` for a private spec."""
    if spec.privacy is not None:
        from wafl_sui.zk.dp_circuit import derive_dp_params

        return derive_dp_params(spec, CircuitError)
    if generated(spec):
        from wafl_sui.zk.mlp_circuit import derive_mlp_params

        return derive_mlp_params(spec, CircuitError)
    D, C, B = spec.features, spec.classes, spec.batch_size
    K, BW, KX, BX = spec.frac_bits, spec.weight_bits, spec.feature_frac_bits, spec.feature_bits
    S, BLR = spec.lr_frac_bits, spec.lr_bits
    xa = max(1 << (BX - 1), 1 << KX)                 # |xa| <= xa (features and the bias input)
    wmax = 1 << (BW - 1)                             # |W| <= 2^(BW-1)
    u_max = (D + 1) * wmax * xa                      # |u| <= u_max
    nu = _bitlen(u_max) + 1                          # |u| < 2^(NU-1)
    e_max = 1 << K                                   # |p - y*2^K| <= 2^K
    lr_max = (1 << BLR) - 1
    g_lr_max = B * e_max * xa * lr_max               # |lr * sum_i e*xa|
    m = spec.update_shift
    a_max = (wmax << m) + g_lr_max                   # |W*2^m - G|
    na = _bitlen(a_max) + 1
    fwd = spec.forward_shift
    # every product / sum that is ever formed is bounded by one of these
    for name, bits in (("score", nu), ("update numerator", na),
                       ("error*lr", _bitlen(e_max * lr_max) + 1)):
        if bits >= MAX_FIELD_BITS:
            raise CircuitError(f"the {name} needs {bits} bits, the circuit allows < {MAX_FIELD_BITS} "
                               "(BN254 field): use fewer weight/feature/lr bits or a smaller model")
    # a packed element has at most PACK_BITS = 253 bits and 2^253 < p: packing never wraps
    assert spec.weight_bits * spec.weights_per_element <= protocol.PACK_BITS
    assert spec.feature_bits * spec.features_per_element <= protocol.PACK_BITS
    assert (1 << protocol.PACK_BITS) < FIELD_MODULUS
    assert nu > fwd, "score decomposition must be wider than the forward shift"
    assert na > m, "update decomposition must be wider than the update shift"
    fold = 1 if B < D + 1 else 0
    return CircuitParams(D, C, B, spec.local_steps, K, BW, KX, BX, S, BLR, nu, na, fold,
                         protocol.CONTEXT_DOMAIN)


def poseidon_constraints(n: int) -> int:
    """R1CS constraints of circomlib Poseidon(n) after --O2: 3 per S-box (x^2, x^4, x^5), minus the
    first-round S-box of the capacity element, which is a constant (folded by the optimizer)."""
    t = n + 1
    return 3 * (8 * t + _ROUNDS_P[t - 2]) - 3


def tree16_constraints(n: int) -> int:
    """Constraints of poseidon_tree16 over n inputs: each level is hashed in chunks of 16."""
    total = 0
    for size in tree16_shape(n):
        full, rest = divmod(size, 16) if size > 16 else (0, size)
        total += full * poseidon_constraints(16) + (poseidon_constraints(rest) if rest else 0)
    return total


def _packed(n: int, bits: int) -> int:
    per = protocol.PACK_BITS // bits
    return -(-n // per)


def constraint_formula(spec: StepSpec) -> dict:
    """Predicted constraint count (circom --O2), term by term (docs/CIRCUIT.md); an MLP's also
    has `per_layer` (one local step's constraints of each layer, term by term)."""
    p = derive_params(spec)
    if spec.privacy is not None:
        from wafl_sui.zk import dp_circuit

        return dp_circuit.constraint_formula(spec, p, tree16_constraints, _packed, poseidon_constraints)
    if generated(spec):
        from wafl_sui.zk import mlp_circuit

        return mlp_circuit.constraint_formula(spec, p, tree16_constraints, _packed, poseidon_constraints(7) - 3)
    D, C, B, L = p.D, p.C, p.B, p.L
    nw = C * (D + 1)
    t_sig = p.NU - spec.forward_shift
    t_upd = p.NA - spec.update_shift
    sig = p.NU + (3 if t_sig > p.K else 0)
    upd = p.NA + (3 if t_upd > p.BW else 0)
    lr_mul = B * C if p.FOLD else nw
    terms = {
        "weight_range": nw * p.BW,
        "feature_range": L * B * D * p.BX,
        "label_bits": L * B * C,
        "lr_range": p.BLR,
        "products_wx": L * B * C * D,
        "hard_sigmoid": L * B * C * sig,
        "products_ex": L * B * C * D,
        "lr_products": L * lr_mul,
        "weight_update": L * nw * upd,
        "hash_models": 2 * tree16_constraints(_packed(nw, p.BW)),
        "hash_data": tree16_constraints(1 + _packed(L * B * D, p.BX) + _packed(L * B * C, 1)),
        # the domain tag is a constant input: its first S-box is folded too
        "hash_context": poseidon_constraints(7) - 3,
    }
    terms["total"] = sum(terms.values())
    return terms


# The largest step circuit WaFL compiles: 2^20 constraints (a powers of tau of 2^20; the default
# digits circuit has 64,866). Larger specs are refused before anything is written or compiled.
MAX_CONSTRAINTS = 1 << 20
# A private step (docs/PRIVACY.md) proves the whole registered dataset: the digits one (360
# records) has about 1.4 M constraints; 2^21 is its powers of tau.
MAX_PRIVATE_CONSTRAINTS = 1 << 21


def check_size(spec: StepSpec) -> int:
    """The spec's predicted constraint count; CircuitError (before any work) when the circuit's
    value bounds cannot hold it or it is over MAX_CONSTRAINTS."""
    derive_params(spec)
    n = constraint_formula(spec)["total"]
    limit = MAX_PRIVATE_CONSTRAINTS if spec.privacy is not None else MAX_CONSTRAINTS
    if n > limit:
        raise CircuitError(
            f"the step circuit of this spec would have about {n:,} constraints, over the {limit:,} WaFL "
            f"compiles (layers {'-'.join(map(str, spec.layer_dims))}, batch size {spec.batch_size}, local steps "
            f"{spec.local_steps}); use a smaller batch size, fewer local steps, fewer features"
            + (" or fewer / narrower hidden layers" if spec.hidden else "")
        )
    return n


# --------------------------------------------------------------------------- artifacts
@dataclass(frozen=True)
class CircuitArtifacts:
    spec: StepSpec
    params: CircuitParams
    hash: str
    dir: Path
    main: Path
    r1cs: Path
    wasm: Path
    sym: Path
    witness_js: Path          # circom's generate_witness.js
    constraints: int
    wires: int
    compile_seconds: float

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["spec"] = self.spec.to_dict()
        d["params"] = dataclasses.asdict(self.params)
        for k, v in d.items():
            if isinstance(v, Path):
                d[k] = str(v)
        return d


def circuit_hash(spec: StepSpec) -> str:
    h = hashlib.sha256()
    h.update(f"wafl-circuit-v{CIRCUIT_VERSION}\n".encode())
    h.update(spec.canonical_json().encode())
    tdir, ldir = templates_dir(), circomlib_dir()
    for name in _template_files(spec):
        h.update(name.encode() + b"\0" + (tdir / name).read_bytes())
    for name in CIRCOMLIB_FILES:
        f = ldir / name
        if f.is_file():
            h.update(name.encode() + b"\0" + f.read_bytes())
    try:
        h.update(json.loads((node_modules_dir() / "circom2" / "package.json").read_text())["version"].encode())
    except (OSError, ValueError, KeyError):
        pass
    return h.hexdigest()[:16]


def _template_files(spec: StepSpec) -> tuple[str, ...]:
    if spec.privacy is not None:
        return TEMPLATE_FILES + DP_TEMPLATE_FILES
    return TEMPLATE_FILES + MLP_TEMPLATE_FILES if generated(spec) else TEMPLATE_FILES


def main_source(spec: StepSpec) -> str:
    p = derive_params(spec)
    if spec.privacy is not None:
        from wafl_sui.zk import dp_circuit

        return dp_circuit.main_source(spec, p)
    if generated(spec):
        from wafl_sui.zk import mlp_circuit

        return mlp_circuit.main_source(spec, p)
    args = ", ".join(str(a) for a in p.template_args())
    return (
        "pragma circom 2.1.0;\n"
        f"// generated by wafl_sui.circuit for spec {spec.canonical_json()}\n"
        "include \"wafl_step.circom\";\n\n"
        "component main {public [old_model, new_model, data, context]} =\n"
        f"    WaflStep({args});\n"
    )


def r1cs_header(path: Path) -> dict[str, int]:
    """Read the header section of a circom .r1cs file (iden3 binary format)."""
    try:
        body = read_sections(path, b"r1cs", {1}).get(1)
    except ValueError as e:
        raise CircuitError(str(e)) from None
    if body is None:
        raise CircuitError(f"{path}: no header section")
    off = 4 + struct.unpack_from("<I", body, 0)[0]
    n_wires, n_pub_out, n_pub_in, n_prv_in = struct.unpack_from("<IIII", body, off)
    n_labels = struct.unpack_from("<Q", body, off + 16)[0]
    n_constraints = struct.unpack_from("<I", body, off + 24)[0]
    return dict(wires=n_wires, public_outputs=n_pub_out, public_inputs=n_pub_in,
                private_inputs=n_prv_in, labels=n_labels, constraints=n_constraints)


def _load_cached(spec: StepSpec, d: Path, h: str) -> Optional[CircuitArtifacts]:
    meta_path = d / "circuit.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        art = _artifacts(spec, d, h, meta["constraints"], meta["wires"], meta["compile_seconds"])
    except (OSError, ValueError, KeyError):
        return None
    if all(p.is_file() for p in (art.r1cs, art.wasm, art.sym, art.witness_js)):
        return art
    return None


def _artifacts(spec, d, h, constraints, wires, secs) -> CircuitArtifacts:
    return CircuitArtifacts(
        spec=spec, params=derive_params(spec), hash=h, dir=d, main=d / "main.circom",
        r1cs=d / "main.r1cs", wasm=d / "main_js" / "main.wasm", sym=d / "main.sym",
        witness_js=d / "main_js" / "generate_witness.js", constraints=constraints, wires=wires,
        compile_seconds=secs,
    )


def build(spec: StepSpec, *, force: bool = False, optimize: str = "O2",
          progress: Progress = None, home: Optional[Path] = None) -> CircuitArtifacts:
    """Compile (or load from the cache) the step circuit of `spec`."""
    if not isinstance(spec, StepSpec):
        raise CircuitError(f"build() needs a protocol.StepSpec, got {type(spec).__name__}")
    check_size(spec)
    h = circuit_hash(spec)
    d = Path(home or wafl_home()) / "circuits" / h
    if not force:
        art = _load_cached(spec, d, h)
        if art is not None:
            return art
    if optimize not in ("O0", "O1", "O2"):
        raise CircuitError(f"optimize must be O0, O1 or O2, got {optimize!r}")
    tmp = d.with_name(h + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "main.circom").write_text(main_source(spec))
    (tmp / "spec.json").write_text(spec.canonical_json())
    # circom2 runs under WASI and sees paths relative to its working directory only: copy the
    # sources it includes next to the main component (they are part of the hash anyway).
    (tmp / "src").mkdir()
    for name in _template_files(spec):
        shutil.copy2(templates_dir() / name, tmp / "src" / name)
    for name in CIRCOMLIB_FILES:
        if (circomlib_dir() / name).is_file():
            shutil.copy2(circomlib_dir() / name, tmp / "src" / name)
    cmd = [node_bin(), "--max-old-space-size=8192", str(circom2_cli()), "main.circom",
           "--r1cs", "--wasm", "--sym", f"--{optimize}", "-l", "src", "-o", "."]
    if progress:
        progress(f"compiling the step circuit ({spec.canonical_json()}) with circom2 ...")
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CircuitError(f"could not run circom2 ({e}); check node and `npm ci`") from None
    secs = time.perf_counter() - t0
    if r.returncode != 0 or not (tmp / "main.r1cs").is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        msg = (r.stderr.strip() or r.stdout.strip())[-3000:]
        raise CircuitError(f"circom failed to compile the step circuit (exit {r.returncode}):\n{msg}")
    hdr = r1cs_header(tmp / "main.r1cs")
    meta = dict(hash=h, spec=spec.to_dict(), params=dataclasses.asdict(derive_params(spec)),
                constraints=hdr["constraints"], wires=hdr["wires"], compile_seconds=round(secs, 3),
                compiler=r.stdout.strip().splitlines()[:1], optimize=optimize,
                created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    (tmp / "circuit.json").write_text(json.dumps(meta, indent=1))
    if d.exists():
        shutil.rmtree(d)
    os.replace(tmp, d)
    if progress:
        progress(f"compiled: {hdr['constraints']} constraints, {hdr['wires']} wires in {secs:.1f} s")
    art = _load_cached(spec, d, h)
    if art is None:
        raise CircuitError(f"circom did not produce all artifacts in {d}")
    return art


def describe_spec(spec: StepSpec) -> dict:
    """What a spec implies: sizes, value ranges, commitment cost and the circuit's constraints."""
    from wafl_sui.protocol import PUBLIC_INPUTS, poseidon_calls

    weight_elems = -(-spec.num_weights // spec.weights_per_element)
    return {
        "spec": spec.to_dict(),
        "num_weights": spec.num_weights,
        "weight_range": [spec.weight_min / (1 << spec.frac_bits), spec.weight_max / (1 << spec.frac_bits)],
        "feature_range": [spec.feature_min / (1 << spec.feature_frac_bits), spec.feature_max / (1 << spec.feature_frac_bits)],
        "model_field_elements": weight_elems,
        "poseidon_calls_per_model_commitment": poseidon_calls(weight_elems),
        "public_inputs": list(PUBLIC_INPUTS),
        "constraints_estimate": constraint_formula(spec)["total"],
    }
