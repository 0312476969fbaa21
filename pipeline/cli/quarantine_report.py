"""``python -m pipeline quarantine``: quarantined rows listed by file and reason (or every row),
from the warehouse opened read-only. The grouping by reason and the CSVs beside the data are
pipeline/ingest/quarantine_report.py's, which the ingest asset and the run summary use too.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb

from pipeline.config import ConfigError, Settings, check_settings
from pipeline.entities import ENTITIES
from pipeline.ingest.quarantine_report import (
    describe_groups,
    reason_groups,
    refused_todo,
    row_filters,
)
from pipeline.warehouse import rows, table_exists
from pipeline.words import counted


class WarehouseBusy(RuntimeError):
    """The warehouse is locked by a running pipeline; the message says what to do."""


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """The warehouse opened read-only; WarehouseBusy when a run holds its lock."""
    if not path.exists():
        raise FileNotFoundError(
            f"no warehouse at {path}: nothing has been landed yet (python -m pipeline run)"
        )
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as err:
        if "lock" not in str(err).lower():
            raise
        raise WarehouseBusy(
            f"{path} is locked by a pipeline run that is writing to it; try again when the run "
            "has finished (see the UI's Runs page), or read "
            "quarantine/**/*.rows.csv, which is written as each file lands"
        ) from None


def refused_files(
    settings: Settings,
    *,
    entity: str | None = None,
    source_file: str | None = None,
    reason: str | None = None,
) -> list[tuple[str, str]]:
    """The refused files still in ``quarantine/`` (each moved there with ``<name>.reason.txt``
    beside it), as (path under quarantine/, reason), filtered as the rows are (the text
    filters ignoring case); read from the folder, so a file the user removed is not listed."""
    found = []
    for note in sorted(settings.quarantine_dir.rglob("*.reason.txt")):
        moved = note.with_name(note.name.removesuffix(".reason.txt"))
        path = moved.relative_to(settings.quarantine_dir).as_posix()
        if not moved.exists():
            continue  # the file was taken away (fixed and delivered again), its note left
        why = note.read_text(encoding="utf-8", errors="replace").strip()
        if entity and not path.startswith(ENTITIES[entity].landing_path + "/"):
            continue
        if source_file and source_file.lower() not in path.lower():
            continue
        if reason and reason.lower() not in why.lower():
            continue
        found.append((path, why))
    return found


def list_quarantine(
    settings: Settings,
    *,
    entity: str | None = None,
    source_file: str | None = None,
    reason: str | None = None,
    all_rows: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    """Print quarantined rows grouped by file and reason (or every row with ``all_rows``), then
    the refused files still in quarantine/ with their reasons; returns how many rows matched."""
    refused = refused_files(settings, entity=entity, source_file=source_file, reason=reason)
    total = _list_rows(settings, entity, source_file, reason, all_rows, echo)
    if refused:
        # Before, only rows were listed: after a run that refused files and quarantined no
        # row, this said "no quarantined rows" while quarantine/ held the files.
        echo(
            f"{counted(len(refused), 'refused file')} in {settings.quarantine_dir}/, each with "
            f"its reason in <name>.reason.txt ({refused_todo(len(refused))}):"
        )
        for path, why in refused:
            echo(f"  {path}: {why}")
    return total


def _list_rows(
    settings: Settings,
    entity: str | None,
    source_file: str | None,
    reason: str | None,
    all_rows: bool,
    echo: Callable[[str], None],
) -> int:
    """The quarantined rows' part of :func:`list_quarantine`; returns how many matched."""
    filtered = bool(entity or source_file or reason)
    con = open_read_only(settings.warehouse_path)
    try:
        if not table_exists(con, "meta", "quarantine_rows"):
            echo("no quarantined rows")
            return 0
        where, params = row_filters(entity=entity, source_file=source_file, reason=reason)
        total = int(rows(con, f"select count(*) from meta.quarantine_rows {where}", params)[0][0])
        if not total:
            echo("no quarantined rows match" if filtered else "no quarantined rows")
            return 0
        if all_rows:
            echo("file\tline\treason")
            for src, line, why in rows(
                con,
                "select source_file, row_number, reason from meta.quarantine_rows "
                f"{where} order by source_file, row_number",
                params,
            ):
                echo(f"{src}\t{line}\t{why}")
            return total
        current: tuple[str, str] | None = None
        for g in reason_groups(con, entity=entity, source_file=source_file, reason=reason):
            # By entity too: a file's companion part quarantines rows of another entity
            if (g.source_file, g.entity) != current:
                current = (g.source_file, g.entity)
                echo(f"{g.source_file} ({g.entity}):")
            echo(describe_groups([g], indent="  ")[0])
        echo(
            f"{counted(total, 'quarantined row')}; every row and its values: "
            f"{settings.quarantine_dir}/"
        )
        return total
    finally:
        con.close()


def add_command(sub: argparse._SubParsersAction) -> None:
    """Register ``python -m pipeline quarantine`` on the CLI's sub-command parser."""
    cmd = sub.add_parser(
        "quarantine",
        help="list quarantined rows by file and reason, and refused files",
        description=(
            "List the rows the pipeline quarantined, grouped by file and reason with counts "
            "and example lines, from PIPELINE_DATA_DIR's warehouse (opened read-only), then "
            "the refused files still in quarantine/ with their reasons. Every row with its "
            "values as delivered is also in quarantine/<file>.rows.csv."
        ),
    )
    # A mistyped entity ("order") would otherwise match nothing and say so as if all were well.
    cmd.add_argument(
        "--entity",
        choices=list(ENTITIES),
        metavar="ENTITY",
        help=f"only this entity: {', '.join(ENTITIES)}",
    )
    cmd.add_argument("--file", help="only files whose path under landing/ contains this text")
    cmd.add_argument("--reason", help="only rows whose reason contains this text")
    cmd.add_argument("--rows", action="store_true", help="every row (file, line, reason)")
    cmd.add_argument(
        "--data-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="data directory (landing/, warehouse, serving/); default: $PIPELINE_DATA_DIR, ./data",
    )
    cmd.set_defaults(func=_cmd_quarantine)


def _cmd_quarantine(args: argparse.Namespace) -> int:
    if getattr(args, "data_dir", None):
        os.environ["PIPELINE_DATA_DIR"] = args.data_dir
    try:
        check_settings()  # as every command does; nothing is written, so no write check
        settings = Settings.resolve()
        if not settings.warehouse_path.exists() and not settings.landing_dir.is_dir():
            raise ConfigError(
                f"{settings.data_dir} is no data directory of the pipeline (no warehouse.duckdb, "
                "no landing/): set PIPELINE_DATA_DIR (or --data-dir) to the folder `pipeline "
                "run` uses"
            )
        list_quarantine(
            settings,
            entity=args.entity,
            source_file=args.file,
            reason=args.reason,
            all_rows=args.rows,
        )
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    except (WarehouseBusy, FileNotFoundError) as err:
        print(str(err), file=sys.stderr)
        return 1
    return 0
