"""The batches staging and mart suites run on: SQL queries GX's SQL engine runs inside DuckDB,
one builder per ``meta.batch`` (``new_rows``, ``currencies``, ``customer_links``, ``table``,
``personal_data``; docs/validation.md#suite-files). Only the columns a suite reads are selected,
and only committed tables named: GX runs them on a connection of its own (``gx_duckdb``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from pipeline import pii
from pipeline.sqltext import identifier, literal
from pipeline.validation.state import (
    LINKED_RECORDS,
    LINKED_TABLES,
    Watermark,
    max_shrink,
    min_row_count,
    read_watermark,
)
from pipeline.validation.suites import Suite
from pipeline.warehouse import rows, scalar

SEQ = "_delivery_seq"
# A selecting batch's row count in its description, filled in once counted: in its temporary
# table (``runner.run_suite_sql``), not by running the batch's query once more to count it.
ROWS = "{rows}"
MAX_AT_VALUES_PER_COLUMN = 200  # enough examples of a leaked e-mail; bounds memory


@dataclass
class Batch:
    """A query to validate, its row count, what it is (for people), GX parameters and the
    watermarks to commit. ``materialize``: a selecting (not projecting) query, run once into a
    temporary table: on a view each of GX's dozen queries would select again (on 6.2M e-mail
    events, the repeated-key grouping cost as much as each metric). ``assets``: the marts of
    a personal-data batch."""

    sql: str
    rows: int | None  # None: counted when validated
    description: str  # :data:`ROWS` where the count goes
    parameters: dict[str, Any] = field(default_factory=dict)
    watermarks: dict[str, Watermark] = field(default_factory=dict)
    materialize: bool = True
    assets: list[str] = field(default_factory=list)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(scalar(con, f"select count(*) from ({sql})"))


class MissingTable(LookupError):
    """The table a suite reads does not exist yet (its asset was never materialised)."""


def table_schema(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str, list[tuple[str, str]]]:
    """The schema holding ``table`` and its (column, type) pairs; raises MissingTable."""
    found = rows(
        con,
        # duckdb_columns(), not information_schema.columns (a view over it): a third of the CPU
        # per call (2 vs 3 ms at 100k), paid for every table of every check of a step.
        "select schema_name, column_name, data_type from duckdb_columns() "
        "where table_name = ? and not internal order by column_index",
        [table],
    )
    if not found:
        raise MissingTable(f"table {table} does not exist yet: materialise its asset first")
    return found[0][0], [(c, t) for _, c, t in found]


def build_batch(
    con: duckdb.DuckDBPyConnection, suite: Suite, asset: str, *, counted: bool = True
) -> Batch:
    """The batch ``suite`` validates for ``asset`` (the mart, for the every-mart suite); with
    ``counted`` False a selecting batch's rows are left to count where it is validated."""
    builders = {"new_rows": _new_rows, "currencies": _currencies, "table": _table,
                "customer_links": _customer_links}  # fmt: skip
    if suite.batch == "personal_data":
        return personal_data_batch(con, [asset])
    if suite.batch not in builders:
        raise ValueError(f"{suite.path}: batch {suite.batch!r} is not built from the warehouse")
    batch = builders[suite.batch](con, suite, asset)
    if counted and batch.rows is None:
        batch.rows = _count(con, batch.sql)
    if batch.rows is not None:
        batch.description = batch.description.replace(ROWS, str(batch.rows))
    return batch


def _select(
    suite: Suite, table: str, available: list[str], derived: dict[str, str] | None = None
) -> str:
    """The select list of the columns of ``available`` that ``suite`` reads, and ``derived``;
    SuiteError when it reads a column ``table`` does not have."""
    suite.check_columns(table, available)
    wanted = suite.referenced_columns()
    parts = [identifier(c) for c in available if c in wanted]
    parts += [f"{e} as {identifier(n)}" for n, e in (derived or {}).items()]
    return ", ".join(parts) or "1 as _row"


def _since(con: duckdb.DuckDBPyConnection, asset: str, schema: str, table: str):
    """The delivery ``asset``'s checks validated ``table`` up to (None when none, or when the
    warehouse was rebuilt: delivery numbers started again), its row count and latest delivery."""
    since = read_watermark(con, asset, table).last_delivery_seq
    total, latest = rows(con, f"select count(*), max({SEQ}) from {schema}.{table}")[0]
    return (None if latest is None or (since or 0) > latest else since), total, latest


