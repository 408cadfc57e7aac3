"""Circuit inputs and witnesses of the WaFL step circuit.

* `step_inputs(...)` validates protocol objects (weights, batch, salt, task, sender, round, lr_q)
  and returns `StepInputs`: the circom input JSON (signed values as decimal strings, negative ones
  either as "-5" or as the field element p - 5) and the expected public signals and new weights,
  computed with `wafl_sui.protocol` (the reference).
* `private_step_inputs(...)`: the same for a private task's step (docs/PRIVACY.md), the
  expected outputs from the twin `protocol.dp_step.private_step` (`PrivateStepInputs`).
* `compute_witness(artifacts, inputs, path)` runs circom's witness generator (node + the
  compiled .wasm) and writes a .wtns file; `WitnessServer(artifacts)` keeps that generator
  resident in one node process for a prover that makes many witnesses.
* `read_wtns` / `write_wtns`, `read_sym`, `check_r1cs` read the binary files so tests can
  inspect and tamper with witnesses and check them against the constraint system directly.
"""

from __future__ import annotations

import json
import math
import numbers
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from wafl_sui.errors import WaflError
from wafl_sui import protocol
from wafl_sui.zk.iden3_binary import read_sections
from wafl_sui.zk.mlp_circuit import generated
from wafl_sui.protocol import FIELD_MODULUS, ProtocolError, StepSpec

P = FIELD_MODULUS


class WitnessInputError(WaflError, ValueError):
    """The inputs of a step cannot be proven (wrong shape, non-integer, out of range)."""


class WitnessGenerationError(WaflError, RuntimeError):
    """circom's witness generator failed (its message says which constraint)."""


# --------------------------------------------------------------------------- inputs
def _as_int(v: Any, what: str) -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            raise WitnessInputError(f"{what} is {f}: inputs must be finite integers "
                                    "(quantize the model and data first)")
        if f != int(f):
            raise WitnessInputError(f"{what} = {f} is not an integer: quantize it first "
                                    "(wafl_sui.protocol fixed-point encoding)")
        return int(f)
    if isinstance(v, str):
        try:
            return int(v, 0)
        except ValueError:
            pass
    try:  # numpy 0-d arrays and similar
        return _as_int(v.item(), what)  # type: ignore[union-attr]
    except AttributeError:
        raise WitnessInputError(f"{what} has type {type(v).__name__}, expected an integer") from None


def _as_matrix(rows: Any, what: str) -> list[list[int]]:
    try:
        rows = rows.tolist()  # numpy
    except AttributeError:
        pass
    try:
        return [[_as_int(v, f"{what}[{i}][{j}]") for j, v in enumerate(row)] for i, row in enumerate(rows)]
    except TypeError:
        raise WitnessInputError(f"{what} must be a 2-D array of integers") from None


def _as_vector(vals: Any, what: str) -> list[int]:
    try:
        vals = vals.tolist()
    except AttributeError:
        pass
    if vals and isinstance(vals[0], (list, tuple)):
        vals = [v for row in vals for v in row]  # accept C x (D+1) matrices
    try:
        return [_as_int(v, f"{what}[{i}]") for i, v in enumerate(vals)]
    except TypeError:
        raise WitnessInputError(f"{what} must be a list of integers") from None


def encode_field(v: int, negative: str = "decimal") -> str:
    """A signed int as a circom input string: "-5" (negative="decimal") or p-5 ("field")."""
    if negative == "field":
        return str(int(v) % P)
    if negative == "decimal":
        return str(int(v))
    raise ValueError(f"negative must be 'decimal' or 'field', got {negative!r}")


@dataclass
class StepInputs:
    spec: StepSpec
    weights: list[int]                 # signed, protocol order (each layer row-major, bias last)
    features: list[list[int]]          # local_steps*B rows of D signed values
    labels: list[list[int]]            # one-hot rows of C
    salt: int
    task_hi: int
    task_lo: int
    sender_hi: int
    sender_lo: int
    round: int
    lr_q: int
    new_weights: list[int] = field(default_factory=list)   # expected (protocol.local_training)
    public_signals: list[int] = field(default_factory=list)  # [old_model, new_model, data, context]

    def circuit_input(self, negative: str = "decimal") -> dict[str, Any]:
        s = self.spec
        d1 = s.features + 1
        enc = lambda v: encode_field(v, negative)  # noqa: E731
        return {
            "old_model": str(self.public_signals[0]),
            "new_model": str(self.public_signals[1]),
            "data": str(self.public_signals[2]),
            "context": str(self.public_signals[3]),
            # the fixed linear circuit takes W as C x (D+1); a generated one as the flat vector
            "W": ([enc(w) for w in self.weights] if generated(s) else
                  [[enc(w) for w in self.weights[c * d1:(c + 1) * d1]] for c in range(s.classes)]),
            "X": [[enc(x) for x in row] for row in self.features],
            "Y": [[str(int(y)) for y in row] for row in self.labels],
            "salt": str(self.salt),
            "task_hi": str(self.task_hi), "task_lo": str(self.task_lo),
            "sender_hi": str(self.sender_hi), "sender_lo": str(self.sender_lo),
            "round": str(self.round), "lr_q": str(self.lr_q),
        }

    @property
    def public_json(self) -> list[str]:
        return [str(v) for v in self.public_signals]


