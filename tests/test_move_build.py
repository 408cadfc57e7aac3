"""Offline build of the Move package: publish payload, CLI, test-mode compile, size limits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from wafl_sui import protocol
from wafl_sui.contract.build import DEFAULT_PACKAGE, MoveBuildError, build_package
from wafl_sui.contract.bytecode import error_constant_names
from wafl_sui.contract.vm import bcs_encode

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (Path(__file__).parent.parent / "node_modules").is_dir(),
    reason="needs node and the project's node_modules (npm ci)",
)

MODULES = ["codec", "commitment", "events", "round", "rules", "spec", "task"]
STD, SUI = "0x" + "0" * 63 + "1", "0x" + "0" * 63 + "2"
# Sui protocol limits (sui-protocol-config): max_pure_argument_size, max_tx_size_bytes,
# max_move_object_size; groth16 public inputs.
MAX_PURE_ARGUMENT = 16 * 1024
MAX_TX_BYTES = 128 * 1024
MAX_OBJECT_BYTES = 250 * 1024
MAX_WEIGHTS = 4095  # docs/MOVE.md


@pytest.fixture(scope="session")
def vm():
    from wafl_sui.contract.vm import MoveVM

    return MoveVM.shared()


def test_build_payload(vm):
    b = vm.build
    assert sorted(b.module_names) == MODULES
    assert b.dependencies == [STD, SUI]
    assert len(b.digest) == 32 and all(0 <= x < 256 for x in b.digest)
    assert b.to_json().keys() == {"modules", "dependencies", "digest"}
    assert not b.warnings.strip(), b.warnings


def test_build_is_deterministic(vm):
    again = build_package()
    assert again.modules == vm.build.modules and again.digest == vm.build.digest


def test_error_constants_are_protocol_names(vm):
    found = set()
    for code in vm.build.module_bytes():
        found |= {v for v in error_constant_names(code).values() if v.startswith("E") and " " not in v}
    used = {"EInvalidSpec", "EInvalidVerifyingKey", "EInvalidRoundRules", "EInvalidAggregationRule", "EInvalidProof", "ERoundClosed", "EAlreadySubmitted",
            "ESenderNotAllowed", "EValueOutOfBounds", "EWrongLength", "ETaskFinished",
            "EQuorumNotReached", "ENoUpdates", "ENotAdmin"}
    assert found == used
    assert used <= set(protocol.ERRORS)


def test_cli_build_json(tmp_path):
    from wafl_sui.cli.move import move_group

    out = tmp_path / "pkg.json"
    r = CliRunner().invoke(move_group, ["build", "--json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    payload = json.loads(r.output)
    assert payload.keys() == {"modules", "dependencies", "digest"}
    assert json.loads(out.read_text()) == payload
    out2 = tmp_path / "human.json"
    r = CliRunner().invoke(move_group, ["build", "--out", str(out2)])
    assert r.exit_code == 0 and "digest: 0x" in r.output
    assert json.loads(out2.read_text()) == payload


def _broken_copy(tmp_path: Path, rel: str, old: str, new: str) -> Path:
    pkg = tmp_path / "pkg"
    shutil.copytree(DEFAULT_PACKAGE, pkg, ignore=shutil.ignore_patterns("build"))
    f = pkg / rel
    text = f.read_text()
    assert old in text
    f.write_text(text.replace(old, new, 1))
    return pkg


def test_cli_compile_error_has_file_and_line(tmp_path):
    from wafl_sui.cli.move import move_group

    pkg = _broken_copy(tmp_path, "sources/rules.move", "let k = updates.length();", "let k = updates.lenght();")
    r = CliRunner().invoke(move_group, ["build", "--package", str(pkg)])
    assert r.exit_code == 1
    assert "sources/rules.move:" in r.output and "error[" in r.output
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit)


def test_unit_tests_compile_in_test_mode():
    b = build_package(test=True)
    assert b.test_mode


def test_test_mode_catches_errors_in_tests(tmp_path):
    pkg = _broken_copy(tmp_path, "tests/task_tests.move", "assert!(t.round() == 0);", "assert!(t.round_x() == 0);")
    with pytest.raises(MoveBuildError) as e:
        build_package(pkg, test=True)
    assert "tests/task_tests.move:" in str(e.value) and "round_x" in str(e.value)


def test_stub_cache_respects_wafl_home(tmp_path, monkeypatch):
    from wafl_sui.contract.stubs import ensure_stubs

    monkeypatch.setenv("WAFL_HOME", str(tmp_path))
    p = ensure_stubs(test_mode=False)
    assert p.is_relative_to(tmp_path / "move-stubs")
    assert (p / "sui-framework" / "sources" / "groth16.move").exists()
    assert ensure_stubs(test_mode=False) == p  # cached
    test_p = ensure_stubs(test_mode=True)
    assert (test_p / "sui-framework" / "sources" / "test_scenario.move").exists()
    assert not (p / "sui-framework" / "sources" / "test_scenario.move").exists()


def test_size_limits_of_the_largest_model():
    """MAX_WEIGHTS offset-encoded u32 values fit one pure argument; the transaction and the
    Task object stay far below their limits (docs/MOVE.md)."""
    arg = bcs_encode("vector<u32>", [0] * MAX_WEIGHTS)
    assert len(arg) <= MAX_PURE_ARGUMENT < len(bcs_encode("vector<u32>", [0] * (MAX_WEIGHTS + 1)))
    proof, data = 1 + 128, 32
    assert len(arg) + proof + data + 2048 < MAX_TX_BYTES  # + object refs, gas, signature
    vk = 232 + 5 * 32
    prepared = 5 * 32 + 384 + 64 + 64
    task_object = 4 * MAX_WEIGHTS + prepared + 32 * 12 + 4096  # model, key, fields, submitters
    assert task_object < MAX_OBJECT_BYTES and vk < MAX_PURE_ARGUMENT
    digits = protocol.StepSpec(features=64, classes=10)
    assert digits.num_weights == 650 <= MAX_WEIGHTS
