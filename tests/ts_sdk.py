"""Mysten's TypeScript SDK as the offline judge of our transaction bytes, for tests:
`tools/sui/check_tx.mjs` decodes (and checks signatures of) what we build."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from wafl_sui import toolchain

ROOT = Path(__file__).resolve().parent.parent
CHECK_TX = ROOT / "tools" / "sui" / "check_tx.mjs"
needs_ts = pytest.mark.oracle("ts_sdk")  # skipped without node and @mysten/sui; failed when oracles are required


def check_requests(reqs: list[dict]) -> list[Any]:
    """One answer per request, from one run of check_tx.mjs (the requests on its stdin)."""
    p = subprocess.run([toolchain.node_bin(), str(CHECK_TX)], input=json.dumps(reqs), capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)
