"""The landing sensor: a run for each batch of new, complete files in ``landing/``.

A file counts as complete when a marker ``<name>.done`` or ``<name>.ready`` sits next to it, or
when its size and modification time have not changed for the settle period
(``PIPELINE_SETTLE_SECONDS``, default 30). The sensor never opens the warehouse (the daemon would
collide with a running writer): what it has seen and requested lives in its cursor, as the
content hash of every file already requested. The run key is the hash of the batch, so a
restarted daemon neither loses nor repeats a file; the ingest ledger makes a repeat a no-op
anyway.
"""

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipeline.automation.history import (
    HISTORY_DAYS_ENV,
    SENSOR_BATCH,
    history_days,
    prune_run_history,
)
from pipeline.automation.instance import recover_interrupted_runs
from pipeline.automation.schedules import AS_OF_TAG, REFRESH_JOB, TRIGGER_TAG
from pipeline.config import PipelineConfig, setting
from pipeline.entities import ENTITIES
from pipeline.ingest.landing import stray_files_text
from pipeline.ingest.ledger import file_sha256, text_sha256
from pipeline.ingest.mappings import MappingError, entities_fed
from pipeline.words import counted

SETTLE_ENV = "PIPELINE_SETTLE_SECONDS"
INTERVAL_ENV = "PIPELINE_SENSOR_INTERVAL_SECONDS"
DEFAULT_INTERVAL_SECONDS = 30
MARKER_SUFFIXES = (".done", ".ready")
# Partial downloads and editor lock files: never a delivery.
TEMP_SUFFIXES = (".part", ".partial", ".crdownload", ".tmp", ".reason.txt")
TEMP_PREFIXES = (".", "~")  # "~$name" is an Office lock file
# Hashes older than this many requests are forgotten; the ingest ledger still de-duplicates.
MAX_REMEMBERED = 100_000
CURSOR_VERSION = 1


@dataclass(frozen=True)
class Observation:
    """A file as last seen: size and mtime, since when they held, and its hash once complete."""

    size: int
    mtime_ns: int
    since: float
    sha256: str | None = None


@dataclass
class LandingState:
    """The sensor cursor: files being watched and hashes already requested (oldest first).

    ``unreadable`` is what the scan that made this state could not read (a folder or a file,
    path under landing/ with the reason); not kept in the cursor: every scan looks again.
    """

    files: dict[str, Observation] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list, compare=False)

    def to_cursor(self) -> str:
        """Serialise for ``SensorResult(cursor=...)``."""
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "files": {
                    k: [o.size, o.mtime_ns, o.since, o.sha256] for k, o in self.files.items()
                },
                "requested": self.requested[-MAX_REMEMBERED:],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_cursor(cls, cursor: str | None) -> "LandingState":
        """The state a cursor holds; an empty state for no cursor."""
        if not cursor:
            return cls()
        doc = json.loads(cursor)
        if doc.get("v") != CURSOR_VERSION:
            raise ValueError(f"landing sensor cursor has version {doc.get('v')!r}, expected 1")
        return cls(
            files={k: Observation(*v) for k, v in doc["files"].items()},
            requested=list(doc["requested"]),
        )


@dataclass(frozen=True)
class Batch:
    """New complete files to land in one run: path under landing/ -> (entity, sha256)."""

    files: dict[str, tuple[str, str]]

    @property
    def entities(self) -> list[str]:
        return sorted({entity for entity, _ in self.files.values()})

    @property
    def run_key(self) -> str:
        """sha256 of the batch's sorted content hashes: the same bytes never run twice."""
        hashes = sorted({sha for _, sha in self.files.values()})
        return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def settle_seconds() -> float:
    """``PIPELINE_SETTLE_SECONDS``: how long a file must stay unchanged (default 30)."""
    return setting(SETTLE_ENV)


def sensor_interval() -> int:
    """``PIPELINE_SENSOR_INTERVAL_SECONDS``: seconds between evaluations (default 30)."""
    return setting(INTERVAL_ENV)


def is_delivery(path: Path) -> bool:
    """Whether a file under landing/ is a delivery (not hidden, temporary or a marker)."""
    name = path.name.lower()
    if name.startswith(TEMP_PREFIXES):
        return False
    return not name.endswith(TEMP_SUFFIXES + MARKER_SUFFIXES)


