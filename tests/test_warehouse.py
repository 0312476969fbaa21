"""The warehouse helpers on a real DuckDB file: memory limit and results always fetched."""

import pytest

from pipeline.warehouse import MEMORY_LIMIT_ENV, open_warehouse, rows, scalar


def test_memory_limit_defaults_to_3gb_and_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    with open_warehouse(tmp_path / "w.duckdb") as con:
        # DuckDB reports sizes in binary units: 3 GB = 3e9 bytes = 2.7 GiB.
        assert scalar(con, "select current_setting('memory_limit')") == "2.7 GiB"
        assert rows(con, "select current_setting('search_path')") == [
            ("meta,raw,staging,intermediate,marts",)
        ]
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "512MiB")
    with open_warehouse(tmp_path / "w.duckdb") as con:
        assert scalar(con, "select current_setting('memory_limit')") == "512.0 MiB"


def test_a_bad_memory_limit_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(ValueError, match="PIPELINE_DUCKDB_MEMORY_LIMIT='lots' is not a memory"):
        with open_warehouse(tmp_path / "w.duckdb"):
            pass


def test_add_missing_columns_adds_only_what_an_older_table_lacks(tmp_path):
    from pipeline.warehouse import add_missing_columns

    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.execute("create table meta.t (a integer)").fetchall()
        con.execute("insert into meta.t values (1)").fetchall()
        columns = {"a": "integer", "b": "bigint", "c": "varchar"}
        assert add_missing_columns(con, "meta", "t", columns) == ["b", "c"]
        assert add_missing_columns(con, "meta", "t", columns) == []
        assert rows(con, "select * from meta.t") == [(1, None, None)]


def test_prepare_makes_only_the_missing_layer_schemas(tmp_path):
    import duckdb

    from pipeline.warehouse import SCHEMAS, prepare

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        con.execute("create schema staging").fetchall()
        con.execute("create table staging.t as select 1 as a").fetchall()
        prepare(con)  # staging is there (with its table): the other four are made
        have = {s for (s,) in rows(con, "select schema_name from duckdb_schemas()")}
        assert set(SCHEMAS) <= have
        assert rows(con, "select a from t") == [(1,)]  # found through the search path
        other = con.cursor()  # a second connection to the same database: nothing to make
        prepare(other)
        assert rows(other, "select current_setting('search_path')") == [
            ("meta,raw,staging,intermediate,marts",)
        ]
    finally:
        con.close()
