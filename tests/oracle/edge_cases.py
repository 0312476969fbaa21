"""Hand-made canonical deliveries with the corner cases the generator does not produce.

Written next to a generated landing folder (as_of 2026-10-31), they land after it (file names
``zz_edge_1`` to ``zz_edge_3``) and exercise: upserts with and without ``updated_at``, merges
on e-mails that differ in case and spaces, created_at ties, a contact created after as_of,
non-contact customers keyed by contact_id and by e-mail, records of a non-customer, events on
the as_of boundary, missing ``agent_replies``/``reopens``, the SLA boundary, a campaign with no
``delivered`` event, a shared social handle, a sentiment label none of the three,
re-delivered immutable keys, and posts by the brand's own accounts (the edge configuration sets
``PIPELINE_BRAND_HANDLES`` to ``twitter:@Edge_Brand`` and Facebook's ``EdgeBrand``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline.entities import ENTITIES


def _row(entity: str, **values: str) -> dict[str, str]:
    """A canonical row of ``entity`` with every other column empty."""
    unknown = set(values) - set(ENTITIES[entity].columns)
    assert not unknown, f"not canonical {entity} columns: {unknown}"
    return {c: values.get(c, "") for c in ENTITIES[entity].columns}


def _contact(cid: str, created: str, updated: str, **values: str) -> dict[str, str]:
    return _row("contacts", contact_id=cid, created_at=created, updated_at=updated, **values)


def _order(oid: str, ordered: str, status: str, gross: str, **values: str) -> dict[str, str]:
    return _row(
        "orders", order_id=oid, ordered_at=ordered, status=status, gross_amount=gross, **values
    )


def _ticket(tid: str, created: str, status: str, **values: str) -> dict[str, str]:
    return _row("tickets", ticket_id=tid, created_at=created, status=status, **values)


def _survey(rid: str, at: str, kind: str, score: int, **values: str) -> dict[str, str]:
    return _row(
        "surveys", response_id=rid, responded_at=at, survey_type=kind, score=str(score), **values
    )


def _event(email: str, campaign: str, kind: str, at: str, **values: str) -> dict[str, str]:
    return _row(
        "email_events", email=email, campaign_id=campaign, event_type=kind, occurred_at=at, **values
    )


def _mention(mid: str, platform: str, handle: str, at: str, **values: str) -> dict[str, str]:
    return _row(
        "social_mentions",
        mention_id=mid,
        platform=platform,
        author_handle=handle,
        posted_at=at,
        **values,
    )


# PIPELINE_BRAND_HANDLES of the runs that land these deliveries: XM10-XM12 are the brand's.
BRAND_HANDLES = "twitter:@Edge_Brand, facebook:https://www.facebook.com/EdgeBrand/"
MERGE = "edge.merge@example.com"
OUTSIDER = "outsider1@example.com"
NOBUY = "nobuy@example.com"

DELIVERY_1: dict[str, list[dict[str, str]]] = {
    "contacts": [
        # XC1..XC3 are re-delivered in DELIVERY_2 to test the upsert rule.
        _contact("XC1", "2025-01-05T09:00:00Z", "2026-05-01T00:00:00Z", country="DE"),
        _contact("XC2", "2025-01-06T09:00:00Z", "2026-06-01T00:00:00Z", country="AT"),
        _contact("XC3", "2025-01-07T09:00:00Z", "2026-04-01T00:00:00Z", country="IT"),
        # XC4 and XC5 share an e-mail (case and spaces differ) and a created_at: XC4 survives.
        _contact(
            "XC4",
            "2025-01-01T10:00:00Z",
            "2025-01-01T10:00:00Z",
            email="  Edge.Merge@Example.com ",
            country="RO",
            acquisition_source="referral",
            twitter_handle="@Edge_Handle",
            instagram_handle="shared_ig",
        ),
        # XC5 alone holds facebook "xc5_fb": its mentions go to XC4, the contact it merged onto.
        _contact(
            "XC5",
            "2025-01-01T10:00:00Z",
            "2025-01-01T10:00:00Z",
            email=MERGE,
            country="SI",
            instagram_handle="Shared_IG",
            facebook_handle="xc5_fb",
        ),
        # XC6 is older and shares the e-mail now, but its latest version (DELIVERY_2) moves away.
        _contact("XC6", "2024-12-31T10:00:00Z", "2025-01-01T00:00:00Z", email=MERGE),
        # Created after as_of: does not exist yet.
        _contact(
            "XC7",
            "2026-11-05T10:00:00Z",
            "2026-11-05T10:00:00Z",
            email="edge.future@x.com",
            twitter_handle="future_handle",
        ),
        # Same created_at and linkedin handle, different e-mails: "XC10" < "XC9" holds it.
        _contact(
            "XC9",
            "2025-02-02T00:00:00Z",
            "2025-02-02T00:00:00Z",
            email="xc9@example.com",
            linkedin_handle="Same_LI",
            acquisition_source="Referral",
            country="ro",
            language="RO",
        ),
        _contact(
            "XC10",
            "2025-02-02T00:00:00Z",
            "2025-02-02T00:00:00Z",
            email="xc10@example.com",
            linkedin_handle="same_li",
        ),
        # Three versions each (DELIVERY_2, DELIVERY_3): see there.
        _contact("XC11", "2025-03-01T00:00:00Z", "2026-05-01T00:00:00Z", country="DE"),
        _contact("XC12", "2025-03-02T00:00:00Z", "", country="DE"),
        # Changes e-mail in DELIVERY_2: an order with the old e-mail is outside the CRM.
        _contact("XC13", "2025-03-03T00:00:00Z", "2025-03-03T00:00:00Z", email="old13@example.com"),
        # The oldest holder of the twitter handle XC4 also holds.
        _contact(
            "XC8", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", twitter_handle="edge_handle"
        ),
    ],
    "orders": [
        _order("XO1", "2026-09-15T10:00:00Z", "completed", "50", contact_id="XNC1", email=OUTSIDER),
        _order("XO2", "2026-09-16T10:00:00Z", "completed", "40", email="OUTSIDER1@example.com"),
        _order("XO3", "2026-10-01T10:00:00Z", "completed", "20", contact_id="XC7"),
        _order("XO4", "2026-10-20T10:00:00Z", "completed", "30", contact_id="XC5"),
        _order(
            "XO5", "2026-10-21T10:00:00Z", "refunded", "10", contact_id="XC4", refund_amount="10"
        ),
        _order("XO6", "2026-10-22T10:00:00Z", "pending", "10", contact_id="XC4"),
        _order("XO7", "2026-10-31T23:59:59Z", "completed", "15", contact_id="XC1"),
        _order("XO8", "2026-11-01T00:00:00Z", "completed", "15", contact_id="XC1"),
        _order(
            "XO9",
            "2026-08-01T10:00:00Z",
            "completed",
            "25",
            contact_id="XC2",
            updated_at="2026-08-02T00:00:00Z",
        ),
        _order(
            "XO10",
            "2026-08-03T10:00:00Z",
            "cancelled",
            "25",
            contact_id="XC2",
            updated_at="2026-08-05T00:00:00Z",
        ),
        _order("XO11", "2026-10-02T10:00:00Z", "pending", "12", email=NOBUY),
        _order(
            "XO13",
            "2026-09-20T10:00:00Z",
            "completed",
            "35",
            contact_id="XNC2",
            email="Outsider2@example.com",
        ),
        _order("XO14", "2026-09-21T10:00:00Z", "completed", "5", contact_id="XNC2"),
        # A key outside the CRM whose only purchase is after as_of: not a customer.
        _order("XO15", "2026-11-02T10:00:00Z", "completed", "70", contact_id="XNC3"),
        _order("XO16", "2026-07-01T10:00:00Z", "completed", "11", contact_id="XC9"),
        # 60-day churn window: as_of - 60 = 2026-09-01, so XC6 is inactive and XC3 active.
        _order("XO19", "2026-09-01T23:00:00Z", "completed", "8", contact_id="XC6"),
        _order("XO20", "2026-09-02T00:30:00Z", "completed", "8", contact_id="XC3"),
        _order("XO17", "2026-06-01T10:00:00Z", "completed", "13", email="old13@example.com"),
        # contact_id wins over another contact's e-mail.
        _order(
            "XO18",
            "2026-06-02T10:00:00Z",
            "completed",
            "14",
            contact_id="XC3",
            email="xc9@example.com",
        ),
        _order(
            "XO12",
            "2025-06-02T10:00:00Z",
            "completed",
            "9.99",
            discount_amount="1.5",
            contact_id="XC8",
        ),
    ],
    "tickets": [
        _ticket("XT1", "2026-10-03T10:00:00Z", "open", contact_id="XNC1"),
        _ticket("XT2", "2026-10-04T10:00:00Z", "new", email=NOBUY, category="complaint"),
        _ticket("XT3", "2026-10-31T20:00:00Z", "open", contact_id="XC4"),
        _ticket(
            "XT4",
            "2026-10-10T10:00:00Z",
            "solved",
            contact_id="XC4",
            first_response_at="2026-10-10T18:00:00Z",
            agent_replies="1",
        ),
        _ticket(
            "XT5",
            "2026-10-30T10:00:00Z",
            "closed",
            contact_id="XC1",
            first_response_at="2026-11-01T01:00:00Z",
            solved_at="2026-11-02T00:00:00Z",
            agent_replies="1",
            reopens="0",
        ),
        _ticket(
            "XT6",
            "2026-10-11T10:00:00Z",
            "solved",
            contact_id="XC2",
            first_response_at="2026-10-11T10:30:00Z",
            solved_at="2026-10-12T10:00:00Z",
        ),
        _ticket("XT8", "2026-10-20T10:00:00Z", "open", contact_id="XNC3"),
        # 12-month window: as_of - 365 = 2025-10-31 is out, 2025-11-01 is in.
        _ticket("XT9", "2025-10-31T23:00:00Z", "closed", contact_id="XC3"),
        _ticket("XT10", "2025-11-01T00:30:00Z", "closed", contact_id="XC6"),
        # Created exactly sla_hours (8) before the end of as_of and unanswered: eligible, not met.
        _ticket("XT11", "2026-10-31T16:00:00Z", "new", contact_id="XC6"),
        _ticket("XT7", "2026-10-15T10:00:00Z", "open", contact_id="XC7"),
    ],
    "surveys": [
        _survey("XR1", "2026-10-20T12:00:00Z", "nps", 3, contact_id="XC4"),
        _survey("XR2", "2026-10-21T12:00:00Z", "nps", 9, email="EDGE.MERGE@example.com"),
        _survey("XR3", "2026-10-05T12:00:00Z", "nps", 2, email=NOBUY),
        _survey("XR5", "2026-10-06T12:00:00Z", "ces", 3, contact_id="XNC1"),
        # Names a contact that does not exist yet: links by e-mail to XC4.
        _survey("XR7", "2026-10-25T12:00:00Z", "csat", 1, contact_id="XC7", email=MERGE),
        _survey("XR8", "2026-10-26T12:00:00Z", "nps", 4, contact_id="XNC3"),
        # Keyed email:outsider2@… (no contact_id), which is no customer, though contact:XNC2
        # carries that e-mail on its orders.
        _survey("XR9", "2026-10-15T12:00:00Z", "nps", 1, email="outsider2@example.com"),
        _survey("XR6", "2026-11-01T00:00:00Z", "csat", 1, contact_id="XC1"),
    ],
    "email_events": [
        _event(MERGE, "cmp-edge", "sent", "2026-10-05T08:00:00Z", campaign_name="Edge A"),
        _event(MERGE, "cmp-edge", "open", "2026-10-06T08:00:00Z", campaign_name="Edge A"),
        _event(OUTSIDER, "cmp-edge", "sent", "2026-10-05T08:00:01Z", campaign_name="Edge A"),
        _event(OUTSIDER, "cmp-edge", "bounce", "2026-10-05T08:00:02Z", campaign_name="Edge B"),
        _event(OUTSIDER, "cmp-edge", "spam_complaint", "2026-10-07T08:00:00Z", campaign_name=""),
        _event(NOBUY, "cmp-edge", "sent", "2026-09-30T23:00:00Z", campaign_name="Edge A"),
        _event(NOBUY, "cmp-edge", "click", "2026-10-01T08:00:00Z"),
        _event("edge.future@x.com", "cmp-edge", "sent", "2026-10-05T08:00:03Z"),
        _event("outsider2@example.com", "cmp-edge", "sent", "2026-10-05T08:00:04Z"),
        _event("outsider2@example.com", "cmp-edge", "click", "2026-10-05T09:00:04Z"),
        # A second send in a later month: the recipient stays in the month of the first.
        _event(NOBUY, "cmp-edge", "sent", "2026-10-02T08:00:00Z", campaign_name="Edge A"),
        # cmp-edge2 has a delivered event (of a recipient never sent), so xc10 is not delivered.
        _event(
            "xc9@example.com",
            "cmp-edge2",
            "delivered",
            "2026-09-10T08:00:00Z",
            campaign_name="Zeta",
        ),
        _event(
            "xc10@example.com", "cmp-edge2", "sent", "2026-09-10T08:00:00Z", campaign_name="Alpha"
        ),
        _event("xc10@example.com", "cmp-edge2", "open", "2026-09-11T08:00:00Z"),
        # 90-day window: as_of - 90 = 2026-08-02 is out, 2026-08-03 is in.
        _event("xc9@example.com", "cmp-edge2", "spam_complaint", "2026-08-02T23:59:59Z"),
        _event("xc10@example.com", "cmp-edge2", "spam_complaint", "2026-08-03T00:00:00Z"),
        _event(MERGE, "cmp-edge", "unsubscribe", "2026-11-01T00:00:00Z"),
    ],
    "social_mentions": [
        _mention("XM1", "twitter", "EDGE_handle", "2026-10-10T10:00:00Z", sentiment="negative"),
        _mention("XM2", "blog", "edge_handle", "2026-10-10T11:00:00Z", sentiment="negative"),
        _mention(
            "XM3",
            "instagram",
            "@Shared_IG",
            "2026-10-11T10:00:00Z",
            sentiment="positive",
            brand_replied_at="2026-11-02T00:00:00Z",
        ),
        _mention("XM8", "facebook", "XC5_FB", "2026-10-13T10:00:00Z", sentiment="neutral"),
        _mention("XM5", "linkedin", "SAME_LI", "2026-10-12T10:00:00Z", sentiment="neutral"),
        # The handle of a contact created after as_of: unlinked.
        _mention("XM6", "twitter", "future_handle", "2026-10-12T11:00:00Z", sentiment="negative"),
        # An unlinked negative mention long before any other record.
        _mention("XM7", "blog", "early_blogger", "2024-06-15T10:00:00Z", sentiment="negative"),
        # A label none of the three: lands, scored as one without a sentiment, counted apart.
        _mention(
            "XM9",
            "twitter",
            "mixed_feelings",
            "2026-10-14T10:00:00Z",
            sentiment="Mixed",
            text="Great crew, awful delay",
            language="en",
        ),
        # The brand's own posts (docs/open-rules.md R15): no mentions. XM10, a negative reply
        # before any other record, would open satisfaction_monthly in May 2024 as a signal
        # and social_monthly a twitter row there; its author is written as a profile link.
        _mention(
            "XM10",
            "twitter",
            "https://x.com/EDGE_Brand",
            "2024-05-02T10:00:00Z",
            sentiment="negative",
            text="We are sorry to hear that",
        ),
        _mention(
            "XM11",
            "facebook",
            "EdgeBrand",
            "2026-10-15T10:00:00Z",
            sentiment="positive",
            brand_replied_at="2026-10-15T11:00:00Z",
        ),
        # Delivered again under its URL in DELIVERY_2 (R13): one post, the brand's.
        _mention(
            "XM12",
            "twitter",
            "@edge_brand",
            "2026-10-16T10:00:00Z",
            sentiment="neutral",
            url="https://x.com/edge_brand/status/12",
        ),
    ],
}

DELIVERY_2: dict[str, list[dict[str, str]]] = {
    "contacts": [
        # No updated_at on the new version: the later delivery wins (FR).
        _contact("XC1", "2025-01-05T09:00:00Z", "", country="FR"),
        # Older updated_at: the first version stays (AT).
        _contact("XC2", "2025-01-06T09:00:00Z", "2026-03-01T00:00:00Z", country="CH"),
        # Same updated_at: the later delivery wins (ES).
        _contact("XC3", "2025-01-07T09:00:00Z", "2026-04-01T00:00:00Z", country="ES"),
        _contact("XC6", "2024-12-31T10:00:00Z", "2025-02-01T00:00:00Z", email="other6@example.com"),
        _contact("XC11", "2025-03-01T00:00:00Z", "", country="FR"),
        _contact("XC12", "2025-03-02T00:00:00Z", "2026-05-01T00:00:00Z", country="FR"),
        _contact("XC13", "2025-03-03T00:00:00Z", "2025-04-01T00:00:00Z", email="new13@example.com"),
    ],
    "orders": [
        # No updated_at: the later delivery wins, the order is cancelled.
        _order("XO9", "2026-08-01T10:00:00Z", "cancelled", "25", contact_id="XC2"),
        # Older updated_at than the standing version: it stays cancelled.
        _order(
            "XO10",
            "2026-08-03T10:00:00Z",
            "completed",
            "25",
            contact_id="XC2",
            updated_at="2026-08-01T00:00:00Z",
        ),
    ],
    "tickets": [],
    "surveys": [
        # Immutable: the first copy of XR1 (score 3) stays.
        _survey("XR1", "2026-10-20T12:00:00Z", "nps", 10, contact_id="XC4"),
    ],
    "email_events": [
        _event(MERGE, "cmp-edge", "open", "2026-10-06T08:00:00Z", campaign_name="Edge A"),
    ],
    "social_mentions": [
        _mention("XM1", "twitter", "EDGE_handle", "2026-10-10T10:00:00Z", sentiment="positive"),
        _mention(
            "https://x.com/edge_brand/status/12",
            "twitter",
            "Edge_Brand",
            "2026-10-16T10:00:00Z",
            sentiment="neutral",
            url="https://x.com/edge_brand/status/12",
        ),
    ],
}


DELIVERY_3: dict[str, list[dict[str, str]]] = {
    "contacts": [
        # Upserts applied delivery by delivery. XC11: 05-01 (DE), none (FR), 03-01 (IT): FR gave
        # way to the next delivery, which then stands: IT.
        _contact("XC11", "2025-03-01T00:00:00Z", "2026-03-01T00:00:00Z", country="IT"),
        # XC12: none (DE), 05-01 (FR), 03-01 (IT): IT is older than the standing FR: FR.
        _contact("XC12", "2025-03-02T00:00:00Z", "2026-03-01T00:00:00Z", country="IT"),
    ],
}


def write_edge_deliveries(landing: Path) -> None:
    """Write the edge-case deliveries of every entity under ``landing`` as canonical CSV."""
    for number, delivery in ((1, DELIVERY_1), (2, DELIVERY_2), (3, DELIVERY_3)):
        for entity, rows in delivery.items():
            if not rows:
                continue
            folder = landing / ENTITIES[entity].landing_path
            folder.mkdir(parents=True, exist_ok=True)
            with (folder / f"zz_edge_{number}.csv").open("w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(ENTITIES[entity].columns))
                writer.writeheader()
                writer.writerows(rows)
