"""Canonical CSV parsed into the warehouse's in-memory scratch database (``_ingest_stage``,
pipeline/ingest/staging.py, core.py and duckdb_csv.py): the validator and the insert read the
staged rows, each delivery's schema is dropped once it has landed or been refused, and nothing
is left attached after the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.entities import ENTITIES, Entity
from pipeline.ingest import duckdb_csv
from pipeline.ingest.core import DeliveredRows
from pipeline.ingest.formats import open_table
from pipeline.ingest.mappings import load_mappings, recognise
from pipeline.ingest.staging import Staging
from pipeline.warehouse import open_warehouse, rows, run, scalar
from tests.ingest_support import drop, land, make_settings, query

# parse.py's reason for a timestamp it cannot read (pipeline/ingest/parse.py).
REASON = "occurred_at: cannot read '2025-02-30T08:00:00Z' as an ISO 8601 timestamp"
HEADER = "event_id,email,campaign_id,campaign_name,event_type,occurred_at,url\n"


@pytest.fixture
def every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every eligible file takes the DuckDB route, however small."""
    monkeypatch.setattr(duckdb_csv, "MIN_BYTES", 0)


def test_staged_rows_are_validated_landed_and_dropped(tmp_path: Path, every_size: None) -> None:
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
        HEADER + "e2,b@x.example,c1,A,click,2025-11-04T09:00:00Z,https://x.example\n",
    )
    seen: list[tuple[str, list[str], int]] = []

    def validator(entity: Entity, delivered: object, source_file: str) -> str | None:
        # Records which staged schemas exist while each delivery is validated, and refuses b.csv.
        assert isinstance(delivered, DeliveredRows)
        schemas = [
            s
            for (s,) in rows(
                delivered.con,
                "select schema_name from duckdb_schemas() "
                "where database_name = '_ingest_stage' and schema_name like 'd%'",
            )
        ]
        count = int(scalar(delivered.con, f"select count(*) from ({delivered.sql})"))
        seen.append((source_file, schemas, count))
        return "refused by the test" if source_file.endswith("b.csv") else None

    reports = land(settings, "email_events", validator)
    assert [(r.status, r.rows_landed) for r in reports] == [("landed", 1), ("refused", 0)]
    # a.csv (the first delivery, schema d1) is staged while it is validated; it is dropped
    # once landed, so b.csv's validation no longer sees it. Each file holds one row.
    (first, first_schemas, first_rows), (second, second_schemas, second_rows) = seen
    assert (first, first_rows, second, second_rows) == (
        "email/events/a.csv",
        1,
        "email/events/b.csv",
        1,
    )
    assert "d1" in first_schemas
    assert "d1" not in second_schemas and "d2" in second_schemas
    # Only a.csv's row landed, with the values of its line.
    landed = query(settings, "select event_id, event_type, occurred_at::text from raw_email_events")
    assert landed.rows() == [("e1", "open", "2025-11-04 08:00:01")]
    with open_warehouse(settings.warehouse_path) as con:
        attached = scalar(
            con, "select count(*) from duckdb_databases() where database_name = '_ingest_stage'"
        )
    assert attached == 0


def parse(path: Path, work: Path) -> duckdb_csv.Parsed | None:
    """The DuckDB route over one e-mail events file, in a database of its own (no floor)."""
    table = open_table(path, work)
    mapping, lookup = recognise(table.header, load_mappings("email_events", work / "none"))
    entity = ENTITIES["email_events"]
    return duckdb_csv.parse_with_duckdb(table, mapping, lookup, entity, "UTC", work, min_bytes=0)


