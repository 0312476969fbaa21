"""The currency of an order: as delivered, or as its amounts name it (``€ 12,50``, ``12,50 zł``,
``RON 15``), and the rows whose amounts contradict it (docs/vendors.md, "Mapping files").

The spec strips currency signs from amounts (contracts.md); stripped and forgotten, a file
without a currency column landed orders in euros and zloty as one currency, and the
mixed-currency warning could not fire. Now the sign, word or code an amount carries gives the
order's ``currency`` when none is delivered, in ISO 4217; a row whose amounts name another
currency than its ``currency``, or two currencies, is quarantined: its amounts would be summed
with figures they are not.

A sign that names several currencies (``$``, ``¥``, ``kr``) is no ISO code: it lands as
written, so that the checks still see the file mixing ``$`` with ``€`` (two currencies) and
that ``$`` is no ISO code; a currency column (or the mapping's constant) says which one.
"""

from __future__ import annotations

import polars as pl

from pipeline.ingest.decimals import CURRENCY_CODES, CURRENCY_MARK

# Signs and words that name one currency (lower-cased, as :func:`marks` gives them) -> ISO 4217.
NAMED = {
    "€": "EUR",
    "£": "GBP",
    "₽": "RUB",
    "₴": "UAH",
    "₺": "TRY",
    "₹": "INR",
    "₪": "ILS",
    "₩": "KRW",
    "₫": "VND",
    "₱": "PHP",
    "₦": "NGN",
    "₸": "KZT",
    "₾": "GEL",
    "₼": "AZN",
    "฿": "THB",
    "₡": "CRC",
    "₲": "PYG",
    "₵": "GHS",
    "₭": "LAK",
    "₮": "MNT",
    "֏": "AMD",
    "zł": "PLN",
    "kč": "CZK",
    "руб.": "RUB",
    "руб": "RUB",
    "р.": "RUB",
    "лв.": "BGN",
    "лв": "BGN",
    "lei": "RON",
    "ft": "HUF",
    "kn": "HRK",
    "r$": "BRL",
    "us$": "USD",
    "a$": "AUD",
    "au$": "AUD",
    "ca$": "CAD",
    "nz$": "NZD",
    "hk$": "HKD",
    "s$": "SGD",
    "mx$": "MXN",
}
# Other currencies written with the same sign or word: a delivered currency among them is no
# contradiction (Gibraltar's pound is £ too, Moldova's leu is lei, Belarus writes руб.), but
# the amount alone does not say it.
ALSO = {
    "£": ("GIP", "FKP", "SHP", "EGP", "LBP", "SYP", "SSP"),
    "₩": ("KPW",),
    "₡": ("SVC",),
    "руб.": ("BYN", "BYR", "RUR"),
    "руб": ("BYN", "BYR", "RUR"),
    "р.": ("BYN", "BYR", "RUR"),
    "лв.": ("BGL",),
    "лв": ("BGL",),
    "lei": ("MDL", "ROL"),
}
# Signs that name several currencies, none first among them: the order's currency is the sign
# as written (kr. as kr), and a delivered currency among these is no contradiction.
SEVERAL = {
    "$": (
        "USD CAD AUD NZD HKD SGD TWD MXN ARS CLP COP CUP CUC DOP UYU BRL FJD BBD BMD BND BSD "
        "BZD GYD JMD KYD LRD NAD SBD SRD TTD XCD ZWL TOP WST NIO"
    ).split(),
    "¥": ["JPY", "CNY"],
    "kr": ["SEK", "NOK", "DKK", "ISK"],
    "₨": ["INR", "PKR", "LKR", "NPR", "MUR", "SCR"],
    "﷼": ["IRR", "SAR", "QAR", "OMR", "YER"],
}
AS_WRITTEN = {**{s: s for s in SEVERAL}, "kr.": "kr"}
LANDED = {**NAMED, **AS_WRITTEN}
# "mark|CODE" for every currency a mark may stand for besides its own code.
COMPATIBLE = sorted(
    {f"{m}|{c}" for m, codes in ALSO.items() for c in codes}
    | {f"{m}|{c}" for m, codes in SEVERAL.items() for c in codes}
    | {f"kr.|{c}" for c in SEVERAL["kr"]}
)
# "CODE|sign": a delivered sign that names several currencies, and one of them named by the
# row's amount (`kr` with `12,00 SEK`, `$` with `US$ 5`): the row lands in the amount's code.
# It contradicts nothing; as written (`kr`), it would be summed with the NOK rows' `kr`.
REFINED = sorted({f"{c}|{AS_WRITTEN[m]}" for m, codes in SEVERAL.items() for c in codes})
# Words of three letters a currency column may hold as codes are written: LEI is RON.
_CAPITAL_WORDS = [w.upper() for w in LANDED if w.isascii() and w.isalpha() and len(w) == 3]
# Marks whose currency is known (a code, or a sign or word listed here): an unknown sign
# (₿) contradicts nothing.
KNOWN = sorted({*CURRENCY_CODES, *NAMED.values(), *AS_WRITTEN.values()})


