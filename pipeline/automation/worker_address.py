"""Where the warm run worker of a Dagster instance home is found, and why none is to be tried.

The worker (pipeline/cli/warm_worker.py, started by ``python -m pipeline ui``) writes its
address to ``<DAGSTER_HOME>/warm_worker.json``; beside it, ``warm_worker_down.json`` says why
no worker is to be tried (:func:`write_down_note`), written by ``pipeline ui`` and by the worker.
The run launcher (pipeline/automation/warm_launcher.py), which Dagster's daemon and webserver
load from the instance's dagster.yaml, reads both. Kept here, below the launcher and the command
line's worker, so that each reaches them without the other.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

STATE_FILE = "warm_worker.json"
DOWN_FILE = "warm_worker_down.json"
REQUEST_TIMEOUT_SECONDS = 10.0


def state_path(home: Path) -> Path:
    """Where the worker of the Dagster instance home ``home`` writes its address."""
    return Path(home) / STATE_FILE


def down_path(home: Path) -> Path:
    """Where the note saying why the worker of ``home`` is not to be tried is written."""
    return Path(home) / DOWN_FILE


def write_atomically(path: Path, doc: dict) -> None:
    """Write ``doc`` as JSON to ``path`` by a rename: a reader sees the old file or the new one,
    never half of one. The temporary name is unique, as ``pipeline ui`` and a worker both write
    beside each other."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(doc))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_down_note(home: Path, why: str, pid: int | None = None) -> None:
    """Say why no warm run worker is to be tried (``why``, shown in a cold run's log after
    "Launched cold: "), then remove the address of the worker ``pid`` if it is still there.

    In that order, so that the launcher never tries a worker known dead: until the address is
    removed, the note names its pid, and an address whose pid the note names is not tried.
    """
    write_atomically(down_path(home), {"pid": pid, "why": why})
    if pid is None:
        return
    path = state_path(home)
    with contextlib.suppress(FileNotFoundError, ValueError):
        address = json.loads(path.read_text(encoding="utf-8"))
        if address.get("pid") == pid:
            path.unlink()
            # The dead worker's private socket folder is left by its death: ours to remove.
            folder = Path(address.get("socket", "")).parent
            if folder.name.startswith("pipeline-warm-"):
                shutil.rmtree(folder, ignore_errors=True)


def read_down_note(home: Path) -> dict:
    """The note of :func:`write_down_note` ({} when there is none or it is unreadable)."""
    try:
        note = json.loads(down_path(home).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return note if isinstance(note, dict) else {}


def remove_down_note(home: Path) -> None:
    """Remove the note (a worker published its address; ``pipeline ui`` stops)."""
    with contextlib.suppress(FileNotFoundError):
        down_path(home).unlink()
