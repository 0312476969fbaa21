"""GX's SQL engine inside the pipeline's DuckDB database (pipeline/validation/gx_duckdb.py)."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.validation.gx_duckdb import BufferedConnection, add_duckdb_datasource, gx_connection
from pipeline.warehouse import rows, run

gx = pytest.importorskip("great_expectations")


@pytest.fixture
def con(tmp_path):
    """A real DuckDB file with six e-mail addresses, of which two are malformed."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    run(con, "create schema staging")
    run(
        con,
        "create table staging.people as select * from (values "
        "(1, 'ann@example.org'), (2, 'Bob@example.org'), (3, ' cy@example.org'), "
        "(4, 'dee@example.org'), (5, null), (6, 'eve@example.org')) as t(id, email)",
    )
    run(con, "set search_path = 'staging'")
    yield con
    con.close()


def test_buffered_cursor_keeps_rows_after_the_transaction_is_rolled_back(con):
    # The fault GX hits: a result fetched after its connection went back to the pool, whose
    # rollback discards a DuckDB result not yet fetched. Buffered, the 6 rows survive it.
    wrapped = BufferedConnection(gx_connection(con))  # a second connection, con's search path
    wrapped.begin()
    cursor = wrapped.cursor()
    cursor.execute("select id from people order by id")
    wrapped.rollback()
    assert cursor.fetchone() == (1,)
    assert cursor.fetchmany(2) == [(2,), (3,)]
    assert cursor.fetchall() == [(4,), (5,), (6,)]


def _validate(con, query, *expectations):
    context = gx.get_context(mode="ephemeral")
    gx_con = gx_connection(con)
    run(gx_con, f"create temp view batch as {query}")  # GX's connection sees its temp views
    source = add_duckdb_datasource(context, lambda: gx_con, "warehouse")
    batch = source.add_table_asset("people", table_name="batch").add_batch_definition_whole_table(
        "all"
    )
    suite = gx.ExpectationSuite(name="people", expectations=list(expectations))
    result = batch.get_batch().validate(
        suite,
        result_format={"result_format": "SUMMARY", "unexpected_index_column_names": ["id"]},
    )
    # GX orders results its own way: return them in the order the expectations were given.
    found = {
        _key(r.expectation_config.type, r.expectation_config.kwargs): r for r in result.results
    }
    return [found[_key(e.expectation_type, e.configuration.kwargs)] for e in expectations]


def _key(kind: str, kwargs) -> tuple:
    return (kind, kwargs.get("column"), kwargs.get("regex"))


def test_expectations_run_in_the_database_with_their_rows(con):
    E = gx.expectations
    not_null, unique, lower, matches, lower_start = _validate(
        con,
        "select * from people",  # unqualified: GX's connection has the pipeline's search path
        E.ExpectColumnValuesToNotBeNull(column="email"),
        E.ExpectColumnValuesToBeUnique(column="id"),
        # Upper case or edge whitespace: rows 2 ('Bob@…') and 3 (' cy@…'), found by hand.
        E.ExpectColumnValuesToNotMatchRegex(column="email", regex=r"[A-Z]|^\s|\s$"),
        # A partial match (as pandas and PostgreSQL do), not DuckDB's full-match `~`: '@ex'
        # is inside every address, so all five non-null values match.
        E.ExpectColumnValuesToMatchRegex(column="email", regex="@ex"),
        # Starts with a lower-case letter: ' cy@…' and 'Bob@…' do not.
        E.ExpectColumnValuesToMatchRegex(column="email", regex="^[a-z]+@"),
    )
    assert not_null.success is False
    assert not_null.result["unexpected_count"] == 1  # row 5
    assert unique.success is True
    assert lower.success is False
    assert sorted(x["id"] for x in lower.result["partial_unexpected_index_list"]) == [2, 3]
    assert matches.success is True
    assert matches.result["unexpected_count"] == 0
    assert lower_start.success is False
    assert sorted(lower_start.result["partial_unexpected_list"]) == [
        " cy@example.org",
        "Bob@example.org",
    ]


