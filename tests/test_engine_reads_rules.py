"""What a model reads of a parent (pipeline/engine/reads.py), and the skip it allows
(pipeline/engine/skip.py ``with_reads``): a model that reads a rebuilt parent only through
row-wise selects is left as it was when those selects return the same rows, and is rebuilt
when they do not; either way it equals a full rebuild. Expected values are worked out by hand
from the SQL in each test. In-memory DuckDB, a few seconds."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipeline.engine import BuildMode, build, discover_models, skip
from pipeline.engine.reads import filtered_reads, reads_of
from pipeline.engine.rewrite import parse_select
from pipeline.warehouse import prepare, rows, run, scalar

COLS = ("id", "kind", "k")  # the parent p's columns in the rule tests


def _reads(sql: str, parent: str = "p") -> tuple[str, ...] | None:
    found = filtered_reads(parse_select(sql, Path("m.sql"))).get(parent)
    return None if found is None else reads_of(found, COLS)


def test_a_filtered_or_narrowed_select_in_a_cte_is_what_the_model_reads():
    # The CTE's select, the table qualified, its alias kept so the columns still resolve.
    assert _reads("with x as (select id, k from p where kind = 'a') select * from x") == (
        "SELECT id, k FROM p WHERE kind = 'a'",
    )
    # Qualified by its alias; an order by dropped (the rows as a multiset).
    assert _reads(
        "with x as (select t.id from p as t where t.k > 1 order by t.id) select * from x"
    ) == ("SELECT t.id FROM p AS t WHERE t.k > 1",)
    # Two branches of a union in one CTE: two selects, in order.
    assert _reads(
        "with x as (select id from p where kind = 'a' union all select id from p where kind = 'b')"
        " select * from x"
    ) == (
        "SELECT id FROM p WHERE kind = 'a'",
        "SELECT id FROM p WHERE kind = 'b'",
    )


@pytest.mark.parametrize(
    "sql",
    [
        "with x as (select * from p) select * from x",  # all of it: its content says as much
        "with x as (select id, kind, k from p) select * from x",  # every column, no filter
        "with x as (select id from p) select * from x",  # fewer columns but every row
        "select id from p where kind = 'a'",  # the model's own select, not a CTE
        "with x as (select p.id from p join q on p.id = q.id) select * from x",  # a join
        "with x as (select id from p where id in (select id from q)) select * from x",  # subquery
        "with x as (select count(*) as n from p where kind = 'a') select * from x",  # aggregate
        "with x as (select id, row_number() over (order by k) as r from p) select * from x",
        "with x as (select id from p where random() < 0.5) select * from x",  # volatile
        "with x as (select id from p where kind = 'a' limit 1) select * from x",  # limit
        "with x as (select id from p where other = 1) select * from x",  # not p's column
        "with x as (select q.id from p where kind = 'a') select * from x",  # another table's
        # One read is a slice, the other a join: p is compared whole.
        "with x as (select id from p where kind = 'a'), y as (select p.id from p, q) "
        "select * from x, y",
        "with p as (select 1 as id) select * from p",  # p is a CTE here, not the parent
    ],
)
def test_any_other_read_of_the_parent_gives_none(sql: str):
    assert _reads(sql) is None


def _models(tmp_path: Path) -> list:
    """stg_links (rebuilt whole from raw_contacts) and int_a, which reads only its kind 'a'."""
    sql = tmp_path / "sql"
    (sql / "staging").mkdir(parents=True)
    (sql / "intermediate").mkdir()
    (sql / "staging" / "stg_links.sql").write_text("select id, kind, k from raw_contacts")
    (sql / "intermediate" / "int_a.sql").write_text(
        "with links as (select id, k from stg_links where kind = 'a')\n"
        "select id, upper(k) as k from links"
    )
    return discover_models(sql)


def _build(con: duckdb.DuckDBPyConnection, models: list, run_id: str) -> dict[str, BuildMode]:
    layers = {m.name: m.layer for m in models}
    prints = skip.Fingerprints(con)
    return {m.name: skip.build_model(con, m, layers, run_id, prints).mode for m in models}


def _equals_a_rebuild(con: duckdb.DuckDBPyConnection, model) -> bool:
    diff = scalar(
        con,
        f"select count(*) from ((select * from {model.qualified_name} except all ({model.sql})) "
        f"union all (({model.sql}) except all select * from {model.qualified_name}))",
    )
    return diff == 0


def test_a_rebuilt_parent_whose_read_rows_are_the_same_leaves_the_model(tmp_path: Path):
    models = _models(tmp_path)
    int_a = models[1]
    with duckdb.connect() as con:
        prepare(con)
        run(
            con,
            "create table raw.raw_contacts (id int, kind varchar, k varchar, _delivery_seq int)",
        )
        run(con, "insert into raw.raw_contacts values (1, 'a', 'x', 1), (2, 'b', 'y', 1)")
        assert set(_build(con, models, "r1").values()) == {BuildMode.FULL_REBUILD}
        # A row of kind 'b': stg_links is rebuilt with other rows, but int_a's read
        # (select id, k ... where kind = 'a') still returns (1, 'x') only: left as it was.
        run(con, "insert into raw.raw_contacts values (3, 'b', 'z', 2)")
        done = _build(con, models, "r2")
        assert done == {"stg_links": BuildMode.FULL_REBUILD, "int_a": BuildMode.SKIPPED}
        assert rows(con, "select * from intermediate.int_a") == [(1, "X")]
        assert _equals_a_rebuild(con, int_a)
        # A kind 'a' row changes what it reads: rebuilt, now (1, 'X') and (4, 'W').
        run(con, "insert into raw.raw_contacts values (4, 'a', 'w', 3)")
        assert _build(con, models, "r3")["int_a"] is BuildMode.FULL_REBUILD
        assert sorted(rows(con, "select * from intermediate.int_a")) == [(1, "X"), (4, "W")]
        assert _equals_a_rebuild(con, int_a)
        # A column read changing on a row of kind 'a' (k of id 1 'x' -> 'v'): rebuilt.
        run(con, "update raw.raw_contacts set k = 'v' where id = 1")
        run(con, "insert into raw.raw_contacts values (5, 'c', 'u', 4)")  # so raw counts move
        assert _build(con, models, "r4")["int_a"] is BuildMode.FULL_REBUILD
        assert sorted(rows(con, "select * from intermediate.int_a")) == [(1, "V"), (4, "W")]
        assert _equals_a_rebuild(con, int_a)


def test_a_record_from_before_reads_gets_them_at_its_next_skip(tmp_path: Path):
    models = _models(tmp_path)
    with duckdb.connect() as con:
        prepare(con)
        run(
            con,
            "create table raw.raw_contacts (id int, kind varchar, k varchar, _delivery_seq int)",
        )
        run(con, "insert into raw.raw_contacts values (1, 'a', 'x', 1), (2, 'b', 'y', 1)")
        _build(con, models, "r1")
        # int_a's record as an engine without reads.py wrote it: no "reads".
        value = json.loads(
            scalar(con, "select inputs from meta.build_inputs where target = 'int_a'")
        )
        for found in value["inputs"].values():
            found.pop("reads", None)
        run(
            con,
            "update meta.build_inputs set inputs = ? where target = 'int_a'",
            [json.dumps(value, sort_keys=True)],
        )
        # Nothing new: skipped (same build of stg_links), and the record gains the reads.
        assert _build(con, models, "r2")["int_a"] is BuildMode.SKIPPED
        stored = json.loads(
            scalar(con, "select inputs from meta.build_inputs where target = 'int_a'")
        )
        assert "reads" in stored["inputs"]["staging.stg_links"]
        # So the next delivery of kind 'b' alone leaves int_a as it was.
        run(con, "insert into raw.raw_contacts values (3, 'b', 'z', 2)")
        assert _build(con, models, "r3")["int_a"] is BuildMode.SKIPPED
        assert _equals_a_rebuild(con, models[1])


def test_changed_keys_with_a_null_among_them_are_rewritten_like_the_others(tmp_path: Path):
    # A diff model keyed on k (kinds.py rewrite_keys): a NULL key is a key like any other
    # ('is not distinct from'), so its row is rewritten, not added a second time.
    sql = tmp_path / "sql"
    (sql / "intermediate").mkdir(parents=True)
    (sql / "intermediate" / "int_k.sql").write_text("select k, v from raw_contacts")
    (sql / "intermediate" / "int_k.yml").write_text(
        "incremental:\n  strategy: diff\n  unique_key: k\n"
    )
    (model,) = discover_models(sql)
    with duckdb.connect() as con:
        prepare(con)
        run(con, "create table raw.raw_contacts (k varchar, v int)")
        run(con, "insert into raw.raw_contacts values (null, 1), ('a', 2), ('b', 3)")
        assert build(con, model).mode is BuildMode.FULL_REBUILD
        # The NULL key's row changes (1 -> 5): one key rewritten, one row out and one in; a
        # match by '=' would find nothing to delete and leave both (NULL, 1) and (NULL, 5).
        run(con, "update raw.raw_contacts set v = 5 where k is null")
        result = build(con, model)
        assert result.description == "rewrote 1 changed key (1 row out, 1 in)"
        assert _equals_a_rebuild(con, model) and scalar(con, "select count(*) from int_k") == 3
        # Only 'a' changes (2 -> 4): the NULL key's row is left as it is.
        run(con, "update raw.raw_contacts set v = 4 where k = 'a'")
        result = build(con, model)
        assert result.description == "rewrote 1 changed key (1 row out, 1 in)"
        assert sorted(rows(con, "select k, v from int_k"), key=str) == sorted(
            [(None, 5), ("a", 4), ("b", 3)], key=str
        )
        assert _equals_a_rebuild(con, model)
