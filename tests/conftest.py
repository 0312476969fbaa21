"""Shared fixtures: a temporary data directory and the real public data (helpers: helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SHARED_DATA, SPARK_MASTER, skip_unless_ci

# The longest test files, longest first, by the CPU time each takes alone (user + system, the
# JVM's included; measured file by file on the 2-core machine under a load of 20-26 from other
# sessions, 2026-12-06, so wall times were 3-12 times longer; docs/testing.md). Started first,
# they do not end up alone at the end of the run. A file not listed keeps its place after them.
SLOW_FILES = (
    "test_spark_parity.py",  # with test_spark_validation.py (same worker, SAME_WORKER): ~146 s
    "test_spark_validation.py",
    "test_e2e_daemon.py",  # webserver + daemon, three runs and a launchpad run
    "test_cli_e2e.py",  # ~72 s: generate, run, run again, a killed run, the next run
    "test_cli_exit_status.py",
    "test_sensors.py",  # 2 s alone, but its interrupted-runs test took 62 s in a full run
    "test_marts_oracle.py",
    "test_skip_unchanged.py",
    "test_validation_e2e.py",
    "test_validation_stages.py",
    "test_serving_publication.py",
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


@pytest.fixture(scope="session")
def spark():
    """One local Spark session per test process (each xdist worker), started on first use.

    Starting a JVM costs seconds, so every Spark test shares it; the Spark assets pick it up
    through ``getOrCreate``. Tests must not change its configuration.
    """
    from pipeline.spark.session import spark_session

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
