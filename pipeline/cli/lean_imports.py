"""Keep what a DuckDB run never uses out of its process: PySpark, which GX imports eagerly.

Great Expectations 1.24 imports ``pyspark`` (with ``pyspark.ml`` and Spark Connect) whenever it
is installed (``great_expectations/compatibility/pyspark.py``, reached from
``great_expectations.util``), although only its Spark engine uses it. This project installs
PySpark for ``PIPELINE_ENGINE=spark``; a run on DuckDB paid 0.13–0.27 s of CPU for it in the GX
import of its first ingest step (docs/performance.md, "Fixed cost of a run"). A ``None`` entry
in ``sys.modules`` is Python's documented way to make ``import pyspark`` raise ImportError
(GX then keeps its "not installed" placeholders, and ``importlib.util.find_spec`` answers
None), so nothing of GX is patched. Only ``python -m pipeline run`` does this, and only on
DuckDB: a Spark run, the UI and the tests import PySpark as before.
"""

from __future__ import annotations

import sys

SPARK_MODULE = "pyspark"


def leave_out_pyspark(engine: str) -> bool:
    """On the DuckDB engine, make ``import pyspark`` fail in this process (unless something
    already imported it); returns whether it did."""
    if engine != "duckdb" or SPARK_MODULE in sys.modules:
        return False
    sys.modules[SPARK_MODULE] = None  # type: ignore[assignment]
    return True
