"""An MLP task's Sui transactions, built offline and judged by Mysten's TS SDK (@mysten/sui via
tests/ts_sdk.py) and type-checked against the compiled package: `create_task` calls
`spec::new_mlp(10 x u64, vector<u64> hidden, act_frac_bits, act_bits)` with the seeded initial
model, `submit_update` carries a real MLP proof; and `wafl task create --model mlp
--serialize-unsigned-transaction` prints the same kind of transaction."""

from __future__ import annotations

import base64
import json
import os
import shutil

import base58
import pytest
from click.testing import CliRunner

from ts_sdk import check_requests, needs_ts
from wafl_sui import models, protocol
from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.sui import task_calls as T
from wafl_sui.protocol import AggregationRule, RoundRules, StepSpec

ME = Identity(bytes(range(32)))
PKG = "0x" + "ab" * 32
TASK = "0x" + "7a" * 32
DIG = base58.b58encode(bytes(range(1, 33))).decode()
GAS = T.GasParams.parse([f"{'0x' + 'c0' * 32}:12:{DIG}"], 750, 12_345_678)
SPEC_FIELDS = [f"{PKG}::spec::new_mlp", f"{PKG}::round::new_rules", f"{PKG}::rules::new_aggregation",
               f"{PKG}::task::create_task"]


@pytest.fixture(scope="module")
def mlp_update():
    """A seeded 4-3-3 MLP task's initial model and one honest proven update of it."""
    from wafl_sui.devtools.updates import UpdateMaker

    base = StepSpec(features=4, classes=3, batch_size=2)
    m = models.resolve("mlp", (3,), base, seed=5)
    maker = UpdateMaker(m.spec)
    try:
        initial = [protocol.encode_signed(w, m.spec.weight_bits) for w in m.weights]

        class View:  # what UpdateMaker.make reads of a task
            task_id, round, lr_q, model = TASK, 0, maker.lr_q, initial

        return m.spec, initial, maker.vk, maker.make(View, ME.address, seed=1), maker.lr_q
    finally:
        maker.close()


def _decode(txs: dict, pure: dict) -> dict:
    reqs, names = [], []
    for name, tx in txs.items():
        raw = tx.to_bcs()
        reqs.append({"tx": base64.b64encode(raw).decode(), "signature": ME.sign_transaction(raw), "pure": pure[name]})
        names.append(name)
    return dict(zip(names, check_requests(reqs), strict=True))


def _pure_inputs(got: dict, move_call: dict) -> list[str]:
    return [got["inputs"][a["index"]]["bytes"] for a in move_call["arguments"] if a["kind"] == "Input"
            and got["inputs"][a["index"]]["kind"] == "Pure"]


@needs_ts
def test_mlp_create_task_and_submit_decoded_by_the_ts_sdk(mlp_update):
    spec, initial, vk, u, lr_q = mlp_update
    assert spec.hidden == (3,) and any(w != initial[0] for w in initial)
    rules, agg = RoundRules(2, 60_000, 3, 60_000), AggregationRule(0)
    txs = {
        "create": T.build_create_task_tx(PKG, ME.address, GAS, spec, rules, agg, lr_q, True, initial, vk),
        "submit": T.build_submit_tx(PKG, ME.address, GAS, T.task_input(TASK, 7), u.new_weights, u.data_commitment,
                                    u.proof),
    }
    spec_vals = [{"type": "u64", "value": str(getattr(spec, f))} for f in T._SPEC_FIELDS]
    arch_vals = [{"type": "vector<u64>", "value": [str(h) for h in spec.hidden]},
                 {"type": "u64", "value": str(spec.act_frac_bits)}, {"type": "u64", "value": str(spec.act_bits)}]
    pure = {
        "create": spec_vals + arch_vals + [{"type": "vector<u32>", "value": initial}, {"type": "vector<u8>", "value": list(vk)}],
        "submit": [{"type": "vector<u32>", "value": u.new_weights}, {"type": "u256", "value": str(u.data_commitment)},
                   {"type": "vector<u8>", "value": list(u.proof)}],
    }  # fmt: skip
    out = _decode(txs, pure)
    for name, tx in txs.items():
        got = out[name]["transaction"]
        assert got["roundTrip"] is True and got["digest"] == got["sdkDigest"] == tx.digest()
        assert out[name]["signature"]["valid"] is True and got["sender"] == ME.address

    create = out["create"]["transaction"]
    moves = [c for c in create["commands"] if c["kind"] == "MoveCall"]
    assert [c["target"] for c in moves] == SPEC_FIELDS
    sdk = out["create"]["pure"]  # the SDK's own encoding of each value we meant
    assert _pure_inputs(create, moves[0]) == sdk[: len(spec_vals) + 3]  # spec::new_mlp: 10 u64, hidden, KH, BH
    task_pure = _pure_inputs(create, moves[3])
    assert sdk[-2] in task_pure and sdk[-1] in task_pure  # the seeded initial model and the key
    assert create["commands"][-1]["kind"] == "TransferObjects"

    submit = out["submit"]["transaction"]
    (call,) = submit["commands"]
    assert call["target"] == f"{PKG}::task::submit_update"
    assert _pure_inputs(submit, call) == out["submit"]["pure"]
    assert len(u.new_weights) == spec.num_weights == 3 * (4 + 1) + 3 * (3 + 1)  # 4-3-3 with biases


