"""Staging and mart suites on the Spark tables (``PIPELINE_ENGINE=spark``): GX's Spark engine.

The same suite files run on the lake's Parquet tables with GX's Spark execution engine, one
DataFrame batch per suite: the DuckDB route's batch query (``batches``) translated to Spark SQL
(pipeline.spark.translate). Outcomes, run log, Data Docs, watermarks and blocking are the DuckDB
route's (``runner``, ``stages``), and the bookkeeping (schemas, counts, watermarks) still runs on
the warehouse, which holds a copy of every model. :func:`check_suites_run_on_spark` stops the
definitions' load on an expectation GX cannot run on Spark, or that means something else there,
naming the file and the expectation: none is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from pipeline.config import Settings
from pipeline.validation.batches import MissingTable, build_batch, table_schema
from pipeline.validation.outcome import SuiteOutcome
from pipeline.validation.runner import _session, validate_batch
from pipeline.validation.stages import AssetValidation, run_batches
from pipeline.validation.suites import Suite, SuiteError

# Expectations GX runs on Spark but whose outcome would not be the DuckDB route's: type names
# are each engine's own (DuckDB's DECIMAL(18,2) is Spark's DecimalType(18,2)).
NOT_ON_SPARK = {
    "expect_column_values_to_be_in_type_list": "type names differ between DuckDB and Spark",
    "expect_column_values_to_be_of_type": "type names differ between DuckDB and Spark",
}
SPARK_ENGINE = "SparkDFExecutionEngine"


def spark_problem(expectation_type: str) -> str | None:
    """Why GX cannot run ``expectation_type`` on Spark as on DuckDB, or None if it can: from
    GX's registry, the Spark form of a map expectation's condition or of each metric it needs."""
    from great_expectations.expectations.registry import _registered_metrics, get_expectation_impl

    if expectation_type in NOT_ON_SPARK:
        return NOT_ON_SPARK[expectation_type]
    try:
        cls = get_expectation_impl(expectation_type)
    except Exception as err:  # GX raises its own ExpectationNotFoundError
        return f"unknown to GX ({err})"
    map_metric = getattr(cls, "map_metric", None)
    metrics = [f"{map_metric}.condition"] if map_metric else []
    metrics += list(getattr(cls, "metric_dependencies", ()) or ())
    if not metrics:
        return "GX declares no metric for it, so its Spark support cannot be checked"
    missing = [
        m
        for m in metrics
        if SPARK_ENGINE not in (_registered_metrics.get(m) or {}).get("providers", {})
    ]
    if missing:
        return f"GX has no Spark implementation of metric {', '.join(missing)}"
    return None


def check_suites_run_on_spark(suites: Iterable[Suite]) -> None:
    """Raise SuiteError naming the file and expectation of the first one Spark cannot run."""
    for suite in suites:
        for i, expectation in enumerate(suite.expectations, start=1):
            problem = spark_problem(expectation["type"])
            if problem:
                raise SuiteError(
                    f"{suite.path}: expectation {i} ({expectation['type']}) cannot run on "
                    f"Spark (PIPELINE_ENGINE=spark): {problem}"
                )


def _lake_table_sql(con: duckdb.DuckDBPyConnection, sql: str, lake: Path) -> tuple[str, dict]:
    """``sql`` with its tables unqualified, and each table's lake folder by name (MissingTable
    names the folder of one the lake does not hold)."""
    from pipeline.spark.build import table_dir

    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    folders: dict[str, Path] = {}
    for table in tree.find_all(exp.Table):
        name = table.name
        if name in ctes:
            continue
        schema = table.db or table_schema(con, name)[0]
        folder = table_dir(lake, schema, name)
        if not folder.is_dir():
            raise MissingTable(
                f"table {schema}.{name} is not in the lake ({folder}): build it with "
                "PIPELINE_ENGINE=spark first"
            )
        folders[name] = folder
        table.set("db", None)
    return tree.sql(dialect="duckdb"), folders


def batch_frame(spark, con: duckdb.DuckDBPyConnection, sql: str, lake: Path, where: str):
    """The Spark DataFrame of DuckDB batch query ``sql``, each table a temporary view of its
    Parquet folder (as the Spark models see them); ``where`` names the batch in an error."""
    from pipeline.spark.translate import to_spark

    unqualified, folders = _lake_table_sql(con, sql, lake)
    for name, folder in folders.items():
        spark.read.parquet(str(folder)).createOrReplaceTempView(name)
    return spark.sql(to_spark(unqualified, where))


def _datasource(session, spark) -> Any:
    """The GX session's Spark data source for ``spark``: GX takes the active Spark session when
    the data source is made, so one made for an earlier (since stopped) session is replaced."""
    made_for = getattr(session, "spark_datasource", None)
    if made_for is not None and made_for[0] is spark:
        return made_for[1]
    if made_for is not None:
        session.context.data_sources.delete(made_for[1].name)
    datasource = session.context.data_sources.add_spark(f"spark_{next(session.names)}")
    session.spark_datasource = (spark, datasource)
    return datasource


def run_suite_spark(frame, suite: Suite, rows: int, **fields: Any) -> SuiteOutcome:
    """Validate the Spark DataFrame ``frame`` (``rows`` rows) against ``suite`` with GX's Spark
    engine (``fields``: :func:`~pipeline.validation.runner.validate_batch`'s)."""
    started = time.perf_counter()
    session = _session()
    datasource = _datasource(session, frame.sparkSession)
    name = f"{suite.name}__{next(session.names)}"
    asset = datasource.add_dataframe_asset(name)
    try:
        definition = asset.add_batch_definition_whole_dataframe("batch")
        gx_batch = definition.get_batch(batch_parameters={"dataframe": frame})
        index = [c for c in suite.index_columns if c in frame.columns]
        return validate_batch(gx_batch, suite, index, rows, started=started, **fields)
    finally:
        datasource.delete_asset(name)


def validate_asset_on_spark(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    asset: str,
    suites: list[Suite],
    run_id: str,
    lake: Path,
    spark=None,
) -> AssetValidation:
    """Run ``suites`` on their batches of ``asset``'s lake table with GX's Spark engine; on no
    critical failure, move the watermarks (as ``stages.validate_assets``)."""
    from pipeline.spark.session import spark_session

    try:
        batches = [(suite, build_batch(con, suite, asset)) for suite in suites]
        spark = spark or spark_session()
        frames = {
            suite.path: batch_frame(spark, con, b.sql, lake, f"{suite.path} batch of {asset}")
            for suite, b in batches
        }
    except MissingTable as err:
        return AssetValidation(asset, missing=str(err))
    return run_batches(
        con, settings, asset, run_id, batches,
        lambda s, b, **kw: run_suite_spark(frames[s.path], s, b.rows, **kw),
    )  # fmt: skip
