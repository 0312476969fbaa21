"""Sentiment of social mentions that arrive without one: VADER for English text, nothing else.

A mention keeps its delivered sentiment. One without is scored with VADER when its text is
English: by its delivered ``language`` when given, else by :func:`looks_english`, a small,
documented heuristic (script + stop words + VADER's own lexicon). Text in any other language is
left ``unscored`` (sentiment NULL) and counted, never guessed. See ``docs/sentiment.md``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
from functools import cache
from pathlib import Path

import duckdb
import polars as pl
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from pipeline.sql_engine import CHANGE, parent_delta, record_build
from pipeline.warehouse import frame, rows, run, table_exists

# VADER's authors' thresholds on the compound score (Hutto & Gilbert 2014); docs/sentiment.md
# measures them against the human labels of the Twitter US-airline file.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
TABLE = "int_mention_sentiment"

# Frequent function words: English ones, and those of the languages our users write in.
ENGLISH_WORDS = frozenset(
    "the and is are was were you your to of for with this that my not have has it its on at be "
    "just but what they we me so can will get from do does did all been why how when an our "
    "would could should there their about i i'm it's don't can't you're i've if or by as up out "
    "any than then them these those very thanks thank please hi hello yes only again now today "
    "still back here where who which more some one got had he she his her him us we've we're "
    "they're i'd i'll you've isn't didn't doesn't won't".split()
)
OTHER_LANGUAGE_WORDS: dict[str, frozenset[str]] = {
    "de": frozenset(
        "der das und ist nicht ich sie es ein eine mit für auf dem den sich auch wir ihr "
        "zu von bei wie aber nur noch sehr schon war".split()
    ),
    "fr": frozenset(
        "le les et est pas je vous nous une des du avec pour sur dans très mais qui que "
        "ce cette mon ma mes votre merci était".split()
    ),
    "es": frozenset(
        "el los las y es que una por con para muy pero gracias mi su del al lo como "
        "está este esta fue son".split()
    ),
    "it": frozenset(
        "il gli e è che non una per con sono della molto ma grazie mio questo questa "
        "del alla anche".split()
    ),
    "pt": frozenset(
        "o os e é que não uma um por com para muito mas obrigado obrigada meu minha "
        "você está isso".split()
    ),
    "nl": frozenset(
        "de het en is niet ik je een met voor op van dat zijn maar ook heel bedankt wij".split()
    ),
    "ro": frozenset(
        "și este nu eu tu o un cu pentru pe de la că mai foarte dar mulțumesc acest "
        "această sunt".split()
    ),
    "sl": frozenset("in je ni jaz ti z za na da se zelo hvala ampak sem smo".split()),
}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
# Handles, hashtags, links and HTML entities name things; they say nothing about the language.
_NOT_PROSE = re.compile(r"(?:[@#]\w+|https?://\S+|www\.\S+|&\w+;)", re.UNICODE)
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


# Words of the lists above that English texts use too ("club in Denver", "non-stop"): no evidence.
SHARED_WITH_ENGLISH = frozenset("a e i o in non die am war will hat also man so to on".split())


@cache
def _other_words() -> frozenset[str]:
    # Which other language a text is in does not matter here, only that it is not English.
    words = frozenset().union(*OTHER_LANGUAGE_WORDS.values())
    return words - ENGLISH_WORDS - SHARED_WITH_ENGLISH


def looks_english(text: str | None) -> bool:
    """Whether undeclared ``text`` reads as English; False means "leave it unscored"."""
    if not text or not text.strip():
        return False
    prose = _NOT_PROSE.sub(" ", text)
    letters = _LETTER.findall(prose)
    if not letters:
        return False
    if sum(1 for ch in letters if _LATIN.match(ch)) * 2 < len(letters):
        return False  # mostly a non-Latin script: Greek, Cyrillic, Arabic, CJK, ...
    words = [w.lower() for w in _WORD.findall(prose)]
    english = sum(1 for w in words if w in ENGLISH_WORDS)
    other = sum(1 for w in words if w in _other_words())
    if english or other:
        return english > other
    # No function word either way (short texts such as "great service!!"): English only if a word
    # is in VADER's English lexicon.
    lexicon = _analyzer().lexicon
    return any(w in lexicon for w in words)


def compound_score(text: str) -> float:
    """VADER's compound score of ``text`` in [-1, 1]."""
    return float(_analyzer().polarity_scores(text)["compound"])


