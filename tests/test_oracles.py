"""The oracle switch (tests/oracles.py): with WAFL_REQUIRE_ORACLES=1 (or CI=true) a test whose
independent checker is missing FAILS; without it, it is skipped saying why. Run as a child pytest
with node hidden (WAFL_NODE=/nonexistent), on a generated test file and on a real test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oracles import SWITCH

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

GENERATED = '''
import pytest
from oracles import import_oracle, require_oracle

@pytest.mark.oracle("node")
def test_marked():
    pass

def test_called():
    require_oracle("ts_sdk")

def test_imported():
    import_oracle("wafl_no_such_oracle_module")

@pytest.mark.oracle("pysui_grpc")
def test_present():  # an oracle that is there runs either way
    pass
'''


def _child(args: list[str], **env: str) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in (SWITCH, "CI")}
    e.update(env, WAFL_NODE="/nonexistent/node", PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *args],
                          env=e, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("oracle-switch")
    (d / "test_generated.py").write_text(GENERATED)
    return d / "test_generated.py"


def _counts(out: str) -> dict[str, int]:
    last = [ln for ln in out.splitlines() if " in " in ln and ("passed" in ln or "failed" in ln or "skipped" in ln)][-1]
    words = last.replace(",", " ").split()
    return {words[i + 1]: int(words[i]) for i in range(len(words) - 1) if words[i].isdigit()}


@pytest.mark.parametrize("switch", [{SWITCH: "1"}, {"CI": "true"}])
def test_a_missing_oracle_fails_when_required(generated, switch):
    r = _child(["-p", "conftest", str(generated)], **switch)
    assert r.returncode != 0, r.stdout
    c = _counts(r.stdout)
    assert c.get("passed") == 1 and c.get("failed", 0) + c.get("error", 0) + c.get("errors", 0) == 3, r.stdout
    assert "required oracle unavailable" in r.stdout and "WAFL_NODE" in r.stdout
    assert "skipped" not in c


@pytest.mark.parametrize("switch", [{}, {SWITCH: "0", "CI": "true"}])
def test_a_missing_oracle_skips_saying_why_otherwise(generated, switch):
    r = _child(["-p", "conftest", str(generated)], **switch)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _counts(r.stdout) == {"passed": 1, "skipped": 3}, r.stdout
    assert "node (Node.js >= 18) is not on PATH" in r.stdout and "wafl_no_such_oracle_module" in r.stdout


def test_a_real_oracle_test_fails_without_node_when_required():
    """The TypeScript SDK check of test_identity, with node hidden: skipped, or failed under the switch."""
    target = "tests/test_identity.py::test_matches_ts_sdk_keypair"
    assert _counts(_child([target]).stdout) == {"skipped": 1}
    r = _child([target], **{SWITCH: "1"})
    assert r.returncode != 0 and "required oracle unavailable" in r.stdout, r.stdout

