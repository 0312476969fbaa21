"""Build the SQL models on Spark: landed tables to Parquet, each model rebuilt whole as Parquet.

The lake (``PIPELINE_LAKE_DIR``) holds one Parquet folder per table: ``<lake>/<schema>/<table>``.
The tables the models read that are not models (raw.*, meta.pipeline_settings, …, see
pipeline.engine.catalog) are exported from the DuckDB warehouse; each model is then computed by
Spark from its translated SQL and written whole (no incremental strategies on Spark: see
docs/scale-out.md). The marts are loaded back into the warehouse's ``marts`` schema so serving
publishes them unchanged.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import duckdb

from pipeline.engine import PYTHON_TABLES, Model
from pipeline.spark.translate import to_spark
from pipeline.sqltext import literal
from pipeline.warehouse import run, scalar, table_exists


def table_dir(lake: Path, schema: str, table: str) -> Path:
    """The Parquet folder of ``schema.table`` in the lake."""
    return Path(lake) / schema / table


def export_sources(
    con: duckdb.DuckDBPyConnection, lake: Path, models: Iterable[Model], schemas: dict[str, str]
) -> dict[str, Path]:
    """Write every table the ``models`` read but do not build from DuckDB to the lake.

    ``schemas`` maps a model's name to its layer (tables built by models not being built now);
    other tables are looked up in pipeline.engine.catalog. Returns table name -> Parquet folder. A
    table the warehouse does not have is left out (a model reading it then fails on Spark naming
    it, as it would on DuckDB).
    """
    models = list(models)
    needed = sorted({p for m in models for p in m.parents} - {m.name for m in models})
    written: dict[str, Path] = {}
    for name in needed:
        schema = schemas.get(name) or PYTHON_TABLES[name][0]
        if not table_exists(con, schema, name):
            continue
        folder = table_dir(lake, schema, name)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        run(
            con,
            f"copy (select * from {schema}.{name}) to {literal(str(folder / 'part-0.parquet'))} "
            "(format parquet)",
        )
        written[name] = folder
    return written


def build_model(spark, model: Model, lake: Path) -> Path:
    """Compute ``model`` on Spark, write it whole to the lake and expose it as a view for the
    models downstream (read back from Parquet, so each is computed once); returns its folder."""
    folder = table_dir(lake, model.layer, model.name)
    spark.sql(to_spark(model.sql, str(model.path))).write.mode("overwrite").parquet(str(folder))
    spark.read.parquet(str(folder)).createOrReplaceTempView(model.name)
    return folder


def register_sources(spark, sources: dict[str, Path]) -> None:
    """Each exported table as a temporary view named like the table (the models' names)."""
    for name, folder in sources.items():
        spark.read.parquet(str(folder)).createOrReplaceTempView(name)


def load_into_warehouse(con: duckdb.DuckDBPyConnection, model: Model, lake: Path) -> int:
    """Replace ``<layer>.<model>`` in the warehouse with the model's Parquet from the lake."""
    files = str(table_dir(lake, model.layer, model.name) / "*.parquet")
    run(con, f"create schema if not exists {model.layer}")
    run(
        con,
        f"create or replace table {model.qualified_name} as "
        f"select * from read_parquet({literal(files)})",
    )
    return int(scalar(con, f"select count(*) from {model.qualified_name}"))
