"""Identity (contracts.md): versions, contact merging, linking, customers, published keys.

as_of = 2024-06-30. Contacts c1 and c2 share an e-mail once normalised and merge onto the older
c2; c3 and c4 share one with the same created_at and merge onto c3 (lower contact_id); c5 is
created after as_of and does not exist yet.
"""

from __future__ import annotations

import hashlib

import pytest
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings


def cid(natural_key: str) -> str:
    """customer_id by hand: the first 16 hex digits of sha256(natural_key)."""
    return hashlib.sha256(natural_key.encode()).hexdigest()[:16]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def completed(order_id: str, ordered_at: str, amount: str = "100", **who) -> dict:
    return {
        "order_id": order_id,
        "ordered_at": ordered_at,
        "status": "completed",
        "gross_amount": amount,
        **who,
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = new_warehouse(tmp_path_factory.mktemp("identity"))
    write_settings(con, "2024-06-30")
    day = "2023-01-01 00:00:00"
    insert_rows(
        con,
        "contacts",
        [
            {
                "contact_id": "c1",
                "email": "Ann@Example.com ",
                "created_at": "2023-01-05 00:00:00",
                "country": "DE",
                "twitter_handle": "@AnnT",
            },
            {
                "contact_id": "c2",
                "email": "ann@example.com",
                "created_at": "2022-12-01 00:00:00",
                "country": "RO",
                "acquisition_source": "Referral ",
                "first_name": "Ann",
                "phone": "+40 700 000 000",
            },
            {"contact_id": "c3", "email": "tie@example.com", "created_at": day, "country": "ES"},
            {
                "contact_id": "c4",
                "email": "tie@example.com",
                "created_at": day,
                "country": "NL",
                "updated_at": "2024-02-01 00:00:00",
            },
            {"contact_id": "c5", "email": "late@example.com", "created_at": "2024-07-01 00:00:00"},
            {"contact_id": "c6", "created_at": day, "country": "FR", "updated_at": "2024-01-02"},
            {"contact_id": "c7", "created_at": "2023-06-01 00:00:00", "twitter_handle": "annt"},
        ],
        delivery_seq=1,
    )
    insert_rows(
        con,
        "contacts",
        [
            # later delivery without updated_at: wins over the undated first version
            {"contact_id": "c3", "email": "tie@example.com", "created_at": day, "country": "PT"},
            # later delivery with an earlier updated_at: loses
            {"contact_id": "c6", "created_at": day, "country": "IT", "updated_at": "2024-01-01"},
            # c4 goes dated (NL) -> undated (BE, a later delivery wins) -> dated (LU, a later
            # delivery wins over an undated version): LU
            {"contact_id": "c4", "email": "tie@example.com", "created_at": day, "country": "BE"},
        ],
        delivery_seq=2,
    )
    insert_rows(
        con,
        "contacts",
        [
            {
                "contact_id": "c4",
                "email": "tie@example.com",
                "created_at": day,
                "country": "LU",
                "updated_at": "2024-01-15 00:00:00",
            }
        ],
        delivery_seq=3,
    )
    insert_rows(
        con,
        "orders",
        [
            {
                **completed("o1", "2024-01-10 10:00:00", "50"),
                "contact_id": "c1",
                "updated_at": "2024-01-10 00:00:00",
            },
            completed("o2", "2024-02-10 10:00:00", email="ANN@example.com"),
            completed("o3", "2024-03-10 10:00:00", contact_id="X9", email="ann@example.com"),
            completed("o4", "2024-03-11 10:00:00", contact_id="X7", email="guest@shop.test"),
            completed("o5", "2024-03-12 10:00:00", email="Solo@Shop.test"),
            {
                **completed("o6", "2024-03-13 10:00:00", email="window@shop.test"),
                "status": "cancelled",
            },
            completed("o7", "2024-06-01 10:00:00", contact_id="c5", email="late@example.com"),
            completed("o8", "2024-07-01 10:00:00", email="after@shop.test"),
        ],
        delivery_seq=1,
    )
    insert_rows(
        con,
        "orders",
        [
            {
                **completed("o1", "2024-01-10 10:00:00", "100"),
                "contact_id": "c1",
                "updated_at": "2024-01-20 00:00:00",
            },
        ],
        delivery_seq=2,
    )
    insert_rows(
        con,
        "surveys",
        [
            {
                "response_id": "s1",
                "contact_id": "c6",
                "responded_at": "2024-05-01 10:00:00",
                "survey_type": "nps",
                "score": 9,
            },
        ],
        delivery_seq=1,
    )
    insert_rows(
        con,
        "surveys",
        [
            {
                "response_id": "s1",
                "contact_id": "c6",
                "responded_at": "2024-05-01 10:00:00",
                "survey_type": "nps",
                "score": 3,
            },
        ],
        delivery_seq=2,
    )
    insert_rows(
        con,
        "tickets",
        [
            {
                "ticket_id": "t1",
                "email": "window@shop.test",
                "created_at": "2024-05-02 10:00:00",
                "status": "open",
            },
            {
                "ticket_id": "t2",
                "contact_id": "c6",
                "created_at": "2024-05-03 10:00:00",
                "status": "open",
            },
        ],
    )
    insert_rows(
        con,
        "email_events",
        [
            {
                "email": " Ann@example.com",
                "campaign_id": "k1",
                "event_type": "sent",
                "occurred_at": "2024-06-01 08:00:00",
            },
            {
                "email": "guest@shop.test",
                "campaign_id": "k1",
                "event_type": "sent",
                "occurred_at": "2024-06-01 08:00:00",
            },
            {
                "email": "nobody@shop.test",
                "campaign_id": "k1",
                "event_type": "sent",
                "occurred_at": "2024-06-01 08:00:00",
            },
            # the same event delivered again without an event_id: one event
            {
                "email": "nobody@shop.test",
                "campaign_id": "k1",
                "event_type": "sent",
                "occurred_at": "2024-06-01 08:00:00",
            },
        ],
    )
    insert_rows(
        con,
        "social_mentions",
        [
            {
                "mention_id": "m1",
                "platform": "twitter",
                "author_handle": "@ANNT",
                "posted_at": "2024-06-01 08:00:00",
                "sentiment": "neutral",
            },
            {
                "mention_id": "m2",
                "platform": "blog",
                "author_handle": "annt",
                "posted_at": "2024-06-01 08:00:00",
                "sentiment": "neutral",
            },
            {
                "mention_id": "m3",
                "platform": "facebook",
                "author_handle": "annt",
                "posted_at": "2024-06-01 08:00:00",
                "sentiment": "neutral",
            },
        ],
    )
    build_all(con)
    yield con
    con.close()


def test_versions_resolve_per_contract(warehouse):
    got = dict(warehouse.sql("select contact_id, country from stg_contacts order by 1").fetchall())
    assert got == {
        "c1": "DE",
        "c2": "RO",
        "c3": "PT",
        "c4": "LU",
        "c5": None,
        "c6": "FR",
        "c7": None,
    }
    assert (
        warehouse.sql("select gross_amount from stg_orders where order_id = 'o1'").fetchall()[0][0]
        == 100
    )
    # immutable: the first delivered copy of a response wins
    assert warehouse.sql("select score from stg_surveys").fetchall() == [(9,)]
    # the twice-delivered event without event_id is one event, keyed as ingestion keys it
    keys = {r[0] for r in warehouse.sql("select event_id from stg_email_events").fetchall()}
    assert len(keys) == 3
    assert sha("nobody@shop.test|k1|sent|2024-06-01T08:00:00") in keys


def test_contacts_merge_onto_the_oldest(warehouse):
    got = dict(
        warehouse.sql(
            "select contact_id, customer_contact_id from int_contacts order by 1"
        ).fetchall()
    )
    # c5 is created after as_of: it does not exist yet
    assert got == {"c1": "c2", "c2": "c2", "c3": "c3", "c4": "c3", "c6": "c6", "c7": "c7"}


def test_customers_and_their_published_keys(warehouse):
    got = {r["customer_id"]: r for r in records(warehouse, "select * from customer_360")}
    expected_keys = {
        "contact:c2",  # c1 merged into it
        "contact:c3",  # c4 merged into it
        "contact:c6",
        "contact:c7",
        "contact:X7",  # outside the CRM, keyed by its contact_id
        "email:solo@shop.test",  # outside the CRM, e-mail only
        "contact:c5",  # a contact that does not exist yet: its order keys it like an outsider
    }
    # not customers: window@ (only a cancelled order), after@ (only an order after as_of)
    assert set(got) == {cid(k) for k in expected_keys}
    ann = got[cid("contact:c2")]
    # the merged customer keeps the oldest contact's attributes
    assert {c: ann[c] for c in ("country", "acquisition_source")} == {
        "country": "RO",
        "acquisition_source": "referral",
    }
    assert ann["email_sha256"] == sha("ann@example.com")
    # o1 (names c1, latest version 100), o2 (e-mail only), o3 (unknown contact_id, e-mail)
    assert {c: ann[c] for c in ("purchases", "revenue")} == {"purchases": 3, "revenue": 300}
    assert got[cid("contact:X7")]["email_sha256"] == sha("guest@shop.test")
    assert got[cid("email:solo@shop.test")]["email_sha256"] == sha("solo@shop.test")
    assert got[cid("contact:c6")]["email_sha256"] is None
    assert got[cid("contact:c6")]["tickets_12m"] == 1
    assert got[cid("contact:c6")]["last_nps"] == 9
    # the published marts carry no raw e-mail, name or phone
    columns = {c.lower() for c in warehouse.sql("select * from customer_360 limit 0").columns}
    assert not columns & {"email", "first_name", "last_name", "phone"}


def test_records_link_to_customers(warehouse):
    tickets = dict(warehouse.sql("select ticket_id, customer_id from int_tickets").fetchall())
    # window@ is not a customer: its ticket belongs to no customer
    assert tickets == {"t1": None, "t2": cid("contact:c6")}
    events = dict(warehouse.sql("select email, customer_id from int_email_events").fetchall())
    assert events == {
        "ann@example.com": cid("contact:c2"),
        "guest@shop.test": cid("contact:X7"),
        "nobody@shop.test": None,
    }
    mentions = dict(
        warehouse.sql("select mention_id, customer_id from int_social_mentions").fetchall()
    )
    # m1: c1 and c7 both hold 'annt'; the older, c1, merged into c2. Blogs never link, and no
    # contact has facebook handle 'annt'.
    assert mentions == {"m1": cid("contact:c2"), "m2": None, "m3": None}
