"""Vendor text columns to canonical typed columns, and the contract check of every row.

Everything is a polars expression on a lazy frame, so it streams. A :class:`Plan` is used in
two passes: ``plan.parsed`` reads the delivery once and is written to Parquet (typed values,
the source text they came from, the row as read and a ``_bad`` flag); ``plan.good``,
``plan.bad`` and ``plan.keys`` then read that Parquet file. Reasons are only spelled out for
bad rows, so a clean file pays nothing for its messages.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from pipeline.entities import IDENTITY_EDGES, SCORE_RANGES, Entity
from pipeline.ingest import currency, decimals
from pipeline.ingest.decimals import DECIMAL_PATTERN
from pipeline.ingest.formats import EXTRA_PREFIX, RAW, ROW, UNREADABLE, Table
from pipeline.ingest.mappings import Mapping, template_fields, value_key, vendor_label
from pipeline.ingest.rules import row_rules
from pipeline.words import CEDILLA, COMMA, counted

BAD = "_bad"
REASON = "_reason"
RECORD = "_record"
# A line-item row next to a row that could not be read (Plan._beside_lost).
BESIDE_LOST = "_beside_lost"
AWARE_DIRECTIVES = ("%z", "%:z", "%::z", "%#z")
# Directives of a time of day (chrono): a format with none of them states a date alone.
TIME_DIRECTIVES = ("%H", "%k", "%I", "%l", "%M", "%S", "%T", "%R", "%X", "%r", "%c", "%s")


def states_offset(fmt: str) -> bool:
    """Whether a timestamp format states its UTC offset (read as written, in no zone)."""
    return any(d in fmt for d in AWARE_DIRECTIVES)


def states_time(fmt: str) -> bool:
    """Whether a timestamp format states a time of day (without one it states a day)."""
    return any(d in fmt for d in TIME_DIRECTIVES)


# How a workbook's date cell reads (calamine renders it so, fractions of a second when set).
DATE_CELL = "%Y-%m-%d %H:%M:%S%.f"
# ISO 8601 and "YYYY-MM-DD HH:MM[:SS]": date, hours:minutes, seconds, fraction, offset. A
# fraction follows the seconds only: ISO's "10:30.5" is a fraction of a minute (10:30:30).
ISO_PATTERN = (
    r"^\s*(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
# The largest offset a zone has (Kiribati, +14:00); beyond it a value is no time anyone wrote.
MAX_OFFSET_HOURS = 14
AMOUNT = pl.Decimal(18, 4)
# What an amount holds before its decimal separator: 18 digits, 4 of them decimals.
AMOUNT_DIGITS = 14
TOO_LARGE = (
    f"is too large: an amount holds at most {AMOUNT_DIGITS} digits before the decimal "
    "separator (DECIMAL(18,4))"
)
QTY, PRICE = "__qty", "__price"


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    """Empty or whitespace-only text is an absent value."""
    return pl.when(expr.str.strip_chars() != "").then(expr)


def _blank(expr: pl.Expr) -> pl.Expr:
    """Null or empty (cheaper than :func:`blank_to_null` for a whole-row test)."""
    return expr.is_null() | (expr.str.len_bytes() == 0)


def _src(col: str) -> str:
    return f"__src_{col}"


def _val(col: str) -> str:
    return f"__val_{col}"


def _iso(col: str) -> str:
    return f"__iso_{col}"


def _marks(col: str) -> str:
    return f"__marks_{col}"


def iso_parts(text: pl.Expr) -> pl.Expr:
    """The parts of ISO 8601 / ``YYYY-MM-DD HH:MM[:SS]`` text, as a struct (computed once)."""
    return text.str.extract_groups(ISO_PATTERN)


def parse_iso(parts: pl.Expr, timezone: str) -> pl.Expr:
    """:func:`iso_parts` → naive UTC; text without an offset is wall time in ``timezone``.

    A date without a time of day or offset (``2024-02-01``) is that day at 00:00 UTC, not the
    instant its midnight is in ``timezone``: east of UTC that instant is on the day before, so
    a purchase dated the 1st counted in the month before and one dated the day after as_of
    counted on as_of (the marts' days, months and as_of are UTC)."""
    date, hm, sec, frac, off = (parts.struct.field(str(i)) for i in range(1, 6))
    wall = pl.concat_str(
        date, pl.lit(" "), hm.fill_null("00:00"), pl.lit(":"), sec.fill_null("00")
    ).str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
    micros = frac.str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int64, strict=False).fill_null(0)
    wall = wall + pl.duration(microseconds=micros)
    digits = off.str.replace(":", "", literal=True)
    hours = digits.str.slice(1, 2).cast(pl.Int32, strict=False)
    past_hour = digits.str.slice(3, 2).cast(pl.Int32, strict=False).fill_null(0)
    minutes = hours * 60 + past_hour
    minutes = pl.when(off.str.starts_with("-")).then(-minutes).otherwise(minutes)
    is_z = off.str.to_uppercase() == "Z"
    minutes = pl.when(is_z).then(0).otherwise(minutes)
    # "+25:00" or "+05:99" is no offset: read, it moved the time by a day or 39 minutes.
    possible = is_z | ((hours <= MAX_OFFSET_HOURS) & (past_hour < 60))
    # A date alone names a day, not an instant: it stays that day (00:00 UTC) in every zone.
    return (
        pl.when(off.is_null() & hm.is_null())
        .then(wall)
        .when(off.is_null())
        .then(_local_to_utc(wall, timezone))
        .when(possible)
        .then(wall - pl.duration(minutes=minutes))
    )


