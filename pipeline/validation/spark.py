"""Staging and mart suites on the Spark tables (``PIPELINE_ENGINE=spark``): GX's Spark engine.

With the Spark engine the SQL models live in the lake (``<lake>/<layer>/<model>/``, Parquet
written by Spark; pipeline.spark.build). Their suites — the same files in ``expectations/``,
unchanged — run there with Great Expectations' Spark execution engine (a GX 1.x Spark data
source, one DataFrame batch per suite) instead of inside DuckDB:

- the batch is the DuckDB route's own query (pipeline.validation.batches: only the columns the
  suite reads, new rows since the watermark, derived columns, ...) translated to Spark SQL with
  the models' translation (pipeline.spark.translate) and run by Spark over the lake's tables;
- outcome records, the run log, Data Docs pages, watermarks and the blocking rule (a failed
  ``critical`` expectation is an ERROR that blocks, a ``warning`` a WARN that does not) are the
  DuckDB route's (pipeline.validation.runner, .stages), so a check reads the same either way.

The bookkeeping around a batch — its schema, its row count, the watermarks read and written —
still runs on the warehouse, which holds a copy of every model (loaded from the same Parquet).

:func:`check_suites_run_on_spark` runs when the definitions load with the Spark engine: an
expectation GX cannot evaluate on Spark (no Spark implementation of its metric) or that would
mean something else there stops the load, naming the suite file and the expectation; it is
never dropped.
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
    """Why GX cannot run ``expectation_type`` on Spark as on DuckDB, or None if it can.

    Reads GX's registry: a map expectation needs a Spark form of its row condition
    (``<map_metric>.condition``), any other the Spark form of each metric it depends on.
    """
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
    """``sql`` with its tables unqualified, and each table's lake folder by name.

    A table the lake does not hold raises MissingTable naming its folder.
    """
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
    """The Spark DataFrame of a DuckDB batch query ``sql`` over the lake's tables.

    Each table is read from its Parquet folder as a temporary view of its name (as the Spark
    model builds expose them); ``where`` names the batch in a translation error.
    """
    from pipeline.spark.translate import to_spark

    unqualified, folders = _lake_table_sql(con, sql, lake)
    for name, folder in folders.items():
        spark.read.parquet(str(folder)).createOrReplaceTempView(name)
    return spark.sql(to_spark(unqualified, where))


def _datasource(session, spark) -> Any:
    """The GX session's Spark data source for the Spark session ``spark``.

    GX's Spark engine takes the active Spark session when the data source is made; a data
    source made for an earlier (since stopped) session is replaced.
    """
    made_for = getattr(session, "spark_datasource", None)
    if made_for is not None and made_for[0] is spark:
        return made_for[1]
    if made_for is not None:
        session.context.data_sources.delete(made_for[1].name)
    datasource = session.context.data_sources.add_spark(f"spark_{next(session.names)}")
    session.spark_datasource = (spark, datasource)
    return datasource


def run_suite_spark(
    frame,
    suite: Suite,
    rows: int,
    *,
    target: str,
    batch: str,
    run_id: str,
    parameters: dict[str, Any] | None = None,
    docs_dir: Path | None = None,
) -> SuiteOutcome:
    """Validate the Spark DataFrame ``frame`` (``rows`` rows) against ``suite`` with GX's Spark
    engine; the outcome record and Data Docs page as the DuckDB route makes them."""

    started = time.perf_counter()
    session = _session()
    datasource = _datasource(session, frame.sparkSession)
    name = f"{suite.name}__{next(session.names)}"
    asset = datasource.add_dataframe_asset(name)
    try:
        gx_batch = asset.add_batch_definition_whole_dataframe("batch").get_batch(
            batch_parameters={"dataframe": frame}
        )
        index = [c for c in suite.index_columns if c in frame.columns]
        return validate_batch(
            gx_batch, suite, index, rows, target=target, batch=batch, run_id=run_id,
            parameters=parameters, docs_dir=docs_dir, started=started,
        )  # fmt: skip
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
    critical failure, move the watermarks (as pipeline.validation.stages.validate_asset)."""
    from pipeline.spark.session import spark_session

    batches = []
    try:
        for suite in suites:
            batches.append((suite, build_batch(con, suite, asset)))
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
