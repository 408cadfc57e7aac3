"""The live dashboard (wafl_sui/metrics/dashboard.py): the HTTP API and its errors, the static
folder's confinement, and the page itself in headless Chromium driven over the DevTools protocol
(a small stdlib WebSocket client below): the values the charts drew are read back from the page,
and a round recorded while the page is open appears without a reload.

Chromium: found on PATH (or WAFL_CHROMIUM), else installed by scripts/ensure-chromium; the browser
tests skip, saying why, only when that is impossible. The screenshot is written to the test's
tmp folder and, with WAFL_TEST_ARTIFACTS set, to out/dashboard.png."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from oracles import unavailable
from wafl_sui.cli.dashboard import dashboard_cmd
from wafl_sui.metrics import dashboard
from wafl_sui.metrics.store import MetricsError, MetricsStore

ROOT = Path(__file__).resolve().parents[1]
TASK = "0x" + "5a" * 32
OTHER = "0x" + "6b" * 32
RULES = {"rule": "median", "quorum": 3, "lr_q": 410, "round_duration_ms": 30_000, "max_rounds": 8}
ACC = [0.25, 0.5, 0.625]
NEXT_ACC = 0.8125


def record_round(s: MetricsStore, task: str, r: int, acc: float, rejected: int = 1) -> None:
    s.record_evaluation(task, "local", r, acc, round(1.5 - acc, 4))
    for k in range(3 + rejected):
        ok = k < 3
        s.record_contribution(task, "local", r, f"0x{k + 1:064x}", accepted=ok, error=None if ok else "EInvalidProof",
                              prove_seconds=2.0 + k, verify_seconds=0.01 * (k + 1), update_norm=1.0, batch_size=8,
                              attacker=None if ok else "label-flip")
    s.update_status(task, "local", {"round": r + 1, "deadline_ms": 1_900_000_000_000 + r, "finished": False})
    s.record_events(task, "local", [{"seq": 10 * r + k, "type": "UpdateAccepted", "fields": {"round": r, "k": k},
                                     "timestamp_ms": 1_800_000_000_000 + 10 * r + k} for k in range(3)])


@pytest.fixture
def store(tmp_path: Path) -> MetricsStore:
    s = MetricsStore(tmp_path / "metrics.sqlite")
    s.record_task(TASK, "local", rules=RULES, name="label flip, median", float_baseline_accuracy=0.875,
                  status={"round": 0, "finished": False})
    for r, a in enumerate(ACC):
        record_round(s, TASK, r, a)
    s.record_task(OTHER, "localnet", rules={"rule": "fedavg", "quorum": 2}, name="clean fedavg",
                  created_at=time.time() - 3600)
    s.record_evaluation(OTHER, "localnet", 0, 0.375)
    return s


@pytest.fixture
def url(store: MetricsStore) -> Iterator[str]:
    with dashboard.background(store.path) as u:
        yield u


def get(url: str, path: str, method: str = "GET") -> tuple[int, str, str]:
    """A raw request (the path is sent exactly as given): status, content type, body."""
    u = urlsplit(url)
    con = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    con.request(method, path)
    r = con.getresponse()
    body = r.read().decode("utf-8", "replace")
    con.close()
    return r.status, r.getheader("Content-Type", ""), body


# --------------------------------------------------------------------------- HTTP API
def test_serve_binds_localhost_and_reports_the_chosen_port(store):
    server, url = dashboard.serve(store.path, port=0)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1" and port > 0 and url == f"http://127.0.0.1:{port}/"
    finally:
        server.server_close()


def test_api_tasks_and_task(url, store):
    status, ctype, body = get(url, "/api/tasks")
    assert status == 200 and ctype == "application/json"
    data = json.loads(body)
    assert data["store"] == str(store.path)
    assert [(t["network"], t["task_id"], t["rule"]) for t in data["tasks"]] == [
        ("local", TASK, "median"), ("localnet", OTHER, "fedavg")]
    status, _, body = get(url, f"/api/task/local/{TASK}")
    d = json.loads(body)
    assert status == 200 and set(d) == {"summary", "series", "contributions", "events"}
    assert [r["accuracy"] for r in d["series"]] == ACC
    assert d["summary"]["rules"] == RULES and d["summary"]["accepted"] == 9 and d["summary"]["rejected"] == 3
    assert len(d["events"]) == 9 and len(d["contributions"]) == 12
    v = d["summary"]["version"]
    assert json.loads(get(url, f"/api/task/local/{TASK}?since={v}")[2]) == {"unchanged": True, "version": v}
    record_round(store, TASK, 3, NEXT_ACC)
    d2 = json.loads(get(url, f"/api/task/local/{TASK}?since={v}")[2])
    assert d2["series"][-1]["accuracy"] == NEXT_ACC


@pytest.mark.parametrize(
    "path, status, message",
    [
        (f"/api/task/local/{OTHER}", 404, f"no task {OTHER} on network 'local'"),
        ("/api/task/local/0x1234", 400, "task_id must be 0x followed by 64 hex digits"),
        (f"/api/task/Main Net/{TASK}".replace(" ", "%20"), 400, "network must be a short lowercase name"),
        (f"/api/task/local/{TASK}/extra", 400, "expected /api/task/<network>/<task_id>"),
        (f"/api/task/local/{TASK}?round=1", 400, "the only query parameter is since"),
        (f"/api/task/local/{TASK}?since=a&since=b", 400, "given once"),
        (f"/api/task/local/{TASK}?since", 400, "bad query field"),
        ("/api/tasks?x=1", 400, "takes no query parameters"),
    ],
)
def test_api_errors_are_clear_json(url, path, status, message):
    got, ctype, body = get(url, path)
    assert (got, ctype) == (status, "application/json")
    assert message in json.loads(body)["error"]


def test_unknown_page_is_a_clear_html_404(url):
    status, ctype, body = get(url, "/nope")
    assert status == 404 and ctype.startswith("text/html")
    assert "no page &#x27;/nope&#x27;; the dashboard is at /" in body and "Traceback" not in body


STATIC = Path(dashboard.__file__).parent / "static"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../etc/passwd",
        "/static/../../../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/%252e%252e/%252e%252e/etc/passwd",
        "/static/..%5c..%5c..%5cetc%5cpasswd",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/../store.py",
        "/static/%2e%2e/dashboard.py",
        "/static/./../__init__.py",
        "/static/app.js%00.png",
        "/static/%ff%fe",
        "/static/",
        "/static/../static/../store.py",
    ],
)
def test_static_files_never_leave_the_static_folder(url, path):
    status, _, body = get(url, path)
    assert status == 404, (path, status)
    assert "root:" not in body and "import " not in body and "sqlite3" not in body
    assert "no static file" in body


def test_static_files_and_chart_library_are_served(url):
    status, ctype, body = get(url, "/static/app.js")
    assert status == 200 and ctype.startswith("text/javascript")
    assert body == (STATIC / "app.js").read_text()
    status, _, index = get(url, "/")
    assert status == 200 and "/vendor/chart.umd.min.js" in index
    assert "http://" not in index and "https://" not in index  # nothing fetched from elsewhere
    pin = json.loads((ROOT / "package.json").read_text())["dependencies"]["chart.js"]
    status, ctype, lib = get(url, "/vendor/chart.umd.min.js")
    assert status == 200 and ctype.startswith("text/javascript")
    assert f"Chart.js v{pin}" in lib[:200], "the served chart library is not the version pinned in package.json"
    assert get(url, "/", method="HEAD")[0] == 200


def test_missing_chart_library_is_a_clear_404(url, monkeypatch, tmp_path):
    monkeypatch.setenv("WAFL_CHARTJS", str(tmp_path / "absent.js"))
    status, _, body = get(url, "/vendor/chart.umd.min.js")
    assert status == 404 and "npm ci" in body


def test_serve_errors(store, tmp_path):
    server, url = dashboard.serve(store.path)
    try:
        with pytest.raises(MetricsError, match="is in use; choose another port or 0"):
            dashboard.serve(store.path, port=server.server_address[1])
    finally:
        server.server_close()
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(MetricsError, match="not a WaFL metrics database"):
        dashboard.serve(bad)
    assert bad.read_text() == "hello"
    with pytest.raises(MetricsError, match="port must be in 0..65535"):
        dashboard.serve(store.path, port=70000)


def test_background_server_shuts_down(store):
    with dashboard.background(store.path) as u:
        port = urlsplit(u).port
        assert get(u, "/api/tasks")[0] == 200
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_cli_reports_bad_store_without_traceback(tmp_path):
    bad = tmp_path / "x.sqlite"
    bad.write_text("not sqlite")
    r = CliRunner().invoke(dashboard_cmd, ["--metrics", str(bad), "--port", "0"])
    assert r.exit_code == 1 and "Error:" in r.output and "not a WaFL metrics database" in r.output
    assert "Traceback" not in r.output and isinstance(r.exception, SystemExit)


# --------------------------------------------------------------------------- headless Chromium
class DevTools:
    """A minimal Chrome DevTools protocol client over a stdlib WebSocket (RFC 6455, text frames)."""

    def __init__(self, ws_url: str, timeout: float = 30.0):
        u = urlsplit(ws_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        if b" 101 " not in head.split(b"\r\n")[0] or accept not in head:
            raise ConnectionError(f"DevTools refused the WebSocket: {head[:200]!r}")
        self.next_id = 0

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _message(self) -> str:
        data = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else b""
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            op = b0 & 0x0F
            if op == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if op == 0x9:
                self._send(0xA, payload)
                continue
            if op in (0x0, 0x1, 0x2):
                data += payload
                if b0 & 0x80:
                    return data.decode()

    def call(self, method: str, **params: Any) -> dict:
        self.next_id += 1
        mid = self.next_id
        self._send(0x1, json.dumps({"id": mid, "method": method, "params": params}).encode())
        while True:
            msg = json.loads(self._message())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def js(self, expression: str) -> Any:
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        end = time.monotonic() + timeout
        while True:
            v = self.js(expression)
            if v:
                return v
            if time.monotonic() > end:
                raise AssertionError(f"timed out after {timeout} s waiting for {expression}")
            time.sleep(0.1)

    def close(self) -> None:
        self.sock.close()


def find_chromium() -> tuple[str | None, str]:
    """The browser's path, running scripts/ensure-chromium when none is on PATH; else (None, why)."""
    for name in (os.environ.get("WAFL_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name), ""
    try:
        r = subprocess.run(["bash", str(ROOT / "scripts" / "ensure-chromium")], capture_output=True, text=True,
                           timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"scripts/ensure-chromium failed to run: {e}"
    path = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else ""
    if path and shutil.which(path):
        return shutil.which(path), ""
    return None, f"Chromium is not installed and scripts/ensure-chromium could not install it: {r.stderr.strip()[-500:]}"


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path, why = find_chromium()
    if path is None:
        unavailable(why)  # skipped on a developer's machine, failed where the oracles are required
    return path


WIDTH, HEIGHT = 1280, 2000


@pytest.fixture
def browser(chromium_path: str, tmp_path: Path) -> Iterator[DevTools]:
    profile = tmp_path / "chromium-profile"
    proc = subprocess.Popen(
        [chromium_path, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
         "--force-device-scale-factor=1", f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-port=0",
         "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        end = time.monotonic() + 60
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if proc.poll() is not None:
                pytest.fail(f"chromium exited ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > end:
                pytest.fail("chromium did not open its DevTools port within 60 s")
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        con.request("GET", "/json/list")
        pages = [t for t in json.loads(con.getresponse().read()) if t["type"] == "page"]
        con.close()
        dt = DevTools(pages[0]["webSocketDebuggerUrl"])
        dt.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)
        try:
            yield dt
        finally:
            dt.close()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the browser's own process group (start_new_session)
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        if proc.stderr:
            proc.stderr.close()


def navigate(dt: DevTools, url: str) -> None:
    """Load `url` as a new document (via about:blank, so a changed #fragment reloads too)."""
    for u in ("about:blank", url):
        dt.js("window.__previousDocument = true")
        dt.call("Page.navigate", url=u)
        dt.wait_for("window.__previousDocument === undefined && document.readyState === 'complete'")


def open_page(dt: DevTools, url: str) -> None:
    navigate(dt, url)
    dt.wait_for("window.__dashboard !== undefined && window.__dashboard.renders > 0 && "
                "Object.keys(window.__charts).length === 4")


def charts(dt: DevTools) -> dict:
    return dt.js("window.__dashboard.readCharts()")


def dataset(c: dict, label: str) -> dict:
    return next(d for d in c["datasets"] if d["label"] == label)


def assert_drawn(ds: dict) -> None:
    """Chart.js laid out one finite point per value (what the canvas shows)."""
    assert len(ds["points"]) == len(ds["data"])
    assert all(isinstance(x, (int, float)) and isinstance(y, (int, float)) for x, y in ds["points"])


def test_page_renders_the_task_and_updates_live(browser: DevTools, url: str, store: MetricsStore, tmp_path: Path):
    open_page(browser, url)
    c = charts(browser)
    acc = dataset(c["accuracy"], "accuracy")
    assert c["accuracy"]["labels"] == ["0", "1", "2"] and acc["data"] == ACC
    assert_drawn(acc)
    ys = [y for _, y in acc["points"]]
    assert ys[0] > ys[1] > ys[2], "higher accuracy must be drawn higher on the canvas"
    base = dataset(c["accuracy"], "float baseline")
    assert base["data"] == [0.875] * 3 and all(y < min(ys) for _, y in base["points"])
    assert dataset(c["loss"], "loss")["data"] == [round(1.5 - a, 4) for a in ACC]
    assert dataset(c["updates"], "accepted")["data"] == [3, 3, 3]
    assert dataset(c["updates"], "rejected")["data"] == [1, 1, 1]
    assert dataset(c["timings"], "prove")["data"] == [3.5] * 3  # median of 2, 3, 4, 5
    assert dataset(c["timings"], "verify")["data"] == [pytest.approx(0.025)] * 3
    rendered = json.loads(browser.js("document.getElementById('chart-accuracy').dataset.rendered"))
    assert rendered["datasets"][0]["data"] == ACC

    text = lambda i: browser.js(f"document.getElementById('{i}').textContent")  # noqa: E731
    assert (text("status-round"), text("status-quorum"), text("status-finished")) == ("round 3 (rounds 0..7)", "3", "no")
    deadline = datetime.fromtimestamp(1_900_000_000_002 / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert text("status-deadline").startswith(deadline)
    assert text("counts") == "9 / 3" and text("latest-accuracy") == "0.6250 (model of round 2)"
    assert browser.js("document.querySelectorAll('#events-table tbody tr').length") == 9
    assert browser.js("document.querySelector('#clients-table tr[data-client=\"0x" + "0" * 63 + "4\"] "
                      "td[data-round=\"1\"]').textContent") == "EInvalidProof"
    assert browser.js("[...document.querySelectorAll('#task-select option')].map(o => o.value)") == [
        f"local/{TASK}", f"localnet/{OTHER}"]

    # a new round while the page is open: no reload, the charts redraw within a few seconds
    browser.js("window.__sameDocument = 'yes'")
    renders = browser.js("window.__dashboard.renders")
    t0 = time.monotonic()
    record_round(store, TASK, 3, NEXT_ACC, rejected=2)
    browser.wait_for("window.__dashboard.readCharts().accuracy.labels.length === 4", timeout=10)
    latency = time.monotonic() - t0
    assert latency < 5, f"the page took {latency:.1f} s to show the new round"
    assert browser.js("window.__sameDocument") == "yes", "the page was reloaded"
    assert browser.js("window.__dashboard.renders") > renders
    c = charts(browser)
    acc = dataset(c["accuracy"], "accuracy")
    assert acc["data"] == ACC + [NEXT_ACC] and c["accuracy"]["labels"][-1] == "3"
    assert_drawn(acc)
    assert acc["points"][3][1] < acc["points"][2][1]
    assert dataset(c["updates"], "rejected")["data"] == [1, 1, 1, 2]
    assert text("status-round") == "round 4 (rounds 0..7)" and text("counts") == "12 / 5"
    assert browser.js("document.querySelectorAll('#events-table tbody tr').length") == 12

    # the screenshot shows the accuracy line: its colour inside the accuracy canvas
    shot = tmp_path / "dashboard.png"
    shot.write_bytes(base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"]))
    box = browser.js("(() => { const r = document.getElementById('chart-accuracy').getBoundingClientRect();"
                     " return [r.left, r.top, r.right, r.bottom].map(Math.round); })()")
    with Image.open(shot) as img:
        assert img.size == (WIDTH, HEIGHT)
        px = np.asarray(img.convert("RGB").crop(tuple(box))).astype(int)
    blue = (np.abs(px - np.array([0x1F, 0x77, 0xB4])).max(axis=-1) <= 40).sum()
    assert blue > 200, "no accuracy line in the screenshot"
    if os.environ.get("WAFL_TEST_ARTIFACTS"):
        (ROOT / "out").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "out" / "dashboard.png")


def test_task_selector_switches_tasks(browser: DevTools, url: str):
    open_page(browser, url)
    browser.js(f"(() => {{ const s = document.getElementById('task-select'); s.value = 'localnet/{OTHER}';"
               " s.dispatchEvent(new Event('change')); })()")
    browser.wait_for(f"window.__dashboard.key === 'localnet/{OTHER}' && "
                     "window.__dashboard.readCharts().accuracy.labels.length === 1")
    c = charts(browser)
    assert dataset(c["accuracy"], "accuracy")["data"] == [0.375]
    assert [d["label"] for d in c["accuracy"]["datasets"]] == ["accuracy"]  # no baseline recorded
    assert browser.js("document.getElementById('task-network').textContent") == "localnet"
    assert browser.js("location.hash") == f"#localnet/{OTHER}"
    # a deep link opens that task directly
    open_page(browser, f"{url}#local/{TASK}")
    assert dataset(charts(browser)["accuracy"], "accuracy")["data"] == ACC


def test_page_says_when_there_are_no_tasks(browser: DevTools, tmp_path: Path):
    empty = MetricsStore(tmp_path / "empty.sqlite")
    with dashboard.background(empty.path) as u:
        navigate(browser, u)
        msg = browser.wait_for("(() => { const b = document.getElementById('banner');"
                               " return !b.hidden && b.textContent; })()")
        assert "No tasks yet" in msg and str(empty.path) in msg
        empty.record_task(TASK, "local", rules=RULES)
        empty.record_evaluation(TASK, "local", 0, 0.5)
        browser.wait_for("window.__dashboard.renders > 0 && window.__dashboard.readCharts().accuracy.labels.length === 1",
                         timeout=10)
        assert browser.js("document.getElementById('banner').hidden") is True


def test_a_private_task_shows_its_budget_and_what_each_client_spent(browser: DevTools, tmp_path: Path):
    s = MetricsStore(tmp_path / "private.sqlite")
    a, b = "0x" + "a1" * 32, "0x" + "b2" * 32
    dp = {"epsilon": 8.0, "delta": 1e-5, "max_updates": 25, "sample_rate": 0.1778, "epsilon_spent_max": 3.25,
          "epsilon_spent": {a: 3.25, b: 1.5}, "updates": {a: 6, b: 2}}
    s.record_task(TASK, "local", rules=RULES, name="private", status={"round": 6, "finished": False, "privacy": dp})
    s.record_evaluation(TASK, "local", 0, 0.5)
    with dashboard.background(s.path) as u:
        open_page(browser, u)
        text = lambda i: browser.js(f"document.getElementById('{i}').textContent")  # noqa: E731
        assert browser.js("document.getElementById('privacy-panel').hidden") is False
        assert "epsilon 3.25 spent of 8.00" in text("privacy-summary") and "25 accepted updates" in text("privacy-summary")
        assert "epsilon 1.500 (2 updates)" in text("privacy-table") and a in text("privacy-table")
        assert "privacy" not in text("status-table")  # shown once, in its own panel
        s.update_status(TASK, "local", {"round": 7, "finished": False}, replace=True)  # an ordinary task: no panel
        s.record_evaluation(TASK, "local", 1, 0.6)
        browser.wait_for("document.getElementById('privacy-panel').hidden === true", timeout=10)


def test_error_page_in_the_browser(browser: DevTools, url: str):
    navigate(browser, f"{url}api/task/local/{OTHER}")
    body = browser.js("document.body.innerText")
    assert f"no task {OTHER}" in body
    navigate(browser, f"{url}static/..%2f..%2fstore.py")
    body = browser.js("document.body.innerText")
    assert "no static file" in body and "sqlite3" not in body


def test_charts_have_axis_titles_and_a_finished_task_looks_finished(browser: DevTools, tmp_path: Path):
    s = MetricsStore(tmp_path / "m.sqlite")
    spec = {"features": 64, "classes": 10, "batch_size": 16, "frac_bits": 8, "weight_bits": 16, "feature_bits": 10,
            "lr_bits": 16, "lr_frac_bits": 12, "local_steps": 1, "note": "x" * 300}
    s.record_task(TASK, "local", rules={**RULES, "max_rounds": 2, "spec": spec}, name="done",
                  status={"round": 2, "finished": True, "deadline_ms": int(time.time() * 1000) + 3_600_000})
    s.record_evaluation(TASK, "local", 1, 0.5)
    with dashboard.background(s.path) as u:
        open_page(browser, u)
        titles = browser.js("Object.fromEntries(Object.entries(window.__charts).map(([k, c]) => "
                            "[k, [c.options.scales.x.title.text, c.options.scales.y.title.text]]))")
        assert titles == {"accuracy": ["round", "test accuracy"], "loss": ["round", "test loss"],
                          "updates": ["round", "updates"], "timings": ["round", "seconds"]}
        text = lambda i: browser.js(f"document.getElementById('{i}').textContent")  # noqa: E731
        assert text("status-round") == "finished (rounds 0..1 done)"
        assert text("status-deadline") == "none: the task is finished"  # not "in 60 min"
        # the spec cell wraps inside its panel instead of running out of it
        fits = browser.js("(() => { const td = [...document.querySelectorAll('#rules-table tr')]"
                          ".find(r => r.firstChild.textContent === 'spec').lastChild;"
                          " const p = td.closest('.panel').getBoundingClientRect();"
                          " const r = td.getBoundingClientRect(); return [r.right <= p.right + 1, r.height]; })()")
        assert fits[0] and fits[1] > 30, fits


def test_big_integers_are_strings_in_the_json_api(tmp_path: Path):
    s = MetricsStore(tmp_path / "m.sqlite")
    s.record_task(TASK, "local", rules=RULES)
    big = 19_600_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_1
    s.record_events(TASK, "local", [{"seq": 0, "type": "RoundAggregated", "timestamp_ms": 1_800_000_000_000,
                                     "fields": {"round": 0, "model_commitment": big, "submitters": ["0x1"]}}])
    with dashboard.background(s.path) as u:
        status, _, body = get(u, f"/api/task/local/{TASK}")
    assert status == 200
    ev = json.loads(body)["events"][0]
    assert ev["fields"]["model_commitment"] == str(big) and ev["fields"]["round"] == 0
    assert ev["timestamp_ms"] == 1_800_000_000_000  # below 2^53: still a number
