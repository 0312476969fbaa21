"""The yardstick: the same marts from the same canonical files, in one DuckDB connection.

No Dagster, no polars parsing, no validation, no ledger: each canonical CSV under ``landing/`` is
read with DuckDB's ``read_csv`` into a table named like the pipeline's raw table (same columns,
types and lineage columns), then every model in ``sql/`` runs in dependency order
(``pipeline.engine.discover_models``) as ``create table … as``. The one step SQL cannot do,
VADER scoring of mentions that came without a sentiment, calls the pipeline's own
``build_mention_sentiment`` and is timed on its own line.

Files whose header is not exactly an entity's canonical columns (the generator's small
``vendor_sample.*`` files, say) need the pipeline's vendor mappings and are skipped and listed.

Run as a script it writes a JSON report: ``python bench/yardstick.py DATA_DIR DB --as-of DATE``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from pipeline.engine import SQL_DIR, discover_models
from pipeline.engine.settings_table import RunSettings, settings_table_sql
from pipeline.entities import ENTITIES, IDENTITY_EDGES, LINEAGE_COLUMNS, Entity
from pipeline.ingest.core import EVENT_ID_SQL, landing_files
from pipeline.sentiment.scoring import build_mention_sentiment
from pipeline.sqltext import literal, sql_path
from pipeline.warehouse import SCHEMAS, run, scalar

SENTIMENT_TABLE = "int_mention_sentiment"


@dataclass
class Step:
    """One timed statement of the yardstick."""

    label: str  # e.g. "load raw_orders", "staging.stg_orders"
    kind: str  # load | sql | sentiment | setup
    seconds: float
    rows: int | None = None


@dataclass
class YardstickResult:
    """What one yardstick run did and how long each part took."""

    steps: list[Step] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    files_loaded: int = 0

    def seconds(self, kind: str | None = None) -> float:
        """Total seconds of the steps of ``kind`` (all steps when None)."""
        return sum(s.seconds for s in self.steps if kind is None or s.kind == kind)


def csv_header(path: Path) -> list[str]:
    """The first line of a CSV file split on commas (canonical files have plain headers)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        line = fh.readline()
    return [name.strip().strip('"') for name in line.rstrip("\r\n").split(",")]


def is_canonical(path: Path, entity: Entity) -> bool:
    """Whether ``path`` is a CSV whose header is exactly ``entity``'s canonical columns."""
    return path.name.lower().endswith(".csv") and csv_header(path) == list(entity.columns)


def typed_column(entity: Entity, col: str) -> str:
    """SQL turning the text column ``col`` into its canonical type, as the canonical mapping
    does: blank text is absent, enum values are trimmed and lower-cased, ids, e-mails and handles
    lose IDENTITY_EDGES at their ends and are composed (NFC), timestamps are UTC."""
    typ = entity.columns[col]
    if typ == "timestamp":
        # With TimeZone = 'UTC' a naive text is read as UTC and an offset is honoured.
        return f"cast(cast(trim({col}) as timestamptz) as timestamp)"
    if typ in ("date", "integer") or typ.startswith("decimal"):
        return f"cast(nullif(trim({col}), '') as {typ})"
    if col in entity.enums:
        return f"nullif(lower(trim({col})), '')"
    if col in entity.identity_columns:
        # trim() with a set of characters costs 3 s per 6M values against 0.5 s for trim():
        # only a value with an invisible first or last character is trimmed so (as the
        # pipeline's DuckDB route does, pipeline/ingest/duckdb_csv._identity).
        edges = literal(IDENTITY_EDGES)
        visible = f"ascii({col}) between 33 and 126 and ascii(right({col}, 1)) between 33 and 126"
        value = f"case when {visible} then {col} else trim({col}, {edges}) end"
        return f"case when trim({col}) <> '' then nfc_normalize({value}) end"
    return f"case when trim({col}) <> '' then {col} end"


def canonical_csv_select(entity: Entity, path: Path) -> str:
    """A ``select`` of one canonical CSV's rows, typed, with ``_row_number`` (header = 1)."""
    cols = ", ".join(f"{typed_column(entity, col)} as {col}" for col in entity.columns)
    select = (
        f"select {cols}, row_number() over () + 1 as _row_number\n"
        f"from read_csv({sql_path(path)}, all_varchar = true, header = true)"
    )
    if entity.name == "email_events":  # an event without a key gets the pipeline's one
        key = f"coalesce(event_id, {EVENT_ID_SQL})"
        select = f"select * replace ({key} as event_id)\nfrom ({select})"
    return select


def raw_ddl(entity: Entity) -> str:
    """``create or replace table`` of the raw table with the pipeline's columns and types."""
    cols = {**entity.columns, **LINEAGE_COLUMNS}
    body = ", ".join(f"{name} {typ}" for name, typ in cols.items())
    return f"create or replace table raw.{entity.raw_table} ({body})"


