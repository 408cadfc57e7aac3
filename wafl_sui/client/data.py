"""Datasets and their fixed-point form: quantized features, one-hot labels, client partitions, batches.

The default task is scikit-learn's bundled `load_digits` (8x8 images, D=64, C=10), no download.
Pixels 0..16 are scaled to [0, 1]; with feature_frac_bits=4 the quantized feature is the pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wafl_sui.protocol import ProtocolError, StepSpec


@dataclass(frozen=True)
class Dataset:
    x: np.ndarray  # float features, shape (n, D), in the units the model sees
    y: np.ndarray  # int labels, shape (n,)
    classes: int
    name: str = ""

    def __post_init__(self) -> None:
        if self.x.ndim != 2 or self.y.ndim != 1 or len(self.x) != len(self.y):
            raise ValueError(f"dataset {self.name!r}: need x of shape (n, D) and y of shape (n,)")
        if not np.all(np.isfinite(self.x)):
            raise ValueError(f"dataset {self.name!r}: features contain NaN or infinity")
        if len(self.y) and (self.y.min() < 0 or self.y.max() >= self.classes):
            raise ValueError(f"dataset {self.name!r}: labels must be in 0..{self.classes - 1}")

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> "Dataset":
        return Dataset(self.x[idx], self.y[idx], self.classes, self.name)


def load_digits() -> Dataset:
    from sklearn.datasets import load_digits as _load

    d = _load()
    return Dataset(d.data.astype(np.float64) / 16.0, d.target.astype(np.int64), 10, "digits")


def train_test_split(ds: Dataset, test_fraction: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(ds))
    n_test = int(round(len(ds) * test_fraction))
    return ds.subset(perm[n_test:]), ds.subset(perm[:n_test])


def partition(ds: Dataset, clients: int, seed: int = 0, alpha: float | None = None) -> list[Dataset]:
    """Split among clients: IID (alpha None) or label-skewed with a Dirichlet(alpha) per class."""
    if clients < 1:
        raise ValueError("need at least one client")
    rng = np.random.default_rng(seed)
    if alpha is None:
        parts = np.array_split(rng.permutation(len(ds)), clients)
    else:
        buckets: list[list[int]] = [[] for _ in range(clients)]
        for c in range(ds.classes):
            idx = rng.permutation(np.flatnonzero(ds.y == c))
            cuts = (np.cumsum(rng.dirichlet([alpha] * clients)) * len(idx)).astype(int)[:-1]
            for k, chunk in enumerate(np.split(idx, cuts)):
                buckets[k].extend(chunk.tolist())
        parts = [np.array(sorted(b), dtype=np.int64) for b in buckets]
    return [ds.subset(p) for p in parts]


def quantize_features(x: np.ndarray, spec: StepSpec) -> np.ndarray:
    """round(x * 2^KX) as int64; a clear error if any value is NaN or outside the feature range."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != spec.features:
        raise ProtocolError("EWrongLength", f"features must have shape (n, {spec.features}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ProtocolError("EValueOutOfBounds", "features contain NaN or infinity; clean the data first")
    q = np.floor(x * (1 << spec.feature_frac_bits) + 0.5).astype(np.int64)
    lo, hi = spec.feature_min, spec.feature_max
    if q.size and (q.min() < lo or q.max() > hi):
        scale = 1 << spec.feature_frac_bits
        raise ProtocolError(
            "EValueOutOfBounds",
            f"features must lie in [{lo / scale}, {hi / scale}] for this spec "
            f"({spec.feature_bits} signed bits, {spec.feature_frac_bits} fractional); "
            f"got values in [{x.min():.4g}, {x.max():.4g}]: standardize/rescale them or widen feature_bits",
        )
    return q


def one_hot(y: np.ndarray, classes: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.int64)
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ProtocolError("EValueOutOfBounds", f"labels must be in 0..{classes - 1}")
    out = np.zeros((len(y), classes), dtype=np.int64)
    out[np.arange(len(y)), y] = 1
    return out


def sample_batch(ds: Dataset, spec: StepSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """local_steps*B rows drawn without replacement (with replacement if the client has fewer)."""
    n = spec.batch_size * spec.local_steps
    if len(ds) == 0:
        raise ValueError("this client has no data")
    idx = rng.choice(len(ds), size=n, replace=len(ds) < n)
    return quantize_features(ds.x[idx], spec), one_hot(ds.y[idx], spec.classes)
