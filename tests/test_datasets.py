"""Client data: bundled datasets, CSV / NPZ files with clear errors, the written-down scaling."""

from __future__ import annotations

import numpy as np
import pytest

from wafl_sui.client import datasets
from wafl_sui.client.datasets import DatasetError, FeatureScaling
from wafl_sui.errors import WaflError


@pytest.mark.parametrize("name,d,c", [("digits", 64, 10), ("iris", 4, 3), ("wine", 13, 3), ("breast_cancer", 30, 2)])
def test_bundled_datasets_and_their_specs(name, d, c):
    raw = datasets.load_raw(name)
    assert raw.x.shape[1] == d and raw.classes == c and set(np.unique(raw.y)) == set(range(c))
    train, test = datasets.split(raw, 0.2, seed=0)
    assert len(train.y) + len(test.y) == len(raw.y) and abs(len(test.y) - 0.2 * len(raw.y)) <= 1
    scaling = datasets.scaling_for(train)
    ds = datasets.to_dataset(train, scaling)
    assert ds.x.min() >= -1 and ds.x.max() <= 1 and abs(ds.x.mean()) < 0.05  # centred
    spec = datasets.spec_for(train)
    assert (spec.features, spec.classes) == (d, c)
    from wafl_sui.client.data import quantize_features

    quantize_features(datasets.to_dataset(test, scaling).x, spec)  # in the spec's range: no error


def test_digits_scaling_is_the_centred_pixel_in_sixteenths():
    raw = datasets.load_raw("digits")
    sc = datasets.scaling_for(raw)
    from wafl_sui.client.data import quantize_features

    center = np.round(raw.x.mean(axis=0))
    assert sc.center == tuple(center) and sc.low == (0.0,) * 64 and sc.high == (16.0,) * 64
    scaled = sc.apply(raw.x)
    assert np.array_equal(scaled * 16, raw.x - center)  # exact: whole sixteenths, never clipped
    spec = datasets.spec_for(raw)
    q = quantize_features(scaled, spec)  # in the default spec's range (no error) ...
    assert np.array_equal(q, np.floor((raw.x - center) / 2 + 0.5))  # ... at 1/8 resolution (KX=3)


def test_scaling_is_applied_the_same_way_and_round_trips():
    x = np.array([[0.0, 5.0, 1.0], [10.0, 5.0, 3.0], [5.0, 5.0, 2.0]])
    sc = FeatureScaling.fit(x)
    assert sc.center == (5.0, 5.0, 2.0)  # the mean
    assert sc.apply(x).tolist() == [[-0.5, 0.0, -0.5], [0.5, 0.0, 0.5], [0.0, 0.0, 0.0]]
    assert sc.apply(np.array([[20.0, 9.0, -4.0]])).tolist() == [[1.0, 0.0, -1.0]]  # clipped; constant -> 0
    again = FeatureScaling.from_dict(sc.to_dict())
    assert np.array_equal(again.apply(x), sc.apply(x))
    # a record written before centring (no "center") is the uncentred [0, 1] map it was
    old = {k: v for k, v in sc.to_dict().items() if k != "center"}
    assert FeatureScaling.from_dict(old).apply(x).tolist() == [[0.0, 0.0, 0.0], [1.0, 0.0, 1.0], [0.5, 0.0, 0.5]]


def _csv(tmp_path, text):
    p = tmp_path / "d.csv"
    p.write_text(text)
    return p


def test_csv_with_named_labels(tmp_path):
    p = _csv(tmp_path, "a,b,species\n1,2,cat\n3,4,dog\n5,6,cat\n")
    raw = datasets.load_raw(str(p))
    assert raw.classes == 2 and raw.class_names == ("cat", "dog") and raw.y.tolist() == [0, 1, 0]
    assert raw.feature_names == ("a", "b") and raw.x.tolist() == [[1, 2], [3, 4], [5, 6]]
    raw = datasets.load_raw(str(_csv(tmp_path, "label,a\n1,0.5\n0,0.25\n")))
    assert raw.y.tolist() == [1, 0] and raw.x.tolist() == [[0.5], [0.25]]
    # integer labels are class indices as given, even when a client lacks some classes
    raw = datasets.load_raw(str(_csv(tmp_path, "a,label\n1,2\n2,4\n3,2\n")))
    assert raw.y.tolist() == [2, 4, 2] and raw.classes == 5


@pytest.mark.parametrize("text,needle", [
    ("a,b,y\n1,x,0\n2,3,1\n", "row 2, column 'b'"),
    ("a,b,y\n1,nan,0\n2,3,1\n", "row 2, column 'b'"),
    ("a,b,y\n1,2,0\n2,3\n", "row 3 has 2 cells"),
    ("a,b,y\n1,2,0\n2,3,0\n", "at least 2 classes"),
    ("a,b,y\n1,2,0\n", "at least two data rows"),
])
def test_bad_csv_names_the_row_or_column(tmp_path, text, needle):
    with pytest.raises(DatasetError, match=needle.replace("(", r"\(")) as e:
        datasets.load_raw(str(_csv(tmp_path, text)))
    assert isinstance(e.value, WaflError)


def test_csv_label_column_option(tmp_path):
    p = _csv(tmp_path, "y,a,b\n0,1,2\n1,3,4\n")
    assert datasets.load_raw(str(p), "y").x.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(DatasetError, match="no column named 'z'"):
        datasets.load_raw(str(p), "z")


def test_npz_files(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, x=np.arange(12.0).reshape(6, 2), y=np.array([0, 1, 2, 0, 1, 2]))
    raw = datasets.load_raw(str(p))
    assert raw.x.shape == (6, 2) and raw.classes == 3
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.array([[1.0, np.inf], [0, 0]]), y=np.array([0, 1]))
    with pytest.raises(DatasetError, match=r"x\[0, 1\]"):
        datasets.load_raw(str(bad))
    np.savez(bad, x=np.ones((3, 2)), y=np.array([0, 1]))
    with pytest.raises(DatasetError, match="3 rows but y has 2"):
        datasets.load_raw(str(bad))
    np.savez(bad, features=np.ones((3, 2)))
    with pytest.raises(DatasetError, match="needs arrays named x"):
        datasets.load_raw(str(bad))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="not a readable .npz"):
        datasets.load_raw(str(tmp_path / "junk.npz"))


def test_unknown_sources(tmp_path):
    with pytest.raises(DatasetError, match="neither a bundled dataset"):
        datasets.load_raw("mnist-from-the-internet")
    (tmp_path / "d.txt").write_text("1 2 3")
    with pytest.raises(DatasetError, match="unsupported file type"):
        datasets.load_raw(str(tmp_path / "d.txt"))
