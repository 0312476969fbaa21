"""The landed suites on delivered rows, and through the real ingestion core before insert.

as_of is 2024-12-31 and the tests run later than that: a date after 2025-01-01 00:00 lands with a
warning, and the plausible dates end a year after now (``plausible_until``); 2099 is always beyond.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
from ingest_support import drop, make_settings

from pipeline.cli.summary import print_summary
from pipeline.entities import ENTITIES
from pipeline.ingest.core import DeliveredRows, ingest_entity
from pipeline.validation import ValidationLog, landed_validation, make_landed_validator, read_log
from pipeline.validation.landed import delivered_types, load_landed_batch, plausible_until
from pipeline.warehouse import frame, open_warehouse, scalar

END_2099 = dt.datetime(2099, 1, 1)
POLARS_TYPES = {
    "text": pl.String,
    "timestamp": pl.Datetime("us"),
    "date": pl.Date,
    "integer": pl.Int32,
    "decimal(18,4)": pl.Decimal(18, 4),
}


def canonical(entity: str, records: list[dict]) -> pl.DataFrame:
    """Rows as the ingestion core types them: every canonical column typed, + row number."""
    ent = ENTITIES[entity]
    columns = {
        c: pl.Series(c, [r.get(c) for r in records], dtype=POLARS_TYPES[t])
        for c, t in ent.columns.items()
    }
    rows = pl.Series("_row_number", range(2, len(records) + 2), dtype=pl.Int64)
    return pl.DataFrame([*columns.values(), rows])


def delivered(con, entity: str, records: list[dict]) -> DeliveredRows:
    """The rows as the ingestion core hands them over: a query of its connection (here a
    table of ``con``'s database, committed, as the staged parse is)."""
    con.register("records", canonical(entity, records).to_arrow())
    con.execute("create or replace table delivered as select * from records").fetchall()
    con.unregister("records")
    return DeliveredRows(con, "select * from delivered", len(records))


def order(order_id, amount="10", at=dt.datetime(2024, 6, 1), **extra) -> dict:
    return {
        "order_id": order_id,
        "contact_id": "c1",
        "ordered_at": at,
        "status": "completed",
        "currency": "EUR",
        "gross_amount": Decimal(amount),
        **extra,
    }


@pytest.fixture
def validate(data_dir, monkeypatch):
    """A landed validator for data_dir whose outcomes are collected in ``validate.outcomes``."""
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")  # pages are tested once, below
    outcomes = []
    validator = make_landed_validator(make_settings(data_dir), outcomes.append, run_id="t")
    con = duckdb.connect()

    def run(entity: str, records: list[dict], name: str = "f.csv") -> str | None:
        return validator(ENTITIES[entity], delivered(con, entity, records), name)

    run.outcomes = outcomes
    yield run
    con.close()


def ticket(ticket_id, replies, at=dt.datetime(2024, 5, 1)) -> dict:
    return {
        "ticket_id": ticket_id,
        "contact_id": "c1",
        "created_at": at,
        "status": "open",
        "agent_replies": replies,
        "reopens": 0,
    }


def test_a_negative_reply_count_refuses_the_file_naming_expectation_column_and_row(validate):
    # No rule of the row contract bounds agent_replies (rules.NON_NEGATIVE is orders' amounts),
    # so the landed suite does: t2 (spreadsheet row 3) has -1 of the file's 3 rows; t3's null
    # count is not unexpected.
    reason = validate(
        "tickets", [ticket("t1", 2), ticket("t2", -1), ticket("t3", None)], "crm/tickets/t.csv"
    )
    assert reason.startswith("expectation suite landed_tickets failed: ")
    assert (
        "expect_column_values_to_be_between on agent_replies >= 0: "
        "1 of 3 rows unexpected, e.g. -1 (row 3)"
    ) in reason
    (outcome,) = validate.outcomes
    assert (outcome.target, outcome.rows, outcome.status) == ("crm/tickets/t.csv", 3, "error")
    assert [e.columns for e in outcome.errors] == ["agent_replies"]


def test_one_order_twice_with_different_amounts_and_no_updated_at_fails(validate):
    reason = validate("orders", [order("o1", "10"), order("o1", "12"), order("o2", "5")])
    # Rows 2 and 3 are two versions of o1 with nothing to tell which is later. (In the pipeline
    # checks.undecidable_versions refuses such a file before its suite; see the next test.)
    assert (
        "expect_column_values_to_not_be_null on updated_at where _key_versions > 1: "
        "2 of 2 rows unexpected, e.g. null (row 2); null (row 3)"
    ) in reason


def test_a_dated_and_an_undated_version_of_a_key_fail_naming_the_undated_row(validate):
    # checks.undecidable_versions refuses two versions that share an updated_at (or have none)
    # before the suite (tests/test_ingest_deliveries.py), so the suite holds no uniqueness of
    # (order_id, updated_at); o1 undated (row 2) and dated (row 4) gets through it: two
    # versions of o1, so updated_at is required on both, and row 2 has none.
    at = dt.datetime(2024, 6, 2)
    reason = validate("orders", [order("o1", "10"), order("o2"), order("o1", "12", updated_at=at)])
    assert (
        "expect_column_values_to_not_be_null on updated_at where _key_versions > 1: "
        "1 of 2 rows unexpected, e.g. null (row 2)"
    ) in reason


def test_versions_ordered_by_updated_at_and_exact_repeats_pass(validate):
    t1, t2 = dt.datetime(2024, 6, 1), dt.datetime(2024, 6, 2)
    assert (
        validate("orders", [order("o1", "10", updated_at=t1), order("o1", "12", updated_at=t2)])
        is None
    )
    # The same row twice is one version: nothing to decide between.
    assert validate("orders", [order("o1", "10"), order("o1", "10")]) is None
    assert validate.outcomes[-1].rows == 1  # one distinct row


def test_a_few_future_rows_land_with_a_warning_naming_the_rule(validate):
    # as_of 2024-12-31 ends 2025-01-01 00:00: o2 at that instant and o3 in 2099 are after it
    # (2099 is implausible too, but one value of three is not "most").
    reason = validate(
        "orders",
        [order("o1"), order("o2", at=dt.datetime(2025, 1, 1)), order("o3", at=END_2099)],
    )
    assert reason is None
    (outcome,) = validate.outcomes
    assert outcome.status == "warning"
    (warning,) = outcome.warnings
    assert warning.describe() == (
        "expect_column_values_to_be_between on ordered_at < 2025-01-01 00:00:00: 2 of 3 rows "
        "unexpected, e.g. 2025-01-01 00:00:00 (row 3); 2099-01-01 00:00:00 (row 4) — dated after "
        "the end of as_of: landed, and ignored by the marts until as_of reaches them; nothing to "
        "do unless as_of is wrong"
    )


def test_half_of_the_dates_implausible_lands_more_than_half_refuses(validate):
    # The boundary of "most": 1 of 2 values implausible lands; 2 of 3 is refused.
    assert validate("orders", [order("o1"), order("o2", at=END_2099)]) is None
    reason = validate("orders", [order("o1"), order("o2", at=END_2099), order("o3", at=END_2099)])
    assert reason.startswith(
        "expectation suite landed_orders failed: expect_column_values_to_be_between on "
        "ordered_at [1971-01-01 00:00:00 … "
    )
    assert (
        "for at least 50% of values: 2 of 3 rows unexpected, e.g. 2099-01-01 00:00:00 (row 3); "
        "2099-01-01 00:00:00 (row 4) — most of this file's dates are outside [1971-01-01, "
        "max(end of as_of, now) + 365 days], so its dates were misread"
    ) in reason
    assert "then deliver the file again" in reason


def test_epoch_seconds_read_as_milliseconds_refuse_the_file(validate):
    # 1,717,200,000 s (2024-06-01) read as milliseconds is 1,717,200 s = 19 days 21 hours:
    # 1970-01-20 21:00, on every row.
    misread = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=1_717_200_000)
    assert misread == dt.datetime(1970, 1, 20, 21, 0)
    reason = validate("orders", [order("o1", at=misread), order("o2", at=misread)])
    assert "2 of 2 rows unexpected, e.g. 1970-01-20 21:00:00 (row 2)" in reason
    assert "epoch milliseconds read as seconds or seconds as milliseconds" in reason


