"""Counts as the pipeline says them to people: "1 row", "2 rows", "1,250 rows"; and delivered
text shown as it is in the UI's markdown."""

from __future__ import annotations

import re

# What markdown would read as markup in a table cell or a list item: the cell's end (|),
# emphasis (* and _ at a word's edge; ``customer_id`` stays as it is), code, links, raw HTML,
# strike-through, entities, and the backslash that escapes them all. A line break ends the row.
_MARKUP = re.compile(r"[\\`*\[\]<>~|&]|(?<!\w)_|_(?!\w)")
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with ``noun``, singular for exactly one ("1 row read", not "1 rows read"), else
    ``plural`` (default: the noun with an s); ``n`` with thousands separators."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def agreeing(n: int, one: str, many: str) -> str:
    """The word that agrees with a count of ``n``: ``one`` for exactly one, else ``many``
    ("1 row repeats", "2 rows repeat"), for the verb after :func:`counted`."""
    return one if n == 1 else many


def markdown_text(value: object) -> str:
    """``value`` as it reads, for a markdown table cell or list item: markup characters
    escaped and line breaks as spaces, so that a delivered comment (``**Δεν** | ήρθε``, a
    second line) shows as written and keeps its row."""
    return _LINE_BREAK.sub(" ", _MARKUP.sub(lambda m: "\\" + m.group(0), str(value)))
