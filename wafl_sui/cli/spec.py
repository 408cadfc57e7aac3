"""`wafl spec`: a step spec and what it implies."""

from __future__ import annotations

from typing import Any

import click

from wafl_sui.cli.common import emit, friendly_errors, spec_from_options, with_spec_options


@click.command("spec")
@with_spec_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def spec_cmd(spec_file: str | None, overrides: tuple[str, ...], as_json: bool) -> None:
    """Show a step spec (default: the digits task) and what it implies."""
    from wafl_sui.zk.circuit import describe_spec

    out = describe_spec(spec_from_options(spec_file, overrides))

    def human(o: dict[str, Any]) -> None:
        for k, v in o["spec"].items():
            click.echo(f"{k:>18} = {v}")
        for k, v in o.items():
            if k != "spec":
                click.echo(f"{k}: {v}")

    emit(out, as_json, human)
