"""A delete+insert model that says where its changed keys' rows are (``source_rows``,
``old_rows``: pipeline/engine/kinds.py) and the columns its build copies of the source
(``read_columns``: pipeline/engine/reads.py). Each build must equal the model's SQL run whole;
the totals are worked out by hand from the rows inserted. A small DuckDB file, a few seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.engine import ModelError, discover_models, materialize
from pipeline.engine.reads import read_columns
from pipeline.engine.rewrite import parse_select
from pipeline.warehouse import open_warehouse, rows, run, scalar

# Totals per key k of the items' values. The model reads stg_items through a plain select of
# k and v, with a lateral alias (w) that is no column of stg_items: only k and v are copied.
TOTALS_SQL = (
    "with items as (select k, v * 2 as w, w + 1 as x from stg_items)\n"
    "select k, sum(w) as total, sum(x) as plus_n, count(*) as n from items group by k"
)
BLOCK = """incremental:
  strategy: delete+insert
  unique_key: [k]
  source: stg_items
  changed_keys: select k from stg_items__delta
"""
NARROWED = (
    BLOCK
    + "  source_rows: select * from stg_items where k in (select k from stg_items__delta)\n"
    + "  old_rows: select rowid, * from int_totals where k in (select k from stg_items__delta)\n"
)
# Supersets: every row of the source and of the model; the engine keeps the changed keys'.
WIDE = (
    BLOCK + "  source_rows: select * from stg_items\n  old_rows: select rowid, * from int_totals\n"
)


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def toy(sql_dir: Path, yml: str) -> dict:
    write(sql_dir, "staging/stg_items.sql", "select id, k, v, note, _delivery_seq from raw_items")
    write(sql_dir, "staging/stg_items.yml", "incremental:\n  unique_key: id\n")
    write(sql_dir, "intermediate/int_totals.sql", TOTALS_SQL)
    write(sql_dir, "intermediate/int_totals.yml", yml)
    return {m.name: m for m in discover_models(sql_dir, known_tables={"raw_items"})}


def differs_from_whole_rebuild(con, model) -> int:
    return scalar(
        con,
        f"select count(*) from ((select * from {model.qualified_name} except all ({model.sql})) "
        f"union all (({model.sql}) except all select * from {model.qualified_name}))",
    )


@pytest.mark.parametrize("yml", [NARROWED, WIDE], ids=["narrowed", "supersets"])
def test_source_rows_and_old_rows_rewrite_the_changed_keys_only(tmp_path, yml):
    models = toy(tmp_path / "sql", yml)
    totals = "select k, total, plus_n, n from intermediate.int_totals order by k"
    with open_warehouse(tmp_path / "w.duckdb") as con:
        run(con, "create table raw.raw_items (id int, k text, v int, note text, _delivery_seq int)")
        run(con, "insert into raw.raw_items values (1, 'a', 1, 'x', 1), (2, 'b', 2, 'y', 1)")
        materialize(con, models["stg_items"])
        assert materialize(con, models["int_totals"]) == (2, "rebuilt")
        # Day 2: a gains 10, c is new; b is untouched.
        run(con, "insert into raw.raw_items values (3, 'a', 10, 'z', 2), (4, 'c', 5, null, 2)")
        materialize(con, models["stg_items"])
        assert materialize(con, models["int_totals"]) == (
            3,
            "rewrote 2 changed keys (1 row out, 2 in)",  # a out and in, c in
        )
        # a: w = 2 + 20 = 22, x = w + 1 per item = 24, 2 items; b: 4, 5, 1; c: 10, 11, 1.
        assert rows(con, totals) == [("a", 22, 24, 2), ("b", 4, 5, 1), ("c", 10, 11, 1)]
        assert differs_from_whole_rebuild(con, models["int_totals"]) == 0
        # Nothing new: nothing rewritten.
        materialize(con, models["stg_items"])
        assert materialize(con, models["int_totals"])[1] == (
            "rewrote 0 changed keys (0 rows out, 0 in)"
        )
        assert differs_from_whole_rebuild(con, models["int_totals"]) == 0


def test_the_columns_a_model_reads_of_a_parent():
    def found(sql: str) -> dict[str, list[str]]:
        tree = parse_select(sql, Path("m.sql"))
        return {t: sorted(c) for t, c in read_columns(tree).items()}

    # Plain selects in CTEs, filtered or not, qualified or not: their columns (an alias such as
    # w is kept here; the build keeps only the parent's columns).
    assert found(TOTALS_SQL) == {"stg_items": ["k", "v", "w"]}
    assert found("with x as (select t.id from p as t where t.k > 1) select * from x") == {
        "p": ["id", "k"]
    }
    # A star, a join or a read outside a CTE: the parent is copied whole.
    assert found("with x as (select * from p) select * from x") == {}
    assert found("with x as (select p.id from p join q on p.id = q.id) select * from x") == {}
    assert found("select id from p") == {}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("  source_rows: select * from raw_items\n", "source_rows reads raw_items"),
        ("  old_rows: select rowid, * from raw_items\n", "old_rows reads raw_items"),
        ("  source_rows: '  '\n", "source_rows is a select"),
    ],
)
def test_source_rows_and_old_rows_are_checked_at_load(tmp_path, extra, message):
    with pytest.raises(ModelError, match=message) as err:
        toy(tmp_path, BLOCK + extra)
    assert "int_totals.yml" in str(err.value)


def test_source_rows_belong_to_delete_insert(tmp_path):
    yml = "incremental:\n  strategy: diff\n  unique_key: [k]\n  old_rows: select 1\n"
    with pytest.raises(ModelError, match="belong to strategy delete\\+insert"):
        toy(tmp_path, yml)
