"""Direct, fast tests of ``pipeline/sentiment/scoring.py``'s rules at their edges: the label
thresholds, language tags, and which text counts as English, each expected value worked out by hand.

These run first in ``make mutate``'s sentiment target."""

from __future__ import annotations

import duckdb
import polars as pl

from pipeline.sentiment.scorers import Scorer, compound_score
from pipeline.sentiment.scoring import (
    NEGATIVE_THRESHOLD,
    POSITIVE_THRESHOLD,
    build_mention_sentiment,
    detect_language,
    normalise_language,
    score_mentions,
    scorer_version,
    sentiment_label,
)
from pipeline.warehouse import run


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


def test_detection_fallback_edges():
    # Texts py3langid is unsure of (probability below 0.5), decided by the fallback rules.
    # "is Рй": 2 Latin letters of 4, exactly half, is not "mostly non-Latin" (2 * 2 < 4 is
    # false); "is" is an English function word, no other language's: English.
    assert detect_language("is Рй") == "en"
    # "is Рйз": 2 Latin letters of 5, 2 * 2 < 5: mostly non-Latin, no answer.
    assert detect_language("is Рйз") is None
    # "the der": one English word ("the"), one German ("der"): not more English, no answer;
    # "the and der": two English words against one: English.
    assert detect_language("the der") is None
    assert detect_language("the and der") == "en"
    # "the der und": one English word against two German: fewer, no answer.
    assert detect_language("the der und") is None
    # "great sérvice": no function word either way; "é" is not ASCII, so py3langid's first
    # choice (English) is not taken: no answer.
    assert detect_language("great sérvice") is None
    # "super service": ASCII, no function word, but py3langid's first choice is Danish ("da"),
    # not English: no answer ("da" sorting before "en" must not count).
    assert detect_language("super service") is None


def test_scorer_version_reads_the_files_of_the_scorers_folder(tmp_path):
    # A user's scorer file that changes must change the version (and so rescore everything).
    (tmp_path / "lexicon.tsv").write_text("bon\t2\n")
    before = scorer_version({}, tmp_path)
    (tmp_path / "lexicon.tsv").write_text("bon\t3\n")
    assert scorer_version({}, tmp_path) != before


def test_scorer_version_names_the_scorers():
    # The scorers in use (name, accuracy, labelled count) are part of the version: adding one
    # must change it.
    vader = Scorer("en", "vader", compound_score, None, 0)
    assert scorer_version({"en": vader}) != scorer_version({})


def test_build_counts_and_rebuilds_when_the_parent_has_no_build_log(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    run(con, "create schema staging")
    run(
        con,
        "create table staging.stg_social_mentions (mention_id varchar, platform varchar, "
        "author_handle varchar, text varchar, language varchar, sentiment varchar)",
    )
    run(
        con,
        "insert into staging.stg_social_mentions values "
        "('a', 'twitter', 'ana', 'x', null, 'negative'), "
        "('b', 'twitter', 'sam', 'The flight was great.', null, null)",
    )
    # a keeps its delivered sentiment; b is detected English ("the", "was") and scored by
    # VADER; nothing is left unscored, which must count 0, not be missing or guessed.
    want = {"delivered": 1, "scored": 1, "unscored": 0, "rows": 2, "rebuilt": 1, "new": 2}
    first = build_mention_sentiment(con)
    assert {k: first[k] for k in want} == want
    # The staging table was made by hand, so the engine's log cannot tell what changed in it
    # since: the second build rebuilds the (now existing) table whole, with the same counts.
    second = build_mention_sentiment(con)
    assert {k: second[k] for k in want} == want
    con.close()


def test_three_letter_codes_of_the_users_languages_become_their_two_letter_code():
    # ISO 639-2 (bibliographic and terminology codes), as some exports write them: the
    # contract's column is ISO 639-1, and 'eng' apart from 'en' split a language in two rows of
    # social_language_monthly and left English unscored.
    tags = ["eng", "ENG", "deu", "ger", "ron", "rum", "ell", "gre", "rus", "slv", "slv-SI"]
    assert [normalise_language(t) for t in tags] == [
        "en", "en", "de", "de", "ro", "ro", "el", "el", "ru", "sl", "sl",
    ]  # fmt: skip
    assert normalise_language("hrv") == "hrv"  # not a users' language: kept as delivered
    (row,) = score_mentions(
        pl.DataFrame(
            {"mention_id": ["m"], "text": ["Thanks, great crew!"], "language": ["eng"]},
        ).with_columns(pl.lit(None, dtype=pl.String).alias("sentiment"))
    ).iter_rows(named=True)
    assert (row["language"], row["language_source"], row["sentiment"], row["scorer"]) == (
        "en",
        "delivered",
        "positive",
        "vader",
    )
