"""`wafl prove`: prove one training step and print the bytes `sui::groth16` verifies."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from wafl_sui.cli.common import emit, friendly_errors, new_output_file, progress_printer


@click.command("prove")
@click.option("--demo", is_flag=True, help="Prove one step of the digits task on a fresh random batch.")
@click.option("--step", "step_file", type=click.Path(dir_okay=False), help="Step file to prove (see `wafl demo-step`).")
@click.option("--backend", type=click.Choice(["groth16py", "snarkjs"]), default="groth16py", show_default=True)
@click.option("--keys", "kind", type=click.Choice(["any", "dev-insecure", "ceremony"]), default="any", show_default=True,
              help="Which keys to use; 'any' prefers ceremony keys and makes dev keys if there are none.")
@click.option("--seed", type=int, default=None, help="Seed of the demo batch (default: fresh).")
@click.option("--model", "model_ref", default="linear", show_default=True,
              help="The demo's model: linear, mlp, or FILE.py:FUNCTION returning an nnx module.")
@click.option("--hidden", type=int, multiple=True, help="Hidden layer width of --model mlp (repeat for more layers; default 32).")
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the JSON result to this file (must not exist).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--quiet", is_flag=True, help="No progress messages on stderr.")
@friendly_errors
def prove_cmd(demo, step_file, backend, kind, seed, model_ref, hidden, out, as_json, quiet) -> None:
    """Prove one training step and output the bytes `sui::groth16` verifies."""
    from wafl_sui.client import stepfile
    from wafl_sui.client.step_proof import prove_step
    from wafl_sui.zk.setup import ensure_keys

    if demo == bool(step_file):
        raise click.UsageError("give exactly one of --demo or --step FILE")
    if step_file and (model_ref != "linear" or hidden):
        raise click.UsageError("--model/--hidden choose the demo's model; a step file holds its own spec")
    out_path = new_output_file(out)
    if demo:
        from wafl_sui import models
        from wafl_sui.protocol import StepSpec

        m = models.resolve(model_ref, tuple(hidden), StepSpec())
        spec, step = stepfile.parse_step(stepfile.make_demo_step(seed, m.spec, weights=m.weights), "demo step")
    else:
        spec, step = stepfile.load_step(step_file)
    progress = progress_printer(quiet)
    keys = ensure_keys(spec, None if kind == "any" else kind, progress)
    res = prove_step(spec, step, keys=keys, backend=backend, progress=progress)
    result = res.to_json()
    result["architecture"] = spec.architecture()
    if out_path:
        out_path.write_text(json.dumps(result, indent=1))

    def human(o: dict[str, Any]) -> None:
        click.echo(f"circuit {o['circuit_hash']} ({o['constraints']} constraints), keys: {o['setup']}")
        click.echo(f"witness {o['witness_seconds']:.2f} s, proof ({o['backend']}) {o['prove_seconds']:.2f} s")
        click.echo(f"vk            {o['vk']}")
        click.echo(f"proof         {o['proof']}")
        click.echo(f"public inputs {o['public_inputs']}")
        click.echo("verified (Sui bytes): " + ("yes" if o["verified"] else "NO"))
        if o["setup"] == "dev-insecure":
            click.echo("WARNING: development keys (single-party, INSECURE): for testing only", err=True)

    emit(result, as_json, human)
    if not res.verified:
        sys.exit(1)
