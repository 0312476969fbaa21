"""Which language a text is in: py3langid's shipped model, restricted to the languages the
platform has letters and scorers for, with a confidence floor below which the answer is unknown.

The model ships inside the package (about 4 MB); nothing is downloaded at run time. To load
it, py3langid unpacks it into a temporary file of about 65 MB (``tempfile``: ``$TMPDIR``, else
/tmp), once per process: a full disk there stops the step with :class:`LanguageModelError`,
which names the folder and why. Asked by the sentiment scorers (pipeline/sentiment/scoring.py)
and by ingestion's code-page guess (pipeline/ingest/codepage.py), so it sits below both
(docs/architecture.md, "Layers").
"""

from __future__ import annotations

import errno
import tempfile
from functools import cache

# ISO 639-1 codes py3langid may answer with; any other language is "unknown" rather than a
# guess among 97 (short texts drift to Latin, Esperanto, ...).
LANGUAGES = (
    "en de fr es it pt nl sv da no fi ca ro sl hr pl cs sk hu sq lt lv et tr ru uk be bg sr mk el"
).split()
# Below this normalised probability a text's language is left unknown (docs/sentiment.md).
MIN_CONFIDENCE = 0.5
# What py3langid 0.4's model (model.npz.xz, 4.4 MB) unpacks to in its temporary file: 65.1 MiB
# (`xz -l`), written whole before a single text is classified.
UNPACKED_MB = 65
# Why a write failed, in the words a person looks for (errno: file, not the text).
WRITE_FAILURES = {
    errno.ENOSPC: "disk full",
    errno.EFBIG: "file too large (the process's file size limit, ulimit -f)",
    errno.EDQUOT: "disk quota exceeded",
}


class LanguageModelError(OSError):
    """py3langid's model could not be loaded; the message says where it was unpacked and why."""


def load_failure_text(err: OSError) -> str:
    """Why the model did not load, naming the temporary folder (its file has no name)."""
    why = WRITE_FAILURES.get(err.errno or 0, "an error")
    return (
        f"cannot load py3langid's language model: it is unpacked into a temporary file of about "
        f"{UNPACKED_MB} MB in {tempfile.gettempdir()} (TMPDIR), and writing it failed: {why} "
        f"({err}). Make room there, or set TMPDIR to a folder with room, and run again"
    )


@cache
def _identifier():  # noqa: ANN202 - py3langid has no type hints
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    try:
        ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    except OSError as err:
        # Not chained: the run log says the innermost error of a chain, which would be the bare
        # "[Errno 27] File too large" this message quotes.
        raise LanguageModelError(load_failure_text(err)) from None
    ident.set_languages(LANGUAGES)
    return ident


def load_model() -> None:
    """Load the model now (once per process): a caller about to ask inside a polars expression
    gets :class:`LanguageModelError` here, said once, not wrapped in the expression's text."""
    _identifier()


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
