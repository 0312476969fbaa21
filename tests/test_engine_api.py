"""The engine's typed API: build modes and reasons, the build log other steps call, the marts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.cli.docs import MART_ORDER
from pipeline.engine import (
    CHANGE,
    BuildLog,
    BuildMode,
    build,
    discover_models,
    mart_names,
    sql_marts,
)
from pipeline.engine.settings_table import RunSettings, settings_table_sql, write_settings_table
from pipeline.warehouse import open_warehouse, rows, run

# First copy of each item, as the immutable entities' staging models keep it.
APPEND_SQL = """
with ranked as (
    select *, row_number() over (partition by item_id order by _delivery_seq, _row_number) as r
    from raw_items
)
select item_id, label, _delivery_seq from ranked where r = 1
"""


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def deliver(con, seq: int, items: list[str]) -> None:
    for row, item_id in enumerate(items, start=2):
        run(con, "insert into raw.raw_items values (?, ?, ?, ?)", [item_id, "x", row, seq])


def models(sql_dir: Path) -> dict:
    return {m.name: m for m in discover_models(sql_dir, known_tables={"raw_items"})}


def test_each_build_says_its_mode_and_why_it_rebuilt(tmp_path):
    sql = tmp_path / "sql"
    write(sql, "staging/stg_items.sql", APPEND_SQL)
    write(sql, "staging/stg_items.yml", "incremental:\n  unique_key: item_id\n")
    write(sql, "marts/item_count.sql", "select count(*) as n from stg_items")
    m = models(sql)
    with open_warehouse(tmp_path / "w.duckdb") as con:
        run(
            con,
            "create table raw.raw_items (item_id text, label text, _row_number int, "
            "_delivery_seq int)",
        )
        deliver(con, 1, ["a", "b"])
        first = build(con, m["stg_items"])
        assert (first.mode, first.rows, first.reason) == (
            BuildMode.FULL_REBUILD,
            2,
            "no earlier build",
        )
        # Delivery 2 brings c (new) and a (a later copy, not kept): one row appended.
        deliver(con, 2, ["c", "a"])
        second = build(con, m["stg_items"])
        assert (second.mode, second.rows) == (BuildMode.INCREMENTAL, 3)
        assert second.description == "appended 1 row (deliveries after #1)"
        third = build(con, m["stg_items"])
        assert (third.mode, third.description) == (
            BuildMode.UNCHANGED,
            "appended 0 rows (deliveries after #2)",
        )
        refresh = build(con, m["stg_items"], full_refresh=True)
        assert (refresh.mode, refresh.reason) == (BuildMode.FULL_REBUILD, "full refresh")
        # Each build says the number it recorded: the fourth build of stg_items is number 4,
        # as meta.model_builds holds it (skip.record takes it from here, not a second query).
        assert [r.build_id for r in (first, second, third, refresh)] == [1, 2, 3, 4]
        assert rows(con, "select build_id from meta.model_builds where model = 'stg_items'") == [
            (4,)
        ]
        mart = build(con, m["item_count"])
        assert (mart.mode, mart.rows, mart.reason) == (BuildMode.FULL_REBUILD, 1, "not incremental")
        assert rows(con, "select n from marts.item_count") == [(3,)]


def test_the_build_log_api_validation_and_sentiment_use(tmp_path):
    sql = tmp_path / "sql"
    write(sql, "staging/stg_items.sql", APPEND_SQL)
    write(sql, "staging/stg_items.yml", "incremental:\n  unique_key: item_id\n")
    stg = models(sql)["stg_items"]
    with open_warehouse(tmp_path / "w.duckdb") as con:
        run(
            con,
            "create table raw.raw_items (item_id text, label text, _row_number int, "
            "_delivery_seq int)",
        )
        deliver(con, 1, ["a"])
        log = BuildLog(con)
        assert log.build_id("stg_items") is None  # never built
        build(con, stg)  # build 1: a rebuild
        # A Python step that never recorded a build cannot be told a delta: rebuild it.
        assert log.parent_delta("scored", "v1", "stg_items") is None
        log.record("scored", "v1", ["stg_items"])  # it read build 1
        deliver(con, 2, ["b"])
        build(con, stg)  # build 2: appends b
        assert log.build_id("stg_items") == 2
        assert log.builds(["stg_items"])["stg_items"].rebuilt_build_id == 1  # appended to since
        delta = log.parent_delta("scored", "v1", "stg_items")
        assert rows(con, f"select item_id, {CHANGE} from ({delta.inserted()}) as d") == [
            ("b", "insert")
        ]
        # Another code version of the reader: its table is stale, no delta.
        assert log.parent_delta("scored", "v2", "stg_items") is None
        build(con, stg, full_refresh=True)  # build 3: rebuilt whole
        assert log.builds(["stg_items"])["stg_items"].rebuilt_build_id == 3
        # The reader read build 1; stg_items is at build 3: more than one build, no delta.
        assert log.parent_delta("scored", "v1", "stg_items") is None


def test_a_build_log_of_the_first_release_gains_the_later_columns(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as con:
        run(con, "create schema if not exists meta")
        run(
            con,
            "create table meta.model_builds (model varchar primary key, sql_sha256 varchar not "
            "null, source_delivery_seq bigint, built_at timestamp not null)",
        )
        run(con, "insert into meta.model_builds values ('stg_x', 'abc', 7, now())")
        log = BuildLog(con)
        (build_row,) = log.builds(["stg_x"]).values()
        # Built before builds were counted: once, with no delta, rebuild number unknown.
        assert (build_row.build_id, build_row.has_delta, build_row.source_seq) == (1, False, 7)
        assert (build_row.parent_builds, build_row.rebuilt_build_id) == ({}, None)
        columns = rows(
            con,
            "select column_name from information_schema.columns "
            "where table_name = 'model_builds' order by ordinal_position",
        )
        assert [c for (c,) in columns][4:] == [
            "build_id",
            "as_of_end",
            "has_delta",
            "parent_builds",
            "rebuilt_build_id",
        ]


def test_the_marts_come_from_discovery():
    # The nine marts of spec/metrics.md, social_language_monthly, and the two prediction marts
    # built in Python (assets/predictions.py), last.
    spec = {
        "retention_monthly",
        "cohort_retention",
        "loyalty_customers",
        "loyalty_summary",
        "satisfaction_monthly",
        "social_monthly",
        "email_monthly",
        "channel_retention",
        "customer_360",
    }
    names = mart_names()
    assert set(names) == spec | {
        "social_language_monthly",
        "customer_predictions",
        "prediction_model",
    }
    assert names[-2:] == ["customer_predictions", "prediction_model"]
    # docs/metrics.md orders the SQL marts as the spec does; it names each one, and no other.
    assert sorted(MART_ORDER) == sorted(sql_marts())


def test_the_settings_table_is_written_alike_by_parameters_and_by_script(tmp_path):
    brand = (("twitter", "acme"), ("facebook", "o'neil"))  # a quote written into the script
    settings = RunSettings(
        dt.date(2026, 10, 31), 90, 24.0, "Europe/Bucharest", b"\x00\xff", None, brand
    )
    # as_of_end: 00:00 of the day after as_of.
    expected = [
        (
            dt.date(2026, 10, 31),
            dt.datetime(2026, 11, 1),
            90,
            24.0,
            "Europe/Bucharest",
            b"\x00\xff",
            None,
        )
    ]
    handles = "select * from meta.brand_handles order by all"
    with open_warehouse(tmp_path / "w.duckdb") as con:
        write_settings_table(con, settings)
        assert rows(con, "select * from meta.pipeline_settings") == expected
        assert rows(con, handles) == [("facebook", "o'neil"), ("twitter", "acme")]
        run(con, settings_table_sql(settings))
        assert rows(con, "select * from meta.pipeline_settings") == expected
        assert rows(con, handles) == [("facebook", "o'neil"), ("twitter", "acme")]
        # None (the default): the table stands, empty, for the models to read.
        run(con, settings_table_sql(RunSettings(dt.date(2026, 10, 31), 90, 24.0)))
        assert rows(con, handles) == []
