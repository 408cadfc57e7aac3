"""Every notebook runs top to bottom in a real Jupyter kernel (nbclient), at small sizes.

A notebook's sizes live in its first code cell, tagged `parameters` (papermill's convention), with
defaults that make a real demo. The test inserts a cell after it that overrides them with small
values (and points WORKDIR at the test's temporary folder), then executes the notebook with the
python3 kernel of this interpreter: any cell that raises fails the test with the cell's traceback.
Notebooks are stored without outputs (small diffs), which is checked too.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.warnings import MissingIDFieldWarning

NOTEBOOK_DIR = Path(__file__).parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 600

# Small sizes for the test (iris: D=4, C=3, batch 4: proofs take ~0.1-0.5 s).
SMALL: dict[str, dict] = {
    "federation_walkthrough.ipynb": dict(DATASET="iris", CLIENTS=2, ROUNDS=3, BATCH_SIZE=4),
    "mlp_federation.ipynb": dict(DATASET="iris", CLIENTS=2, ROUNDS=3, BATCH_SIZE=8, HIDDEN=4, LR=2.0),
    "robustness.ipynb": dict(DATASET="iris", CLIENTS=3, ATTACKERS=1, ROUNDS=2, TRIM=0.34, FORGERS=1,
                             FORGED_ROUNDS=2, BATCH_SIZE=4),
}
# What a notebook leaves in its WORKDIR.
EXPECTED_FILES: dict[str, set[str]] = {
    "federation_walkthrough.ipynb": {"ledger.sqlite", "model.npz", "curves.png"},
    "mlp_federation.ipynb": {"ledger.sqlite", "model.npz", "curves.png"},
    "robustness.ipynb": {"ledger.sqlite", "label_flip.png", "forged_updates.png"},
}
# Notebooks that compile a circuit and prove (the `slow` marker: see pyproject.toml).
SLOW = {"federation_walkthrough.ipynb", "mlp_federation.ipynb", "robustness.ipynb"}


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernelspec that starts this interpreter (the venv's python), found ahead of any user-level
    `python3` spec; Jupyter's and IPython's runtime files go to a temporary folder."""
    d = tmp_path_factory.mktemp("jupyter")
    spec_dir = d / "kernels" / "wafl-test-python"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "WaFL tests (venv python)", "language": "python",
    }))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", os.pathsep.join(p for p in (str(d), os.environ.get("JUPYTER_PATH")) if p))
        mp.setenv("JUPYTER_RUNTIME_DIR", str(d / "runtime"))
        mp.setenv("JUPYTER_PLATFORM_DIRS", "1")
        mp.setenv("IPYTHONDIR", str(d / "ipython"))
        mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        # the kernel imports the checkout under test (not whichever copy the venv has installed)
        root = str(NOTEBOOK_DIR.parent)
        mp.setenv("PYTHONPATH", os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        yield "wafl-test-python"


def read(path: Path):
    """The notebook, version 4 (older 4.x files without cell ids get ids, silently)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingIDFieldWarning)
        return nbformat.read(path, as_version=4)


def parameters_cell(nb) -> int | None:
    """Index of the cell tagged `parameters`, which must be the first code cell; None if none."""
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        return None
    assert len(tagged) == 1, "more than one cell is tagged 'parameters'"
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    assert tagged[0] == first_code, "the 'parameters' cell must be the first code cell"
    return tagged[0]


def assigned_names(source: str) -> set[str]:
    return {t.id for node in ast.parse(source).body if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}


def inject_parameters(nb, params: dict) -> None:
    """Insert a cell after the parameters cell that sets `params` (each must be a parameter)."""
    if not params:
        return
    idx = parameters_cell(nb)
    assert idx is not None, "the notebook has no cell tagged 'parameters' to override"
    unknown = set(params) - assigned_names(nb.cells[idx].source)
    assert not unknown, f"not parameters of this notebook: {sorted(unknown)}"
    src = "# Parameters injected by tests/test_notebooks.py\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())
    nb.cells.insert(idx + 1, nbformat.v4.new_code_cell(src, metadata={"tags": ["injected-parameters"]}))


def execute(nb, cwd: Path, kernel_name: str) -> None:
    """Run every code cell in order in a fresh kernel; CellExecutionError on the first that raises."""
    NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name=kernel_name,
                   resources={"metadata": {"path": str(cwd)}}).execute()


def _cases():
    for p in NOTEBOOKS:
        yield pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.name in SLOW else [])


@pytest.mark.parametrize("path", list(_cases()))
def test_notebook_runs(path, kernel_name, tmp_path):
    nb = read(path)
    params = dict(SMALL.get(path.name, {}))
    idx = parameters_cell(nb)
    if idx is not None and "WORKDIR" in assigned_names(nb.cells[idx].source):
        params["WORKDIR"] = str(tmp_path / "work")
    inject_parameters(nb, params)
    execute(nb, tmp_path, kernel_name)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    if path.name in EXPECTED_FILES:
        made = {p.name for p in (tmp_path / "work").iterdir()}
        assert EXPECTED_FILES[path.name] <= made, f"missing {EXPECTED_FILES[path.name] - made}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = read(path)
    nbformat.validate(nb)
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None, f"{path.name} cell {i} has outputs: clear them"
    if path.name in SMALL:
        assert parameters_cell(nb) is not None


def test_a_failing_cell_fails_the_run(kernel_name, tmp_path):
    """The harness really fails: an overridden parameter reaches the cells after it, and a cell
    that raises stops the run with its traceback (the cells after it never run)."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# a notebook"),
        nbformat.v4.new_code_cell("ROUNDS = 30", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("assert ROUNDS == 2, f'ROUNDS is {ROUNDS}'"),
        nbformat.v4.new_code_cell("raise RuntimeError('a broken cell')"),
        nbformat.v4.new_code_cell("open('after.txt', 'w').write('ran')"),
    ])
    inject_parameters(nb, {"ROUNDS": 2})
    with pytest.raises(CellExecutionError, match="a broken cell"):
        execute(nb, tmp_path, kernel_name)
    assert not (tmp_path / "after.txt").exists()
    with pytest.raises(AssertionError, match="not parameters"):
        inject_parameters(nb, {"STEPS": 3})
