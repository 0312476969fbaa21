"""Direct, fast tests of ``pipeline/ingest/parse.py``'s value functions: amounts, whole
numbers, timestamps and value maps, each expected value worked out by hand.

These run first in ``make mutate``'s ingest/parse target (a second per mutant, not the minute
the landing tests take); the landing tests check the same rules end to end.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from pipeline.entities import ENTITIES
from pipeline.ingest.formats import ROW
from pipeline.ingest.mappings import Mapping
from pipeline.ingest.parse import (
    PRICE,
    QTY,
    _orders_from_lines,
    _template,
    _val,
    blank_to_null,
    clean_number,
    parse_decimal,
    parse_integer,
    parse_timestamp,
)
from pipeline.ingest.parse import _apply_value_maps as apply_value_maps

T = dt.datetime


def values(expr: pl.Expr, texts: list[str | None]) -> list:
    """``expr`` (over column ``t``) applied to ``texts``."""
    return (
        pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(expr.alias("v"))["v"].to_list()
    )


def test_blank_text_is_null_and_other_text_is_kept():
    # "" and whitespace are absent; " a " keeps its spaces (only the test strips).
    assert values(blank_to_null(pl.col("t")), ["", "  ", " a ", None, "x"]) == [
        None,
        None,
        " a ",
        None,
        "x",
    ]


def test_amounts_with_a_decimal_point():
    texts = ["1,234,567.89", "-12.5", "€ 1,234.5678", "USD 42", "1234.5", "0.125", "12,34", ""]
    # Every thousands comma goes, the point stays; '-' stays; currency and spaces go;
    # '12,34' is not a number written with '.' (a group of two) and '' is no number.
    assert values(clean_number(pl.col("t"), "."), texts) == [
        "1234567.89",
        "-12.5",
        "1234.5678",
        "42",
        "1234.5",
        "0.125",
        None,
        None,
    ]
    assert values(parse_decimal(pl.col("t"), "."), texts) == [
        Decimal("1234567.8900"),
        Decimal("-12.5000"),
        Decimal("1234.5678"),
        Decimal("42.0000"),
        Decimal("1234.5000"),
        Decimal("0.1250"),
        None,
        None,
    ]


def test_amounts_with_a_decimal_comma():
    texts = ["1.234.567,89", "-0,5", "1 234,5678 €", "12,345", "1,234.5"]
    # Every thousands point goes and the comma becomes the point; '1,234.5' is not a number
    # written with ',' as the decimal separator.
    assert values(clean_number(pl.col("t"), ","), texts) == [
        "1234567.89",
        "-0.5",
        "1234.5678",
        "12.345",
        None,
    ]
    assert values(parse_decimal(pl.col("t"), ","), texts) == [
        Decimal("1234567.8900"),
        Decimal("-0.5000"),
        Decimal("1234.5678"),
        Decimal("12.3450"),
        None,
    ]


def test_whole_numbers():
    texts = ["3", " 3.0 ", "3.00", "+4", "-2", "3.5", "x", "", "30"]
    # A spreadsheet's "3.0" is 3; a sign is kept; "3.5", "x" and "" are not whole numbers;
    # "30" keeps its zero (only a ".0…" suffix goes).
    assert values(parse_integer(pl.col("t")), texts) == [3, 3, 3, 4, -2, None, None, None, 30]


def test_iso_timestamps_with_and_without_offsets():
    texts = [
        "2024-03-01T10:20:30Z",
        "2024-03-01T10:20:30+02:00",
        "2024-03-01T10:20:30-0130",
        "2024-03-01 10:20",
        "2024-03-01",
        "2024-03-01T10:20:30.5Z",
        "2024-03-01T10:20:30.123456789+00:00",
        "2024-03-01T10:20:30+05",
        "yesterday",
    ]
    got = values(parse_timestamp(pl.col("t"), "iso", "UTC"), texts)
    assert got == [
        T(2024, 3, 1, 10, 20, 30),
        T(2024, 3, 1, 8, 20, 30),  # 10:20:30 at +02:00 is 08:20:30 UTC
        T(2024, 3, 1, 11, 50, 30),  # at -01:30 it is 1 h 30 later in UTC
        T(2024, 3, 1, 10, 20),  # no seconds: :00; no offset: the zone (UTC)
        T(2024, 3, 1),  # a date alone is midnight
        T(2024, 3, 1, 10, 20, 30, 500000),  # ".5" is 500,000 µs
        T(2024, 3, 1, 10, 20, 30, 123456),  # nanoseconds cut to microseconds
        T(2024, 3, 1, 5, 20, 30),  # "+05" is five hours, no minutes
        None,
    ]


def test_naive_times_are_wall_time_in_the_zone():
    texts = ["2024-07-01 12:00:00", "2024-01-15 12:00:00", "2024-03-31 03:30:00", "2024-07-01Z"]
    got = values(parse_timestamp(pl.col("t"), "iso", "Europe/Bucharest"), texts)
    # Bucharest is UTC+3 in summer and UTC+2 in winter; 2024-03-31 03:30 does not exist there
    # (clocks go 03:00 → 04:00), so it is null; an explicit Z ignores the zone.
    assert got == [T(2024, 7, 1, 9), T(2024, 1, 15, 10), None, T(2024, 7, 1)]
    stated = parse_timestamp(pl.col("t"), "%d.%m.%Y %H:%M", "Europe/Bucharest")
    assert values(stated, ["01.07.2024 12:00", "15.01.2024 12:00", "2024-07-01"]) == [
        T(2024, 7, 1, 9),
        T(2024, 1, 15, 10),
        None,
    ]
    # A format with an offset directive carries its own zone: the setting is not applied.
    aware = parse_timestamp(pl.col("t"), "%Y-%m-%d %H:%M%z", "Europe/Bucharest")
    assert values(aware, ["2024-07-01 12:00+0100"]) == [T(2024, 7, 1, 11)]


def test_epoch_seconds_and_milliseconds():
    # 1,700,000,000 s after 1970-01-01 is 2023-11-14 22:13:20 UTC (19,675 days + 80,000 s).
    assert values(parse_timestamp(pl.col("t"), "epoch_s", "UTC"), ["1700000000", "1.5", "x"]) == [
        T(2023, 11, 14, 22, 13, 20),
        T(1970, 1, 1, 0, 0, 1, 500000),
        None,
    ]
    assert values(parse_timestamp(pl.col("t"), "epoch_ms", "UTC"), ["1700000000123", "-1000"]) == [
        T(2023, 11, 14, 22, 13, 20, 123000),
        T(1969, 12, 31, 23, 59, 59),
    ]


def mapping(**fields) -> Mapping:
    """A mapping of one ``status`` column with the given value maps or patterns."""
    return Mapping(
        name="m", entity="orders", signature=("s",), columns={"status": ("s",)}, **fields
    )


def test_value_maps_are_exact_case_insensitive_with_a_default():
    table = {"Paid": "completed", " VOID ": "cancelled", "Gone": "", "*": "pending"}
    expr = apply_value_maps(pl.col("t"), mapping(values={"status": table}), "status")
    # Keys match trimmed and in any case; "Gone" maps to "" (no value: null); anything else
    # is the "*" default; a null stays null.
    assert values(expr, ["paid", " PAID ", "void", "Gone", "other", None]) == [
        "completed",
        "completed",
        "cancelled",
        None,
        "pending",
        None,
    ]
    # Without "*", an unlisted value passes through as delivered.
    expr = apply_value_maps(
        pl.col("t"), mapping(values={"status": {"Paid": "completed"}}), "status"
    )
    assert values(expr, ["Paid", "refunded"]) == ["completed", "refunded"]
    # A column without a map is left alone (blank text included).
    assert values(apply_value_maps(pl.col("t"), mapping(), "status"), ["", "x"]) == ["", "x"]


def test_patterns_are_tried_in_order_before_the_value_map():
    pats = [("^[Cc]", "cancelled"), ("^R", "refunded"), (".", "completed")]
    expr = apply_value_maps(pl.col("t"), mapping(patterns={"status": pats}), "status")
    # The first matching pattern wins: "C123" cancelled, "R9" refunded, "536365" completed.
    assert values(expr, ["C123", "R9", "536365", ""]) == [
        "cancelled",
        "refunded",
        "completed",
        None,
    ]


def test_a_stated_format_starting_with_a_word_is_not_iso():
    # A stated format that begins with text ("on", which sorts after "iso") is a format like
    # any other: "on 05.01.2024 14:30" is 2024-01-05 14:30 UTC.
    got = values(parse_timestamp(pl.col("t"), "on %d.%m.%Y %H:%M", "UTC"), ["on 05.01.2024 14:30"])
    assert got == [T(2024, 1, 5, 14, 30)]


def test_a_zone_named_after_utc_in_the_alphabet_is_still_converted():
    # "WET" (Western European Time) is UTC+1 in summer, UTC+0 in winter: 12:00 on 1 July is
    # 11:00 UTC, 12:00 on 15 January is 12:00 UTC.
    got = values(
        parse_timestamp(pl.col("t"), "iso", "WET"), ["2024-07-01 12:00:00", "2024-01-15 12:00:00"]
    )
    assert got == [T(2024, 7, 1, 11), T(2024, 1, 15, 12)]


def test_template_counter_numbers_rows_with_the_same_fields():
    # "{order}-{n}": n counts the rows with the same order, from 1 (A-1, A-2, then B-1, A-3);
    # "order" is a field (sorting after "n" makes it no counter).
    frame = pl.DataFrame({"order": ["A", "A", "B", "A"]})
    got = frame.select(_template("{order}-{n}", {"order": pl.col("order")}).alias("v"))
    assert got["v"].to_list() == ["A-1", "A-2", "B-1", "A-3"]


def test_values_that_fit_the_pattern_but_not_the_type_are_null_not_an_error():
    # Each matches its pattern yet cannot be its type; the row is quarantined, the file is not
    # refused: 30 February does not exist, 25:00 is no hour, 17 integer digits exceed
    # DECIMAL(18,4)'s 14, 3,000,000,000 exceeds a 32-bit integer (2,147,483,647).
    iso = parse_timestamp(pl.col("t"), "iso", "UTC")
    assert values(iso, ["2024-02-30T10:00:00Z", "2024-03-01T25:00:00Z", "2024-03-01"]) == [
        None,
        None,
        T(2024, 3, 1),
    ]
    amounts = ["12345678901234567.5", "12345678901234.5"]
    assert values(parse_decimal(pl.col("t"), "."), amounts) == [
        None,
        Decimal("12345678901234.5000"),
    ]
    assert values(parse_integer(pl.col("t")), ["3000000000", "2147483647"]) == [None, 2147483647]


def test_epoch_fractions_round_to_the_nearest_microsecond():
    # 0.0009 ms is 0.9 µs: rounded to 1 µs (not cut to 0); 0.0004 ms is 0.4 µs: 0.
    got = values(parse_timestamp(pl.col("t"), "epoch_ms", "UTC"), ["0.0009", "0.0004"])
    assert got == [T(1970, 1, 1, 0, 0, 0, 1), T(1970, 1, 1)]


def test_order_lines_become_orders_worked_by_hand():
    orders = ENTITIES["orders"]
    lines = {c: [None, None, None, None] for c in orders.columns}
    lines |= {
        "order_id": ["A", "A", "B", "A"],
        "contact_id": [None, "C9", "C2", "C1"],
        "ordered_at": [T(2024, 1, 2), T(2024, 1, 1), T(2024, 1, 5), T(2024, 1, 3)],
        "updated_at": [T(2024, 2, 1), T(2024, 3, 1), None, T(2024, 1, 15)],
        "status": ["completed", "completed", "pending", "completed"],
        "currency": ["EUR", "EUR", "USD", "EUR"],
        QTY: [2, 1, 3, 1],
        PRICE: [Decimal("1.5"), Decimal("10.25"), Decimal("0.1"), Decimal("4")],
    }
    schema = {_val(c): pl.Datetime("us") for c in orders.timestamp_columns}
    frame = pl.DataFrame(
        {_val(c): v for c, v in lines.items()} | {ROW: [7, 3, 5, 9]},
        schema_overrides=schema | {_val(PRICE): pl.Decimal(18, 4)},
    )
    got = _orders_from_lines(frame.lazy(), orders).collect().to_dicts()
    # A: gross 2 × 1.5 + 1 × 10.25 + 1 × 4 = 17.25; the earliest ordered_at (1 Jan), the
    # latest updated_at (1 Mar), the first contact given (C9: the first line has none; not the
    # smallest, C1), the
    # first line's row number of the order (3). B: 3 × 0.1 = 0.3, its only line.
    assert [(o["order_id"], o["gross_amount"], o["contact_id"]) for o in got] == [
        ("A", Decimal("17.25"), "C9"),
        ("B", Decimal("0.3"), "C2"),
    ]
    assert [(o["ordered_at"], o["updated_at"], o[ROW]) for o in got] == [
        (T(2024, 1, 1), T(2024, 3, 1), 3),
        (T(2024, 1, 5), None, 5),
    ]
    assert [(o["status"], o["currency"], o["discount_amount"]) for o in got] == [
        ("completed", "EUR", None),
        ("pending", "USD", None),
    ]
