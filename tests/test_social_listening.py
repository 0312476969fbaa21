"""The social-listening path from a tool's export to the social marts, on exports written as the
tools write them: landed by the real ingestion (both of its engines where a canonical CSV is
concerned), scored by the real sentiment build and counted by the real marts, against figures
worked out by hand (as_of 2024-04-30).

Sentiment labels: a tool set to the users' language writes its labels in that language, and some
tools write a label none of positive / neutral / negative ("Mixed"). The translated labels are the
delivered sentiment; another label is no sentiment the pipeline can read: the mention lands, is
scored as one delivered without a sentiment, and is counted apart (``sentiment_unrecognised``),
and the landed suite names its rows (docs/sentiment.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from ingest_support import drop, make_settings, query
from marts_fixtures import exports_built, records

from pipeline.entities import ENTITIES
from pipeline.ingest import duckdb_csv
from pipeline.ingest.core import ingest_entity
from pipeline.validation import make_landed_validator
from pipeline.warehouse import open_warehouse

AS_OF = "2024-04-30"
APRIL = dt.date(2024, 4, 1)
CONTACTS = """contact_id,email,created_at,twitter_handle,facebook_handle,instagram_handle,language
c1,ana@example.ro,2024-01-01 10:00:00,ana_pop,ana.pop,,ro
c2,eva@example.de,2024-01-01 10:00:00,eva_lang,,eva.insta,de
c3,sam@example.com,2024-01-01 10:00:00,sam_hill,,,en
"""
HEADER = "Date,Network,Author,Author Name,Text,Sentiment,Language,Url,Brand Reply Date\n"


def built(data_dir: Path, mentions: str):
    """Land the contacts and the listening export ``mentions``, build every model."""
    exports = {"crm/contacts": CONTACTS, "social/mentions": mentions}
    return exports_built(data_dir, exports, AS_OF, name="listening-export.csv")


# Eight April posts. The labels of tools set to German, Russian, Romanian, Greek, Slovenian;
# two "Mixed" (a label none of the three); Meltwater's "Not Rated" (the tool abstained).
LABELLED = HEADER + (
    "2024-04-02 10:00:00,Twitter,@eva_lang,Eva,Das Paket kam beschädigt an,Negativ,de,"
    "https://x.com/e/1,\n"
    "2024-04-03 10:00:00,Facebook,ana.pop,Ana,Foarte mulțumită de livrare,Pozitiv,ro,"
    "https://fb.com/a/2,\n"
    "2024-04-04 10:00:00,Twitter,@ana_pop,Ana,Очень довольна доставкой,Позитивный,ru,"
    "https://x.com/a/3,\n"
    "2024-04-05 10:00:00,Facebook,maria.k,Maria,Πολύ καλή εξυπηρέτηση,ΘΕΤΙΚΟ,el,"
    "https://fb.com/m/4,\n"
    "2024-04-06 10:00:00,Facebook,janez,Janez,Paket je prišel poškodovan,Negativno,sl,"
    "https://fb.com/j/5,\n"
    '2024-04-07 10:00:00,Twitter,@sam_hill,Sam,"Thanks, great crew!",Mixed,en,https://x.com/s/6,\n'
    "2024-04-08 10:00:00,Twitter,@eva_lang,Eva,Das Paket kam beschädigt an,Mixed,de,"
    "https://x.com/e/7,\n"
    '2024-04-09 10:00:00,Instagram,eva.insta,Eva,"Awful service, never again",Not Rated,en,'
    "https://instagram.com/p/8,\n"
)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    with built(tmp_path_factory.mktemp("labelled"), LABELLED) as landed:
        yield landed


def test_translated_labels_are_the_delivered_sentiment_and_other_labels_are_scored(labelled):
    con, reports = labelled
    (report,) = reports["social_mentions"]
    assert (report.rows_landed, report.rows_quarantined) == (8, 0)
    got = {
        r["mention_id"]: (r["sentiment"], r["sentiment_source"], r["unrecognised_sentiment"])
        for r in records(con, "select * from int_social_mentions")
    }
    assert got == {
        # Before, each translated label was mapped to no sentiment: German, Russian, Romanian,
        # Greek and Slovenian have no scorer, so all five were left unscored.
        "https://x.com/e/1": ("negative", "delivered", None),
        "https://fb.com/a/2": ("positive", "delivered", None),
        "https://x.com/a/3": ("positive", "delivered", None),
        "https://fb.com/m/4": ("positive", "delivered", None),  # upper case without accent
        "https://fb.com/j/5": ("negative", "delivered", None),
        # "Mixed" is no sentiment: English text scored by VADER ("great", "thanks": positive),
        # German left unscored; both keep the label, so they are counted apart.
        "https://x.com/s/6": ("positive", "scored", "Mixed"),
        "https://x.com/e/7": (None, "unscored", "Mixed"),
        # "Not Rated": the tool gave none; VADER scores it ("awful": negative). Not a label.
        "https://instagram.com/p/8": ("negative", "scored", None),
    }


def test_social_monthly_by_hand(labelled):
    con, _ = labelled
    got = {r["platform"]: r for r in records(con, "select * from social_monthly")}
    assert {r["month"] for r in got.values()} == {APRIL}
    columns = (
        "mentions positive neutral negative linked_mentions sentiment_delivered "
        "sentiment_scored sentiment_unscored sentiment_unrecognised"
    ).split()
    counts = {platform: tuple(row[c] for c in columns) for platform, row in got.items()}
    assert counts == {
        # Posts 1 (negative), 3 (positive), 6 (Mixed, scored positive), 7 (Mixed, unscored);
        # all four by contacts' Twitter handles.
        "twitter": (4, 2, 0, 1, 4, 2, 1, 1, 2),
        # Posts 2 (positive, Ana's Facebook handle), 4 (positive), 5 (negative).
        "facebook": (3, 2, 0, 1, 1, 3, 0, 0, 0),
        # Post 8, "Not Rated": scored negative, Eva's Instagram handle.
        "instagram": (1, 0, 0, 1, 1, 0, 1, 0, 0),
    }
    # Net sentiment (positive - negative) / mentions: before, Twitter showed (1 - 0) / 4 with
    # three of its four mentions unscored, Facebook 0 / 3 with all three unscored.
    assert got["twitter"]["net_sentiment"] == pytest.approx((2 - 1) / 4)
    assert got["facebook"]["net_sentiment"] == pytest.approx((2 - 1) / 3)
    assert got["instagram"]["net_sentiment"] == pytest.approx(-1.0)


def test_social_language_monthly_counts_the_labels_apart(labelled):
    con, _ = labelled
    got = {
        (r["platform"], r["language"]): (
            r["mentions"],
            r["sentiment_delivered"],
            r["sentiment_scored"],
            r["sentiment_unscored"],
            r["sentiment_unrecognised"],
        )
        for r in records(con, "select * from social_language_monthly")
    }
    assert got == {
        ("twitter", "de"): (2, 1, 0, 1, 1),  # posts 1 and 7
        ("twitter", "ru"): (1, 1, 0, 0, 0),
        ("twitter", "en"): (1, 0, 1, 0, 1),  # post 6
        ("facebook", "ro"): (1, 1, 0, 0, 0),
        ("facebook", "el"): (1, 1, 0, 0, 0),
        ("facebook", "sl"): (1, 1, 0, 0, 0),
        ("instagram", "en"): (1, 0, 1, 0, 0),
    }


def test_the_translated_negative_is_a_dissatisfaction_signal(labelled):
    con, _ = labelled
    # Negative mentions in April: post 1 (German "Negativ", Eva), post 5 (Slovenian, unlinked)
    # and post 8 (scored, Eva). Before, posts 1 and 5 were unscored: one signal.
    got = records(
        con,
        "select source_id from int_dissatisfaction_signals "
        "where signal_type = 'negative_mention' order by source_id",
    )
    assert [r["source_id"] for r in got] == [
        "https://fb.com/j/5",
        "https://instagram.com/p/8",
        "https://x.com/e/1",
    ]
    # Eva is the one dissatisfied customer, silent (no ticket).
    month = records(
        con,
        "select dissatisfied_customers, silent_dissatisfied_customers from satisfaction_monthly "
        "where month = date '2024-04-01'",
    )
    assert month == [{"dissatisfied_customers": 1, "silent_dissatisfied_customers": 1}]


MENTIONS_HEADER = ",".join(ENTITIES["social_mentions"].columns) + "\n"
# A canonical delivery: labels in any case and padding, "Mixed", a made-up "angry", and
# "posİtive" with a Turkish dotted capital I (lower-cased, it is no ASCII "positive" in polars,
# and is in DuckDB's simple case mapping: both engines keep it as delivered).
CANONICAL = MENTIONS_HEADER + (
    "m1,twitter,@a,,hi,en,2024-04-01,Positive ,,\n"
    "m2,twitter,@a,,hi,en,2024-04-01,NEGATIVE,,\n"
    "m3,twitter,@a,,hi,en,2024-04-01,Mixed,,\n"
    "m4,twitter,@a,,hi,en,2024-04-01,angry,,\n"
    "m5,twitter,@a,,hi,en,2024-04-01,pos\u0130tive,,\n"
    "m6,twitter,@a,,hi,en,2024-04-01,\u00a0neutral,,\n"
)
LANDED = [
    ("m1", "positive"),
    ("m2", "negative"),
    ("m3", "Mixed"),
    ("m4", "angry"),
    ("m5", "pos\u0130tive"),
    ("m6", "neutral"),
]


@pytest.mark.parametrize("route", ["polars", "duckdb"])
def test_a_label_none_of_the_three_lands_and_the_landed_suite_names_its_rows(
    route, data_dir, monkeypatch
):
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    if route == "duckdb":  # every canonical CSV takes the DuckDB route, however small
        monkeypatch.setattr(duckdb_csv, "MIN_BYTES", 0)
    settings = make_settings(data_dir)
    drop(settings, "social_mentions", "delivery.csv", CANONICAL)
    outcomes = []
    validator = make_landed_validator(settings, outcomes.append, run_id="t")
    with open_warehouse(settings.warehouse_path) as con:
        (report,) = ingest_entity(con, settings, "social_mentions", run_id="t", validator=validator)
    # Before, m3, m4 and m5 were quarantined ("sentiment 'mixed' is not one of …"): three
    # mentions lost from every count.
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 6, 0)
    landed = query(
        settings, "select mention_id, sentiment from raw_social_mentions order by mention_id"
    )
    assert landed.rows() == LANDED
    (outcome,) = outcomes
    assert outcome.status == "warning"
    (warning,) = outcome.warnings
    assert warning.columns == "sentiment"
    assert warning.unexpected_count == 3
    assert sorted(warning.examples) == [
        "Mixed (row 4)",
        "angry (row 5)",
        "pos\u0130tive (row 6)",
    ]
    assert "sentiment_unrecognised" in (warning.advice or "")


def test_staging_reads_the_three_and_keeps_another_label_apart(tmp_path):
    with built(tmp_path, CANONICAL) as (con, _):
        got = [
            (r["mention_id"], r["sentiment"], r["unrecognised_sentiment"])
            for r in records(
                con,
                "select mention_id, sentiment, unrecognised_sentiment from stg_social_mentions "
                "order by mention_id",
            )
        ]
    assert got == [
        ("m1", "positive", None),
        ("m2", "negative", None),
        ("m3", None, "Mixed"),
        ("m4", None, "angry"),
        ("m5", None, "pos\u0130tive"),
        ("m6", "neutral", None),
    ]


def monthly(con, *columns: str) -> dict[str, tuple]:
    """social_monthly's April rows by platform: the ``columns`` asked for."""
    rows = records(con, "select * from social_monthly where month = date '2024-04-01'")
    return {r["platform"]: tuple(r[c] for c in columns) for r in rows}


