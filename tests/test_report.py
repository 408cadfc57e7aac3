"""Static reports (wafl_sui/metrics/report.py): the PNGs open, have the documented size and show
the data inside the axes (read back from the pixels); report.html embeds them and holds the table."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from wafl_sui.metrics import query, report
from wafl_sui.metrics.store import MetricsError, MetricsStore

TASK = "0x" + "a1" * 32
MEDIAN, TRIMMED = "0x" + "b2" * 32, "0x" + "c3" * 32
ACCURACY = [0.3125, 0.5625, 0.6875, 0.8125]
LOSS = [1.25, 0.875, 0.625, 0.5]
BASELINE = 0.9375
ACCEPTED, REJECTED = 3, 1  # per round
PROVE = {0: [2.5, 3.5, 3.0, 4.0], 1: [2.0, 2.25, 2.5, 2.75], 2: [1.0, 1.5, 2.0, 2.5], 3: [3.0, 3.0, 3.0, 3.0]}


def hex_rgb(c: str) -> np.ndarray:
    return np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)])


def axes_pixels(path: Path) -> np.ndarray:
    """The RGB pixels inside the axes (AXES_RECT), 2 px in from the frame."""
    img = Image.open(path)
    img.load()
    assert img.size == report.FIG_SIZE_PX
    a = np.asarray(img.convert("RGB")).astype(int)
    w, h = img.size
    left, bottom, right, top = report.AXES_RECT
    return a[int((1 - top) * h) + 2 : int((1 - bottom) * h) - 2, int(left * w) + 2 : int(right * w) - 2]


def near(px: np.ndarray, color: str, tol: int = 40) -> np.ndarray:
    return np.abs(px - hex_rgb(color)).max(axis=-1) <= tol


def record(store: MetricsStore, task: str, rule: str, accuracy: list[float]) -> None:
    store.record_task(task, "local", rules={"rule": rule, "quorum": 3, "lr_q": 410, "max_rounds": 4},
                      name=f"label flip under {rule}", status={"round": len(accuracy), "finished": True},
                      float_baseline_accuracy=BASELINE)
    for r, acc in enumerate(accuracy):
        store.record_evaluation(task, "local", r, acc, LOSS[r])
        for k in range(ACCEPTED + REJECTED):
            ok = k < ACCEPTED
            store.record_contribution(task, "local", r, f"0x{k:02x}", accepted=ok, error=None if ok else "EInvalidProof",
                                      prove_seconds=PROVE[r][k], verify_seconds=0.004 * (k + 1), update_norm=1.0,
                                      batch_size=8, attacker=None if ok else "label-flip")


@pytest.fixture
def store(tmp_path: Path) -> MetricsStore:
    s = MetricsStore(tmp_path / "metrics.sqlite")
    record(s, TASK, "fedavg", ACCURACY)
    record(s, MEDIAN, "median", [0.3125, 0.625, 0.75, 0.875])
    record(s, TRIMMED, "trimmed_mean", [0.25, 0.4375, 0.5, 0.5625])
    return s


@pytest.fixture
def written(store, tmp_path):
    return report.write_report(store, TASK, "local", tmp_path / "report",
                               compare=[("median", MEDIAN, "local"), ("trimmed mean", TRIMMED, "local")])


def test_writes_every_plot_and_the_html(written, tmp_path):
    assert set(written) == {"accuracy", "loss", "timings", "updates", "compare", "html"}
    for name, p in written.items():
        assert p.is_file() and p.parent == tmp_path / "report", name
    for name in ("accuracy", "loss", "timings", "updates", "compare"):
        with Image.open(written[name]) as img:
            assert img.format == "PNG" and img.size == report.FIG_SIZE_PX


def test_accuracy_plot_shows_the_curve_below_the_baseline(written):
    px = axes_pixels(written["accuracy"])
    curve = near(px, report.COLORS["accuracy"])
    base = near(px, report.COLORS["baseline"])
    assert curve.sum() > 500, "no accuracy curve inside the axes"
    # the baseline is one horizontal (dashed) line: a row with many baseline pixels, above every curve pixel
    rows = base.sum(axis=1)
    assert rows.max() > 0.3 * px.shape[1], "no horizontal baseline line"
    base_row = int(np.argmax(rows))
    curve_rows = np.nonzero(curve.any(axis=1))[0]
    assert base_row < curve_rows.min(), "the baseline (0.9375) must be drawn above all accuracies (<= 0.8125)"
    # the curve rises: its leftmost pixels are lower on the image than its rightmost ones
    cols = np.nonzero(curve.any(axis=0))[0]
    first, last = cols.min(), cols.max()
    assert np.nonzero(curve[:, first])[0].mean() > np.nonzero(curve[:, last])[0].mean()


def test_loss_and_timing_plots_are_drawn(written):
    assert near(axes_pixels(written["loss"]), report.COLORS["loss"]).sum() > 500
    px = axes_pixels(written["timings"])
    assert near(px, report.COLORS["prove"]).sum() > 300 and near(px, report.COLORS["verify"]).sum() > 300


def test_update_bars_match_accepted_and_rejected_counts(written):
    px = axes_pixels(written["updates"])
    green, red = near(px, report.COLORS["accepted"], 10).sum(), near(px, report.COLORS["rejected"], 10).sum()
    assert green > 1000 and red > 300
    assert green / red == pytest.approx(ACCEPTED / REJECTED, rel=0.2)  # stacked bars of equal width


def test_compare_plot_has_one_curve_per_rule(written):
    px = axes_pixels(written["compare"])
    for color in ("#1f77b4", "#ff7f0e", "#2ca02c"):  # matplotlib's first three cycle colours
        assert near(px, color, 30).sum() > 300, color


def test_html_is_self_contained_with_table_and_rules(written):
    text = written["html"].read_text()
    assert "src='http" not in text and 'src="http' not in text
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    assert len(images) == 5
    assert {base64.b64decode(i) for i in images} == {written[k].read_bytes() for k in
                                                      ("accuracy", "loss", "timings", "updates", "compare")}
    table = text[text.index("<table class='rounds'>"):]
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):])
    assert len(rows) == len(ACCURACY)
    for r, row in enumerate(rows):
        cells = re.findall(r"<td>(.*?)</td>", row)
        assert cells[:5] == [str(r), f"{ACCURACY[r]:.4f}", f"{LOSS[r]:.4f}", str(ACCEPTED), str(REJECTED)]
        want_prove = sorted(PROVE[r][:ACCEPTED + REJECTED])
        assert float(cells[5]) == pytest.approx((want_prove[1] + want_prove[2]) / 2, abs=5e-4)
    assert "<th>rule</th><td>fedavg</td>" in text and "<th>quorum</th><td>3</td>" in text
    assert "label flip under median" not in text  # compared tasks appear by label
    assert "<td>median</td>" in text and "<td>trimmed mean</td>" in text


def test_main_task_listed_in_compare_is_not_drawn_twice(store, tmp_path):
    out = report.write_report(store, TASK, "local", tmp_path / "r", compare=[("fedavg", TASK, "local"),
                                                                           ("median", MEDIAN, "local")])
    text = out["html"].read_text()
    assert text.count("<tr><td>fedavg</td>") == 1  # one row in the compared-tasks table
    px = axes_pixels(out["compare"])
    assert near(px, "#2ca02c", 30).sum() < 50  # only two curves, no third colour


def test_task_without_data_still_gets_a_report(tmp_path):
    s = MetricsStore(tmp_path / "m.sqlite")
    s.record_task(TASK, "local", rules={"rule": "fedavg"})
    out = report.write_report(s, TASK, "local", tmp_path / "empty")
    assert query.round_series(s, TASK, "local") == []
    px = axes_pixels(out["accuracy"])
    assert not near(px, report.COLORS["accuracy"]).any()
    assert "<tbody></tbody>" in out["html"].read_text()


def test_bad_arguments_have_clear_errors(store, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(MetricsError, match="exists and is not a folder"):
        report.write_report(store, TASK, "local", tmp_path / "file")
    with pytest.raises(query.TaskNotFound, match="no task 0xdd"):
        report.write_report(store, "0x" + "dd" * 32, "local", tmp_path / "x")
    with pytest.raises(MetricsError, match=r"compare\[0\] must be \(label, task_id, network\)"):
        report.write_report(store, TASK, "local", tmp_path / "x", compare=[(MEDIAN, "local")])
    with pytest.raises(query.TaskNotFound):
        report.write_report(store, TASK, "local", tmp_path / "x", compare=[("gone", "0x" + "ee" * 32, "local")])
