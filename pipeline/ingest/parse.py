"""Vendor text columns to canonical typed columns, with a reason on every row that breaks its
contract. Everything here is a polars expression on a lazy frame, so it streams.

The result is split in two: ``good`` (canonical columns + ``_row_number``) and ``bad``
(``_row_number``, ``_reason``, ``_record``: the row's values as read, as JSON text).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.entities import SCORE_RANGES, Entity
from pipeline.ingest.formats import EXTRA_PREFIX, ROW, Table
from pipeline.ingest.mappings import Mapping, template_fields

REASON = "_reason"
RECORD = "_record"
LINE_TOTAL = "_line_total"
FREE_TEXT = ("text", "comment")  # never lower-cased or trimmed
AWARE_DIRECTIVES = ("%z", "%:z", "%::z", "%#z")
# ISO 8601 and "YYYY-MM-DD HH:MM[:SS]" (after 'T' → ' ' and 'Z' → '+00:00'): with an offset
# they are absolute; without one they are read in the mapping's or the pipeline's time zone.
ISO_AWARE = ("%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M%z")
ISO_NAIVE = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d")
DECIMAL_PATTERN = {
    ".": r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$",
    ",": r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$",
}
AMOUNT = pl.Decimal(18, 4)


@dataclass
class Parsed:
    """The two halves of a parsed delivery, both lazy."""

    good: pl.LazyFrame
    bad: pl.LazyFrame
    # Every row's key and required columns as text (for the damaged-key check); None for
    # line-item exports, whose key repeats by design.
    keys: pl.LazyFrame | None = None


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    """Empty or whitespace-only text is an absent value."""
    return pl.when(expr.str.strip_chars() != "").then(expr)


def _src(col: str) -> str:
    return f"__src_{col}"


def _val(col: str) -> str:
    return f"__val_{col}"


def _err(col: str) -> str:
    return f"__err_{col}"


def parse_timestamp(text: pl.Expr, fmt: str, timezone: str) -> pl.Expr:
    """Text in a stated format to a naive UTC ``Datetime('us')``; unreadable text → null."""
    if fmt in ("epoch_s", "epoch_ms"):
        number = text.str.strip_chars()
        number = pl.when(number.str.contains(r"^-?\d+(\.\d+)?$")).then(number)
        scale = 1_000_000 if fmt == "epoch_s" else 1_000
        micros = (number.cast(pl.Float64) * scale).round(0).cast(pl.Int64)
        return pl.from_epoch(micros, time_unit="us")
    if fmt == "iso":
        norm = (
            text.str.strip_chars()
            .str.replace(r"^(\d{4}-\d{2}-\d{2})[Tt]", "$1 ")
            .str.replace(r"[Zz]$", "+00:00")
        )
        aware = [norm.str.strptime(pl.Datetime("us"), f, strict=False) for f in ISO_AWARE]
        naive = [norm.str.strptime(pl.Datetime("us"), f, strict=False) for f in ISO_NAIVE]
        return pl.coalesce(
            pl.coalesce(aware).dt.replace_time_zone(None),
            _local_to_utc(pl.coalesce(naive), timezone),
        )
    parsed = text.str.strip_chars().str.strptime(pl.Datetime("us"), fmt, strict=False)
    if any(d in fmt for d in AWARE_DIRECTIVES):
        return parsed.dt.replace_time_zone(None)
    return _local_to_utc(parsed, timezone)


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
    t = (
        text.str.replace_all(r"[\s\u00a0\u202f'’\p{Sc}]", "")
        .str.replace(r"^[A-Za-z]{3}", "")
        .str.replace(r"[A-Za-z]{3}$", "")
    )
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


def _apply_value_maps(src: pl.Expr, mapping: Mapping, col: str) -> pl.Expr:
    """Vendor values to canonical ones: exact (case-insensitive) first, then patterns."""
    out = src
    table = mapping.values.get(col)
    if table:
        keys = {k: v for k, v in table.items() if k != "*"}
        default = pl.lit(table["*"]) if "*" in table else src
        out = (
            pl.when(src.is_null())
            .then(None)
            .otherwise(
                src.str.strip_chars()
                .str.to_lowercase()
                .replace_strict(list(keys), list(keys.values()), default=default)
            )
        )
    pats = mapping.patterns.get(col)
    if pats:
        chain = pl.when(src.str.contains(pats[0][0])).then(pl.lit(pats[0][1]))
        for pattern, value in pats[1:]:
            chain = chain.when(src.str.contains(pattern)).then(pl.lit(value))
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


def _label(mapping: Mapping, col: str) -> str:
    vendor = mapping.columns.get(col)
    return col if vendor in (None, col) else f"{col} ('{vendor}')"


def _unreadable(col_label: str, src: pl.Expr, what: str) -> pl.Expr:
    return pl.format(f"{col_label}: cannot read '{{}}' as {what}", src)


def to_canonical(
    table: Table, mapping: Mapping, lookup: dict[str, str], entity: Entity, timezone: str
) -> Parsed:
    """Map, convert and validate a delivery; see the module docstring for the result."""
    tz = mapping.timezone or timezone
    names = table.frame.collect_schema().names()
    spare = [c for c in names if c.startswith(EXTRA_PREFIX)]
    vendor = {name: blank_to_null(pl.col(actual)) for name, actual in lookup.items()}
    agg = mapping.aggregate

    # Stage 1: the source text of every canonical column (vendor value, constant or template).
    sources: dict[str, pl.Expr] = {}
    for col in entity.columns:
        if col in mapping.constants:
            src = pl.lit(mapping.constants[col], dtype=pl.String)
        elif col in mapping.templates:
            src = _template(mapping.templates[col], vendor)
        elif col in mapping.columns and mapping.columns[col] in vendor:
            src = vendor[mapping.columns[col]]
        else:
            src = pl.lit(None, dtype=pl.String)
        sources[col] = _apply_value_maps(src, mapping, col)
    extra_sources = {}
    if agg:
        extra_sources = {"__qty": agg.quantity, "__price": agg.unit_price}
    for col, (_, minutes) in mapping.minutes_after.items():
        extra_sources[f"__minutes_{col}"] = minutes
    frame = table.frame.with_columns(
        *[expr.alias(_src(c)) for c, expr in sources.items()],
        *[
            vendor.get(v, pl.lit(None, dtype=pl.String)).alias(_src(k))
            for k, v in extra_sources.items()
        ],
    )

    # Stage 2: typed values, and a reason where present text cannot be read.
    values, errors, err_cols = [], [], []
    for col, typ in entity.columns.items():
        src, label = pl.col(_src(col)), _label(mapping, col)
        if col in mapping.minutes_after:
            continue
        if typ == "timestamp":
            fmt = mapping.timestamp_format_of(col)
            val = parse_timestamp(src, fmt, tz)
            what = {"iso": "an ISO 8601 timestamp"}.get(fmt, f"a timestamp in format {fmt}")
            if tz != "UTC" and not any(d in fmt for d in AWARE_DIRECTIVES):
                what += f" (or a time that does not exist in {tz})"
        elif typ == "date":
            val = src.str.strip_chars().str.strptime(pl.Date, mapping.date_format, strict=False)
            what = f"a date in format {mapping.date_format}"
        elif typ.startswith("decimal"):
            val = parse_decimal(src, mapping.decimal)
            what = f"a number with '{mapping.decimal}' as decimal separator"
        elif typ == "integer":
            val = parse_integer(src)
            what = "a whole number"
        else:
            val = src.str.strip_chars().str.to_lowercase() if col in entity.enums else src
            what = ""
        values.append(val.alias(_val(col)))
        if what:
            err_cols.append(_err(col))
            errors.append(
                pl.when(src.is_not_null() & val.is_null())
                .then(_unreadable(label, src, what))
                .alias(_err(col))
            )
    if agg:
        for key, vcol in (("__qty", agg.quantity), ("__price", agg.unit_price)):
            val = parse_decimal(pl.col(_src(key)), mapping.decimal)
            values.append(val.alias(_val(key)))
            err_cols.append(_err(key))
            errors.append(
                pl.when(pl.col(_src(key)).is_null())
                .then(pl.lit(f"'{vcol}' is missing"))
                .when(val.is_null())
                .then(_unreadable(f"'{vcol}'", pl.col(_src(key)), "a number"))
                .alias(_err(key))
            )
    frame = frame.with_columns(*values, *errors)
    for col, (base, minutes_col) in mapping.minutes_after.items():
        minutes_src = pl.col(_src(f"__minutes_{col}"))
        minutes = clean_number(minutes_src, mapping.decimal).cast(pl.Float64)
        offset = pl.duration(milliseconds=(minutes * 60_000).round(0).cast(pl.Int64))
        err_cols.append(_err(col))
        frame = frame.with_columns(
            (pl.col(_val(base)) + offset).alias(_val(col)),
            pl.when(minutes_src.is_not_null() & minutes.is_null())
            .then(_unreadable(f"{col} ('{minutes_col}')", minutes_src, "minutes"))
            .alias(_err(col)),
            pl.col(_src(base)).alias(_src(col)),
        )

    # Stage 3 (line-item exports): order-level fields are often only on an order's first line.
    if agg:
        key = _val(entity.key)
        frame = frame.with_columns(
            *[
                pl.col(c).fill_null(pl.col(c).drop_nulls().first().over(key))
                for col in entity.columns
                if col != entity.key
                for c in (_src(col), _val(col))
            ]
        )

    # Stage 4: the contract of each row.
    reasons = []
    header_values = [blank_to_null(pl.col(h)) for h in table.header]
    empty = pl.all_horizontal(e.is_null() for e in header_values)
    if spare:
        n_extra = pl.sum_horizontal(
            blank_to_null(pl.col(s)).is_not_null().cast(pl.Int32) for s in spare
        )
        reasons.append(
            pl.when(n_extra > 0).then(
                pl.format(
                    f"{{}} more value(s) than the header's {len(table.header)} columns "
                    "(an unquoted delimiter in a value?)",
                    n_extra,
                )
            )
        )
    for col in entity.required:
        if agg and col == "gross_amount":
            continue
        reasons.append(
            pl.when(pl.col(_src(col)).is_null()).then(pl.lit(f"{_label(mapping, col)} is missing"))
        )
    reasons.extend(pl.col(c) for c in err_cols)
    if entity.contact_or_email:
        reasons.append(
            pl.when(pl.col(_src("contact_id")).is_null() & pl.col(_src("email")).is_null()).then(
                pl.lit(
                    f"neither {_label(mapping, 'contact_id')} nor {_label(mapping, 'email')} "
                    "is given: the row cannot be linked to anyone"
                )
            )
        )
    for col, allowed in entity.enums.items():
        val = pl.col(_val(col))
        reasons.append(
            pl.when(val.is_not_null() & ~val.is_in(list(allowed))).then(
                pl.format(f"{_label(mapping, col)} '{{}}' is not one of {', '.join(allowed)}", val)
            )
        )
    if "score" in entity.columns and "survey_type" in entity.columns:
        for survey_type, (low, high) in SCORE_RANGES.items():
            score = pl.col(_val("score"))
            reasons.append(
                pl.when(
                    (pl.col(_val("survey_type")) == survey_type) & ((score < low) | (score > high))
                ).then(
                    pl.format(f"score {{}} is outside the {survey_type} range {low}–{high}", score)
                )
            )
    joined = pl.concat_str(reasons, separator="; ", ignore_nulls=True)
    # An empty row (a spreadsheet's trailing blank line) gets one reason, not one per column.
    reason = pl.when(empty).then(pl.lit("empty row")).when(joined != "").then(joined)
    frame = frame.with_columns(reason.alias(REASON))

    record = pl.struct([pl.col(h) for h in table.header]).struct.json_encode().alias(RECORD)
    canonical = [pl.col(_val(c)).alias(c) for c in entity.columns]
    if not agg:
        good = frame.filter(pl.col(REASON).is_null()).select(*canonical, pl.col(ROW))
        bad = frame.filter(pl.col(REASON).is_not_null()).select(pl.col(ROW), pl.col(REASON), record)
        key_cols = dict.fromkeys([entity.key, *entity.required])
        keys = frame.select(*[pl.col(_src(c)).alias(c) for c in key_cols], pl.col(ROW))
        return Parsed(good=good, bad=bad, keys=keys)
    return _aggregate(frame, entity, record)


def _aggregate(frame: pl.LazyFrame, entity: Entity, record: pl.Expr) -> Parsed:
    """Order lines → orders. An order with any bad line is quarantined whole, line by line,
    so that no order lands with a wrong total."""
    key = _val(entity.key)
    order_bad = pl.col(REASON).is_not_null().any().over(key)
    frame = frame.with_columns(
        pl.when(order_bad & pl.col(REASON).is_null())
        .then(pl.format("another line of order '{}' was quarantined", pl.col(key)))
        .otherwise(pl.col(REASON))
        .alias(REASON)
    )
    bad = frame.filter(pl.col(REASON).is_not_null()).select(pl.col(ROW), pl.col(REASON), record)
    aggs = []
    for col in entity.columns:
        val = pl.col(_val(col))
        if col == entity.key:
            continue
        if col == "gross_amount":
            total = (pl.col(_val("__qty")) * pl.col(_val("__price"))).sum()
            aggs.append(total.cast(AMOUNT).alias(col))
        elif col == "updated_at":
            aggs.append(val.max().alias(col))
        elif entity.columns[col] == "timestamp":
            aggs.append(val.min().alias(col))
        else:
            aggs.append(val.drop_nulls().first().alias(col))
    good = (
        frame.filter(pl.col(REASON).is_null())
        .group_by(key, maintain_order=True)
        .agg(*aggs, pl.col(ROW).min())
        .rename({key: entity.key})
        .select(*entity.columns, ROW)
    )
    return Parsed(good=good, bad=bad)