# Networks as the tools name them: the network or the kind of profile on it.
NETWORKS = HEADER + (
    "2024-04-02 10:00:00,Instagram Business,eva.insta,Eva,Love it,Positive,en,"
    "https://instagram.com/p/1,\n"
    "2024-04-03 10:00:00,LinkedIn Company Page,acme-fans,Acme fans,Nice,Positive,en,"
    "https://linkedin.com/feed/2,\n"
    "2024-04-04 10:00:00,Facebook Page,ana.pop,Ana,Bine,Positive,ro,https://fb.com/a/3,\n"
    "2024-04-05 10:00:00,X (formerly Twitter),@sam_hill,Sam,Good,Positive,en,https://x.com/s/4,\n"
    "2024-04-06 10:00:00,YouTube,somebody,Somebody,Ok,Neutral,en,https://youtube.com/5,\n"
    "2024-04-07 10:00:00,TikTok,@ana_pop,Ana,Ok,Neutral,en,https://tiktok.com/6,\n"
)


def test_a_kind_of_profile_is_its_network(tmp_path):
    with built(tmp_path, NETWORKS) as (con, _):
        got = monthly(con, "mentions", "linked_mentions")
    # Before, the first four were 'other' (mentions 6, linked 0): Eva's Instagram post, Ana's
    # Facebook post and Sam's tweet were never linked to them.
    assert got == {
        "instagram": (1, 1),
        "linkedin": (1, 0),
        "facebook": (1, 1),
        "twitter": (1, 1),
        # YouTube and TikTok are no platform of the contract; 'other' never links, though
        # ana_pop is Ana's Twitter handle.
        "other": (2, 0),
    }


