"""bench/ingest_step.py: ``raw_ingest`` timed alone lands the landing's files, reports each
entity in landing order, and puts back what it wrapped."""

from __future__ import annotations

from pathlib import Path

from helpers import bench_module

import assets.ingest as ingest_asset
from pipeline.ingest import core
from tests.ingest_support import drop, make_settings

ORDERS = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\n"
)


def test_the_step_timed_alone_lands_every_entity_and_restores_the_functions(
    tmp_path: Path,
) -> None:
    step = bench_module("ingest_step")
    source = make_settings(tmp_path / "source")
    drop(source, "orders", "a.csv", ORDERS + "o1,c1,,2024-01-01,pending,EUR,5,,,\n")
    drop(source, "orders", "b.csv", ORDERS + "o2,c2,,2024-01-02,pending,EUR,6,,,\n")
    before = (
        ingest_asset.ingest_metadata,
        core.Ingestion._reads,
        core.Ingestion._read_next_entity,
    )
    work = tmp_path / "work"
    timing = step.time_step(source.landing_dir, work, as_of="2024-12-31")
    # Every entity of the step, in its order; the two orders files' two rows, nothing else.
    assert list(timing.entities) == [
        "contacts",
        "orders",
        "tickets",
        "surveys",
        "email_events",
        "social_mentions",
    ]
    assert {n: t["rows"] for n, t in timing.entities.items()} == {
        "contacts": 0,
        "orders": 2,
        "tickets": 0,
        "surveys": 0,
        "email_events": 0,
        "social_mentions": 0,
    }
    assert "first_wait" in timing.entities["orders"] and timing.wall > 0
    assert (
        ingest_asset.ingest_metadata,
        core.Ingestion._reads,
        core.Ingestion._read_next_entity,
    ) == before
    assert not work.exists()  # the data directory is removed
    lines: list[str] = []
    step.report(timing, lines.append)
    assert lines[0].startswith("raw_ingest: wall ")
    assert any(line.startswith("| orders | 2 |") for line in lines)
