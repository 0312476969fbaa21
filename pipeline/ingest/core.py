"""Land every delivery of an entity exactly once: decode, recognise, map, validate, append.

Each delivery is one DuckDB transaction (its ledger row, raw rows and quarantined rows
together), so a crash mid-file leaves nothing half-landed and the file is tried again on the
next run. A file that cannot be read at all is moved aside whole with a reason.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.config import Settings
from pipeline.entities import ENTITIES, Entity, raw_table_ddl
from pipeline.ingest import ledger, quarantine
from pipeline.ingest.checks import damaged_key, sql_path, undecidable_versions
from pipeline.ingest.errors import FileRefused
from pipeline.ingest.formats import ROW, SUPPORTED_SUFFIXES, open_table, supported
from pipeline.ingest.mappings import Mapping, load_mappings, recognise
from pipeline.ingest.parse import to_canonical
from pipeline.warehouse import frame, run, scalar

Validator = Callable[[Entity, pl.DataFrame, str], str | None]
# Files a sender or the sensor uses to signal "upload complete" or "still uploading".
MARKER_SUFFIXES = (".done", ".ready", ".part", ".partial", ".tmp", ".crdownload", ".reason.txt")

# The key of an e-mail event delivered without one (documented in docs/vendors.md):
# sha256 of "lower(trim(email))|campaign_id|event_type|occurred_at", occurred_at in UTC as
# ISO 8601 "YYYY-MM-DDTHH:MM:SS" plus ".ffffff" only when it has microseconds (Python's
# datetime.isoformat()).
EVENT_ID_SQL = (
    "sha256(lower(trim(email)) || '|' || campaign_id || '|' || event_type || '|' || "
    "strftime(occurred_at, '%Y-%m-%dT%H:%M:%S') || "
    "case when microsecond(occurred_at) % 1000000 = 0 then '' "
    "else '.' || lpad(cast(microsecond(occurred_at) % 1000000 as text), 6, '0') end)"
)


@dataclass
class FileReport:
    """What happened to one delivery in one run."""

    source_file: str  # path under landing/
    entity: str
    mapping: str | None
    status: str  # 'landed' | 'refused' | 'skipped' (already delivered)
    rows_read: int
    rows_landed: int
    rows_quarantined: int
    reason: str | None

    def summary(self) -> str:
        """One line for the run log."""
        if self.status == "landed":
            line = (
                f"{self.source_file}: landed via {self.mapping}: {self.rows_read} rows read, "
                f"{self.rows_landed} landed, {self.rows_quarantined} quarantined"
            )
            return line + (f" ({self.reason})" if self.reason else "")
        return f"{self.source_file}: {self.status}: {self.reason}"


def default_validator() -> Validator | None:
    """The validator the Dagster ingest assets pass to :func:`ingest_entity`.

    None for now: the data-validation helper replaces this hook with a function that returns a
    reason to refuse a file's good rows (or None to accept them).
    """
    return None


def ensure_tables(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Create the ledger, the quarantine table and the entity's raw table when missing."""
    ledger.ensure_ledger(con)
    quarantine.ensure_quarantine(con)
    run(con, "create schema if not exists raw")
    run(con, raw_table_ddl(entity))


def landing_files(folder: Path) -> list[Path]:
    """Deliveries under ``folder`` (recursively) in path order, without hidden or marker files."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if path.name.lower().endswith(MARKER_SUFFIXES):
            continue
        found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def canonical_select(entity: Entity, parquet: Path) -> str:
    """SQL selecting a parsed delivery's canonical columns, typed as the raw table has them."""
    cols = []
    for col, typ in entity.columns.items():
        expr = f"cast({col} as {typ})"
        if entity.name == "email_events" and col == "event_id":
            expr = f"coalesce({col}, {EVENT_ID_SQL})"
        cols.append(f"{expr} as {col}")
    return f"select {', '.join(cols)}, {ROW} from read_parquet({sql_path(parquet)})"


