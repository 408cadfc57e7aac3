"""`wafl move ...`: build the Move package offline (no Sui CLI needed).

The lead registers `move_group` on the main `wafl` group (wafl_sui/cli/main.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from wafl_sui.contract.build import DEFAULT_PACKAGE, MoveBuildError, build_package


@click.group("move", help="Build the WaFL Sui Move package (offline, WASM compiler).")
def move_group() -> None:
    pass


@move_group.command("build")
@click.option("--package", "package_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_PACKAGE,
              show_default=True, help="Move package folder (with Move.toml).")
@click.option("--json", "as_json", is_flag=True, help='Print {"modules", "dependencies", "digest"} (publish payload).')
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the publish payload JSON [default: <package>/build/publish.json].")
@click.option("--test", "test_mode", is_flag=True,
              help="Compile in test mode, with move/tests (checks the unit tests compile; run them with `sui move test`).")
def build_cmd(package_dir: Path, as_json: bool, out_file: Path | None, test_mode: bool) -> None:
    """Compile the package; write base64 modules, dependency ids and digest (the publish payload)."""
    try:
        built = build_package(package_dir, test=test_mode)
    except MoveBuildError as e:
        click.echo(f"Move build failed ({e.category}):\n{e}", err=True)
        sys.exit(1)
    if test_mode:
        click.echo(f"{package_dir}: sources and tests compile in test mode (run them with `sui move test`).")
        return
    payload = built.to_json()
    out_file = out_file or Path(package_dir) / "build" / "publish.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(payload) + "\n")
    if as_json:
        click.echo(json.dumps(payload))
        return
    if built.warnings.strip():
        click.echo(built.warnings.rstrip(), err=True)
    click.echo(f"built {len(built.modules)} modules: {', '.join(built.module_names)}")
    click.echo(f"dependencies: {', '.join(built.dependencies)}")
    click.echo(f"digest: 0x{built.digest_hex()}")
    click.echo(f"publish payload (modules, dependencies, digest) written to {out_file}")
