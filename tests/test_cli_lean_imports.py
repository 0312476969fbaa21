"""``python -m pipeline run`` on DuckDB leaves PySpark out of GX's import; Spark runs keep it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# In a fresh interpreter: this test process may have imported PySpark already.
SCRIPT = """
import sys
from pipeline.cli.lean_imports import leave_out_pyspark
print(leave_out_pyspark(sys.argv[1]))
import great_expectations as gx
from great_expectations.compatibility import pyspark
print("pyspark" in sys.modules and sys.modules["pyspark"] is not None)
print(type(pyspark.pyspark).__name__)
# GX still validates on its pandas/SQL engines: an ephemeral context opens.
print(type(gx.get_context(mode="ephemeral")).__name__)
"""


def run_script(engine: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, engine],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    return done.stdout.split()


def test_duckdb_run_leaves_pyspark_out() -> None:
    # Left out: never imported, and GX holds its "not installed" placeholder.
    assert run_script("duckdb") == ["True", "False", "NotImported", "EphemeralDataContext"]


def test_spark_run_keeps_pyspark() -> None:
    assert run_script("spark") == ["False", "True", "module", "EphemeralDataContext"]
