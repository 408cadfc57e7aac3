"""Private tasks (twin of `move/sources/privacy.move`): the differential-privacy parameters a
task fixes, the commitments a client registers, the public input that binds a proof to them and
to the round's randomness, and the rules the contract enforces. docs/PRIVACY.md defines it all;
the step itself is `protocol.dp_step`, the sampler's table `protocol.dp_noise`.

check_params            EInvalidPrivacy (a parameter the circuit or the accountant cannot serve)
params_hash             Poseidon of the circuit's constants (DP_PARAMS_DOMAIN first)
seed_commitment         Poseidon([DP_SEED_DOMAIN, seed])
private_data_commitment tree16([salt, n] ++ packed features ++ packed labels) over N rows
binding                 the `data` public input of a private task
first_round             the first round a registration may use
check_private_update    ENotRegistered, ERegisteredAfterRandomness, EPrivacyBudgetSpent
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

from wafl_sui.protocol.codec import encode_signed, pack
from wafl_sui.protocol.errors import ProtocolError
from wafl_sui.protocol import poseidon as hashing
from wafl_sui.protocol.poseidon import FIELD_MODULUS

DP_PARAMS_DOMAIN = int.from_bytes(b"wafl.dp.params.v1", "big")
DP_SEED_DOMAIN = int.from_bytes(b"wafl.dp.seed.v1", "big")
DP_BIND_DOMAIN = int.from_bytes(b"wafl.dp.bind.v1", "big")
DP_PRF_DOMAIN = int.from_bytes(b"wafl.dp.prf.v1", "big")

# Bounds the circuit generator and the contract accept (loops and table sizes stay bounded).
MAX_RECORDS = 4096
MAX_NOISE_TAIL = 1024
MAX_CLIP_FACTOR_BITS = 16
SAMPLE_BITS = 64  # a Poisson key and a noise uniform are 64-bit limbs of the PRF stream
# The clipped errors' resolution that `wafl simulate` and `wafl task create` choose: 1/16
# (clip_q = clip * 2^(4 + KX)); the sampler's cost does not depend on it, the noise's scale does.
DEFAULT_CLIP_FRAC_BITS = 4


@dataclass(frozen=True)
class DpParams:
    """A private task's parameters (`privacy::DpParams`, same fields, same order). The first
    eight are constants of the circuit (hashed by `params_hash`); the last three are the budget."""

    records: int
    clip_frac_bits: int
    clip_q: int
    clip_factor_bits: int
    noise_sigma0: int
    noise_tail: int
    noise_k: int
    sample_threshold: int
    target_epsilon_milli: int = 0
    target_delta_pico: int = 0
    max_contributions: int = 0

    CIRCUIT_FIELDS = ("records", "clip_frac_bits", "clip_q", "clip_factor_bits", "noise_sigma0",
                      "noise_tail", "noise_k", "sample_threshold")

    @property
    def sample_rate(self) -> float:
        return self.sample_threshold / (1 << SAMPLE_BITS)

    @property
    def target_epsilon(self) -> float:
        return self.target_epsilon_milli / 1000

    @property
    def target_delta(self) -> float:
        return self.target_delta_pico * 1e-12

    def circuit_constants(self) -> tuple[int, ...]:
        return tuple(int(getattr(self, f)) for f in self.CIRCUIT_FIELDS)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DpParams":
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise ProtocolError("EInvalidPrivacy", f"unknown privacy field(s) {unknown}; known: {names}")
        try:
            return cls(**{k: int(v) for k, v in d.items()})
        except (TypeError, ValueError) as e:
            raise ProtocolError("EInvalidPrivacy", f"privacy fields must be integers: {e}") from None


def check_params(p: DpParams, frac_bits: int, feature_frac_bits: int, lr_frac_bits: int) -> None:
    """`privacy::check_params` (EInvalidPrivacy), given the spec's K, KX and S."""

    def bad(msg: str) -> ProtocolError:
        return ProtocolError("EInvalidPrivacy", msg)

    if not 1 <= p.records <= MAX_RECORDS:
        raise bad(f"records must be in 1..{MAX_RECORDS}, got {p.records}")
    if not 0 <= p.clip_frac_bits <= frac_bits:
        raise bad(f"clip_frac_bits must be in 0..frac_bits ({frac_bits}), got {p.clip_frac_bits}")
    if p.clip_frac_bits + feature_frac_bits + lr_frac_bits < frac_bits:
        raise bad("clip_frac_bits + feature_frac_bits + lr_frac_bits must be >= frac_bits (the update shift)")
    if not 1 <= p.clip_q < (1 << 32):
        raise bad(f"clip_q must be in 1..2^32-1, got {p.clip_q}")
    if not 1 <= p.clip_factor_bits <= MAX_CLIP_FACTOR_BITS:
        raise bad(f"clip_factor_bits must be in 1..{MAX_CLIP_FACTOR_BITS}, got {p.clip_factor_bits}")
    if not 1 <= p.noise_sigma0 <= p.noise_tail <= MAX_NOISE_TAIL:
        raise bad(f"need 1 <= noise_sigma0 <= noise_tail <= {MAX_NOISE_TAIL}, got "
                  f"{p.noise_sigma0}, {p.noise_tail}")
    if not 1 <= p.noise_k < (1 << 32):
        raise bad(f"noise_k must be in 1..2^32-1, got {p.noise_k}")
    if not 1 <= p.sample_threshold < (1 << SAMPLE_BITS):
        raise bad(f"sample_threshold must be in 1..2^64-1, got {p.sample_threshold}")
    if p.target_epsilon_milli < 0 or p.target_delta_pico < 0 or p.max_contributions < 0:
        raise bad("the budget fields must be >= 0")


