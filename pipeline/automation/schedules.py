"""The refresh job and the nightly schedule that runs it unattended.

``refresh`` materialises every asset: the landing sensor runs subsets of it, the nightly
schedule all of it. The cron and time zone are read when the definitions are built
(``PIPELINE_NIGHTLY_CRON``, ``PIPELINE_TIMEZONE``), so the definitions call
:func:`build_schedules` rather than reading a list made at import.
"""

import dagster as dg

from pipeline.config import AS_OF_TAG, TRIGGER_TAG, PipelineConfig, setting

NIGHTLY_CRON_ENV = "PIPELINE_NIGHTLY_CRON"
__all__ = ["AS_OF_TAG", "TRIGGER_TAG"]

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
    return setting(NIGHTLY_CRON_ENV)


def schedule_timezone() -> str:
    """``PIPELINE_TIMEZONE`` (default UTC), the zone the cron is read in."""
    return setting("PIPELINE_TIMEZONE")


def build_nightly_schedule() -> dg.ScheduleDefinition:
    """Everything at ``PIPELINE_NIGHTLY_CRON`` in ``PIPELINE_TIMEZONE``; running by default."""
    cron = nightly_cron()
    tz = schedule_timezone()

    @dg.schedule(
        name="nightly_refresh",
        cron_schedule=cron,
        execution_timezone=tz,
        target=REFRESH_JOB,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every asset, at '{cron}' ({tz}); set {NIGHTLY_CRON_ENV} to change it.",
    )
    def nightly_refresh(context: dg.ScheduleEvaluationContext, config: PipelineConfig):
        # The tags say which date the run builds, decided at the tick (visible before it runs).
        as_of = config.settings().as_of
        return dg.RunRequest(tags={TRIGGER_TAG: "schedule", AS_OF_TAG: str(as_of)})

    return nightly_refresh


def build_schedules() -> list[dg.ScheduleDefinition]:
    """Every schedule of the code location."""
    return [build_nightly_schedule()]
