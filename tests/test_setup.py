"""Groth16 setups of the step circuit: the development setup is labelled insecure, the ceremony
path verifies its zkey against the r1cs and the powers of tau."""

from __future__ import annotations

import json

import pytest

from wafl_sui.zk import circuit
from wafl_sui.zk import setup as groth16_setup
from wafl_sui.protocol import StepSpec

SPEC = StepSpec(features=3, classes=2, batch_size=2)


@pytest.fixture(scope="module")
def art():
    return circuit.build(SPEC)


def test_dev_setup_is_labelled_insecure_and_cached(art):
    keys = groth16_setup.dev_setup(art, force=True)
    assert keys.kind == "dev-insecure"
    meta = json.loads((keys.dir / "setup.json").read_text())
    assert meta["setup"] == "dev-insecure" and "INSECURE" in meta["warning"]
    assert meta["circuit_hash"] == art.hash
    vk = json.loads(keys.vk_json.read_text())
    assert vk["wafl_setup"] == "dev-insecure" and vk["nPublic"] == 4
    assert keys.pk is not None and keys.pk.is_file() and keys.zkey is None
    again = groth16_setup.dev_setup(art)  # cached: same files
    assert again.vk_json.read_text() == keys.vk_json.read_text()
    assert groth16_setup.load_keys(art).kind in ("dev-insecure", "ceremony")


def test_missing_keys_and_files_are_clear_errors(tmp_path):
    other = circuit.build(StepSpec(features=2, classes=2, batch_size=1))
    with pytest.raises(groth16_setup.SetupError, match="dev_setup"):
        groth16_setup.load_keys(other, "ceremony")
    with pytest.raises(groth16_setup.SetupError, match="unknown setup kind"):
        groth16_setup.load_keys(other, "trusted")
    with pytest.raises(groth16_setup.SetupError, match="powers-of-tau file"):
        groth16_setup.ceremony_setup(other, tmp_path / "none.ptau")




@pytest.mark.slow
def test_ceremony_setup_and_zkey_verification(art, test_ptau):
    msgs = []
    keys = groth16_setup.ceremony_setup(art, test_ptau(), contributions=2, beacon="ab" * 32, force=True,
                                        progress=msgs.append)
    assert any("contribution 2/2" in m for m in msgs) and any("beacon" in m for m in msgs)
    meta = keys.meta
    assert meta["setup"] == "ceremony" and meta["verified"] and len(meta["contributions"]) == 2
    assert groth16_setup.verify_zkey(art, test_ptau(), keys.zkey)
    before = keys.zkey.read_bytes()
    with pytest.raises(groth16_setup.SetupError, match="already exist"):
        groth16_setup.ceremony_setup(art, test_ptau(), contributions=1)
    assert keys.zkey.read_bytes() == before  # existing keys are never replaced without force
    assert groth16_setup.load_keys(art).kind == "ceremony"  # preferred over dev keys
    vk = keys.verification_key()
    assert vk["nPublic"] == 4 and vk["curve"] == "bn128"
    # the zkey of another circuit does not verify against this r1cs
    other = circuit.build(StepSpec(features=2, classes=2, batch_size=1))
    with pytest.raises(groth16_setup.SetupError):
        groth16_setup.verify_zkey(other, test_ptau(), keys.zkey)


@pytest.mark.slow
def test_ceremony_rejects_too_small_ptau(tmp_path, test_ptau):
    big = circuit.build(StepSpec(features=8, classes=3, batch_size=8))
    assert big.constraints > 1 << 10
    small_ptau = test_ptau(10)
    with pytest.raises(groth16_setup.SetupError, match="too small|larger power|failed"):
        groth16_setup.ceremony_setup(big, small_ptau, contributions=1)
