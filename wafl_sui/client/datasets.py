"""A client's data: the bundled scikit-learn datasets or a user's CSV / NPZ file, and the feature
scaling that maps raw features into the spec's fixed-point range.

The scaling is written down (`FeatureScaling`, saved with the exported model) and applied the same
way for training and evaluation:

    scaled = clip((x - center) / (high - low), -1, 1)    per feature (0 where high == low)

with `low`, `high` and `center` (the mean) taken from the training data. [-1, 1] fits every spec
with feature_bits >= 2 (the bias input 1.0 must be representable anyway). Centring matters: with
uncentred [0, 1] features the zero-started linear model needs about twice the rounds to reach
the same accuracy on digits, and its accuracy swings from round to round (docs/CIRCUIT.md). The
digits pixels 0..16 are centred on the rounded mean pixel and divided by 16, so a scaled pixel
is a whole number of 1/16ths.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from wafl_sui.client.data import Dataset
from wafl_sui.errors import WaflError
from wafl_sui.protocol import StepSpec

BUNDLED = ("digits", "iris", "wine", "breast_cancer")


class DatasetError(WaflError):
    """A dataset cannot be used: the message names the file, row or column and what to do."""


@dataclass(frozen=True)
class FeatureScaling:
    """Per-feature affine map of raw features into [-1, 1] (clipped), centred on `center`."""

    low: tuple[float, ...]
    high: tuple[float, ...]
    feature_names: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()
    center: tuple[float, ...] = ()  # empty: `low` (the uncentred [0, 1] map)

    FORMULA = "clip((x - center) / (high - low), -1, 1); 0 where high == low"

    @classmethod
    def fit(cls, x: np.ndarray, feature_names: Sequence[str] = (), class_names: Sequence[str] = ()) -> "FeatureScaling":
        x = np.asarray(x, dtype=np.float64)
        return cls(tuple(map(float, x.min(axis=0))), tuple(map(float, x.max(axis=0))),
                   tuple(feature_names), tuple(class_names), tuple(map(float, x.mean(axis=0))))

    def apply(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.low):
            raise DatasetError(f"features must have shape (n, {len(self.low)}), got {x.shape}")
        low, high = np.asarray(self.low), np.asarray(self.high)
        center = np.asarray(self.center) if self.center else low
        span = np.where(high > low, high - low, 1.0)
        return np.clip((x - center) / span, -1.0, 1.0) * (high > low)

    def to_dict(self) -> dict:
        return {"formula": self.FORMULA, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureScaling":
        return cls(tuple(d["low"]), tuple(d["high"]), tuple(d.get("feature_names", ())),
                   tuple(d.get("class_names", ())), tuple(d.get("center", ())))


@dataclass(frozen=True)
class RawData:
    """Features as read (float, unscaled), integer labels 0..C-1, and names."""

    x: np.ndarray
    y: np.ndarray
    classes: int
    name: str
    feature_names: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()


def _bundled(name: str) -> RawData:
    from sklearn import datasets as skd

    loader = {"digits": skd.load_digits, "iris": skd.load_iris, "wine": skd.load_wine,
              "breast_cancer": skd.load_breast_cancer}[name]
    d = loader()
    x = d.data.astype(np.float64)
    names = tuple(str(n) for n in getattr(d, "feature_names", [])) or tuple(f"f{i}" for i in range(x.shape[1]))
    classes = tuple(str(c) for c in getattr(d, "target_names", sorted(set(d.target.tolist()))))
    return RawData(x, d.target.astype(np.int64), len(classes), name, names, classes)


def _labels(raw: Sequence, source: str, min_classes: int = 2) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels as given (ints or strings) -> 0..C-1 in sorted order of the distinct values. A
    file with fewer than `min_classes` distinct labels is refused (a task's data contract gives
    the classes, so a client's file may hold one)."""
    values = [str(v).strip() for v in raw]
    if any(v == "" for v in values):
        row = next(i for i, v in enumerate(values) if v == "")
        raise DatasetError(f"{source}: row {row + 1} has no label")
    ints = _as_class_indices(values, source)
    if ints is not None:  # integer labels are class indices as given (a client may lack some classes)
        classes = max(ints) + 1
        if classes < min_classes:
            raise DatasetError(f"{source}: the labels take 1 value; a classifier needs at least 2 classes")
        return np.asarray(ints, dtype=np.int64), tuple(str(i) for i in range(classes))
    try:
        keys = sorted(set(values), key=lambda v: float(v))
    except ValueError:
        keys = sorted(set(values))
    if len(keys) < min_classes:
        raise DatasetError(f"{source}: the labels take {len(keys)} value(s); a classifier needs at least 2 classes")
    index = {k: i for i, k in enumerate(keys)}
    return np.asarray([index[v] for v in values], dtype=np.int64), tuple(keys)


# Integer labels are class indices: more classes than this is a mistake (a column of ids?), not a task.
MAX_CLASS_INDEX = 4095