def test_empty_dates_are_not_judged(validate):
    # updated_at is empty on every row: no value is implausible, the file lands.
    assert validate("orders", [order("o1"), order("o2")]) is None
    updated = validate.outcomes[-1].expectations
    (bound,) = [e for e in updated if e.columns == "updated_at" and e.mostly is not None]
    assert (bound.success, bound.unexpected_count, bound.missing_count) == (True, 0, 2)


def test_plausible_until_is_a_year_past_the_later_of_as_of_end_and_now(tmp_path):
    from pipeline.config import Settings

    future = Settings.resolve(data_dir=str(tmp_path), as_of="2030-01-01")
    past = Settings.resolve(data_dir=str(tmp_path), as_of="2024-12-31")
    now = dt.datetime(2026, 6, 1, 12)
    # as_of 2030-01-01 ends 2030-01-02 00:00, after now: + 365 days = 2031-01-02.
    assert plausible_until(future, now) == dt.datetime(2031, 1, 2)
    # as_of 2024-12-31 ends 2025-01-01, before now: now + 365 days (2027 is no leap year).
    assert plausible_until(past, now) == dt.datetime(2027, 6, 1, 12)


def test_two_currencies_are_a_warning_not_a_refusal(validate):
    assert validate("orders", [order("o1"), order("o2", currency="USD")]) is None
    (outcome,) = validate.outcomes
    assert outcome.status == "warning"
    (warning,) = outcome.warnings
    assert (warning.expectation, warning.columns, warning.observed) == (
        "expect_column_unique_value_count_to_be_between",
        "currency",
        "observed 2",
    )


