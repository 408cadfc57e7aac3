"""The package's shape, read from its imports: the runtime never imports the developer tooling
(`wafl_sui.devtools`), and the ledgers need only the Sui byte layer from `zk`."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "wafl_sui"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    if not name.startswith("wafl_sui."):
        return False
    rel = Path(*name.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


class _WithoutTypeCheckingBlocks(ast.NodeTransformer):
    """Drops `if TYPE_CHECKING:` blocks: imports for annotations only, never run."""

    def visit_If(self, node: ast.If) -> ast.AST | None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else None
        return None if name == "TYPE_CHECKING" else self.generic_visit(node)


def imported_modules(path: Path, *, type_checking: bool = True) -> set[str]:
    """Every module a file imports (absolute or relative, at top level or inside functions);
    with `type_checking=False`, not those under `if TYPE_CHECKING:` (annotations only)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    if not type_checking:
        tree = _WithoutTypeCheckingBlocks().visit(tree)
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names if _is_module(f"{mod}.{a.name}"))
    return out


def runtime_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "devtools" not in p.relative_to(PACKAGE).parts]


def test_the_runtime_never_imports_the_developer_tooling():
    offenders = {
        str(p.relative_to(PACKAGE.parent)): sorted(m for m in imported_modules(p) if m.startswith("wafl_sui.devtools"))
        for p in runtime_files()
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"runtime modules import wafl_sui.devtools: {offenders}"


def test_the_rule_reader_sees_an_import_of_the_tooling(tmp_path):
    # the check above must be able to fail: an absolute, a relative and a lazy import are all seen
    pkg = PACKAGE / "ledger" / "local"
    fake = pkg / "_probe_not_a_module.py"
    src = ("from wafl_sui.devtools.updates import UpdateMaker\n"
           "def f():\n    from ...devtools import gas\n")
    try:
        fake.write_text(src)
        mods = imported_modules(fake)
    finally:
        fake.unlink()
    assert "wafl_sui.devtools.updates" in mods and "wafl_sui.devtools.gas" in mods


def test_the_ledgers_take_only_the_sui_byte_layer_from_zk():
    uses = set()
    for p in (PACKAGE / "ledger").rglob("*.py"):
        uses |= {m for m in imported_modules(p) if m.startswith("wafl_sui.zk")}
    assert uses <= {"wafl_sui.zk", "wafl_sui.zk.sui_bytes"}, sorted(uses)


def test_the_devtools_package_holds_the_tooling():
    for rel in ("gas/interpreter.py", "vm.py", "harness.py", "updates.py"):
        assert (PACKAGE / "devtools" / rel).is_file(), rel
    assert not (PACKAGE / "contract" / "gas").exists()


def _protocol_imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every `import`/`from` of wafl_sui.protocol in a file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("wafl_sui"):
            if node.module == "wafl_sui" and any(a.name == "protocol" for a in node.names):
                out.append((node.lineno, "wafl_sui.protocol", []))
            elif node.module.startswith("wafl_sui.protocol"):
                out.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names if a.name.startswith("wafl_sui.protocol")]
    return out


def test_protocol_is_entered_through_its_facade_only():
    from wafl_sui import protocol

    public = set(protocol.__all__)
    assert all(hasattr(protocol, n) for n in public), sorted(n for n in public if not hasattr(protocol, n))
    bad = []
    for p in PACKAGE.rglob("*.py"):
        if "protocol" in p.relative_to(PACKAGE).parts[:1]:
            continue
        for line, mod, names in _protocol_imports(p):
            where = f"{p.relative_to(PACKAGE.parent)}:{line}"
            if mod != "wafl_sui.protocol":
                bad.append(f"{where} imports the submodule path {mod}")
            bad += [f"{where} imports {n}, not in protocol.__all__" for n in names if n not in public]
    assert not bad, "\n".join(bad)


# --- no import cycle between files ---------------------------------------------------------------


def import_graph() -> dict[str, set[str]]:
    """{module: the wafl_sui modules it imports} over every file of the package, imports inside
    functions included, those under `if TYPE_CHECKING:` not (never run: the way to name a type
    without a cycle). An edge to a package that contains the importer is left out: importing
    `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` first whatever `c` says, so such an edge
    orders nothing."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps = set()
        for m in imported_modules(path, type_checking=False):
            while m and m not in files:  # `from a.b import name`: the module a.b
                m = m.rpartition(".")[0]
            if m and m != name and not name.startswith(m + "."):
                deps.add(m)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as [a, b, ..., a], or None when there is none (depth-first search)."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(n: str) -> list[str] | None:
        path.append(n)
        on_path.add(n)
        for m in sorted(graph.get(n, ())):
            if m in on_path:
                return path[path.index(m):] + [m]
            if m not in done and (cycle := visit(m)):
                return cycle
        path.pop()
        on_path.discard(n)
        done.add(n)
        return None

    for n in sorted(graph):
        if n not in done and (cycle := visit(n)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles_and_the_graph_sees_both_import_forms():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    g = import_graph()
    assert "wafl_sui.ledger.sui.task_calls" in g["wafl_sui.ledger.sui.ledger"]  # from a.b import name
    assert "wafl_sui.ledger.sui.deployments" in g["wafl_sui.ledger.sui.ledger"]  # from a import b (a module)
    assert "wafl_sui.contract.build" in g["wafl_sui.ledger.sui.publish"]  # an import inside a function
    assert "wafl_sui.devtools.gas.chain" not in g["wafl_sui.devtools.gas.runtime"]  # under TYPE_CHECKING
    assert "wafl_sui.devtools.gas.chain" in imported_modules(PACKAGE / "devtools" / "gas" / "runtime.py")


def test_no_import_cycle_between_the_files_of_the_package():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
