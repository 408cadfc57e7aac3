"""How a benchmark records its figures: each script owns one marked section of
benchmarks/RESULTS.md,

    <!-- bench_verify -->
    ## ...
    Measured 2026-12-02 with `...` at commit abc1234 on 2 CPUs (Intel ...), 24 GB, busy machine.
    | ... table ... |
    <!-- /bench_verify -->

and `--write` replaces that section (or appends it the first time), so every figure the README
quotes traces to a line a script wrote, with its date, command, spec / format, commit and machine.
The machine's load is what the person running it says (`--machine busy|idle`): a script cannot know
what else ran meanwhile.

    from _results import add_arguments, record
    add_arguments(ap)                       # --write [FILE], --machine, --smoke
    record(args, "bench_verify", "Verify (Sui bytes)", body, cmd)
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
MACHINE_STATES = ("busy", "idle", "unstated")


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The three options every benchmark shares."""
    ap.add_argument("--smoke", action="store_true",
                    help="the smallest size and fewest runs: checks that the benchmark runs (tests/test_benchmarks.py)")
    ap.add_argument("--write", nargs="?", const=str(RESULTS), default=None, metavar="FILE",
                    help=f"replace this benchmark's section of FILE (default {RESULTS.relative_to(ROOT)}) with the figures")
    ap.add_argument("--machine", choices=MACHINE_STATES, default="unstated",
                    help="say whether other work ran on the machine meanwhile (recorded with the figures)")
    START_COMMIT.append(git_commit())  # the code that runs: a commit made during a long run is not it


START_COMMIT: list[str] = []  # the checkout's commit when the benchmark started (add_arguments)


def git_commit() -> str:
    """The checkout's short commit, `+changes` when the work tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)benchmarks/RESULTS.md"],  # the figures being written are no change
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+changes" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.0f} GB"
    except OSError:
        pass
    return "? GB"


def machine_note(state: str) -> str:
    """e.g. '2 CPUs (AMD EPYC 7B13), 24 GB, busy machine (other work ran meanwhile)'."""
    load = {"busy": "busy machine (other work ran meanwhile)", "idle": "idle machine",
            "unstated": "machine load not stated"}[state]
    return f"{os.cpu_count()} CPUs ({cpu_model()}), {memory_gb()}, {load}"


def command_line(script: str, argv: list[str]) -> str:
    """The command that reproduces the figures (without --write's own file argument)."""
    keep, i = [], 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if a == "--write":
            if i < len(argv) and not argv[i].startswith("-"):
                i += 1  # its FILE
            continue
        if not a.startswith("--write="):
            keep.append(a)
    return ".venv/bin/python benchmarks/" + " ".join([script, *map(shlex.quote, keep)])


def section(name: str, title: str, body: str, cmd: str, state: str, spec_note: str) -> str:
    date = datetime.date.today().isoformat()
    return (f"<!-- {name} -->\n## {title}\n\nMeasured {date} with `{cmd}` at commit {START_COMMIT[0] if START_COMMIT else git_commit()} on "
            f"{machine_note(state)}. {spec_note}\n\n{body.strip()}\n<!-- /{name} -->\n")


def replace_section(text: str, name: str, new: str) -> str:
    """`text` with the marked section `name` replaced by `new` (appended when there is none)."""
    pat = re.compile(rf"<!-- {re.escape(name)} -->\n.*?<!-- /{re.escape(name)} -->\n?", re.S)
    if pat.search(text):
        return pat.sub(lambda _: new, text, count=1)
    return text.rstrip("\n") + "\n\n" + new


def record(args: argparse.Namespace, name: str, title: str, body: str, spec_note: str = "") -> str:
    """Print the section; with --write, put it into the results file. Returns the section."""
    cmd = command_line(Path(sys.argv[0]).name, sys.argv[1:])  # the script that ran
    new = section(name, title, body, cmd, args.machine, spec_note)
    if args.write:
        path = Path(args.write)
        old = path.read_text() if path.is_file() else "# Benchmark results\n"
        path.write_text(replace_section(old, name, new))
        print(f"[{name}] wrote its section of {path}", file=sys.stderr)
    return new


def spec_note(specs: dict[str, object]) -> str:
    """The sizes measured and their fixed-point format, e.g. 'Sizes: digits (D=64, C=10, B=16, L=1;
    format K=10, BW=14, KX=3, BX=5, S=8, BLR=8).'"""
    parts = []
    for label, s in specs.items():
        parts.append(f"{label} (D={s.features}, C={s.classes}, B={s.batch_size}, L={s.local_steps}; format "
                     f"K={s.frac_bits}, BW={s.weight_bits}, KX={s.feature_frac_bits}, BX={s.feature_bits}, "
                     f"S={s.lr_frac_bits}, BLR={s.lr_bits})")
    return "Sizes: " + "; ".join(parts) + "." if parts else ""
