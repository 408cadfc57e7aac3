"""Build the WaFL Move package offline (no Sui CLI) and return what publishing needs.

The compiler is `@zktx.io/sui-move-builder` (the Sui Move compiler as WASM, from the project's
node_modules) driven by `tools/move/build.mjs`. The package's framework dependency (implicit in
move/Move.toml, as `sui move build` resolves it) is served from interface stubs generated
from the framework bytecode inside the sui-sandbox wheel (`wafl_sui/contract/stubs.py`).

`build_package()` returns base64 modules, dependency ids and the package digest (the payload
of a publish transaction). In test mode (`test=True`) `#[test_only]` code and `move/tests/`
are compiled too, against extra compile-only test stubs: this checks the unit tests compile;
they run only with the Sui CLI (`sui move test`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from wafl_sui.errors import WaflError
from wafl_sui.contract.stubs import StubError, ensure_stubs
from wafl_sui.contract.bytecode import module_name
from wafl_sui.toolchain import ToolchainError, node_bin, node_modules_dir, repo_root

PROJECT_ROOT = repo_root()
DEFAULT_PACKAGE = PROJECT_ROOT / "move"
BUILD_SCRIPT = PROJECT_ROOT / "tools" / "move" / "build.mjs"
BUILDER_MODULE = node_modules_dir() / "@zktx.io" / "sui-move-builder"
BUILD_TIMEOUT_S = 300


class MoveBuildError(WaflError, RuntimeError):
    """The package did not compile, or the toolchain is missing. `str()` is the user message."""

    def __init__(self, message: str, category: str = "compile"):
        super().__init__(message)
        self.category = category


@dataclass(frozen=True)
class MoveBuild:
    modules: list[str]  # base64 bytecode, in publish order
    dependencies: list[str]  # 0x-prefixed package ids
    digest: list[int]  # 32-byte Blake2b-256 package digest (as the Sui CLI's JSON)
    warnings: str = ""
    test_mode: bool = False
    module_names: list[str] = field(default_factory=list)

    def module_bytes(self) -> list[bytes]:
        return [base64.b64decode(m) for m in self.modules]

    def digest_hex(self) -> str:
        return bytes(self.digest).hex()

    def to_json(self) -> dict:
        """The `sui move build --dump-bytecode-as-base64` shape."""
        return {"modules": self.modules, "dependencies": self.dependencies, "digest": self.digest}


def _node() -> str:
    try:
        node = node_bin()  # honours WAFL_NODE, like the circuit tools
    except ToolchainError as e:
        raise MoveBuildError(f"{e} (it runs the WASM Move compiler)", "toolchain") from None
    # tools/move/build.mjs imports the builder as an ES module: it must be in the project's node_modules
    if not BUILDER_MODULE.exists():
        raise MoveBuildError(
            f"{BUILDER_MODULE.relative_to(PROJECT_ROOT)} is missing; run `npm ci` in {PROJECT_ROOT}",
            "toolchain",
        )
    return node


def _errors_first(diagnostics: str) -> str:
    """Keep the error diagnostics (drop warnings) when there are errors, and say how many."""
    blocks = [b for b in re.split(r"\n\s*\n(?=(?:error|warning)\[)", diagnostics.strip()) if b.strip()]
    errors = [b for b in blocks if b.lstrip().startswith("error")]
    if not errors:
        return diagnostics.strip()
    hidden = len(blocks) - len(errors)
    tail = f"\n\n({len(errors)} error(s); {hidden} warning(s) not shown)" if hidden else ""
    return "\n\n".join(e.rstrip() for e in errors) + tail


def _relabel(diagnostic: str, package_dir: Path) -> str:
    """Compiler paths are relative to the package; make them relative to the working dir."""
    try:
        prefix = os.path.relpath(package_dir)
    except ValueError:
        prefix = str(package_dir)
    if prefix in (".", ""):
        return diagnostic
    return re.sub(r"(┌─ )((?:sources|tests)/)", lambda m: m.group(1) + prefix + "/" + m.group(2), diagnostic)


_POISON_ONLY = re.compile(
    r"^Bytecode Verification Failed: .*Unknown function '0{63}[12]::[a-z_0-9]+::unit_test_poison'", re.S
)


def _only_test_poison_verification(error: str) -> bool:
    return bool(_POISON_ONLY.match(error.strip())) and "error[" not in error


def build_package(package_dir: str | Path = DEFAULT_PACKAGE, test: bool = False) -> MoveBuild:
    """Compile `package_dir`; raise MoveBuildError with the compiler's diagnostics on failure."""
    package_dir = Path(package_dir).resolve()
    if not (package_dir / "Move.toml").exists():
        raise MoveBuildError(f"{package_dir} has no Move.toml", "input_validation")
    node = _node()
    try:
        stubs = ensure_stubs(test_mode=test)
    except StubError as e:
        raise MoveBuildError(f"cannot generate the framework stubs: {e}", "toolchain") from None
    cmd = [node, str(BUILD_SCRIPT), str(package_dir), str(stubs)] + (["--test"] if test else [])
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, cwd=PROJECT_ROOT)
    except subprocess.TimeoutExpired:
        raise MoveBuildError(f"the Move compiler did not finish in {BUILD_TIMEOUT_S} s", "toolchain") from None
    line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    try:
        out = json.loads(line)
    except json.JSONDecodeError:
        raise MoveBuildError(
            f"the Move compiler failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}",
            "toolchain",
        ) from None
    if "error" in out and test and _only_test_poison_verification(out["error"]):
        # Compilation (parsing, typing, borrow checks of sources and tests) succeeded; the
        # builder's post-compile Sui verifier then rejects the `unit_test_poison` function
        # that test mode adds to every framework module. No publishable modules in test mode.
        return MoveBuild(modules=[], dependencies=[], digest=[], warnings="", test_mode=True)
    if "error" in out:
        raise MoveBuildError(_relabel(_errors_first(out["error"]), package_dir), out.get("category", "compile"))
    mods = out["modules"]
    return MoveBuild(
        modules=mods,
        dependencies=out["dependencies"],
        digest=out["digest"],
        warnings=out.get("warnings", ""),
        test_mode=test,
        module_names=[module_name(base64.b64decode(m)) for m in mods],
    )
