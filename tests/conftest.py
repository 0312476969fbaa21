"""Shared fixtures: a temporary data directory and the real public data (helpers: helpers.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import SHARED_DATA, SPARK_MASTER, skip_unless_ci

# The longest test files, longest first, by the seconds of test time each took in the whole
# `make test` of the fifth pass (2026-12-08 00:35, 29 min 20 s under load 9-13 from other
# sessions, docs/testing.md, "The fifth pass"), the Spark pair counted as one (SAME_WORKER).
# Started first, the long files do not end up alone at the end of the run: replayed with that
# run's durations (each worker taking the next file when it is free), this order leaves the two
# workers 5 s of test time apart, the fourth pass's order 0 s (the run itself: 1,682 s of test
# time per worker, 1,761 s of wall). A file not listed keeps its place after them.
SLOW_FILES = (
    "test_e2e_daemon.py",  # 260 s: webserver + daemon, sensor, launchpad, warm worker
    "test_cli_watch.py",  # 230 s: three watcher starts (its first test's set-up 229 s)
    "test_spark_parity.py",  # with test_spark_validation.py (same worker, SAME_WORKER):
    "test_spark_validation.py",  # 214 s + 13 s
    "test_cli_watch_troubles.py",  # 223 s: a watcher's troubles, a failed run tried again
    "test_brand_posts.py",  # 208 s (fourteen in-process runs; thirteen since this pass)
    "test_warm_launcher.py",  # 178 s: a real warm run worker killed and restarted
    "test_marts_oracle.py",  # 171 s: four in-process runs of 300 customers
    "test_cli_e2e.py",  # 161 s: generate, run, run again, a killed run, two more runs
    "test_removed_model.py",  # 155 s: demo and four runs on a copy of the code
    "test_cli_exit_status.py",  # 149 s: command lines refused at their start
    "test_incremental_deliveries.py",  # 139 s: six in-process runs, day by day and once
    "test_run_interrupted.py",  # 91-135 s at load 9-10, 46 s of CPU: generate and four runs
    "test_first_exports.py",  # 82-115 s under load 9-11: four in-process runs, 34-40 s CPU
    "test_delivery_equivalence.py",  # 81 s: one sample built seven ways, in process
    "test_reland.py",  # 46 s, 83 s: four in-process runs of a tiny landing/, two of them relands
    "test_notify.py",  # 64 s
    "test_order_currency.py",  # 58 s
    "test_identity_deliveries.py",  # 46 s
    "test_validation_e2e.py",  # 38 s
    "test_skip_unchanged.py",  # 37 s
    "test_ingest_real_files.py",  # 36 s
    "test_ingest_duckdb_csv.py",  # 36 s
    "test_social_listening.py",  # 35 s
    "test_serving_publication.py",  # 34 s (the DuckDB 1.x venv built in a fresh worktree)
    "test_validation_stages.py",  # 32 s
    "test_ingest_companions.py",  # 31 s
    "test_ingest_core.py",  # 28 s
    "test_subset_runs.py",  # 27 s
    "test_incremental_models.py",  # 25 s
    "test_sentiment.py",  # 25 s
    "test_sensors.py",  # 21 s; its interrupted-runs test took ~60 s in some full runs
    "test_run_history.py",  # 19 s
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
