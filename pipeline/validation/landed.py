"""Landed validation: a delivery's suite runs on its good rows before they are inserted into
``raw`` (docs/validation.md#landed-files). GX reads the rows where they are, through a temporary
view on a second connection of the same DuckDB database, so none of GX's statements runs on the
ingest connection. A failed critical expectation refuses the whole file with a reason naming the
expectation, the column and a few unexpected values with their row numbers; warnings are only
recorded. The validator's ``group`` validates several small deliveries in one run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable

import duckdb

from pipeline.config import Settings
from pipeline.entities import ENTITIES, Entity
from pipeline.ingest.core import DeliveredRows, Validator
from pipeline.sqltext import identifier
from pipeline.validation.docs import data_docs_dir
from pipeline.validation.gx_duckdb import declare_unique
from pipeline.validation.log import ValidationLog
from pipeline.validation.outcome import SuiteOutcome
from pipeline.validation.runner import _session, docs_mode, sql_source, validate_batch
from pipeline.validation.suites import EXPECTATIONS_DIR, read_suite
from pipeline.warehouse import rows, run, scalar
from pipeline.words import counted

ResultsSink = Callable[[SuiteOutcome], None]
# The plausible dates of a delivery: a file with most values of a date column outside was misread
# (epoch ms read as seconds, seconds as ms, a wrong century); a few rows outside land.
PLAUSIBLE_FROM = dt.datetime(1971, 1, 1)
PLAUSIBLE_AHEAD = dt.timedelta(days=365)
KEY_VERSIONS = "_key_versions"
LANDED = "landed_batch"  # every landed batch's name on its delivery's connection
# A grouped outcome names its group's files up to this many; a larger group by its first and last.
GROUP_NAMED = 3


def plausible_until(settings: Settings, now: dt.datetime | None = None) -> dt.datetime:
    """The latest plausible date of a delivery: max(end of as_of, now) + 365 days (UTC); ``now``
    counts so that rebuilding an older as_of does not call today's deliveries misread."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    return max(settings.as_of_end, now) + PLAUSIBLE_AHEAD


def load_landed_batch(
    con: duckdb.DuckDBPyConnection, entity: Entity, delivered: str, batch: str, key_versions: bool
) -> int:
    """Make ``batch`` the suite's batch of ``delivered`` (the file's rows, in file order): its
    distinct rows, with ``_key_versions`` (the versions of the row's key in the file) when
    ``key_versions``; returns how many rows it keeps. Keys whose hashes all differ are all
    distinct, and so are the rows: the batch is then a view, its key declared unique for GX's
    uniqueness metric (``gx_duckdb.declare_unique``), every key in one version. Else it is a
    temporary table, where only the rows of a repeated key are de-duplicated and counted."""
    source, name, key = identifier(delivered), identifier(batch), identifier(entity.key)
    # 0.2 s of CPU for 1.23M e-mail events (the key's grouping for GX was 0.35 s more)
    total, keys = rows(con, f"select count(*), count(distinct hash({key})) from {source}")[0]
    one = f", 1::bigint as {KEY_VERSIONS}" if key_versions else ""
    if keys == total:
        run(con, f"create or replace temp view {name} as select *{one} from {source}")
        declare_unique(con, batch, entity.key)
        return total
    cols = ", ".join(identifier(c) for c in entity.columns)
    versions = f", count(*) over (partition by {key}) as {KEY_VERSIONS}" if key_versions else ""
    repeated = f"exists (select 1 from repeated r where r.{key} is not distinct from d.{key})"
    # Rows of a key met once pass as they are (a grouped delivery: 100k contacts 0.25 -> 0.15 s)
    run(
        con,
        f"create or replace temp table {name} as "
        f"with repeated as (select {key} from {source} group by all having count(*) > 1) "
        f"select *{one} from {source} d where not {repeated} union all "
        f"select *{versions} from (select * from {source} d where {repeated} "
        f"qualify row_number() over (partition by {cols} order by _row_number) = 1) "
        "order by _row_number",
    )
    return scalar(con, f"select count(*) from {name}")


def delivered_types(con: duckdb.DuckDBPyConnection, entity: Entity, table: str) -> None:
    """Raise :class:`TypeError` unless ``table`` has every canonical column of ``entity`` with
    its canonical type: the ingestion core casts every column, so a difference is the
    pipeline's bug (it stops the step). One ``DESCRIBE`` instead of 68 GX type expectations."""
    casts = ", ".join(f"cast(null as {t}) as {identifier(c)}" for c, t in entity.columns.items())
    want = dict(rows(con, f"select column_name, column_type from (describe select {casts})"))
    got = dict(rows(con, f"select column_name, column_type from (describe {identifier(table)})"))
    wrong = [f"{c} {got.get(c, 'missing')} (not {t})" for c, t in want.items() if got.get(c) != t]
    if wrong:
        raise TypeError(f"delivered {entity.name} rows are not typed as raw: {', '.join(wrong)}")


