"""The predictions asset in Dagster on a real warehouse: the CDNOW sample and a tiny shop.

The CDNOW sample is landed through its vendor mapping, the tiny shop's orders go in as raw
rows; every SQL model is built, then the multi-asset fits both models from int_purchases and
its two mart suites run as blocking checks.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil

import dagster as dg
import polars as pl
from helpers import SHARED_DATA, skip_unless_ci
from ingest_support import land, make_settings
from marts_fixtures import build_all, insert_rows, new_warehouse, write_settings

from assets.checks import STEP_CHECKS
from assets.predictions import build_predictions_asset
from pipeline.config import PipelineConfig
from pipeline.predict.docs import PREDICTION_MARTS
from pipeline.predict.model import predict
from pipeline.warehouse import Warehouse, open_warehouse, rows


def load_orders(data_dir, as_of: str, orders: list[tuple[str, str, dt.date, str]]) -> None:
    con = new_warehouse(data_dir)
    try:
        write_settings(con, as_of)
        insert_rows(
            con,
            "orders",
            [
                {
                    "order_id": o,
                    "email": e,
                    "ordered_at": f"{d} 12:00:00",
                    "status": "completed",
                    "gross_amount": amount,
                }
                for o, e, d, amount in orders
            ],
        )
        build_all(con)
    finally:
        con.close()


def file_days(lines: list[str], drop_zero: bool) -> pl.DataFrame:
    """The sample's purchase days keyed by sample id, as pipeline.predict reads them."""
    fields = [line.split() for line in lines]
    frame = pl.DataFrame(
        {
            "customer_id": [f[1] for f in fields],
            "day": [dt.datetime.strptime(f[2], "%Y%m%d").date() for f in fields],
            "amount": [float(f[4]) for f in fields],
        }
    )
    if drop_zero:
        frame = frame.filter(pl.col("amount") > 0)
    return frame.group_by("customer_id", "day").agg(pl.col("amount").sum())


def run_asset(data_dir, as_of: str, monkeypatch, instance: dg.DagsterInstance | None = None):
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "failures")
    # The step as the pipeline defines it, its suites evaluated inside it; without the
    # fresh_data checks (a WARN on these hand-made warehouses, whose ledgers are empty or old).
    suites = [c for c in STEP_CHECKS["predictions"] if c[0].name == "mart_expectations"]
    assert {spec.asset_key.to_user_string() for spec, _ in suites} == set(PREDICTION_MARTS)
    config = PipelineConfig(data_dir=str(data_dir), as_of=as_of)
    return dg.materialize(
        [build_predictions_asset(suites)],
        resources={"config": config, "warehouse": Warehouse(config=config)},
        instance=instance,
    )


def metadata(result, asset: str) -> dict:
    (mat,) = [
        m for m in result.asset_materializations_for_node("predictions")
        if m.asset_key.to_user_string() == asset
    ]  # fmt: skip
    return {k: v.value for k, v in mat.metadata.items()}


def test_cdnow_through_the_warehouse(data_dir, monkeypatch):
    if not SHARED_DATA.is_dir():
        skip_unless_ci("../shared/data is not present")
    # Landed as delivered, through the cdnow_sample mapping (no header row), then every model.
    settings = make_settings(data_dir)
    target = settings.landing_dir / "crm" / "orders"
    target.mkdir(parents=True)
    shutil.copy(SHARED_DATA / "cdnow" / "CDNOW_sample.txt", target)
    (report,) = land(settings, "orders")
    assert (report.mapping, report.rows_landed) == ("cdnow_sample", 6_919)
    con = new_warehouse(data_dir)
    try:
        write_settings(con, "1997-09-30")
        build_all(con)
    finally:
        con.close()
    lines = (SHARED_DATA / "cdnow" / "CDNOW_sample.txt").read_text().splitlines()
    result = run_asset(data_dir, "1997-09-30", monkeypatch)
    assert result.success
    checks = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert set(checks) == set(PREDICTION_MARTS)
    assert all(e.passed for e in checks.values()), {k: e.description for k, e in checks.items()}
    with open_warehouse(data_dir / "warehouse.duckdb", read_only=True) as con:
        model = rows(con, "select parameter, value, status from prediction_model order by all")
        summary = rows(
            con,
            "select count(*), count(*) filter (where frequency > 0), sum(frequency), "
            "count(*) filter (where frequency = 0 and p_alive = 1), "
            "count(expected_order_value), count(predicted_clv_365d) from customer_predictions",
        )
    # The 8 purchases of $0.00 in the sample (all before 1997-09-30, each the only purchase of
    # its customer; count them with awk '$5+0==0') are not qualifying (net_amount > 0), so the
    # marts fit 2,349 customers where the paper fits 2,357. The same fit, made straight from
    # the file without those rows, must come out of the warehouse (SQL models, UTC days, ids).
    direct = predict(
        file_days(lines, drop_zero=True), dt.date(1997, 9, 30), 0.01, dt.datetime(2026, 1, 1)
    )
    expected = dict(zip(direct.model["parameter"], direct.model["value"], strict=True))
    got = {p: v for p, v, _ in model}
    assert set(got) == set(expected)
    assert all(math.isclose(got[p], expected[p], rel_tol=1e-4) for p in got), (got, expected)
    assert {s for _, _, s in model} == {"fitted"}
    # Without those 8 customers BG/NBD moves to r 0.244, alpha 4.422, a 0.7925, b 2.423
    # (LL −9,578.2); Gamma-Gamma, fitted on the same 946 repeaters, keeps the published figures.
    assert (round(got["p"], 2), round(got["q"], 2), round(got["gamma"], 2)) == (6.25, 3.74, 15.44)
    # 2,349 customers, 946 repeaters with 2,457 repeat purchase days (the papers' counts);
    # every one-day customer (1,411 − 8) has P(alive) = 1; each repeater a value and a CLV.
    assert summary == [(2349, 946, 2457, 1403, 946, 946)]
    meta = metadata(result, "customer_predictions")
    assert meta["bg_nbd_status"] == "fitted"
    assert math.isclose(meta["bg_nbd_log_likelihood"], direct.bg_nbd.log_likelihood, abs_tol=1e-3)
    assert "data:image/png;base64," in meta["p_alive_heatmap"]
    assert "data:image/png;base64," in meta["holdout_chart"]
    assert (data_dir / "docs" / "p_alive_heatmap.png").exists()


