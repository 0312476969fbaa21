"""Staging and mart suites on a real warehouse built by the SQL models from canonical rows.

as_of = 2024-12-31. Orders: o1 (c1, 2024-01-10), o2 (c2, 2024-03-05), o3 (c1, 2024-06-01), so
retention_monthly has one row per month from 2024-01 to 2024-12: 12 rows.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from marts_fixtures import build_all, insert_rows, new_warehouse, write_settings

from pipeline import pii
from pipeline.config import Settings
from pipeline.engine import discover_models, materialize_model
from pipeline.validation.stages import suites_for, validate_assets
from pipeline.validation.state import read_watermark
from pipeline.validation.suites import read_suite, read_suites
from pipeline.warehouse import prepare, run, scalar

ORDERS = [
    {"order_id": "o1", "contact_id": "c1", "ordered_at": "2024-01-10 10:00:00",
     "status": "completed", "currency": "EUR", "gross_amount": "10"},
    {"order_id": "o2", "contact_id": "c2", "ordered_at": "2024-03-05 10:00:00",
     "status": "completed", "currency": "EUR", "gross_amount": "20"},
    {"order_id": "o3", "email": "a@x.com", "ordered_at": "2024-06-01 10:00:00",
     "status": "completed", "currency": "EUR", "gross_amount": "15"},
]  # fmt: skip


def fill(con: duckdb.DuckDBPyConnection) -> None:
    """One delivery of every entity (delivery_seq 1)."""
    write_settings(con, "2024-12-31")
    insert_rows(con, "contacts", [
        {"contact_id": "c1", "email": "a@x.com", "created_at": "2023-01-01 00:00:00"},
        {"contact_id": "c2", "email": "b@x.com", "created_at": "2023-02-01 00:00:00"},
    ])  # fmt: skip
    insert_rows(con, "orders", ORDERS)
    insert_rows(con, "tickets", [
        {"ticket_id": "t1", "contact_id": "c1", "created_at": "2024-02-01 09:00:00",
         "channel": "email", "category": "question", "status": "solved"},
    ])  # fmt: skip
    insert_rows(con, "surveys", [
        {"response_id": "r1", "contact_id": "c1", "responded_at": "2024-02-02 09:00:00",
         "survey_type": "nps", "score": 9},
        {"response_id": "r2", "email": "b@x.com", "responded_at": "2024-03-03 09:00:00",
         "survey_type": "csat", "score": 4},
    ])  # fmt: skip
    insert_rows(con, "email_events", [
        {"event_id": "e1", "email": "a@x.com", "campaign_id": "k1", "event_type": "sent",
         "occurred_at": "2024-02-01 08:00:00"},
    ])  # fmt: skip
    insert_rows(con, "social_mentions", [
        {"mention_id": "m1", "platform": "twitter", "author_handle": "ann",
         "posted_at": "2024-02-05 08:00:00", "sentiment": "positive"},
    ])  # fmt: skip


# The first warehouse built by :func:`built_warehouse` in this process (a test process or an
# xdist worker), which later calls copy instead of building the same rows again.
_TEMPLATE: list[Path] = []


def built_warehouse(tmp_path_factory, name: str) -> Path:
    """A warehouse file with every model built from :func:`fill`, for tests to copy (the
    validation, step, subset-run, left-table and Spark validation tests share it).

    Each call returns a file of its own, in a folder named ``name``: the first built, the
    others copies of it (the same rows and builds; six calls in a whole run, one or two
    builds).
    """
    folder = tmp_path_factory.mktemp(name)
    if _TEMPLATE and _TEMPLATE[0].is_file():
        shutil.copy(_TEMPLATE[0], folder / "warehouse.duckdb")
        return folder / "warehouse.duckdb"
    con = new_warehouse(folder)
    fill(con)
    build_all(con)
    con.close()
    template = tmp_path_factory.mktemp("built_template") / "warehouse.duckdb"
    shutil.copy(folder / "warehouse.duckdb", template)
    _TEMPLATE[:] = [template]
    return folder / "warehouse.duckdb"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A warehouse with every model built from :func:`fill` (copied by each test)."""
    return built_warehouse(tmp_path_factory, "validation_built")


