"""The task's data contract (its manifest) as the clients read it: feature names and the feature
scaling, the class names in order, the label column, the model architecture and the spec.

It also records the circuit's identity (`CircuitIdentity`: the hash of the spec and circuit
artifacts, `zk.circuit.circuit_hash`, and how the verifying key was made: `dev-insecure` or
`ceremony` with the hash of its transcript), which the shared trust check
(`client.trust.check_task_key`) compares with the circuit the client holds. The manifest is
stored and hashed on chain with the task, so this needs no new `create_task` parameter.

The task's creator fits it on their data (`fit`) and stores it with the task
(`Ledger.set_manifest`, bytes of `protocol.manifest.encode`); every client and evaluator reads it
(`read`) and brings its own data to it (`conform`): the columns by name, the labels by the
manifest's class order (never the order of one file), the task's scaling. Data that does not fit
(other feature names, unknown class names, another width) is a `ManifestMismatch` naming the
difference, raised before any work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from wafl_sui.client.datasets import Dataset, DatasetError, FeatureScaling, RawData, scaling_for, to_dataset
from wafl_sui.errors import WaflError
from wafl_sui.protocol import StepSpec, manifest as pmanifest


class ManifestMismatch(WaflError):
    """Data that does not fit the task's manifest (names, classes, width)."""


class ManifestError(WaflError):
    """Stored manifest bytes that are not a manifest this WaFL reads."""


@dataclass(frozen=True)
class CircuitIdentity:
    """Which circuit a task's key belongs to and how the key was made."""

    circuit_hash: str  # zk.circuit.circuit_hash(spec): the spec and the circuit's sources
    setup: str  # "dev-insecure" (single-party) or "ceremony"
    transcript_hash: Optional[str] = None  # ceremony: SHA-256 of the final zkey (its contributions transcript)

    def content(self) -> dict[str, Any]:
        return {"circuit_hash": self.circuit_hash, "setup": self.setup, "transcript_hash": self.transcript_hash}

    @classmethod
    def from_content(cls, d: Any) -> "CircuitIdentity":
        if not isinstance(d, dict) or not isinstance(d.get("circuit_hash"), str) or d.get("setup") not in SETUPS:
            raise ValueError(f"circuit identity {d!r} needs a circuit_hash and a setup in {SETUPS}")
        t = d.get("transcript_hash")
        if t is not None and not isinstance(t, str):
            raise ValueError(f"the circuit's transcript_hash {t!r} is not a string")
        return cls(d["circuit_hash"], d["setup"], t)


SETUPS = ("dev-insecure", "ceremony")
# the longest identity (for checking a manifest's size before the circuit is compiled)
LONGEST_CIRCUIT_IDENTITY = CircuitIdentity("0" * 64, "dev-insecure", "0" * 64)


