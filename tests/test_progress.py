"""The command line's progress logger (pipeline/progress.py) prints the run-log lines that
ride on materialisations and check evaluations (their ``summary`` metadata), so the steps need
no log event for them; a real Dagster run with the logger, its printed lines read back."""

import os
import signal
import threading
import time

import dagster as dg
import duckdb
import pytest

from pipeline.progress import SUMMARY, not_run, progress_logger, root_cause


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


@dg.asset
def _blocked():
    raise dg.Failure(description="1 blocking check failed: rows_ok on _blocked\n- rows_ok: 0 rows")


@dg.asset(deps=[_blocked])
def _after():
    pass


@dg.asset(deps=[_after])
def _later():
    pass


def test_a_failure_is_said_by_its_message_without_dagsters_class_path(
    capsys: pytest.CaptureFixture,
) -> None:
    # As a step stopped by a blocking check fails (assets/checks.py): the line read
    # "✗ _blocked: dagster._core.definitions.events.Failure: 1 blocking check failed: …".
    job = dg.Definitions(assets=[_blocked, _after, _later]).resolve_implicit_global_asset_job_def()
    result = job.with_logger_defs({"progress": progress_logger}).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"loggers": {"progress": {}}},
        raise_on_error=False,
    )
    assert not result.success
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if "✗ _blocked" in line]
    assert line.split("s ", 1)[1] == "✗ _blocked: 1 blocking check failed: rows_ok on _blocked"
    # The steps left out are said in a word each, not as Dagster's "Dependencies for step
    # _after failed: ['_blocked']. Not executing." (a name repeated once per asset it feeds).
    skipped = [line.split("s ", 1)[1] for line in err.splitlines() if " - _" in line]
    assert skipped == [
        "- _after: not run: _blocked failed",
        "- _later: not run: _after was not run",
    ]
    (event,) = result.get_step_failure_events()
    assert root_cause(event.step_failure_data.error) == (
        "1 blocking check failed: rows_ok on _blocked\n- rows_ok: 0 rows"
    )


def test_a_step_left_out_names_each_upstream_step_once() -> None:
    # As `pipeline run` printed serving_marts after a blocking check failed in raw_ingest.
    said = (
        "Dependencies for step serving_marts were not executed: ['sql_marts', 'sql_marts', "
        "'predictions', 'sql_marts', 'predictions']. Not executing."
    )
    assert not_run(said) == "not run: sql_marts, predictions were not run"
    assert not_run("published 12 marts") is None


@dg.asset
def _long_query():
    # A statement of a few seconds, stopped by SIGINT as Ctrl-C would: DuckDB's client takes the
    # signal between the statement's tasks and raises its own RuntimeError, not Dagster's.
    starting = threading.Event()

    def stop_once_started() -> None:
        starting.wait()
        time.sleep(0.3)  # the statement below runs 2-6 s
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=stop_once_started, daemon=True).start()
    with duckdb.connect() as con:
        starting.set()
        con.execute("select count(*) from range(500000000) t(i) where i % 7 = 3").fetchall()


def test_ctrl_c_during_a_duckdb_statement_is_said_as_an_interruption() -> None:
    job = dg.Definitions(assets=[_long_query]).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    (event,) = result.get_step_failure_events()
    error = event.step_failure_data.error
    while error.cause is not None:
        error = error.cause
    assert (error.cls_name, error.message.strip()) == (
        "RuntimeError",
        "RuntimeError: Query interrupted",
    )
    assert root_cause(event.step_failure_data.error) == (
        "interrupted (Ctrl-C or SIGTERM): what the step had not committed was rolled back; the "
        "next run carries on from there"
    )
