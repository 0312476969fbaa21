"""Small expressions every mart of the oracle shares: months, windows, safe ratios."""

from __future__ import annotations

import datetime as dt

import polars as pl

from .settings import OracleSettings


def month_of(column: str) -> pl.Expr:
    """The calendar month (first day, as a date) of a UTC timestamp."""
    return pl.col(column).dt.date().dt.month_start()


def month_grid(first: dt.date | None, settings: OracleSettings) -> pl.DataFrame:
    """Every month from ``first`` to the as_of month, with ``is_complete`` (none without data)."""
    if first is None:
        months = pl.Series("month", [], dtype=pl.Date)
    else:
        months = pl.date_range(first, settings.as_of_month, "1mo", eager=True).alias("month")
    return pl.DataFrame(months).with_columns(
        (pl.col("month").dt.month_end() <= settings.as_of).alias("is_complete")
    )


def happened(column: str, settings: OracleSettings) -> pl.Expr:
    """The timestamp is set and on or before the end of as_of."""
    return pl.col(column).is_not_null() & (pl.col(column) < settings.as_of_end)


def within_days(column: str, days: int, settings: OracleSettings) -> pl.Expr:
    """The timestamp's UTC date is in (as_of - days, as_of]."""
    d = pl.col(column).dt.date()
    return (d > settings.days_back(days)) & (d <= settings.as_of)


def ratio(numerator: str | pl.Expr, denominator: str | pl.Expr) -> pl.Expr:
    """numerator / denominator as a float, NULL when the denominator is 0 or NULL."""
    num = pl.col(numerator) if isinstance(numerator, str) else numerator
    den = pl.col(denominator) if isinstance(denominator, str) else denominator
    return pl.when(den > 0).then(num.cast(pl.Float64) / den.cast(pl.Float64)).otherwise(None)


def hours_between(start: str, end: str) -> pl.Expr:
    """Exact hours from start to end (seconds / 3600)."""
    return (pl.col(end) - pl.col(start)).dt.total_microseconds() / 3_600_000_000


def ntile(n: int, position: pl.Expr, count: pl.Expr) -> pl.Expr:
    """SQL ``ntile(n)`` of a 0-based position among ``count`` rows (first buckets get extras)."""
    q = count // n
    r = count % n
    big = r * (q + 1)
    return (
        pl.when(position < big)
        .then(position // (q + 1) + 1)
        .otherwise(r + (position - big) // pl.when(q > 0).then(q).otherwise(1) + 1)
        .cast(pl.Int64)
    )
