"""``meta.pipeline_settings``: the one-row table of a run's parameters that the SQL models read.

Models read ``as_of``, ``as_of_end``, ``churn_days``, ``sla_hours`` (and the e-mail hash pads)
from it rather than from templating, so every model is plain SQL that runs unchanged in the
DuckDB CLI. The asset ``pipeline_settings``, the tests' fixtures and the benchmark's yardstick
all write it here, so its columns are declared once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass

import duckdb

from pipeline.sqltext import literal
from pipeline.warehouse import run

TABLE = "meta.pipeline_settings"
COLUMNS: dict[str, str] = {
    "as_of": "date",
    "as_of_end": "timestamp",  # exclusive end of as_of, UTC (naive)
    "churn_days": "integer",
    "sla_hours": "double",
    "timezone": "text",
    "email_hash_inner": "blob",  # HMAC pads of PIPELINE_EMAIL_HASH_KEY; NULL: plain SHA-256
    "email_hash_outer": "blob",
}


@dataclass(frozen=True)
class RunSettings:
    """The values of the table's one row (``as_of_end`` follows from ``as_of``)."""

    as_of: dt.date
    churn_days: int
    sla_hours: float
    timezone: str = "UTC"
    email_hash_inner: bytes | None = None
    email_hash_outer: bytes | None = None

    @property
    def as_of_end(self) -> dt.datetime:
        """Exclusive end of ``as_of`` (00:00 the next day)."""
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time())

    def values(self) -> list[object]:
        """The row in the order of ``COLUMNS``."""
        as_of, churn, sla, tz, inner, outer = astuple(self)
        return [as_of, self.as_of_end, churn, sla, tz, inner, outer]


def _statement(values: list[str]) -> str:
    selects = ", ".join(
        f"cast({v} as {t}) as {c}" for v, (c, t) in zip(values, COLUMNS.items(), strict=True)
    )
    return f"create or replace table {TABLE} as select {selects}"


def write_settings_table(con: duckdb.DuckDBPyConnection, settings: RunSettings) -> None:
    """Replace ``meta.pipeline_settings`` with the one row of ``settings``."""
    run(con, _statement(["?"] * len(COLUMNS)), settings.values())


def settings_table_sql(settings: RunSettings) -> str:
    """The statement :func:`write_settings_table` runs, with the values written in (for a SQL
    script such as the benchmark's yardstick)."""

    def text(value: object) -> str:
        if value is None:
            return "null"
        if isinstance(value, bytes):
            return f"from_hex({literal(value.hex())})"
        return literal(str(value))

    return _statement([text(v) for v in settings.values()])
