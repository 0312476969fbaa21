"""Column types for GX from DuckDB's DESCRIBE (pipeline/validation/gx_duckdb.py)."""

from __future__ import annotations

import functools

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from pipeline.validation.gx_duckdb import (
    DUCKDB_URL,
    FORMAT_NAMES,
    BufferedConnection,
    add_duckdb_datasource,
    sqlalchemy_type,
)
from pipeline.warehouse import run

gx = pytest.importorskip("great_expectations")

# Every type the module describes, and spellings DuckDB turns into one of them.
TYPES = [t.lower() for t in FORMAT_NAMES] + [
    "decimal(18,4)",
    "decimal(9,0)",
    "numeric",  # DuckDB's default: DECIMAL(18,3)
    "text",
    "real",
]


def test_described_types_are_the_types_reflection_gives():
    # The reference is SQLAlchemy's reflection through duckdb_engine, the route GX takes
    # without the fix: the same class and the same arguments for every column.
    con = duckdb.connect()
    columns = ", ".join(f"c{i} {t}" for i, t in enumerate(TYPES))
    run(con, f"create table t ({columns})")
    engine = sa.create_engine(
        DUCKDB_URL, creator=functools.partial(BufferedConnection, con), poolclass=StaticPool
    )
    reflected = sa.inspect(engine).get_columns("t")
    described = con.sql("describe t").fetchall()
    assert len(reflected) == len(described) == len(TYPES)
    for spelled, column, (_, duckdb_type, *_rest) in zip(TYPES, reflected, described, strict=True):
        mine = sqlalchemy_type(engine.dialect, duckdb_type)
        assert type(mine) is type(column["type"]), spelled
        assert vars(mine) == vars(column["type"]), spelled


def test_other_types_are_left_to_reflection():
    engine = sa.create_engine(DUCKDB_URL)
    for duckdb_type in ("VARCHAR[]", "STRUCT(a INTEGER)", "MAP(VARCHAR, INTEGER)", "JSON"):
        assert sqlalchemy_type(engine.dialect, duckdb_type) is None


def test_type_list_on_a_temporary_table():
    # Reflection finds no temporary table (GX then knew names only, and a type list failed
    # with KeyError 'type'); DESCRIBE does. 'amount' is DECIMAL(18,4): NUMERIC, not Integer.
    con = duckdb.connect()
    run(con, "create temp table batch as select 1 as id, 10.5::decimal(18,4) as amount")
    source = add_duckdb_datasource(gx.get_context(mode="ephemeral"), lambda: con, "temp")
    batch = source.add_table_asset("b", table_name="batch").add_batch_definition_whole_table("all")
    result = batch.get_batch().validate(
        gx.ExpectationSuite(
            name="types",
            expectations=[
                gx.expectations.ExpectColumnValuesToBeInTypeList(
                    column="amount", type_list=["NUMERIC"]
                ),
                gx.expectations.ExpectColumnValuesToBeInTypeList(
                    column="id", type_list=["Integer"]
                ),
                gx.expectations.ExpectColumnValuesToBeInTypeList(
                    column="amount", type_list=["Integer"]
                ),
            ],
        )
    )
    by_check = {
        (r.expectation_config.kwargs["column"], tuple(r.expectation_config.kwargs["type_list"])): (
            r.success,
            r.result.get("observed_value"),
        )
        for r in result.results
    }
    assert by_check == {
        ("amount", ("NUMERIC",)): (True, "NUMERIC"),
        ("id", ("Integer",)): (True, "Integer"),
        ("amount", ("Integer",)): (False, "NUMERIC"),
    }
