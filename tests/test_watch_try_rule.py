"""Which of a failed run's files ``python -m pipeline watch`` tries again: one rule
(``pipeline.cli.watch.worth_trying``) at the end of the failed run and at each try.

The backoff and what the watcher says are in tests/test_watch_retry.py; a real watcher whose
runs fail is in tests/test_cli_watch_troubles.py.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.automation.sensors import LandingState, Observation
from pipeline.cli.run import EXIT_FAILED
from pipeline.cli.watch import Backoff, Retry, Stopper, Watcher, worth_trying

A, B, C = "crm/orders/a.csv", "crm/orders/b.csv", "crm/contacts/c.csv"


def test_a_file_is_tried_again_unless_refused_or_no_longer_there() -> None:
    ran = {A: "sha-a", B: "sha-b", C: "sha-c"}
    ledger = {"sha-a": "landed", "sha-b": "refused"}  # c: the run failed before it

    def there(rel: str, _sha: str) -> bool:
        return rel != C

    # a landed (its steps after ingest failed): tried; b refused: never; c gone: never.
    assert worth_trying(ran, ledger, there) == {A: "sha-a"}
    assert worth_trying(ran, {}, lambda _rel, _sha: True) == ran
    assert worth_trying(ran, ledger, lambda _rel, _sha: False) == {}


def test_the_end_of_a_failed_run_and_the_try_apply_the_same_rule(tmp_path: Path) -> None:
    # a and c are in landing/ as the run took them, b was moved away; c was refused.
    for rel in (A, C):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n", encoding="utf-8")
    ran = {A: "sha-a", B: "sha-b", C: "sha-c"}
    ledger = {"sha-c": "refused"}
    watcher = Watcher(None, 1.0, Stopper(), Backoff(60, 1800))
    watcher.after_run(EXIT_FAILED, ran, tmp_path, ledger)
    assert watcher.retry is not None and watcher.retry.files == {A: "sha-a"}
    # The next look saw what is there, hashed: the try takes the same files.
    seen = {A: Observation(2, 1, 0.0, "sha-a"), C: Observation(2, 1, 0.0, "sha-c")}
    state = LandingState(files=seen)
    assert Retry(ran, 1, 0.0).still_to_try(state, ledger) == {A: "sha-a"}