def params_hash(p: DpParams) -> int:
    """`privacy::params_hash`: Poseidon([DP_PARAMS_DOMAIN, records, clip_frac_bits, clip_q,
    clip_factor_bits, noise_sigma0, noise_tail, noise_k, sample_threshold])."""
    return hashing.poseidon([DP_PARAMS_DOMAIN, *p.circuit_constants()])


def seed_commitment(seed: int) -> int:
    """`Poseidon([DP_SEED_DOMAIN, seed])`: what a client registers for its secret seed."""
    if not 0 <= seed < FIELD_MODULUS:
        raise ProtocolError("EValueOutOfBounds", "the seed must be a field element in [0, p)")
    return hashing.poseidon([DP_SEED_DOMAIN, seed])


def pad_dataset(features: Sequence[Sequence[int]], labels: Sequence[Sequence[int]], records: int,
                features_n: int, classes: int) -> tuple[list[list[int]], list[list[int]], int]:
    """The client's dataset as the circuit takes it: exactly `records` rows, the real ones first,
    then padding rows (zero features, label class 0). Returns (X, Y, n)."""
    n = len(features)
    if n != len(labels):
        raise ProtocolError("EWrongLength", f"{n} feature rows but {len(labels)} label rows")
    if n > records:
        raise ProtocolError("EWrongLength", f"{n} records; the task registers at most {records} per client "
                                            "(register a subset, or ask for a task with more records)")
    x = [list(map(int, r)) for r in features] + [[0] * features_n for _ in range(records - n)]
    y = [list(map(int, r)) for r in labels] + [[1] + [0] * (classes - 1) for _ in range(records - n)]
    return x, y, n


def private_data_commitment(x: Sequence[Sequence[int]], y: Sequence[Sequence[int]], n: int, salt: int,
                            feature_bits: int) -> int:
    """tree16([salt, n] ++ pack(X + 2^(BX-1), BX) ++ pack(Y, 1)) over the padded dataset."""
    if not 0 <= salt < FIELD_MODULUS:
        raise ProtocolError("EValueOutOfBounds", "the salt must be a field element in [0, p)")
    xs = [encode_signed(v, feature_bits) for row in x for v in row]
    ys = [int(v) for row in y for v in row]
    return hashing.poseidon_tree16([salt, int(n)] + pack(xs, feature_bits) + pack(ys, 1))


def randomness_limbs(randomness: bytes) -> tuple[int, int]:
    """The round's 32 randomness bytes as two big-endian 128-bit integers (hi, lo)."""
    r = bytes(randomness)
    if len(r) != 32:
        raise ProtocolError("EWrongLength", f"a round's randomness has 32 bytes, got {len(r)}")
    return int.from_bytes(r[:16], "big"), int.from_bytes(r[16:], "big")


def binding(p: DpParams, data_commitment: int, seed_commitment_: int, randomness: bytes) -> int:
    """`privacy::binding`: the `data` public input of a private task's update,
    Poseidon([DP_BIND_DOMAIN, params_hash, data_commitment, seed_commitment, rand_hi, rand_lo])."""
    hi, lo = randomness_limbs(randomness)
    return hashing.poseidon([DP_BIND_DOMAIN, params_hash(p), int(data_commitment), int(seed_commitment_), hi, lo])


def first_round(round_: int, round_open: bool) -> int:
    """`privacy::first_round`: the first round whose randomness is drawn after a registration
    made now (the current round if it has not opened yet, else the next one)."""
    return int(round_) + (1 if round_open else 0)


def check_kind(is_private: bool, private_call: bool) -> None:
    """`privacy::check_kind`: EPrivateTask unless the call's kind (private or not) is the task's."""
    if is_private != private_call:
        raise ProtocolError("EPrivateTask", "this is a private task: a participant registers its data and seed "
                            "commitments (`register_private`; `wafl client run --data FILE` does it) and sends "
                            "private updates" if is_private else
                            "this task is not private: use register / submit_update")


def check_unlocked(is_private: bool, round_: int, round_open: bool, num_registered: int, num_deposits: int,
                   num_updates: int) -> None:
    """`privacy::check_unlocked`: EPrivacyLocked unless the task is not private yet and has had
    no round, registration, deposit or update."""
    if is_private or round_ != 0 or round_open or num_registered or num_deposits or num_updates:
        raise ProtocolError("EPrivacyLocked", "privacy is set once, before any registration, round or update")


def check_private_update(registered_first_round: int | None, round_: int, contributions: int,
                         max_contributions: int) -> None:
    """`privacy::check_private_update`: ENotRegistered (no private registration),
    ERegisteredAfterRandomness (registered after this round's randomness was drawn),
    EPrivacyBudgetSpent (the sender's accepted updates reached max_contributions)."""
    if registered_first_round is None:
        raise ProtocolError("ENotRegistered", "the sender has no private registration (data and seed "
                                              "commitments) for this task: `wafl task register` first")
    if registered_first_round > round_:
        raise ProtocolError("ERegisteredAfterRandomness",
                            f"the sender registered after round {round_}'s randomness was drawn; its "
                            f"registration counts from round {registered_first_round}")
    if contributions >= max_contributions:
        raise ProtocolError("EPrivacyBudgetSpent",
                            f"the sender already has {contributions} accepted update(s), the task's privacy "
                            f"budget allows {max_contributions}")
