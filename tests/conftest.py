"""Shared fixtures: a temporary data directory and the real public data (helpers: helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SHARED_DATA, SPARK_MASTER, skip_unless_ci

# The longest test files, longest first (each file's share of the suite's test time, measured
# with `make test` on the 2-core machine, 2026-12-06; docs/testing.md). Started first, they do
# not end up alone at the end of the run. A file not listed keeps its place after them.
SLOW_FILES = (
    "test_e2e_daemon.py",  # 22 % of the suite's test time
    "test_cli_exit_status.py",  # 13 %
    "test_spark_parity.py",  # 10 %
    "test_cli_e2e.py",  # 8 %
    "test_future_rows.py",  # 7 %
    "test_spark_validation.py",  # added later: about a minute
    "test_skip_unchanged.py",  # added later: about a minute
    "test_validation_stages.py",
    "test_serving_publication.py",
    "test_marts_oracle.py",
    "test_incremental_models.py",
    "test_e2e_launchpad.py",
    "test_validation_e2e.py",
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
    """
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FILES)))


# Files that share a costly resource of the worker process run in the same worker, one after the
# other: both Spark files use the worker's `spark` session (a JVM: about 11 s of CPU to start).
# Under `--dist loadfile` each file is otherwise a unit of its own, sent to either worker.
SAME_WORKER = {
    "test_spark_parity.py": "spark session",
    "test_spark_validation.py": "spark session",
}


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
