"""A task's global model as a plain .npz file a user loads in numpy or JAX.

Arrays, for every model: `layer_{i}_kernel` float64 (in, out) (Flax's layout) and
`layer_{i}_bias` float64 (out,) for each dense layer i; `architecture` (JSON: a list of layers,
each {"in", "out", "activation", ...}: "relu" with its "max" between layers, "hard_sigmoid" at
the output); `weights_flat_int` int64 (num_weights,) (signed fixed point, K fractional bits,
protocol order: each layer's (out, in+1) matrix row-major, bias last); `spec` (JSON of the
StepSpec); `scaling` (JSON of the feature scaling to apply to raw features first, or "null"
when unknown); and `task_id`, `round`, `model_commitment` (decimal) to tie the file to the
ledger. The linear model also keeps `weights` float64 (C, D+1) (bias last: scores =
x @ W[:, :D].T + W[:, D]) and `weights_int` int64 (C, D+1).

    z = np.load("model.npz"); a = scale(x_raw)  # FeatureScaling.apply
    for i, layer in enumerate(json.loads(str(z["architecture"]))):
        a = a @ z[f"layer_{i}_kernel"] + z[f"layer_{i}_bias"]
        if layer["activation"] == "relu":
            a = np.clip(a, 0, layer["max"])
    predicted = np.argmax(a, axis=1)   # the hard sigmoid is monotone
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

from wafl_sui import protocol
from wafl_sui.client.datasets import FeatureScaling
from wafl_sui.errors import WaflError
from wafl_sui.protocol import StepSpec


class ExportError(WaflError):
    """The model file cannot be written or read."""


def export_model(view: Any, path: str | Path, *, scaling: Optional[FeatureScaling] = None,
                 overwrite: bool = False) -> Path:
    """Write the global model of `view` (a ledger TaskView) to `path` (atomically)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ExportError(f"{path}: the model file must end in .npz")
    if path.exists() and not overwrite:
        raise ExportError(f"{path} exists; choose another --out (nothing was overwritten)")
    spec: StepSpec = view.spec
    signed = np.array([protocol.decode_signed(u, spec.weight_bits) for u in view.model], dtype=np.int64)
    arrays = model_arrays(signed, spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, **arrays, spec=np.array(spec.canonical_json()),
                 scaling=np.array(json.dumps(scaling.to_dict() if scaling else None)),
                 task_id=np.array(view.task_id), round=np.array(view.round),
                 model_commitment=np.array(str(view.model_commitment)))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def model_arrays(signed: Any, spec: StepSpec) -> dict[str, np.ndarray]:
    """The model's arrays of the file format (see the module docstring)."""
    signed = np.asarray(signed, dtype=np.int64)
    out: dict[str, np.ndarray] = {"weights_flat_int": signed,
                                  "architecture": np.array(json.dumps(spec.architecture()))}
    dims, scale = spec.layer_dims, float(1 << spec.frac_bits)
    for i, (off, n) in enumerate(zip(spec.layer_offsets, spec.layer_sizes)):
        m = signed[off:off + n].reshape(dims[i + 1], dims[i] + 1).astype(np.float64) / scale
        out[f"layer_{i}_kernel"] = m[:, :-1].T.copy()
        out[f"layer_{i}_bias"] = m[:, -1].copy()
    if spec.is_linear:
        w_int = signed.reshape(spec.classes, spec.features + 1)
        out["weights"] = w_int.astype(np.float64) / scale
        out["weights_int"] = w_int
    return out


def load_into(module: Any, path: str | Path) -> Any:
    """Load an exported model's weights into an nnx module of the same architecture."""
    from wafl_sui import models

    z = load_model(path)
    flat = z["weights_flat_int"] if "weights_flat_int" in z else np.asarray(z["weights_int"]).reshape(-1)
    return models.load_weights(module, flat, z["spec"])


def load_model(path: str | Path) -> dict[str, Any]:
    """The arrays of an exported model, with `spec` as a StepSpec and `scaling` as a FeatureScaling."""
    try:
        z = np.load(path, allow_pickle=False)
        out = {k: z[k] for k in z.files}
        spec = StepSpec.from_dict(json.loads(str(out["spec"])))
        sc = json.loads(str(out["scaling"]))
    except (OSError, KeyError, ValueError) as e:
        raise ExportError(f"{path} is not a WaFL model file ({e})") from None
    out["spec"] = spec
    out["scaling"] = FeatureScaling.from_dict(sc) if sc else None
    return out