def parse_timestamp(text: pl.Expr, fmt: str, timezone: str) -> pl.Expr:
    """Text in a stated format to a naive UTC ``Datetime('us')``; unreadable text → null.

    A format without a time of day (``%d.%m.%Y``, ``%Y%m%d``) reads a day, kept as 00:00 UTC
    of that day whatever the zone (see :func:`parse_iso`)."""
    if fmt in ("epoch_s", "epoch_ms"):
        number = text.str.strip_chars()
        number = pl.when(number.str.contains(r"^-?\d+(\.\d+)?$")).then(number)
        scale = 1_000_000 if fmt == "epoch_s" else 1_000
        # A number beyond any date in this unit (microseconds stated as seconds) is no value,
        # so its row is quarantined; a strict cast failed the whole file, naming no row.
        micros = (number.cast(pl.Float64) * scale).round(0).cast(pl.Int64, strict=False)
        return pl.from_epoch(micros, time_unit="us")
    if fmt == "iso":
        return parse_iso(iso_parts(text), timezone)
    parsed = _four_digit_year(
        text.str.strip_chars().str.strptime(pl.Datetime("us"), fmt, strict=False), fmt
    )
    if states_offset(fmt):
        return parsed.dt.replace_time_zone(None)
    if not states_time(fmt):
        return parsed
    return _local_to_utc(parsed, timezone)


def _four_digit_year(parsed: pl.Expr, fmt: str) -> pl.Expr:
    """``parsed`` where ``fmt``'s ``%Y`` read a year of four digits, else null: chrono's
    ``%Y`` takes any number of digits, and ``1/5/24`` under ``%m/%d/%Y`` was the year 24."""
    if "%Y" not in fmt:
        return parsed
    return pl.when(parsed.dt.year().is_between(1000, 9999)).then(parsed)


def _local_to_utc(naive: pl.Expr, timezone: str) -> pl.Expr:
    """Wall-clock time in ``timezone`` → naive UTC. A time in a DST gap becomes null (refused)."""
    if timezone == "UTC":
        return naive
    return (
        naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
    )


def clean_number(text: pl.Expr, decimal: str) -> pl.Expr:
    """Text of an amount without currency, spaces and thousands separators, '.' as decimal;
    null when it is not a number written with the stated decimal separator."""
    t = decimals.strip_noise(text)
    t = pl.when(t.str.contains(DECIMAL_PATTERN[decimal])).then(t)
    if decimal == ",":
        return t.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    return t.str.replace_all(",", "", literal=True)


def parse_decimal(text: pl.Expr, decimal: str) -> pl.Expr:
    """An amount as ``Decimal(18, 4)``; unreadable or out-of-range text → null."""
    return clean_number(text, decimal).cast(AMOUNT, strict=False)


def parse_integer(text: pl.Expr) -> pl.Expr:
    """A whole number (``3`` or a spreadsheet's ``3.0``) as ``Int32``; anything else → null."""
    t = text.str.strip_chars().str.replace(r"\.0+$", "")
    return pl.when(t.str.contains(r"^[+-]?\d+$")).then(t).cast(pl.Int32, strict=False)


def _value_key(text: pl.Expr) -> pl.Expr:
    """A delivered value as a value map's keys are (``mappings.value_key``): trimmed, lower case,
    composed (NFC: a Mac export's ``Finalizată`` is ``a`` + U+0306, the key a user typed ``ă``),
    Romanian cedilla ``ş`` ``ţ`` as comma ``ș`` ``ț``."""
    # 0.14 s of CPU per million values (one thread; the lookup itself costs 0.07 s). Testing
    # for text beyond ASCII first saved half of that on ASCII values and cost half as much
    # again on the others (0.27 s against 0.18 s per million Romanian ones).
    folded = text.str.strip_chars().str.to_lowercase().str.normalize("NFC")
    return folded.str.replace_many(list(CEDILLA), list(COMMA))  # ş ţ as ș ț (value_key)


def _apply_value_maps(src: pl.Expr, mapping: Mapping, col: str) -> pl.Expr:
    """Vendor values to canonical ones: exact (any case, either Unicode composition) first, then
    patterns (matched on the composed value, as they are written composed)."""
    out = src
    table = mapping.values.get(col)
    if table:
        keys = {value_key(k): v for k, v in table.items() if k != "*"}
        default = pl.lit(table["*"]) if "*" in table else src
        out = (
            pl.when(src.is_null())
            .then(None)
            .otherwise(
                _value_key(src).replace_strict(list(keys), list(keys.values()), default=default)
            )
        )
    pats = mapping.patterns.get(col)
    if pats:
        text = src.str.normalize("NFC")
        chain = pl.when(text.str.contains(pats[0][0])).then(pl.lit(pats[0][1]))
        for pattern, value in pats[1:]:
            chain = chain.when(text.str.contains(pattern)).then(pl.lit(value))
        out = chain.otherwise(out)
    # A map may send a value to "" to say "no canonical value" (an unknown channel, say).
    return blank_to_null(out) if table or pats else out


def _template(template: str, vendor: dict[str, pl.Expr]) -> pl.Expr:
    """A synthesised value; ``{n}`` counts rows with the same other fields (1, 2, …)."""
    names = template_fields(template)
    fields = [n for n in names if n != "n"]
    exprs = []
    for name in names:
        if name == "n":
            counter = pl.int_range(pl.len(), dtype=pl.Int64) + 1
            exprs.append(counter.over([vendor[f] for f in fields]) if fields else counter)
        else:
            exprs.append(vendor[name])
    fmt = template
    for name in names:
        fmt = fmt.replace("{" + name + "}", "{}", 1)
    return pl.format(fmt, *exprs)


DELIVERED_SCORE = "__score_delivered"  # a [scores] mapping's score before rescaling


