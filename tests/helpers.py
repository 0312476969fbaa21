"""Plain helpers shared by the test modules (fixtures live in ``conftest.py``).

Import them as ``from helpers import …``: pytest puts ``tests/`` on ``sys.path`` (the
rootdir-relative ``prepend`` import mode), as it does for ``marts_fixtures`` and
``ingest_support``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
# The local master of the shared `spark` fixture (conftest.py): two threads, the two cores.
SPARK_MASTER = "local[2]"


def skip_unless_ci(reason: str) -> None:
    """Skip for a missing prerequisite on a developer machine; fail under ``CI=true``.

    CI has ``../shared/data`` and a package index, so a skip there would hide a failure.
    """
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: a missing prerequisite is a failure, not a skip)")
    pytest.skip(reason)


def cli(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` on ``data_dir`` (as_of 2026-10-31, no DAGSTER_HOME), captured."""
    environ = {**os.environ, "PIPELINE_DATA_DIR": str(data_dir), "PIPELINE_AS_OF": "2026-10-31"}
    environ.pop("DAGSTER_HOME", None)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
