"""`wafl verify`: check Sui-encoded Groth16 bytes as `sui::groth16` would."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from wafl_sui.cli.common import emit, friendly_errors

_JSON_KEYS = {"verifying key": "vk", "proof": "proof", "public inputs": "public_inputs"}


def hex_arg(value: str, what: str) -> bytes:
    """Bytes given as hex, as a file holding hex, or as `wafl prove --json` output."""
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
        key = _JSON_KEYS[what]
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


@click.command("verify")
@click.option("--vk", required=True, help="Verifying key: hex, a file with hex, or `wafl prove --json` output.")
@click.option("--proof", required=True, help="Proof (128 bytes): hex, file, or prove output.")
@click.option("--inputs", required=True, help="Public inputs (32 bytes each, LE): hex, file, or prove output.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def verify_cmd(vk: str, proof: str, inputs: str, as_json: bool) -> None:
    """Verify Sui-encoded Groth16 bytes exactly as `sui::groth16` would (exit 1 if invalid)."""
    from wafl_sui.zk import sui_bytes

    pvk = sui_bytes.prepare_verifying_key(hex_arg(vk, "verifying key"))
    reason = None
    try:
        sui_bytes.check_groth16_proof(pvk, hex_arg(inputs, "public inputs"), hex_arg(proof, "proof"))
    except sui_bytes.ProofRejected as e:
        reason = str(e)
    emit({"verified": reason is None, "reason": reason}, as_json,
         lambda o: click.echo("valid proof" if o["verified"] else f"INVALID: {o['reason']}"))
    if reason is not None:
        sys.exit(1)
