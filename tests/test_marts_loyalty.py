"""loyalty_customers, loyalty_summary and channel_retention against figures worked out by hand."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings

AS_OF = dt.date(2024, 6, 30)

# metrics.md's RFM grid: GRID[r_score][f_score - 1]
GRID = {
    5: ["New Customers", "Potential Loyalists", "Loyal", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Loyal", "Champions", "Champions"],
    3: ["Potential Loyalists", "Potential Loyalists", "Loyal", "Loyal", "Loyal"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "At Risk"],
    1: ["Lost", "Lost", "At Risk", "Can't Lose Them", "Can't Lose Them"],
}


def cid(natural_key: str) -> str:
    return hashlib.sha256(natural_key.encode()).hexdigest()[:16]


def ts(day: dt.date, hour: int = 12) -> str:
    return f"{day.isoformat()} {hour:02d}:00:00"


@pytest.fixture(scope="module")
def grid_warehouse(tmp_path_factory):
    """25 buyers g<r><f>, one per RFM cell, with no ties in recency or purchases.

    Buyer (r, f) buys purchases = 5 (f - 1) + r times, the last time recency = 10 (5 - r) + f
    days before as_of, once a day before that. Ordering recency descending puts the r = 1 buyers
    (recency 41..45) first, so ntile(5) gives them r_score 1, …, the r = 5 buyers (1..5) r_score
    5; ordering purchases ascending puts f = 1 (purchases 1..5) in f_score 1, …, f = 5 (21..25)
    in 5. Each order is 10, so revenue = 10 × purchases and m_score = f_score.
    """
    con = new_warehouse(tmp_path_factory.mktemp("rfm"))
    write_settings(con, AS_OF.isoformat())
    contacts, orders = [], []
    for r in range(1, 6):
        for f in range(1, 6):
            who = f"g{r}{f}"
            contacts.append({"contact_id": who, "created_at": "2023-01-01 00:00:00"})
            last = AS_OF - dt.timedelta(days=10 * (5 - r) + f)
            for k in range(5 * (f - 1) + r):
                orders.append(
                    {
                        "order_id": f"{who}-{k}",
                        "contact_id": who,
                        "ordered_at": ts(last - dt.timedelta(days=k)),
                        "status": "completed",
                        "gross_amount": "10",
                    }
                )
    insert_rows(con, "contacts", contacts)
    insert_rows(con, "orders", orders)
    build_all(con)
    yield con
    con.close()


def test_every_rfm_cell(grid_warehouse):
    got = {r["customer_id"]: r for r in records(grid_warehouse, "select * from loyalty_customers")}
    assert len(got) == 25
    cols = (
        "r_score",
        "f_score",
        "m_score",
        "rfm_segment",
        "purchases",
        "revenue",
        "avg_order_value",
        "recency_days",
        "tenure_days",
        "loyalty_tier",
        "is_active",
    )
    expected = {}
    for r in range(1, 6):
        for f in range(1, 6):
            purchases = 5 * (f - 1) + r
            tier = "new" if purchases == 1 else "repeat" if purchases <= 4 else "loyal"
            recency = 10 * (5 - r) + f
            # recency <= 45 < churn_days 90: everyone is active
            values = (r, f, f, GRID[r][f - 1], purchases, 10 * purchases, 10.0, recency)
            expected[f"g{r}{f}"] = (*values, recency + purchases - 1, tier, True)
    # By buyer and column name, so that a failure says which cell and figure differ.
    assert {who: {c: got[cid(f"contact:{who}")][c] for c in cols} for who in expected} == {
        who: dict(zip(cols, values, strict=True)) for who, values in expected.items()
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Seven buyers tied on everything, plus the loyalty_summary / channel_retention cases.

    as_of = 2024-06-30, churn_days 90 (active: last purchase after 2024-04-01).
    """
    con = new_warehouse(tmp_path_factory.mktemp("loyalty"))
    write_settings(con, AS_OF.isoformat())
    contacts = [{"contact_id": f"t{i}", "created_at": "2023-01-01 00:00:00"} for i in range(7)]
    contacts += [
        # referred, one purchase, helped: counts in ror
        {
            "contact_id": "ref",
            "created_at": "2023-01-01 00:00:00",
            "acquisition_source": "referral",
            "email": "ref@x.test",
        },
        # helped without purchases: in helped_customers_12m, not in ror's numerator
        {"contact_id": "nobuy", "created_at": "2023-01-01 00:00:00", "email": "nobuy@x.test"},
        # two purchases, helped: counts in ror
        {"contact_id": "rep", "created_at": "2023-01-01 00:00:00", "email": "rep@x.test"},
    ]
    orders = [
        {
            "order_id": f"t{i}",
            "contact_id": f"t{i}",
            "ordered_at": "2024-01-15 12:00:00",
            "status": "completed",
            "gross_amount": "20",
        }
        for i in range(7)
    ]
    orders += [
        {
            "order_id": "ref1",
            "contact_id": "ref",
            "ordered_at": "2024-06-01 12:00:00",
            "status": "completed",
            "gross_amount": "20",
        },
        {
            "order_id": "rep1",
            "contact_id": "rep",
            "ordered_at": "2024-05-01 12:00:00",
            "status": "completed",
            "gross_amount": "20",
        },
        {
            "order_id": "rep2",
            "contact_id": "rep",
            "ordered_at": "2024-06-01 12:00:00",
            "status": "completed",
            "gross_amount": "20",
        },
        # five purchases: loyal; the last on 2024-04-01, exactly 90 days before as_of: not active
        *[
            {
                "order_id": f"loy{k}",
                "email": "loyal@x.test",
                "ordered_at": f"2024-0{k}-01 12:00:00",
                "status": "completed",
                "gross_amount": "20",
            }
            for k in range(1, 5)
        ],
        {
            "order_id": "loy0",
            "email": "loyal@x.test",
            "ordered_at": "2023-12-01 12:00:00",
            "status": "completed",
            "gross_amount": "20",
        },
    ]
    tickets = [
        {
            "ticket_id": "k-ref",
            "contact_id": "ref",
            "created_at": "2024-06-02 09:00:00",
            "status": "solved",
        },
        {
            "ticket_id": "k-nobuy",
            "contact_id": "nobuy",
            "created_at": "2023-07-02 09:00:00",
            "status": "open",
        },
        {
            "ticket_id": "k-rep",
            "contact_id": "rep",
            "created_at": "2024-06-02 09:00:00",
            "status": "open",
        },
        # t0's ticket is on as_of - 365 days (2023-07-01, 2024 being a leap year): outside
        # (as_of - 365, as_of], even at its last second
        {
            "ticket_id": "k-t0",
            "contact_id": "t0",
            "created_at": "2023-07-01 23:59:59",
            "status": "solved",
        },
        # t1's ticket is on the window's first day (2023-07-02): inside
        {
            "ticket_id": "k-t1",
            "contact_id": "t1",
            "created_at": "2023-07-02 00:00:00",
            "status": "solved",
        },
        # not a customer: no effect on any customer figure
        {
            "ticket_id": "k-out",
            "email": "stranger@x.test",
            "created_at": "2024-06-02 09:00:00",
            "status": "open",
        },
    ]
    insert_rows(con, "contacts", contacts)
    insert_rows(con, "orders", orders)
    insert_rows(con, "tickets", tickets)
    # channels for channel_retention: rep opens a campaign (e-mail) and answers a survey
    insert_rows(
        con,
        "email_events",
        [
            {
                "email": "rep@x.test",
                "campaign_id": "k",
                "event_type": "open",
                "occurred_at": "2024-06-03 09:00:00",
            },
            {
                "email": "ref@x.test",
                "campaign_id": "k",
                "event_type": "sent",
                "occurred_at": "2024-06-03 09:00:00",
            },
        ],
    )
    insert_rows(
        con,
        "surveys",
        [
            {
                "response_id": "r1",
                "contact_id": "rep",
                "responded_at": "2024-06-04 09:00:00",
                "survey_type": "csat",
                "score": 5,
            },
        ],
    )
    build_all(con)
    yield con
    con.close()


