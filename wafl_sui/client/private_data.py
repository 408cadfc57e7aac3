"""A client's registered data on a private task (docs/PRIVACY.md, "Registration"): its dataset in
fixed point, padded to the task's `records` rows, the salt that hides it and the secret seed the
round's batch and noise are drawn from, kept in a file only its owner can read.

    reg = load_or_create(path, dataset, spec)     # spec.privacy set; the file is created once
    reg.data_commitment(spec), reg.seed_commitment()   # what `register_private` records

The file holds the salt, the seed and which rows were registered (a client with more than
`records` rows registers a fixed random subset). The data itself is read again from the
client's own files each time, and the commitment must come out the same: if the data changed
since registration the client stops with a clear error instead of proving on other data.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wafl_sui.client.data import Dataset, one_hot, quantize_features
from wafl_sui.errors import WaflError
from wafl_sui.protocol import FIELD_MODULUS, StepSpec
from wafl_sui.protocol import privacy

FORMAT = 1


class PrivateDataError(WaflError):
    """The registered data or its secrets are missing, unreadable or no longer match."""


@dataclass(frozen=True)
class Registration:
    """The registered dataset (padded, fixed point) and its secrets."""

    features: list[list[int]]
    labels: list[list[int]]
    n: int
    salt: int
    seed: int
    rows: tuple[int, ...]  # the dataset's row indices that were registered, in order

    def data_commitment(self, spec: StepSpec) -> int:
        return privacy.private_data_commitment(self.features, self.labels, self.n, self.salt, spec.feature_bits)

    def seed_commitment(self) -> int:
        return privacy.seed_commitment(self.seed)


def _require_private(spec: StepSpec) -> privacy.DpParams:
    if spec.privacy is None:
        raise PrivateDataError("this task is not private: there is no data to register")
    return spec.privacy


def build(ds: Dataset, spec: StepSpec, rows: tuple[int, ...], salt: int, seed: int) -> Registration:
    """The registration of `ds`'s rows `rows` (in order), padded to the task's records."""
    p = _require_private(spec)
    idx = np.asarray(rows, dtype=np.int64)
    if len(idx) and (idx.min() < 0 or idx.max() >= len(ds)):
        raise PrivateDataError(f"the registration names rows up to {int(idx.max())}, but the data has {len(ds)} "
                               "rows: it changed since registration (register again under a new identity)")
    x = quantize_features(ds.x[idx], spec).tolist() if len(idx) else []
    y = one_hot(ds.y[idx], spec.classes).tolist() if len(idx) else []
    px, py, n = privacy.pad_dataset(x, y, p.records, spec.features, spec.classes)
    return Registration(px, py, n, salt, seed, tuple(int(i) for i in rows))


def create(ds: Dataset, spec: StepSpec, rng: np.random.Generator | None = None) -> Registration:
    """A new registration: fresh secret salt and seed (the OS's CSPRNG); all rows, or a random
    subset of `records` rows when there are more."""
    p = _require_private(spec)
    if len(ds) == 0:
        raise PrivateDataError("this client has no data to register")
    if len(ds) > p.records:
        pick = (rng or np.random.default_rng(secrets.randbits(64))).choice(len(ds), size=p.records, replace=False)
        rows = tuple(sorted(int(i) for i in pick))
    else:
        rows = tuple(range(len(ds)))
    return build(ds, spec, rows, secrets.randbelow(FIELD_MODULUS), secrets.randbelow(FIELD_MODULUS))


def save(reg: Registration, path: Path, spec: StepSpec, task_id: str) -> None:
    """Write the secrets (owner read/write only), never the data itself."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"format": FORMAT, "task_id": task_id, "salt": str(reg.salt), "seed": str(reg.seed),
            "rows": list(reg.rows), "data_commitment": str(reg.data_commitment(spec)),
            "seed_commitment": str(reg.seed_commitment())}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(body, f, indent=1)
    os.replace(tmp, path)


def load(path: Path, ds: Dataset, spec: StepSpec, task_id: str) -> Registration:
    """The registration saved at `path`, rebuilt from the data; PrivateDataError if the file is
    unreadable, for another task, or the data no longer gives the saved commitment."""
    try:
        body = json.loads(Path(path).read_text())
        if body.get("format") != FORMAT:
            raise ValueError(f"format {body.get('format')}")
        salt, seed, rows = int(body["salt"]), int(body["seed"]), tuple(int(i) for i in body["rows"])
        saved = int(body["data_commitment"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise PrivateDataError(f"cannot read the private registration {path}: {e}") from None
    if body.get("task_id") != task_id:
        raise PrivateDataError(f"{path} is the registration of task {body.get('task_id')}, not {task_id}")
    reg = build(ds, spec, rows, salt, seed)
    if reg.data_commitment(spec) != saved:
        raise PrivateDataError(f"the data no longer matches its registration ({path}): the records changed since "
                               "registration; restore them, or register again under a new identity")
    return reg


def load_or_create(path: Path, ds: Dataset, spec: StepSpec, task_id: str) -> Registration:
    """The saved registration, or a new one saved at `path` (before it is sent to the ledger, so a
    crash between the two never loses the secrets of a registration the ledger holds)."""
    if Path(path).exists():
        return load(path, ds, spec, task_id)
    reg = create(ds, spec)
    save(reg, path, spec, task_id)
    return reg


def check_registered(reg: Registration, spec: StepSpec, on_ledger: tuple[int, int]) -> None:
    """The ledger's (data_commitment, seed_commitment) for us must be ours."""
    if (reg.data_commitment(spec), reg.seed_commitment()) != tuple(int(v) for v in on_ledger):
        raise PrivateDataError("the ledger holds other commitments for this identity than the saved registration: "
                               "it was registered with other data or another seed (leave and register again)")


def expected_batch(spec: StepSpec, n: int) -> float:
    """The expected batch size of Poisson sampling over n real records."""
    return _require_private(spec).sample_rate * n

