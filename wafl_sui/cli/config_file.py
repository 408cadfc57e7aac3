"""`--config FILE`: a task's settings in one TOML file (written by `wafl new`), read by `wafl task
create` and `wafl simulate`. The file gives the defaults; options on the command line override it.

    [task]     name
    [data]     dataset (a bundled name or a CSV path, relative to the file), label_column
    [model]    model ("linear", "mlp" or "FILE.py:FUNCTION", relative to the file), hidden = [..]
    [spec]     any StepSpec integer field, e.g. batch_size = 2 (as `--set KEY=VALUE`)
    [rules]    rule, trim, lr, quorum, rounds, round_duration (s), grace (s), allowlist
    [network]  network, ledger (a local ledger file, relative to the file)
    [simulate] clients, alpha, seed, test_fraction (only `wafl simulate` reads them)
    [privacy]  epsilon, delta, clip, batch (a private task, docs/PRIVACY.md)
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Callable

import click

# (table, key) -> the parameter it sets; PATHS are resolved relative to the config file
KEYS: dict[tuple[str, str], str] = {
    ("task", "name"): "name",
    ("data", "dataset"): "dataset", ("data", "label_column"): "label_column",
    ("model", "model"): "model", ("model", "hidden"): "hidden",
    ("rules", "rule"): "rule", ("rules", "trim"): "trim", ("rules", "lr"): "lr", ("rules", "quorum"): "quorum",
    ("rules", "rounds"): "rounds", ("rules", "round_duration"): "round_duration_s", ("rules", "grace"): "grace_s",
    ("rules", "allowlist"): "allowlist",
    ("network", "network"): "network", ("network", "ledger"): "ledger_file",
    ("simulate", "clients"): "clients", ("simulate", "alpha"): "alpha", ("simulate", "seed"): "seed",
    ("simulate", "test_fraction"): "test_fraction",
    ("privacy", "epsilon"): "dp_epsilon", ("privacy", "delta"): "dp_delta", ("privacy", "clip"): "dp_clip",
    ("privacy", "batch"): "dp_batch",
}
PATHS = {"dataset", "ledger_file"}
BUNDLED = {"digits", "iris", "wine", "breast_cancer"}


def read_config(path: str | Path) -> dict[str, Any]:
    """The file's settings by parameter name ('overrides' holds the [spec] table as KEY=VALUE),
    or a ClickException naming what is wrong and where."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise click.ClickException(f"--config {p}: no such file (`wafl new NAME` writes one)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise click.ClickException(f"--config {p}: not a readable TOML file ({e})") from None
    out: dict[str, Any] = {}
    known = sorted({t for t, _ in KEYS} | {"spec"})
    for table, values in doc.items():
        if table not in known or not isinstance(values, dict):
            raise click.ClickException(f"--config {p}: unknown section [{table}]; known: {', '.join(known)}")
        for key, value in values.items():
            if table == "spec":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise click.ClickException(f"--config {p}: [spec] {key} must be an integer, got {value!r}")
                out.setdefault("overrides", []).append(f"{key}={value}")
                continue
            param = KEYS.get((table, key))
            if param is None:
                names = ", ".join(k for t, k in KEYS if t == table)
                raise click.ClickException(f"--config {p}: unknown key {key!r} in [{table}]; known: {names}")
            if param in PATHS and isinstance(value, str) and value not in BUNDLED:
                value = str((p.parent / value).resolve())
            if param == "model" and isinstance(value, str) and ".py:" in value:
                file, _, fn = value.rpartition(":")
                value = f"{(p.parent / file).resolve()}:{fn}"
            out[param] = value
    return out


def config_option(translate: Callable[[dict[str, Any]], dict[str, Any]] = lambda d: d) -> Callable[..., Any]:
    """`--config FILE` (eager): the file's settings become the command's defaults, so every option
    given on the command line overrides them. `translate` maps them to the command's parameters
    (and refuses what the command cannot do)."""

    def load(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value:
            settings = translate(read_config(value))
            params = {q.name for q in ctx.command.params}
            ignored = sorted(set(settings) - params)
            if ignored:  # e.g. [simulate] keys for `task create`: said, never silently dropped
                click.echo(f"[wafl] --config {value}: not used by this command: {', '.join(ignored)}", err=True)
            ctx.default_map = {**(ctx.default_map or {}), **{k: v for k, v in settings.items() if k in params}}
        return value

    return click.option("--config", "config_file", type=click.Path(dir_okay=False), is_eager=True,
                        expose_value=False, callback=load,
                        help="A task config file (TOML, as `wafl new` writes it); options given here override it.")


SIMULATE_ONLY = {param for (table, _), param in KEYS.items() if table == "simulate"}


def for_task_create(settings: dict[str, Any]) -> dict[str, Any]:
    """`wafl task create` reads every section but [simulate]."""
    return {k: v for k, v in settings.items() if k not in SIMULATE_ONLY}


def for_simulate(settings: dict[str, Any]) -> dict[str, Any]:
    """`wafl simulate` runs the [model] (linear, mlp with its hidden widths, or a model file) with
    its own clients as the quorum: the [spec] batch_size and local_steps become its options; another
    spec field is refused (the simulation cannot honour it)."""
    out = {k: v for k, v in settings.items() if k not in ("quorum", "allowlist", "overrides")}
    if "hidden" in out:
        out["hidden"] = tuple(out["hidden"])
    for item in settings.get("overrides", []):
        key, _, value = item.partition("=")
        if key not in ("batch_size", "local_steps"):
            raise click.ClickException(f"--config: wafl simulate takes batch_size and local_steps from [spec], "
                                       f"not {key}")
        out[key] = int(value)
    for k in ("round_duration_s", "grace_s"):  # the simulation's rounds end at quorum, never on time
        out.pop(k, None)
    return out
