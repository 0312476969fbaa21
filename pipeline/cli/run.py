"""``python -m pipeline run``: one run of every asset, and its documented exit status.

Exit statuses (README, docs/operations.md), so that cron and CI can tell the cases apart:

- 0: the run succeeded and every file of it landed whole;
- 1: the run failed (a step or a blocking check failed);
- 2: configuration error (a ``PIPELINE_*`` setting, ``--as-of``, no landing folder, a data
  directory that cannot be written, a model, suite or vendor mapping file that cannot be
  loaded);
- 3: the run completed, but files were refused or rows quarantined, or files lie outside the
  entity folders of ``landing/`` and were not read: a human should look;
- 4: another run holds the warehouse (its pid is named); nothing was done.
"""

from __future__ import annotations

import functools
import sys
from contextlib import nullcontext, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import (
    AS_OF_TAG,
    SENT_INLINE_TAG,
    TRIGGER_TAG,
    ConfigError,
    Settings,
    check_environment,
    date_problem,
    setting,
)
from pipeline.entities import ENTITIES
from pipeline.words import counted

if TYPE_CHECKING:
    from pipeline.automation.notify import NotifySettings
    from pipeline.ingest.report import FileReport

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_NEEDS_ATTENTION = 3
EXIT_BUSY = 4

EXIT_STATUSES = {
    EXIT_OK: "the run succeeded and every file landed whole",
    EXIT_FAILED: "the run failed (a step or a blocking check)",
    EXIT_CONFIG: "configuration error (a PIPELINE_* setting, --as-of, no landing folder, a "
    "data directory that cannot be written, a model, suite or vendor mapping file that cannot "
    "be loaded)",
    EXIT_NEEDS_ATTENTION: "completed, but files were refused or rows quarantined, or files lie "
    "outside the entity folders of landing/ (not read)",
    EXIT_BUSY: "another run holds the warehouse (its pid is named); nothing was done",
}


def exit_statuses_text() -> str:
    """The exit statuses as plain text for the command line's help."""
    return "exit statuses:\n" + "\n".join(f"  {k}  {v}" for k, v in EXIT_STATUSES.items())


def _instance(data_dir):
    """The Dagster instance ($DAGSTER_HOME, else one under the data directory), with the runs
    of a killed process marked failed so that their warehouse slot is free again."""
    import dagster as dg

    from pipeline.automation.instance import recover_interrupted_runs, resolve_dagster_home

    instance = dg.DagsterInstance.from_config(str(resolve_dagster_home(data_dir)))
    for run_id in recover_interrupted_runs(instance):
        print(f"run {run_id} was interrupted (its process is gone): marked failed", flush=True)
    return instance


def forget_old_runs(data_dir: Path) -> None:
    """Delete the runs older than ``PIPELINE_RUN_HISTORY_DAYS`` from Dagster's history
    (pipeline/automation/history.py), saying how many; a failure is said and the run goes on.

    Done after the run and its summary (an instance of its own: 0.06-0.15 s of a cold run,
    which a delivery's figures need not wait for), outside
    :func:`~pipeline.event_log.quick_commits`, whose kept connections would hold the removed
    files open."""
    import dagster as dg

    from pipeline.automation.history import HISTORY_DAYS_ENV, history_days, prune_run_history
    from pipeline.automation.instance import resolve_dagster_home

    days = history_days()
    try:
        with dg.DagsterInstance.from_config(str(resolve_dagster_home(data_dir))) as instance:
            deleted = prune_run_history(instance, days)
    except Exception as err:  # noqa: BLE001 - old history must never stop tonight's run
        print(
            f"warning: could not delete runs older than {days} days from Dagster's history "
            f"({HISTORY_DAYS_ENV}): {err}; the run goes on",
            file=sys.stderr,
        )
        return
    if deleted:
        print(
            f"deleted {counted(len(deleted), 'run')} older than {days} days from Dagster's "
            f"history ({HISTORY_DAYS_ENV})",
            flush=True,
        )


def files_needing_attention(
    settings: Settings, run_id: str, reports: list[FileReport] | None = None
) -> int:
    """How many files of ``run_id`` were refused or had rows quarantined: per path, as the
    summary lists them (``reports``: the run's own; else the ledger's rows of the run)."""
    from pipeline.ingest.quarantine_report import needs_attention, run_files
    from pipeline.warehouse import open_warehouse

    if not settings.warehouse_path.exists():
        return 0
    with open_warehouse(settings.warehouse_path) as con:
        return needs_attention(run_files(con, run_id, reports))


