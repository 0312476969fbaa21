"""The model kinds' rules (pipeline/engine/kinds.py) on small models in a real DuckDB file.

Each test writes a few models of its own, lands rows by hand and builds them one at a time; the
expected tables, modes and reasons are worked out by hand from the rows landed (in comments).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.engine import (
    Append,
    BuildMode,
    DeleteInsert,
    Diff,
    ModelError,
    Table,
    build,
    discover_models,
)
from pipeline.warehouse import open_warehouse, rows, run

# The first delivered copy of each item, as the immutable entities' staging models keep it.
FIRST_COPY = (
    "select item_id, label, _delivery_seq from raw_items "
    "qualify row_number() over (partition by item_id order by _delivery_seq) = 1"
)
NOTHING_LANDED = "nothing was landed then, or the landed table was rebuilt since"


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def models(sql_dir: Path, known: set[str]) -> dict:
    return {m.name: m for m in discover_models(sql_dir, known_tables=known)}


def how(result) -> tuple:
    """A build's mode, row count, log line and reason, compared whole."""
    return result.mode, result.rows, result.description, result.reason


def test_an_append_model_says_why_it_rebuilds(tmp_path):
    sql = tmp_path / "sql"
    write(sql, "staging/stg_items.sql", FIRST_COPY)
    write(sql, "staging/stg_items.yml", "incremental:\n  unique_key: item_id\n")
    items = "select item_id, label from staging.stg_items order by item_id"
    with open_warehouse(tmp_path / "w.duckdb") as con:
        run(con, "create table raw.raw_items (item_id text, label text, _delivery_seq int)")
        stg = models(sql, {"raw_items"})["stg_items"]
        # Nothing landed yet: an empty table, and the build records no delivery number.
        assert how(build(con, stg)) == (BuildMode.FULL_REBUILD, 0, "rebuilt", "no earlier build")
        run(con, "insert into raw.raw_items values ('a', 'a1', 1), ('b', 'b1', 1)")
        # The last build saw no delivery, so it cannot say which are new: a rebuild (a, b).
        assert how(build(con, stg)) == (BuildMode.FULL_REBUILD, 2, "rebuilt", NOTHING_LANDED)
        run(con, "insert into raw.raw_items values ('c', 'c2', 2), ('a', 'a2', 2)")
        # Delivery 2 after #1: c is new, a's later copy is not kept: one row appended.
        assert how(build(con, stg)) == (
            BuildMode.INCREMENTAL,
            3,
            "appended 1 row (deliveries after #1)",
            "",
        )
        assert rows(con, items) == [("a", "a1"), ("b", "b1"), ("c", "c2")]
        run(con, "drop table staging.stg_items")
        assert how(build(con, stg)) == (
            BuildMode.FULL_REBUILD,
            3,
            "rebuilt",
            "its table is missing",
        )
        # The landed table emptied: its latest delivery is null, so a rebuild (of nothing).
        run(con, "delete from raw.raw_items")
        assert how(build(con, stg)) == (BuildMode.FULL_REBUILD, 0, "rebuilt", NOTHING_LANDED)
        run(con, "insert into raw.raw_items values ('d', 'd1', 1)")
        build(con, stg)  # the rebuild after an empty landed table (as above): d
        # Edited and edited back: each edit is a new model, whichever way its hash compares.
        changed = "its SQL or incremental: block changed"
        for sql_text in (FIRST_COPY.replace("label,", "upper(label) as label,"), FIRST_COPY):
            write(sql, "staging/stg_items.sql", sql_text)
            stg = models(sql, {"raw_items"})["stg_items"]
            assert how(build(con, stg)) == (BuildMode.FULL_REBUILD, 1, "rebuilt", changed)
        assert rows(con, items) == [("d", "d1")]


def test_an_append_model_that_reads_no_table_says_so(tmp_path):
    write(tmp_path, "staging/stg_x.sql", "select 1 as k")
    write(tmp_path, "staging/stg_x.yml", "incremental:\n  unique_key: k\n")
    with pytest.raises(ModelError, match="reads exactly one landed table, not none$"):
        discover_models(tmp_path, known_tables=set())


# Totals per key over a staging table rebuilt whole (no _delivery_seq); the keys to rewrite
# are those with an item at or after the as_of end of the model's last build.
TOTALS_SQL = "select k, sum(v) as total from stg_items group by k"
TOTALS_YML = """incremental:
  strategy: delete+insert
  unique_key: [k]
  source: stg_items
  changed_keys: >-
    select k from stg_items cross join last_build
    where stg_items.seen_at >= last_build.as_of_end
"""