def _score_key(score: pl.Expr) -> pl.Expr:
    """A delivered score as a ``[scores]`` table's key: as a value map's (:func:`_value_key`:
    Zendesk writes ``Good``, a Mac ``Bună`` decomposed), a workbook's ``2.0`` as ``2``."""
    return _value_key(score).str.replace(r"\.0+$", "")


def _rescaled(score: pl.Expr, survey_type: pl.Expr, scores: dict[str, dict[str, str]]) -> pl.Expr:
    """A survey's score on the contract's scale, by its (canonical) type's ``[scores]`` table.

    A score its type's table does not list is kept as delivered; its row is quarantined
    (:func:`_contract_checks`), naming the answers the table knows."""
    kind = survey_type.str.strip_chars().str.to_lowercase()
    text = _score_key(score)
    out = score
    for name, table in scores.items():
        rescaled = text.replace_strict(list(table), list(table.values()), default=score)
        out = pl.when(kind == name).then(rescaled).otherwise(out)
    return out


def skip_rows(table: Table, mapping: Mapping, lookup: dict[str, str]) -> tuple[Table, int, str]:
    """``table`` without the rows the mapping's ``[skip_rows]`` says are none of its entity's,
    how many they are, and the report's note on them ("" when none): which values, how often.

    A row that could not be read (:data:`UNREADABLE`) is never skipped: its cells are blank,
    and it is quarantined with its reason like any other."""
    rule = mapping.skip_rows
    if rule is None:
        return table, 0, ""
    cell = pl.col(lookup[rule.column])
    value = _value_key(cell).fill_null("")
    skipped = value.is_in(list(rule.values))
    if UNREADABLE in table.frame.collect_schema().names():
        skipped = skipped & pl.col(UNREADABLE).is_null()
    n, key, shown = "__skip_n", "__skip_value", "__skip_shown"  # no vendor column's names
    counts = (
        table.frame.filter(skipped)
        .group_by(value.alias(key))
        .agg(pl.len().alias(n), cell.str.strip_chars().drop_nulls().first().alias(shown))
        .sort([n, key], descending=[True, False])
        .collect()
    )
    # The plan reads the frame without them: the file's text is no longer what is read, so
    # DuckDB's reader (duckdb_csv, which reads the text) is not used for it.
    kept = dataclasses.replace(table, frame=table.frame.filter(~skipped), text=None)
    total = int(counts[n].sum()) if counts.height else 0
    if not total:
        return kept, 0, ""
    values = ", ".join(
        f"{spelt or '(blank)'} {count:,}" for spelt, count in counts.select(shown, n).rows()
    )
    note = f"{counted(total, 'row')} skipped, {rule.reason}: '{rule.column}' {values}"
    return kept, total, note


def _unreadable(label: str, src: pl.Expr, what: str) -> pl.Expr:
    return pl.format(f"{label}: cannot read '{{}}' as {what}", src)


def _unreadable_amount(label: str, src: pl.Expr, decimal: str, what: str) -> pl.Expr:
    """Why an amount's text gave no value: a number too large for :data:`AMOUNT` (saying
    "cannot read" of ``123456789012345`` sent people looking for a typo), or no number."""
    digits = clean_number(src, decimal).str.contains(rf"^[+-]?[0-9]{{{AMOUNT_DIGITS + 1},}}")
    too_large = pl.format(f"{label}: '{{}}' {TOO_LARGE}", src)
    return pl.when(digits.fill_null(False)).then(too_large).otherwise(_unreadable(label, src, what))


