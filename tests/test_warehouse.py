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


def test_deferred_checkpoints_keep_a_large_commit_in_the_wal_until_the_file_closes(tmp_path):
    from pipeline.warehouse import defer_checkpoints

    # 100,000 rows of about 200 bytes: some 21 MB of WAL, past DuckDB's default threshold of
    # 16 MiB; fewer rows than a row group (122,880), so none is written to the file before
    # the commit either.
    make = "create table marts.t as select range as n, repeat('x', 200) || range as s "
    make += "from range(100000)"
    by_default, deferred = tmp_path / "default.duckdb", tmp_path / "deferred.duckdb"
    then = "create table meta.note as select 1 as n"  # the next commit, a small one
    with open_warehouse(by_default) as con:
        run_sql(con, make)
        run_sql(con, then)
        # DuckDB 2.0 checkpointed on the commit after the WAL passed 16 MiB: all in the file.
        assert wal_bytes(by_default) < 16 * 2**20
    with open_warehouse(deferred) as con:
        defer_checkpoints(con)
        run_sql(con, make)
        run_sql(con, then)
        assert wal_bytes(deferred) > 16 * 2**20  # in the WAL, not yet in the file
        other = con.cursor()  # another connection to the instance has the same setting
        assert scalar(other, "select current_setting('checkpoint_threshold')") == "244.1 MiB"
    # Closing checkpointed once: no WAL left, every row in the file (0 + 1 + … + 99,999).
    assert wal_bytes(deferred) == 0
    with open_warehouse(deferred, read_only=True) as con:
        assert rows(con, "select count(*), sum(n) from t") == [(100_000, 4_999_950_000)]


def run_sql(con, sql: str) -> None:
    con.execute(sql).fetchall()


def wal_bytes(path) -> int:
    wal = path.with_name(path.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0
