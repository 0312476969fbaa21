"""Direct, fast tests of ``pipeline/ingest/parse.py``'s plan and contract checks (lines
173–447): which rows are good, and each bad row's reason, worked out by hand.

They run a :class:`~pipeline.ingest.parse.Plan` over a small in-memory table (no Parquet, no
DuckDB, no Dagster), so ``make mutate``'s ingest/parse target can run them per mutant.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from pipeline.entities import ENTITIES
from pipeline.ingest.formats import ROW, Table
from pipeline.ingest.mappings import Aggregate, Mapping
from pipeline.ingest.parse import plan

SURVEY_HEADER = ["rid", "contact_id", "email", "responded_at", "survey_type", "score"]
SPARE = "_extra_1"


def run_plan(
    mapping: Mapping, header: list[str], rows: list[list[str]], entity: str, tz: str = "UTC"
) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    """``plan`` over ``rows`` (the header's values, then one spare column): the good rows and
    the (row number, reason) of every bad one."""
    cols = [*header, SPARE]
    frame = (
        pl.DataFrame(
            [dict(zip(cols, r, strict=True)) for r in rows], schema=dict.fromkeys(cols, pl.String)
        )
        .with_row_index(ROW, offset=1)
        .lazy()
    )
    table = Table(header=header, frame=frame, layout="csv")
    steps = plan(table, mapping, {c: c for c in cols}, ENTITIES[entity], tz)
    scan = steps.parsed.collect().lazy()
    bad = steps.bad(scan).collect()
    return steps.good(scan).collect(), list(zip(bad[ROW], bad["_reason"], strict=True))


def survey_mapping(**fields) -> Mapping:
    """Surveys read from columns named as the canonical ones, but ``rid`` for the key."""
    return Mapping(
        name="m",
        entity="surveys",
        signature=("rid",),
        columns={"response_id": ("rid",), **{c: (c,) for c in SURVEY_HEADER[1:]}},
        **fields,
    )


def test_survey_contract_checks_worked_by_hand():
    at = "2026-01-02T03:04:05Z"
    rows = [
        ["r1", "c1", "", at, "nps", "10", ""],  # nps 0–10: 10 is the top, good
        ["r2", "c1", "", at, "csat", "0", ""],  # csat 1–5: 0 is below
        ["r3", "", "a@x.io", at, "CES ", "8", ""],  # 'CES ' is ces (trimmed, lower); 8 > 7
        ["r4", "", "", at, "xyz", "3", ""],  # no contact nor e-mail; xyz no survey type
        ["", "", "", "", "", "", ""],  # blank line: only "empty row"
        ["r6", "c1", "", at, "nps", "abc", "spill"],  # one spare value; 'abc' no number
        ["r7", "c1", "", at, "ces", "1", ""],  # ces 1–7: 1 is the bottom, good
    ]
    good, bad = run_plan(survey_mapping(), SURVEY_HEADER, rows, "surveys")
    # Rows 1 and 7 keep the contract; the time is the Z time itself (UTC, naive).
    assert good["response_id"].to_list() == ["r1", "r7"]
    assert good["score"].to_list() == [10, 1]
    assert good["survey_type"].to_list() == ["nps", "ces"]
    assert good["responded_at"].to_list() == [dt.datetime(2026, 1, 2, 3, 4, 5)] * 2
    assert good[ROW].to_list() == [1, 7]
    # The shape first (empty row, spare values), then the checks in the order written:
    # unreadable values, required, the link, enums, then score ranges.
    assert bad == [
        (2, "score 0 is outside the csat range 1–5"),
        (3, "score 8 is outside the ces range 1–7"),
        (
            4,
            "neither contact_id nor email is given: the row cannot be linked to anyone; "
            "survey_type 'xyz' is not one of nps, csat, ces",
        ),
        (5, "empty row"),
        (
            6,
            "1 more value than the header's 6 columns (an unquoted delimiter in a value?); "
            "score: cannot read 'abc' as a whole number",
        ),
    ]


def test_line_item_orders_worked_by_hand():
    at = "2026-01-01T10:00:00Z"
    rows = [
        ["o1", "a@x.io", at, "completed", "2", "1.50", ""],  # 2 × 1.50
        ["o1", "", "", "", "1", "3", ""],  # + 1 × 3 = 6; order fields from line 1
        ["o2", "b@x.io", at, "completed", "x", "2", ""],  # 'x' is no quantity
        ["o2", "", "", "", "1", "", ""],  # no price
        ["o3", "c@x.io", at, "Pending", "1", "5", ""],  # good, but its order is not
        ["o3", "", "", "", "1", "-", ""],  # '-' is no price
        ["o4", "d@x.io", at, "", "1", "1", ""],  # one line, no status
    ]
    mapping = Mapping(
        name="m",
        entity="orders",
        signature=("oid",),
        columns={"order_id": ("oid",), **{c: (c,) for c in ("email", "ordered_at", "status")}},
        aggregate=Aggregate(quantity="qty", unit_price="price"),
    )
    header = ["oid", "email", "ordered_at", "status", "qty", "price"]
    good, bad = run_plan(mapping, header, rows, "orders")
    # Only o1 lands, one row, its gross summed (no gross column: not "missing", not checked
    # per line), its fields from the first line.
    assert good.select("order_id", "email", "status", "gross_amount", ROW).rows() == [
        ("o1", "a@x.io", "completed", Decimal("6.0000"), 1)
    ]
    assert good["ordered_at"].to_list() == [dt.datetime(2026, 1, 1, 10, 0)]
    # Line 4 lacks order fields too, but they are copied from line 3 (same order): only its
    # price is missing. Line 5 is good but its order is quarantined whole.
    assert bad == [
        (3, "'qty': cannot read 'x' as a number"),
        (4, "'price' is missing"),
        (5, "another line of order 'o3' was quarantined"),
        (6, "'price': cannot read '-' as a number"),
        (7, "status is missing"),
    ]


def test_score_range_edges_and_the_order_of_reasons():
    at = "2026-01-02T03:04:05Z"
    # Each range's edges: one below the bottom, the bottom, the top, one above the top.
    edges = [("nps", -1), ("nps", 0), ("nps", 10), ("nps", 11)]
    edges += [("csat", 0), ("csat", 1), ("csat", 5), ("csat", 6)]
    edges += [("ces", 0), ("ces", 1), ("ces", 7), ("ces", 8)]
    rows = [
        [f"r{i}", "c1", "", at, kind, str(score), ""] for i, (kind, score) in enumerate(edges, 1)
    ]
    # A spare value comes first (the shape), before the broken time and the missing values.
    rows.append(["r13", "c1", "", "soon", "nps", "5", "spill"])
    rows.append(["r14", "c1", "", "soon", "", "", "spill"])
    good, bad = run_plan(survey_mapping(), SURVEY_HEADER, rows, "surveys")
    assert good["response_id"].to_list() == ["r2", "r3", "r6", "r7", "r10", "r11"]
    shape = "1 more value than the header's 6 columns (an unquoted delimiter in a value?)"
    soon = "responded_at: cannot read 'soon' as an ISO 8601 timestamp"
    assert bad == [
        (1, "score -1 is outside the nps range 0–10"),
        (4, "score 11 is outside the nps range 0–10"),
        (5, "score 0 is outside the csat range 1–5"),
        (8, "score 6 is outside the csat range 1–5"),
        (9, "score 0 is outside the ces range 1–7"),
        (12, "score 8 is outside the ces range 1–7"),
        (13, f"{shape}; {soon}"),
        (14, f"{shape}; {soon}; survey_type is missing; score is missing"),
    ]


def test_the_mappings_zone_and_a_stated_format_starting_with_a_word():
    # The mapping's zone wins over the one passed in (UTC). 02.01.2026 04:04 in Berlin is
    # winter time, UTC+1: 03:04 UTC. 29.03.2026 02:30 falls in the spring gap (02:00 → 03:00),
    # so it does not exist; a date alone does not fit the format. The format starts with
    # "on", which sorts after "iso": it must still be read as a stated format.
    fmt = "on %d.%m.%Y %H:%M"
    rows = [
        ["r1", "c1", "", "on 02.01.2026 04:04", "nps", "5", ""],
        ["r2", "c1", "", "on 29.03.2026 02:30", "nps", "5", ""],
        ["r3", "c1", "", "2026-01-02", "nps", "5", ""],
    ]
    mapping = survey_mapping(timestamp_format=fmt, timezone="Europe/Berlin")
    good, bad = run_plan(mapping, SURVEY_HEADER, rows, "surveys")
    assert good["responded_at"].to_list() == [dt.datetime(2026, 1, 2, 3, 4)]
    why = f"as a timestamp in format {fmt} (or a time that does not exist in Europe/Berlin)"
    assert bad == [
        (2, f"responded_at: cannot read 'on 29.03.2026 02:30' {why}"),
        (3, f"responded_at: cannot read '2026-01-02' {why}"),
    ]


def test_the_zone_passed_in_names_the_gap_in_iso_messages():
    # No zone in the mapping: the one passed in is used (Berlin, as above: UTC+1 in January,
    # 02:30 on 29 March 2026 does not exist).
    rows = [
        ["r1", "c1", "", "2026-01-02 04:04", "nps", "5", ""],
        ["r2", "c1", "", "2026-03-29 02:30", "nps", "5", ""],
    ]
    good, bad = run_plan(survey_mapping(), SURVEY_HEADER, rows, "surveys", tz="Europe/Berlin")
    assert good["responded_at"].to_list() == [dt.datetime(2026, 1, 2, 3, 4)]
    assert bad == [
        (
            2,
            "responded_at: cannot read '2026-03-29 02:30' as an ISO 8601 timestamp "
            "(or a time that does not exist in Europe/Berlin)",
        )
    ]


def test_a_template_counter_in_a_bad_rows_message_counts_the_whole_file():
    # gross_amount = "-{n}": rows 1, 2, 3 get -1, -2, -3. A negative gross is allowed only for
    # a cancelled order, so row 2 alone is bad, and its message shows -2 (its number in the
    # file), not -1 (its number among the bad rows).
    at = "2026-01-01T10:00:00Z"
    rows = [
        ["o1", "a@x.io", at, "cancelled", ""],
        ["o2", "a@x.io", at, "completed", ""],
        ["o3", "a@x.io", at, "cancelled", ""],
    ]
    header = ["oid", "email", "ordered_at", "status"]
    mapping = Mapping(
        name="m",
        entity="orders",
        signature=("oid",),
        columns={"order_id": ("oid",), **{c: (c,) for c in header[1:]}},
        templates={"gross_amount": "-{n}"},
    )
    good, bad = run_plan(mapping, header, rows, "orders")
    assert good.select("order_id", "gross_amount").rows() == [
        ("o1", Decimal("-1.0000")),
        ("o3", Decimal("-3.0000")),
    ]
    assert bad == [(2, "gross_amount '-2' is negative; amounts cannot be negative")]


def test_minutes_after_another_time():
    # first_response_at = created_at + mins minutes: 90 min → 11:30; 0.5 min → 30 s;
    # 0.00001 min = 0.6 ms, rounded to 1 ms; blank → no time (not an error); 'soon' → error.
    at = "2026-01-01T10:00:00Z"
    rows = [
        ["t1", "a@x.io", at, "open", "90", ""],
        ["t2", "a@x.io", at, "open", "0.5", ""],
        ["t3", "a@x.io", at, "open", "", ""],
        ["t4", "a@x.io", at, "open", "soon", ""],
        ["t5", "a@x.io", at, "open", "0.00001", ""],
    ]
    header = ["tid", "email", "created_at", "status", "mins"]
    mapping = Mapping(
        name="m",
        entity="tickets",
        signature=("tid",),
        columns={"ticket_id": ("tid",), **{c: (c,) for c in header[1:4]}},
        minutes_after={"first_response_at": ("created_at", "mins")},
    )
    good, bad = run_plan(mapping, header, rows, "tickets")
    ten = dt.datetime(2026, 1, 1, 10, 0)
    assert good.select("ticket_id", "first_response_at").rows() == [
        ("t1", dt.datetime(2026, 1, 1, 11, 30)),
        ("t2", dt.datetime(2026, 1, 1, 10, 0, 30)),
        ("t3", None),
        ("t5", ten + dt.timedelta(milliseconds=1)),
    ]
    assert good["created_at"].to_list() == [ten] * 4
    assert bad == [(4, "first_response_at ('mins'): cannot read 'soon' as minutes")]


def test_an_ambiguous_amount_is_quarantined():
    # '12.50' writes decimals with '.'; no amount shows ',' grouping thousands beyond doubt,
    # so '1,234' may be 1234 or 1.234: refused with the rule spelled out, 12.50 lands.
    at = "2026-01-01T10:00:00Z"
    rows = [
        ["o1", "a@x.io", at, "completed", "1,234", ""],
        ["o2", "a@x.io", at, "completed", "12.50", ""],
    ]
    header = ["oid", "email", "ordered_at", "status", "gross_amount"]
    mapping = Mapping(
        name="m",
        entity="orders",
        signature=("oid",),
        columns={"order_id": ("oid",), **{c: (c,) for c in header[1:]}},
    )
    good, bad = run_plan(mapping, header, rows, "orders")
    assert good.select("order_id", "gross_amount").rows() == [("o2", Decimal("12.5000"))]
    assert bad == [
        (
            1,
            "gross_amount: '1,234' is ambiguous: this file writes decimals with '.' and shows "
            "no ',' as a thousands separator, so it may be a thousands group or three "
            "decimals; write it with its decimals or without a thousands separator",
        )
    ]


def test_a_zone_after_utc_in_the_alphabet_names_its_gap_too():
    # WET (UTC+0 in winter, UTC+1 in summer) springs forward at 01:00 UTC on 29 March 2026:
    # 01:30 does not exist. "WET" sorts after "UTC", and still gets the note.
    rows = [["r1", "c1", "", "2026-03-29 01:30", "nps", "5", ""]]
    _, bad = run_plan(survey_mapping(), SURVEY_HEADER, rows, "surveys", tz="WET")
    assert bad == [
        (
            1,
            "responded_at: cannot read '2026-03-29 01:30' as an ISO 8601 timestamp "
            "(or a time that does not exist in WET)",
        )
    ]
