"""The protocol's error names: the Move package aborts with `#[error]` constants of these names,
the Python rules and the ledgers raise `ProtocolError` with the same names (a test checks that
the compiled package declares exactly these)."""

from __future__ import annotations

from wafl_sui.errors import WaflError

ERRORS = (
    "EInvalidSpec",  # spec fields or lr_q the circuit cannot serve exactly
    "EInvalidVerifyingKey",  # a verifying key that is not for the step circuit's 4 public inputs
    "EInvalidRoundRules",  # quorum, round duration, max rounds, grace period
    "EInvalidAggregationRule",  # unknown aggregation rule or trim_bps out of range
    "EInvalidProof",  # proof not 128 bytes, or it does not verify for the contract's public inputs
    "ERoundClosed",  # the round's deadline passed, or its aggregation has started
    "ERoundNotOpen",  # the round waits for open_round (its participants are not sampled yet)
    "ERoundAlreadyOpen",  # open_round of a round that is open
    "ENotSampled",  # submit_update by a sender not in the round's sample
    "EAlreadyRegistered",  # register twice (or while holding a deposit)
    "ETooManyParticipants",  # register beyond participants::MAX_PARTICIPANTS
    "EWrongDeposit",  # register with another deposit than the task's deposit_mist
    "ENotRegistered",  # leave without a deposit held
    "EParticipantSampled",  # leave while sampled in the open round
    "ENotEnoughParticipants",  # open_round with fewer registered participants than the quorum
    "EAlreadySubmitted",
    "ESenderNotAllowed",
    "EValueOutOfBounds",
    "EWrongLength",
    "ETaskFinished",
    "EQuorumNotReached",
    "ENoUpdates",
    "ENotAdmin",
    "EWrongVersion",  # the task object's version is not the package's VERSION (migrate first)
    "EGracePeriodNotOver",  # discard_round before deadline + grace period
    "ERoundHasUpdates",  # discard_round / restart_round of a round that holds updates (aggregate it)
    "EOverGasBudget",  # (model size, rule, quorum) whose aggregation would not fit the gas budget
    "EManifestSize",  # a manifest that is empty or over MAX_MANIFEST_BYTES
    "EManifestAlreadySet",  # set_manifest a second time, or after the task's first update
    "EInvalidPrivacy",  # privacy parameters the circuit or the accountant cannot serve
    "EPrivacyLocked",  # set_privacy twice, or after a registration or the first round
    "EPrivateTask",  # a non-private register / submit on a private task, or a private one on another
    "ERegisteredAfterRandomness",  # a private update for a round whose randomness predates the registration
    "EPrivacyBudgetSpent",  # a private update beyond the task's max_contributions for its sender
)


class ProtocolError(WaflError, ValueError):
    """A rule of the protocol was broken. `name` is the shared error name (see ERRORS)."""

    def __init__(self, name: str, message: str):
        if name not in ERRORS:
            raise AssertionError(f"unknown protocol error name {name}")
        super().__init__(f"{name}: {message}")
        self.name = name
