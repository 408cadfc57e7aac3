"""The `wafl` command line.

Every command that scripts consume takes `--json`. Bad input ends with a one-line `Error: ...`
that names the problem and the fix, exit code 1 (2 for usage errors), and no traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from wafl_sui import protocol
from wafl_sui.cli_move import move_group
from wafl_sui.protocol import StepSpec


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception classes that mean bad input or a missing artifact (shown without traceback)."""
    from wafl_sui import circuit, groth16_setup, move_build, prover, stepfile, sui_groth16, witness
    from wafl_sui.poseidon import PoseidonInputError

    return (
        protocol.ProtocolError, sui_groth16.SuiBytesError, stepfile.StepFileError, PoseidonInputError,
        circuit.CircuitError, witness.WitnessInputError, witness.WitnessGenerationError,
        groth16_setup.SetupError, prover.ProverError, move_build.MoveBuildError,
    )


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _user_errors() as e:  # noqa: B030 - computed tuple of classes
            raise click.ClickException(str(e)) from None

    return wrapper


def emit(obj: dict[str, Any], as_json: bool, human: Callable[[dict[str, Any]], None]) -> None:
    if as_json:
        click.echo(json.dumps(obj, indent=2))
    else:
        human(obj)


def spec_from_options(spec_file: str | None, overrides: tuple[str, ...]) -> StepSpec:
    base: dict[str, Any] = StepSpec().to_dict()
    if spec_file:
        p = Path(spec_file)
        try:
            loaded = json.loads(p.read_text())
        except FileNotFoundError:
            raise click.ClickException(f"spec file {p} does not exist") from None
        except json.JSONDecodeError as e:
            raise click.ClickException(f"spec file {p} is not valid JSON: {e}") from None
        if not isinstance(loaded, dict):
            raise click.ClickException(f"spec file {p}: expected a JSON object of StepSpec fields")
        base.update(loaded.get("spec", loaded))
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        base[key.strip()] = value.strip()
    return StepSpec.from_dict(base)


spec_options = [
    click.option("--spec-file", type=click.Path(dir_okay=False), help="JSON file with StepSpec fields (or a step file)."),
    click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override one spec field, e.g. --set batch_size=32."),
]