def _may_name(text: pl.Expr) -> pl.Expr:
    """``text`` where it holds more than digits, separators and signs, else null: a plain
    number names no currency, and the marks' pattern (every ISO code, at both ends) run on
    each of the UCI file's 541,909 prices made its parse about 4 s of CPU dearer, not 0.4."""
    return pl.when(text.str.contains(r"[^\d.,\s'’+\-−()]")).then(text)


def marks(text: pl.Expr) -> pl.Expr:
    """The currency signs, codes and words of an amount's text, lower-cased, in order (a list;
    null for a plain number or none): what :data:`decimals.NUMBER_NOISE` strips as currency."""
    found = _may_name(text).str.extract_all(CURRENCY_MARK)
    return found.list.eval(_lowered(pl.element()))


def _lowered(mark: pl.Expr) -> pl.Expr:
    """A mark as :data:`LANDED` knows it: lower case, composed (a Mac export's ``Kč`` is ``c`` +
    U+030C, which CURRENCY_MARK finds too: decimals._spellings)."""
    return mark.str.to_lowercase().str.normalize("NFC")


def landed(mark: pl.Expr) -> pl.Expr:
    """A lower-cased mark (or currency text) as the currency lands: ISO 4217 for a sign or word
    naming one, a code upper-cased, a sign naming several as written (:data:`AS_WRITTEN`)."""
    return mark.replace_strict(list(LANDED), list(LANDED.values()), default=mark.str.to_uppercase())


def delivered(text: pl.Expr) -> pl.Expr:
    """A delivered currency as it lands: ``eur`` and `` EUR`` are EUR, ``€`` and ``zł`` EUR
    and PLN (a file writing both ``EUR`` and ``eur`` counted two currencies).

    Three capitals that are no word (EUR: nearly every row) are their own; only the others
    are looked up (0.07 s of CPU for 541,909 rows when every row was)."""
    settled = text.str.contains("^[A-Z]{3}$") & ~text.is_in(_CAPITAL_WORDS)
    rest = _lowered(pl.when(~settled).then(text).str.strip_chars())
    return pl.when(settled).then(text).otherwise(landed(rest))


def amount_marks(amounts: list[pl.Expr]) -> pl.Expr:
    """The marks of a row's amounts, in column order (a list; null when none may name one).

    One pattern run over the amounts that may name a currency, one per line (``(?m)``: each
    line's ends are its amount's ends). No mark spans two lines, so the marks of several
    amounts are those of each in turn: parse.py finds each amount's once, for :func:`value`
    and :func:`check` alike."""
    lines = pl.concat_str([_may_name(a) for a in amounts], separator="\n", ignore_nulls=True)
    found = pl.when(lines != "").then(lines).str.extract_all(f"(?m){CURRENCY_MARK}")
    return found.list.eval(_lowered(pl.element()))


