"""Issue 13's ordinary delivery mistakes, each as its smallest reproduction (docs/operations.md,
"Rules for deliveries"): none may become a wrong figure, a wedged run or a read outside landing."""

from __future__ import annotations

import dataclasses
import gzip
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from ingest_support import drop, land, make_settings, query

from pipeline.automation import sensors
from pipeline.cli.summary import print_summary
from pipeline.config import Settings
from pipeline.ingest import decimals
from pipeline.ingest.core import ingest_entity
from pipeline.warehouse import open_warehouse

REPO = Path(__file__).resolve().parent.parent
ORDERS_HEADER = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\n"
)
TICKETS_HEADER = (
    "ticket_id,contact_id,email,created_at,channel,category,status,first_response_at,"
    "solved_at,agent_replies,reopens,updated_at\n"
)


def current_orders(s: Settings) -> dict[str, tuple[str, Decimal]]:
    """order_id -> (status, gross) as the staging model picks each order's current version."""
    sql = (REPO / "sql" / "staging" / "stg_orders.sql").read_text()
    got = query(s, sql)
    return {o: (st, g) for o, st, g in got.select("order_id", "status", "gross_amount").rows()}


def quarantined(s: Settings) -> list[tuple[str, int, str]]:
    got = query(s, "select source_file, row_number, reason from quarantine_rows order by all")
    return [tuple(r) for r in got.rows()]


# 1 ----------------------------------------------------------------------------------------------
def test_a_resent_old_export_does_not_revert_a_later_update(data_dir, capsys):
    s = make_settings(data_dir)
    first = ORDERS_HEADER + "X,c1,,2024-01-05,pending,EUR,10,,,\n"
    drop(s, "orders", "a.csv", first)
    land(s, "orders")
    drop(s, "orders", "b.csv", ORDERS_HEADER + "X,c1,,2024-01-05,completed,EUR,10,,,\n")
    land(s, "orders")
    # The first export again, gzipped: new bytes, the same row.
    drop(s, "orders", "c.csv.gz", gzip.compress(first.encode()))
    report = land(s, "orders")[-1]
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 0, 1)
    assert "1 row repeats a version already superseded" in report.summary()
    (row,) = quarantined(s)
    assert row[:2] == ("crm/orders/c.csv.gz", 2)
    assert "'X' repeats the version of crm/orders/a.csv row 2" in row[2]
    assert "superseded by crm/orders/b.csv row 2" in row[2]
    # X stays completed (the second file's version), as before the re-sent export.
    assert current_orders(s) == {"X": ("completed", Decimal("10"))}
    # The CLI's run summary says so too (every land() here has run_id 'test').
    print_summary(s, "test")
    assert (
        "crm/orders/c.csv.gz: 1 row read, 0 landed, 1 quarantined (1 row repeats a version "
        "already superseded (not landed))" in capsys.readouterr().out
    )


def test_resending_the_current_version_still_lands(data_dir):
    s = make_settings(data_dir)
    body = ORDERS_HEADER + "X,c1,,2024-01-05,completed,EUR,10,,,\n"
    drop(s, "orders", "a.csv", body)
    land(s, "orders")
    drop(s, "orders", "a2.csv.gz", gzip.compress(body.encode()))
    report = land(s, "orders")[-1]
    assert (report.rows_landed, report.rows_quarantined) == (1, 0)


# 2 ----------------------------------------------------------------------------------------------
def test_same_key_and_updated_at_with_other_content_in_a_later_file_is_named(data_dir):
    # spec/contracts.md, Upserts: with equal updated_at the later delivery wins. The change is
    # never silent: the file's report names it.
    s = make_settings(data_dir)
    drop(
        s, "orders", "a.csv", ORDERS_HEADER + "o1,c1,,2024-01-05,completed,EUR,60.16,,,2024-01-06\n"
    )
    land(s, "orders")
    drop(
        s, "orders", "b.csv", ORDERS_HEADER + "o1,c1,,2024-01-05,completed,EUR,99999,,,2024-01-06\n"
    )
    report = land(s, "orders")[-1]
    assert (report.rows_landed, report.rows_quarantined) == (1, 0)
    assert (
        "1 row replaces a landed version with the same updated_at but other contents: the "
        "later delivery wins (contract)" in report.summary()
    )
    assert quarantined(s) == []
    assert current_orders(s) == {"o1": ("completed", Decimal("99999"))}


