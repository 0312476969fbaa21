"""Month boundaries through ingestion: naive timestamps in PIPELINE_TIMEZONE and offsets.

PIPELINE_TIMEZONE = Europe/Bucharest (UTC+2 in winter, UTC+3 from 2024-03-31 03:00 local),
as_of = 2024-03-31. Canonical CSVs are landed with ``ingest_entity`` and the marts built on top.
"""

from __future__ import annotations

import pytest
from marts_fixtures import exports_built, records

CONTACTS = """contact_id,email,created_at
c1,one@x.test,2023-01-01 00:00:00
c2,two@x.test,2023-01-01 00:00:00
c3,three@x.test,2023-01-01 00:00:00
c4,four@x.test,2023-01-01 00:00:00
c5,five@x.test,2023-01-01 00:00:00
"""

# o1: naive 2024-02-01 01:30 in Bucharest (UTC+2) = 2024-01-31 23:30 UTC: January
# o2: 2024-01-31T23:30:00+00:00: January
# o3: 2024-02-01T00:30:00-05:00 = 2024-02-01 05:30 UTC: February
# o4: 2024-03-31T22:30:00-02:00 = 2024-04-01 00:30 UTC: after as_of, ignored
# o5: naive 2024-03-31 23:30 in Bucharest (UTC+3 since 03:00 that day) = 20:30 UTC: March
ORDERS = """order_id,contact_id,ordered_at,status,gross_amount
o1,c1,2024-02-01 01:30:00,completed,10
o2,c2,2024-01-31T23:30:00+00:00,completed,10
o3,c3,2024-02-01T00:30:00-05:00,completed,10
o4,c4,2024-03-31T22:30:00-02:00,completed,10
o5,c5,2024-03-31 23:30:00,completed,10
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("ingested")
    exports = {"crm/contacts": CONTACTS, "crm/orders": ORDERS}
    with exports_built(data_dir, exports, "2024-03-31", "Europe/Bucharest") as (con, reports):
        for found in reports.values():
            assert all(r.status == "landed" and not r.rows_quarantined for r in found), found
        yield con


def test_timestamps_land_in_their_utc_month(warehouse):
    got = {
        r["order_id"]: (str(r["ordered_at"]), str(r["order_month"]))
        for r in records(warehouse, "select order_id, ordered_at, order_month from int_orders")
    }
    assert got == {
        "o1": ("2024-01-31 23:30:00", "2024-01-01"),
        "o2": ("2024-01-31 23:30:00", "2024-01-01"),
        "o3": ("2024-02-01 05:30:00", "2024-02-01"),
        "o5": ("2024-03-31 20:30:00", "2024-03-01"),
    }


def test_retention_counts_them_in_that_month(warehouse):
    # new customers: January c1, c2; February c3; March c5 (c4's order is after as_of)
    got = records(warehouse, "select month, new_customers from retention_monthly order by month")
    assert {str(r["month"]): r["new_customers"] for r in got} == {
        "2024-01-01": 2,
        "2024-02-01": 1,
        "2024-03-01": 1,
    }
