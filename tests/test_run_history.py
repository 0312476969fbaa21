"""Dagster's run history is kept for PIPELINE_RUN_HISTORY_DAYS days, not for ever.

A nightly run stores about 2.5 MB of events whatever the data's size (bench/months.py: 2,000
customers, 90 nights, docs/performance.md), and Dagster never deletes a run: the instance grew
without bound, past the warehouse's size within a month. These tests make real runs of a small
job, with a picture in its metadata as the pipeline's charts have, in a real SQLite instance,
age some of them by editing their ``update_timestamp`` in ``runs.db``, and check that the runs
older than the setting go with their files, that the newer ones stay, and that the history's
size stops growing once runs are deleted as fast as they are made.
"""

from __future__ import annotations

import base64
import os
import sqlite3
from pathlib import Path

import dagster as dg
import pytest

from pipeline.automation.history import prune_run_history
from pipeline.automation.instance import ensure_instance_config
from pipeline.automation.sensors import build_interrupted_runs_sensor
from pipeline.cli.run import forget_old_runs

# About the size of one of the charts the pipeline attaches to its assets (incompressible).
PICTURE = base64.b64encode(os.urandom(45_000)).decode()


@dg.asset
def chart() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"picture": dg.MetadataValue.md(f"![chart](data:image/png;base64,{PICTURE})")}
    )


def _runs(instance: dg.DagsterInstance, n: int) -> list[str]:
    return [dg.materialize([chart], instance=instance).run_id for _ in range(n)]


def _age(home: Path, run_ids: list[str], days: int) -> None:
    """Make ``run_ids`` look as if they ended ``days`` days ago (the runs' own table)."""
    with sqlite3.connect(home / "history" / "runs.db") as con:
        for run_id in run_ids:
            con.execute(
                "update runs set update_timestamp = datetime(update_timestamp, ?), "
                "create_timestamp = datetime(create_timestamp, ?) where run_id = ?",
                (f"-{days} days", f"-{days} days", run_id),
            )


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_runs_older_than_the_setting_go_with_their_files(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    old, new = _runs(instance, 2), _runs(instance, 1)
    # A run started long ago that has not ended (a queued or a running one alike).
    running = instance.add_run(
        dg.DagsterRun(job_name="refresh", status=dg.DagsterRunStatus.STARTED)
    ).run_id
    _age(tmp_path, [running], 400)
    shards = tmp_path / "history" / "runs"
    assert all((shards / f"{r}.db").exists() for r in old + new)
    _age(tmp_path, old, 91)
    _age(tmp_path, new, 89)

    # At most ``limit`` a call (the sensor's tick takes 20): the rest at the next.
    first = prune_run_history(instance, 90, limit=1)
    assert len(first) == 1
    assert sorted(first + prune_run_history(instance, 90)) == sorted(old)

    assert sorted(r.run_id for r in instance.get_runs()) == sorted([*new, running])
    # The run's own file, its events in the index and its captured output are gone.
    assert not any((shards / f"{r}.db").exists() for r in old)
    assert all((shards / f"{r}.db").exists() for r in new)
    assert not any((tmp_path / "storage" / r).exists() for r in old)
    # The index holds the newer runs' events only (the UI's history of the asset).
    records = instance.fetch_materializations(dg.AssetKey("chart"), limit=100).records
    assert sorted(r.run_id for r in records) == sorted(new)
    assert instance.get_latest_materialization_event(dg.AssetKey("chart")).run_id == new[-1]
    # Nothing more to delete; 0 days keeps everything.
    assert prune_run_history(instance, 90) == []
    _age(tmp_path, new, 1000)
    assert prune_run_history(instance, 0) == []
    assert sorted(r.run_id for r in instance.get_runs()) == sorted([*new, running])


def test_the_history_stops_growing_once_old_runs_are_deleted(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    history = tmp_path / "history"
    sizes = []
    kept: list[str] = []
    for _ in range(5):
        # One night: every run a day older, a new run, then the runs older than 2 days go.
        _age(tmp_path, kept, 1)
        kept += _runs(instance, 1)
        kept = [r for r in kept if r not in prune_run_history(instance, 2)]
        sizes.append(_size(history))
    # The runs of the last 2 days: this night's and last night's.
    assert len(instance.get_runs()) == 2
    # From the second night on, two runs' events at most: SQLite uses the index's freed pages
    # again. Without the deletion the fifth night's history held 5 runs, 2.0 × the second's.
    assert sizes[-1] <= 1.25 * sizes[1], sizes


def test_pipeline_run_and_the_ui_sensor_delete_old_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ensure_instance_config(tmp_path / "dagster_home")  # the pipeline's dagster.yaml
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PIPELINE_RUN_HISTORY_DAYS", "30")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        old = _runs(instance, 2)
        _age(home, old[:1], 31)
        # `python -m pipeline run` (and the watcher): before its run, said on a line.
        forget_old_runs(tmp_path)
        assert capsys.readouterr().out == (
            "deleted 1 run older than 30 days from Dagster's history (PIPELINE_RUN_HISTORY_DAYS)\n"
        )
        assert [r.run_id for r in instance.get_runs()] == [old[1]]
        # The runs the UI, the landing sensor and the schedule start: the interrupted_runs
        # sensor's tick, every minute under `make ui`.
        _age(home, old[1:], 31)
        sensor = build_interrupted_runs_sensor()
        result = sensor(dg.build_sensor_context(instance=instance))
        assert result.skip_message == (
            "no interrupted runs; deleted 1 run older than 30 days from the history "
            "(PIPELINE_RUN_HISTORY_DAYS)"
        )
        assert instance.get_runs() == []
        assert sensor(dg.build_sensor_context(instance=instance)).skip_message == (
            "no interrupted runs"
        )
        # The setting at 0: nothing is deleted, and nothing is said.
        kept = _runs(instance, 1)
        _age(home, kept, 5000)
        monkeypatch.setenv("PIPELINE_RUN_HISTORY_DAYS", "0")
        forget_old_runs(tmp_path)
        assert capsys.readouterr().out == ""
        assert [r.run_id for r in instance.get_runs()] == kept


def test_old_runs_left_when_the_history_cannot_be_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A DAGSTER_HOME that is a file: Dagster cannot open the instance; the run must go on.
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("run_storage: [not, a, mapping]\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    forget_old_runs(tmp_path)
    err = capsys.readouterr().err
    assert err.startswith(
        "warning: could not delete runs older than 90 days from Dagster's history "
        "(PIPELINE_RUN_HISTORY_DAYS): "
    )
    assert err.endswith("; the run goes on\n")
