"""The Dagster instance home the CLI and ``make ui`` share, so CLI runs show in the UI.

It also recovers from a killed run: a run whose process is gone stays "started" in Dagster and
keeps its slot in the ``warehouse`` pool, which would block every later writer.
:func:`recover_interrupted_runs` marks such runs failed and frees their slots.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import dagster as dg
import psutil

# One writer: every asset that writes the warehouse is in the pool "warehouse", limited to 1
# (granularity "op": a step waits for the slot, in one run or across runs, CLI runs included).
# Runs launched by the daemon or the UI also queue whole (max_concurrent_runs: 1): every run
# writes the warehouse, so two at once would only interleave their steps. Run monitoring frees
# the slots of a run that ended without releasing them. The run launcher hands each run to the
# warm run worker of `python -m pipeline ui` (pipeline/automation/warm_launcher.py), and launches
# it as Dagster's default launcher does when the worker is not there. The queue is looked at
# every second, not Dagster's 5: a queued run waited 4-10 s for its launch (one 100-order delivery),
# as long as a warm run's steps; a look at an empty queue is one SQLite query.
DAGSTER_YAML = """\
# Written by the pipeline; safe to edit.
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
    granularity: op
  runs:
    max_concurrent_runs: 1
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  max_resume_run_attempts: 0
  free_slots_after_run_end_seconds: 10
run_launcher:
  module: pipeline.automation.warm_launcher
  class: WarmRunLauncher
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
"""

# sha256 of the files earlier versions wrote (their texts: this module's git history); such a
# file, unchanged, is upgraded in place. A file a user edited is kept.
_PREVIOUS_YAML_SHA256 = frozenset(
    {
        "9c845a397f9c859bcc1b06909dc8c5684771c4ae64e585f90cd4ff09ee90de22",
        "18739aaae5a0c6e38296b7d7536c5ea6073a2ca0fa48a03fa57e0b50c6ecbde4",
    }
)

FINISHED = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
)
IN_PROGRESS = (
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def ensure_instance_config(home: Path) -> Path:
    """Create ``home`` and its dagster.yaml (warehouse pool, run queue) if missing; return it.

    Also written again: a file an earlier version wrote, and one cut short (the start of this
    text, empty included), which a full disk or a kill left before it was written whole. The
    file is written under a temporary name and renamed, so neither is left any more."""
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    text = config.read_text(encoding="utf-8") if config.exists() else None
    if (
        text is None
        or _sha256(text) in _PREVIOUS_YAML_SHA256
        or (text != DAGSTER_YAML and DAGSTER_YAML.startswith(text))
    ):
        _write_whole(config, DAGSTER_YAML)
    return home


def _write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in its folder: ``path`` is the whole
    text or as it was, never part of it (an empty dagster.yaml is Dagster's defaults: no pool)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure_dagster_home(data_dir: Path) -> Path:
    """Create ``<data_dir>/dagster_home`` with its dagster.yaml if missing; return it."""
    return ensure_instance_config(Path(data_dir).resolve() / "dagster_home")


def resolve_dagster_home(data_dir: Path) -> Path:
    """$DAGSTER_HOME if set, else ``<data_dir>/dagster_home``; its dagster.yaml made if missing.

    Without that file Dagster would run with no warehouse pool, letting two writers collide.
    """
    env_home = os.environ.get("DAGSTER_HOME")
    return ensure_instance_config(Path(env_home)) if env_home else ensure_dagster_home(data_dir)


def run_process(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The pid of the process that executes ``run_id`` and when it was recorded (the first
    engine event naming one), or None before any."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.engine_event_data if entry.dagster_event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None:
            return int(pid.value), entry.timestamp
    return None


def process_alive(pid: int, named_at: float | None) -> bool:
    """Whether ``pid`` is a live process that existed when it was named (not a reused pid)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        created = proc.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    # A process created after the event naming the pid is another program that reused it.
    return named_at is None or created <= named_at + 5


def recover_interrupted_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark runs whose process is gone as failed and free their pool slots; return their ids.

    Also frees slots still held by finished runs. Runs on this host only (the local instance).
    """
    recovered: list[str] = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=list(IN_PROGRESS))):
        run = record.dagster_run
        named = run_process(instance, run.run_id)
        if named is None:
            continue  # not started executing yet: run monitoring's start timeout covers it
        pid, named_at = named
        # Compared with when the pid was recorded, not with the run's start: a queued run's
        # process starts long after the run was created, and the start time is set only once
        # the process has loaded the code (a live run was failed in that gap under load).
        if process_alive(pid, named_at):
            continue
        instance.report_run_failed(
            run, f"the run's process (pid {pid}) is gone: it was killed or crashed"
        )
        recovered.append(run.run_id)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holding = storage.get_concurrency_run_ids()
        if holding:
            finished = instance.get_run_records(
                dg.RunsFilter(run_ids=list(holding), statuses=list(FINISHED))
            )
            for record in finished:
                storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
    return recovered