def test_a_superseded_row_is_held_back_and_a_conflict_in_the_same_file_lands(data_dir):
    # X: a (pending, undated) then b (completed, undated) is current; c repeats a's version.
    # Y: landed with updated_at 2024-01-06; c brings other contents with the same updated_at
    # (the later delivery wins). So c lands Y (7) and holds back X alone.
    s = make_settings(data_dir)
    x_pending = "X,c1,,2024-01-05,pending,EUR,10,,,\n"
    drop(
        s,
        "orders",
        "a.csv",
        ORDERS_HEADER + x_pending + "Y,c2,,2024-01-05,completed,EUR,5,,,2024-01-06\n",
    )
    land(s, "orders")
    drop(s, "orders", "b.csv", ORDERS_HEADER + "X,c1,,2024-01-05,completed,EUR,10,,,\n")
    land(s, "orders")
    drop(
        s,
        "orders",
        "c.csv",
        ORDERS_HEADER + x_pending + "Y,c2,,2024-01-05,completed,EUR,7,,,2024-01-06\n",
    )
    report = land(s, "orders")[-1]
    assert (report.rows_read, report.rows_landed, report.rows_quarantined) == (2, 1, 1)
    assert "1 row repeats a version already superseded" in report.summary()
    assert "1 row replaces a landed version with the same updated_at" in report.summary()
    # Only X's row (row 2 of c.csv) is quarantined; Y's conflict is not.
    ((source, row, reason),) = quarantined(s)
    assert (source, row) == ("crm/orders/c.csv", 2)
    assert "'X' repeats the version of crm/orders/a.csv row 2" in reason
    assert current_orders(s) == {
        "X": ("completed", Decimal("10")),
        "Y": ("completed", Decimal("7")),
    }


def test_a_first_delivery_names_no_conflict(data_dir):
    # Nothing of orders has landed yet: no version to repeat or to conflict with, so the file's
    # report carries no note at all (not "0 row(s) replace…", nor a count made up).
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS_HEADER + "o1,c1,,2024-01-05,completed,EUR,10,,,2024-01-06\n")
    (report,) = land(s, "orders")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 1, 0)
    assert report.reason is None


def test_an_immutable_entity_delivered_again_is_not_compared_by_version(data_dir):
    # Surveys are immutable (the staging model keeps a response's first delivery) and have no
    # updated_at: a second delivery repeating r1 with another score is no superseded row and
    # no conflict. Both of its rows land, nothing is quarantined or noted.
    s = make_settings(data_dir)
    header = "response_id,contact_id,email,responded_at,survey_type,score,comment,ticket_id\n"
    drop(s, "surveys", "a.csv", header + "r1,c1,,2024-01-05 10:00,nps,9,,\n")
    land(s, "surveys")
    drop(
        s,
        "surveys",
        "b.csv",
        header + "r1,c1,,2024-01-05 10:00,nps,3,,\nr2,c1,,2024-01-06 10:00,nps,7,,\n",
    )
    report = land(s, "surveys")[-1]
    assert (report.source_file, report.status) == ("crm/surveys/b.csv", "landed")
    assert (report.rows_read, report.rows_landed, report.rows_quarantined) == (2, 2, 0)
    assert report.reason is None
    got = query(s, "select response_id, score, _source_file from raw_surveys order by all").rows()
    assert got == [
        ("r1", 3, "crm/surveys/b.csv"),
        ("r1", 9, "crm/surveys/a.csv"),
        ("r2", 7, "crm/surveys/b.csv"),
    ]


# 3 ----------------------------------------------------------------------------------------------
def test_negative_amounts_are_quarantined_with_a_reason(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "orders",
        "a.csv",
        ORDERS_HEADER
        + "o1,c1,,2024-01-05,refunded,EUR,20.00,,-20.00,\n"
        + "o2,c1,,2024-01-05,completed,EUR,20.00,-500.00,,\n"
        + "o3,c1,,2024-01-05,completed,EUR,-5,,,\n"
        + "o4,c1,,2024-01-05,completed,EUR,20.00,5,15,\n"
        # A credit note (as UCI Online Retail delivers them) never counts as a purchase.
        + "o5,c1,,2024-01-05,cancelled,EUR,-20.00,,,\n",
    )
    (report,) = land(s, "orders")
    assert (report.rows_landed, report.rows_quarantined) == (2, 3)
    reasons = [r[2] for r in quarantined(s)]
    assert reasons == [
        "refund_amount '-20.00' is negative; amounts cannot be negative",
        "discount_amount '-500.00' is negative; amounts cannot be negative",
        "gross_amount '-5' is negative; amounts cannot be negative",
    ]


