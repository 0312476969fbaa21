"""Readings of metrics.md / contracts.md where a careful reader could differ, each worked by hand.

as_of = 2024-04-30 (end of as_of: 2024-05-01 00:00 UTC), churn_days 90, sla_hours 24.

E-mail (email_monthly; spec: "a recipient's events for a campaign count in the month of that
recipient's first sent event", "for a campaign that has no delivered event at all, delivered =
recipients sent and not bounced", rates "/ delivered"):
- C1 has delivered events; b opened and unsubscribed without one (docs/open-rules.md R8).
- G2's only delivered event is at the end of as_of: not yet happened, so at as_of G2 has no
  delivered event at all and falls back to sent-and-not-bounced.
- G3 (no delivered events): p is sent in March and again in April and bounces in April; all of
  p's events count in March, its first sent month.
- G4 has a delivered event, but only of r, who was never sent: the campaign is not "without a
  delivered event at all", so p and z (sent, no delivered event) are not delivered.

Identity (contracts.md "Linking", "Who is a customer"):
- o1 names LATE, a contact created at the end of as_of (it does not exist yet), and carries A's
  e-mail: it links by e-mail to A.
- o2 names Z, no contact: a customer outside the CRM keyed contact:Z, with e-mail z@x.test (R2).
- t2 names Z: Z's ticket. t1 carries only z@x.test: its key is email:z@x.test, which has no
  qualifying purchase, so it is no customer's ticket (it still counts in the monthly totals).
- z@x.test's e-mail events go to Z, the customer holding that e-mail (R3).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings

APRIL = dt.date(2024, 4, 1)
MARCH = dt.date(2024, 3, 1)


def cid(natural_key: str) -> str:
    """The published customer_id (contracts.md): first 16 hex digits of sha256(natural_key)."""
    return hashlib.sha256(natural_key.encode()).hexdigest()[:16]


def event(email: str, campaign: str, kind: str, at: str) -> dict[str, str]:
    return {"email": email, "campaign_id": campaign, "event_type": kind, "occurred_at": at}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = new_warehouse(tmp_path_factory.mktemp("readings"))
    write_settings(con, "2024-04-30")
    insert_rows(
        con,
        "contacts",
        [
            {"contact_id": "A", "email": "a@x.test", "created_at": "2023-01-01 00:00:00"},
            {"contact_id": "LATE", "email": "late@x.test", "created_at": "2024-05-01 00:00:00"},
        ],
    )
    order = {"ordered_at": "2024-04-01 10:00:00", "status": "completed", "gross_amount": "10"}
    insert_rows(
        con,
        "orders",
        [
            {**order, "order_id": "o1", "contact_id": "LATE", "email": "a@x.test"},
            {**order, "order_id": "o2", "contact_id": "Z", "email": "z@x.test"},
        ],
    )
    ticket = {"status": "open"}
    insert_rows(
        con,
        "tickets",
        [
            {**ticket, "ticket_id": "t1", "email": "z@x.test", "created_at": "2024-04-02 10:00:00"},
            {**ticket, "ticket_id": "t2", "contact_id": "Z", "created_at": "2024-04-03 10:00:00"},
        ],
    )
    insert_rows(
        con,
        "email_events",
        [
            event("a@x.test", "C1", "sent", "2024-04-01 10:00:00"),
            event("a@x.test", "C1", "delivered", "2024-04-01 10:01:00"),
            event("a@x.test", "C1", "open", "2024-04-01 11:00:00"),
            event("b@x.test", "C1", "sent", "2024-04-01 10:00:00"),
            event("b@x.test", "C1", "open", "2024-04-01 11:00:00"),
            event("b@x.test", "C1", "unsubscribe", "2024-04-01 12:00:00"),
            event("p@x.test", "G2", "sent", "2024-04-01 10:00:00"),
            event("q@x.test", "G2", "sent", "2024-04-01 10:00:00"),
            event("q@x.test", "G2", "delivered", "2024-05-01 00:00:00"),
            event("p@x.test", "G3", "sent", "2024-03-01 10:00:00"),
            event("p@x.test", "G3", "sent", "2024-04-01 10:00:00"),
            event("p@x.test", "G3", "bounce", "2024-04-01 10:01:00"),
            event("q@x.test", "G3", "sent", "2024-04-01 10:00:00"),
            event("p@x.test", "G4", "sent", "2024-04-01 10:00:00"),
            event("r@x.test", "G4", "delivered", "2024-04-01 10:00:00"),
            event("z@x.test", "G4", "sent", "2024-04-01 10:00:00"),
            event("z@x.test", "G4", "open", "2024-04-02 10:00:00"),
            event("z@x.test", "G4", "spam_complaint", "2024-04-02 10:00:00"),
        ],
    )
    build_all(con)
    yield con
    con.close()


def test_email_monthly_delivery_rules(warehouse):
    got = {
        (r["month"], r["campaign_id"]): r for r in records(warehouse, "select * from email_monthly")
    }
    assert sorted(got) == [
        (MARCH, "G3"),
        (APRIL, "C1"),
        (APRIL, "G2"),
        (APRIL, "G3"),
        (APRIL, "G4"),
    ]
    counts = ("sent", "delivered", "bounced", "unique_opens", "unsubscribes", "spam_complaints")

    def figures(key):
        # by column name, so that a failure says which figure differs
        return {c: got[key][c] for c in counts}

    def expect(*values):
        return dict(zip(counts, values, strict=True))

    # C1: sent a, b; delivered a only (b has no delivered event); opened a, b; b unsubscribed.
    # open_rate = 2 / 1 and unsubscribe_rate = 1 / 1, the spec's formula (R8).
    assert figures((APRIL, "C1")) == expect(2, 1, 0, 2, 1, 0)
    rates = ("open_rate", "unsubscribe_rate")
    assert {c: got[(APRIL, "C1")][c] for c in rates} == {"open_rate": 2.0, "unsubscribe_rate": 1.0}
    # G2: q's delivered event is not yet at as_of, so G2 has none: delivered = p, q (sent, not
    # bounced)
    assert figures((APRIL, "G2")) == expect(2, 2, 0, 0, 0, 0)
    assert got[(APRIL, "G2")]["open_rate"] == 0.0
    # G3: p's first sent is in March, so its April bounce counts there; q alone in April
    assert figures((MARCH, "G3")) == expect(1, 0, 1, 0, 0, 0)
    assert got[(MARCH, "G3")]["open_rate"] is None  # nothing delivered
    assert figures((APRIL, "G3")) == expect(1, 1, 0, 0, 0, 0)
    # G4: r (never sent) is left out; p and z are sent but not delivered; z opened, complained
    assert figures((APRIL, "G4")) == expect(2, 0, 0, 1, 0, 1)
    assert got[(APRIL, "G4")]["open_rate"] is None


def test_records_link_per_contract(warehouse):
    customers = records(warehouse, "select natural_key, email from int_customers order by 1")
    # LATE does not exist yet; email:z@x.test bought nothing, so it is no customer
    assert customers == [
        {"natural_key": "contact:A", "email": "a@x.test"},
        {"natural_key": "contact:Z", "email": "z@x.test"},
    ]
    purchases = records(
        warehouse, "select customer_id, order_id from int_purchases order by order_id"
    )
    assert purchases == [
        {"customer_id": cid("contact:A"), "order_id": "o1"},
        {"customer_id": cid("contact:Z"), "order_id": "o2"},
    ]
    tickets = records(warehouse, "select ticket_id, customer_id from int_tickets order by 1")
    assert tickets == [
        {"ticket_id": "t1", "customer_id": None},
        {"ticket_id": "t2", "customer_id": cid("contact:Z")},
    ]


def test_customer_360_email_and_signal_figures(warehouse):
    columns = (
        "purchases",
        "tickets_12m",
        "emails_delivered_90d",
        "opens_90d",
        "open_rate_90d",
        "is_unsubscribed",
        "dissatisfied_90d",
        "silent_dissatisfied_90d",
    )
    got = {
        r["customer_id"]: {c: r[c] for c in columns}
        for r in records(warehouse, "select * from customer_360")
    }
    # By customer and column name, so that a failure says which figure differs.
    expected = {
        # A: o1; C1 delivered and opened on 2024-04-01 (29 days before as_of)
        cid("contact:A"): (1, 0, 1, 1, 1.0, False, False, False),
        # Z: o2; ticket t2 (t1 is no customer's); G4 not delivered (G4 has a delivered
        # event, z none), opened; a spam complaint is a signal, not an unsubscribe, and t2 in
        # the same 90 days makes it not silent
        cid("contact:Z"): (1, 1, 0, 1, None, False, True, False),
    }
    assert got == {key: dict(zip(columns, values, strict=True)) for key, values in expected.items()}


def test_satisfaction_counts_a_ticket_of_no_customer(warehouse):
    got = records(
        warehouse,
        "select month, tickets_created, dissatisfied_customers, silent_dissatisfied_customers"
        " from satisfaction_monthly",
    )
    # The first month with a ticket or a signal is April (the March e-mail events are neither):
    # t1 and t2 created; Z's spam complaint makes Z dissatisfied, and t2 makes Z not silent.
    assert got == [
        {
            "month": APRIL,
            "tickets_created": 2,
            "dissatisfied_customers": 1,
            "silent_dissatisfied_customers": 0,
        }
    ]


def test_a_response_dated_before_the_record_is_kept_as_delivered(tmp_path):
    # docs/open-rules.md R9. Ticket n1 created 10:00, first response 08:00 (-2 h: within the
    # 24 h SLA, so eligible and met), solved 09:00 (-1 h), agent_replies 1, no reopens (FCR).
    # Mention m1 posted 10:00, brand reply 09:00: -60 minutes.
    con = new_warehouse(tmp_path)
    write_settings(con, "2024-04-30")
    insert_rows(
        con,
        "tickets",
        [
            {
                "ticket_id": "n1",
                "email": "n@x.test",
                "created_at": "2024-04-10 10:00:00",
                "first_response_at": "2024-04-10 08:00:00",
                "status": "solved",
                "solved_at": "2024-04-10 09:00:00",
                "agent_replies": "1",
            }
        ],
    )
    insert_rows(
        con,
        "social_mentions",
        [
            {
                "mention_id": "m1",
                "platform": "twitter",
                "author_handle": "someone",
                "posted_at": "2024-04-10 10:00:00",
                "brand_replied_at": "2024-04-10 09:00:00",
                "sentiment": "neutral",
            }
        ],
    )
    build_all(con)
    assert records(
        con,
        "select median_first_response_hours, sla_met_rate, median_resolution_hours, fcr_rate"
        " from satisfaction_monthly",
    ) == [
        {
            "median_first_response_hours": -2.0,
            "sla_met_rate": 1.0,
            "median_resolution_hours": -1.0,
            "fcr_rate": 1.0,
        }
    ]
    assert records(con, "select median_response_minutes from social_monthly") == [
        {"median_response_minutes": -60.0}
    ]
    con.close()
