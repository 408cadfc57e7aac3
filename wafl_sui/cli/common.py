"""What the `wafl` commands share: one error handler, JSON-or-human output, spec options,
progress messages. No protocol rules live in the CLI."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable

import click

from wafl_sui.errors import WaflError
from wafl_sui.ledger.sui.network import LEDGER_NETWORKS
from wafl_sui.protocol import StepSpec


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Every user-facing error (a `WaflError`) ends as one `Error: ...` line, exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WaflError as e:
            raise click.ClickException(str(e)) from None

    return wrapper


def emit(obj: dict[str, Any], as_json: bool, human: Callable[[dict[str, Any]], None]) -> None:
    if as_json:
        click.echo(json.dumps(obj, indent=2))
    else:
        human(obj)


def progress_printer(quiet: bool) -> Callable[[str], None] | None:
    return None if quiet else (lambda msg: click.echo(f"[wafl] {msg}", err=True))


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


def new_output_file(out: str | None) -> Path | None:
    """An --out path that must not exist yet (nothing is ever overwritten)."""
    if out and Path(out).exists():
        raise click.ClickException(f"{out} exists; choose another --out (nothing was overwritten)")
    return Path(out) if out else None



ledger_options = [
    click.option("--network", type=click.Choice(LEDGER_NETWORKS), default="local", show_default=True,
                 help="The embedded local ledger, or a Sui network."),
    click.option("--ledger", "ledger_file", type=click.Path(dir_okay=False),
                 help="Local ledger file [default: $WAFL_HOME/ledger.sqlite]."),
]


def with_ledger_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(ledger_options):
        fn = opt(fn)
    return fn


def ledger_spec(network: str, ledger_file: str | None) -> str:
    """What `ledger.open_ledger` takes: a local ledger file, "local" (the default file), or a network."""
    if network != "local":
        if ledger_file:
            raise click.UsageError("--ledger names a local ledger file; it does not go with --network " + network)
        return network
    return str(Path(ledger_file).resolve()) if ledger_file else "local"


def metrics_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--metrics", "metrics_file", type=click.Path(dir_okay=False),
                        help="Metrics database [default: $WAFL_HOME/metrics.sqlite].")(fn)


def allow_dev_key_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--allow-dev-key`: accept a task whose key comes from a development (single-party) setup."""
    return click.option("--allow-dev-key", is_flag=True,
                        help="Accept a task whose verifying key is a development key ('dev-insecure': whoever "
                             "made it can forge proofs). For tests and demos only.")(fn)


class FiniteFloat(click.ParamType):
    """A finite number (never nan or inf) in an optional range: a clear `Error: Invalid value` at
    parse time, before any work."""

    name = "number"

    def __init__(self, low: float | None = None, high: float | None = None, *, low_open: bool = False):
        self.low, self.high, self.low_open = low, high, low_open

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if v != v or v in (float("inf"), float("-inf")):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            self.fail(f"{value!r} must be {'>' if self.low_open else '>='} {self.low:g}", param, ctx)
        if self.high is not None and v > self.high:
            self.fail(f"{value!r} must be <= {self.high:g}", param, ctx)
        return v


def open_reader(network: str, ledger_file: str | None) -> Any | None:
    """The ledger to read tasks from, read-only; None where there is none to read (no local
    ledger file yet). Opening a Sui network needs no key."""
    from wafl_sui.ledger import open_ledger
    from wafl_sui.ledger.local.store import default_path

    spec = ledger_spec(network, ledger_file)
    if network == "local":
        path = Path(spec) if spec != "local" else default_path()
        if not path.exists():
            if ledger_file:
                raise click.ClickException(f"no ledger at {path}; check --ledger (a local ledger file)")
            return None
        return open_ledger(str(path), read_only=True)
    return open_ledger(spec)


def watched_store(network: str, ledger_file: str | None, metrics_file: str | None, task: str | None = None,
                  *, sync: bool = True) -> tuple[Any, str | None]:
    """The metrics store, with `task` (an id or a name; every task of the ledger when None)
    brought up to date from the ledger; and the task's id. A task the ledger does not hold is
    looked up in the store (e.g. one a simulation ran on another ledger file)."""
    from wafl_sui.ledger.base import LedgerError, TaskNotFound
    from wafl_sui.metrics import query
    from wafl_sui.metrics.ledger_sync import sync_all, sync_task
    from wafl_sui.metrics.store import MetricsStore

    store = MetricsStore(metrics_file)
    ledger = open_reader(network, ledger_file) if sync else None
    ledger_error: Exception | None = None
    try:
        if ledger is not None and task is not None:
            try:
                return store, sync_task(store, ledger, task).task_id
            except TaskNotFound as e:
                ledger_error = e
        elif ledger is not None:
            sync_all(store, ledger, on_error=lambda tid, e: click.echo(f"warning: task {tid}: {e}", err=True))
    except LedgerError as e:
        ledger_error = e
    finally:
        if ledger is not None:
            ledger.close()
    if task is None:
        return store, None
    try:
        return store, query.find_task(store, task, network)
    except query.TaskNotFound:
        where = f"the {network} ledger" + (f" ({ledger_error})" if ledger_error else "")
        raise click.ClickException(f"no task {task!r} on {where} nor in the metrics store {store.path}; "
                                   "check --task, --network and --ledger") from None
