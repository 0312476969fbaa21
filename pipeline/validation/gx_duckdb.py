"""Great Expectations' SQL engine inside this process's DuckDB database: the compatibility fix.

Two faults stop GX 1.24 validating on DuckDB. Their minimal reproductions, written to be
reported upstream, and how this fix works: docs/validation.md, "GX's SQL engine on DuckDB: the
two faults and their fixes". Tests: tests/test_validation_gx_duckdb.py.

1. ``SqlAlchemyExecutionEngine.execute_query`` runs a metric query inside
   ``with self.get_connection()`` and the caller fetches the rows only after the connection went
   back to the pool. Returning it rolls back SQLAlchemy's transaction on the same DuckDB
   connection, and DuckDB results are not buffered, so the fetch finds no rows (IndexError).
   Fix, through SQLAlchemy's supported ``creator`` hook: the DB-API connection GX gets fetches
   every result whole as soon as it runs (:class:`BufferedCursor`). GX's metric queries return
   aggregates or a few example rows, so buffering them costs nothing.
2. GX maps no regex operator for the ``duckdb`` dialect ("Regex is not supported for dialect
   duckdb"). Fix, through GX's metric-provider extension: :func:`register_duckdb_regex` declares
   the two regex metrics again with DuckDB's ``regexp_matches`` (a partial match, like pandas'
   ``str.contains`` and PostgreSQL's ``~``; DuckDB's own ``~`` is a full match) and leaves every
   other dialect to GX's own expression.

DuckDB lets one process write a database file. GX therefore never opens the file: its
connection is one the pipeline made, either ``con.cursor()`` (:func:`gx_connection`, a second
connection to the warehouse, which sees committed tables, not ``con``'s temporary ones; staging
and mart batches are temporary views on it) or the landed files' in-memory database.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Sequence
from typing import Any

import duckdb
from duckdb_engine import ConnectionWrapper

from pipeline.sqltext import literal
from pipeline.validation.suites import gx_logger_at
from pipeline.warehouse import run, scalar

# Any URL of the duckdb dialect: with ``creator`` set, SQLAlchemy never opens it.
DUCKDB_URL = "duckdb:///:memory:"


class BufferedCursor:
    """A DB-API cursor over duckdb_engine's that fetches each result whole when it runs."""

    arraysize = 1

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._rows: list[tuple] = []
        self.description: Any = None
        self.rowcount = -1

    def execute(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        """Run ``statement`` and keep all its rows, so the connection is free at once."""
        self._inner.execute(statement, parameters)
        self.description = self._inner.description
        self._rows = list(self._inner.fetchall()) if self.description else []
        self.rowcount = len(self._rows) if self.description else -1

    def executemany(self, statement: str, parameters: Sequence[Any] | None = None, context=None):
        """Run ``statement`` once per parameter set (no result)."""
        self._inner.executemany(statement, parameters)
        self.description, self._rows, self.rowcount = None, [], -1

    def fetchone(self) -> tuple | None:
        """The next row, or None."""
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        """The next ``size`` rows (``arraysize`` by default)."""
        size = self.arraysize if size is None else size
        taken, self._rows = self._rows[:size], self._rows[size:]
        return taken

    def fetchall(self) -> list[tuple]:
        """Every row not yet fetched."""
        taken, self._rows = self._rows, []
        return taken

    def close(self) -> None:
        """Drop the rows kept."""
        self._rows = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class BufferedConnection(ConnectionWrapper):
    """duckdb_engine's DB-API connection whose cursors buffer their results."""

    def cursor(self) -> BufferedCursor:  # type: ignore[override]
        return BufferedCursor(super().cursor())


def gx_connection(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A new connection to ``con``'s database, with ``con``'s search path, for GX to use."""
    own = con.cursor()
    path = scalar(con, "select current_setting('search_path')")
    if path:  # a connection's settings are its own: models name tables without a schema
        run(own, f"set search_path = {literal(path)}")
    return own


def add_duckdb_datasource(context: Any, gx_con: duckdb.DuckDBPyConnection, name: str):
    """A GX SQL data source whose every query runs on ``gx_con`` (see the module docstring).

    Batches are best given as tables or views: for a query asset GX runs the whole query once
    just to read its column names, which the buffering cursor would then fetch to the end.
    """
    from sqlalchemy.pool import StaticPool

    from pipeline.validation.gx_columns import register_duckdb_column_types
    from pipeline.validation.gx_unique import register_duckdb_unique

    register_duckdb_regex()
    register_duckdb_column_types()
    register_duckdb_unique()
    # GX warns on every type check that duckdb_engine exports no type module of its own; it then
    # matches SQLAlchemy's generic types, which is what the suites' type lists name.
    logging.getLogger("great_expectations.expectations.type_comparison").setLevel(logging.ERROR)
    return context.data_sources.add_sql(
        name=name,
        connection_string=DUCKDB_URL,
        # One connection for the data source's life (StaticPool), made by our creator.
        kwargs={"creator": functools.partial(BufferedConnection, gx_con), "poolclass": StaticPool},
    )


def overriding_metrics() -> contextlib.AbstractContextManager[None]:
    """Register metric providers that replace GX's own (the DuckDB fixes here and in
    gx_columns/gx_unique) without GX's "overwriting metric_provider" warning for each: we mean
    to. GX's logger level is restored after."""
    return gx_logger_at("great_expectations.expectations.registry", logging.ERROR)


@functools.cache
def register_duckdb_regex() -> None:
    """Give GX's two regex metrics a DuckDB expression (``regexp_matches``); once per process.

    Declaring a subclass of a GX metric provider registers its functions under the same metric
    names (GX's custom-metric mechanism); the pandas and Spark functions are inherited as they
    are, and a dialect other than DuckDB still gets GX's own expression.
    """
    import sqlalchemy as sa
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine
    from great_expectations.expectations.metrics.column_map_metrics import (
        ColumnValuesMatchRegex,
        ColumnValuesNotMatchRegex,
    )
    from great_expectations.expectations.metrics.map_metric_provider import (
        column_condition_partial,
    )
    from great_expectations.expectations.metrics.util import get_dialect_regex_expression

    def expression(column, regex: str, dialect, positive: bool):
        if getattr(dialect, "name", None) == "duckdb":
            matches = sa.func.regexp_matches(column, sa.literal(regex))
            return matches if positive else sa.not_(matches)
        found = get_dialect_regex_expression(column, regex, dialect, positive=positive)
        if found is None:
            raise NotImplementedError(f"Regex is not supported for dialect {dialect}")
        return found

    with overriding_metrics():

        class DuckDBMatchRegex(ColumnValuesMatchRegex):
            @column_condition_partial(engine=SqlAlchemyExecutionEngine)
            def _sqlalchemy(cls, column, regex, _dialect, **kwargs):
                return expression(column, regex, _dialect, positive=True)

        class DuckDBNotMatchRegex(ColumnValuesNotMatchRegex):
            @column_condition_partial(engine=SqlAlchemyExecutionEngine)
            def _sqlalchemy(cls, column, regex, _dialect, **kwargs):
                return expression(column, regex, _dialect, positive=False)
