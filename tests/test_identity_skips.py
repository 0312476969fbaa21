"""The real identity models (sql/intermediate) after small deliveries, built as the layer assets
build them (pipeline/engine/skip.py): what each reads of a rebuilt parent decides whether it
is left as it was (pipeline/engine/reads.py), and every model then equals a full rebuild of the
same raw rows. Raw rows are written by hand (a few per entity), so the expected skips follow
from the SQL:

- ``int_surveys`` / ``int_tickets`` read only their own record type of ``int_record_links``;
- ``int_customers`` reads only the qualifying orders outside the CRM of ``int_orders``.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import duckdb

from pipeline.engine import BuildMode, discover_models, skip
from pipeline.engine.settings_table import RunSettings, write_settings_table
from pipeline.entities import ENTITIES
from pipeline.ingest.core import ensure_tables
from pipeline.sentiment.scoring import build_mention_sentiment
from pipeline.warehouse import prepare, rows, run, scalar

AS_OF = dt.date(2026, 10, 31)

# Two contacts; an order of contact c1 and one outside the CRM (e-mail z@x.com, no contact);
# a ticket of c1 and a survey of c2. All delivered in delivery 1.
FIRST = {
    "raw_contacts": (
        "contact_id, email, created_at, updated_at, _delivery_seq",
        "('c1', 'a@x.com', timestamp '2026-01-01', timestamp '2026-01-01', 1), "
        "('c2', 'b@x.com', timestamp '2026-02-01', timestamp '2026-02-01', 1)",
    ),
    "raw_orders": (
        "order_id, contact_id, email, ordered_at, status, currency, gross_amount, "
        "updated_at, _delivery_seq",
        "('o1', 'c1', 'a@x.com', timestamp '2026-03-01', 'completed', 'EUR', 10, "
        "timestamp '2026-03-01', 1), "
        "('o2', null, 'z@x.com', timestamp '2026-03-02', 'completed', 'EUR', 20, "
        "timestamp '2026-03-02', 1)",
    ),
    "raw_tickets": (
        "ticket_id, contact_id, email, created_at, channel, category, status, updated_at, "
        "_delivery_seq",
        "('t1', 'c1', 'a@x.com', timestamp '2026-04-01', 'email', 'question', 'open', "
        "timestamp '2026-04-01', 1)",
    ),
    "raw_surveys": (
        "response_id, contact_id, email, responded_at, survey_type, score, _delivery_seq",
        "('s1', 'c2', 'b@x.com', timestamp '2026-04-02', 'nps', 9, 1)",
    ),
}
# Delivery 2: a new order of contact c1. Delivery 3: a later order of the customer outside the
# CRM, with another e-mail on it (its latest qualifying order's e-mail is its e-mail).
CONTACT_ORDER = (
    "('o3', 'c1', 'a@x.com', timestamp '2026-05-01', 'completed', 'EUR', 30, "
    "timestamp '2026-05-01', 2)"
)
OUTSIDE_ORDER = (
    "('o4', null, 'z@x.com', timestamp '2026-06-01', 'completed', 'EUR', 40, "
    "timestamp '2026-06-01', 3)"
)


@cache
def _models() -> list:
    """The real models, discovered once (each discovery parses every file)."""
    return discover_models()


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: str, values: str) -> None:
    run(con, f"insert into raw.{table} ({columns}) values {values}")


def _warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Raw tables with the first delivery, and the settings."""
    prepare(con)
    for entity in ENTITIES.values():
        ensure_tables(con, entity)
    write_settings_table(con, RunSettings(AS_OF, 90, 24.0))
    for table, (columns, values) in FIRST.items():
        _insert(con, table, columns, values)


def _build(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, BuildMode]:
    """Every model as the layer assets build them; model -> how."""
    models = _models()
    layers = {m.name: m.layer for m in models}
    prints = skip.Fingerprints(con)
    done = {}
    for model in models:
        if "int_mention_sentiment" in model.parents and "int_mention_sentiment" not in done:
            build_mention_sentiment(con)
            done["int_mention_sentiment"] = BuildMode.FULL_REBUILD
            prints = skip.Fingerprints(con)  # a table built outside build_model
        done[model.name] = skip.build_model(con, model, layers, run_id, prints).mode
    return done


def _differences(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The models whose table differs from their SQL run now over their parents' tables. The
    raw tables are the same either way, so by induction over the dependency order none
    differing means every model equals a full rebuild of the same raw rows (the models are
    deterministic; int_mention_sentiment, built in Python, is not a model)."""
    found = []
    for model in _models():
        table = model.qualified_name
        diff = scalar(
            con,
            f"select count(*) from ((select * from {table} except all "
            f"select * from ({model.sql}\n)) union all (select * from ({model.sql}\n) "
            f"except all select * from {table}))",
        )
        if diff:
            found.append(model.name)
    return found


def test_orders_leave_the_models_that_do_not_read_what_they_change():
    orders_cols = FIRST["raw_orders"][0]
    with duckdb.connect() as con:
        _warehouse(con)
        assert BuildMode.SKIPPED not in _build(con, "first").values()
        # An order of contact c1: the order links, orders and purchases change; the ticket
        # and survey links do not, and the orders outside the CRM (o2) are as they were.
        _insert(con, "raw_orders", orders_cols, CONTACT_ORDER)
        done = _build(con, "contact order")
        for name in ("stg_orders", "int_record_links", "int_orders", "int_purchases"):
            assert done[name] is not BuildMode.SKIPPED, name
        for name in ("int_customers", "int_email_owners", "int_surveys", "int_tickets"):
            assert done[name] is BuildMode.SKIPPED, name
        assert _differences(con) == []
        # by hand: c1 bought o1 and o3, the customer outside the CRM o2: 3 purchases.
        assert scalar(con, "select count(*) from int_purchases") == 3
        # A later order outside the CRM: what int_customers reads changed, so it is rebuilt.
        _insert(con, "raw_orders", orders_cols, OUTSIDE_ORDER)
        done = _build(con, "outside order")
        assert done["int_customers"] is not BuildMode.SKIPPED
        assert done["int_surveys"] is BuildMode.SKIPPED
        assert done["int_tickets"] is BuildMode.SKIPPED
        assert _differences(con) == []
        # by hand: the customer outside the CRM keeps its e-mail z@x.com, now from o4.
        assert rows(con, "select email from int_customers where not is_contact") == [("z@x.com",)]
