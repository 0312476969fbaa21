"""The reader revision: which reading of the deliveries landed each one.

A delivery is landed once (``meta.ingest_ledger``, keyed by content hash) and never read again,
so a release that reads a file differently (a vendor mapping's values, a rule of "Rules for
deliveries") changes only the deliveries landed after it: an upgraded warehouse keeps the old
reading of everything landed before (docs/operations.md, "Upgrading"). Each ledger row records
the revision that read it (``reader_revision``; NULL: landed before revisions were recorded),
every run says how many landed deliveries an older revision read and what reads differently
since, and ``python -m pipeline reland`` reads them all again.

Raise :data:`READER_REVISION` and add a line to :data:`READER_HISTORY` with any change that
lands a delivered file's rows differently (other values, other rows landed or quarantined);
not for a message's wording or a model's SQL (models are rebuilt when their SQL changes).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import duckdb

from pipeline.warehouse import rows
from pipeline.words import agreeing, counted

# What reads differently from the revision before, newest last; each names the commits of
# 2026-12-07 that brought it (CHANGELOG.md). Releases before revisions were recorded read as
# follows: e79f037 (04:16 UTC) and e0f9a76 (11:08) before revision 1; db00065 (21:33) and later
# as revision 3 (measured: every mart equal to a fresh build's, docs/operations.md).
READER_HISTORY: dict[int, str] = {
    1: "a date without a time of day names its day (00:00 UTC) in every PIPELINE_TIMEZONE; "
    "ids and contact_id trimmed of spaces; a workbook's rows numbered as Excel numbers them "
    "and a cell holding an Excel error quarantined (be8e528, 2e5f186, 8ed94b0)",
    2: "the vendor audit: HubSpot CSAT answers 0/1/2 on HubSpot's own scale (as 1, 3, 5, not "
    "the contract's 1-5); Klaviyo 'Received Email' lands as sent, not delivered; a HubSpot "
    "cell naming several contacts is quarantined; amounts as the locales write them "
    "(7f5d254, a3ef23c)",
    3: "R14: ids, e-mails and handles land without white space, zero-width space, word joiner "
    "or byte-order mark at their ends, composed (NFC); Zendesk satisfaction ratings land as "
    "surveys; the currency an amount names is kept; Romanian cedilla letters match a value "
    "map's (f8f91f1, 634430d, 03f474d, 41c0e62, 78e8a02, dce3bf8)",
}
READER_REVISION = max(READER_HISTORY)
# Said of the deliveries whose ledger row has no revision.
UNRECORDED = (
    "before reader revisions were recorded (db00065 and later read as revision 3; e0f9a76, "
    "e79f037 and older as none of the revisions below)"
)


def older_readings(con: duckdb.DuckDBPyConnection) -> dict[int | None, int]:
    """Landed deliveries read by an older revision than this release's: revision (None: not
    recorded) → how many, oldest first; {} when every one was read by this revision."""
    columns = {
        c
        for (c,) in rows(
            con,
            "select column_name from duckdb_columns() "
            "where schema_name = 'meta' and table_name = 'ingest_ledger'",
        )
    }
    if not columns:
        return {}
    # A ledger of an older release not yet opened by an ingestion step of this one (a run
    # that stopped before it): no revision recorded for any delivery.
    revision = "reader_revision" if "reader_revision" in columns else "null::integer"
    found = rows(
        con,
        f"select {revision} as revision, count(*) from meta.ingest_ledger "
        "where status = 'landed' and coalesce(revision, 0) < ? "
        "group by all order by revision nulls first",
        [READER_REVISION],
    )
    return dict(found)


def older_readings_text(found: dict[int | None, int], data_dir: Path) -> list[str]:
    """The notice of a run on a warehouse whose landed deliveries an older revision read
    (``older_readings``): how many, by which revisions, what reads differently since, and the
    command that reads them again; [] when there are none."""
    if not found:
        return []
    total = sum(found.values())
    by = [
        f"{n} {UNRECORDED}" if revision is None else f"{n} by revision {revision}"
        for revision, n in found.items()
    ]
    oldest = min(0 if r is None else r for r in found)
    command = f"python -m pipeline reland --data-dir {shlex.quote(str(data_dir))}"
    return [
        f"{counted(total, 'landed delivery', 'landed deliveries')} "
        f"{agreeing(total, 'was', 'were')} read by an older reader than this release's "
        f"(reader revision {READER_REVISION}): {'; '.join(by)}. "
        f"{agreeing(total, 'Its rows keep', 'Their rows keep')} that reading, and so do the "
        "marts built from them. What reads differently since:",
        *[f"  revision {r}: {READER_HISTORY[r]}" for r in sorted(READER_HISTORY) if r > oldest],
        f"  to read every delivery in landing/ again (the warehouse is kept aside and compared): "
        f'{command} (docs/operations.md, "Upgrading")',
    ]
