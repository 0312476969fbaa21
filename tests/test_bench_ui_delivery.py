"""The pure parts of bench/ui_delivery.py (a warm/cold delivery benchmark on `pipeline ui`):
the order of the deliveries and the table and medians it reports. No UI is started here; the
script itself is run by hand, on a built data directory."""

from __future__ import annotations

import pytest
from helpers import bench_module


def test_pairs_alternate_which_mode_goes_first() -> None:
    ui_delivery = bench_module("ui_delivery")
    # Odd pairs warm first, even pairs cold first.
    assert ui_delivery.run_order(3) == [
        (1, "warm"),
        (1, "cold"),
        (2, "cold"),
        (2, "warm"),
        (3, "warm"),
        (3, "cold"),
    ]
    assert ui_delivery.run_order(0) == []


def _run(index, pair, mode, figures, cpu, ingest, sql, validation) -> dict:  # noqa: ANN001
    file_to_end, launch_to_end, launch_to_start, run, steps, between = figures
    return {
        "index": index,
        "pair": pair,
        "mode": mode,
        "launcher": mode,
        "file_to_end_seconds": file_to_end,
        "launch_to_end_seconds": launch_to_end,
        "launch_to_start_seconds": launch_to_start,
        "run_seconds": run,
        "steps_seconds": steps,
        "between_steps_seconds": between,
        "cpu_seconds": cpu,
        "stages": {
            "ingest": ingest,
            "sql": sql,
            "polars": 0.0,
            "validation": validation,
            "serving": 0.0,
            "other": 0.0,
        },
    }


RESULTS = {
    "runs": [
        _run(1, 1, "warm", (10.0, 6.0, 0.5, 5.5, 5.0, 0.5), 5.0, 1.0, 2.0, 2.0),
        _run(2, 1, "cold", (20.0, 12.0, 3.0, 9.0, 8.0, 1.0), 10.0, 3.0, 2.5, 2.5),
        # Its process was not seen: no CPU figure, left out of the cold median.
        _run(3, 2, "cold", (24.0, 14.0, 3.5, 10.5, 9.0, 1.5), None, 3.5, 3.0, 2.5),
        _run(4, 2, "warm", (12.0, 7.0, 0.3, 6.7, 6.0, 0.7), 6.0, 1.0, 2.5, 2.5),
    ]
}


def test_medians_per_mode_by_hand() -> None:
    got = bench_module("ui_delivery").medians(RESULTS["runs"])
    # Two runs per mode: each median is the mean of the pair, worked out by hand; the cold
    # CPU median is the one known value.
    assert got["warm"] == pytest.approx(
        {
            "file_to_end_seconds": 11.0,
            "launch_to_end_seconds": 6.5,
            "launch_to_start_seconds": 0.4,
            "run_seconds": 6.1,
            "steps_seconds": 5.5,
            "between_steps_seconds": 0.6,
            "cpu_seconds": 5.5,
            "ingest": 1.0,
            "sql": 2.25,
            "polars": 0.0,
            "validation": 2.25,
            "serving": 0.0,
            "other": 0.0,
        }
    )
    assert got["cold"] == pytest.approx(
        {
            "file_to_end_seconds": 22.0,
            "launch_to_end_seconds": 13.0,
            "launch_to_start_seconds": 3.25,
            "run_seconds": 9.75,
            "steps_seconds": 8.5,
            "between_steps_seconds": 1.25,
            "cpu_seconds": 10.0,
            "ingest": 3.25,
            "sql": 2.75,
            "polars": 0.0,
            "validation": 2.5,
            "serving": 0.0,
            "other": 0.0,
        }
    )


def test_table_rows_per_run_then_medians() -> None:
    table = bench_module("ui_delivery").render_table(RESULTS)
    # Written out by hand: the stages with no time in any run (polars, serving, other) have
    # no column; an unknown CPU shows as "?"; the medians are those of the test above.
    assert table.splitlines() == [
        "| # | pair | mode | launcher | file → end | launch → end | launch → start | run "
        "| steps | between steps | CPU | ingest | sql | validation |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        "| 1 | 1 | warm | warm | 10.00 | 6.00 | 0.50 | 5.50 | 5.00 | 0.50 | 5.00 | 1.00 | 2.00 "
        "| 2.00 |",
        "| 2 | 1 | cold | cold | 20.00 | 12.00 | 3.00 | 9.00 | 8.00 | 1.00 | 10.00 | 3.00 "
        "| 2.50 | 2.50 |",
        "| 3 | 2 | cold | cold | 24.00 | 14.00 | 3.50 | 10.50 | 9.00 | 1.50 | ? | 3.50 | 3.00 "
        "| 2.50 |",
        "| 4 | 2 | warm | warm | 12.00 | 7.00 | 0.30 | 6.70 | 6.00 | 0.70 | 6.00 | 1.00 | 2.50 "
        "| 2.50 |",
        "| median of 2 |  | **warm** |  | 11.00 | 6.50 | 0.40 | 6.10 | 5.50 | 0.60 | 5.50 | 1.00 "
        "| 2.25 | 2.25 |",
        "| median of 2 |  | **cold** |  | 22.00 | 13.00 | 3.25 | 9.75 | 8.50 | 1.25 | 10.00 "
        "| 3.25 | 2.75 | 2.50 |",
    ]
