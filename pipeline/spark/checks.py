"""Staging and mart suites on the lake's tables with GX's Spark engine (``PIPELINE_ENGINE=spark``).

Each suite runs on one DataFrame: the DuckDB route's batch query (``pipeline.validation.batches``)
translated to Spark SQL over the Parquet folders. Outcomes, run log, Data Docs, watermarks and
blocking are the DuckDB route's (``pipeline.validation.stages.run_batches``); the bookkeeping
(schemas, counts, watermarks) runs on the warehouse, which holds a copy of every model.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from pipeline.config import Settings
from pipeline.spark.build import table_dir
from pipeline.validation.batches import MissingTable, build_batch, table_schema
from pipeline.validation.outcome import SuiteOutcome
from pipeline.validation.runner import _session, validate_batch
from pipeline.validation.stages import AssetValidation, run_batches
from pipeline.validation.suites import Suite, SuiteError

# GX runs these on Spark, but type names are each engine's own (DECIMAL(18,2) vs DecimalType).
NOT_ON_SPARK = dict.fromkeys(
    ("expect_column_values_to_be_in_type_list", "expect_column_values_to_be_of_type"),
    "type names differ between DuckDB and Spark",
)
SPARK_ENGINE = "SparkDFExecutionEngine"


def spark_problem(expectation_type: str) -> str | None:
    """Why GX cannot run ``expectation_type`` on Spark as on DuckDB (None if it can), read from
    GX's registry: the Spark form of its map condition or of each metric it needs."""
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
    providers = {m: (_registered_metrics.get(m) or {}).get("providers", {}) for m in metrics}
    missing = [m for m, p in providers.items() if SPARK_ENGINE not in p]
    return f"GX has no Spark implementation of metric {', '.join(missing)}" if missing else None


def check_suites_run_on_spark(suites: Iterable[Suite]) -> None:
    """Raise SuiteError naming the file and expectation of the first one Spark cannot run:
    the definitions' load stops rather than drop it."""
    for suite in suites:
        for i, expectation in enumerate(suite.expectations, start=1):
            if problem := spark_problem(expectation["type"]):
                raise SuiteError(
                    f"{suite.path}: expectation {i} ({expectation['type']}) cannot run on "
                    f"Spark (PIPELINE_ENGINE=spark): {problem}"
                )


def batch_frame(spark, con: duckdb.DuckDBPyConnection, sql: str, lake: Path, where: str):
    """The DataFrame of DuckDB batch query ``sql``, each table a temporary view of its Parquet
    folder; ``where`` names the batch in an error. MissingTable names a folder not in the lake."""
    from pipeline.spark.translate import to_spark

    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name in ctes:
            continue
        schema = table.db or table_schema(con, table.name)[0]
        folder = table_dir(lake, schema, table.name)
        if not folder.is_dir():
            raise MissingTable(
                f"table {schema}.{table.name} is not in the lake ({folder}): build it with "
                "PIPELINE_ENGINE=spark first"
            )
        spark.read.parquet(str(folder)).createOrReplaceTempView(table.name)
        table.set("db", None)
    return spark.sql(to_spark(tree.sql(dialect="duckdb"), where))


def _datasource(session, spark):
    """The GX Spark data source of ``spark``: GX binds the session active when the source is
    made, so one made for an earlier (since stopped) session is replaced."""
    made = getattr(session, "spark_datasource", None)
    if made is not None and made[0] is spark:
        return made[1]
    if made is not None:
        session.context.data_sources.delete(made[1].name)
    datasource = session.context.data_sources.add_spark(f"spark_{next(session.names)}")
    session.spark_datasource = (spark, datasource)
    return datasource


def run_suite_spark(frame, suite: Suite, rows: int | None, **fields) -> SuiteOutcome:
    """Validate DataFrame ``frame`` (``rows`` rows, None: counted) against ``suite``
    (``fields``: ``validate_batch``'s); its asset is removed after, as a batch holds it."""
    started = time.perf_counter()
    rows = frame.count() if rows is None else rows
    session = _session()
    datasource = _datasource(session, frame.sparkSession)
    name = f"{suite.name}__{next(session.names)}"
    asset = datasource.add_dataframe_asset(name)
    try:
        batch = asset.add_batch_definition_whole_dataframe("batch").get_batch(
            batch_parameters={"dataframe": frame}
        )
        index = [c for c in suite.index_columns if c in frame.columns]
        return validate_batch(batch, suite, index, rows, started=started, **fields)
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
    critical failure, move the watermarks (as ``validate_assets`` does on DuckDB)."""
    from pipeline.spark.session import spark_session

    try:
        batches = [(suite, build_batch(con, suite, asset)) for suite in suites]
        spark = spark or spark_session()
        frames = {
            s.path: batch_frame(spark, con, b.sql, lake, f"{s.path} batch of {asset}")
            for s, b in batches
        }
    except MissingTable as err:
        return AssetValidation(asset, missing=str(err))
    except SuiteError as err:
        return AssetValidation(asset, broken=str(err))
    return run_batches(
        con, settings, asset, run_id, batches,
        lambda s, b, **kw: run_suite_spark(frames[s.path], s, b.rows, **kw),
    )  # fmt: skip
