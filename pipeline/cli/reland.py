"""``python -m pipeline reland``: every delivery in landing/ read again by this release.

A delivery is landed once and never read again (``meta.ingest_ledger``), so after an upgrade the
warehouse keeps an older release's reading of everything it landed before (docs/operations.md,
"Upgrading"; every run names such deliveries: pipeline/ingest/revision.py). This command moves
the warehouse aside to ``warehouse.before-reland-YYYYMMDD-HHMMSS.duckdb`` (its ``.wal`` with
it), runs the whole pipeline as ``run`` does (:func:`pipeline.cli.run.run_once`: the same steps,
progress and summary), which lands every file in landing/ again in path order, and then
compares the two warehouses: the ledger's landed deliveries and rows, the deliveries the old one
landed that were not landed again (their file removed or replaced in landing/, or refused now),
and every published mart's rows (``except all`` both ways). The old warehouse is never deleted.

Exit statuses: 0 the run completed (rows it quarantined are in its summary and the comparison);
1 the run failed: the old warehouse is put back as it was and the new one kept aside for
inspection; 2 configuration error (as ``run``'s) or no warehouse to read again; 4 another run
holds the warehouse: nothing was moved.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.cli.run import (
    EXIT_BUSY,
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    prepare_loaded_run,
)
from pipeline.words import agreeing, counted

EXIT_STATUSES = {
    EXIT_OK: "every delivery in landing/ was landed again and compared (rows quarantined are "
    "in the summary)",
    EXIT_FAILED: "the run failed: the old warehouse is back in place, the new one kept aside",
    EXIT_CONFIG: "configuration error (as for `run`), or no warehouse to read again",
    EXIT_BUSY: "another run holds the warehouse (its pid is named); nothing was moved",
}
TRIGGER = "reland"
# Columns that say when a run built the mart, not what it read: they differ between any two
# runs, so rows are compared without them (docs/metrics.md).
RUN_TIME_COLUMNS = {"prediction_model": ("fitted_at",)}


def exit_statuses_text() -> str:
    """The exit statuses as plain text for the command line's help."""
    return "exit statuses:\n" + "\n".join(f"  {k}  {v}" for k, v in EXIT_STATUSES.items())


def wal(path: Path) -> Path:
    """DuckDB's write-ahead log beside the database file ``path``."""
    return path.with_name(path.name + ".wal")


def move(source: Path, target: Path) -> None:
    """Rename the database file ``source`` (and its write-ahead log, when there is one)."""
    os.rename(source, target)
    if wal(source).exists():
        os.rename(wal(source), wal(target))


