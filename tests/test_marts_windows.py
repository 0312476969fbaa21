"""Every window at its boundary, worked by hand: a record exactly on the edge of each window.

as_of = 2024-04-30, churn_days = 45, sla_hours = 24. The rules (spec/metrics.md):
- active on day D: D - churn_days < last_purchase_date <= D;
- 12 months: (as_of - 365 days, as_of] on the event's UTC date; 90 days likewise;
- SLA: met = first response within sla_hours of creation (exactly 24 h is within); eligible =
  answered, or created at least sla_hours before the end of as_of.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings

from pipeline.engine import SQL_DIR, build_models, discover_models

# March 2024: S is taken on Feb 29 (window (Jan 15, Feb 29]), retention on Mar 31
# (window (Feb 15, Mar 31]). One purchase each, all contacts:
#   P 2024-01-15: exactly 45 days before Feb 29 -> not in S
#   Q 2024-01-16: 44 days before Feb 29 -> in S; 75 days before Mar 31 -> churned
#   R 2024-02-15: in S; exactly 45 days before Mar 31 -> churned
#   T 2024-02-16: in S; 44 days before Mar 31 -> retained
PURCHASES = {"P": "2024-01-15", "Q": "2024-01-16", "R": "2024-02-15", "T": "2024-02-16"}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = new_warehouse(tmp_path_factory.mktemp("windows"))
    write_settings(con, "2024-04-30", churn_days=45)
    contacts = [*PURCHASES, "H1", "H2", "S1", "S2", "S3", "S4", "V1", "V2", "E1", "E2", "E3"]
    contacts += ["R1", "R2", "M1", "L1", "L2", "L3", "E4", "E5", "D1", "D2"]
    insert_rows(
        con,
        "contacts",
        [
            {
                "contact_id": c,
                "created_at": "2023-01-01 00:00:00",
                "email": f"{c.lower()}@x.test",
                "twitter_handle": f"{c.lower()}_handle",
            }
            for c in contacts
        ],
    )
    insert_rows(
        con,
        "orders",
        [
            {
                "order_id": f"o{c}",
                "contact_id": c,
                "ordered_at": f"{day} 12:00:00",
                "status": "completed",
                "gross_amount": "10",
            }
            for c, day in PURCHASES.items()
        ],
    )
    # 12 months back from 2024-04-30 is 2023-05-01 (2024 is a leap year: 365 days before
    # 2024-04-30 is 2023-05-01). H1's ticket on 2023-05-01 is outside; H2's on 2023-05-02 inside.
    # S1..S4 are the SLA edge (April):
    #   S1 created 2024-04-10 08:00, answered after exactly 24 h -> eligible, met
    #   S2 answered after 24 h and 1 s -> eligible, not met
    #   S3 unanswered, created 2024-04-30 00:00 = exactly 24 h before the end of as_of
    #      (2024-05-01 00:00) -> eligible
    #   S4 unanswered, created 2024-04-30 00:00:01 -> not yet eligible
    ticket = {"status": "open"}
    insert_rows(
        con,
        "tickets",
        [
            {**ticket, "ticket_id": "h1", "contact_id": "H1", "created_at": "2023-05-01 23:00:00"},
            {**ticket, "ticket_id": "h2", "contact_id": "H2", "created_at": "2023-05-02 00:00:00"},
            {
                **ticket,
                "ticket_id": "s1",
                "contact_id": "S1",
                "created_at": "2024-04-10 08:00:00",
                "first_response_at": "2024-04-11 08:00:00",
            },
            {
                **ticket,
                "ticket_id": "s2",
                "contact_id": "S2",
                "created_at": "2024-04-10 08:00:00",
                "first_response_at": "2024-04-11 08:00:01",
            },
            {**ticket, "ticket_id": "s3", "contact_id": "S3", "created_at": "2024-04-30 00:00:00"},
            {**ticket, "ticket_id": "s4", "contact_id": "S4", "created_at": "2024-04-30 00:00:01"},
            # At the end of as_of exactly (midnight after): L1's first response is no response
            # yet, L2's solve no solve yet.
            {
                **ticket,
                "ticket_id": "l1",
                "contact_id": "L1",
                "created_at": "2024-04-29 10:00:00",
                "first_response_at": "2024-05-01 00:00:00",
            },
            {
                "ticket_id": "l2",
                "contact_id": "L2",
                "created_at": "2024-04-20 10:00:00",
                "status": "solved",
                "solved_at": "2024-05-01 00:00:00",
            },
            # L3's ticket is created at the end of as_of: it does not exist yet.
            {**ticket, "ticket_id": "l3", "contact_id": "L3", "created_at": "2024-05-01 00:00:00"},
        ],
    )
    # 90 days back from 2024-04-30 is 2024-01-31. V1 and V2 answer NPS 3 on 2024-04-01 (a
    # dissatisfaction signal in the window); V1's ticket on 2024-01-31 is outside the window, so
    # V1 is silent; V2's on 2024-02-01 is inside, so V2 is not.
    insert_rows(
        con,
        "tickets",
        [
            {**ticket, "ticket_id": "v1", "contact_id": "V1", "created_at": "2024-01-31 12:00:00"},
            {**ticket, "ticket_id": "v2", "contact_id": "V2", "created_at": "2024-02-01 00:00:00"},
        ],
    )
    insert_rows(
        con,
        "surveys",
        [
            {
                "response_id": f"r{c}",
                "contact_id": c,
                "responded_at": "2024-04-01 10:00:00",
                "survey_type": "nps",
                "score": "3",
            }
            for c in ("V1", "V2")
        ]
        # R1's CES answers: 2 on 2023-05-01 (365 days before as_of: outside 12 months) and 6 on
        # 2023-05-02 (inside): responses_12m 1, avg_ces_12m 6.0.
        + [
            {
                "response_id": f"r1-{day}",
                "contact_id": "R1",
                "responded_at": f"{day} 10:00:00",
                "survey_type": "ces",
                "score": score,
            }
            for day, score in (("2023-05-01", "2"), ("2023-05-02", "6"))
        ]
        # D1 and D2 answer NPS 2 (a dissatisfaction signal) and nothing else: D1 on 2024-01-31
        # 23:00 (90 days before as_of: outside the 90-day window), D2 on 2024-02-01 00:00
        # (89 days: inside).
        + [
            {
                "response_id": f"r{c}",
                "contact_id": c,
                "responded_at": at,
                "survey_type": "nps",
                "score": "2",
            }
            for c, at in (("D1", "2024-01-31 23:00:00"), ("D2", "2024-02-01 00:00:00"))
        ]
        # R2's only answer is 365 days old: no survey channel.
        + [
            {
                "response_id": "r2-1",
                "contact_id": "R2",
                "responded_at": "2023-05-01 10:00:00",
                "survey_type": "nps",
                "score": "9",
            }
        ],
    )
    # M1's negative tweets: 2023-05-01 (outside 12 months) and 2023-05-02 (inside).
    insert_rows(
        con,
        "social_mentions",
        [
            {
                "mention_id": f"m1-{day}",
                "platform": "twitter",
                "author_handle": "m1_handle",
                "text": "bad",
                "posted_at": f"{day} 10:00:00",
                "sentiment": "negative",
            }
            for day in ("2023-05-01", "2023-05-02")
        ]
        # Posted on as_of, answered exactly at the end of as_of (midnight after): not replied yet.
        + [
            {
                "mention_id": "late-reply",
                "platform": "facebook",
                "author_handle": "someone",
                "text": "hello?",
                "posted_at": "2024-04-30 10:00:00",
                "sentiment": "neutral",
                "brand_replied_at": "2024-05-01 00:00:00",
            }
        ],
    )
    # E-mail windows. E1: campaign c1 delivered, opened and clicked on 2024-01-31 (90 days before
    # as_of: outside the 90-day window), c2 on 2024-02-01 (inside) -> 1 delivered, 1 opened,
    # 1 clicked in 90 days. E2 opened c3 on 2023-05-01 (365 days: outside 12 months), E3 on
    # 2023-05-02 (inside): the e-mail channel counts for E3 only.
    events = [
        ("e1@x.test", "c1", "2024-01-31"),
        ("e1@x.test", "c2", "2024-02-01"),
        ("e2@x.test", "c3", "2023-05-01"),
        ("e3@x.test", "c3", "2023-05-02"),
    ]
    # The e-mail channel is an open or a click in 12 months, each on its own: E4 opened c4 on
    # 2023-05-02 (364 days: inside) and never clicked; E5 opened c4 on 2023-05-01 (365 days:
    # outside) and clicked it on 2023-05-02 (inside).
    single = [
        ("e4@x.test", "c4", "sent", "2023-05-02 08:00:00"),
        ("e4@x.test", "c4", "delivered", "2023-05-02 08:01:00"),
        ("e4@x.test", "c4", "open", "2023-05-02 09:00:00"),
        ("e5@x.test", "c4", "sent", "2023-05-01 08:00:00"),
        ("e5@x.test", "c4", "delivered", "2023-05-01 08:01:00"),
        ("e5@x.test", "c4", "open", "2023-05-01 09:00:00"),
        ("e5@x.test", "c4", "click", "2023-05-02 09:00:00"),
    ]
    insert_rows(
        con,
        "email_events",
        [
            {
                "event_id": f"{email}-{campaign}-{kind}",
                "email": email,
                "campaign_id": campaign,
                "event_type": kind,
                "occurred_at": f"{day} {hour}",
            }
            for email, campaign, day in events
            for kind, hour in (
                ("sent", "08:00:00"),
                ("delivered", "08:01:00"),
                ("open", "09:00:00"),
                ("click", "09:01:00"),
            )
        ]
        + [
            {
                "event_id": f"{email}-{campaign}-{kind}",
                "email": email,
                "campaign_id": campaign,
                "event_type": kind,
                "occurred_at": at,
            }
            for email, campaign, kind, at in single
        ],
    )
    build_all(con)
    yield con
    con.close()


def test_churn_window_edges_at_month_start_and_end(warehouse):
    (march,) = records(warehouse, "select * from retention_monthly where month = '2024-03-01'")
    # S = {Q, R, T}; retained = {T}; nobody new or reactivated in March; churned = {Q, R}.
    cols = (
        "customers_start",
        "new_customers",
        "retained_customers",
        "reactivated_customers",
        "customers_end",
        "churned_customers",
        "retention_rate",
        "churn_rate",
    )
    # By column name, so that a failure says which figure differs.
    assert {c: march[c] for c in cols} == dict(
        zip(cols, (3, 0, 1, 0, 1, 2, pytest.approx(1 / 3), pytest.approx(2 / 3)), strict=True)
    )


def test_active_on_as_of_edge(warehouse):
    # Active on 2024-04-30: (2024-03-16, 2024-04-30]; nobody bought after Feb 16: none active.
    got = records(warehouse, "select count(*) as n from loyalty_customers where is_active")
    assert got == [{"n": 0}]


def test_twelve_month_window_edge(warehouse):
    got = records(
        warehouse,
        "select t.ticket_id, c.tickets_12m from customer_360 c "
        "join int_tickets t on t.customer_id = c.customer_id "
        "where t.ticket_id in ('h1', 'h2') order by t.ticket_id",
    )
    # H1's ticket (365 days old) is outside, H2's (364 days) inside; by ticket, so that a
    # window that took H1's and left H2's would fail (ordered by the count it would not).
    assert {r["ticket_id"]: r["tickets_12m"] for r in got} == {"h1": 0, "h2": 1}
    (summary,) = records(warehouse, "select helped_customers_12m from loyalty_summary")
    # Helped in the last 12 months: H2, S1..S4, L1, L2 (April 2024), V1 and V2; not H1, nor L3
    # (created at the end of as_of).
    assert summary["helped_customers_12m"] == 9


def test_ninety_day_window_edge(warehouse):
    got = records(
        warehouse,
        "select c.dissatisfied_90d, c.silent_dissatisfied_90d from customer_360 c "
        "join int_tickets t on t.customer_id = c.customer_id "
        "where t.ticket_id in ('v1', 'v2') order by t.ticket_id",
    )
    cols = ("dissatisfied_90d", "silent_dissatisfied_90d")
    assert {f"v{i}": {c: r[c] for c in cols} for i, r in enumerate(got, 1)} == {
        "v1": {"dissatisfied_90d": True, "silent_dissatisfied_90d": True},
        "v2": {"dissatisfied_90d": True, "silent_dissatisfied_90d": False},
    }


def test_a_signal_90_days_old_is_outside_and_89_days_inside(warehouse):
    # D1's only signal is 90 days old: not dissatisfied. D2's is 89 days old: dissatisfied, and
    # silent (D2 has no ticket at all).
    got = {
        r["customer_id"]: (r["dissatisfied_90d"], r["silent_dissatisfied_90d"])
        for r in records(
            warehouse,
            "select customer_id, dissatisfied_90d, silent_dissatisfied_90d from customer_360",
        )
    }
    d1, d2 = (got[hashlib.sha256(f"contact:{c}".encode()).hexdigest()[:16]] for c in ("D1", "D2"))
    # (dissatisfied_90d, silent_dissatisfied_90d) by customer
    assert {"D1": d1, "D2": d2} == {"D1": (False, False), "D2": (True, True)}


def test_email_windows_edges(warehouse):
    got = {
        r["email_sha256"]: r
        for r in records(
            warehouse,
            "select email_sha256, emails_delivered_90d, opens_90d, clicks_90d, open_rate_90d, "
            "channels_engaged_12m from customer_360",
        )
    }
    e1, e2, e3 = (
        got[hashlib.sha256(f"{c}@x.test".encode()).hexdigest()] for c in ("e1", "e2", "e3")
    )
    cols = ("emails_delivered_90d", "opens_90d", "clicks_90d", "open_rate_90d")
    assert {"E1": {c: e1[c] for c in cols}} == {"E1": dict(zip(cols, (1, 1, 1, 1.0), strict=True))}
    engaged = {"E2": e2["channels_engaged_12m"], "E3": e3["channels_engaged_12m"]}
    assert engaged == {"E2": 0, "E3": 1}


def test_an_open_or_a_click_alone_at_364_days_is_the_email_channel(warehouse):
    # E4: an open 364 days old, no click; E5: an open 365 days old (outside) and a click 364
    # days old (inside). Each has the e-mail channel from one event alone, and no other channel.
    got = {
        r["customer_id"]: r
        for r in records(
            warehouse,
            "select customer_id, engaged_email_12m, channels_engaged_12m "
            "from int_customer_engagement",
        )
    }
    e4, e5 = (got[hashlib.sha256(f"contact:{c}".encode()).hexdigest()[:16]] for c in ("E4", "E5"))
    cols = ("engaged_email_12m", "channels_engaged_12m")
    assert {"E4": {c: e4[c] for c in cols}, "E5": {c: e5[c] for c in cols}} == {
        "E4": {"engaged_email_12m": True, "channels_engaged_12m": 1},
        "E5": {"engaged_email_12m": True, "channels_engaged_12m": 1},
    }


def test_survey_and_mention_twelve_month_edges(warehouse):
    got = {
        r["email_sha256"]: r
        for r in records(
            warehouse,
            "select email_sha256, avg_ces_12m, mentions_12m, negative_mentions_12m, "
            "channels_engaged_12m from customer_360",
        )
    }
    r1, m1 = (got[hashlib.sha256(f"{c}@x.test".encode()).hexdigest()] for c in ("r1", "m1"))
    cols = ("avg_ces_12m", "mentions_12m", "negative_mentions_12m", "channels_engaged_12m")
    assert {"R1": {c: r1[c] for c in cols}, "M1": {c: m1[c] for c in cols}} == {
        "R1": dict(zip(cols, (6.0, 0, 0, 1), strict=True)),
        "M1": dict(zip(cols, (None, 1, 1, 1), strict=True)),
    }


def test_engagement_flags(warehouse):
    # int_customer_engagement's flags: E2's only open is 365 days old (no e-mail channel), H1's
    # only ticket too (no support channel), R2's only answer too (no survey channel); R1
    # answered a survey in the window, M1 was mentioned, nobody else.
    got = {
        r["customer_id"]: r
        for r in records(
            warehouse,
            "select customer_id, engaged_email_12m, engaged_social_12m, engaged_support_12m, "
            "engaged_survey_12m from int_customer_engagement",
        )
    }
    cid = {
        c: hashlib.sha256(f"contact:{c}".encode()).hexdigest()[:16]
        for c in ("E2", "E3", "H1", "H2", "R1", "R2", "M1")
    }
    flags = ("engaged_email_12m", "engaged_social_12m", "engaged_support_12m", "engaged_survey_12m")
    expected = {
        "E2": (False, False, False, False),
        "E3": (True, False, False, False),
        "H1": (False, False, False, False),
        "H2": (False, False, True, False),
        "R1": (False, False, False, True),
        "R2": (False, False, False, False),
        "M1": (False, True, False, False),
    }
    assert {c: {f: got[i][f] for f in flags} for c, i in cid.items()} == {
        c: dict(zip(flags, values, strict=True)) for c, values in expected.items()
    }


def test_a_reply_at_the_end_of_as_of_is_no_reply(warehouse):
    (april,) = records(
        warehouse,
        "select mentions, replied, response_rate from social_monthly "
        "where month = '2024-04-01' and platform = 'facebook'",
    )
    assert april == {"mentions": 1, "replied": 0, "response_rate": 0.0}


def test_sla_edges(warehouse):
    (april,) = records(
        warehouse,
        "select tickets_created, tickets_solved, median_first_response_hours, sla_met_rate "
        "from satisfaction_monthly where month = '2024-04-01'",
    )
    # Created in April: S1..S4, L1, L2; solved by as_of: none (L2's solve is at the end of
    # as_of). Answered: S1 (24 h) and S2 (24 h 1 s), not L1: median (24 + 24 + 1/3600) / 2.
    # SLA eligible: S1, S2 (answered), S3, L1, L2 (unanswered, created >= 24 h before the end of
    # as_of); met: S1.
    assert april == {
        "tickets_created": 6,
        "tickets_solved": 0,
        "median_first_response_hours": pytest.approx(24 + 0.5 / 3600, rel=1e-12),
        "sla_met_rate": pytest.approx(1 / 5),
    }


def test_a_record_at_the_end_of_as_of_does_not_start_the_month_series(tmp_path):
    # The only record of all is a ticket created at the end of as_of exactly (2024-05-01 00:00,
    # the midnight after as_of 2024-04-30): nothing is dated on or before as_of, so the month
    # series is as_of's month alone, April 2024, which ends on as_of (complete). Counting the
    # ticket would start the series in May, after its end: no month at all.
    con = new_warehouse(tmp_path)
    write_settings(con, "2024-04-30", churn_days=45)
    insert_rows(
        con,
        "tickets",
        [
            {
                "ticket_id": "t",
                "contact_id": "X",
                "created_at": "2024-05-01 00:00:00",
                "status": "open",
            }
        ],
    )
    staging = {m.name for m in discover_models(SQL_DIR) if m.layer == "staging"}
    build_models(con, SQL_DIR, only=staging | {"int_months"})
    got = records(con, "select month, month_end_date, period_end_date, is_complete from int_months")
    april, end = dt.date(2024, 4, 1), dt.date(2024, 4, 30)
    assert got == [
        {"month": april, "month_end_date": end, "period_end_date": end, "is_complete": True}
    ]
    con.close()


def test_a_recipient_outside_every_window_counts_only_by_its_unsubscribe(tmp_path):
    # int_customer_engagement leaves out, before grouping, the recipients that count in no
    # e-mail fact: no delivery in 90 days, no open or click in 12 months, no unsubscribe. as_of
    # 2024-04-30. U1 got c1 on 2023-04-01 (395 days old) and unsubscribed from it then: outside
    # every window, but an unsubscribe counts whenever it was. U2 got, opened and clicked c1 on
    # the same day and never unsubscribed: it counts nowhere, so U2 has the facts of a customer
    # without e-mail (zero counts, no open rate, not unsubscribed), not a missing row.
    con = new_warehouse(tmp_path)
    write_settings(con, "2024-04-30")
    insert_rows(
        con,
        "contacts",
        [
            {"contact_id": c, "created_at": "2023-01-01 00:00:00", "email": f"{c}@x.test"}
            for c in ("u1", "u2")
        ],
    )
    kinds = {
        "u1": ("sent", "delivered", "unsubscribe"),
        "u2": ("sent", "delivered", "open", "click"),
    }
    insert_rows(
        con,
        "email_events",
        [
            {
                "event_id": f"{c}-{kind}",
                "email": f"{c}@x.test",
                "campaign_id": "c1",
                "event_type": kind,
                "occurred_at": f"2023-04-01 08:0{i}:00",
            }
            for c, events in kinds.items()
            for i, kind in enumerate(events)
        ],
    )
    build_all(con)
    cols = "emails_delivered_90d, opens_90d, clicks_90d, open_rate_90d, is_unsubscribed"
    got = {
        r.pop("customer_id"): r
        for r in records(
            con, f"select customer_id, {cols}, engaged_email_12m from int_customer_engagement"
        )
    }
    u1, u2 = (hashlib.sha256(f"contact:{c}".encode()).hexdigest()[:16] for c in ("u1", "u2"))
    nothing = {"emails_delivered_90d": 0, "opens_90d": 0, "clicks_90d": 0, "open_rate_90d": None}
    assert got == {
        u1: {**nothing, "is_unsubscribed": True, "engaged_email_12m": False},
        u2: {**nothing, "is_unsubscribed": False, "engaged_email_12m": False},
    }
    con.close()
