"""The run log: every suite outcome of a run, one JSON line each, under ``<data>/validation/``.

The landed validator and the checks run in the steps that build their assets (other processes
under Dagster's multiprocess executor), so results pass through
``<data>/validation/runs/<run_id>.jsonl``, which the checks, the Data Docs index and the cost
report read back. Only the newest :data:`KEEP_RUNS` logs are kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

from pipeline.validation.outcome import SuiteOutcome

KEEP_RUNS = 50
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def log_dir(data_dir: Path) -> Path:
    """Where the run logs live."""
    return Path(data_dir) / "validation" / "runs"


def log_path(data_dir: Path, run_id: str) -> Path:
    """The log file of one run."""
    return log_dir(data_dir) / f"{_SAFE.sub('_', run_id)}.jsonl"


class ValidationLog:
    """A results sink: appends each outcome of run ``run_id`` to the run's log file."""

    def __init__(self, data_dir: Path, run_id: str) -> None:
        self.data_dir = Path(data_dir)
        self.run_id = run_id
        self.path = log_path(self.data_dir, run_id)

    def __call__(self, outcome: SuiteOutcome) -> None:
        """Record one outcome (one short append, safe across processes)."""
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(asdict(outcome), ensure_ascii=False, default=str)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        if new:
            prune(self.data_dir)


def read_log(data_dir: Path, run_id: str) -> list[SuiteOutcome]:
    """Every outcome recorded for ``run_id`` (empty when none)."""
    path = log_path(data_dir, run_id)
    if not path.exists():
        return []
    # Only "\n" ends a record: json.dumps escapes it inside strings, but not the other line
    # breaks str.splitlines() knows (U+2028, U+0085, \x1c...), which a value may hold.
    lines = path.read_text(encoding="utf-8").split("\n")
    return [SuiteOutcome.from_dict(json.loads(line)) for line in lines if line.strip()]


def prune(data_dir: Path, keep: int = KEEP_RUNS) -> None:
    """Delete all but the ``keep`` most recently written run logs."""
    logs = sorted(log_dir(data_dir).glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    for old in logs[:-keep]:
        old.unlink(missing_ok=True)
