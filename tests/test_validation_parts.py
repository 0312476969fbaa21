"""A large batch validated in parts gives the same verdict and counts as validated whole."""

from __future__ import annotations

import datetime as dt

import pytest
from test_validation_landed import canonical, order

from pipeline.entities import ENTITIES
from pipeline.validation.landed import landed_batch, landed_suites
from pipeline.validation.parts import (
    PART_ROWS_ENV,
    SORT_ABOVE_PARTS,
    SqlRows,
    hash_range,
    part_rows,
    validate_in_parts,
)
from pipeline.validation.runner import run_suite
from pipeline.warehouse import open_warehouse, rows

LATEST = {
    "plausible_from": dt.datetime(1971, 1, 1),
    "plausible_until": dt.datetime(2030, 1, 1),
    "as_of_end": dt.datetime(2030, 1, 1),
}


def orders_with_faults():
    """40 orders and faults a whole-file validation finds, far apart in the file: o7 twice with
    different amounts and no updated_at, and one order in USD among EUR ones (a warning: more
    than one currency)."""
    records = [order(f"o{i}", amount=str(10 + i)) for i in range(40)]
    records[31]["currency"] = "USD"
    records.append(order("o7", amount="99"))  # the last row, far from the first o7
    return landed_batch(ENTITIES["orders"], canonical("orders", records))


def run(frame, monkeypatch, part_size: int | None):
    if part_size is None:
        monkeypatch.delenv(PART_ROWS_ENV, raising=False)
    else:
        monkeypatch.setenv(PART_ROWS_ENV, str(part_size))
    suite = landed_suites()["orders"]
    return validate_in_parts(
        run_suite,
        suite,
        frame,
        "order_id",
        target="f.csv",
        batch="41 rows",
        run_id="t",
        parameters=LATEST,
        docs_dir=None,
    )


def verdicts(outcome):
    return {
        (e.expectation, e.columns, e.condition): (e.success, e.unexpected_count)
        for e in outcome.expectations
    }


def test_parts_find_what_the_whole_file_finds(monkeypatch):
    frame = orders_with_faults()
    whole = run(frame, monkeypatch, None)
    parts = run(frame, monkeypatch, 7)  # 41 rows in 6 parts
    assert "validated in 6 parts" in parts.batch and whole.rows == parts.rows == 41
    assert verdicts(parts) == verdicts(whole)
    failed = {e.expectation: e for e in parts.expectations if not e.success}
    # The repeated key is found although the parts split the file: both o7 rows share a part.
    unique = failed["expect_compound_columns_to_be_unique"]
    assert unique.unexpected_count == 2 and unique.severity == "critical"
    assert unique.examples == [
        "(order_id=o7, updated_at=null) (row 9)",
        "(order_id=o7, updated_at=null) (row 42)",
    ]
    versions = failed["expect_column_values_to_not_be_null"]
    assert (versions.columns, versions.observed) == ("updated_at", "2 of 2 rows unexpected")
    # Two currencies, counted over the whole file (each part alone may hold one).
    currencies = failed["expect_column_unique_value_count_to_be_between"]
    assert currencies.severity == "warning" and currencies.observed == "observed 2"
    assert parts.status == whole.status == "error"
    assert len(parts.expectations) == len(landed_suites()["orders"].expectations)


def test_a_batch_kept_in_duckdb_is_fetched_in_parts_with_the_same_verdicts(monkeypatch, tmp_path):
    frame = orders_with_faults()
    whole = run(frame, monkeypatch, None)
    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.register("delivered", frame.to_arrow())
        kept = SqlRows(con, "select * from delivered", "landed orders", "order_id")
        assert (kept.height, kept.columns) == (41, frame.columns)
        parts = run(kept, monkeypatch, 10)  # 41 rows in 5 parts
        kept.close()
        assert rows(
            con, "select count(*) from duckdb_tables() where table_name like '_batch%'"
        ) == [(0,)]
    assert "validated in 5 parts" in parts.batch and parts.rows == 41
    assert verdicts(parts) == verdicts(whole)


