"""Number cells a workbook shows with leading zeros, as Excel shows them, numbers calamine
writes otherwise than Excel holds them (past 15 digits, or with three decimals), and amounts
whose number format shows their currency.

A customer number or postcode ``00123`` typed into Excel becomes the number 123; the user
formats the column ``00000`` (Excel's "Zip Code", de-DE "Postleitzahl") and sees ``00123``.
calamine reads the number, ``123``, and the same contact delivered once as Excel's CSV (which
writes ``00123``) and once as the workbook became two contacts. The cell's number format is
not in what calamine returns, so it is read here from the workbook's XML: its styles first,
and the sheet's cells only when a style pads with zeros (most workbooks have none, and pay
for nothing but reading ``styles.xml``).
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree import ElementTree

from pipeline.ingest.currency import COMPATIBLE, LANDED
from pipeline.ingest.decimals import CURRENCY_CODES, DOT_AMBIGUOUS

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# A format showing a whole number in at least this many digits, zeros in front: 00000.
ZEROS = re.compile(r"0{2,}")
REFERENCE = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
TYPE = re.compile(rb'\bt="([^"]*)"')
# A number cell's value past 15 digits (written out, or in the E notation the XML uses), or
# with three decimals after at most three digits (the double's digits as the XML keeps them).
HELD_VALUE = rb"-?(?:\d{16,}(?:\.\d*)?|\d(?:\.\d+)?[Ee]\+?(?:1[5-9]|[2-9]\d|\d{3})|\d{1,3}\.\d{3,})"
HELD_CELL = re.compile(
    rb"<c\s([^>]*)>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?<v>(" + HELD_VALUE + rb")</v>"
)
# A number's text with three decimals after at most three digits (12.345): read as text, the
# dot may be a thousands separator, and the row was quarantined as ambiguous.
THREE_DECIMALS = re.compile(DOT_AMBIGUOUS)
# Where a number format writes a currency: Excel's currency tag ``[$€-x-euro2]``, ``[$zł-415]``
# or ``[$EUR]`` (after '-' a locale, group 2; ``[$-409]`` is a locale alone), a quoted literal
# (``"zł"``, ``"Kč"``) or an escaped or bare sign (``\$``, ``€``, ``£``).
CURRENCY_TAG = re.compile(r"\[\$([^\]\-]+)(?:-([^\]]*))?\]")
FORMAT_LITERAL = re.compile(r'"([^"]*)"|\\(.)|(\[[^\]]*\])|(.)')
# A tag's locale: a Windows LCID in hex, whose two low bytes are the language ID (ECMA-376
# 18.8.31: the higher two a calendar and a number system). Newer Excel writes a language tag
# (``[$$-en-CA]``) only in ``formatCode16`` ([MS-XLSX] 2.5.4), beside the LCID's formatCode.
LCID = re.compile(r"[0-9A-Fa-f]{1,8}")
# A locale's currency, by LCID (the tag in the comment): the locales whose sign names several
# currencies ($, kr, ¥), and some whose sign names one (there the locale changes nothing:
# bg-BG's лв. is BGN by itself, the € Bulgaria writes since 2026 EUR). The LCIDs are
# [MS-LCID]'s (Microsoft, "Windows Language Code Identifier (LCID) Reference",
# https://learn.microsoft.com/openspecs/windows_protocols/ms-lcid/), checked against Microsoft's
# tables of them: "Locale ID (LCID) Chart" (https://learn.microsoft.com/previous-versions/
# 0h88fahh(v=vs.80)), "Language Codes" (https://learn.microsoft.com/previous-versions/
# cc977546(v=technet.10)) and Office's locale IDs with their BCP 47 tags ([MS-OE376],
# https://learn.microsoft.com/openspecs/office_standards/ms-oe376/
# 6c085406-a698-4e12-9d4d-c3b0ee3dbc4a).
LOCALE_CURRENCIES = {
    0x0409: "USD",  # en-US
    0x1009: "CAD",  # en-CA
    0x0C0C: "CAD",  # fr-CA
    0x0C09: "AUD",  # en-AU
    0x1409: "NZD",  # en-NZ
    0x080A: "MXN",  # es-MX
    0x0809: "GBP",  # en-GB
    0x0407: "EUR",  # de-DE
    0x0807: "CHF",  # de-CH
    0x0406: "DKK",  # da-DK
    0x041D: "SEK",  # sv-SE
    0x0414: "NOK",  # nb-NO
    0x0814: "NOK",  # nn-NO
    0x040F: "ISK",  # is-IS
    0x0411: "JPY",  # ja-JP
    0x0804: "CNY",  # zh-CN
    0x0419: "RUB",  # ru-RU
    0x0402: "BGN",  # bg-BG
    0x0405: "CZK",  # cs-CZ
    0x0415: "PLN",  # pl-PL
    0x0418: "RON",  # ro-RO
    0x040E: "HUF",  # hu-HU
}
_MAY_STAND_FOR = frozenset(COMPATIBLE)


def padded_numbers(
    path: Path, sheet: str, first_column: int
) -> dict[tuple[int, int], tuple[str, str]]:
    """The cells of ``sheet`` holding a whole number shown with leading zeros, as
    ``(row, column) -> (calamine's text, the text shown)``, both counted from 0: rows from
    the sheet's row 1, columns from ``first_column`` (the sheet's first used column, where
    calamine's frame starts); empty when no style pads."""
    widths: dict[str, int] = {}
    found: dict[tuple[int, int], tuple[str, str]] = {}
    for (row, column), style, number in _styled_number_cells(path, sheet, _padding_styles, widths):
        if number.is_integer() and number >= 0:
            whole = str(int(number))
            found[(row, column - first_column)] = (whole, whole.zfill(widths[style]))
    return found


def _styled_number_cells(
    path: Path, sheet: str, styles_of: Callable[[zipfile.ZipFile], dict], styles: dict
) -> Iterator[tuple[tuple[int, int], str, float]]:
    """``((row, column), style, number)`` of the number cells of ``sheet`` whose style is one
    of ``styles_of(book)`` (which fills ``styles``), rows and columns counted from 0 on the
    sheet. Only the cells of those styles are matched; the scan of the others stays in re's C
    loop (100,000 rows of 8 cells: 4.4 s of CPU with ElementTree's iterparse)."""
    with zipfile.ZipFile(path) as book:
        styles.update(styles_of(book))
        if not styles:
            return
        part = _sheet_part(book, sheet)
        if part is None:
            return
        xml = book.read(part)
    indexes = b"|".join(str(index).encode() for index in styles)
    cells = re.compile(
        rb'<c\s([^>]*?\bs="(' + indexes + rb')"[^>]*)>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?'
        rb"<v>([^<]*)</v>"
    )
    for attributes, style, value in cells.findall(xml):
        ref = REFERENCE.search(attributes)
        kind = TYPE.search(attributes)
        number = _number(value)
        if ref is None or (kind and kind.group(1) != b"n") or number is None:
            continue
        yield (int(ref.group(2)) - 1, _column_index(ref.group(1).decode())), style.decode(), number


def held_numbers(
    path: Path, sheet: str, first_column: int
) -> dict[tuple[int, int], tuple[str, str]]:
    """The number cells of ``sheet`` that calamine writes otherwise than Excel holds them, as
    ``(row, column) -> (calamine's text, the text to land)``, counted as
    :func:`padded_numbers` does. A text cell (``t="s"``: typed as text) keeps its text.

    - Past 15 digits: Excel keeps 15 significant digits, so an 18-digit id typed or pasted
      into a number cell is stored rounded (570306133677760513 as 5.70306133677761E+17), and
      calamine writes the double's exact integer, 570306133677761024, a number the user sees
      nowhere. Written in Excel's scientific notation, the rounding shows, and ids that
      rounded to one are caught as a spreadsheet's damage (``pipeline.ingest.checks
      .damaged_key``), as in a CSV.
    - Three decimals (``12.345``): a number cell has no thousands separator, but its text is
      the ambiguous ``1,250`` kind, and its row was quarantined; ``12.3450`` reads one way."""
    with zipfile.ZipFile(path) as book:
        part = _sheet_part(book, sheet)
        if part is None:
            return {}
        xml = book.read(part)
    found: dict[tuple[int, int], tuple[str, str]] = {}
    for attributes, value in HELD_CELL.findall(xml):
        ref = REFERENCE.search(attributes)
        kind = TYPE.search(attributes)
        number = _number(value)
        if ref is None or (kind and kind.group(1) != b"n") or number is None:
            continue
        if abs(number) >= 1e15 and number.is_integer():
            held = (str(int(number)), excel_digits(number))
        elif THREE_DECIMALS.fullmatch(shown := repr(number)):
            held = (shown, shown + "0")
        else:
            continue
        row, column = int(ref.group(2)) - 1, _column_index(ref.group(1).decode())
        found[(row, column - first_column)] = held
    return found


def currency_numbers(path: Path, sheet: str, first_column: int) -> dict[tuple[int, int], str]:
    """The number cells of ``sheet`` whose number format shows a currency, as ``(row, column)
    -> the currency as the format writes it`` (``€``, ``zł``, ``EUR``), counted as
    :func:`padded_numbers` does; empty when no style shows one.

    A cell formatted ``#,##0.00 [$€-x-euro2]`` shows ``12,50 €`` and holds the number 12.5:
    calamine reads the number, and the currency the user sees was lost (an order landed with
    no currency, or passed a currency column it contradicts). Excel's built-in currency
    formats (ids 5 to 8) show the computer's own currency and say none: nothing is read."""
    shown: dict[str, str] = {}
    cells = _styled_number_cells(path, sheet, _currency_styles, shown)
    return {(row, column - first_column): shown[style] for (row, column), style, _ in cells}


def format_currency(code: str) -> str | None:
    """The currency a number format code shows (``#,##0.00 [$€-x-euro2]`` → ``€``,
    ``#,##0.00\\ "zł"`` → ``zł``), or None: the first currency tag, quoted literal or sign
    that names a currency as an amount's text would (pipeline/ingest/currency.py)."""
    tagged = CURRENCY_TAG.search(code)
    if tagged and _names_currency(tagged.group(1)):
        return _in_locale(tagged.group(1), tagged.group(2))
    for quoted, escaped, _, bare in FORMAT_LITERAL.findall(code):
        text = (quoted or escaped or bare).strip()
        if text and _names_currency(text):
            return text
    return None


def _in_locale(sign: str, locale: str | None) -> str:
    """A tag's ``sign`` as the ISO code of its locale's currency where the sign names several
    and that one among them (``[$$-1009]``, en-CA: CAD; ``[$kr-41D]``, sv-SE: SEK), else as
    written: the dollar of ``[$$-407]`` is not de-DE's currency, and which dollar it is the
    tag does not say; ``€`` and ``zł`` name theirs alone."""
    if locale is None or not LCID.fullmatch(locale):
        return sign
    code = LOCALE_CURRENCIES.get(int(locale, 16) & 0xFFFF)
    mark = sign.lower()
    if code is None or LANDED.get(mark, sign.upper()) == code:
        return sign
    return code if f"{mark}|{code}" in _MAY_STAND_FOR else sign


def _names_currency(text: str) -> bool:
    """Whether ``text`` is a currency sign, word or ISO code alone."""
    one_sign = len(text) == 1 and unicodedata.category(text) == "Sc" and text not in "¢₥₰"
    return one_sign or text.lower() in LANDED or text.upper() in CURRENCY_CODES


def _currency_styles(book: zipfile.ZipFile) -> dict[str, str]:
    """Cell style index -> the currency its number format shows (:func:`format_currency`)."""
    try:
        root = ElementTree.fromstring(book.read("xl/styles.xml"))
    except KeyError:
        return {}
    codes = {fmt.get("numFmtId"): fmt.get("formatCode", "") for fmt in root.iter(f"{MAIN}numFmt")}
    xfs = root.find(f"{MAIN}cellXfs")
    if xfs is None:
        return {}
    found = {}
    for index, xf in enumerate(xfs.iter(f"{MAIN}xf")):
        if (currency := format_currency(codes.get(xf.get("numFmtId"), ""))) is not None:
            found[str(index)] = currency
    return found


def excel_digits(number: float) -> str:
    """``number`` as Excel holds it, in its scientific notation: 15 significant digits, the
    mantissa's trailing zeros dropped (``5.7030613367776E+17``)."""
    mantissa, exponent = f"{number:.14E}".split("E")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E+{int(exponent)}" if int(exponent) >= 0 else f"{mantissa}E{exponent}"


def _padding_styles(book: zipfile.ZipFile) -> dict[str, int]:
    """Cell style index (the ``s`` of a cell) -> the digits its number format pads to."""
    try:
        root = ElementTree.fromstring(book.read("xl/styles.xml"))
    except KeyError:  # a workbook without styles shows every number as it is
        return {}
    codes = {fmt.get("numFmtId"): fmt.get("formatCode", "") for fmt in root.iter(f"{MAIN}numFmt")}
    xfs = root.find(f"{MAIN}cellXfs")
    if xfs is None:
        return {}
    return {
        str(index): len(code)
        for index, xf in enumerate(xfs.iter(f"{MAIN}xf"))
        if ZEROS.fullmatch(code := codes.get(xf.get("numFmtId"), ""))
    }


def _sheet_part(book: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding the sheet named ``sheet``."""
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    rid = next(
        (s.get(RELATIONSHIP) for s in workbook.iter(f"{MAIN}sheet") if s.get("name") == sheet),
        None,
    )
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    target = next((r.get("Target") for r in rels if r.get("Id") == rid), None)
    if target is None:
        return None
    # Targets are relative to xl/, or absolute in the package ("/xl/worksheets/sheet1.xml").
    return target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)


def _number(text: bytes) -> float | None:
    """A number cell's value, or None when it holds none a float reads."""
    try:
        return float(text)
    except ValueError:
        return None


def _column_index(letters: str) -> int:
    """``A`` → 0, ``Z`` → 25, ``AA`` → 26."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1
