"""The real-proof Move fixture (move/tests/proof_fixture_tests.move) is valid and in sync.

`sui move test` runs it with Sui's natives where the CLI is installed; here we check what can be
checked offline: the proof verifies under our verifier of Sui's byte format for the public inputs
that wafl_sui.protocol computes from the fixture's task id, sender, round, lr_q, model and data, and
the .move file is exactly what the generator writes for the JSON.
"""

import importlib.util
import json
from pathlib import Path

from wafl_sui import protocol as P
from wafl_sui.zk import sui_bytes as sui_groth16

ROOT = Path(__file__).resolve().parents[1]
FIX = json.loads((ROOT / "tests" / "data" / "move_proof_fixture.json").read_text())


def _generator():
    spec = importlib.util.spec_from_file_location("make_proof_fixture", ROOT / "tools" / "move" / "make_proof_fixture.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_public_inputs_are_protocol_values_and_the_proof_verifies():
    spec = P.StepSpec.from_dict(FIX["spec"])
    initial = [P.decode_signed(u, spec.weight_bits) for u in FIX["initial_encoded"]]
    new = P.local_training(initial, FIX["features"], FIX["labels"], FIX["lr_q"], spec)
    assert [P.encode_signed(w, spec.weight_bits) for w in new] == FIX["new_encoded"]
    expect = [
        P.model_commitment_encoded(FIX["initial_encoded"], spec),
        P.model_commitment_encoded(FIX["new_encoded"], spec),
        P.data_commitment(FIX["features"], FIX["labels"], int(FIX["salt"]), spec),
        P.context_hash(FIX["task_id"], FIX["sender"], FIX["round"], FIX["lr_q"]),
    ]
    assert [int(v) for v in FIX["public_signals"]] == expect
    vk, proof = bytes.fromhex(FIX["vk"]), bytes.fromhex(FIX["proof"])
    assert sui_groth16.verify_raw(vk, P.public_inputs_bytes(expect), proof)
    other_sender = expect[:3] + [P.context_hash(FIX["task_id"], "0xb0b", FIX["round"], FIX["lr_q"])]
    assert not sui_groth16.verify_raw(vk, P.public_inputs_bytes(other_sender), proof)


def test_task_id_is_the_test_scenario_derivation():
    gen = _generator()
    assert FIX["task_id"] == gen.test_scenario_object_id(1, 0)


def test_move_file_is_in_sync_with_the_json():
    gen = _generator()
    assert (ROOT / "move" / "tests" / "proof_fixture_tests.move").read_text() == gen.move_source(FIX)
