"""A social-listening export (Brandwatch / Sprout Social style, pipeline/vendors/
social_listening.toml) landed by the real ingestion, scored by the real sentiment build and
counted by the real marts, against figures worked out by hand (as_of 2024-04-30).

The export's Language column is the tool's tag, not always the text's language: a German post
tagged ``en`` is not read with English's VADER (docs/sentiment.md, "Language").
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from marts_fixtures import exports_built, records

CONTACTS = """contact_id,email,created_at,twitter_handle,facebook_handle,language
c1,ana@example.ro,2024-01-01 10:00:00,ana_pop,,ro
c2,eva@example.de,2024-01-01 10:00:00,eva_lang,eva.lang,de
c3,sam@example.com,2024-01-01 10:00:00,sam_hill,,en
"""

# Seven April posts; the tool's Sentiment and Language as it writes them (any case).
MENTIONS = """Date,Network,Author,Author Name,Text,Sentiment,Language,Url,Brand Reply Date
2024-04-02 10:00:00,Twitter,@Eva_Lang,Eva Lang,"Super schlecht, nie wieder!",,en,https://x.com/e/1,
2024-04-03 10:00:00,Twitter,@sam_hill,Sam Hill,"Thanks, great crew!",,en,https://x.com/s/2,
2024-04-04 10:00:00,Facebook,eva.lang,Eva Lang,"Nu sunt multumit deloc",Negative,ro,https://fb.com/3,
2024-04-05 10:00:00,Instagram,someone,,😡😡😡,,,https://instagram.com/p/4,
2024-04-06 10:00:00,Twitter,@ana_pop,Ana Pop,"Awful service, never again",NEGATIVE,EN,https://x.com/a/5,
2024-04-07 10:00:00,Blogs,eva_lang,Eva Lang,Das Paket kam beschädigt an,Not Rated,de,https://b.de/6,
2024-04-08 10:00:00,Twitter,@ana_pop,Ana Pop,"Nu e top deloc, foarte slab",,,https://x.com/a/7,
"""
APRIL = dt.date(2024, 4, 1)


def customer(contact_id: str) -> str:
    """The published key of a contact (docs/contracts.md, "The published key")."""
    return hashlib.sha256(f"contact:{contact_id}".encode()).hexdigest()[:16]


@contextmanager
def land(data_dir: Path, mentions: str) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict]]:
    """Land the contacts and ``mentions`` as exports, build every model, yield the warehouse
    and the ingestion report per entity."""
    exports = {"crm/contacts": CONTACTS, "social/mentions": mentions}
    with exports_built(data_dir, exports, "2024-04-30", name="listening-export.csv") as built:
        con, reports = built
        yield con, {entity: found[-1] for entity, found in reports.items() if found}


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    with land(tmp_path_factory.mktemp("listening"), MENTIONS) as landed:
        yield landed


def test_every_mention_keeps_its_tag_and_is_scored_only_in_its_own_language(landed):
    con, reports = landed
    assert (
        reports["social_mentions"].rows_landed,
        reports["social_mentions"].rows_quarantined,
    ) == (7, 0)
    got = {
        r["mention_id"]: (
            r["language"],
            r["language_source"],
            r["sentiment"],
            r["sentiment_source"],
        )
        for r in records(con, "select * from int_mention_sentiment")
    }
    assert got == {
        # German tagged en (py3langid: de 0.97): never VADER, which reads "super" as +0.636.
        "https://x.com/e/1": ("en", "delivered", None, "unscored"),
        "https://x.com/s/2": ("en", "delivered", "positive", "scored"),
        "https://fb.com/3": ("ro", "delivered", "negative", "delivered"),
        "https://instagram.com/p/4": (None, "unknown", None, "unscored"),  # emoji only
        "https://x.com/a/5": ("en", "delivered", "negative", "delivered"),  # NEGATIVE, EN
        # "Not Rated" is no sentiment; German has no measured scorer.
        "https://b.de/6": ("de", "delivered", None, "unscored"),
        # Untagged Romanian without diacritics (py3langid: ro 0.98); Romanian has no scorer.
        "https://x.com/a/7": ("ro", "detected", None, "unscored"),
    }


def test_social_monthly_counts(landed):
    con, _ = landed
    got = {
        r["platform"]: r
        for r in records(con, "select * from social_monthly where month = date '2024-04-01'")
    }
    assert set(got) == {"blog", "facebook", "instagram", "twitter"}
    columns = (
        "mentions positive neutral negative linked_mentions "
        "sentiment_delivered sentiment_scored sentiment_unscored"
    ).split()

    def counts(platform: str) -> tuple:
        return tuple(got[platform][c] for c in columns)

    # Twitter: posts 1, 2, 5, 7, all by contacts' handles. Positive: 2 (scored); negative: 5
    # (delivered); 1 and 7 unscored. Net sentiment (1 - 1) / 4 = 0.
    assert counts("twitter") == (4, 1, 0, 1, 4, 1, 1, 2)
    assert got["twitter"]["net_sentiment"] == 0.0
    assert counts("facebook") == (1, 0, 0, 1, 1, 1, 0, 0)  # eva.lang is Eva's handle
    assert counts("instagram") == (1, 0, 0, 0, 0, 0, 0, 1)
    # A blog never links, though eva_lang is Eva's Twitter handle.
    assert counts("blog") == (1, 0, 0, 0, 0, 0, 0, 1)


def test_social_language_monthly_counts(landed):
    con, _ = landed
    got = {
        (r["platform"], r["language"]): r
        for r in records(con, "select * from social_language_monthly")
    }
    assert all(r["month"] == APRIL for r in got.values())
    columns = (
        "mentions language_delivered language_detected sentiment_delivered sentiment_scored "
        "sentiment_unscored positive neutral negative"
    ).split()
    assert {key: tuple(r[c] for c in columns) for key, r in got.items()} == {
        # Posts 1, 2, 5 tagged en (EN on 5): 5 delivered negative, 2 scored positive, 1 unscored.
        ("twitter", "en"): (3, 3, 0, 1, 1, 1, 1, 0, 1),
        ("twitter", "ro"): (1, 0, 1, 0, 0, 1, 0, 0, 0),  # post 7, detected
        ("facebook", "ro"): (1, 1, 0, 1, 0, 0, 0, 0, 1),
        ("instagram", "unknown"): (1, 0, 0, 0, 0, 1, 0, 0, 0),
        ("blog", "de"): (1, 1, 0, 0, 0, 1, 0, 0, 0),
    }
    assert got[("twitter", "en")]["unscored_share"] == pytest.approx(1 / 3)


def test_customer_360_social_columns(landed):
    con, _ = landed
    got = {
        r["customer_id"]: (r["mentions_12m"], r["negative_mentions_12m"], r["dissatisfied_90d"])
        for r in records(
            con,
            "select customer_id, mentions_12m, negative_mentions_12m, dissatisfied_90d "
            "from customer_360",
        )
    }
    assert got == {
        customer("c1"): (2, 1, True),  # Ana: posts 5 (negative) and 7 (unscored)
        customer("c2"): (2, 1, True),  # Eva: posts 1 (unscored) and 3 (negative); 6 is a blog
        customer("c3"): (1, 0, False),  # Sam: post 2 (positive)
    }


# Language tags as locales write them: with an underscore (en_US, Java and POSIX) as well as a
# hyphen (en-US, BCP 47). Both are the contract's ISO 639-1 code with a region.
TAGGED = """Date,Network,Author,Author Name,Text,Sentiment,Language,Url,Brand Reply Date
2024-04-02 10:00:00,Twitter,@sam_hill,Sam Hill,"Thanks, great crew!",,en_US,https://x.com/s/1,
2024-04-03 10:00:00,Twitter,@sam_hill,Sam Hill,"Thanks, great crew!",,en-US,https://x.com/s/2,
2024-04-04 10:00:00,Twitter,@sam_hill,Sam Hill,ok,,en_GB,https://x.com/s/3,
2024-04-05 10:00:00,Twitter,@ana_pop,Ana Pop,"Foarte bun, mulţumesc",,ro_RO,https://x.com/a/4,
"""


def test_a_region_after_an_underscore_is_still_the_delivered_language(tmp_path):
    with land(tmp_path, TAGGED) as (con, _):
        got = {
            r["mention_id"]: (r["language"], r["language_source"], r["sentiment_source"])
            for r in records(con, "select * from int_mention_sentiment")
        }
        languages = records(
            con,
            "select language, mentions, language_delivered, language_detected "
            "from social_language_monthly order by language",
        )
    assert got == {
        "https://x.com/s/1": ("en", "delivered", "scored"),
        "https://x.com/s/2": ("en", "delivered", "scored"),
        # "ok" tells no language: only its tag makes it English, scored by VADER (neutral).
        "https://x.com/s/3": ("en", "delivered", "scored"),
        "https://x.com/a/4": ("ro", "delivered", "unscored"),  # no Romanian scorer
    }
    assert languages == [
        {"language": "en", "mentions": 3, "language_delivered": 3, "language_detected": 0},
        {"language": "ro", "mentions": 1, "language_delivered": 1, "language_detected": 0},
    ]
