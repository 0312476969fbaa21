"""Import the libraries a run needs later on a background thread, while its first steps wait.

``import great_expectations`` costs about 2.5 s of CPU (docs/performance.md, "Fixed cost of a
run"); a run paid it inside its first ingest step that landed a file. Its first steps spend
their time where Python lets another thread run: Dagster writing each event to SQLite (a commit
and an fsync per event) and the ingest steps hashing every landed file (``hashlib`` releases
the GIL for large buffers). Started just before the run, the import fills that time instead.

Safe because an import is guarded by the interpreter's per-module locks: a step that imports
GX while this thread is still importing it waits for it to finish and then gets the same
module. An error here is swallowed: the step that needs the module imports it again and
reports the error where it belongs.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence

# What a run imports after its start, largest first: GX for every suite and Data Docs,
# matplotlib for the charts and the prediction pictures.
PRELOADED = (
    "great_expectations",
    "great_expectations.data_context.types.base",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
)


def import_all(modules: Sequence[str]) -> list[str]:
    """Import ``modules`` in order; returns those that failed (their error is left to the
    code that needs them)."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - reported by the step that imports it for real
            failed.append(name)
    return failed


def start_preload(modules: Sequence[str] = PRELOADED) -> threading.Thread:
    """Import ``modules`` on a daemon thread (the process exits without waiting for it)."""
    thread = threading.Thread(
        target=import_all, args=(tuple(modules),), name="preload-imports", daemon=True
    )
    thread.start()
    return thread
