"""Land every delivery of an entity exactly once: decode, recognise, map, validate, append.

Each delivery is one DuckDB transaction (its ledger row, raw rows and quarantined rows
together), so a crash mid-file leaves nothing half-landed and the file is tried again on the
next run. A file that cannot be read at all is moved aside whole with a reason.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.config import Settings
from pipeline.entities import ENTITIES, Entity, raw_table_ddl
from pipeline.ingest import checks, ledger, quarantine, versions
from pipeline.ingest.checks import damaged_key, relation, undecidable_versions
from pipeline.ingest.declared import declaration
from pipeline.ingest.duckdb_csv import Parsed, Stage, parse_with_duckdb
from pipeline.ingest.errors import FileRefused
from pipeline.ingest.formats import ROW, SUPPORTED_SUFFIXES, Table, open_table, supported
from pipeline.ingest.landing import (
    HIDDEN_REASON,
    LINK_REASON,
    OUTSIDE_REASON,
    Entry,
    landing_entries,
    remove_stale_work,
    work_folder_prefix,
)
from pipeline.ingest.mappings import Mapping, headerless_columns, load_mappings, recognise
from pipeline.ingest.parse import Plan, plan
from pipeline.ingest.report import FileReport
from pipeline.ingest.staging import Staging
from pipeline.sqltext import literal
from pipeline.warehouse import run, scalar


@dataclass(frozen=True)
class DeliveredRows:
    """A delivery's good rows, still in DuckDB: ``sql`` selects them (canonical columns and
    ``_row_number``), typed as the raw table has them. A validator reads them from there, so a
    large export is never pulled into Python whole, through a second connection of ``con``'s
    database: ``sql`` reads only what that sees (the staged parse, Parquet files; not ``con``'s
    temporary tables), and no transaction of ``con`` is open."""

    con: duckdb.DuckDBPyConnection
    sql: str
    height: int


Validator = Callable[[Entity, DeliveredRows, str], str | None]
# DuckDB's share of memory while a delivery lands; beyond it, it spills to disk. Its default
# (80 % of RAM) let a 1 GB file's checks and insert take 4.6 GB.
MEMORY_LIMIT = "1GB"

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


def ensure_tables(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Create the ledger, the quarantine table and the entity's raw table when missing."""
    ledger.ensure_ledger(con)
    quarantine.ensure_quarantine(con)
    run(con, "create schema if not exists raw")
    run(con, raw_table_ddl(entity))


def landing_files(folder: Path) -> list[Path]:
    """Deliveries under ``folder`` (recursively) in path order, without hidden or marker files
    and without links."""
    return [e.path for e in landing_entries(folder) if e.kind == "file"]


def canonical_select(entity: Entity, good: Path | str, keyed: bool = False) -> str:
    """SQL selecting a parsed delivery's canonical columns, typed as the raw table has them;
    ``good`` is its good rows' Parquet file or staged view (``checks.relation``). ``keyed``:
    every e-mail event has its event_id, so none is made (``checks.every_key_delivered``)."""
    cols = []
    for col, typ in entity.columns.items():
        expr = f"cast({col} as {typ})"
        if entity.name == "email_events" and col == "event_id" and not keyed:
            expr = f"coalesce({col}, {EVENT_ID_SQL})"
        cols.append(f"{expr} as {col}")
    return f"select {', '.join(cols)}, {ROW} from {relation(good)}"


