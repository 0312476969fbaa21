"""File-level checks that need the whole delivery: damaged keys and undecidable versions.

Both run in DuckDB on the parsed delivery (Parquet files, or views of a parse staged in the
warehouse's database), so they stay out of Python memory.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.entities import Entity
from pipeline.sqltext import literal, sql_path
from pipeline.warehouse import rows, scalar
from pipeline.words import agreeing, counted

# What a spreadsheet writes for a long number it shows in scientific notation: 5.70306E+17.
SCIENTIFIC = r"[+-]?[0-9](\.[0-9]+)?[eE][+-]?[0-9]+"


def relation(rows: Path | str) -> str:
    """SQL reading a parsed delivery's rows: a Parquet file, or a staged table or view (by
    its qualified name, see ``pipeline.ingest.duckdb_csv.Stage``)."""
    return f"read_parquet({sql_path(rows)})" if isinstance(rows, Path) else rows


def damaged_key(
    con: duckdb.DuckDBPyConnection, keys: Path | str, entity: Entity, key_label: str
) -> str | None:
    """Reason to refuse when key values were rounded by a spreadsheet and now collide.

    ``keys`` holds every row's key text and the text of its other required columns. A key in
    scientific notation shared by rows that differ in a required column cannot be told apart
    again; exact repeats of one row are not collisions.
    """
    source = relation(keys)
    pattern = literal(SCIENTIFIC)
    scientific = scalar(
        con, f"select count(*) from {source} where regexp_full_match({entity.key}, {pattern})"
    )
    if not scientific:
        return None
    others = [c for c in entity.required if c != entity.key] or [entity.key]
    fingerprint = "hash(" + ", ".join(others) + ")"
    found = rows(
        con,
        f"""
        with k as (select * from {source} where {entity.key} is not null),
        g as (
            select {entity.key} as key, min({fingerprint}) <> max({fingerprint}) as collides,
                   min(_row_number) as first_row, max(_row_number) as last_row
            from k group by all
        )
        select
            (select count(*) from k),
            (select count(*) from g),
            (select count(*) from g where collides),
            (select min(key) from g where collides),
            (select arg_min(first_row || ' and ' || last_row, key) from g where collides)
        """,
    )[0]
    total, distinct, colliding, example, example_rows = found
    if not colliding:
        return None
    return (
        f"the key column {key_label} was damaged by a spreadsheet: {scientific} of {total} ids "
        f"are in scientific notation (e.g. '{example}'), rounded so that only {distinct} "
        f"distinct {agreeing(distinct, 'id remains', 'ids remain')} and {colliding} of them "
        f"{agreeing(colliding, 'is', 'are')} shared by different records "
        f"(e.g. '{example}' in rows {example_rows}). The original ids cannot be recovered; "
        f"export the id column formatted as text and deliver the file again"
    )


def undecidable_versions(
    con: duckdb.DuckDBPyConnection, good: Path | str, entity: Entity, key_label: str
) -> str | None:
    """Reason to refuse a mutable entity's file holding two versions of a key that nothing
    orders (no ``updated_at``, or the same one); the message says which of the two it is."""
    if not entity.mutable:
        return None
    cols = ", ".join(entity.columns)
    found = rows(
        con,
        f"""
        with g as (
            select {entity.key} as key, updated_at, min(_row_number) as first_row,
                   max(_row_number) as last_row
            from {relation(good)}
            group by {entity.key}, updated_at
            having min(hash({cols})) <> max(hash({cols}))
        )
        select count(*), arg_min(key, first_row), min(first_row), arg_min(last_row, first_row),
               arg_min(updated_at, first_row)
        from g
        """,
    )[0]
    conflicts, key, first_row, last_row, updated_at = found
    if not conflicts:
        return None
    example = f"e.g. '{key}' in rows {first_row} and {last_row}"
    appear = agreeing(conflicts, "appears", "appear")
    if updated_at is None:
        return (
            f"{counted(conflicts, key_label + ' value')} {appear} with different contents and no "
            "updated_at "
            f"to tell which is current ({example}); deliver one version per {entity.key}, or "
            "add updated_at"
        )
    return (
        f"{counted(conflicts, key_label + ' value')} {appear} with different contents and the same "
        f"updated_at, so nothing tells which is current ({example}, both updated at "
        f"{updated_at}); deliver one version per {entity.key} and updated_at"
    )


def every_key_delivered(con: duckdb.DuckDBPyConnection, good: Path | str, entity: Entity) -> bool:
    """Whether every good row of an e-mail delivery has its event_id, so that none has to be
    made from its contents (``core.EVENT_ID_SQL``): the expression costs 0.13 s of CPU per
    1.2M rows even where it is not needed, and the landed suite reads the rows again. A file
    DuckDB parsed has the missing ones made in its parse (``duckdb_csv``): every key is there."""
    if entity.name != "email_events":
        return False
    return not scalar(con, f"select exists (select 1 from {relation(good)} where event_id is null)")