def test_the_pipeline_connection_stays_usable_and_is_seen(con):
    # GX uses a second connection of the same database object: the pipeline's connection can
    # write afterwards, and what it commits is what GX validates next.
    E = gx.expectations
    (first,) = _validate(con, "select * from people", E.ExpectTableRowCountToBeBetween(max_value=6))
    run(con, "insert into people values (7, 'fay@example.org')")
    (second,) = _validate(
        con, "select * from people", E.ExpectTableRowCountToBeBetween(max_value=6)
    )
    assert (first.success, first.result["observed_value"]) == (True, 6)
    assert (second.success, second.result["observed_value"]) == (False, 7)
    assert rows(con, "select count(*) from people") == [(7,)]


def test_one_data_source_per_step_sees_what_the_pipeline_commits(con, tmp_path):
    # A check step validates several assets through one GX data source (stages.validate_assets)
    # while its own connection writes watermarks between them; each run sees those writes.
    from pipeline.validation.runner import _session, run_suite_sql, sql_source
    from pipeline.validation.suites import Suite

    document = {
        "name": "people_rows",
        "expectations": [
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 6},
             "severity": "critical"}
        ],
    }  # fmt: skip
    suite = Suite(
        "people_rows", tmp_path / "people_rows.json", "marts", "people", "table", document
    )

    def validate(source):
        return run_suite_sql(
            source, suite, "select * from people", 0, target="people", batch="all", run_id="r"
        )

    with sql_source(con) as source:
        first = validate(source)
        run(con, "insert into people values (7, 'fay@example.org')")
        second = validate(source)
        gx_con, datasource = source.con, source.datasource
        assert datasource.name in _session().context.data_sources.all()
    with pytest.raises(duckdb.ConnectionException):  # closed at the step's end
        gx_con.execute("select 1")
    run(con, "delete from people where id = 7")
    # The next step: the process's one GX data source again, its engine on a new connection.
    with sql_source(con) as again:
        assert again.datasource is datasource and again.con is not gx_con
        third = validate(again)
    # 6 rows, then 7 after the pipeline's insert (max 6: fails), then 6 again after the delete,
    # counted by hand above.
    assert [e.observed for o in (first, second, third) for e in o.expectations] == [
        "observed 6",
        "observed 7",
        "observed 6",
    ]
    assert (first.status, second.status, third.status) == ("passed", "error", "passed")


def test_a_materialised_batch_is_validated_like_its_view_and_dropped(con, tmp_path):
    # A selecting batch (batches.Batch.materialize) is run once into a temporary table of GX's
    # connection; the suite must see the same rows as through a view, and the table must go.
    from pipeline.validation.runner import run_suite_sql, sql_source
    from pipeline.validation.suites import Suite

    document = {
        "name": "people_emails",
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "email"},
             "severity": "critical"}
        ],
    }  # fmt: skip
    suite = Suite(
        "people_emails", tmp_path / "people_emails.json", "staging", "people", "new_rows",
        document, index_columns=("id",),
    )  # fmt: skip
    query = "select id, email from people where id >= 3"  # rows 3-6; row 5 has no e-mail
    outcomes = []
    with sql_source(con) as source:
        for materialize in (False, True):
            outcomes.append(
                run_suite_sql(
                    source,
                    suite,
                    query,
                    4,
                    target="people",
                    batch="ids >= 3",
                    run_id="r",
                    materialize=materialize,
                )  # fmt: skip
            )
        left = rows(source.con, "select table_name from duckdb_tables() where temporary")
    assert left == []
    view, table = (o.expectations[0] for o in outcomes)
    assert (view.success, view.observed, view.examples) == (
        False,
        "1 of 4 rows unexpected",
        ["null (id 5)"],
    )
    assert (table.success, table.observed, table.examples) == (
        view.success,
        view.observed,
        view.examples,
    )
