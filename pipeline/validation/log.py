"""The run log: every suite outcome of a run, one JSON line each, in
``<data>/validation/runs/<run_id>.jsonl``. The landed validator and the checks run in other
processes (Dagster's multiprocess executor); the checks, the Data Docs index and the cost report
read the log back. Only the newest :data:`KEEP_RUNS` logs are kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

from pipeline.pii import open_owner_only
from pipeline.validation.outcome import SuiteOutcome

KEEP_RUNS = 50


def log_dir(data_dir: Path) -> Path:
    """Where the run logs live."""
    return Path(data_dir) / "validation" / "runs"


def log_path(data_dir: Path, run_id: str) -> Path:
    """The log file of one run."""
    return log_dir(data_dir) / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id)}.jsonl"


class ValidationLog:
    """A results sink: appends each outcome of run ``run_id`` to the run's log file."""

    def __init__(self, data_dir: Path, run_id: str) -> None:
        self.data_dir, self.run_id = Path(data_dir), run_id
        self.path = log_path(self.data_dir, run_id)

    def __call__(self, outcome: SuiteOutcome) -> None:
        """Record one outcome (one short append, safe across processes); a new log prunes the
        oldest."""
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = json.dumps(asdict(outcome), ensure_ascii=False, default=str) + "\n"
        if not new and not _ends_a_line(self.path):
            record = "\n" + record  # after a record cut short: a line of its own
        # Owner-only, as the quarantine CSV files: an outcome quotes unexpected values, which
        # may be a person's address or phone number (docs/operations.md "What goes where").
        with open_owner_only(self.path, append=True, encoding="utf-8") as fh:
            fh.write(record)
        if new:
            logs = sorted(log_dir(self.data_dir).glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
            for old in logs[:-KEEP_RUNS]:
                old.unlink(missing_ok=True)


def read_log(data_dir: Path, run_id: str) -> list[SuiteOutcome]:
    """Every outcome recorded for ``run_id`` (empty when none)."""
    path = log_path(data_dir, run_id)
    if not path.exists():
        return []
    # Only "\n" ends a record: json.dumps escapes it inside strings, but not the other line
    # breaks str.splitlines() knows (U+2028, U+0085, \x1c...), which a value may hold.
    lines = path.read_text(encoding="utf-8").split("\n")
    return [SuiteOutcome.from_dict(record) for line in lines if (record := _record(line))]


def _record(line: str) -> dict | None:
    """A line's record; None for a blank line or a record cut short. A run stopped (a kill, a
    full disk) in the middle of an append leaves one, and every later run read it in its Data
    Docs index (the newest logs) and failed its checks' step on it."""
    if not line.strip():
        return None
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def _ends_a_line(path: Path) -> bool:
    """Whether ``path`` is empty or ends with a newline (no record cut short at its end)."""
    with path.open("rb") as fh:
        if fh.seek(0, 2) == 0:
            return True
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"
