"""Land every delivery of an entity exactly once: decode, recognise, map, validate, append.

Each delivery is one DuckDB transaction (its ledger row, raw rows and quarantined rows
together), so a crash mid-file leaves nothing half-landed and the file is tried again on the
next run. A file that cannot be read at all is moved aside whole with a reason.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipeline.config import Settings
from pipeline.entities import ENTITIES, Entity, raw_table_ddl
from pipeline.ingest import checks, ledger, quarantine, versions
from pipeline.ingest.checks import damaged_key, relation, undecidable_versions
from pipeline.ingest.declared import declaration
from pipeline.ingest.duckdb_csv import Parsed, Stage, parse_with_duckdb
from pipeline.ingest.errors import FileRefused, Unreadable
from pipeline.ingest.event_id import event_id_sql
from pipeline.ingest.formats import (
    ROW,
    SUPPORTED_SUFFIXES,
    Table,
    open_table,
    supported,
    unreadable,
)
from pipeline.ingest.landing import (
    HIDDEN_REASON,
    LINK_REASON,
    OUTSIDE_REASON,
    Entry,
    landing_entries,
    remove_stale_work,
    settled,
    unsettled_reason,
    work_folder_prefix,
)
from pipeline.ingest.mappings import (
    Mapping,
    belongs_elsewhere,
    headerless_columns,
    load_companions,
    load_mappings,
    names_columns_of,
    recognise,
)
from pipeline.ingest.parse import Plan, day_month_order, plan, skip_rows
from pipeline.ingest.quarantine_report import write_rows_csv
from pipeline.ingest.report import FileReport
from pipeline.ingest.staging import Staging
from pipeline.sqltext import literal
from pipeline.warehouse import run, scalar
from pipeline.words import counted


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
# A validator may also validate several small deliveries of an entity in one run: its
# ``group(entity, [(rows, source_file), ...])`` returns True when every one passes outright
# (it then records each file's outcome itself), False to have each validated on its own.
GroupValidator = Callable[[Entity, list[tuple[DeliveredRows, str]]], bool]
# Consecutive deliveries validated in one landed suite run: GX's fixed cost (~0.1 s a run) is
# most of a small delivery's. Bounded by rows: their staged parses stay in memory until landed,
# and a large file gains nothing: one run over the 100k build's five 1.24M-row e-mail files
# took 30-35 s of CPU for that entity's ingest against 22 s file by file (docs/validation.md).
GROUP_ROWS = 500_000
# And by files: the run reads the group as one union of its deliveries, whose planning and
# scans grow faster than its files (a run over 800 files of 60 e-mail events took 79 s, over
# 200 of 240 about 3 s; 2,000 of 24 ran out of DuckDB's memory, MEMORY_LIMIT, and landed none).
GROUP_FILES = 100
# Files that landed whole with nothing to say: each logged up to this many an entity, then every
# LOGGED_EVERY-th with the count so far. Each line is an event Dagster stores and the command
# line prints: a backlog of 2,000 files gave 2,000 of them.
LOGGED_PLAIN = 20
LOGGED_EVERY = 100
# DuckDB's share of memory while a delivery lands; beyond it, it spills to disk. Its default
# (80 % of RAM) let a 1 GB file's checks and insert take 4.6 GB.
MEMORY_LIMIT = "1GB"

# The key of an e-mail event delivered without one (``event_id.py``); a delivery parsed by
# DuckDB has it made once, in its parse (``duckdb_csv``), and needs none here.
EVENT_ID_SQL = event_id_sql()


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

    One entity alone: :class:`Ingestion` lands several, reading ahead across them.
    """
    with Ingestion(con, settings, [entity]) as ingestion:
        return ingestion.land(entity, run_id, validator, log)


