"""Every benchmark in benchmarks/ runs: each once at its smallest size (`--smoke`), writing its
section of a scratch RESULTS.md as `--write` does (date, command, commit, machine note), so a
benchmark can no longer rot unnoticed. And the section writer itself (benchmarks/_results.py)."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))
import _results  # noqa: E402

#: benchmark -> (marks, the section names its --smoke run writes). A new bench_*.py must be added here.
SMOKE = {
    "bench_gas": ([pytest.mark.oracle("node", "node_modules")], ["bench_gas"]),  # ~5 s
    "bench_formats": ([pytest.mark.slow], ["bench_formats"]),
    "bench_ledger": ([pytest.mark.slow], ["bench_ledger"]),
    "bench_prover": ([pytest.mark.slow], ["bench_prover"]),
    "bench_verify": ([pytest.mark.slow], ["bench_verify"]),
    "bench_simulate": ([pytest.mark.slow], ["bench_simulate_all"]),  # six proven runs on iris (one private): minutes
    "bench_mlp": ([pytest.mark.slow], ["bench_mlp"]),
    "bench_ray": ([pytest.mark.slow], ["bench_ray"]),  # three proven runs on iris (local, Ray at 1 and 2 CPUs)
    "bench_sybil": ([pytest.mark.slow], ["bench_sybil"]),  # 2 rounds of real proofs on iris
    "bench_dp": ([pytest.mark.slow], ["bench_dp"]),  # ~10 s: float DP-SGD, the attack, one integer private round
}


def test_every_benchmark_has_a_smoke_run():
    assert sorted(p.stem for p in BENCH.glob("bench_*.py")) == sorted(SMOKE)


@pytest.mark.parametrize("name", [pytest.param(n, marks=m) for n, (m, _) in SMOKE.items()])
def test_benchmark_runs_at_its_smallest_size(name, tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nhand-written text stays\n")
    env = dict(os.environ, WAFL_HOME=os.environ["WAFL_HOME"])  # the session's compiled circuits
    r = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), "--smoke", "--machine", "busy", "--write", str(results)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    text = results.read_text()
    assert text.startswith("# Benchmark results\n\nhand-written text stays\n")
    for section in SMOKE[name][1]:
        body = text[text.index(f"<!-- {section} -->"):text.index(f"<!-- /{section} -->")]
        assert f"Measured {datetime.date.today().isoformat()} with `.venv/bin/python benchmarks/{name}.py --smoke" in body
        assert f"at commit {_results.git_commit()}" in body and "busy machine" in body and f"{os.cpu_count()} CPUs" in body
        assert "|" in body or "```" in body  # a table or the printed figures


def test_a_section_is_replaced_in_place_or_appended():
    old = "# R\n\nintro\n\n<!-- a -->\nold a\n<!-- /a -->\n\nbetween\n\n<!-- b -->\nold b\n<!-- /b -->\ntail\n"
    new_a = "<!-- a -->\nnew a\n<!-- /a -->\n"
    assert _results.replace_section(old, "a", new_a) == old.replace("<!-- a -->\nold a\n<!-- /a -->\n", new_a)
    c = "<!-- c -->\nc\n<!-- /c -->\n"
    assert _results.replace_section(old, "c", c) == old + "\n" + c
    assert _results.replace_section(_results.replace_section(old, "a", new_a), "a", new_a).count("<!-- a -->") == 1
    assert _results.replace_section(old, "b", "<!-- b -->\n$1 \\g<0>\n<!-- /b -->\n").count("$1 \\g<0>") == 1


def test_the_recorded_command_reproduces_the_run_without_its_write_target():
    cl = _results.command_line
    assert cl("bench_x.py", ["--sizes", "tiny", "--write", "out.md", "--runs", "3"]) == \
        ".venv/bin/python benchmarks/bench_x.py --sizes tiny --runs 3"
    assert cl("bench_x.py", ["--write", "--machine", "idle"]) == ".venv/bin/python benchmarks/bench_x.py --machine idle"
    assert cl("bench_x.py", ["--write=o.md", "--smoke"]) == ".venv/bin/python benchmarks/bench_x.py --smoke"


def test_the_machine_note_says_what_the_person_said():
    assert "busy machine" in _results.machine_note("busy") and "idle machine" in _results.machine_note("idle")
    assert "not stated" in _results.machine_note("unstated")