def test_outcomes_go_to_the_run_log_with_a_data_docs_page(data_dir, monkeypatch):
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "all")
    settings = make_settings(data_dir)
    validator = make_landed_validator(settings, ValidationLog(data_dir, "run-1"))
    with duckdb.connect() as con:
        rows = delivered(con, "orders", [order("o1", at=END_2099), order("o2", at=END_2099)])
        reason = validator(ENTITIES["orders"], rows, "crm/orders/o.csv")
    (logged,) = read_log(data_dir, "run-1")
    assert (logged.suite, logged.target, logged.run_id, logged.status) == (
        "landed_orders",
        "crm/orders/o.csv",
        "run-1",
        "error",
    )
    page = Path(logged.docs_path)
    assert page.is_file() and page.is_relative_to(data_dir / "docs" / "data_docs")
    # GX's page words the expectation (with its share) and lists the unexpected value.
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))
    assert "greater than or equal to 1971-01-01T00:00:00 and less than or equal to" in text
    assert "at least 50 % of the time" in text and "2099-01-01T00:00:00" in text
    assert reason.endswith(f"(details: {page})")


ORDERS_HEADER = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\n"
)


def test_the_ingestion_core_refuses_a_file_the_suite_fails_before_insert(
    data_dir, monkeypatch, capsys
):
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    settings = make_settings(data_dir)
    validator = make_landed_validator(settings, ValidationLog(data_dir, "run-2"))
    drop(
        settings,
        "orders",
        "a_good.csv",
        ORDERS_HEADER
        + "o1,c1,,2024-06-01,completed,EUR,10,,,\n"
        + "o3,,,2024-06-01,completed,EUR,10,,,\n",
    )  # row 3: no contact nor e-mail: quarantined
    drop(
        settings,
        "orders",
        "b_future.csv",
        ORDERS_HEADER + "o2,c1,,2099-01-01,completed,EUR,10,,,\n",
    )  # its only date is implausible: the whole file is misread
    drop(
        settings,
        "orders",
        "c_soon.csv",
        ORDERS_HEADER
        + "o4,c1,,2024-12-30,completed,EUR,10,,,\n"
        + "o5,c1,,2025-01-03,completed,EUR,10,,,\n"
        + "o6,c1,,2025-01-04,completed,EUR,10,,,\n",
    )  # two of three rows after as_of (2024-12-31), but plausible: all land
    with open_warehouse(settings.warehouse_path) as con:
        good, future, soon = ingest_entity(
            con, settings, "orders", run_id="run-2", validator=validator
        )
        assert (good.status, good.rows_landed, good.rows_quarantined) == ("landed", 1, 1)
        assert future.status == "refused"
        assert "expect_column_values_to_be_between on ordered_at" in future.reason
        assert "2099-01-01 00:00:00 (row 2)" in future.reason
        assert "its dates were misread" in future.reason
        assert (soon.status, soon.rows_landed, soon.rows_quarantined) == ("landed", 3, 0)
        # Nothing of the refused file reached raw; the other files' rows did.
        landed = scalar(
            con, "select string_agg(order_id, ',' order by order_id) from raw.raw_orders"
        )
        assert landed == "o1,o4,o5,o6"
        result = landed_validation(con, settings, "orders", "run-2")
    assert result.status == "error"
    assert [(f.source_file, f.status, f.refused_by_suite) for f in result.files] == [
        ("crm/orders/a_good.csv", "landed", False),
        ("crm/orders/b_future.csv", "refused", True),
        ("crm/orders/c_soon.csv", "landed", False),
    ]
    assert result.files[2].outcome.status == "warning"
    # 1 + 3 rows landed; a_good.csv's second row quarantined.
    assert result.summary().startswith(
        "3 files, 4 rows landed; 1 refused by the suite: crm/orders/b_future.csv: "
    )
    assert "; 1 row quarantined; " in result.summary()
    # The rows after as_of are named by their values and lines (o5 and o6: lines 3 and 4 of
    # c_soon.csv, under its header), so that a typed-in year can be found.
    future = (
        "landed rows dated after the end of as_of: ordered_at 2, e.g. 2025-01-03 00:00:00 "
        "(row 3), 2025-01-04 00:00:00 (row 4) (not an error: the marts ignore them until as_of "
        "reaches them; nothing to do unless as_of or one of these dates is wrong)"
    )
    assert result.summary().endswith(f"; {future}")
    assert (settings.quarantine_dir / "crm/orders/b_future.csv").exists()
    # The CLI's summary says the same, file by file.
    print_summary(settings, "run-2")
    printed = capsys.readouterr().out
    assert "crm/orders/b_future.csv: REFUSED — expectation suite landed_orders failed" in printed
    assert (
        f"  crm/orders/c_soon.csv: 3 rows read, 3 landed, 0 quarantined\n    {future}\n"
    ) in printed


