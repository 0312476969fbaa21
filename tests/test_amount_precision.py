"""Amounts keep four decimals from the file to the marts (a narrower type would round them)."""

from __future__ import annotations

from decimal import Decimal

from ingest_support import drop, land, make_settings, query
from marts_fixtures import build_all, write_settings

from pipeline.warehouse import open_warehouse

CONTACTS = "contact_id,email,created_at\nc1,one@x.test,2024-01-01 00:00:00\n"
# Prices per unit of a few cents with four decimals, as some shops and the CDNOW file give them.
ORDERS = (
    "order_id,contact_id,ordered_at,status,gross_amount,discount_amount\n"
    "o1,c1,2024-03-01 10:00:00,completed,12.3456,0.0056\n"
    "o2,c1,2024-03-02 10:00:00,completed,0.0625,0\n"
)


def test_four_decimals_land_and_reach_the_marts(data_dir):
    settings = make_settings(data_dir)
    drop(settings, "contacts", "c.csv", CONTACTS)
    drop(settings, "orders", "o.csv", ORDERS)
    for entity in ("contacts", "orders", "tickets", "surveys", "email_events", "social_mentions"):
        land(settings, entity)  # the empty ones too: the models read every raw table
    landed = query(settings, "select order_id, gross_amount, discount_amount from raw_orders")
    assert sorted(landed.rows()) == [
        ("o1", Decimal("12.3456"), Decimal("0.0056")),
        ("o2", Decimal("0.0625"), Decimal("0.0000")),
    ]
    with open_warehouse(settings.warehouse_path) as con:
        write_settings(con, "2024-12-31")
        build_all(con)
    # revenue = (12.3456 - 0.0056) + 0.0625 = 12.4025 by hand.
    (revenue,) = query(settings, "select revenue from loyalty_customers").row(0)
    assert Decimal(str(revenue)) == Decimal("12.4025")
