"""Language and sentiment of social mentions: delivered values win, else detected and scored
by a measured scorer of the mention's own language, else unknown / unscored.

Every mention gets a language: the delivered one (``language_source = 'delivered'``), else
:func:`detect_language` (py3langid's shipped model, ``'detected'``), else NULL (``'unknown'``).
A mention keeps its delivered sentiment. One without is scored only by the scorer of its
language (:mod:`pipeline.sentiment.scorers`: VADER for English, a user's measured lexicon or
model for another), and a delivered language only when the text does not contradict it
(:func:`contradicts`); any other is left ``unscored`` (sentiment NULL) and counted, never
guessed. English's lexicon is never applied to another language. See ``docs/sentiment.md``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import duckdb
import polars as pl

from pipeline.engine import BuildLog
from pipeline.engine.settings_table import BRAND_COLUMNS, BRAND_TABLE
from pipeline.language import identify, load_model, top_language
from pipeline.sentiment.scorers import Scorer, load_scorers
from pipeline.warehouse import frame, rows, run, scalar, table_exists

# VADER's authors' thresholds on the compound score (Hutto & Gilbert 2014); docs/sentiment.md
# measures them against the human labels of the Twitter US-airline file.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
TABLE = "int_mention_sentiment"
# The brand's handles the table was last built with (meta.brand_handles then): their posts are
# no mentions (docs/open-rules.md R15) and are not scored; a change of the setting scores or
# drops only the posts of the handles it added or removed.
SCORED_HANDLES = "meta.sentiment_brand_handles"
PARENT = "stg_social_mentions"

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
    # Greek and Russian written in Latin letters (Greeklish, transliteration), as people type
    # them on a phone without the other keyboard: all ASCII, so py3langid's first choice there
    # was English and VADER scored them neutral. Left out, as words English texts use: "den"
    # (Denver's airport), "ton", "ta", "na", "ne", "ya", "net", "me", "to", "my", "no", "on".
    "el": frozenset(
        "kai einai mou sou tou tis tin stin sto stous apo gia pou tha poly poli pio alla oxi "
        "ochi nai mas sas exei exo kala kalo giati pote tipota akoma ola".split()
    ),
    "ru": frozenset(
        "eto ochen chto kak vse vsyo uzhe bolshe menya mne tebya spasibo pozhaluysta privet "
        "khorosho plokho vy oni ona tak zdes tut seychas kogda pochemu".split()
    ),
}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
# Handles, hashtags, links and HTML entities name things; they say nothing about the language.
_NOT_PROSE = re.compile(r"(?:[@#]\w+|https?://\S+|www\.\S+|&\w+;)", re.UNICODE)
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


# Words of the lists above that English texts use too ("club in Denver", "non-stop"), and English
# function words other languages use ("to": the Greek article in Greeklish; "an": German): no
# evidence either way.
SHARED_WITH_ENGLISH = frozenset("a e i o in non die am war will hat also man so to on an".split())


@cache
def _other_words() -> frozenset[str]:
    # Which other language a text is in does not matter here, only that it is not English.
    words = frozenset().union(*OTHER_LANGUAGE_WORDS.values())
    return words - ENGLISH_WORDS - SHARED_WITH_ENGLISH


def _prose(text: str | None) -> str:
    return _NOT_PROSE.sub(" ", text or "")


def detect_language(text: str | None) -> str | None:
    """The language of an undeclared text (ISO 639-1), or None when it cannot be told.

    py3langid's answer when its probability is at least 0.5. Below that (short texts), English
    only when the text is Latin-script and either has more English function words than other
    languages' (words both use, :data:`SHARED_WITH_ENGLISH`, count for neither) or, with none
    either way, py3langid's own first choice is English; else None.
    VADER's lexicon is no evidence: "super" and "top" are words in German, Romanian and
    Slovenian too.
    """
    prose = _prose(text)
    letters = _LETTER.findall(prose)
    if not letters:
        return None
    lang, _ = identify(prose)
    if lang is not None:
        return lang
    if sum(1 for ch in letters if _LATIN.match(ch)) * 2 < len(letters):
        return None  # mostly a non-Latin script py3langid is unsure of
    words = [w.lower() for w in _WORD.findall(prose)]
    english = sum(1 for w in words if w in ENGLISH_WORDS and w not in SHARED_WITH_ENGLISH)
    other = sum(1 for w in words if w in _other_words())
    if english or other:
        return "en" if english > other else None
    ascii_only = all(ord(ch) < 128 for ch in letters)
    return "en" if ascii_only and top_language(prose) == "en" else None


@cache
def _function_words() -> dict[str, frozenset[str]]:
    # Each language's own list; words English shares with the others are no evidence either way.
    lists = {"en": ENGLISH_WORDS, **OTHER_LANGUAGE_WORDS}
    return {lang: words - SHARED_WITH_ENGLISH for lang, words in lists.items()}


def contradicts(text: str | None, language: str) -> bool:
    """Whether ``text`` itself says it is not in its delivered ``language``: py3langid names
    another language with a probability of at least 0.5, or another language's function words
    outnumber the delivered language's own.

    A listening tool's language tag is often the account's or a guess on a short post ("Super
    schlecht, nie wieder!" tagged ``en``); scoring such a text with the tagged language's scorer
    would read another language with its lexicon (VADER's "super": positive). A text that says
    nothing either way ("Top!") keeps its delivered language's scorer.
    """
    prose = _prose(text)
    said, _ = identify(prose)
    if said is not None and said != language:
        return True
    words = [w.lower() for w in _WORD.findall(prose)]
    lists = _function_words()
    own = lists.get(language, frozenset())
    own_count = sum(1 for w in words if w in own)
    return any(
        sum(1 for w in words if w in theirs and w not in own) > own_count
        for lang, theirs in lists.items()
        if lang != language
    )


def looks_english(text: str | None) -> bool:
    """Whether undeclared ``text`` reads as English; False means "not scored by VADER"."""
    return detect_language(text) == "en"


# ISO 639-2 codes (bibliographic and terminology) of the users' languages, as some exports
# write them, to the contract's ISO 639-1: 'eng' apart from 'en' split English in two rows of
# social_language_monthly and left it unscored.
ISO_639_2 = {
    "eng": "en",
    "deu": "de",
    "ger": "de",
    "ron": "ro",
    "rum": "ro",
    "ell": "el",
    "gre": "el",
    "rus": "ru",
    "slv": "sl",
}


def normalise_language(code: str | None) -> str | None:
    """A delivered language tag as its primary ISO 639-1 code: 'EN' / 'en-US' / 'pt_BR' /
    'eng' → 'en', 'en', 'pt', 'en' (:data:`ISO_639_2`); blank → None."""
    if code is None or not code.strip():
        return None
    primary = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    return ISO_639_2.get(primary, primary)


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


def score_mentions(
    mentions: pl.DataFrame, scorers: dict[str, Scorer] | None = None
) -> pl.DataFrame:
    """Final language and sentiment per mention (see the module docstring).

    ``mentions`` has mention_id, text, language, sentiment; the result has mention_id,
    sentiment, sentiment_source ('delivered' | 'scored' | 'unscored'), compound (scored rows
    only), language, language_source ('delivered' | 'detected' | 'unknown') and scorer (the
    scorer's name on scored rows).
    """
    scorers = scorers if scorers is not None else load_scorers(None)
    delivered_lang = pl.col("language").map_elements(normalise_language, return_dtype=pl.String)
    detected = pl.col("text").map_elements(detect_language, return_dtype=pl.String)
    has_text = pl.col("text").str.strip_chars().str.len_chars().fill_null(0) > 0
    base = mentions.with_columns(delivered_lang.alias("_delivered_lang")).with_columns(
        pl.when(pl.col("_delivered_lang").is_not_null())
        .then(pl.lit("delivered"))
        .when(pl.col("_delivered_lang").is_null() & has_text)
        .then(pl.lit("pending"))
        .otherwise(pl.lit("unknown"))
        .alias("_origin")
    )
    if base.filter(
        (pl.col("_origin") == "pending") | pl.col("sentiment").is_null() & has_text
    ).height:
        # Loaded here, not by the first text inside the expressions below: a model that
        # cannot be unpacked (a full disk) is said once, as itself (LanguageModelError).
        load_model()
    pending = base.filter(pl.col("_origin") == "pending").select(
        "mention_id", detected.alias("_detected")
    )
    base = base.join(pending, on="mention_id", how="left").with_columns(
        pl.coalesce("_delivered_lang", "_detected").alias("language_final"),
        pl.when(pl.col("_origin") == "delivered")
        .then(pl.lit("delivered"))
        .when(pl.col("_detected").is_not_null())
        .then(pl.lit("detected"))
        .otherwise(pl.lit("unknown"))
        .alias("language_source"),
    )
    parts = []
    for lang, scorer in scorers.items():
        todo = base.filter(
            pl.col("sentiment").is_null() & (pl.col("language_final") == lang) & has_text
        )
        # A delivered language the text contradicts is not scored: that would read the text
        # with another language's scorer. Only delivered languages are asked; a detected one
        # is the text's own answer already.
        # Asked once per distinct text (about 45 µs each: a repost or a template's text is
        # asked once).
        against = pl.col("text").map_elements(
            lambda t, lang=lang: contradicts(t, lang), return_dtype=pl.Boolean
        )
        delivered_lang = todo.filter(pl.col("_origin") == "delivered")
        verdicts = delivered_lang.select(pl.col("text").unique()).with_columns(
            against.alias("_against")
        )
        kept = delivered_lang.join(verdicts, on="text", how="left").filter(~pl.col("_against"))
        todo = pl.concat([todo.filter(pl.col("_origin") != "delivered"), kept.drop("_against")])
        if todo.height:
            parts.append(
                todo.select(
                    "mention_id",
                    pl.col("text")
                    .map_elements(lambda t, f=scorer.score: float(f(t)), return_dtype=pl.Float64)
                    .alias("compound"),
                    pl.lit(scorer.name).alias("scorer"),
                )
            )
    schema = {"mention_id": pl.String, "compound": pl.Float64, "scorer": pl.String}
    scored = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    compound = pl.col("compound")
    delivered = pl.col("sentiment").is_not_null()
    return base.join(scored, on="mention_id", how="left").select(
        "mention_id",
        pl.coalesce(pl.col("sentiment"), sentiment_label(compound)).alias("sentiment"),
        pl.when(delivered)
        .then(pl.lit("delivered"))
        .when(compound.is_not_null())
        .then(pl.lit("scored"))
        .otherwise(pl.lit("unscored"))
        .alias("sentiment_source"),
        pl.when(delivered).then(None).otherwise(compound).alias("compound"),
        pl.col("language_final").alias("language"),
        "language_source",
        pl.when(delivered).then(None).otherwise(pl.col("scorer")).alias("scorer"),
    )


def scorer_version(scorers: dict[str, Scorer] | None = None, folder: Path | None = None) -> str:
    """What the scores depend on: this code, the VADER and py3langid releases and the user's
    scorers (their files and measured accuracy); a change rescores."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    # The language identifier sits below the package, shared with ingestion (pipeline/language.py).
    for module in (here / "scoring.py", here / "scorers.py", here.parent / "language.py"):
        digest.update(module.read_bytes())
    for package in ("vaderSentiment", "py3langid"):
        digest.update(importlib.metadata.version(package).encode())
    for lang, scorer in sorted((scorers or {}).items()):
        digest.update(f"{lang}|{scorer.name}|{scorer.accuracy}|{scorer.labelled}".encode())
    if folder is not None and folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file():
                digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def scorers_dir(data_dir: Path) -> Path:
    """Where a user's scorers live: ``<data dir>/sentiment`` (docs/sentiment.md)."""
    return data_dir / "sentiment"


def _handles(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """A select of the (platform, handle) pairs of ``table`` (schema.name); None when the
    table does not exist."""
    schema, name = table.split(".")
    return f"select platform, handle from {table}" if table_exists(con, schema, name) else None


def build_mention_sentiment(
    con: duckdb.DuckDBPyConnection,
    folder: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Build ``intermediate.int_mention_sentiment`` from ``stg_social_mentions``: only the
    mentions it changed since the last build when the engine can tell, else all of them.

    The brand's own posts (an author in ``meta.brand_handles``) are no mentions and are not
    scored (docs/open-rules.md R15): a change of the handles drops the rows of the posts of the
    handles it added and scores those of the handles it removed, nothing else. With neither a
    new mention nor another handle the table is left as it was, unrecorded, so that its readers
    are skipped (a run of orders runs this step too: it reads the settings).

    ``folder`` holds the user's scorers (:func:`scorers_dir`). Returns how many mentions (in the
    whole table) were delivered with a sentiment, scored, and left unscored, and whether the
    table was ``rebuilt``.
    """
    scorers = load_scorers(folder, log)
    version = scorer_version(scorers, folder)
    columns = "mention_id, text, language, sentiment"
    run(con, "create schema if not exists intermediate")
    run(con, "begin transaction")
    try:
        build_log = BuildLog(con)
        delta = build_log.parent_delta(TABLE, version, PARENT)
        # Without the settings (a step run alone on a new warehouse) the brand has no handles.
        brand = _handles(con, BRAND_TABLE) or (
            "select cast(null as text) as platform, cast(null as text) as handle where false"
        )
        scored_with = _handles(con, SCORED_HANDLES)
        rebuilt = (
            delta is None or scored_with is None or not table_exists(con, "intermediate", TABLE)
        )
        taken = f"(({brand}) except ({scored_with}))"  # handles the brand's since the last build
        freed = f"(({scored_with}) except ({brand}))"  # handles no longer the brand's
        if rebuilt:
            source = "staging.stg_social_mentions"
        else:
            builds = build_log.builds([TABLE, PARENT])
            read = builds[TABLE].parent_builds.get(PARENT)
            new_posts = PARENT in builds and builds[PARENT].build_id != read
            if not new_posts and not scalar(
                con, f"select count(*) from ({taken} union all {freed}) as changed"
            ):
                run(con, "commit")  # nothing to score or drop
                return _counts(con, scorers, rebuilt=False, looked_at=0)
            # The new posts, and every post of a handle no longer the brand's (not scored when
            # it was); the union keeps a post that is both once (stg_social_mentions only gains
            # posts, so the delta's copy is the table's).
            source = (
                f"(select {columns}, platform, author_handle from ({delta.inserted()}) as delta "
                f"union select {columns}, platform, author_handle "
                f"from staging.stg_social_mentions as stg semi join {freed} as freed "
                "on stg.platform = freed.platform and stg.author_handle = freed.handle)"
            )
        mentions = (
            f"select {columns} from {source} as posts anti join ({brand}) as brand "
            "on posts.platform = brand.platform and posts.author_handle = brand.handle"
        )
        scored = score_mentions(frame(con, mentions), scorers)
        con.register("scored_mentions_frame", scored.to_arrow())
        try:
            select = (
                "select mention_id, sentiment, sentiment_source, compound, language, "
                "language_source, scorer from scored_mentions_frame"
            )
            if rebuilt:
                run(con, f"create or replace table intermediate.{TABLE} as {select}")
            else:
                # The posts the delta rewrote, and those of a handle that became the brand's.
                run(
                    con,
                    f"delete from intermediate.{TABLE} where mention_id in "
                    f"(select mention_id from ({delta.select}) as delta) "
                    f"or mention_id in (select stg.mention_id from staging.stg_social_mentions "
                    f"as stg semi join {taken} as taken "
                    "on stg.platform = taken.platform and stg.author_handle = taken.handle)",
                )
                run(con, f"insert into intermediate.{TABLE} {select}")
        finally:
            con.unregister("scored_mentions_frame")
        handle_columns = ", ".join(f"{c} {t}" for c, t in BRAND_COLUMNS.items())
        run(con, f"create or replace table {SCORED_HANDLES} ({handle_columns})")
        run(con, f"insert into {SCORED_HANDLES} {brand}")
        build_log.record(TABLE, version, [PARENT])
        run(con, "commit")
    except Exception:
        run(con, "rollback")
        raise
    return _counts(con, scorers, rebuilt=rebuilt, looked_at=scored.height)


def _counts(
    con: duckdb.DuckDBPyConnection, scorers: dict[str, Scorer], rebuilt: bool, looked_at: int
) -> dict[str, int]:
    """The step's figures: mentions in the table by sentiment source, the scorers, whether the
    table was rebuilt and how many mentions this build looked at."""
    counts = dict.fromkeys(("delivered", "scored", "unscored"), 0)
    for source_kind, n in rows(
        con, f"select sentiment_source, count(*) from intermediate.{TABLE} group by 1"
    ):
        counts[source_kind] = int(n)
    counts["rows"] = sum(counts.values())
    counts["scorers"] = ", ".join(  # type: ignore[assignment]
        f"{lang}: {sc.name}" + (f" ({sc.accuracy:.0%} on {sc.labelled})" if sc.accuracy else "")
        for lang, sc in sorted(scorers.items())
    )
    counts["rebuilt"] = int(rebuilt)
    counts["new"] = looked_at
    return counts
