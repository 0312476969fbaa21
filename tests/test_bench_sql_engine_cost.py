"""bench/sql_engine_cost.py: the landed copy keeps what a full build starts from (raw tables,
settings, Python-built tables and their records) and drops every SQL model's table, record and
delta; the statement timer puts back the helpers it wrapped."""

from __future__ import annotations

from pathlib import Path

from helpers import bench_module

from pipeline import warehouse as wh
from pipeline.engine import BuildLog, skip
from pipeline.warehouse import open_warehouse, rows, run


def test_the_landed_copy_drops_only_the_sql_models(tmp_path: Path) -> None:
    bench = bench_module("sql_engine_cost")
    source = tmp_path / "built.duckdb"
    with open_warehouse(source) as con:
        run(con, "create table raw.raw_orders (order_id text, _delivery_seq bigint)")
        run(con, "insert into raw.raw_orders values ('o1', 1)")
        # stg_orders and customer_360 are SQL models (sql/); int_mention_sentiment is not.
        run(con, "create table staging.stg_orders as select 'o1' as order_id")
        run(con, "create table marts.customer_360 as select 1 as n")
        run(con, "create table intermediate.int_mention_sentiment as select 1 as n")
        run(con, 'create table meta."stg_orders__delta" as select 1 as n')
        log = BuildLog(con)
        for name in ("stg_orders", "customer_360", "int_mention_sentiment"):
            log.record(name, "v", [])
            skip.record(con, name, "v", {})
        skip.note_skipped(con, "r1", "customer_360", "same")
    base = tmp_path / "landed.duckdb"
    bench.landed_copy(source, base)
    with open_warehouse(base) as con:
        tables = rows(
            con,
            "select schema_name || '.' || table_name from duckdb_tables() order by 1",
        )
        # Left: the raw table, the Python-built table, the two record tables (3 + 1 + 2).
        assert [t for (t,) in tables] == [
            "intermediate.int_mention_sentiment",
            "meta.build_inputs",
            "meta.model_builds",
            "raw.raw_orders",
        ]
        assert rows(con, "select model from meta.model_builds") == [("int_mention_sentiment",)]
        assert rows(con, "select target from meta.build_inputs") == [("int_mention_sentiment",)]
    # The source is as it was: both models still there.
    with open_warehouse(source, read_only=True) as con:
        assert rows(con, "select count(*) from marts.customer_360") == [(1,)]


def test_the_statement_timer_labels_and_puts_back_what_it_wrapped() -> None:
    bench = bench_module("sql_engine_cost")
    timer = bench.Statements()
    before = (skip.run, skip.rows, wh.run)
    with open_warehouse(":memory:") as con, timer.installed([skip]):
        assert skip.run is not before[0]
        skip.run(con, "create or replace table main.t as\n select 1 as a")
        skip.rows(con, "select 'a long literal' as x from main.t")
    assert (skip.run, skip.rows, wh.run) == before
    # The model's own statement by its first five words; literals hidden.
    assert [label for label, _, _ in timer.take()] == [
        "create or replace table main.t",
        "select '…' as x from main.t",
    ]
