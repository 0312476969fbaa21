"""The canonical CSV path end to end: landing, ledger, quarantine, refusals, transactions."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import dagster as dg
import pytest
from ingest_support import drop, land, make_settings, query

from assets.ingest import INGEST_ASSETS
from pipeline.config import PipelineConfig
from pipeline.ingest import quarantine
from pipeline.warehouse import Warehouse, frame

ORDERS_HEADER = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\n"
)


def test_canonical_orders_land_typed_and_bad_rows_are_quarantined(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "orders",
        "orders_2024-01.csv",
        ORDERS_HEADER
        + "o1,c1,a@x.com,2024-01-05T10:00:00+02:00,completed,EUR,12.50,1.50,,\n"
        + "o2,,,2024-01-05 10:00,completed,EUR,3,,,\n"  # row 3: nobody to link to
        + 'o3,c3,,31/01/2024,Completed,EUR,"1,234.50",,,\n'  # row 4: not ISO
        + 'o4,,b@x.com,2024-02-01,Pending,EUR,"€1,234.50",,,2024-02-02 08:00:00Z\n'
        + "o5,c5,,2024-02-01,shipped,EUR,abc,,,\n",  # row 6: two problems
    )
    (report,) = land(s, "orders")
    assert (report.status, report.mapping) == ("landed", "canonical_orders")
    assert (report.rows_read, report.rows_landed, report.rows_quarantined) == (5, 2, 3)

    raw = query(s, "select * from raw_orders order by order_id")
    assert raw["order_id"].to_list() == ["o1", "o4"]
    # 10:00 at +02:00 is 08:00 UTC; a date alone is midnight UTC (PIPELINE_TIMEZONE = UTC).
    assert raw["ordered_at"].to_list() == [dt.datetime(2024, 1, 5, 8), dt.datetime(2024, 2, 1)]
    # Enum values are lower-cased; '€' and the thousands separator are stripped.
    assert raw["status"].to_list() == ["completed", "pending"]
    assert raw["gross_amount"].to_list() == [Decimal("12.5"), Decimal("1234.5")]
    assert raw["discount_amount"].to_list() == [Decimal("1.5"), None]
    assert raw["updated_at"].to_list() == [None, dt.datetime(2024, 2, 2, 8)]
    assert raw["_row_number"].to_list() == [2, 5]
    assert set(raw["_source_file"]) == {"crm/orders/orders_2024-01.csv"}
    assert set(raw["_delivery_seq"]) == {1}

    q = query(s, "select row_number, reason, record from quarantine_rows order by row_number")
    assert q["row_number"].to_list() == [3, 4, 6]
    reasons = q["reason"].to_list()
    assert "neither contact_id nor email" in reasons[0]
    assert reasons[1] == "ordered_at: cannot read '31/01/2024' as an ISO 8601 timestamp"
    assert "gross_amount: cannot read 'abc'" in reasons[2]
    assert "status 'shipped' is not one of completed, pending, cancelled, refunded" in reasons[2]
    assert '"order_id":"o3"' in q["record"][1] and '"ordered_at":"31/01/2024"' in q["record"][1]

    ledger = query(s, "select * from ingest_ledger")
    assert ledger.select("status", "rows_read", "rows_landed", "rows_quarantined").row(0) == (
        "landed",
        5,
        2,
        3,
    )


def test_naive_timestamps_are_read_in_the_pipeline_time_zone(data_dir):
    s = make_settings(data_dir, timezone="Europe/Bucharest")
    drop(
        s,
        "orders",
        "o.csv",
        ORDERS_HEADER
        + "o1,c1,,2024-07-01 12:00,completed,RON,1,,,\n"  # EEST = UTC+3 → 09:00 UTC
        + "o2,c1,,2024-01-15T12:00:00Z,completed,RON,1,,,\n"  # explicit zone wins
        + "o3,c1,,2024-03-31 03:30,completed,RON,1,,,\n",  # 03:00→04:00 DST gap: no such time
    )
    (report,) = land(s, "orders")
    assert (report.rows_landed, report.rows_quarantined) == (2, 1)
    got = query(s, "select ordered_at from raw_orders order by order_id")["ordered_at"]
    assert got.to_list() == [dt.datetime(2024, 7, 1, 9), dt.datetime(2024, 1, 15, 12)]
    reason = query(s, "select reason from quarantine_rows")["reason"][0]
    assert "does not exist in Europe/Bucharest" in reason


def test_redelivery_under_another_name_changes_nothing(data_dir):
    s = make_settings(data_dir)
    body = ORDERS_HEADER + "o1,c1,,2024-01-05,completed,EUR,1,,,\n"
    drop(s, "orders", "a.csv", body)
    land(s, "orders")
    drop(s, "orders", "copy of a.csv", body)
    (first, second) = land(s, "orders")
    assert first.status == "skipped" and first.source_file == "crm/orders/a.csv"
    assert second.status == "skipped"
    # A copy met for the first time says when its bytes landed (the run summary shows it).
    day = query(s, "select landed_at::date as d from ingest_ledger")["d"][0]
    assert second.reason == f"same bytes as crm/orders/a.csv, landed on {day}"
    assert query(s, "select count(*) as n from raw_orders")["n"][0] == 1
    assert query(s, "select count(*) as n from ingest_ledger")["n"][0] == 1


def test_overlapping_deltas_are_both_appended_in_delivery_order(data_dir):
    s = make_settings(data_dir)
    drop(s, "orders", "2024-01-02.csv", ORDERS_HEADER + "o2,c1,,2024-01-02,pending,EUR,5,,,\n")
    drop(s, "orders", "2024-01-01.csv", ORDERS_HEADER + "o1,c1,,2024-01-01,pending,EUR,5,,,\n")
    land(s, "orders")
    # A later delta repeats o2 with a new status: both versions are kept; staging picks.
    drop(s, "orders", "2024-01-03.csv", ORDERS_HEADER + "o2,c1,,2024-01-02,completed,EUR,5,,,\n")
    land(s, "orders")
    got = query(
        s, "select order_id, status, _delivery_seq from raw_orders order by _delivery_seq"
    ).rows()
    assert got == [("o1", "pending", 1), ("o2", "pending", 2), ("o2", "completed", 3)]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.csv", "", "the file is empty"),
        ("blank.csv", "\n\n  \n", "the file is empty"),
        ("header_only.csv", ORDERS_HEADER, "the file has a header but no rows"),
        ("report.pdf", "%PDF-1.4", "unsupported file type"),
        ("binary.csv", b"order_id\x00,x\n\x00\x01", "undecodable bytes: the file holds NUL"),
    ],
)
def test_unreadable_files_are_moved_aside_with_a_reason(data_dir, name, content, reason):
    s = make_settings(data_dir)
    original = drop(s, "orders", name, content)
    (report,) = land(s, "orders")
    assert report.status == "refused" and reason in report.reason
    assert not original.exists()
    moved = s.quarantine_dir / "crm" / "orders" / name
    assert moved.exists()
    assert reason in (moved.parent / f"{name}.reason.txt").read_text(encoding="utf-8")
    ledger = query(s, "select status, reason, delivery_seq from ingest_ledger").row(0)
    assert ledger[0] == "refused" and reason in ledger[1] and ledger[2] == 1


def test_unknown_header_names_the_closest_mapping_and_its_missing_columns(data_dir):
    s = make_settings(data_dir)
    drop(s, "orders", "x.csv", "order_id,contact_id,ordered_at,total\no1,c1,2024-01-01,3\n")
    (report,) = land(s, "orders")
    assert report.status == "refused"
    # canonical_orders needs order_id, ordered_at, status, gross_amount: 2 of 4 missing.
    assert "closest is 'canonical_orders', which lacks 'status', 'gross_amount'" in report.reason
    assert "Header: order_id, contact_id, ordered_at, total" in report.reason


def test_a_file_in_another_entitys_folder_is_refused_naming_the_folder_it_belongs_in(data_dir):
    s = make_settings(data_dir)
    orders = "order_id,contact_id,ordered_at,status,gross_amount\no1,c1,2024-01-01,completed,3\n"
    drop(s, "contacts", "orders_misplaced.csv", orders)
    (report,) = land(s, "contacts")
    assert report.status == "refused"
    # canonical_contacts needs contact_id and created_at; the header is canonical_orders'.
    assert report.reason.startswith(
        "unknown header: no mapping for contacts matches it; the closest is "
        "'canonical_contacts', which lacks 'created_at'. "
    )
    assert report.reason.endswith(
        "; it is a header of orders ('canonical_orders'): deliver the file into crm/orders/"
    )
    # A vendor's header too: HubSpot's contacts export delivered as orders.
    drop(s, "orders", "contacts_misplaced.csv", "Record ID,Email,Create Date\n1,a@b.c,2024-01-01\n")
    (report,) = land(s, "orders")
    assert report.status == "refused"
    assert report.reason.endswith(
        "; it is a header of contacts ('hubspot_contacts'): deliver the file into crm/contacts/"
    )


def test_two_versions_of_a_key_without_updated_at_refuse_the_file(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "orders",
        "dup.csv",
        ORDERS_HEADER
        + "o1,c1,,2024-01-01,pending,EUR,5,,,\n"
        + "o1,c1,,2024-01-01,completed,EUR,5,,,\n"
        + "o2,c1,,2024-01-01,completed,EUR,5,,,\n"
        + "o2,c1,,2024-01-01,completed,EUR,5,,,\n",  # an exact repeat is no conflict
    )
    (report,) = land(s, "orders")
    assert report.status == "refused"
    assert "1 'order_id' value appears with different contents" in report.reason
    assert "'o1' in rows 2 and 3" in report.reason
    assert query(s, "select count(*) as n from raw_orders")["n"][0] == 0


def test_two_versions_ordered_by_updated_at_land(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "orders",
        "dup.csv",
        ORDERS_HEADER
        + "o1,c1,,2024-01-01,pending,EUR,5,,,2024-01-01 10:00\n"
        + "o1,c1,,2024-01-01,completed,EUR,5,,,2024-01-02 10:00\n",
    )
    (report,) = land(s, "orders")
    assert (report.status, report.rows_landed) == ("landed", 2)


def test_validator_sees_the_good_rows_and_can_refuse_the_file(data_dir):
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS_HEADER + "o1,c1,,2024-01-01,pending,EUR,5,,,\nbad\n")
    drop(s, "orders", "b.csv", ORDERS_HEADER + "o2,c1,,2024-01-01,pending,EUR,5000,,,\n")
    seen = {}

    def validator(entity, delivered, source_file):
        # The good rows stay in DuckDB: a validator reads them with the SQL it is given.
        good = frame(delivered.con, delivered.sql)
        assert delivered.height == good.height
        seen[source_file] = (entity.name, good["order_id"].to_list(), good["_row_number"][0])
        if (good["gross_amount"] > 1000).any():
            return "gross_amount over 1000"
        return None

    a, b = land(s, "orders", validator=validator)
    assert seen == {
        "crm/orders/a.csv": ("orders", ["o1"], 2),
        "crm/orders/b.csv": ("orders", ["o2"], 2),
    }
    assert (a.status, a.rows_landed, a.rows_quarantined) == ("landed", 1, 1)
    assert (b.status, b.reason) == ("refused", "gross_amount over 1000")
    assert (s.quarantine_dir / "crm/orders/b.csv.reason.txt").exists()


def test_the_same_bytes_twice_in_one_run_land_once_although_both_were_read_ahead(data_dir):
    s = make_settings(data_dir)
    body = ORDERS_HEADER + "o1,c1,,2024-01-05,completed,EUR,1,,,\n"
    drop(s, "orders", "a.csv", body)
    drop(s, "orders", "b.csv", body)
    drop(s, "orders", "c.csv", ORDERS_HEADER + "o2,c2,,2024-01-06,completed,EUR,2,,,\n")
    first, second, third = land(s, "orders")
    assert (first.status, third.status) == ("landed", "landed")
    assert (second.status, second.reason) == ("skipped", "same bytes as crm/orders/a.csv (landed)")
    assert query(s, "select count(*) as n from raw_orders")["n"][0] == 2
    assert not list(data_dir.glob(".ingest-*"))  # every work folder removed


def test_a_crash_mid_file_leaves_nothing_and_the_file_is_retried(data_dir, monkeypatch):
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS_HEADER + "o1,c1,,2024-01-01,pending,EUR,5,,,\nbad\n")

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(quarantine, "insert_rows", crash)
    drop(s, "orders", "b.csv", ORDERS_HEADER + "o2,c1,,2024-01-02,pending,EUR,5,,,\n")
    with pytest.raises(RuntimeError, match="disk full"):
        land(s, "orders")
    # b.csv was being read ahead when a.csv failed: its work folder goes too.
    assert not list(data_dir.glob(".ingest-*"))
    counts = query(
        s,
        "select (select count(*) from raw_orders) as r, (select count(*) from ingest_ledger) "
        "as l, (select count(*) from quarantine_rows) as q",
    ).row(0)
    assert counts == (0, 0, 0)
    monkeypatch.undo()
    report, _ = land(s, "orders")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 1, 1)


def test_hidden_and_marker_files_are_ignored_and_subfolders_are_read(data_dir):
    s = make_settings(data_dir)
    drop(s, "orders", ".~lock.a.csv#", "junk")
    drop(s, "orders", "a.csv.done", "")
    drop(s, "orders", "2024/01/a.csv", ORDERS_HEADER + "o1,c1,,2024-01-01,pending,EUR,5,,,\n")
    reports = land(s, "orders")
    assert [r.source_file for r in reports] == ["crm/orders/2024/01/a.csv"]


def test_an_office_lock_file_is_left_alone_like_the_sensor_leaves_it(data_dir):
    # Excel keeps "~$a.xlsx" beside a workbook it has open; the sensor ignores "~" files
    # (docs/operations.md), so a run must neither read nor refuse (move away) it.
    s = make_settings(data_dir)
    drop(s, "orders", "~$a.xlsx", "owner name, not a workbook")
    drop(s, "orders", "a.csv", ORDERS_HEADER + "o1,c1,,2024-01-01,pending,EUR,5,,,\n")
    reports = land(s, "orders")
    assert [(r.source_file, r.status) for r in reports] == [("crm/orders/a.csv", "landed")]
    assert (s.landing_dir / "crm" / "orders" / "~$a.xlsx").is_file()
    assert not (s.data_dir / "quarantine" / "crm" / "orders" / "~$a.xlsx").exists()


def test_email_event_without_id_gets_the_documented_hash(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "email_events",
        "e.csv",
        "event_id,email,campaign_id,campaign_name,event_type,occurred_at,url\n"
        ",  Ana@Example.COM ,cmp1,Spring,Open,2024-03-01T10:00:00+01:00,\n"
        "ev-2,b@example.com,cmp1,Spring,click,2024-03-01 10:00:00.25,https://x\n"
        ",b@example.com,cmp1,Spring,click,2024-03-01 10:00:00.25,https://x\n",
    )
    land(s, "email_events")
    got = query(s, "select event_id, email, event_type from raw_email_events order by event_id")
    # lower(trim(email)) | campaign_id | canonical event_type | occurred_at in UTC, ISO
    # (10:00 at +01:00 is 09:00 UTC; microseconds only when there are some, six digits).
    ana = hashlib.sha256(b"ana@example.com|cmp1|open|2024-03-01T09:00:00").hexdigest()
    bee = hashlib.sha256(b"b@example.com|cmp1|click|2024-03-01T10:00:00.250000").hexdigest()
    assert sorted(got["event_id"].to_list()) == sorted([ana, bee, "ev-2"])
    # The e-mail lands without the white space around it, in its case as delivered (an
    # identity text, docs/open-rules.md R14); staging lower-cases it.
    assert "Ana@Example.COM" in got["email"].to_list()


def test_ingest_assets_materialise_with_metadata(data_dir):
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS_HEADER + "o1,c1,,2024-01-01,pending,EUR,5,,,\nbad\n")
    drop(s, "orders", "b.csv", "nonsense\n1\n")
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))
    assert [spec.key.to_user_string() for a in INGEST_ASSETS for spec in a.specs] == [
        "raw_contacts",
        "raw_orders",
        "raw_tickets",
        "raw_surveys",
        "raw_email_events",
        "raw_social_mentions",
    ]
    result = dg.materialize(
        INGEST_ASSETS, selection=["raw_contacts", "raw_orders"], resources={"warehouse": warehouse}
    )
    assert result.success
    mats = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.get_asset_materialization_events()
        for m in [m.materialization]
    }
    orders = mats["raw_orders"]
    assert orders["dagster/row_count"].value == 1
    assert (orders["files_landed"].value, orders["files_refused"].value) == (1, 1)
    assert orders["rows_quarantined"].value == 1
    assert "- **crm/orders/b.csv**: refused: unknown header" in orders["files"].value
    assert mats["raw_contacts"]["dagster/row_count"].value == 0


def test_the_files_entry_counts_the_deliveries_of_earlier_runs(data_dir):
    # Every run meets every delivery ever made again: 60 files landed by the first run are one
    # line of the second run's entry, beside its own new file (before: 61 lines, and a
    # backlog of 2,000 files made every later run's entry 2,000 lines long).
    s = make_settings(data_dir)
    for i in range(60):
        drop(
            s, "orders", f"f{i:02d}.csv", ORDERS_HEADER + f"o{i},c1,,2024-01-01,pending,EUR,5,,,\n"
        )
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))

    def files_entry() -> str:
        result = dg.materialize(
            INGEST_ASSETS, selection=["raw_orders"], resources={"warehouse": warehouse}
        )
        (mat,) = result.get_asset_materialization_events()
        return mat.materialization.metadata["files"].value

    # The first run's own: 20 files that landed whole listed, the other 40 counted (a backlog
    # of 2,000 files was 2,000 lines, about 250 kB of markdown).
    first = files_entry().splitlines()
    assert first[0] == (
        "- **crm/orders/f00.csv**: landed via canonical_orders: 1 row read, 1 landed, 0 quarantined"
    )
    assert first[20:] == [
        "- and 40 more files landed whole (40 rows; `run_files` and `meta.ingest_ledger` list each)"
    ]
    drop(s, "orders", "g.csv", ORDERS_HEADER + "o99,c1,,2024-01-02,pending,EUR,7,,,\n")
    assert files_entry() == (
        "- **crm/orders/g.csv**: landed via canonical_orders: 1 row read, 1 landed, "
        "0 quarantined\n"
        "- 60 files landed in earlier runs: skipped (same bytes)"
    )


def test_a_refusal_is_on_record_before_its_file_leaves_landing(data_dir, monkeypatch):
    # A run killed right after the refused file was moved to quarantine/ (here: the move, then
    # an interrupt as Ctrl-C would raise) left the refusal unrecorded: the file was gone from
    # landing, so no later run listed it. The refusal is committed first; a stop before the
    # move leaves the file in landing, refused again by the next run.
    s = make_settings(data_dir)
    drop(s, "orders", "empty.csv", "")
    real_move = quarantine.move_aside

    def move_then_stop(*args, **kwargs):
        real_move(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(quarantine, "move_aside", move_then_stop)
    with pytest.raises(KeyboardInterrupt):
        land(s, "orders")
    assert (s.quarantine_dir / "crm" / "orders" / "empty.csv").exists()
    ((source, status, reason),) = query(
        s, "select source_file, status, reason from ingest_ledger"
    ).rows()
    assert (source, status) == ("crm/orders/empty.csv", "refused")
    assert reason.startswith("the file is empty (0 bytes")


def test_a_refused_file_that_cannot_be_moved_is_recorded_as_staying(data_dir, monkeypatch):
    s = make_settings(data_dir)
    original = drop(s, "orders", "empty.csv", "")

    def cannot_move(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(quarantine, "move_aside", cannot_move)
    (report,) = land(s, "orders")
    assert original.exists()
    assert report.reason.startswith("the file is empty (0 bytes")
    assert report.reason.endswith(
        f"; it could not be moved to {s.quarantine_dir / 'crm' / 'orders'} (Permission denied): "
        "it stays in landing"
    )
    assert query(s, "select status, reason from ingest_ledger").rows() == [
        ("refused", report.reason)
    ]
