"""Offline build of the Move package: publish payload, the published API (visibility, error
names, struct layouts against the Python twins), the framework functions it calls, no compiler
warnings, CLI, test-mode compile, size limits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import dataclasses

from wafl_sui import protocol
from wafl_sui.contract.build import DEFAULT_PACKAGE, MoveBuildError, build_package
from wafl_sui.contract.bytecode import called_functions, error_constant_names
from wafl_sui.devtools.vm import bcs_encode
from wafl_sui.protocol import events as py_events

pytestmark = pytest.mark.oracle("node", "node_modules")

MODULES = ["budget", "codec", "commitment", "events", "manifest", "participants", "privacy", "private_state",
           "private_task", "round", "rules", "spec", "task"]
STD, SUI = "0x" + "0" * 63 + "1", "0x" + "0" * 63 + "2"
# Sui protocol limits (sui-protocol-config): max_pure_argument_size, max_tx_size_bytes,
# max_move_object_size; groth16 public inputs.
MAX_PURE_ARGUMENT = 16 * 1024
MAX_TX_BYTES = 128 * 1024
MAX_OBJECT_BYTES = 250 * 1024
MAX_WEIGHTS = 4095  # docs/MOVE.md


@pytest.fixture(scope="session")
def published():
    """The package as published (no harness modules)."""
    return build_package()


@pytest.fixture(scope="session")
def interface(published, tmp_path_factory):
    """sui-sandbox's interface of the published modules: {module: {structs, functions, ...}}."""
    import sui_sandbox

    d = tmp_path_factory.mktemp("iface") / "bytecode_modules"
    d.mkdir()
    for name, code in zip(published.module_names, published.module_bytes()):
        (d / f"{name}.mv").write_bytes(code)
    return sui_sandbox.extract_interface(bytecode_dir=str(d.parent))["modules"]


def test_build_payload(published):
    b = published
    assert sorted(b.module_names) == MODULES  # the parity_* wrappers are never published
    assert b.dependencies == [STD, SUI]
    assert len(b.digest) == 32 and all(0 <= x < 256 for x in b.digest)
    assert b.to_json().keys() == {"modules", "dependencies", "digest"}


def test_build_has_no_warnings(published):
    """`wafl move build` prints the compiler's warnings; the package has none (deprecated
    framework usage would be one: see test_framework_calls)."""
    assert not published.warnings.strip(), published.warnings


def test_warnings_and_deprecations_are_reported(tmp_path):
    """The offline build reports what the check above relies on: unused code and deprecated
    usage (W04037) of a `#[deprecated]` function."""
    from wafl_sui.devtools.harness import build_variant

    old = 'module wafl::old_api;\n#[deprecated(note = b"use g")]\npublic fun f(): u64 { 1 }\n'
    user = "module wafl::old_user;\npublic fun h(): u64 { let unused = 2; wafl::old_api::f() }\n"
    w = build_variant({"old_api.move": old, "old_user.move": user}, parity=False).warnings
    assert "deprecated usage" in w and "unused variable" in w


def test_build_is_deterministic(published):
    again = build_package()
    assert again.modules == published.modules and again.digest == published.digest


def test_error_constants_are_protocol_names(published):
    found = set()
    for code in published.module_bytes():
        found |= {v for v in error_constant_names(code).values() if v.startswith("E") and " " not in v}
    assert found == set(protocol.ERRORS)


# The published API: only what users call is `public` (the rest is `public(package)`).
PUBLIC_API = {
    "task": {
        "create_task", "submit_update", "aggregate", "discard_round", "add_participant", "remove_participant",
        "set_open", "restart_round", "migrate", "register", "leave",
        # getters (of Task fields, and derived views)
        "task_id", "version", "spec", "lr_q", "round_rules", "aggregation", "open", "is_allowed", "prepared_vk",
        "round", "round_start_ms", "deadline_ms", "model", "model_commitment", "submitters", "num_updates",
        "has_submitted", "update_of", "sums", "partial", "aggregation_done", "aggregation_total", "finished",
        "created_ms", "current_context_hash", "deposit_mist", "deposit_of", "registered", "is_registered",
        "round_open", "sampled", "is_sampled", "randomness",
        # the task's manifest (its data contract)
        "set_manifest", "has_manifest", "manifest",
    },
    "spec": {"new", "num_weights", "features", "classes", "batch_size", "local_steps", "frac_bits", "weight_bits",
             "feature_frac_bits", "feature_bits", "lr_frac_bits", "lr_bits", "new_mlp", "hidden", "act_frac_bits",
             "act_bits"},
    "round": {"new_rules", "quorum", "round_duration_ms", "max_rounds", "grace_ms", "participants_per_round"},
    "rules": {"new_aggregation", "rule", "trim_bps"},
    "budget": set(), "codec": set(), "commitment": set(), "events": set(), "manifest": set(), "participants": set(),
    # private tasks: the entry points and getters; the DpParams / PrivateRegistration getters
    "private_task": {"set_privacy", "register_private", "submit_private_update", "is_private", "privacy_params",
                     "private_registration", "contributions"},
    "privacy": {"records", "clip_frac_bits", "clip_q", "clip_factor_bits", "noise_sigma0", "noise_tail", "noise_k",
                "sample_threshold", "target_epsilon_milli", "target_delta_pico", "max_contributions"},
    "private_state": {"data_commitment", "seed_commitment", "first_round"},
}


