"""A mutable entity's new rows against the versions already landed (docs/operations.md,
"Rules for deliveries").

Two kinds of row are found in a delivery:

* **superseded**: the row repeats, value for value, a version of its key that was landed and
  then replaced. Without ``updated_at`` the later delivery wins, so a re-sent old export
  (gzipped, renamed: new bytes, the same rows) would otherwise revert every later update. Such a
  row is held back and quarantined with its reason.
* **conflict**: the row has the same ``updated_at`` as its key's current version but other
  contents. The contract says the later delivery wins then (spec/contracts.md, "Upserts"), so
  it lands; it is counted and named in the run summary, so that the change is never silent.
  A tie with a version already replaced is none: the row replaces nothing (it loses to the
  current version's later ``updated_at``, or wins over an undated one by delivery, as usual).

A row equal to its key's current version lands as before (it changes nothing).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.entities import Entity
from pipeline.sqltext import sql_path
from pipeline.warehouse import rows, run, scalar
from pipeline.words import agreeing, counted


def superseded_note(n: int) -> str:
    """What the run summary says of ``n`` rows held back as an older version."""
    return (
        f"{counted(n, 'row')} {agreeing(n, 'repeats', 'repeat')} a version already superseded "
        "(not landed)"
    )


def conflict_note(n: int) -> str:
    """What the run summary says of ``n`` rows that replaced a version of the same updated_at."""
    return (
        f"{counted(n, 'row')} {agreeing(n, 'replaces', 'replace')} a landed version with the same "
        "updated_at but other contents: the later delivery wins (contract); check that the "
        f"sender meant to change {agreeing(n, 'it', 'them')}"
    )


def hold_back(
    con: duckdb.DuckDBPyConnection, entity: Entity, select: str, held: Path
) -> tuple[int, int]:
    """Write the delivery's superseded rows (``_row_number``, ``_reason``, ``_record``) to the
    Parquet file ``held``; returns how many rows are superseded and how many conflict (those
    land: see the module's doc). (0, 0) writes nothing.

    ``select`` selects the delivery's good rows (canonical columns and ``_row_number``).
    """
    table = f"raw.{entity.raw_table}"
    if not entity.mutable or not scalar(con, f"select exists (select 1 from {table})"):
        return 0, 0
    key, cols = entity.key, list(entity.columns)
    row_hash = f"hash({', '.join(cols)})"
    record = "to_json({" + ", ".join(f"'{c}': s.{c}" for c in cols) + "})::varchar"
    where = "_source_file || ' row ' || _row_number"
    superseded_reason = (
        f"'{key} ''' || k || ''' repeats the version of ' || was || ', superseded by ' || since"
        " || ': a replaced version does not win again (not landed)'"
    )
    conflict_reason = (
        f"'conflict: {key} ''' || k || ''' has the same updated_at ' || updated_at || ' as '"
        " || was || ' but other contents; the later delivery wins'"
    )
    run(
        con,
        f"""
        copy (
        with new as materialized (
            select {key} as k, updated_at, _row_number, {row_hash} as h from ({select})
        ),
        -- Only a key with a landed version unlike the new row can hold it back: a re-sent
        -- snapshot whose rows are all current stops here.
        landed as (
            select {key} as k, min({row_hash}) as lo, max({row_hash}) as hi
            from {table} where {key} in (select k from new) group by {key}
        ),
        candidates as materialized (
            select n.* from new n join landed l using (k) where not (l.lo = n.h and l.hi = n.h)
        ),
        old as (
            select {key} as k, updated_at, {row_hash} as h, {where} as place,
                   row_number() over (partition by {key} order by _delivery_seq, _row_number)
                       as pos
            from {table}
            where {key} in (select k from candidates)
        ),
        -- The current version, by the staging models' rule: the latest updated_at among the
        -- versions from the last undated one on, else the later delivery.
        bounds as (
            select k, coalesce(max(case when updated_at is null then pos end), 0) as since
            from old group by k
        ),
        current as (
            select o.k, o.h, o.place, o.updated_at
            from old o join bounds b using (k)
            where o.pos >= b.since
            qualify row_number() over (
                partition by o.k order by o.updated_at desc nulls last, o.pos desc
            ) = 1
        ),
        superseded as (
            select n._row_number, any_value(n.k) as k, arg_min(o.place, o.pos) as was,
                   any_value(c.place) as since
            from candidates n
            join current c on c.k = n.k and c.h <> n.h
            join old o on o.k = n.k and o.h = n.h
            group by n._row_number
        ),
        -- A tie with the current version, which the row replaces: one with a version already
        -- replaced would be named as winning when it does not.
        conflicts as (
            select n._row_number, n.k, n.updated_at, c.place as was
            from candidates n
            join current c on c.k = n.k and c.updated_at = n.updated_at and c.h <> n.h
            where n._row_number not in (select _row_number from superseded)
        ),
        held as (
            select _row_number, {superseded_reason} as _reason from superseded
            union all
            select _row_number, {conflict_reason} as _reason from conflicts
        )
        -- The record (the row's values as JSON) only for the rows held back.
        select h._row_number, h._reason, {record} as _record
        from held h join ({select}) s using (_row_number)
        ) to {sql_path(held)} (format parquet)
        """,
    )
    source = f"read_parquet({sql_path(held)})"
    superseded, total = rows(
        con, f"select count(*) filter (_reason like '{key} %'), count(*) from {source}"
    )[0]
    if total > superseded:
        # Only the superseded rows are held back; the conflicting ones land (counted above).
        # (Most files have neither: nothing to rewrite then.)
        kept = held.with_name(held.stem + "_superseded.parquet")
        run(con, f"copy (select * from {source} where _reason like '{key} %') to {sql_path(kept)}")
        kept.replace(held)
    return int(superseded), int(total - superseded)


def split_order(
    con: duckdb.DuckDBPyConnection, entity: Entity, select: str, numbered: str | None = None
) -> str | None:
    """What the run summary says when a line-item delivery's first order is the last order of
    the file its current version came from, with other contents (else None).

    A line-item export cut into files by row count (a file per 10,000 lines, a split for a
    spreadsheet) cuts an order's lines in two when it cuts inside one: each file's lines are
    summed into an order of their own, and the later file's, holding only the order's last
    lines, replaces the earlier's (no ``updated_at``: the later delivery wins, contract), so
    the lines in the earlier file were no longer counted, and nothing said so. The figure
    stays the contract's; the note names the order and the file, so the export can be sent
    again whole. An order re-sent whole (an export of overlapping dates) is the same version
    and is not named; one changed (a refund) ending one file and beginning the next is named
    too, as the two cannot be told apart.

    ``numbered``: the key's template, when it numbers records within a file (``{n}``, CDNOW's
    ``{customer_id}-{date}-{n}``): a file split between a customer's two purchases of one day
    numbers both 1, and the later replaces the earlier as a version of the same order."""
    table = f"raw.{entity.raw_table}"
    key, cols = entity.key, list(entity.columns)
    row_hash = f"hash({', '.join(cols)})"
    found = rows(
        con,
        f"""
        with first as (
            select {key} as k, {row_hash} as h from ({select}) order by _row_number limit 1
        ),
        current as (
            select {key} as k, {row_hash} as h, _source_file, _delivery_seq, _row_number
            from {table} where {key} = (select k from first)
            order by _delivery_seq desc, _row_number desc limit 1
        )
        select c.k, c._source_file
        from current c join first f on f.k = c.k and f.h <> c.h
        where c._row_number = (
            select max(_row_number) from {table}
            where _delivery_seq = c._delivery_seq and _source_file = c._source_file
        )
        """,
    )
    if not found:
        return None
    order, earlier = found[0]
    if numbered:
        return (
            f"{key} '{order}', this file's first, is the last of {earlier} (landed before) with "
            f"other values: the mapping numbers its ids within each file ('{numbered}'), so two "
            "records split between two files can get one id? Only the one here counts (the later "
            "delivery wins, contract), the one there no longer does: deliver them in one file"
        )
    return (
        f"{key} '{order}', this file's first, is the last of {earlier} (landed before) with "
        "other lines: an export split inside it? Only its lines here count (the later delivery "
        "wins, contract), the ones there no longer do: deliver all of its lines in one file"
    )


def without_held(select: str, held: Path) -> str:
    """``select`` without the rows written to ``held``."""
    return (
        f"select s.* from ({select}) s "
        f"anti join read_parquet({sql_path(held)}) h using (_row_number)"
    )


def notes(superseded: int, conflicts: int) -> list[str]:
    """What the run summary says about held-back rows."""
    out = []
    if superseded:
        out.append(superseded_note(superseded))
    if conflicts:
        out.append(conflict_note(conflicts))
    return out
