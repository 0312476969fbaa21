"""Quoting for the SQL text we build: string literals and identifiers.

Paths, file names, settings and column names come from the outside (a data directory may be
called ``/srv/o'brien``), so none of them is pasted into SQL between bare quotes. Use these
where a value cannot be a bound parameter (``attach``, ``copy ... to``, ``read_parquet`` in a
view, ``set``, ``comment on``).
"""

from __future__ import annotations

from pathlib import Path


def literal(value: str | Path) -> str:
    """``value`` as a SQL string literal: in single quotes, each ``'`` doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_path(path: Path | str) -> str:
    """A file path as a DuckDB string literal (``literal`` of its text)."""
    return literal(path)


def identifier(name: str) -> str:
    """``name`` as a SQL identifier: in double quotes, each ``"`` doubled."""
    return '"' + name.replace('"', '""') + '"'
