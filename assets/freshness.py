"""Freshness of the marts: a warning when no new data has landed for a while.

The marts are rebuilt every night whether or not anything arrived, so the time they were last
built says nothing about their data. This check reads the ingest ledger instead: the newest
delivery that landed rows, of any entity. Older than ``PIPELINE_FRESHNESS_DAYS`` (default 3)
days → the ``fresh_data`` check of every mart warns (WARN: it shows, it blocks nothing). The
metadata lists each entity's last landing, so the silent source is easy to spot. The checks are
evaluated in the marts' check step, with their expectation suites (``assets/checks.py``).
"""

import datetime as dt
from collections.abc import Callable

import dagster as dg
import duckdb

from pipeline.config import setting
from pipeline.ingest.ledger import utc_now
from pipeline.warehouse import rows, table_exists
from pipeline.words import counted

FRESHNESS_DAYS_ENV = "PIPELINE_FRESHNESS_DAYS"
CHECK_NAME = "fresh_data"


def freshness_days() -> int:
    """``PIPELINE_FRESHNESS_DAYS``: days without new data before the marts warn (default 3)."""
    return setting(FRESHNESS_DAYS_ENV)


def last_landings(con: duckdb.DuckDBPyConnection) -> dict[str, dt.datetime]:
    """Each entity's newest delivery that landed rows (UTC, naive)."""
    if not table_exists(con, "meta", "ingest_ledger"):
        return {}
    return dict(
        rows(
            con,
            "select entity, max(landed_at) from meta.ingest_ledger "
            "where status = 'landed' and rows_landed > 0 group by entity order by entity",
        )
    )


def freshness(
    landings: dict[str, dt.datetime], now: dt.datetime, days: int
) -> tuple[bool, str, dict]:
    """Whether new data landed within ``days`` of ``now``: (passed, description, metadata)."""
    table = ["| entity | last new data (UTC) | days ago |", "|---|---|---:|"]
    for entity, at in sorted(landings.items()):
        table.append(f"| {entity} | {at:%Y-%m-%d %H:%M} | {(now - at).days} |")
    metadata = {
        "max_days": days,
        "last_landings": dg.MetadataValue.md("\n".join(table) if landings else "nothing landed"),
    }
    if not landings:
        return False, "no data has landed yet", metadata
    newest = max(landings.values())
    age = now - newest
    metadata["days_since_new_data"] = age.days
    if age > dt.timedelta(days=days):
        return (
            False,
            f"no new data for {age.days} days (since {newest:%Y-%m-%d %H:%M} UTC; limit "
            f"{days}, {FRESHNESS_DAYS_ENV}): are the exports still being delivered to landing/?",
            metadata,
        )
    return True, f"new data {counted(age.days, 'day')} ago (limit {days})", metadata


def freshness_check(mart: str) -> tuple[dg.AssetCheckSpec, Callable[..., dg.AssetCheckResult]]:
    """The ``fresh_data`` check of ``mart``: its spec and how it runs on an open connection.

    Evaluated in the marts' check step (``assets/checks.py``): a step of its own cost more
    than the check (Dagster's start of a step, a warehouse connection).
    """
    spec = dg.AssetCheckSpec(
        CHECK_NAME,
        asset=mart,
        blocking=False,
        description=(
            f"Warns when no new data has landed for {FRESHNESS_DAYS_ENV} days "
            "(default 3), from meta.ingest_ledger."
        ),
    )

    def run(context, con: duckdb.DuckDBPyConnection, settings, index: str) -> dg.AssetCheckResult:
        passed, description, metadata = freshness(last_landings(con), utc_now(), freshness_days())
        if not passed:
            context.log.warning(f"{mart}: {description}")
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.WARN,
            description=description,
            metadata=metadata,
        )

    return spec, run