@pytest.fixture
def wh(built, tmp_path, monkeypatch):
    """(connection, settings, suites) on a private copy of the built warehouse."""
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    monkeypatch.delenv("PIPELINE_MAX_SHRINK", raising=False)
    shutil.copy(built, tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    prepare(con)
    settings = Settings.resolve(data_dir=str(tmp_path), as_of="2024-12-31")
    yield con, settings, read_suites()
    con.close()


def check(wh, asset: str, run_id: str = "r"):
    con, settings, suites = wh
    layer = next(m.layer for m in discover_models() if m.name == asset)
    return validate_assets(con, settings, [(asset, suites_for(asset, layer, suites))], run_id)[
        asset
    ]


def failures(result) -> list[str]:
    return [e.describe() for o in result.outcomes for e in o.errors]


def test_staging_validates_only_rows_delivered_since_the_last_good_run(wh):
    con = wh[0]
    first = check(wh, "stg_orders", "run-1")
    # First run: all three orders; the watermark moves to delivery 1.
    assert [o.rows for o in first.outcomes if o.suite == "staging_orders"] == [3]
    assert read_watermark(con, "stg_orders", "stg_orders").last_delivery_seq == 1
    insert_rows(con, "orders", [{**ORDERS[0], "order_id": "o4"}], delivery_seq=2)
    materialize_model(con, next(m for m in discover_models() if m.name == "stg_orders"))
    second = check(wh, "stg_orders", "run-2")
    # Second run: only o4, delivered as #2.
    assert [o.rows for o in second.outcomes if o.suite == "staging_orders"] == [1]
    assert read_watermark(con, "stg_orders", "stg_orders").last_delivery_seq == 2


def test_a_null_key_among_validated_rows_is_still_found(wh):
    con = wh[0]
    assert check(wh, "stg_orders", "run-1").status == "passed"
    # A copy of o1 (file row 2 of delivery #1, already validated) with its key gone: not new,
    # yet the batch takes every null key, so not_null on order_id fails on that one row.
    run(con, "insert into staging.stg_orders select * replace (null as order_id) "
        "from staging.stg_orders where order_id = 'o1'")  # fmt: skip
    result = check(wh, "stg_orders", "run-2")
    assert result.status == "error"
    assert failures(result) == [
        "expect_column_values_to_not_be_null on order_id: 1 of 1 rows unexpected, "
        "e.g. null (file test/orders_1.csv, row 2)"
    ]
    # A failed run does not move the watermark.
    assert read_watermark(con, "stg_orders", "stg_orders").last_delivery_seq == 1


def test_a_suite_expecting_its_key_unique_sees_old_rows_repeating_it(wh, tmp_path):
    # No staging suite expects its key unique (their models make it so); one that does gets,
    # besides the new rows and null keys, every old row whose key repeats: uniqueness holds
    # against the whole table.
    con, settings, suites = wh
    doc = json.loads(suites["staging_orders"].path.read_text(encoding="utf-8"))
    doc["name"] = "staging_orders_unique"
    doc["expectations"].append(
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "order_id"},
         "severity": "critical"}
    )  # fmt: skip
    (tmp_path / "staging_orders_unique.json").write_text(json.dumps(doc), encoding="utf-8")
    suite = read_suite(tmp_path / "staging_orders_unique.json")
    assert (
        validate_assets(con, settings, [("stg_orders", [suite])], "run-1")["stg_orders"].status
        == "passed"
    )
    # o1 twice, both copies from the validated delivery #1, and o4 new (#2).
    run(
        con, "insert into staging.stg_orders select * from staging.stg_orders where order_id = 'o1'"
    )
    run(con, "insert into staging.stg_orders select * replace ('o4' as order_id, 2 as "
        "_delivery_seq) from staging.stg_orders where order_id = 'o2'")  # fmt: skip
    result = validate_assets(con, settings, [("stg_orders", [suite])], "run-2")["stg_orders"]
    # The batch: o4 and the two o1 rows (o2, o3 are old and unrepeated).
    assert [o.rows for o in result.outcomes] == [3]
    assert failures(result) == [
        "expect_column_values_to_be_unique on order_id: 2 of 3 rows unexpected, "
        "e.g. o1 (file test/orders_1.csv, row 2); o1 (file test/orders_1.csv, row 2)"
    ]


