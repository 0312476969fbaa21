"""bench/ingest_phases.py: the ingest profiled per phase lands what ``ingest_entity`` lands, puts
back every function it wrapped, and runs the yardstick's statements of one entity."""

from __future__ import annotations

from pathlib import Path

from helpers import bench_module

from pipeline.ingest import core, ledger
from tests.ingest_support import drop, make_settings, query

HEADER = "event_id,email,campaign_id,campaign_name,event_type,occurred_at,url\n"


def test_profiled_ingest_lands_the_files_and_restores_the_functions(tmp_path: Path) -> None:
    phases = bench_module("ingest_phases")
    settings = make_settings(tmp_path)
    drop(
        settings,
        "email_events",
        "a.csv",
        HEADER + "e1,a@x.example,c1,A,open,2025-11-04T08:00:01Z,\n",
    )
    drop(
        settings,
        "email_events",
        "b.csv",
        HEADER
        + "e2,b@x.example,c1,A,click,2025-11-04T09:00:00Z,\n"
        + "e3,,c1,A,open,2025-11-04T09:00:00Z,\n",  # no e-mail: quarantined
    )
    before = (core.Ingestion.read_ahead, ledger.cached_sha256, core.run)
    result = phases.profile_pipeline(tmp_path, ["email_events"])
    # Two files, three rows: e1 and e2 land, e3 (no e-mail, a required column) is quarantined.
    assert query(settings, "select event_id from raw_email_events order by 1").rows() == [
        ("e1",),
        ("e2",),
    ]
    assert query(settings, "select row_number from quarantine_rows").rows() == [(3,)]
    totals, cpu, wall = result["email_events"]
    # Small files take the polars route; each phase below runs for both files.
    for phase in ("hashing", "polars route parse", "insert into raw", "quarantine", "ledger"):
        assert phase in totals
    assert "DuckDB read_csv" not in totals
    assert cpu >= 0 and wall >= 0
    assert (core.Ingestion.read_ahead, ledger.cached_sha256, core.run) == before


def test_yardstick_statements_of_one_entity(tmp_path: Path) -> None:
    phases = bench_module("ingest_phases")
    csv = tmp_path / "events.csv"
    csv.write_text(HEADER + "e1,a@x.example,c1,A,open,2025-11-04T08:00:01Z,\n", encoding="utf-8")
    sql = tmp_path / "yardstick.sql"
    # The shape of bench/yardstick.py's file: settings, schemas, a table and its inserts.
    sql.write_text(
        "set TimeZone = 'UTC';\n"
        "create schema if not exists raw;\n"
        "create or replace table raw.raw_email_events (event_id text);\n"
        f"insert into raw.raw_email_events select event_id from read_csv('{csv}');\n"
        "create or replace table raw.raw_orders (order_id text);\n"
    )
    result = phases.profile_yardstick(sql, ["email_events", "orders"])
    assert set(result) == {"email_events", "orders"}
