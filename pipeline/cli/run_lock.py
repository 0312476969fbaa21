"""One ``pipeline run`` at a time per data directory, and a clear message when the warehouse is
held by another process.

``pipeline run`` takes an exclusive lock on ``<data dir>/run.lock`` (``flock``, released by the
operating system when the process ends, however it ends) and writes its pid there. A second
``pipeline run`` finds the lock taken and stops at once, naming the pid, instead of waiting on the
warehouse's file lock for a minute and a half and then failing step by step. A process that is
not a ``pipeline run`` (a run the UI started, a DuckDB shell) and holds ``warehouse.duckdb`` open
is found by opening the file once, without retrying: DuckDB's lock error names its pid.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

LOCK_FILE = "run.lock"
_DUCKDB_PID = re.compile(r"\(PID (\d+)\)")


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse; ``pid`` says which when it can be known."""

    def __init__(self, pid: int | None, what: str) -> None:
        self.pid = pid
        shown = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(f"another run holds the warehouse ({shown}): {what}")


@contextmanager
def run_lock(data_dir: Path) -> Iterator[None]:
    """Hold ``<data_dir>/run.lock`` for the block; WarehouseBusy at once if another holds it."""
    path = Path(data_dir) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            pid = int(text) if text.isdigit() else None
            raise WarehouseBusy(pid, f"a `pipeline run` is in progress ({path})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        probe_warehouse(Path(data_dir) / "warehouse.duckdb")
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def probe_warehouse(path: Path) -> None:
    """WarehouseBusy if another process has ``path`` open now (one attempt, no waiting)."""
    if not path.exists():
        return
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as err:
        message = str(err)
        if "lock" not in message.lower():
            raise
        found = _DUCKDB_PID.search(message)
        raise WarehouseBusy(
            int(found.group(1)) if found else None,
            f"{path} is open in another process (a run started from the UI, or a DuckDB shell)",
        ) from None
