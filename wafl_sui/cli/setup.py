"""`wafl setup`: compile the step circuit of a spec and set up its Groth16 keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from wafl_sui.cli.common import emit, friendly_errors, progress_printer, spec_from_options, with_spec_options


@click.command("setup")
@with_spec_options
@click.option("--ptau", type=click.Path(dir_okay=False), help="Powers-of-tau file: run the ceremony path (phase 2 with snarkjs).")
@click.option("--contributions", type=click.IntRange(1, 100), default=1, show_default=True, help="Phase-2 contributions (ceremony).")
@click.option("--beacon", help="Hex beacon applied after the contributions (ceremony).")
@click.option("--force", is_flag=True, help="Replace existing ceremony keys of this circuit (tasks using their vk will reject new proofs).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--quiet", is_flag=True, help="No progress messages on stderr.")
@friendly_errors
def setup_cmd(spec_file, overrides, ptau, contributions, beacon, force, as_json, quiet) -> None:
    """Compile the step circuit of a spec and set up its Groth16 keys (cached per circuit hash).

    Without --ptau: a single-party development setup, INSECURE (whoever runs it can forge
    proofs). With --ptau: snarkjs phase-2 contributions on your powers of tau, then the final
    zkey is verified against the circuit and the ptau.
    """
    from wafl_sui.zk import setup

    spec = spec_from_options(spec_file, overrides)
    out = setup.setup_keys(spec, ptau=Path(ptau) if ptau else None, contributions=contributions,
                           beacon=beacon, force=force, progress=progress_printer(quiet))

    def human(o: dict[str, Any]) -> None:
        click.echo(f"circuit {o['circuit_hash']}: {o['constraints']} constraints")
        click.echo(f"keys ({o['setup']}) in {o['keys_dir']}")
        click.echo(f"vk (Sui bytes, {len(o['vk']) // 2} bytes): {o['vk']}")
        if o["warning"]:
            click.echo(f"WARNING: {o['warning']}", err=True)

    emit(out, as_json, human)