def step_inputs(spec: StepSpec, weights: Sequence[int], features: Any, labels: Any, *, salt: int,
                task_id: bytes | str, sender: bytes | str, round_: int, lr_q: int) -> StepInputs:
    """Validate the inputs of one proof and compute its expected outputs with wafl_sui.protocol."""
    if not isinstance(spec, StepSpec):
        raise WitnessInputError(f"spec must be a protocol.StepSpec, got {type(spec).__name__}")
    w = _as_vector(weights, "weights")
    x = _as_matrix(features, "features")
    y = _as_matrix(labels, "labels")
    salt_i = _as_int(salt, "salt")
    round_i = _as_int(round_, "round")
    lr_i = _as_int(lr_q, "lr_q")
    try:
        new_w = protocol.local_training(w, x, y, lr_i, spec)
        t_hi, t_lo = protocol.address_limbs(task_id)
        s_hi, s_lo = protocol.address_limbs(sender)
        pub = protocol.public_inputs(
            protocol.model_commitment(w, spec),
            protocol.model_commitment(new_w, spec),
            protocol.data_commitment(x, y, salt_i, spec),
            protocol.context_hash(task_id, sender, round_i, lr_i),
        )
    except ProtocolError as e:
        raise WitnessInputError(f"invalid step inputs: {e}") from None
    except ValueError as e:
        raise WitnessInputError(f"invalid step inputs: {e}") from None
    return StepInputs(spec, w, x, y, salt_i, t_hi, t_lo, s_hi, s_lo, round_i, lr_i, new_w, pub)


@dataclass
class PrivateStepInputs(StepInputs):
    """The inputs of a private step's proof (docs/PRIVACY.md): the padded registered dataset
    (`features`/`labels`, N rows), its real row count n, the salt of its commitment, the secret
    seed and the round's randomness limbs; `step` is the twin's `dp_step.PrivateStep` (mask,
    clip factors, clipped sum, noise, new weights). The circuit computes its own hints."""

    n: int = 0
    seed: int = 0
    rand_hi: int = 0
    rand_lo: int = 0
    step: Any = None

    def circuit_input(self, negative: str = "decimal") -> dict[str, Any]:
        d = super().circuit_input(negative)
        d.update(n=str(self.n), seed=str(self.seed), rand_hi=str(self.rand_hi), rand_lo=str(self.rand_lo))
        return d


def private_step_inputs(spec: StepSpec, weights: Sequence[int], features: Any, labels: Any, *, n: int, salt: int,
                        seed: int, randomness: bytes, task_id: bytes | str, sender: bytes | str, round_: int,
                        lr_q: int) -> PrivateStepInputs:
    """Validate the inputs of one private proof and compute its expected outputs with the twin
    (`protocol.dp_step.private_step`): `features`/`labels` are the registered dataset padded to
    `spec.privacy.records` rows (`protocol.privacy.pad_dataset`), `randomness` the round's 32 bytes.
    The public `data` is `privacy.binding(params, data_commitment, seed_commitment, randomness)`."""
    from wafl_sui.protocol import dp_step, privacy

    if not isinstance(spec, StepSpec) or spec.privacy is None:
        raise WitnessInputError("private_step_inputs needs a private protocol.StepSpec (spec.privacy)")
    w = _as_vector(weights, "weights")
    x = _as_matrix(features, "features")
    y = _as_matrix(labels, "labels")
    n_i, salt_i, seed_i = _as_int(n, "n"), _as_int(salt, "salt"), _as_int(seed, "seed")
    round_i, lr_i = _as_int(round_, "round"), _as_int(lr_q, "lr_q")
    try:
        step = dp_step.private_step(w, x, y, n_i, seed_i, randomness, lr_i, spec)
        hi, lo = privacy.randomness_limbs(randomness)
        t_hi, t_lo = protocol.address_limbs(task_id)
        s_hi, s_lo = protocol.address_limbs(sender)
        data = privacy.binding(spec.privacy,
                               privacy.private_data_commitment(x, y, n_i, salt_i, spec.feature_bits),
                               privacy.seed_commitment(seed_i), randomness)
        pub = protocol.public_inputs(
            protocol.model_commitment(w, spec),
            protocol.model_commitment(step.new_weights, spec),
            data,
            protocol.context_hash(task_id, sender, round_i, lr_i),
        )
    except (ProtocolError, ValueError) as e:
        raise WitnessInputError(f"invalid private step inputs: {e}") from None
    return PrivateStepInputs(spec, w, x, y, salt_i, t_hi, t_lo, s_hi, s_lo, round_i, lr_i, list(step.new_weights),
                             pub, n_i, seed_i, hi, lo, step)


