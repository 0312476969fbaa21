"""Staging and mart suites on Spark tables with GX's Spark engine (pipeline.spark.checks).

A warehouse built by the DuckDB models from tests/test_validation_stages.py's rows (contacts
c1 and c2, delivery 1) gives the tables; their Parquet goes to a lake folder, as a Spark build
leaves it. The real suites in expectations/ run on a real local Spark session and must give the
DuckDB route's outcome records, and the same blocking: a failed critical expectation is an
ERROR (blocks, watermark kept), a failed warning a WARN (does not block, watermark moves).
The Spark session is the worker's (``spark`` in tests/conftest.py; GX's Spark data source uses
the active one), shared with tests/test_spark_parity.py.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from test_validation_stages import built_warehouse

from assets.checks import suite_result
from pipeline.config import Settings
from pipeline.spark.checks import (
    batch_frame,
    check_suites_run_on_spark,
    validate_asset_on_spark,
)
from pipeline.sqltext import literal
from pipeline.validation.batches import build_batch
from pipeline.validation.stages import AssetValidation, validate_assets
from pipeline.validation.state import read_watermark
from pipeline.validation.suites import SuiteError, read_suite, read_suites
from pipeline.warehouse import prepare, run
from pipeline.warehouse import rows as duckdb_rows

TABLES = {"staging": ["stg_contacts"], "marts": ["customer_360"]}
# A suite of this test: a warning that fails on c2 (contact_id not in {c1}).
WARN_SUITE = {
    "name": "staging_contacts_warn",
    "meta": {"stage": "staging", "asset": "stg_contacts", "batch": "new_rows",
             "key": "contact_id", "index_columns": ["_source_file", "_row_number"]},
    "expectations": [
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "contact_id", "value_set": ["c1"]}, "severity": "warning"},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return built_warehouse(tmp_path_factory, "spark_validation")


def _engine_dir(built: Path, folder: Path) -> tuple[duckdb.DuckDBPyConnection, Settings, Path]:
    """A copy of the warehouse in ``folder``, its settings and its lake (Parquet of TABLES)."""
    folder.mkdir()
    shutil.copy(built, folder / "warehouse.duckdb")
    con = duckdb.connect(str(folder / "warehouse.duckdb"))
    prepare(con)
    return con, Settings.resolve(data_dir=str(folder), as_of="2024-12-31"), folder / "lake"


def _to_lake(con: duckdb.DuckDBPyConnection, lake: Path) -> None:
    for schema, tables in TABLES.items():
        for table in tables:
            out = lake / schema / table
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            run(con, f"copy {schema}.{table} to {literal(str(out / 'part-0.parquet'))}")


def _records(result) -> list[dict]:
    """Outcome records without what differs between any two runs (time, Data Docs page)."""
    return [
        {k: v for k, v in asdict(o).items() if k not in ("seconds", "docs_path")}
        for o in result.outcomes
    ]


@pytest.fixture
def engines(built, tmp_path, monkeypatch, spark):
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    monkeypatch.delenv("PIPELINE_MAX_SHRINK", raising=False)
    (tmp_path / "staging_contacts_warn.json").write_text(json.dumps(WARN_SUITE))
    duck = _engine_dir(built, tmp_path / "duckdb")
    on_spark = _engine_dir(built, tmp_path / "spark")
    yield duck, on_spark, tmp_path / "staging_contacts_warn.json"
    duck[0].close()
    on_spark[0].close()


@pytest.mark.spark
def test_same_outcomes_and_blocking_as_duckdb(engines, spark):
    # One Spark validation (GX on Spark costs seconds per expectation): the real suite of
    # stg_contacts and this test's warning suite, after c1 lost its created_at in staging
    # (delivery 1: contacts c1 and c2). No earlier good run, so the batch is every row: c1, c2.
    # created_at not null (critical) fails on c1: ERROR, which blocks, and the watermark does
    # not move. The warning fails on c2 (file row 3: header row 1, c1 row 2).
    (dcon, dset, _), (scon, sset, lake), warn_path = engines
    suites = [read_suites()["staging_contacts"], read_suite(warn_path)]
    for con in (dcon, scon):
        run(con, "update staging.stg_contacts set created_at = null where contact_id = 'c1'")
    _to_lake(scon, lake)
    result = validate_asset_on_spark(scon, sset, "stg_contacts", suites, "run-1", lake, spark)

    assert [o.status for o in result.outcomes] == ["error", "warning"]
    check = suite_result(result, suites, "index.html")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    (error,) = result.outcomes[0].errors
    assert (error.expectation, error.unexpected_count, error.element_count) == (
        "expect_column_values_to_not_be_null",
        1,
        2,
    )
    assert read_watermark(scon, "stg_contacts", "stg_contacts").last_delivery_seq is None
    # The warning alone is a WARN: it shows and does not block.
    warned = AssetValidation("stg_contacts", outcomes=result.outcomes[1:])
    check = suite_result(warned, suites[1:], "index.html")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert result.outcomes[1].warnings[0].describe() == (
        "expect_column_values_to_be_in_set on contact_id in {c1}: 1 of 2 rows unexpected, "
        "e.g. c2 (file test/contacts_1.csv, row 3)"
    )
    # The same outcome records, field by field, as GX's SQL engine inside DuckDB gives.
    duck = validate_assets(dcon, dset, [("stg_contacts", suites)], "run-1")["stg_contacts"]
    assert _records(result) == _records(duck)


@pytest.mark.spark
def test_personal_data_batch_same_rows_on_spark(engines, spark):
    # The every-mart suite's batch (pipeline/pii.py's regexes, translated to Spark's RLIKE):
    # an e-mail address and a phone number put into customer_360's rfm_segment are found by
    # Spark's query as by DuckDB's: one row per column name plus the two values.
    (dcon, _, _), (scon, _, lake), _ = engines
    suite = read_suites()["marts_no_personal_data"]
    for con in (dcon, scon):
        run(con, "update marts.customer_360 set rfm_segment = case customer_id "
                 "when (select min(customer_id) from marts.customer_360) then 'ann@example.com' "
                 "else '+40 721 234 567' end")  # fmt: skip
    _to_lake(scon, lake)
    batch = build_batch(scon, suite, "customer_360")
    frame = batch_frame(spark, scon, batch.sql, lake, "personal data batch")
    found = sorted(
        (r["mart_column"], r["value"]) for r in frame.collect() if r["value"] is not None
    )
    customers = duckdb_rows(dcon, "select count(*) from marts.customer_360")[0][0]
    assert customers == 2  # c1 and c2
    assert found == [("rfm_segment", "+40 721 234 567"), ("rfm_segment", "ann@example.com")]
    # batch.rows is None (counted when validated): DuckDB counts the same query.
    assert frame.count() == duckdb_rows(scon, f"select count(*) from ({batch.sql})")[0][0]


@pytest.mark.spark
def test_table_missing_from_the_lake_is_named(engines, spark):
    _, (scon, sset, lake), _ = engines
    suites = [read_suites()["staging_contacts"]]
    result = validate_asset_on_spark(scon, sset, "stg_contacts", suites, "r", lake, spark)
    assert result.status == "warning"
    assert result.missing == (
        f"table staging.stg_contacts is not in the lake ({lake / 'staging' / 'stg_contacts'}): "
        "build it with PIPELINE_ENGINE=spark first"
    )


def test_every_suite_of_the_sql_models_runs_on_spark():
    # No Spark needed: GX's registry has a Spark form of every metric the suites use.
    suites = [s for s in read_suites().values() if s.stage != "landed"]
    check_suites_run_on_spark(suites)


@pytest.mark.parametrize(
    ("expectation", "reason"),
    [
        (
            {"type": "expect_column_values_to_match_like_pattern",
             "kwargs": {"column": "x", "like_pattern": "a%"}},
            "GX has no Spark implementation of metric column_values.match_like_pattern.condition",
        ),
        (
            {"type": "expect_column_values_to_be_in_type_list",
             "kwargs": {"column": "x", "type_list": ["VARCHAR"]}},
            "type names differ between DuckDB and Spark",
        ),
    ],
)  # fmt: skip
def test_expectation_spark_cannot_run_fails_at_load(tmp_path, expectation, reason):
    doc = {**WARN_SUITE, "name": "staging_x"}
    doc["expectations"] = [WARN_SUITE["expectations"][0], {**expectation, "severity": "critical"}]
    path = tmp_path / "staging_x.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SuiteError) as err:
        check_suites_run_on_spark([read_suite(path)])
    assert str(err.value) == (
        f"{path}: expectation 2 ({expectation['type']}) cannot run on Spark "
        f"(PIPELINE_ENGINE=spark): {reason}"
    )