def test_mlp_transactions_type_check_against_the_compiled_package(mlp_update):
    from wafl_sui.contract.build import MoveBuildError, build_package
    from wafl_sui.contract.signatures import PackageSignatures, check_transaction

    try:
        sigs = PackageSignatures.from_build(build_package())
    except MoveBuildError as exc:  # pragma: no cover - toolchain missing
        pytest.skip(f"the Move package does not build here: {exc}")
    spec, initial, vk, u, lr_q = mlp_update
    create = T.create_task_kind(PKG, ME.address, spec, RoundRules(2, 60_000, 3, 60_000), AggregationRule(0), lr_q,
                                True, initial, vk)
    submit = T.submit_update_kind(PKG, T.task_input(TASK, 7), u.new_weights, u.data_commitment, u.proof)
    types = T.object_types(PKG, TASK)
    assert [f.name for f in check_transaction(create, sigs, PKG, types)] == ["new_mlp", "new_rules",
                                                                          "new_aggregation", "create_task"]
    assert [f.name for f in check_transaction(submit, sigs, PKG, types)] == ["submit_update"]


@needs_ts
@pytest.mark.slow
def test_task_create_model_mlp_serializes_an_unsigned_new_mlp_transaction(tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(os.environ["WAFL_HOME"], home, dirs_exist_ok=True, ignore=shutil.ignore_patterns("keys", "*.sqlite*"))
    monkeypatch.setenv("WAFL_HOME", str(home))
    run = lambda *a: CliRunner().invoke(main_cli(), list(a), catch_exceptions=False)  # noqa: E731
    assert run("keys", "new").exit_code == 0
    from wafl_sui.ledger.sui import deployments

    sender = run("keys", "show").output.strip()
    deployments.record_deployment(deployments.Deployment("localnet", PKG, "0x" + "01" * 32, sender, "d"))
    gas = "0x" + "ab" * 32 + ":7:" + "11111111111111111111111111111111"
    r = run("task", "create", "--dataset", "iris", "--model", "mlp", "--hidden", "4", "--seed", "2", "--set",
            "batch_size=8", "--quorum", "2", "--network", "localnet", "--serialize-unsigned-transaction",
            "--gas-object", gas, "--gas-price", "1000", "--gas-budget", "50000000", "--quiet")
    assert r.exit_code == 0, r.output
    (out,) = check_requests([{"tx": r.stdout.strip(), "pure": [
        {"type": "vector<u64>", "value": ["4"]},
        {"type": "vector<u32>", "value": [protocol.encode_signed(w, 14) for w in models.resolve(
            "mlp", (4,), StepSpec(features=4, classes=3, batch_size=8), seed=2).weights]}]}])
    got = out["transaction"]
    moves = [c for c in got["commands"] if c["kind"] == "MoveCall"]
    assert [f"{c['module']}::{c['function']}" for c in moves] == ["spec::new_mlp", "round::new_rules",
                                                                  "rules::new_aggregation", "task::create_task"]
    hidden_b64, model_b64 = out["pure"]
    assert hidden_b64 in _pure_inputs(got, moves[0]) and model_b64 in _pure_inputs(got, moves[3])


def main_cli():
    from wafl_sui.cli import main

    return main
