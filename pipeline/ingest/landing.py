"""What is in a landing folder, without reading outside it; and work folders left by a kill.

Also the files that lie in no entity's folder, in the words the run summary, the watcher and the
landing sensor all say them (:func:`stray_files_text`): here, below the three of them.

Links are never followed: a symbolic link (to a file or a folder) is listed as a link, to be
refused without opening it, so nothing outside ``landing/`` is ever read. A hidden file that
looks like a delivery (``..orders.csv``) is listed too, so the log says why it is not read.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.entities import ENTITIES
from pipeline.ingest.formats import supported
from pipeline.words import counted

# Files a sender or the sensor uses to signal "upload complete" or "still uploading".
MARKER_SUFFIXES = (".done", ".ready", ".part", ".partial", ".tmp", ".crdownload", ".reason.txt")
# Office lock files (``~$name.xlsx``) and other ``~`` files an editor keeps beside an open file:
# never a delivery (the landing sensor ignores them too), so never refused and moved away.
LOCK_PREFIX = "~"
# Work folders (parsed copies of a delivery) are ``<data dir>/.ingest-<pid>-<random>``.
WORK_PREFIX = ".ingest-"
LINK_REASON = (
    "a symbolic link: links in landing are never followed (they may point outside it); "
    "copy the file itself into the folder"
)
HIDDEN_REASON = "a hidden file (its name starts with '.') is not read; rename it to deliver it"
OUTSIDE_REASON = (
    "the folder leads outside landing through a symbolic link above it; nothing in it is read"
)
# The markers a sender writes beside a file once it is complete (the landing sensor's too).
COMPLETE_MARKERS = (".done", ".ready")


def unsettled_reason(settle: float) -> str:
    """Why a file changed within ``settle`` seconds is left for a later run."""
    return (
        f"still being written? changed less than {settle:g} s ago (PIPELINE_SETTLE_SECONDS), "
        "without a .done/.ready marker beside it: left for a later run"
    )


def settled(entries: list[Entry], settle: float, now: float) -> list[Entry]:
    """``entries`` with each file changed less than ``settle`` seconds before ``now`` and
    without a marker beside it made ``unsettled``: a copy under way, not to be read yet.

    The landing sensor and the watcher start a run for the files that settled; the run lists
    the folder again and found a file still being copied beside them: it landed its first
    half, the cut last line quarantined, and the whole file again once copied."""
    out = []
    for entry in entries:
        if entry.kind == "file" and not any(
            entry.path.with_name(entry.path.name + m).exists() for m in COMPLETE_MARKERS
        ):
            try:
                # Dated more than 2 s ahead: a sender's clock, no copy under way (else it would
                # wait until that time, its run long requested).
                if -2 < now - os.lstat(entry.path).st_mtime < settle:
                    entry = Entry(entry.path, "unsettled")
            except OSError:  # gone since it was listed: its read says so
                pass
        out.append(entry)
    return out


@dataclass(frozen=True)
class Entry:
    """One thing found in a landing folder: a ``file`` to read, a ``link`` to refuse, a
    ``hidden`` delivery to mention, or the folder itself when it is ``outside`` landing; a
    file still being written is ``unsettled`` (:func:`settled`)."""

    path: Path
    kind: str


def landing_entries(folder: Path, landing: Path | None = None) -> list[Entry]:
    """Deliveries, links and hidden deliveries under ``folder`` (recursively), in path order;
    marker files, lock files and hidden folders are left out.

    The folder itself is a ``link`` when it is one, and ``outside`` when a link between it and
    ``landing`` leads elsewhere (``landing`` itself may be a link).
    """
    if folder.is_symlink():
        return [Entry(folder, "link")]
    if not folder.is_dir():
        return []
    if landing is not None and not folder.resolve().is_relative_to(landing.resolve()):
        return [Entry(folder, "outside")]
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        here = Path(root)
        for name in list(dirs):
            if name.startswith("."):
                dirs.remove(name)
            elif (here / name).is_symlink():  # os.walk lists it but does not descend
                found.append(Entry(here / name, "link"))
        for name in files:
            path = here / name
            if name.lower().endswith(MARKER_SUFFIXES) or name.startswith(LOCK_PREFIX):
                continue
            if name.startswith("."):
                if supported(name):
                    found.append(Entry(path, "hidden"))
            elif path.is_symlink():
                found.append(Entry(path, "link"))
            elif path.is_file():
                found.append(Entry(path, "file"))
    return sorted(found, key=lambda e: e.path.relative_to(folder).as_posix())


def work_folder_prefix() -> str:
    """The prefix of this process's work folders: the pid says whose a folder is."""
    return f"{WORK_PREFIX}{os.getpid()}-"


def remove_stale_work(data_dir: Path) -> list[Path]:
    """Remove work folders whose process is gone (killed mid-file); returns them.

    A folder of a live process (another entity's ingestion, or this one) is kept.
    """
    removed = []
    for path in data_dir.glob(WORK_PREFIX + "*"):
        if not path.is_dir() or path.is_symlink() or _alive(_pid_of(path.name)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _pid_of(name: str) -> int | None:
    head = name[len(WORK_PREFIX) :].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int | None) -> bool:
    """Whether a process with this pid exists (a folder without one is from an older version)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # someone else's process
        return True
    return True


# How many of the files outside the entity folders the summary names; the rest are counted.
STRAY_SHOWN = 10


def files_outside_entity_folders(landing: Path) -> list[str]:
    """Files under ``landing`` that look like deliveries (a format ingestion reads) but lie in
    no entity's folder, as paths under ``landing``, sorted.

    Neither ingestion nor the sensor looks outside the entity folders, so a file dropped into
    ``crm/order/`` or straight into ``landing/`` would wait there for ever without a word.
    Hidden, lock and marker files are left out as ingestion leaves them; links are not followed.
    """
    if not landing.is_dir():
        return []
    entity_folders = {e.landing_path for e in ENTITIES.values()}
    found = []
    for root, dirs, files in os.walk(landing, followlinks=False):
        here = Path(root).relative_to(landing).as_posix()
        # The entity folders are ingestion's; hidden folders are nobody's deliveries.
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and (d if here == "." else f"{here}/{d}") not in entity_folders
        )
        for name in files:
            if name.startswith((".", LOCK_PREFIX)) or name.lower().endswith(MARKER_SUFFIXES):
                continue
            if supported(name):
                found.append(name if here == "." else f"{here}/{name}")
    return sorted(found)


def stray_files_text(landing: Path, stray: list[str] | None = None) -> list[str]:
    """Lines naming the files :func:`files_outside_entity_folders` finds (``stray``, when the
    caller has them already), and what to do."""
    stray = files_outside_entity_folders(landing) if stray is None else stray
    if not stray:
        return []
    folders = ", ".join(e.landing_path for e in ENTITIES.values())
    lines = [
        f"\nnot read: {counted(len(stray), 'file')} in {landing} outside the entity folders "
        f"({folders}); move each into its entity's folder to have it landed:"
    ]
    lines += [f"  {path}" for path in stray[:STRAY_SHOWN]]
    if len(stray) > STRAY_SHOWN:
        lines.append(f"  … and {len(stray) - STRAY_SHOWN} more")
    return lines
