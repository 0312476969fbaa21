"""Direct, fast tests of ``pipeline/sentiment/scoring.py``'s rules at their edges: the label
thresholds, language tags, and which text counts as English, each expected value worked out by hand.

These run first in ``make mutate``'s sentiment target."""

from __future__ import annotations

import polars as pl

from pipeline.sentiment.scoring import (
    NEGATIVE_THRESHOLD,
    POSITIVE_THRESHOLD,
    normalise_language,
    score_mentions,
    sentiment_label,
)


def test_label_thresholds_are_inclusive():
    # VADER's authors' rule: positive at or above 0.05, negative at or below -0.05, neutral
    # strictly between, no label without a score.
    assert (POSITIVE_THRESHOLD, NEGATIVE_THRESHOLD) == (0.05, -0.05)
    scores = [0.05, 0.0499, -0.05, -0.0499, 0.0, 1.0, -1.0, None]
    got = pl.DataFrame({"c": scores}, schema={"c": pl.Float64}).select(
        sentiment_label(pl.col("c")).alias("s")
    )["s"]
    assert got.to_list() == [
        "positive",
        "neutral",
        "negative",
        "neutral",
        "neutral",
        "positive",
        "negative",
        None,
    ]


def test_language_tags_become_their_primary_code():
    # Lower case, region or script dropped at the first '-' or '_', blank is no language.
    tags = ["EN", "en-US", "pt_BR", " de ", "zh-Hant-TW", "", "   ", None]
    assert [normalise_language(t) for t in tags] == ["en", "en", "pt", "de", "zh", None, None, None]


def test_language_source_and_blank_texts():
    schema = {c: pl.String for c in ("mention_id", "text", "language", "sentiment")}
    mentions = pl.DataFrame(
        {
            "mention_id": ["tagged", "untagged", "blank", "blank-en", "one-char"],
            "text": [
                "Le vol était en retard.",
                "The flight was late and the staff were not very friendly.",
                "   ",
                "   ",
                "!",
            ],
            "language": ["FR-ca", None, None, "en", "en"],
            "sentiment": ["negative", None, None, None, None],
        },
        schema=schema,
    )
    got = {
        r["mention_id"]: (
            r["language"],
            r["language_source"],
            r["sentiment"],
            r["sentiment_source"],
        )
        for r in score_mentions(mentions).iter_rows(named=True)
    }
    # A delivered tag wins and is reduced to its primary code; an untagged English sentence is
    # detected as English (function words "the", "was", "and", "were", "not", "very") and
    # scored; blank text has no language to detect, and blank text tagged English is not scored
    # (no text, no score: VADER would call it neutral); one character is text, scored: "!"
    # alone has no lexicon word, compound 0.0, neutral.
    assert got["tagged"] == ("fr", "delivered", "negative", "delivered")
    assert got["untagged"][:2] == ("en", "detected")
    assert got["untagged"][3] == "scored"
    assert got["blank"] == (None, "unknown", None, "unscored")
    assert got["blank-en"] == ("en", "delivered", None, "unscored")
    assert got["one-char"] == ("en", "delivered", "neutral", "scored")
