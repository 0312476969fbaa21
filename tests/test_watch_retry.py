"""When ``python -m pipeline watch`` tries a failed run's files again (``pipeline.cli.watch``):
the backoff's arithmetic, which files a try takes, and what the watcher says after a run.

The whole story, a real watcher whose runs fail until the cause is removed, is in
tests/test_cli_watch_troubles.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipeline.automation.sensors import LandingState, Observation
from pipeline.cli.run import EXIT_FAILED, EXIT_NEEDS_ATTENTION, EXIT_OK
from pipeline.cli.watch import Backoff, Retry, Stopper, Watcher, said_seconds

A, B, C = "crm/orders/a.csv", "crm/orders/b.csv", "crm/contacts/c.csv"


def test_the_wait_doubles_from_one_minute_to_at_most_thirty() -> None:
    # By hand: 60 s, then twice as long after each further failure, 1,920 s capped to 1,800.
    assert [Backoff().wait(n) for n in range(1, 8)] == [60, 120, 240, 480, 960, 1800, 1800]
    assert [Backoff(0.2, 0.4).wait(n) for n in (1, 2, 3)] == [0.2, 0.4, 0.4]
    # A cap that is not a doubling of the first wait is reached as it is.
    assert [Backoff(10, 45).wait(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 45]
    # A watcher whose cause lasts for weeks: no overflow (2.0 ** 5000 is not a float).
    assert Backoff().wait(5000) == 1800
    with pytest.raises(ValueError, match="at least 1, not 0"):
        Backoff().wait(0)


def test_waits_are_said_in_seconds_under_a_minute_else_in_minutes() -> None:
    assert [said_seconds(s) for s in (0.2, 0.4, 45, 60, 90, 1800)] == [
        "0.2 s",
        "0.4 s",
        "45 s",
        "1 min",
        "1.5 min",
        "30 min",
    ]


def _seen(sha: str | None) -> Observation:
    return Observation(10, 1, 0.0, sha)


def test_a_try_takes_the_files_still_there_unchanged_and_not_refused() -> None:
    retry = Retry({A: "sha-a", B: "sha-b", C: "sha-c", "crm/orders/d.csv": "sha-d"}, 1, 0.0)
    # a unchanged and landed; b changed since (a new delivery: it runs as one); c unchanged
    # but refused; d gone from landing.
    state = LandingState(files={A: _seen("sha-a"), B: _seen("sha-b2"), C: _seen("sha-c")})
    assert retry.still_to_try(state, {"sha-a": "landed", "sha-c": "refused"}) == {A: "sha-a"}
    # Not in the ledger at all (the run failed before landing it): tried again.
    assert retry.still_to_try(state, {}) == {A: "sha-a", C: "sha-c"}


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    for rel in (A, B):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n", encoding="utf-8")
    return tmp_path


def test_failed_runs_in_a_row_wait_longer_and_one_that_completes_resets(
    landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    watcher = Watcher(None, 1.0, Stopper(), Backoff(60, 1800))
    before = time.monotonic()
    # b was refused by the failed run (the ingest moves such a file away; here it stayed).
    watcher.after_run(EXIT_FAILED, {A: "sha-a", B: "sha-b"}, landing, {"sha-b": "refused"})
    assert watcher.retry is not None
    assert (watcher.retry.files, watcher.retry.failures) == ({A: "sha-a"}, 1)
    assert watcher.retry.due >= before + 60
    said = capsys.readouterr().out
    assert said.startswith(f"the run failed: trying {A} again in 1 min (at ")
    assert said.endswith("; attempt 2), or at once with a new or changed file\n")
    assert watcher.run_heading([], {A: "sha-a"}) == (
        f"trying again, attempt 2 (if it fails, the next in 2 min): {A}"
    )
    watcher.after_run(EXIT_FAILED, {A: "sha-a"}, landing, {"sha-a": "landed"})
    assert watcher.retry.failures == 2
    assert "again in 2 min (at " in capsys.readouterr().out
    assert watcher.run_heading([], {A: "sha-a"}).startswith("trying again, attempt 3 (if it ")
    # A new file's run carries the failed run's files; it fails: one more failure in a row.
    assert watcher.run_heading([B], {A: "sha-a"}) == (
        f"new files: {B}; with them again, attempt 3: {A}"
    )
    watcher.after_run(EXIT_FAILED, {A: "sha-a", B: "sha-b"}, landing, {})
    assert (watcher.retry.files, watcher.retry.failures) == ({A: "sha-a", B: "sha-b"}, 3)
    assert f"trying {A}, {B} again in 4 min (at " in capsys.readouterr().out
    # A run that completes (refused files or quarantined rows included) resets the backoff.
    watcher.after_run(EXIT_NEEDS_ATTENTION, {A: "sha-a"}, landing, {})
    assert watcher.retry is None
    assert watcher.run_heading([B], {}) == f"new files: {B}"
    watcher.after_run(EXIT_FAILED, {A: "sha-a"}, landing, {})
    assert watcher.retry.failures == 1  # counted from 1 again
    watcher.after_run(EXIT_OK, {A: "sha-a"}, landing, {})
    assert watcher.retry is None
    assert capsys.readouterr().out.count("the run failed: trying") == 1


def test_a_failed_run_with_nothing_left_to_try_or_a_stopping_watcher_tries_nothing(
    landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    watcher = Watcher(None, 1.0, Stopper())
    # Its one file refused, the other moved away from landing/ meanwhile.
    ran = {A: "sha-a", "crm/orders/gone.csv": "sha-g"}
    watcher.after_run(EXIT_FAILED, ran, landing, {"sha-a": "refused"})
    assert watcher.retry is None
    assert capsys.readouterr().out == (
        "not tried again: the failed run's files were refused or are gone\n"
    )
    watcher.stopper.stopping = True  # SIGTERM during the run: the watcher ends after it
    watcher.after_run(EXIT_FAILED, {A: "sha-a"}, landing, {})
    assert watcher.retry is None and capsys.readouterr().out == ""


def test_retry_waits_that_make_no_sense_are_refused_saying_why() -> None:
    assert Backoff.given(0.2, 0.2) == Backoff(0.2, 0.2)
    with pytest.raises(ValueError) as refused:
        Backoff.given(60, 30)
    assert str(refused.value) == (
        "--retry-after 60 --retry-max 30: give seconds > 0, the most at least the first"
    )
    with pytest.raises(ValueError, match="^--retry-after 0 --retry-max 1800: "):
        Backoff.given(0, 1800)


def test_a_backlog_is_named_by_its_first_five_files_before_its_run(landing: Path) -> None:
    # 2,000 files copied in at once made the line before the run 2,000 paths long.
    watcher = Watcher(None, 1.0, Stopper(), Backoff(60, 1800))
    new = [f"crm/orders/o{i:04d}.csv" for i in range(2000)]
    assert watcher.run_heading(new, {}) == (
        "new files: crm/orders/o0000.csv, crm/orders/o0001.csv, crm/orders/o0002.csv, "
        "crm/orders/o0003.csv, crm/orders/o0004.csv and 1,995 more"
    )