def test_the_data_docs_index_lists_logged_runs_and_prunes_pages_of_others(data_dir):
    from pipeline.validation import SuiteOutcome
    from pipeline.validation.docs import write_index

    settings = make_settings(data_dir)
    site = data_dir / "docs" / "data_docs" / "validations" / "landed_orders"
    kept, dropped = site / "run-a" / "t1" / "p.html", site / "run-gone" / "t0" / "p.html"
    for page in (kept, dropped):
        page.parent.mkdir(parents=True)
        page.write_text("<html></html>")
    ValidationLog(data_dir, "run-a")(
        SuiteOutcome("landed_orders", "landed", "raw_orders", "crm/orders/a.csv", "run-a", 3,
                     "3 rows", 0.1, [], docs_path=str(kept))
    )  # fmt: skip
    index = write_index(settings).read_text(encoding="utf-8")
    assert "crm/orders/a.csv" in index
    assert 'href="validations/landed_orders/run-a/t1/p.html"' in index
    # run-gone has no log any more (pruned): its pages go too.
    assert kept.exists() and not dropped.parent.parent.exists()


def test_the_batch_is_the_distinct_rows_with_their_key_versions(tmp_path):
    # o1 exactly twice (one distinct row), o2 in two versions, o3 once.
    records = [
        order("o1"),
        order("o2", amount="10"),
        order("o1"),
        order("o3"),
        order("o2", amount="12"),
    ]
    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.register("records", canonical("orders", records).to_arrow())
        con.execute("create temp table delivered as select * from records").fetchall()
        kept = load_landed_batch(con, ENTITIES["orders"], "delivered", "batch", key_versions=True)
        got = frame(con, "select * from batch")
    # Rows 2..6: row 4 repeats row 2 exactly and goes; o2 (rows 3 and 6) has two versions.
    assert kept == 4
    assert got["_row_number"].to_list() == [2, 3, 5, 6]
    assert got["_key_versions"].to_list() == [1, 2, 1, 2]


