"""Sentiment scorers per language: VADER for English, and whatever a user plugs in for another
language, used only once its accuracy is measured on labelled text in that language.

A scorer is a function ``text -> compound score in [-1, 1]`` (labelled with the same thresholds
as VADER). A user adds one in ``<data dir>/sentiment/scorers.toml`` (docs/sentiment.md)::

    [de]
    lexicon = "de.lexicon.tsv"        # word<TAB>weight per line (weights -4..4, as VADER's)
    labelled = "de.labelled.csv"      # text,sentiment: the labelled texts it is measured on

    [ro]
    model = "my_models.ro:score"      # an importable function of their own instead of a lexicon
    labelled = "ro.labelled.csv"

Each scorer is measured on its labelled file every build: it scores mentions only when it
labels at least :data:`MIN_LABELLED` texts with an accuracy of at least :data:`MIN_ACCURACY`;
otherwise its language stays unscored and the reason is logged. Nothing is ever scored with
another language's scorer.
"""

from __future__ import annotations

import csv
import importlib
import math
import re
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from pipeline.words import CEDILLA_TO_COMMA

MIN_ACCURACY = 0.7
MIN_LABELLED = 20
SETTINGS_FILE = "scorers.toml"
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
# Words that flip the next two words' polarity, per language (a lexicon may add its own with
# ``negations`` in scorers.toml), as the users write them: German "kein" inflected, Slovenian
# "ni" with its person (nisem: "I am not"), Greek δε and μην (δεν and μη before some letters),
# Romanian without its diacritic as typed on phones. Per language because one language's
# negation is another's plain word: Slovenian "ne" (not) is Romanian "us" ("Ne place": we like
# it).
NEGATIONS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "not no never",
        "de": "nicht kein keine keinen keinem keiner keines nie niemals nichts",
        "ro": "nu nici niciodată niciodata",
        "sl": "ne ni nisem nisi nisva nista nismo niste niso nikoli nikdar",
        "el": "όχι οχι δεν δε μη μην ποτέ ποτε",
        "ru": "не нет ни никогда",
    }.items()
}
# A language without a list of its own gets every list's words.
ANY_NEGATION = frozenset().union(*NEGATIONS.values())


@dataclass(frozen=True)
class Scorer:
    """A measured scorer of one language."""

    language: str
    name: str  # "vader", "lexicon de.lexicon.tsv", "model my_models.ro:score"
    score: Callable[[str], float]
    accuracy: float | None  # on its labelled texts (None: VADER, measured in docs/sentiment.md)
    labelled: int  # how many labelled texts it was measured on


def fold(text: str) -> str:
    """``text`` as a lexicon looks words up: composed (NFC, so "s" + a combining comma is "ș"),
    Romanian cedilla letters as comma letters, lower case. They are the same letters written
    two ways, so a lexicon in one form must read text in the other."""
    return unicodedata.normalize("NFC", text).translate(CEDILLA_TO_COMMA).lower()


def lexicon_scorer(weights: dict[str, float], negations: frozenset[str] = ANY_NEGATION):
    """A VADER-like scorer from a word → weight lexicon: the sum of the weights of the words
    found (a negation word flips the next two), normalised as VADER does: s / sqrt(s² + 15).
    Words, negations and text are compared :func:`fold`-ed."""
    weights = {fold(word): weight for word, weight in weights.items()}
    negations = frozenset(fold(word) for word in negations)

    def score(text: str) -> float:
        total, flip = 0.0, 0
        for word in _WORDS.findall(fold(text)):
            if word in negations:
                flip = 2
                continue
            weight = weights.get(word, 0.0)
            total += -weight if flip else weight
            flip = max(0, flip - 1)
        return total / math.sqrt(total * total + 15) if total else 0.0

    return score


def read_lexicon(path: Path) -> dict[str, float]:
    """``word<TAB>weight`` lines (``#`` comments and blank lines skipped)."""
    weights = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        word, _, weight = line.partition("\t")
        try:
            weights[word.strip().lower()] = float(weight)
        except ValueError:
            raise ValueError(f"{path}, line {n}: expected word<TAB>weight") from None
    return weights


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def compound_score(text: str) -> float:
    """VADER's compound score of ``text`` in [-1, 1]: English's scorer."""
    return float(_analyzer().polarity_scores(text)["compound"])


def label(compound: float, positive: float = 0.05, negative: float = -0.05) -> str:
    """The label of a compound score (the thresholds of pipeline.sentiment.scoring)."""
    if compound >= positive:
        return "positive"
    return "negative" if compound <= negative else "neutral"


def measure(score: Callable[[str], float], labelled: Path) -> tuple[float, int]:
    """Accuracy of ``score`` on a ``text,sentiment`` CSV (share of texts labelled as the
    human did), and how many texts it holds."""
    with labelled.open(encoding="utf-8", newline="") as fh:
        pairs = [(r["text"], r["sentiment"].strip().lower()) for r in csv.DictReader(fh)]
    if not pairs:
        return 0.0, 0
    right = sum(label(score(text)) == truth for text, truth in pairs)
    return right / len(pairs), len(pairs)


def load_scorers(
    folder: Path | None, log: Callable[[str], None] | None = None
) -> dict[str, Scorer]:
    """English's VADER plus every user scorer in ``folder/scorers.toml`` that passes its
    measurement; a scorer that fails is left out and ``log`` says why."""
    scorers = {"en": Scorer("en", "vader", compound_score, None, 0)}
    settings = folder / SETTINGS_FILE if folder else None
    if settings is None or not settings.is_file():
        return scorers
    raw = tomllib.loads(settings.read_text(encoding="utf-8"))
    for lang, spec in raw.items():
        where = f"{settings} [{lang}]"
        if lang == "en":
            (log or print)(f"{where}: English is scored by VADER; ignored")
            continue
        if "lexicon" in spec:
            own = NEGATIONS.get(lang, ANY_NEGATION)
            negations = own | frozenset(spec.get("negations", []))
            fn = lexicon_scorer(read_lexicon(folder / spec["lexicon"]), negations)
            name = f"lexicon {spec['lexicon']}"
        elif "model" in spec:
            module, _, attr = str(spec["model"]).partition(":")
            fn = getattr(importlib.import_module(module), attr)
            name = f"model {spec['model']}"
        else:
            (log or print)(f"{where}: needs lexicon or model; ignored")
            continue
        if "labelled" not in spec:
            (log or print)(f"{where}: no labelled file to measure it on; {lang} stays unscored")
            continue
        accuracy, n = measure(fn, folder / spec["labelled"])
        if n < MIN_LABELLED or accuracy < MIN_ACCURACY:
            (log or print)(
                f"{where}: accuracy {accuracy:.0%} on {n} labelled texts (needs "
                f">= {MIN_ACCURACY:.0%} on >= {MIN_LABELLED}); {lang} stays unscored"
            )
            continue
        scorers[lang] = Scorer(lang, name, fn, accuracy, n)
    return scorers
