"""What each check asset's last good validation saw, kept in the warehouse (Dagster records a
materialization whether or not its checks passed; docs/validation.md, "Watermarks and unchanged
checks"): ``meta.validation_watermarks`` (per table: the last ``_delivery_seq`` validated, the
row count), moved without a critical failure; ``meta.validation_passes`` (per check asset: its
suites and its tables' content at its last *pass*), which a check with both the same reuses.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.engine import BuildLog
from pipeline.engine.skip import HASH_ROWS, code_version, content_hash
from pipeline.sqltext import identifier
from pipeline.validation.suites import Suite, read_suites
from pipeline.warehouse import rows, run, scalar

DDL = (
    "create schema if not exists meta",
    "create table if not exists meta.validation_watermarks (check_asset text, table_name text, "
    "last_delivery_seq bigint, row_count bigint, run_id text, validated_at timestamp, "
    "primary key (check_asset, table_name))",
    "create table if not exists meta.validation_passes (check_asset varchar primary key, "
    "suites varchar, tables varchar, run_id varchar, validated_at timestamp)",
)
_HERE = Path(__file__).resolve().parent
# The code that chooses a batch's rows: a change to it validates everything again.
_BATCH_CODE = (_HERE / "batches.py", _HERE.parent / "pii.py")
# The tables a batch reads besides its suite's own (``personal_data``: the mart checked).
LINKED_TABLES = ("int_record_links", "int_orders", "int_customers")
LINKED_RECORDS = {"order": ("stg_orders", "order_id"), "ticket": ("stg_tickets", "ticket_id"),
                  "survey": ("stg_surveys", "response_id")}  # fmt: skip


def suite_readers(suites: Iterable[Suite] | None = None) -> dict[str, list[str]]:
    """The suites whose batch reads a table besides its own asset, by that table: the
    ``customer_links`` batch joins the linked tables and the records it links by name
    (pipeline/validation/batches.py); ``suites``: those in use (None: ``expectations/``'s).
    What a table of a removed model still feeds (pipeline/engine/leftovers.py, which is
    handed this function: the engine sits below validation and reads no suite itself)."""
    readers: dict[str, list[str]] = {}
    for suite in read_suites().values() if suites is None else suites:
        if suite.batch == "customer_links":
            for table in (*LINKED_TABLES, *(t for t, _ in LINKED_RECORDS.values())):
                readers.setdefault(table, []).append(f"the suite {suite.name}")
    return readers


@dataclass(frozen=True)
class Watermark:
    """What the last good validation of a check asset saw of one table."""

    last_delivery_seq: int | None
    row_count: int | None


@dataclass(frozen=True)
class Unchanged:
    """A check whose tables are as they were at its last passing validation."""

    run_id: str
    validated_at: dt.datetime

    def text(self) -> str:
        """The sentence the check reports."""
        when = self.validated_at.strftime("%Y-%m-%d %H:%M:%S")
        return f"unchanged since validation in run {self.run_id} ({when} UTC): not run again"


def ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    """Create both tables when missing."""
    for sql in DDL:
        run(con, sql)


def _now() -> dt.datetime:  # naive UTC, as the timestamp columns hold
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def read_watermark(con: duckdb.DuckDBPyConnection, check_asset: str, table: str) -> Watermark:
    """The watermark of ``table`` for the checks of ``check_asset`` (all None before any)."""
    ensure_state(con)
    found = rows(
        con,
        "select last_delivery_seq, row_count from meta.validation_watermarks "
        "where check_asset = ? and table_name = ?",
        [check_asset, table],
    )
    return Watermark(*found[0]) if found else Watermark(None, None)


def write_watermarks(
    con: duckdb.DuckDBPyConnection, check_asset: str, marks: dict[str, Watermark], run_id: str
) -> None:
    """Record the watermarks of a passed validation (one statement: all or none)."""
    ensure_state(con)
    values = [
        v
        for table, m in marks.items()
        for v in (check_asset, table, m.last_delivery_seq, m.row_count, run_id, _now())
    ]
    run(
        con,
        "insert or replace into meta.validation_watermarks (check_asset, table_name, "
        "last_delivery_seq, row_count, run_id, validated_at) "
        f"values {', '.join(['(?, ?, ?, ?, ?, ?)'] * len(marks))}",
        values,
    )


def max_shrink() -> float:
    """``PIPELINE_MAX_SHRINK``: the largest share of its rows a mart may lose between good runs."""
    from pipeline.config import setting

    return setting("PIPELINE_MAX_SHRINK")


# Below this many rows at the last good run a share of them tells lost input from nothing: a
# new shop's 3 buyers, one of whose orders is cancelled, are a third fewer, and the run failed.
SHRINK_MIN_ROWS = 20


def min_row_count(last_good: int | None, shrink: float) -> int:
    """Fewest rows a mart may have now: ``ceil(last_good × (1 - shrink))``; 0 without history
    or when the last good run had fewer than :data:`SHRINK_MIN_ROWS` rows."""
    if not last_good or last_good < SHRINK_MIN_ROWS:
        return 0
    return math.ceil(last_good * (1 - shrink) - 1e-9)


def suites_key(suites: list[Suite]) -> str:
    """The suites (name and JSON digest) and the batch code's version, as one string."""
    names = ",".join(f"{s.name}:{s.digest}" for s in sorted(suites, key=lambda s: s.name))
    return f"{names};{code_version(_BATCH_CODE)[:16]}"


def fingerprint(con: duckdb.DuckDBPyConnection, suites: list[Suite], asset: str) -> dict:
    """Content hash of every table the suites' batches of ``asset`` read (missing: ``None``).
    Not the engine's fingerprints (``pipeline.engine.skip``): they vouch for a build, not for
    rows changed since (by hand, or by a test standing in for a build)."""
    schemas = dict(
        rows(
            con,
            "select table_name, schema_name from duckdb_tables() union all "
            "select view_name, schema_name from duckdb_views() where not internal",
        )
    )
    read = {asset}
    for suite in suites:
        if suite.batch == "customer_links":
            read |= {*LINKED_TABLES, *(t for t, _ in LINKED_RECORDS.values())}
        elif suite.batch != "personal_data":
            read.add(suite.asset)
    found: dict[str, str | None] = {}
    for table in sorted(read):
        if (schema := schemas.get(table)) is None:
            found[table] = None
            continue
        count = int(scalar(con, f"select count(*) from {identifier(schema)}.{identifier(table)}"))
        if count <= HASH_ROWS:
            found[table] = content_hash(con, schema, table)
        else:  # Hashing a big table (60M e-mail events at 1M customers) would cost seconds on
            # every run it changed in: its build number vouches instead (none: never reused).
            build = BuildLog(con).build_id(table)
            found[table] = None if build is None else f"{count} rows, build {build}"
    return found


def unchanged_since(
    con: duckdb.DuckDBPyConnection, asset: str, suites: str, tables: dict
) -> Unchanged | None:
    """The last pass of ``asset`` if it saw the same ``suites`` (:func:`suites_key`) and
    ``tables`` (:func:`fingerprint`), else None."""
    ensure_state(con)
    found = rows(
        con,
        "select run_id, validated_at from meta.validation_passes "
        "where check_asset = ? and suites = ? and tables = ?",
        [asset, suites, json.dumps(tables, sort_keys=True)],
    )
    return Unchanged(*found[0]) if found and None not in tables.values() else None


def record_pass(
    con: duckdb.DuckDBPyConnection, asset: str, suites: str, tables: dict, run_id: str
) -> None:
    """Remember that ``asset``'s suites passed on ``tables``; ``suites`` is taken before they
    ran (building a GX suite edits its expectations in place)."""
    ensure_state(con)
    run(
        con,
        "insert or replace into meta.validation_passes values (?, ?, ?, ?, ?)",
        [asset, suites, json.dumps(tables, sort_keys=True), run_id, _now()],
    )
