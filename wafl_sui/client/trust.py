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

The task's manifest records the circuit's identity (`client.manifest.CircuitIdentity`: circuit
hash, setup kind, ceremony transcript hash): when it is there, the check also compares it with
the circuit and keys held here, so a task whose creator compiled another circuit, or whose key
comes from another ceremony, is named as such; a manifest that says `dev-insecure` is refused
like a development key held here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wafl_sui.client.manifest import CircuitIdentity
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


def circuit_identity(keys: Any) -> CircuitIdentity:
    """The identity of the circuit and keys `keys` (a `zk.setup.Keys`): what a task creator records
    in the task's manifest. A ceremony's transcript hash is the SHA-256 of its final zkey (which
    holds every contribution; `snarkjs zkey verify` checked it against the powers of tau)."""
    meta = keys.setup.meta or {}
    transcript = meta.get("zkey_sha256") if keys.setup.kind == "ceremony" else None
    return CircuitIdentity(keys.artifacts.hash, keys.setup.kind, transcript)


def _check_recorded(task_id: str, recorded: CircuitIdentity, setup: str, circuit_hash: str,
                    transcript_hash: str | None, allow_dev_key: bool) -> None:
    if circuit_hash and recorded.circuit_hash != circuit_hash:
        raise UntrustedTask(
            f"task {task_id} records circuit {recorded.circuit_hash} in its manifest, but the circuit of its spec "
            f"held here is {circuit_hash}: the creator compiled other circuit sources (another WaFL version?). "
            "Use the WaFL version the task was created with, or ask its creator"
        )
    if recorded.setup == DEV_SETUP and not allow_dev_key:
        raise UntrustedTask(
            f"task {task_id} records in its manifest that its key is a development key ('{DEV_SETUP}', "
            f"single-party setup): whoever made it can forge proofs. Use a task whose key comes from a ceremony, or pass "
            f"{ALLOW_DEV_KEY_FLAG} if you made the key yourself or this is a test"
        )
    if recorded.setup == "ceremony" and setup == "ceremony" and recorded.transcript_hash and transcript_hash \
            and recorded.transcript_hash != transcript_hash:
        raise UntrustedTask(
            f"task {task_id} records ceremony transcript {recorded.transcript_hash} in its manifest, but the "
            f"ceremony keys held here have transcript {transcript_hash}: compare with the ceremony's published zkey"
        )


def check_task_key(view: Any, spec: StepSpec, vk_bytes: bytes, *, setup: str = "", circuit_hash: str = "",
                   allow_dev_key: bool = False, recorded: CircuitIdentity | None = None,
                   transcript_hash: str | None = None) -> KeyTrust:
    """Raise UntrustedTask unless `view` (a ledger TaskView) is for `spec`, stores exactly the
    prepared form of `vk_bytes` (our verifying key of that spec's circuit, made by `setup`), that
    key passes the contract's own key check, it is not a development key (unless
    `allow_dev_key`), and the circuit identity `recorded` in the task's manifest (if any) is the
    one held here (circuit hash, setup, ceremony transcript)."""
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
    if recorded is not None:
        _check_recorded(view.task_id, recorded, setup, circuit_hash, transcript_hash, allow_dev_key)
    return KeyTrust(view.task_id, setup, circuit_hash)


def check_keys(view: Any, keys: Any, *, manifest: Any = None, allow_dev_key: bool = False) -> KeyTrust:
    """`check_task_key` of `view` against `keys` (a `zk.setup.Keys` of its spec) and the circuit
    identity recorded in the task's `manifest` (a `client.manifest.TaskManifest`, or None)."""
    ours = circuit_identity(keys)
    return check_task_key(view, view.spec, sui_bytes.vk_bytes_from_snarkjs(keys.setup.verification_key()),
                          setup=ours.setup, circuit_hash=ours.circuit_hash, allow_dev_key=allow_dev_key,
                          recorded=getattr(manifest, "circuit", None), transcript_hash=ours.transcript_hash)


def check_task(view: Any, *, manifest: Any = None, allow_dev_key: bool = False, progress: Any = None) -> KeyTrust:
    """The check of `wafl task check`, `wafl evaluate`, `wafl model export` and `wafl watch`: the
    circuit of the task's spec and its keys held here (compiled and, without any, a development
    setup made on first use), then `check_keys` (with the task's `manifest`, if it has one)."""
    from wafl_sui.zk.setup import ensure_keys

    keys = ensure_keys(view.spec, progress=progress)
    return check_keys(view, keys, manifest=manifest, allow_dev_key=allow_dev_key)
