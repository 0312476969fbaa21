"""One landed suite run for a group of consecutive small deliveries, through the real ingestion
core, a real DuckDB warehouse and real GX: each file still lands, is refused or warned about on
its own. as_of is 2024-12-31; 2099 is beyond the plausible dates (test_validation_landed.py)."""

from __future__ import annotations

import dataclasses
import re

import duckdb
import pytest
from ingest_support import drop, make_settings

from pipeline.entities import ENTITIES
from pipeline.ingest.core import ingest_entity
from pipeline.validation import make_landed_validator
from pipeline.validation.landed_group import condition_sql, group_select, keyed_by_file
from pipeline.validation.suites import EXPECTATIONS_DIR, read_suite
from pipeline.warehouse import open_warehouse, rows

ORDERS_HEADER = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\n"
)
GROUPED = "validated in one run of 3 deliveries"


@pytest.fixture
def ingest(data_dir, monkeypatch):
    """Land the orders dropped so far with a landed validator: (reports, outcomes, ledger)."""
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    settings = make_settings(data_dir)

    def land(files: dict[str, str]):
        for name, body in files.items():
            drop(settings, "orders", name, ORDERS_HEADER + body)
        outcomes = []
        validator = make_landed_validator(settings, outcomes.append, run_id="g")
        with open_warehouse(settings.warehouse_path) as con:
            reports = ingest_entity(con, settings, "orders", run_id="g", validator=validator)
            ledger = rows(
                con,
                "select source_file, status, rows_landed, rows_quarantined, delivery_seq "
                "from meta.ingest_ledger order by delivery_seq",
            )
            landed = rows(
                con,
                "select order_id, _source_file from raw.raw_orders order by order_id, updated_at",
            )
        return reports, outcomes, ledger, landed

    return land


A = "o1,c1,,2024-06-01,completed,EUR,10,,,\no2,,x@y.z,2024-06-02,pending,EUR,20,,,\n"
# By e-mail only: "contact_id not null where email is null" judges none of its rows.
B = "o3,,x@y.z,2024-06-03,completed,EUR,30,,,\n"
C = (
    "o4,c2,,2024-06-04,completed,EUR,40,,,\n"
    "o5,c2,,2024-06-05,completed,EUR,50,,,\n"
    "o6,c2,,2024-06-06,completed,EUR,60,,,\n"
)


def test_a_group_of_three_good_files_lands_each_with_its_own_ledger_row_and_outcome(ingest):
    reports, outcomes, ledger, landed = ingest({"a.csv": A, "b.csv": B, "c.csv": C})
    assert [(r.source_file, r.status, r.rows_landed) for r in reports] == [
        ("crm/orders/a.csv", "landed", 2),
        ("crm/orders/b.csv", "landed", 1),
        ("crm/orders/c.csv", "landed", 3),
    ]
    # One ledger row each, in landing order (delivery_seq 1, 2, 3).
    assert ledger == [
        ("crm/orders/a.csv", "landed", 2, 0, 1),
        ("crm/orders/b.csv", "landed", 1, 0, 2),
        ("crm/orders/c.csv", "landed", 3, 0, 3),
    ]
    assert [r[1] for r in landed] == ["crm/orders/a.csv"] * 2 + ["crm/orders/b.csv"] + [
        "crm/orders/c.csv"
    ] * 3
    # One outcome per file, from the one run, with the file's own row counts.
    assert [(o.target, o.rows, o.status) for o in outcomes] == [
        ("crm/orders/a.csv", 2, "passed"),
        ("crm/orders/b.csv", 1, "passed"),
        ("crm/orders/c.csv", 3, "passed"),
    ]
    assert all(GROUPED in o.batch for o in outcomes)
    assert outcomes[0].batch.startswith("2 rows delivered in crm/orders/a.csv (2 distinct)")
    # a.csv's counts by hand: 2 rows; "contact_id not null where email is null" judges only o1
    # (o2 has an e-mail); discount_amount is empty in both rows, which no expectation reads.
    found = {(e.expectation, e.columns, e.condition): e for e in outcomes[0].expectations}
    by_order = found[("expect_column_values_to_not_be_null", "order_id", None)]
    assert (by_order.element_count, by_order.unexpected_count, by_order.observed) == (
        2,
        0,
        "0 of 2 rows unexpected",
    )
    contact = found[("expect_column_values_to_not_be_null", "contact_id", "email is null")]
    assert (contact.element_count, contact.observed) == (1, "0 of 1 rows unexpected")
    currencies = found[("expect_column_unique_value_count_to_be_between", "currency", None)]
    assert currencies.observed == "observed 1"


