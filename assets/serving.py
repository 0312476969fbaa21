"""The serving file BI tools read: every mart, built whole and swapped in atomically.

BI tools never open the warehouse (DuckDB allows one writer or many readers, never both). They
read ``serving/marts.duckdb``, written in a storage version DuckDB 1.x clients can open, plus one
Parquet file per mart in ``serving/parquet/``. Everything is written to temporary files first and
renamed over the published ones only when all of it succeeded, so a failed build leaves the
previous files in place and a reader holding the old file open keeps a consistent snapshot.
"""

import datetime as dt
import decimal
import os
from pathlib import Path

import dagster as dg
import duckdb
import psutil

from pipeline.sql_engine import discover_models
from pipeline.warehouse import Warehouse, rows, run, scalar

# DuckDB 1.x clients (what BI drivers bundle) cannot read 2.0's default storage format; v1.0.0
# is the oldest format 2.0 writes and every 1.x client reads.
SERVING_STORAGE_VERSION = "v1.0.0"
SERVING_FILE = "marts.duckdb"
PARQUET_DIR = "parquet"

# Personal data the contract forbids in the serving marts (spec/contracts.md): raw e-mail, names,
# phone numbers, social handles. Marts carry customer_id and email_sha256 instead.
FORBIDDEN_COLUMNS = frozenset(
    {
        "email",
        "email_address",
        "first_name",
        "last_name",
        "full_name",
        "name",
        "phone",
        "phone_number",
        "author_name",
        "author_handle",
        "birth_date",
    }
)
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class PersonalDataError(ValueError):
    """A mart would publish personal data; the message names the mart, the column and why."""


def mart_names() -> list[str]:
    """The public mart tables, in build order."""
    return [m.name for m in discover_models() if m.layer == "marts"]


def assert_no_personal_data(con: duckdb.DuckDBPyConnection, schema: str, mart: str) -> None:
    """Raise PersonalDataError if ``schema.mart`` has a personal column or an e-mail-like value."""
    columns = rows(
        con,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, mart],
    )
    for column, _ in columns:
        if column.lower() in FORBIDDEN_COLUMNS or column.lower().endswith("_handle"):
            raise PersonalDataError(
                f"mart {mart!r} has column {column!r}: personal data is never published to "
                "serving (publish customer_id / email_sha256 instead)"
            )
    text_columns = [c for c, t in columns if t.upper() in ("VARCHAR", "TEXT")]
    if not text_columns:
        return
    # One scan per mart: count e-mail-like values per text column, and malformed hashes.
    checks = [f"count_if(regexp_matches(\"{c}\", '{EMAIL_PATTERN}'))" for c in text_columns] + [
        f'count_if("{c}" is not null and not regexp_matches("{c}", \'{SHA256_PATTERN}\'))'
        for c in text_columns
        if c.lower() == "email_sha256"
    ]
    counts = rows(con, f"select {', '.join(checks)} from {schema}.{mart}")[0]
    for column, n in zip(text_columns, counts, strict=False):
        if n:
            raise PersonalDataError(
                f"mart {mart!r} column {column!r} holds {n} e-mail address(es): personal data "
                "is never published to serving"
            )
    if len(counts) > len(text_columns) and counts[-1]:
        raise PersonalDataError(
            f"mart {mart!r} column 'email_sha256' has {counts[-1]} value(s) that are not a "
            "lower-case hex sha256: a raw value may have leaked"
        )