def test_public_api(interface):
    got = {m: {f for f, d in mod["functions"].items() if d["visibility"] == "public"} for m, mod in interface.items()}
    assert got == PUBLIC_API
    entries = [f"{m}::{f}" for m, mod in interface.items() for f, d in mod["functions"].items() if d.get("is_entry")]
    # PTB-composable public functions; the one `entry` is open_round, which takes `Random`: Sui
    # requires such functions to be private entries (no PTB command may use its results)
    assert entries == ["task::open_round"]
    assert interface["task"]["functions"]["open_round"]["visibility"] == "private"


def test_entry_signatures(interface):
    def params(module, fn):
        out = []
        for p in interface[module]["functions"][fn]["params"]:
            ref = p["kind"] == "ref"
            t = p["to"] if ref else p
            name = t.get("name") or t["kind"] + (f"<{t['type']['kind']}>" if t["kind"] == "vector" else "")
            out.append(("&mut " if ref and p["mutable"] else "&" if ref else "") + name)
        return out

    assert params("task", "create_task") == [
        "StepSpec", "RoundRules", "AggregationRule", "u64", "bool", "u64", "vector<u32>", "vector<u8>", "&Clock",
        "&mut TxContext"]
    assert params("task", "register") == ["&mut Task", "Coin", "&TxContext"]
    assert params("task", "leave") == ["&mut Task", "&mut TxContext"]
    assert params("task", "open_round") == ["&mut Task", "&Random", "&Clock", "&mut TxContext"]
    assert params("task", "submit_update") == ["&mut Task", "vector<u32>", "u256", "vector<u8>", "&Clock", "&TxContext"]
    assert params("task", "aggregate") == params("task", "discard_round") == ["&mut Task", "&Clock", "&TxContext"]
    assert params("task", "migrate") == ["&TaskAdminCap", "&mut Task"]
    assert params("task", "restart_round") == ["&TaskAdminCap", "&mut Task", "&Clock"]
    assert params("spec", "new") == ["u64"] * 10
    assert params("spec", "new_mlp") == ["u64"] * 10 + ["vector<u64>", "u64", "u64"]
    assert params("round", "new_rules") == ["u64"] * 5
    assert params("rules", "new_aggregation") == ["u8", "u64"]
    assert params("private_task", "set_privacy") == ["&TaskAdminCap", "&mut Task"] + ["u64"] * 11 + ["&mut TxContext"]
    assert params("private_task", "register_private") == ["&mut Task", "Coin", "u256", "u256", "&TxContext"]
    assert params("private_task", "submit_private_update") == [
        "&mut Task", "vector<u32>", "vector<u8>", "&Clock", "&TxContext"]


def _fields(interface, module, struct):
    return [f["name"] for f in interface[module]["structs"][struct]["fields"]]


def test_structs_match_the_python_twins(interface):
    """Field names and order of the Move structs = the Python dataclasses (BCS and events decode
    by this order)."""
    names = lambda cls: [f.name for f in dataclasses.fields(cls)]  # noqa: E731
    # a private task's circuit constants ride on the Python spec; on chain they are `privacy::DpParams`
    assert _fields(interface, "spec", "StepSpec") == [n for n in names(protocol.StepSpec) if n != "privacy"]
    assert _fields(interface, "round", "RoundRules") == names(protocol.RoundRules)
    assert _fields(interface, "rules", "AggregationRule") == names(protocol.AggregationRule)
    task_fields = _fields(interface, "task", "Task")
    py = names(protocol.TaskState)
    assert task_fields[0] == "id" and py[:2] == ["task_id", "admin_cap_id"]
    # the admin cap id is only in the state (its event); the manifest is the dynamic field
    # `ManifestKey`, the privacy fields the dynamic field `private_state::PrivacyKey`
    dynamic = ["manifest", "privacy", "private_registrations", "contributions"]
    assert py[-4:] == dynamic and task_fields[1:] == py[2:-4]
    assert "ManifestKey" in interface["task"]["structs"]
    assert _fields(interface, "privacy", "DpParams") == names(protocol.privacy.DpParams)
    assert _fields(interface, "private_state", "PrivateRegistration") == names(protocol.task.PrivateRegistration)
    assert _fields(interface, "private_state", "Privacy") == ["params", "registrations", "contributions"]
    assert _fields(interface, "task", "TaskAdminCap") == ["id", "task_id"]


