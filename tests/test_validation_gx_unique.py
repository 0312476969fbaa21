"""GX's uniqueness metric on DuckDB: grouped repeated keys (pipeline/validation/gx_duckdb.py)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from sqlalchemy import event

from pipeline.validation.gx_duckdb import add_duckdb_datasource, declare_unique
from pipeline.warehouse import run

gx = pytest.importorskip("great_expectations")

# Keys a at ids 1, 3, 7; b at ids 2, 6; c at id 5; no key at ids 4 and 8.
ROWS = [(1, "a"), (2, "b"), (3, "a"), (4, None), (5, "c"), (6, "b"), (7, "a"), (8, None)]
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 20,
    "unexpected_index_column_names": ["id"],
}


def _suite(**kwargs) -> object:
    return gx.ExpectationSuite(
        name="unique",
        expectations=[gx.expectations.ExpectColumnValuesToBeUnique(column="k", **kwargs)],
    )


def _duckdb_result(tmp_path, rows, statements: list[str] | None = None, declare=None, **kwargs):
    """The unique expectation on key ``k`` of ``rows`` with GX's SQL engine on a DuckDB file
    (a temporary view ``t``, declaring the column ``declare`` unique); every SQL statement GX
    sends is appended to ``statements``."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    run(con, "create table rows (id integer, k varchar)")
    con.executemany("insert into rows values (?, ?)", rows)
    run(con, "create temp view t as select * from rows")
    if declare:
        declare_unique(con, "t", declare)
    source = add_duckdb_datasource(gx.get_context(mode="ephemeral"), lambda: con, "warehouse")
    batch = source.add_table_asset("t", table_name="t").add_batch_definition_whole_table("all")
    gx_batch = batch.get_batch()
    if statements is not None:
        engine = gx_batch.data.execution_engine.engine
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    result = gx_batch.validate(_suite(**kwargs), result_format=RESULT_FORMAT).results[0]
    con.close()
    return result


def _pandas_result(rows):
    """The same expectation with GX's own pandas route (``~column.duplicated(keep=False)``)."""
    frame = pd.DataFrame(rows, columns=["id", "k"])
    source = gx.get_context(mode="ephemeral").data_sources.add_pandas("frames")
    batch = source.add_dataframe_asset("t").add_batch_definition_whole_dataframe("all")
    return (
        batch.get_batch(batch_parameters={"dataframe": frame})
        .validate(_suite(), result_format=RESULT_FORMAT)
        .results[0]
    )


def test_repeated_keys_give_gx_own_result(tmp_path):
    statements: list[str] = []
    mine = _duckdb_result(tmp_path, ROWS, statements)
    # By hand: a repeats on 3 rows and b on 2, so 5 unexpected rows (ids 1, 2, 3, 6, 7); c once
    # is expected; the 2 null keys are missing, not unexpected: 5 of 6 non-null = 83.33 %.
    assert mine.success is False
    assert mine.result["unexpected_count"] == 5
    assert mine.result["missing_count"] == 2
    assert mine.result["unexpected_percent"] == pytest.approx(500 / 6)
    assert sorted(mine.result["partial_unexpected_list"]) == ["a", "a", "a", "b", "b"]
    counts = {c["value"]: c["count"] for c in mine.result["partial_unexpected_counts"]}
    assert counts == {"a": 3, "b": 2}
    located = sorted((r["id"], r["k"]) for r in mine.result["partial_unexpected_index_list"])
    assert located == [(1, "a"), (2, "b"), (3, "a"), (6, "b"), (7, "a")]
    # GX's own route gives the same (the order of its examples is its own).
    theirs = _pandas_result(ROWS)
    for field in ("unexpected_count", "missing_count", "element_count", "unexpected_percent"):
        assert mine.result[field] == pytest.approx(theirs.result[field]), field
    assert sorted(theirs.result["partial_unexpected_list"]) == ["a", "a", "a", "b", "b"]
    # And DuckDB was asked for a grouping of the keys, never for a window over the rows.
    sent = " ".join(statements).upper()
    assert "OVER (" not in sent
    assert ") AS REPEATED_KEYS" in sent  # gx_duckdb's grouping of the keys


def test_distinct_keys_pass(tmp_path):
    # 1, 2, 3 once each and two null keys: nothing repeats, so nothing is unexpected.
    rows = [(1, "a"), (2, "b"), (3, "c"), (4, None), (5, None)]
    mine = _duckdb_result(tmp_path, rows)
    assert mine.success is True
    assert mine.result["unexpected_count"] == 0
    assert mine.result["partial_unexpected_list"] == []
    assert mine.result["missing_count"] == 2
    assert _pandas_result(rows).success is True


def test_a_view_declaring_the_key_unique_is_not_grouped(tmp_path):
    # a, b, c once each and two null keys, the view's comment says k is unique (as
    # landed.load_landed_batch declares it after counting): GX's result is the same as when
    # grouped (test_distinct_keys_pass), and the count was not grouped (only GX's own query
    # for examples by index column, which SUMMARY asks for, groups: "column_values_unique_").
    rows = [(1, "a"), (2, "b"), (3, "c"), (4, None), (5, None)]
    statements: list[str] = []
    mine = _duckdb_result(tmp_path, rows, statements, declare="k")
    assert mine.success is True
    assert mine.result["unexpected_count"] == 0
    assert mine.result["missing_count"] == 2
    assert mine.result["element_count"] == 5
    sent = " ".join(statements).upper()
    assert "REPEATED_KEYS" not in sent and "OVER (" not in sent


def test_a_declaration_of_another_column_does_not_hide_repeats(tmp_path):
    # id declared unique, k checked: k's repeats are found as without a declaration (a 3 times,
    # b twice: 5 rows, test_repeated_keys_give_gx_own_result).
    mine = _duckdb_result(tmp_path, ROWS, declare="id")
    assert mine.result["unexpected_count"] == 5


def test_a_row_condition_is_applied_before_grouping(tmp_path):
    # Only ids above 2: a at ids 3 and 7 repeats (2 unexpected rows); b (id 6) and c are once.
    from great_expectations.expectations.row_conditions import Column

    mine = _duckdb_result(tmp_path, ROWS, row_condition=Column("id") > 2)
    assert mine.result["unexpected_count"] == 2
    located = sorted((r["id"], r["k"]) for r in mine.result["partial_unexpected_index_list"])
    assert located == [(3, "a"), (7, "a")]


def test_other_dialects_keep_gx_window(tmp_path):
    # SQLite through GX's SQL engine still gets GX's own window function (the override is for
    # DuckDB only), with the same outcome as above: 5 unexpected rows.
    import sqlite3

    from pipeline.validation.gx_duckdb import register_duckdb_metrics

    register_duckdb_metrics()
    path = tmp_path / "t.sqlite"
    with sqlite3.connect(path) as lite:
        lite.execute("create table t (id integer, k text)")
        lite.executemany("insert into t values (?, ?)", ROWS)
    source = gx.get_context(mode="ephemeral").data_sources.add_sqlite(
        "lite", connection_string=f"sqlite:///{path}"
    )
    batch = source.add_table_asset("t", table_name="t").add_batch_definition_whole_table("all")
    gx_batch = batch.get_batch()
    statements: list[str] = []
    engine = gx_batch.data.execution_engine.engine
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    result = gx_batch.validate(_suite(), result_format=RESULT_FORMAT).results[0]
    assert result.result["unexpected_count"] == 5
    assert "OVER (" in " ".join(statements).upper()
