"""Shared pieces of the sample-data generator: the time window, per-chunk records, helpers.

Everything here is vectorised over numpy arrays or polars series: times are epoch seconds
(float, NaN = missing) until ``typed`` turns them into the canonical typed frame.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.entities import Entity
from pipeline.sample_data import lexicon as lex

DAY = 86_400.0
HOUR = 3_600.0
MONTH = 30.4375 * DAY
SEASON = np.array([0.85, 0.8, 0.9, 0.95, 1.0, 0.95, 0.9, 0.9, 1.0, 1.1, 1.6, 1.8])  # Jan..Dec
ORDER_HOURS = np.array(  # UTC hour of day of orders: evening peak
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4.5, 5, 5.5, 5, 5, 5, 5.5, 6, 7, 8, 8, 7, 5, 2.5]
)


@dataclass(frozen=True)
class Window:
    """The history window and the moment the exports were taken."""

    start: float  # first instant of the history (epoch seconds, UTC)
    as_of_end: float  # exclusive end of as_of
    horizon: float  # when the exports were taken: the last second of as_of


@dataclass(frozen=True)
class Tables:
    """Lookup tables shared by all chunks."""

    first: pl.DataFrame
    last: pl.DataFrame
    mention_texts: pl.DataFrame
    comments: pl.DataFrame
    campaign_time: np.ndarray  # sorted send times
    campaigns: pl.DataFrame  # campaign_id, campaign_name, url (same order as campaign_time)


@dataclass
class People:
    """One chunk of customers: latent traits (numpy) and written attributes (polars)."""

    n: int
    s: np.ndarray  # latent satisfaction
    locale: np.ndarray  # index into lex.LOCALES
    is_contact: np.ndarray
    has_dup: np.ndarray  # a second contact shares the e-mail
    created: np.ndarray  # contact creation (non-contacts: first order)
    buyer: np.ndarray
    a1: np.ndarray  # start/end of the first active period
    c1: np.ndarray
    a2: np.ndarray  # start/end of the period after reactivation (NaN: none)
    c2: np.ndarray
    rate: np.ndarray  # orders per second while active
    log_value: np.ndarray  # mean log order value
    attrs: pl.DataFrame  # contact_id, dup_contact_id, email (normalised), names, handles, …


@dataclass(frozen=True)
class Versions:
    """An entity's rows of one chunk: as finally true, in the main file, in the delta file."""

    final: pl.DataFrame
    base: pl.DataFrame
    delta: pl.DataFrame


def epoch(day: dt.date) -> float:
    """Epoch seconds of a date's midnight (UTC)."""
    return (dt.datetime.combine(day, dt.time()) - dt.datetime(1970, 1, 1)).total_seconds()


def history_window(as_of: dt.date, months: int) -> Window:
    """The ``months`` of history ending at ``as_of``, and the export time.

    Exports are taken at the last second of as_of (timestamps are written to the second), so
    nothing generated is dated after as_of: a recent as_of gives data the pipeline lands whole.
    """
    y, m = divmod(as_of.year * 12 + as_of.month - 1 - months, 12)
    day = min(as_of.day, calendar.monthrange(y, m + 1)[1])
    start = dt.date(y, m + 1, day) + dt.timedelta(days=1)
    end = epoch(as_of + dt.timedelta(days=1))
    return Window(start=epoch(start), as_of_end=end, horizon=end - 1.0)


def month_of_year(t: np.ndarray) -> np.ndarray:
    """0-based calendar month of epoch seconds."""
    return t.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12


def seasonal_times(rng: np.random.Generator, n: int, w: Window, growth: float) -> np.ndarray:
    """Instants in [start, horizon) weighted by season and a linear growth over the window."""
    months = np.arange(
        np.datetime64(int(w.start), "s").astype("datetime64[M]"),
        np.datetime64(int(w.horizon), "s").astype("datetime64[M]") + 1,
    )
    bounds = months.astype("datetime64[s]").astype(np.int64).astype(float)
    lo = np.maximum(bounds, w.start)
    hi = np.minimum(np.append(bounds[1:], np.inf), w.horizon)
    length = np.maximum(hi - lo, 0)
    pos = np.linspace(0, 1, len(months))
    weight = length * SEASON[months.astype(np.int64) % 12] * (1 + growth * pos)
    pick = rng.choice(len(months), size=n, p=weight / weight.sum())
    return lo[pick] + rng.random(n) * length[pick]


