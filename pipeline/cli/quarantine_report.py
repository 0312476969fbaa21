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
from pipeline.ingest.quarantine_report import describe_groups, reason_groups, row_filters
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


def list_quarantine(
    settings: Settings,
    *,
    entity: str | None = None,
    source_file: str | None = None,
    reason: str | None = None,
    all_rows: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    """Print quarantined rows grouped by file and reason (or every row with ``all_rows``);
    returns how many rows matched."""
    con = open_read_only(settings.warehouse_path)
    try:
        if not table_exists(con, "meta", "quarantine_rows"):
            echo("no quarantined rows")
            return 0
        where, params = row_filters(entity=entity, source_file=source_file, reason=reason)
        total = int(rows(con, f"select count(*) from meta.quarantine_rows {where}", params)[0][0])
        if not total:
            echo("no quarantined rows match")
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
        current = None
        for g in reason_groups(con, entity=entity, source_file=source_file, reason=reason):
            if g.source_file != current:
                current = g.source_file
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
        help="list quarantined rows by file and reason (reads the warehouse read-only)",
        description=(
            "List the rows the pipeline quarantined, grouped by file and reason with counts "
            "and example lines, from PIPELINE_DATA_DIR's warehouse (opened read-only). Every "
            "row with its values as delivered is also in quarantine/<file>.rows.csv."
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
