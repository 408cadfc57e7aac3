"""The one root of every user-facing WaFL error.

Every error a user can cause (bad input, a missing artifact, a rule of the protocol broken, a
ledger or network refusal) derives from `WaflError`, so the CLI catches this one class and
prints its message instead of a traceback.
"""


class WaflError(Exception):
    """Root of every user-facing WaFL error: the CLI prints its message, never a traceback."""
