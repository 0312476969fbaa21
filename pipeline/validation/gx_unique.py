"""GX's uniqueness metric on DuckDB as a grouping of the repeated keys, not a window over every row.

GX 1.24 computes ``expect_column_values_to_be_unique`` on SQL from the map metric
``column_values.count_per_value.map``: every non-null row with ``count(*) over (partition by
key)``. Its two queries of a SUMMARY run, the unexpected count and the unexpected values
(``LIMIT 20``, which reads everything when nothing repeats), each build that window over all
rows: on DuckDB a window partitions and materialises every row, about twice the CPU of a hash
grouping of the same keys (measured on 6.2M distinct 32-character keys: 2.6 s against 1.3 s for
the count query). That window was most of the staging check at 100k customers (issue 14).

On DuckDB the metric is instead the repeated keys only, each row of them once:
``select key, n from (select key, count(*) as n … where key is not null group by key having
count(*) >= 2)``, expanded to ``n`` rows with ``unnest(range(n))``. GX's own condition
(``n >= 2``) and its count and value queries run on it unchanged: a key seen once contributes
nothing to either, so the unexpected count (the rows whose key repeats), the unexpected values
and, nulls being filtered by GX before the metric as before, the missing count are what GX's
window gives. Rows with their index columns come from GX's own join back to the batch (its
``unexpected_index_list`` provider, which already groups), unchanged.

Registered through GX's metric-provider mechanism as ``gx_duckdb``'s regex fix is: a subclass of
GX's ``ColumnValuesUnique`` declares the map metric again for the SQL engine and leaves every
other dialect to GX's own window. Tests: tests/test_validation_gx_unique.py.
"""

from __future__ import annotations

import functools
import logging
from typing import Any


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

    def repeated_keys(column_name: str, table: Any, label: str) -> Any:
        """Each row whose non-null key repeats, as (key, count of its key)."""
        source = table.subquery() if isinstance(table, sa.Select) else table
        key = sa.column(column_name)
        grouped = (
            sa.select(key, sa.func.count().label(label))
            .select_from(source)
            .where(key.is_not(None))
            .group_by(key)
            .having(sa.func.count() >= threshold)
            .subquery("repeated_keys")
        )
        # One row per row of the batch whose key repeats: GX counts rows, not keys.
        rows = sa.select(
            grouped.c[column_name],
            grouped.c[label],
            sa.func.unnest(sa.func.range(grouped.c[label])).label(f"{label}_copy"),
        ).subquery("repeated_rows")
        return sa.select(rows.c[column_name], rows.c[label]).alias(alias)

    gx_logger = logging.getLogger("great_expectations.expectations.registry")
    previous = gx_logger.level
    gx_logger.setLevel(logging.ERROR)  # GX warns "overwriting metric_provider": we mean to
    try:

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
                if execution_engine.dialect_name != "duckdb":
                    return gx_window(
                        cls=cls,
                        execution_engine=execution_engine,
                        metric_domain_kwargs=metric_domain_kwargs,
                        metric_value_kwargs=metric_value_kwargs,
                        metrics=metrics,
                        runtime_configuration=runtime_configuration,
                    )
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
                return repeated_keys(accessor["column"], table, label), compute, accessor

    finally:
        gx_logger.setLevel(previous)