def test_an_order_whose_customer_cannot_be_resolved_fails_where_customer_id_is_assigned(wh):
    con = wh[0]
    # Landed rows always carry contact_id or e-mail; this one got past that (written to raw
    # directly), so nothing links it: no natural key, and as a qualifying order no customer.
    insert_rows(con, "orders", [{**ORDERS[0], "order_id": "o9", "contact_id": None}], 2)
    build_all(con)
    result = check(wh, "int_customers")
    assert result.status == "error"
    # No earlier good run, so every record is checked: 4 orders + 1 ticket + 2 surveys = 7;
    # o1, o2, o3 and o9 are all qualifying purchases (completed, amount > 0).
    assert failures(result) == [
        "expect_column_values_to_not_be_null on natural_key: 1 of 7 rows unexpected, "
        "e.g. null (record_type order, record_id o9)",
        "expect_column_values_to_not_be_null on customer_id where is_qualifying == True: "
        "1 of 4 rows unexpected, e.g. null (record_type order, record_id o9)",
    ]


def test_a_mart_shrinking_by_half_fails_unless_allowed(wh, monkeypatch):
    con = wh[0]
    # Two cohorts, 2024-01 (k = 0 … 11) and 2024-03 (k = 0 … 9): 22 rows.
    assert check(wh, "cohort_retention", "run-1").status == "passed"
    assert read_watermark(con, "cohort_retention", "cohort_retention").row_count == 22
    run(
        con,
        "delete from marts.cohort_retention "
        "where cohort_month = date '2024-03-01' or months_since_first = 11",
    )
    # 11 rows left; the default PIPELINE_MAX_SHRINK = 0.25 allows ceil(22 x 0.75) = 17 at least.
    result = check(wh, "cohort_retention", "run-2")
    assert failures(result) == ["expect_table_row_count_to_be_between >= 17: observed 11"]
    monkeypatch.setenv("PIPELINE_MAX_SHRINK", "0.5")  # ceil(22 x 0.5) = 11: allowed
    assert check(wh, "cohort_retention", "run-3").status == "passed"
    assert read_watermark(con, "cohort_retention", "cohort_retention").row_count == 11


def test_a_mart_of_fewer_than_20_rows_may_shrink(wh):
    # 12 rows at the last good run: below 20 a share is no sign of lost input (3 buyers, one
    # order cancelled, is a third of loyalty_customers), so halving passes.
    con = wh[0]
    assert check(wh, "retention_monthly", "run-1").status == "passed"
    assert read_watermark(con, "retention_monthly", "retention_monthly").row_count == 12
    run(con, "delete from marts.retention_monthly where month >= date '2024-07-01'")
    assert check(wh, "retention_monthly", "run-2").status == "passed"
    assert read_watermark(con, "retention_monthly", "retention_monthly").row_count == 6


