"""The run's process: speed-ups for the process a run executes in, whoever started it.

A run launched from the UI, the landing sensor or the nightly schedule executes in a process
the run launcher starts (``dagster api execute_run`` or the code server's subprocess), not in
``python -m pipeline run``, so it got none of the command line's speed-ups
(docs/performance.md, "Dagster and process start"). :func:`launched_run_stack` gives it, from
the ``warehouse`` resource's documented ``setup_for_execution`` hook, the two that need no
Dagster internals:

- the start-up heap frozen out of Python's cyclic garbage collection (:func:`frozen_heap`);
- Dagster's SQLite files committed without an fsync per event
  (:func:`pipeline.event_log.quick_commits`, SQLAlchemy's ``connect`` event).

Not the other two: ``pooled_event_log`` replaces private methods of Dagster's storage (no
supported hook), and the held warehouse connection would keep the file locked between steps
while another run waits for its turn in the ``warehouse`` pool.

Below the command line and the ``warehouse`` resource, which both enter them, so that neither
reaches up to the other (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg

from pipeline.config import SENT_INLINE_TAG
from pipeline.event_log import quick_commits


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Within the block, the objects alive on entering are left out of Python's cyclic garbage
    collection (``gc.freeze``); on leaving they are collected as before (``gc.unfreeze``).

    What is loaded when a run starts (Dagster, the definitions, the instance) lives for the
    whole run, yet every full collection during it scanned all of it again: after one file of
    100 orders at 100k, the full collections inside the run cost 0.69 s of CPU, 0.31 s with
    the start frozen (one-off, ``gc.callbacks``). Objects freed by reference counting are freed
    as ever; only cycles among the frozen objects wait until the block ends.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def launched_run_stack(context: dg.InitResourceContext) -> ExitStack:
    """The speed-ups entered for the run of ``context`` (closed by the caller at teardown).

    Nothing for a run of ``python -m pipeline run`` (tagged ``SENT_INLINE_TAG: cli``), which
    enters both itself around the whole run; nothing outside a run (a resource built for a
    sensor or a test without one).
    """
    stack = ExitStack()
    run = context.run
    if run is None or run.tags.get(SENT_INLINE_TAG) == "cli":
        return stack
    stack.enter_context(frozen_heap())
    instance = context.instance
    # An ephemeral instance (in-memory storage) has no SQLite file to tune.
    if instance is not None and not instance.is_ephemeral:
        stack.enter_context(quick_commits(Path(instance.root_directory)))
    return stack
