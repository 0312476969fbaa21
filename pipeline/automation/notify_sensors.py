"""The sensors that send notices (``pipeline/automation/notify.py``) when a run ends.

``notify_run_failure`` reacts to a failed run, ``notify_run_problems`` to a successful run that
refused files or had a blocking check fail. Both use Dagster's run-status sensors, so they see
runs launched from the UI, by the landing sensor and by the nightly schedule. A command-line run
sends its own notices and is tagged so that they are not sent twice.
"""

import dagster as dg

from pipeline.automation.notify import NotifySettings, notify_run
from pipeline.config import SENT_INLINE_TAG


def _notify(context: dg.RunStatusSensorContext) -> dg.SkipReason:
    run = context.dagster_run
    if run.tags.get(SENT_INLINE_TAG):
        return dg.SkipReason(f"run {run.run_id} sent its own notices")
    settings = NotifySettings.from_env()
    if not settings.enabled:
        # Named with the run: the tick list shows this line with no run beside it.
        return dg.SkipReason(
            f"run {run.run_id}: no notice sent, as no notification channel is configured "
            "(PIPELINE_NOTIFY_WEBHOOK or PIPELINE_NOTIFY_SMTP_HOST, docs/operations.md)"
        )
    notices, errors = notify_run(context.instance, run.run_id, settings)
    for error in errors:
        context.log.warning(f"could not send a notice: {error}")
    sent = ", ".join(n.event for n in notices) or "nothing to report"
    return dg.SkipReason(
        f"run {run.run_id}: {sent}" + (f"; {len(errors)} failed" if errors else "")
    )


def build_notify_sensors() -> list[dg.SensorDefinition]:
    """The failure and the problems sensor, running by default (they send nothing until a
    channel is configured)."""

    @dg.run_failure_sensor(
        name="notify_run_failure",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Sends a notice (webhook, e-mail) when a run fails: what, as_of, what to do.",
    )
    def notify_run_failure(context: dg.RunFailureSensorContext) -> dg.SkipReason:
        return _notify(context)

    @dg.run_status_sensor(
        name="notify_run_problems",
        run_status=dg.DagsterRunStatus.SUCCESS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Sends a notice (webhook, e-mail) when a finished run refused files or a blocking "
            "check failed."
        ),
    )
    def notify_run_problems(context: dg.RunStatusSensorContext) -> dg.SkipReason:
        return _notify(context)

    return [notify_run_failure, notify_run_problems]


NOTIFY_SENSORS = build_notify_sensors()
