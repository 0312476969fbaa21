"""The command line end to end: generate a tiny data set, run, re-run, and refuse bad settings."""

from pathlib import Path

import duckdb
import pytest
from helpers import cli

from pipeline.engine import mart_names

pytestmark = pytest.mark.e2e

# Every mart is published (which marts exist: tests/test_engine_api.py).
MARTS = set(mart_names())


def serving_counts(data_dir: Path) -> dict[str, int]:
    con = duckdb.connect(str(data_dir / "serving" / "marts.duckdb"), read_only=True)
    try:
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()]
        return {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in tables}
    finally:
        con.close()


def test_generate_run_and_rerun_in_another_data_dir(tmp_path):
    # A ' in the path: every path put into SQL is quoted (it used to stop publishing).
    data_dir = tmp_path / "o'brien's data"
    gen = cli(
        "generate",
        "--out",
        str(data_dir),
        "--customers",
        "150",
        "--seed",
        "7",
        "--as-of",
        "2026-10-31",
        data_dir=data_dir,
    )
    assert gen.returncode == 0, gen.stderr
    first = cli("run", data_dir=data_dir)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "files landed in this run" in first.stdout
    counts = serving_counts(data_dir)
    assert set(counts) == MARTS | {"publication"}  # + one row per mart describing the run
    assert counts["publication"] == len(MARTS)
    assert counts["channel_retention"] == 5  # always its five rows (0..4 channels)
    assert counts["loyalty_summary"] == 1
    assert (data_dir / "serving" / "parquet" / "customer_360.parquet").exists()

    # The same files again: nothing new lands and every mart keeps its rows.
    second = cli("run", data_dir=data_dir)
    assert second.returncode == 0, second.stderr
    assert "files landed in this run" not in second.stdout
    assert serving_counts(data_dir) == counts


def test_bad_configuration_exits_with_a_clear_message(tmp_path):
    (tmp_path / "landing").mkdir()
    result = cli("run", data_dir=tmp_path, PIPELINE_CHURN_DAYS="14")
    assert result.returncode == 2
    assert "PIPELINE_CHURN_DAYS=14 is too short" in result.stderr


def test_missing_landing_folder_is_explained(tmp_path):
    result = cli("run", data_dir=tmp_path / "nothing-here")
    assert result.returncode == 2
    assert "no landing folder" in result.stderr