def landing_listing(landing_dir: Path) -> tuple[dict[str, tuple[str, Path]], list[str]]:
    """Every delivery under the entities' folders (path under landing/ -> (entity, path)),
    and the folders under them that cannot be listed ("crm/orders/2026/: Permission denied").

    A folder that cannot be listed is said, not skipped in silence: its files would never
    land. ``landing/`` itself unreadable raises (the caller says the whole folder is lost).
    """
    found: dict[str, tuple[str, Path]] = {}
    unreadable: list[str] = []

    def note(err: OSError) -> None:
        rel = Path(err.filename).relative_to(landing_dir).as_posix()
        unreadable.append(f"{rel}/: {err.strerror}")

    for entity in ENTITIES.values():
        folder = landing_dir / entity.landing_path
        if not folder.is_dir():
            continue
        for top, dirs, names in os.walk(folder, onerror=note):
            here = Path(top)
            # A link to a folder is a delivery to refuse (ingestion says why), never followed;
            # a hidden folder (a sync tool's) is never looked into.
            links = [d for d in dirs if (here / d).is_symlink()]
            dirs[:] = sorted(d for d in dirs if d not in links and not d.startswith("."))
            for name in sorted(names + links):
                path = here / name
                if (path.is_symlink() or path.is_file()) and is_delivery(path):
                    found[path.relative_to(landing_dir).as_posix()] = (entity.name, path)
    return found, unreadable


def landing_deliveries(landing_dir: Path) -> dict[str, tuple[str, Path]]:
    """Every delivery under the entities' folders: path under landing/ -> (entity, path)."""
    return landing_listing(landing_dir)[0]


def has_marker(path: Path) -> bool:
    """Whether ``<name>.done`` or ``<name>.ready`` says the file is complete."""
    return any(path.with_name(path.name + s).exists() for s in MARKER_SUFFIXES)


def delivery_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes; of its path for a link (never followed)."""
    if path.is_symlink():
        return text_sha256(f"symbolic link:{path}")
    return file_sha256(path)


def scan(
    landing_dir: Path, state: LandingState, now: float, settle: float
) -> tuple[Batch | None, LandingState, list[str]]:
    """Look at landing/ once: the batch of new complete files, the next state, files waiting."""
    requested = set(state.requested)
    files: dict[str, Observation] = {}
    batch: dict[str, tuple[str, str]] = {}
    waiting: list[str] = []
    deliveries, unreadable = landing_listing(landing_dir)
    for rel, (entity, path) in sorted(deliveries.items()):
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue  # moved away between listing and stat
        seen = state.files.get(rel)
        if seen is None or (seen.size, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
            seen = Observation(st.st_size, st.st_mtime_ns, now)
        if seen.sha256 is None and (has_marker(path) or now - seen.since >= settle):
            try:
                seen = Observation(seen.size, seen.mtime_ns, seen.since, delivery_sha256(path))
            except PermissionError as err:  # said, hashed at a later look; the others go on
                files[rel] = seen
                unreadable.append(f"{rel}: {err.strerror}")
                continue
        files[rel] = seen
        if seen.sha256 is None:
            waiting.append(rel)
        elif seen.sha256 not in requested:
            batch[rel] = (entity, seen.sha256)
    new_hashes = sorted({sha for _, sha in batch.values()})
    next_state = LandingState(files, [*state.requested, *new_hashes], unreadable)
    return (Batch(batch) if batch else None), next_state, waiting


def stray_files_said(landing_dir: Path) -> str:
    """The run summary's lines on files in ``landing_dir`` outside the entity folders, which
    nothing reads (``pipeline.ingest.landing.stray_files_text``), on one line for a tick's skip
    message; "" when there are none. Said at every tick while they are there: a skip message
    is the only word an operator of the UI gets about a file dropped into ``crm/order/``."""
    lines = [line.strip() for line in stray_files_text(landing_dir)]
    return f"{lines[0]} {', '.join(lines[1:])}" if lines else ""


def run_selection(
    batch: Batch, asset_graph, instance: dg.DagsterInstance, user_dir: Path | None = None
) -> list[dg.AssetKey]:
    """The batch's raw assets, plus raw assets never materialised, and everything downstream.

    A folder whose mappings name companions feeds their entities too (a Zendesk ticket export
    lands survey responses): their raw assets are run, so that what reads them is rebuilt in
    the same run. ``user_dir`` holds the user's mappings."""
    raw_keys = {dg.AssetKey(ENTITIES[e].raw_table) for e in ENTITIES}
    known = set(asset_graph.get_all_asset_keys())
    fed = set(batch.entities)
    for entity in batch.entities:
        try:
            fed |= entities_fed(entity, user_dir)
        except MappingError:  # the run fails on it, saying why; the batch's own still run
            pass
    roots = {dg.AssetKey(ENTITIES[e].raw_table) for e in fed}
    # Staging reads every raw table: one that never ran would be missing from the warehouse.
    roots |= {k for k in raw_keys & known if instance.get_latest_materialization_event(k) is None}
    # The run's marts describe the current as_of.
    roots.add(dg.AssetKey("pipeline_settings"))
    roots &= known
    selection = dg.AssetSelection.assets(*roots).downstream()
    return sorted(selection.resolve(asset_graph), key=lambda k: k.to_user_string())


