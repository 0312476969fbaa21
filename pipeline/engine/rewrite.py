"""SQL read and rewritten with sqlglot: the tables a model reads, and a table swapped for a slice.

Parents come from the table names in the SQL, so the dependency graph needs no ``ref()`` and a
model runs unchanged in the DuckDB CLI; an incremental build runs the same SQL with its source
narrowed to the rows that changed.
"""

from __future__ import annotations

from pathlib import Path

import sqlglot
from sqlglot import exp


class ModelError(ValueError):
    """A model file the engine cannot use; the message names the file and the reason."""


def read_parents(sql: str, path: Path) -> tuple[str, ...]:
    """Table names a single ``select`` reads, CTE names excluded; raises ModelError otherwise."""
    return parents_of(parse_select(sql, path))


def parse_select(sql: str, path: Path) -> exp.Query:
    """The tree of a single ``select``; raises ModelError naming ``path`` otherwise."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as err:
        raise ModelError(f"{path}: not valid SQL: {err}") from None
    if len(statements) != 1:
        raise ModelError(
            f"{path}: a model must be exactly one select, found {len(statements)} statements"
        )
    (statement,) = statements
    if not isinstance(statement, exp.Query):
        kind = statement.key.upper()
        raise ModelError(f"{path}: a model must be one select, not a {kind} statement")
    return statement


def parents_of(statement: exp.Expression) -> tuple[str, ...]:
    """Table names a parsed ``select`` reads, CTE names and table functions excluded."""
    cte_names = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    parents: set[str] = set()
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # a table function such as range(...) or unnest(...)
        name = table.name.lower()
        if name and name not in cte_names:
            parents.add(name)
    return tuple(sorted(parents))


def with_source(sql: str, source: str, select: str) -> str:
    """``sql`` with every read of the table ``source`` replaced by ``(select)``."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if table.name.lower() == source and source not in cte_names:
            alias = table.alias or source
            table.replace(sqlglot.parse_one(f"({select}) as {alias}", read="duckdb"))
    return tree.sql(dialect="duckdb")
