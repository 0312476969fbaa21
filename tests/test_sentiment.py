"""Mention sentiment: English detection, scoring, the asset, and the measured docs block."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from marts_fixtures import insert_rows, new_warehouse

from assets.sentiment import SENTIMENT_ASSETS, int_mention_sentiment
from pipeline.config import PipelineConfig
from pipeline.engine import build_models
from pipeline.sentiment.scoring import looks_english, score_mentions
from pipeline.warehouse import Warehouse

REPO_ROOT = Path(__file__).resolve().parent.parent

NOT_ENGLISH = {
    "de": "Der Flug war leider sehr verspätet und das Personal war nicht freundlich.",
    "fr": "Le vol était en retard et le personnel n'était pas très aimable.",
    "es": "El vuelo llegó tarde y el personal no fue muy amable con nosotros.",
    "it": "Il volo era in ritardo e il personale non è stato molto gentile.",
    "pt": "O voo atrasou e o pessoal não foi muito simpático conosco.",
    "nl": "De vlucht was vertraagd en het personeel was niet erg vriendelijk.",
    "ro": "Zborul a întârziat și personalul nu a fost foarte amabil cu noi.",
    "sl": "Let je zamujal in osebje ni bilo zelo prijazno z nami.",
    "ru": "Рейс задержали, и персонал был не очень вежлив.",
    "el": "Η πτήση καθυστέρησε και το προσωπικό δεν ήταν ευγενικό.",
    "de-short": "Danke für den tollen Service!",
    # Short posts whose one function word English shares: "to" is the Greek article in
    # Greeklish ("very good product, I recommend it"), "an" a German preposition ("the goods
    # arrived broken", umlaut-free). Either was English by that word alone, and VADER scored 0.
    "el-latin": "Poly kalo proion, to proteino",
    "de-ascii": "Ware kam kaputt an",
}
ENGLISH = [
    "The flight was late and the staff were not very friendly.",
    "great service!!",  # no function word, but 'great' is in VADER's lexicon
    "@united lost my bag again",
    "@united Club in Denver is dope",  # 'in' is shared with German/Dutch/Slovenian: no evidence
]


@pytest.mark.parametrize("text", NOT_ENGLISH.values(), ids=NOT_ENGLISH.keys())
def test_other_languages_are_not_english(text):
    assert looks_english(text) is False


@pytest.mark.parametrize("text", ENGLISH)
def test_english_is_english(text):
    assert looks_english(text) is True


@pytest.mark.parametrize("text", [None, "", "   ", "@united #delay http://t.co/x", "AA45 JFK"])
def test_no_prose_is_not_english(text):
    assert looks_english(text) is False


def test_score_mentions_sources():
    mentions = pl.DataFrame(
        {
            "mention_id": ["d", "en", "de-declared", "en-undeclared", "fr-undeclared", "empty"],
            "text": [
                "I hate this",  # delivered sentiment wins over the text
                "Worst service ever, terrible.",
                "I love this, great service!",  # declared German: not scored, whatever it says
                "I love this, great service!",
                NOT_ENGLISH["fr"],
                None,
            ],
            "language": [None, "EN", "de", None, None, "en"],
            "sentiment": ["positive", None, None, None, None, None],
        }
    )
    got = {r["mention_id"]: r for r in score_mentions(mentions).iter_rows(named=True)}
    assert (got["d"]["sentiment"], got["d"]["sentiment_source"], got["d"]["compound"]) == (
        "positive",
        "delivered",
        None,
    )
    assert (got["en"]["sentiment"], got["en"]["sentiment_source"]) == ("negative", "scored")
    # By hand from VADER's lexicon: worst -3.1, terrible -2.1 (service, ever: none); compound =
    # s / sqrt(s^2 + 15) with s = -5.2: -0.80200, which VADER rounds to 4 decimals.
    assert got["en"]["compound"] == pytest.approx(-0.802, abs=1e-12)
    assert got["en"]["compound"] <= -0.05
    assert (got["en-undeclared"]["sentiment"], got["en-undeclared"]["sentiment_source"]) == (
        "positive",
        "scored",
    )
    for key in ("de-declared", "fr-undeclared", "empty"):
        assert (got[key]["sentiment"], got[key]["sentiment_source"], got[key]["compound"]) == (
            None,
            "unscored",
            None,
        ), key


def test_neutral_band():
    # VADER gives a text with no sentiment words compound 0.0: between -0.05 and 0.05, neutral
    mentions = pl.DataFrame(
        {
            "mention_id": ["n"],
            "text": ["The flight leaves at ten and lands at noon."],
            "language": [None],
            "sentiment": [None],
        },
        schema={
            "mention_id": pl.String,
            "text": pl.String,
            "language": pl.String,
            "sentiment": pl.String,
        },
    )
    (row,) = score_mentions(mentions).iter_rows(named=True)
    assert (row["sentiment"], row["sentiment_source"], row["compound"]) == (
        "neutral",
        "scored",
        0.0,
    )


def test_asset_materializes_with_counts(tmp_path):
    con = new_warehouse(tmp_path)
    insert_rows(
        con,
        "social_mentions",
        [
            {
                "mention_id": "a",
                "platform": "twitter",
                "author_handle": "x",
                "posted_at": "2024-01-01 00:00:00",
                "sentiment": "negative",
            },
            {
                "mention_id": "b",
                "platform": "twitter",
                "author_handle": "x",
                "posted_at": "2024-01-01 00:00:00",
                "text": "Thanks, great crew!",
            },
            {
                "mention_id": "c",
                "platform": "twitter",
                "author_handle": "x",
                "posted_at": "2024-01-01 00:00:00",
                "text": NOT_ENGLISH["ro"],
            },
        ],
    )
    build_models(con, only={"stg_social_mentions"})
    con.close()
    assert SENTIMENT_ASSETS == [int_mention_sentiment]
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(tmp_path)))
    result = dg.materialize([int_mention_sentiment], resources={"warehouse": warehouse})
    assert result.success
    (mat,) = result.asset_materializations_for_node("int_mention_sentiment")
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert (meta["delivered"], meta["scored"], meta["unscored"]) == (1, 1, 1)
    assert meta["dagster/row_count"] == 3
    with warehouse.connect() as con:
        got = con.sql(
            "select mention_id, sentiment, sentiment_source from int_mention_sentiment order by 1"
        ).fetchall()
    assert got == [
        ("a", "negative", "delivered"),
        ("b", "positive", "scored"),
        ("c", None, "unscored"),
    ]
    assert (meta["looked_at"], meta["rebuilt"]) == (3, True)

    # A later delivery: only its new mention is scored, the others are kept.
    with warehouse.connect() as con:
        insert_rows(con, "social_mentions", [
            {"mention_id": "d", "platform": "twitter", "author_handle": "y",
             "posted_at": "2024-01-02 00:00:00", "text": "The worst delay, awful service."},
            {"mention_id": "a", "platform": "twitter", "author_handle": "x",
             "posted_at": "2024-01-01 00:00:00", "text": "a repeat of a is not a new mention"},
        ], delivery_seq=2)  # fmt: skip
        build_models(con, only={"stg_social_mentions"})
    result = dg.materialize([int_mention_sentiment], resources={"warehouse": warehouse})
    (mat,) = result.asset_materializations_for_node("int_mention_sentiment")
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert (meta["looked_at"], meta["rebuilt"], meta["dagster/row_count"]) == (1, False, 4)
    assert (meta["delivered"], meta["scored"], meta["unscored"]) == (1, 2, 1)
    with warehouse.connect() as con:
        d = "select sentiment, sentiment_source from int_mention_sentiment where mention_id = 'd'"
        assert con.sql(d).fetchall() == [("negative", "scored")]


def test_docs_carry_the_measured_numbers(shared_data):
    from pipeline.sentiment.evaluate import BEGIN, END, evaluate, render_report

    doc = REPO_ROOT / "docs" / "sentiment.md"
    text = doc.read_text(encoding="utf-8")
    committed = text[text.index(BEGIN) : text.index(END) + len(END)]
    fresh = render_report(evaluate(shared_data / "twitter_airline" / "Tweets.csv"))
    assert committed == fresh, (
        "docs/sentiment.md is stale: rerun python -m pipeline.sentiment.evaluate"
    )