def sentiment_label(
    compound: pl.Expr,
    positive: float = POSITIVE_THRESHOLD,
    negative: float = NEGATIVE_THRESHOLD,
) -> pl.Expr:
    """Label of a compound score: positive at or above ``positive``, negative at or below
    ``negative``, neutral between, NULL when there is no score."""
    return (
        pl.when(compound >= positive)
        .then(pl.lit("positive"))
        .when(compound <= negative)
        .then(pl.lit("negative"))
        .when(compound.is_not_null())
        .then(pl.lit("neutral"))
    )


def score_mentions(mentions: pl.DataFrame) -> pl.DataFrame:
    """Final sentiment per mention: delivered, else VADER on English text, else unscored.

    ``mentions`` has mention_id, text, language, sentiment; the result has mention_id, sentiment,
    sentiment_source ('delivered' | 'scored' | 'unscored') and compound (scored rows only).
    """
    text = pl.col("text")
    declared = pl.col("language").str.to_lowercase().str.strip_chars()
    has_text = text.str.strip_chars().str.len_chars().fill_null(0) > 0
    is_english = (
        pl.when(declared.is_not_null() & (declared != ""))
        .then(declared.str.starts_with("en") & has_text)
        .otherwise(text.map_elements(looks_english, return_dtype=pl.Boolean))
        .fill_null(False)
    )
    # Only mentions without a delivered sentiment are looked at, and only English ones scored.
    scored = (
        mentions.filter(pl.col("sentiment").is_null())
        .filter(is_english)
        .select(
            "mention_id",
            text.map_elements(compound_score, return_dtype=pl.Float64).alias("compound"),
        )
    )
    compound = pl.col("compound")
    delivered = pl.col("sentiment").is_not_null()
    return mentions.join(scored, on="mention_id", how="left").select(
        "mention_id",
        pl.coalesce(pl.col("sentiment"), sentiment_label(compound)).alias("sentiment"),
        pl.when(delivered)
        .then(pl.lit("delivered"))
        .when(compound.is_not_null())
        .then(pl.lit("scored"))
        .otherwise(pl.lit("unscored"))
        .alias("sentiment_source"),
        compound,
    )


def scorer_version() -> str:
    """What the scores depend on: this module's code and the VADER release; a change rescores."""
    vader = importlib.metadata.version("vaderSentiment")
    return hashlib.sha256(Path(__file__).read_bytes() + vader.encode()).hexdigest()


def build_mention_sentiment(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Build ``intermediate.int_mention_sentiment`` from ``stg_social_mentions``: only the
    mentions it changed since the last build when the engine can tell, else all of them.

    Returns how many mentions (in the whole table) were delivered with a sentiment, scored, and
    left unscored, and whether the table was ``rebuilt``.
    """
    version = scorer_version()
    columns = "mention_id, text, language, sentiment"
    run(con, "create schema if not exists intermediate")
    run(con, "begin transaction")
    try:
        delta = parent_delta(con, TABLE, version, "stg_social_mentions")
        rebuilt = delta is None or not table_exists(con, "intermediate", TABLE)
        source = (
            "staging.stg_social_mentions"
            if rebuilt
            else f"({delta}) as delta where {CHANGE} = 'insert'"
        )
        scored = score_mentions(frame(con, f"select {columns} from {source}"))
        con.register("scored_mentions_frame", scored.to_arrow())
        try:
            select = (
                "select mention_id, sentiment, sentiment_source, compound "
                "from scored_mentions_frame"
            )
            if rebuilt:
                run(con, f"create or replace table intermediate.{TABLE} as {select}")
            else:
                run(
                    con,
                    f"delete from intermediate.{TABLE} where mention_id in "
                    f"(select mention_id from ({delta}) as delta)",
                )
                run(con, f"insert into intermediate.{TABLE} {select}")
        finally:
            con.unregister("scored_mentions_frame")
        record_build(con, TABLE, version, ["stg_social_mentions"])
        run(con, "commit")
    except Exception:
        run(con, "rollback")
        raise
    counts = dict.fromkeys(("delivered", "scored", "unscored"), 0)
    for source_kind, n in rows(
        con, f"select sentiment_source, count(*) from intermediate.{TABLE} group by 1"
    ):
        counts[source_kind] = int(n)
    counts["rows"] = sum(counts.values())
    counts["rebuilt"] = int(rebuilt)
    counts["new"] = scored.height
    return counts
