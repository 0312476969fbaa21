"""Shared fixtures: a temporary data directory and the real public data (helpers: helpers.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import SHARED_DATA, SPARK_MASTER, skip_unless_ci

# The longest test files, longest first, by the seconds each took in two whole `make test`s
# before and after the fourth pass (2026-12-07 21:52 and 22:24, docs/testing.md, "The fourth
# pass"). Both ran under load 5-14 from other sessions, which stretched the processes' stories
# most; the Spark pair keeps the place the idle runs of the third pass gave it (67-115 s, its
# JVM on both cores part of the time). Started first, the long files do not end up alone at the
# end of the run. A file not listed keeps its place after them.
SLOW_FILES = (
    "test_cli_e2e.py",  # 129 s, 94 s: generate, run, run again, a killed run, two more runs
    "test_e2e_daemon.py",  # 121 s, 177 s: webserver + daemon, sensor, launchpad, warm worker
    "test_spark_parity.py",  # with test_spark_validation.py (same worker, SAME_WORKER):
    "test_spark_validation.py",  # 75 s, 224 s (beside another session's Spark tests)
    "test_removed_model.py",  # 115 s, 123 s: demo and four runs on a copy of the code
    "test_cli_watch_troubles.py",  # 112 s, 169 s: a watcher's troubles, a failed run tried again
    "test_marts_oracle.py",  # 112 s, 111 s: four in-process runs of 300 customers
    "test_cli_watch.py",  # 95 s, 174 s: three watcher starts (four before the fourth pass)
    "test_warm_launcher.py",  # 94 s, 125 s: a real warm run worker killed and restarted
    "test_run_interrupted.py",  # 91-135 s at load 9-10, 46 s of CPU: generate and four runs
    "test_incremental_deliveries.py",  # 92 s, 105 s: six in-process runs, day by day and once
    "test_delivery_equivalence.py",  # ~20 s: one sample built seven ways, in process
    "test_first_exports.py",  # 82-115 s under load 9-11: four in-process runs, 34-40 s CPU
    "test_brand_posts.py",  # 100 s, 88 s: in-process runs with and without the brand's handles
    "test_reland.py",  # 46 s, 83 s: four in-process runs of a tiny landing/, two of them relands
    "test_cli_exit_status.py",  # 146 s, 101 s: command lines refused at their start
    "test_serving_publication.py",  # 60 s (the DuckDB 1.x venv built), 26 s
    "test_subset_runs.py",  # 60 s, 35 s
    "test_run_history.py",  # ~40 s under load: small real Dagster runs, aged and deleted
    "test_validation_e2e.py",
    "test_skip_unchanged.py",
    "test_notify.py",
    "test_identity_deliveries.py",
    "test_ingest_real_files.py",
    "test_validation_landed.py",
    "test_order_currency.py",
    "test_ingest_duckdb_csv.py",
    "test_ingest_deliveries.py",
    "test_sensors.py",  # 2 s alone; its interrupted-runs test took ~60 s in some full runs
    "test_validation_stages.py",
    "test_incremental_models.py",
)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory with landing/, set as PIPELINE_DATA_DIR for the test."""
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``; skipped where the folder is absent (a failure under ``CI=true``)."""
    if not SHARED_DATA.is_dir():
        skip_unless_ci("../shared/data is not present")
    return SHARED_DATA


# The JVM of the tests runs many small queries for a few minutes: compiled by the C1 compiler
# only (no C2 re-compilation of code that will not run long enough to pay it back) and with the
# serial garbage collector (no parallel GC threads for a small heap), it took 43 s of CPU
# instead of 88 s for test_spark_parity.py and test_spark_validation.py (docs/testing.md). They
# change how the JVM runs, not what Spark computes. A PYSPARK_SUBMIT_ARGS of your own wins.
SPARK_SUBMIT_ARGS = '--driver-java-options "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" pyspark-shell'


@pytest.fixture(scope="session")
def spark():
    """One local Spark session per test process (each xdist worker), started on first use.

    Starting a JVM costs seconds, so every Spark test shares it; the Spark assets pick it up
    through ``getOrCreate``. Tests must not change its configuration.
    """
    from pipeline.spark.session import spark_session

    with pytest.MonkeyPatch.context() as mp:
        # Read once, when the JVM starts (pyspark's launch_gateway).
        mp.setenv("PYSPARK_SUBMIT_ARGS", os.environ.get("PYSPARK_SUBMIT_ARGS", SPARK_SUBMIT_ARGS))
        session = spark_session(SPARK_MASTER)
    yield session
    session.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the longest test files first, so the two xdist workers end at about the same time.

    ``make test`` distributes whole files (``--dist loadfile --no-loadscope-reorder``) in
    collection order; a long file started last would leave one worker idle while the other
    finishes it. Files are ordered by :data:`SLOW_FILES` (longest first), then as collected.
    Without xdist (no worker) the order given is kept: ``make mutate`` lists its fast tests
    first and stops at the first failure (``-x``).
    """
    if not hasattr(config, "workerinput"):
        return
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FILES)))


# Files that share a costly resource of the worker process run in the same worker, one after the
# other: both Spark files use the worker's `spark` session (a JVM: about 11 s of CPU to start).
# Under `--dist loadfile` each file is otherwise a unit of its own, sent to either worker.
SAME_WORKER = {
    "test_spark_parity.py": "spark session",
    "test_spark_validation.py": "spark session",
}


@pytest.hookimpl(optionalhook=True)  # a run without xdist (-p no:xdist) has no such hook
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` with the files of :data:`SAME_WORKER` as one unit of work."""
    if config.getvalue("dist") != "loadfile":
        return None  # xdist's own scheduler
    from xdist.scheduler import LoadFileScheduling

    class SharedResourceScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return SAME_WORKER.get(Path(scope).name, scope)

    return SharedResourceScheduling(config, log)