def load_statements(landing: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(label, SQL) statements that load every canonical file, and the files skipped."""
    statements: list[tuple[str, str]] = []
    skipped: list[str] = []
    for entity in ENTITIES.values():
        statements.append((f"create raw.{entity.raw_table}", raw_ddl(entity)))
        folder = landing / entity.landing_path
        for seq, path in enumerate(landing_files(folder), start=1):
            rel = path.relative_to(landing).as_posix()
            if not is_canonical(path, entity):
                skipped.append(rel)
                continue
            statements.append(
                (
                    f"load {rel}",
                    f"insert into raw.{entity.raw_table} by name\n"
                    f"select *, {literal(rel)} as _source_file, {seq} as _delivery_seq,\n"
                    f"    null as _file_sha256, current_timestamp as _loaded_at\n"
                    f"from ({canonical_csv_select(entity, path)})",
                )
            )
    return statements, skipped


def settings_statement(as_of: str, churn_days: int = 90, sla_hours: float = 24.0) -> str:
    """The one-row ``meta.pipeline_settings`` the models read, as the pipeline writes it."""
    return settings_table_sql(RunSettings(dt.date.fromisoformat(str(as_of)), churn_days, sla_hours))


def script(landing: Path, as_of: str, sql_dir: Path = SQL_DIR) -> str:
    """The whole yardstick as one SQL script (the sentiment step marked as a comment)."""
    loads, skipped = load_statements(landing)
    parts = ["set TimeZone = 'UTC';", f"set search_path = {literal(','.join(SCHEMAS))};"]
    parts += [f"create schema if not exists {s};" for s in SCHEMAS]
    parts += [f"-- skipped (not canonical): {rel}" for rel in skipped]
    parts.append(settings_statement(as_of) + ";")
    parts += [sql + ";" for _, sql in loads]
    for model in discover_models(sql_dir):
        if SENTIMENT_TABLE in model.parents and f"-- {SENTIMENT_TABLE}" not in "\n".join(parts):
            parts.append(
                f"-- {SENTIMENT_TABLE}: pipeline.sentiment.scoring.build_mention_sentiment(con)"
            )
        parts.append(f"create or replace table {model.qualified_name} as\n{model.sql};")
    return "\n\n".join(parts) + "\n"


def run_yardstick(
    landing: Path,
    con: duckdb.DuckDBPyConnection,
    as_of: str,
    sql_dir: Path = SQL_DIR,
    progress: Callable[[str], None] | None = None,
) -> YardstickResult:
    """Load ``landing``'s canonical files into ``con`` and build every model; timed per step."""
    say = progress or (lambda _msg: None)
    result = YardstickResult()

    def timed(label: str, kind: str, sql: str, table: str | None = None) -> None:
        started = time.perf_counter()
        run(con, sql)
        count = int(scalar(con, f"select count(*) from {table}")) if table else None
        result.steps.append(Step(label, kind, time.perf_counter() - started, count))

    run(con, "set TimeZone = 'UTC'")
    for schema in SCHEMAS:
        run(con, f"create schema if not exists {schema}")
    run(con, f"set search_path = {literal(','.join(SCHEMAS))}")
    timed("meta.pipeline_settings", "setup", settings_statement(as_of))
    loads, result.skipped_files = load_statements(landing)
    for label, sql in loads:
        timed(label, "load", sql)
        result.files_loaded += label.startswith("load ")
    say(f"loaded {result.files_loaded} files in {result.seconds('load'):.1f} s")
    sentiment_done = False
    for model in discover_models(sql_dir):
        if SENTIMENT_TABLE in model.parents and not sentiment_done:
            started = time.perf_counter()
            counts = build_mention_sentiment(con)
            result.steps.append(
                Step(
                    f"intermediate.{SENTIMENT_TABLE}",
                    "sentiment",
                    time.perf_counter() - started,
                    counts["rows"],
                )
            )
            sentiment_done = True
        timed(
            model.qualified_name,
            "sql",
            f"create or replace table {model.qualified_name} as\n{model.sql}",
            model.qualified_name,
        )
    say(
        f"models built in {result.seconds('sql'):.1f} s "
        f"(+ sentiment {result.seconds('sentiment'):.1f} s)"
    )
    return result


def remove_vendor_files(landing: Path) -> list[Path]:
    """Delete the files that are not canonical CSV (the generator's vendor samples): they need
    the pipeline's vendor mappings, which the yardstick does not have. Returns them."""
    from pipeline.entities import ENTITIES
    from pipeline.ingest.core import landing_files

    removed = []
    for entity in ENTITIES.values():
        for path in landing_files(landing / entity.landing_path):
            if not is_canonical(path, entity):
                path.unlink()
                removed.append(path)
    return removed


def main(argv: list[str] | None = None) -> int:
    """Run the yardstick over DATA_DIR/landing into the DuckDB file DB; print or write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="folder holding landing/")
    parser.add_argument("db", type=Path, help="DuckDB file to build (replaced)")
    parser.add_argument("--as-of", required=True, help="YYYY-MM-DD, as PIPELINE_AS_OF")
    parser.add_argument("--json", type=Path, help="write the timings here")
    parser.add_argument("--script", type=Path, help="also write the SQL script here")
    args = parser.parse_args(argv)
    landing = args.data_dir / "landing"
    if args.script:
        args.script.write_text(script(landing, args.as_of), encoding="utf-8")
    for suffix in ("", ".wal"):
        Path(str(args.db) + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(args.db)) as con:
        result = run_yardstick(landing, con, args.as_of, progress=print)
    total = time.perf_counter() - started
    report = {**asdict(result), "total_seconds": total}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"yardstick: {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