def make_landed_validator(
    settings: Settings, results_sink: ResultsSink | None = None, *, run_id: str | None = None
) -> Validator:
    """A validator for ``pipeline.ingest.core.ingest_entity``: runs the entity's landed suite
    and returns None to accept the file, or the reason to refuse it. Every file's outcome goes
    to ``results_sink`` (e.g. a :class:`ValidationLog`, which the landed asset checks read)."""
    suites = {}  # read here: a malformed file fails before any delivery
    for name in ENTITIES:
        suites[name] = suite = read_suite(EXPECTATIONS_DIR / f"landed_{name}.json")
        if suite.stage != "landed" or suite.batch != "landed_file":
            raise ValueError(
                f"{suite.path}: a landed suite needs stage 'landed', batch 'landed_file'"
            )
    run_name = run_id or getattr(results_sink, "run_id", None) or "manual"
    # plausible_*: a file read correctly (critical, with mostly); as_of_end: a warning
    parameters = {
        "plausible_from": PLAUSIBLE_FROM,
        "plausible_until": plausible_until(settings),
        "as_of_end": settings.as_of_end,
    }
    docs_dir = data_docs_dir(settings)

    def run_suite(entity: Entity, parts: list[tuple[DeliveredRows, str]]) -> SuiteOutcome:
        """The entity's landed suite over the rows of one delivery, or of a group of them, where
        they are: a view or table ``landed_batch`` on a new connection of the delivery's
        database, the one GX table asset of the run's data source."""
        suite, files, alone = suites[entity.name], [rel for _, rel in parts], len(parts) == 1
        sql = " union all ".join(f"select * from ({rows_.sql})" for rows_, _ in parts)
        height = sum(rows_.height for rows_, _ in parts)
        delivered = f"{counted(height, 'row')} delivered in " + (
            files[0] if alone else f"{len(files)} files"
        )
        _session()  # on first use GX's import and context: not counted
        started = time.perf_counter()  # make bench's "landed suites"
        # The new connection sees what the ingest committed and attached, not its temporary
        # tables (GX's column reflection once aborted the ingest's transaction on its own
        # connection). A data source made once per process instead saved 21-25 ms of CPU a
        # GX run (one-off): about 0.2 s of a 100k build's 11 runs, none on a delivery.
        with sql_source(parts[0][0].con) as source:
            con = source.con
            run(con, f"create temp view landed_delivered as {sql}")
            delivered_types(con, entity, "landed_delivered")
            key_versions = KEY_VERSIONS in suite.referenced_columns()
            distinct = load_landed_batch(con, entity, "landed_delivered", LANDED, key_versions)
            # A group's pass has no examples; a failure is validated again file by file.
            return validate_batch(
                source.batch_definition(LANDED).get_batch(), suite,
                list(suite.index_columns) if alone else [], distinct, target=", ".join(files),
                batch=f"{delivered} ({distinct} distinct)", run_id=run_name,
                parameters=parameters, docs_dir=docs_dir if alone else None, started=started,
                result_format="BASIC",
            )  # fmt: skip

    def validate(entity: Entity, delivered: DeliveredRows, source_file: str) -> str | None:
        outcome = run_suite(entity, [(delivered, source_file)])
        if results_sink is not None:
            results_sink(outcome)
        return outcome.reason()

    def validate_group(entity: Entity, parts: list[tuple[DeliveredRows, str]]) -> bool:
        """One suite run over several small deliveries (``pipeline.ingest.core._Group``): True,
        with the outcome logged for each file, when they pass outright; False to validate
        each on its own."""
        if docs_mode() == "all":  # each file keeps a Data Docs page of its own
            return False
        files = [rel for _, rel in parts]
        outcome = run_suite(entity, parts)
        if not passed_outright(outcome):
            return False
        # The group by its first and last file: every file's outcome names its group, and the
        # whole list in each made the run's log grow as the square of the files (500 small
        # files: 11 MB, read again by the landed check).
        named = ", ".join(files) if len(files) <= GROUP_NAMED else f"{files[0]} … {files[-1]}"
        group = f"validated in one run of {len(files)} deliveries ({named})"
        share = round(outcome.seconds / len(files), 3)  # make bench sums the files' seconds
        for rows_, rel in parts if results_sink is not None else ():  # the check joins by file
            batch = (
                f"{counted(rows_.height, 'row')} delivered in {rel}; {group}: the counts are the "
                "group's"
            )
            results_sink(dataclasses.replace(outcome, target=rel, batch=batch, seconds=share))
        return True

    validate.group = validate_group  # type: ignore[attr-defined]
    return validate


def landed_validator(settings: Settings, run_id: str) -> Validator:
    """The validator the ingest assets use: outcomes go to the run's :class:`ValidationLog`."""
    return make_landed_validator(settings, ValidationLog(settings.data_dir, run_id), run_id=run_id)


def passed_outright(outcome: SuiteOutcome) -> bool:
    """Whether a group's run passed with no row unexpected, which each file's own run would then
    pass too: a file's distinct rows are some of the group's, so a row met in the group is met
    in its file, a key unique in the group is unique in its file, ``_key_versions`` is at least
    as high in the group (its condition selects more rows), and at most one currency in the
    group is at most one in each file. ``mostly`` lets some rows of the group be unexpected,
    maybe all of one file's: hence none at all. A warning, too, is a file's own. Met without
    row counts: a bound on distinct values (GX counts none), or a row condition no row met."""
    return outcome.status == "passed" and all(
        e.error is None
        and (
            e.unexpected_count == 0
            or e.unexpected_count is None
            and (
                e.expectation == "expect_column_unique_value_count_to_be_between"
                or not (e.element_count or e.observed)
            )
        )
        for e in outcome.expectations
    )