@dataclass(frozen=True)
class TaskManifest:
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    scaling: FeatureScaling
    spec: StepSpec
    label_column: Optional[str] = None
    circuit: Optional[CircuitIdentity] = None  # None: a manifest written before circuits were recorded

    def content(self) -> dict[str, Any]:
        sc = self.scaling
        return {"feature_names": list(self.feature_names), "class_names": list(self.class_names),
                "label_column": self.label_column,
                "scaling": {"formula": FeatureScaling.FORMULA, "low": list(sc.low), "high": list(sc.high),
                            "center": list(sc.center)},
                "model": {"kind": "linear" if self.spec.is_linear else "mlp", "layers": self.spec.architecture()},
                "spec": self.spec.to_dict(),
                **({"circuit": self.circuit.content()} if self.circuit is not None else {})}

    def to_bytes(self) -> bytes:
        """The stored form (canonical JSON); EManifestSize when over the contract's limit."""
        b = pmanifest.encode(self.content())
        pmanifest.check_size(b)
        return b

    @property
    def hash(self) -> int:
        return pmanifest.manifest_hash(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> "TaskManifest":
        try:
            d = pmanifest.decode(data)
            sc = d["scaling"]
            scaling = FeatureScaling(tuple(map(float, sc["low"])), tuple(map(float, sc["high"])),
                                     tuple(d["feature_names"]), tuple(d["class_names"]), tuple(map(float, sc["center"])))
            circuit = CircuitIdentity.from_content(d["circuit"]) if "circuit" in d else None
            return cls(tuple(map(str, d["feature_names"])), tuple(map(str, d["class_names"])), scaling,
                       StepSpec.from_dict(d["spec"]), d.get("label_column"), circuit)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise ManifestError(f"the task's manifest does not decode ({type(e).__name__}: {e}); "
                                "is this WaFL older than the task's creator's? upgrade it") from None

    def scaling_dict(self) -> dict[str, Any]:
        return self.scaling.to_dict()


def fit(raw: RawData, spec: StepSpec, label_column: Optional[str] = None,
        scaling: Optional[FeatureScaling] = None, circuit: Optional[CircuitIdentity] = None) -> TaskManifest:
    """The creator's manifest: names and class order of `raw`, its scaling (or `scaling`), the
    circuit's identity (`circuit`, from `client.trust.circuit_identity(keys)`)."""
    d = raw.x.shape[1]
    names = raw.feature_names or tuple(f"x{i}" for i in range(d))
    sc = scaling if scaling is not None else scaling_for(raw)
    sc = FeatureScaling(sc.low, sc.high, tuple(names), tuple(raw.class_names), sc.center)
    if len(raw.class_names) > spec.classes or d != spec.features:
        raise ManifestMismatch(f"the data has {d} features and {len(raw.class_names)} classes; the spec "
                               f"{spec.features} and {spec.classes}")
    return TaskManifest(tuple(names), tuple(raw.class_names), sc, spec, label_column, circuit)


def conform(raw: RawData, m: TaskManifest, source: str) -> RawData:
    """`raw` in the task's terms: columns in the manifest's order (by name when the file has
    names), labels as indices of the manifest's class names. ManifestMismatch naming the
    difference otherwise."""
    d = raw.x.shape[1]
    want = m.feature_names
    x = raw.x
    if raw.feature_names and not all(n.startswith("x") and n[1:].isdigit() for n in want):
        have = raw.feature_names
        missing = [n for n in want if n not in have]
        extra = [n for n in have if n not in want]
        if missing or extra:
            raise ManifestMismatch(
                f"{source}: its feature columns differ from the task's: "
                + "; ".join(s for s in (f"missing {missing[:8]}" if missing else "",
                                        f"not in the task {extra[:8]}" if extra else "") if s)
                + f". The task's features are {list(want[:12])}{' ...' if len(want) > 12 else ''}; rename or "
                  "drop columns (is the label column right? --label-column)")
        x = x[:, [have.index(n) for n in want]]
    elif d != len(want):
        raise ManifestMismatch(f"{source}: {d} features, but the task's model takes {len(want)}")
    index = {n: i for i, n in enumerate(m.class_names)}
    labels = [raw.class_names[int(i)] for i in raw.y]
    unknown = sorted({v for v in labels if v not in index})
    if unknown:
        raise ManifestMismatch(f"{source}: class names {unknown[:8]} are not the task's classes "
                               f"{list(m.class_names)}; rename them or drop those rows")
    y = np.asarray([index[v] for v in labels], dtype=np.int64)
    return RawData(np.asarray(x, dtype=np.float64), y, len(m.class_names), raw.name, tuple(want), m.class_names)


def dataset(raw: RawData, m: TaskManifest, source: str) -> Dataset:
    """The model's view of `raw`: conformed, then scaled with the task's scaling."""
    return to_dataset(conform(raw, m, source), m.scaling)


def read(ledger: Any, task: str) -> Optional[TaskManifest]:
    """The task's manifest, or None for a task created without one."""
    data = ledger.manifest(task)
    return TaskManifest.from_bytes(data) if data else None


__all__ = ["CircuitIdentity", "ManifestError", "ManifestMismatch", "TaskManifest", "conform", "dataset", "fit", "read"]
