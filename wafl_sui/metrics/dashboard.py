"""Live dashboard: a local web server (stdlib) over a metrics store.

With a ledger to follow (`sync`: a callable, e.g. `ledger_sync.sync_all` over a read-only ledger),
every API request first brings the store up to date from the ledger, at most every SYNC_S
seconds, so the page shows every task the ledger holds, whoever created it. Integers beyond 2^53
go as strings in every JSON answer (`display.json_safe`): a browser would round them.

Pages and endpoints (GET only):
  /                                   the single-page app (static/index.html, app.js, style.css)
  /static/<file>                      files of the static folder, nothing outside it
  /vendor/chart.umd.min.js            the pinned Chart.js (package.json), see `chart_library_path`
  /api/tasks                          {"store": path, "tasks": [...]} (query.list_tasks)
  /api/task/<network>/<task_id>       {"summary", "series", "contributions", "events"};
                                      ?since=<version> answers {"unchanged": true} while no new data
The page polls every POLL_MS and redraws when the task's data version changes.

The chart library is never fetched from the network: it is the file of the npm package pinned in
the project's package.json (`npm ci`, run by scripts/bootstrap), found in `node_modules/chart.js/`
of the project root (or the current folder); WAFL_CHARTJS=/path/to/chart.umd.min.js overrides.

Run: wafl dashboard [--metrics FILE] [--host 127.0.0.1] [--port 8750]
"""

from __future__ import annotations

import errno
import json
import math
import os
import threading
import time
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from wafl_sui.metrics import query
from wafl_sui.metrics.display import json_safe
from wafl_sui.metrics.store import MetricsError, MetricsStore, check_network, check_task_id, metrics_path

STATIC_DIR = Path(__file__).resolve().parent / "static"
CHART_JS_DIST = Path("node_modules") / "chart.js" / "dist" / "chart.umd.min.js"
POLL_MS = 1000
SYNC_S = 2.0
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


def chart_library_path() -> Path | None:
    """The Chart.js UMD file: $WAFL_CHARTJS, else node_modules/chart.js of the first folder above
    this package (or the current folder) that has it; None if there is none."""
    env = os.environ.get("WAFL_CHARTJS")
    if env:
        return Path(env) if Path(env).is_file() else None
    for root in [*Path(__file__).resolve().parents, Path.cwd()]:
        p = root / CHART_JS_DIST
        if p.is_file():
            return p
    return None


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def static_file(url_path: str) -> Path:
    """The file of the static folder that `url_path` (below /static/, still %-encoded) names;
    HttpError 404 for anything else, including paths that leave the folder."""
    try:
        rel = unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        raise HttpError(HTTPStatus.NOT_FOUND, f"no static file {url_path!r}") from None
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\\" in rel or "\x00" in rel:
        raise HttpError(HTTPStatus.NOT_FOUND, f"no static file {url_path!r}")
    p = (STATIC_DIR / rel).resolve()
    if not p.is_relative_to(STATIC_DIR) or not p.is_file():
        raise HttpError(HTTPStatus.NOT_FOUND, f"no static file {url_path!r}")
    return p


def _error_page(status: HTTPStatus, message: str) -> bytes:
    from html import escape

    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{status.value} {status.phrase}"
        f"</title></head><body><h1>{status.value} {escape(status.phrase)}</h1><p class='error'>{escape(message)}"
        "</p><p><a href='/'>Back to the dashboard</a></p></body></html>"
    ).encode()


