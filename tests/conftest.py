"""Shared fixtures: a temporary data directory and the real public data (helpers: helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SHARED_DATA, skip_unless_ci


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
