"""retention_monthly and cohort_retention against figures worked out by hand.

as_of = 2024-04-15, churn_days = 45: a customer is active on day D when their last qualifying
purchase on or before D is at most 44 days before D (D - 45 < last <= D).
"""

from __future__ import annotations

import pytest
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings


def contact(contact_id: str, created_at: str = "2023-01-01 00:00:00", **extra) -> dict:
    return {"contact_id": contact_id, "created_at": created_at, **extra}


def order(order_id: str, ordered_at: str, amount: str = "10", status: str = "completed", **who):
    return {
        "order_id": order_id,
        "ordered_at": ordered_at,
        "status": status,
        "gross_amount": amount,
        **who,
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = new_warehouse(tmp_path_factory.mktemp("retention"))
    write_settings(con, "2024-04-15", churn_days=45)
    insert_rows(
        con,
        "contacts",
        [
            contact("A"),
            contact("B"),
            contact("C"),
            contact("D"),
            contact("E"),
            # G1 and G2 share an e-mail once normalised: they merge onto the older, G2.
            contact("G1", "2023-06-01 00:00:00", email=" Shared@X.com "),
            contact("G2", "2023-02-01 00:00:00", email="shared@x.com"),
        ],
    )
    insert_rows(
        con,
        "orders",
        [
            order("a1", "2024-01-10 09:00:00", contact_id="A"),
            order("a2", "2024-02-05 09:00:00", contact_id="A"),
            order("a3", "2024-03-20 09:00:00", contact_id="A"),
            order("b1", "2024-01-20 09:00:00", contact_id="B"),
            # C buys in January, lapses, and comes back in April: reactivated.
            order("c1", "2024-01-05 09:00:00", contact_id="C"),
            order("c2", "2024-04-02 09:00:00", contact_id="C"),
            # D: one real purchase; cancelled, pending and fully refunded orders do not count.
            order("d1", "2024-02-28 09:00:00", contact_id="D"),
            order("d2", "2024-03-10 09:00:00", status="cancelled", contact_id="D"),
            order("d3", "2024-04-01 09:00:00", status="pending", contact_id="D"),
            {
                **order("d4", "2024-04-05 09:00:00", amount="30", status="refunded"),
                "contact_id": "D",
                "refund_amount": "30",
            },
            # E's only order is after as_of: E has not bought yet.
            order("e1", "2024-04-16 00:00:00", contact_id="E"),
            # G: one order names G1, one only the shared e-mail; both belong to G2.
            order("g1", "2024-02-10 09:00:00", contact_id="G1"),
            order("g2", "2024-03-05 09:00:00", email="SHARED@x.com"),
            # F: a buyer outside the CRM (e-mail only); the last second of as_of still counts.
            order("f1", "2024-03-31 23:30:00", email="f@shop.test"),
            order("f2", "2024-04-15 23:59:59", email="f@shop.test"),
            # H: outside the CRM with only a cancelled order: not a customer.
            order("h1", "2024-02-01 09:00:00", status="cancelled", email="h@shop.test"),
        ],
    )
    # A December ticket starts the month spine earlier; retention still starts in January.
    insert_rows(
        con,
        "tickets",
        [
            {
                "ticket_id": "t1",
                "contact_id": "A",
                "created_at": "2023-12-15 10:00:00",
                "status": "solved",
            }
        ],
    )
    build_all(con)
    yield con
    con.close()


def test_retention_monthly(warehouse):
    # Jan: S = {} (nobody bought before); N = {A, B, C}.
    # Feb: S = active on Jan 31 = {A (21 d), B (11 d), C (26 d)}; N = {D, G (2/10 via G1)};
    #      on Feb 29 A (24 d) and B (40 d) are active, C (55 d) is not: retained 2, churned 1.
    # Mar: S = active on Feb 29 = {A, B, D (1 d), G (19 d)}; N = {F (3/31 23:30)};
    #      on Mar 31 A (11 d), D (32 d; the cancelled 3/10 does not count), G (26 d) are active,
    #      B (71 d) is not: retained 3, churned 1.
    # Apr (open, ends at as_of 4/15): S = active on Mar 31 = {A, D, F, G};
    #      on Apr 15 A (26 d), F (4/15 23:59:59, 0 d), G (41 d) active; D (47 d; pending and
    #      refunded orders do not count) is not; C (4/02) is active, not in S, not new:
    #      reactivated. E's 4/16 order is after as_of. E = 3 + 0 + 1 = 4.
    got = records(warehouse, "select * from retention_monthly order by month")
    assert [str(r["month"]) for r in got] == [
        "2024-01-01",
        "2024-02-01",
        "2024-03-01",
        "2024-04-01",
    ]
    assert [r["is_complete"] for r in got] == [True, True, True, False]
    cols = (
        "customers_start",
        "new_customers",
        "retained_customers",
        "reactivated_customers",
        "customers_end",
        "churned_customers",
    )
    # By month and column name, so that a failure says which month and figure differ.
    expected = {
        "2024-01-01": (0, 3, 0, 0, 3, 0),
        "2024-02-01": (3, 2, 2, 0, 4, 1),
        "2024-03-01": (4, 1, 3, 0, 4, 1),
        "2024-04-01": (4, 0, 3, 1, 4, 1),
    }
    assert {str(r["month"]): {c: r[c] for c in cols} for r in got} == {
        month: dict(zip(cols, values, strict=True)) for month, values in expected.items()
    }
    assert got[0]["retention_rate"] is None
    assert got[0]["churn_rate"] is None
    assert got[0]["crr_textbook"] is None
    assert got[1]["retention_rate"] == pytest.approx(2 / 3)
    assert got[1]["churn_rate"] == pytest.approx(1 / 3)
    assert got[1]["crr_textbook"] == pytest.approx((4 - 2) / 3)
    assert got[2]["retention_rate"] == pytest.approx(3 / 4)
    assert got[2]["crr_textbook"] == pytest.approx((4 - 1) / 4)
    # April: the textbook formula counts the reactivated C as retained: (4 - 0) / 4.
    assert got[3]["retention_rate"] == pytest.approx(3 / 4)
    assert got[3]["churn_rate"] == pytest.approx(1 / 4)
    assert got[3]["crr_textbook"] == pytest.approx(1.0)


def test_cohort_retention(warehouse):
    # Cohorts by first qualifying purchase: Jan {A, B, C}, Feb {D, G}, Mar {F}.
    # Jan: k=1 Feb A; k=2 Mar A; k=3 Apr C.  Feb: k=1 Mar G (D only cancelled); k=2 Apr none
    # (D's pending and refunded orders).  Mar: k=1 Apr F (4/15 23:59:59).
    got = records(warehouse, "select * from cohort_retention order by 1, 2")
    cols = ("cohort_size", "retained_customers", "retention_rate")
    # By (cohort month, months since first) and column name, as retention_monthly above.
    expected = {
        ("2024-01-01", 0): (3, 3, 1.0),
        ("2024-01-01", 1): (3, 1, 1 / 3),
        ("2024-01-01", 2): (3, 1, 1 / 3),
        ("2024-01-01", 3): (3, 1, 1 / 3),
        ("2024-02-01", 0): (2, 2, 1.0),
        ("2024-02-01", 1): (2, 1, 0.5),
        ("2024-02-01", 2): (2, 0, 0.0),
        ("2024-03-01", 0): (1, 1, 1.0),
        ("2024-03-01", 1): (1, 1, 1.0),
    }
    assert {
        (str(r["cohort_month"]), r["months_since_first"]): {c: r[c] for c in cols} for r in got
    } == {
        key: dict(zip(cols, (size, retained, pytest.approx(rate)), strict=True))
        for key, (size, retained, rate) in expected.items()
    }
