"""GX's results as outcomes (pipeline/validation/outcome.py), from a real suite run in DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipeline.validation.runner import run_suite_sql, sql_source
from pipeline.validation.suites import Suite, read_suite
from pipeline.warehouse import run

pytest.importorskip("great_expectations")

REPO = Path(__file__).resolve().parent.parent


def _real_suite(tmp_path: Path, table: str, suite_file: str, target: str):
    """The suite ``expectations/<suite_file>`` and its outcome, run by GX in DuckDB over the
    rows of ``table`` (a select)."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    run(con, f"create table t as {table}")
    suite = read_suite(REPO / "expectations" / suite_file)
    with sql_source(con) as source:
        outcome = run_suite_sql(
            source, suite, "select * from t", 1, target=target, batch="all", run_id="r"
        )
    con.close()
    return suite, outcome


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


def test_a_regex_holding_invisible_characters_is_printed_with_them_escaped(tmp_path):
    # The staging suites' e-mail rule spells out Python's \s: raw U+001C–U+001F, U+0085,
    # U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F and U+3000 in its text.
    # Printed as they are, the failure message showed blanks where the rule names characters,
    # and U+2028 and U+2029 broke it over three lines of a log. An address with a capital
    # (a row landed by hand, say) fails it; the real suite, run in DuckDB by GX.
    _, outcome = _real_suite(
        tmp_path,
        "select * from (values ('c1', timestamp '2024-01-01', 'Ana@x.ro', 'f.csv', 2)) "
        "v(contact_id, created_at, email, _source_file, _row_number)",
        "staging_contacts.json",
        "stg_contacts",
    )
    (failed,) = outcome.errors
    spaces = (
        r"\t\n\x0b\f\r \u001c-\u001f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f"
        r"\u205f\u3000"
    )
    assert failed.describe() == (
        f"expect_column_values_to_not_match_regex on email regex [A-Z]|^[{spaces}]|[{spaces}]$"
        ": 1 of 1 rows unexpected, e.g. Ana@x.ro (file f.csv, row 2)"
    )
    assert outcome.reason().isprintable()  # one line, every character visible


def test_a_long_regex_is_quoted_by_its_start(tmp_path):
    # The personal-data guard's e-mail rule (expectations/marts_no_personal_data.json) is about
    # 1,000 characters: quoted whole, a failure's line (and the notice sent of it) was that rule
    # with the example and the advice at its far end. Now its first 300 characters and its
    # length; the real suite, run in DuckDB by GX, on a mart value holding an address.
    suite, outcome = _real_suite(
        tmp_path,
        "select * from (values ('email_monthly', 'campaign_name', 'Spring for ana@x.ro')) "
        "v(mart, mart_column, value)",
        "marts_no_personal_data.json",
        "marts",
    )
    rule = next(
        e["kwargs"]["regex"]
        for e in suite.expectations
        if e["kwargs"].get("regex", "").startswith("(?i)")
    )
    (failed,) = outcome.errors
    described = failed.describe()
    whole = len(rule)
    assert whole > 900  # the rule as the suite holds it (visible() escapes none of it)
    assert described.startswith(
        f"expect_column_values_to_not_match_regex on value regex {rule[:300]}… "
        f"({whole:,} characters, whole in the suite file): 1 of 1 rows unexpected, e.g. "
        "Spring for ana@x.ro"
    )
    assert len(described) < 500
