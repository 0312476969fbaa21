"""Landed validation: a delivery's suite runs before its rows are inserted into ``raw``.

The ingestion core calls the validator with the file's good rows (typed canonical columns plus
``_row_number``, as :class:`~pipeline.ingest.core.DeliveredRows` still in DuckDB) after the
row-level contract has quarantined bad rows. The rows stream (Arrow) into a table of the
validation's own DuckDB database (``runner.landed_source``) and GX's SQL engine validates them
there; nothing is copied into Python objects but a few unexpected examples. A failed critical
expectation refuses the whole file with a reason naming the expectation, the column and a few
unexpected values with their row numbers; warnings are only recorded. Dates: rows dated after
the end of as_of land (a warning); only a file whose dates are mostly implausible is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl

from pipeline.config import Settings
from pipeline.entities import ENTITIES, Entity
from pipeline.ingest.core import DeliveredRows, Validator
from pipeline.sqltext import identifier
from pipeline.validation.docs import data_docs_dir
from pipeline.validation.log import ValidationLog
from pipeline.validation.outcome import SuiteOutcome
from pipeline.validation.runner import landed_source, run_suite_table
from pipeline.validation.suites import EXPECTATIONS_DIR, Suite, read_suite
from pipeline.warehouse import run, scalar

ResultsSink = Callable[[SuiteOutcome], None]
# The plausible dates of a delivery. A file is refused when most values of one of its date columns
# fall outside them: its dates were misread (epoch milliseconds read as seconds lands tens of
# thousands of years ahead, seconds read as milliseconds in January 1970, a wrong century decades
# off). A few rows outside them (a CRM clock ahead, a follow-up saved as an activity) land.
PLAUSIBLE_FROM = dt.datetime(1971, 1, 1)
PLAUSIBLE_AHEAD = dt.timedelta(days=365)
KEY_VERSIONS = "_key_versions"
# The type GX's SQL engine reports for each canonical type of pipeline/entities.py: the
# SQLAlchemy type duckdb_engine reflects for DuckDB's column, matched with isinstance
# ("Integer" also admits BIGINT; "NUMERIC" admits DECIMAL, not DOUBLE). The landed suites'
# type lists use these names (tests/test_validation_suites.py holds them to it).
TYPE_NAMES = {
    "text": "String",
    "timestamp": "TIMESTAMP",
    "date": "Date",
    "integer": "Integer",
    "decimal(18,4)": "NUMERIC",
}
DELIVERED_VIEW = "_delivered"  # the delivery's rows as they stream in
ARROW_BATCH_ROWS = 100_000


def plausible_until(settings: Settings, now: dt.datetime | None = None) -> dt.datetime:
    """The latest plausible date of a delivery: max(end of as_of, now) + 365 days (UTC).

    ``now`` counts so that rebuilding an older as_of does not call today's deliveries misread.
    """
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    return max(settings.as_of_end, now) + PLAUSIBLE_AHEAD


def landed_parameters(settings: Settings, now: dt.datetime | None = None) -> dict[str, dt.datetime]:
    """The run-time ``$PARAMETER`` values of the landed suites.

    ``plausible_from`` / ``plausible_until`` bound the dates of a file read correctly (critical,
    with ``mostly``: a file is refused only when most of a column is outside); ``as_of_end``
    bounds what has happened by as_of (a warning: later rows land, the marts ignore them).
    """
    return {
        "plausible_from": PLAUSIBLE_FROM,
        "plausible_until": plausible_until(settings, now),
        "as_of_end": settings.as_of_end,
    }


def landed_batch_sql(entity: Entity, select: str) -> str:
    """The distinct rows ``select`` returns (an exact repeat is harmless), with ``_key_versions``.

    ``_key_versions`` counts the distinct versions of the row's key in the file, so the suite
    can require ``updated_at`` wherever a key comes in several versions.
    """
    canonical = ", ".join(identifier(c) for c in entity.columns)
    return (
        f"select * exclude (_copy), count(*) over (partition by {identifier(entity.key)}) "
        f"as {KEY_VERSIONS} from (select *, row_number() over (partition by {canonical} "
        f"order by _row_number) as _copy from ({select})) where _copy = 1"
    )


def landed_suites(suites_dir: Path = EXPECTATIONS_DIR) -> dict[str, Suite]:
    """The landed suite of every entity, read (not yet built in GX) from ``suites_dir``."""
    suites = {}
    for name in ENTITIES:
        suite = read_suite(suites_dir / f"landed_{name}.json")
        if suite.stage != "landed" or suite.batch != "landed_file":
            raise ValueError(
                f"{suite.path}: a landed suite needs stage 'landed', batch 'landed_file'"
            )
        suites[name] = suite
    return suites


def make_landed_validator(
    settings: Settings,
    results_sink: ResultsSink | None = None,
    *,
    run_id: str | None = None,
    suites_dir: Path = EXPECTATIONS_DIR,
) -> Validator:
    """A validator for ``pipeline.ingest.core.ingest_entity``: runs the entity's landed suite.

    Returns None to accept the file, or the reason to refuse it. Every file's outcome goes to
    ``results_sink`` (e.g. a :class:`ValidationLog`, which the landed asset checks read).
    """
    suites = landed_suites(suites_dir)  # a malformed file fails here, before any delivery
    run_name = run_id or getattr(results_sink, "run_id", None) or "manual"
    parameters = landed_parameters(settings)
    docs_dir = data_docs_dir(settings)

    def validate(
        entity: Entity, delivered: pl.DataFrame | DeliveredRows, source_file: str
    ) -> str | None:
        source = landed_source()
        table = f"landed_{entity.name}"
        # Streamed as Arrow record batches: a large export never sits in Python whole.
        if isinstance(delivered, pl.DataFrame):
            rows_in = delivered.to_arrow()
        else:
            rows_in = delivered.con.sql(delivered.sql).to_arrow_reader(ARROW_BATCH_ROWS)
        source.con.register(DELIVERED_VIEW, rows_in)
        try:
            select = f"select * from {DELIVERED_VIEW}"
            # In file order, so that the unexpected examples are the file's first ones.
            batch_sql = f"{landed_batch_sql(entity, select)} order by _row_number"
            run(source.con, f"create or replace table {table} as {batch_sql}")
            distinct = scalar(source.con, f"select count(*) from {table}")
            outcome = run_suite_table(
                source,
                suites[entity.name],
                table,
                distinct,
                target=source_file,
                batch=f"{delivered.height} rows delivered in {source_file} ({distinct} distinct)",
                run_id=run_name,
                parameters=parameters,
                docs_dir=docs_dir,
            )
        finally:
            if hasattr(rows_in, "close"):  # a reader left unread would block the ingest connection
                rows_in.close()
            source.con.unregister(DELIVERED_VIEW)
            run(source.con, f"drop table if exists {table}")
        if results_sink is not None:
            results_sink(outcome)
        return outcome.reason()

    return validate


def landed_validator(settings: Settings, run_id: str) -> Validator:
    """The validator the ingest assets use: outcomes go to the run's :class:`ValidationLog`."""
    return make_landed_validator(settings, ValidationLog(settings.data_dir, run_id), run_id=run_id)
