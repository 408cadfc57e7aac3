"""Print a *development* BN254 verifying key for 4 public inputs and a well-formed proof, as
hex for Move unit tests (move/tests/). All points are multiples of the generators by fixed
small scalars, so they are valid curve points that `groth16::prepare_verifying_key` accepts;
the proof does not verify for any input the contract builds (it tests EInvalidProof).

Never use this key for a real task: its trapdoor is the scalars below.

usage: .venv/bin/python tools/move/make_dev_vk.py
"""

import py_ecc.optimized_bn128 as bn

from wafl_sui.zk.sui_bytes import g1_to_bytes, g2_to_bytes


def main() -> None:
    g1, g2 = bn.G1, bn.G2
    alpha, beta, gamma, delta = 11, 13, 17, 19
    ic = [23, 29, 31, 37, 41]  # 4 public inputs + 1
    vk = (
        g1_to_bytes(bn.multiply(g1, alpha))
        + g2_to_bytes(bn.multiply(g2, beta))
        + g2_to_bytes(bn.multiply(g2, gamma))
        + g2_to_bytes(bn.multiply(g2, delta))
        + len(ic).to_bytes(8, "little")
        + b"".join(g1_to_bytes(bn.multiply(g1, s)) for s in ic)
    )
    proof = g1_to_bytes(bn.multiply(g1, 3)) + g2_to_bytes(bn.multiply(g2, 5)) + g1_to_bytes(bn.multiply(g1, 7))
    print(f"vk ({len(vk)} bytes):\n{vk.hex()}")
    print(f"proof ({len(proof)} bytes):\n{proof.hex()}")


if __name__ == "__main__":
    main()
