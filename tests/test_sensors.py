"""The landing sensor through ``build_sensor_context``, and the nightly schedule."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
import psutil
import pytest

from pipeline.automation.schedules import REFRESH_JOB, build_nightly_schedule
from pipeline.automation.sensors import (
    LandingState,
    build_interrupted_runs_sensor,
    build_landing_sensor,
    landing_deliveries,
    scan,
)
from pipeline.config import ConfigError, PipelineConfig
from pipeline.entities import ENTITIES

ORDERS = "crm/orders"


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _stand_in(name: str, deps: list[str]) -> dg.AssetsDefinition:
    @dg.asset(name=name, deps=deps)
    def _asset() -> None:
        return None

    return _asset


def small_definitions() -> dg.Definitions:
    """Raw assets, pipeline_settings, two staging models, a mart and serving (stand-ins)."""
    raw = [_stand_in(e.raw_table, []) for e in ENTITIES.values()]
    return dg.Definitions(
        assets=[
            *raw,
            _stand_in("pipeline_settings", []),
            _stand_in("stg_orders", ["raw_orders", "pipeline_settings"]),
            _stand_in("stg_contacts", ["raw_contacts", "pipeline_settings"]),
            _stand_in("retention_monthly", ["stg_orders", "stg_contacts"]),
            _stand_in("serving_marts", ["retention_monthly"]),
        ],
        jobs=[REFRESH_JOB],
    )


@pytest.fixture
def instance() -> dg.DagsterInstance:
    """An ephemeral instance where every raw asset has been materialised before."""
    inst = dg.DagsterInstance.ephemeral()
    for entity in ENTITIES.values():
        inst.report_runless_asset_event(dg.AssetMaterialization(entity.raw_table))
    return inst


def evaluate(data_dir: Path, instance: dg.DagsterInstance, cursor: str | None):
    """One evaluation of the landing sensor; returns the SensorResult."""
    defs = small_definitions()
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        resources={"config": PipelineConfig(data_dir=str(data_dir))},
    )
    sensor = build_landing_sensor(minimum_interval_seconds=1)
    return sensor(context)


def drop(data_dir: Path, rel: str, text: str) -> Path:
    path = data_dir / "landing" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_new_file_gives_one_run_and_the_same_file_again_none(
    data_dir: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_SETTLE_SECONDS", "0")
    drop(data_dir, f"{ORDERS}/orders_1.csv", "order_id\nA1\n")
    first = evaluate(data_dir, instance, None)
    (request,) = first.run_requests
    # raw_orders is new; pipeline_settings always runs; downstream of both: stg_orders,
    # stg_contacts (via pipeline_settings), retention_monthly, serving_marts. Other raw: no.
    assert sorted(k.to_user_string() for k in request.asset_selection) == [
        "pipeline_settings",
        "raw_orders",
        "retention_monthly",
        "serving_marts",
        "stg_contacts",
        "stg_orders",
    ]
    assert request.tags["pipeline/entities"] == "orders"
    # The run key is sha256 over the batch's sorted content hashes, one per line: here one.
    content = hashlib.sha256(b"order_id\nA1\n").hexdigest()
    assert request.run_key == hashlib.sha256(content.encode()).hexdigest()

    again = evaluate(data_dir, instance, first.cursor)
    assert again.run_requests == []
    # The same bytes under another name are no new delivery either.
    drop(data_dir, f"{ORDERS}/orders_1_copy.csv", "order_id\nA1\n")
    copy = evaluate(data_dir, instance, again.cursor)
    assert copy.run_requests == []


def test_a_tickets_file_also_runs_the_surveys_its_export_may_hold(
    data_dir: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Zendesk's ticket export lands survey responses with its tickets (the companion mapping
    # zendesk_satisfaction): raw_surveys runs too, so that what reads it is rebuilt in the run.
    monkeypatch.setenv("PIPELINE_SETTLE_SECONDS", "0")
    drop(data_dir, "crm/tickets/export.csv", "Id\n1\n")
    (request,) = evaluate(data_dir, instance, None).run_requests
    selected = {k.to_user_string() for k in request.asset_selection}
    assert {"raw_tickets", "raw_surveys"} <= selected
    assert "raw_orders" not in selected
    assert request.tags["pipeline/entities"] == "tickets"


def test_growing_file_is_not_picked_up(
    data_dir: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_SETTLE_SECONDS", "3600")
    path = drop(data_dir, f"{ORDERS}/big.csv", "order_id\nA1\n")
    first = evaluate(data_dir, instance, None)
    assert first.run_requests == []
    with path.open("a", encoding="utf-8") as fh:
        fh.write("A2\n")
    second = evaluate(data_dir, instance, first.cursor)
    assert second.run_requests == []
    assert second.skip_reason.skip_message == (
        "waiting for 1 file to settle (unchanged for 3600 s, or a .done/.ready marker "
        "beside it): crm/orders/big.csv"
    )
    # Seven growing files: five named, and the two left out counted (not a list cut silently).
    for n in range(2, 8):
        drop(data_dir, f"{ORDERS}/big{n}.csv", "order_id\nA1\n")
    third = evaluate(data_dir, instance, second.cursor)
    assert third.skip_reason.skip_message.endswith(
        ": crm/orders/big.csv, crm/orders/big2.csv, crm/orders/big3.csv, crm/orders/big4.csv, "
        "crm/orders/big5.csv and 2 more"
    )
    assert third.skip_reason.skip_message.startswith("waiting for 7 files to settle")


def test_a_tick_with_nothing_new_names_the_files_outside_the_entity_folders(
    data_dir: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_SETTLE_SECONDS", "3600")
    drop(data_dir, f"{ORDERS}/big.csv", "order_id\nA1\n")  # waits to settle
    # Nothing reads these: a mistyped entity folder and the landing folder itself.
    drop(data_dir, "crm/order/o.csv", "order_id\nA2\n")
    drop(data_dir, "contacts.csv", "contact_id\nC1\n")
    result = evaluate(data_dir, instance, None)
    assert result.run_requests == []
    landing = data_dir / "landing"
    # The run summary's and the watcher's words (pipeline/ingest/landing.py), on one line.
    assert result.skip_reason.skip_message == (
        "waiting for 1 file to settle (unchanged for 3600 s, or a .done/.ready marker beside "
        "it): crm/orders/big.csv; "
        f"not read: 2 files in {landing} outside the entity folders (crm/contacts, "
        "crm/orders, crm/tickets, crm/surveys, email/events, social/mentions); move each into "
        "its entity's folder to have it landed: contacts.csv, crm/order/o.csv"
    )
    # Moved where they belong, they are no longer named (and the orders file waits to settle).
    (landing / "crm/order/o.csv").rename(landing / ORDERS / "o.csv")
    (landing / "contacts.csv").unlink()
    again = evaluate(data_dir, instance, result.cursor)
    assert again.skip_reason.skip_message == (
        "waiting for 2 files to settle (unchanged for 3600 s, or a .done/.ready marker beside "
        "it): crm/orders/big.csv, crm/orders/o.csv"
    )


def test_marker_file_short_circuits_the_settle_period(
    data_dir: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_SETTLE_SECONDS", "3600")
    drop(data_dir, "crm/tickets/t.csv", "ticket_id\nT1\n")
    drop(data_dir, "social/mentions/m.csv", "mention_id\nM1\n")
    drop(data_dir, "crm/tickets/t.csv.done", "")
    result = evaluate(data_dir, instance, None)
    (request,) = result.run_requests
    # Only the ticket file has its marker; the mention waits for the settle period.
    assert request.tags["pipeline/entities"] == "tickets"
    assert request.tags["pipeline/files"] == "1"
    assert result.cursor is not None
    assert "social/mentions/m.csv" in LandingState.from_cursor(result.cursor).files


def test_raw_assets_never_materialised_are_included(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPELINE_SETTLE_SECONDS", "0")
    drop(data_dir, f"{ORDERS}/o.csv", "order_id\nA1\n")
    result = evaluate(data_dir, dg.DagsterInstance.ephemeral(), None)
    (request,) = result.run_requests
    # A fresh instance: all six raw assets run so every raw table the staging reads exists.
    selected = {k.to_user_string() for k in request.asset_selection}
    assert {e.raw_table for e in ENTITIES.values()} <= selected


def test_scan_settles_after_the_period_and_survives_a_restart(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    path = landing / ORDERS / "o.csv"
    path.parent.mkdir(parents=True)
    path.write_text("order_id\nA1\n", encoding="utf-8")
    batch, state, waiting = scan(landing, LandingState(), now=1000.0, settle=30)
    assert (batch, waiting) == (None, ["crm/orders/o.csv"])
    # 29 s later: still inside the period.
    batch, state, _ = scan(landing, state, now=1029.0, settle=30)
    assert batch is None
    # A restarted daemon resumes from the serialised cursor; at 30 s the file is complete.
    state = LandingState.from_cursor(state.to_cursor())
    batch, state, waiting = scan(landing, state, now=1030.0, settle=30)
    assert batch is not None and waiting == []
    assert batch.files == {"crm/orders/o.csv": ("orders", sha256_of("order_id\nA1\n"))}
    # Once requested, never again, even after another restart.
    state = LandingState.from_cursor(state.to_cursor())
    batch, _, _ = scan(landing, state, now=5000.0, settle=30)
    assert batch is None


def test_hidden_temporary_and_marker_files_are_ignored(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    folder = landing / ORDERS
    folder.mkdir(parents=True)
    names = [
        "ok.csv",
        ".hidden.csv",
        "~$orders.xlsx",
        "orders.csv.part",
        "orders.csv.crdownload",
        "x.tmp",
        "ok.csv.done",
        "ok.csv.ready",
    ]
    for name in names:
        (folder / name).write_text("x", encoding="utf-8")
    (folder / ".sync").mkdir()
    (folder / ".sync" / "inner.csv").write_text("x", encoding="utf-8")
    (landing / "unknown_folder").mkdir()
    (landing / "unknown_folder" / "stray.csv").write_text("x", encoding="utf-8")
    assert list(landing_deliveries(landing)) == ["crm/orders/ok.csv"]


def test_bad_settle_period_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_SETTLE_SECONDS", "soon")
    (tmp_path / "landing").mkdir()
    with pytest.raises(ConfigError, match="PIPELINE_SETTLE_SECONDS='soon' is not a number"):
        evaluate(tmp_path, dg.DagsterInstance.ephemeral(), None)


def test_nightly_schedule_defaults_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPELINE_NIGHTLY_CRON", raising=False)
    monkeypatch.setenv("PIPELINE_TIMEZONE", "Europe/Bucharest")
    schedule = build_nightly_schedule()
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/Bucharest"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "refresh"
    monkeypatch.setenv("PIPELINE_NIGHTLY_CRON", "30 3 * * 1-5")
    assert build_nightly_schedule().cron_schedule == "30 3 * * 1-5"
    monkeypatch.setenv("PIPELINE_NIGHTLY_CRON", "at two")
    with pytest.raises(ConfigError, match="PIPELINE_NIGHTLY_CRON='at two' is not a cron"):
        build_nightly_schedule()


# A real run killed in its step: its process exits while the run is STARTED and holds a slot of
# the warehouse pool, as a `python -m pipeline run` killed with SIGKILL leaves it. (Public API
# only: Dagster's in-process executor records the pid, which the sensor reads back.)
DIES_IN_ITS_STEP = """
import os, sys
import dagster as dg

