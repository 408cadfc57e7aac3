"""The round rules of a task as pure functions of its state (twin of `move/sources/round.move`):
the task's round options (`RoundRules`), the submit, aggregate and discard preconditions in the
order the contract checks them, deadlines and round advance. Every check raises `ProtocolError`
with the Move abort's name.

Rounds are numbered from 0. A round accepts updates while now_ms <= deadline_ms (deadline =
round start + round_duration_ms, saturating at 2^64-1), at most `quorum` of them (a round closes
at its quorum), and none once its aggregation has started. After max_rounds aggregations the task
is finished. A round that cannot be aggregated (no update, no aggregation started) can be
discarded by anyone once now_ms > deadline_ms + max(grace_ms, MIN_GRACE_MS); a round that holds
an update is aggregated, never discarded (so a discard never races a legal aggregate), and its
timer cannot be restarted by the admin either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from wafl_sui.protocol.errors import ProtocolError

U64_MAX = (1 << 64) - 1
# Most updates one round accepts (quorum <= this): the last aggregation step of a robust rule
# removes one dynamic field per update, and a Sui transaction may load at most 1,000 objects.
MAX_UPDATES_PER_ROUND = 256
# The shortest grace period `discard_round` waits after a deadline, whatever the task says.
MIN_GRACE_MS = 60_000


@dataclass(frozen=True)
class RoundRules:
    """How a task's rounds run (`round::RoundRules`, built by `round::new_rules`).

    quorum: updates that close a round and allow its aggregation (1..MAX_UPDATES_PER_ROUND);
    round_duration_ms: how long a round accepts updates (>= 1);
    max_rounds: aggregations after which the task is finished (>= 1);
    grace_ms: how long after the deadline a round without updates waits before anyone may
        discard it (`discard_round`; at least MIN_GRACE_MS).
    """

    quorum: int
    round_duration_ms: int
    max_rounds: int
    grace_ms: int = 0

    def __post_init__(self) -> None:
        validate_round_rules(self)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RoundRules":
        return cls(**{k: int(d[k]) for k in ("quorum", "round_duration_ms", "max_rounds", "grace_ms")})


def validate_round_rules(rules: RoundRules) -> None:
    """quorum in 1..MAX_UPDATES_PER_ROUND, round_duration_ms >= 1, max_rounds >= 1, grace_ms >= 0,
    all u64 (EInvalidRoundRules)."""
    q, d, m, g = rules.quorum, rules.round_duration_ms, rules.max_rounds, rules.grace_ms
    if any(not isinstance(v, int) or not 0 <= v <= U64_MAX for v in (q, d, m, g)):
        raise ProtocolError("EInvalidRoundRules", f"round rules are u64 integers, got {rules}")
    if not 1 <= q <= MAX_UPDATES_PER_ROUND:
        raise ProtocolError("EInvalidRoundRules", f"quorum must be in 1..{MAX_UPDATES_PER_ROUND}, got {q}")
    if not (d >= 1 and m >= 1):
        raise ProtocolError("EInvalidRoundRules", f"round_duration_ms and max_rounds must be >= 1, got {d}, {m}")


def new_rules(quorum: int, round_duration_ms: int, max_rounds: int, grace_ms: int) -> RoundRules:
    """`round::new_rules`: validated round rules (EInvalidRoundRules)."""
    return RoundRules(quorum, round_duration_ms, max_rounds, grace_ms)


def deadline(start_ms: int, round_duration_ms: int) -> int:
    """Deadline of a round that starts at start_ms (saturating at u64::MAX)."""
    return min(start_ms + round_duration_ms, U64_MAX)


def grace_deadline(deadline_ms: int, grace_ms: int) -> int:
    """The end of a round's grace period: deadline + max(grace, MIN_GRACE_MS) (saturating at u64::MAX)."""
    return min(deadline_ms + max(grace_ms, MIN_GRACE_MS), U64_MAX)


