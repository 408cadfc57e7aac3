"""The trust checks a client, an evaluator or an exporter makes before relying on a task.

The contract refuses malformed and degenerate verifying keys (`protocol.check_verifying_key`:
points at infinity, gamma == delta, wrong counts; the prepare step refuses points off the curve
or the subgroup), but it cannot know which circuit a well-formed key belongs to: a task creator
could register the key of some other circuit (one that accepts anything). So before contributing
(`wafl client run`), vouching for a task (`wafl task check`), scoring its model (`wafl
evaluate`) or exporting it (`wafl model export`), WaFL compares the task's stored (prepared) key
with the key of the circuit of the task's spec held here — its own artifacts or a ceremony's
published key — and refuses a development (`dev-insecure`, single-party) key unless the user
says `--allow-dev-key`: whoever ran a development setup can forge proofs, so a task on such a
key proves nothing to anyone else. (`wafl simulate` runs on development keys it makes itself
and passes the flag internally; it says so.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wafl_sui.errors import WaflError
from wafl_sui.protocol import ProtocolError, StepSpec, check_verifying_key
from wafl_sui.zk import sui_bytes

DEV_SETUP = "dev-insecure"
ALLOW_DEV_KEY_FLAG = "--allow-dev-key"


class UntrustedTask(WaflError):
    """The task's key or spec is not the one this client proves for; it will not rely on it."""


@dataclass(frozen=True)
class KeyTrust:
    """What the check found: the setup that made the key ('dev-insecure' or 'ceremony') and the
    circuit's identity (the hash of the spec and circuit artifacts held here)."""

    task_id: str
    setup: str
    circuit_hash: str


def check_task_key(view: Any, spec: StepSpec, vk_bytes: bytes, *, setup: str = "", circuit_hash: str = "",
                   allow_dev_key: bool = False) -> KeyTrust:
    """Raise UntrustedTask unless `view` (a ledger TaskView) is for `spec`, stores exactly the
    prepared form of `vk_bytes` (our verifying key of that spec's circuit, made by `setup`), that
    key passes the contract's own key check, and it is not a development key (unless
    `allow_dev_key`)."""
    if view.spec != spec:
        raise UntrustedTask(f"task {view.task_id} is for spec {view.spec.to_dict()}, not the spec this "
                            f"client proves for ({spec.to_dict()})")
    try:
        check_verifying_key(vk_bytes)
        ours = sui_bytes.prepare_verifying_key(vk_bytes)
    except (ProtocolError, sui_bytes.SuiBytesError) as e:
        raise UntrustedTask(f"the verifying key held here for this spec is not usable ({e}); run `wafl setup` again") from None
    theirs = view.prepared_vk
    if [bytes(p) for p in ours.parts()] != [bytes(p) for p in theirs.parts()]:
        raise UntrustedTask(
            f"task {view.task_id} stores a verifying key that is not the key of the step circuit of its "
            "spec held here: proofs for it would not mean what they claim (another circuit), so this "
            "client refuses to contribute; ask the task creator which setup they used, or compare with "
            "the ceremony's published key (`wafl setup --ptau ...`)"
        )
    if setup == DEV_SETUP and not allow_dev_key:
        raise UntrustedTask(
            f"task {view.task_id} runs on a development key ('{DEV_SETUP}', single-party setup): whoever made "
            f"it can forge proofs, so its updates and model prove nothing. Use a task whose key comes from a "
            f"ceremony (`wafl setup --ptau ...`), or pass {ALLOW_DEV_KEY_FLAG} if you made the key yourself "
            "or this is a test"
        )
    return KeyTrust(view.task_id, setup, circuit_hash)


def check_task(view: Any, *, allow_dev_key: bool = False, progress: Any = None) -> KeyTrust:
    """The check of `wafl task check`, `wafl evaluate` and `wafl model export`: the circuit of the
    task's spec and its keys held here (compiled and, without any, a development setup made on
    first use), then `check_task_key`."""
    from wafl_sui.zk.setup import ensure_keys

    keys = ensure_keys(view.spec, progress=progress)
    return check_task_key(view, view.spec, sui_bytes.vk_bytes_from_snarkjs(keys.setup.verification_key()),
                          setup=keys.setup.kind, circuit_hash=keys.artifacts.hash, allow_dev_key=allow_dev_key)