def some_of(names: list[str], shown: int = 5) -> str:
    """The first ``shown`` of ``names`` and how many more: a tick's message is one line in the
    UI, and a list cut short without saying so reads as the whole list."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more:,} more" if more > 0 else "")


def build_landing_sensor(minimum_interval_seconds: int | None = None) -> dg.SensorDefinition:
    """The sensor that starts a run for each batch of new complete files in landing/."""

    @dg.sensor(
        name="landing_files",
        target=REFRESH_JOB,
        minimum_interval_seconds=minimum_interval_seconds or sensor_interval(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Starts a run when new files in landing/ are complete (a .done/.ready marker, or "
            f"unchanged for {SETTLE_ENV} seconds): their raw assets and everything downstream."
        ),
    )
    def landing_files(context: dg.SensorEvaluationContext, config: PipelineConfig):
        settings = config.settings()
        landing_dir = settings.landing_dir
        state = LandingState.from_cursor(context.cursor)
        if not landing_dir.is_dir():
            return dg.SensorResult(
                skip_reason=f"no landing folder at {landing_dir}", cursor=state.to_cursor()
            )
        settle = settle_seconds()
        batch, next_state, waiting = scan(landing_dir, state, time.time(), settle)
        cannot = ""
        if next_state.unreadable:
            cannot = f"cannot read {some_of(next_state.unreadable)} (tried at each tick)"
        stray = stray_files_said(landing_dir)
        if batch is None:
            reason = (
                f"waiting for {counted(len(waiting), 'file')} to settle "
                f"(unchanged for {settle:g} s, "
                f"or a .done/.ready marker beside it): {some_of(waiting)}"
                if waiting
                else "no new files"
            )
            reason = "; ".join(part for part in (reason, cannot, stray) if part)
            return dg.SensorResult(skip_reason=reason, cursor=next_state.to_cursor())
        if cannot:
            context.log.warning(f"{cannot}; the other files are requested")
        if stray:
            context.log.warning(stray)
        if context.repository_def is None:
            raise dg.DagsterInvariantViolationError("landing_files needs the code location")
        keys = run_selection(
            batch,
            context.repository_def.asset_graph,
            context.instance,
            settings.data_dir / "vendors",
        )
        context.log.info(
            # Named as a skip message names the files it waits for: a backlog of 2,000 files
            # made one log line of 2,000 paths.
            f"new files for {', '.join(batch.entities)} ({counted(len(batch.files), 'file')}): "
            f"{some_of(list(batch.files))}; "
            f"the run builds {settings.describe_as_of()}"
        )
        request = dg.RunRequest(
            run_key=batch.run_key,
            asset_selection=keys,
            tags={
                TRIGGER_TAG: "sensor",
                AS_OF_TAG: str(settings.as_of),
                "pipeline/entities": ",".join(batch.entities),
                "pipeline/files": str(len(batch.files)),
            },
        )
        return dg.SensorResult(run_requests=[request], cursor=next_state.to_cursor())

    return landing_files


def build_interrupted_runs_sensor() -> dg.SensorDefinition:
    """The sensor that fails runs whose process was killed, freeing their warehouse slot."""

    @dg.sensor(
        name="interrupted_runs",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Marks runs whose process is gone (killed, crashed) as failed and frees their slot "
            "in the warehouse pool, so later runs are not blocked behind them; deletes the "
            "runs older than PIPELINE_RUN_HISTORY_DAYS from the history."
        ),
    )
    def interrupted_runs(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        recovered = recover_interrupted_runs(context.instance)
        # The runs of the UI, the landing sensor and the nightly schedule never pass through
        # `pipeline run`, which deletes the old ones otherwise (pipeline/automation/history.py).
        days = history_days()
        forgotten = prune_run_history(context.instance, days, limit=SENSOR_BATCH)
        said = (
            f"; deleted {counted(len(forgotten), 'run')} older than {days} days from the "
            f"history ({HISTORY_DAYS_ENV})"
            if forgotten
            else ""
        )
        if recovered:
            context.log.warning(f"marked interrupted runs failed: {', '.join(recovered)}")
            # Named: the tick list is where an operator looks for which runs were failed.
            return dg.SkipReason(
                f"marked {counted(len(recovered), 'interrupted run')} failed "
                f"(their process was gone): "
                f"{some_of(recovered)}{said}"
            )
        return dg.SkipReason(f"no interrupted runs{said}")

    return interrupted_runs


def build_sensors() -> list[dg.SensorDefinition]:
    """Every sensor of the code location."""
    return [build_landing_sensor(), build_interrupted_runs_sensor()]
