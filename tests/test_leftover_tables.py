"""Tables of removed models on a real warehouse file: named, with who still reads them and the
statement that drops them; the records of the removed model forgotten, so that a model put back
is rebuilt whole with its build numbers going on (pipeline/engine/leftovers.py).

The end-to-end story (a mart removed from a copy of the code, run, put back) is
tests/test_removed_model.py.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from marts_fixtures import insert_rows, new_warehouse, write_settings
from test_validation_stages import built_warehouse

from pipeline.definitions import build_definitions
from pipeline.engine import BuildMode, discover_models
from pipeline.engine.catalog import PYTHON_READERS
from pipeline.engine.leftovers import (
    REMOVED,
    forget_removed,
    left_tables,
    left_tables_once,
    left_tables_text,
    said_once,
)
from pipeline.engine.skip import build_model
from pipeline.predict.docs import PREDICTION_MARTS
from pipeline.validation.state import Watermark, record_pass, suite_readers, write_watermarks
from pipeline.warehouse import rows, run, scalar

MODELS = {m.name: m for m in discover_models()}
SURVEYS = [
    {"response_id": "r1", "email": "a@x.com", "responded_at": "2024-03-01 10:00:00",
     "survey_type": "nps", "score": "9"},
    {"response_id": "r2", "email": "b@x.com", "responded_at": "2024-04-01 10:00:00",
     "survey_type": "nps", "score": "3"},
]  # fmt: skip


def test_each_left_table_is_named_with_its_readers_and_its_drop_statement(tmp_path: Path) -> None:
    con = new_warehouse(tmp_path)
    # Left behind: a mart, a staging table the customer-links suite still joins (with the
    # delta its incremental model wrote), an intermediate table the predictions read, and one
    # nothing reads. Still named: a model's table and a Python-built mart.
    for table in (
        "marts.old_summary",
        "staging.stg_surveys",
        "meta.stg_surveys__delta",
        "intermediate.int_purchases",
        "intermediate.int_scratch",
        "marts.retention_monthly",
        "marts.customer_predictions",
    ):
        run(con, f"create table {table} as select 1 as n")
    models = [m for m in MODELS if m not in ("stg_surveys", "int_purchases")]
    found = left_tables(con, models, suite_readers)
    assert left_tables_text(found) == [
        "4 tables in the warehouse that no model name (their models were removed from sql/; "
        "nothing builds, checks or drops them): drop each by hand while no run is writing "
        '(docs/architecture.md, "Removing a model"):',
        "  staging.stg_surveys: still read by the suite staging_customer_links, which reads "
        "its stale rows until it is dropped (then remove or change that reader too)",
        "    drop table staging.stg_surveys;",
        "    drop table meta.stg_surveys__delta;",
        "  intermediate.int_purchases: still read by customer_predictions, prediction_model, "
        "which read its stale rows until it is dropped (then remove or change those readers "
        "too)",
        "    drop table intermediate.int_purchases;",
        "  intermediate.int_scratch: nothing reads it",
        "    drop table intermediate.int_scratch;",
        "  marts.old_summary: not published to serving",
        "    drop table marts.old_summary;",
    ]
    # Each statement drops what it names (here, by the test: the pipeline never does).
    for statement in (s for t in found for s in t.drop_statements()):
        run(con, statement)
    assert left_tables(con, models) == []
    assert left_tables_text([]) == []
    con.close()


def test_one_left_table_is_said_in_the_singular(tmp_path: Path) -> None:
    con = new_warehouse(tmp_path)
    run(con, "create table marts.old_summary as select 1 as n")
    assert left_tables_text(left_tables(con, list(MODELS)))[0].startswith(
        "1 table in the warehouse that no model names (its model was removed from sql/; "
        "nothing builds, checks or drops it): "
    )
    con.close()


def test_a_removed_model_is_forgotten_and_put_back_rebuilt_whole(tmp_path: Path) -> None:
    con = new_warehouse(tmp_path)
    write_settings(con, "2024-12-31")
    insert_rows(con, "surveys", SURVEYS)
    model = MODELS["stg_surveys"]
    layers = {m.name: m.layer for m in MODELS.values()}
    first = build_model(con, model, layers, "run-1")
    assert (first.mode, first.rows, first.build_id) == (BuildMode.FULL_REBUILD, 2, 1)
    # The same inputs: skipped, as any unchanged model is.
    assert build_model(con, model, layers, "run-2").mode is BuildMode.SKIPPED
    write_watermarks(con, "stg_surveys", {"stg_surveys": Watermark(1, 2)}, "run-2")
    record_pass(con, "stg_surveys", "suites", {"stg_surveys": "2:…"}, "run-2")
    write_watermarks(con, "stg_orders", {"stg_orders": Watermark(1, 5)}, "run-2")

    others = [m for m in MODELS if m != "stg_surveys"]
    assert forget_removed(con, others) == ["stg_surveys"]
    assert forget_removed(con, others) == []  # forgotten once
    # Its skip record and its checks' state are gone; another check's watermark stays.
    assert scalar(con, "select count(*) from meta.build_inputs where target = 'stg_surveys'") == 0
    assert rows(con, "select check_asset from meta.validation_watermarks") == [("stg_orders",)]
    assert scalar(con, "select count(*) from meta.validation_passes") == 0
    assert rows(
        con, "select sql_sha256, build_id from meta.model_builds where model = 'stg_surveys'"
    ) == [(REMOVED, 1)]
    # The table itself is left as it was.
    assert scalar(con, "select count(*) from staging.stg_surveys") == 2

    # Put back, with the same inputs: rebuilt whole (an incremental model too), build 2.
    again = build_model(con, model, layers, "run-3")
    assert (again.mode, again.rows, again.build_id) == (BuildMode.FULL_REBUILD, 2, 2)
    assert again.reason == "its SQL or incremental: block changed"
    assert rows(con, "select response_id from staging.stg_surveys order by 1") == [
        ("r1",),
        ("r2",),
    ]
    assert forget_removed(con, list(MODELS)) == []  # back: nothing to forget
    con.close()


def test_the_python_readers_are_the_definitions_deps_on_sql_models() -> None:
    # PYTHON_READERS is written by hand; the definitions hold the truth: every Python-built
    # asset's dependency on a SQL model (serving_marts publishes the marts of mart_names(), by
    # that list: never a table left behind).
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    found: dict[str, list[str]] = {}
    for key in sorted(graph.get_all_asset_keys()):
        name = key.to_user_string()
        if name in MODELS or name == "serving_marts":
            continue
        for parent in graph.get(key).parent_keys:
            if parent.to_user_string() in MODELS:
                found.setdefault(parent.to_user_string(), []).append(name)
    assert {k: tuple(v) for k, v in found.items()} == PYTHON_READERS


def test_a_run_says_its_left_tables_once_whichever_step_asks_first(tmp_path: Path) -> None:
    con = new_warehouse(tmp_path)
    run(con, "create table marts.old_summary as select 1 as n")
    # The first step of run-1 to ask says the table; its later steps, none; run-2 says it again.
    assert [t.name for t in left_tables_once(con, list(MODELS), "run-1")] == ["old_summary"]
    assert left_tables_once(con, list(MODELS), "run-1") == []
    assert said_once(con, "run-1") is False
    assert [t.name for t in left_tables_once(con, list(MODELS), "run-2")] == ["old_summary"]
    # Nothing left: nothing to say, and no run is recorded as having said it.
    run(con, "drop table marts.old_summary")
    assert left_tables_once(con, list(MODELS), "run-3") == []
    assert said_once(con, "run-3") is True
    assert rows(con, "select run_id from meta.left_tables_said order by 1") == [
        ("run-1",),
        ("run-2",),
        ("run-3",),
    ]
    con.close()


def warnings_said(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step, first line) of each warning of the run that names left tables."""
    return [
        (entry.step_key, entry.user_message.splitlines()[0])
        for entry in instance.all_logs(run_id)
        if entry.level == logging.WARNING and "that no model names" in entry.user_message
    ]


