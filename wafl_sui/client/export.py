"""A task's global model as a plain .npz file a user loads in numpy or JAX.

Arrays: `weights` float64 (C, D+1) (bias last: scores = x @ W[:, :D].T + W[:, D]), `weights_int`
int64 (C, D+1) (signed fixed point, K fractional bits), `spec` (JSON of the StepSpec), `scaling`
(JSON of the feature scaling to apply to raw features first, or "null" when unknown), and
`task_id`, `round`, `model_commitment` (decimal) to tie the file to the ledger.

    z = np.load("model.npz"); W = z["weights"]; x01 = scale(x_raw)  # FeatureScaling.apply
    predicted = np.argmax(x01 @ W[:, :-1].T + W[:, -1], axis=1)
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
    w_int = signed.reshape(spec.classes, spec.features + 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, weights=w_int.astype(np.float64) / (1 << spec.frac_bits), weights_int=w_int,
                 spec=np.array(spec.canonical_json()),
                 scaling=np.array(json.dumps(scaling.to_dict() if scaling else None)),
                 task_id=np.array(view.task_id), round=np.array(view.round),
                 model_commitment=np.array(str(view.model_commitment)))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


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
