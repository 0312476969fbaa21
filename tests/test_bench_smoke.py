"""Smoke test of the benchmark's pieces (bench/): the yardstick builds the same marts as the
pipeline's own ingestion and models, the comparison notices a changed row, the extra day of
deliveries is well formed, and steps are sorted into the right stages."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from helpers import REPO_ROOT, bench_module

from pipeline.config import Settings
from pipeline.engine import discover_models, materialize_model
from pipeline.entities import ENTITIES
from pipeline.ingest.core import ingest_entity
from pipeline.sample_data.generate import generate
from pipeline.sentiment.scoring import build_mention_sentiment
from pipeline.warehouse import frame, open_warehouse, run, scalar

AS_OF = dt.date(2026, 10, 31)
DAY = AS_OF + dt.timedelta(days=1)


def _pipeline_build(data_dir: Path, as_of: dt.date) -> None:
    """Land every new delivery and build every model the way the Dagster assets do."""
    yardstick = bench_module("yardstick")
    settings = Settings.resolve(data_dir=str(data_dir), as_of=as_of.isoformat(), timezone="UTC")
    with open_warehouse(settings.warehouse_path) as con:
        run(con, yardstick.settings_statement(as_of.isoformat()))
        for entity in ENTITIES:
            reports = ingest_entity(con, settings, entity)
            assert all(r.status != "refused" for r in reports), reports
        for model in discover_models():
            if yardstick.SENTIMENT_TABLE in model.parents:
                build_mention_sentiment(con)
            materialize_model(con, model)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 customers, 3 months: generated, vendor files removed, built by pipeline and
    yardstick."""
    data_dir = tmp_path_factory.mktemp("bench")
    generate(data_dir, customers=200, seed=3, as_of=AS_OF, months=3, email_events_per_month=4)
    removed = bench_module("yardstick").remove_vendor_files(data_dir / "landing")
    assert removed, "the generator writes vendor samples; the benchmark removes them"
    _pipeline_build(data_dir, AS_OF)
    with duckdb.connect(str(data_dir / "yardstick.duckdb")) as con:
        result = bench_module("yardstick").run_yardstick(
            data_dir / "landing", con, AS_OF.isoformat()
        )
    assert result.skipped_files == []  # nothing but canonical files is left
    return data_dir


def test_yardstick_marts_equal_the_pipelines(built: Path) -> None:
    compared = bench_module("compare").compare_marts(
        built / "warehouse.duckdb", built / "yardstick.duckdb"
    )
    assert len(compared) == len([m for m in discover_models() if m.layer == "marts"])
    assert [c.mart for c in compared if not c.equal] == []
    # Not vacuous: the per-customer mart has rows.
    assert next(c for c in compared if c.mart == "customer_360").pipeline_rows > 0


def test_yardstick_raw_tables_hold_the_same_rows(built: Path) -> None:
    with duckdb.connect() as con:
        run(con, f"attach '{built / 'warehouse.duckdb'}' as p (read_only)")
        run(con, f"attach '{built / 'yardstick.duckdb'}' as y (read_only)")
        for entity in ENTITIES.values():
            cols = ", ".join([*entity.columns, "_source_file", "_row_number"])
            t = entity.raw_table
            only_p = f"select {cols} from p.raw.{t} except all select {cols} from y.raw.{t}"
            assert scalar(con, f"select count(*) from ({only_p})") == 0, t
            assert scalar(con, f"select count(*) from p.raw.{t}") == scalar(
                con, f"select count(*) from y.raw.{t}"
            )