def reland(as_of: str | None = None) -> int:
    """Move the warehouse aside, land every delivery again in one run, compare; the exit
    status (see above)."""
    prepared = prepare_loaded_run(as_of)
    if isinstance(prepared, int):
        return prepared
    settings, notify_settings = prepared
    if not settings.warehouse_path.exists():
        print(
            f"configuration error: no warehouse at {settings.warehouse_path}: nothing was "
            "landed before, so nothing is read again; `python -m pipeline run` lands every "
            "delivery",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    from pipeline.cli.run_lock import WarehouseBusy, run_lock

    try:
        with run_lock(settings.data_dir):
            return reland_held(settings, notify_settings)
    except WarehouseBusy as err:
        print(f"{err}; nothing was moved: wait for it to finish, then reland", file=sys.stderr)
        return EXIT_BUSY


def reland_held(settings, notify_settings) -> int:  # noqa: ANN001 - run_once's
    """The body of :func:`reland`, the run lock held."""
    import dagster as dg

    from pipeline.cli.run import _instance, run_once
    from pipeline.cli.run_lock import WarehouseBusy
    from pipeline.cli.warehouse_hold import RUNNING
    from pipeline.ingest.revision import READER_REVISION

    # A run from the UI between two of its steps holds no file: moving the warehouse under it
    # would split its run between two warehouses. (Runs whose process is gone are marked
    # failed first, as by `run`.)
    with _instance(settings.data_dir) as inst:
        active = inst.get_run_records(dg.RunsFilter(statuses=RUNNING), limit=1)
    if active:
        raise WarehouseBusy(None, f"run {active[0].dagster_run.run_id} of the UI is in progress")
    warehouse = settings.warehouse_path
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    before = warehouse.with_name(f"warehouse.before-reland-{stamp}.duckdb")
    failed = warehouse.with_name(f"warehouse.failed-reland-{stamp}.duckdb")
    if before.exists() or failed.exists():  # a reland a second ago
        print(f"configuration error: {before} exists already; try again", file=sys.stderr)
        return EXIT_CONFIG
    move(warehouse, before)
    print(
        f"moved the warehouse aside to {before}; every delivery in {settings.landing_dir} is "
        f"landed again by this release (reader revision {READER_REVISION})",
        flush=True,
    )
    try:
        status = run_once(settings, notify_settings, TRIGGER)
    except BaseException:
        put_back(warehouse, before, failed)
        raise
    if status == EXIT_FAILED:
        kept = (
            f"the new one is kept for inspection at {failed} (remove it when done: "
            f"{removal(failed)})"
            if put_back(warehouse, before, failed)
            else "the run made no new one"
        )
        print(
            f"\nreland failed (the run's error is above): the old warehouse is back at "
            f"{warehouse}, as it was; {kept}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    try:
        print("\n" + "\n".join(comparison(before, warehouse, settings.landing_dir)))
    except duckdb.Error as err:  # the new warehouse is in place all the same
        print(f"\ncould not compare the old warehouse with the new: {err}", file=sys.stderr)
    print(
        f"\nthe old warehouse is kept at {before}, as it was (nothing of it is lost); once "
        f"satisfied with the new one, remove it: {removal(before)}"
    )
    return EXIT_OK


def put_back(warehouse: Path, before: Path, failed: Path) -> bool:
    """The new warehouse (if any) aside to ``failed``, the old one back in its place; whether
    there was a new one."""
    made = warehouse.exists()
    if made:
        move(warehouse, failed)
    elif wal(warehouse).exists():  # a log without its file: kept with the failed run's
        os.rename(wal(warehouse), wal(failed))
    move(before, warehouse)
    return made


def removal(path: Path) -> str:
    """The command that removes the database file ``path`` and its write-ahead log."""
    files = [path, *([wal(path)] if wal(path).exists() else [])]
    return "rm " + " ".join(shlex.quote(str(f)) for f in files)


@dataclass(frozen=True)
class MartDifference:
    """One published mart in the old and the new warehouse."""

    mart: str
    old_rows: int | None  # None: not in the old warehouse
    new_rows: int | None
    only_old: int = 0  # rows in the old not in the new (except all)
    only_new: int = 0
    columns: str = ""  # how the columns differ, when they do (rows compared on the common)

    def line(self, width: int) -> str:
        """The mart's line of the comparison."""
        name = f"{self.mart:<{width}}"
        if self.old_rows is None:
            return f"{name} only in the new warehouse ({counted(self.new_rows or 0, 'row')})"
        if self.new_rows is None:
            return f"{name} only in the old warehouse ({counted(self.old_rows, 'row')})"
        said = f"{counted(self.old_rows, 'row')} before, {self.new_rows:,} now"
        if self.only_old or self.only_new:
            rows = (
                f"{self.only_old:,} of the old rows not in the new, {self.only_new:,} of the "
                "new not in the old"
            )
        else:
            rows = "the same rows"
        if self.columns:  # rows compared on the columns both have
            return f"{name} differs: {self.columns}; {rows} in the others ({said})"
        if self.only_old or self.only_new:
            return f"{name} differs: {rows} ({said})"
        return f"{name} equal ({said})"

    @property
    def equal(self) -> bool:
        """Both warehouses hold the mart with the same rows and columns."""
        both = self.old_rows is not None and self.new_rows is not None
        return both and not (self.only_old or self.only_new or self.columns)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchall()[0][0]


def _columns(con: duckdb.DuckDBPyConnection, db: str, mart: str) -> list[str]:
    return [
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = ? and "
            "schema_name = 'marts' and table_name = ? order by column_index",
            [db, mart],
        ).fetchall()
    ]


def mart_differences(con: duckdb.DuckDBPyConnection, marts: list[str]) -> list[MartDifference]:
    """Each of ``marts`` in the databases attached as ``old`` and ``new``: its rows in each,
    and those in one and not the other (``except all``, on the columns both have but those
    of :data:`RUN_TIME_COLUMNS`)."""
    found = []
    for mart in marts:
        old, new = _columns(con, "old", mart), _columns(con, "new", mart)
        if not old or not new:
            rows_of = {
                db: _count(con, f'select count(*) from {db}.marts."{mart}"')
                for db, cols in (("old", old), ("new", new))
                if cols
            }
            if rows_of:
                found.append(MartDifference(mart, rows_of.get("old"), rows_of.get("new")))
            continue
        left_out = RUN_TIME_COLUMNS.get(mart, ())
        common = [c for c in new if c in old and c not in left_out]
        said = []
        if added := [c for c in new if c not in old]:
            said.append(f"new columns {', '.join(added)}")
        if dropped := [c for c in old if c not in new]:
            said.append(f"columns no longer built {', '.join(dropped)}")
        cols = ", ".join(f'"{c}"' for c in common)
        old_t, new_t = f'old.marts."{mart}"', f'new.marts."{mart}"'
        found.append(
            MartDifference(
                mart,
                _count(con, f"select count(*) from {old_t}"),
                _count(con, f"select count(*) from {new_t}"),
                _count(
                    con,
                    f"select count(*) from (select {cols} from {old_t} except all "
                    f"select {cols} from {new_t})",
                ),
                _count(
                    con,
                    f"select count(*) from (select {cols} from {new_t} except all "
                    f"select {cols} from {old_t})",
                ),
                "; ".join(said),
            )
        )
    return found


def ledger_totals(con: duckdb.DuckDBPyConnection, db: str) -> tuple[int, int, int, int]:
    """Landed deliveries and their rows read, landed and quarantined in ``db``'s ledger."""
    return con.execute(
        "select count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_landed), 0), "
        f"coalesce(sum(rows_quarantined), 0) from {db}.meta.ingest_ledger "
        "where status = 'landed'"
    ).fetchall()[0]


def not_landed_again(con: duckdb.DuckDBPyConnection, landing: Path) -> list[str]:
    """The deliveries the old ledger has landed and the new one has not, by source file, each
    with why: its file gone from landing/, replaced there by other bytes, or refused now."""
    found = con.execute(
        "select o.source_file, o.entity, o.rows_landed, n.status, n.reason "
        "from old.meta.ingest_ledger o left join new.meta.ingest_ledger n using (file_sha256) "
        "where o.status = 'landed' and n.status is distinct from 'landed' "
        "order by o.source_file, o.entity"
    ).fetchall()
    lines = []
    for source, entity, landed, status, reason in found:
        if status is not None:
            why = f"read again and {status} by this release" + (f": {reason}" if reason else "")
        elif (landing / source).exists():
            why = "its file in landing/ holds other bytes now (replaced by a later export)"
        else:
            why = "no longer in landing/"
        lines.append(f"{source} ({entity}, {counted(landed or 0, 'row')} landed): {why}")
    return lines


def comparison(before: Path, after: Path, landing: Path) -> list[str]:
    """What the reland changed: the ledgers, the deliveries not landed again, every published
    mart (the current code's) in the old warehouse ``before`` and the new one ``after``."""
    from pipeline.engine import mart_names

    con = duckdb.connect()
    try:
        con.execute(f"attach '{_quoted(before)}' as old (read_only)")
        con.execute(f"attach '{_quoted(after)}' as new (read_only)")
        old, new = ledger_totals(con, "old"), ledger_totals(con, "new")
        lines = [
            f"compared with the old warehouse ({before.name}):",
            f"  deliveries landed: {old[0]:,} before, {new[0]:,} now; rows read {old[1]:,} / "
            f"{new[1]:,}, landed {old[2]:,} / {new[2]:,}, quarantined {old[3]:,} / {new[3]:,}",
        ]
        missing = not_landed_again(con, landing)
        if missing:
            n = len(missing)
            lines.append(
                f"  not read again: {counted(n, 'delivery', 'deliveries')} the old warehouse "
                f"landed {agreeing(n, 'is', 'are')} not landed in the new one "
                f"({agreeing(n, 'its rows are', 'their rows are')} in the old file only, which "
                "is kept):"
            )
            lines += [f"    {line}" for line in missing]
        marts = mart_differences(con, sorted(mart_names()))
    finally:
        con.close()
    width = max((len(m.mart) for m in marts), default=0)
    differ = sum(not m.equal for m in marts)
    lines.append(
        f"  published marts ({differ} of {len(marts)} differ; rows in one warehouse and not "
        "the other, by except all):"
    )
    lines += [f"    {m.line(width)}" for m in marts]
    return lines


def _quoted(path: Path) -> str:
    """``path`` inside a single-quoted SQL string."""
    return str(path).replace("'", "''")