def test_a_repeated_row_goes_without_key_versions_when_the_suite_reads_none(tmp_path):
    # o1 at rows 2 and 4 exactly alike, o2 at row 3: two distinct rows, in file order.
    records = [order("o1"), order("o2"), order("o1")]
    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.register("records", canonical("orders", records).to_arrow())
        con.execute("create temp table delivered as select * from records").fetchall()
        kept = load_landed_batch(con, ENTITIES["orders"], "delivered", "batch", key_versions=False)
        got = frame(con, "select * from batch")
    assert kept == 2
    assert got["_row_number"].to_list() == [2, 3]
    assert "_key_versions" not in got.columns


def test_rows_repeated_without_a_key_go_too(tmp_path):
    # Rows 2 and 4 alike without order_id (no delivery has one: the contract requires it, but
    # a null is a key like any other here), o2 at row 3: two distinct rows, each key once.
    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.register("records", canonical("orders", [order(None), order("o2"), order(None)]))
        con.execute("create temp table delivered as select * from records").fetchall()
        kept = load_landed_batch(con, ENTITIES["orders"], "delivered", "batch", key_versions=True)
        got = frame(con, "select * from batch")
    assert kept == 2
    assert got["_row_number"].to_list() == [2, 3]
    assert got["_key_versions"].to_list() == [1, 1]


def test_a_file_without_repeats_is_validated_where_it_is(tmp_path):
    # Three different orders (rows 2..4): nothing to de-duplicate, no _key_versions asked for,
    # so the batch is a view of the delivered rows, not a copy of them.
    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.register("records", canonical("orders", [order("o1"), order("o2"), order("o3")]))
        con.execute("create temp table delivered as select * from records").fetchall()
        kept = load_landed_batch(con, ENTITIES["orders"], "delivered", "batch", key_versions=False)
        got = frame(con, "select * from batch")
        views = scalar(con, "select count(*) from duckdb_views() where view_name = 'batch'")
    assert kept == 3
    assert got["_row_number"].to_list() == [2, 3, 4]
    assert "_key_versions" not in got.columns
    assert views == 1


def test_distinct_keys_make_a_view_declaring_the_key_unique_in_one_version_each(tmp_path):
    # o1, o2, o3 at rows 2..4, each key once: no row can repeat, so the batch is a view (no
    # copy), every _key_versions is 1, and its comment declares order_id unique for GX.
    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.register("records", canonical("orders", [order("o1"), order("o2"), order("o3")]))
        con.execute("create temp table delivered as select * from records").fetchall()
        kept = load_landed_batch(con, ENTITIES["orders"], "delivered", "batch", key_versions=True)
        got = frame(con, "select * from batch")
        comment = scalar(con, "select comment from duckdb_views() where view_name = 'batch'")
    assert kept == 3
    assert got["_row_number"].to_list() == [2, 3, 4]
    assert got["_key_versions"].to_list() == [1, 1, 1]
    assert comment == "unique: order_id"