def aggregatable_after_deadline(aggregating: bool, num_updates: int, quorum: int) -> bool:
    """Whether a round's aggregation may go on once its deadline has passed: it has started, or
    the round holds an update. A round for which this holds is never discarded."""
    return aggregating or num_updates >= quorum or num_updates > 0


def check_submit(
    finished: bool, now_ms: int, deadline_ms: int, aggregating: bool, num_updates: int, quorum: int,
    allowed: bool, already_submitted: bool,
) -> None:
    """`round::check_submit`: the preconditions of an update before its contents are checked, in
    this order: ETaskFinished, ERoundClosed (deadline passed, or aggregation started), ERoundFull
    (the round holds `quorum` updates), ESenderNotAllowed, EAlreadySubmitted."""
    if finished:
        raise ProtocolError("ETaskFinished", "the task has finished its last round")
    if now_ms > deadline_ms:
        raise ProtocolError("ERoundClosed", f"the round closed at {deadline_ms} ms (now {now_ms} ms)")
    if aggregating:
        raise ProtocolError("ERoundClosed", "the round's aggregation has started")
    if num_updates >= quorum:
        raise ProtocolError("ERoundFull", f"the round already holds its quorum of {quorum} updates")
    if not allowed:
        raise ProtocolError("ESenderNotAllowed", "the sender is not on the task's allowlist")
    if already_submitted:
        raise ProtocolError("EAlreadySubmitted", "the sender already has an accepted update in this round")


def check_aggregate(
    finished: bool, now_ms: int, deadline_ms: int, aggregating: bool, num_updates: int, quorum: int,
) -> None:
    """`round::check_aggregate`: an aggregation step is allowed once the quorum is reached, or after
    the deadline with at least one update, or when the round's aggregation has started (the next
    step). ETaskFinished, then EQuorumNotReached (round open) or ENoUpdates (closed, empty)."""
    if finished:
        raise ProtocolError("ETaskFinished", "the task has finished its last round")
    if aggregating or num_updates >= quorum:
        return
    if now_ms <= deadline_ms:
        raise ProtocolError(
            "EQuorumNotReached", f"{num_updates} of {quorum} updates and the round is open until {deadline_ms} ms"
        )
    if not aggregatable_after_deadline(aggregating, num_updates, quorum):
        raise ProtocolError("ENoUpdates", "the round closed without any update")


def check_discard(
    finished: bool, now_ms: int, deadline_ms: int, grace_ms: int, aggregating: bool, num_updates: int, quorum: int,
) -> None:
    """`round::check_discard`: anyone may discard a round that cannot be aggregated once now >
    deadline + max(grace, MIN_GRACE_MS): ETaskFinished, ERoundHasUpdates, then EGracePeriodNotOver."""
    if finished:
        raise ProtocolError("ETaskFinished", "the task has finished its last round")
    if aggregatable_after_deadline(aggregating, num_updates, quorum):
        raise ProtocolError(
            "ERoundHasUpdates",
            f"the round holds {num_updates} update(s){' and its aggregation has started' if aggregating else ''}: "
            "aggregate it (`wafl task aggregate`); it cannot be discarded",
        )
    end = grace_deadline(deadline_ms, grace_ms)
    if now_ms <= end:
        raise ProtocolError("EGracePeriodNotOver", f"the round may be discarded after {end} ms (now {now_ms} ms)")


def check_restart(finished: bool, aggregating: bool, num_updates: int) -> None:
    """`round::check_restart`: the admin restarts a round's timer only before its first update:
    ETaskFinished, then ERoundHasUpdates."""
    if finished:
        raise ProtocolError("ETaskFinished", "the task has finished its last round")
    if aggregating or num_updates:
        raise ProtocolError(
            "ERoundHasUpdates",
            f"the round holds {num_updates} update(s): its timer cannot be restarted; it ends at its deadline "
            "and is then aggregated",
        )


def next_round(round_: int, max_rounds: int) -> tuple[int, bool]:
    """The round after `round_` and whether the task is finished then."""
    nxt = round_ + 1
    return nxt, nxt >= max_rounds
