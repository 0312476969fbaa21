"""checks.every_key_delivered and core.canonical_select(keyed=...): an e-mail delivery whose
rows all carry their event_id skips the expression that makes one from the row's contents."""

from __future__ import annotations

import hashlib

import duckdb

from pipeline.entities import ENTITIES
from pipeline.ingest.checks import every_key_delivered
from pipeline.ingest.core import EVENT_ID_SQL, canonical_select
from pipeline.warehouse import rows, run

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