def first_mark(marks: list[pl.Expr]) -> pl.Expr:
    """The first mark of a row's amounts: of the first amount whose :func:`amount_marks` (one
    list per amount, in column order) has one."""
    if not marks:  # no amount is given
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce([m.list.first() for m in marks])


def value(currency: pl.Expr, marks: list[pl.Expr]) -> pl.Expr:
    """The currency a row lands with: as delivered, else the first its amounts name; a
    delivered sign of several currencies (``kr``) as the one of them its amounts name (SEK:
    :data:`REFINED`).

    ``marks``: each amount's :func:`amount_marks`, found once for the row and read here and by
    :func:`check`, which found them again (on the UCI file's 541,909 prices 0.19 s of CPU for
    both, 0.08 s since)."""
    given, named = delivered(currency), landed(first_mark(marks))
    refined = pl.concat_str(named, pl.lit("|"), given).is_in(REFINED)  # null: no pair
    return pl.when(refined).then(named).otherwise(pl.coalesce(given, named))


def check(
    text: pl.Expr, landed_as: pl.Expr, label: str, amounts: list[tuple[str, pl.Expr, pl.Expr]]
) -> tuple[pl.Expr, pl.Expr]:
    """``(is bad, why)`` for a row whose amounts name two currencies, or another currency than
    its delivered one (``EUR``, ``12,50 zł``): either way its amounts would be summed with
    figures they are not. ``text``: the delivered currency; ``landed_as``: the row's
    :func:`value` (the delivered one where there is one, else the amounts' own, which no
    amount contradicts); ``amounts``: ``(label, text, marks)`` of each amount, ``marks`` its
    :func:`amount_marks` as :func:`value` read them."""
    if not amounts:  # no amount is given: none names a currency
        return pl.lit(False), pl.lit(None, dtype=pl.String)
    mark = first_mark([m for _, _, m in amounts])
    # A row whose amounts name nothing (nearly every row) has no list to look through.
    none = pl.lit([], dtype=pl.List(pl.String))
    every = pl.concat_list([m.fill_null(none) for _, _, m in amounts])
    found = pl.when(mark.is_not_null()).then(every)
    codes = found.list.eval(landed(pl.element())).list.unique(maintain_order=True)
    several = codes.list.len() > 1
    code = landed(mark)
    contradicts = (
        code.is_in(KNOWN)
        & (landed_as != code)
        & ~pl.concat_str(mark, pl.lit("|"), landed_as).is_in(COMPATIBLE)
    )
    naming = [
        pl.when(marks(a).list.len().fill_null(0) > 0).then(pl.format(f"{name} '{{}}'", a))
        for name, a, _ in amounts
    ]
    why_several = pl.format(
        "{} name different currencies ({}): a row's amounts are in one currency; correct "
        "them and deliver the row again",
        pl.concat_str(naming, separator=" and ", ignore_nulls=True),
        codes.list.join(", "),
    )
    why_other = pl.format(
        f"{label} is '{{}}' but {{}} names {{}}: correct the currency or the amount and "
        "deliver the row again",
        text,
        pl.coalesce(naming),
        code,
    )
    bad = (several | contradicts).fill_null(False)
    return bad, pl.when(several).then(why_several).otherwise(why_other)


def order_check(currency: pl.Expr, key: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``(is bad, why)`` for the lines of an order in more than one currency (a line-item
    export with a currency per line, or lines whose prices name different ones): the lines
    are summed into one gross, which mixed them, and the order landed in its first line's."""
    # Their least and greatest currency differ: cheaper than counting distinct ones per order.
    bad = (currency.min().over(key) != currency.max().over(key)).fill_null(False)
    found = currency.drop_nulls().unique().sort()
    why = pl.format(
        "order '{}': its lines are in different currencies ({}), and its gross is their sum: "
        "an order is in one currency; correct the lines and deliver the order again",
        key,
        found.str.join(", ").over(key),
    )
    return bad, why