def _fsync(path: Path) -> None:
    # Make the new file's bytes durable before the rename publishes it.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_orphans(serving_dir: Path) -> list[Path]:
    """Delete temporary files left by a publish whose process is gone (a killed run)."""
    found = [
        *serving_dir.glob(".marts.*.tmp.duckdb*"),
        *(serving_dir / PARQUET_DIR).glob(".*.tmp.parquet"),
    ]
    removed = []
    for path in found:
        # The writer's pid precedes ".tmp": .marts.<pid>.tmp.duckdb, .<mart>.<pid>.tmp.parquet
        pid = path.name.split(".tmp")[0].rsplit(".", 1)[-1]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def publish(con: duckdb.DuckDBPyConnection, serving_dir: Path, marts: list[str]) -> dict[str, int]:
    """Copy ``marts`` into a new serving file and Parquet files, then swap them in atomically.

    Returns the published row count of each mart. On any error nothing published changes.
    """
    serving_dir.mkdir(parents=True, exist_ok=True)
    parquet_dir = serving_dir / PARQUET_DIR
    parquet_dir.mkdir(exist_ok=True)
    remove_orphans(serving_dir)
    target = serving_dir / SERVING_FILE
    tag = f"{os.getpid()}"
    tmp = serving_dir / f".marts.{tag}.tmp.duckdb"
    staged: list[tuple[Path, Path]] = []
    counts: dict[str, int] = {}
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)
    try:
        for mart in marts:
            assert_no_personal_data(con, "marts", mart)
        run(con, f"attach '{tmp}' as serving (storage_version '{SERVING_STORAGE_VERSION}')")
        try:
            for mart in marts:
                run(con, f"create table serving.main.{mart} as select * from marts.{mart}")
                counts[mart] = int(scalar(con, f"select count(*) from serving.main.{mart}"))
            run(con, "checkpoint serving")
        finally:
            run(con, "detach serving")
        if tmp.with_name(tmp.name + ".wal").exists():
            raise RuntimeError(f"{tmp}: DuckDB left a WAL after detach; not publishing")
        for mart in marts:
            part = parquet_dir / f".{mart}.{tag}.tmp.parquet"
            staged.append((part, parquet_dir / f"{mart}.parquet"))
            run(con, f"copy (select * from marts.{mart}) to '{part}' (format parquet)")
        for path in [tmp, *(p for p, _ in staged)]:
            _fsync(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        for part, _ in staged:
            part.unlink(missing_ok=True)
        raise
    # Everything is written: from here on only renames, each atomic.
    for part, final in staged:
        os.replace(part, final)
    # A WAL next to the target would be replayed against the new file; serving is read-only.
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    os.replace(tmp, target)
    for old in parquet_dir.glob("*.parquet"):
        if old.stem not in counts:
            old.unlink()  # a mart that no longer exists
    dir_fd = os.open(serving_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return counts


RATE_FIGURES = ("retention_rate", "repeat_rate", "return_on_relationship")


def headline_figures(con: duckdb.DuckDBPyConnection, schema: str = "main") -> dict[str, object]:
    """The figures a reader looks for first, from the published marts (absent ones skipped)."""
    queries = {
        "retention_monthly": (
            "select strftime(month, '%Y-%m'), customers_end, retention_rate "
            f"from {schema}.retention_monthly where is_complete order by month desc limit 1",
            ("latest_complete_month", "active_customers", "retention_rate"),
        ),
        "loyalty_summary": (
            f"select customers, repeat_rate, ror from {schema}.loyalty_summary limit 1",
            ("buying_customers", "repeat_rate", "return_on_relationship"),
        ),
    }
    figures: dict[str, object] = {}
    for sql, names in queries.values():
        try:
            found = rows(con, sql)
        except duckdb.Error:
            continue  # the mart is absent or has changed shape; the counts still publish
        if found:
            for name, value in zip(names, found[0], strict=True):
                if isinstance(value, decimal.Decimal):
                    value = float(value)  # Dagster metadata has no decimal type
                if value is not None and name in RATE_FIGURES:
                    # Shown as a percentage (83.3, not 0.8333…), still a number the UI plots.
                    name, value = f"{name}_pct", round(float(value) * 100, 1)
                if value is not None:
                    figures[name] = value
    return figures


def _counts_markdown(counts: dict[str, int]) -> str:
    lines = ["| mart | rows |", "|---|---:|"]
    lines += [f"| {m} | {n:,} |" for m, n in counts.items()]
    return "\n".join(lines)


def build_serving_asset(marts: list[str]) -> dg.AssetsDefinition:
    """The asset that publishes ``marts`` to ``serving/``."""

    @dg.asset(
        name="serving_marts",
        group_name="serving",
        kinds={"duckdb", "parquet"},
        deps=[dg.AssetKey(m) for m in marts],
        pool="warehouse",
        description=(
            "serving/marts.duckdb and serving/parquet/: every mart, for BI tools, swapped in "
            "atomically (DuckDB 1.x-readable storage), without personal data."
        ),
    )
    def serving_marts(
        context: dg.AssetExecutionContext, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        settings = warehouse.settings()
        with warehouse.connect() as con:
            counts = publish(con, settings.serving_dir, marts)
        target = settings.serving_dir / SERVING_FILE
        # Read the figures back from the published file: what a BI tool now sees.
        reader = duckdb.connect(str(target), read_only=True)
        try:
            figures = headline_figures(reader)
        finally:
            reader.close()
        context.log.info(f"published {len(counts)} marts to {target}")
        metadata: dict[str, object] = {
            "path": dg.MetadataValue.path(str(target)),
            "parquet_dir": dg.MetadataValue.path(str(settings.serving_dir / PARQUET_DIR)),
            "storage_version": SERVING_STORAGE_VERSION,
            "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "file_bytes": target.stat().st_size,
            "dagster/row_count": sum(counts.values()),
            "row_counts": dg.MetadataValue.md(_counts_markdown(counts)),
            "marts": dg.MetadataValue.json(counts),
        }
        metadata.update(figures)
        return dg.MaterializeResult(metadata=metadata)

    return serving_marts
