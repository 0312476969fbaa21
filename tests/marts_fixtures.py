"""Helpers for the mart tests: a warehouse in a temp dir, canonical rows, settings, the models.

Rows are inserted straight into the raw tables (canonical columns plus lineage filled here), so
the SQL models are tested on exactly the values written in each test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.config import Settings
from pipeline.email_hash import hmac_pads
from pipeline.engine import SQL_DIR, build_models, discover_models
from pipeline.engine.settings_table import RunSettings, write_settings_table
from pipeline.entities import ENTITIES, LINEAGE_COLUMNS, raw_table_ddl
from pipeline.ingest.core import ingest_entity
from pipeline.ingest.report import FileReport
from pipeline.sentiment.scoring import build_mention_sentiment
from pipeline.warehouse import open_warehouse, prepare, run


def new_warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A fresh warehouse file with every schema and every (empty) raw table."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    prepare(con)
    for entity in ENTITIES.values():
        run(con, raw_table_ddl(entity))
    return con


def write_settings(
    con: duckdb.DuckDBPyConnection,
    as_of: str,
    churn_days: int = 90,
    sla_hours: float = 24.0,
    email_hash_key: str | None = None,
    brand_handles: tuple[tuple[str, str], ...] = (),
) -> None:
    """Write ``meta.pipeline_settings`` (and ``meta.brand_handles``: normalised (platform,
    handle) pairs) the way the pipeline_settings asset does."""
    inner, outer = hmac_pads(email_hash_key)
    day = dt.date.fromisoformat(as_of)
    row = RunSettings(day, churn_days, sla_hours, "UTC", inner, outer, brand_handles)
    write_settings_table(con, row)


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    rows: list[dict[str, Any]],
    delivery_seq: int = 1,
) -> None:
    """Append canonical rows to ``raw.raw_<entity>`` as one delivery (row 2, 3, … of its file).

    Values may be given as text (DuckDB casts them to the column types on insert).
    """
    ent = ENTITIES[entity]
    unknown = {k for r in rows for k in r} - set(ent.columns)
    assert not unknown, f"not canonical {entity} columns: {unknown}"
    if not rows:
        return
    delivery = pl.DataFrame(
        {c: [None if r.get(c) is None else str(r[c]) for r in rows] for c in ent.columns},
        schema=dict.fromkeys(ent.columns, pl.String),
    ).with_columns(
        pl.lit(f"test/{entity}_{delivery_seq}.csv").alias("_source_file"),
        (pl.int_range(pl.len()) + 2).alias("_row_number"),
        pl.lit(delivery_seq).alias("_delivery_seq"),
        pl.lit("0" * 64).alias("_file_sha256"),
        pl.lit(dt.datetime(2000, 1, 1)).alias("_loaded_at"),
    )
    columns = ", ".join([*ent.columns, *LINEAGE_COLUMNS])
    con.register("test_delivery", delivery.to_arrow())
    try:
        run(con, f"insert into raw.{ent.raw_table} ({columns}) select {columns} from test_delivery")
    finally:
        con.unregister("test_delivery")


def build_all(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> dict[str, int]:
    """Build staging, the sentiment table, then every other model, as the asset graph does."""
    models = discover_models(sql_dir)
    staging = {m.name for m in models if m.layer == "staging"}
    counts = build_models(con, sql_dir, only=staging)
    build_mention_sentiment(con)
    counts.update(build_models(con, sql_dir, only={m.name for m in models} - staging))
    return counts


def records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    """Rows of a query as dicts."""
    rel = con.sql(sql)
    names = rel.columns
    return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]


@contextmanager
def exports_built(
    data_dir: Path,
    exports: dict[str, str],
    as_of: str,
    timezone: str = "UTC",
    name: str = "export.csv",
) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, list[FileReport]]]]:
    """Write each export (landing folder -> its text, as ``name``), land every entity through
    the real ingestion (each raw table exists, empty when nothing was delivered), write the
    settings and build every model; yields the warehouse and the reports per entity."""
    for folder, text in exports.items():
        target = data_dir / "landing" / folder
        target.mkdir(parents=True)
        (target / name).write_text(text, encoding="utf-8")
    settings = Settings.resolve(data_dir=str(data_dir), as_of=as_of, timezone=timezone)
    with open_warehouse(settings.warehouse_path) as con:
        reports = {entity: ingest_entity(con, settings, entity) for entity in ENTITIES}
        write_settings(con, as_of)
        build_all(con)
        yield con, reports