def with_spec_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(spec_options):
        fn = opt(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wafl-sui", prog_name="wafl")
def main() -> None:
    """WaFL: verifiable federated learning on Sui (Groth16 proofs of fixed-point training steps)."""


# --------------------------------------------------------------------------- spec
@main.command("spec")
@with_spec_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def spec_cmd(spec_file: str | None, overrides: tuple[str, ...], as_json: bool) -> None:
    """Show a step spec (default: the digits task) and what it implies."""
    from wafl_sui.poseidon import poseidon_calls

    spec = spec_from_options(spec_file, overrides)
    weight_elems = -(-spec.num_weights // spec.weights_per_element)
    out: dict[str, Any] = {
        "spec": spec.to_dict(),
        "num_weights": spec.num_weights,
        "weight_range": [spec.weight_min / (1 << spec.frac_bits), spec.weight_max / (1 << spec.frac_bits)],
        "feature_range": [spec.feature_min / (1 << spec.feature_frac_bits), spec.feature_max / (1 << spec.feature_frac_bits)],
        "model_field_elements": weight_elems,
        "poseidon_calls_per_model_commitment": poseidon_calls(weight_elems),
        "public_inputs": list(protocol.PUBLIC_INPUTS),
    }
    from wafl_sui import circuit

    out["constraints_estimate"] = circuit.constraint_formula(spec)["total"]

    def human(o: dict[str, Any]) -> None:
        for k, v in o["spec"].items():
            click.echo(f"{k:>18} = {v}")
        for k in ("num_weights", "weight_range", "feature_range", "model_field_elements",
                  "poseidon_calls_per_model_commitment", "public_inputs", "constraints_estimate"):
            if k in o:
                click.echo(f"{k}: {o[k]}")

    emit(out, as_json, human)


# --------------------------------------------------------------------------- verify
def _hex_arg(value: str, what: str) -> bytes:
    try:
        is_file = len(value) < 4096 and Path(value).is_file()
    except OSError:  # e.g. a long hex string is not a usable file name
        is_file = False
    text = Path(value).read_text().strip() if is_file else value.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise click.ClickException(f"{what}: not valid JSON: {e}") from None
        key = {"verifying key": "vk", "proof": "proof", "public inputs": "public_inputs"}[what]
        if key not in obj:
            raise click.ClickException(f"{what}: the JSON object has no {key!r} field")
        text = obj[key]
    text = text[2:] if text.startswith("0x") else text
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise click.ClickException(
            f"{what}: expected hex bytes, a file holding them, or `wafl prove --json` output"
        ) from None


@main.command("verify")
@click.option("--vk", required=True, help="Verifying key: hex, a file with hex, or `wafl prove --json` output.")
@click.option("--proof", required=True, help="Proof (128 bytes): hex, file, or prove output.")
@click.option("--inputs", required=True, help="Public inputs (32 bytes each, LE): hex, file, or prove output.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def verify_cmd(vk: str, proof: str, inputs: str, as_json: bool) -> None:
    """Verify Sui-encoded Groth16 bytes exactly as `sui::groth16` would (exit 1 if invalid)."""
    from wafl_sui import sui_groth16

    pvk = sui_groth16.prepare_verifying_key(_hex_arg(vk, "verifying key"))
    reason = None
    try:
        sui_groth16.check_groth16_proof(pvk, _hex_arg(inputs, "public inputs"), _hex_arg(proof, "proof"))
    except sui_groth16.ProofRejected as e:
        reason = str(e)
    emit({"verified": reason is None, "reason": reason}, as_json,
         lambda o: click.echo("valid proof" if o["verified"] else f"INVALID: {o['reason']}"))
    if reason is not None:
        sys.exit(1)


# --------------------------------------------------------------------------- setup / prove
def _progress(quiet: bool) -> Callable[[str], None] | None:
    return None if quiet else (lambda msg: click.echo(f"[wafl] {msg}", err=True))


@main.command("setup")
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
    from wafl_sui import circuit, groth16_setup, sui_groth16

    spec = spec_from_options(spec_file, overrides)
    progress = _progress(quiet)
    art = circuit.build(spec, progress=progress)
    if ptau:
        keys = groth16_setup.ceremony_setup(art, Path(ptau), contributions=contributions, beacon=beacon,
                                            force=force, progress=progress)
    else:
        keys = groth16_setup.dev_setup(art, progress=progress)  # reuses existing dev keys
    vk = sui_groth16.vk_bytes_from_snarkjs(keys.verification_key())
    out = {
        "circuit_hash": art.hash, "constraints": art.constraints, "setup": keys.kind,
        "keys_dir": str(keys.dir), "vk": vk.hex(), "spec": spec.to_dict(),
        "warning": groth16_setup.DEV_WARNING if keys.kind == "dev-insecure" else None,
    }

    def human(o: dict[str, Any]) -> None:
        click.echo(f"circuit {o['circuit_hash']}: {o['constraints']} constraints")
        click.echo(f"keys ({o['setup']}) in {o['keys_dir']}")
        click.echo(f"vk (Sui bytes, {len(o['vk']) // 2} bytes): {o['vk']}")
        if o["warning"]:
            click.echo(f"WARNING: {o['warning']}", err=True)

    emit(out, as_json, human)


@main.command("prove")
@click.option("--demo", is_flag=True, help="Prove one step of the digits task on a fresh random batch.")
@click.option("--step", "step_file", type=click.Path(dir_okay=False), help="Step file to prove (see `wafl demo-step`).")
@click.option("--backend", type=click.Choice(["groth16py", "snarkjs"]), default="groth16py", show_default=True)
@click.option("--keys", "kind", type=click.Choice(["any", "dev-insecure", "ceremony"]), default="any", show_default=True,
              help="Which keys to use; 'any' prefers ceremony keys and makes dev keys if there are none.")
@click.option("--seed", type=int, default=None, help="Seed of the demo batch (default: fresh).")
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the JSON result to this file (must not exist).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--quiet", is_flag=True, help="No progress messages on stderr.")
@friendly_errors
def prove_cmd(demo, step_file, backend, kind, seed, out, as_json, quiet) -> None:
    """Prove one training step and output the bytes `sui::groth16` verifies."""
    from wafl_sui import proving, stepfile

    if demo == bool(step_file):
        raise click.UsageError("give exactly one of --demo or --step FILE")
    if out and Path(out).exists():
        raise click.ClickException(f"{out} exists; choose another --out (nothing was overwritten)")
    if demo:
        spec, step = stepfile.parse_step(stepfile.make_demo_step(seed), "demo step")
    else:
        spec, step = stepfile.load_step(step_file)
    progress = _progress(quiet)
    keys = proving.ensure_keys(spec, None if kind == "any" else kind, progress)
    if backend == "snarkjs" and keys.setup.zkey is None:
        raise click.ClickException(
            "the snarkjs prover needs a snarkjs zkey, which only the ceremony path makes: run "
            "`wafl setup --ptau FILE` first, or use --backend groth16py"
        )
    res = proving.prove_step(spec, step, keys=keys, backend=backend, progress=progress)
    result = res.to_json()
    result["task_id"], result["sender"], result["round"] = step["task_id"], step["sender"], step["round"]
    if out:
        Path(out).write_text(json.dumps(result, indent=1))

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


# --------------------------------------------------------------------------- demo step file
@main.command("demo-step")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True, help="Where to write the step file.")
@click.option("--seed", type=int, default=None, help="Seed of the random batch (default: fresh).")
@friendly_errors
def demo_step_cmd(out: str, seed: int | None) -> None:
    """Write a step file for the digits task (zero model, random batch) to edit or prove."""
    from wafl_sui.stepfile import make_demo_step

    p = Path(out)
    if p.exists():
        raise click.ClickException(f"{p} exists; choose another --out (nothing was overwritten)")
    p.write_text(json.dumps(make_demo_step(seed), indent=1))
    click.echo(f"wrote {p}")


main.add_command(move_group, "move")

if __name__ == "__main__":  # pragma: no cover
    main()