def _new_rows(con: duckdb.DuckDBPyConnection, suite: Suite, asset: str) -> Batch:
    table, key = suite.asset, suite.meta.get("key")
    schema, cols = table_schema(con, table)
    names = [c for c, _ in cols]
    if not key or key not in names or SEQ not in names:
        raise ValueError(f"{suite.path}: meta.key {key!r} and {SEQ} must be columns of {table}")
    since, total, latest = _since(con, asset, schema, table)
    # With no watermark the batch is every row: a projection, no filter.
    sql = select = f"select {_select(suite, table, names)} from {schema}.{table}"
    if since is not None:
        new = f"{SEQ} > {int(since)}"
        # Two selects, not one ``or``: each skips the row groups its filter rules out by their
        # min/max and null counts (stg_email_events at 100k, 47,600 new of 6.2M rows: 0.02 s of
        # CPU, against 0.30 s for a scan of every row).
        sql = f"{select} where {new} union all {select} where {key} is null and ({new}) is not true"
        if any(
            e["type"] == "expect_column_values_to_be_unique" and e["kwargs"].get("column") == key
            for e in suite.expectations
        ):  # Uniqueness holds against the whole table: every row whose key repeats, too.
            sql += (
                f" union all {select} where ({new}) is not true and {key} in ("
                f"select {key} from {schema}.{table} group by {key} having count(*) > 1)"
            )
    scope = f"delivered after #{since}" if since is not None else "all (no earlier good run)"
    return Batch(
        sql=sql,
        rows=None if since is not None else total,  # no watermark: every row
        description=f"{ROWS} of {total} rows of {table}: {scope}, plus any null key",
        watermarks={table: Watermark(latest, total)},
        materialize=since is not None,
    )


def _currencies(con: duckdb.DuckDBPyConnection, suite: Suite, asset: str) -> Batch:
    table = f"{table_schema(con, suite.asset)[0]}.{suite.asset}"
    sql = f"select currency, count(*) as orders from {table} where currency is not null group by 1"
    return Batch(sql, None, f"{ROWS} distinct currencies in {suite.asset}")


def _customer_links(con: duckdb.DuckDBPyConnection, suite: Suite, asset: str) -> Batch:
    for needed in LINKED_TABLES:
        table_schema(con, needed)
    parts, marks = [], {}
    for record_type, (table, key) in LINKED_RECORDS.items():
        try:
            schema, _ = table_schema(con, table)
        except MissingTable:
            continue
        since, total, latest = _since(con, asset, schema, table)
        parts.append(
            f"select {literal(record_type)} as record_type, {key} as record_id "
            f"from {schema}.{table} where {SEQ} > {-1 if since is None else int(since)}"
        )
        marks[table] = Watermark(latest, total)
    if not parts:
        raise MissingTable("none of stg_orders, stg_tickets, stg_surveys exists yet")
    sql = f"""
        with new_records as ({" union all ".join(parts)})
        select
            new_records.record_type,
            new_records.record_id,
            links.natural_key,
            orders.is_qualifying,
            customers.customer_id
        from new_records
        left join int_record_links as links
            on links.record_type = new_records.record_type
            and links.record_id = new_records.record_id
        left join int_orders as orders
            on new_records.record_type = 'order'
            and orders.order_id = new_records.record_id
        left join int_customers as customers
            on customers.natural_key = links.natural_key
        """
    return Batch(
        sql=sql,
        rows=None,
        description=f"{ROWS} orders, tickets and surveys delivered since the last good run",
        watermarks=marks,
    )


def _table(con: duckdb.DuckDBPyConnection, suite: Suite, asset: str) -> Batch:
    schema, cols = table_schema(con, suite.asset)
    select = _select(suite, suite.asset, [c for c, _ in cols], suite.derived_columns)
    sql = f"select {select} from {schema}.{suite.asset}"
    height = _count(con, sql)
    last_good = read_watermark(con, asset, suite.asset).row_count
    floor = min_row_count(last_good, max_shrink())
    since = f"last good run {last_good} rows" if last_good is not None else "no earlier good run"
    return Batch(
        sql=sql,
        rows=height,
        description=f"all {height} rows of {suite.asset} ({since}; minimum now {floor})",
        parameters={"min_row_count": floor},
        watermarks={suite.asset: Watermark(None, height)},
        materialize=False,  # the mart's columns: a projection
    )


def personal_data_batch(con: duckdb.DuckDBPyConnection, marts: list[str]) -> Batch:
    """The personal-data batch of the ``marts`` that exist (MissingTable if none does): per
    mart (``mart``), one row per column name (``mart_column``, value null) and each text value
    with '@' or like an e-mail address or phone number (``value``)."""
    parts, found = [], {}
    for mart in marts:
        try:
            schema, cols = table_schema(con, mart)
        except MissingTable:
            if len(marts) == 1:
                raise
            continue  # its own check says so
        found[mart] = len(cols)
        parts += [
            f"select {literal(mart)} as mart, {literal(c)} as mart_column, "
            "cast(null as varchar) as value"
            for c, _ in cols
        ]
        parts += [
            f"(select {literal(mart)} as mart, {literal(c)} as mart_column, cast({q} as varchar) "
            f"as value from {schema}.{mart} where contains({q}, '@') or {pii.matches_sql(q)} "
            f"limit {MAX_AT_VALUES_PER_COLUMN})"
            for c, t in cols
            if t.upper().startswith(("VARCHAR", "TEXT", "STRING"))
            for q in [identifier(c)]
        ]
    if not found:
        raise MissingTable(f"none of the marts {', '.join(marts)} exists yet")
    return Batch(
        sql=" union all ".join(parts),
        rows=None,  # counted in its temporary table: the scan runs once
        description=(
            f"{sum(found.values())} column names of {', '.join(found)} and the text values "
            f"with '@' or like an e-mail address or phone number "
            f"(at most {MAX_AT_VALUES_PER_COLUMN} per column)"
        ),
        assets=list(found),
    )