def hour_of_day(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Move each instant to a realistic time of its day (evening peak)."""
    hour = rng.choice(24, size=len(t), p=ORDER_HOURS / ORDER_HOURS.sum())
    return np.floor(t / DAY) * DAY + hour * HOUR + np.floor(rng.random(len(t)) * HOUR)


def choice(rng: np.random.Generator, p: tuple[float, ...], n: int) -> np.ndarray:
    """``n`` indices drawn with weights ``p``."""
    return rng.choice(len(p), size=n, p=np.asarray(p) / sum(p))


def pick_in_group(
    rng: np.random.Generator, group: np.ndarray, table: pl.Series, n_groups: int
) -> np.ndarray:
    """Row indices into a table sorted by group: one random row of each element's group."""
    offset, count = lex.group_offsets(table, n_groups)
    return offset[group] + (rng.random(len(group)) * count[group]).astype(np.int64)


def ts(seconds: np.ndarray) -> pl.Series:
    """Epoch seconds (NaN = missing) as a UTC ``Datetime('us')`` series."""
    clean = np.where(np.isfinite(seconds), np.floor(seconds), np.nan)
    return pl.from_epoch(pl.Series(clean).fill_nan(None).cast(pl.Int64), time_unit="s")


def money(cents: np.ndarray) -> pl.Series:
    """Whole cents as canonical decimal amounts."""
    return pl.Series(np.round(cents / 100.0, 2)).cast(pl.Decimal(18, 4))


def ids(prefix: str, stream: int, m: int) -> pl.Series:
    """``m`` record ids unique across chunks: prefix, 5-digit id stream, 8-digit sequence."""
    seq = pl.int_range(1, m + 1, eager=True).cast(pl.String).str.zfill(8)
    return f"{prefix}{stream:05d}" + seq


def strs(options: tuple[str | None, ...], index: np.ndarray) -> pl.Series:
    """The option named by each index, as a string series."""
    return pl.Series(options, dtype=pl.String).gather(index)


def null_where(series: pl.Series, mask: np.ndarray) -> pl.Series:
    """The series with nulls where ``mask`` is true."""
    return pl.select(pl.when(pl.Series(mask)).then(None).otherwise(series)).to_series()


def typed(entity: Entity, columns: dict[str, pl.Series | np.ndarray]) -> pl.DataFrame:
    """A canonical typed frame (column order of the entity) from series and numpy arrays."""
    out = {}
    for col, typ in entity.columns.items():
        value = columns.get(col)
        if value is None:
            value = pl.Series([None] * _height(columns), dtype=pl.String)
        if isinstance(value, np.ndarray) and typ == "timestamp":
            value = ts(value)
        elif isinstance(value, np.ndarray) and typ == "integer":
            value = pl.Series(value.astype(float)).fill_nan(None).cast(pl.Int32)
        elif isinstance(value, np.ndarray):
            value = pl.Series(value)
        out[col] = value.alias(col).cast(_polars_type(typ))
    return pl.DataFrame(out)


def _height(columns: dict[str, pl.Series | np.ndarray]) -> int:
    return len(next(iter(columns.values())))


def _polars_type(typ: str) -> pl.DataType:
    if typ.startswith("decimal"):
        precision, scale = typ.removeprefix("decimal(").removesuffix(")").split(",")
        return pl.Decimal(int(precision), int(scale))
    return {
        "text": pl.String(),
        "timestamp": pl.Datetime("us"),
        "date": pl.Date(),
        "integer": pl.Int32(),
        "bigint": pl.Int64(),
    }[typ]


def email_variant(email: pl.Expr, kind: pl.Expr) -> pl.Expr:
    """The same address as a person types it: capitalised, upper case or padded with spaces."""
    capital = email.str.slice(0, 1).str.to_uppercase() + email.str.slice(1)
    return (
        pl.when(kind == 0)
        .then(capital)
        .when(kind == 1)
        .then(email.str.to_uppercase())
        .when(kind == 2)
        .then("  " + email + " ")
        .otherwise(" " + capital)
    )


def handle_variant(handle: pl.Expr, at: pl.Expr, capital: pl.Expr) -> pl.Expr:
    """A handle as written: sometimes with a leading ``@``, sometimes capitalised."""
    shown = pl.when(capital).then(handle.str.slice(0, 1).str.to_uppercase() + handle.str.slice(1))
    return pl.when(at).then("@" + shown.otherwise(handle)).otherwise(shown.otherwise(handle))


def who(
    rng: np.random.Generator, p: People, c: np.ndarray, email_only: float, id_only: float
) -> tuple[pl.Series, pl.Series]:
    """contact_id and email of rows belonging to customers ``c``, as a CRM records them."""
    m = len(c)
    a = p.attrs
    frame = pl.DataFrame(
        {
            "cid": a["contact_id"].gather(c),
            "dup": a["dup_contact_id"].gather(c),
            "email": a["email"].gather(c),
            "is_contact": p.is_contact[c],
            "u": rng.random(m),
            "use_dup": rng.random(m) < 0.35,
            "vary": rng.random(m) < 0.15,
            "kind": rng.integers(0, 4, m),
        }
    )
    has_email = pl.col("email").is_not_null()
    only_email = ~pl.col("is_contact") | (has_email & (pl.col("u") < email_only))
    only_id = ~has_email | ((pl.col("u") >= email_only) & (pl.col("u") < email_only + id_only))
    cid = pl.when(pl.col("use_dup") & pl.col("dup").is_not_null()).then("dup").otherwise("cid")
    shown = pl.when("vary").then(email_variant(pl.col("email"), pl.col("kind")))
    out = frame.select(
        pl.when(only_email).then(None).otherwise(cid).alias("contact_id"),
        pl.when(only_id & ~only_email)
        .then(None)
        .otherwise(shown.otherwise("email"))
        .alias("email"),
    )
    return out["contact_id"], out["email"]


def names(
    rng: np.random.Generator, locale: np.ndarray, t: Tables
) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """(first, last, ascii first, ascii last) names drawn per locale, gender-agreeing."""
    n_loc = len(lex.LOCALES)
    fi = pick_in_group(rng, locale, t.first["locale"], n_loc)
    li = pick_in_group(rng, locale, t.last["locale"], n_loc)
    female = t.first["female"].gather(fi)
    frame = pl.DataFrame(
        {
            "female": female,
            "nm": t.last["native_m"].gather(li),
            "nf": t.last["native_f"].gather(li),
            "am": t.last["ascii_m"].gather(li),
            "af": t.last["ascii_f"].gather(li),
        }
    ).select(
        pl.when("female").then("nf").otherwise("nm").alias("last"),
        pl.when("female").then("af").otherwise("am").alias("last_ascii"),
    )
    return (
        t.first["native"].gather(fi),
        frame["last"],
        t.first["ascii"].gather(fi),
        frame["last_ascii"],
    )
