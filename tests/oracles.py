"""The independent oracles some tests judge our code with (node and the pinned npm tools, the
@mysten/sui TypeScript SDK, pysui's generated gRPC messages, a Chromium browser), and the one
rule for a missing one: skip, saying why, on a developer's machine; FAIL where the oracles are
required, so a CI run cannot pass with its checkers silently switched off.

Required when WAFL_REQUIRE_ORACLES is 1 (scripts/run-tests, hence .ci/run, sets it), or, when that
variable is unset, when CI is true (what CI services set). WAFL_REQUIRE_ORACLES=0 turns it off.

Use `@pytest.mark.oracle("node", "node_modules")` on a test or module (tests/conftest.py checks
the marks before each test), or `require_oracle(name)` / `import_oracle(module)` inside a test,
a fixture or at module level. A Move package that does not build is never an oracle's absence:
it is a failure (call the build, let it raise). Live-network tests (WAFL_SUI_RPC_URL) are not
oracles: they stay skipped without a node.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from types import ModuleType
from typing import Callable

import pytest

from wafl_sui import toolchain

SWITCH = "WAFL_REQUIRE_ORACLES"
PYSUI_GRPC = "pysui.sui.sui_grpc.suimsgs.sui.rpc.v2"


def oracles_required() -> bool:
    """WAFL_REQUIRE_ORACLES=1 (or, when it is unset, CI=true): a missing oracle fails the test."""
    v = os.environ.get(SWITCH)
    if v is None or v.strip() == "":
        v = os.environ.get("CI", "")
    return v.strip().lower() in ("1", "true", "yes", "on")


def _node() -> str:
    try:
        toolchain.node_bin()  # honours WAFL_NODE
    except toolchain.ToolchainError as e:
        return str(e)
    return ""


def _node_modules() -> str:
    d = toolchain.node_modules_dir()  # honours WAFL_NODE_MODULES
    return "" if d.is_dir() else f"the project's node_modules ({d}) is missing: run `npm ci` (or scripts/bootstrap)"


def _ts_sdk() -> str:
    why = _node() or _node_modules()
    if why:
        return why
    p = toolchain.node_modules_dir() / "@mysten" / "sui" / "package.json"
    return "" if p.is_file() else f"@mysten/sui is not installed ({p} missing): run `npm ci`"


def _pysui_grpc() -> str:
    try:
        found = importlib.util.find_spec(PYSUI_GRPC) is not None
    except ImportError as e:
        return f"pysui's gRPC messages ({PYSUI_GRPC}) do not import: {e}; install requirements.lock"
    return "" if found else f"pysui's gRPC messages ({PYSUI_GRPC}) are missing: install requirements.lock"


#: name -> a check returning "" when the oracle is there, else why not and how to get it.
CHECKS: dict[str, Callable[[], str]] = {
    "node": _node,
    "node_modules": _node_modules,
    "ts_sdk": _ts_sdk,
    "pysui_grpc": _pysui_grpc,
}


def missing(name: str) -> str:
    """Why the oracle `name` is unavailable ("" when it is available)."""
    if name not in CHECKS:
        raise KeyError(f"unknown oracle {name!r}; known: {sorted(CHECKS)}")
    return CHECKS[name]()


def unavailable(why: str) -> None:
    """An oracle is missing, for the reason `why`: skip, or fail when the oracles are required."""
    if oracles_required():
        pytest.fail(f"required oracle unavailable ({SWITCH}=1 or CI=true): {why}", pytrace=False)
    pytest.skip(why, allow_module_level=True)


def require_oracle(*names: str) -> None:
    """Skip (or fail, when required) unless every named oracle is available."""
    for name in names:
        why = missing(name)
        if why:
            unavailable(why)


def import_oracle(module: str) -> ModuleType:
    """Import an oracle module (pysui's generated messages), or skip / fail saying why."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        unavailable(f"{module} does not import: {e}; install requirements.lock")
        raise  # not reached: unavailable() always raises


def available(*names: str) -> bool:
    return not any(missing(n) for n in names)