# 4 ----------------------------------------------------------------------------------------------
def test_decimal_separator_is_decided_once_per_file_and_ambiguous_values_are_quarantined(data_dir):
    s = make_settings(data_dir)
    header = ORDERS_HEADER.replace(",", ";")
    drop(
        s,
        "orders",
        "eu.csv",
        header
        + "o1;c1;;2024-01-05;completed;EUR;42,71;;;\n"
        + "o2;c1;;2024-01-05;completed;EUR;1,250;;;\n",
    )
    (report,) = land(s, "orders")
    assert (report.rows_landed, report.rows_quarantined) == (1, 1)
    # '42,71' can only be a decimal comma: the file's separator is ','.
    assert query(s, "select gross_amount from raw_orders")["gross_amount"].to_list() == [
        Decimal("42.71")
    ]
    (row,) = quarantined(s)
    assert row[1] == 3
    assert "'1,250' is ambiguous" in row[2]


def test_multi_group_thousands_separators(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "orders",
        "us.csv",
        ORDERS_HEADER
        + 'o1,c1,,2024-01-05,completed,USD,"1,234,567.89",,,\n'
        + 'o2,c1,,2024-01-05,completed,USD,"1,250",,,\n',  # "," shown as thousands above
    )
    drop(
        s,
        "orders",
        "eu.csv",
        ORDERS_HEADER.replace(",", ";") + "o3;c1;;2024-01-05;completed;EUR;1.234.567,89;;;\n",
    )
    reports = land(s, "orders")
    assert [(r.rows_landed, r.rows_quarantined) for r in reports] == [(1, 0), (2, 0)]
    got = query(s, "select order_id, gross_amount from raw_orders order by 1").rows()
    assert got == [
        ("o1", Decimal("1234567.89")),
        ("o2", Decimal("1250")),
        ("o3", Decimal("1234567.89")),
    ]


# 5 ----------------------------------------------------------------------------------------------
def test_ticket_times_before_creation_are_quarantined(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "tickets",
        "t.csv",
        TICKETS_HEADER
        + "t1,c1,,2024-01-05 10:00,email,question,solved,2024-01-05 09:00,2024-01-05 12:00,1,0,\n"
        + "t2,c1,,2024-01-05 10:00,email,question,solved,2024-01-05 11:00,2024-01-04 12:00,1,0,\n"
        + "t3,c1,,2024-01-05 10:00,email,question,solved,2024-01-05 11:00,2024-01-05 12:00,1,0,\n",
    )
    (report,) = land(s, "tickets")
    assert (report.rows_landed, report.rows_quarantined) == (1, 2)
    reasons = [r[2] for r in quarantined(s)]
    assert reasons == [
        "first_response_at '2024-01-05 09:00' is before created_at '2024-01-05 10:00'",
        "solved_at '2024-01-04 12:00' is before created_at '2024-01-05 10:00'",
    ]


# 7 ----------------------------------------------------------------------------------------------
def test_a_refused_file_delivered_again_is_retried(data_dir):
    s = make_settings(data_dir)
    body = ORDERS_HEADER + "o1,c1,,2024-01-05,completed,EUR,1,,,\n"
    drop(s, "contacts", "orders.csv", body)  # the wrong folder
    (refused,) = land(s, "contacts")
    assert refused.status == "refused"
    drop(s, "orders", "orders.csv", body)  # the same bytes, moved to the right folder
    (report,) = land(s, "orders")
    assert (report.status, report.rows_landed) == ("landed", 1)
    assert "retry of crm/contacts/orders.csv, refused earlier" in report.summary()
    ledger = query(s, "select source_file, status from ingest_ledger").rows()
    assert ledger == [("crm/orders/orders.csv", "landed")]


# 8 ----------------------------------------------------------------------------------------------
def test_a_file_that_cannot_be_moved_aside_does_not_wedge_ingestion(data_dir):
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", "no,header,we,know\n1,2,3,4\n")
    drop(s, "orders", "b.csv", ORDERS_HEADER + "o1,c1,,2024-01-05,completed,EUR,1,,,\n")
    # The quarantine folder cannot be made (a file stands where it goes): moving fails with an
    # OSError, as a read-only landing folder's does (root ignores chmod, so tests cannot use it).
    (s.quarantine_dir / "crm").mkdir(parents=True)
    (s.quarantine_dir / "crm" / "orders").write_text("in the way")
    first, second = land(s, "orders")
    assert first.status == "refused" and "could not be moved to" in first.reason
    assert "it stays in landing" in first.reason
    assert (second.status, second.rows_landed) == ("landed", 1)
    assert (s.landing_dir / "crm/orders/a.csv").exists()
    # The next run carries on: the stuck file is tried again and refused again, nothing raises.
    drop(s, "orders", "c.csv", ORDERS_HEADER + "o2,c1,,2024-01-05,completed,EUR,1,,,\n")
    reports = land(s, "orders")
    assert [r.status for r in reports] == ["refused", "skipped", "landed"]


