"""The rules of ``pipeline.validation.state`` one by one, on an in-memory DuckDB (a second in
all): the mart shrink floor, which tables a check's fingerprint reads for each kind of batch,
when a table is hashed and when its build number vouches for it, and when a recorded pass is
reused. ``test_validation_stages.py`` runs the same through real suites on a built warehouse."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipeline.engine import BuildLog
from pipeline.engine.skip import content_hash
from pipeline.validation import state
from pipeline.validation.state import (
    Unchanged,
    Watermark,
    fingerprint,
    min_row_count,
    record_pass,
    unchanged_since,
)
from pipeline.validation.suites import Suite
from pipeline.warehouse import run


def suite(batch: str, asset: str) -> Suite:
    """A suite of ``batch`` over ``asset`` with no expectations (the fingerprint reads only
    its batch and asset)."""
    return Suite(f"s_{batch}", Path(f"{batch}.json"), "staging", asset, batch, {"expectations": []})


@pytest.fixture
def con():
    """A warehouse in memory: three staging tables with rows, the rest missing."""
    con = duckdb.connect()
    run(con, "create schema staging")
    run(con, "create table staging.stg_orders as select * from range(3) t(i)")
    run(con, "create table staging.stg_contacts as select * from range(2) t(i)")
    run(con, "create table staging.int_orders as select * from range(1) t(i)")
    yield con
    con.close()


@pytest.mark.parametrize(
    ("last_good", "shrink", "floor"),
    [
        (None, 0.25, 0),  # no good run yet: any count
        (0, 0.25, 0),  # the last good run had no rows
        (24, 0.25, 18),  # 24 x 0.75 = 18 exactly: 18, not 19
        (30, 0.25, 23),  # 22.5 rounds up
        (24, 0.5, 12),
        (27, 0.0, 27),  # no shrink allowed: every row
        (20, 0.7, 6),  # 20 x (1 - 0.7) is 6.000000000000001 in floats: still 6
        (20, 0.25, 15),  # 20 rows: the first count held to the share
        (19, 0.25, 0),  # fewer: one cancelled order may be a large share, any count
        (3, 0.25, 0),  # 3 buyers, one order cancelled: 2 is not lost input
        (3, 0.0, 0),
    ],
)
def test_the_shrink_floor_is_the_ceiling_of_the_rows_kept(last_good, shrink, floor):
    assert min_row_count(last_good, shrink) == floor


def test_each_kind_of_batch_reads_its_own_tables(con):
    # The asset checked is always read; a batch over another table adds it; the personal-data
    # batch reads the mart checked (the asset) only; the customer-links batch reads the tables
    # that link records to customers. A table that does not exist is None (never reused).
    orders = content_hash(con, "staging", "stg_orders")
    contacts = content_hash(con, "staging", "stg_contacts")
    for batch in ("landed_file", "new_rows", "currencies", "table"):
        assert fingerprint(con, [suite(batch, "stg_contacts")], "stg_orders") == {
            "stg_contacts": contacts,
            "stg_orders": orders,
        }, batch
    assert fingerprint(con, [suite("personal_data", "marts_x")], "stg_orders") == {
        "stg_orders": orders
    }
    assert fingerprint(con, [suite("customer_links", "stg_contacts")], "stg_contacts") == {
        "int_customers": None,
        "int_orders": content_hash(con, "staging", "int_orders"),
        "int_record_links": None,
        "stg_contacts": contacts,
        "stg_orders": orders,
        "stg_surveys": None,
        "stg_tickets": None,
    }


def test_a_table_above_hash_rows_is_vouched_for_by_its_build(con, monkeypatch):
    # At most HASH_ROWS rows: the content hash. One more: the row count and build number (and
    # None before any build, so that the check is never reused).
    monkeypatch.setattr(state, "HASH_ROWS", 2)
    assert fingerprint(con, [], "stg_contacts") == {
        "stg_contacts": content_hash(con, "staging", "stg_contacts")
    }
    assert fingerprint(con, [], "stg_orders") == {"stg_orders": None}
    log = BuildLog(con)
    log.record("stg_orders", "v1", [])
    log.record("stg_orders", "v1", [])
    assert fingerprint(con, [], "stg_orders") == {"stg_orders": "3 rows, build 2"}


def test_a_pass_is_reused_only_for_the_same_suites_and_tables(con):
    tables = {"stg_orders": "3:1", "stg_contacts": "2:5"}  # not in name order
    record_pass(con, "stg_orders", "suites-a", tables, "run-1")
    # The order the tables are named in does not matter, when recorded or when looked up.
    for named in (tables, dict(reversed(tables.items()))):
        found = unchanged_since(con, "stg_orders", "suites-a", named)
        assert found is not None and found.run_id == "run-1"
    assert unchanged_since(con, "stg_orders", "suites-b", tables) is None
    assert unchanged_since(con, "stg_orders", "suites-a", {**tables, "stg_orders": "4:1"}) is None
    assert unchanged_since(con, "stg_contacts", "suites-a", tables) is None
    # A table that could not be fingerprinted (missing, or big and never built): never reused,
    # even when a pass saw the same.
    unknown = {"stg_orders": None}
    record_pass(con, "stg_orders", "suites-a", unknown, "run-2")
    assert unchanged_since(con, "stg_orders", "suites-a", unknown) is None


def test_the_records_cannot_be_changed_once_made():
    # Frozen: a watermark or a reused pass handed around is what was read.
    with pytest.raises(dataclasses.FrozenInstanceError):
        Watermark(3, 10).row_count = 11  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Unchanged("run-1", dt.datetime(2024, 1, 1)).run_id = "run-2"  # type: ignore[misc]