def _said_once(
    report: FileReport,
    first: str,
    met: tuple[ledger.FileStat, str] | None,
    sha: str,
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Word ``report`` of a file with the bytes of ``first``, landed in an earlier run.

    Every run meets every delivery ever made again: ``first`` itself, and a path an earlier
    run hashed with these bytes (``met``, from ``meta.landing_stats``), are counted, not
    listed (``earlier_run``). A path met for the first time (a copy, a re-export saved under
    another name) is said once, with the day its bytes landed, so the user sees why nothing
    of it landed; before, only the asset log's count of skipped files told."""
    if report.source_file == first or (met is not None and met[1] == sha):
        report.earlier_run = True
        return
    landed = ledger.landed_on(con, sha)
    when = f", landed on {landed:%Y-%m-%d}" if landed is not None else ", landed before"
    report.reason = f"same bytes as {first}{when}"


@dataclass
class _Plan:
    """What an entity's reads need, found on the main thread before its first file is read."""

    entity: Entity
    mappings: list[Mapping]
    entries: list[Entry]
    # Read by the worker thread: a snapshot, not the ledger the landing loop updates, with the
    # hashes landed since added as they land. A refused delivery is tried again when it comes
    # back (a mapping added, a file moved). A file read ahead of the landing of one with the
    # same bytes is parsed for nothing, then skipped as landed (the loop reads the ledger).
    known: set[str]
    hashes: dict[str, tuple[ledger.FileStat, str]]  # files' hashes as last read (STATS_DDL)
    # Mappings of other entities reading the same files, by their host's name (a Zendesk
    # ticket export's satisfaction ratings: surveys)
    companions: dict[str, list[Mapping]] = field(default_factory=dict)


class Ingestion:
    """Several entities landed one after the other on ``con``, in ``order``, with one read-ahead.

    ``with Ingestion(con, settings, ["contacts", "orders"]) as ingestion:`` then
    ``ingestion.land(name, ...)`` for each. Files are read ahead: while one delivery is checked,
    validated and landed (DuckDB and GX, on this thread), the next is hashed and parsed on a
    worker thread, so the two cores are both busy while GX validates, which is single-threaded
    Python. The next file is the next entity's first when this one has no more, so an entity
    does not start cold (its first file parsed while the one before lands its last, and while
    the caller records it). At most one file is read ahead; the landing itself (ledger, delivery
    sequence, reports) stays on this thread in ``order``, as without the read-ahead.

    Canonical CSV is parsed by DuckDB into a scratch database attached in memory to the
    warehouse's (``staging.py``), where the checks, the landed suite and the insert read it;
    other files are parsed by polars into Parquet files. Consecutive small deliveries wait for
    one landed suite run over all of them when the validator can (:class:`_Group`); each still
    lands on its own.
    """

    # False reads each file when its turn comes (bench/ingest_phases.py times phases so).
    read_ahead = True

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        settings: Settings,
        order: Sequence[str],
        settle: float | None = None,
    ) -> None:
        """``settle``: leave a file changed less than this many seconds ago, without a
        marker, for a later run (a run the landing sensor or the watcher started)."""
        self.con, self.settings, self.order = con, settings, list(order)
        self.settle = settle
        self._plans: dict[str, _Plan] = {}
        # The file read ahead: (entity, index in its entries, the read).
        self._ahead: tuple[str, int, Future[_Read]] | None = None
        self._stack = contextlib.ExitStack()
        # The hashes this run landed or refused, whichever entity: the same bytes met again
        # under another path are no retry of a refusal made earlier, nor a delivery of an
        # earlier run (the ledger, keyed by hash, keeps only the last path's outcome).
        self.decided: set[str] = set()

    def __enter__(self) -> Ingestion:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_work(self.settings.data_dir)
        with self._stack as stack:
            stack.enter_context(_memory_limit(self.con, MEMORY_LIMIT))
            self.staging = stack.enter_context(Staging(self.con))
            self.pool = stack.enter_context(
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-read")
            )
            # Closed in reverse: the file read ahead is done (and freed) before the reading
            # thread stops, and the thread before the staging database goes.
            stack.callback(self._discard_ahead)
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def land(
        self,
        entity: str,
        run_id: str = "manual",
        validator: Validator | None = None,
        log: Callable[[str], None] | None = None,
    ) -> list[FileReport]:
        """Land the new deliveries of ``entity``; returns one report per file found. An entity
        that raises leaves the others to land (its file read ahead is freed)."""
        plan = self._plan(entity)
        con, settings, ent = self.con, self.settings, plan.entity
        seen = ledger.delivered(con)
        seq = ledger.last_delivery_seq(con)
        reports = []
        hashed: dict[str, tuple[ledger.FileStat, str]] = {}
        group = _Group(con, settings, ent, run_id, validator)

        plain = [0]  # files that landed whole with nothing to say, so far

        def done(report: FileReport, sha: str | None = None) -> None:
            if sha is not None:  # landed or refused now
                self.decided.add(sha)
            if sha is not None and report.status == "landed":
                # Its copies read after this are skipped unparsed (the loop says so from the
                # ledger): 300 copies of one file were each parsed, then skipped.
                for other in self._plans.values():
                    other.known.add(sha)
            reports.append(report)
            if log is None:
                return
            if _plain(report):
                plain[0] += 1
                if plain[0] > LOGGED_PLAIN:  # a backlog's progress, not a line (event) a file
                    if plain[0] % LOGGED_EVERY == 0 or len(reports) == len(plan.entries):
                        log(
                            f"{counted(plain[0], 'file')} of {entity} landed whole so far, "
                            f"{len(reports):,} of {len(plan.entries):,} looked at; the latest: "
                            f"{report.summary()}"
                        )
                    return
            log(report.summary())

        # Closed in this order: the group's files, then the file read ahead if it is this
        # entity's (the next entity's first is kept for it).
        with closing(self._reads(entity)) as reads:
            try:
                for entry, delivery in reads:
                    group.current = delivery  # closed with the group if this loop fails
                    path = entry.path
                    rel = path.relative_to(settings.landing_dir).as_posix()
                    if delivery.stat is not None:
                        hashed[rel] = (delivery.stat, delivery.sha)
                    if delivery.sha in group.shas:  # same bytes as a file not yet landed
                        _flush(group, seen, done)
                    before = seen.get(delivery.sha)
                    earlier = delivery.sha not in self.decided  # before is an earlier run's
                    decided = None  # the hash, once this file is landed or refused here
                    if entry.kind in ("hidden", "outside", "unsettled"):
                        why = {"hidden": HIDDEN_REASON, "outside": OUTSIDE_REASON}.get(
                            entry.kind
                        ) or unsettled_reason(self.settle or 0)
                        report = FileReport(rel, entity, None, "skipped", 0, 0, 0, why)
                    elif before is not None and before[1] != "refused":
                        first, status = before
                        report = FileReport(
                            rel,
                            entity,
                            None,
                            "skipped",
                            0,
                            0,
                            0,
                            f"same bytes as {first} ({status})",
                        )
                        if earlier:
                            _said_once(report, first, plan.hashes.get(rel), delivery.sha, con)
                    else:
                        seq += 1
                        retry = None
                        if before and earlier:
                            retry = f"retry of {before[0]}, refused earlier"
                        file = group.prepare(_File(path, rel, delivery, seq, retry))
                        if group.takes(file):
                            continue  # validated and landed with its group
                        _flush(group, seen, done)
                        if group.takes(file):
                            continue
                        report = group.finish(file)
                        seen[delivery.sha] = (rel, report.status)
                        decided = delivery.sha
                    _flush(group, seen, done)  # reports stay in landing order
                    delivery.close()
                    done(report, decided)
                _flush(group, seen, done)
            finally:
                group.close()
        ledger.remember_hashes(con, hashed)
        return reports

    def _plan(self, entity: str) -> _Plan:
        """``entity``'s plan (its tables made when missing), found once."""
        if entity not in self._plans:
            ent = ENTITIES[entity]
            ensure_tables(self.con, ent)
            seen = ledger.delivered(self.con)
            companions = load_companions(entity, self.settings.data_dir / "vendors")
            # The entities its files' parts land in (surveys, for Zendesk's ticket export)
            for other in {m.entity for found in companions.values() for m in found}:
                ensure_tables(self.con, ENTITIES[other])
            entries = landing_entries(
                self.settings.landing_dir / ent.landing_path, self.settings.landing_dir
            )
            if self.settle:
                entries = settled(entries, self.settle, time.time())
            self._plans[entity] = _Plan(
                ent,
                load_mappings(entity, self.settings.data_dir / "vendors"),
                entries,
                {sha for sha, (_, status) in seen.items() if status != "refused"},
                ledger.hashed_before(self.con),
                companions,
            )
        return self._plans[entity]

    def _reader(self, plan: _Plan) -> Callable[[Entry], _Read]:
        """Hash and parse one of ``plan``'s entries (on the reading thread)."""
        settings, staging = self.settings, self.staging

        def read(entry: Entry) -> _Read:
            stage = staging.next_stage()
            delivery = _read(
                settings,
                plan.entity,
                entry,
                plan.mappings,
                skip=plan.known,
                stage=stage,
                hashes=plan.hashes,
                companions=plan.companions,
            )
            if delivery.parsed is not None and isinstance(delivery.parsed[0], str):
                delivery.drop = functools.partial(staging.drop, stage)  # on the main thread
            return delivery

        return read

    def _reads(self, entity: str) -> Iterator[tuple[Entry, _Read]]:
        """``(entry, its read)`` for each of ``entity``'s entries in order, the next file (this
        entity's or the next one's first) read on the worker thread meanwhile."""
        plan = self._plan(entity)
        read = self._reader(plan)
        try:
            for i, entry in enumerate(plan.entries):
                if not self.read_ahead:
                    yield entry, read(entry)
                    continue
                current = self._take(entity, i) or self.pool.submit(read, entry)
                if i + 1 < len(plan.entries):
                    self._ahead = (entity, i + 1, self.pool.submit(read, plan.entries[i + 1]))
                else:
                    self._read_next_entity(entity)
                yield entry, current.result()
        finally:  # stopped early: wait for this entity's file being read and free it
            if self._ahead is not None and self._ahead[0] == entity:
                self._discard_ahead()

    def _take(self, entity: str, index: int) -> Future[_Read] | None:
        """The read of ``entity``'s entry ``index`` when it is the one read ahead."""
        if self._ahead is None:
            return None
        name, i, future = self._ahead
        if (name, i) != (entity, index):  # the caller went another way: free it
            self._discard_ahead()
            return None
        self._ahead = None
        return future

    def _read_next_entity(self, entity: str) -> None:
        """Start reading the first file of the entity after ``entity`` in ``order`` that has
        any. Finding its plan may fail (its table cannot be made): then nothing is read ahead,
        and the error is that entity's, raised when it lands."""
        if entity not in self.order:
            return
        for name in self.order[self.order.index(entity) + 1 :]:
            try:
                plan = self._plan(name)
            except Exception:  # raised again by land(name), and reported there
                return
            if plan.entries:
                self._ahead = (name, 0, self.pool.submit(self._reader(plan), plan.entries[0]))
                return

    def _discard_ahead(self) -> None:
        """Wait for the file read ahead, if any, and free it unused."""
        if self._ahead is None:
            return
        _, _, future = self._ahead
        self._ahead = None
        if not future.cancel():
            with contextlib.suppress(BaseException):
                future.result().close()


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
    # Rows the mapping's [skip_rows] left out: how many, and the report's note on them
    skipped: tuple[int, str] = (0, "")
    # The same file read by the mapping's companions, one read each (its sha is the part's
    # ledger key, ``ledger.part_sha256``); they land with the file, in its transaction
    parts: list[_Read] = field(default_factory=list)

    def __enter__(self) -> _Read:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for part in self.parts:
            part.close()
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
    companions: dict[str, list[Mapping]] | None = None,
) -> _Read:
    """Hash a delivery and, if its bytes are new, parse it (thread-safe): canonical CSV into
    ``stage`` when given, else into Parquet files.

    A link is refused unread: its "hash" is that of its path, so that the ledger can record it.
    """
    path = entry.path
    if entry.kind in ("hidden", "outside", "unsettled"):
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
        try:
            _parse(read, path, entity, settings, mappings, stage, companions=companions)
        except Unreadable as refused:
            if not refused.delimited:
                raise
            # Rows whose quotes the reader could not read (1,"x"y,3): set them aside and
            # read the rest; none found, the refusal stands (lines.quote_faults).
            _parse(read, path, entity, settings, mappings, stage, refused, companions)
    except FileRefused as refused:
        read.refused = refused.reason
    except BaseException:
        read.close()
        raise
    return read


