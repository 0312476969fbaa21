"""Counts in operator messages said in the singular for one and the plural otherwise.

Each message here used to say "1 file(s)", "1 expectation(s)"; the messages with a test of
their own (sensors, notices, the quarantine report, the run's blocking checks, the ingest's
notes) assert their singular there. These are built from hand-made outcomes, no warehouse.
"""

from __future__ import annotations

import datetime as dt

from assets.freshness import freshness
from pipeline.ingest.versions import notes
from pipeline.validation.outcome import ExpectationOutcome, SuiteOutcome
from pipeline.validation.stages import AssetValidation, LandedFile, LandedValidation
from pipeline.words import agreeing, counted


def failed(column: str) -> ExpectationOutcome:
    """A critical not-null expectation on ``column`` that found one null."""
    return ExpectationOutcome(
        "expect_column_values_to_not_be_null", column, "critical", False, "1 null"
    )


def outcome(*expectations: ExpectationOutcome, rows: int = 1) -> SuiteOutcome:
    return SuiteOutcome(
        "marts_x", "marts", "x", "x", "run-1", rows, "table", 0.0, list(expectations)
    )


def test_counted_and_agreeing_say_one_apart_from_every_other_count() -> None:
    assert [counted(n, "file") for n in (0, 1, 2, 1250)] == [
        "0 files",
        "1 file",
        "2 files",
        "1,250 files",
    ]
    assert counted(1, "e-mail address", "e-mail addresses") == "1 e-mail address"
    assert counted(3, "e-mail address", "e-mail addresses") == "3 e-mail addresses"
    assert [agreeing(n, "is", "are") for n in (0, 1, 2)] == ["are", "is", "are"]


def test_a_check_with_one_failed_expectation_says_it_in_the_singular() -> None:
    one = AssetValidation("x", outcomes=[outcome(failed("a"))])
    assert one.summary() == "1 expectation failed: expect_column_values_to_not_be_null on a: 1 null"
    two = AssetValidation("x", outcomes=[outcome(failed("a"), failed("b"))])
    assert two.summary().startswith("2 expectations failed: ")


def test_a_check_whose_one_expectation_is_met_says_it_in_the_singular() -> None:
    def met(column: str) -> ExpectationOutcome:
        return ExpectationOutcome(
            "expect_column_values_to_not_be_null", column, "critical", True, "0 nulls"
        )

    one = AssetValidation("x", outcomes=[outcome(met("a"), rows=1)])
    assert one.summary() == "its 1 expectation met (marts_x: 1 row)"
    two = AssetValidation("x", outcomes=[outcome(met("a"), met("b"), rows=1200)])
    assert two.summary() == "all 2 expectations met (marts_x: 1,200 rows)"


def test_one_more_failed_expectation_than_shown_is_said_in_the_singular() -> None:
    # The reason shows three failed expectations; a fourth is "1 more", a fifth "2 more".
    four = outcome(*(failed(c) for c in "abcd"))
    assert four.reason() == (
        "expectation suite marts_x failed: "
        + " | ".join(f"expect_column_values_to_not_be_null on {c}: 1 null" for c in "abc")
        + " | and 1 more failed expectation"
    )
    five = outcome(*(failed(c) for c in "abcde"))
    assert five.reason().endswith(" | and 2 more failed expectations")
    assert "more failed" not in outcome(*(failed(c) for c in "abc")).reason()


def test_the_landed_check_counts_one_file_and_one_quarantined_row_in_the_singular() -> None:
    # One file: 3 rows read, 2 landed, 1 quarantined (no suite outcome: nothing refused).
    one = LandedValidation("orders", [LandedFile("crm/orders/a.csv", "landed", 3, 2, 1, None)])
    assert one.summary() == "1 file, 2 rows landed; 1 row quarantined"
    # Two files: 1 + 1 rows landed, 2 + 1 quarantined.
    two = LandedValidation(
        "orders",
        [
            LandedFile("crm/orders/a.csv", "landed", 3, 1, 2, None),
            LandedFile("crm/orders/b.csv", "landed", 2, 1, 1, None),
        ],
    )
    assert two.summary() == "2 files, 2 rows landed; 3 rows quarantined"


def test_fresh_data_one_day_old_is_said_in_the_singular() -> None:
    now = dt.datetime(2026, 12, 6, 12)
    # Landed 2026-12-05 09:00: 1 day 3 hours before now, within a 3-day limit.
    landings = {"orders": dt.datetime(2026, 12, 5, 9)}
    assert freshness(landings, now, 3)[:2] == (True, "new data 1 day ago (limit 3)")
    landings = {"orders": dt.datetime(2026, 12, 4, 9)}  # 2 days 3 hours
    assert freshness(landings, now, 3)[:2] == (True, "new data 2 days ago (limit 3)")


def test_held_back_rows_are_said_in_the_singular_for_one() -> None:
    assert notes(1, 1) == [
        "1 row repeats a version already superseded (not landed)",
        "1 row replaces a landed version with the same updated_at but other contents: the "
        "later delivery wins (contract); check that the sender meant to change it",
    ]
    assert notes(2, 3) == [
        "2 rows repeat a version already superseded (not landed)",
        "3 rows replace a landed version with the same updated_at but other contents: the "
        "later delivery wins (contract); check that the sender meant to change them",
    ]