def test_ntile_ties_split_by_customer_id(warehouse):
    # t0..t6 tie on recency (167 days), purchases (1) and revenue (20), and so do ref (1
    # purchase, 29 days) on purchases and revenue. Ten buyers: ntile(5) puts two in each bucket.
    # r_score: recency descending, then customer_id: t0..t6 (167 d) first in customer_id
    # order, then loyal@ (90 d), rep (30 d), ref (29 d).
    got = {r["customer_id"]: r for r in records(warehouse, "select * from loyalty_customers")}
    names = {cid(f"contact:t{i}"): f"t{i}" for i in range(7)}
    names |= {cid("email:loyal@x.test"): "loyal@", cid("contact:rep"): "rep"}
    names[cid("contact:ref")] = "ref"
    tied = sorted(cid(f"contact:t{i}") for i in range(7))
    r_order = [*tied, cid("email:loyal@x.test"), cid("contact:rep"), cid("contact:ref")]
    # f_score: purchases ascending, then customer_id: the eight 1-purchase buyers, rep (2),
    # loyal@ (5); m_score: revenue 20 for the eight, 40 for rep, 100 for loyal@: the same order
    ones = sorted([*tied, cid("contact:ref")])
    f_order = [*ones, cid("contact:rep"), cid("email:loyal@x.test")]
    buckets = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # By buyer and score, so that a failure says which buyer's score differs.
    assert {names[c]: {s: got[c][s] for s in ("r_score", "f_score", "m_score")} for c in names} == {
        names[c]: {
            "r_score": buckets[r_order.index(c)],
            "f_score": buckets[f_order.index(c)],
            "m_score": buckets[f_order.index(c)],
        }
        for c in names
    }


