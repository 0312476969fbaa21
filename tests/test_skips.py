"""A missing prerequisite skips on a developer machine and fails in CI, never hides there."""

from __future__ import annotations

import pytest
from helpers import skip_unless_ci


def test_a_missing_prerequisite_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no data"):
        skip_unless_ci("no data")


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_a_missing_prerequisite_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="no data .CI=true"):
        skip_unless_ci("no data")


def test_ci_runs_the_tests_with_ci_true() -> None:
    from helpers import REPO_ROOT

    assert "CI=true make test" in (REPO_ROOT / ".ci" / "run").read_text()