# 12 ---------------------------------------------------------------------------------------------
def test_symlinks_in_landing_are_refused_without_reading_them(data_dir, tmp_path_factory):
    s = make_settings(data_dir)
    outside = tmp_path_factory.mktemp("outside") / "secret.csv"
    outside.write_text(ORDERS_HEADER + "o9,SECRET-LINE,,2024-01-05,completed,EUR,1,,,\n")
    folder = s.landing_dir / "crm" / "orders"
    folder.mkdir(parents=True)
    (folder / "link.csv").symlink_to(outside)
    (folder / "dirlink").symlink_to(outside.parent, target_is_directory=True)
    reports = land(s, "orders")
    assert [(r.source_file, r.status) for r in reports] == [
        ("crm/orders/dirlink", "refused"),
        ("crm/orders/link.csv", "refused"),
    ]
    for r in reports:
        assert "symbolic link" in r.reason and "SECRET" not in r.reason
    assert query(s, "select count(*) as n from raw_orders")["n"][0] == 0
    ledger = query(s, "select reason from ingest_ledger")["reason"].to_list()
    assert all("SECRET" not in r for r in ledger)
    assert outside.exists()  # the target is never touched


def test_a_linked_entity_folder_is_refused_and_one_behind_a_linked_parent_is_not_read(
    data_dir, tmp_path_factory
):
    s = make_settings(data_dir)
    outside = tmp_path_factory.mktemp("outside")
    (outside / "orders").mkdir()
    (outside / "orders" / "a.csv").write_text(
        ORDERS_HEADER + "o9,c1,,2024-01-05,completed,EUR,1,,,\n"
    )
    (s.landing_dir / "crm").mkdir(parents=True)
    (s.landing_dir / "crm" / "orders").symlink_to(outside / "orders", target_is_directory=True)
    (report,) = land(s, "orders")
    assert (report.source_file, report.status) == ("crm/orders", "refused")
    assert "symbolic link" in report.reason
    (s.landing_dir / "email").symlink_to(outside, target_is_directory=True)
    (outside / "events").mkdir()
    (report,) = land(s, "email_events")
    assert (report.source_file, report.status) == ("email/events", "skipped")
    assert "outside landing" in report.reason
    assert (outside / "orders" / "a.csv").exists()  # a link is moved, never its target


# 16 ---------------------------------------------------------------------------------------------
def test_work_folders_left_by_a_killed_run_are_removed(data_dir):
    s = make_settings(data_dir)
    dead = _dead_pid()
    stale = s.data_dir / f".ingest-{dead}-abc"
    stale.mkdir(parents=True)
    (stale / "parsed.parquet").write_bytes(b"personal data")
    live = s.data_dir / f".ingest-{os.getpid()}-xyz"  # this process's: in use, kept
    live.mkdir()
    drop(s, "orders", "a.csv", ORDERS_HEADER + "o1,c1,,2024-01-05,completed,EUR,1,,,\n")
    land(s, "orders")
    assert not stale.exists()
    assert live.exists()


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


# 19 ---------------------------------------------------------------------------------------------
def test_two_versions_with_the_same_updated_at_are_refused_saying_so(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "orders",
        "dup_one.csv",
        ORDERS_HEADER
        + "o1,c1,,2024-01-05,completed,EUR,1,,,2024-01-06\n"
        + "o1,c1,,2024-01-05,completed,EUR,2,,,2024-01-06\n",
    )
    (report,) = land(s, "orders")
    assert report.status == "refused"
    assert "the same updated_at" in report.reason
    assert "no updated_at" not in report.reason


def test_a_hidden_delivery_is_logged_not_silently_ignored(data_dir):
    s = make_settings(data_dir)
    drop(s, "orders", "..orders.csv", ORDERS_HEADER + "o1,c1,,2024-01-05,completed,EUR,1,,,\n")
    lines: list[str] = []
    with open_warehouse(s.warehouse_path) as con:
        reports = ingest_entity(con, s, "orders", run_id="test", log=lines.append)
    assert [(r.source_file, r.status) for r in reports] == [("crm/orders/..orders.csv", "skipped")]
    assert lines == [
        "crm/orders/..orders.csv: skipped: a hidden file (its name starts with '.') is not read; "
        "rename it to deliver it"
    ]