# Idle connections (e.g. half-open ones that never send a request) are closed after this long.
IDLE_TIMEOUT_S = 10.0
_LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def _host_name(header: str) -> str:
    """The host of a Host header, without its port ("[::1]:8750" -> "::1")."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def allowed_host(header: str | None, bound_host: str) -> bool:
    """DNS-rebinding guard: a request must name this machine (localhost, 127.0.0.1, [::1]) or the
    host the server is bound to; a page of another site that resolved its name to 127.0.0.1 sends
    its own name and is refused."""
    if not header:
        return False
    return _host_name(header) in _LOCAL_NAMES | {str(bound_host).lower()}


class DashboardHandler(BaseHTTPRequestHandler):
    server: "DashboardServer"
    server_version = "WaFLDashboard/1"
    timeout = IDLE_TIMEOUT_S  # socket timeout: idle or half-open connections are dropped

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        api = self.path.startswith("/api/")
        try:
            if not allowed_host(self.headers.get("Host"), self.server.server_address[0]):
                raise HttpError(HTTPStatus.MISDIRECTED_REQUEST,
                                "this dashboard answers requests for localhost, 127.0.0.1, [::1] or its bound host only")
            status, ctype, body = self._route()
        except HttpError as e:
            status, ctype = e.status, "application/json" if api else "text/html; charset=utf-8"
            body = json.dumps({"error": e.message}).encode() if api else _error_page(e.status, e.message)
        except Exception as e:  # noqa: BLE001 - the page says what failed, the log has the details
            self.log_error("internal error on %s: %r", self.path, e)
            status, ctype = HTTPStatus.INTERNAL_SERVER_ERROR, "text/html; charset=utf-8"
            body = _error_page(status, f"internal error: {type(e).__name__}: {e}")
            if api:
                ctype, body = "application/json", json.dumps({"error": f"internal error: {e}"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    # ---- routing
    def _route(self) -> tuple[HTTPStatus, str, bytes]:
        try:
            url = urlsplit(self.path)
        except ValueError:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"malformed URL {self.path!r}") from None
        path = url.path
        if path in ("/", "/index.html"):
            self._no_query(url.query)
            return self._file(STATIC_DIR / "index.html")
        if path.startswith("/static/"):
            return self._file(static_file(path[len("/static/") :]))
        if path == "/vendor/chart.umd.min.js":
            lib = chart_library_path()
            if lib is None:
                raise HttpError(
                    HTTPStatus.NOT_FOUND,
                    "the chart library is not installed: run `npm ci` in the WaFL project root "
                    "(scripts/bootstrap does) or set WAFL_CHARTJS to a chart.umd.min.js file",
                )
            return self._file(lib)
        if path == "/api/tasks":
            self._no_query(url.query)
            self.server.sync_now()
            return self._json({"store": str(self.server.store.path), "tasks": query.list_tasks(self.server.store),
                               "ledger": self.server.ledger_name, "ledger_error": self.server.sync_error})
        if path.startswith("/api/task/"):
            self.server.sync_now()
            return self._task(path[len("/api/task/") :], url.query)
        raise HttpError(HTTPStatus.NOT_FOUND, f"no page {path!r}; the dashboard is at /")

    def _no_query(self, qs: str) -> None:
        if qs:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"this page takes no query parameters, got {qs!r}")

    def _task(self, rest: str, qs: str) -> tuple[HTTPStatus, str, bytes]:
        parts = rest.split("/")
        if len(parts) != 2:
            raise HttpError(HTTPStatus.BAD_REQUEST, "expected /api/task/<network>/<task_id>")
        try:
            network, task_id = check_network(unquote(parts[0])), check_task_id(unquote(parts[1]))
            params = parse_qs(qs, keep_blank_values=True, strict_parsing=bool(qs), max_num_fields=10)
        except (MetricsError, ValueError) as e:
            raise HttpError(HTTPStatus.BAD_REQUEST, str(e)) from None
        unknown = set(params) - {"since"}
        if unknown or any(len(v) != 1 for v in params.values()):
            raise HttpError(HTTPStatus.BAD_REQUEST, "the only query parameter is since=<version>, given once")
        store = self.server.store
        try:
            version = query.data_version(store, task_id, network)
            if params.get("since") == [version]:
                return self._json({"unchanged": True, "version": version})
            data = {
                "summary": query.task_summary(store, task_id, network),
                "series": query.round_series(store, task_id, network),
                "contributions": query.contributions(store, task_id, network),
                "events": query.events(store, task_id, network),
            }
        except query.TaskNotFound as e:
            raise HttpError(HTTPStatus.NOT_FOUND, str(e)) from None
        return self._json(data)

    # ---- bodies
    def _file(self, p: Path) -> tuple[HTTPStatus, str, bytes]:
        return HTTPStatus.OK, _CONTENT_TYPES.get(p.suffix, "application/octet-stream"), p.read_bytes()

    def _json(self, data: Any) -> tuple[HTTPStatus, str, bytes]:
        return HTTPStatus.OK, "application/json", json.dumps(json_safe(data), allow_nan=False).encode()


Sync = Callable[[MetricsStore], Any]


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr: tuple[str, int], store: MetricsStore, verbose: bool = False,
                 sync: Optional[Sync] = None, ledger_name: Optional[str] = None):
        self.store = store
        self.verbose = verbose
        self.sync = sync
        self.ledger_name = ledger_name
        self.sync_error: Optional[str] = None
        self._sync_lock = threading.Lock()
        self._synced_at = -math.inf
        super().__init__(addr, DashboardHandler)

    def sync_now(self) -> None:
        """Bring the store up to date from the ledger (at most every SYNC_S seconds; a request
        that finds another one syncing goes on with what the store has)."""
        if self.sync is None or time.monotonic() - self._synced_at < SYNC_S:
            return
        if not self._sync_lock.acquire(blocking=False):
            return
        try:
            self.sync(self.store)
            self.sync_error = None
        except Exception as e:  # noqa: BLE001 - shown on the page; the store's data is still served
            msg = f"cannot read the ledger {self.ledger_name}: {e}"
            if msg != self.sync_error and self.verbose:
                print(msg, file=sys.stderr)
            self.sync_error = msg
        finally:
            self._synced_at = time.monotonic()
            self._sync_lock.release()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def serve(
    store_path: str | os.PathLike[str] | None = None, host: str = "127.0.0.1", port: int = 0, verbose: bool = False,
    sync: Optional[Sync] = None, ledger_name: Optional[str] = None,
) -> tuple[DashboardServer, str]:
    """A bound (not yet serving) dashboard server and its URL; port 0 picks a free port.
    sync(store): brings the store up to date from a ledger before API answers (see the module doc)."""
    store = MetricsStore(store_path if store_path is not None else metrics_path())
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise MetricsError(f"port must be in 0..65535, got {port!r}")
    try:
        server = DashboardServer((host, port), store, verbose, sync, ledger_name)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise MetricsError(f"port {port} on {host} is in use; choose another port or 0 for a free one") from None
        raise MetricsError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return server, server.url


def serve_until_interrupted(server: DashboardServer) -> None:
    """Serve in this thread until Ctrl-C, then close the socket."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def run_in_thread(server: DashboardServer) -> threading.Thread:
    """Serve in a daemon thread; stop with `server.shutdown(); server.server_close()`."""
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="wafl-dashboard")
    t.start()
    return t


@contextmanager
def background(
    store_path: str | os.PathLike[str] | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Run a dashboard in a background thread for the duration of the block; yields its URL."""
    server, url = serve(store_path, host, port)
    t = run_in_thread(server)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        t.join(timeout=5)
