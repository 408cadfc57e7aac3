"""The wiring of `wafl::commitment` (tree16 over codec's packing, the context hash) in the Move VM.

`sui::poseidon` cannot be loaded by the sandbox VM, so this test compiles a harness copy of the
package (wafl_sui/devtools/harness.py: `commitment` is package-internal and reached through
`wafl::parity_commitment`) in which `poseidon_bn254` is replaced by a simple stand-in hash (same input rules: 1..16 field
elements), and runs the same stand-in inside `wafl_sui.protocol.poseidon`'s tree construction. Equal
results show the Move tree16, packing and context pre-image feed the hash exactly as wafl_sui.protocol
does; that the hash itself is Poseidon is checked against Sui's vectors in test_poseidon.py."""

from __future__ import annotations


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wafl_sui.protocol import poseidon as pos
from wafl_sui import protocol
from wafl_sui.protocol import StepSpec

pytestmark = pytest.mark.oracle("node", "node_modules")
R = pos.FIELD_MODULUS

STAND_IN = """/// Test stand-in for sui::poseidon::poseidon_bn254 (NOT a hash): acc = acc*3 + x mod r.
module wafl::stand_in_hash;

public fun poseidon_bn254(xs: &vector<u256>): u256 {
    let n = xs.length();
    assert!(n >= 1 && n <= 16, 1);
    let r = 21888242871839275222246405745257275088548364400416034343698204186575808495617u256;
    let mut acc: u256 = 0;
    let mut i = 0;
    while (i < n) {
        assert!(xs[i] < r, 2);
        acc = (acc * 3 + xs[i]) % r;
        i = i + 1;
    };
    (acc * 3 + (n as u256)) % r
}
"""


def stand_in(xs):
    assert 1 <= len(xs) <= 16 and all(0 <= x < R for x in xs)
    acc = 0
    for x in xs:
        acc = (acc * 3 + x) % R
    return (acc * 3 + len(xs)) % R


HASH_STAND_IN = {"commitment.move": ("use sui::poseidon::poseidon_bn254;", "use wafl::stand_in_hash::poseidon_bn254;")}


@pytest.fixture(scope="module")
def vm():
    from wafl_sui.devtools.harness import build_variant
    from wafl_sui.devtools.vm import MoveVM

    return MoveVM(build_variant({"stand_in_hash.move": STAND_IN}, HASH_STAND_IN))


@pytest.fixture
def python_stand_in(monkeypatch):
    monkeypatch.setattr(pos, "poseidon", stand_in)


@settings(max_examples=25, deadline=None)
@given(n=st.one_of(st.integers(1, 600), st.sampled_from([1, 16, 17, 256, 257, 272, 4096 + 1])))
def test_tree16_shape(vm, n):
    leaves = [(i * 0x9E3779B97F4A7C15 + 7) % R for i in range(n)]
    got = vm.inner1("commitment", "tree16", [("vector<u256>", leaves)])
    level = leaves  # wafl_sui.protocol.poseidon.poseidon_tree16's construction with the stand-in
    while len(level) > 16:
        level = [stand_in(level[i : i + 16]) for i in range(0, len(level), 16)]
    assert got == stand_in(level)


@pytest.mark.parametrize("kw", [dict(features=64, classes=10), dict(features=2, classes=2, weight_bits=8, frac_bits=4),
                                dict(features=408, classes=10, weight_bits=32, frac_bits=16)])
def test_model_commitment_wiring(vm, python_stand_in, kw):
    spec = StepSpec(**kw)
    encoded = [(i * 2654435761) % (1 << spec.weight_bits) for i in range(spec.num_weights)]
    got = vm.inner1("commitment", "model_commitment", [("vector<u32>", encoded), ("u8", spec.weight_bits)])
    assert got == protocol.model_commitment_encoded(encoded, spec)


def test_context_hash_wiring(vm, python_stand_in):
    task, sender = "0x" + "5e" * 32, "0x" + "0" * 60 + "beef"
    got = vm.inner1("commitment", "context_hash", [("address", task), ("address", sender), ("u64", 9), ("u64", 655)])
    assert got == protocol.context_hash(task, sender, 9, 655)
