"""The serving file BI tools read: every mart, in one file swapped in atomically.

BI tools never open the warehouse (DuckDB allows one writer or many readers, never both). They
read ``serving/marts.duckdb``, written in a storage version DuckDB 1.x clients can open, plus one
Parquet file per mart in ``serving/parquet/``. Everything is written under temporary names first
(:func:`stage_publication`) and made visible only when all of it succeeded
(:func:`commit_publication`): the Parquet set is a versioned folder under ``parquet_versions/``
that the ``parquet`` link points to, swapped with one rename, and the serving file is renamed over
the old one. A failed build leaves the previous files in place, and a reader holding the old file
open keeps a consistent snapshot. What goes into the copies (types, comments, the publication
table, formula-safe text) is in :mod:`assets.publication`.

A publication after a small delivery starts from a copy of the previous serving file and
rewrites only the marts whose rows changed (``keep`` names the others, :func:`kept_marts`): the
kept marts are neither scanned for personal data nor copied from the warehouse again, and their
Parquet files are re-stamped copies of the previous ones (each file names its publication). The
new file is still staged whole under a temporary name and swapped in the same way.
"""

import datetime as dt
import decimal
import os
import re
import shutil
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import psutil

from assets.publication import (
    PUBLICATION_COLUMNS,
    PUBLICATION_DESCRIPTION,
    PUBLICATION_TABLE,
    check_serving_types,
    comment_statements,
    mart_columns,
    model_docs,
    parquet_metadata,
    publication_info,
    serving_select,
    write_publication_table,
)
from pipeline import pii
from pipeline.engine import discover_models, skip, upstream
from pipeline.engine.leftovers import LeftTable, left_tables, left_tables_text, said_once
from pipeline.sqltext import identifier, literal, sql_path
from pipeline.validation.state import suite_readers
from pipeline.warehouse import Warehouse, rows, run, scalar, table_exists
from pipeline.words import agreeing, counted

# DuckDB 1.x clients (what BI drivers bundle) cannot read 2.0's default storage format; v1.0.0
# is the oldest format 2.0 writes and every 1.x client reads.
SERVING_STORAGE_VERSION = "v1.0.0"
SERVING_FILE = "marts.duckdb"
SETTINGS_TABLE = ("meta", "pipeline_settings")  # as_of, published with every publication
BRAND_TABLE = ("meta", "brand_handles")  # published with it too, when the setting names any
# What shapes a publication besides the marts' rows: this code and the marts' descriptions.
SERVING_CODE = [
    Path(__file__),
    Path(__file__).with_name("publication.py"),
    Path(__file__).resolve().parent.parent / "sql" / "marts",
    Path(__file__).resolve().parent.parent / "pipeline" / "predict",
    Path(__file__).resolve().parent.parent / "pipeline" / "pii.py",  # the personal-data scan
]
# The publication a serving record describes (the id the ``parquet`` link points to): a mart is
# kept from the previous file only when that file is the one the record was written after.
PUBLISHED_INPUT = "serving.published"
PARQUET_DIR = "parquet"  # a link to the current folder under PARQUET_VERSIONS
PARQUET_VERSIONS = "parquet_versions"

# Personal data the contract forbids in the serving marts (spec/contracts.md): raw e-mail, names,
# phone numbers, social handles. Marts carry customer_id and email_sha256 instead.
FORBIDDEN_COLUMNS = pii.PERSONAL_COLUMNS
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
# The scan's patterns as one alternation (pipeline.pii.any_of): a value matches it exactly when
# it matches one of them.
PERSONAL_DATA_PATTERN = pii.any_of([EMAIL_PATTERN, *(pattern for pattern, _ in pii.MASKS)])


class PersonalDataError(ValueError):
    """A mart would publish personal data; the message names the mart, the column and why."""


