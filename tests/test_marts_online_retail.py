"""The loyalty and retention marts on the UCI Online Retail export, against a hand computation.

The file's lines are aggregated to invoices here (polars, not the vendor mapping, which
tests/test_ingest_real_files.py covers): gross = sum of Quantity x UnitPrice, an invoice number
starting with C is a cancellation, CustomerID is the contact_id of a customer outside the CRM.
The expected figures are recomputed straight from metrics.md. Public anchors (the file's own
counts): 4,339 customers and 18,536 invoices have a line with a positive quantity.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from helpers import SHARED_DATA, skip_unless_ci
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings

AS_OF = dt.date(2011, 12, 9)  # the file's last day: December 2011 is open
CHURN_DAYS = 90


@pytest.fixture(scope="module")
def invoices() -> pl.DataFrame:
    path = SHARED_DATA / "online_retail" / "online_retail.csv.gz"
    if not path.is_file():
        skip_unless_ci("../shared/data is not present")
    lines = pl.read_csv(path, infer_schema_length=0).filter(pl.col("CustomerID").is_not_null())
    assert lines.filter(pl.col("Quantity").cast(pl.Int64) > 0).select(
        customers=pl.col("CustomerID").n_unique(), invoices=pl.col("InvoiceNo").n_unique()
    ).row(0, named=True) == {"customers": 4_339, "invoices": 18_536}
    amount = pl.col("Quantity").cast(pl.Int64) * pl.col("UnitPrice").cast(pl.Decimal(18, 4))
    return (
        lines.with_columns(amount.alias("total"))
        .group_by("InvoiceNo")
        .agg(
            pl.col("CustomerID").first(),
            pl.col("InvoiceDate").min(),
            pl.col("total").sum(),
        )
        .sort("InvoiceNo")
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, invoices):
    con = new_warehouse(tmp_path_factory.mktemp("online_retail"))
    write_settings(con, AS_OF.isoformat(), churn_days=CHURN_DAYS)
    insert_rows(
        con,
        "orders",
        [
            {
                "order_id": number,
                "contact_id": customer,
                "ordered_at": at,
                "status": "cancelled" if number.startswith("C") else "completed",
                "gross_amount": total,
            }
            for number, customer, at, total in invoices.iter_rows()
        ],
    )
    build_all(con)
    yield con
    con.close()


def purchase_days(invoices: pl.DataFrame) -> dict[str, tuple[list[dt.date], int, Decimal]]:
    """Per customer: sorted qualifying purchase dates, purchases and revenue (contracts.md: not
    cancelled and net > 0; all are on or before as_of, the file's last day)."""
    out: dict[str, tuple[list[dt.date], int, Decimal]] = {}
    for number, customer, at, total in invoices.iter_rows():
        if number.startswith("C") or total <= 0:
            continue
        days, n, revenue = out.get(customer, ([], 0, Decimal(0)))
        out[customer] = ([*days, dt.date.fromisoformat(at[:10])], n + 1, revenue + total)
    return {c: (sorted(d), n, r) for c, (d, n, r) in out.items()}


def active(days: list[dt.date], on: dt.date) -> bool:
    """Last purchase on or before ``on`` within churn_days: on - churn < last <= on."""
    before = [d for d in days if d <= on]
    return bool(before) and (on - before[-1]).days < CHURN_DAYS


def test_loyalty_summary_and_revenue(warehouse, invoices):
    buyers = purchase_days(invoices)
    # 4,339 with a positive line, less 13256, whose one invoice (12,540 stickers at 0.00) nets 0
    assert len(buyers) == 4_338
    got = records(
        warehouse,
        "select customers, repeat_customers, loyal_customers, active_customers"
        " from loyalty_summary",
    )
    assert got == [
        {
            "customers": len(buyers),
            "repeat_customers": sum(1 for _, n, _ in buyers.values() if n >= 2),
            "loyal_customers": sum(1 for _, n, _ in buyers.values() if n >= 5),
            "active_customers": sum(1 for d, _, _ in buyers.values() if active(d, AS_OF)),
        }
    ]
    revenue = records(warehouse, "select sum(revenue) as revenue from loyalty_customers")
    assert revenue == [{"revenue": sum(r for _, _, r in buyers.values())}]


def test_retention_monthly(warehouse, invoices):
    buyers = {c: d for c, (d, _, _) in purchase_days(invoices).items()}
    expected = []
    month = dt.date(2010, 12, 1)
    while month <= AS_OF:
        following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        end = min(following - dt.timedelta(days=1), AS_OF)
        start = {c for c, d in buyers.items() if active(d, month - dt.timedelta(days=1))}
        new = {c for c, d in buyers.items() if month <= d[0] <= end}
        at_end = {c for c, d in buyers.items() if active(d, end)}
        expected.append((month, len(start), len(new), len(start & at_end), len(at_end)))
        month = following
    got = records(
        warehouse,
        "select month, customers_start, new_customers, retained_customers, customers_end"
        " from retention_monthly order by month",
    )
    assert [tuple(r.values()) for r in got] == expected
    assert len(expected) == 13  # 2010-12 .. 2011-12
