"""Plain helpers shared by the test modules (fixtures live in ``conftest.py``).

Import them as ``from helpers import …``: pytest puts ``tests/`` on ``sys.path`` (the
rootdir-relative ``prepend`` import mode), as it does for ``marts_fixtures`` and
``ingest_support``.
"""

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
