"""The deployments file: where our Move package and its tasks live on each Sui network.

`$WAFL_HOME/deployments.json` (WAFL_HOME defaults to ~/.cache/wafl):

    {"format": "wafl-deployments/1",
     "networks": {"testnet": {"package_id": "0x..", "upgrade_cap_id": "0x..", "publisher": "0x..",
                              "digest": "<publish tx digest>", "chain_id": "<genesis digest>",
                              "upgrade_policy": "compatible",
                              "tasks": {"mnist": {"object_id": "0x..", "initial_shared_version": 7,
                                                  "admin_cap_id": "0x..", "digest": "..."}}}}}

Updates are read-modify-write under a lock file and land atomically (temp file + rename). A file
that does not parse is reported and never overwritten. `upgrade_policy` is the policy the publish
set on the UpgradeCap (`wafl deploy --policy`; absent in older files: compatible, Sui's default);
under `immutable` there is no UpgradeCap and `upgrade_cap_id` is "".
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wafl_sui.errors import WaflError
from wafl_sui.ledger.sui.bcs import BcsError, normalize_address

FORMAT = "wafl-deployments/1"
FILE_NAME = "deployments.json"
HOME_ENV = "WAFL_HOME"


class DeploymentError(WaflError):
    """The deployments file is corrupt, or has no entry for what was asked."""


def wafl_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    home = env.get(HOME_ENV, "").strip()
    return Path(home).expanduser() if home else Path("~/.cache/wafl").expanduser()


def default_path(env: Mapping[str, str] | None = None) -> Path:
    return wafl_home(env) / FILE_NAME


def _addr(value: Any, what: str, path: Path) -> str:
    try:
        return normalize_address(value)
    except BcsError as exc:
        raise DeploymentError(f"{path}: {what} is not a Sui address ({exc})") from None


@dataclass(frozen=True)
class TaskDeployment:
    name: str
    object_id: str
    initial_shared_version: int
    admin_cap_id: str
    digest: str = ""  # the transaction that created the task

    def __post_init__(self) -> None:
        object.__setattr__(self, "object_id", normalize_address(self.object_id))
        object.__setattr__(self, "admin_cap_id", normalize_address(self.admin_cap_id))

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        del d["name"]
        return d


@dataclass(frozen=True)
class Deployment:
    network: str
    package_id: str
    upgrade_cap_id: str
    publisher: str  # the address that published
    digest: str  # the publish transaction
    chain_id: str = ""  # the node's chain id when published (a reset localnet/devnet changes it)
    tasks: dict[str, TaskDeployment] = field(default_factory=dict)
    upgrade_policy: str = "compatible"  # task_calls.UPGRADE_POLICIES; immutable: no UpgradeCap ("")

    def __post_init__(self) -> None:
        for name in ("package_id", "upgrade_cap_id", "publisher"):
            if name == "upgrade_cap_id" and self.upgrade_cap_id == "" and self.upgrade_policy == "immutable":
                continue
            object.__setattr__(self, name, normalize_address(getattr(self, name)))

    def task(self, name: str) -> TaskDeployment:
        try:
            return self.tasks[name]
        except KeyError:
            known = ", ".join(sorted(self.tasks)) or "none"
            raise DeploymentError(
                f"no task named {name!r} is deployed on {self.network} (deployed tasks: {known}); create it first"
            ) from None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        del d["network"]
        d["tasks"] = {n: t.to_json() for n, t in sorted(self.tasks.items())}
        return d


def _parse(doc: Any, path: Path) -> dict[str, Deployment]:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("networks"), dict):
        raise DeploymentError(
            f'{path} is not a WaFL deployments file (expected {{"format": "{FORMAT}", "networks": {{...}}}}); '
            "fix it or move it away — it is not overwritten"
        )
    out = {}
    for net, d in doc["networks"].items():
        try:
            tasks = {
                n: TaskDeployment(
                    n,
                    _addr(t["object_id"], f"{net} task {n} object_id", path),
                    int(t["initial_shared_version"]),
                    _addr(t["admin_cap_id"], f"{net} task {n} admin_cap_id", path),
                    str(t.get("digest", "")),
                )
                for n, t in d.get("tasks", {}).items()
            }
            policy = str(d.get("upgrade_policy", "compatible"))
            no_cap = policy == "immutable" and d["upgrade_cap_id"] == ""
            out[net] = Deployment(
                net,
                _addr(d["package_id"], f"{net} package_id", path),
                "" if no_cap else _addr(d["upgrade_cap_id"], f"{net} upgrade_cap_id", path),
                _addr(d["publisher"], f"{net} publisher", path),
                str(d["digest"]),
                str(d.get("chain_id", "")),
                tasks,
                policy,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DeploymentError(
                f"{path}: the {net} entry is malformed ({type(exc).__name__}: {exc}); "
                "fix it or move the file away — it is not overwritten"
            ) from None
    return out


def load(path: Path | None = None) -> dict[str, Deployment]:
    """All deployments by network ({} when the file does not exist yet)."""
    path = default_path() if path is None else Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise DeploymentError(f"cannot read {path}: {exc}") from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise DeploymentError(
            f"{path} is corrupt (invalid JSON: {exc}); fix it or move it away — it is not overwritten"
        ) from None
    return _parse(doc, path)


def get(network: str, path: Path | None = None, chain_id: str | None = None) -> Deployment:
    """The deployment on `network`; with `chain_id`, also check it is on that chain."""
    path = default_path() if path is None else Path(path)
    deps = load(path)
    if network not in deps:
        raise DeploymentError(
            f"the WaFL package is not deployed on {network} (no entry in {path}); publish it first"
        )
    dep = deps[network]
    if chain_id and dep.chain_id and dep.chain_id != chain_id:
        raise DeploymentError(
            f"the {network} deployment in {path} was made on chain {dep.chain_id} but the node is on "
            f"chain {chain_id} (the network was reset, or the URL points elsewhere); publish again"
        )
    return dep


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, deps: Mapping[str, Deployment]) -> None:
    doc = {"format": FORMAT, "networks": {n: d.to_json() for n, d in sorted(deps.items())}}
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "x") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def record_deployment(dep: Deployment, path: Path | None = None) -> Deployment:
    """Record (or replace) the package deployment on `dep.network`, keeping nothing of an older
    one: its tasks belong to the old package."""
    path = default_path() if path is None else Path(path)
    with _locked(path):
        deps = load(path)
        deps[dep.network] = dep
        _write(path, deps)
    return dep


def record_task(network: str, task: TaskDeployment, path: Path | None = None) -> Deployment:
    """Add (or replace) a task under the `network` deployment."""
    path = default_path() if path is None else Path(path)
    with _locked(path):
        deps = load(path)
        if network not in deps:
            raise DeploymentError(
                f"cannot record task {task.name!r}: the package is not deployed on {network}"
            )
        old = deps[network]
        new = Deployment(
            old.network,
            old.package_id,
            old.upgrade_cap_id,
            old.publisher,
            old.digest,
            old.chain_id,
            {**old.tasks, task.name: task},
            old.upgrade_policy,
        )
        deps[network] = new
        _write(path, deps)
    return new
