"""Tables that SQL models may read but that are not themselves SQL models.

Maps table name -> (schema, producing asset key or None). The SQL engine uses it to tell a
known source from a typo, and to draw the asset graph's edges into the Python assets.
"""

from __future__ import annotations

from pipeline.entities import ENTITIES

PYTHON_TABLES: dict[str, tuple[str, str | None]] = {
    "pipeline_settings": ("meta", "pipeline_settings"),
    "ingest_ledger": ("meta", None),
    "quarantine_rows": ("meta", None),
    **{e.raw_table: ("raw", e.raw_table) for e in ENTITIES.values()},
    "int_mention_sentiment": ("intermediate", "int_mention_sentiment"),
}
