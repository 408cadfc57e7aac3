"""An evaluator's score of a task's current global model on its own labelled data (shared by
`wafl evaluate` and `wafl task watch`)."""

from __future__ import annotations

from typing import Any, Optional

from wafl_sui import protocol
from wafl_sui.client import datasets, model
from wafl_sui.errors import WaflError


class DataMismatch(WaflError):
    """The evaluation data does not fit the task's model."""


def check_fits(raw: Any, spec: Any, what: str) -> None:
    """The data's width and labels fit the task's model (checked before any work)."""
    if raw.x.shape[1] != spec.features or raw.classes > spec.classes:
        raise DataMismatch(f"{what}: {raw.x.shape[1]} features and {raw.classes} classes, but the task's model has "
                           f"{spec.features} features and {spec.classes} classes")


def score(view: Any, raw: Any, scaling: Optional[Any]) -> Any:
    """`model.Metrics` (accuracy, loss, samples) of the task's current model on `raw`, scaled
    with `scaling` (the task's; fitted on `raw` when None)."""
    ds = datasets.to_dataset(raw, scaling if scaling is not None else datasets.scaling_for(raw))
    w = [protocol.decode_signed(u, view.spec.weight_bits) for u in view.model]
    return model.evaluate(model.to_flax(w, view.spec), ds.x, ds.y)
