"""The round rules of a task as pure functions of its state (twin of `move/sources/round.move`):
the task's round options (`RoundRules`), the submit, aggregate and discard preconditions in the
order the contract checks them, deadlines and round advance. Every check raises `ProtocolError`
with the Move abort's name.

Rounds are numbered from 0. A round waits until someone opens it (`task.open_round`: its
participants are sampled from the registered ones, `protocol.participants`); it then accepts
one update from each sampled participant while now_ms <= deadline_ms (deadline = open time +
round_duration_ms, saturating at 2^64-1), and none once its aggregation has started. It may be
aggregated once every sampled participant has submitted, or after its deadline with at least
`quorum` updates. After max_rounds aggregations the task is finished. An open round that cannot
be aggregated (below its quorum, no aggregation started) can be discarded by anyone once now_ms >
deadline_ms + max(grace_ms, MIN_GRACE_MS); a round at its quorum is aggregated, never discarded
(so a discard never races a legal aggregate), and the admin cannot restart the timer of a round
that holds an update.
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

    quorum: the fewest updates a round is aggregated with (1..participants_per_round);
    round_duration_ms: how long an open round accepts updates (>= 1);
    max_rounds: aggregations after which the task is finished (>= 1);
    grace_ms: how long after the deadline a round below its quorum waits before anyone may
        discard it (`discard_round`; at least MIN_GRACE_MS);
    participants_per_round: how many registered participants each round samples (all of them
        when there are no more; quorum..MAX_UPDATES_PER_ROUND). 0 here means "= quorum".
    """

    quorum: int
    round_duration_ms: int
    max_rounds: int
    grace_ms: int = 0
    participants_per_round: int = 0

    def __post_init__(self) -> None:
        if self.participants_per_round == 0 and isinstance(self.quorum, int):
            object.__setattr__(self, "participants_per_round", self.quorum)
        validate_round_rules(self)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RoundRules":
        names = ("quorum", "round_duration_ms", "max_rounds", "grace_ms", "participants_per_round")
        return cls(**{k: int(d[k]) for k in names if k in d})


def validate_round_rules(rules: RoundRules) -> None:
    """1 <= quorum <= participants_per_round <= MAX_UPDATES_PER_ROUND, round_duration_ms >= 1,
    max_rounds >= 1, grace_ms >= 0, all u64 (EInvalidRoundRules)."""
    q, d, m, g = rules.quorum, rules.round_duration_ms, rules.max_rounds, rules.grace_ms
    k = rules.participants_per_round
    if any(not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= U64_MAX for v in (q, d, m, g, k)):
        raise ProtocolError("EInvalidRoundRules", f"round rules are u64 integers, got {rules}")
    if not 1 <= q <= k:
        raise ProtocolError("EInvalidRoundRules", f"quorum must be in 1..participants_per_round ({k}), got {q}")
    if k > MAX_UPDATES_PER_ROUND:
        raise ProtocolError(
            "EInvalidRoundRules", f"participants_per_round must be at most {MAX_UPDATES_PER_ROUND}, got {k}"
        )
    if not (d >= 1 and m >= 1):
        raise ProtocolError("EInvalidRoundRules", f"round_duration_ms and max_rounds must be >= 1, got {d}, {m}")


def new_rules(
    quorum: int, round_duration_ms: int, max_rounds: int, grace_ms: int, participants_per_round: int,
) -> RoundRules:
    """`round::new_rules`: validated round rules (EInvalidRoundRules)."""
    if participants_per_round == 0:
        raise ProtocolError("EInvalidRoundRules", "participants_per_round must be >= quorum, got 0")
    return RoundRules(quorum, round_duration_ms, max_rounds, grace_ms, participants_per_round)


def deadline(start_ms: int, round_duration_ms: int) -> int:
    """Deadline of a round that starts at start_ms (saturating at u64::MAX)."""
    return min(start_ms + round_duration_ms, U64_MAX)


def grace_deadline(deadline_ms: int, grace_ms: int) -> int:
    """The end of a round's grace period: deadline + max(grace, MIN_GRACE_MS) (saturating at u64::MAX)."""
    return min(deadline_ms + max(grace_ms, MIN_GRACE_MS), U64_MAX)


def aggregatable_after_deadline(aggregating: bool, num_updates: int, quorum: int) -> bool:
    """Whether a round's aggregation may go on once its deadline has passed: it has started, or
    the round holds at least its quorum of updates. A round for which this holds is never
    discarded."""
    return aggregating or num_updates >= quorum


def _not_open() -> ProtocolError:
    return ProtocolError(
        "ERoundNotOpen", "the round is not open yet: open it (`open_round` samples its participants)"
    )