def ingest_entity(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    entity: str,
    run_id: str = "manual",
    validator: Validator | None = None,
    log: Callable[[str], None] | None = None,
) -> list[FileReport]:
    """Land the new deliveries of one entity; returns one report per file found.

    Files are read ahead: while one delivery is checked, validated and landed (DuckDB and GX,
    on this thread), the next is hashed and parsed (on a worker thread), so the two cores are
    both busy while GX validates, which is single-threaded Python. Canonical CSV is parsed by
    DuckDB into a scratch database attached in memory to the warehouse's (``staging.py``),
    where the checks, the landed suite and the insert read it; other files are parsed by
    polars into Parquet files.
    """
    ent = ENTITIES[entity]
    ensure_tables(con, ent)
    mappings = load_mappings(entity, settings.data_dir / "vendors")
    seen = ledger.delivered(con)
    seq = ledger.last_delivery_seq(con)
    reports = []
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_work(settings.data_dir)
    entries = landing_entries(settings.landing_dir / ent.landing_path, settings.landing_dir)
    # Read by the worker thread: a snapshot, not the dict this loop updates. A refused
    # delivery is tried again when it comes back (a mapping added, a file moved).
    known = {sha for sha, (_, status) in seen.items() if status != "refused"}
    hashes = ledger.hashed_before(con)  # files' hashes as last read (ledger.STATS_DDL)
    hashed: dict[str, tuple[ledger.FileStat, str]] = {}

    staging = Staging(con)

    def read(entry: Entry) -> _Read:
        stage = staging.next_stage()
        delivery = _read(settings, ent, entry, mappings, skip=known, stage=stage, hashes=hashes)
        if delivery.parsed is not None and isinstance(delivery.parsed[0], str):
            delivery.drop = functools.partial(staging.drop, stage)  # on the main thread
        return delivery

    # Closed in this order: the reading thread is done before the staging database goes.
    with _memory_limit(con, MEMORY_LIMIT), staging, closing(_read_ahead(entries, read)) as ahead:
        for entry, delivery in ahead:
            path = entry.path
            rel = path.relative_to(settings.landing_dir).as_posix()
            with delivery:
                if delivery.stat is not None:
                    hashed[rel] = (delivery.stat, delivery.sha)
                before = seen.get(delivery.sha)
                if entry.kind in ("hidden", "outside"):
                    why = HIDDEN_REASON if entry.kind == "hidden" else OUTSIDE_REASON
                    report = FileReport(rel, entity, None, "skipped", 0, 0, 0, why)
                elif before is not None and before[1] != "refused":
                    first, status = before
                    report = FileReport(
                        rel, entity, None, "skipped", 0, 0, 0, f"same bytes as {first} ({status})"
                    )
                else:
                    seq += 1
                    retry = f"retry of {before[0]}, refused earlier" if before else None
                    report = _ingest_file(
                        con, settings, ent, path, rel, delivery, seq, run_id, validator, retry
                    )
                    seen[delivery.sha] = (rel, report.status)
            if log:
                log(report.summary())
            reports.append(report)
    ledger.remember_hashes(con, hashed)
    return reports


@dataclass
class _Read:
    """A delivery hashed and, unless already delivered, parsed: the part done on the reading
    thread (polars, or DuckDB through the stage's own cursor).

    ``refused`` holds the reason when it cannot be read; the work folder (the Parquet files)
    and the staged parse (``drop``) are removed when the ``with`` block ends.
    """

    sha: str
    work: tempfile.TemporaryDirectory | None = None
    mapping: Mapping | None = None
    parsed: Parsed | None = None
    refused: str | None = None
    encoding: tuple[str | None, str | None] = (None, None)  # (encoding, how it was decided)
    drop: Callable[[], None] | None = None  # removes the staged parse, on the main thread
    stat: ledger.FileStat | None = None  # the file's stat when hashed now (not from the cache)

    def __enter__(self) -> _Read:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.work is not None:
            self.work.cleanup()
            self.work = None
        if self.drop is not None:
            drop, self.drop = self.drop, None
            drop()


