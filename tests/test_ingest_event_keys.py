"""checks.every_key_delivered and core.canonical_select(keyed=...): an e-mail delivery whose
rows all carry their event_id skips the expression that makes one from the row's contents;
a delivery parsed by DuckDB has the missing ones made once, in its parse (duckdb_csv)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from pipeline.entities import ENTITIES
from pipeline.ingest import duckdb_csv
from pipeline.ingest.checks import every_key_delivered
from pipeline.ingest.core import EVENT_ID_SQL, canonical_select
from pipeline.ingest.formats import open_table
from pipeline.ingest.mappings import load_mappings, recognise
from pipeline.warehouse import rows, run
from tests.ingest_support import drop, land, make_settings, query

EVENTS = ENTITIES["email_events"]


def _good(con: duckdb.DuckDBPyConnection, ids: list[str | None]) -> str:
    """A staged-like table of good e-mail rows with these event_ids (else the same row)."""
    run(
        con,
        "create or replace table good (event_id text, email text, campaign_id text, "
        "campaign_name text, event_type text, occurred_at timestamp, url text, "
        "_row_number bigint)",
    )
    for n, event_id in enumerate(ids, start=2):
        run(
            con,
            "insert into good values (?, 'a@example.com', 'c1', 'C', 'open', "
            "timestamp '2024-03-01 09:00:00', null, ?)",
            [event_id, n],
        )
    return "good"


def test_every_key_delivered_by_hand() -> None:
    con = duckdb.connect()
    assert every_key_delivered(con, _good(con, ["e1", "e2"]), EVENTS) is True
    assert every_key_delivered(con, _good(con, ["e1", None]), EVENTS) is False
    # Other entities have no key to make: the question does not arise.
    assert every_key_delivered(con, _good(con, ["e1"]), ENTITIES["contacts"]) is False


def test_keyed_select_keeps_ids_and_unkeyed_makes_the_missing_one() -> None:
    con = duckdb.connect()
    good = _good(con, ["e1", None])
    assert EVENT_ID_SQL not in canonical_select(EVENTS, good, keyed=True)
    # The missing id: sha256 of "a@example.com|c1|open|2024-03-01T09:00:00" (docs/vendors.md).
    made = hashlib.sha256(b"a@example.com|c1|open|2024-03-01T09:00:00").hexdigest()
    got = rows(con, f"select event_id from ({canonical_select(EVENTS, good)}) order by 1")
    assert sorted(r[0] for r in got) == sorted(["e1", made])
    got = rows(con, f"select event_id from ({canonical_select(EVENTS, good, keyed=True)})")
    assert sorted(r[0] for r in got if r[0]) == ["e1"]


# Two events without their event_id: one with a fraction of a second, one at an offset.
UNKEYED = (
    "event_id,email,campaign_id,campaign_name,event_type,occurred_at,url\n"
    "e1,ana@example.ro,c1,C,open,2025-11-04T08:00:01Z,\n"
    ",Maria@Example.GR,c2,C,click,2025-11-04T08:00:01.25Z,https://example.com/\n"
    ",ivan@example.ru,c3,C,sent,2025-11-04T10:30:00+02:00,\n"
)
# By hand from the recipe in the contract (email/events: a hash of email, campaign_id,
# event_type, occurred_at) as docs/vendors.md spells it: sha256 of
# "lower(trim(email))|campaign_id|event_type|occurred_at", occurred_at in UTC as
# YYYY-MM-DDTHH:MM:SS plus .ffffff only when it has microseconds; 10:30 at +02:00 is 08:30 UTC.
MADE = {
    "e1": "e1",
    "maria": hashlib.sha256(b"maria@example.gr|c2|click|2025-11-04T08:00:01.250000").hexdigest(),
    "ivan": hashlib.sha256(b"ivan@example.ru|c3|sent|2025-11-04T08:30:00").hexdigest(),
}


@pytest.mark.parametrize("route", ["duckdb", "polars"])
def test_a_missing_event_id_is_made_from_the_recipe_on_either_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    # The DuckDB parse makes it once, in the staged parse; the polars route in canonical_select.
    monkeypatch.setattr(duckdb_csv, "MIN_BYTES", 0 if route == "duckdb" else 1 << 40)
    settings = make_settings(tmp_path)
    drop(settings, "email_events", "events.csv", UNKEYED)
    (report,) = land(settings, "email_events")
    assert (report.status, report.rows_landed) == ("landed", 3)
    got = query(settings, "select lower(split_part(email, '@', 1)), event_id from raw_email_events")
    assert dict(got.rows()) == {"ana": "e1", "maria": MADE["maria"], "ivan": MADE["ivan"]}


def test_the_duckdb_parse_leaves_no_event_id_to_make(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text(UNKEYED, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    table = open_table(src, work)
    mapping, lookup = recognise(table.header, load_mappings("email_events", work / "none"))
    parsed = duckdb_csv.parse_with_duckdb(table, mapping, lookup, EVENTS, "UTC", work, 0)
    assert parsed is not None, "the file should take the DuckDB route"
    con = duckdb.connect()
    # Its good rows carry every id, so canonical_select makes none on each read.
    assert every_key_delivered(con, parsed[0], EVENTS) is True
    got = rows(con, f"select event_id from read_parquet('{parsed[0]}') order by _row_number")
    assert [r[0] for r in got] == [MADE["e1"], MADE["maria"], MADE["ivan"]]