@dataclass
class Plan:
    """How one delivery becomes canonical rows; see the module docstring."""

    parsed: pl.LazyFrame
    entity: Entity
    header: list[str]
    sources: dict[str, pl.Expr]  # canonical column -> its text, from the columns as read
    checks: list[tuple[pl.Expr, pl.Expr]] = field(default_factory=list)  # (is bad, why)
    empty: pl.Expr = field(default_factory=lambda: pl.lit(False))
    # A row the reader could not read as a record (formats.UNREADABLE): its only reason.
    unreadable: pl.Expr | None = None
    # A workbook row whose cells the mapping reads hold Excel's errors: its only reason.
    cell_errors: pl.Expr | None = None
    aggregate: bool = False
    windowed: bool = False  # a template counts rows: sources need the whole file, not a filter
    # The amounts whose currency marks are found once per row (_amount_marks), for the
    # currency's value and check; empty where the entity has no currency.
    marked: list[str] = field(default_factory=list)

    def with_sources(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """Add the source text columns again (the Parquet file keeps only the typed values);
        a line-item export's with the currency marks of its amounts, found before an order's
        amounts are copied to its other lines, and copied with them (:func:`_fill_marks`)."""
        frame = frame.with_columns(e.alias(_src(c)) for c, e in self.sources.items())
        if self.aggregate:
            frame = frame.with_columns(_amount_marks(self.marked)).with_columns(
                *_fill_order_fields(self.entity, prefixes=(_src,)),
                *_fill_marks(self.entity, self.marked),
            )
        return frame

    def reason(self) -> pl.Expr:
        """Every broken rule of a row, joined; only ``empty row`` for a blank line."""
        joined = pl.concat_str(
            [pl.when(bad).then(why) for bad, why in self.checks], separator="; ", ignore_nulls=True
        )
        reason = pl.when(self.empty).then(pl.lit("empty row")).otherwise(joined)
        if self.cell_errors is not None:
            # The error is why the cell reads empty: "is missing" beside it would mislead.
            reason = (
                pl.when(self.cell_errors.is_not_null()).then(self.cell_errors).otherwise(reason)
            )
        if self.unreadable is not None:
            reason = pl.when(self.unreadable.is_not_null()).then(self.unreadable).otherwise(reason)
        return reason

    def record(self) -> pl.Expr:
        """The row's values as read, as JSON text (for the quarantine table); an unreadable
        row's text as read, as ``{"text": …}``."""
        record = pl.struct([pl.col(h) for h in self.header]).struct.json_encode()
        if self.unreadable is None:
            return record
        raw = pl.struct(pl.col(RAW).alias("text")).struct.json_encode()
        return pl.when(pl.col(RAW).is_not_null()).then(raw).otherwise(record)

    def good(self, scan: pl.LazyFrame) -> pl.LazyFrame:
        """Canonical typed rows (plus ``_row_number``) of the rows that keep their contract."""
        canonical = [pl.col(_val(c)).alias(c) for c in self.entity.columns]
        if not self.aggregate:
            return scan.filter(~pl.col(BAD)).select(*canonical, pl.col(ROW))
        kept = self._beside_lost(scan).filter(~self._order_bad())
        return _orders_from_lines(kept, self.entity)

    def bad(self, scan: pl.LazyFrame) -> pl.LazyFrame:
        """``_row_number``, ``_reason`` and ``_record`` of every quarantined row."""
        # Sources are recomputed for the bad rows only, unless a template counts rows.
        if not self.aggregate:
            rows = (
                self.with_sources(scan).filter(pl.col(BAD))
                if self.windowed
                else self.with_sources(scan.filter(pl.col(BAD)))
            )
            # The currency check's marks, found again for the bad rows only.
            rows = rows.with_columns(_amount_marks(self.marked))
            return rows.select(
                pl.col(ROW), self.reason().alias(REASON), self.record().alias(RECORD)
            )
        # An order with one bad line is quarantined whole, so no order lands with a wrong total;
        # its lines all pass the filter, so the order-level fill sees the whole order.
        key = _val(self.entity.key)
        sibling = pl.format("another line of order '{}' was quarantined", key)
        beside = pl.format(
            "order '{}' is held back: a row next to its lines could not be read and may be one "
            "of them",
            key,
        )
        return self.with_sources(self._beside_lost(scan).filter(self._order_bad())).select(
            pl.col(ROW),
            pl.when(pl.col(BAD))
            .then(self.reason())
            .when(pl.col(BAD).any().over(key))
            .then(sibling)
            .otherwise(beside)
            .alias(REASON),
            self.record().alias(RECORD),
        )

    def keys(self, scan: pl.LazyFrame) -> pl.LazyFrame | None:
        """Every row's key and required columns as text, for the damaged-key check (None for
        line-item exports, whose key repeats by design)."""
        if self.aggregate:
            return None
        cols = dict.fromkeys([self.entity.key, *self.entity.required])
        return scan.select(*[self.sources[c].alias(c) for c in cols], pl.col(ROW))

    def _beside_lost(self, scan: pl.LazyFrame) -> pl.LazyFrame:
        """``scan`` with :data:`BESIDE_LOST`: whether the row is next to one that could not be
        read and has no order id to say whose line it was. An order's lines are consecutive,
        so it was a line of the order before or after it (or of one of its own)."""
        if self.unreadable is None:
            return scan.with_columns(pl.lit(False).alias(BESIDE_LOST))
        lost = pl.col(ROW).filter(
            self.unreadable.is_not_null() & pl.col(_val(self.entity.key)).is_null()
        )
        near = (pl.col(ROW) - 1).is_in(lost.implode()) | (pl.col(ROW) + 1).is_in(lost.implode())
        return scan.with_columns(near.alias(BESIDE_LOST))

    def _order_bad(self) -> pl.Expr:
        """Whether a line's order is quarantined: one of its lines is bad or next to a line
        that could not be read (:meth:`_beside_lost`)."""
        return (pl.col(BAD) | pl.col(BESIDE_LOST)).any().over(_val(self.entity.key))


def _sources(mapping: Mapping, entity: Entity, vendor: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
    """The text each canonical column comes from: a vendor column, a constant or a template,
    after the mapping's value maps. Line inputs and minute offsets come along."""
    sources: dict[str, pl.Expr] = {}
    none = pl.lit(None, dtype=pl.String)
    for col in entity.columns:
        if col in mapping.constants:
            src = pl.lit(mapping.constants[col], dtype=pl.String)
        elif col in mapping.templates:
            src = _template(mapping.templates[col], vendor)
        elif _read_from_file(mapping, col, vendor):
            src = pl.coalesce([vendor[v] for v in mapping.columns[col] if v in vendor])
        else:
            src = none
        sources[col] = _apply_value_maps(src, mapping, col)
    if mapping.scores:
        sources[DELIVERED_SCORE] = sources["score"]
        sources["score"] = _rescaled(sources["score"], sources["survey_type"], mapping.scores)
    if mapping.aggregate:
        sources[QTY] = vendor.get(mapping.aggregate.quantity, none)
        sources[PRICE] = vendor.get(mapping.aggregate.unit_price, none)
    for col, (_, minutes) in mapping.minutes_after.items():
        sources[f"__minutes_{col}"] = vendor.get(minutes, none)
    return sources


def _read_from_file(mapping: Mapping, col: str, vendor: dict[str, pl.Expr]) -> bool:
    """Whether one of the columns the mapping reads ``col`` from is in the file."""
    return any(v in vendor for v in mapping.columns.get(col, ()))


def _typed(
    col: str,
    typ: str,
    mapping: Mapping,
    entity: Entity,
    tz: str,
    decimal: str,
    workbook: bool = False,
    marked: list[str] | None = None,
) -> tuple[pl.Expr, str | None]:
    """A canonical column's typed value from its source, and what its text should have been.

    In a ``workbook`` (.xlsx) a date cell is no text in any format: it reads as
    :data:`DATE_CELL`, which a timestamp or date column accepts besides the stated format (a
    Salesforce report saved as a workbook keeps its dates as cells, not as ``1/5/2024 9:30 AM``)."""
    src = pl.col(_src(col))
    if typ == "timestamp":
        fmt = mapping.timestamp_format_of(col)
        what = {"iso": "an ISO 8601 timestamp"}.get(fmt, f"a timestamp in format {fmt}")
        if workbook and fmt != "iso":
            what += " or a date cell"
        # Only a wall time is read in the zone: an epoch number, an offset's time and a day
        # alone (parse_iso) are not, so no daylight-saving gap can refuse them.
        wall = fmt == "iso" or (states_time(fmt) and not states_offset(fmt))
        if tz != "UTC" and wall:
            what += f" (or a time that does not exist in {tz})"
        if fmt == "iso":  # the parts were extracted into their own column, once
            return parse_iso(pl.col(_iso(col)), tz), what
        value = parse_timestamp(src, fmt, tz)
        if workbook:  # a date cell, read as its wall time, naive like the stated format
            local = src.str.strptime(pl.Datetime("us"), DATE_CELL, strict=False)
            utc = _local_to_utc(local, tz)
            # Under a format of days (no time of day) a cell at 00:00:00 holds a day, kept.
            if not states_time(fmt):
                utc = pl.when(local.dt.time() == pl.time(0)).then(local).otherwise(utc)
            value = pl.coalesce(value, utc)
        return value, what
    if typ == "date":
        value = src.str.strip_chars().str.strptime(pl.Date, mapping.date_format, strict=False)
        value = _four_digit_year(value, mapping.date_format)
        what = f"a date in format {mapping.date_format}"
        if workbook:  # a date cell holds a day (its time 00:00:00)
            cell = src.str.strptime(pl.Datetime("us"), DATE_CELL, strict=False)
            day = pl.when(cell.dt.time() == pl.time(0)).then(cell.dt.date())
            value, what = pl.coalesce(value, day), what + " or a date cell"
        return value, what
    if typ.startswith("decimal"):
        return parse_decimal(src, decimal), f"a number with '{decimal}' as decimal separator"
    if typ == "integer":
        return parse_integer(src), "a whole number"
    if col in entity.enums:
        lowered = src.str.strip_chars().str.to_lowercase()
        if col in entity.open_enums:
            # Another value is kept as delivered, for the landed suite to name. Only ASCII text
            # is an allowed value, as in duckdb_csv (the engines lower-case İ apart).
            ascii_only = src.str.contains(r"^[\x00-\x7F]*$")
            known = lowered.is_in(list(entity.enums[col])) & ascii_only
            return pl.when(known).then(lowered).otherwise(src.str.strip_chars()), None
        return lowered, None
    if col == "currency":  # as delivered, else as the amounts name it (pipeline/ingest/currency.py)
        return currency.value(src, [pl.col(_marks(c)) for c in marked or []]), None
    if col in entity.identity_columns:
        # "c1 " from a padded export is the record c1 of the others, and "Mu\u0308ller@…" from
        # a Mac the "Müller@…" of a PC (Entity.identity_columns).
        return src.str.strip_chars(IDENTITY_EDGES).str.normalize("NFC"), None
    return src, None


def _marked_amounts(entity: Entity, mapping: Mapping, vendor: dict[str, pl.Expr]) -> list[str]:
    """The amounts of a row that may name its currency, in column order: the entity's, and a
    line-item export's unit price (pipeline/ingest/currency.py), each where the file or the
    mapping gives it (an amount it does not give is null and names nothing: the UCI file's
    gross, discount and refund)."""
    if "currency" not in entity.columns:
        return []
    given = {*mapping.constants, *mapping.templates}
    amounts = [
        c
        for c, typ in entity.columns.items()
        if typ.startswith("decimal") and (c in given or _read_from_file(mapping, c, vendor))
    ]
    if mapping.aggregate and mapping.aggregate.unit_price in vendor:
        amounts.append(PRICE)
    return amounts


def _amount_marks(columns: list[str]) -> list[pl.Expr]:
    """Each amount's currency marks (``currency.amount_marks`` of its source text), as the
    column :func:`_marks` names: found once, and read by the currency's value and its check
    (each found them on its own, in two polars contexts that did not share the work)."""
    return [currency.amount_marks([pl.col(_src(c))]).alias(_marks(c)) for c in columns]


def _amount_label(mapping: Mapping, col: str) -> str:
    """How a reason names an amount: the canonical column and the vendor's, or the unit price."""
    if col == PRICE and mapping.aggregate:
        return f"'{mapping.aggregate.unit_price}'"
    return vendor_label(mapping, col)


def _fill_marks(entity: Entity, columns: list[str]) -> list[pl.Expr]:
    """The marks of an order-level amount given only on an order's first line, copied to its
    other lines as :func:`_fill_order_fields` copies the amount (a line without the amount
    gets the marks of the first line that has it: their row check reads the copied amount)."""
    key = _val(entity.key)
    filled = []
    for col in columns:
        if col in entity.columns and col != entity.key:
            src, marks = pl.col(_src(col)), pl.col(_marks(col))
            first = marks.filter(src.is_not_null()).first().over(key)
            filled.append(pl.when(src.is_null()).then(first).otherwise(marks).alias(_marks(col)))
    return filled


def decide_decimals(
    frame: pl.LazyFrame,
    mapping: Mapping,
    lookup: dict[str, str],
    entity: Entity,
    workbook: bool = False,
) -> decimals.Decimals:
    """The decimal separator of a delivery (see :mod:`pipeline.ingest.decimals`), from the
    mapping or the amount columns of ``frame`` (the vendor's columns as read).

    A ``workbook``'s values decide even when the mapping states a separator: its numbers are
    cells, which read as ``1234.5`` in every locale (a mapping written for a shop's de-DE CSV
    exports, ``decimal = ","``, quarantined every amount of the same export saved as .xlsx),
    and amounts typed as text in a locale's form still show their separator."""
    vendor = {name: blank_to_null(pl.col(actual)) for name, actual in lookup.items()}
    sources = _sources(mapping, entity, vendor)
    amounts = [c for c, typ in entity.columns.items() if typ.startswith("decimal")]
    amounts += [QTY, PRICE] if mapping.aggregate else []
    # Minutes are numbers too (Zendesk's "15.5"; "15,5" once Excel in el-GR saved the file).
    amounts += [f"__minutes_{col}" for col in mapping.minutes_after]
    return decimals.decide(
        frame,
        [sources[c] for c in amounts],
        mapping.decimal if mapping.decimal_stated and not workbook else None,
    )


def _swapped(fmt: str) -> str | None:
    """``fmt`` with its day and month exchanged (``%m/%d/%Y`` → ``%d/%m/%Y``), or None when
    it does not write both as numbers before the year: a year first is followed by the month
    (``%Y-%m-%d``, ``%Y%m%d``) in every locale, so only the US and European orders can be
    taken one for the other."""
    year = min((fmt.index(y) for y in ("%Y", "%y") if y in fmt), default=-1)
    if "%m" not in fmt or "%d" not in fmt or year < max(fmt.index("%m"), fmt.index("%d")):
        return None
    return "%d".join(part.replace("%d", "%m") for part in fmt.split("%m"))


def day_month_order(
    table: Table, mapping: Mapping, lookup: dict[str, str], entity: Entity
) -> str | None:
    """Reason to refuse a delivery whose dates are written in the other day/month order than
    its mapping states, else None.

    The order is the mapping's, never guessed per row; but a file is written in one order,
    and when some of a column's values are dates only in the other order (``13/01/2024``
    under ``%m/%d/%Y``) and none is a date only in the stated one, the file is in the other
    order, and its values with a day of 12 or less would land a wrong month. Such a file is
    refused whole (read the stated way, a UK export's 5 January was 1 May); a row that only
    the other order reads, in a file that shows the stated order elsewhere, is quarantined
    as every unreadable value is."""
    formats = {c: mapping.timestamp_format_of(c) for c in entity.timestamp_columns}
    formats.update({c: mapping.date_format for c, t in entity.columns.items() if t == "date"})
    checked = {c: (f, _swapped(f)) for c, f in formats.items() if _swapped(f) is not None}
    if not checked:
        return None
    vendor = {name: blank_to_null(pl.col(actual)) for name, actual in lookup.items()}
    sources = _sources(mapping, entity, vendor)
    exprs = []
    for col, (fmt, other) in checked.items():
        text = sources[col].str.strip_chars()
        stated = text.str.strptime(pl.Datetime("us"), fmt, strict=False).is_not_null()
        swapped = text.str.strptime(pl.Datetime("us"), other, strict=False).is_not_null()
        only_other = swapped & ~stated
        exprs += [
            (stated & ~swapped).any().alias(f"{col}.stated"),
            text.filter(only_other).first().alias(f"{col}.value"),
            pl.col(ROW).filter(only_other).first().alias(f"{col}.row"),
        ]
    found = table.frame.select(exprs).collect().row(0, named=True)
    for col, (fmt, other) in checked.items():
        value = found[f"{col}.value"]
        if value is None or found[f"{col}.stated"]:
            continue
        day_first = fmt.index("%d") < fmt.index("%m")
        stated_order, file_order = ("day", "month") if day_first else ("month", "day")
        return (
            f"{vendor_label(mapping, col)}: the file writes its dates {file_order} first, and "
            f"the mapping '{mapping.name}' states {stated_order} first ({fmt}): '{value}' "
            f"(row {found[f'{col}.row']}) is only a date {file_order} first, and no date of "
            f"the file is only one {stated_order} first, so its other dates would be misread "
            f"(a day taken for a month). State the export's format, {other}, in a copy of "
            'the mapping (docs/vendors.md, "Mapping files") and deliver the file again'
        )
    return None


def plan(
    table: Table,
    mapping: Mapping,
    lookup: dict[str, str],
    entity: Entity,
    tz: str,
    dec: decimals.Decimals | None = None,
) -> Plan:
    """Map, convert and check a delivery; see :class:`Plan`.

    ``dec`` is the file's decimal decision when it was taken already (a plan over some of a
    file's rows must read them as the whole file was read); else it is decided here.
    """
    tz = mapping.timezone or tz
    vendor = {name: blank_to_null(pl.col(actual)) for name, actual in lookup.items()}
    sources = _sources(mapping, entity, vendor)
    frame = table.frame.with_columns(*[e.alias(_src(c)) for c, e in sources.items()])
    iso = [c for c in entity.timestamp_columns if mapping.timestamp_format_of(c) == "iso"]
    frame = frame.with_columns(iso_parts(pl.col(_src(c))).alias(_iso(c)) for c in iso)
    result = Plan(
        frame,
        entity,
        table.header,
        sources,
        aggregate=mapping.aggregate is not None,
        windowed=bool(mapping.templates),
        marked=_marked_amounts(entity, mapping, vendor),
    )
    if result.marked:
        frame = frame.with_columns(_amount_marks(result.marked))
    label = {c: vendor_label(mapping, c) for c in entity.columns}
    # The decimal separator is decided once for the whole file (the mapping, or its values).
    dec = dec or decide_decimals(table.frame, mapping, lookup, entity, table.workbook)

    # Typed values; text that is there but cannot be read is a broken rule.
    values = []
    for col, typ in entity.columns.items():
        if col in mapping.minutes_after:
            continue
        value, what = _typed(
            col, typ, mapping, entity, tz, dec.separator, table.workbook, result.marked
        )
        values.append(value.alias(_val(col)))
        src = pl.col(_src(col))
        if what:
            why = (
                _unreadable_amount(label[col], src, dec.separator, what)
                if typ.startswith("decimal")
                else _unreadable(label[col], src, what)
            )
            unread = src.is_not_null() & pl.col(_val(col)).is_null()
            if col == "score":  # an answer a [scores] table lacks is said so, not as unread
                for survey_type, answers in mapping.scores.items():
                    unread = unread & ~_unlisted_answer(survey_type, answers)
            result.checks.append((unread, why))
        if typ.startswith("decimal") and (check := decimals.ambiguity_check(src, label[col], dec)):
            result.checks.append(check)
    if mapping.aggregate:
        for name, vendor_col in (
            (QTY, mapping.aggregate.quantity),
            (PRICE, mapping.aggregate.unit_price),
        ):
            src = pl.col(_src(name))
            values.append(parse_decimal(src, dec.separator).alias(_val(name)))
            if check := decimals.ambiguity_check(src, f"'{vendor_col}'", dec):
                result.checks.append(check)
            result.checks.append((src.is_null(), pl.lit(f"'{vendor_col}' is missing")))
            result.checks.append(
                (
                    src.is_not_null() & pl.col(_val(name)).is_null(),
                    _unreadable_amount(f"'{vendor_col}'", src, dec.separator, "a number"),
                )
            )
    frame = frame.with_columns(values)
    for col, (base, minutes_col) in mapping.minutes_after.items():
        src = pl.col(_src(f"__minutes_{col}"))
        minutes = clean_number(src, dec.separator).cast(pl.Float64)
        offset = pl.duration(milliseconds=(minutes * 60_000).round(0).cast(pl.Int64))
        frame = frame.with_columns((pl.col(_val(base)) + offset).alias(_val(col)))
        result.checks.append(
            (
                src.is_not_null() & clean_number(src, dec.separator).is_null(),
                _unreadable(f"{col} ('{minutes_col}')", src, "minutes"),
            )
        )

    # Line-item exports carry order-level fields only on an order's first line.
    if mapping.aggregate:
        frame = frame.with_columns(
            *_fill_order_fields(entity, prefixes=(_src, _val)),
            *_fill_marks(entity, result.marked),
        )
        result.checks.append(_order_total_check(entity))
    names = table.frame.collect_schema().names()
    spare = [c for c in names if c.startswith(EXTRA_PREFIX)]
    _contract_checks(result, table.header, spare, mapping, label)
    if "currency" in entity.columns:
        text, landed_as = pl.col(_src("currency")), pl.col(_val("currency"))
        amounts = [
            (_amount_label(mapping, c), pl.col(_src(c)), pl.col(_marks(c))) for c in result.marked
        ]
        result.checks.append(currency.check(text, landed_as, label["currency"], amounts))
        if mapping.aggregate:
            key = pl.col(_val(entity.key))
            result.checks.append(currency.order_check(pl.col(_val("currency")), key))
    errors = _cell_errors(table, mapping, lookup, entity, label)
    if errors is not None:
        result.cell_errors = errors
        result.empty = result.empty & errors.is_null()
        result.checks.insert(0, (errors.is_not_null(), errors))
    unreadable = [UNREADABLE, RAW] if UNREADABLE in names else []
    if unreadable:
        result.unreadable = pl.col(UNREADABLE)
        result.empty = result.empty & result.unreadable.is_null()
        result.checks.insert(0, (result.unreadable.is_not_null(), result.unreadable))
    # Only what the later steps read is written: the row as read, the typed values, the flag.
    typed = [_val(c) for c in entity.columns] + (
        [_val(QTY), _val(PRICE)] if mapping.aggregate else []
    )
    result.parsed = frame.with_columns(
        pl.any_horizontal(b for b, _ in result.checks).alias(BAD)
    ).select(*table.header, *spare, *unreadable, *table.cell_errors.values(), ROW, *typed, BAD)
    return result


def _cell_errors(
    table: Table, mapping: Mapping, lookup: dict[str, str], entity: Entity, label: dict[str, str]
) -> pl.Expr | None:
    """Why a workbook row is quarantined for Excel's error cells (``#N/A``, ``#DIV/0!``) in
    the columns the mapping reads, or null; None when no such column holds one.

    calamine reads an error cell as an empty one: a discount whose VLOOKUP failed landed as
    no discount, a ``#DIV/0!`` amount was said to be "missing". A column the mapping does not
    read (the user's own notes) costs its row nothing."""
    read = set(lookup.values())
    named = {
        lookup[v]: label[col]
        for col in reversed(entity.columns)
        for v in mapping.columns.get(col, ())
        if v in lookup
    }
    reasons = [
        pl.format(
            f"{named.get(column, repr(column))}: the cell holds Excel's error {{}} (a formula "
            "that failed), not a value: correct it or paste the values, and deliver again",
            pl.col(errors),
        )
        for column, errors in table.cell_errors.items()
        if column in read
    ]
    if not reasons:
        return None
    joined = pl.concat_str(reasons, separator="; ", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


def _fill_order_fields(entity: Entity, prefixes: tuple[Callable[[str], str], ...]) -> list[pl.Expr]:
    """Order-level fields given only on an order's first line, copied to its other lines."""
    key = _val(entity.key)
    return [
        pl.col(p(col)).fill_null(pl.col(p(col)).drop_nulls().first().over(key))
        for col in entity.columns
        if col != entity.key
        for p in prefixes
    ]


def _contract_checks(
    result: Plan, header: list[str], spare: list[str], mapping: Mapping, label: dict[str, str]
) -> None:
    """Add the rules of the contract: required values, a link, enums, score ranges, width."""
    checks, entity = result.checks, result.entity
    # The shape of the row first: a shifted row's other reasons follow from it.
    result.empty = pl.all_horizontal(_blank(pl.col(h)) for h in header)
    shape = [(result.empty, pl.lit("empty row"))]
    if spare:
        extra = pl.sum_horizontal((~_blank(pl.col(s))).cast(pl.Int32) for s in spare)
        shape.append(
            (
                extra > 0,
                pl.format(
                    f"{{}} more {{}} than the header's {len(header)} columns "
                    "(an unquoted delimiter in a value?)",
                    extra,
                    pl.when(extra == 1).then(pl.lit("value")).otherwise(pl.lit("values")),
                ),
            )
        )
    checks[:0] = shape
    for col in entity.required:
        if not (mapping.aggregate and col == "gross_amount"):
            checks.append((pl.col(_src(col)).is_null(), pl.lit(f"{label[col]} is missing")))
    if entity.contact_or_email:
        who = f"neither {label['contact_id']} nor {label['email']} is given"
        checks.append(
            (
                pl.col(_src("contact_id")).is_null() & pl.col(_src("email")).is_null(),
                pl.lit(f"{who}: the row cannot be linked to anyone"),
            )
        )
    for col, allowed in entity.enums.items():
        if col in entity.open_enums:  # another value lands (Entity.open_enums)
            continue
        val = pl.col(_val(col))
        checks.append(
            (
                val.is_not_null() & ~val.is_in(list(allowed)),
                pl.format(f"{label[col]} '{{}}' is not one of {', '.join(allowed)}", val),
            )
        )
    checks.extend(row_rules(entity, label, aggregate=mapping.aggregate is not None))
    for col, separators in mapping.lists.items():
        # A cell listing several records (a HubSpot deal associated with two contacts): the
        # order is one customer's, and the export does not say whose.
        chars = re.escape(separators)
        listed = pl.col(_src(col)).str.extract_all(f"[^{chars}\\s][^{chars}]*")
        named = listed.list.eval(pl.element().str.strip_chars()).list.join("', '")
        checks.append(
            (
                listed.list.len().fill_null(0) > 1,  # a blank cell: no check (null would drop it)
                pl.format(
                    f"{label[col]} names {{}} records ('{{}}'), and the row belongs to one "
                    "customer only, which the export does not say: keep one in the cell (or "
                    "associate one) and deliver the row again",
                    listed.list.len(),
                    named,
                ),
            )
        )
    for survey_type, table in mapping.scores.items():
        # A scale of its own (HubSpot's CSAT 0, 1, 2): any other answer is no answer it knows.
        delivered = pl.col(_src(DELIVERED_SCORE))
        checks.append(
            (
                _unlisted_answer(survey_type, table),
                pl.format(
                    f"{label['score']} '{{}}' is not one of the {survey_type} answers of "
                    f"{mapping.name}: {', '.join(table)}",
                    delivered,
                ),
            )
        )
    if "score" in entity.columns:
        score, kind = pl.col(_val("score")), pl.col(_val("survey_type"))
        for survey_type, (low, high) in SCORE_RANGES.items():
            checks.append(
                (
                    (kind == survey_type) & ((score < low) | (score > high)),
                    pl.format(f"score {{}} is outside the {survey_type} range {low}–{high}", score),
                )
            )


def _unlisted_answer(survey_type: str, table: dict[str, str]) -> pl.Expr:
    """Whether a row of ``survey_type`` delivers an answer its ``[scores]`` table lacks."""
    delivered = pl.col(_src(DELIVERED_SCORE))
    return (
        (pl.col(_val("survey_type")) == survey_type)
        & delivered.is_not_null()
        & ~_score_key(delivered).is_in(list(table))
    ).fill_null(False)  # a null check would drop its row from good and bad alike


def _order_total_check(entity: Entity) -> tuple[pl.Expr, pl.Expr]:
    """``(is bad, why)`` for the lines of an order whose total (the gross that
    :func:`_orders_from_lines` makes) does not fit :data:`AMOUNT`: each line fits, their sum
    need not (a barcode typed as a quantity), and the sum's conversion stopped the delivery."""
    key = pl.col(_val(entity.key))
    total = (pl.col(_val(QTY)) * pl.col(_val(PRICE))).sum().over(key)
    bad = total.is_not_null() & total.cast(AMOUNT, strict=False).is_null()
    why = pl.format(
        f"order '{{}}': its lines total {{}} (quantity × price), which {TOO_LARGE}", key, total
    )
    return bad, why


def _orders_from_lines(lines: pl.LazyFrame, entity: Entity) -> pl.LazyFrame:
    """Good order lines → orders: gross = sum(quantity × price), the earliest time ordered,
    the latest update, and the first value given of everything else."""
    key = _val(entity.key)
    aggs = []
    for col, typ in entity.columns.items():
        val = pl.col(_val(col))
        if col == entity.key:
            continue
        if col == "gross_amount":
            total = (pl.col(_val(QTY)) * pl.col(_val(PRICE))).sum()
            aggs.append(total.cast(AMOUNT).alias(col))
        elif col == "updated_at":
            aggs.append(val.max().alias(col))
        elif typ == "timestamp":
            aggs.append(val.min().alias(col))
        else:
            aggs.append(val.drop_nulls().first().alias(col))
    return (
        lines.group_by(key, maintain_order=True)
        .agg(*aggs, pl.col(ROW).min())
        .rename({key: entity.key})
        .select(*entity.columns, ROW)
    )