def test_delete_insert_over_a_source_without_deliveries_and_the_as_of_rule(tmp_path):
    sql = tmp_path / "sql"
    write(sql, "staging/stg_items.sql", "select k, v, seen_at from raw_items")
    write(sql, "intermediate/int_totals.sql", TOTALS_SQL)
    write(sql, "intermediate/int_totals.yml", TOTALS_YML)
    m = models(sql, {"raw_items"})
    totals = "select k, total from intermediate.int_totals order by k"
    with open_warehouse(tmp_path / "w.duckdb") as con:
        run(con, "create table raw.raw_items (k text, v int, seen_at timestamp)")
        run(con, "insert into raw.raw_items values ('a', 1, '2026-03-01'), ('b', 2, '2026-03-02')")
        build(con, m["stg_items"])
        # No settings table: the first build records no as_of end.
        assert build(con, m["int_totals"]).reason == "no earlier build"
        run(con, "create table meta.pipeline_settings (as_of_end timestamp)")
        run(con, "insert into meta.pipeline_settings values ('2026-03-31')")
        # changed_keys reads last_build, whose as_of_end is unknown: a rebuild.
        assert how(build(con, m["int_totals"])) == (
            BuildMode.FULL_REBUILD,
            2,
            "rebuilt",
            "the last build did not record its as_of",
        )
        run(con, "insert into raw.raw_items values ('a', 10, '2026-04-02')")
        build(con, m["stg_items"])  # a whole rebuild: stg_items has no _delivery_seq
        # No delivery numbers to compare, so no rebuild for that: only a has an item at or
        # after 2026-03-31 (the last build's as_of end); a's total 1 + 10 = 11.
        assert how(build(con, m["int_totals"])) == (
            BuildMode.INCREMENTAL,
            2,
            "rewrote 1 changed key (1 row out, 1 in)",
            "",
        )
        assert rows(con, totals) == [("a", 11), ("b", 2)]


def test_a_parent_read_whole_needs_no_delta_nor_a_recorded_as_of(tmp_path):
    # stg_a_extras is 7 characters longer than stg_a, as <parent>__delta is: it is still a
    # table read whole, and stg_a (rebuilt whole since: no delta) is not asked for a delta.
    sql = tmp_path / "sql"
    write(sql, "staging/stg_a.sql", "select k, v from raw_a")
    write(sql, "staging/stg_a_extras.sql", "select k, note from raw_a_extras")
    write(
        sql,
        "intermediate/int_m.sql",
        "select a.k, a.v, e.note from stg_a as a left join stg_a_extras as e using (k)",
    )
    write(
        sql,
        "intermediate/int_m.yml",
        "incremental:\n  strategy: delete+insert\n  unique_key: [k]\n  source: stg_a\n"
        "  changed_keys: select k from stg_a_extras\n",
    )
    m = models(sql, {"raw_a", "raw_a_extras"})
    with open_warehouse(tmp_path / "w.duckdb") as con:
        run(con, "create table raw.raw_a (k text, v int)")
        run(con, "create table raw.raw_a_extras (k text, note text)")
        run(con, "insert into raw.raw_a values ('a', 1), ('b', 2)")
        run(con, "insert into raw.raw_a_extras values ('a', 'n')")
        for name in ("stg_a", "stg_a_extras", "int_m"):
            build(con, m[name])
        run(con, "update raw.raw_a set v = 5")
        build(con, m["stg_a"])
        # An as_of now, none at the last build: changed_keys does not read last_build, so
        # that does not matter.
        run(
            con, "create table meta.pipeline_settings as select timestamp '2026-03-31' as as_of_end"
        )
        # The key in stg_a_extras (a) is rewritten from stg_a's rows now: (a, 5, n); b is kept.
        assert how(build(con, m["int_m"])) == (
            BuildMode.INCREMENTAL,
            2,
            "rewrote 1 changed key (1 row out, 1 in)",
            "",
        )
        assert rows(con, "select * from intermediate.int_m order by k") == [
            ("a", 5, "n"),
            ("b", 2, None),
        ]


USAGE = "write 'incremental:' as"


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("  strategy: diff\n", USAGE),  # no unique_key
        ("  unique_key: {k: 1}\n", USAGE),  # neither a column nor a list of them
        ("  unique_key: ''\n", USAGE),  # an empty column name
        ("  strategy: diff\n  unique_key: [k, 5]\n", USAGE),  # a number is no column name
        ("  unique_key: [k, j]\n", "an append model has one unique_key column"),
        (
            "  strategy: delete+insert\n  unique_key: [k]\n  source: stg_items\n"
            "  changed_keys: '  '\n",
            USAGE,
        ),
        (
            "  strategy: delete+insert\n  unique_key: [k]\n  source: stg_items\n"
            "  changed_keys: [k]\n",
            USAGE,
        ),
        ("  strategy: diff\n  unique_key: [k]\n  changed_keys: select 1\n", "belong to strategy"),
    ],
)
def test_incremental_blocks_that_are_refused(tmp_path, block, message):
    write(tmp_path, "staging/stg_items.sql", "select k, v from raw_items")
    write(tmp_path, "intermediate/int_totals.sql", TOTALS_SQL)
    write(tmp_path, "intermediate/int_totals.yml", "incremental:\n" + block)
    with pytest.raises(ModelError, match=message) as err:
        discover_models(tmp_path, known_tables={"raw_items"})
    assert str(err.value).startswith(str(tmp_path / "intermediate/int_totals.yml"))


