"""Canonical CSV parsed into the warehouse's in-memory scratch database (``_ingest_stage``,
pipeline/ingest/core.py and duckdb_csv.py): the validator and the insert read the staged rows,
each delivery's schema is dropped once it has landed or been refused, and nothing is left
attached after the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.entities import Entity
from pipeline.ingest import duckdb_csv
from pipeline.ingest.core import DeliveredRows
from pipeline.warehouse import open_warehouse, rows, scalar
from tests.ingest_support import drop, land, make_settings, query

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