# Handles in the CRM as links to the profile, as people paste them.
LINKED_CONTACTS = (
    "contact_id,email,created_at,twitter_handle,facebook_handle,instagram_handle,linkedin_handle\n"
    "c1,ana@example.ro,2024-01-01 10:00:00,https://twitter.com/Ana_Pop,"
    "https://www.facebook.com/ana.pop/,instagram.com/ana_insta,"
    "https://www.linkedin.com/in/ana-pop/\n"
    "c2,eva@example.de,2024-01-01 10:00:00,,https://www.facebook.com/profile.php?id=100012345,,\n"
)
BY_LINK = HEADER + (
    "2024-04-02 10:00:00,Twitter,@Ana_Pop,Ana,a,Positive,en,https://x.com/a/1,\n"
    "2024-04-03 10:00:00,Twitter,https://x.com/ana_pop,Ana,b,Positive,en,https://x.com/a/2,\n"
    "2024-04-04 10:00:00,Facebook,ana.pop,Ana,c,Positive,en,https://fb.com/a/3,\n"
    "2024-04-05 10:00:00,Instagram,https://www.instagram.com/ana_insta/,Ana,d,Positive,en,"
    "https://instagram.com/p/4,\n"
    "2024-04-06 10:00:00,LinkedIn,ana-pop,Ana,e,Positive,en,https://linkedin.com/feed/5,\n"
    "2024-04-07 10:00:00,Facebook,https://www.facebook.com/profile.php?id=100012345,Eva,f,"
    "Positive,en,https://fb.com/e/6,\n"
    # A link to a post, not to a profile: no handle in it.
    "2024-04-08 10:00:00,Instagram,https://www.instagram.com/p/C123/,Ana,g,Positive,en,"
    "https://instagram.com/p/7,\n"
    "2024-04-09 10:00:00,Blog,https://twitter.com/ana_pop,Ana,h,Positive,en,https://b.ro/8,\n"
)


