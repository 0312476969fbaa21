"""One landed suite run for a group of consecutive small deliveries, through the real ingestion
core, a real DuckDB warehouse and real GX: each file still lands, is refused or warned about on
its own. as_of is 2024-12-31; 2099 is beyond the plausible dates (test_validation_landed.py)."""

from __future__ import annotations

import pytest
from ingest_support import drop, make_settings

from pipeline.ingest.core import ingest_entity
from pipeline.validation import make_landed_validator
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
    # One outcome per file (the landed check joins them by file), each the group's run: its
    # 2 + 1 + 3 = 6 distinct rows, which its batch text says.
    assert [(o.target, o.rows, o.status) for o in outcomes] == [
        ("crm/orders/a.csv", 6, "passed"),
        ("crm/orders/b.csv", 6, "passed"),
        ("crm/orders/c.csv", 6, "passed"),
    ]
    assert outcomes[0].batch == (
        "2 rows delivered in crm/orders/a.csv; validated in one run of 3 deliveries "
        "(crm/orders/a.csv, crm/orders/b.csv, crm/orders/c.csv): the counts are the group's"
    )
    assert all(o.expectations == outcomes[0].expectations for o in outcomes)
    # The group's counts by hand: 6 orders, each ordered in 2024 (plausible, before as_of);
    # one currency (EUR) in all; updated_at is empty everywhere, so its range judges none.
    found = {(e.expectation, e.columns, e.condition): e for e in outcomes[0].expectations}
    ordered = found[("expect_column_values_to_be_between", "ordered_at", None)]
    assert (ordered.element_count, ordered.unexpected_count) == (6, 0)
    currencies = found[("expect_column_unique_value_count_to_be_between", "currency", None)]
    assert currencies.observed == "observed 1"


def test_the_files_of_a_group_share_its_seconds(ingest):
    # make bench's "landed suites" sums the outcomes' seconds: the group's run counts once.
    _, outcomes, _, _ = ingest({"a.csv": A, "b.csv": B, "c.csv": C})
    assert len({o.seconds for o in outcomes}) == 1


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


def test_a_row_sent_again_in_a_later_file_of_the_group_passes_in_one_run(ingest):
    # o1 in a.csv and again, identical, in b.csv: unique in each file, and in the group's
    # batch, which keeps one of two identical rows: the group passes in one run, both land.
    row = "o1,c1,,2024-06-01,completed,EUR,10,,,2024-06-01\n"
    reports, outcomes, _, landed = ingest({"a.csv": row, "b.csv": row + B, "c.csv": C})
    assert [(r.status, r.rows_landed) for r in reports] == [
        ("landed", 1),
        ("landed", 2),
        ("landed", 3),
    ]
    assert all(GROUPED in o.batch for o in outcomes)
    assert [r[0] for r in landed][:3] == ["o1", "o1", "o3"]


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


def test_a_key_undated_in_one_file_and_dated_in_another_fails_the_group_not_the_files(ingest):
    # o1 without updated_at in a.csv, and a later version of it, dated, in b.csv: one version
    # of o1 in each file, so each file's own run passes; the group's batch holds two, one
    # without updated_at, so its run fails and each file is validated on its own.
    a = "o1,c1,,2024-06-01,completed,EUR,10,,,\n"
    b = "o1,c1,,2024-06-01,refunded,EUR,10,,10,2024-06-02\n"
    _, outcomes, _, _ = ingest({"a.csv": a, "b.csv": b + B, "c.csv": C})
    assert [(o.target, o.rows, o.status) for o in outcomes] == [
        ("crm/orders/a.csv", 1, "passed"),
        ("crm/orders/b.csv", 2, "passed"),
        ("crm/orders/c.csv", 3, "passed"),
    ]
    assert not any(GROUPED in o.batch for o in outcomes)


def test_a_backlog_of_small_files_is_validated_in_runs_of_at_most_100_files(ingest):
    # 120 one-order files dropped at once (a holiday's backlog): runs of 100 and 20 files, in
    # landing order. One run over all of them grew faster than its files (800 files: 79 s)
    # and 2,000 ran out of DuckDB's memory, landing none.
    files = {f"f{i:03d}.csv": f"o{i},c1,,2024-06-01,completed,EUR,{i + 1},,,\n" for i in range(120)}
    reports, outcomes, ledger, landed = ingest(files)
    assert [r.status for r in reports] == ["landed"] * 120
    assert [seq for *_, seq in ledger] == list(range(1, 121))
    assert len(landed) == 120
    assert [(o.target, o.rows) for o in outcomes[99:101]] == [
        ("crm/orders/f099.csv", 100),
        ("crm/orders/f100.csv", 20),
    ]
    # Each file's batch names its group by count, first and last file: the whole list in
    # every file's outcome made the run's validation log grow as the square of the files
    # (11 MB for 500 files).
    assert outcomes[0].batch == (
        "1 row delivered in crm/orders/f000.csv; validated in one run of 100 deliveries "
        "(crm/orders/f000.csv … crm/orders/f099.csv): the counts are the group's"
    )
    assert outcomes[119].batch == (
        "1 row delivered in crm/orders/f119.csv; validated in one run of 20 deliveries "
        "(crm/orders/f100.csv … crm/orders/f119.csv): the counts are the group's"
    )