# --------------------------------------------------------------------------- witness files
def write_input_json(inputs: StepInputs, path: Path, negative: str = "decimal") -> Path:
    path = Path(path)
    path.write_text(json.dumps(inputs.circuit_input(negative)))
    return path


def _write_request(artifacts, inputs: StepInputs | dict, wtns_path: Path, negative: str) -> Path:
    """Write the input JSON next to `wtns_path` (checked against the circuit); returns its path."""
    wtns_path = Path(wtns_path)
    inp = wtns_path.with_suffix(".input.json")
    if isinstance(inputs, StepInputs):
        if inputs.spec != artifacts.spec:
            raise WitnessInputError("the inputs were built for a different spec than the circuit")
        write_input_json(inputs, inp, negative)
    else:
        inp.write_text(json.dumps(inputs))
    _require_artifacts(artifacts.witness_js, artifacts.wasm)
    return inp


def _require_artifacts(*paths: Path) -> None:
    for p in paths:
        if not Path(p).is_file():
            raise WitnessGenerationError(f"missing circuit artifact {p}: rebuild with circuit.build(spec, force=True)")


def _rejected(msg: str) -> WitnessGenerationError:
    return WitnessGenerationError(
        "the witness generator rejected the inputs (a constraint does not hold: the public "
        f"signals do not match the private inputs, or a value is out of range):\n{msg[-2000:]}")


