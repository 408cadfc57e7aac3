"""`wafl dashboard`: the live web page of every task in the metrics store."""

from __future__ import annotations

import click

from wafl_sui.cli.common import friendly_errors, metrics_option


@click.command("dashboard")
@metrics_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=8750, show_default=True, help="Port (0: any free port).")
@click.option("--verbose", is_flag=True, help="Log every request.")
@friendly_errors
def dashboard_cmd(metrics_file, host, port, verbose) -> None:
    """Serve the dashboard: accuracy, loss, contributions, proof times, rules and events, live."""
    from wafl_sui.metrics.dashboard import chart_library_path, serve, serve_until_interrupted

    try:
        server, url = serve(metrics_file, host, port, verbose)
    except OSError as e:
        raise click.ClickException(f"cannot listen on {host}:{port} ({e.strerror}); choose another --port") from None
    if chart_library_path() is None:
        click.echo("warning: the chart library is missing (run `npm ci` in the project root): tables only", err=True)
    click.echo(f"WaFL dashboard on {url} (metrics: {server.store.path}); Ctrl-C stops it")
    serve_until_interrupted(server)
