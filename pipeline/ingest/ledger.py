"""``meta.ingest_ledger``: one row per delivery, keyed by content hash, so a file lands once."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import duckdb
import polars as pl

from pipeline.ingest.report import FileReport
from pipeline.ingest.revision import READER_REVISION
from pipeline.warehouse import add_missing_columns, rows, run, scalar

LEDGER_DDL = """
create table if not exists meta.ingest_ledger (
    file_sha256 text primary key,
    source_file text,
    entity text,
    mapping text,
    status text,
    reason text,
    rows_read bigint,
    rows_landed bigint,
    rows_quarantined bigint,
    delivery_seq bigint,
    run_id text,
    landed_at timestamp,
    encoding text,
    encoding_decided text,
    reader_revision integer
)
"""
# Columns added after the first release: an older warehouse's ledger gets them on open (its
# rows' reader_revision NULL: landed before revisions were recorded; pipeline/ingest/revision.py).
LATER_COLUMNS = {"encoding": "text", "encoding_decided": "text", "reader_revision": "integer"}
# The hash of each landing file as last read, with what os.lstat said of it then. Every run
# lists every delivery ever made, and hashing them all again cost about 1 s per GB (timed once
# by hand; an estimated 7 s a run at 1M customers). A file whose size, mtime, change time and
# inode are all as recorded keeps its hash: the change time cannot be set by a user and moves on
# every write, rename or chmod, so a file rewritten in place, even to the same size and
# modification time, is read again (the rule git uses for its index).
STATS_DDL = """
create table if not exists meta.landing_stats (
    source_file text primary key,
    size bigint,
    mtime_ns bigint,
    ctime_ns bigint,
    inode bigint,
    file_sha256 text
)
"""
FileStat = tuple[int, int, int, int]


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    # O_NOFOLLOW: a file swapped for a link after it was listed is not read through the link.
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_stat(path: Path) -> FileStat:
    """(size, mtime_ns, ctime_ns, inode) of ``path`` itself (a link is not followed)."""
    st = os.lstat(path)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def cached_sha256(path: Path, before: tuple[FileStat, str] | None) -> tuple[str, FileStat | None]:
    """The file's SHA-256 and, when it was read now, the stat to remember with it.

    ``before`` is what :func:`hashed_before` holds for the file: its hash is reused when the
    file's stat is unchanged. A file that changed while it was read is not remembered.
    """
    stat = file_stat(path)
    if before is not None and before[0] == stat:
        return before[1], None
    sha = file_sha256(path)
    return sha, stat if file_stat(path) == stat else None


def hashed_before(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[FileStat, str]]:
    """``meta.landing_stats``: source file → (its stat when hashed, the hash)."""
    return {
        src: ((size, mtime, ctime, inode), sha)
        for src, size, mtime, ctime, inode, sha in rows(
            con,
            "select source_file, size, mtime_ns, ctime_ns, inode, file_sha256 "
            "from meta.landing_stats",
        )
    }


def remember_hashes(
    con: duckdb.DuckDBPyConnection, hashed: dict[str, tuple[FileStat, str]]
) -> None:
    """Record (or replace) the stat and hash of each file hashed in this step, in one
    statement: one each, each its own commit, cost about 8 ms a file (3.2 s of a backlog of 400
    files, under load; one statement 0.1 s)."""
    if not hashed:
        return
    found = pl.DataFrame(
        [(src, *stat, sha) for src, (stat, sha) in hashed.items()],
        schema=["source_file", "size", "mtime_ns", "ctime_ns", "inode", "file_sha256"],
        schema_overrides={c: pl.Int64 for c in ("size", "mtime_ns", "ctime_ns", "inode")},
        orient="row",
    )
    con.register("_landing_stats_found", found)
    try:
        run(con, "insert or replace into meta.landing_stats select * from _landing_stats_found")
    finally:
        con.unregister("_landing_stats_found")


def text_sha256(text: str) -> str:
    """Hex SHA-256 of a text (the ledger key of something that is not read, such as a link)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def part_sha256(sha: str, mapping: str) -> str:
    """The ledger key of the rows a companion ``mapping`` lands from the delivery with hash
    ``sha`` (docs/vendors.md, "Companions"): a hash of both, so that the part has a ledger row
    of its own (its entity, counts and quarantined rows) beside the file's, and its raw and
    quarantined rows carry it as their ``_file_sha256`` / ``file_sha256``."""
    return text_sha256(f"{sha} {mapping}")


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``meta.ingest_ledger`` when it is missing."""
    run(con, "create schema if not exists meta")
    run(con, LEDGER_DDL)
    run(con, STATS_DDL)
    add_missing_columns(con, "meta", "ingest_ledger", LATER_COLUMNS)


def delivered(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """Hashes already in the ledger → (source_file, status)."""
    return {
        sha: (src, status)
        for sha, src, status in rows(
            con, "select file_sha256, source_file, status from meta.ingest_ledger"
        )
    }


def landed_on(con: duckdb.DuckDBPyConnection, sha: str) -> dt.datetime | None:
    """When the delivery with hash ``sha`` was recorded (UTC), or None when it is not."""
    found = rows(con, "select landed_at from meta.ingest_ledger where file_sha256 = ?", [sha])
    return found[0][0] if found else None


def last_delivery_seq(con: duckdb.DuckDBPyConnection) -> int:
    """The highest delivery number so far (0 for an empty ledger)."""
    return int(scalar(con, "select coalesce(max(delivery_seq), 0) from meta.ingest_ledger"))


def forget_refusal(con: duckdb.DuckDBPyConnection, sha: str) -> None:
    """Drop the refusal of a delivery about to be recorded again (a refused file retried)."""
    run(con, "delete from meta.ingest_ledger where file_sha256 = ? and status = 'refused'", [sha])


def record(
    con: duckdb.DuckDBPyConnection,
    report: FileReport,
    *,
    sha: str,
    delivery_seq: int,
    run_id: str,
) -> None:
    """Add a delivery's ledger row (inside the caller's transaction), with the reader revision
    that read it."""
    run(
        con,
        "insert into meta.ingest_ledger (file_sha256, source_file, entity, mapping, status, "
        "reason, rows_read, rows_landed, rows_quarantined, delivery_seq, run_id, landed_at, "
        "encoding, encoding_decided, reader_revision) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            sha,
            report.source_file,
            report.entity,
            report.mapping,
            report.status,
            report.reason,
            report.rows_read,
            report.rows_landed,
            report.rows_quarantined,
            delivery_seq,
            run_id,
            utc_now(),
            report.encoding,
            report.encoding_decided,
            READER_REVISION,
        ],
    )


def utc_now() -> dt.datetime:
    """Now in UTC, naive, as every timestamp in the warehouse."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
