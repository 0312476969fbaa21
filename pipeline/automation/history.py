"""Dagster's run history kept for ``PIPELINE_RUN_HISTORY_DAYS`` days, then deleted.

Every run stores its events in the instance: a SQLite file of its own under
``history/runs/``, a copy of its asset events in ``history/runs/index.db``, and its captured
output under ``storage/<run id>/``. A nightly run of every asset writes the metadata of every
asset again (row counts, previews, column schemas, the charts as pictures): about 2.5 MB a run
whatever the data's size, about 0.9 GB a year of nights, more than the warehouse of 2,000
customers (docs/performance.md, "Months of nightly runs"). Dagster keeps it all for ever.

No run reads an earlier run's events: what the pipeline carries from run to run (the ingest
ledger, the models' builds, the checks' watermarks) is in the warehouse. So runs that ended
more than the setting's days ago are deleted with their events, their file and their captured
output; the runs in progress and the newer ones stay. SQLite reuses the index's freed pages, so
the instance stays about the size of that many days of runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from pipeline.automation.instance import FINISHED
from pipeline.config import setting

HISTORY_DAYS_ENV = "PIPELINE_RUN_HISTORY_DAYS"
# Runs deleted per call: a first call on a years-old instance deletes a batch per run, not all
# of them after one run (about 0.1-0.4 s a run). A sensor tick takes fewer: Dagster
# gives a sensor's evaluation 60 s.
BATCH = 200
SENSOR_BATCH = 20


def history_days() -> int:
    """``PIPELINE_RUN_HISTORY_DAYS``: days a finished run is kept (0: for ever)."""
    return setting(HISTORY_DAYS_ENV)


def prune_run_history(
    instance: dg.DagsterInstance,
    keep_days: int,
    now: dt.datetime | None = None,
    limit: int = BATCH,
) -> list[str]:
    """Delete at most ``limit`` runs that finished more than ``keep_days`` days before ``now``
    (their events, their event log file and their captured output); return their ids. 0 days:
    none."""
    if keep_days <= 0:
        return []
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=keep_days)
    records = instance.get_run_records(
        dg.RunsFilter(statuses=list(FINISHED), updated_before=cutoff), limit=limit
    )
    deleted = []
    for record in records:
        run_id = record.dagster_run.run_id
        instance.delete_run(run_id)
        _remove_run_files(instance, run_id)
        deleted.append(run_id)
    return deleted


def _remove_run_files(instance: dg.DagsterInstance, run_id: str) -> None:
    """Remove what ``delete_run`` leaves: the run's own SQLite file (emptied, not removed, and
    never shrunk by SQLite) and its captured output."""
    storage = instance.event_log_storage
    path_for_shard = getattr(storage, "path_for_shard", None)  # SQLite storage only
    if path_for_shard is not None:
        shard = Path(path_for_shard(run_id))
        for path in (shard, Path(f"{shard}-wal"), Path(f"{shard}-shm")):
            path.unlink(missing_ok=True)
    instance.compute_log_manager.delete_logs(prefix=[run_id])