def assert_no_personal_data(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    mart: str,
    scanned: str | None = None,
    columns: list[tuple[str, str]] | None = None,
) -> None:
    """Raise PersonalDataError if ``schema.mart`` has a personal column, an e-mail or a phone.

    ``scanned``: a table whose rows passed this scan already (the mart as last published); only
    the mart's rows with other text values are scanned then. ``columns``: the mart's (name,
    type) pairs when the caller has read them already.
    """
    if columns is None:
        columns = rows(
            con,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, mart],
        )
    for column, _ in columns:
        if pii.personal_column(column):
            raise PersonalDataError(
                f"mart {mart!r} has column {column!r}: personal data is never published to "
                "serving (publish customer_id / email_sha256 instead)"
            )
    text_columns = [c for c, t in columns if t.upper() in ("VARCHAR", "TEXT")]
    if not text_columns:
        return
    # One scan per mart: count e-mail-like values per text column, and malformed hashes.
    # E-mail-like values, and pipeline.pii's patterns (spelled-out and internationalised
    # addresses, phone numbers: what the staging models mask, should any slip past).
    personal, sha = literal(PERSONAL_DATA_PATTERN), literal(SHA256_PATTERN)
    checks = [f"count_if(regexp_matches({identifier(c)}, {personal}))" for c in text_columns] + [
        f"count_if({identifier(c)} is not null and not regexp_matches({identifier(c)}, {sha}))"
        for c in text_columns
        if c.lower() == "email_sha256"
    ]
    source = f"{identifier(schema)}.{identifier(mart)}"
    counts = None
    if scanned is not None:
        # The regular expressions cost far more than a set difference: after a small delivery
        # only the rows it changed are new (about 0.3 s CPU less on the 100k marts).
        text = ", ".join(identifier(c) for c in text_columns)
        new_rows = f"(select {text} from {source} except select {text} from {scanned})"
        try:
            counts = rows(con, f"select {', '.join(checks)} from {new_rows}")[0]
        except duckdb.Error:
            counts = None  # the published copy has other columns: scan everything
    if counts is None:
        counts = rows(con, f"select {', '.join(checks)} from {source}")[0]
    for column, n in zip(text_columns, counts, strict=False):
        if n:
            raise PersonalDataError(
                f"mart {mart!r} column {column!r} holds {n:,} e-mail "
                f"{agreeing(n, 'address or phone number', 'addresses or phone numbers')}: "
                "personal data is never published to serving"
            )
    if len(counts) > len(text_columns) and counts[-1]:
        raise PersonalDataError(
            f"mart {mart!r} column 'email_sha256' has {counted(counts[-1], 'value')} that "
            f"{agreeing(counts[-1], 'is', 'are')} not a lower-case hex sha256: a raw value may "
            "have leaked"
        )


def _fsync(path: Path) -> None:
    # Make the new file's bytes (or a folder's entries) durable before a rename publishes them.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _writer_pid(name: str) -> int | None:
    """The pid of the process that wrote a temporary name (``….<pid>.tmp…``), if any."""
    found = re.search(r"(?<![0-9])([0-9]+)\.tmp", name)
    return int(found.group(1)) if found else None


def remove_orphans(serving_dir: Path) -> list[Path]:
    """Delete temporary files, folders and links left by a publish whose process is gone."""
    found = [
        *serving_dir.glob(".marts.*.tmp.duckdb*"),
        *serving_dir.glob(".parquet.*.tmp"),
        *(serving_dir / PARQUET_VERSIONS).glob(".*.tmp"),
    ]
    if not (serving_dir / PARQUET_DIR).is_symlink():  # a release before versioned folders
        found += (serving_dir / PARQUET_DIR).glob(".*.tmp.parquet")
    removed = []
    for path in found:
        pid = _writer_pid(path.name)
        if pid is None or psutil.pid_exists(pid):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@dataclass
class Staged:
    """A publication written in full under temporary names, not yet visible to any reader."""

    serving_dir: Path
    publication_id: str
    serving_tmp: Path  # the new marts.duckdb
    parquet_tmp: Path  # the new Parquet folder
    counts: dict[str, int]
    figures: dict[str, object]
    published_at: str
    kept: list[str] = field(default_factory=list)  # marts copied from the previous publication

    @property
    def version_dir(self) -> Path:
        return self.serving_dir / PARQUET_VERSIONS / self.publication_id


@dataclass
class Published:
    """What a publish did: counts, where, and anything a person should know about."""

    publication_id: str
    counts: dict[str, int]
    figures: dict[str, object]
    published_at: str
    parquet_version: Path
    previous_holder: str | None = None  # who held the old serving file open read-write
    warnings: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # marts copied from the previous publication


def lock_holder(path: Path) -> str | None:
    """Which process holds ``path`` (a DuckDB file) open read-write, or None if nobody does.

    A BI tool that opens the serving file without read-only takes DuckDB's exclusive lock; our
    read-only open then fails with "Could not set lock", naming the holder's program and pid.
    """
    if not path.exists():
        return None
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as err:
        text = str(err)
        if "lock" not in text.lower():
            return None
        held = re.search(r"held in (.+?) \(PID ([0-9]+)\)", text)
        return f"PID {held.group(2)} ({held.group(1)})" if held else "another process"
    return None