def _read(
    settings: Settings,
    entity: Entity,
    entry: Entry,
    mappings: list[Mapping],
    skip: set[str],
    stage: Stage | None = None,
    hashes: dict[str, tuple[ledger.FileStat, str]] | None = None,
) -> _Read:
    """Hash a delivery and, if its bytes are new, parse it (thread-safe): canonical CSV into
    ``stage`` when given, else into Parquet files.

    A link is refused unread: its "hash" is that of its path, so that the ledger can record it.
    """
    path = entry.path
    if entry.kind in ("hidden", "outside"):
        return _Read("")
    if entry.kind == "link":
        where = path.relative_to(settings.landing_dir).as_posix()
        return _Read(ledger.text_sha256(f"symbolic link:{where}"), refused=LINK_REASON)
    rel = path.relative_to(settings.landing_dir).as_posix()
    sha, stat = ledger.cached_sha256(path, (hashes or {}).get(rel))
    if sha in skip:
        return _Read(sha, stat=stat)
    read = _Read(
        sha,
        tempfile.TemporaryDirectory(prefix=work_folder_prefix(), dir=settings.data_dir),
        stat=stat,
    )
    try:
        if not supported(path.name):
            raise FileRefused(f"unsupported file type; accepted: {', '.join(SUPPORTED_SUFFIXES)}")
        work = Path(read.work.name)
        declared = declaration(settings.landing_dir / entity.landing_path, path, mappings)
        table = open_table(path, work, declared, headerless_columns(mappings))
        read.encoding = (table.encoding, table.decided)
        read.mapping, lookup = recognise(table.header, mappings)
        # Canonical CSV through DuckDB's reader when it reads it exactly as polars would.
        tz = settings.timezone
        read.parsed = parse_with_duckdb(table, read.mapping, lookup, entity, tz, work, stage=stage)
        if read.parsed is None:
            read.parsed = _run_plan(plan(table, read.mapping, lookup, entity, tz), table, work)
    except FileRefused as refused:
        read.refused = refused.reason
    except BaseException:
        read.close()
        raise
    return read


def _read_ahead(
    paths: list[Entry], read: Callable[[Entry], _Read]
) -> Iterator[tuple[Entry, _Read]]:
    """``(entry, read(entry))`` in order, reading the next one on a worker thread meanwhile."""
    if not paths:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-read") as pool:
        ahead = pool.submit(read, paths[0])
        try:
            for i, path in enumerate(paths):
                current = ahead
                ahead = pool.submit(read, paths[i + 1]) if i + 1 < len(paths) else None
                yield path, current.result()
        finally:  # stopped early: wait for the file being read and remove its work folder
            if ahead is not None and not ahead.cancel():
                with contextlib.suppress(BaseException):
                    ahead.result().close()


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    entity: Entity,
    path: Path,
    rel: str,
    delivery: _Read,
    seq: int,
    run_id: str,
    validator: Validator | None,
    retry: str | None = None,
) -> FileReport:
    """Land or refuse one delivery, in one transaction; ``retry`` says which refusal it retries."""
    mapping = delivery.mapping
    sha = delivery.sha
    try:
        if delivery.refused is not None or delivery.parsed is None or mapping is None:
            raise FileRefused(delivery.refused or "could not be read")
        good, bad, keys, (n_read, n_good, n_bad) = delivery.parsed
        key_label = f"'{mapping.columns.get(entity.key, (entity.key,))[0]}'"
        reason = damaged_key(con, keys, entity, key_label) if keys else None
        reason = reason or undecidable_versions(con, good, entity, key_label)
        select = canonical_select(entity, good, checks.every_key_delivered(con, good, entity))
        notes = [retry] if retry else []
        bad_parts = [bad]
        if reason is None and n_good and delivery.work is not None:
            held = Path(delivery.work.name) / "held.parquet"
            superseded, conflicts = versions.hold_back(con, entity, select, held)
            notes += versions.notes(superseded, conflicts)
            if superseded:
                select = versions.without_held(select, held)
                n_good, n_bad = n_good - superseded, n_bad + superseded
                bad_parts.append(held)
        if reason is None and validator is not None and n_good:
            reason = validator(entity, DeliveredRows(con, select, n_good), rel)
        if reason:
            raise FileRefused(reason)
        report = FileReport(
            rel,
            entity.name,
            mapping.name,
            "landed",
            n_read,
            n_good,
            n_bad,
            "; ".join(notes) or None,
        )
        report.combined = mapping.aggregate is not None
        report.encoding, report.encoding_decided = delivery.encoding
        _land(con, report, sha, seq, run_id, select, bad_parts)
        return report
    except FileRefused as refused:
        name = mapping.name if mapping is not None else None
        reason = refused.reason + (f" ({retry})" if retry else "")
        report = FileReport(rel, entity.name, name, "refused", 0, 0, 0, reason)
        report.encoding, report.encoding_decided = delivery.encoding
        _refuse(con, report, sha, seq, run_id, path, settings.quarantine_dir / entity.landing_path)
        return report


