"""Shared test set-up: artifacts go to a per-session folder, never to the user's cache."""

import os

import pytest


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
