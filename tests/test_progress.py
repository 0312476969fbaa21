"""The command line's progress logger (pipeline/progress.py) prints the run-log lines that
ride on materialisations and check evaluations (their ``summary`` metadata), so the steps need
no log event for them; a real Dagster run with the logger, its printed lines read back."""

import dagster as dg
import pytest

from pipeline.progress import SUMMARY, progress_logger


@dg.asset(check_specs=[dg.AssetCheckSpec("rows_ok", asset="_model")])
def _model():
    # As assets/models.py and assets/checks.py yield them: the line in the metadata, no log call.
    yield dg.MaterializeResult(metadata={SUMMARY: "marts._model: 3 rows (rebuilt)", "n": 3})
    yield dg.AssetCheckResult(
        passed=True, description="all 2 expectations met", metadata={SUMMARY: "_model: ok"}
    )


@dg.asset(check_specs=[dg.AssetCheckSpec("quiet", asset="_plain")])
def _plain(context: dg.AssetExecutionContext):
    context.log.info("a line of its own")
    yield dg.MaterializeResult(metadata={"n": 1})  # no summary: nothing printed for it
    yield dg.AssetCheckResult(passed=True, description="fresh")  # neither


def test_summary_metadata_is_printed_as_the_steps_line(capsys: pytest.CaptureFixture) -> None:
    job = dg.Definitions(assets=[_model, _plain]).resolve_implicit_global_asset_job_def()
    instance = dg.DagsterInstance.ephemeral()
    result = job.with_logger_defs({"progress": progress_logger}).execute_in_process(
        instance=instance, run_config={"loggers": {"progress": {}}}
    )
    assert result.success
    printed = [line.split("s ", 1)[1].strip() for line in capsys.readouterr().out.splitlines()]
    # Each step's lines in order: the summary of the materialisation, then the check's.
    assert printed == [
        "… _model",
        "_model: marts._model: 3 rows (rebuilt)",
        "_model: _model: ok",
        "✓ _model",
        "… _plain",
        "_plain: a line of its own",
        "✓ _plain",
    ]
    # The summaries were never log events: the run stored the one log line _plain made.
    logs = [e.user_message for e in instance.all_logs(result.run_id) if e.dagster_event is None]
    assert logs == ["a line of its own"]
