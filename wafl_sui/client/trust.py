"""The trust checks a client makes before contributing to a task.

The contract only checks that a task's verifying key is for 4 public inputs: a task creator could
register the key of some other circuit (one that accepts anything). A client therefore compares
the task's stored (prepared) key with the key of the circuit of the task's spec that the client
holds itself — its own artifacts or a ceremony's published key — and refuses otherwise.
"""

from __future__ import annotations

from typing import Any

from wafl_sui.errors import WaflError
from wafl_sui.protocol import StepSpec
from wafl_sui.zk import sui_bytes


class UntrustedTask(WaflError):
    """The task's key or spec is not the one this client proves for; it will not contribute."""


def check_task_key(view: Any, spec: StepSpec, vk_bytes: bytes) -> None:
    """Raise UntrustedTask unless `view` (a ledger TaskView) is for `spec` and stores exactly the
    prepared form of `vk_bytes` (our verifying key of that spec's circuit)."""
    if view.spec != spec:
        raise UntrustedTask(f"task {view.task_id} is for spec {view.spec.to_dict()}, not the spec this "
                            f"client proves for ({spec.to_dict()})")
    ours = sui_bytes.prepare_verifying_key(vk_bytes)
    theirs = view.prepared_vk
    if [bytes(p) for p in ours.parts()] != [bytes(p) for p in theirs.parts()]:
        raise UntrustedTask(
            f"task {view.task_id} stores a verifying key that is not the key of the step circuit of its "
            "spec held here: proofs for it would not mean what they claim (another circuit), so this "
            "client refuses to contribute; ask the task creator which setup they used, or compare with "
            "the ceremony's published key (`wafl setup --ptau ...`)"
        )
