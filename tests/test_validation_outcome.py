"""GX's results as outcomes (pipeline/validation/outcome.py), from a real suite run in DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.validation.runner import run_suite_sql, sql_source
from pipeline.validation.suites import Suite
from pipeline.warehouse import run

pytest.importorskip("great_expectations")


def test_an_expectation_gx_cannot_evaluate_and_a_bound_in_words(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    run(con, "create table people as select * from (values (1, 'a'), (2, 'b'), (3, 'c')) t(id, n)")
    document = {
        "name": "people",
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "phone"},
             "severity": "critical"},
            {"type": "expect_column_values_to_be_between",
             "kwargs": {"column": "id", "min_value": 1, "max_value": 3, "strict_max": True},
             "severity": "warning"},
        ],
    }  # fmt: skip
    suite = Suite("people", tmp_path / "people.json", "marts", "people", "table", document)
    with sql_source(con) as source:
        outcome = run_suite_sql(
            source, suite, "select * from people", 3, target="people", batch="all", run_id="r"
        )
    con.close()
    missing, bound = outcome.expectations
    # No column phone: GX raises inside the metric; the outcome says why, and it fails.
    assert not missing.success and "phone" in missing.error
    assert missing.describe().startswith(
        "expect_column_values_to_not_be_null on phone: could not be evaluated: "
    )
    # ids 1, 2, 3 against [1 … 3): only id 3 is outside, 1 of 3 rows.
    assert (bound.expected, bound.observed, bound.examples) == (
        "[1 … 3)",
        "1 of 3 rows unexpected",
        ["3"],
    )
    assert outcome.status == "error" and [e.columns for e in outcome.warnings] == ["id"]