def prepare_run(as_of: str | None = None) -> tuple[Settings, NotifySettings] | int:
    """The settings of one run, resolved now (an unset as_of is today's date as of this call),
    and its notice settings; EXIT_CONFIG, with the reason printed, when they are wrong."""
    from pipeline.automation.notify import NotifySettings

    try:
        # Parsed once, here, to be named as the user wrote it (the option, not the variable it
        # stands in for); ``Settings.resolve`` takes the date as it is.
        as_of_date = setting("PIPELINE_AS_OF", as_of) if as_of else None
    except ConfigError:
        print(f"configuration error: --as-of {date_problem(as_of)}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        data_dir = setting("PIPELINE_DATA_DIR")
        try:
            data_dir_existed = data_dir.exists()
        except OSError:  # a folder above it this user may not search: the check below says so
            data_dir_existed = True
        check_environment()
        settings = Settings.resolve(as_of=as_of_date)
        notify_settings = NotifySettings.from_env()
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    if not settings.landing_dir.is_dir():
        text = no_landing_text(settings.data_dir, existed=data_dir_existed)
        print(f"configuration error: {text}", file=sys.stderr)
        if not data_dir_existed:
            # The write check made it: a mistyped path leaves no empty folder behind.
            with suppress(OSError):
                settings.data_dir.rmdir()
        return EXIT_CONFIG
    if (problem := mappings_problem(settings)) is not None:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    return settings, notify_settings


def mappings_problem(settings: Settings) -> str | None:
    """One line naming the vendor mapping that cannot be used (bad TOML with its line, an
    unknown or missing key, a companion that cannot be one) and why; None when all can.

    Every ingestion step reads every mapping, so such a file failed the whole run (exit 1,
    a failed run) for what is a configuration to correct, as a bad setting is."""
    from pipeline.ingest.mappings import MappingError, check_mapping_files

    try:
        check_mapping_files(settings.data_dir / "vendors")
    except MappingError as err:
        return f"configuration error: vendor mapping {err}; nothing was done"
    return None


def no_landing_text(data_dir: Path, existed: bool = True) -> str:
    """Why ``data_dir`` has no ``landing/`` as far as can be told, and what to do about it
    (``existed``: whether the data directory was there before the command started)."""
    landing = data_dir / "landing"
    advice = (
        "set PIPELINE_DATA_DIR (or --data-dir) to a folder holding landing/ (see README), "
        "or run `python -m pipeline generate --out DIR`"
    )
    sources = sorted({e.source for e in ENTITIES.values() if (data_dir / e.source).is_dir()})
    if sources:
        # Pointed at landing/ itself (its crm/, email/ or social/ folders are right there).
        return (
            f"no landing folder at {landing}: {data_dir} holds {'/, '.join(sources)}/ and looks "
            f"like the landing folder itself; set PIPELINE_DATA_DIR (or --data-dir) to its "
            f"parent, {data_dir.parent}"
        )
    if not existed:
        return f"no landing folder at {landing}: {data_dir} does not exist; {advice}"
    return f"no landing folder at {landing}: {advice}"


@functools.cache
def pipeline_job():
    """Every asset's job, logging progress lines: made once per process (``watch`` runs it
    again and again). Loading the definitions reads settings (the schedule's cron), so this is
    called after :func:`prepare_run`'s checks."""
    from pipeline.definitions import defs
    from pipeline.progress import progress_logger

    # The definitions built when the module was imported: building them again would parse
    # every SQL model once more.
    job = defs.resolve_implicit_global_asset_job_def()
    return job.with_logger_defs({"progress": progress_logger})


def definitions_problem() -> str | None:
    """Load the job (before the run lock is taken); a model or suite file it cannot use gives one
    line naming the file, the place and what to fix, instead of a traceback (None: loaded)."""
    from pipeline.engine import ModelError
    from pipeline.validation.suites import SuiteError

    try:
        pipeline_job()
    except (ModelError, SuiteError) as err:
        return f"configuration error: cannot load the models and suites: {err}; nothing was done"
    return None


def prepare_loaded_run(as_of: str | None = None) -> tuple[Settings, NotifySettings] | int:
    """:func:`prepare_run`, then the job loaded (:func:`definitions_problem`): what ``run``,
    ``reland`` and ``watch`` check before they take the run lock; EXIT_CONFIG, the reason
    printed, when either fails."""
    prepared = prepare_run(as_of)
    if isinstance(prepared, int):
        return prepared
    if (problem := definitions_problem()) is not None:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    return prepared


def run_pipeline(as_of: str | None = None, trigger: str = "cli") -> int:
    """Materialise every asset once against PIPELINE_DATA_DIR; the exit status (see above)."""
    prepared = prepare_loaded_run(as_of)
    if isinstance(prepared, int):
        return prepared
    settings, notify_settings = prepared
    from pipeline.cli.run_lock import WarehouseBusy, run_lock

    try:
        with run_lock(settings.data_dir):
            return run_once(settings, notify_settings, trigger)
    except WarehouseBusy as err:
        print(f"{err}; wait for it to finish, then run again", file=sys.stderr)
        return EXIT_BUSY


def run_once(settings: Settings, notify_settings: NotifySettings, trigger: str) -> int:
    """One run of every asset, recorded in the Dagster instance with ``trigger``, its summary
    and notices, and its exit status; the caller holds the run lock (``run_lock``). The body
    of both ``python -m pipeline run`` and ``python -m pipeline watch``."""
    from pipeline.automation.instance import resolve_dagster_home
    from pipeline.automation.notify import notify_cli_run
    from pipeline.cli.summary import print_summary, run_reports
    from pipeline.cli.warehouse_hold import other_runs_active
    from pipeline.event_log import pooled_event_log, quick_commits
    from pipeline.ingest.landing import files_outside_entity_folders
    from pipeline.progress import root_cause
    from pipeline.run_process import frozen_heap
    from pipeline.warehouse import open_warehouse

    print(f"data directory {settings.data_dir}, {settings.describe_as_of()}", flush=True)
    job = pipeline_job()
    run_config: dict = {"loggers": {"progress": {}}}
    # The run builds exactly the date announced above, whatever the environment says.
    run_config["resources"] = {"config": {"config": {"as_of": str(settings.as_of)}}}
    # Dagster's event log without an fsync per event (pipeline/event_log.py).
    with quick_commits(resolve_dagster_home(settings.data_dir)):
        instance = _instance(settings.data_dir)
        # One warehouse instance for every step (pipeline/cli/warehouse_hold.py), unless a
        # run from the UI is in progress and needs its turns in between; the summary and the
        # count of files needing attention read it before it closes.
        hold = not other_runs_active(instance)
        with (
            instance,  # disposed after the run: a watcher makes one per run
            frozen_heap(),
            open_warehouse(settings.warehouse_path) if hold else nullcontext(),
            pooled_event_log(instance),  # one SQLite engine per shard, not per event
        ):
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config=run_config,
                # The notices of a command-line run are sent here, not by the UI's sensors.
                tags={
                    TRIGGER_TAG: trigger,
                    AS_OF_TAG: str(settings.as_of),
                    SENT_INLINE_TAG: "cli",
                },
            )
            # What the ingest did with each file, by path: the ledger keeps one path per hash.
            reports = run_reports(instance, result.run_id)
            # A run stopped before serving published nothing: the summary says so.
            published = any(
                e.asset_key.to_user_string() == "serving_marts"
                for e in result.get_asset_materialization_events()
            )
            print_summary(settings, result.run_id, reports, published)
            notify_cli_run(instance, result.run_id, notify_settings)
            attention = files_needing_attention(settings, result.run_id, reports)
    # After the summary, not before the run: the delivery's figures wait for nothing old.
    forget_old_runs(settings.data_dir)
    # A file dropped into crm/order/ is never read; exit 0 told cron that every file landed.
    stray = len(files_outside_entity_folders(settings.landing_dir))
    if not result.success:
        print("\nthe run failed:", file=sys.stderr)
        for event in result.get_step_failure_events():
            error = event.step_failure_data.error if event.step_failure_data else None
            print(f"  {event.step_key}: {root_cause(error)}", file=sys.stderr)
        return EXIT_FAILED
    if attention or stray:
        said = []
        if attention:
            said.append(f"{counted(attention, 'file')} refused or with rows quarantined")
        if stray:
            said.append(f"{counted(stray, 'file')} outside the entity folders not read")
        print(
            f"\n{' and '.join(said)}: see above (exit status {EXIT_NEEDS_ATTENTION})",
            file=sys.stderr,
        )
        return EXIT_NEEDS_ATTENTION
    return EXIT_OK
