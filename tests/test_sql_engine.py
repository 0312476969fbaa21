"""The SQL model engine: dependency reading, ordering, and each load-time error."""

from pathlib import Path

import pytest

from pipeline.engine import (
    ModelError,
    build_models,
    discover_models,
    materialize,
    read_parents,
)
from pipeline.warehouse import open_warehouse, rows, run


def write(root: Path, rel: str, sql: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql, encoding="utf-8")
    return path


def test_parents_exclude_ctes_and_table_functions():
    sql = """
        with o as (select * from raw_orders),
             c as (select * from stg_contacts join o using (contact_id))
        select * from c, range(3) r, pipeline_settings
    """
    assert read_parents(sql, Path("m.sql")) == ("pipeline_settings", "raw_orders", "stg_contacts")


def test_models_are_ordered_by_dependency_and_built(tmp_path):
    write(tmp_path, "marts/m_total.sql", "select sum(n) as total from int_doubled")
    write(tmp_path, "intermediate/int_doubled.sql", "select n * 2 as n from stg_numbers")
    write(tmp_path, "staging/stg_numbers.sql", "select range as n from range(4)")
    write(tmp_path, "marts/m_total.yml", "description: Sum.\ncolumns:\n  total: the sum\n")
    models = discover_models(tmp_path)
    assert [m.name for m in models] == ["stg_numbers", "int_doubled", "m_total"]
    assert models[2].columns == {"total": "the sum"}
    assert models[1].parents == ("stg_numbers",)
    with open_warehouse(tmp_path / "w.duckdb") as con:
        counts = build_models(con, tmp_path)
        # 0*2 + 1*2 + 2*2 + 3*2 = 12
        assert rows(con, "select total from marts.m_total") == [(12,)]
    assert counts == {"stg_numbers": 4, "int_doubled": 4, "m_total": 1}


@pytest.mark.parametrize(
    "files, message",
    [
        (
            {
                "staging/stg_a.sql": "select * from stg_b",
                "staging/stg_b.sql": "select * from stg_a",
            },
            "dependency cycle",
        ),
        ({"staging/stg_a.sql": "select * from raw_nowhere"}, "reads unknown table 'raw_nowhere'"),
        ({"staging/stg_a.sql": "select 1; select 2"}, "exactly one select, found 2"),
        ({"staging/stg_a.sql": "create table x as select 1"}, "not a CREATE statement"),
        ({"staging/stg_a.sql": "selec 1 frm"}, "not valid SQL"),
        ({"stg_a.sql": "select 1"}, "models live in sql/"),
    ],
)
def test_load_time_errors_name_the_file(tmp_path, files, message):
    for rel, sql in files.items():
        write(tmp_path, rel, sql)
    with pytest.raises(ModelError, match=message) as err:
        discover_models(tmp_path)
    assert "stg_a.sql" in str(err.value)


# A contributor's mistakes in a new model, each with the message it gets, written out by hand:
# the file, the line, what is wrong and what to do.
MART_SQL = """-- orders per status
select
    status,
    count(*) as orders
from {table}
group by status
"""
MART_YML = """description: "Orders per status."
{columns_key}:
  {status}: "The status."
  orders: "Orders."
"""


