"""``meta.ingest_ledger``: one row per delivery, keyed by content hash, so a file lands once."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import duckdb

from pipeline.ingest.report import FileReport
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
    encoding_decided text
)
"""
# Columns added after the first release: an older warehouse's ledger gets them on open.
LATER_COLUMNS = {"encoding": "text", "encoding_decided": "text"}


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    # O_NOFOLLOW: a file swapped for a link after it was listed is not read through the link.
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def text_sha256(text: str) -> str:
    """Hex SHA-256 of a text (the ledger key of something that is not read, such as a link)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``meta.ingest_ledger`` when it is missing."""
    run(con, "create schema if not exists meta")
    run(con, LEDGER_DDL)
    add_missing_columns(con, "meta", "ingest_ledger", LATER_COLUMNS)


def delivered(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """Hashes already in the ledger → (source_file, status)."""
    return {
        sha: (src, status)
        for sha, src, status in rows(
            con, "select file_sha256, source_file, status from meta.ingest_ledger"
        )
    }


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
    """Add a delivery's ledger row (inside the caller's transaction)."""
    run(
        con,
        "insert into meta.ingest_ledger (file_sha256, source_file, entity, mapping, status, "
        "reason, rows_read, rows_landed, rows_quarantined, delivery_seq, run_id, landed_at, "
        "encoding, encoding_decided) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        ],
    )


def utc_now() -> dt.datetime:
    """Now in UTC, naive, as every timestamp in the warehouse."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
