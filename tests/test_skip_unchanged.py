"""Skipping the builds a delivery cannot change (pipeline/engine/skip.py): after one small file of
orders the models that orders do not reach are left as they were, the reason is recorded for
the run summary, and every model and mart equals a full rebuild over the same files."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from helpers import bench_module

from assets.charts import CHART_ASSETS
from assets.models import build_model_assets
from assets.predictions import PREDICTION_ASSETS
from assets.serving import build_serving_asset
from assets.settings import pipeline_settings
from pipeline.config import PipelineConfig, Settings
from pipeline.engine import BuildMode, discover_models, mart_names, materialize_model, skip
from pipeline.entities import ENTITIES, LINEAGE_COLUMNS
from pipeline.ingest.core import ingest_entity
from pipeline.sample_data.generate import generate
from pipeline.sentiment.scoring import build_mention_sentiment
from pipeline.warehouse import Warehouse, open_warehouse, rows, run, scalar

AS_OF = dt.date(2026, 10, 31)
DELIVERED = 20  # orders in the small delivery


def _land(con: duckdb.DuckDBPyConnection, data_dir: Path, run_id: str) -> None:
    settings = Settings.resolve(data_dir=str(data_dir), as_of=AS_OF.isoformat(), timezone="UTC")
    run(con, bench_module("yardstick").settings_statement(AS_OF.isoformat()))
    for entity in ENTITIES:
        reports = ingest_entity(con, settings, entity, run_id=run_id)
        assert all(r.status != "refused" for r in reports), reports


def _build(data_dir: Path, run_id: str) -> dict[str, str]:
    """Land new files and build every model as the layer assets do; model -> how."""
    models = discover_models()
    layers = {m.name: m.layer for m in models}
    done = {}
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        _land(con, data_dir, run_id)
        prints = skip.Fingerprints(con)
        for model in models:
            if "int_mention_sentiment" in model.parents:
                build_mention_sentiment(con)
                prints = skip.Fingerprints(con)  # a table built outside build_model
            result = skip.build_model(con, model, layers, run_id, prints)
            skipped = result.mode is BuildMode.SKIPPED
            done[model.name] = "skipped" if skipped else result.description
    return done


def _rebuild_whole(data_dir: Path) -> None:
    """Everything built from scratch without pipeline.engine.skip (the reference)."""
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        _land(con, data_dir, "whole")
        for model in discover_models():
            if "int_mention_sentiment" in model.parents:
                build_mention_sentiment(con)
            materialize_model(con, model)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    """100 customers built, then one file of 20 orders landed and built again, then nothing
    new built a third time."""
    data_dir = tmp_path_factory.mktemp("skip")
    generate(data_dir, customers=100, seed=5, as_of=AS_OF, months=2, email_events_per_month=2)
    bench_module("yardstick").remove_vendor_files(data_dir / "landing")
    first = _build(data_dir, "build")
    bench_module("delivery").write_delivery(data_dir / "landing", AS_OF, rows=DELIVERED)
    second = _build(data_dir, "delivery")
    third = _build(data_dir, "nothing")
    return data_dir, {"build": first, "delivery": second, "nothing": third}


def test_first_build_skips_nothing(delivered) -> None:
    _, runs = delivered
    assert "skipped" not in runs["build"].values()


def test_a_delivery_of_orders_leaves_what_orders_cannot_reach(delivered) -> None:
    data_dir, runs = delivered
    after = runs["delivery"]
    # By hand from the models' parents (sql/): these read only raw tables other than orders,
    # or only those and pipeline_settings, which the delivery did not change.
    for name in ("stg_contacts", "stg_email_events", "stg_social_mentions", "stg_surveys"):
        assert after[name] == "skipped", name
    assert after["stg_tickets"] == "skipped"
    assert after["int_contacts"] == "skipped"  # pipeline_settings, stg_contacts
    # The orders reach these: stg_orders reads raw_orders; int_orders reads stg_orders.
    for name in ("stg_orders", "int_record_links", "int_orders", "int_purchases"):
        assert after[name] != "skipped", name
    # 20 new orders of existing people: their rows are there (new keys end in -DX<day>).
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        new = scalar(con, "select count(*) from staging.stg_orders where order_id like '%-DX%'")
    assert new == DELIVERED


def test_the_reason_is_recorded_for_the_run_summary(delivered) -> None:
    data_dir, runs = delivered
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        found = {s.target: s.reason for s in skip.skipped_in(con, "delivery")}
        assert skip.skipped_in(con, "build") == []
    assert set(found) == {n for n, how in runs["delivery"].items() if how == "skipped"}
    assert found["stg_contacts"] == (
        "same code, inputs unchanged since its last build (raw.raw_contacts)"
    )


def test_nothing_new_skips_every_model(delivered) -> None:
    _, runs = delivered
    assert set(runs["nothing"].values()) == {"skipped"}


def test_every_model_equals_a_full_rebuild(delivered, tmp_path: Path) -> None:
    data_dir, _ = delivered
    fresh = tmp_path / "fresh"
    shutil.copytree(data_dir / "landing", fresh / "landing")
    _rebuild_whole(fresh)
    with duckdb.connect() as con:
        run(con, f"attach '{data_dir / 'warehouse.duckdb'}' as a (read_only)")
        run(con, f"attach '{fresh / 'warehouse.duckdb'}' as b (read_only)")
        for model in discover_models():
            name = f"{model.layer}.{model.name}"
            # Lineage columns differ between the two warehouses: the landing time, and the
            # delivery numbers (the fresh one landed the orders file before the e-mail files).
            cols = [
                c
                for (c,) in rows(
                    con,
                    "select column_name from information_schema.columns where table_catalog "
                    "= 'a' and table_schema = ? and table_name = ?",
                    [model.layer, model.name],
                )
                if c not in LINEAGE_COLUMNS
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            diff = scalar(
                con,
                f"select count(*) from ((select {select} from a.{name} except all "
                f"select {select} from b.{name}) union all (select {select} from b.{name} "
                f"except all select {select} from a.{name}))",
            )
            assert diff == 0, name


def test_same_rows_needs_agreeing_evidence() -> None:
    with duckdb.connect() as con:
        run(con, "create schema raw")
        run(con, "create table raw.t (a int, _delivery_seq bigint)")
        run(con, "insert into raw.t values (1, 1), (2, 1)")
        before = skip.fingerprint(con, "raw", "t")
        assert before == {
            "columns": ["a INTEGER", "_delivery_seq BIGINT"],
            "appended": "2:1",  # two rows, latest delivery 1
        }
        run(con, "insert into raw.t values (3, 2)")
        assert not skip.same_rows(before, skip.fingerprint(con, "raw", "t"))
        # Not a raw table and not built by the engine: compared by content, in any order.
        run(con, "create table main.s as select * from (values (1, 'x'), (2, 'y')) v(a, b)")
        first = skip.fingerprint(con, "main", "s")
        run(
            con,
            "create or replace table main.s as select * from (values (2, 'y'), (1, 'x')) v(a, b)",
        )
        assert skip.same_rows(first, skip.fingerprint(con, "main", "s"))
        run(con, "update main.s set b = 'z' where a = 2")
        assert not skip.same_rows(first, skip.fingerprint(con, "main", "s"))
        # A duplicated row is a change (a sum of row hashes, not an xor).
        run(con, "create or replace table main.s as select * from (values (1, 'x')) v(a, b)")
        one = skip.fingerprint(con, "main", "s")
        run(con, "insert into main.s values (1, 'x'), (1, 'x')")
        assert not skip.same_rows(one, skip.fingerprint(con, "main", "s"))
        assert not skip.same_rows({"missing": True}, {"missing": True})


def test_changed_code_or_a_build_elsewhere_is_not_skipped() -> None:
    with duckdb.connect() as con:
        run(con, "create schema meta")
        run(con, "create table main.t as select 1 as a")
        seen = skip.inputs(con, [("main", "t")])
        skip.record(con, "m", "v1", seen)
        run(con, "create table main.m as select 1 as a")
        assert skip.why_unchanged(con, "m", "v1", seen, [("main", "m")]) == (
            "same code, inputs unchanged since its last build (main.t)"
        )
        assert skip.why_unchanged(con, "m", "v2", seen, [("main", "m")]) is None
        assert skip.why_unchanged(con, "m", "v1", seen, [("main", "gone")]) is None
        # Built since by something that does not record (its build number moved on).
        run(con, "create table meta.model_builds (model varchar, build_id int)")
        run(con, "insert into meta.model_builds values ('m', 7)")
        assert skip.why_unchanged(con, "m", "v1", seen, [("main", "m")]) is None


def _publish(data_dir: Path, as_of: str, models: bool = False) -> dg.ExecuteInProcessResult:
    """Settings, predictions, serving and charts (and with ``models`` the SQL models) as one
    real Dagster run on ``data_dir``."""
    config = PipelineConfig(data_dir=str(data_dir), as_of=as_of, timezone="UTC")
    sql = build_model_assets() if models else []
    return dg.materialize(
        [
            pipeline_settings,
            *sql,
            *PREDICTION_ASSETS,
            build_serving_asset(mart_names()),
            *CHART_ASSETS,
        ],
        resources={"config": config, "warehouse": Warehouse(config=config)},
    )


def _meta(result: dg.ExecuteInProcessResult, node: str) -> list[dict]:
    return [m.metadata for m in result.asset_materializations_for_node(node)]


def test_unchanged_marts_are_not_fitted_published_or_drawn_again(delivered) -> None:
    data_dir, _ = delivered
    first = _publish(data_dir, AS_OF.isoformat())
    assert "skipped" not in str(_meta(first, "predictions") + _meta(first, "serving_marts"))
    serving = data_dir / "serving" / "marts.duckdb"
    published = serving.read_bytes()
    heatmap = (data_dir / "docs" / "cohort_heatmap.png").stat().st_mtime_ns
    # The same marts and settings again: nothing to fit, publish or draw.
    second = _publish(data_dir, AS_OF.isoformat())
    assert all("skipped" in m for m in _meta(second, "predictions"))  # both marts
    assert "skipped" in _meta(second, "serving_marts")[0]
    assert "skipped" in _meta(second, "retention_charts")[0]
    # A skipped build still gives the row counts the UI's catalog shows: those of the first.
    for node in ("predictions", "serving_marts"):
        counts = [m["dagster/row_count"].value for m in _meta(first, node)]
        assert [m["dagster/row_count"].value for m in _meta(second, node)] == counts
    assert serving.read_bytes() == published  # not written again
    assert (data_dir / "docs" / "cohort_heatmap.png").stat().st_mtime_ns == heatmap
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        skipped = {s.target for s in skip.skipped_in(con, second.run_id)}
    assert skipped == {"predictions", "serving_marts"}
    # Another as_of changes meta.pipeline_settings, an input of both: they run again (with the
    # models, rebuilt for it: serving refuses marts of another date, tests/test_subset_runs.py).
    third = _publish(data_dir, (AS_OF + dt.timedelta(days=1)).isoformat(), models=True)
    assert "skipped" not in str(_meta(third, "predictions") + _meta(third, "serving_marts"))
    assert serving.read_bytes() != published