def test_rows_not_typed_as_raw_stop_the_step_naming_the_columns(tmp_path):
    # Of the eight canonical columns (pipeline/entities.py) score is text and responded_at
    # is missing; the rest are right. The ingestion core's select casts every canonical
    # column, so this is a bug of the pipeline, not a bad delivery.
    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.execute(
            "create table batch as select 'r1' as response_id, 'c1' as contact_id, "
            "null::varchar as email, 'nps' as survey_type, '9' as score, "
            "null::varchar as comment, null::varchar as ticket_id, 2 as _row_number"
        ).fetchall()
        with pytest.raises(TypeError) as raised:
            delivered_types(con, ENTITIES["surveys"], "batch")
    assert str(raised.value) == (
        "delivered surveys rows are not typed as raw: responded_at missing (not TIMESTAMP), "
        "score VARCHAR (not INTEGER)"
    )


def test_each_file_of_an_entity_gets_its_own_outcome(validate):
    # The files of an entity share one GX batch definition: a refused file, then a good one,
    # then the refused one again must each be judged on their own rows.
    bad = [order("o1", at=END_2099), order("o2", at=END_2099)]
    assert "2 of 2 rows unexpected" in validate("orders", bad, "a.csv")
    assert validate("orders", [order("o3"), order("o4"), order("o5")], "b.csv") is None
    assert "2 of 2 rows unexpected" in validate("orders", bad, "c.csv")
    assert [(o.target, o.rows, o.status) for o in validate.outcomes] == [
        ("a.csv", 2, "error"),
        ("b.csv", 3, "passed"),
        ("c.csv", 2, "error"),
    ]


def test_the_run_log_keeps_values_holding_line_breaks_other_than_newline(data_dir):
    from pipeline.validation import SuiteOutcome
    from pipeline.validation.outcome import ExpectationOutcome

    # A tweet with a line separator, a regex with the characters of \s: one record each.
    odd = ["a\u2028b", "c\x1cd\u0085e", "f\ng"]
    expectation = ExpectationOutcome(
        "expect_column_values_to_not_match_regex", "text", "critical", False,
        "3 of 3 rows unexpected", None, "[\u2028\u2029]$", 3, 3, odd, None,
    )  # fmt: skip
    log = ValidationLog(data_dir, "run-odd")
    for target in ("a.csv", "b.csv"):
        log(SuiteOutcome("landed_social_mentions", "landed", "raw_social_mentions", target,
                         "run-odd", 3, "3 rows", 0.1, [expectation]))  # fmt: skip
    logged = read_log(data_dir, "run-odd")
    assert [o.target for o in logged] == ["a.csv", "b.csv"]
    assert logged[1].expectations[0].examples == odd
    assert logged[1].expectations[0].expected == "[\u2028\u2029]$"