def test_mart_ranges_and_identities(wh):
    # month columns are DATEs: GX on SQL quotes them as dates (pandas showed a midnight).
    con = wh[0]
    run(con, "update marts.satisfaction_monthly set ces = 9 where month = date '2024-02-01'")
    # satisfaction_monthly starts at the first ticket/survey month: 2024-02 … 2024-12 = 11.
    assert failures(check(wh, "satisfaction_monthly")) == [
        "expect_column_values_to_be_between on ces [1 … 7]: 1 of 11 rows unexpected, "
        "e.g. 9 (month 2024-02-01)"
    ]
    run(
        con,
        "update marts.cohort_retention set retention_rate = 0.5 "
        "where cohort_month = date '2024-01-01' and months_since_first = 0",
    )
    # Two cohorts (c1 in 2024-01; c2 in 2024-03), so two rows at k = 0.
    assert failures(check(wh, "cohort_retention")) == [
        "expect_column_values_to_be_between on retention_rate [1 … 1] where "
        "months_since_first == 0: 1 of 2 rows unexpected, e.g. 0.5 "
        "(cohort_month 2024-01-01, months_since_first 0)"
    ]
    run(
        con,
        "update marts.satisfaction_monthly set ces = null, nps_responses = 7 "
        "where month = date '2024-02-01'",
    )
    # February's one NPS response (r1, score 9) is a promoter: 1 + 0 + 0 = 1, not 7.
    assert failures(check(wh, "satisfaction_monthly")) == [
        "expect_column_pair_values_to_be_equal on nps_responses, "
        "promoters_passives_detractors: 1 of 11 rows unexpected, "
        "e.g. (nps_responses=7, promoters_passives_detractors=1) (month 2024-02-01)"
    ]


def test_customer_level_marts_have_one_row_per_customer(wh):
    con = wh[0]
    first = scalar(con, "select min(customer_id) from marts.loyalty_customers")
    run(
        con,
        "insert into marts.loyalty_customers select * from marts.loyalty_customers "
        "where customer_id = ?",
        [first],
    )
    # Two buying customers (c1, c2); one copied makes 3 rows, 2 sharing one key.
    assert failures(check(wh, "loyalty_customers")) == [
        f"expect_column_values_to_be_unique on customer_id: 2 of 3 rows unexpected, "
        f"e.g. {first}; {first}"
    ]


def test_no_personal_data_reaches_a_mart(wh):
    con = wh[0]
    run(con, "alter table marts.channel_retention add column email varchar")
    run(con, "alter table marts.channel_retention add column note varchar")
    run(
        con,
        "update marts.channel_retention set note = 'ask Ann <Ann.B@example.org>' "
        "where channels_engaged = 2",
    )
    # The batch: 6 column names (4 + email + note, value null) + 1 text value with '@'.
    assert failures(check(wh, "channel_retention")) == [
        "expect_column_values_to_not_be_in_set on mart_column in {email, first_name, "
        "last_name, phone}: 1 of 7 rows unexpected, e.g. email",
        f"expect_column_values_to_not_match_regex on value regex {pii.EMAIL[:300]}… "
        f"({len(pii.EMAIL):,} characters, whole in the suite file): 1 of 7 rows "
        "unexpected, e.g. ask Ann <Ann.B@example.org> (mart_column note)",
    ]


def test_a_table_not_built_yet_is_a_warning_not_a_crash(wh):
    con = wh[0]
    run(con, "drop table marts.email_monthly")
    result = check(wh, "email_monthly")
    assert (result.status, result.missing) == (
        "warning",
        "table email_monthly does not exist yet: materialise its asset first",
    )


def test_a_suite_reading_a_column_its_table_lacks_names_file_expectation_and_column(wh, tmp_path):
    # A contributor's misspelt column: GX said only that the column is not in its batch (the
    # batch leaves out what the table lacks), without the file. Now the check fails (ERROR: the
    # suite checks nothing until fixed) with the file, the expectation, the likely column and
    # the table's columns, here loyalty_summary's nine (spec/metrics.md).
    con, settings, suites = wh
    path = tmp_path / "marts_loyalty_summary.json"
    doc = json.loads(suites["marts_loyalty_summary"].path.read_text(encoding="utf-8"))
    doc["expectations"].append(
        {"type": "expect_column_values_to_be_between", "severity": "critical",
         "kwargs": {"column": "repeat_rat", "min_value": 0, "max_value": 1}}
    )  # fmt: skip
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = validate_assets(con, settings, [("loyalty_summary", [read_suite(path)])], "r")
    assert result["loyalty_summary"].status == "error"
    assert result["loyalty_summary"].summary() == (
        f"{path}: expectation 2 (expect_column_values_to_be_between) reads column 'repeat_rat' "
        "(did you mean 'repeat_rate'?), which loyalty_summary does not have (its columns: "
        "as_of, customers, repeat_customers, repeat_rate, loyal_customers, loyal_share, "
        "active_customers, helped_customers_12m, ror): fix the name in the suite, or add the "
        "column to the model"
    )
    # The same for a staging suite's index column (its batch: the new rows).
    doc = json.loads(suites["staging_orders"].path.read_text(encoding="utf-8"))
    doc["meta"]["index_columns"] = ["_source_file", "_row_numbr"]
    path = tmp_path / "staging_orders.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = validate_assets(con, settings, [("stg_orders", [read_suite(path)])], "r")
    assert result["stg_orders"].status == "error"
    assert result["stg_orders"].broken.startswith(
        f"{path}: meta.index_columns reads column '_row_numbr' (did you mean '_row_number'?), "
        "which stg_orders does not have (its columns: order_id, "
    )


