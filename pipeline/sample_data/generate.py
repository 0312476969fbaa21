"""Seeded generator of realistic sample exports for the six canonical entities.

The world: every customer has a latent satisfaction ``s ~ N(0, 1)`` that drives how long they keep
buying, how often they need help, what they answer in surveys, the tone of their social posts and
how much of the marketing e-mail they read. Purchases come in one or two active periods: a buyer
orders at a lognormal rate (with Nov/Dec peaks) until churning, and about a third of churners come
back after more than 90 days. Order values are lognormal per order around a lognormal per-customer
level, so spend is heavy-tailed. E-mail opens fade in the months before a customer churns;
``email_events_per_month`` is the mean number of e-mail events per subscriber per subscribed month.
The parts: ``generate_people`` (customers, contacts), ``generate_crm`` (orders, tickets, surveys),
``generate_engagement`` (e-mail events, social mentions), ``generate_lexicon`` (names and texts),
``generate_base`` (time window and vectorised helpers).

What lands, all canonical CSV (UTF-8) under ``<out>/landing/``::

    crm/contacts/contacts_0001.csv …      one delivery per chunk of CHUNK_SIZE customers
    crm/contacts/contacts_delta_0001.csv  a later delivery: newer versions of some rows (orders
                                          pending -> completed, tickets open -> solved, contacts
                                          with a new phone) plus exact repeats of a few rows;
                                          "delta" sorts after every main file of the folder
    crm/{orders,tickets,surveys}/…, email/events/events_*.csv, social/mentions/mentions_*.csv
    <each folder>/vendor_sample.*         a separate small set of extra customers, written only by
                                          ``pipeline.sample_data.vendor.write_vendor_samples``

Timestamps are mostly ISO 8601 with ``Z``; about 4 % carry a ``+02:00`` offset and 4 % are naive
``YYYY-MM-DD HH:MM:SS`` in UTC wall time (so read them with ``PIPELINE_TIMEZONE=UTC``, the default).
Exports are taken at the last second of ``as_of``: nothing is dated after it (so any as_of up to
today runs end to end). The generator writes no deliberately bad rows; rows after as_of, as a
real export may hold, are tested on their own (``tests/test_future_rows.py``).

Chunk k draws from ``numpy.random.default_rng([seed, k + 1])`` and the chunk size is fixed, so a
seed always gives the same bytes, and memory stays bounded whatever the number of customers.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.entities import ENTITIES, Entity
from pipeline.sample_data import crm as crm
from pipeline.sample_data import engagement as engagement
from pipeline.sample_data import lexicon as lex
from pipeline.sample_data import people as gen_people
from pipeline.sample_data.base import Tables, Versions, Window, choice, history_window
from pipeline.sample_data.vendor import write_vendor_samples

CHUNK_SIZE = 20_000  # fixed, not a parameter: the chunking is part of what a seed means
VENDOR_SHARE, VENDOR_MIN, VENDOR_MAX = 0.05, 20, 2_000  # size of the vendor sample
VENDOR_STREAM = 0  # id stream of the vendor sample; canonical chunk k uses stream k + 1
TS_Z, TS_OFFSET, TS_NAIVE = 0, 1, 2  # timestamp styles of canonical files
TS_STYLE_P = (0.92, 0.04, 0.04)
_NUMBER = "[0-9]" * 4  # glob of a delivery number
FILE_PREFIX = {
    "contacts": "contacts",
    "orders": "orders",
    "tickets": "tickets",
    "surveys": "surveys",
    "email_events": "events",
    "social_mentions": "mentions",
}


def generate(
    out: Path,
    customers: int,
    seed: int,
    as_of: dt.date,
    months: int = 24,
    email_events_per_month: float = 4.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write seeded sample exports of all six entities under ``out/landing``.

    Returns rows written per entity (main, delta and vendor-sample files together).
    """
    if customers < 1:
        raise ValueError(f"customers={customers}: generate at least one customer")
    if seed < 0:
        raise ValueError(f"seed={seed}: the seed must be a non-negative integer")
    if months < 1:
        raise ValueError(f"months={months}: the history must be at least one month")
    if email_events_per_month < 0:
        raise ValueError(f"email_events_per_month={email_events_per_month} must not be negative")
    say = progress or (lambda _msg: None)
    landing = Path(out) / "landing"
    _prepare_folders(landing)
    window = history_window(as_of, months)
    tables = _tables(window)
    written = dict.fromkeys(ENTITIES, 0)
    n_chunks = math.ceil(customers / CHUNK_SIZE)
    started = time.monotonic()
    for k in range(n_chunks):
        first = k * CHUNK_SIZE
        n = min(CHUNK_SIZE, customers - first)
        rng = np.random.default_rng([seed, k + 1])
        versions = _chunk(rng, k + 1, first, n, window, tables, email_events_per_month)
        for name, v in versions.items():
            written[name] += _write_delivery(landing, name, k + 1, v, rng)
        say(
            f"chunk {k + 1}/{n_chunks}: customers {first + 1:,}-{first + n:,} written "
            f"({sum(written.values()):,} rows, {time.monotonic() - started:.0f} s)"
        )
    n_vendor = min(VENDOR_MAX, max(VENDOR_MIN, math.ceil(VENDOR_SHARE * customers)))
    rng = np.random.default_rng([seed, VENDOR_STREAM])
    versions = _chunk(
        rng, VENDOR_STREAM, customers, n_vendor, window, tables, email_events_per_month
    )
    vendor = write_vendor_samples(landing, {name: v.final for name, v in versions.items()})
    for name, rows in vendor.items():
        written[name] += rows
    say(f"vendor sample: {n_vendor:,} extra customers, {sum(vendor.values()):,} rows")
    return written


