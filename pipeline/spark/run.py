"""The model assets' Spark path (``PIPELINE_ENGINE=spark``): build models on Spark, keep a copy
in the warehouse.

Each model is computed by Spark over the lake and written whole as Parquet; its Parquet is then
loaded into the warehouse table of the same name, so the GX checks, the Python assets that read
models (predictions) and serving run unchanged. The DuckDB engine's build record of the model is
removed, so a later DuckDB run rebuilds it whole rather than updating a table it did not build.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipeline.engine import DELTA, Model
from pipeline.spark.build import build_model, export_sources, load_into_warehouse, register_sources
from pipeline.spark.session import spark_master, spark_session
from pipeline.warehouse import run, table_exists


def _forget_duckdb_build(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    if table_exists(con, "meta", "model_builds"):
        run(con, "delete from meta.model_builds where model = ?", [model.name])
    run(con, f'drop table if exists meta."{model.name}{DELTA}"')


def build_models_on_spark(
    con: duckdb.DuckDBPyConnection, models: list[Model], all_models: list[Model], lake: Path
) -> Iterator[tuple[Model, int]]:
    """Build ``models`` (in dependency order) on Spark and load each into the warehouse.

    ``all_models`` are every model (to find the layer of a parent built earlier). Yields each
    model and its row count as it is built.
    """
    spark = spark_session()
    # The parents a model step does not build (raw tables, settings, models of an earlier
    # layer) come from the warehouse: it holds the current copy whichever engine built them.
    layers = {m.name: m.layer for m in all_models}
    register_sources(spark, export_sources(con, lake, models, layers))
    for model in models:
        build_model(spark, model, lake)
        count = load_into_warehouse(con, model, lake)
        _forget_duckdb_build(con, model)
        yield model, count


def engine_metadata() -> dict[str, str]:
    """What the UI shows about the engine of a Spark build."""
    return {"engine": "spark", "spark_master": spark_master()}