def test_a_redelivered_key_stays_one_row_and_only_new_rows_are_validated(wh):
    # The staging suites expect no key unique: the models' selects keep one row per key
    # (row_number() ... = 1), and their incremental builds give the table a whole rebuild
    # would (tests/test_incremental_models.py). Here both kinds, with a key delivered again.
    con = wh[0]
    models = {m.name: m for m in discover_models()}
    assert check(wh, "stg_email_events", "run-1").status == "passed"
    assert check(wh, "stg_orders", "run-1").status == "passed"
    # Delivery 2: e2 (new) and e1 again (an append keeps e1's first copy); o1 again, a later
    # version (delete+insert rewrites o1's row).
    insert_rows(con, "email_events", [
        {"event_id": "e2", "email": "a@x.com", "campaign_id": "k1", "event_type": "open",
         "occurred_at": "2024-02-02 08:00:00"},
        {"event_id": "e1", "email": "z@x.com", "campaign_id": "k1", "event_type": "sent",
         "occurred_at": "2024-02-01 08:00:00"},
    ], delivery_seq=2)  # fmt: skip
    insert_rows(con, "orders", [{**ORDERS[0], "gross_amount": "11"}], delivery_seq=2)
    for name in ("stg_email_events", "stg_orders"):
        materialize_model(con, models[name])
    # e1, e2 and o1, o2, o3: each key once.
    assert scalar(con, "select list(event_id order by event_id) from stg_email_events") == [
        "e1",
        "e2",
    ]
    assert scalar(con, "select list(order_id order by order_id) from stg_orders") == [
        "o1",
        "o2",
        "o3",
    ]
    # Run 2 validates the rows of delivery #2 only: e2, and o1's new version.
    for asset in ("stg_email_events", "stg_orders"):
        result = check(wh, asset, "run-2")
        assert result.status == "passed"
        (own,) = [o for o in result.outcomes if o.suite == f"staging_{asset[4:]}"]
        assert own.rows == 1


def test_warnings_only_warn_and_each_batch_gets_a_data_docs_page(wh, monkeypatch):
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "all")
    con, settings, _ = wh
    # Two currencies, one not an ISO code: o2 in 'usd'. staging_order_currencies sees
    # {EUR, usd}: 2 distinct (max 1) and 'usd' fails ^[A-Z]{3}$ (regexp_matches in DuckDB);
    # both are warnings, so the check warns and blocks nothing.
    run(con, "update staging.stg_orders set currency = 'usd' where order_id = 'o2'")
    result = check(wh, "stg_orders")
    assert result.status == "warning"
    (currencies,) = [o for o in result.outcomes if o.suite == "staging_order_currencies"]
    assert currencies.errors == []
    assert sorted(w.expectation for w in currencies.warnings) == [
        "expect_column_unique_value_count_to_be_between",
        "expect_column_values_to_match_regex",
    ]
    (regex,) = [w for w in currencies.warnings if w.expectation.endswith("match_regex")]
    assert regex.examples == ["usd"]
    # The first pass asks GX for no examples; the failed expectation's second pass finds 'usd'
    # and its result is the one the page shows.
    assert "usd" in Path(currencies.docs_path).read_text(encoding="utf-8")
    docs = settings.data_dir / "docs" / "data_docs"
    for outcome in result.outcomes:
        page = Path(outcome.docs_path)
        assert page.is_file() and page.is_relative_to(docs)
        assert outcome.suite in page.read_text(encoding="utf-8")


