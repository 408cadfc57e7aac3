"""The round rules of a task as pure functions of its state (twin of `move/sources/round.move`):
round options, the submit and aggregate preconditions in the order the contract checks them,
deadlines and round advance. Every check raises `ProtocolError` with the Move abort's name.

Rounds are numbered from 0; a round accepts updates while now_ms <= deadline_ms, with
deadline = round start + round_duration_ms (saturating at 2^64-1); after max_rounds
aggregations the task is finished.
"""

from __future__ import annotations

from wafl_sui.protocol.errors import ProtocolError

U64_MAX = (1 << 64) - 1
MAX_UPDATES_PER_ROUND = 256  # round.move: a full round is closed; quorum <= this


def validate_round_rules(quorum: int, round_duration_ms: int, max_rounds: int) -> None:
    if not 1 <= quorum <= MAX_UPDATES_PER_ROUND:
        raise ProtocolError("EInvalidRoundRules", f"quorum must be in 1..{MAX_UPDATES_PER_ROUND}, got {quorum}")
    if not (round_duration_ms >= 1 and max_rounds >= 1):
        raise ProtocolError(
            "EInvalidRoundRules", f"round_duration_ms and max_rounds must be >= 1, got {round_duration_ms}, {max_rounds}"
        )


def deadline(start_ms: int, round_duration_ms: int) -> int:
    return min(start_ms + round_duration_ms, U64_MAX)


def check_submit(
    finished: bool, now_ms: int, deadline_ms: int, num_updates: int, allowed: bool, already_submitted: bool
) -> None:
    """`round::check_submit`: the preconditions of an update before its contents are checked."""
    if finished:
        raise ProtocolError("ETaskFinished", "the task has finished its last round")
    if now_ms > deadline_ms:
        raise ProtocolError("ERoundClosed", f"the round closed at {deadline_ms} ms (now {now_ms} ms)")
    if num_updates >= MAX_UPDATES_PER_ROUND:
        raise ProtocolError("ERoundClosed", f"the round is full ({MAX_UPDATES_PER_ROUND} updates)")
    if not allowed:
        raise ProtocolError("ESenderNotAllowed", "the sender is not on the task's allowlist")
    if already_submitted:
        raise ProtocolError("EAlreadySubmitted", "the sender already has an accepted update in this round")


def check_aggregate(finished: bool, now_ms: int, deadline_ms: int, num_updates: int, quorum: int) -> None:
    """`round::check_aggregate`."""
    if finished:
        raise ProtocolError("ETaskFinished", "the task has finished its last round")
    if num_updates >= quorum:
        return
    if now_ms <= deadline_ms:
        raise ProtocolError(
            "EQuorumNotReached", f"{num_updates} of {quorum} updates and the round is open until {deadline_ms} ms"
        )
    if num_updates == 0:
        raise ProtocolError("ENoUpdates", "the round closed without any update")


def next_round(round_: int, max_rounds: int) -> tuple[int, bool]:
    nxt = round_ + 1
    return nxt, nxt >= max_rounds


def check_not_finished(finished: bool) -> None:
    """ETaskFinished when the task is finished."""
    if finished:
        raise ProtocolError("ETaskFinished", "the task has finished its last round")
