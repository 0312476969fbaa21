"""Each shipped vendor mapping on a small fixture written from the vendor's export docs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from ingest_support import FIXTURES, drop, land, make_settings, query

from pipeline.entities import ENTITIES
from pipeline.ingest.mappings import SHIPPED_DIR, load_companions, load_mapping_file

D = dt.datetime


def land_fixture(data_dir, name: str, entity: str, columns: str, order: str):
    """Land one fixture; returns (report, selected rows, quarantine (row, reason) pairs)."""
    s = make_settings(data_dir)
    path = next(FIXTURES.glob(f"{name}.*"))
    drop(s, entity, path.name, path.read_bytes())
    (report,) = land(s, entity)
    got = query(s, f"select {columns} from raw_{entity} order by {order}").rows()
    bad = query(s, "select row_number, reason from quarantine_rows order by row_number").rows()
    return report, got, bad


def test_every_shipped_mapping_has_a_fixture_and_valid_columns():
    # A companion reads its host's files: the host's fixture is its own (zendesk_satisfaction
    # reads zendesk_tickets.csv, test_zendesk_tickets).
    companions = {c.name for e in ENTITIES for cs in load_companions(e).values() for c in cs}
    shipped = sorted(p.stem for p in SHIPPED_DIR.glob("*.toml"))
    assert companions == {"zendesk_satisfaction"}
    assert sorted(set(shipped) - companions) == sorted(p.stem for p in FIXTURES.iterdir())
    for path in SHIPPED_DIR.glob("*.toml"):
        mapping = load_mapping_file(path)
        assert mapping.name == path.stem
        assert set(mapping.columns) <= set(ENTITIES[mapping.entity].columns)


def test_hubspot_contacts(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "hubspot_contacts",
        "contacts",
        "contact_id, first_name, created_at, acquisition_source, birth_date, twitter_handle, "
        "updated_at",
        "contact_id",
    )
    assert (report.mapping, report.rows_landed) == ("hubspot_contacts", 2)
    assert got == [
        ("101", "Ana", D(2024, 1, 5, 9, 30), "referral", dt.date(1990, 4, 12), "anapop",
         D(2024, 2, 1, 10)),
        ("102", "Jürgen", D(2024, 1, 6, 14), "paid", None, None, None),
    ]  # fmt: skip
    assert bad == [(4, "created_at ('Create Date') is missing")]


def test_salesforce_contacts(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "salesforce_contacts",
        "contacts",
        "contact_id, created_at, acquisition_source, birth_date, updated_at",
        "contact_id",
    )
    assert report.mapping == "salesforce_contacts"
    # 4:15 PM is 16:15; "Partner Referral" is a referral, "Web" organic.
    assert got == [
        ("0035g00000AbCdE", D(2024, 1, 5, 9, 30), "referral", dt.date(1985, 3, 14),
         D(2024, 2, 1, 16, 15)),
        ("0035g00000AbCdF", D(2024, 1, 6, 12, 5), "organic", None, None),
    ]  # fmt: skip
    assert bad == [
        (
            4,
            "created_at ('Created Date'): cannot read '2024-01-06' as a timestamp in format "
            "%m/%d/%Y %I:%M %p",
        )
    ]


def test_hubspot_deals(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "hubspot_deals",
        "orders",
        "order_id, contact_id, ordered_at, status, currency, gross_amount",
        "order_id",
    )
    assert report.mapping == "hubspot_deals"
    assert got == [
        ("9001", "101", D(2024, 2, 10, 15), "completed", "EUR", Decimal("1200")),
        ("9002", "102", D(2024, 2, 11, 9), "cancelled", "EUR", Decimal("300")),
    ]
    assert len(bad) == 1 and bad[0][0] == 4 and bad[0][1].startswith("neither contact_id")


def test_shopify_orders_lines_become_orders(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "shopify_orders",
        "orders",
        "order_id, email, ordered_at, status, currency, gross_amount, discount_amount, "
        "refund_amount, _row_number",
        "order_id",
    )
    assert report.mapping == "shopify_orders"
    # 6 lines read → 3 orders landed; #1004's two lines are quarantined together.
    assert (report.rows_read, report.rows_landed, report.rows_quarantined) == (6, 3, 2)
    assert got == [
        # #1001: 2 × 50.00 + 1 × 40.00 = 140.00; 10:00 at +03:00 = 07:00 UTC; the second
        # line's blank Email/Currency come from the first line.
        ("#1001", "ana.pop@example.ro", D(2024, 5, 1, 7), "completed", "RON", Decimal("140"),
         Decimal("10"), Decimal("0"), 2),
        ("#1002", "sam@example.com", D(2024, 5, 3, 12), "completed", "RON", Decimal("30"),
         Decimal("0"), Decimal("5"), 4),
        ("#1003", "bo@example.com", D(2024, 5, 4, 8), "cancelled", "RON", Decimal("20"),
         Decimal("0"), Decimal("0"), 5),
    ]  # fmt: skip
    assert bad == [
        (6, "another line of order '#1004' was quarantined"),
        (7, "'Lineitem quantity': cannot read 'two' as a number"),
    ]


def test_uci_online_retail_invoices(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "uci_online_retail",
        "orders",
        "order_id, contact_id, ordered_at, status, currency, gross_amount",
        "order_id",
    )
    assert report.mapping == "uci_online_retail"
    assert got == [
        # 6 × 2.55 + 6 × 3.39 = 35.64; December is GMT, so UK time = UTC.
        ("536365", "17850", D(2010, 12, 1, 8, 26), "completed", "GBP", Decimal("35.64")),
        # July is BST (UTC+1): 10:00 in London is 09:00 UTC. 2 × 4.95 = 9.90.
        ("559000", "12583", D(2011, 7, 1, 9), "completed", "GBP", Decimal("9.9")),
        # A C invoice is a credit note: cancelled, its value as delivered (-1 × 27.50).
        ("C536379", "14527", D(2010, 12, 1, 9, 41), "cancelled", "GBP", Decimal("-27.5")),
    ]
    assert bad == [
        (5, "neither contact_id ('CustomerID') nor email is given: the row cannot be linked to "
            "anyone")
    ]  # fmt: skip


def test_cdnow_purchase_log(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "cdnow",
        "orders",
        "order_id, contact_id, ordered_at, status, currency, gross_amount",
        "_row_number",
    )
    assert (report.mapping, report.rows_landed, bad) == ("cdnow", 4, [])
    assert got == [
        ("00001-19970101-1", "00001", D(1997, 1, 1), "completed", "USD", Decimal("11.77")),
        # Customer 00002 bought twice on 1997-01-12: n counts the day's purchases.
        ("00002-19970112-1", "00002", D(1997, 1, 12), "completed", "USD", Decimal("12")),
        ("00002-19970112-2", "00002", D(1997, 1, 12), "completed", "USD", Decimal("77")),
        ("00003-19970102-1", "00003", D(1997, 1, 2), "completed", "USD", Decimal("20.76")),
    ]


def test_cdnow_sample_without_a_header_row(data_dir):
    # The 1/10th sample has no header: the mapping names its five columns when the first line
    # is five numbers (master id, sample id, YYYYMMDD, CDs, dollars). Every line is a record,
    # so the first purchase is row 1.
    report, got, bad = land_fixture(
        data_dir,
        "cdnow_sample",
        "orders",
        "_row_number, order_id, contact_id, ordered_at, gross_amount",
        "_row_number",
    )
    assert (report.mapping, report.rows_landed, bad) == ("cdnow_sample", 5, [])
    assert got == [
        # contact_id is the master id, as in CDNOW_master.txt (and the same order ids)
        (1, "00004-19970101-1", "00004", D(1997, 1, 1), Decimal("29.33")),
        (2, "00004-19970118-1", "00004", D(1997, 1, 18), Decimal("29.73")),
        (3, "00021-19970101-1", "00021", D(1997, 1, 1), Decimal("63.34")),
        (4, "00021-19970101-2", "00021", D(1997, 1, 1), Decimal("11.77")),
        # $0.00 lands as delivered; it is not a qualifying purchase in the marts
        (5, "01101-19970105-1", "01101", D(1997, 1, 5), Decimal("0")),
    ]


def test_a_headered_cdnow_file_is_still_the_master_mapping(data_dir):
    # A header line does not match the sample's first-line pattern: the usual recognition.
    report, _, _ = land_fixture(data_dir, "cdnow", "orders", "order_id", "order_id")
    assert report.mapping == "cdnow"


def test_hubspot_tickets(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "hubspot_tickets",
        "tickets",
        "ticket_id, channel, category, status, first_response_at, solved_at",
        "ticket_id",
    )
    assert (report.mapping, bad) == ("hubspot_tickets", [])
    assert got == [
        ("5001", "email", "incident", "closed", D(2024, 3, 1, 9, 30), D(2024, 3, 2, 12)),
        ("5002", "web", "complaint", "pending", None, None),
        ("5003", None, "request", "new", None, None),  # Facebook: no contract channel
    ]


def test_zendesk_tickets(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "zendesk_tickets",
        "tickets",
        "ticket_id, contact_id, email, channel, category, status, first_response_at, "
        "agent_replies, reopens",
        "ticket_id",
    )
    assert report.mapping == "zendesk_tickets"
    assert got == [
        # first reply = created 08:00 + 90 minutes
        ("31", None, "ana.pop@example.ro", "email", "incident", "solved", D(2024, 6, 1, 9, 30),
         2, 0),
        # hold → pending; 12:00 + 15.5 minutes = 12:15:30
        ("32", None, "sam@example.com", "web", "question", "pending", D(2024, 6, 3, 12, 15, 30),
         1, 0),
    ]  # fmt: skip
    assert bad == [
        (4, "created_at ('Created at'): cannot read 'not a date' as an ISO 8601 timestamp")
    ]
    # The rated tickets are CSAT responses (companion zendesk_satisfaction): good 5, bad 1, at
    # Solved at, else (33 has none) Updated at; 32 was offered a survey and did not answer.
    s = make_settings(data_dir)
    got = query(
        s, "select response_id, ticket_id, responded_at, survey_type, score from raw_surveys"
    ).rows()
    assert sorted(got) == [
        ("zendesk-31", "31", D(2024, 6, 2, 10), "csat", 5),
        ("zendesk-33", "33", D(2024, 6, 4, 12, 30), "csat", 1),
    ]
    (part,) = report.parts
    assert (part.rows_read, part.rows_landed, part.rows_quarantined) == (3, 2, 0)
    assert part.reason == "1 row skipped, the ticket was not rated: 'Satisfaction Score' offered 1"


def test_hubspot_feedback(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "hubspot_feedback",
        "surveys",
        "response_id, survey_type, score, comment, ticket_id",
        "response_id",
    )
    assert report.mapping == "hubspot_feedback"
    # HubSpot's CSAT answers are 0 (unhappy), 1 (neutral), 2 (happy): 2 is the contract's 5,
    # 0 its 1; a 4 is no answer of HubSpot's CSAT (it landed as a satisfied 4 before).
    assert got == [
        ("7001", "nps", 9, "Great service, thank you!", None),
        ("7002", "csat", 5, "Quick answer, thanks", "5002"),
        ("7005", "csat", 1, "Slow answer", "5005"),
    ]
    assert bad == [
        (4, "score 8 is outside the ces range 1–7"),
        (5, "score ('Rating') '4' is not one of the csat answers of hubspot_feedback: 0, 1, 2"),
    ]


def test_mailchimp_unsubscribed(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "mailchimp_unsubscribed",
        "email_events",
        "email, campaign_id, campaign_name, event_type, occurred_at",
        "occurred_at",
    )
    assert report.mapping == "mailchimp_unsubscribed"
    assert got == [
        ("ana.pop@example.ro", "a1b2c3d4e5", "July newsletter", "unsubscribe",
         D(2024, 7, 1, 18, 30)),
    ]  # fmt: skip
    assert bad == [(3, "campaign_id ('UNSUB_CAMPAIGN_ID') is missing")]


def test_mailchimp_cleaned(data_dir):
    report, got, bad = land_fixture(
        data_dir, "mailchimp_cleaned", "email_events", "email, event_type, occurred_at", "email"
    )
    assert report.mapping == "mailchimp_cleaned"
    assert (got, bad) == ([("old@example.org", "bounce", D(2024, 7, 3, 5))], [])


def test_mailchimp_activity(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "mailchimp_activity",
        "email_events",
        "email, event_type, occurred_at, url",
        "occurred_at",
    )
    assert report.mapping == "mailchimp_activity"
    assert got == [
        ("sam@example.com", "bounce", D(2024, 7, 1, 7, 59), None),
        ("ana.pop@example.ro", "open", D(2024, 7, 1, 8), None),
        ("ana.pop@example.ro", "click", D(2024, 7, 1, 8, 1, 30), "https://shop.example.ro/summer"),
    ]
    assert bad == [
        (5, "event_type ('Action') 'forward' is not one of sent, delivered, open, click, bounce, "
            "unsubscribe, spam_complaint")
    ]  # fmt: skip


def test_klaviyo_events(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "klaviyo_events",
        "email_events",
        "event_id, campaign_id, campaign_name, event_type",
        "event_id",
    )
    assert report.mapping == "klaviyo_events"
    assert got == [
        ("4JpcbHz5Fm", "RmSgTq", "August promo", "sent"),  # Klaviyo logs no other send event
        ("4JpcbHz5Fn", "RmSgTq", "August promo", "open"),
        ("4JpcbHz5Fo", "RmSgTq", "August promo", "click"),
        ("4JpcbHz5Fp", "RmSgTq", "August promo", "spam_complaint"),
    ]
    assert [r for r, _ in bad] == [6] and "'dropped email' is not one of" in bad[0][1]


def test_social_listening(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "social_listening",
        "social_mentions",
        "platform, author_handle, author_name, language, sentiment, brand_replied_at, text",
        "_row_number",
    )
    assert (report.mapping, bad) == ("social_listening", [])
    assert got == [
        ("twitter", "@AnaPop", "Ana Pop", "en", "positive", D(2024, 9, 1, 11),
         "Love the new mug from @shop, 10/10!"),
        ("instagram", "jurgen.m", "Jürgen Müller", "de", "negative", None,
         "Die Teekanne ist leider kaputt angekommen."),
        # "Forums" is no contract platform → other; "Not Rated" → left for the scorer.
        ("other", "someone", None, "ro", None, None, "Cana e ok, livrarea a durat."),
    ]  # fmt: skip


def test_twitter_airline(data_dir):
    report, got, bad = land_fixture(
        data_dir,
        "twitter_airline",
        "social_mentions",
        "mention_id, platform, author_handle, posted_at, sentiment",
        "_row_number",
    )
    assert (report.mapping, bad) == ("twitter_airline", [])
    # 11:35:52 at -08:00 is 19:35:52 UTC; row 4 repeats row 2 (staging keeps the first).
    assert got == [
        ("5.70306133677761E+017", "twitter", "cairdin", D(2015, 2, 24, 19, 35, 52), "neutral"),
        ("5.70301130888122E+017", "twitter", "jnardino", D(2015, 2, 24, 19, 15, 59), "positive"),
        ("5.70306133677761E+017", "twitter", "cairdin", D(2015, 2, 24, 19, 35, 52), "neutral"),
    ]


@pytest.mark.parametrize("missing", ["Lineitem price", "Financial Status"])
def test_a_vendor_header_missing_a_signature_column_names_it(data_dir, missing):
    s = make_settings(data_dir)
    text = (FIXTURES / "shopify_orders.csv").read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    header = ",".join("Something else" if c == missing else c for c in header.split(","))
    drop(s, "orders", "shop.csv", header + "\n" + rest)
    (report,) = land(s, "orders")
    assert report.status == "refused"
    assert f"the closest is 'shopify_orders', which lacks '{missing}'" in report.reason
