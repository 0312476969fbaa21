"""One warehouse instance for a whole command-line run, instead of one per step.

Every step opens ``warehouse.duckdb`` (``Warehouse.connect``) and closes it when done. Opening a
700 MB file reads its catalogue (about 35 ms at 100k customers), and closing the last
connection checkpoints whatever the step wrote: a small run paid both some twenty times
(docs/performance.md, "Fixed cost of a run"). DuckDB's Python client keeps a database
instance while any connection to it is open and hands a new ``connect`` of the same file and
configuration that instance, so one connection held for the run makes every step's open a
lookup and leaves one checkpoint, when the run is over. The run already holds the warehouse
alone (``run_lock``; the steps share one ``warehouse`` pool slot), so nothing else waited for
the file between steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.warehouse import open_warehouse


@contextmanager
def warehouse_held_open(path: Path) -> Iterator[None]:
    """Hold ``path`` open (read-write, as the steps open it) until the block ends.

    The connection is opened by :func:`pipeline.warehouse.open_warehouse`, so with the very
    configuration every step uses: DuckDB refuses a second configuration of an open file.
    """
    with open_warehouse(path):
        yield
