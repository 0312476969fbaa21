"""Definitions of metrics.md that no other test pins at their boundary, each worked by hand.

as_of = 2024-06-30 (end of as_of: 2024-07-01 00:00 UTC), churn_days 90, sla_hours 24.
Active on as_of: 2024-06-30 - 90 days = 2024-04-01 < last purchase date <= 2024-06-30.

Buyers (all contacts):
- PR: one order on as_of, status `refunded`, gross 100, refund 40: net 60 > 0, so a qualifying
  purchase worth 60 (only `pending` and `cancelled` are excluded by status). Its other orders do
  not qualify: gross 50 with discount 50 (net 0, not > 0) and gross 20 with refund 30 (net -10).
- A89: one order on 2024-04-02, 89 days before as_of: active. A90: one on 2024-04-01 at
  23:59:59, 90 days before (the date counts, not the time): not active, churned.
- CO: orders on 05-03 (10), 05-20 (20), 06-01 (30), 06-29 10:00 (40), 06-29 23:00 (5) and
  06-30 00:30 (7). Two purchases in May and three in June: in cohort_retention CO is one
  customer each month. Purchase days (UTC dates): 05-03, 05-20, 06-01, 06-29 (40 + 5 = 45),
  06-30 (7): frequency 4, recency = age = 58 days, monetary = (20 + 30 + 45 + 7) / 4 = 25.5.

Tickets (contacts without purchases, all created in June): first contact resolution needs
agent_replies exactly 1 and reopens 0 (empty reopens = 0); an empty agent_replies is not 1
(docs/open-rules.md R10).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl
import pytest
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings

from pipeline.predict.build import purchase_days
from pipeline.predict.model import LOW_RISK, MEDIUM_RISK, _risk
from pipeline.predict.summary import customer_summary

AS_OF = dt.date(2024, 6, 30)


def cid(natural_key: str) -> str:
    """The published customer_id (contracts.md): first 16 hex digits of sha256(natural_key)."""
    return hashlib.sha256(natural_key.encode()).hexdigest()[:16]


def order(order_id: str, who: str, ordered_at: str, gross: str, **extra) -> dict:
    return {
        "order_id": order_id,
        "contact_id": who,
        "ordered_at": ordered_at,
        "status": "completed",
        "gross_amount": gross,
        **extra,
    }


def ticket(ticket_id: str, who: str, status: str, **extra) -> dict:
    return {
        "ticket_id": ticket_id,
        "contact_id": who,
        "created_at": "2024-06-10 10:00:00",
        "status": status,
        "solved_at": "2024-06-11 10:00:00",
        **extra,
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = new_warehouse(tmp_path_factory.mktemp("boundaries"))
    write_settings(con, AS_OF.isoformat())
    who = ["PR", "A89", "A90", "CO", "F1", "F2", "F3", "F4"]
    insert_rows(
        con, "contacts", [{"contact_id": c, "created_at": "2023-01-01 00:00:00"} for c in who]
    )
    insert_rows(
        con,
        "orders",
        [
            order("pr1", "PR", "2024-06-30 10:00:00", "100", status="refunded", refund_amount="40"),
            order("pr2", "PR", "2024-06-20 10:00:00", "50", discount_amount="50"),
            order("pr3", "PR", "2024-06-21 10:00:00", "20", status="refunded", refund_amount="30"),
            order("a89", "A89", "2024-04-02 00:00:00", "10"),
            order("a90", "A90", "2024-04-01 23:59:59", "10"),
            order("co1", "CO", "2024-05-03 10:00:00", "10"),
            order("co2", "CO", "2024-05-20 10:00:00", "20"),
            order("co3", "CO", "2024-06-01 10:00:00", "30"),
            order("co4", "CO", "2024-06-29 10:00:00", "40"),
            order("co5", "CO", "2024-06-29 23:00:00", "5"),
            order("co6", "CO", "2024-06-30 00:30:00", "7"),
        ],
    )
    insert_rows(
        con,
        "tickets",
        [
            # one agent reply, reopens empty (= 0): first contact resolution
            ticket("f1", "F1", "solved", agent_replies="1"),
            # agent_replies empty: not "exactly 1" (R10)
            ticket("f2", "F2", "solved", reopens="0"),
            # closed with no public reply at all
            ticket("f3", "F3", "closed", agent_replies="0", reopens="0"),
            ticket("f4", "F4", "solved", agent_replies="2", reopens="0"),
        ],
    )
    build_all(con)
    yield con
    con.close()


def test_refunds_and_discounts_decide_what_qualifies(warehouse):
    got = {r["customer_id"]: r for r in records(warehouse, "select * from loyalty_customers")}
    cols = ("purchases", "revenue", "avg_order_value", "recency_days", "tenure_days", "is_active")
    # PR: the partly refunded order on as_of alone, worth its net amount 100 - 40 = 60
    assert {"PR": {c: got[cid("contact:PR")][c] for c in cols}} == {
        "PR": {
            "purchases": 1,
            "revenue": 60,
            "avg_order_value": 60.0,
            "recency_days": 0,
            "tenure_days": 0,
            "is_active": True,
        }
    }


def test_active_at_churn_days_minus_one_and_churned_at_churn_days(warehouse):
    cols = ("days_since_last_purchase", "is_active", "is_churned")
    got = {
        r["customer_id"]: {c: r[c] for c in cols}
        for r in records(warehouse, "select * from customer_360")
    }
    assert {c: got[cid(f"contact:{c}")] for c in ("A89", "A90")} == {
        "A89": {"days_since_last_purchase": 89, "is_active": True, "is_churned": False},
        "A90": {"days_since_last_purchase": 90, "is_active": False, "is_churned": True},
    }
    # active on as_of: PR (0 days), A89, CO (0 days: its 06-30 00:30 order); not A90
    (summary,) = records(warehouse, "select customers, active_customers from loyalty_summary")
    assert summary == {"customers": 4, "active_customers": 3}


def test_a_cohort_customer_buying_twice_in_a_month_counts_once(warehouse):
    cols = ("cohort_size", "retained_customers", "retention_rate")
    got = {
        (str(r["cohort_month"]), r["months_since_first"]): {c: r[c] for c in cols}
        for r in records(warehouse, "select * from cohort_retention")
    }
    # April: A89 and A90 (one purchase each, nothing after); May: CO; June: PR
    assert got == {
        ("2024-04-01", 0): {"cohort_size": 2, "retained_customers": 2, "retention_rate": 1.0},
        ("2024-04-01", 1): {"cohort_size": 2, "retained_customers": 0, "retention_rate": 0.0},
        ("2024-04-01", 2): {"cohort_size": 2, "retained_customers": 0, "retention_rate": 0.0},
        ("2024-05-01", 0): {"cohort_size": 1, "retained_customers": 1, "retention_rate": 1.0},
        ("2024-05-01", 1): {"cohort_size": 1, "retained_customers": 1, "retention_rate": 1.0},
        ("2024-06-01", 0): {"cohort_size": 1, "retained_customers": 1, "retention_rate": 1.0},
    }


def test_retention_counts_each_customer_once_a_month(warehouse):
    cols = ("customers_start", "new_customers", "retained_customers", "reactivated_customers")
    got = {
        str(r["month"]): {c: r[c] for c in cols}
        for r in records(warehouse, "select * from retention_monthly")
    }
    # April: A90, A89 new. May: S = {A89, A90} (on Apr 30 both within 90 days); on May 31 both
    #   still active (A90: 60 days); CO new. June: S = {A89, A90, CO}; on as_of A90 is 90 days
    #   old (churned), A89 89 days (retained), CO retained; PR new.
    assert got == {
        "2024-04-01": dict(zip(cols, (0, 2, 0, 0), strict=True)),
        "2024-05-01": dict(zip(cols, (2, 1, 2, 0), strict=True)),
        "2024-06-01": dict(zip(cols, (3, 1, 2, 0), strict=True)),
    }


def test_purchase_days_are_utc_dates_and_the_first_day_is_not_spend(warehouse):
    summary = customer_summary(purchase_days(warehouse), AS_OF)
    co = summary.filter(pl.col("customer_id") == cid("contact:CO")).row(0, named=True)
    assert co == {
        "customer_id": cid("contact:CO"),
        "frequency": 4,
        "recency_weeks": pytest.approx(58 / 7),
        "age_weeks": pytest.approx(58 / 7),
        "monetary": pytest.approx(25.5),
    }
    pr = summary.filter(pl.col("customer_id") == cid("contact:PR")).row(0, named=True)
    # one purchase day: no repeat spend to average
    assert {"PR": {c: pr[c] for c in ("frequency", "monetary")}} == {
        "PR": {"frequency": 0, "monetary": None}
    }


def test_first_contact_resolution_needs_exactly_one_reply(warehouse):
    (june,) = records(
        warehouse,
        "select tickets_created, tickets_solved, fcr_rate, median_resolution_hours"
        " from satisfaction_monthly where month = '2024-06-01'",
    )
    # solved: f1..f4, each 24 h after creation; one touch: f1 alone
    assert june == {
        "tickets_created": 4,
        "tickets_solved": 4,
        "fcr_rate": 0.25,
        "median_resolution_hours": 24.0,
    }


def test_churn_risk_bands_at_their_edges():
    assert (LOW_RISK, MEDIUM_RISK) == (0.7, 0.3)
    p_alive = [1.0, 0.7, 0.6999999, 0.3, 0.2999999, 0.0, None]
    got = pl.DataFrame({"p_alive": p_alive}).select(risk=_risk(pl.col("p_alive")))["risk"]
    assert dict(zip(p_alive, got, strict=True)) == {
        1.0: "low",
        0.7: "low",
        0.6999999: "medium",
        0.3: "medium",
        0.2999999: "high",
        0.0: "high",
        None: None,
    }


def test_no_buyers_gives_null_rates_and_five_channel_rows(tmp_path):
    # One contact, one ticket, no order: every rate over buyers has a denominator of 0.
    con = new_warehouse(tmp_path)
    write_settings(con, AS_OF.isoformat())
    insert_rows(con, "contacts", [{"contact_id": "N", "created_at": "2023-01-01 00:00:00"}])
    insert_rows(con, "tickets", [ticket("n1", "N", "open", solved_at=None)])
    build_all(con)
    (summary,) = records(con, "select * from loyalty_summary")
    assert summary == {
        "as_of": AS_OF,
        "customers": 0,
        "repeat_customers": 0,
        "repeat_rate": None,
        "loyal_customers": 0,
        "loyal_share": None,
        "active_customers": 0,
        "helped_customers_12m": 1,
        # N is helped but neither a repeat buyer nor referred
        "ror": 0.0,
    }
    channels = {
        r["channels_engaged"]: {c: r[c] for c in ("customers", "active_customers", "active_rate")}
        for r in records(con, "select * from channel_retention")
    }
    empty = {"customers": 0, "active_customers": 0, "active_rate": None}
    assert channels == dict.fromkeys(range(5), empty)
    for mart in ("retention_monthly", "cohort_retention", "loyalty_customers"):
        assert records(con, f"select count(*) as n from {mart}") == [{"n": 0}], mart
    con.close()
