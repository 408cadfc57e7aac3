"""The `--dp-*` options of `wafl task create` (a private task, docs/PRIVACY.md) and what they make:
the spec's privacy constants and the task's full `DpParams`, calibrated by the accountant."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

import click

from wafl_sui.cli.common import FiniteFloat



def with_privacy_options(f: Callable) -> Callable:
    opts = [
        click.option("--dp-epsilon", type=FiniteFloat(0, 100, low_open=True), default=None,
                     help="Make the task private (docs/PRIVACY.md): each client's epsilon for the whole task."),
        click.option("--dp-delta", type=FiniteFloat(0, 0.01, low_open=True), default=1e-5, show_default=True,
                     help="Private task: delta."),
        click.option("--dp-clip", type=FiniteFloat(0, low_open=True), default=2.0, show_default=True,
                     help="Private task: L2 clip norm of a per-sample gradient."),
        click.option("--dp-batch", type=click.IntRange(1, 4096), default=64, show_default=True,
                     help="Private task: expected batch (Poisson sampling of each client's records)."),
        click.option("--dp-records", type=click.IntRange(2, 4096), default=None,
                     help="Private task: the most records a client registers (its dataset, padded) [required "
                          "with --dp-epsilon]."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def private_spec(spec: Any, dp_epsilon: Optional[float], dp_delta: float, dp_clip: float, dp_batch: int,
                 dp_records: Optional[int], steps: int) -> tuple[Any, Any]:
    """(spec, DpParams or None): with --dp-epsilon, the spec with the expected batch and the
    privacy constants, and the full parameters (budget: `steps` updates per client)."""
    if dp_epsilon is None:
        given = [n for n, v in (("--dp-records", dp_records),) if v is not None]
        if given:
            raise click.UsageError(f"{', '.join(given)} needs --dp-epsilon (a private task)")
        return spec, None
    if dp_records is None:
        raise click.UsageError("--dp-epsilon needs --dp-records N: the most records a client registers")
    if not spec.is_linear or spec.local_steps != 1:
        raise click.UsageError("a private task proves the linear model's step with one local step "
                               "(--model linear; private MLP steps are not supported yet)")
    if dp_batch >= dp_records:
        raise click.UsageError(f"--dp-batch {dp_batch} must be below --dp-records {dp_records}")
    from wafl_sui.client.private_params import private_params

    spec = dataclasses.replace(spec, batch_size=dp_batch)
    params = private_params(spec, target_epsilon=dp_epsilon, target_delta=dp_delta, steps=steps, records=dp_records,
                            clip=dp_clip, expected_batch=dp_batch)
    return spec.with_privacy(params), params