def test_the_shared_outcome_is_what_the_files_own_run_finds(ingest, tmp_path, monkeypatch):
    # The same files landed in another warehouse one at a time (the validator without its
    # ``group``, as before grouping) report the same expectations, counts and observations.
    files = {"a.csv": A, "b.csv": B, "c.csv": C}
    _, grouped, _, _ = ingest(files)
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    settings = make_settings(tmp_path / "alone")
    for name, body in files.items():
        drop(settings, "orders", name, ORDERS_HEADER + body)
    alone = []
    validator = make_landed_validator(settings, alone.append, run_id="g")
    del validator.group
    with open_warehouse(settings.warehouse_path) as con:
        ingest_entity(con, settings, "orders", run_id="g", validator=validator)
    assert [(o.target, o.rows) for o in alone] == [(o.target, o.rows) for o in grouped]
    assert not any(GROUPED in o.batch for o in alone)
    for mine, theirs in zip(grouped, alone, strict=True):
        assert same(mine.expectations) == same(theirs.expectations)


def same(expectations):
    """The expectations with plausible_until's time of day left out: each validator takes
    "now" when it is made."""
    return [
        dataclasses.replace(e, expected=re.sub(r" \d\d:\d\d:\d\d\]$", "]", e.expected or ""))
        for e in expectations
    ]


def test_a_middle_file_failing_a_critical_expectation_is_refused_alone(ingest):
    bad = "o9,c1,,2099-01-01,completed,EUR,10,,,\n"  # its only date is implausible: misread
    reports, outcomes, ledger, landed = ingest({"a.csv": A, "b.csv": bad, "c.csv": C})
    assert [(r.status, r.rows_landed) for r in reports] == [
        ("landed", 2),
        ("refused", 0),
        ("landed", 3),
    ]
    # Today's reason: the file's own run, with its row number.
    assert "expect_column_values_to_be_between on ordered_at" in reports[1].reason
    assert "2099-01-01 00:00:00 (row 2)" in reports[1].reason
    assert [(s, st) for s, st, *_ in ledger] == [
        ("crm/orders/a.csv", "landed"),
        ("crm/orders/b.csv", "refused"),
        ("crm/orders/c.csv", "landed"),
    ]
    assert [r[0] for r in landed] == ["o1", "o2", "o4", "o5", "o6"]
    # Validated file by file after the group's run failed: no outcome says "grouped".
    assert [(o.target, o.rows, o.status) for o in outcomes] == [
        ("crm/orders/a.csv", 2, "passed"),
        ("crm/orders/b.csv", 1, "error"),
        ("crm/orders/c.csv", 3, "passed"),
    ]
    assert not any(GROUPED in o.batch for o in outcomes)


def test_a_warning_is_reported_for_its_file_only(ingest):
    # c.csv: two of three orders after as_of (2024-12-31) but plausible: a warning, all land.
    soon = (
        "o4,c1,,2024-12-30,completed,EUR,10,,,\n"
        "o5,c1,,2025-01-03,completed,EUR,10,,,\n"
        "o6,c1,,2025-01-04,completed,EUR,10,,,\n"
    )
    reports, outcomes, _, _ = ingest({"a.csv": A, "b.csv": B, "c.csv": soon})
    assert [(r.status, r.rows_landed) for r in reports] == [
        ("landed", 2),
        ("landed", 1),
        ("landed", 3),
    ]
    assert [(o.target, o.status) for o in outcomes] == [
        ("crm/orders/a.csv", "passed"),
        ("crm/orders/b.csv", "passed"),
        ("crm/orders/c.csv", "warning"),
    ]
    (warning,) = outcomes[2].warnings
    assert (warning.columns, warning.unexpected_count, warning.element_count) == (
        "ordered_at",
        2,
        3,
    )


