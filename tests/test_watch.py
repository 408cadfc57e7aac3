"""Every task watched: `wafl status`, `wafl report` (HTML, CSV, TensorBoard), `wafl evaluate` and
the dashboard's API know a task that only the ledger holds (made by `wafl task create` or on
another machine), by id or name; rounds mean the ledger's rounds everywhere; times are read as
UTC and relative; big integers go as strings in JSON. Real proofs of a tiny circuit."""

from __future__ import annotations

import csv
import json
import struct
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from wafl_sui.cli import main
from wafl_sui.devtools.updates import UpdateMaker
from wafl_sui.ledger.identity import Identity
from wafl_sui.ledger.local import LocalLedger
from wafl_sui.metrics import display
from wafl_sui.protocol.round import RoundRules
from wafl_sui.protocol.rules import AggregationRule
from wafl_sui.protocol.spec import StepSpec

SPEC = StepSpec(features=4, classes=3, batch_size=2)
HOUR_MS = 3_600_000


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A ledger with task "watched" (quorum 2, 3 rounds): round 0 aggregated, round 1 holding one
    update; and an empty metrics store that has never heard of it."""
    d = tmp_path_factory.mktemp("watch")
    maker = UpdateMaker(SPEC)
    owner, alice, bob = (Identity.generate() for _ in range(3))
    try:
        with LocalLedger(d / "ledger.sqlite") as led:
            ref = led.create_task(owner, SPEC, RoundRules(2, HOUR_MS, 3, 0), AggregationRule(0), maker.lr_q, True,
                                  maker.initial_model(), maker.vk, name="watched")
            for who in (alice, bob):
                led.register(who, ref.task_id)
            led.open_round(owner, ref.task_id)  # both sampled
            for i, who in enumerate((alice, bob)):
                u = maker.make(led.task(ref.task_id), who.address, seed=i)
                led.submit_update(who, ref.task_id, u.new_weights, u.data_commitment, u.proof)
            led.aggregate_round(owner, ref.task_id)
            led.open_round(owner, ref.task_id)
            u = maker.make(led.task(ref.task_id), alice.address, seed=7)
            led.submit_update(alice, ref.task_id, u.new_weights, u.data_commitment, u.proof)
    finally:
        maker.close()
    return {"dir": d, "ledger": str(d / "ledger.sqlite"), "task_id": ref.task_id}


def test_status_lists_and_details_a_task_only_the_ledger_holds(world, tmp_path):
    metrics = str(tmp_path / "m.sqlite")
    r = run("status", "--ledger", world["ledger"], "--metrics", metrics)
    assert r.exit_code == 0, r.output
    header, *rows = r.output.splitlines()
    assert header.split()[:5] == ["network", "task", "name", "rule", "state"]
    assert len(rows) == 1 and "watched" in rows[0] and "fedavg" in rows[0]
    assert "round 1 (rounds 0..2), 1/2 updates" in rows[0]
    r = run("status", "--task", "watched", "--ledger", world["ledger"], "--metrics", metrics, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["task_id"] == world["task_id"] and out["state"] == "round 1 (rounds 0..2), 1/2 updates"
    assert [(x["round"], x["accepted"]) for x in out["rounds_table"]] == [(0, 2), (1, 1)]
    assert out["accepted"] == 3 and out["clients"] == 2 and out["events"] == 9  # created, 2 registered, opened, 2 accepted, aggregated, opened, 1 accepted
    assert out["deadline"].endswith("UTC (in 60 min)") or "UTC (in 59 min)" in out["deadline"]
    # a second look records nothing twice; the 0x id works as well as the name
    again = json.loads(run("status", "--task", world["task_id"], "--ledger", world["ledger"], "--metrics", metrics,
                           "--json").output)
    assert again["events"] == 9 and again["accepted"] == 3


def test_unknown_task_is_one_clear_error(world, tmp_path):
    r = run("status", "--task", "nope", "--ledger", world["ledger"], "--metrics", str(tmp_path / "m.sqlite"))
    assert r.exit_code == 1 and r.output.startswith("Error: no task 'nope'") and "--ledger" in r.output
    r = run("status", "--ledger", str(tmp_path / "missing.sqlite"), "--metrics", str(tmp_path / "m.sqlite"))
    assert r.exit_code == 1 and "no ledger at" in r.output


def test_evaluate_records_and_every_command_says_the_same_round(world, tmp_path):
    metrics = str(tmp_path / "m.sqlite")
    r = run("evaluate", "--task", "watched", "--data", "iris", "--ledger", world["ledger"], "--metrics", metrics,
            "--json", "--allow-dev-key")
    assert r.exit_code == 0, r.output
    ev = json.loads(r.output)
    assert ev["round"] == 0 and ev["recorded"] is True  # one aggregation: the model of round 0
    human = run("evaluate", "--task", "watched", "--data", "iris", "--ledger", world["ledger"], "--metrics", metrics,
                "--allow-dev-key")
    assert human.output.startswith("The model of round 0: accuracy") and "recorded in" in human.output
    st = json.loads(run("status", "--task", "watched", "--ledger", world["ledger"], "--metrics", metrics,
                        "--json").output)
    assert st["latest_round_evaluated"] == 0 and st["latest_accuracy"] == pytest.approx(ev["accuracy"])
    show = json.loads(run("task", "show", "--task", "watched", "--ledger", world["ledger"], "--json").output)
    assert show["model_round"] == 0 and show["model"] == "the model of round 0" and show["round"] == 1
    out = tmp_path / "model.npz"
    r = run("model", "export", "--task", "watched", "--out", str(out), "--ledger", world["ledger"], "--metrics", metrics,
            "--allow-dev-key")
    assert r.exit_code == 0 and "the model of round 0 of task" in r.output


def test_task_show_says_times_and_rule_in_words(world):
    r = run("task", "show", "--task", "watched", "--ledger", world["ledger"])
    assert r.exit_code == 0, r.output
    lines = dict(line.strip().split(": ", 1) for line in r.output.splitlines())
    assert lines["rule"] == "fedavg" and lines["state"] == "round 1 (rounds 0..2)"
    assert lines["deadline"].endswith(" min)") and " UTC (in " in lines["deadline"]
    assert lines["created"].endswith(" ago)") or lines["created"].endswith("(now)")
    assert "deadline_ms" not in lines and "round" not in lines


def test_report_writes_html_csv_and_tensorboard(world, tmp_path):
    metrics = str(tmp_path / "m.sqlite")
    assert run("evaluate", "--task", "watched", "--data", "iris", "--ledger", world["ledger"],
               "--metrics", metrics, "--allow-dev-key").exit_code == 0
    out, csv_file, tb = tmp_path / "rep", tmp_path / "rounds.csv", tmp_path / "tb"
    r = run("report", "--task", "watched", "--ledger", world["ledger"], "--metrics", metrics, "--out", str(out),
            "--csv", str(csv_file), "--tensorboard", str(tb), "--json")
    assert r.exit_code == 0, r.output
    paths = json.loads(r.output)
    assert Path(paths["html"]).is_file() and "watched" in Path(paths["html"]).read_text()
    rows = list(csv.DictReader(csv_file.open()))
    assert [(x["round"], x["accepted"]) for x in rows] == [("0", "2"), ("1", "1")]
    assert 0 <= float(rows[0]["accuracy"]) <= 1 and rows[1]["accuracy"] == ""
    scalars = read_scalars(Path(paths["tensorboard"]))
    assert scalars["accuracy"] == [(0, pytest.approx(float(rows[0]["accuracy"]), abs=1e-6))]
    assert scalars["updates/accepted"] == [(0, 2.0), (1, 1.0)]
    # nothing is overwritten
    again = run("report", "--task", "watched", "--ledger", world["ledger"], "--metrics", metrics, "--csv", str(csv_file))
    assert again.exit_code == 1 and "exists" in again.output
    again = run("report", "--task", "watched", "--ledger", world["ledger"], "--metrics", metrics, "--tensorboard", str(tb))
    assert again.exit_code == 1 and "already holds TensorBoard event files" in again.output
    assert run("report", "--task", "watched", "--ledger", world["ledger"]).exit_code == 2  # no destination


def read_scalars(path: Path) -> dict[str, list[tuple[int, float]]]:
    """The scalars of a TensorBoard event file (TFRecord framing: length, crc, data, crc)."""
    from tensorboardX.proto.event_pb2 import Event

    data, out, i = path.read_bytes(), {}, 0
    while i < len(data):
        (n,) = struct.unpack_from("<Q", data, i)
        ev = Event.FromString(data[i + 12: i + 12 + n])
        i += 12 + n + 4
        for v in ev.summary.value:
            if v.HasField("simple_value"):
                out.setdefault(v.tag, []).append((ev.step, v.simple_value))
    return out


def test_dashboard_follows_the_ledger_and_sends_big_integers_as_strings(world, tmp_path):
    from wafl_sui.cli.dashboard import ledger_follower
    from wafl_sui.metrics import dashboard

    server, url = dashboard.serve(tmp_path / "m.sqlite", sync=ledger_follower("local", world["ledger"]),
                                  ledger_name=world["ledger"])
    t = dashboard.run_in_thread(server)
    try:
        tasks = json.loads(urllib.request.urlopen(url + "api/tasks", timeout=10).read())
        assert [x["task_id"] for x in tasks["tasks"]] == [world["task_id"]] and tasks["ledger_error"] is None
        data = json.loads(urllib.request.urlopen(url + f"api/task/local/{world['task_id']}", timeout=10).read())
    finally:
        server.shutdown()
        server.server_close()
        t.join(5)
    agg = next(e for e in data["events"] if e["type"] == "RoundAggregated")
    assert isinstance(agg["fields"]["model_commitment"], str) and int(agg["fields"]["model_commitment"]) > 2**53
    assert data["summary"]["status"]["round"] == 1 and [r["accepted"] for r in data["series"]] == [2, 1]


def test_display_helpers():
    assert display.model_round(0) is None and display.model_round(5) == 4
    assert display.model_text(5) == "the model of round 4" and display.model_text(0) == "the initial model"
    assert display.round_text(5, 5, True) == "finished (rounds 0..4 done)"
    assert display.when(1_800_000_060_000, now_ms=1_800_000_000_000) == "2027-01-15 08:01:00 UTC (in 60 s)"
    assert display.when(1_800_000_000_000, now_ms=1_800_000_000_000 + 3 * HOUR_MS).endswith("(3 h ago)")
    assert display.json_safe({"a": 2**53, "b": 2**53 - 1, "c": [True, -(2**60)]}) == {
        "a": str(2**53), "b": 2**53 - 1, "c": [True, str(-(2**60))]}
    with pytest.raises(ValueError):
        display.model_round(-1)


def test_syncing_an_unchanged_task_writes_nothing(world, tmp_path):
    """The dashboard syncs every few seconds: a task that did not change must not look changed."""
    from wafl_sui.metrics import query
    from wafl_sui.metrics.ledger_sync import sync_task
    from wafl_sui.metrics.store import MetricsStore

    store = MetricsStore(tmp_path / "m.sqlite")
    with LocalLedger(world["ledger"], read_only=True) as led:
        sync_task(store, led, "watched")
        version = query.data_version(store, world["task_id"], "local")
        sync_task(store, led, world["task_id"])
    assert query.data_version(store, world["task_id"], "local") == version
    assert len(query.events(store, world["task_id"], "local")) == 9