def _finished() -> ProtocolError:
    return ProtocolError("ETaskFinished", "the task has finished its last round")


def check_registration(finished: bool, allowed: bool) -> None:
    """`round::check_registration`: ETaskFinished, then ESenderNotAllowed (a closed task, and the
    sender is not on its allowlist)."""
    if finished:
        raise _finished()
    if not allowed:
        raise ProtocolError("ESenderNotAllowed", "the sender is not on the task's allowlist (the task is closed)")


def check_open(finished: bool, round_open: bool) -> None:
    """`round::check_open`: ETaskFinished, then ERoundAlreadyOpen."""
    if finished:
        raise _finished()
    if round_open:
        raise ProtocolError("ERoundAlreadyOpen", "the round is already open (its participants are sampled)")


def check_submit(
    finished: bool, round_open: bool, now_ms: int, deadline_ms: int, aggregating: bool, sampled: bool,
    allowed: bool, already_submitted: bool,
) -> None:
    """`round::check_submit`: the preconditions of an update before its contents are checked, in
    this order: ETaskFinished, ERoundNotOpen, ERoundClosed (deadline passed, or aggregation
    started), ENotSampled, ESenderNotAllowed, EAlreadySubmitted."""
    if finished:
        raise _finished()
    if not round_open:
        raise _not_open()
    if now_ms > deadline_ms:
        raise ProtocolError("ERoundClosed", f"the round closed at {deadline_ms} ms (now {now_ms} ms)")
    if aggregating:
        raise ProtocolError("ERoundClosed", "the round's aggregation has started")
    if not sampled:
        raise ProtocolError("ENotSampled", "the sender is not among the round's sampled participants")
    if not allowed:
        raise ProtocolError("ESenderNotAllowed", "the sender is not on the task's allowlist")
    if already_submitted:
        raise ProtocolError("EAlreadySubmitted", "the sender already has an accepted update in this round")


def check_aggregate(
    finished: bool, round_open: bool, now_ms: int, deadline_ms: int, aggregating: bool, num_updates: int,
    sample_size: int, quorum: int,
) -> None:
    """`round::check_aggregate`: an aggregation step is allowed once every sampled participant has
    submitted, or after the deadline with at least `quorum` updates, or when the round's
    aggregation has started (the next step). ETaskFinished, ERoundNotOpen, then EQuorumNotReached
    (round open, or closed below its quorum) or ENoUpdates (closed, empty)."""
    if finished:
        raise _finished()
    if not round_open:
        raise _not_open()
    if aggregating or (num_updates == sample_size and num_updates >= quorum):
        return
    if now_ms <= deadline_ms:
        raise ProtocolError(
            "EQuorumNotReached",
            f"{num_updates} of the {sample_size} sampled participants have submitted and the round is open "
            f"until {deadline_ms} ms",
        )
    if num_updates == 0:
        raise ProtocolError("ENoUpdates", "the round closed without any update")
    if not aggregatable_after_deadline(aggregating, num_updates, quorum):
        raise ProtocolError(
            "EQuorumNotReached", f"the round closed with {num_updates} update(s), below its quorum of {quorum}"
        )


def check_discard(
    finished: bool, round_open: bool, now_ms: int, deadline_ms: int, grace_ms: int, aggregating: bool,
    num_updates: int, quorum: int,
) -> None:
    """`round::check_discard`: anyone may discard an open round that cannot be aggregated once now >
    deadline + max(grace, MIN_GRACE_MS): ETaskFinished, ERoundNotOpen, ERoundHasUpdates, then
    EGracePeriodNotOver."""
    if finished:
        raise _finished()
    if not round_open:
        raise _not_open()
    if aggregatable_after_deadline(aggregating, num_updates, quorum):
        raise ProtocolError(
            "ERoundHasUpdates",
            f"the round holds {num_updates} update(s) (quorum {quorum})"
            f"{' and its aggregation has started' if aggregating else ''}: "
            "aggregate it (`wafl task aggregate`); it cannot be discarded",
        )
    end = grace_deadline(deadline_ms, grace_ms)
    if now_ms <= end:
        raise ProtocolError("EGracePeriodNotOver", f"the round may be discarded after {end} ms (now {now_ms} ms)")


def check_restart(finished: bool, round_open: bool, aggregating: bool, num_updates: int) -> None:
    """`round::check_restart`: the admin restarts an open round's timer only before its first
    update: ETaskFinished, ERoundNotOpen, then ERoundHasUpdates."""
    if finished:
        raise _finished()
    if not round_open:
        raise _not_open()
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
