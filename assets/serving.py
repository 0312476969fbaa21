"""The serving file BI tools read: every mart, built whole and swapped in atomically.

BI tools never open the warehouse (DuckDB allows one writer or many readers, never both). They
read ``serving/marts.duckdb``, written in a storage version DuckDB 1.x clients can open, plus one
Parquet file per mart. A failed build leaves the previous file in place.
"""


import os
from pathlib import Path

import dagster as dg

from pipeline.sql_engine import discover_models
from pipeline.warehouse import Warehouse, run, scalar

# DuckDB 1.x clients (what BI drivers bundle) cannot read 2.0's default storage format.
SERVING_STORAGE_VERSION = "v1.0.0"


def mart_names() -> list[str]:
    """The public mart tables, in build order."""
    return [m.name for m in discover_models() if m.layer == "marts"]


def publish(con, serving_dir: Path, marts: list[str]) -> dict[str, int]:
    """Copy ``marts`` into a new serving file and Parquet files, then swap them in atomically."""
    serving_dir.mkdir(parents=True, exist_ok=True)
    parquet_dir = serving_dir / "parquet"
    parquet_dir.mkdir(exist_ok=True)
    target = serving_dir / "marts.duckdb"
    tmp = serving_dir / f".marts.{os.getpid()}.tmp.duckdb"
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    run(con, f"attach '{tmp}' as serving (storage_version '{SERVING_STORAGE_VERSION}')")
    try:
        for mart in marts:
            run(con, f"create table serving.main.{mart} as select * from marts.{mart}")
            counts[mart] = int(scalar(con, f"select count(*) from serving.main.{mart}"))
    finally:
        run(con, "detach serving")
    for mart in marts:
        part = parquet_dir / f".{mart}.tmp.parquet"
        run(con, f"copy (select * from marts.{mart}) to '{part}' (format parquet)")
        os.replace(part, parquet_dir / f"{mart}.parquet")
    os.replace(tmp, target)
    return counts


def build_serving_asset(marts: list[str]) -> dg.AssetsDefinition:
    """The asset that publishes ``marts`` to ``serving/``."""

    @dg.asset(
        name="serving_marts",
        group_name="serving",
        kinds={"duckdb", "parquet"},
        deps=[dg.AssetKey(m) for m in marts],
        pool="warehouse",
        description=(
            "serving/marts.duckdb and serving/parquet/: every mart, for BI tools, swapped in "
            "atomically (DuckDB 1.x-readable storage)."
        ),
    )
    def serving_marts(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        settings = warehouse.settings()
        with warehouse.connect() as con:
            counts = publish(con, settings.serving_dir, marts)
        context.log.info(f"published {len(counts)} marts to {settings.serving_dir}")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(settings.serving_dir / "marts.duckdb")),
                "marts": dg.MetadataValue.json(counts),
            }
        )

    return serving_marts