@pytest.mark.parametrize(
    "table, columns_key, status, message",
    [
        # A typo in a table name: line 5 of the file (the comment's line 1 counts), the model
        # it likely meant, and the two ways out.
        (
            "stg_order",
            "columns",
            "status",
            "m_status.sql, line 5: reads unknown table 'stg_order' (did you mean 'stg_orders'?):"
            " it is no model in sql/ nor a landed or Python-built table "
            "(pipeline/engine/catalog.py); fix the name, or add the model "
            "sql/<layer>/stg_order.sql",
        ),
        # A misspelt key of the .yml (line 2) was ignored: every column went undescribed.
        (
            "stg_orders",
            "colums",
            "status",
            "m_status.yml, line 2: unknown key 'colums' (did you mean 'columns'?); a model's "
            ".yml holds 'description:', 'columns:', 'incremental:'",
        ),
        # A misspelt column (line 3) left the real one without its description in serving.
        (
            "stg_orders",
            "columns",
            "statuss",
            "m_status.yml: 'columns:' does not match the select of m_status.sql: 'statuss' "
            "(line 3) is not a column of the select (did you mean 'status'?); 'status' has no "
            "description; list each column the select gives, in its order: status, orders",
        ),
    ],
    ids=["unknown-table", "misspelt-yml-key", "misspelt-column"],
)
def test_a_new_models_mistakes_name_the_file_line_and_fix(
    tmp_path, table, columns_key, status, message
):
    write(tmp_path, "staging/stg_orders.sql", "select 'paid' as status")
    write(tmp_path, "marts/m_status.sql", MART_SQL.format(table=table))
    write(tmp_path, "marts/m_status.yml", MART_YML.format(columns_key=columns_key, status=status))
    with pytest.raises(ModelError) as err:
        discover_models(tmp_path)
    assert str(err.value) == f"{tmp_path / 'marts'}/{message}"


def test_yml_columns_must_follow_the_selects_order(tmp_path):
    write(tmp_path, "marts/m_two.sql", "select 1 as a, 2 as b")
    write(tmp_path, "marts/m_two.yml", "description: Two.\ncolumns:\n  b: B.\n  a: A.\n")
    with pytest.raises(ModelError, match="listed in another order than the select's"):
        discover_models(tmp_path)
    # Without 'columns:', or with a select of '*', nothing is compared.
    write(tmp_path, "marts/m_two.yml", "description: Two.\n")
    write(tmp_path, "marts/m_star.sql", "select * from m_two")
    write(tmp_path, "marts/m_star.yml", "description: All.\ncolumns:\n  b: B.\n")
    assert [m.name for m in discover_models(tmp_path)] == ["m_two", "m_star"]


def test_repository_models_load():
    models = discover_models()
    names = {m.name for m in models}
    assert {"retention_monthly", "cohort_retention"} <= names


INCREMENTAL_SQL = """
with ranked as (
    select
        *,
        row_number() over (partition by item_id order by _delivery_seq, _row_number) as copy_rank
    from raw_items as r
)
select item_id, upper(label) as label, _delivery_seq from ranked where copy_rank = 1
"""


def deliver(con, seq: int, items: list[tuple[str, str]]) -> None:
    for row, (item_id, label) in enumerate(items, start=2):
        run(con, "insert into raw.raw_items values (?, ?, ?, ?)", [item_id, label, row, seq])


def test_an_incremental_model_appends_new_keys_as_a_rebuild_would(tmp_path):
    sql_dir = tmp_path / "sql"
    write(sql_dir, "staging/stg_items.sql", INCREMENTAL_SQL)
    write(sql_dir, "staging/stg_items.yml", "incremental:\n  unique_key: item_id\n")
    (model,) = discover_models(sql_dir, known_tables={"raw_items"})
    assert model.unique_key == "item_id"
    table = "select item_id, label, _delivery_seq from staging.stg_items order by item_id"
    with open_warehouse(tmp_path / "w.duckdb") as con:
        run(
            con,
            "create table raw.raw_items (item_id text, label text, _row_number int, "
            "_delivery_seq int)",
        )
        deliver(con, 1, [("a", "first a"), ("b", "first b"), ("a", "second a")])
        assert materialize(con, model) == (2, "rebuilt")  # nothing built before
        # Delivery 2 repeats a and b (their first copies stay) and brings c twice.
        deliver(con, 2, [("b", "late b"), ("c", "first c"), ("c", "second c")])
        assert materialize(con, model) == (3, "appended 1 row (deliveries after #1)")
        appended = rows(con, table)
        assert appended == [("a", "FIRST A", 1), ("b", "FIRST B", 1), ("c", "FIRST C", 2)]
        # A full refresh gives the same table.
        assert materialize(con, model, full_refresh=True) == (3, "rebuilt")
        assert rows(con, table) == appended
        # Nothing new: nothing appended.
        assert materialize(con, model) == (3, "appended 0 rows (deliveries after #2)")
        # The landed table rebuilt from scratch (delivery numbers start again): a rebuild.
        run(con, "delete from raw.raw_items")
        deliver(con, 1, [("z", "only z")])
        assert materialize(con, model) == (1, "rebuilt")
    # An edited model is rebuilt, not appended to.
    write(sql_dir, "staging/stg_items.sql", INCREMENTAL_SQL.replace("upper", "lower"))
    (edited,) = discover_models(sql_dir, known_tables={"raw_items"})
    with open_warehouse(tmp_path / "w.duckdb") as con:
        deliver(con, 2, [("y", "New Y")])
        assert materialize(con, edited) == (2, "rebuilt")
        assert rows(con, table) == [("y", "new y", 2), ("z", "only z", 1)]


