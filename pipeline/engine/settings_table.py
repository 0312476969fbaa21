"""``meta.pipeline_settings``: the one-row table of a run's parameters that the SQL models read,
and ``meta.brand_handles``, the brand's own accounts (one row per platform and handle).

Models read ``as_of``, ``as_of_end``, ``churn_days``, ``sla_hours`` (and the e-mail hash pads)
from it rather than from templating, so every model is plain SQL that runs unchanged in the
DuckDB CLI. The asset ``pipeline_settings``, the tests' fixtures and the benchmark's yardstick
all write it here, so its columns are declared once. The brand's handles are a table of their
own, not a column: only the models of the brand's posts read them, so a change of
``PIPELINE_BRAND_HANDLES`` rebuilds those and what reads them, not every model that reads the
settings (docs/architecture.md, "Builds a run cannot change are skipped").
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
BRAND_TABLE = "meta.brand_handles"
# platform, and the handle as stg_social_mentions.author_handle holds it (pipeline/handles.py)
BRAND_COLUMNS: dict[str, str] = {"platform": "text", "handle": "text"}


@dataclass(frozen=True)
class RunSettings:
    """The values of the table's one row (``as_of_end`` follows from ``as_of``)."""

    as_of: dt.date
    churn_days: int
    sla_hours: float
    timezone: str = "UTC"
    email_hash_inner: bytes | None = None
    email_hash_outer: bytes | None = None
    # (platform, normalised handle) of each of the brand's own accounts: meta.brand_handles
    brand_handles: tuple[tuple[str, str], ...] = ()

    @property
    def as_of_end(self) -> dt.datetime:
        """Exclusive end of ``as_of`` (00:00 the next day)."""
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time())

    def values(self) -> list[object]:
        """The row in the order of ``COLUMNS``."""
        as_of, churn, sla, tz, inner, outer, _ = astuple(self)
        return [as_of, self.as_of_end, churn, sla, tz, inner, outer]


def _statement(values: list[str]) -> str:
    selects = ", ".join(
        f"cast({v} as {t}) as {c}" for v, (c, t) in zip(values, COLUMNS.items(), strict=True)
    )
    return f"create or replace table {TABLE} as select {selects}"


def _brand_statements(handles: tuple[tuple[str, str], ...]) -> list[str]:
    """Replace ``meta.brand_handles`` with ``handles`` (none: the table stands empty, so the
    models read it the same with the setting unset)."""
    columns = ", ".join(f"{c} {t}" for c, t in BRAND_COLUMNS.items())
    statements = [f"create or replace table {BRAND_TABLE} ({columns})"]
    if handles:
        rows = ", ".join(f"({literal(p)}, {literal(h)})" for p, h in handles)
        statements.append(f"insert into {BRAND_TABLE} values {rows}")
    return statements


def write_settings_table(con: duckdb.DuckDBPyConnection, settings: RunSettings) -> None:
    """Replace ``meta.pipeline_settings`` with the one row of ``settings``, and
    ``meta.brand_handles`` with its brand handles."""
    run(con, _statement(["?"] * len(COLUMNS)), settings.values())
    for statement in _brand_statements(settings.brand_handles):
        run(con, statement)


def settings_table_sql(settings: RunSettings) -> str:
    """The statements :func:`write_settings_table` runs, with the values written in (for a SQL
    script such as the benchmark's yardstick), separated by ``;``."""

    def text(value: object) -> str:
        if value is None:
            return "null"
        if isinstance(value, bytes):
            return f"from_hex({literal(value.hex())})"
        return literal(str(value))

    statements = [_statement([text(v) for v in settings.values()])]
    return ";\n".join(statements + _brand_statements(settings.brand_handles))