def test_staged_rows_are_validated_in_the_ingest_database_and_its_transaction_survives(
    data_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    outcomes = []
    validator = make_landed_validator(make_settings(data_dir), outcomes.append, run_id="t")
    # Two orders (rows 2 and 3) in a view of an in-memory database attached to the warehouse,
    # as pipeline/ingest/staging.py stages a parse; the ingest connection also holds an
    # uncommitted insert: the validator must read the rows and leave the transaction as it was.
    records = [order("o1"), order("o3", at=dt.datetime(2099, 1, 1))]
    with open_warehouse(tmp_path / "w.duckdb") as con:
        tables_before = scalar(con, "select count(*) from duckdb_tables()")
        con.execute("attach ':memory:' as stage").fetchall()
        con.register("delivered", canonical("orders", records).to_arrow())
        con.execute("create table stage.main.parsed as select * from delivered").fetchall()
        con.execute("create view stage.main.good as select * from stage.main.parsed").fetchall()
        con.execute("create table kept as select 1 as x").fetchall()
        con.execute("begin").fetchall()
        con.execute("insert into kept values (2)").fetchall()
        rows_in = DeliveredRows(con, "select * from stage.main.good", 2)
        reason = validator(ENTITIES["orders"], rows_in, "f.csv")
        con.execute("commit").fetchall()  # the transaction is still open and whole
        assert scalar(con, "select sum(x) from kept") == 3
        # The batch was a temporary table of the validator's own connection, gone with it:
        # the warehouse holds the two tables made here (parsed, kept) and nothing else.
        assert scalar(con, "select count(*) from duckdb_tables()") == tables_before + 2
    # 2099-01-01 is after the end of as_of: a warning naming row 3, the file lands.
    assert reason is None
    (outcome,) = outcomes
    assert (outcome.rows, outcome.status) == (2, "warning")
    (warning,) = outcome.warnings
    assert (warning.columns, warning.examples) == ("ordered_at", ["2099-01-01 00:00:00 (row 3)"])


def test_each_landed_run_closes_its_connection_and_keeps_one_data_source(validate, data_dir):
    from pipeline.validation.runner import _session

    def sources() -> set[str]:
        return set(_session().context.data_sources.all())

    # One good order, then rows whose score is text (a pipeline bug: TypeError, see above):
    # after either, the run's connection is closed and the process's one SQL data source stays.
    assert validate("orders", [order("o1")]) is None
    before, source = sources(), _session().sql
    assert "duckdb" in before and source.con is None
    con = duckdb.connect()
    con.execute(
        "create table delivered as select 'r1' as response_id, 'c1' as contact_id, "
        "null::varchar as email, timestamp '2024-05-01' as responded_at, 'nps' as survey_type, "
        "'9' as score, null::varchar as comment, null::varchar as ticket_id, 2 as _row_number"
    ).fetchall()
    validator = make_landed_validator(make_settings(data_dir), run_id="t")
    with pytest.raises(TypeError, match="score VARCHAR"):
        validator(ENTITIES["surveys"], DeliveredRows(con, "select * from delivered", 1), "s.csv")
    assert sources() == before and source.con is None
    con.close()


def test_a_brand_reply_before_its_mention_lands_with_a_warning(validate):
    # docs/open-rules.md R9: the spec is silent, the rows land as delivered and the landed suite
    # warns (a ticket so dated never reaches its suite: ingestion quarantines it, issue 13).
    # m1's reply is 5 minutes before its post (row 2); m2's after (row 3).
    at = dt.datetime(2024, 6, 1, 10)
    mention = {"platform": "twitter", "author_handle": "ann", "posted_at": at}
    five = dt.timedelta(minutes=5)
    reason = validate(
        "social_mentions",
        [
            {**mention, "mention_id": "m1", "brand_replied_at": at - five},
            {**mention, "mention_id": "m2", "brand_replied_at": at + five},
        ],
    )
    assert reason is None
    (outcome,) = validate.outcomes
    (warning,) = outcome.warnings
    assert (warning.columns, warning.unexpected_count) == ("brand_replied_at, posted_at", 1)
    assert warning.examples == [
        "(brand_replied_at=2024-06-01 09:55:00, posted_at=2024-06-01 10:00:00) (row 2)"
    ]


def test_a_name_with_a_lost_letter_lands_with_a_warning(validate):
    # Excel saving "Ștefan Țăranu" in Windows-1250 (which lacks ș and ț) writes "?tefan ?ăranu";
    # a decoder meeting bytes it cannot read writes U+FFFD. Rows 2 and 3 land as delivered, with
    # a warning naming them; row 4 ("Ana-Maria Popescu") is a plain name.
    at = dt.datetime(2024, 1, 1)
    contact = {"created_at": at, "email": "x@example.ro"}
    reason = validate(
        "contacts",
        [
            {**contact, "contact_id": "c1", "first_name": "?tefan", "last_name": "?ăranu"},
            {**contact, "contact_id": "c2", "first_name": "Ioana", "last_name": "Ciobanu\ufffd"},
            {**contact, "contact_id": "c3", "first_name": "Ana-Maria", "last_name": "Popescu"},
        ],
    )
    assert reason is None
    (outcome,) = validate.outcomes
    found = {w.columns: (w.unexpected_count, w.examples) for w in outcome.warnings}
    assert found == {
        "first_name": (1, ["?tefan (row 2)"]),
        "last_name": (2, ["?ăranu (row 2)", "Ciobanu\ufffd (row 3)"]),
    }
    assert all("UTF-8" in w.advice for w in outcome.warnings)
