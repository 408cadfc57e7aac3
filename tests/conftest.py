"""Shared test set-up: artifacts go to a per-session folder, never to the user's cache; tests
marked `oracle(...)` need independent checkers (tests/oracles.py): skipped without them, failed
without them when WAFL_REQUIRE_ORACLES=1 (scripts/run-tests, CI)."""

import os

import pytest

from oracles import SWITCH, oracles_required, require_oracle


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "oracle(*names): needs these independent checkers (tests/oracles.py: node, node_modules, "
        f"ts_sdk, pysui_grpc); skipped without them, FAILS without them when {SWITCH}=1 or CI=true")


def pytest_report_header(config):
    return f"oracles: {'required (a missing one fails)' if oracles_required() else 'optional (a missing one skips)'}"


def pytest_runtest_setup(item):
    for mark in item.iter_markers("oracle"):
        require_oracle(*mark.args)


@pytest.fixture(scope="session", autouse=True)
def wafl_home(tmp_path_factory):
    """WAFL_HOME for the whole session (set WAFL_TEST_HOME to reuse compiled circuits across runs)."""
    home = os.environ.get("WAFL_TEST_HOME") or str(tmp_path_factory.mktemp("wafl-home"))
    old = os.environ.get("WAFL_HOME")
    os.environ["WAFL_HOME"] = home
    yield home
    if old is None:
        os.environ.pop("WAFL_HOME", None)
    else:
        os.environ["WAFL_HOME"] = old


@pytest.fixture(scope="session")
def test_ptau(wafl_home):
    """make(power) -> an INSECURE prepared powers of tau, made once per session (or reused from
    WAFL_TEST_PTAU_DIR): 2^12 takes seconds."""
    from pathlib import Path

    from wafl_sui.zk import setup as groth16_setup

    def make(power: int = 12) -> Path:
        d = Path(os.environ.get("WAFL_TEST_PTAU_DIR") or Path(wafl_home) / "ptau")
        p = d / f"test_{power}.ptau"
        if not p.is_file():
            groth16_setup.make_dev_ptau(power, p, entropy="wafl tests")
        return p

    return make