def ingest_entity(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    entity: str,
    run_id: str = "manual",
    validator: Validator | None = None,
    log: Callable[[str], None] | None = None,
) -> list[FileReport]:
    """Land the new deliveries of one entity; returns one report per file found."""
    ent = ENTITIES[entity]
    ensure_tables(con, ent)
    mappings = load_mappings(entity, settings.data_dir / "vendors")
    seen = ledger.delivered(con)
    seq = ledger.last_delivery_seq(con)
    reports = []
    for path in landing_files(settings.landing_dir / ent.landing_path):
        rel = path.relative_to(settings.landing_dir).as_posix()
        sha = ledger.file_sha256(path)
        if sha in seen:
            first, status = seen[sha]
            report = FileReport(
                rel, entity, None, "skipped", 0, 0, 0, f"same bytes as {first} ({status})"
            )
        else:
            seq += 1
            report = _ingest_file(
                con, settings, ent, path, rel, sha, seq, run_id, mappings, validator
            )
            seen[sha] = (rel, report.status)
        if log:
            log(report.summary())
        reports.append(report)
    return reports


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    entity: Entity,
    path: Path,
    rel: str,
    sha: str,
    seq: int,
    run_id: str,
    mappings: list[Mapping],
    validator: Validator | None,
) -> FileReport:
    """Land or refuse one delivery, in one transaction."""
    mapping_name: str | None = None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=settings.data_dir) as tmp:
        work = Path(tmp)
        try:
            if not supported(path.name):
                raise FileRefused(
                    f"unsupported file type; accepted: {', '.join(SUPPORTED_SUFFIXES)}"
                )
            table = open_table(path, work)
            mapping, lookup = recognise(table.header, mappings)
            mapping_name = mapping.name
            parsed = to_canonical(table, mapping, lookup, entity, settings.timezone)
            good, bad, keys = work / "good.parquet", work / "bad.parquet", work / "keys.parquet"
            sinks = [parsed.good.sink_parquet(good, lazy=True)]
            sinks.append(parsed.bad.sink_parquet(bad, lazy=True))
            if parsed.keys is not None:
                sinks.append(parsed.keys.sink_parquet(keys, lazy=True))
            if mapping.aggregate:  # lines read ≠ orders landed: count the lines too
                sinks.append(
                    table.frame.select(pl.len().alias("n")).sink_parquet(
                        work / "lines.parquet", lazy=True
                    )
                )
            try:
                pl.collect_all(sinks)
            except pl.exceptions.PolarsError as exc:
                detail = str(exc).strip().splitlines()[0]
                raise FileRefused(f"cannot be read as {table.layout}: {detail}") from None
            n_good = _count(con, good)
            n_bad = _count(con, bad)
            if mapping.aggregate:
                n_read = int(
                    scalar(con, f"select n from read_parquet({sql_path(work / 'lines.parquet')})")
                )
            else:
                n_read = n_good + n_bad
            key_label = f"'{mapping.columns.get(entity.key, entity.key)}'"
            reason = damaged_key(con, keys, entity, key_label) if parsed.keys is not None else None
            reason = reason or undecidable_versions(con, good, entity, key_label)
            select = canonical_select(entity, good)
            if reason is None and validator is not None and n_good:
                reason = validator(entity, frame(con, select), rel)
            if reason:
                raise FileRefused(reason)
            _land(
                con, entity, rel, sha, seq, run_id, mapping.name, select, bad, n_read, n_good, n_bad
            )
            return FileReport(rel, entity.name, mapping.name, "landed", n_read, n_good, n_bad, None)
        except FileRefused as refused:
            _refuse(
                con, settings, entity, path, rel, sha, seq, run_id, mapping_name, refused.reason
            )
            return FileReport(rel, entity.name, mapping_name, "refused", 0, 0, 0, refused.reason)


def _count(con: duckdb.DuckDBPyConnection, parquet: Path) -> int:
    return int(scalar(con, f"select count(*) from read_parquet({sql_path(parquet)})"))


def _land(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    rel: str,
    sha: str,
    seq: int,
    run_id: str,
    mapping: str,
    select: str,
    bad: Path,
    n_read: int,
    n_good: int,
    n_bad: int,
) -> None:
    """Append the good rows, quarantine the bad ones and record the delivery, atomically."""
    run(con, "begin transaction")
    try:
        run(
            con,
            f"insert into raw.{entity.raw_table} by name "
            f"select *, ? as _source_file, ? as _delivery_seq, ? as _file_sha256, "
            f"? as _loaded_at from ({select}) order by {ROW}",
            [rel, seq, sha, ledger.utc_now()],
        )
        quarantine.insert_rows(
            con, bad, entity=entity.name, source_file=rel, sha=sha, run_id=run_id
        )
        ledger.record(
            con,
            sha=sha,
            source_file=rel,
            entity=entity.name,
            mapping=mapping,
            status="landed",
            reason=None,
            rows_read=n_read,
            rows_landed=n_good,
            rows_quarantined=n_bad,
            delivery_seq=seq,
            run_id=run_id,
        )
        run(con, "commit")
    except BaseException:
        run(con, "rollback")
        raise


def _refuse(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    entity: Entity,
    path: Path,
    rel: str,
    sha: str,
    seq: int,
    run_id: str,
    mapping: str | None,
    reason: str,
) -> None:
    """Record a refused delivery and move it to ``quarantine/<landing path>/``."""
    run(con, "begin transaction")
    try:
        ledger.record(
            con,
            sha=sha,
            source_file=rel,
            entity=entity.name,
            mapping=mapping,
            status="refused",
            reason=reason,
            rows_read=0,
            rows_landed=0,
            rows_quarantined=0,
            delivery_seq=seq,
            run_id=run_id,
        )
        quarantine.move_aside(path, settings.quarantine_dir / entity.landing_path, reason, sha)
        run(con, "commit")
    except BaseException:
        run(con, "rollback")
        raise
