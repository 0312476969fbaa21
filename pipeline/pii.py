"""Personal data in free text: the patterns that find it and the masks that replace it.

Free-text fields that reach a mart (campaign names, country, language, acquisition source,
platform) are masked in the staging SQL with these patterns, and the mart guard
(``expectations/marts_no_personal_data.json``, ``assets.serving.assert_no_personal_data``)
checks every published text value against the same patterns. The SQL files cannot import
Python, so the patterns are copied there; ``tests/test_pii.py`` checks the copies are equal.

Every pattern is written in the subset of regular-expression syntax that DuckDB and Arrow (RE2),
Spark (Java, through sqlglot) and Python's ``re`` read alike: no ``\\s``, ``\\d``, ``\\w`` or
``\\b`` (RE2 reads them as ASCII only, Python as Unicode), no lookaround, no ``\\u`` escapes.
Letters of other scripts are "any character outside ASCII" (``[^\\x00-\\x7F\\xa0]``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import IO

# A character of a name or a domain label: ASCII letters and digits, or anything outside ASCII
# (internationalised addresses: jane.doe@пример.рф) except the no-break space.
_NON_ASCII = r"[^\x00-\x7F\xa0]"
_TLD = rf"(?:[A-Za-z]|{_NON_ASCII}){{2,}}"
_SP = r"[ \t\xa0]*"
_AT_BRACKETED = rf"{_SP}[\[(<{{]{_SP}at{_SP}[\])>}}]{_SP}"
_DOT_BRACKETED = rf"{_SP}[\[(<{{]{_SP}dot{_SP}[\])>}}]{_SP}"
_DOT_WORD = r"[ \t\xa0]+dot[ \t\xa0]+"
_WORD = rf"(?:[A-Za-z0-9_%+-]|{_NON_ASCII})+"

_EMAIL_PLAIN = (
    rf"(?:[A-Za-z0-9._%+-]|{_NON_ASCII})+@(?:[A-Za-z0-9-]|{_NON_ASCII})+"
    rf"(?:\.(?:[A-Za-z0-9-]|{_NON_ASCII})+)*\.{_TLD}"
)
_ANY_DOT = rf"(?:{_DOT_BRACKETED}|\.|{_DOT_WORD})"
# jane.doe (at) example.com, jane [at] example [dot] com
_EMAIL_BRACKETED = (
    rf"{_WORD}(?:{_ANY_DOT}{_WORD})*{_AT_BRACKETED}{_WORD}(?:{_ANY_DOT}{_WORD})*{_ANY_DOT}{_TLD}"
)
# jane at example dot com: "at" alone is ordinary English (Sale at shop.com), so only with a
# spelled-out "dot" after it.
_EMAIL_WORDS = (
    rf"{_WORD}(?:(?:\.|{_DOT_WORD}){_WORD})*[ \t\xa0]+at[ \t\xa0]+{_WORD}"
    rf"(?:{_DOT_WORD}{_WORD})*{_DOT_WORD}{_TLD}"
)

EMAIL = f"(?i){_EMAIL_BRACKETED}|{_EMAIL_WORDS}|{_EMAIL_PLAIN}"
"""An e-mail address: plain, internationalised, or spelled out with (at), [at], at … dot."""

PHONE = (
    # international: +44 20 7946 0958, +1 (555) 010-0199, +4915112345678
    r"\+[0-9]{1,3}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .()-]?[0-9]){6,}"
    # North American: (555) 010-0199, 555-010-0199, 555.010.0199
    r"|(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}"
    # national with a trunk 0 and a separator: 020 7946 0958, 0151 12345678, 030/1234567
    r"|0[0-9]{2,4}[ /-](?:[0-9]{6,}|[0-9]{3,4}[ -][0-9]{3,4})"
    # French pairs: 06 12 34 56 78, 06.12.34.56.78
    r"|0[1-9](?:[ .][0-9]{2}){4}"
)
"""A phone number; dates (2026-10-31, 31.10.2026), prices and order numbers are not."""

# Columns of personal data by name (spec/contracts.md: raw e-mail, names, phone numbers, birth
# dates, social handles): never in a serving mart (assets.serving's guard refuses them), shown
# as PERSONAL_MASK in every model's preview (which Dagster's event log keeps).
PERSONAL_COLUMNS = frozenset(
    {
        "email",
        "email_address",
        "first_name",
        "last_name",
        "full_name",
        "name",
        "phone",
        "phone_number",
        "author_name",
        "author_handle",
        "birth_date",
    }
)
PERSONAL_MASK = "[personal]"


def personal_column(name: str) -> bool:
    """Whether a column named ``name`` holds personal data: one of PERSONAL_COLUMNS or a social
    handle (``twitter_handle``, …)."""
    return name.lower() in PERSONAL_COLUMNS or name.lower().endswith("_handle")


EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"

# (pattern, mask) in the order the SQL applies them.
MASKS: tuple[tuple[str, str], ...] = ((EMAIL, EMAIL_MASK), (PHONE, PHONE_MASK))


def mask_sql(column: str) -> str:
    """The portable SQL expression that masks personal data in ``column`` (one nesting per mask).

    The staging models carry this expression written out; it is here for tests and for checks
    that run their own SQL.
    """
    sql = column
    for pattern, mask in MASKS:
        sql = f"regexp_replace({sql}, '{pattern}', '{mask}', 'g')"
    return sql


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(pattern), mask) for pattern, mask in MASKS)


def mask_text(text: str) -> str:
    """``text`` with its e-mail addresses and phone numbers masked, as the staging SQL masks
    them: for what leaves the machine (a notice), which names where a value is, not the value."""
    for pattern, mask in _compiled():
        text = pattern.sub(mask, text)
    return text


def any_of(patterns: Iterable[str]) -> str:
    """One RE2 pattern that matches where any of ``patterns`` does. Each is a group of its own,
    so an inline flag such as ``EMAIL``'s "(?i)" stays within it; RE2 then reads a value once
    instead of once per pattern (the 100k personal-data batch of three marts 184 -> 111 ms of
    CPU, serving's scan of the marts 0.29 -> 0.12 s; one-off)."""
    return "|".join(f"(?:{p})" for p in patterns)


def matches_sql(column: str) -> str:
    """A SQL predicate: ``column`` holds something any mask's pattern finds."""
    return f"regexp_matches({column}, '{any_of(p for p, _ in MASKS)}')"


def open_owner_only(path: Path, *, append: bool = False, **text: str | None) -> IO[str]:
    """``path`` opened for text, readable by its owner only (0600), also when it existed with
    looser rights: the files that hold delivered values as found (the quarantine CSV files, the
    checks' logs and Data Docs index), personal data included. ``text``: ``encoding``,
    ``newline``."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)  # one written before this rule, or by another umask
    return os.fdopen(fd, "a" if append else "w", **text)