def test_a_batch_of_many_parts_is_sorted_by_hash_and_its_ranges_cover_every_row(
    monkeypatch, tmp_path
):
    frame = orders_with_faults()
    whole = run(frame, monkeypatch, None)
    monkeypatch.setenv(PART_ROWS_ENV, "1")  # 41 rows, 41 parts: more than SORT_ABOVE_PARTS
    assert 41 > SORT_ABOVE_PARTS
    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.register("delivered", frame.to_arrow())
        kept = SqlRows(con, "select * from delivered", "landed orders", "order_id")
        assert kept.sorted and kept.height == 41
        hashes = [h for (h,) in rows(con, f"select _hash from {kept.table}")]
        assert hashes == sorted(hashes)  # stored in hash order, so a range reads its row groups
        for n in (1, 3, 41):
            sizes = [kept.part("order_id", i, n).height for i in range(n)]
            assert sum(sizes) == 41, n  # the ranges neither overlap nor leave a gap
        parts = run(kept, monkeypatch, 1)
        kept.close()
    assert "validated in 41 parts" in parts.batch and parts.rows == 41
    assert verdicts(parts) == verdicts(whole)


def test_hash_ranges_split_the_64_bit_range_evenly():
    assert hash_range(0, 1) == (0, None)
    assert [hash_range(i, 4) for i in range(4)] == [
        (0, 2**62),
        (2**62, 2**63),
        (2**63, 3 * 2**62),
        (3 * 2**62, None),
    ]
    with pytest.raises(ValueError, match="part 4 of 4 does not exist"):
        hash_range(4, 4)


def test_a_clean_file_passes_in_parts(monkeypatch):
    records = [order(f"o{i}") for i in range(30)]
    frame = landed_batch(ENTITIES["orders"], canonical("orders", records))
    outcome = run(frame, monkeypatch, 4)
    assert outcome.status == "passed" and "validated in 8 parts" in outcome.batch
    assert sum(1 for e in outcome.expectations if e.element_count == 30) > 5


def test_mostly_is_judged_on_the_whole_batch_not_per_part(monkeypatch):
    # 40 orders; with parts of 4 some parts hold more implausible dates than others. The share
    # of implausible ordered_at values decides over the whole batch: 20 of 40 (exactly half
    # plausible) passes, 21 of 40 (19/40 = 47.5 % plausible) refuses. updated_at is empty on
    # every row: nothing judged, so it passes with 40 values missing.
    def batch(implausible: int):
        records = [
            order(
                f"o{i}", at=dt.datetime(2099, 1, 1) if i < implausible else dt.datetime(2024, 6, 1)
            )
            for i in range(40)
        ]
        return landed_batch(ENTITIES["orders"], canonical("orders", records))

    def misread(outcome):
        (bound,) = [e for e in outcome.expectations if e.columns == "ordered_at" and e.mostly]
        return bound

    for implausible, success in ((20, True), (21, False)):
        whole, parts = (
            run(batch(implausible), monkeypatch, None),
            run(batch(implausible), monkeypatch, 4),
        )
        assert "validated in" in parts.batch and "validated in" not in whole.batch
        assert misread(parts).success is misread(whole).success is success, implausible
        assert misread(parts).unexpected_count == misread(whole).unexpected_count == implausible
        (updated,) = [e for e in parts.expectations if e.columns == "updated_at" and e.mostly]
        assert (updated.success, updated.missing_count) == (True, 40)
    # The refused batch quotes implausible values from the parts that held them.
    examples = misread(parts).examples
    assert examples and all(x.startswith("2099-01-01 00:00:00 (row ") for x in examples)


def test_part_size_setting_is_checked(monkeypatch):
    monkeypatch.setenv(PART_ROWS_ENV, "0")
    with pytest.raises(ValueError, match="must be at least 1"):
        part_rows()
    monkeypatch.setenv(PART_ROWS_ENV, "lots")
    with pytest.raises(ValueError, match="is not a whole number"):
        part_rows()
    monkeypatch.delenv(PART_ROWS_ENV)
    assert part_rows() == 200_000
