"""Step files: the JSON a client proves from (`wafl prove --step FILE`), and the demo step.

A step file holds everything one proof needs:
  {"spec": {...StepSpec fields...}, "task_id": "0x..", "sender": "0x..", "round": 0,
   "lr_q": 4096, "weights": [num_weights signed ints, protocol order], "features": [[D signed ints] x local_steps*B],
   "labels": [class ids] or [[one-hot]], "salt": "decimal" (optional: a fresh random one)}
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import numpy as np

from wafl_sui.errors import WaflError
from wafl_sui.client import data
from wafl_sui.protocol import FIELD_MODULUS, ProtocolError, StepSpec, lr_to_fixed

DEMO_TASK_ID = "0x" + "77" * 32
DEMO_SENDER = "0x" + "5e" * 32
REQUIRED = ("spec", "task_id", "sender", "round", "lr_q", "weights", "features", "labels")


class StepFileError(WaflError, ValueError):
    """A step file that cannot be used; the message names the field and the fix."""


def random_salt() -> int:
    return secrets.randbelow(FIELD_MODULUS)


def make_demo_step(seed: int | None = None, spec: StepSpec | None = None, lr: float = 1.0,
                   weights: list[int] | None = None) -> dict[str, Any]:
    """One honest step of the default digits task: the zero model (or `weights`: an MLP's
    seeded initial model) and a fresh random batch."""
    spec = spec or StepSpec()
    rng = np.random.default_rng(seed)
    train, _ = data.train_test_split(data.load_digits())
    x, y = data.sample_batch(train, spec, rng)
    return {
        "spec": spec.to_dict(),
        "task_id": DEMO_TASK_ID,
        "sender": DEMO_SENDER,
        "round": 0,
        "lr_q": lr_to_fixed(lr, spec.batch_size, spec.lr_frac_bits, spec.lr_bits),
        "weights": list(weights) if weights is not None else [0] * spec.num_weights,
        "features": x.tolist(),
        "labels": np.argmax(y, axis=1).tolist(),
        "salt": str(random_salt()),
    }


def parse_step(obj: Any, source: str = "step") -> tuple[StepSpec, dict[str, Any]]:
    """Validate a step object; returns the spec and normalized fields (labels one-hot)."""
    if not isinstance(obj, dict):
        raise StepFileError(f"{source}: expected a JSON object with fields {list(REQUIRED)}")
    missing = [k for k in REQUIRED if k not in obj]
    if missing:
        raise StepFileError(f"{source}: missing field(s) {missing}")
    try:
        spec = StepSpec.from_dict(obj["spec"])
    except ProtocolError as e:
        raise StepFileError(f"{source}: bad spec: {e}") from None
    except AttributeError:
        raise StepFileError(f"{source}: 'spec' must be an object of StepSpec fields") from None
    labels = obj["labels"]
    if isinstance(labels, list) and labels and not isinstance(labels[0], list):
        try:
            labels = data.one_hot(np.asarray(labels, dtype=np.int64), spec.classes).tolist()
        except (ValueError, TypeError, ProtocolError) as e:
            raise StepFileError(f"{source}: labels: {e}") from None
    salt = obj.get("salt")
    out = dict(obj)
    out["labels"] = labels
    out["salt"] = random_salt() if salt is None else salt
    return spec, out


def load_step(path: str | Path) -> tuple[StepSpec, dict[str, Any]]:
    p = Path(path)
    try:
        obj = json.loads(p.read_text())
    except FileNotFoundError:
        raise StepFileError(f"step file {p} does not exist") from None
    except json.JSONDecodeError as e:
        raise StepFileError(f"step file {p} is not valid JSON: {e}") from None
    return parse_step(obj, str(p))
