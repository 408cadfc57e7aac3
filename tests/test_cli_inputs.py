"""Finding 7 of the security review, tried again: every input that ended in a traceback (or a
hang, or work thrown away) now gets one clear `Error: ...` line before any work starts; the
dashboard refuses foreign Host headers (DNS rebinding) and drops idle connections."""

from __future__ import annotations

import http.client
import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from wafl_sui.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def assert_error(r, *words: str) -> None:
    assert r.exit_code != 0, r.output
    assert "Traceback" not in r.output and "Error" in r.output, r.output
    for w in words:
        assert w in r.output, (w, r.output)


@pytest.fixture()
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("WAFL_HOME", str(h))
    assert run("keys", "new", "--name", "k").exit_code == 0
    return h


def csv_with_label(tmp_path: Path, bad: str) -> Path:
    p = tmp_path / "d.csv"
    rows = ["a,b,label"] + [f"{i},{i + 1},{i % 2}" for i in range(6)] + [f"1,2,{bad}"]
    p.write_text("\n".join(rows) + "\n")
    return p


@pytest.mark.parametrize("bad", ["nan", "inf", "1e400", "12345678901234567890"])
def test_bad_csv_labels(home, tmp_path, bad):
    data = csv_with_label(tmp_path, bad)
    r = run("task", "create", "--dataset", str(data), "--ledger", str(home / "l.sqlite"), "--key", "k")
    assert_error(r, "row 7", repr(bad))
    assert not (home / "circuits").exists()  # nothing compiled


def test_bad_npz_labels(home, tmp_path):
    x = np.zeros((6, 2))
    nan_labels = tmp_path / "nan.npz"
    np.savez(nan_labels, x=x, y=np.array([0, 1, 0, 1, np.nan, 1]))
    r = run("task", "create", "--dataset", str(nan_labels), "--ledger", str(home / "l.sqlite"), "--key", "k")
    assert_error(r, "row 5", "nan")
    objects = tmp_path / "obj.npz"
    np.savez(objects, x=x, y=np.array([0, 1, "a", None, 1, 0], dtype=object))
    r = run("task", "create", "--dataset", str(objects), "--ledger", str(home / "l.sqlite"), "--key", "k")
    assert_error(r, "numeric arrays")


@pytest.mark.parametrize("args, words", [
    (["--lr", "inf"], ["--lr", "finite"]),
    (["--lr", "nan"], ["--lr", "finite"]),
    (["--trim", "nan"], ["--trim", "finite"]),
    (["--set", "batchsize=8"], ["unknown spec field 'batchsize'", "batch_size"]),
    (["--set", "features=5000"], ["constraints"]),
    (["--set", "batch_size=1024"], []),  # refused (lr or size) before anything compiles
])
def test_bad_task_create_options(home, args, words):
    r = run("task", "create", "--dataset", "iris", *args, "--ledger", str(home / "l.sqlite"), "--key", "k")
    assert_error(r, *words)
    circuits = home / "circuits"
    assert not circuits.exists() or not any(circuits.iterdir())  # nothing compiled, no .tmp left


def test_simulate_refuses_a_huge_circuit_before_compiling(home):
    r = run("simulate", "--dataset", "digits", "--batch-size", "1024", "--rounds", "1", "--quiet",
            "--ledger", str(home / "l.sqlite"), "--metrics", str(home / "m.sqlite"))
    assert_error(r, "constraints")
    circuits = home / "circuits"
    assert not circuits.exists() or not [p for p in circuits.iterdir()]
    for bad in (["--lr", "inf"], ["--trim", "nan"], ["--alpha", "nan"], ["--test-fraction", "inf"]):
        assert_error(run("simulate", "--dataset", "iris", *bad, "--quiet"), bad[0])


@pytest.mark.parametrize("poll", ["-1", "0", "nan", "inf"])
def test_bad_poll(home, poll):
    r = run("client", "run", "--task", "t", "--data", "iris", "--poll", poll, "--key", "k",
            "--ledger", str(home / "l.sqlite"))
    assert_error(r, "--poll")


@pytest.mark.parametrize("content", ["{not json", '{"low": [0, 0, 0, 0]}', '{"low": [0], "high": [1]}',
                                     '{"low": [0, 0, 0, "x"], "high": [1, 1, 1, 1]}', '[1, 2]',
                                     '{"low": [0, 0, 0, NaN], "high": [1, 1, 1, 1]}'])
def test_bad_scaling_file(home, tmp_path, content):
    f = tmp_path / "scaling.json"
    f.write_text(content)
    r = run("client", "run", "--task", "t", "--data", "iris", "--scaling", str(f), "--key", "k",
            "--ledger", str(home / "l.sqlite"))
    assert_error(r, "--scaling")


# --------------------------------------------------------------------------- the dashboard
def _get(url: str, host: str | None) -> int:
    from urllib.parse import urlparse

    u = urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    c.putrequest("GET", "/api/tasks", skip_host=True)
    if host is not None:
        c.putheader("Host", host)
    c.endheaders()
    status = c.getresponse().status
    c.close()
    return status


def test_dashboard_refuses_foreign_hosts_and_drops_idle_connections(tmp_path, monkeypatch):
    from wafl_sui.metrics import dashboard
    from wafl_sui.metrics.store import MetricsStore

    monkeypatch.setattr(dashboard.DashboardHandler, "timeout", 0.5)
    store = MetricsStore(tmp_path / "m.sqlite")
    with dashboard.background(store.path) as url:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        for ok in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
            assert _get(url, ok) == 200, ok
        for bad in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", None):
            assert _get(url, bad) == 421, bad
        s = socket.create_connection(("127.0.0.1", port), timeout=5)  # connects, never sends a request
        t0 = time.monotonic()
        assert s.recv(1) == b""  # the server closed it
        assert time.monotonic() - t0 < 4
        s.close()