def test_shortcuts_for_common_values_keep_parse_py_values(tmp_path: Path, every_size: None) -> None:
    # Enum values with and without white space at their edges (an ASCII space, a no-break
    # space), the two common timestamp shapes, one in the common shape that is no date
    # (30 February) and one in another shape: the shortcuts the SQL takes for the common
    # values must give what parse.py gives.
    text = HEADER + (
        "e1,a@x.example,c1,A,open,2025-11-04T08:00:01Z,\n"
        "e2,a@x.example,c1,A, Click,2025-11-04 09:30:00,\n"
        "e3,a@x.example,c1,A,Bounce\u00a0,2025-11-04T10:00:00.25+01:00,\n"
        "e4,a@x.example,c1,A,open,2025-02-30T08:00:00Z,\n"
    )
    src = tmp_path / "events.csv"
    src.write_text(text, encoding="utf-8")
    assert parse(src, tmp_path) is not None  # the DuckDB route reads this file
    settings = make_settings(tmp_path / "data")
    drop(settings, "email_events", "events.csv", text)
    (report,) = land(settings, "email_events")
    assert (report.rows_read, report.rows_landed, report.rows_quarantined) == (4, 3, 1)
    landed = query(
        settings,
        "select event_id, event_type, occurred_at::text, _row_number from raw_email_events "
        "order by event_id",
    )
    # Lower-cased and stripped; 10:00:00.25 at +01:00 is 09:00:00.25 UTC.
    assert landed.rows() == [
        ("e1", "open", "2025-11-04 08:00:01", 2),
        ("e2", "click", "2025-11-04 09:30:00", 3),
        ("e3", "bounce", "2025-11-04 09:00:00.25", 4),
    ]
    quarantined = query(settings, "select row_number, reason from quarantine_rows")
    assert quarantined.rows() == [(5, REASON)]


def test_a_non_ascii_enum_value_leaves_the_file_to_polars(tmp_path: Path) -> None:
    # 'clic' + KELVIN SIGN (U+212A) lower-cases to 'click' in polars; the SQL refuses any
    # non-ASCII enum value (its bytes outnumber its characters), so the file goes to polars.
    src = tmp_path / "events.csv"
    src.write_text(HEADER + "e1,a@x.example,c1,A,clic\u212a,2025-11-04T08:00:01Z,\n", "utf-8")
    assert parse(src, tmp_path) is None


def test_staging_attaches_numbers_drops_and_detaches(tmp_path: Path) -> None:
    with open_warehouse(tmp_path / "w.duckdb") as con:
        staging = Staging(con)
        with staging:
            first, second = staging.next_stage(), staging.next_stage()
            assert (first.schema, second.schema) == ("d1", "d2")
            # The reading thread's cursor writes; the main connection sees it in the same
            # database (one row written, one row read).
            run(first.con, "create schema _ingest_stage.d1")
            run(first.con, "create table _ingest_stage.d1.t as select 42 as x")
            assert scalar(con, "select x from _ingest_stage.d1.t") == 42
            staging.drop(first)
            left = "select count(*) from duckdb_schemas() where database_name = '_ingest_stage'"
            assert scalar(con, left + " and schema_name = 'd1'") == 0
        assert (
            scalar(
                con, "select count(*) from duckdb_databases() where database_name = '_ingest_stage'"
            )
            == 0
        )
        with pytest.raises(RuntimeError, match="outside its with block"):
            staging.next_stage()


def test_a_record_the_strict_reader_refuses_goes_to_polars_and_leaves_no_stage(
    tmp_path: Path, every_size: None
) -> None:
    # Row 3 holds 7 + 9 fields: more than the header's 7 and the 8 spare columns, which
    # DuckDB's strict reader refuses. The file goes the polars route (its staged schema is
    # dropped at once): row 2 lands, row 3 is quarantined with its reason.
    settings = make_settings(tmp_path)
    text = HEADER + "e1,a@x.example,c1,A,open,2025-11-04T08:00:01Z,\n" + "e2" + ",v" * 15 + "\n"
    drop(settings, "email_events", "wide.csv", text)
    src = settings.landing_dir / ENTITIES["email_events"].landing_path / "wide.csv"
    table = open_table(src, tmp_path)
    mapping, lookup = recognise(table.header, load_mappings("email_events", tmp_path / "none"))
    with open_warehouse(tmp_path / "w.duckdb") as con, Staging(con) as staging:
        stage = staging.next_stage()
        parsed = duckdb_csv.parse_with_duckdb(
            table, mapping, lookup, ENTITIES["email_events"], "UTC", tmp_path, stage=stage
        )
        assert parsed is None
        left = rows(
            con, "select schema_name from duckdb_schemas() where database_name = '_ingest_stage'"
        )
        assert (stage.schema,) not in left
    land(settings, "email_events")
    assert query(settings, "select event_id from raw_email_events").rows() == [("e1",)]
    assert query(settings, "select row_number from quarantine_rows").rows() == [(3,)]
