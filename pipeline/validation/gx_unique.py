"""GX's uniqueness metric on DuckDB: one grouping of the repeated keys, not a window over all rows.

GX 1.24 computes ``expect_column_values_to_be_unique`` on SQL from the map metric
``column_values.count_per_value.map``: every non-null row with ``count(*) over (partition by
key)``. The two queries of a SUMMARY run, the unexpected count and the unexpected values
(``LIMIT 20``, which reads everything when nothing repeats), each build that window over all
rows: on DuckDB a window partitions and materialises every row, about twice the CPU of a hash
grouping of the same keys (6.2M distinct 32-character keys: 2.6 s against 1.3 s for the count
query). That window, twice, was most of the staging check at 100k customers (issue 14).

On DuckDB the metric is instead computed once, when GX resolves it: the repeated keys
(``select key, count(*) as n … where key is not null group by key having count(*) >= 2``) go
into a temporary table on GX's connection, and the metric is that table expanded back to one
row per row of the batch (``unnest(range(n))``), usually no rows at all. GX's own condition
(``n >= 2``) and its count and value queries then read that small table: a key seen once
contributes nothing to either, so the unexpected count (the rows whose key repeats), the
unexpected values and, nulls being filtered by GX before the metric as before, the missing
count are what GX's window gives. Rows with their index columns come from GX's own join back to
the batch (its ``unexpected_index_list`` provider, which already groups), unchanged. The runner
drops the tables after each suite run (:func:`drop_repeated_keys`).

Registered through GX's metric-provider mechanism as ``gx_duckdb``'s regex fix is: a subclass of
GX's ``ColumnValuesUnique`` declares the map metric again for the SQL engine and leaves every
other dialect to GX's own window. Tests: tests/test_validation_gx_unique.py.
"""

from __future__ import annotations

import functools
import itertools
import logging
from typing import Any

from pipeline.sqltext import identifier
from pipeline.validation.gx_duckdb import overriding_metrics
from pipeline.warehouse import rows, run

# Temporary tables of repeated keys, one per unique expectation run: this prefix and a number.
TABLE_PREFIX = "gx_repeated_keys_"
_numbers = itertools.count()


def drop_repeated_keys(con: Any) -> None:
    """Drop every table of repeated keys made on GX's connection ``con`` (a DuckDB connection)."""
    found = rows(
        con,
        "select table_name from duckdb_tables() where temporary and starts_with(table_name, ?)",
        [TABLE_PREFIX],
    )
    for (name,) in found:
        run(con, f"drop table if exists temp.main.{identifier(name)}")


@functools.cache
def register_duckdb_unique() -> None:
    """Declare ``column_values.count_per_value.map`` again for GX's SQL engine: the repeated
    keys' grouping on DuckDB (see the module docstring), GX's window elsewhere; once per process."""
    import sqlalchemy as sa
    from great_expectations.core.metric_domain_types import MetricDomainTypes
    from great_expectations.core.metric_function_types import MetricPartialFunctionTypes
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine
    from great_expectations.expectations.metrics.column_map_metrics import column_values_unique
    from great_expectations.expectations.metrics.metric_provider import metric_partial
    from great_expectations.expectations.metrics.util import (
        get_dbms_compatible_metric_domain_kwargs,
    )

    gx_unique = column_values_unique.ColumnValuesUnique
    gx_window = gx_unique._sqlalchemy_function  # GX's own function, for every other dialect
    label_of = column_values_unique._count_label  # the count's column, as GX's condition names it
    alias = column_values_unique._DUP_KEY_SUBQUERY_ALIAS
    threshold = column_values_unique._DUPLICATE_THRESHOLD

    def repeated_keys(execution_engine: Any, column_name: str, table: Any, label: str) -> Any:
        """Each row whose non-null key repeats, as (key, count of its key): the grouping is run
        once, into a temporary table, and the selectable reads that table."""
        source = table.subquery() if isinstance(table, sa.Select) else table
        key = sa.column(column_name)
        grouped = (
            sa.select(key, sa.func.count().label(label))
            .select_from(source)
            .where(key.is_not(None))
            .group_by(key)
            .having(sa.func.count() >= threshold)
        )
        name = f"{TABLE_PREFIX}{next(_numbers)}"
        # A statement of its own, so its values written in (DuckDB binds none in a DDL).
        select = grouped.compile(
            dialect=execution_engine.dialect, compile_kwargs={"literal_binds": True}
        )
        execution_engine.execute_query_in_transaction(
            sa.text(f"create temp table {identifier(name)} as {select}")
        )
        found = sa.table(name, sa.column(column_name), sa.column(label))
        # One row per row of the batch whose key repeats: GX counts rows, not keys.
        expanded = sa.select(
            found.c[column_name],
            found.c[label],
            sa.func.unnest(sa.func.range(found.c[label])).label(f"{label}_copy"),
        ).subquery("repeated_rows")
        return sa.select(expanded.c[column_name], expanded.c[label]).alias(alias)

    with overriding_metrics():

        class DuckDBColumnValuesUnique(gx_unique):
            # GX's column_function_partial hides the execution engine, and DuckDB's dialect
            # module is None like any dialect GX does not know: so the same steps, with it.
            @metric_partial(
                engine=SqlAlchemyExecutionEngine,
                partial_fn_type=MetricPartialFunctionTypes.MAP_FN,
                domain_type=MetricDomainTypes.COLUMN,
            )
            def _sqlalchemy_function(
                cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics,
                runtime_configuration,
            ):  # fmt: skip
                def gx_own():
                    return gx_window(
                        cls=cls,
                        execution_engine=execution_engine,
                        metric_domain_kwargs=metric_domain_kwargs,
                        metric_value_kwargs=metric_value_kwargs,
                        metrics=metrics,
                        runtime_configuration=runtime_configuration,
                    )

                if execution_engine.dialect_name != "duckdb":
                    return gx_own()
                domain = get_dbms_compatible_metric_domain_kwargs(
                    metric_domain_kwargs=metric_domain_kwargs,
                    batch_columns_list=metrics["table.columns"],
                )
                # GX filters null keys before its window (filter_column_isnull): so here.
                domain = execution_engine.add_column_row_condition(domain)
                table, compute, accessor = execution_engine.get_compute_domain(
                    domain_kwargs=domain, domain_type=MetricDomainTypes.COLUMN
                )
                label = label_of(metrics["table.columns"])
                try:
                    found = repeated_keys(execution_engine, accessor["column"], table, label)
                except (sa.exc.CompileError, sa.exc.DBAPIError):
                    # A condition whose values cannot be written into the statement, or a key
                    # DuckDB cannot group: GX's window answers as before, only slower.
                    logging.getLogger(__name__).warning(
                        "uniqueness of %s by GX's window: no grouping", accessor["column"]
                    )
                    return gx_own()
                return found, compute, accessor
