"""What an operator selects in the UI: one mart, a few assets or serving alone, with the
launchpad's as_of, on a real warehouse file and the real definitions, in process.

Before pipeline/engine/upstream.py, such runs succeeded with wrong dates: a run tagged as_of
2024-06-30 of retention_monthly alone left its 12 months of 2024 as they were; with
pipeline_settings it built the June mart over the December intermediate tables (still 12
months), and serving_marts alone then published marts of both dates. An empty warehouse
failed with DuckDB's "Table with name int_customers does not exist!".

The warehouse holds tests/test_validation_stages.py's rows: orders in January, March and
June 2024, so retention_monthly has one row per month from 2024-01 to the as_of month.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from test_validation_stages import built_warehouse

from pipeline.definitions import build_definitions

JUNE = {"resources": {"config": {"config": {"as_of": "2024-06-30"}}}}
WHAT_TO_RUN = (
    "materialize it with its upstream assets (the asset graph's selection "
    '`+key:"{}"`, then Materialize), or everything (Materialize all, job refresh, `make run`)'
)


@pytest.fixture
def job(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dg.JobDefinition:
    """The UI's job of every asset, over ``data_dir`` (as_of 2024-12-31 unless launched with
    another)."""
    monkeypatch.setenv("PIPELINE_AS_OF", "2024-12-31")
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    return build_definitions().resolve_implicit_global_asset_job_def()


@pytest.fixture
def built(job, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``data_dir`` with every model built for as_of 2024-12-31."""
    shutil.copy(built_warehouse(tmp_path_factory, "subset_runs"), data_dir / "warehouse.duckdb")
    return data_dir


def launch(job, keys: list[str] | None, run_config=None) -> dg.ExecuteInProcessResult:
    """Materialize ``keys`` (None: everything) as the UI does, with ``run_config``."""
    return job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=[dg.AssetKey(k) for k in keys] if keys else None,
        run_config=run_config or {},
        raise_on_error=False,
    )


def failure(result: dg.ExecuteInProcessResult) -> tuple[str, str]:
    """The failed step and its message, as the run's page shows it first."""
    (event,) = result.get_step_failure_events()
    return event.step_key, event.step_failure_data.user_failure_data.description


def months(path: Path) -> list[tuple[str, int]]:
    """The months of ``marts.retention_monthly`` in the warehouse (or the serving file)."""
    con = duckdb.connect(str(path), read_only=True)
    schema = "marts." if path.name == "warehouse.duckdb" else ""
    try:
        return con.sql(
            f"select strftime(min(month), '%Y-%m'), count(*) from {schema}retention_monthly"
            " union all "
            f"select strftime(max(month), '%Y-%m'), 0 from {schema}retention_monthly"
        ).fetchall()
    finally:
        con.close()


def test_a_mart_alone_with_another_as_of_fails_and_is_left_as_it_was(built: Path, job) -> None:
    result = launch(job, ["retention_monthly"], JUNE)
    assert not result.success
    assert failure(result) == (
        "sql_marts",
        "this run builds as_of 2024-06-30, but the warehouse's meta.pipeline_settings holds "
        "as_of 2024-12-31 (the last run that materialized pipeline_settings), and the models "
        "read their date there: retention_monthly would describe another date than the run "
        "says; " + WHAT_TO_RUN.format("retention_monthly"),
    )
    # Before: the run succeeded, tagged 2024-06-30, with the same 12 months of December.
    assert months(built / "warehouse.duckdb") == [("2024-01", 12), ("2024-12", 0)]
    # The same mart alone for the date the warehouse holds is built (nothing to refuse).
    assert launch(job, ["retention_monthly"]).success
    # The predictions read the settings' as_of too (before: fitted for 2024-12-31).
    assert failure(launch(job, ["customer_predictions"], JUNE)) == (
        "predictions",
        "this run builds as_of 2024-06-30, but the warehouse's meta.pipeline_settings holds "
        "as_of 2024-12-31 (the last run that materialized pipeline_settings), and the models "
        "read their date there: customer_predictions would describe another date than the run "
        "says; " + WHAT_TO_RUN.format("customer_predictions"),
    )


def test_the_launchpad_date_needs_the_models_between_and_serving_never_mixes_dates(
    built: Path, job
) -> None:
    # The settings and the mart, without the intermediate models between them.
    result = launch(job, ["pipeline_settings", "retention_monthly"], JUNE)
    assert failure(result) == (
        "sql_marts",
        "retention_monthly reads intermediate.int_months (built for as_of 2024-12-31), not for "
        "this run's as_of 2024-06-30, which this run does not build: "
        + WHAT_TO_RUN.format("retention_monthly"),
    )
    assert months(built / "warehouse.duckdb") == [("2024-01", 12), ("2024-12", 0)]
    # The mart with its upstream, as the message says: six months, January to June.
    upstream = dg.AssetSelection.assets("retention_monthly").upstream()
    keys = [k.to_user_string() for k in upstream.resolve(job.asset_layer.asset_graph)]
    assert launch(job, keys, JUNE).success
    assert months(built / "warehouse.duckdb") == [("2024-01", 6), ("2024-06", 0)]
    # Serving alone now would publish June's retention beside December's customer_360 and
    # loyalty marts: refused, naming the models of the other date.
    step, message = failure(launch(job, ["serving_marts"], JUNE))
    assert step == "serving_marts"
    assert message.startswith("the warehouse's models are not all built for as_of 2024-06-30: ")
    assert "int_customer_purchases (as_of 2024-12-31)" in message
    assert "int_months" not in message  # rebuilt for June
    assert message.endswith(
        "published together, the marts would mix two dates. Materialize everything "
        "(Materialize all, job refresh, `make run`), or those models with everything "
        "downstream of them (the asset graph's selection `key:\""
        + message.split(": ")[1].split(" (")[0]
        + '"+`, then Materialize)'
    )
    assert not (built / "serving" / "marts.duckdb").exists()
    # Serving alone for December, the date the run's settings do not hold: refused too.
    assert failure(launch(job, ["serving_marts"]))[1].startswith(
        "this run builds as_of 2024-12-31, but the warehouse's meta.pipeline_settings holds "
        "as_of 2024-06-30"
    )
    # Everything for June publishes June.
    assert launch(job, None, JUNE).success
    assert months(built / "serving" / "marts.duckdb") == [("2024-01", 6), ("2024-06", 0)]


def test_a_mart_on_an_empty_warehouse_says_what_to_run(data_dir: Path, job) -> None:
    result = launch(job, ["customer_360"])
    assert failure(result) == (
        "sql_marts",
        "this run builds as_of 2024-12-31, but the warehouse has no meta.pipeline_settings "
        "(pipeline_settings was never materialized): customer_360 would describe another date "
        "than the run says; " + WHAT_TO_RUN.format("customer_360"),
    )
    # With the settings: the mart's parents are named (before: DuckDB's "Table with name
    # int_customers does not exist!" from customer_360.sql).
    assert failure(launch(job, ["pipeline_settings", "customer_360"])) == (
        "sql_marts",
        "customer_360 reads intermediate.int_customer_engagement (never built: "
        "int_customer_engagement); intermediate.int_customer_purchases (never built: "
        "int_customer_purchases); intermediate.int_customers (never built: int_customers), "
        "which this run does not build: " + WHAT_TO_RUN.format("customer_360"),
    )