def _parse(
    read: _Read,
    path: Path,
    entity: Entity,
    settings: Settings,
    mappings: list[Mapping],
    stage: Stage | None,
    faults: Unreadable | None = None,
    companions: dict[str, list[Mapping]] | None = None,
) -> None:
    """Open, recognise and parse a delivery into ``read``; ``faults``: the reader's refusal of
    a first reading (``open_table``). The recognised mapping's ``companions`` parse it too,
    each into a part of ``read``."""
    assert read.work is not None
    work = Path(read.work.name)
    declared = declaration(settings.landing_dir / entity.landing_path, path, mappings)
    table = open_table(
        path, work, declared, headerless_columns(mappings), faults, names_columns_of(mappings)
    )
    read.encoding = (table.encoding, table.decided)
    try:
        read.mapping, lookup = recognise(table.header, mappings)
    except FileRefused as refused:
        user_dir = settings.data_dir / "vendors"
        elsewhere = belongs_elsewhere(table.header, entity.name, user_dir)
        note = f"{table.note}: " if table.note else ""
        raise FileRefused(note + refused.reason + elsewhere) from None
    # A file whose dates are in the other day/month order than the mapping states is refused
    # before any of it is read the stated way (only a format naming %m and %d is looked at).
    if reason := day_month_order(table, read.mapping, lookup, entity):
        raise FileRefused(reason)
    # Rows the mapping says are none of its entity's are counted, not read (a companion's
    # unrated tickets); the canonical mapping has none.
    whole = table  # what the companions read
    table, count, note = skip_rows(table, read.mapping, lookup)
    read.skipped = (count, note)
    # Canonical CSV through DuckDB's reader when it reads it exactly as polars would.
    tz = settings.timezone
    read.parsed = parse_with_duckdb(table, read.mapping, lookup, entity, tz, work, stage=stage)
    if read.parsed is None:
        read.parsed = _run_plan(plan(table, read.mapping, lookup, entity, tz), table, work)
    for part in read.parts:  # a first reading's, before the reader's refusal
        part.close()
    read.parts = [
        _read_part(read.sha, whole, companion, settings)
        for companion in (companions or {}).get(read.mapping.name, [])
    ]


