"""One warehouse instance for a whole command-line run, instead of one per step.

Every step opens ``warehouse.duckdb`` (``Warehouse.connect``) and closes it when done. Opening a
700 MB file reads its catalogue (about 35 ms at 100k customers), and closing the last
connection checkpoints whatever the step wrote: a small run paid both some twenty times
(docs/performance.md, "Dagster and process start"). DuckDB's Python client keeps a database
instance while any connection to it is open and hands a new ``connect`` of the same file and
configuration that instance, so one connection held for the run (``pipeline.warehouse
.open_warehouse``, the very configuration every step opens it with: DuckDB refuses a second
configuration of an open file) makes every step's open a lookup and leaves one checkpoint,
when the run is over.

The file stays locked between the run's steps, where a run from the UI could otherwise take
its turn in the ``warehouse`` pool (docs/operations.md, "One writer"). Runs from the UI and the
daemon are not started while this run is in progress (the run queue counts every active run
of the instance, this one too), so the only one that could want a turn is one already running
when this run starts: then nothing is held (:func:`other_runs_active`).
"""

from __future__ import annotations

import dagster as dg

# A run in one of these may open the warehouse between our steps; a queued one waits for ours.
RUNNING = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def other_runs_active(instance: dg.DagsterInstance) -> bool:
    """Whether a run of ``instance`` is starting, started or cancelling (this one not yet)."""
    return bool(instance.get_run_records(dg.RunsFilter(statuses=RUNNING), limit=1))
