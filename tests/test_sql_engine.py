"""The SQL model engine: dependency reading, ordering, and each load-time error."""

from pathlib import Path

import pytest

from pipeline.sql_engine import ModelError, build_models, discover_models, read_parents
from pipeline.warehouse import open_warehouse, rows


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


def test_repository_models_load():
    models = discover_models()
    names = {m.name for m in models}
    assert {"retention_monthly", "cohort_retention"} <= names
