"""A check step's suites together: the personal-data suite once over the step's changed marts.

The warehouse is the one of tests/test_validation_stages.py (every model built from its
``fill``). Column counts are read off the marts' SQL: ``channel_retention`` selects 4 columns
(channels_engaged, customers, active_customers, active_rate), ``loyalty_summary`` 9 (as_of,
customers, repeat_customers, repeat_rate, loyal_customers, loyal_share, active_customers,
helped_customers_12m, ror); neither has a text column, so their personal-data batches are their
column names with a null value.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from test_validation_stages import built_warehouse

from assets.checks import CHECK_NAMES, fail_if_blocked
from pipeline import pii
from pipeline.config import Settings
from pipeline.definitions import build_definitions
from pipeline.engine import mart_names
from pipeline.predict.docs import PREDICTION_MARTS
from pipeline.validation.log import read_log
from pipeline.validation.stages import suites_for, validate_assets
from pipeline.validation.suites import read_suites
from pipeline.warehouse import prepare, run

GUARD = "marts_no_personal_data"
MARTS = ("channel_retention", "loyalty_summary")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return built_warehouse(tmp_path_factory, "validation_step")


@pytest.fixture
def wh(built, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "failures")
    shutil.copy(built, tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    prepare(con)
    settings = Settings.resolve(data_dir=str(tmp_path), as_of="2024-12-31")
    yield con, settings, read_suites()
    con.close()


def step(wh, run_id: str) -> dict:
    con, settings, suites = wh
    targets = [(m, suites_for(m, "marts", suites)) for m in MARTS]
    return validate_assets(con, settings, targets, run_id)


def guard(result):
    (outcome,) = [o for o in result.outcomes if o.suite == GUARD]
    return outcome


def counts(outcome) -> list[tuple]:
    return [
        (e.expectation, e.success, e.element_count, e.unexpected_count, e.missing_count, e.observed)
        for e in outcome.expectations
    ]


def test_the_guard_runs_once_for_the_step_and_each_mart_shares_its_pass(wh):
    con, settings, suites = wh
    results = step(wh, "run-1")
    assert {m: r.status for m, r in results.items()} == dict.fromkeys(MARTS, "passed")
    # One run for both marts: each outcome says so and carries the step's counts, 4 + 9 = 13
    # column names (no text value), not counted again per mart.
    assert [guard(results[m]).rows for m in MARTS] == [13, 13]
    assert all("one run with the step's 2 changed marts" in guard(results[m]).batch for m in MARTS)
    regex = "expect_column_values_to_not_match_regex"
    step_counts = [
        ("expect_column_values_to_not_be_in_set", True, 13, 0, 0, "0 of 13 rows unexpected"),
        (regex, True, 13, 0, 13, "0 of 13 rows unexpected"),  # every value is null: names only
        (regex, True, 13, 0, 13, "0 of 13 rows unexpected"),
    ]
    assert [counts(guard(results[m])) for m in MARTS] == [step_counts, step_counts]
    # Logged per mart, as the checks and the Data Docs index read them.
    logged = [(o.target, o.rows) for o in read_log(settings.data_dir, "run-1") if o.suite == GUARD]
    assert logged == [("channel_retention", 13), ("loyalty_summary", 13)]
    # A pass is recorded for each mart: nothing runs again while they are unchanged.
    again = step(wh, "run-2")
    assert all(r.unchanged is not None for r in again.values())
    # Alone (passes forgotten, so it runs), a mart's run counts its own 4 column names.
    run(con, "delete from meta.validation_passes")
    alone = validate_assets(con, settings, [("channel_retention", [suites[GUARD]])], "run-3")[
        "channel_retention"
    ]
    assert "one run" not in guard(alone).batch
    assert (guard(alone).status, guard(alone).rows) == ("passed", 4)
    assert [c[2:5] for c in counts(guard(alone))] == [(4, 0, 0), (4, 0, 4), (4, 0, 4)]


def test_a_leak_in_one_mart_is_reported_by_that_marts_own_run(wh):
    con = wh[0]
    run(con, "alter table marts.channel_retention add column note varchar")
    run(
        con,
        "update marts.channel_retention set note = 'ask Ann <Ann.B@example.org>' "
        "where channels_engaged = 2",
    )
    results = step(wh, "run-1")
    # The step's run failed, so each mart ran the suite on its own batch: the leak reads as
    # in a check of its own (5 column names + 1 value = 6 rows), the other mart passes.
    leaky = guard(results["channel_retention"])
    assert (leaky.status, leaky.rows) == ("error", 6)
    assert [e.describe() for e in leaky.errors] == [
        f"expect_column_values_to_not_match_regex on value regex {pii.EMAIL[:300]}… "
        f"({len(pii.EMAIL):,} characters, whole in the suite file): 1 of 6 rows "
        "unexpected, e.g. ask Ann <Ann.B@example.org> (mart_column note)",
    ]
    assert results["channel_retention"].status == "error"
    clean = guard(results["loyalty_summary"])
    assert (clean.status, clean.rows) == ("passed", 9)
    assert "one run" not in clean.batch


def test_every_check_is_evaluated_in_the_step_that_builds_its_asset():
    defs = build_definitions()
    steps = {
        a.node_def.name: a
        for a in defs.assets
        if isinstance(a, dg.AssetsDefinition) and a.is_executable
    }
    # No step evaluates checks alone: each check is in the step that builds its asset.
    assert not [a for a in defs.asset_checks or []]
    checked = {name for name, a in steps.items() if a.check_specs_by_output_name}
    assert checked == {"raw_ingest", "sql_staging", "sql_intermediate", "sql_marts", "predictions"}
    for a in steps.values():
        assert {s.asset_key for s in a.check_specs} <= set(a.keys)
    marts = mart_names()
    assert {"customer_predictions", "prediction_model"} <= set(marts)
    specs = {
        (s.asset_key.to_user_string(), s.name): s
        for name in ("sql_marts", "predictions")
        for s in steps[name].check_specs
    }
    for mart in marts:
        # The suites block what depends on the mart; freshness only warns.
        assert specs[(mart, CHECK_NAMES["marts"])].blocking
        assert not specs[(mart, "fresh_data")].blocking
    assert len(specs) == 2 * len(marts)
    assert {s.asset_key.to_user_string() for s in steps["predictions"].check_specs} == set(
        PREDICTION_MARTS
    )
    # The landed checks, one per raw table, block.
    landed = [s for s in steps["raw_ingest"].check_specs if s.name == CHECK_NAMES["landed"]]
    assert len(landed) == 6 and all(s.blocking for s in landed)


def test_a_step_fails_naming_each_failed_blocking_check_and_its_finding() -> None:
    def spec(asset: str, name: str, blocking: bool = True) -> tuple:
        return dg.AssetCheckSpec(name, asset=asset, blocking=blocking), None

    checks = [spec("stg_orders", "staging_expectations"), spec("stg_orders", "advisory", False)]

    def result(name: str, passed: bool, severity=dg.AssetCheckSeverity.ERROR, text=None):
        return dg.AssetCheckResult(
            asset_key=dg.AssetKey("stg_orders"),
            check_name=name,
            passed=passed,
            severity=severity,
            description=text,
        )

    # Passed, failed with WARN (shows only), failed but not blocking: the step goes on.
    fine = [
        result("staging_expectations", True),
        result("staging_expectations", False, dg.AssetCheckSeverity.WARN),
        result("advisory", False),
    ]
    assert list(fail_if_blocked(iter(fine), checks)) == fine
    # A blocking check failed with ERROR: every event still comes out first (the step's work is
    # kept), then the step fails naming the check and what it found.
    failed = result("staging_expectations", False, text="order_id not unique: o1 (rows 2, 5)")
    events = fail_if_blocked(iter(["materialised", failed]), checks)
    assert [next(events), next(events)] == ["materialised", failed]
    with pytest.raises(dg.Failure) as raised:
        next(events)
    assert raised.value.description == (
        "1 blocking check failed: staging_expectations on stg_orders; what depends on them "
        "is not built\n"
        "- staging_expectations on stg_orders: order_id not unique: o1 (rows 2, 5)"
    )