def test_an_unchanged_table_is_not_validated_again_and_a_changed_one_is(wh):
    con = wh[0]
    first = check(wh, "retention_monthly", "run-1")
    # Two suites ran: the mart's own and marts_no_personal_data.
    assert first.status == "passed" and len(first.outcomes) == 2
    again = check(wh, "retention_monthly", "run-2")
    # Nothing changed: no suite runs, the check passes and names the run that validated it.
    assert again.status == "passed" and again.outcomes == []
    assert again.unchanged is not None and again.unchanged.run_id == "run-1"
    assert again.summary().startswith("unchanged since validation in run run-1")
    # A hand edit changes the content hash: validated again (12 rows, one changed).
    run(
        con,
        "update marts.retention_monthly set month = date '2024-04-01' where month = '2024-05-01'",
    )
    changed = check(wh, "retention_monthly", "run-3")
    assert changed.unchanged is None and changed.status == "error"
    # ...and, failed, it is validated again next time too (only a pass is reused).
    assert check(wh, "retention_monthly", "run-4").unchanged is None


def test_a_changed_suite_validates_again(wh, tmp_path):
    con, settings, suites = wh
    assert check(wh, "stg_orders", "run-1").status == "passed"
    assert check(wh, "stg_orders", "run-2").unchanged is not None
    # The same suite with one more (passing) expectation: a new digest, so the suites run.
    own = suites["staging_orders"]
    document = {**own.document, "expectations": [*own.expectations, {
        "type": "expect_column_to_exist", "kwargs": {"column": "order_id"},
        "severity": "warning"}]}  # fmt: skip
    edited = dataclasses.replace(own, document=document)
    result = validate_assets(con, settings, [("stg_orders", [edited])], "run-3")["stg_orders"]
    assert result.unchanged is None and result.status == "passed"
    assert [len(o.expectations) for o in result.outcomes] == [len(own.expectations) + 1]


def test_a_big_table_is_vouched_for_by_its_row_count_and_build_number(wh, monkeypatch):
    from pipeline.validation import state

    con = wh[0]
    monkeypatch.setattr(state, "HASH_ROWS", 0)  # every table counts as big: no hash
    assert check(wh, "stg_orders", "run-1").status == "passed"
    assert check(wh, "stg_orders", "run-2").unchanged is not None
    # One more order delivered and the model built again: 4 rows, a new build: validated.
    insert_rows(con, "orders", [{**ORDERS[0], "order_id": "o4"}], delivery_seq=2)
    materialize_model(con, next(m for m in discover_models() if m.name == "stg_orders"))
    result = check(wh, "stg_orders", "run-3")
    assert result.unchanged is None
    assert [o.rows for o in result.outcomes if o.suite == "staging_orders"] == [1]  # o4 only


def test_an_email_rate_above_one_warns_and_a_negative_one_stops(wh):
    # docs/open-rules.md R8: opens without a delivered event can put a rate over delivered above
    # 1 (the spec's formula); the mart is published with a warning naming the row. A negative
    # rate cannot come from the formula: it stops. The one row is (2024-02-01, k1) (fill above).
    con = wh[0]
    run(con, "update marts.email_monthly set open_rate = 2.0")
    result = check(wh, "email_monthly", "run-r8")
    assert result.status == "warning"
    (warning,) = [e for o in result.outcomes for e in o.warnings]
    assert (warning.columns, warning.expected, warning.unexpected_count) == ("open_rate", "<= 1", 1)
    assert "R8" in warning.advice
    run(con, "update marts.email_monthly set open_rate = -0.5")
    result = check(wh, "email_monthly", "run-negative")
    assert result.status == "error"
    assert [e.subject for o in result.outcomes for e in o.errors] == [
        "expect_column_values_to_be_between on open_rate >= 0"
    ]
