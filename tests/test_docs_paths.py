"""Every repository path the documentation names in backticks exists.

README.md, docs/*.md and benchmarks/*.md name files and folders of this repository in inline code
(`wafl_sui/zk/circuit.py`, `move/sources/`, `benchmarks/bench_prover.py --runs 5`,
`tests/test_circuit.py::test_x`). When code moves, such a path goes stale silently; this test
reads every inline code span, takes each word that starts with one of the repository's top-level
folders, and checks that it names something that exists. `*` is a glob and `<name>` a placeholder
(matched as `*`); a pytest node id (`::...`) counts as its file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "benchmarks").glob("*.md")])
TOP_LEVEL = ("wafl_sui", "move", "docs", "benchmarks", "scripts", "tests", "circuits", "notebooks", "tools")

_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_INLINE = re.compile(r"`([^`\n]+)`")
_PATH = re.compile(r"^(?:\./)?((?:" + "|".join(TOP_LEVEL) + r")/[\w.*<>/-]*)")


def mentioned_paths(markdown: str) -> list[str]:
    """Repository-relative paths named in the inline code spans of `markdown` (fenced blocks hold
    commands and diagrams, not references, and are skipped)."""
    found = []
    for span in _INLINE.findall(_FENCE.sub("", markdown)):
        for word in span.split():
            m = _PATH.match(word.split("::")[0])
            if m:
                found.append(m.group(1).rstrip(".,;:)"))
    return found


def exists(path: str, root: Path = ROOT) -> bool:
    pattern = re.sub(r"<[^>]*>", "*", path)
    if "*" in pattern:
        return any(root.glob(pattern.rstrip("/")))
    return (root / pattern).exists()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_doc_names_exists(doc):
    paths = mentioned_paths(doc.read_text())
    missing = sorted({p for p in paths if not exists(p)})
    assert not missing, f"{doc.relative_to(ROOT)} names paths that do not exist: {missing}"


def test_the_docs_name_paths_at_all():
    """The extraction finds the paths the docs are known to name (so an empty list cannot pass)."""
    readme = set(mentioned_paths((ROOT / "README.md").read_text()))
    assert {"docs/PROTOCOL.md", "wafl_sui/protocol/", "benchmarks/RESULTS.md"} <= readme
    circuit = set(mentioned_paths((ROOT / "docs" / "CIRCUIT.md").read_text()))
    assert "circuits/wafl_step.circom" in circuit and "tests/test_circuit.py" in circuit


def test_a_stale_path_is_caught(tmp_path):
    (tmp_path / "wafl_sui" / "zk").mkdir(parents=True)
    (tmp_path / "wafl_sui" / "zk" / "circuit.py").write_text("")
    text = ("See `wafl_sui/zk/circuit.py`, `wafl_sui/circuit.py` and `wafl_sui/zk/<name>.py`;\n"
            "run `benchmarks/bench_x.py --runs 5`, `tests/test_x.py::test_y`; `$WAFL_HOME/circuits/` is not\n"
            "the repository's.\n```\nwafl_sui/in_a_fence.py\n```\n")
    paths = mentioned_paths(text)
    assert paths == ["wafl_sui/zk/circuit.py", "wafl_sui/circuit.py", "wafl_sui/zk/<name>.py",
                     "benchmarks/bench_x.py", "tests/test_x.py"]
    assert [p for p in paths if not exists(p, tmp_path)] == ["wafl_sui/circuit.py", "benchmarks/bench_x.py",
                                                             "tests/test_x.py"]