def test_loyalty_customer_flags(warehouse):
    got = {r["customer_id"]: r for r in records(warehouse, "select * from loyalty_customers")}
    loyal = got[cid("email:loyal@x.test")]
    cols = ("purchases", "loyalty_tier", "is_active", "recency_days")
    assert {"loyal@": {c: loyal[c] for c in cols}} == {
        "loyal@": {"purchases": 5, "loyalty_tier": "loyal", "is_active": False, "recency_days": 90}
    }
    assert str(loyal["first_purchase_at"]) == "2023-12-01 12:00:00"
    assert got[cid("contact:rep")]["loyalty_tier"] == "repeat"
    assert got[cid("contact:ref")]["is_referred"] is True
    assert got[cid("contact:rep")]["is_referred"] is False
    assert loyal["is_referred"] is False  # outside the CRM: no acquisition_source
    helped = {c for c, r in got.items() if r["helped_12m"]}
    assert helped == {cid("contact:ref"), cid("contact:rep"), cid("contact:t1")}
    # nobuy has no purchase: not in loyalty_customers
    assert cid("contact:nobuy") not in got


def test_loyalty_summary(warehouse):
    # customers with a purchase: t0..t6, ref, rep, loyal@ = 10
    # repeat (>= 2): rep, loyal@ = 2; loyal (>= 5): loyal@ = 1
    # active on as_of (last purchase after 2024-04-01): ref, rep = 2 (t* last bought 2024-01-15,
    #   loyal@ exactly 90 days ago)
    # helped in (2023-07-01, 2024-06-30]: ref, nobuy, rep, t1 = 4 (t0's ticket is a day early;
    #   stranger@ is not a customer)
    # ror: helped and (repeat or referred): ref (referred), rep (repeat) = 2 / 4
    (row,) = records(warehouse, "select * from loyalty_summary")
    assert row == {
        "as_of": AS_OF,
        "customers": 10,
        "repeat_customers": 2,
        "repeat_rate": pytest.approx(0.2),
        "loyal_customers": 1,
        "loyal_share": pytest.approx(0.1),
        "active_customers": 2,
        "helped_customers_12m": 4,
        "ror": pytest.approx(0.5),
    }


def test_channel_retention(warehouse):
    # buyers' channels in the last 365 days:
    #   rep: e-mail (an open), support (k-rep), survey (r1) = 3, active
    #   ref: support (k-ref) = 1 (a sent e-mail alone is no engagement), active
    #   t1: support = 1, not active; t0 (ticket too old), t2..t6, loyal@: 0, not active
    got = records(warehouse, "select * from channel_retention order by channels_engaged")
    cols = ("customers", "active_customers", "active_rate")
    # By channels_engaged and column name, so that a failure says which row and figure differ.
    expected = {0: (7, 0, 0.0), 1: (2, 1, 0.5), 2: (0, 0, None), 3: (1, 1, 1.0), 4: (0, 0, None)}
    assert {r["channels_engaged"]: {c: r[c] for c in cols} for r in got} == {
        channels: dict(zip(cols, values, strict=True)) for channels, values in expected.items()
    }