def test_an_incremental_model_reads_one_table_and_says_so(tmp_path):
    write(tmp_path, "staging/stg_x.sql", "select * from raw_a join raw_b using (k)")
    write(tmp_path, "staging/stg_x.yml", "incremental:\n  unique_key: k\n")
    with pytest.raises(ModelError, match="reads exactly one landed table, not raw_a, raw_b"):
        discover_models(tmp_path, known_tables={"raw_a", "raw_b"})
    write(tmp_path, "staging/stg_x.yml", "incremental: yes\n")
    with pytest.raises(ModelError, match="incremental: {unique_key: <column>}"):
        discover_models(tmp_path, known_tables={"raw_a", "raw_b"})


def test_discovery_sees_an_edited_model_at_once(tmp_path):
    # Discovery keeps its result while the files are the same; an edit of the same size made
    # right after (same modification time on a coarse clock) must still be read.
    write(tmp_path, "staging/stg_numbers.sql", "select range as n from range(4)")
    first = discover_models(tmp_path)
    assert discover_models(tmp_path) == first
    write(tmp_path, "staging/stg_numbers.sql", "select range as m from range(4)")
    write(tmp_path, "staging/stg_numbers.yml", "description: Numbers.\n")
    (edited,) = discover_models(tmp_path)
    assert edited.sql == "select range as m from range(4)"
    assert edited.description == "Numbers."
    write(tmp_path, "marts/m_total.sql", "select sum(m) as total from stg_numbers")
    assert [m.name for m in discover_models(tmp_path)] == ["stg_numbers", "m_total"]


def test_a_built_tables_columns_read_from_its_query_match_the_catalogue(tmp_path):
    # skip.Fingerprints reads a just-built table's columns from its bound query instead of the
    # catalogue; a fingerprint compares them as text with the catalogue's next run, so both
    # must name every type alike (here: the kinds of column the models make).
    from pipeline.engine.skip import _catalogue, _columns_of

    with open_warehouse(tmp_path / "w.duckdb") as con:
        run(
            con,
            "create table marts.t as select 1::bigint as n, 2.5::decimal(18, 2) as amount, "
            "'x' as s, timestamp '2026-11-01 10:00' as at, date '2026-11-01' as day, "
            "[1, 2] as xs, {'a': 1} as st, 0.5::double as share, true as flag",
        )
        expected = [
            "n BIGINT",
            "amount DECIMAL(18,2)",
            "s VARCHAR",
            "at TIMESTAMP",
            "day DATE",
            "xs INTEGER[]",
            "st STRUCT(a INTEGER)",
            "share DOUBLE",
            "flag BOOLEAN",
        ]
        assert _catalogue(con, ("marts", "t")) == {"marts.t": expected}
        assert _columns_of(con, "marts", "t") == expected
