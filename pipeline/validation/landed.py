"""Landed validation: a delivery's suite runs before its rows are inserted into ``raw``.

The ingestion core calls the validator with the file's good rows (typed canonical columns plus
``_row_number``, as :class:`~pipeline.ingest.core.DeliveredRows` still in DuckDB) after the
row-level contract has quarantined bad rows. A failed critical
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
from pipeline.validation.parts import SqlRows, validate_in_parts
from pipeline.validation.runner import run_suite
from pipeline.validation.suites import EXPECTATIONS_DIR, Suite, read_suite

ResultsSink = Callable[[SuiteOutcome], None]
# The plausible dates of a delivery. A file is refused when most values of one of its date columns
# fall outside them: its dates were misread (epoch milliseconds read as seconds lands tens of
# thousands of years ahead, seconds read as milliseconds in January 1970, a wrong century decades
# off). A few rows outside them (a CRM clock ahead, a follow-up saved as an activity) land.
PLAUSIBLE_FROM = dt.datetime(1971, 1, 1)
PLAUSIBLE_AHEAD = dt.timedelta(days=365)
KEY_VERSIONS = "_key_versions"


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


def landed_batch(entity: Entity, frame: pl.DataFrame) -> pl.DataFrame:
    """The file's distinct rows (an exact repeat is harmless) with ``_key_versions``.

    ``_key_versions`` counts the distinct versions of the row's key in the file, so the suite
    can require ``updated_at`` wherever a key comes in several versions.
    """
    canonical = [c for c in entity.columns if c in frame.columns]
    distinct = frame.unique(subset=canonical, keep="first", maintain_order=True)
    if entity.key not in distinct.columns:
        return distinct
    return distinct.with_columns(pl.len().over(entity.key).cast(pl.Int64).alias(KEY_VERSIONS))


def landed_batch_sql(entity: Entity, select: str) -> str:
    """:func:`landed_batch` in SQL, over the rows ``select`` returns (for DuckDB)."""
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
        if isinstance(delivered, pl.DataFrame):
            batch: pl.DataFrame | SqlRows = landed_batch(entity, delivered)
        else:  # kept in DuckDB and fetched a part at a time: a large export stays out of Python
            batch = SqlRows(
                delivered.con,
                landed_batch_sql(entity, delivered.sql),
                f"landed_{entity.name}",
                entity.key,
            )
        try:
            outcome = validate_in_parts(
                run_suite,
                suites[entity.name],
                batch,
                entity.key,
                target=source_file,
                batch=(
                    f"{delivered.height} rows delivered in {source_file} ({batch.height} distinct)"
                ),
                run_id=run_name,
                parameters=parameters,
                docs_dir=docs_dir,
            )
        finally:
            if isinstance(batch, SqlRows):
                batch.close()
        if results_sink is not None:
            results_sink(outcome)
        return outcome.reason()

    return validate


def landed_validator(settings: Settings, run_id: str) -> Validator:
    """The validator the ingest assets use: outcomes go to the run's :class:`ValidationLog`."""
    return make_landed_validator(settings, ValidationLog(settings.data_dir, run_id), run_id=run_id)