def test_the_sensor_requests_a_run_for_a_link_without_reading_it(data_dir):
    s = make_settings(data_dir)
    folder = s.landing_dir / "crm" / "orders"
    folder.mkdir(parents=True)
    # A dangling link: reading it would fail, so a batch proves it was not read.
    (folder / "link.csv").symlink_to(data_dir / "nowhere.csv")
    batch, _, waiting = sensors.scan(s.landing_dir, sensors.LandingState(), now=100.0, settle=0)
    assert waiting == []
    assert batch is not None and list(batch.files) == ["crm/orders/link.csv"]


def test_a_stated_separator_wins_over_the_values_and_unsettled_values_are_ambiguous():
    # '42,71' reads only with ','; '1,250' both ways; '1,234.50' shows ',' as thousands.
    frame = pl.LazyFrame({"a": ["42,71", "1,250", None]})
    assert decimals.decide(frame, [pl.col("a")], stated=None) == decimals.Decimals(
        ",", False, "values"
    )
    assert decimals.decide(frame, [pl.col("a")], stated=".").separator == "."
    shown = pl.LazyFrame({"a": ["1,250", "€1,234.50"]})
    assert decimals.decide(shown, [pl.col("a")], stated=None) == decimals.Decimals(
        ".", True, "values"
    )
    plain = pl.LazyFrame({"a": ["1250", "0.125", "1,250", "12.500"]})
    dec = decimals.decide(plain, [pl.col("a")], stated=None)
    assert dec == decimals.Decimals(".", False, "values")  # '0.125' reads only with '.'
    bad, _ = decimals.ambiguity_check(pl.col("a"), "gross_amount", dec)
    assert plain.select(bad).collect()["a"].to_list() == [False, False, True, True]


def test_only_values_readable_one_way_decide_the_separator():
    # '1,250' and '1.250' read both ways: no evidence, so '.' by default, and both stay
    # ambiguous (no ',' or '.' shown as thousands). 'abc' and a blank read neither way.
    unsure = pl.LazyFrame({"a": ["1,250", "1.250", "abc", None]})
    assert decimals.decide(unsure, [pl.col("a")], stated=None) == decimals.Decimals(
        ".", False, "default"
    )
    # '12.5' reads only with '.', whatever the mapping says: stated ',' keeps ',', and '12.5'
    # shows no '.' grouping thousands, so '1,250' stays ambiguous (not read as 1.25).
    dotted = pl.LazyFrame({"a": ["12.5", "1,250"]})
    assert decimals.decide(dotted, [pl.col("a")], stated=",") == decimals.Decimals(
        ",", False, "mapping"
    )
    # Several amount columns add up: '42,71' in one and '1.234,50' (a '.' thousands group)
    # in the other.
    two = pl.LazyFrame({"a": ["42,71", None], "b": [None, "1.234,50"]})
    assert decimals.decide(two, [pl.col("a"), pl.col("b")], stated=None) == decimals.Decimals(
        ",", True, "values"
    )


def test_a_file_without_amounts_leaves_nothing_ambiguous():
    # No amount column: nothing to read, and no value to hold back as ambiguous.
    frame = pl.LazyFrame({"a": ["1,250"]})
    assert decimals.decide(frame, [], stated=None) == decimals.Decimals(".", True, "default")
    assert decimals.decide(frame, [], stated=",") == decimals.Decimals(",", True, "mapping")
    assert decimals.ambiguity_check(pl.col("a"), "x", decimals.decide(frame, [], None)) is None
    # A decision is made once per file: it cannot be changed afterwards.
    with pytest.raises(dataclasses.FrozenInstanceError):
        decimals.decide(frame, [], None).separator = ","  # type: ignore[misc]


def test_the_first_100000_rows_decide():
    # '42,71' (readable only with ',') as row 100,000 decides; as row 100,001 it is not read,
    # and with nothing else to go by the separator is '.'.
    last_read = pl.LazyFrame({"a": [None] * 99_999 + ["42,71"]})
    assert decimals.decide(last_read, [pl.col("a")], None).separator == ","
    first_unread = pl.LazyFrame({"a": [None] * 100_000 + ["42,71"]})
    assert decimals.decide(first_unread, [pl.col("a")], None) == decimals.Decimals(
        ".", False, "default"
    )