def test_events_match_the_python_twins(interface):
    """Every Move event struct has a dataclass of the same name and fields in protocol.events."""
    move = {name: [f["name"] for f in s["fields"]] for name, s in interface["events"]["structs"].items()}
    py = {name: [f.name for f in dataclasses.fields(cls)] for name, cls in py_events.EVENT_TYPES.items()}
    assert move == py


# The framework functions the package calls (checked against the framework it builds with: the
# bytecode inside sui-sandbox 0.22.0, from which the build stubs are generated).
FRAMEWORK_CALLS = {
    (STD, "bcs", "to_bytes"), (STD, "vector", "append"), (STD, "vector", "contains"), (STD, "vector", "is_empty"),
    (SUI, "clock", "timestamp_ms"), (SUI, "event", "emit"), (SUI, "object", "id"), (SUI, "object", "id_address"),
    (SUI, "object", "new"), (SUI, "transfer", "share_object"), (SUI, "tx_context", "sender"),
    (SUI, "table", "new"), (SUI, "table", "add"), (SUI, "table", "borrow"), (SUI, "table", "contains"),
    (SUI, "table", "remove"), (SUI, "poseidon", "poseidon_bn254"), (SUI, "groth16", "bn254"),
    (SUI, "groth16", "prepare_verifying_key"), (SUI, "groth16", "public_proof_inputs_from_bytes"),
    (SUI, "groth16", "proof_points_from_bytes"), (SUI, "groth16", "verify_groth16_proof"),
    # the task's manifest: a dynamic field of the Task, hashed with SHA3-256
    (SUI, "dynamic_field", "add"), (SUI, "dynamic_field", "borrow"), (SUI, "dynamic_field", "exists_"),
    (STD, "hash", "sha3_256"),
    # private tasks: the dynamic field `private_state::PrivacyKey` and its tables
    (SUI, "dynamic_field", "borrow_mut"), (SUI, "table", "borrow_mut"), (SUI, "table", "length"), (STD, "option", "some"),
    (STD, "option", "none"), (STD, "option", "is_some"), (STD, "option", "borrow"), (STD, "option", "destroy_some"),
    # participants: deposits, the round's randomness and its sample
    (SUI, "balance", "value"), (SUI, "coin", "from_balance"), (SUI, "coin", "into_balance"), (SUI, "coin", "value"),
    (SUI, "random", "new_generator"), (SUI, "random", "generate_bytes"),
    (STD, "vector", "index_of"), (STD, "vector", "remove"),
}


def test_framework_calls(published):
    """The package calls exactly FRAMEWORK_CALLS, each a public function of the framework it is
    built against. `groth16::public_proof_inputs_from_bytes` was `#[deprecated]` in a 2024
    framework revision (for `public_proof_inputs_from_scalars`) and restored with input checks
    since; the framework here is the restored one: it has the checks' constants (EInvalidScalar
    = 3, MaxPublicInputs = 8) and no `public_proof_inputs_from_scalars`. (Bytecode-derived stubs
    cannot carry `#[deprecated]`, so this is checked on the bytecode.)"""
    from wafl_sui.contract import bytecode
    from wafl_sui.contract.stubs import _sandbox_library, framework_interfaces

    own = "0x" + "0" * 64
    calls = set()
    for code in published.module_bytes():
        calls |= {c for c in called_functions(code) if c[0] != own}
    assert calls == FRAMEWORK_CALLS
    ifaces = framework_interfaces()
    for addr, module, fn in sorted(calls):
        assert ifaces[addr][module]["functions"][fn]["visibility"] == "public", (module, fn)
    groth16 = ifaces[SUI]["groth16"]["functions"]
    assert "public_proof_inputs_from_scalars" not in groth16
    blob = _sandbox_library().read_bytes()
    codes = [c for c in bytecode.modules_in(blob) if _is_module(c, "groth16")]
    assert codes, "no groth16 module in the framework bytecode"
    values = {int.from_bytes(v, "little") for sig, v in bytecode.constants(codes[0]) if sig == b"\x03"}
    assert {3, 8} <= values


def _is_module(code: bytes, name: str) -> bool:
    from wafl_sui.contract import bytecode

    try:
        return bytecode.module_name(code) == name
    except Exception:
        return False


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
    # model (4 B/weight) + FedAvg sums (8 B/weight; a robust rule's partial aggregation is 4 B)
    # + prepared key + fields + 256 submitters
    task_object = 4 * MAX_WEIGHTS + 8 * MAX_WEIGHTS + prepared + 32 * 16 + 32 * 256
    assert task_object < MAX_OBJECT_BYTES and vk < MAX_PURE_ARGUMENT
    digits = protocol.StepSpec(features=64, classes=10)
    assert digits.num_weights == 650 <= MAX_WEIGHTS