def test_too_few_repeat_customers_publishes_nulls_and_the_reason(data_dir, monkeypatch):
    # Three customers, one of whom bought twice: 1 repeat customer, 20 needed.
    day = dt.date(2024, 3, 1)
    orders = [
        ("o1", "a@x.test", day, "10"),
        ("o2", "a@x.test", day + dt.timedelta(days=20), "12"),
        ("o3", "b@x.test", day, "5"),
        ("o4", "c@x.test", day + dt.timedelta(days=3), "7"),
    ]
    load_orders(data_dir, "2024-06-30", orders)
    # The pictures of an earlier run's fit (its repeat orders since cancelled): the run summary
    # lists what is in docs/ as charts to look at, so a picture of no fit must not stay there.
    docs = data_dir / "docs"
    docs.mkdir()
    for name in ("p_alive_heatmap.png", "prediction_holdout.png"):
        (docs / name).write_bytes(b"\x89PNG of an earlier fit")
    instance = dg.DagsterInstance.ephemeral()
    result = run_asset(data_dir, "2024-06-30", monkeypatch, instance)
    assert result.success  # the run does not fail
    assert sorted(p.name for p in docs.glob("*.png")) == []
    # The run log says there was no fit, and why; not "fitted in 0.03s (too few …)".
    said = [e.user_message for e in instance.all_logs(result.run_id) if e.dagster_event is None]
    assert (
        "no BG/NBD predictions: too few repeat customers to fit: 1 with frequency >= 1, "
        "20 needed" in said
    )
    assert "customer_predictions: 3 customers, as_of 2024-06-30, no fit" in said
    assert not any("fitted in" in line for line in said)
    assert all(e.passed for e in result.get_asset_check_evaluations())
    reason = "too few repeat customers to fit: 1 with frequency >= 1, 20 needed"
    assert metadata(result, "customer_predictions")["bg_nbd_status"] == reason
    assert metadata(result, "prediction_model")["bg_nbd_status"] == reason
    with open_warehouse(data_dir / "warehouse.duckdb", read_only=True) as con:
        got = rows(
            con,
            "select frequency, round(recency_weeks, 12), p_alive, expected_purchases_365d, "
            "expected_order_value, churn_risk from customer_predictions order by frequency",
        )
        statuses = rows(
            con, "select distinct status, count(value) from prediction_model group by 1"
        )
    # a: two days 20 days apart → frequency 1, recency 20/7 weeks; nothing is predicted.
    assert got == [
        (0, 0.0, None, None, None, None),
        (0, 0.0, None, None, None, None),
        (1, round(20 / 7, 12), None, None, None, None),
    ]
    assert statuses == [(reason, 0)]
    # Run again on the same purchases: skipped, and the row counts the UI shows stay (the
    # three customers, the seven parameters), not gone with the skip.
    again = run_asset(data_dir, "2024-06-30", monkeypatch)
    for mart, count in (("customer_predictions", 3), ("prediction_model", 7)):
        meta = metadata(again, mart)
        assert meta["dagster/row_count"] == count
        assert meta["skipped"].startswith("same code, inputs unchanged since its last build")
