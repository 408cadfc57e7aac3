"""`wafl demo-step`: write a step file to edit and prove."""

from __future__ import annotations

import json

import click

from wafl_sui.cli.common import friendly_errors, new_output_file


@click.command("demo-step")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True, help="Where to write the step file.")
@click.option("--seed", type=int, default=None, help="Seed of the random batch (default: fresh).")
@friendly_errors
def demo_step_cmd(out: str, seed: int | None) -> None:
    """Write a step file for the digits task (zero model, random batch) to edit or prove."""
    from wafl_sui.client.stepfile import make_demo_step

    p = new_output_file(out)
    p.write_text(json.dumps(make_demo_step(seed), indent=1))
    click.echo(f"wrote {p}")