def previous_publication(serving_dir: Path) -> tuple[str, Path] | None:
    """The id and Parquet folder of the publication ``serving/parquet`` points to, if a serving
    file and a versioned Parquet folder are in place (the folder is named by the id)."""
    link = serving_dir / PARQUET_DIR
    if not link.is_symlink() or not (serving_dir / SERVING_FILE).is_file():
        return None
    folder = (serving_dir / os.readlink(link)).resolve()
    return (folder.name, folder) if folder.is_dir() else None


def _copy_previous(
    con: duckdb.DuckDBPyConnection, serving_dir: Path, tmp: Path, keep: list[str]
) -> Path | None:
    """Copy the serving file in place to ``tmp`` and attach the copy read-only as ``previous``
    when it is the publication the link names and holds every mart of ``keep`` (each with its
    Parquet file); returns that publication's Parquet folder, or None with nothing copied."""
    previous = previous_publication(serving_dir)
    if previous is None or not all((previous[1] / f"{m}.parquet").is_file() for m in keep):
        return None
    shutil.copyfile(serving_dir / SERVING_FILE, tmp)
    try:
        run(con, f"attach {sql_path(tmp)} as previous (read_only)")
    except duckdb.Error:
        # Not a DuckDB file we can open (a copy taken while a client wrote to it, which
        # docs/bi.md advises against): publish everything.
        tmp.unlink(missing_ok=True)
        return None
    try:
        ids = rows(con, f"select distinct publication_id from previous.main.{PUBLICATION_TABLE}")
        tables = {
            t
            for (t,) in rows(
                con,
                "select table_name from duckdb_tables() where database_name = 'previous' "
                "and schema_name = 'main'",
            )
        }
    except duckdb.Error:
        ids, tables = [], set()  # not a serving file this code wrote: publish everything
    if ids != [(previous[0],)] or not set(keep) <= tables:
        # A file put there by hand, or a swap that failed half-way: nothing in it is trusted.
        run(con, "detach previous")
        tmp.unlink(missing_ok=True)
        return None
    return previous[1]