def test_comparison_notices_one_changed_row(built: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed.duckdb"
    changed.write_bytes((built / "yardstick.duckdb").read_bytes())
    with duckdb.connect(str(changed)) as con:
        run(con, "update marts.loyalty_summary set customers = customers + 1")
    compared = bench_module("compare").compare_marts(built / "warehouse.duckdb", changed)
    summary = next(c for c in compared if c.mart == "loyalty_summary")
    # loyalty_summary has one row; the changed copy of it is on one side only, the original on
    # the other, and the row counts still agree (1 = 1).
    assert (summary.pipeline_rows, summary.yardstick_rows) == (1, 1)
    assert (summary.only_in_pipeline, summary.only_in_yardstick) == (1, 1)
    assert not summary.equal
    assert [c.mart for c in compared if not c.equal] == ["loyalty_summary"]


def test_increment_is_one_day_of_new_and_updated_records(built: Path, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for entity in ENTITIES.values():  # a private copy: the module's data stay as built
        (landing / entity.landing_path).mkdir(parents=True)
        for path in (built / "landing" / entity.landing_path).glob("*.csv"):
            (landing / entity.landing_path / path.name).write_bytes(path.read_bytes())
    increment, yardstick = bench_module("increment"), bench_module("yardstick")
    written = increment.write_increment(landing, DAY, fraction=0.05)
    with duckdb.connect() as con:
        run(con, "set TimeZone = 'UTC'")
        for name, entity in ENTITIES.items():
            path = (
                landing
                / entity.landing_path
                / f"{increment.FILE_PREFIX[name]}_increment_20261101.csv"
            )
            assert yardstick.is_canonical(path, entity)
            rows = frame(con, yardstick.canonical_csv_select(entity, path))
            assert rows.height == written[name]
            primary = increment.PRIMARY[name]
            new = rows.filter(rows[entity.key].str.ends_with("-D20261101"))
            # Every new record starts on the new day; the rest are newer versions.
            assert new[primary].dt.date().unique().to_list() in ([], [DAY])
            updated = rows.filter(~rows[entity.key].str.ends_with("-D20261101"))
            if entity.mutable:
                assert (updated["updated_at"].dt.date() >= DAY).all()
            else:
                assert updated.height == 0
        events = written["email_events"]
    # 5 % of the events, 80 % of them new: about 4 % of the events of the full build.
    with duckdb.connect(str(built / "yardstick.duckdb"), read_only=True) as con:
        total = scalar(con, "select count(*) from raw.raw_email_events")
    assert 0.02 * total < events < 0.06 * total


def test_stage_of_sorts_steps_into_stages() -> None:
    stage_of = bench_module("measure").stage_of
    checks_only = {"stg_orders_staging_expectations"}
    assert stage_of("raw_orders", checks_only) == "ingest"
    assert stage_of("sql_intermediate", checks_only) == "sql"
    assert stage_of("int_mention_sentiment", checks_only) == "polars"
    assert stage_of("stg_orders_staging_expectations", checks_only) == "validation"
    assert stage_of("serving_marts", checks_only) == "serving"
    assert stage_of("retention_charts", checks_only) == "serving"
    assert stage_of("pipeline_settings", checks_only) == "other"


def _measured(measured: float, start: float = 20.0, rss: float = 2**30) -> dict:
    stages = {"ingest": measured / 2, "sql": measured / 2, "polars": 0.0, "validation": 0.0,
              "serving": 0.0, "other": 0.0}  # fmt: skip
    return {
        "wall_seconds": measured + start,
        "process_start_seconds": start,
        "measured_seconds": measured,
        "after_run_seconds": 0.0,
        "between_steps_seconds": 0.0,
        "cpu_seconds": measured,
        "stages": stages,
        "steps": {"raw_orders": measured / 2, "sql_staging": measured / 2},
        "step_stage": {"raw_orders": "ingest", "sql_staging": "sql"},
        "assets": {"stg_orders": measured / 2},
        "peak_rss": rss,
        "load_before": 1.0,
        "load_after": 1.0,
    }


def test_report_states_targets_met_or_not() -> None:
    scale = {
        "customers": 100_000,
        "input_rows": {"orders": 600_000},
        "landing_bytes": 2**20,
        "generate_seconds": 1.0,
        "full": _measured(300.0),
        "increment": _measured(20.0),
        "increment_rows": {"orders": 6_000},
        "yardstick": {
            "seconds": 100.0,
            "cpu_seconds": 100.0,
            "load_seconds": 40.0,
            "sql_seconds": 60.0,
            "sentiment_seconds": 0.0,
            "models": {"staging.stg_orders": 30.0},
            "peak_rss": 2**30,
        },
        "compare": [{"mart": "retention_monthly", "equal": True}],
    }
    results = {
        "machine": {"cpu": "test"},
        "options": {
            "scales": [100_000],
            "months": 12,
            "email_per_month": 10.0,
            "seed": 1,
            "as_of": "2026-10-31",
            "increment": 0.01,
        },  # fmt: skip
        "scales": [scale],
    }
    text = bench_module("report").render(results)
    # Full build 300 s / yardstick 100 s = 3.0 ×, above 1.5 ×: not met.
    assert "300.0 s vs 100.0 s = 3.00 ×" in text
    # +1 day 20 s / 300 s = 6.7 % ≤ 15 % (the 100k target): met.
    # 600,000 rows / 300 s = 2,000 rows/s.
    assert "| 100,000: 20.0 s vs 300.0 s = 7% | yes |" in text
    assert "| 2,000 |" in text
    assert "| full build at 100k customers" in text and "| **no** |" in text
    assert "yes (1 mart)" in text
    # --scales 100000 is not make bench's default (10000,100000): the report says what ran.
    assert "Written by `python bench/run.py --scales 100000`" in text
    # The verdict is per scale, each against its own target (issue 14: ≤ 15 % at 100k, ≤ 5 % at
    # 1M). 10k has none: its 50 s of 200 s (25 %) is shown, not judged, so 100k's 7 % decides.
    small = {**scale, "customers": 10_000, "full": _measured(200.0), "increment": _measured(50.0)}
    text = bench_module("report").render({**results, "scales": [small, scale]})
    assert "10,000: 50.0 s vs 200.0 s = 25%; 100,000: 20.0 s vs 300.0 s = 7% | yes |" in text
    # A 1M scale whose day takes 60 s of a 1,000 s build (6 % > 5 %) fails its target, though
    # 100k meets 15 %.
    big = {**scale, "customers": 1_000_000, "full": _measured(1000.0), "increment": _measured(60.0)}
    text = bench_module("report").render({**results, "scales": [scale, big]})
    assert "100,000: 20.0 s vs 300.0 s = 7%; 1,000,000: 60.0 s vs 1,000.0 s = 6% | **no** |" in text


def test_benchmarks_md_is_rendered_from_its_measurements() -> None:
    # BENCHMARKS.md is only ever the rendering of BENCHMARKS.json, written by one bench run.
    repo = REPO_ROOT
    measurements = repo / "BENCHMARKS.json"
    if not measurements.exists():
        pytest.fail("BENCHMARKS.json is missing: run `make bench` to write both files")
    results = json.loads(measurements.read_text(encoding="utf-8"))
    assert (repo / "BENCHMARKS.md").read_text(encoding="utf-8") == bench_module("report").render(
        results
    )
