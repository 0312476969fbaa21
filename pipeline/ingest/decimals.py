"""A file's decimal separator, decided once per file, and the values it leaves ambiguous
(docs/operations.md, "Rules for deliveries").

The mapping states the separator (``[format] decimal``), or the file's own values (its first
100,000 rows) show it: a value only readable one way (``42,71``, ``1.234,56``, ``12.5``,
``1,234,567``) is evidence. A value readable both ways with different results (``1,250``: 1250
or 1.25?) is ambiguous; it is read under the decision only when the file shows the other
character as its thousands separator elsewhere (``1,234.50`` in a '.' file), else it is
quarantined, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import polars as pl

# The currencies that Polish, Czech, Russian, Bulgarian, Romanian, Hungarian, Croatian and
# Nordic spreadsheets write after the amount as a word, not a sign or a code (``1 234,56 zł``,
# ``12,50 Kč``, ``1 234,56 руб.``, ``12,5 lei``: lei is the plural of leu, RON its code;
# ``1 234 Ft``, ``12,50 kn``, ``1 234,50 kr``): Unicode has no currency sign for them
# (``\p{Sc}`` has ₽ but not руб.), and they were read as no number. At the end, any case.
CURRENCY_WORDS = ("zł", "kč", "руб.", "руб", "р.", "лв.", "лв", "lei", "ft", "kn", "kr.", "kr")
# Written before the amount: kr by Norwegian and Danish spreadsheets (``kr 1 234,50``), a
# dollar with its country by Brazilian ones (``R$ 1.234,56``) and many exports (``US$ 12``,
# ``HK$ 12``); the $ alone was stripped and the letters left, and the amount was unreadable.
LEADING_WORDS = ("kr.", "kr", "r$", "us$", "a$", "au$", "ca$", "nz$", "hk$", "s$", "mx$")
# ISO 4217's codes in use, and the ones an older export may still carry (the euro's
# predecessors and the currencies the project's locales replaced): only these are stripped
# as a code; any three letters were, and '2 mln' read as 2, '100 tys' as 100.
CURRENCY_CODES = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR "
    "FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD "
    "JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT "
    "MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG "
    "QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB "
    "TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER "
    "ZAR ZMW ZWL "
    "ATS BEF BGL CYP DEM EEK ESP FIM FRF GRD HRK IEP ITL LTL LUF LVL MTL NLG PTE ROL RUR SIT SKK"
).split()
_CODES = "|".join(CURRENCY_CODES)


def _spellings(words: tuple[str, ...]) -> str:
    """The words as a pattern's alternatives, each composed and decomposed (NFD): ``Kč`` from a
    Mac export is ``c`` + U+030C, which the composed word alone left unread (the amount was
    quarantined as no number). ``currency.marks`` composes what it finds."""
    forms = dict.fromkeys(f for w in words for f in (w, unicodedata.normalize("NFD", w)))
    return "|".join(re.escape(f) for f in forms)


_LEADING = _spellings(LEADING_WORDS)
_WORDS = _spellings(CURRENCY_WORDS)
# A currency as an amount writes it besides a sign: a leading or trailing code (any case), a
# trailing word (kr also leading). Codes first: KRW 1000 is no kr.
_MARKS = rf"(?i:^(?:{_CODES}|{_LEADING})|(?:{_CODES})$|(?:{_WORDS})$)"
# A currency sign, but not one of a fraction of a unit (¢ cent, ₥ mill, ₰ pfennig): 50¢ is
# 0.50, and stripped it landed as 50.
_SIGN = r"[^\P{Sc}¢₥₰]"
# Currency signs, spaces (also non-breaking), apostrophes (Swiss thousands) and the
# currency's code or word.
NUMBER_NOISE = rf"[\s\u00a0\u202f'’]|{_SIGN}|{_MARKS}"
# What of an amount's text names its currency (pipeline/ingest/currency.py): exactly what
# NUMBER_NOISE strips as currency.
CURRENCY_MARK = rf"{_SIGN}|{_MARKS}"
# A thousands group never starts with 0: '0.125' reads only with '.' as decimal separator.
DECIMAL_PATTERN = {
    ".": r"^[+-]?([1-9]\d{0,2}(,\d{3})+|\d+)(\.\d+)?$",
    ",": r"^[+-]?([1-9]\d{0,2}(\.\d{3})+|\d+)(,\d+)?$",
}
# One separator followed by exactly three digits: a thousands group or three decimals (a
# leading 0 is never a thousands group: 0.125 is not ambiguous).
AMBIGUOUS = r"^[+-]?[1-9]\d{0,2}[.,]\d{3}$"
# The '.' kind of it, as a number's own text is written (a JSON number, a workbook's number
# cell: neither has a thousands separator): a fourth decimal makes it read one way, 12.3450.
# Group 1 is the number.
DOT_AMBIGUOUS = r"^(-?[1-9]\d{0,2}\.\d{3})$"
OTHER = {".": ",", ",": "."}
# The rows whose values decide: reading every row cost 6 s per million rows (three amount
# columns, on a busy 2-core machine), and a later value that contradicts the decision is
# quarantined (unreadable, or ambiguous), never misread.
EVIDENCE_ROWS = 100_000


@dataclass(frozen=True)
class Decimals:
    """The decision for one file: the decimal separator, and whether the file shows the other
    character as its thousands separator (which settles ``1,250``)."""

    separator: str
    thousands_shown: bool
    evidence: str  # "mapping", "values" or "default", for messages


# Signs as accounting writes them, made a plain number: a negative in brackets ``(12,50 €)``,
# with SAP's trailing minus ``1.234,56-`` or the Unicode minus ``−7,25`` gets a leading '-'.
# Each was "cannot read": a credit note lost, a negative discount not said to be negative.
# (pattern, replacement) pairs, applied in order after the noise is gone; the replacement's
# group is ``$1`` in polars.
SIGN_FORMS = ((r"^\((.+)\)$", "-$1"), (r"^([^-].*)-$", "-$1"), ("\u2212", "-"))


def strip_noise(text: pl.Expr) -> pl.Expr:
    """Amount text without currency, spaces and apostrophes; a negative with a leading '-', and
    Excel's accounting zero as 0.

    Excel's Accounting format shows 0 as a dash, and "Save as CSV" writes what it shows:
    ``€ -``, `` -   ``, ``-   zł`` (every zero discount of such a file was quarantined). A
    bare ``-`` stays unreadable: typed by hand, it says no value is known, not 0."""
    cleaned = text.str.replace_all(NUMBER_NOISE, "")
    for pattern, replacement in SIGN_FORMS:
        cleaned = cleaned.str.replace(pattern, replacement)
    zero = (cleaned == "-") & (text != "-")
    return pl.when(~zero | zero.is_null()).then(cleaned).otherwise(pl.lit("0"))  # keeps the name


def decide(frame: pl.LazyFrame, sources: list[pl.Expr], stated: str | None) -> Decimals:
    """Decide a file's decimal separator from the mapping (``stated``) or its values.

    Reads the amount columns of the file's first :data:`EVIDENCE_ROWS` rows. Without a
    statement, values readable only with ',' and none only with '.' make it ','; anything else
    is '.'.
    """
    if not sources:
        return Decimals(stated or ".", True, "mapping" if stated else "default")
    counts = []
    for i in range(len(sources)):
        t = pl.col(f"t{i}")
        dot, comma = t.str.contains(DECIMAL_PATTERN["."]), t.str.contains(DECIMAL_PATTERN[","])
        counts += [
            (dot & ~comma).fill_null(False).sum().alias(f"dot{i}"),
            (comma & ~dot).fill_null(False).sum().alias(f"comma{i}"),
            (dot & ~comma & t.str.contains(",", literal=True))
            .fill_null(False)
            .sum()
            .alias(f"dt{i}"),
            (comma & ~dot & t.str.contains(".", literal=True))
            .fill_null(False)
            .sum()
            .alias(f"ct{i}"),
        ]
    cleaned = frame.head(EVIDENCE_ROWS).select(
        strip_noise(src).alias(f"t{i}") for i, src in enumerate(sources)
    )
    got = cleaned.select(counts).collect(engine="streaming").row(0, named=True)

    def total(prefix: str) -> int:
        return sum(v for k, v in got.items() if k.rstrip("0123456789") == prefix)

    if stated:
        separator, evidence = stated, "mapping"
    elif total("comma") and not total("dot"):
        separator, evidence = ",", "values"
    else:
        separator, evidence = ".", "values" if total("dot") else "default"
    shown = total("dt") if separator == "." else total("ct")
    return Decimals(separator, bool(shown), evidence)


def ambiguity_check(src: pl.Expr, label: str, decimals: Decimals) -> tuple[pl.Expr, pl.Expr] | None:
    """``(is bad, why)`` for values the decision leaves ambiguous, or None when it settles them."""
    if decimals.thousands_shown:
        return None
    sep, other = decimals.separator, OTHER[decimals.separator]
    bad = strip_noise(src).str.contains(AMBIGUOUS).fill_null(False)
    why = pl.format(
        f"{label}: '{{}}' is ambiguous: this file writes decimals with '{sep}' and shows no "
        f"'{other}' as a thousands separator, so it may be a thousands group or three decimals; "
        "write it with its decimals or without a thousands separator",
        src,
    )
    return bad, why
