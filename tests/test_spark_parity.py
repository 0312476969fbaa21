"""Parity of the two engines: every model and every serving mart built by DuckDB and by Spark.

One generated data set (40 customers) plus the oracle's hand-made edge deliveries and the rows
below (fractional seconds, naive timestamps in the daylight-saving hours of Europe/Bucharest,
NULLs, three currencies, equal purchases that tie in ntile, identity text written two ways) is
landed twice and run through the real Dagster assets (GX checks and charts left out), once with
``PIPELINE_ENGINE=duckdb`` and once with ``PIPELINE_ENGINE=spark`` (local Spark, ANSI on, UTC).
Both warehouses then hold every
model (the Spark run copies its Parquet back) and both ``serving/marts.duckdb`` files every mart:
same column names, same kind of type, same rows both ways (floats to a relative 1e-9).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from helpers import SPARK_MASTER
from oracle.compare import diff_frames
from oracle.edge_cases import BRAND_HANDLES, write_edge_deliveries

from pipeline.definitions import build_definitions
from pipeline.email_hash import hmac_pads
from pipeline.engine import discover_models
from pipeline.entities import ENTITIES
from pipeline.sample_data.generate import generate
from pipeline.spark.translate import to_spark

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = dt.date(2026, 10, 31)
JOB = "spark_parity"
# The master of the shared `spark` fixture (tests/conftest.py), which the Spark assets reuse.
MASTER = SPARK_MASTER
# Rows the generator and the oracle's edge deliveries do not have. Naive timestamps are read in
# Europe/Bucharest: 2026-03-29 03:30 does not exist there (clocks jump 03:00 -> 04:00) and
# 2026-10-25 03:30 happens twice; fractions of a second reach epoch() differences.
EDGE_ROWS = {
    # Identity text (docs/open-rules.md R14), each contact's address or handle written another
    # way by the order or mention naming it: final sigma (JavaScript's, Java's and Python's
    # lower case of ΣΟΦΟΣ), i + U+0307 (theirs of İ), ü decomposed by a Mac export behind a
    # zero-width space, an address ending in a tab. Both engines must fold them alike: Spark's
    # lower() is Java's, DuckDB's is not.
    "contacts": [
        {
            "contact_id": "SG1",
            "email": "\u03c3\u03bf\u03c6\u03bf\u03c2@x.gr",  # σοφος
            "created_at": "2026-01-05 10:00:00",
            "twitter_handle": "\u03a3\u039f\u03a6\u039f\u03a3_GR",  # ΣΟΦΟΣ_GR
        },
        {
            "contact_id": "SG2",
            "email": "\u0130PEK@X.TR",  # İPEK
            "created_at": "2026-01-06 10:00:00",
            "twitter_handle": "@\u0130pek_T",  # @İpek_T
        },
        {
            "contact_id": "SG3",
            "email": "\u200bMU\u0308LLER@x.de",  # MÜLLER decomposed, a zero-width space before
            "created_at": "2026-01-07 10:00:00",
        },
    ],
    "orders": [
        {
            "order_id": "SO5",
            "email": "\u03a3\u039f\u03a6\u039f\u03a3@X.GR",  # ΣΟΦΟΣ
            "ordered_at": "2026-09-01 10:00:00",
            "status": "completed",
            "currency": "EUR",
            "gross_amount": "30.00",
        },
        {
            "order_id": "SO6",
            "email": "i\u0307pek@x.tr",  # i̇pek, as JavaScript lower-cases İPEK
            "ordered_at": "2026-09-02 10:00:00",
            "status": "completed",
            "currency": "EUR",
            "gross_amount": "40.00",
        },
        {
            "order_id": "SO7",
            "email": "m\u00fcller@x.de\t",  # müller composed, a tab after it
            "ordered_at": "2026-09-03 10:00:00",
            "status": "completed",
            "currency": "EUR",
            "gross_amount": "50.00",
        },
        {
            "order_id": "SO1",
            "contact_id": "SC1",
            "ordered_at": "2026-03-29 03:30:00",
            "status": "completed",
            "currency": "GBP",
            "gross_amount": "19.99",
        },
        {
            "order_id": "SO2",
            "contact_id": "SC1",
            "ordered_at": "2026-10-25 03:30:00.250",
            "status": "completed",
            "currency": "USD",
            "gross_amount": "19.99",
            "discount_amount": "",
            "refund_amount": "0.01",
        },
        {
            "order_id": "SO3",
            "contact_id": "SC2",
            "ordered_at": "2026-10-25T01:30:00.5+00:00",
            "status": "completed",
            "currency": "EUR",
            "gross_amount": "19.98",
        },
        {
            "order_id": "SO4",
            "contact_id": "SC3",
            "ordered_at": "2026-10-25T01:30:00.5+00:00",
            "status": "completed",
            "currency": "EUR",
            "gross_amount": "19.98",
        },
    ],
    "tickets": [
        {
            "ticket_id": "ST1",
            "contact_id": "SC1",
            "created_at": "2026-03-29 02:59:59.999",
            "status": "solved",
            "first_response_at": "2026-03-29 04:00:00.001",
            "solved_at": "2026-03-30T10:15:30.123456Z",
            "agent_replies": "1",
            "reopens": "",
        },
        {
            "ticket_id": "ST2",
            "contact_id": "SC2",
            "created_at": "2026-10-25T00:59:59.5Z",
            "status": "open",
            "first_response_at": "2026-10-25T01:00:00.25Z",
            "channel": "",
        },
    ],
    "social_mentions": [
        {
            "mention_id": "SM1",
            "platform": "twitter",
            "author_handle": "@Parity_One",
            "text": "slow refund",
            "posted_at": "2026-10-25 03:30:00.75",
            "brand_replied_at": "2026-10-25 03:31:10.5",
            "sentiment": "",
        },
        {
            "mention_id": "SM2",
            "platform": "twitter",
            "author_handle": "\u03c3\u03bf\u03c6\u03bf\u03c2_gr",  # σοφος_gr
            "text": "great service",
            "posted_at": "2026-10-01 12:00:00",
            "sentiment": "positive",
        },
        {
            "mention_id": "SM3",
            "platform": "twitter",
            "author_handle": "i\u0307pek_t",  # i̇pek_t
            "text": "late delivery",
            "posted_at": "2026-10-02 12:00:00",
            "sentiment": "negative",
        },
    ],
}


def _write_edge_rows(landing: Path) -> None:
    for entity, rows in EDGE_ROWS.items():
        folder = landing / ENTITIES[entity].landing_path
        folder.mkdir(parents=True, exist_ok=True)
        columns = list(ENTITIES[entity].columns)
        with (folder / "zz_spark_edge.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows({c: row.get(c, "") for c in columns} for row in rows)


def _run(job: dg.JobDefinition, data_dir: Path, engine: str) -> dg.ExecuteInProcessResult:
    """One run of ``job`` on ``engine`` over the landing folder of ``data_dir``."""
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        for name, value in {
            "PIPELINE_DATA_DIR": str(data_dir),
            "PIPELINE_AS_OF": AS_OF.isoformat(),
            "PIPELINE_TIMEZONE": "Europe/Bucharest",
            "PIPELINE_ENGINE": engine,
            "PIPELINE_SPARK_MASTER": MASTER,
            # The edge deliveries' brand posts: int_brand_posts has rows on both engines.
            "PIPELINE_BRAND_HANDLES": BRAND_HANDLES,
        }.items():
            mp.setenv(name, value)
        mp.delenv("PIPELINE_LAKE_DIR", raising=False)
        result = job.execute_in_process(instance=instance)
        assert result.success
        return result


@pytest.fixture(scope="module")
def runs(tmp_path_factory, spark) -> Iterator[dict[str, object]]:
    """Both engines' runs over the same landing files: data dirs and the Spark run's result."""
    base = tmp_path_factory.mktemp("parity")
    generate(base / "duckdb", customers=40, seed=5, as_of=AS_OF)
    write_edge_deliveries(base / "duckdb" / "landing")
    _write_edge_rows(base / "duckdb" / "landing")
    shutil.copytree(base / "duckdb" / "landing", base / "spark" / "landing")
    selection = (
        dg.AssetSelection.all() - dg.AssetSelection.assets("retention_charts")
    ).without_checks()
    defs = dg.Definitions.merge(
        build_definitions(), dg.Definitions(jobs=[dg.define_asset_job(JOB, selection=selection)])
    )
    job = defs.resolve_job_def(JOB)
    results = {engine: _run(job, base / engine, engine) for engine in ("duckdb", "spark")}
    yield {"duckdb": base / "duckdb", "spark": base / "spark", "results": results}


def _kind(duckdb_type: str) -> str:
    """The kind of a DuckDB column type: integers of any width alike, decimals of any precision."""
    t = duckdb_type.upper()
    for prefix, kind in (("DECIMAL", "decimal"), ("TIMESTAMP WITH", "timestamptz")):
        if t.startswith(prefix):
            return kind
    if t in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}:
        return "integer"
    return t


def _table(path: Path, qualified: str) -> tuple[pl.DataFrame, list[tuple[str, str]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = [(r[0], _kind(r[1])) for r in con.sql(f"describe {qualified}").fetchall()]
        return con.sql(f"select * from {qualified}").pl(), columns
    finally:
        con.close()


def _assert_same(expected: pl.DataFrame, actual: pl.DataFrame, what: str) -> None:
    """Same rows both ways: both sorted by every column, compared position by position."""
    assert expected.height == actual.height, f"{what}: {expected.height} != {actual.height} rows"
    order = [c for c in expected.columns if expected.schema[c] != pl.Binary]
    rows = [df.sort(order, nulls_last=True).with_row_index("_row") for df in (expected, actual)]
    problems = diff_frames(rows[0], rows[1], ["_row"])
    assert not problems, f"{what} differs on Spark:\n" + "\n".join(problems)


# Stamps of the run itself (when the prediction model was fitted, the publication written, and
# the commit it ran from: a commit between the two runs changes it).
RUN_TIMES = {"fitted_at", "published_at", "publication_id", "code_version"}
MODELS = [m.qualified_name for m in discover_models()]


@pytest.mark.parametrize("model", MODELS)
def test_model_equal_on_both_engines(runs, model):
    expected, kinds_e = _table(runs["duckdb"] / "warehouse.duckdb", model)
    actual, kinds_s = _table(runs["spark"] / "warehouse.duckdb", model)
    assert kinds_s == kinds_e  # same names in the same order, same kind (DOUBLE stays DOUBLE)
    _assert_same(expected, actual, model)


def test_serving_marts_equal_on_both_engines(runs):
    files = {e: runs[e] / "serving" / "marts.duckdb" for e in ("duckdb", "spark")}
    con = duckdb.connect(str(files["duckdb"]), read_only=True)
    tables = [
        f"{s}.{t}"
        for s, t in con.sql(
            "select table_schema, table_name from information_schema.tables order by all"
        ).fetchall()
    ]
    con.close()
    assert len(tables) >= 9  # the nine SQL marts at least
    for table in tables:
        expected, kinds_e = _table(files["duckdb"], table)
        actual, kinds_s = _table(files["spark"], table)
        assert kinds_s == kinds_e, table
        same = [c for c in expected.columns if c not in RUN_TIMES]
        _assert_same(expected.select(same), actual.select(same), f"serving {table}")


def test_serving_parquet_equal_on_both_engines(runs):
    # serving/parquet (a link to the current publication's folder): the same files, each with
    # the same columns and types and the same rows as the DuckDB run's.
    folders = {e: runs[e] / "serving" / "parquet" for e in ("duckdb", "spark")}
    names = {e: sorted(p.name for p in f.glob("*.parquet")) for e, f in folders.items()}
    assert names["spark"] == names["duckdb"] and len(names["duckdb"]) >= 9
    frames = {
        name: [pl.read_parquet(folders[e] / name) for e in ("duckdb", "spark")]
        for name in names["duckdb"]
    }
    types = [
        f"{name}.{c}: {t} on DuckDB, {actual.schema.get(c)} on Spark"
        for name, (expected, actual) in frames.items()
        for c, t in expected.schema.items()
        if actual.schema.get(c) != t
    ]
    assert not types, "\n".join(types)
    for name, (expected, actual) in frames.items():
        assert actual.columns == expected.columns, name
        same = [c for c in expected.columns if c not in RUN_TIMES]
        _assert_same(expected.select(same), actual.select(same), f"serving/parquet/{name}")


def test_edge_rows_reached_the_marts(runs):
    # SO3 and SO4: two customers with one purchase of 19.98 EUR each tie on frequency and
    # revenue; ntile breaks the tie by customer_id on both engines (compared above).
    tickets, _ = _table(runs["spark"] / "warehouse.duckdb", "intermediate.int_tickets")
    st2 = tickets.filter(pl.col("ticket_id") == "ST2").row(0, named=True)
    # Created 00:59:59.5 UTC, answered 01:00:00.25 UTC: 0.75 s = 0.75 / 3600 h (fractions kept).
    assert st2["first_response_hours"] == pytest.approx(0.75 / 3600, rel=1e-9)
    # The brand's own posts of the edge deliveries (R13: XM12 once), left out on Spark too.
    brand, _ = _table(runs["spark"] / "warehouse.duckdb", "intermediate.int_brand_posts")
    assert sorted(brand["mention_id"]) == ["XM10", "XM11", "XM12"]
    mentions, _ = _table(runs["spark"] / "warehouse.duckdb", "intermediate.int_social_mentions")
    assert mentions.filter(pl.col("mention_id").str.contains("XM1[0-2]|edge_brand")).height == 0


def test_identity_text_names_one_customer_on_spark(runs):
    # By hand (R14): each order and mention names its contact, none is a customer outside the
    # CRM. email_sha256 is sha256 of the folded address: σοφοσ@x.gr, ipek@x.tr, müller@x.de
    # (composed). The comparisons above hold DuckDB's run to the same rows.
    customers, _ = _table(runs["spark"] / "warehouse.duckdb", "marts.customer_360")
    got = (
        customers.filter(pl.col("customer_id").is_in([_contact(c) for c in ("SG1", "SG2", "SG3")]))
        .select("customer_id", "email_sha256", "purchases", "revenue", "mentions_12m")
        .sort("revenue")
        .rows()
    )
    assert got == [
        (_contact("SG1"), _sha256("\u03c3\u03bf\u03c6\u03bf\u03c3@x.gr"), 1, Decimal(30), 1),
        (_contact("SG2"), _sha256("ipek@x.tr"), 1, Decimal(40), 1),
        (_contact("SG3"), _sha256("m\u00fcller@x.de"), 1, Decimal(50), 0),
    ]
    orders, _ = _table(runs["spark"] / "warehouse.duckdb", "intermediate.int_orders")
    linked = orders.filter(pl.col("order_id").is_in(["SO5", "SO6", "SO7"])).sort("order_id")
    assert linked.select("natural_key", "is_contact").rows() == [
        ("contact:SG1", True),
        ("contact:SG2", True),
        ("contact:SG3", True),
    ]


def _contact(contact_id: str) -> str:
    """customer_id of a CRM contact by hand: the first 16 hex digits of sha256("contact:" id)."""
    return _sha256(f"contact:{contact_id}")[:16]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_each_run_shows_its_engine(runs):
    for engine in ("duckdb", "spark"):
        mats = runs["results"][engine].asset_materializations_for_node("sql_marts")
        # the ten SQL marts (the nine of spec/metrics.md and social_language_monthly)
        assert len(mats) == 10 and {m.metadata["engine"].value for m in mats} == {engine}
    mats = runs["results"]["spark"].asset_materializations_for_node("sql_staging")
    assert {m.metadata["spark_master"].value for m in mats} == {MASTER}
    lake = runs["spark"] / "lake"
    assert (lake / "raw" / "raw_orders").is_dir() and (lake / "marts" / "customer_360").is_dir()


def test_keyed_email_hash_same_on_spark(spark):
    # int_customers' HMAC-SHA256 (PIPELINE_EMAIL_HASH_KEY set; the runs above use plain SHA-256):
    # blob concatenation, encode, unhex and sha256 translated, checked against Python's hmac.
    inner, outer = hmac_pads("parity-secret-key")
    sql = (
        "select sha256(outer_pad || unhex(sha256(inner_pad || encode(email)))) as h from hash_input"
    )
    spark.createDataFrame(
        [(bytearray(inner), bytearray(outer), "ana@example.com")],
        "inner_pad binary, outer_pad binary, email string",
    ).createOrReplaceTempView("hash_input")
    (row,) = spark.sql(to_spark(sql, "int_customers email_sha256")).collect()
    expected = hmac.new(b"parity-secret-key", b"ana@example.com", hashlib.sha256).hexdigest()
    assert row["h"] == expected
