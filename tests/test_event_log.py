"""Dagster's SQLite event log under quick_commits (pipeline/event_log.py): a real instance
and a real run; every event is stored and readable, before and after the block ends."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from pipeline.event_log import pooled_event_log, quick_commits


@dg.asset
def _one() -> int:
    return 1


@dg.asset
def _two(_one: int) -> int:
    return _one + 1


def test_a_run_under_quick_commits_stores_every_event(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    job = dg.Definitions(assets=[_one, _two]).resolve_implicit_global_asset_job_def()
    with quick_commits(home) as held:
        instance = dg.DagsterInstance.from_config(str(home))
        result = job.execute_in_process(instance=instance)
        # Kept open: the run storage, the event log index and this run's own event log.
        files = {Path(f).name for f in held}
        assert f"{result.run_id}.db" in files and "index.db" in files and "runs.db" in files
        run_db = next(Path(f) for f in held if Path(f).name == f"{result.run_id}.db")
        # Dagster's connections commit without a full sync (2 = FULL, 1 = NORMAL).
        engine = sa.create_engine(f"sqlite:///{run_db}")
        with engine.connect() as con:
            assert con.execute(sa.text("pragma synchronous")).scalar() == 1
        engine.dispose()
    assert result.success and held == {}  # closed on leaving
    # Read back by a fresh process's view: two steps, each started and succeeded, and the run
    # (stored under Dagster's legacy name PIPELINE_SUCCESS).
    with sqlite3.connect(run_db) as con:
        counts = dict(
            con.execute(
                "select dagster_event_type, count(*) from event_logs "
                "where dagster_event_type in ('STEP_START', 'STEP_SUCCESS', 'PIPELINE_SUCCESS') "
                "group by 1"
            ).fetchall()
        )
    assert counts == {"STEP_START": 2, "STEP_SUCCESS": 2, "PIPELINE_SUCCESS": 1}
    instance = dg.DagsterInstance.from_config(str(home))
    assert instance.get_run_by_id(result.run_id).is_success
    assert instance.get_latest_materialization_event(dg.AssetKey("_two")) is not None
    # The hook is gone: a connection made now keeps SQLite's default (FULL).
    engine = sa.create_engine(f"sqlite:///{run_db}")
    with engine.connect() as con:
        assert con.execute(sa.text("pragma synchronous")).scalar() == 2
    engine.dispose()


def test_other_databases_are_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    elsewhere = tmp_path / "other.db"
    with quick_commits(home) as held:
        engine = sa.create_engine(f"sqlite:///{elsewhere}")
        with engine.connect() as con:
            con.execute(sa.text("pragma journal_mode = wal"))
            assert con.execute(sa.text("pragma synchronous")).scalar() == 2
        engine.dispose()
        assert held == {}


def test_a_run_with_pooled_event_log_stores_every_event(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    job = dg.Definitions(assets=[_one, _two]).resolve_implicit_global_asset_job_def()
    with quick_commits(home):
        instance = dg.DagsterInstance.from_config(str(home))
        storage = instance.event_log_storage
        with pooled_event_log(instance) as engines:
            result = job.execute_in_process(instance=instance)
            # One kept engine for the index and one for the run's own shard, created on use.
            assert set(engines) == {"index", result.run_id}
            # Dagster's index database has its asset table, and no table by a made-up name.
            assert storage.has_table("asset_keys") and not storage.has_table("no_such_table")
        assert engines == {}  # disposed on leaving
        # The storage's own methods are back (instance attributes no longer shadow them).
        assert "_connect" not in vars(storage) and "has_table" not in vars(storage)
        # Events stored after the block go through Dagster's own path and are read back too.
        instance.report_run_canceled(result.dagster_run, message="after the block")
    with sqlite3.connect(storage.path_for_shard(result.run_id)) as con:
        counts = dict(
            con.execute(
                "select dagster_event_type, count(*) from event_logs "
                "where dagster_event_type in ('STEP_START', 'STEP_SUCCESS', 'PIPELINE_SUCCESS', "
                "'PIPELINE_CANCELED') group by 1"
            ).fetchall()
        )
    # Two steps, each started and succeeded; the run's success; the event stored afterwards.
    assert counts == {
        "STEP_START": 2,
        "STEP_SUCCESS": 2,
        "PIPELINE_SUCCESS": 1,
        "PIPELINE_CANCELED": 1,
    }
    fresh = dg.DagsterInstance.from_config(str(home))
    assert fresh.get_latest_materialization_event(dg.AssetKey("_two")) is not None


def test_pooled_event_log_leaves_other_storages_alone(tmp_path: Path) -> None:
    # An ephemeral instance keeps its events in memory: nothing to pool, nothing replaced.
    instance = dg.DagsterInstance.ephemeral()
    with pooled_event_log(instance) as engines:
        result = dg.materialize([_one], instance=instance)
        assert result.success and engines == {}
    assert "_connect" not in vars(instance.event_log_storage)
