"""Great Expectations' SQL engine inside this process's DuckDB database: the compatibility fix.

The faults' minimal reproductions, written to be reported upstream: docs/validation.md, "GX's
SQL engine on DuckDB". Tests: tests/test_validation_gx_duckdb.py, _gx_columns.py, _gx_unique.py.

1. GX fetches a metric query's rows after its connection went back to the pool, whose rollback
   discards DuckDB's unbuffered result (IndexError). Through SQLAlchemy's ``creator`` hook, GX's
   cursors fetch each (small: aggregates, a few examples) result whole (:class:`BufferedCursor`).
2. GX maps no regex operator for ``duckdb``: here ``regexp_matches``, a partial match like
   PostgreSQL's ``~`` (DuckDB's ``~`` is a full match).
3. ``table.column_types`` reflects through duckdb_engine's PostgreSQL inspector, 60 ms of CPU
   twice a suite run (40 % of a small landed suite); ``DESCRIBE`` takes under 1 ms, mapped to
   the SQLAlchemy types reflection gives.
4. Uniqueness is ``count(*) over (partition by key)`` over every row, twice: here the repeated
   keys are grouped once (half the CPU), one row per repeated row; not at all where the
   batch's view declares the key unique (:func:`declare_unique`: landed batches, which count
   their keys anyway).

2-4 use GX's metric-provider mechanism: a subclass of GX's provider registers its functions
under the same metric names; other dialects keep GX's own. GX never opens the database file
(one process may write it): its connection is ``con.cursor()`` (:func:`gx_connection`, seeing
committed tables) or the landed files' in-memory database.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from collections.abc import Callable
from typing import Any

import duckdb
from duckdb_engine import ConnectionWrapper

from pipeline.sqltext import identifier, literal
from pipeline.validation.suites import gx_logger_at
from pipeline.warehouse import run, scalar

# Any URL of the duckdb dialect: with ``creator`` set, SQLAlchemy never opens it.
DUCKDB_URL = "duckdb:///:memory:"
# DuckDB's type names described here, and the name pg_catalog.format_type gives each where it is
# not the lower-case one (duckdb_engine reflects a column by that name); others go to reflection.
FORMAT_NAMES = {
    "BIGINT": "int8", "INTEGER": "int4", "SMALLINT": "int2", "DOUBLE": "float8",
    "FLOAT": "float4", "BOOLEAN": "bool", "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "BLOB": "bytea",
} | {t: t.lower() for t in (
    "VARCHAR", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "UHUGEINT",
    "DATE", "TIME", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "INTERVAL", "UUID",
)}  # fmt: skip
DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
UNIQUE = "unique: "  # a temporary view's comment declaring a column unique: UNIQUE + name
DECLARED = "select count(*) from duckdb_views() where temporary and view_name = :v and comment = :c"


class BufferedCursor:
    """A DB-API cursor over duckdb_engine's that fetches each result whole when it runs."""

    arraysize = 1

    def __init__(self, inner: Any) -> None:
        self._inner, self._rows, self.description, self.rowcount = inner, iter(()), None, -1

    def execute(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        """Run ``statement`` and keep all its rows, so the connection is free at once."""
        self._inner.execute(statement, parameters)
        self.description = self._inner.description
        found = self._inner.fetchall() if self.description else None
        self._rows, self.rowcount = iter(found or ()), -1 if found is None else len(found)

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        """The next ``size`` rows (``arraysize`` by default)."""
        return list(itertools.islice(self._rows, self.arraysize if size is None else size))

    def fetchone(self) -> tuple | None:
        """The next row, or None."""
        return next(self._rows, None)

    def fetchall(self) -> list[tuple]:
        """Every row not yet fetched."""
        return list(self._rows)

    def close(self) -> None:
        """Drop the rows kept."""
        self._rows = iter(())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class BufferedConnection(ConnectionWrapper):
    """duckdb_engine's DB-API connection whose cursors buffer their results, over a DuckDB
    connection its owner closes (SQLAlchemy's pool closes this one on every check-in)."""

    def cursor(self) -> BufferedCursor:  # type: ignore[override]
        return BufferedCursor(super().cursor())

    def close(self) -> None:
        """Leave the DuckDB connection open: its owner closes it."""


def gx_connection(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A new connection to ``con``'s database, with ``con``'s search path, for GX to use."""
    own = con.cursor()
    path = scalar(con, "select current_setting('search_path')")
    if path:  # a connection's settings are its own: models name tables without a schema
        run(own, f"set search_path = {literal(path)}")
    return own


def add_duckdb_datasource(
    context: Any, connection: Callable[[], duckdb.DuckDBPyConnection], name: str
):
    """A GX SQL data source whose every query runs on the DuckDB connection ``connection()``
    returns when GX opens one (see the module docstring): the data source and its assets are
    made once, the connection may change between GX runs (``runner.sql_source``).

    Give batches as tables or views: for a query asset GX runs the whole query to read its
    column names, which the buffering cursor would fetch to the end.
    """
    from sqlalchemy.pool import NullPool

    register_duckdb_metrics()
    # GX warns on every type check that duckdb_engine exports no type module of its own; it then
    # matches SQLAlchemy's generic types, which is what the suites' type lists name.
    logging.getLogger("great_expectations.expectations.type_comparison").setLevel(logging.ERROR)
    return context.data_sources.add_sql(
        name=name,
        connection_string=DUCKDB_URL,
        # A new wrapper per checkout (NullPool), over the connection of the moment.
        kwargs={"creator": lambda: BufferedConnection(connection()), "poolclass": NullPool},
    )


def sqlalchemy_type(dialect: Any, duckdb_type: str) -> Any | None:
    """The SQLAlchemy type duckdb_engine reflects for a column of ``duckdb_type`` (as DuckDB's
    ``DESCRIBE`` spells it), or None for a type left to reflection."""
    names = dialect.ischema_names
    decimal = DECIMAL.fullmatch(duckdb_type)
    if decimal:
        return names["numeric"](precision=int(decimal[1]), scale=int(decimal[2]))
    name = FORMAT_NAMES.get(duckdb_type)
    return names[name]() if name in names else None


def declare_unique(con: duckdb.DuckDBPyConnection, view: str, column: str) -> None:
    """Declare ``column`` unique in the temporary ``view`` by its comment, which goes with the
    view: GX's uniqueness metric then finds no repeated key without reading the rows. Only for
    a column known unique (e.g. counted so in the statement that chose a view)."""
    run(con, f"comment on view temp.main.{identifier(view)} is {literal(UNIQUE + column)}")


def _batch_source(engine: Any, domain: dict) -> tuple[str | None, str] | None:
    """The batch's (schema, table or view), or None for a batch that is not one."""
    batch_id = domain.get("batch_id") or engine.batch_manager.active_batch_data_id
    data = engine.batch_manager.batch_data_cache.get(batch_id)
    table = getattr(data, "source_table_name", None)
    return (data.source_schema_name, table) if table else None


def _described_columns(engine: Any, domain: dict) -> list[dict] | None:
    """GX's column metadata of the batch's table from ``DESCRIBE`` (None: a type left to
    reflection, or a batch that is not a table)."""
    import sqlalchemy as sa

    source = _batch_source(engine, domain)
    if source is None:
        return None
    quote = engine.dialect.identifier_preparer.quote
    name = ".".join(quote(part) for part in source if part)
    columns = []
    for column, duckdb_type, null, _key, default, _extra in engine.execute_query(
        sa.text(f"describe {name}")
    ).fetchall():
        found = sqlalchemy_type(engine.dialect, duckdb_type)
        if found is None:
            return None
        # The keys GX's reflection gives a column (get_sqlalchemy_column_metadata).
        columns.append({"name": column, "type": found, "nullable": null == "YES",
                        "default": default, "autoincrement": False, "comment": None,
                        "primary_key": False})  # fmt: skip
    return columns


def _repeated_keys(engine: Any, domain: dict, column: str, table: Any, label: str, alias: str):
    """Each row whose non-null key repeats, as (key, count of its key), from one grouping of
    the keys; none where the batch's view declares the key unique (:func:`declare_unique`:
    unique in the batch, unique under any row condition). GX's first pass reads it once
    (its example query asks for no rows: DuckDB runs nothing for a ``limit 0``)."""
    import sqlalchemy as sa

    batch = _batch_source(engine, domain)
    declared = sa.text(DECLARED).bindparams(v=batch and batch[1], c=UNIQUE + column)
    if batch and engine.execute_query(declared).scalar():
        none = sa.select(sa.null().label(column), sa.literal(0).label(label))
        return none.where(sa.false()).alias(alias)
    key = sa.column(column)
    grouped = (
        sa.select(key, sa.func.count().label(label))
        .select_from(table.subquery() if isinstance(table, sa.Select) else table)
        .where(key.is_not(None))
        .group_by(key)
        .having(sa.func.count() >= 2)
        .subquery("repeated_keys")
    )
    # One row per row of the batch whose key repeats: GX counts rows, not keys.
    copies = sa.func.unnest(sa.func.range(grouped.c[label])).label(f"{label}_copy")
    return sa.select(grouped.c[column], grouped.c[label], copies).alias(alias)


@functools.cache
def register_duckdb_metrics() -> None:
    """Declare GX's regex, column-type and uniqueness metrics again for the SQL engine on
    DuckDB (see the module docstring); once per process."""
    import sqlalchemy as sa
    from great_expectations.core.metric_domain_types import MetricDomainTypes
    from great_expectations.core.metric_function_types import MetricPartialFunctionTypes
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine as Engine
    from great_expectations.expectations.metrics import column_map_metrics as maps
    from great_expectations.expectations.metrics.column_map_metrics import column_values_unique
    from great_expectations.expectations.metrics.map_metric_provider import (
        column_condition_partial,
    )
    from great_expectations.expectations.metrics.metric_provider import (
        metric_partial,
        metric_value,
    )
    from great_expectations.expectations.metrics.table_metrics.table_column_types import (
        ColumnTypes,
    )
    from great_expectations.expectations.metrics.util import (
        get_dbms_compatible_metric_domain_kwargs,
        get_dialect_regex_expression,
    )

    def regex_expression(column, regex: str, dialect, positive: bool):
        if getattr(dialect, "name", None) == "duckdb":
            matches = sa.func.regexp_matches(column, sa.literal(regex))
            return matches if positive else sa.not_(matches)
        found = get_dialect_regex_expression(column, regex, dialect, positive=positive)
        if found is None:
            raise NotImplementedError(f"Regex is not supported for dialect {dialect}")
        return found

    gx_types = ColumnTypes._sqlalchemy
    gx_unique = column_values_unique.ColumnValuesUnique
    gx_window = gx_unique._sqlalchemy_function

    # Replacing GX's providers is meant: no "overwriting metric_provider" warning for each.
    with gx_logger_at("great_expectations.expectations.registry", logging.ERROR):

        class DuckDBMatchRegex(maps.ColumnValuesMatchRegex):
            @column_condition_partial(engine=Engine)
            def _sqlalchemy(cls, column, regex, _dialect, **kwargs):
                return regex_expression(column, regex, _dialect, positive=True)

        class DuckDBNotMatchRegex(maps.ColumnValuesNotMatchRegex):
            @column_condition_partial(engine=Engine)
            def _sqlalchemy(cls, column, regex, _dialect, **kwargs):
                return regex_expression(column, regex, _dialect, positive=False)

        class DuckDBColumnTypes(ColumnTypes):
            @metric_value(engine=Engine)
            def _sqlalchemy(cls, execution_engine, metric_domain_kwargs, **kwargs):
                if execution_engine.dialect.name == "duckdb":
                    found = _described_columns(execution_engine, metric_domain_kwargs)
                    if found is not None:
                        return found
                return gx_types(cls=cls, execution_engine=execution_engine,
                                metric_domain_kwargs=metric_domain_kwargs, **kwargs)  # fmt: skip

        class DuckDBColumnValuesUnique(gx_unique):
            # GX's column_function_partial hides the execution engine: the same steps, with it.
            @metric_partial(
                engine=Engine,
                partial_fn_type=MetricPartialFunctionTypes.MAP_FN,
                domain_type=MetricDomainTypes.COLUMN,
            )
            def _sqlalchemy_function(cls, execution_engine, metric_domain_kwargs, metrics, **kw):
                if execution_engine.dialect_name != "duckdb":
                    return gx_window(cls=cls, execution_engine=execution_engine,
                                     metric_domain_kwargs=metric_domain_kwargs, metrics=metrics,
                                     **kw)  # fmt: skip
                domain = get_dbms_compatible_metric_domain_kwargs(
                    metric_domain_kwargs=metric_domain_kwargs,
                    batch_columns_list=metrics["table.columns"],
                )
                # GX filters null keys before its window (filter_column_isnull): so here.
                domain = execution_engine.add_column_row_condition(domain)
                table, compute, accessor = execution_engine.get_compute_domain(
                    domain_kwargs=domain, domain_type=MetricDomainTypes.COLUMN
                )
                label = column_values_unique._count_label(metrics["table.columns"])
                alias = column_values_unique._DUP_KEY_SUBQUERY_ALIAS
                found = _repeated_keys(
                    execution_engine, domain, accessor["column"], table, label, alias
                )
                return found, compute, accessor
