"""Where the project's tools and artifacts are: the checkout, node and the pinned npm tools,
and the artifact home. Used by `zk` (circom, snarkjs) and `contract` (the Move compiler) alike.

Environment: WAFL_HOME (artifact cache, default ~/.cache/wafl), WAFL_NODE (node binary),
WAFL_NODE_MODULES (the npm tools, default ./node_modules of the checkout).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from wafl_sui.errors import WaflError


class ToolchainError(WaflError, RuntimeError):
    """A tool the command needs (node, an npm package) is missing; the message says how to get it."""


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def wafl_home() -> Path:
    return Path(os.environ.get("WAFL_HOME", Path.home() / ".cache" / "wafl"))


def node_modules_dir() -> Path:
    env = os.environ.get("WAFL_NODE_MODULES")
    return Path(env) if env else repo_root() / "node_modules"


def node_bin() -> str:
    node = shutil.which(os.environ.get("WAFL_NODE", "node"))
    if not node:
        raise ToolchainError("node (Node.js >= 18) is not on PATH; install it (e.g. apt-get install "
                             "nodejs) or set WAFL_NODE to its path")
    return node


def js_tool(package: str, script: str) -> Path:
    p = node_modules_dir() / package / script
    if not p.is_file():
        raise ToolchainError(f"{package} not found at {p}; run `npm ci` in the project root "
                             "(package.json pins it) or set WAFL_NODE_MODULES")
    return p
