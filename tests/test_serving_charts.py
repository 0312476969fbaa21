"""The retention charts: each picture is drawn again only when what it shows changed."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from assets.charts import CURVE_FILE, HEATMAP_FILE, curve_figure, retention_charts
from assets.serving import publish
from pipeline.config import PipelineConfig
from pipeline.warehouse import open_warehouse, run


def write_cohorts(con: duckdb.DuckDBPyConnection, september_k1: int) -> None:
    """Cohort 2026-08 (4 buyers) and 2026-09 (2 buyers, ``september_k1`` of them buying again
    in October); October 2026 is the open month."""
    run(
        con,
        "create or replace table marts.cohort_retention as select * from (values "
        "(date '2026-08-01', 0, 4, 4, 1.0), (date '2026-08-01', 1, 4, 2, 0.5), "
        "(date '2026-08-01', 2, 4, 1, 0.25), (date '2026-09-01', 0, 2, 2, 1.0), "
        "(date '2026-09-01', 1, 2, ?, ? / 2)) "
        "as t(cohort_month, months_since_first, cohort_size, retained_customers, retention_rate)",
        [september_k1, september_k1],
    )
    run(
        con,
        "create or replace table marts.retention_monthly as select * from (values "
        "(date '2026-08-01', true), (date '2026-09-01', true), (date '2026-10-01', false)) "
        "as t(month, is_complete)",
    )


def draw(data_dir: Path, september_k1: int) -> dict:
    """Publish the cohorts and run the charts step; its metadata."""
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        write_cohorts(con, september_k1)
        publish(con, data_dir / "serving", ["cohort_retention", "retention_monthly"])
    result = dg.materialize(
        [retention_charts], resources={"config": PipelineConfig(data_dir=str(data_dir))}
    )
    assert result.success
    (mat,) = result.asset_materializations_for_node("retention_charts")
    return mat.metadata


def test_an_order_in_the_open_month_redraws_the_heat_map_only(data_dir: Path) -> None:
    docs = data_dir / "docs"
    first = draw(data_dir, september_k1=1)
    assert first["pictures_drawn"].value == [HEATMAP_FILE, CURVE_FILE]
    curve_png = (docs / CURVE_FILE).read_bytes()
    curve_time = (docs / CURVE_FILE).stat().st_mtime_ns
    heatmap_png = (docs / HEATMAP_FILE).read_bytes()
    # The September cohort's second buyer buys again in October, the open month: its k = 1 cell
    # goes from 1/2 to 2/2, so the heat map changes. The curve counts complete months only: k=0
    # (4+2)/(4+2) = 1, k=1 cohort 08 alone 2/4 = 0.5 (09 + 1 is October), as before.
    second = draw(data_dir, september_k1=2)
    assert second["pictures_drawn"].value == [HEATMAP_FILE]
    assert "skipped" not in second
    assert second["retention_month_1_pct"].value == 50.0 and second["curve_points"].value == 2
    assert (docs / HEATMAP_FILE).read_bytes() != heatmap_png
    assert (docs / CURVE_FILE).read_bytes() == curve_png  # the file drawn the first time
    assert (docs / CURVE_FILE).stat().st_mtime_ns == curve_time  # not written again
    # Its picture in the metadata is the kept file's.
    assert second["retention_curve"].md_str == first["retention_curve"].md_str
    # The same figures again: neither is drawn.
    third = draw(data_dir, september_k1=2)
    assert third["pictures_drawn"].value == [] and "skipped" in third


def test_a_change_in_a_complete_month_redraws_both(data_dir: Path) -> None:
    draw(data_dir, september_k1=1)
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        # A change in a complete month: cohort 08's k = 1 (September) from 2/4 to 3/4, a
        # point of the curve.
        write_cohorts(con, september_k1=1)
        run(
            con,
            "update marts.cohort_retention set retained_customers = 3, retention_rate = 0.75 "
            "where cohort_month = date '2026-08-01' and months_since_first = 1",
        )
        publish(con, data_dir / "serving", ["cohort_retention", "retention_monthly"])
    result = dg.materialize(
        [retention_charts], resources={"config": PipelineConfig(data_dir=str(data_dir))}
    )
    (mat,) = result.asset_materializations_for_node("retention_charts")
    assert mat.metadata["pictures_drawn"].value == [HEATMAP_FILE, CURVE_FILE]
    assert mat.metadata["retention_month_1_pct"].value == 75.0  # 3 of cohort 08's 4


def charts_of(data_dir: Path, cohorts: str, months: str) -> dict:
    """Publish ``cohorts`` and ``months`` (the values of the two marts) and run the charts step."""
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        run(
            con,
            f"create or replace table marts.cohort_retention as select * from ({cohorts}) "
            "as t(cohort_month, months_since_first, cohort_size, retained_customers, "
            "retention_rate)",
        )
        run(
            con,
            f"create or replace table marts.retention_monthly as select * from ({months}) "
            "as t(month, is_complete)",
        )
        publish(con, data_dir / "serving", ["cohort_retention", "retention_monthly"])
    result = dg.materialize(
        [retention_charts], resources={"config": PipelineConfig(data_dir=str(data_dir))}
    )
    (mat,) = result.asset_materializations_for_node("retention_charts")
    return mat.metadata


def test_pictures_of_cohorts_that_are_gone_are_removed(data_dir: Path) -> None:
    # A new shop's first orders, drawn; the next day they are all cancelled (test orders): no
    # cohort is left, and pictures of the old ones were kept (and listed by the run summary).
    docs = data_dir / "docs"
    draw(data_dir, september_k1=1)
    assert (docs / HEATMAP_FILE).exists() and (docs / CURVE_FILE).exists()
    none = "select * from (values (date '2026-08-01', 0, 1, 1, 1.0)) limit 0"
    gone = charts_of(data_dir, none, "select * from (values (date '2026-08-01', true)) limit 0")
    assert gone["cohorts"].value == 0
    assert not (docs / HEATMAP_FILE).exists() and not (docs / CURVE_FILE).exists()
    # One buyer again, in the open month: a heat map of one cell; no complete month, no curve.
    draw(data_dir, september_k1=1)
    october = charts_of(
        data_dir,
        "values (date '2026-10-01', 0, 1, 1, 1.0)",
        "values (date '2026-10-01', false)",
    )
    assert october["cohorts"].value == 1 and october["curve_points"].value == 0
    assert (docs / HEATMAP_FILE).exists() and not (docs / CURVE_FILE).exists()


def test_the_curve_counts_months_in_whole_numbers() -> None:
    # A first month's single point was drawn on an axis of -0.06 … 0.06 months.
    one = curve_figure(pl.DataFrame({"k": [0], "retention_rate": [1.0]}))
    assert list(one.axes[0].get_xticks()) == [0]
    # Up to 12 ticks: 30 points (k = 0 … 29) every ceil(30 / 12) = 3 months.
    many = curve_figure(pl.DataFrame({"k": list(range(30)), "retention_rate": [0.5] * 30}))
    assert list(many.axes[0].get_xticks()) == list(range(0, 30, 3))
