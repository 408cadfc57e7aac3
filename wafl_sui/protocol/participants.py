"""Who takes part in a task's rounds (twin of `move/sources/participants.move`): registration and
leaving preconditions, the pool a round is drawn from, and the round's sample, drawn uniformly
without replacement from the pool with the round's randomness. Every check raises
`ProtocolError` with the Move abort's name.

Participants register for a task (open tasks: anyone, with the deposit the creator set; closed
tasks: addresses on the admin's allowlist). When a round opens, the contract draws 32 bytes from
`sui::random` (the local ledger: from the OS, `secrets.token_bytes`) and `sample` picks the
round's participants from the pool with them, so arrival order never decides who gets a seat,
and anyone can recompute a round's sample from its recorded randomness.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

from wafl_sui.protocol.errors import ProtocolError

# Most participants one task registers: opening a round copies the pool and, on a closed task,
# looks each one up on the allowlist (a Sui transaction loads at most 1000 objects).
MAX_PARTICIPANTS = 512
# Bytes of a round's randomness.
RANDOMNESS_BYTES = 32


def check_register(already_registered: bool, num_registered: int, deposit: int, deposit_mist: int) -> None:
    """`participants::check_register`: EAlreadyRegistered, ETooManyParticipants, EWrongDeposit
    (after the shell's ETaskFinished and ESenderNotAllowed: `round.check_registration`)."""
    if already_registered:
        raise ProtocolError(
            "EAlreadyRegistered", "the sender is already registered for this task (or holds a deposit: leave first)"
        )
    if num_registered >= MAX_PARTICIPANTS:
        raise ProtocolError("ETooManyParticipants", f"the task has its maximum of {MAX_PARTICIPANTS} participants")
    if deposit != deposit_mist:
        raise ProtocolError("EWrongDeposit", f"the task asks for a deposit of {deposit_mist} MIST, got {deposit}")


def check_leave(holds_deposit: bool, sampled_in_open_round: bool) -> None:
    """`participants::check_leave`: ENotRegistered, then EParticipantSampled."""
    if not holds_deposit:
        raise ProtocolError("ENotRegistered", "the sender is not registered for this task and holds no deposit")
    if sampled_in_open_round:
        raise ProtocolError(
            "EParticipantSampled", "the sender is sampled in the open round: it can leave once the round ends"
        )


def check_pool(pool_size: int, quorum: int) -> None:
    """`participants::check_pool`: a round opens only with at least `quorum` participants."""
    if pool_size < quorum:
        raise ProtocolError(
            "ENotEnoughParticipants",
            f"{pool_size} registered participant(s), the round's quorum is {quorum}: wait for registrations",
        )


def draw(seed: bytes, i: int, m: int) -> int:
    """`participants::draw`: a uniform index in [0, m) for step i: the first 16 bytes of
    sha3_256(seed || u64 little-endian i), read little-endian, modulo m."""
    h = hashlib.sha3_256(bytes(seed) + int(i).to_bytes(8, "little")).digest()
    return int.from_bytes(h[:16], "little") % m


def sample(pool: Sequence[str], k: int, seed: bytes) -> tuple[str, ...]:
    """`participants::sample`: min(k, n) addresses of `pool`, drawn uniformly without replacement
    with `seed` (partial Fisher-Yates: step i swaps position i with i + draw(seed, i, n - i)),
    in drawn order."""
    order = list(pool)
    n = len(order)
    out = []
    for i in range(min(k, n)):
        j = i + draw(seed, i, n - i)
        order[i], order[j] = order[j], order[i]
        out.append(order[i])
    return tuple(out)


def pool(registered: Sequence[str], open_: bool, allowlist: frozenset[str] | set[str]) -> tuple[str, ...]:
    """The participants a round is sampled from: the registered ones (on a closed task, those
    still on the allowlist), in registration order (`task::pool`)."""
    return tuple(registered) if open_ else tuple(p for p in registered if p in allowlist)