def test_a_link_to_a_profile_is_its_handle(tmp_path):
    exports = {"crm/contacts": LINKED_CONTACTS, "social/mentions": BY_LINK}
    with exports_built(tmp_path, exports, AS_OF) as (con, _):
        got = monthly(con, "mentions", "linked_mentions")
        handles = records(
            con,
            "select contact_id, twitter_handle, facebook_handle, instagram_handle, "
            "linkedin_handle from stg_contacts order by contact_id",
        )
        people = {
            r["customer_id"]: r["mentions_12m"]
            for r in records(con, "select customer_id, mentions_12m from customer_360")
        }
    assert handles == [
        {
            "contact_id": "c1",
            "twitter_handle": "ana_pop",
            "facebook_handle": "ana.pop",
            "instagram_handle": "ana_insta",
            "linkedin_handle": "ana-pop",
        },
        {
            "contact_id": "c2",
            "twitter_handle": None,
            # Facebook's numbered profile names no handle: kept, lower case, as delivered.
            "facebook_handle": "https://www.facebook.com/profile.php?id=100012345",
            "instagram_handle": None,
            "linkedin_handle": None,
        },
    ]
    # Before, only post 6 linked (the same link on both sides): linked 0, 1, 0, 0.
    assert got == {
        "twitter": (2, 2),  # posts 1 and 2
        "facebook": (2, 2),  # posts 3 (Ana) and 6 (Eva)
        "instagram": (2, 1),  # post 4; post 7's link is a post's
        "linkedin": (1, 1),
        "blog": (1, 0),  # a blog never links
    }
    assert people == {customer("c1"): 5, customer("c2"): 1}


