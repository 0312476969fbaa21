"""``meta.validation_watermarks``: what the last good validation of each asset saw.

Written only when an asset's checks pass (no critical failure): ``last_delivery_seq``, the
highest ``_delivery_seq`` validated (the next staging check validates only later rows), and
``row_count`` (a mart that shrinks too much since fails). In the warehouse, not Dagster's event
log: Dagster records a materialization whether or not its checks passed, and a run may use an
ephemeral instance; the warehouse is the state the marts are built from.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import duckdb

from pipeline.warehouse import add_missing_columns, rows, run

DDL = """
create table if not exists meta.validation_watermarks (
    check_asset text,
    table_name text,
    last_delivery_seq bigint,
    row_count bigint,
    run_id text,
    validated_at timestamp,
    build_id bigint,
    primary key (check_asset, table_name)
)
"""


@dataclass(frozen=True)
class Watermark:
    """What the last good validation of ``check_asset`` saw of ``table_name``."""

    last_delivery_seq: int | None
    row_count: int | None
    build_id: int | None = None  # the table's build (pipeline.engine) it saw


def ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``meta.validation_watermarks`` when it is missing."""
    run(con, "create schema if not exists meta")
    run(con, DDL)
    add_missing_columns(con, "meta", "validation_watermarks", {"build_id": "bigint"})


def read_watermark(con: duckdb.DuckDBPyConnection, check_asset: str, table: str) -> Watermark:
    """The watermark of ``table`` for the checks of ``check_asset`` (all None before any)."""
    ensure_state(con)
    found = rows(
        con,
        "select last_delivery_seq, row_count, build_id from meta.validation_watermarks "
        "where check_asset = ? and table_name = ?",
        [check_asset, table],
    )
    return Watermark(*found[0]) if found else Watermark(None, None, None)


def write_watermarks(
    con: duckdb.DuckDBPyConnection, check_asset: str, marks: dict[str, Watermark], run_id: str
) -> None:
    """Record the watermarks of a passed validation (one statement: all or none)."""
    ensure_state(con)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    values = [
        [check_asset, table, m.last_delivery_seq, m.row_count, run_id, now, m.build_id]
        for table, m in marks.items()
    ]
    run(
        con,
        "insert or replace into meta.validation_watermarks (check_asset, table_name, "
        "last_delivery_seq, row_count, run_id, validated_at, build_id) "
        f"values {', '.join(['(?, ?, ?, ?, ?, ?, ?)'] * len(values))}",
        [v for row in values for v in row],
    )


def max_shrink() -> float:
    """``PIPELINE_MAX_SHRINK``: the largest share of its rows a mart may lose between good runs."""
    from pipeline.config import setting

    return setting("PIPELINE_MAX_SHRINK")


def min_row_count(last_good: int | None, shrink: float) -> int:
    """Fewest rows a mart may have now: ``ceil(last_good × (1 - shrink))``, 0 without history."""
    if not last_good:
        return 0
    return math.ceil(last_good * (1 - shrink) - 1e-9)
