"""Check that the yardstick built the same marts as the pipeline, so the timing is honest.

Both files are attached read-only to one in-memory connection. Per mart: row counts on each
side and the rows of each side missing from the other (``except all``). Floating-point columns
are rounded to 6 decimals first: a parallel sum of doubles may differ in the last bits from run
to run; decimal, integer, text and date columns are compared exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.engine import SQL_DIR, sql_marts
from pipeline.sqltext import identifier, sql_path
from pipeline.warehouse import rows, run, scalar

FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
FLOAT_DECIMALS = 6


@dataclass(frozen=True)
class MartComparison:
    """One mart on both sides: row counts and rows found on one side only."""

    mart: str
    pipeline_rows: int
    yardstick_rows: int
    only_in_pipeline: int
    only_in_yardstick: int

    @property
    def equal(self) -> bool:
        return (
            self.pipeline_rows == self.yardstick_rows
            and self.only_in_pipeline == 0
            and self.only_in_yardstick == 0
        )


def _select(con: duckdb.DuckDBPyConnection, db: str, mart: str) -> str:
    columns = rows(
        con,
        "select column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = 'marts' and table_name = ? "
        "order by column_index",
        [db, mart],
    )
    if not columns:
        raise LookupError(f"{db}: no table marts.{mart}")
    exprs = [
        f"round({identifier(c)}, {FLOAT_DECIMALS}) as {identifier(c)}"
        if t.upper() in FLOAT_TYPES
        else identifier(c)
        for c, t in columns
    ]
    return f"select {', '.join(exprs)} from {db}.marts.{mart}"


def compare_marts(
    pipeline_db: Path, yardstick_db: Path, sql_dir: Path = SQL_DIR
) -> list[MartComparison]:
    """Compare every mart of ``sql_dir`` between the two DuckDB files."""
    marts = sql_marts(sql_dir)
    out = []
    with duckdb.connect() as con:
        run(con, f"attach {sql_path(pipeline_db)} as p (read_only)")
        run(con, f"attach {sql_path(yardstick_db)} as y (read_only)")
        for mart in marts:
            p, y = _select(con, "p", mart), _select(con, "y", mart)
            out.append(
                MartComparison(
                    mart=mart,
                    pipeline_rows=int(scalar(con, f"select count(*) from p.marts.{mart}")),
                    yardstick_rows=int(scalar(con, f"select count(*) from y.marts.{mart}")),
                    only_in_pipeline=int(scalar(con, f"select count(*) from ({p} except all {y})")),
                    only_in_yardstick=int(
                        scalar(con, f"select count(*) from ({y} except all {p})")
                    ),
                )
            )
    return out
