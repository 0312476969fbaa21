"""A batch's column types for GX's SQL engine from DuckDB's ``DESCRIBE``, not SQLAlchemy reflection.

GX's ``table.column_types`` metric, which every suite run needs (column expectations check
their column exists; type lists compare its type), reflects the batch through SQLAlchemy's
PostgreSQL inspector, as duckdb_engine does: a primary-key query DuckDB rejects (``REGCLASS``,
raised and caught on every run) and a ``pg_catalog`` column query. That cost about 60 ms of
CPU per call, and a suite run calls it about twice: 40 % of a small delivery's landed suite
(profiled at 100k customers). ``DESCRIBE`` answers in under a millisecond.

The types are the SQLAlchemy types duckdb_engine's reflection gives, built the way it builds
them: DuckDB's type name is turned into the name DuckDB's ``pg_catalog.format_type`` reports
(``BIGINT`` -> ``int8``), which the dialect's own ``ischema_names`` maps to a type. So the
landed suites' type lists (``String``, ``TIMESTAMP``, ``Date``, ``Integer``, ``NUMERIC``, matched
with ``isinstance``) mean what they meant; ``tests/test_validation_gx_columns.py`` compares both
routes on every type below. A batch with a column of any other type (lists, structs, enums,
JSON, …) is left to GX's reflection.

Registered through GX's metric-provider mechanism, as the regex fix in ``gx_duckdb`` is: a
subclass of GX's ``ColumnTypes`` declares ``table.column_types`` again for the SQL engine, and
leaves every other dialect, and any batch DuckDB cannot describe, to GX's own function.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from pipeline.validation.gx_duckdb import overriding_metrics

# DuckDB's name of a type -> the name DuckDB's pg_catalog.format_type gives it (duckdb_engine
# reflects a column by that name); only these types are described here.
FORMAT_NAMES = {
    "VARCHAR": "varchar",
    "BIGINT": "int8",
    "INTEGER": "int4",
    "SMALLINT": "int2",
    "TINYINT": "tinyint",
    "HUGEINT": "hugeint",
    "UBIGINT": "ubigint",
    "UINTEGER": "uinteger",
    "USMALLINT": "usmallint",
    "UTINYINT": "utinyint",
    "UHUGEINT": "uhugeint",
    "DOUBLE": "float8",
    "FLOAT": "float4",
    "BOOLEAN": "bool",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP_NS": "timestamp_ns",
    "TIMESTAMP_MS": "timestamp_ms",
    "TIMESTAMP_S": "timestamp_s",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "BLOB": "bytea",
}
DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def sqlalchemy_type(dialect: Any, duckdb_type: str) -> Any | None:
    """The SQLAlchemy type duckdb_engine reflects for a column of ``duckdb_type`` (as DuckDB's
    ``DESCRIBE`` spells it), or None for a type this module leaves to reflection."""
    names = dialect.ischema_names
    decimal = DECIMAL.fullmatch(duckdb_type)
    if decimal:
        return names["numeric"](precision=int(decimal[1]), scale=int(decimal[2]))
    name = FORMAT_NAMES.get(duckdb_type)
    if name is None or name not in names:
        return None
    return names[name]()


def describe_columns(execution_engine: Any, table: str, schema: str | None) -> list[dict] | None:
    """GX's column metadata of ``table`` (a table, view or temporary table) from ``DESCRIBE``, or
    None when DuckDB cannot describe it or a column has a type left to reflection."""
    import sqlalchemy as sa

    quote = execution_engine.dialect.identifier_preparer.quote
    name = f"{quote(schema)}.{quote(table)}" if schema else quote(table)
    try:
        described = execution_engine.execute_query(sa.text(f"describe {name}")).fetchall()
    except sa.exc.DBAPIError:
        return None
    columns = []
    for column, duckdb_type, null, _key, default, _extra in described:
        found = sqlalchemy_type(execution_engine.dialect, duckdb_type)
        if found is None:
            return None
        # The keys GX's reflection gives a column (get_sqlalchemy_column_metadata).
        columns.append(
            {
                "name": column,
                "type": found,
                "nullable": null == "YES",
                "default": default,
                "autoincrement": False,
                "comment": None,
                "primary_key": False,
            }
        )
    return columns


@functools.cache
def register_duckdb_column_types() -> None:
    """Declare ``table.column_types`` again for GX's SQL engine, from ``DESCRIBE`` on DuckDB
    (see the module docstring); once per process."""
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine
    from great_expectations.expectations.metrics.metric_provider import metric_value
    from great_expectations.expectations.metrics.table_metrics.table_column_types import (
        ColumnTypes,
    )

    gx_own = ColumnTypes._sqlalchemy  # GX's reflection, for everything else

    def batch_table(execution_engine, metric_domain_kwargs) -> tuple[str, str | None] | None:
        batch_id = (
            metric_domain_kwargs.get("batch_id")
            or execution_engine.batch_manager.active_batch_data_id
        )
        data = execution_engine.batch_manager.batch_data_cache.get(batch_id)
        table = getattr(data, "source_table_name", None)
        return (table, data.source_schema_name) if table else None

    with overriding_metrics():

        class DuckDBColumnTypes(ColumnTypes):
            @metric_value(engine=SqlAlchemyExecutionEngine)
            def _sqlalchemy(cls, execution_engine, metric_domain_kwargs, **kwargs):
                if execution_engine.dialect.name == "duckdb":
                    table = batch_table(execution_engine, metric_domain_kwargs)
                    found = describe_columns(execution_engine, *table) if table else None
                    if found is not None:
                        return found
                return gx_own(
                    cls=cls,
                    execution_engine=execution_engine,
                    metric_domain_kwargs=metric_domain_kwargs,
                    **kwargs,
                )