def _as_class_indices(values: Sequence[str], source: str = "labels") -> list[int] | None:
    """The labels as ints when every one is a non-negative integer (e.g. "3", "3.0"), else None
    (string labels). A numeric label that is not finite (nan, inf, 1e400) or an index too large
    to be a class is an error naming its row."""
    out = []
    numeric = all(_is_float(v) for v in values)
    for row, v in enumerate(values, start=1):
        try:
            f = float(v)
        except ValueError:
            return None
        if not math.isfinite(f):
            if numeric:
                raise DatasetError(f"{source}: row {row} has the label {v!r}, which is not a class; remove the row "
                                   "or give it its class")
            return None
        if f < 0 or f != int(f):
            return None
        if int(f) > MAX_CLASS_INDEX:
            raise DatasetError(f"{source}: row {row} has the label {v!r}: integer labels are class indices 0.."
                               f"{MAX_CLASS_INDEX}; is this the label column? (choose it with --label-column)")
        out.append(int(f))
    return out


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def _read_csv(path: Path, label_column: str | None, min_classes: int = 2) -> RawData:
    try:
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a text CSV file") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 3:
        raise DatasetError(f"{path}: needs a header row and at least two data rows")
    header = [h.strip() for h in rows[0]]
    label = label_column or ("label" if "label" in header else header[-1])
    if label not in header:
        raise DatasetError(f"{path}: no column named {label!r}; columns: {header}")
    li = header.index(label)
    feats = [i for i in range(len(header)) if i != li]
    x = np.empty((len(rows) - 1, len(feats)))
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DatasetError(f"{path}: row {r} has {len(row)} cells, the header has {len(header)}")
        for j, i in enumerate(feats):
            try:
                v = float(row[i])
            except ValueError:
                raise DatasetError(f"{path}: row {r}, column {header[i]!r}: {row[i]!r} is not a number") from None
            if not np.isfinite(v):
                raise DatasetError(f"{path}: row {r}, column {header[i]!r} is {row[i]!r}; remove or impute it")
            x[r - 2, j] = v
    y, names = _labels([row[li] for row in rows[1:]], f"{path}, column {label!r}", min_classes)
    return RawData(x, y, len(names), path.stem, tuple(header[i] for i in feats), names)


def _read_npz(path: Path, min_classes: int = 2) -> RawData:
    try:
        z = np.load(path, allow_pickle=False)
    except Exception as e:  # numpy raises several types for a bad file
        raise DatasetError(f"{path}: not a readable .npz file ({e})") from None
    keys = set(z.files)
    xk = next((k for k in ("x", "X", "features") if k in keys), None)
    yk = next((k for k in ("y", "Y", "labels") if k in keys), None)
    if not xk or not yk:
        raise DatasetError(f"{path}: needs arrays named x (features, shape (n, D)) and y (labels, shape (n,)); has {sorted(keys)}")
    try:
        x, yraw = np.asarray(z[xk]), np.asarray(z[yk])
    except ValueError as e:  # object arrays (pickles) are never loaded
        raise DatasetError(f"{path}: {e}; save x and y as numeric arrays (np.savez(file, x=..., y=...))") from None
    if yraw.dtype == object or yraw.dtype.kind not in "iufUS":
        raise DatasetError(f"{path}: {yk} must hold numbers or strings, got {yraw.dtype}")
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.number):
        raise DatasetError(f"{path}: {xk} must be a numeric array of shape (n, D), got {x.dtype} {x.shape}")
    x = x.astype(np.float64)
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        r, c = bad[0]
        raise DatasetError(f"{path}: {xk}[{r}, {c}] is {x[r, c]}; remove or impute non-finite values")
    yraw = yraw.reshape(-1)
    if len(yraw) != len(x):
        raise DatasetError(f"{path}: {xk} has {len(x)} rows but {yk} has {len(yraw)} labels")
    y, names = _labels(yraw.tolist(), f"{path}, {yk}", min_classes)
    return RawData(x, y, len(names), path.stem, tuple(f"f{i}" for i in range(x.shape[1])), names)


def load_raw(source: str, label_column: str | None = None, *, min_classes: int = 2) -> RawData:
    """A bundled dataset by name, or a .csv / .npz file. `min_classes=1` where a task's data
    contract gives the classes (a client that holds one class is a valid non-IID client)."""
    if source in BUNDLED:
        return _bundled(source)
    p = Path(source)
    if not p.exists():
        raise DatasetError(f"dataset {source!r} is neither a bundled dataset {list(BUNDLED)} nor an existing file")
    if p.suffix.lower() == ".csv":
        return _read_csv(p, label_column, min_classes)
    if p.suffix.lower() == ".npz":
        return _read_npz(p, min_classes)
    raise DatasetError(f"{p}: unsupported file type {p.suffix!r}; use .csv (header row, label column) or .npz (x, y)")


def split(raw: RawData, test_fraction: float, seed: int) -> tuple[RawData, RawData]:
    """A stratification-free random split (the evaluator's held-out part is `test_fraction`)."""
    if not 0 < test_fraction < 1:
        raise DatasetError(f"test fraction must be in (0, 1), got {test_fraction}")
    perm = np.random.default_rng(seed).permutation(len(raw.y))
    n_test = max(1, int(round(len(perm) * test_fraction)))
    pick = lambda idx: RawData(raw.x[idx], raw.y[idx], raw.classes, raw.name, raw.feature_names, raw.class_names)  # noqa: E731
    return pick(perm[n_test:]), pick(perm[:n_test])


def scaling_for(raw: RawData) -> FeatureScaling:
    """The documented scaling: digits pixels centred on the rounded mean pixel, / 16; else the
    mean-centred min-max map fitted on `raw`."""
    if raw.name == "digits":
        d = raw.x.shape[1]
        center = tuple(map(float, np.round(np.asarray(raw.x, dtype=np.float64).mean(axis=0))))
        return FeatureScaling((0.0,) * d, (16.0,) * d, raw.feature_names, raw.class_names, center)
    return FeatureScaling.fit(raw.x, raw.feature_names, raw.class_names)


def to_dataset(raw: RawData, scaling: FeatureScaling) -> Dataset:
    return Dataset(scaling.apply(raw.x), raw.y, raw.classes, raw.name)


def spec_for(raw: RawData, **overrides: int) -> StepSpec:
    """The step spec of a dataset: its features and classes, the default fixed-point formats."""
    return StepSpec(**{"features": raw.x.shape[1], "classes": raw.classes, **overrides})

