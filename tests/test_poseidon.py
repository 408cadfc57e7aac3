"""Our Poseidon against the results of Sui's `poseidon_bn254` native."""

import json
from pathlib import Path

import pytest

from wafl_sui.protocol.poseidon import FIELD_MODULUS, PoseidonInputError, poseidon, poseidon_calls, poseidon_tree16

VEC = json.loads((Path(__file__).parent / "data" / "sui_poseidon_bn254.json").read_text())


@pytest.mark.parametrize("case", VEC["cases"], ids=lambda c: f"{len(c['inputs'])}-inputs")
def test_matches_sui(case):
    assert poseidon([int(x) for x in case["inputs"]]) == int(case["expected"])


@pytest.mark.parametrize("case", VEC["tree16_cases"], ids=lambda c: f"tree-{len(c['inputs'])}")
def test_tree16_matches_sui(case):
    assert poseidon_tree16([int(x) for x in case["inputs"]]) == int(case["expected"])


@pytest.mark.parametrize("case", VEC["rejected"], ids=lambda c: c["abort"].split()[0])
def test_rejects_what_sui_rejects(case):
    with pytest.raises(PoseidonInputError):
        poseidon([int(x) for x in case["inputs"]])


def test_tree16_of_at_most_16_is_one_call():
    xs = list(range(1, 17))
    assert poseidon_tree16(xs) == poseidon(xs)
    assert poseidon_calls(16) == 1 and poseidon_calls(17) == 3 and poseidon_calls(65) == 6


def test_field_modulus_matches_vectors():
    assert FIELD_MODULUS == int(VEC["field_modulus"])