def test_a_version_re_sent_in_the_group_is_held_back_as_if_landed_one_by_one(ingest):
    # o1 v1 (a.csv), v2 (b.csv, a later updated_at), then v1 again (c.csv): c's row repeats a
    # replaced version and is held back, as when a and b have landed before c is checked.
    v1 = "o1,c1,,2024-06-01,completed,EUR,10,,,2024-06-01\n"
    v2 = "o1,c1,,2024-06-01,refunded,EUR,10,,10,2024-06-02\n"
    reports, _, _, landed = ingest({"a.csv": v1, "b.csv": v2, "c.csv": v1 + B})
    assert [(r.status, r.rows_landed, r.rows_quarantined) for r in reports] == [
        ("landed", 1, 0),
        ("landed", 1, 0),
        ("landed", 1, 1),
    ]
    assert landed == [
        ("o1", "crm/orders/a.csv"),
        ("o1", "crm/orders/b.csv"),
        ("o3", "crm/orders/c.csv"),
    ]


def test_row_conditions_as_sql():
    assert condition_sql(None) == "true"
    cond = {"type": "comparison", "column": {"name": "_key_versions"}, "operator": ">"}
    assert condition_sql({**cond, "parameter": 1}) == '("_key_versions" > 1)'
    assert (
        condition_sql(
            {"type": "comparison", "column": {"name": "t"}, "operator": "==", "parameter": "it's"}
        )
        == "(\"t\" = 'it''s')"
    )
    assert condition_sql({"type": "nullity", "column": {"name": "email"}, "is_null": True}) == (
        '("email" is null)'
    )
    with pytest.raises(ValueError, match="no SQL form"):
        condition_sql("email is null")
    assert "orders" in ENTITIES


def test_a_key_sent_again_in_a_later_file_of_the_group_is_unique_within_each(ingest):
    # o1 in a.csv and again, identical, in b.csv: unique in each file, so the group passes in
    # one run (its batch tells the two o1 apart by file) and both land.
    row = "o1,c1,,2024-06-01,completed,EUR,10,,,2024-06-01\n"
    reports, outcomes, _, landed = ingest({"a.csv": row, "b.csv": row + B, "c.csv": C})
    assert [(r.status, r.rows_landed) for r in reports] == [
        ("landed", 1),
        ("landed", 2),
        ("landed", 3),
    ]
    assert all(GROUPED in o.batch for o in outcomes)
    assert [r[0] for r in landed][:3] == ["o1", "o1", "o3"]


def test_key_columns_are_told_apart_by_file_only_where_nothing_else_reads_their_values():
    orders = read_suite(EXPECTATIONS_DIR / "landed_orders.json")
    assert keyed_by_file(orders, ENTITIES["orders"].columns) == ["order_id"]
    # A key also checked against a set of values would no longer be in it once prefixed.
    in_set = {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "order_id"}}
    changed = dataclasses.replace(
        orders, document={**orders.document, "expectations": [*orders.expectations, in_set]}
    )
    assert keyed_by_file(changed, ENTITIES["orders"].columns) is None
    # A null key stays null (its not-null check judges it as in the file's own run).
    with duckdb.connect() as con:
        sql = "select * from (values ('k'), (null)) t(order_id)"
        found = con.sql(group_select(sql, 3, "a.csv", ["order_id"])).fetchall()
    assert found == [("3:k", "a.csv"), (None, "a.csv")]


def test_a_file_with_the_bytes_of_one_waiting_in_the_group_is_skipped_as_before(ingest):
    # b.csv repeats a.csv byte for byte: a lands first, then b is "same bytes as" a.
    reports, outcomes, ledger, _ = ingest({"a.csv": A, "b.csv": A, "c.csv": C})
    assert [(r.status, r.reason) for r in reports] == [
        ("landed", None),
        ("skipped", "same bytes as crm/orders/a.csv (landed)"),
        ("landed", None),
    ]
    assert [s for s, *_ in ledger] == ["crm/orders/a.csv", "crm/orders/c.csv"]
    assert [(o.target, o.rows) for o in outcomes] == [
        ("crm/orders/a.csv", 2),
        ("crm/orders/c.csv", 3),
    ]


def test_a_group_ends_before_it_would_pass_its_rows(ingest, monkeypatch):
    # At most 3 rows a group: a.csv (2) and b.csv (1) go together, c.csv (3) is alone.
    monkeypatch.setattr("pipeline.ingest.core.GROUP_ROWS", 3)
    reports, outcomes, _, _ = ingest({"a.csv": A, "b.csv": B, "c.csv": C})
    assert [r.rows_landed for r in reports] == [2, 1, 3]
    assert ["validated in one run of 2 deliveries" in o.batch for o in outcomes] == [
        True,
        True,
        False,
    ]