@contextmanager
def _memory_limit(con: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """Cap DuckDB's memory for a while, then give the connection its own setting back."""
    before = scalar(con, "select current_setting('memory_limit')")
    run(con, f"set memory_limit = {literal(limit)}")
    try:
        yield
    finally:
        run(con, f"set memory_limit = {literal(before)}")


def _run_plan(steps: Plan, table: Table, work: Path) -> Parsed:
    """Parse the delivery into Parquet files: good rows, bad rows and (unless it is a line-item
    export) every row's key; returns them and the rows read, good and bad. polars only, so
    that it can run beside the DuckDB connection."""
    parsed = work / "parsed.parquet"
    good, bad, keys = work / "good.parquet", work / "bad.parquet", work / "keys.parquet"
    try:
        # One pass over the delivery, into a temporary file: fast compression, no statistics.
        steps.parsed.sink_parquet(parsed, compression="lz4", statistics=False)
    except pl.exceptions.PolarsError as exc:
        detail = str(exc).strip().splitlines()[0]
        raise FileRefused(f"cannot be read as {table.layout}: {detail}") from None
    scan = pl.scan_parquet(parsed)
    key_frame = steps.keys(scan)
    sinks = [
        steps.good(scan).sink_parquet(good, lazy=True),
        steps.bad(scan).sink_parquet(bad, lazy=True),
    ]
    if key_frame is not None:
        sinks.append(key_frame.sink_parquet(keys, lazy=True))
    pl.collect_all(sinks)
    counts = (_count(parsed), _count(good), _count(bad))
    return good, bad, keys if key_frame is not None else None, counts


def _count(parquet: Path) -> int:
    return int(pl.scan_parquet(parquet).select(pl.len()).collect().item())


def _land(
    con: duckdb.DuckDBPyConnection,
    report: FileReport,
    sha: str,
    seq: int,
    run_id: str,
    select: str,
    bad: list[Path],
) -> None:
    """Append the good rows, quarantine the bad ones and record the delivery, atomically."""
    run(con, "begin transaction")
    try:
        run(
            con,
            f"insert into raw.{ENTITIES[report.entity].raw_table} by name "
            f"select *, ? as _source_file, ? as _delivery_seq, ? as _file_sha256, "
            f"? as _loaded_at from ({select})",
            [report.source_file, seq, sha, ledger.utc_now()],
        )
        for part in bad:
            quarantine.insert_rows(
                con,
                part,
                entity=report.entity,
                source_file=report.source_file,
                sha=sha,
                run_id=run_id,
            )
        ledger.forget_refusal(con, sha)
        ledger.record(con, report, sha=sha, delivery_seq=seq, run_id=run_id)
        run(con, "commit")
    except BaseException:
        run(con, "rollback")
        raise


def _refuse(
    con: duckdb.DuckDBPyConnection,
    report: FileReport,
    sha: str,
    seq: int,
    run_id: str,
    path: Path,
    target_dir: Path,
) -> None:
    """Record a refused delivery and move it to ``target_dir`` with its reason.

    A file that cannot be moved (a read-only landing folder) stays where it is and the reason
    says so: the refusal is recorded and the other files and runs carry on. It is tried again,
    and refused again, on every run until it is removed or can be moved.
    """
    run(con, "begin transaction")
    try:
        try:
            quarantine.move_aside(path, target_dir, report.reason or "", sha)
        except OSError as exc:
            report.reason = (
                f"{report.reason}; it could not be moved to {target_dir} "
                f"({exc.strerror or exc}): it stays in landing"
            )
        ledger.forget_refusal(con, sha)
        ledger.record(con, report, sha=sha, delivery_seq=seq, run_id=run_id)
        run(con, "commit")
    except BaseException:
        run(con, "rollback")
        raise