def test_a_run_of_selected_models_says_the_left_table_once(
    data_dir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A warehouse with every model built, and a mart whose model was removed (made by hand).
    monkeypatch.setenv("PIPELINE_AS_OF", "2024-12-31")
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    shutil.copy(built_warehouse(tmp_path_factory, "left_tables"), data_dir / "warehouse.duckdb")
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    run(con, "create table marts.old_summary as select 1 as n")
    con.close()
    job = build_definitions().resolve_implicit_global_asset_job_def()
    instance = dg.DagsterInstance.ephemeral()
    # "Materialize selected" of a staging model and a mart that does not read it: two layer
    # steps, in either order; the first says it, the other not (before, only serving_marts
    # did, and this run does not reach it).
    picked = job.execute_in_process(
        instance=instance,
        asset_selection=[dg.AssetKey("stg_surveys"), dg.AssetKey("loyalty_summary")],
    )
    assert picked.success
    first = (
        "1 table in the warehouse that no model names (its model was removed from sql/; nothing "
        "builds, checks or drops it): drop each by hand while no run is writing "
        '(docs/architecture.md, "Removing a model"):'
    )
    ((step, line),) = warnings_said(instance, picked.run_id)
    assert step in ("sql_staging", "sql_marts") and line == first
    # A run that builds no SQL model (the predictions and serving) says it in serving_marts,
    # which never publishes the table.
    served = job.execute_in_process(
        instance=instance,
        asset_selection=[dg.AssetKey(k) for k in (*PREDICTION_MARTS, "serving_marts")],
    )
    assert served.success
    assert warnings_said(instance, served.run_id) == [("serving_marts", first)]
    (done,) = served.asset_materializations_for_node("serving_marts")
    assert done.metadata["tables_left"].value == ["marts.old_summary"]
    assert "old_summary" not in done.metadata["marts"].value
