"""customer_360 against figures worked out by hand (as_of = 2024-06-30, churn_days = 90).

Windows: 12m = dates in (2023-07-01, 2024-06-30] (2024 is a leap year, so 2023-07-01 is
as_of - 365 days and outside); 90d = dates in (2024-04-01, 2024-06-30].
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings


def cid(natural_key: str) -> str:
    return hashlib.sha256(natural_key.encode()).hexdigest()[:16]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def event(email, campaign_id, event_type, occurred_at):
    return {
        "email": email,
        "campaign_id": campaign_id,
        "event_type": event_type,
        "occurred_at": occurred_at,
    }


def survey(response_id, survey_type, score, responded_at):
    return {
        "response_id": response_id,
        "contact_id": "M",
        "survey_type": survey_type,
        "score": score,
        "responded_at": responded_at,
    }


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    con = new_warehouse(tmp_path_factory.mktemp("c360"))
    write_settings(con, "2024-06-30")
    insert_rows(
        con,
        "contacts",
        [
            {
                "contact_id": "M",
                "email": "m@x.test",
                "created_at": "2023-05-01 09:00:00",
                "country": "RO",
                "language": "ro",
                "acquisition_source": "event",
                "first_name": "Maria",
                "phone": "+40 1",
                "twitter_handle": "mtweets",
            },
            {"contact_id": "L", "email": "l@x.test", "created_at": "2024-01-01 09:00:00"},
        ],
    )
    insert_rows(
        con,
        "orders",
        [
            {
                "order_id": "m1",
                "contact_id": "M",
                "ordered_at": "2024-01-10 10:00:00",
                "status": "completed",
                "gross_amount": "50",
            },
            {
                "order_id": "m2",
                "contact_id": "M",
                "ordered_at": "2024-05-15 10:00:00",
                "status": "completed",
                "gross_amount": "80",
                "discount_amount": "10",
            },
            {
                "order_id": "n1",
                "email": "n@x.test",
                "ordered_at": "2023-12-01 10:00:00",
                "status": "completed",
                "gross_amount": "500",
            },
        ],
    )
    insert_rows(
        con,
        "tickets",
        [
            {
                "ticket_id": "t1",
                "contact_id": "M",
                "created_at": "2024-06-10 10:00:00",
                "status": "open",
            },
            {
                "ticket_id": "t2",
                "contact_id": "M",
                "created_at": "2023-08-01 10:00:00",
                "status": "solved",
            },
        ],
    )
    insert_rows(
        con,
        "surveys",
        [
            survey("n1", "nps", 3, "2024-01-01 10:00:00"),
            survey("n2", "nps", 9, "2024-06-01 10:00:00"),
            survey("c1", "csat", 2, "2024-06-20 10:00:00"),
            survey("c2", "csat", 5, "2024-07-01 10:00:00"),  # after as_of
            survey("e1", "ces", 4, "2023-07-01 10:00:00"),  # as_of - 365 days: outside 12m
            survey("e2", "ces", 6, "2024-03-01 10:00:00"),
            survey("e3", "ces", 5, "2024-06-30 23:00:00"),
        ],
    )
    insert_rows(
        con,
        "email_events",
        [
            event("m@x.test", "E1", "delivered", "2024-06-01 08:00:00"),
            event("m@x.test", "E1", "open", "2024-06-02 08:00:00"),
            event("m@x.test", "E1", "click", "2024-06-02 08:01:00"),
            event("m@x.test", "E2", "delivered", "2024-03-01 08:00:00"),
            event("m@x.test", "E2", "open", "2024-04-15 08:00:00"),
            event("z@x.test", "E2", "delivered", "2024-03-01 08:00:00"),
            # E3 and E4 have no delivered event: sent and not bounced counts as delivered
            event("m@x.test", "E3", "sent", "2024-06-05 08:00:00"),
            event("m@x.test", "E3", "open", "2024-07-02 08:00:00"),  # after as_of
            event("m@x.test", "E4", "sent", "2024-06-06 08:00:00"),
            event("m@x.test", "E4", "bounce", "2024-06-06 08:01:00"),
            event("m@x.test", "E5", "unsubscribe", "2024-05-01 08:00:00"),
            event("l@x.test", "E1", "delivered", "2024-06-01 08:00:00"),
            event("l@x.test", "E1", "spam_complaint", "2024-06-15 08:00:00"),
            event("n@x.test", "E1", "open", "2024-06-20 08:00:00"),
        ],
    )
    insert_rows(
        con,
        "social_mentions",
        [
            {
                "mention_id": "s1",
                "platform": "twitter",
                "author_handle": "mtweets",
                "posted_at": "2024-06-01 10:00:00",
                "sentiment": "negative",
            },
            {
                "mention_id": "s2",
                "platform": "twitter",
                "author_handle": "mtweets",
                "posted_at": "2023-08-01 10:00:00",
                "sentiment": "positive",
            },
            {
                "mention_id": "s3",
                "platform": "twitter",
                "author_handle": "mtweets",
                "posted_at": "2023-06-01 10:00:00",
                "sentiment": "negative",
            },
        ],
    )
    build_all(con)
    got = {r["customer_id"]: r for r in records(con, "select * from customer_360")}
    con.close()
    return got


def test_customer_with_everything(rows):
    m = rows[cid("contact:M")]
    # Two buyers, M and N. ntile(5) over two rows gives 1 and 2:
    #   r: recency descending -> N (212 d) 1, M (46 d) 2; f: purchases ascending -> N (1) 1,
    #   M (2) 2; m: revenue ascending -> M (50 + 70 = 120) 1, N (500) 2. M: r2 f2 = Hibernating.
    assert m == {
        "customer_id": cid("contact:M"),
        "email_sha256": sha("m@x.test"),
        "country": "RO",
        "language": "ro",
        "acquisition_source": "event",
        "created_at": dt.datetime(2023, 5, 1, 9),
        "first_purchase_at": dt.datetime(2024, 1, 10, 10),
        "last_purchase_at": dt.datetime(2024, 5, 15, 10),
        "purchases": 2,
        "revenue": Decimal("120"),
        "loyalty_tier": "repeat",
        "rfm_segment": "Hibernating",
        "r_score": 2,
        "f_score": 2,
        "m_score": 1,
        "is_active": True,  # 46 days < 90
        "is_churned": False,
        "days_since_last_purchase": 46,  # May 15 -> May 31 16, + 30
        "tickets_12m": 2,  # 2024-06-10 and 2023-08-01
        "last_nps": 9,  # 2024-06-01 is later than 2024-01-01
        "last_csat": 2,  # the 5 is after as_of
        "avg_ces_12m": pytest.approx(5.5),  # 6 and 5; the 4 is on as_of - 365 days
        # delivered in 90d: E1 (6/01), E3 (sent 6/05, no bounce, no delivered events in E3);
        # not E2 (3/01, 121 days) nor E4 (bounced)
        "emails_delivered_90d": 2,
        "opens_90d": 2,  # E1 (6/02), E2 (4/15, 76 days); E3's open is after as_of
        "clicks_90d": 1,  # E1
        "open_rate_90d": pytest.approx(1 / 2),  # of E1, E3 opened by as_of: E1
        "is_unsubscribed": True,  # E5
        "mentions_12m": 2,  # 2024-06-01, 2023-08-01; 2023-06-01 is outside
        "negative_mentions_12m": 1,
        "channels_engaged_12m": 4,  # e-mail, social, support, survey
        "dissatisfied_90d": True,  # CSAT 2 on 6/20, negative mention on 6/01
        "silent_dissatisfied_90d": False,  # ticket on 6/10
    }
    assert not {"email", "first_name", "last_name", "phone"} & set(m)


def test_contact_without_purchases(rows):
    assert rows[cid("contact:L")] == {
        "customer_id": cid("contact:L"),
        "email_sha256": sha("l@x.test"),
        "country": None,
        "language": None,
        "acquisition_source": None,
        "created_at": dt.datetime(2024, 1, 1, 9),
        "first_purchase_at": None,
        "last_purchase_at": None,
        "purchases": 0,
        "revenue": 0,
        "loyalty_tier": None,
        "rfm_segment": None,
        "r_score": None,
        "f_score": None,
        "m_score": None,
        "is_active": False,
        "is_churned": False,
        "days_since_last_purchase": None,
        "tickets_12m": 0,
        "last_nps": None,
        "last_csat": None,
        "avg_ces_12m": None,
        "emails_delivered_90d": 1,
        "opens_90d": 0,
        "clicks_90d": 0,
        "open_rate_90d": 0.0,
        "is_unsubscribed": False,  # a spam complaint alone is not an unsubscribe
        "mentions_12m": 0,
        "negative_mentions_12m": 0,
        "channels_engaged_12m": 0,
        "dissatisfied_90d": True,  # spam complaint on 6/15
        "silent_dissatisfied_90d": True,  # no ticket
    }


def test_buyer_outside_the_crm(rows):
    n = rows[cid("email:n@x.test")]
    cols = (
        "created_at",
        "country",
        "email_sha256",
        "purchases",
        "revenue",
        "rfm_segment",
        "r_score",
        "f_score",
        "m_score",
        "days_since_last_purchase",
        "is_active",
        "is_churned",
        "emails_delivered_90d",
        "opens_90d",
        "open_rate_90d",
        "channels_engaged_12m",
    )
    # By column name, so that a failure says which figure differs. Last purchase 2023-12-01:
    # 212 days before as_of. An open with no delivery in 90 days: nothing to measure the open
    # rate on.
    values = (None, None, sha("n@x.test"), 1, 500, "Lost", 1, 1, 2, 212, False, True, 0, 1, None, 1)
    assert {c: n[c] for c in cols} == dict(zip(cols, values, strict=True))
    assert len(rows) == 3
