"""Deliveries as they land in a backlog: a run the landing sensor or the watcher started leaves
a file still being written (changed within the settle period, without a ``.done``/``.ready``
marker) for a later run, where before it landed the half a copy had written, its cut last line
quarantined; copies of a file landed in the run are skipped without being parsed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
from ingest_support import drop, make_settings, query

from assets.ingest import INGEST_ASSETS
from pipeline.config import PipelineConfig
from pipeline.ingest.core import Ingestion, ingest_entity
from pipeline.warehouse import Warehouse, open_warehouse

ORDERS = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\n"
)
ROWS = "".join(f"o{n},c{n},,2024-02-01,completed,EUR,{n},,,\n" for n in range(1, 5))
LATER = "".join(f"p{n},c{n},,2024-02-01,completed,EUR,{n},,,\n" for n in range(1, 5))


def _land(s, settle: float | None):
    with open_warehouse(s.warehouse_path) as con, Ingestion(con, s, ["orders"], settle) as i:
        return [(r.source_file, r.status, r.rows_landed, r.reason) for r in i.land("orders")]


def test_a_file_still_being_written_waits_for_a_later_run(data_dir: Path) -> None:
    s = make_settings(data_dir)
    old = time.time() - 120
    os.utime(drop(s, "orders", "a.csv", ORDERS + ROWS), (old, old))  # copied 2 min ago
    half = (ORDERS + ROWS)[: len(ORDERS) + 40]  # a copy under way: cut inside row 2
    growing = drop(s, "orders", "b.csv", half)
    drop(s, "orders", "c.csv", ORDERS + "o9,c9,,2024-02-01,completed,EUR,9,,,\n")
    drop(s, "orders", "c.csv.done", "")  # written after the copy: complete however new
    assert _land(s, settle=30) == [
        ("crm/orders/a.csv", "landed", 4, None),
        (
            "crm/orders/b.csv",
            "skipped",
            0,
            "still being written? changed less than 30 s ago (PIPELINE_SETTLE_SECONDS), "
            "without a .done/.ready marker beside it: left for a later run",
        ),
        ("crm/orders/c.csv", "landed", 1, None),
    ]
    assert query(s, "select count(*) as n from meta.quarantine_rows")["n"].to_list() == [0]
    # The copy completes and settles: the next run lands the whole file, once.
    growing.write_text(ORDERS + LATER, encoding="utf-8")
    os.utime(growing, (old, old))
    assert _land(s, settle=30)[1] == ("crm/orders/b.csv", "landed", 4, None)
    landed = query(s, "select count(*) as n from raw.raw_orders where _source_file like '%b.csv'")
    assert landed["n"].to_list() == [4]


def test_without_a_settle_period_every_file_lands_as_found(data_dir: Path) -> None:
    # `python -m pipeline run` and a run from the UI: the user says the files are there.
    s = make_settings(data_dir)
    drop(s, "orders", "b.csv", ORDERS + ROWS)
    assert _land(s, settle=None) == [("crm/orders/b.csv", "landed", 4, None)]


def test_a_run_the_watcher_started_leaves_a_file_still_being_written(data_dir: Path) -> None:
    # The raw assets read the run's trigger tag: `watch` and `sensor` runs wait for the file.
    s = make_settings(data_dir)
    drop(s, "orders", "b.csv", ORDERS + ROWS)  # written just now
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))
    result = dg.materialize(
        INGEST_ASSETS,
        selection=["raw_orders"],
        resources={"warehouse": warehouse},
        tags={"pipeline/trigger": "watch"},
    )
    (mat,) = result.get_asset_materialization_events()
    meta = mat.materialization.metadata
    assert (meta["files_landed"].value, meta["files_skipped"].value) == (0, 1)
    assert "crm/orders/b.csv**: skipped: still being written? changed less than 30 s" in (
        meta["files"].value
    )


def test_copies_of_a_file_landed_in_the_run_are_not_parsed(data_dir: Path, monkeypatch) -> None:
    # 30 copies of one export (a tool writing the same file under each campaign's name, in
    # folders by day): one lands, 29 are skipped; only the copies read ahead of its landing
    # (at most two) are parsed. Before, each of the 29 was parsed, then skipped.
    import pipeline.ingest.core as core

    parsed: list[str] = []
    real = core._parse

    def counting(read, path, *args, **kwargs):
        parsed.append(path.name)
        return real(read, path, *args, **kwargs)

    monkeypatch.setattr(core, "_parse", counting)
    s = make_settings(data_dir)
    for i in range(30):
        drop(s, "orders", f"day{i % 3}/c{i:02d}.csv", ORDERS + ROWS)
    reports = _land(s, settle=None)
    assert [r[1] for r in reports] == ["landed"] + ["skipped"] * 29
    assert reports[1][3] == "same bytes as crm/orders/day0/c00.csv (landed)"
    assert 1 <= len(parsed) <= 3, parsed


def test_a_backlog_is_logged_by_its_first_20_files_then_every_100th(data_dir: Path) -> None:
    # Each line is a Dagster event and a line of `pipeline run`'s progress: 130 files that
    # landed whole gave 130 (2,000 for a holiday's backlog); a refused one is always said.
    s = make_settings(data_dir)
    for i in range(130):
        drop(s, "orders", f"f{i:03d}.csv", ORDERS + f"o{i},c1,,2024-02-01,completed,EUR,5,,,\n")
    drop(s, "orders", "f050b.csv", "nonsense\n1\n")
    lines: list[str] = []
    with open_warehouse(s.warehouse_path) as con:
        reports = ingest_entity(con, s, "orders", run_id="test", log=lines.append)
    assert len(reports) == 131
    assert lines[:20] == [
        f"crm/orders/f{i:03d}.csv: landed via canonical_orders: 1 row read, 1 landed, 0 quarantined"
        for i in range(20)
    ]
    assert lines[20].startswith("crm/orders/f050b.csv: refused: unknown header")
    assert lines[21:] == [
        "100 files of orders landed whole so far, 101 of 131 looked at; the latest: "
        "crm/orders/f099.csv: landed via canonical_orders: 1 row read, 1 landed, 0 quarantined",
        "130 files of orders landed whole so far, 131 of 131 looked at; the latest: "
        "crm/orders/f129.csv: landed via canonical_orders: 1 row read, 1 landed, 0 quarantined",
    ]
