"""Where bad data goes: rows to ``meta.quarantine_rows``, whole files to ``quarantine/``."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import duckdb

from pipeline.ingest.ledger import utc_now
from pipeline.sqltext import sql_path
from pipeline.warehouse import run

QUARANTINE_DDL = """
create table if not exists meta.quarantine_rows (
    entity text,
    source_file text,
    row_number bigint,
    reason text,
    record text,
    file_sha256 text,
    run_id text,
    quarantined_at timestamp
)
"""


def ensure_quarantine(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``meta.quarantine_rows`` when it is missing."""
    run(con, "create schema if not exists meta")
    run(con, QUARANTINE_DDL)


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    parquet: Path,
    *,
    entity: str,
    source_file: str,
    sha: str,
    run_id: str,
) -> None:
    """Append a file's bad rows (``_row_number``, ``_reason``, ``_record``)."""
    run(
        con,
        "insert into meta.quarantine_rows "
        "select ?, ?, _row_number, _reason, _record, ?, ?, ? "
        f"from read_parquet({sql_path(parquet)}) order by _row_number",
        [entity, source_file, sha, run_id, utc_now()],
    )


def move_aside(path: Path, target_dir: Path, reason: str, sha: str) -> Path:
    """Move a refused delivery to ``target_dir`` with ``<name>.reason.txt`` beside it.

    A different file refused earlier under the same name keeps its place: the newcomer's name
    gets the first 8 digits of its hash.
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    if target.exists() or target.is_symlink():
        target = target_dir / f"{sha[:8]}-{path.name}"
    # The reason first, and nothing half-done left behind: a file that cannot leave landing (a
    # read-only folder: shutil.move copies, then fails to delete) keeps no copy here.
    note = target.with_name(target.name + ".reason.txt")
    note.write_text(reason + "\n", encoding="utf-8")
    try:
        shutil.move(str(path), target)
    except OSError:
        if path.exists() or path.is_symlink():
            for left in (target, note):
                with contextlib.suppress(OSError):
                    left.unlink()
        raise
    return target
