"""Direct, fast tests of ``pipeline/sentiment.py``'s rules at their edges: the label thresholds,
language tags, and which text counts as English, each expected value worked out by hand.

These run first in ``make mutate``'s sentiment target."""

from __future__ import annotations

import polars as pl

from pipeline.sentiment import (
    NEGATIVE_THRESHOLD,
    POSITIVE_THRESHOLD,
    normalise_language,
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
