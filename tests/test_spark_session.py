"""Spark Connect (``sc://``) masters: the client libraries are installed, and a machine without
them gets a message naming the packages instead of pyspark's import error. No Spark started."""

from __future__ import annotations

import sys

import pytest

from pipeline.spark.session import (
    SparkConnectClientMissing,
    connect_client_missing,
    spark_session,
)


def test_connect_client_installed_by_the_spark_group():
    assert connect_client_missing() == []


def test_sc_master_without_the_connect_client_names_the_packages(monkeypatch):
    # As on a machine with pyspark but not the group's grpcio-status: the import is blocked.
    monkeypatch.setitem(sys.modules, "grpc_status", None)
    monkeypatch.setenv("JAVA_HOME", "/no/java/needed")  # nothing is started
    with pytest.raises(SparkConnectClientMissing) as err:
        spark_session("sc://spark.example:15002")
    assert str(err.value) == (
        "PIPELINE_SPARK_MASTER=sc://spark.example:15002 is a Spark Connect server, but its "
        "client libraries are not installed: grpcio-status. Install the project's 'spark' "
        "dependency group (make install, or uv sync --group spark), or use a spark:// master."
    )