def _read_part(sha: str, table: Table, mapping: Mapping, settings: Settings) -> _Read:
    """The part of a delivery (hash ``sha``, opened as ``table``) that a companion mapping
    reads: its rows of the companion's entity, parsed into a work folder of its own, the
    rows its ``[skip_rows]`` leaves out counted. ``refused`` says why it cannot be read, which
    refuses the delivery: a file lands whole or not at all."""
    entity = ENTITIES[mapping.entity]
    work = tempfile.TemporaryDirectory(prefix=work_folder_prefix(), dir=settings.data_dir)
    part = _Read(ledger.part_sha256(sha, mapping.name), work, mapping=mapping)
    try:
        _, lookup = recognise(table.header, [mapping])
        if reason := day_month_order(table, mapping, lookup, entity):
            raise FileRefused(reason)
        table, count, note = skip_rows(table, mapping, lookup)
        part.skipped = (count, note)
        steps = plan(table, mapping, lookup, entity, settings.timezone)
        part.parsed = _run_plan(steps, table, Path(work.name))
    except FileRefused as refused:
        part.refused = refused.reason
    except BaseException:
        part.close()
        raise
    return part


@dataclass
class _File:
    """A delivery to land or refuse, checked (:meth:`prepare`) before its landed suite runs."""

    path: Path
    rel: str
    delivery: _Read
    seq: int
    retry: str | None  # which refusal it retries
    select: str = ""  # its good rows (canonical columns, ``_row_number``)
    n_read: int = 0
    n_good: int = 0
    n_bad: int = 0
    notes: list[str] | None = None
    bad_parts: list[Path | str] | None = None
    reason: str | None = None  # refused before its suite (the contract, a damaged key, …)
    held: int = 0  # rows held back: superseded by a version landed before (versions.py)
    landings: int = 0  # deliveries landed before it was checked (:class:`_Group`)
    # Its companions' parts (another entity's rows of the same file), checked alike
    parts: list[_File] | None = None

    def prepare(self, con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
        """The checks before the suite: the file's refusal reason, or its good rows' select;
        then its parts' (a part that cannot land refuses the file)."""
        self._prepare(con, entity)
        if self.parts is None:
            self.parts = [
                _File(self.path, self.rel, p, self.seq, None) for p in self.delivery.parts
            ]
        for part in self.parts:
            companion = part.delivery.mapping
            assert companion is not None
            part._prepare(con, ENTITIES[companion.entity])
            if self.reason is None and part.reason is not None:
                self.reason = f"{_part_label(companion)}: {part.reason}"

    def _prepare(self, con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
        mapping = self.delivery.mapping
        try:
            if self.delivery.refused is not None or self.delivery.parsed is None or not mapping:
                raise FileRefused(self.delivery.refused or "could not be read")
            good, bad, keys, (self.n_read, self.n_good, self.n_bad) = self.delivery.parsed
            key_label = f"'{mapping.columns.get(entity.key, (entity.key,))[0]}'"
            reason = damaged_key(con, keys, entity, key_label) if keys else None
            reason = reason or undecidable_versions(con, good, entity, key_label)
            self.select = canonical_select(
                entity, good, checks.every_key_delivered(con, good, entity)
            )
            self.notes = [self.retry] if self.retry else []
            if self.delivery.skipped[0]:
                self.notes.append(self.delivery.skipped[1])
            self.bad_parts = [bad]
            if reason is None and self.n_good and self.delivery.work is not None:
                held = Path(self.delivery.work.name) / "held.parquet"
                superseded, conflicts = versions.hold_back(con, entity, self.select, held)
                self.notes += versions.notes(superseded, conflicts)
                self.held = superseded
                if superseded:
                    self.select = versions.without_held(self.select, held)
                    self.n_good, self.n_bad = self.n_good - superseded, self.n_bad + superseded
                    self.bad_parts.append(held)
            numbered = mapping.templates.get(entity.key, "")
            numbered = numbered if "{n}" in numbered else None
            if reason is None and self.n_good and (mapping.aggregate or numbered):
                # Lines summed, or ids numbered, per file: a record cut in two by a split
                # export, or two given one id, lose a part.
                split = versions.split_order(con, entity, self.select, numbered)
                self.notes += [split] if split else []
            self.reason = reason
        except FileRefused as refused:
            self.reason = refused.reason


class _Group:
    """Consecutive small deliveries of one entity that passed their checks, waiting for one
    landed suite run over all of them (``GroupValidator``); each then lands on its own.

    A mutable entity's checks read what has landed (``versions.hold_back``): a file checked
    before an earlier one landed is checked again before it lands, and validated on its own
    unless neither check held any row back (its rows, as validated, are then the same).
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        settings: Settings,
        entity: Entity,
        run_id: str,
        validator: Validator | None,
    ) -> None:
        self.con, self.settings, self.entity, self.run_id = con, settings, entity, run_id
        self.validator = validator
        self.grouped: GroupValidator | None = getattr(validator, "group", None)
        self.files: list[_File] = []
        self.landings = 0
        self.current: _Read | None = None  # the delivery the loop is on

    @property
    def shas(self) -> set[str]:
        """The hashes of the waiting deliveries."""
        return {f.delivery.sha for f in self.files}

    def prepare(self, file: _File) -> _File:
        """Run ``file``'s checks before its suite, noting how many deliveries had landed."""
        file.landings = self.landings
        file.prepare(self.con, self.entity)
        return file

    def takes(self, file: _File) -> bool:
        """Add ``file`` when it can wait for the group's run (a small file, checked, with good
        rows, room left); a file refused before its suite or a large one is landed alone."""
        if self.grouped is None or file.reason is not None or not file.n_good or file.parts:
            return False  # a file with parts is validated alone: each part by its own suite
        if sum(f.n_good for f in self.files) + file.n_good > GROUP_ROWS:
            return False
        if len(self.files) >= GROUP_FILES:
            return False
        self.files.append(file)
        return True

    def take_all(self) -> list[_File]:
        """The waiting deliveries, in order; the group is empty afterwards."""
        files, self.files = self.files, []
        return files

    def finish(self, file: _File, validated: bool = False) -> FileReport:
        """Land or refuse ``file``; ``validated``: its group's run passed, no suite of its own."""
        if self.entity.mutable and file.landings != self.landings:
            held = file.held
            self.prepare(file)  # what landed since may hold rows of it back
            validated = validated and held == 0 and file.held == 0
        report = _finish(
            self.con, self.settings, self.entity, file, self.run_id,
            None if validated else self.validator,
        )  # fmt: skip
        self.landings += report.status == "landed"
        return report

    def close(self) -> None:
        """Remove the waiting deliveries' (and the current one's) work files."""
        for file in self.take_all():
            file.delivery.close()
        if self.current is not None:
            self.current.close()


def _flush(
    group: _Group,
    seen: dict[str, tuple[str, str]],
    done: Callable[[FileReport, str], None],
) -> None:
    """Validate the waiting deliveries in one run (a lone one on its own), land each in order."""
    files = group.take_all()
    try:
        validated = False
        if len(files) > 1 and group.grouped is not None:
            parts = [(DeliveredRows(group.con, f.select, f.n_good), f.rel) for f in files]
            validated = group.grouped(group.entity, parts)
        for file in files:
            report = group.finish(file, validated)
            seen[file.delivery.sha] = (file.rel, report.status)
            file.delivery.close()
            done(report, file.delivery.sha)
    finally:
        for file in files:
            file.delivery.close()


def _plain(report: FileReport) -> bool:
    """Whether ``report`` is of a file that landed whole with nothing to say."""
    return (
        report.status == "landed"
        and not report.reason
        and not report.parts
        and not report.rows_quarantined
        and (not report.encoding or report.encoding_decided == "utf8")
    )


def _part_label(companion: Mapping) -> str:
    """How a refusal names a companion's part of a file: ``its surveys rows (…)``."""
    return f"its {companion.entity} rows ({companion.name})"


def _landed_report(entity: Entity, file: _File) -> FileReport:
    """The report of ``file`` (a delivery or a part of one) as it lands: rows read are its
    rows landed, quarantined and skipped (``[skip_rows]``)."""
    mapping = file.delivery.mapping
    assert mapping is not None and file.notes is not None
    report = FileReport(
        file.rel,
        entity.name,
        mapping.name,
        "landed",
        file.n_read + file.delivery.skipped[0],
        file.n_good,
        file.n_bad,
        "; ".join(file.notes) or None,
    )
    report.combined = mapping.aggregate is not None
    report.encoding, report.encoding_decided = file.delivery.encoding
    return report


def _finish(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    entity: Entity,
    file: _File,
    run_id: str,
    validator: Validator | None,
) -> FileReport:
    """Run ``file``'s landed suite (unless ``validator`` is None), and each part's by its own
    entity's suite, then land them together or refuse the file."""
    delivery, rel, retry = file.delivery, file.rel, file.retry
    mapping = delivery.mapping
    try:
        reason = file.reason
        if reason is None and validator is not None and file.n_good:
            reason = validator(entity, DeliveredRows(con, file.select, file.n_good), rel)
        for part in file.parts or []:
            companion = part.delivery.mapping
            assert companion is not None
            if reason is None and validator is not None and part.n_good:
                found = validator(
                    ENTITIES[companion.entity], DeliveredRows(con, part.select, part.n_good), rel
                )
                reason = f"{_part_label(companion)}: {found}" if found else None
        if reason:
            raise FileRefused(reason)
        assert file.bad_parts is not None
        report = _landed_report(entity, file)
        parts = []
        for part in file.parts or []:
            companion = part.delivery.mapping
            assert companion is not None
            part_report = _landed_report(ENTITIES[companion.entity], part)
            part_report.encoding, part_report.encoding_decided = delivery.encoding
            parts.append((part, part_report))
        report.parts = [part_report for _, part_report in parts]
        _land(
            con, report, delivery.sha, file.seq, run_id, file.select, file.bad_parts, parts,
            settings,
        )  # fmt: skip
        return report
    except FileRefused as refused:
        name = mapping.name if mapping is not None else None
        reason = refused.reason + (f" ({retry})" if retry else "")
        report = FileReport(rel, entity.name, name, "refused", 0, 0, 0, reason)
        report.encoding, report.encoding_decided = delivery.encoding
        target = settings.quarantine_dir / entity.landing_path
        _refuse(con, report, delivery.sha, file.seq, run_id, file.path, target)
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
        raise unreadable(table, exc) from None
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
    parts: Sequence[tuple[_File, FileReport]],
    settings: Settings,
) -> None:
    """Append the good rows, quarantine the bad ones and record the delivery, atomically; with
    the delivery, its companions' ``parts``, each under its own ledger key and entity; each
    one's quarantined rows are written to its CSV file before the commit."""
    deliveries: list[tuple[FileReport, str, str, Sequence[Path]]] = [(report, sha, select, bad)]
    for part, part_report in parts:
        assert part.bad_parts is not None
        deliveries.append((part_report, part.delivery.sha, part.select, part.bad_parts))
    run(con, "begin transaction")
    try:
        for landed, key, rows_select, bad_rows in deliveries:
            _insert(con, landed, key, seq, run_id, rows_select, bad_rows)
            ledger.forget_refusal(con, key)
            ledger.record(con, landed, sha=key, delivery_seq=seq, run_id=run_id)
        # Before the commit: written only at the end of the entity's files, a CSV was never
        # written when the run stopped in between (Ctrl-C, a kill, a later file's error), as the
        # next run skips the delivery. A stop after this and before the commit lands the
        # delivery again, and its CSV is written again whole (the same path).
        for landed, key, _, _ in deliveries:
            if landed.rows_quarantined:
                write_rows_csv(con, settings, key, landed.source_file)
        run(con, "commit")
    except BaseException:
        run(con, "rollback")
        raise


def _insert(
    con: duckdb.DuckDBPyConnection,
    report: FileReport,
    sha: str,
    seq: int,
    run_id: str,
    select: str,
    bad: Sequence[Path | str],
) -> None:
    """Append a delivery's good rows to its raw table and its bad rows to the quarantine
    (inside the caller's transaction)."""
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


def _refuse(
    con: duckdb.DuckDBPyConnection,
    report: FileReport,
    sha: str,
    seq: int,
    run_id: str,
    path: Path,
    target_dir: Path,
) -> None:
    """Record a refused delivery, then move it to ``target_dir`` with its reason.

    Recorded first: a run stopped between the two (a kill, Ctrl-C) leaves the file in landing,
    refused again by the next run; moved first, it left the file in quarantine/ and no refusal
    on record, so no run listed it. A file that cannot be moved (a read-only landing folder)
    stays where it is and its recorded reason says so: the other files and runs carry on. It
    is tried again, and refused again, on every run until it is removed or can be moved.
    """
    _record_refusal(con, report, sha, seq, run_id)
    try:
        quarantine.move_aside(path, target_dir, report.reason or "", sha)
    except OSError as exc:
        report.reason = (
            f"{report.reason}; it could not be moved to {target_dir} "
            f"({exc.strerror or exc}): it stays in landing"
        )
        _record_refusal(con, report, sha, seq, run_id)


def _record_refusal(
    con: duckdb.DuckDBPyConnection, report: FileReport, sha: str, seq: int, run_id: str
) -> None:
    """Put ``report``'s refusal in the ledger in place of any earlier one of ``sha``."""
    run(con, "begin transaction")
    try:
        ledger.forget_refusal(con, sha)
        ledger.record(con, report, sha=sha, delivery_seq=seq, run_id=run_id)
        run(con, "commit")
    except BaseException:
        run(con, "rollback")
        raise
