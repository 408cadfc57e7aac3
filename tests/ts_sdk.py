"""Mysten's TypeScript SDK as the offline judge of our transaction bytes, for tests:
`tools/sui/check_tx.mjs` decodes (and checks signatures of) what we build."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECK_TX = ROOT / "tools" / "sui" / "check_tx.mjs"
HAVE_TS = bool(shutil.which("node")) and (ROOT / "node_modules" / "@mysten" / "sui" / "package.json").is_file()
needs_ts = pytest.mark.skipif(not HAVE_TS, reason="node or @mysten/sui not installed (npm ci)")


def check_requests(reqs: list[dict]) -> list[Any]:
    """One answer per request, from one run of check_tx.mjs (the requests on its stdin)."""
    p = subprocess.run(["node", str(CHECK_TX)], input=json.dumps(reqs), capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)
