"""Counts as the pipeline says them to people: "1 row", "2 rows", "1,250 rows"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with ``noun``, singular for exactly one ("1 row read", not "1 rows read"), else
    ``plural`` (default: the noun with an s); ``n`` with thousands separators."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def agreeing(n: int, one: str, many: str) -> str:
    """The word that agrees with a count of ``n``: ``one`` for exactly one, else ``many``
    ("1 row repeats", "2 rows repeat"), for the verb after :func:`counted`."""
    return one if n == 1 else many
