"""The refresh job and the nightly schedule that runs it unattended.

``refresh`` materialises every asset: the landing sensor runs subsets of it, the nightly
schedule all of it. The cron and time zone are read when the definitions are built
(``PIPELINE_NIGHTLY_CRON``, ``PIPELINE_TIMEZONE``), so ``SCHEDULES`` is built on first access,
not at import.
"""

import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg
from dagster._utils.schedules import is_valid_cron_string

from pipeline.config import ConfigError

DEFAULT_NIGHTLY_CRON = "0 2 * * *"
NIGHTLY_CRON_ENV = "PIPELINE_NIGHTLY_CRON"
TRIGGER_TAG = "pipeline/trigger"

# Steps run one after another in the run's own process. Nearly every step writes the warehouse
# and takes the one "warehouse" pool slot, so a step process each would add seconds of start-up
# and slot polling per step (measured: 13 min instead of under 1 for the same run) and buy no
# parallelism. Whole runs are serialised by the run queue (max_concurrent_runs: 1).
REFRESH_JOB = dg.define_asset_job(
    name="refresh",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description=(
        "Land new files, rebuild every model and publish serving/. The nightly schedule runs "
        "all of it; the landing sensor runs the entities with new files and everything downstream."
    ),
)

JOBS = [REFRESH_JOB]


def nightly_cron() -> str:
    """``PIPELINE_NIGHTLY_CRON`` (default 02:00 every day); ConfigError when it is not a cron."""
    cron = os.environ.get(NIGHTLY_CRON_ENV, "").strip() or DEFAULT_NIGHTLY_CRON
    if not is_valid_cron_string(cron):
        raise ConfigError(
            f"{NIGHTLY_CRON_ENV}={cron!r} is not a cron expression "
            "(five fields, e.g. '0 2 * * *' for 02:00 every day)"
        )
    return cron


def schedule_timezone() -> str:
    """``PIPELINE_TIMEZONE`` (default UTC), the zone the cron is read in."""
    tz = os.environ.get("PIPELINE_TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"PIPELINE_TIMEZONE={tz!r} is not an IANA time zone (e.g. Europe/Bucharest)"
        ) from None
    return tz


def build_nightly_schedule() -> dg.ScheduleDefinition:
    """Everything at ``PIPELINE_NIGHTLY_CRON`` in ``PIPELINE_TIMEZONE``; running by default."""
    cron = nightly_cron()
    tz = schedule_timezone()
    return dg.ScheduleDefinition(
        name="nightly_refresh",
        cron_schedule=cron,
        execution_timezone=tz,
        target=REFRESH_JOB,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        tags={TRIGGER_TAG: "nightly"},
        description=f"Every asset, at '{cron}' ({tz}); set {NIGHTLY_CRON_ENV} to change it.",
    )


def build_schedules() -> list[dg.ScheduleDefinition]:
    """Every schedule of the code location."""
    return [build_nightly_schedule()]


def __getattr__(name: str) -> list[dg.ScheduleDefinition]:
    # SCHEDULES reads the environment, so it is built when the definitions ask for it.
    if name == "SCHEDULES":
        return build_schedules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