def customer(contact_id: str) -> str:
    """The published key of a contact (contracts.md, "The published key")."""
    return hashlib.sha256(f"contact:{contact_id}".encode()).hexdigest()[:16]


# One tool's two exports: the first with its Mention Id column, the second without (every row
# is then keyed by its URL). Posts 101 and 102 are in both; 103 only in the second. Two forum
# replies share their thread's URL under their own ids.
WITH_IDS = (
    "Mention Id,"
    + HEADER
    + (
        "101,2024-04-02 10:00:00,Twitter,@ana_pop,Ana,Awful,Negative,en,"
        "https://x.com/ana_pop/status/101,2024-04-02 10:30:00\n"
        "102,2024-04-03 10:00:00,Twitter,@sam_hill,Sam,Great,Positive,en,"
        "https://x.com/sam_hill/status/102,\n"
        "201,2024-04-04 10:00:00,Forums,ann,Ann,Meh,Neutral,en,https://forum.example/t/9,\n"
        "202,2024-04-04 11:00:00,Forums,bob,Bob,Meh,Neutral,en,https://forum.example/t/9,\n"
    )
)
WITHOUT_IDS = HEADER + (
    "2024-04-02 10:00:00,Twitter,@ana_pop,Ana,Awful,Negative,en,https://x.com/ana_pop/status/101,"
    "2024-04-02 10:30:00\n"
    "2024-04-03 10:00:00,Twitter,@sam_hill,Sam,Great,Positive,en,"
    "https://x.com/sam_hill/status/102,\n"
    "2024-04-05 10:00:00,Twitter,@eva_lang,Eva,Fine,Neutral,en,"
    "https://x.com/eva_lang/status/103,\n"
)


def test_one_post_in_two_exports_keyed_apart_counts_once(tmp_path):
    exports = {
        "crm/contacts": CONTACTS,
        "social/mentions/1": WITH_IDS,
        "social/mentions/2": WITHOUT_IDS,
    }
    with exports_built(tmp_path, exports, AS_OF) as (con, reports):
        assert [r.rows_landed for r in reports["social_mentions"]] == [4, 3]
        got = monthly(
            con, "mentions", "positive", "neutral", "negative", "linked_mentions", "replied"
        )
        people = {
            r["customer_id"]: r["mentions_12m"]
            for r in records(con, "select customer_id, mentions_12m from customer_360")
        }
    # Before: twitter (5, 2, 1, 2, 5, 2): posts 101 and 102 twice, Ana's reply twice.
    assert got == {
        "twitter": (3, 1, 1, 1, 3, 1),
        "other": (2, 0, 2, 0, 0, 0),  # the two forum replies stay two
    }
    assert people == {customer("c1"): 1, customer("c2"): 1, customer("c3"): 1}