def _prepare_folders(landing: Path) -> None:
    """Create the landing folders and remove this generator's files from an earlier run."""
    for name, entity in ENTITIES.items():
        folder = landing / entity.landing_path
        folder.mkdir(parents=True, exist_ok=True)
        # Only our own numbered deliveries: a larger earlier run must not leave extra chunks.
        prefix = FILE_PREFIX[name]
        for pattern in (f"{prefix}_{_NUMBER}.csv", f"{prefix}_delta_{_NUMBER}.csv"):
            for old in folder.glob(pattern):
                old.unlink()


def _tables(w: Window) -> Tables:
    """Lookup tables of names, texts and campaigns, shared by all chunks."""
    first, last = lex.name_tables()
    times, campaigns = engagement.campaign_calendar(w)
    return Tables(
        first=first,
        last=last,
        mention_texts=lex.text_table(lex.MENTION_TEXTS),
        comments=lex.text_table(lex.SURVEY_COMMENTS),
        campaign_time=times,
        campaigns=campaigns,
    )


def _chunk(
    rng: np.random.Generator,
    stream: int,
    g0: int,
    n: int,
    w: Window,
    t: Tables,
    email_events_per_month: float,
) -> dict[str, Versions]:
    """All six entities for customers g0 .. g0 + n - 1."""
    people = gen_people.draw_people(rng, g0, n, w, t)
    orders, order_c, order_t = crm.orders(rng, stream, people, w)
    tickets, ticket_info = crm.tickets(rng, stream, people, w, order_c, order_t)
    return {
        "contacts": gen_people.contacts(rng, people, w),
        "orders": orders,
        "tickets": tickets,
        "surveys": crm.surveys(rng, stream, people, w, t, ticket_info),
        "email_events": engagement.email_events(rng, stream, people, w, t, email_events_per_month),
        "social_mentions": engagement.mentions(rng, stream, people, w, t),
    }


def _timestamp_text(col: pl.Expr, style: pl.Expr) -> pl.Expr:
    """ISO 8601 with ``Z``, with a ``+02:00`` offset, or naive with a space, by row style."""
    local = pl.when(style == TS_OFFSET).then(col + pl.duration(hours=2)).otherwise(col)
    return pl.concat_str(
        local.dt.strftime("%Y-%m-%d"),
        pl.when(style == TS_NAIVE).then(pl.lit(" ")).otherwise(pl.lit("T")),
        local.dt.strftime("%H:%M:%S"),
        pl.when(style == TS_Z)
        .then(pl.lit("Z"))
        .when(style == TS_OFFSET)
        .then(pl.lit("+02:00"))
        .otherwise(pl.lit("")),
    )


def _canonical_text(frame: pl.DataFrame, entity: Entity, rng: np.random.Generator) -> pl.DataFrame:
    """Render a typed frame as the canonical CSV writes it (mixed timestamp styles per row)."""
    style = pl.Series("_style", choice(rng, TS_STYLE_P, frame.height))
    exprs = []
    for col, typ in entity.columns.items():
        c = pl.col(col)
        if typ == "timestamp":
            c = _timestamp_text(c, pl.col("_style"))
        elif typ.startswith("decimal"):
            c = c.cast(pl.Decimal(18, 2)).cast(pl.String)
        elif typ == "date":
            c = c.dt.strftime("%Y-%m-%d")
        exprs.append(c.alias(col))
    return frame.with_columns(style).select(exprs)


def _write_delivery(
    landing: Path, name: str, number: int, v: Versions, rng: np.random.Generator
) -> int:
    """Write a chunk's main file and, when it has rows, its delta file; return rows written."""
    entity = ENTITIES[name]
    folder = landing / entity.landing_path
    prefix = FILE_PREFIX[name]
    _canonical_text(v.base, entity, rng).write_csv(folder / f"{prefix}_{number:04d}.csv")
    rows = v.base.height
    if v.delta.height:
        delta = _canonical_text(v.delta, entity, rng)
        delta.write_csv(folder / f"{prefix}_delta_{number:04d}.csv")
        rows += v.delta.height
    return rows
