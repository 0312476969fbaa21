"""Shared fixtures: a temporary data directory and paths to the real public data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def skip_unless_ci(reason: str) -> None:
    """Skip for a missing prerequisite on a developer machine; fail under ``CI=true``.

    CI has ``../shared/data`` and a package index, so a skip there would hide a failure.
    """
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: a missing prerequisite is a failure, not a skip)")
    pytest.skip(reason)


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