def stage_publication(
    con: duckdb.DuckDBPyConnection,
    serving_dir: Path,
    marts: list[str],
    keep: Collection[str] | None = None,
) -> Staged:
    """Write the new serving file and Parquet folder under temporary names (step 1 of 4).

    ``keep``: None, or the marts whose rows are as in the publication in place, which this
    code wrote (:func:`kept_marts`). When that publication's files are all there, the new file
    starts as a copy of it and only the other marts are written again, their personal-data
    scan limited to rows it does not hold; the kept marts' Parquet files are copied from the
    previous folder with this publication's metadata. The result is the same as a publication
    of every mart. Raises (PersonalDataError, ServingTypeError, DuckDB errors) with nothing
    left behind and nothing published changed.
    """
    serving_dir.mkdir(parents=True, exist_ok=True)
    (serving_dir / PARQUET_VERSIONS).mkdir(exist_ok=True)
    remove_orphans(serving_dir)
    if PUBLICATION_TABLE in marts:
        raise ValueError(f"{PUBLICATION_TABLE!r} is the publication table; no mart may be named so")
    now = dt.datetime.now(dt.UTC)
    publication_id = f"{now:%Y%m%dT%H%M%S}{now.microsecond:06d}Z.{os.getpid()}"
    tmp = serving_dir / f".marts.{os.getpid()}.tmp.duckdb"
    parquet_tmp = serving_dir / PARQUET_VERSIONS / f".{publication_id}.tmp"
    counts: dict[str, int] = {}
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)
    try:
        kept = [m for m in marts if m in keep] if keep is not None else []
        previous_parquet = _copy_previous(con, serving_dir, tmp, kept) if keep is not None else None
        if previous_parquet is None:
            kept = []
        rebuilt = [m for m in marts if m not in kept]
        docs = model_docs()
        info = publication_info(con, publication_id)
        try:
            columns = mart_columns(con, "marts", marts)
            for mart in rebuilt:
                was = f"previous.main.{identifier(mart)}" if previous_parquet else None
                pairs = [(c.name, c.warehouse_type) for c in columns[mart]]
                assert_no_personal_data(con, "marts", mart, was, pairs)
                check_serving_types(con, mart, columns[mart])
        finally:
            if previous_parquet is not None:
                run(con, "detach previous")
        descriptions = {m: docs[m].description if m in docs else "" for m in marts}
        run(con, f"attach {sql_path(tmp)} as serving (storage_version '{SERVING_STORAGE_VERSION}')")
        try:
            # One transaction for every table, comment and row: a commit per statement would
            # cost more than the copies themselves.
            run(con, "begin transaction")
            try:
                for (table,) in rows(
                    con,
                    "select table_name from duckdb_tables() where database_name = 'serving' "
                    "and schema_name = 'main'",
                ):
                    if table not in kept:  # what changed, the publication table, stale marts
                        run(con, f"drop table serving.main.{identifier(table)}")
                for mart in rebuilt:
                    table = f"serving.main.{identifier(mart)}"
                    select = serving_select(mart, columns[mart], spreadsheet_safe=False)
                    run(con, f"create table {table} as {select}")
                    column_docs = docs[mart].columns if mart in docs else {}
                    names = [c.name for c in columns[mart]]
                    for sql in comment_statements(
                        "serving", mart, descriptions[mart], column_docs, names
                    ):
                        run(con, sql)
                for mart in marts:
                    table = f"serving.main.{identifier(mart)}"
                    counts[mart] = int(scalar(con, f"select count(*) from {table}"))
                write_publication_table(con, "serving", info, counts, descriptions)
                run(con, "commit")
            except BaseException:
                run(con, "rollback")
                raise
            # The figures a BI tool will see, read before the swap: reading the published file
            # afterwards could meet a BI client's lock and fail a run that has published.
            figures = headline_figures(con, "serving.main")
            run(con, "checkpoint serving")
        finally:
            run(con, "detach serving")
        if tmp.with_name(tmp.name + ".wal").exists():
            raise RuntimeError(f"{tmp}: DuckDB left a WAL after detach; not publishing")
        parquet_tmp.mkdir()
        for mart in marts:
            column_docs = docs[mart].columns if mart in docs else {}
            names = [c.name for c in columns[mart]]
            kv = parquet_metadata(info, mart, descriptions[mart], column_docs, names)
            if mart in kept and previous_parquet is not None:
                # The same rows, already formula-safe: only the metadata is new.
                select = (
                    f"select * from read_parquet({sql_path(previous_parquet / f'{mart}.parquet')})"
                )
            else:
                select = serving_select(mart, columns[mart], spreadsheet_safe=True)
            part = parquet_tmp / f"{mart}.parquet"
            run(con, f"copy ({select}) to {sql_path(part)} (format parquet, kv_metadata {kv})")
        kv = parquet_metadata(
            info,
            PUBLICATION_TABLE,
            PUBLICATION_DESCRIPTION,
            PUBLICATION_COLUMNS,
            list(PUBLICATION_COLUMNS),
        )
        _copy_publication(con, tmp, parquet_tmp / f"{PUBLICATION_TABLE}.parquet", kv)
        for path in [tmp, *parquet_tmp.iterdir(), parquet_tmp]:
            _fsync(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(parquet_tmp, ignore_errors=True)
        raise
    return Staged(
        serving_dir,
        publication_id,
        tmp,
        parquet_tmp,
        counts,
        figures,
        info.published_at_text,
        kept,
    )


def _copy_publication(
    con: duckdb.DuckDBPyConnection, serving_file: Path, target: Path, kv: str
) -> None:
    """Copy the staged file's publication table to Parquet."""
    run(con, f"attach {sql_path(serving_file)} as staged (read_only)")
    try:
        run(
            con,
            f"copy (select * from staged.main.{PUBLICATION_TABLE} order by mart) to "
            f"{sql_path(target)} (format parquet, kv_metadata {kv})",
        )
    finally:
        run(con, "detach staged")


def promote_version(staged: Staged) -> Path:
    """Give the staged Parquet folder its final name (step 2; readers still see the old set)."""
    os.rename(staged.parquet_tmp, staged.version_dir)
    _fsync(staged.version_dir.parent)
    return staged.version_dir


def swap_parquet_link(serving_dir: Path, version_dir: Path) -> Path | None:
    """Point ``serving/parquet`` at ``version_dir`` in one rename (step 3); returns the folder
    it pointed to before (None on the first publication).

    The link is relative, so a copy of the serving folder (rsync -a) still resolves it.
    """
    link = serving_dir / PARQUET_DIR
    previous: Path | None = None
    if link.is_symlink():
        previous = (serving_dir / os.readlink(link)).resolve()
    elif link.is_dir():
        # A serving folder from a release before versioned Parquet: keep it as the previous
        # version. Only this one upgrade has a moment without serving/parquet.
        previous = serving_dir / PARQUET_VERSIONS / f"legacy.{version_dir.name}"
        os.rename(link, previous)
    tmp_link = serving_dir / f".parquet.{os.getpid()}.tmp"
    tmp_link.unlink(missing_ok=True)
    os.symlink(os.path.relpath(version_dir, serving_dir), tmp_link)
    os.replace(tmp_link, link)
    _fsync(serving_dir)
    return previous


def swap_serving_file(staged: Staged) -> None:
    """Rename the new serving file over ``marts.duckdb`` (step 4)."""
    target = staged.serving_dir / SERVING_FILE
    # A WAL next to the target would be replayed against the new file; serving is read-only.
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    os.replace(staged.serving_tmp, target)
    _fsync(staged.serving_dir)


def remove_old_versions(serving_dir: Path, keep: set[Path]) -> list[str]:
    """Delete Parquet versions other than ``keep`` (cleanup after a publish); returns warnings
    instead of raising: the publication has happened and must not be reported as failed."""
    warnings = []
    kept = {p.resolve() for p in keep}
    for path in sorted((serving_dir / PARQUET_VERSIONS).iterdir()):
        if path.name.startswith(".") or path.resolve() in kept:
            continue  # a staging folder (maybe another run's) or a version to keep
        try:
            shutil.rmtree(path)
        except OSError as err:
            warnings.append(
                f"published, but could not remove the old Parquet version {path}: {err}"
            )
    return warnings


def commit_publication(staged: Staged) -> Published:
    """Make a staged publication visible: Parquet set in one link swap, then the serving file."""
    target = staged.serving_dir / SERVING_FILE
    holder = lock_holder(target)
    version = promote_version(staged)
    previous = swap_parquet_link(staged.serving_dir, version)
    try:
        swap_serving_file(staged)
    except OSError as err:
        held = f" (held open read-write by {holder})" if holder else ""
        raise OSError(
            f"publication {staged.publication_id}: the Parquet set is published "
            f"({version}), but {target}{held} could not be replaced: {err}. BI tools reading "
            "marts.duckdb still see the previous run; the next run publishes both again."
        ) from err
    # Keep the previous version: a reader that resolved the link just before the swap may
    # still be opening its files. Older ones go.
    keep = {version} | ({previous} if previous is not None else set())
    warnings = remove_old_versions(staged.serving_dir, keep)
    if holder:
        warnings.insert(
            0,
            f"published {target}; the previous file was held open read-write by {holder}: "
            "that client keeps reading the previous data until it reconnects, and should open "
            "the file read-only (docs/bi.md)",
        )
    return Published(
        staged.publication_id,
        staged.counts,
        staged.figures,
        staged.published_at,
        version,
        holder,
        warnings,
        staged.kept,
    )


def publish_marts(
    con: duckdb.DuckDBPyConnection,
    serving_dir: Path,
    marts: list[str],
    keep: Collection[str] | None = None,
) -> Published:
    """Copy ``marts`` into a new serving file and Parquet folder, then swap them in; the marts
    of ``keep`` come from the publication in place (:func:`stage_publication`).

    On any error before the swap nothing published changes; cleanup problems after it are
    returned as warnings, never raised.
    """
    return commit_publication(stage_publication(con, serving_dir, marts, keep))


def kept_marts(
    recorded: tuple[str, dict[str, object]] | None,
    version: str,
    now: dict[str, dict[str, object]],
    marts: list[str],
) -> set[str] | None:
    """The marts whose rows are as in the publication in place, or None when that publication
    is not known: the serving record (``recorded``, :meth:`skip.Fingerprints.recorded`) must be
    of this code ``version`` and of that very publication (``PUBLISHED_INPUT``); a mart is kept
    when its fingerprint is the same in the record and ``now``."""
    if recorded is None or recorded[0] != version:
        return None
    before = recorded[1].get("inputs", {})
    if not isinstance(before, dict):
        return None
    if not skip.same_rows(before.get(PUBLISHED_INPUT, {}), now[PUBLISHED_INPUT]):
        return None
    return {
        m
        for m in marts
        if f"marts.{m}" in before and skip.same_rows(before[f"marts.{m}"], now[f"marts.{m}"])
    }


def publish(con: duckdb.DuckDBPyConnection, serving_dir: Path, marts: list[str]) -> dict[str, int]:
    """:func:`publish_marts`, returning the published row count of each mart."""
    return publish_marts(con, serving_dir, marts).counts


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


def _left_metadata(left: list[LeftTable]) -> dict[str, object]:
    """The tables of removed models, for the asset page (none: no entry)."""
    if not left:
        return {}
    return {"tables_left": dg.MetadataValue.json([f"{t.schema}.{t.name}" for t in left])}


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
        target = settings.serving_dir / SERVING_FILE
        with warehouse.connect() as con:
            # Before anything is published: the marts as of this run's date, all of them
            # (a run of a few assets with another as_of leaves them mixed; engine/upstream.py).
            problem = upstream.serving_problem(con, settings.as_of, discover_models())
            if problem:
                con.close()  # dagster-duckdb's connection is not closed on an error
                raise dg.Failure(description=problem, allow_retries=False)
            # Tables of removed models: never published (only ``marts`` are), dropped by
            # nobody but the operator, listed in the metadata. Said once a run, by its first
            # layer step (assets/models.py, which also forgets their records); here only when
            # no step of this run said them (a run of serving_marts alone).
            left = left_tables(con, [m.name for m in discover_models()], suite_readers)
            if left and said_once(con, context.run.run_id):
                context.log.warning("\n".join(left_tables_text(left)))
            # Every mart and the settings as last published, the files in place: the new
            # publication would hold the same rows (pipeline.engine.skip), so none is written.
            prints = skip.Fingerprints(con)
            published = [("marts", m) for m in marts] + [SETTINGS_TABLE]
            if table_exists(con, *BRAND_TABLE):  # a warehouse of before the setting has none
                published.append(BRAND_TABLE)
            seen = skip.inputs(con, published, prints)
            previous = previous_publication(settings.serving_dir)
            seen[PUBLISHED_INPUT] = {"columns": [], "content": previous[0] if previous else None}
            version = skip.code_version(SERVING_CODE, SERVING_STORAGE_VERSION, marts)
            why = None
            if target.exists() and (settings.serving_dir / PARQUET_DIR).exists():
                why = skip.why_unchanged(con, "serving_marts", version, seen, [], prints)
            if why:
                skip.note_skipped(con, context.run.run_id, "serving_marts", why)
                # The marts as published (they equal the warehouse's, or it would not skip):
                # the UI's row count is the latest materialisation's.
                rows_served = sum(scalar(con, f"select count(*) from marts.{m}") for m in marts)
            else:
                keep = kept_marts(prints.recorded("serving_marts"), version, seen, marts)
                done = publish_marts(con, settings.serving_dir, marts, keep)
                published = {"columns": [], "content": done.publication_id}
                skip.record(con, "serving_marts", version, {**seen, PUBLISHED_INPUT: published})
        if why:
            # No "serving_marts: " before it: the run log names the step already.
            context.log.info(f"{why}; {target} left as published")
            return dg.MaterializeResult(
                metadata={
                    "path": dg.MetadataValue.path(str(target)),
                    "dagster/row_count": rows_served,
                    "skipped": why,
                    **_left_metadata(left),
                }
            )
        kept = f"; {len(done.kept)} unchanged kept from the previous" if done.kept else ""
        context.log.info(
            f"published {len(done.counts)} marts to {target} and {done.parquet_version} "
            f"(publication {done.publication_id}{kept})"
        )
        for warning in done.warnings:
            context.log.warning(warning)
        counts = done.counts
        metadata: dict[str, object] = {
            "path": dg.MetadataValue.path(str(target)),
            "parquet_dir": dg.MetadataValue.path(str(settings.serving_dir / PARQUET_DIR)),
            "parquet_version": dg.MetadataValue.path(str(done.parquet_version)),
            "publication_id": done.publication_id,
            "storage_version": SERVING_STORAGE_VERSION,
            "published_at": done.published_at,
            "file_bytes": target.stat().st_size,
            "dagster/row_count": sum(counts.values()),
            "row_counts": dg.MetadataValue.md(_counts_markdown(counts)),
            "marts": dg.MetadataValue.json(counts),
            # Marts whose rows had not changed: copied from the previous publication.
            "marts_kept": dg.MetadataValue.json(done.kept),
        }
        if done.previous_holder:
            metadata["previous_file_held_by"] = done.previous_holder
        if done.warnings:
            metadata["warnings"] = dg.MetadataValue.md("\n".join(f"- {w}" for w in done.warnings))
        figures = done.figures
        metadata.update(figures)
        metadata.update(_left_metadata(left))
        return dg.MaterializeResult(metadata=metadata)

    return serving_marts