@dg.asset(pool="warehouse")
def raw_orders():
    os._exit(1)

dg.materialize([raw_orders], instance=dg.DagsterInstance.from_config(sys.argv[1]))
"""


def test_interrupted_runs_sensor_fails_dead_runs_and_frees_their_slot(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    instance.event_log_storage.set_concurrency_slots("warehouse", 2)
    gone = subprocess.run([sys.executable, "-c", DIES_IN_ITS_STEP, str(tmp_path)], timeout=300)
    assert gone.returncode == 1
    (dead,) = [r.run_id for r in instance.get_runs()]
    # A live run: this process, in its step on another thread until released.
    in_step, release = threading.Event(), threading.Event()

    @dg.asset(pool="warehouse")
    def raw_contacts() -> None:
        in_step.set()
        release.wait(timeout=300)

    live = threading.Thread(
        target=dg.materialize, args=([raw_contacts],), kwargs={"instance": instance}
    )
    live.start()
    try:
        assert in_step.wait(timeout=300)
        (alive,) = [r.run_id for r in instance.get_runs() if r.run_id != dead]
        assert {r.run_id: r.status for r in instance.get_runs()} == {
            dead: dg.DagsterRunStatus.STARTED,
            alive: dg.DagsterRunStatus.STARTED,
        }
        # Both hold a warehouse slot: the dead run's was never given back.
        info = instance.event_log_storage.get_concurrency_info("warehouse")
        assert sorted(s.run_id for s in info.claimed_slots) == sorted([dead, alive])
        sensor = build_interrupted_runs_sensor()
        result = sensor(dg.build_sensor_context(instance=instance))
        assert result.skip_message == (
            f"marked 1 interrupted run failed (their process was gone): {dead}"
        )
        assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
        # Only the live run still holds a warehouse slot.
        info = instance.event_log_storage.get_concurrency_info("warehouse")
        assert [s.run_id for s in info.claimed_slots] == [alive]
        # Nothing more to do on the next tick.
        assert sensor(dg.build_sensor_context(instance=instance)).skip_message == (
            "no interrupted runs"
        )
    finally:
        release.set()
        live.join(timeout=300)
        _stop_orphans(tmp_path)
    assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.SUCCESS


def _stop_orphans(under: Path) -> None:
    """Stop the processes the killed run left behind: Dagster's compute-log tailers (``tail -F``
    of the step's log files under ``under``) outlive a process that exits without cleaning up,
    so each run of the test above left two of them running for good."""
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(under) in part for part in proc.info["cmdline"] or []):
            proc.kill()


def test_a_backlog_is_named_by_its_first_files_and_counted_in_the_tick_log(
    data_dir: Path,
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # 60 files at once are one run; the tick's log line names 5 and counts the rest (before:
    # every path, one line of 2,000 paths for a holiday's backlog).
    monkeypatch.setenv("PIPELINE_SETTLE_SECONDS", "0")
    for i in range(60):
        drop(data_dir, f"{ORDERS}/o{i:02d}.csv", f"order_id\nA{i}\n")
    (request,) = evaluate(data_dir, instance, None).run_requests
    assert request.tags["pipeline/files"] == "60"
    # The tick's log, as the daemon's console shows it
    (line,) = [x for x in capfd.readouterr().err.splitlines() if "new files for" in x]
    assert (
        "new files for orders (60 files): crm/orders/o00.csv, crm/orders/o01.csv, "
        "crm/orders/o02.csv, crm/orders/o03.csv, crm/orders/o04.csv and 55 more; the run builds"
    ) in line
