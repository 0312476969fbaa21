"""Do not validate again what has not changed since it last passed.

When every table a check's suites read (:func:`tables_read`) has the content hash it had at the
check's last *passing* validation (``pipeline.engine.skip.content_hash``, in DuckDB; above
``HASH_ROWS`` rows the row count and build number stand in), and the suites' JSON and the batch
code are the same, the suites would find what they found then. So the check reuses that pass
and says so, instead of paying GX's fixed cost again; a run with nothing new runs no suite.
Only a pass is reused (a warning or an error stays visible in every run): a failed validation
leaves ``meta.validation_passes`` (one row per check asset) as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.engine import BuildLog
from pipeline.engine.skip import HASH_ROWS, code_version, content_hash
from pipeline.sqltext import identifier
from pipeline.validation.batches import LINKED_RECORDS, MissingTable, table_schema
from pipeline.validation.suites import Suite
from pipeline.warehouse import rows, run, scalar

TABLE = "meta.validation_passes"
_DDL = (
    f"create table if not exists {TABLE} (check_asset varchar primary key, suites varchar, "
    "tables varchar, run_id varchar, validated_at timestamp)"
)
_HERE = Path(__file__).resolve().parent
# The code that chooses a batch's rows: a change to it validates everything again.
_BATCH_CODE = (_HERE / "batches.py", _HERE.parent / "pii.py")


@dataclass(frozen=True)
class Unchanged:
    """A check whose tables are as they were at its last passing validation."""

    run_id: str
    validated_at: dt.datetime

    def text(self) -> str:
        """The sentence the check reports."""
        when = self.validated_at.strftime("%Y-%m-%d %H:%M:%S")
        return f"unchanged since validation in run {self.run_id} ({when} UTC): not run again"


def tables_read(suite: Suite, asset: str) -> list[str]:
    """The tables ``suite``'s batch of ``asset`` reads (see ``batches.build_batch``)."""
    if suite.batch == "customer_links":
        return ["int_record_links", "int_orders", "int_customers"] + [
            table for table, _ in LINKED_RECORDS.values()
        ]
    if suite.batch == "personal_data":
        return [asset]
    return [suite.asset]


def suites_key(suites: list[Suite]) -> str:
    """The suites (name and JSON digest) and the batch code's version, as one string."""
    names = ",".join(f"{s.name}:{s.digest}" for s in sorted(suites, key=lambda s: s.name))
    return f"{names};{code_version(_BATCH_CODE)[:16]}"


def fingerprint(con: duckdb.DuckDBPyConnection, suites: list[Suite], asset: str) -> dict:
    """Content hash of every table the suites read (a missing one: ``None``)."""
    found: dict[str, str | None] = {}
    for suite in suites:
        for table in tables_read(suite, asset):
            if table in found:
                continue
            try:
                schema, _ = table_schema(con, table)
            except MissingTable:
                found[table] = None
                continue
            count = int(
                scalar(con, f"select count(*) from {identifier(schema)}.{identifier(table)}")
            )
            # Hashing a big table (60M e-mail events at 1M customers) would cost seconds on every
            # run it changed in: its build number vouches instead (none: never reused).
            if count <= HASH_ROWS:
                found[table] = content_hash(con, schema, table)
            else:
                build = BuildLog(con).build_id(table)
                found[table] = None if build is None else f"{count} rows, build {build}"
    return found


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    run(con, "create schema if not exists meta")
    run(con, _DDL)


def unchanged_since(
    con: duckdb.DuckDBPyConnection, asset: str, suites: str, tables: dict
) -> Unchanged | None:
    """The last passing validation of ``asset`` if it saw the same ``suites`` (their
    :func:`suites_key`) and ``tables``."""
    _prepare(con)
    found = rows(
        con,
        f"select suites, tables, run_id, validated_at from {TABLE} where check_asset = ?",
        [asset],
    )
    if not found or None in tables.values():
        return None
    suites_then, tables_then, run_id, at = found[0]
    if suites_then != suites or json.loads(tables_then) != tables:
        return None
    return Unchanged(run_id, at)


def record_pass(
    con: duckdb.DuckDBPyConnection, asset: str, suites: str, tables: dict, run_id: str
) -> None:
    """Remember that ``asset``'s suites (their :func:`suites_key`, taken before they ran: GX
    edits a suite's expectations in place when it builds them) passed on ``tables``."""
    _prepare(con)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run(
        con,
        f"insert or replace into {TABLE} values (?, ?, ?, ?, ?)",
        [asset, suites, json.dumps(tables, sort_keys=True), run_id, now],
    )
