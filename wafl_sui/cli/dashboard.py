"""`wafl dashboard`: the live web page of every task of the ledger and the metrics store."""

from __future__ import annotations

import click

from wafl_sui.cli.common import friendly_errors, metrics_option, open_reader, with_ledger_options


def ledger_follower(network: str, ledger_file: str | None):
    """sync(store): every task of the ledger into the store (nothing while no local ledger exists)."""
    from wafl_sui.metrics.ledger_sync import sync_all

    def sync(store) -> None:
        ledger = open_reader(network, ledger_file)
        if ledger is None:
            return
        with ledger:
            sync_all(store, ledger, on_error=lambda tid, e: None)

    return sync


@click.command("dashboard")
@with_ledger_options
@metrics_option
@click.option("--no-ledger", is_flag=True, help="Show only what the metrics store holds (do not read the ledger).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=8750, show_default=True, help="Port (0: any free port).")
@click.option("--verbose", is_flag=True, help="Log every request.")
@friendly_errors
def dashboard_cmd(network, ledger_file, metrics_file, no_ledger, host, port, verbose) -> None:
    """Serve the dashboard: accuracy, loss, contributions, proof times, rules and events, live,
    for every task of the ledger (read-only) and of the metrics store."""
    from wafl_sui.metrics.dashboard import chart_library_path, serve, serve_until_interrupted

    sync = None if no_ledger else ledger_follower(network, ledger_file)
    if sync is not None and ledger_file:
        reader = open_reader(network, ledger_file)  # a wrong --ledger is an error now, not a warning on the page
        if reader is not None:
            reader.close()
    try:
        server, url = serve(metrics_file, host, port, verbose, sync=sync,
                            ledger_name=None if no_ledger else (ledger_file or network))
    except OSError as e:
        raise click.ClickException(f"cannot listen on {host}:{port} ({e.strerror}); choose another --port") from None
    if chart_library_path() is None:
        click.echo("warning: the chart library is missing (run `npm ci` in the project root): tables only", err=True)
    click.echo(f"WaFL dashboard on {url} (metrics: {server.store.path}"
               + ("" if no_ledger else f"; following the {ledger_file or network} ledger") + "); Ctrl-C stops it")
    serve_until_interrupted(server)
