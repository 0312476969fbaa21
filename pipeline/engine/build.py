"""Building models: each in one transaction, by its kind, recorded in the build log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import duckdb

from pipeline import pii
from pipeline.engine.build_log import BuildLog
from pipeline.engine.discovery import SQL_DIR, Model, discover_models
from pipeline.engine.kinds import SEQ, BuildContext
from pipeline.engine.result import BuildResult
from pipeline.engine.rewrite import ModelError
from pipeline.warehouse import frame, run, scalar
from pipeline.words import markdown_text


def build(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    full_refresh: bool = False,
    log: BuildLog | None = None,
    then: Callable[[BuildResult], object] | None = None,
) -> BuildResult:
    """Build one model in one transaction: brought up to date where its kind allows, else
    rebuilt whole (always with ``full_refresh``). ModelError naming the file on failure.

    ``log``: the build log of a step that builds many models on this connection (made once,
    not per model). ``then``: called with the result inside the build's transaction, just
    before the commit, so that what it writes (the skip record, ``skip.build_model``) is
    committed with the build: one commit per model, and never a build without its record."""
    run(con, f"create schema if not exists {model.layer}")
    log = log or BuildLog(con)
    run(con, "begin transaction")
    try:
        builds = log.builds([model.name, *model.parents])
        last = builds.get(model.name)
        as_of_end = log.as_of_end()
        has_seq, source_seq = _source_seq(con, model)
        ctx = BuildContext(con, model, last, builds, has_seq, source_seq, as_of_end)
        result = model.kind.build(ctx, full_refresh)
        count = scalar(con, f"select count(*) from {model.qualified_name}")
        build_id = log.write(
            model.name, model.sql_sha256, source_seq, last, as_of_end, result.wrote_delta, builds
        )
        result = replace(result, rows=int(count), build_id=build_id)
        if then is not None:
            then(result)
        run(con, "commit")
    except Exception as err:
        run(con, "rollback")
        raise ModelError(f"{model.path}: {err}") from err
    return result


def materialize(
    con: duckdb.DuckDBPyConnection, model: Model, full_refresh: bool = False
) -> tuple[int, str]:
    """:func:`build`, as the table's row count and the line the log shows."""
    result = build(con, model, full_refresh)
    return result.rows, result.description


def materialize_model(con: duckdb.DuckDBPyConnection, model: Model) -> int:
    """Build one model's table in one transaction and return its row count."""
    return build(con, model).rows


def build_models(
    con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR, only: set[str] | None = None
) -> dict[str, int]:
    """Build every model (or those in ``only``) in dependency order; returns row counts."""
    counts: dict[str, int] = {}
    for model in discover_models(sql_dir):
        if only is None or model.name in only:
            counts[model.name] = build(con, model).rows
    return counts


def _source_seq(con: duckdb.DuckDBPyConnection, model: Model) -> tuple[bool, int | None]:
    """Whether the kind's source table has ``_delivery_seq``, and its latest value."""
    source = model.kind.seq_source(model)
    if not source or not _has_column(con, source, SEQ):
        return False, None
    return True, scalar(con, f"select max({SEQ}) from {source}")


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    found = scalar(
        con,
        "select count(*) from information_schema.columns where table_name = ? and column_name = ?",
        [table, column],
    )
    return bool(found)


def preview_markdown(con: duckdb.DuckDBPyConnection, table: str, limit: int = 10) -> str:
    """The first rows of a table as a markdown table, for asset metadata; values show as
    delivered (a comment's ``|``, ``*`` or second line neither splits nor formats its row),
    except personal data: Dagster's event log keeps the preview for its run history, open to
    everyone the UI serves and untouched when a customer is erased from the warehouse, so a
    personal column (``pii.personal_column``) shows ``[personal]`` and an address or a phone
    number in other text ``[email]`` / ``[phone]``; the id, file and line find the row."""
    df = frame(con, f"select * from {table} limit {int(limit)}")
    header = "| " + " | ".join(markdown_text(c) for c in df.columns) + " |"
    rule = "|" + "---|" * len(df.columns)
    personal = [pii.personal_column(c) for c in df.columns]

    def shown(value: object, hidden: bool) -> str:
        if value is None:
            return ""
        if hidden:
            return markdown_text(pii.PERSONAL_MASK)
        return markdown_text(pii.mask_text(value) if isinstance(value, str) else value)

    body = [
        "| " + " | ".join(shown(v, h) for v, h in zip(row, personal, strict=True)) + " |"
        for row in df.rows()
    ]
    return "\n".join([header, rule, *body])