def compute_witness(artifacts, inputs: StepInputs | dict, wtns_path: Path,
                    negative: str = "decimal") -> float:
    """Run circom's witness generator once (a fresh node process); returns the seconds it took."""
    from wafl_sui.toolchain import node_bin

    wtns_path = Path(wtns_path)
    inp = _write_request(artifacts, inputs, wtns_path, negative)
    t0 = time.perf_counter()
    r = subprocess.run([node_bin(), str(artifacts.witness_js), str(artifacts.wasm), str(inp), str(wtns_path)],
                       capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if r.returncode != 0 or not wtns_path.is_file():
        raise _rejected(r.stderr.strip() or r.stdout.strip())
    return secs


class WitnessServer:
    """circom's witness generator kept resident in one node process (`witness_server.cjs`): the
    wasm is compiled once and warmed up, so a witness costs its computation only (about a
    quarter of a fresh `compute_witness`, which pays node's start-up and a cold wasm each time).

        with WitnessServer(artifacts) as ws:
            seconds = ws.compute(inputs, "step.wtns")

    One request at a time; if node dies, the next request starts a new one."""

    SCRIPT = Path(__file__).with_name("witness_server.cjs")

    def __init__(self, artifacts):
        self.artifacts = artifacts
        self._proc: subprocess.Popen | None = None
        self._stderr: Any = None

    def _start(self) -> subprocess.Popen:
        from wafl_sui.toolchain import node_bin

        calc = Path(self.artifacts.witness_js).with_name("witness_calculator.js")
        _require_artifacts(calc, self.artifacts.wasm)
        self._stderr = tempfile.TemporaryFile(mode="w+")  # never a pipe nobody drains
        proc = subprocess.Popen([node_bin(), str(self.SCRIPT), str(calc), str(self.artifacts.wasm)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                text=True, bufsize=1)
        first = self._read(proc)
        if not first.get("ready"):
            proc.kill()
            raise WitnessGenerationError(f"the witness server did not start: {first.get('error', first)}")
        self._proc = proc
        return proc

    def _read(self, proc: subprocess.Popen) -> dict:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            proc.wait(timeout=5)
            self._stderr.seek(0)
            return {"ok": False, "error": f"node exited ({proc.returncode}): {self._stderr.read().strip()[-2000:]}"}
        return json.loads(line)

    def compute(self, inputs: StepInputs | dict, wtns_path: Path, negative: str = "decimal") -> float:
        """Write the witness of `inputs` to `wtns_path`; returns the seconds it took."""
        wtns_path = Path(wtns_path)
        inp = _write_request(self.artifacts, inputs, wtns_path, negative)
        wtns_path.unlink(missing_ok=True)
        t0 = time.perf_counter()
        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
        try:
            proc.stdin.write(json.dumps({"input": str(inp), "output": str(wtns_path)}) + "\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.close()
            raise WitnessGenerationError("the witness server exited; the next request starts a new one") from None
        answer = self._read(proc)
        if not answer.get("ok") or not wtns_path.is_file():
            if proc.poll() is not None:
                self.close()
            raise _rejected(str(answer.get("error", answer)))
        return time.perf_counter() - t0

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=5)
        except Exception:
            proc.kill()
        for f in (proc.stdout, self._stderr):
            if f:
                f.close()

    def __enter__(self) -> "WitnessServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def read_wtns(path: Path) -> list[int]:
    try:
        sec = read_sections(path, b"wtns", {1, 2})
    except ValueError as e:
        raise WitnessGenerationError(str(e)) from None
    hdr, body = sec[1], sec[2]
    n8 = struct.unpack_from("<I", hdr, 0)[0]
    n_wit = struct.unpack_from("<I", hdr, 4 + n8)[0]
    return [int.from_bytes(body[i * n8:(i + 1) * n8], "little") for i in range(n_wit)]


def write_wtns(path: Path, values: Sequence[int]) -> None:
    n8 = 32
    hdr = struct.pack("<I", n8) + P.to_bytes(n8, "little") + struct.pack("<I", len(values))
    body = b"".join((int(v) % P).to_bytes(n8, "little") for v in values)
    out = b"wtns" + struct.pack("<II", 2, 2)
    out += struct.pack("<IQ", 1, len(hdr)) + hdr + struct.pack("<IQ", 2, len(body)) + body
    Path(path).write_bytes(out)


def read_sym(path: Path) -> dict[str, int]:
    """Signal name -> witness index (-1 when the optimizer removed the signal)."""
    out = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split(",", 3)
        if len(parts) == 4:
            out[parts[3]] = int(parts[1])
    return out


def read_r1cs_constraints(path: Path):
    """The constraints of a circom .r1cs: list of (A, B, C), each a dict wire -> coefficient."""
    sec = read_sections(path, b"r1cs", {1, 2})
    n8 = struct.unpack_from("<I", sec[1], 0)[0]
    n_constraints = struct.unpack_from("<I", sec[1], 4 + n8 + 24)[0]
    cons_body = sec[2]
    cons = []
    off = 0
    for _ in range(n_constraints):
        lcs = []
        for _k in range(3):
            nt = struct.unpack_from("<I", cons_body, off)[0]
            off += 4
            lc = {}
            for _t in range(nt):
                wire = struct.unpack_from("<I", cons_body, off)[0]
                coef = int.from_bytes(cons_body[off + 4: off + 4 + n8], "little")
                lc[wire] = coef
                off += 4 + n8
            lcs.append(lc)
        cons.append(tuple(lcs))
    return cons


def check_r1cs(constraints, witness: Sequence[int]) -> list[int]:
    """Indices of the constraints the witness violates (empty: satisfied)."""
    bad = []
    for k, (a, b, c) in enumerate(constraints):
        va = sum(coef * witness[w] for w, coef in a.items()) % P
        vb = sum(coef * witness[w] for w, coef in b.items()) % P
        vc = sum(coef * witness[w] for w, coef in c.items()) % P
        if (va * vb - vc) % P:
            bad.append(k)
    return bad


def witness_new_weights(artifacts, witness: Sequence[int], sym: dict[str, int] | None = None) -> list[int]:
    """The new weights as the circuit computed them (signed), read from the witness."""
    sym = sym or read_sym(artifacts.sym)
    s = artifacts.spec
    last = s.local_steps
    out = []
    if generated(s):
        from wafl_sui.zk.mlp_circuit import new_weight_signals

        for k in range(s.num_weights):
            idx = next(i for i in (sym.get(n, -1) for n in new_weight_signals(s, artifacts.params, k)) if i >= 0)
            out.append(witness[idx] - (1 << (s.weight_bits - 1)))
        return out
    if s.privacy is not None:
        # circuits/dp_step.circom: Wnew[c][d] <== upd[c][d].out; the optimizer keeps one of them
        off = 1 << (s.weight_bits - 1)
        names = lambda c, d: (f"main.Wnew[{c}][{d}]", f"main.upd[{c}][{d}].out")  # noqa: E731
        return [witness[next(i for i in (sym.get(n, -1) for n in names(c, d)) if i >= 0)] - off
                for c in range(s.classes) for d in range(s.features + 1)]
    for c in range(s.classes):
        for d in range(s.features + 1):
            idx = sym[f"main.Wenc[{last}][{c}][{d}]"]
            if idx < 0:
                idx = sym[f"main.step[{last - 1}].WencNew[{c}][{d}]"]
            if idx < 0:
                idx = sym[f"main.step[{last - 1}].upd[{c}][{d}].out"]
            out.append(witness[idx] - (1 << (s.weight_bits - 1)))
    return out
