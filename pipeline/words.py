"""Counts as the pipeline says them to people: "1 row", "2 rows", "1,250 rows"; delivered
text shown as it is in the UI's markdown; and Romanian's two ways of writing ș ț."""

from __future__ import annotations

import re

# Romanian ș ț (comma below) as Windows-1250, which has no comma letters, and older keyboards
# write them: ş ţ (cedilla). One letter to a Romanian reader, so a value map's key
# (pipeline/ingest/mappings.py) and a lexicon's word (pipeline/sentiment/scorers.py) in one form
# read text in the other.
CEDILLA = "şŞţŢ"
COMMA = "șȘțȚ"
CEDILLA_TO_COMMA = str.maketrans(CEDILLA, COMMA)

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


# Escapes of the characters that show as nothing or break a line, written as Python writes them.
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def visible(text: str) -> str:
    """``text`` with every character that prints as nothing, as a blank or as a line break
    replaced by its escape (``\\u200b``): controls, format characters (zero-width space, the
    byte-order mark), spaces other than U+0020, the line and paragraph separators, i.e. what
    ``str.isprintable`` refuses. A rule holding them (a suite's regex) reads as what it is."""
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def markdown_text(value: object) -> str:
    """``value`` as it reads, for a markdown table cell or list item: markup characters
    escaped and line breaks as spaces, so that a delivered comment (``**Δεν** | ήρθε``, a
    second line) shows as written and keeps its row."""
    return _LINE_BREAK.sub(" ", _MARKUP.sub(lambda m: "\\" + m.group(0), str(value)))
