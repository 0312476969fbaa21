"""``bench/run.py --engine spark`` (bench/spark.py): the option reaches the Spark comparison,
and its table reads the measurements given (hand-made here; nothing is run)."""

from __future__ import annotations

from helpers import bench_module


def test_engine_option():
    run = bench_module("run")
    assert run.parse_args(["--engine", "spark", "--scales", "100000"]).engine == "spark"
    assert run.parse_args([]).engine == "duckdb"  # make bench without ENGINE: as before


def test_table_of_both_engines():
    steps = {"sql_staging": 1.0, "sql_intermediate": 2.0, "sql_marts": 0.5}
    spark_steps = {"sql_staging": 10.0, "sql_intermediate": 20.0, "sql_marts": 5.25}
    results = {
        "scales": [
            {
                "customers": 100000,
                "duckdb": {"wall_seconds": 100.0, "sql_steps": steps, "stages": {"validation": 9}},
                "spark": {"wall_seconds": 300.0, "sql_steps": spark_steps, "stages": {}},
                "marts_equal": {"customer_360": True, "loyalty_summary": True},
                "lake_bytes": 3 * 2**20,
            }
        ]
    }
    lines = bench_module("spark").table(results).splitlines()
    assert lines[:2] == ["| 100,000 customers | DuckDB | Spark (local) |", "|---|---:|---:|"]
    # SQL layers: 1 + 2 + 0.5 = 3.5 s on DuckDB, 10 + 20 + 5.25 = 35.25 s on Spark.
    assert "| of which the SQL layers | 3.5 s | 35.2 s |" in lines
    assert "| `sql_marts` | 0.5 s | 5.2 s |" in lines
    assert "| validation steps | 9.0 s | 0.0 s |" in lines
    assert lines[-2:] == ["| marts equal | | yes |", "| lake (Parquet) | | 3 MiB |"]
