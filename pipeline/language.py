"""Which language a text is in: py3langid's shipped model, restricted to the languages the
platform has letters and scorers for, with a confidence floor below which the answer is unknown.

The model ships inside the package (about 4 MB); nothing is downloaded at run time. Asked by
the sentiment scorers (pipeline/sentiment/scoring.py) and by ingestion's code-page guess
(pipeline/ingest/codepage.py), so it sits below both (docs/architecture.md, "Layers").
"""

from __future__ import annotations

from functools import cache

# ISO 639-1 codes py3langid may answer with; any other language is "unknown" rather than a
# guess among 97 (short texts drift to Latin, Esperanto, ...).
LANGUAGES = (
    "en de fr es it pt nl sv da no fi ca ro sl hr pl cs sk hu sq lt lv et tr ru uk be bg sr mk el"
).split()
# Below this normalised probability a text's language is left unknown (docs/sentiment.md).
MIN_CONFIDENCE = 0.5


@cache
def _identifier():  # noqa: ANN202 - py3langid has no type hints
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(LANGUAGES)
    return ident


def identify(text: str | None) -> tuple[str | None, float]:
    """The language of ``text`` and py3langid's probability for it; ``None`` when the text is
    blank or the probability is below :data:`MIN_CONFIDENCE`."""
    if not text or not text.strip():
        return None, 0.0
    lang, prob = _identifier().classify(text)
    prob = float(prob)
    return (str(lang) if prob >= MIN_CONFIDENCE else None), prob


def probabilities(text: str) -> dict[str, float]:
    """py3langid's normalised probability for each of :data:`LANGUAGES` (summing to 1)."""
    return {str(lang): float(prob) for lang, prob in _identifier().rank(text)}


def top_language(text: str | None) -> str | None:
    """py3langid's first choice for ``text`` whatever its probability (None for blank text)."""
    if not text or not text.strip():
        return None
    return str(_identifier().classify(text)[0])