def test_a_delete_insert_block_is_read_in_lower_case_and_without_its_semicolon(tmp_path):
    write(tmp_path, "staging/stg_items.sql", "select k, v from raw_items")
    write(tmp_path, "intermediate/int_totals.sql", TOTALS_SQL)
    write(
        tmp_path,
        "intermediate/int_totals.yml",
        "incremental:\n  strategy: delete+insert\n  unique_key: K\n  source: STG_ITEMS\n"
        "  changed_keys: ' select k from stg_items ; '\n",
    )
    totals = models(tmp_path, {"raw_items"})["int_totals"]
    # unique_key K -> ("k",); source lower case; the text stripped, its ";" and the space
    # before it dropped.
    assert totals.kind == DeleteInsert(("k",), "stg_items", "select k from stg_items")


# Totals per key straight from a landed table (as stg_orders reads raw_orders): the keys to
# rewrite are those delivered after the model's last build.
LANDED_TOTALS_SQL = (
    "select k, sum(v) as total, max(_delivery_seq) as _delivery_seq from raw_items group by k"
)
LANDED_TOTALS_YML = """incremental:
  strategy: delete+insert
  unique_key: [k]
  source: raw_items
  changed_keys: >-
    select k from raw_items cross join last_build
    where raw_items._delivery_seq > last_build.source_delivery_seq
"""


def test_delete_insert_over_a_landed_table_rebuilds_when_deliveries_cannot_be_compared(
    tmp_path,
):
    sql = tmp_path / "sql"
    write(sql, "staging/stg_totals.sql", LANDED_TOTALS_SQL)
    write(sql, "staging/stg_totals.yml", LANDED_TOTALS_YML)
    stg = models(sql, {"raw_items"})["stg_totals"]
    totals = "select k, total from staging.stg_totals order by k"
    landed = "raw_items was rebuilt since, or nothing was landed then"
    with open_warehouse(tmp_path / "w.duckdb") as con:
        run(con, "create table raw.raw_items (k text, v int, _delivery_seq int)")
        # Nothing landed: an empty table; the build records no delivery number.
        assert build(con, stg).reason == "no earlier build"
        run(con, "insert into raw.raw_items values ('a', 1, 1), ('b', 2, 1)")
        # The last build saw no delivery: which keys are new cannot be told, so a rebuild.
        assert how(build(con, stg)) == (BuildMode.FULL_REBUILD, 2, "rebuilt", landed)
        run(con, "insert into raw.raw_items values ('a', 10, 2)")
        # Delivery 2 after #1 brings a: a's total 1 + 10 = 11.
        assert how(build(con, stg)) == (
            BuildMode.INCREMENTAL,
            2,
            "rewrote 1 changed key (1 row out, 1 in)",
            "",
        )
        assert rows(con, totals) == [("a", 11), ("b", 2)]
        # Nothing delivered after #2: no key changed.
        assert how(build(con, stg)) == (
            BuildMode.UNCHANGED,
            2,
            "rewrote 0 changed keys (0 rows out, 0 in)",
            "",
        )
        # The landed table rebuilt (deliveries numbered from 1 again, 1 < 2): a rebuild.
        run(con, "delete from raw.raw_items")
        run(con, "insert into raw.raw_items values ('c', 5, 1)")
        assert how(build(con, stg)) == (BuildMode.FULL_REBUILD, 1, "rebuilt", landed)
        assert rows(con, totals) == [("c", 5)]
        # The landed table emptied: its latest delivery is null, so a rebuild (of nothing).
        run(con, "delete from raw.raw_items")
        assert how(build(con, stg)) == (BuildMode.FULL_REBUILD, 0, "rebuilt", landed)


@pytest.mark.parametrize(
    "kind",
    [
        Table(),
        Append("k"),
        DeleteInsert(("k",), "stg_items", "select k from stg_items"),
        Diff(("k",)),
    ],
    ids=["table", "append", "delete+insert", "diff"],
)
def test_a_kind_cannot_be_changed_once_read(kind):
    # A model's version hashes its kind's signature when asked (Model.sql_sha256); a kind
    # changed in place after loading would change the version of a model already built.
    with pytest.raises(dataclasses.FrozenInstanceError):
        kind.unique_key = ("j",)
