"""Tables that SQL models may read but that are not themselves SQL models.

Maps table name -> (schema, producing asset key or None). The engine uses it to tell a known
source from a typo, to draw the asset graph's edges into the Python assets, and to list the
Python-built marts next to the SQL ones (:func:`pipeline.engine.discovery.mart_names`).
"""

from __future__ import annotations

from pipeline.entities import ENTITIES
from pipeline.predict.docs import PREDICTION_MARTS

PYTHON_TABLES: dict[str, tuple[str, str | None]] = {
    "pipeline_settings": ("meta", "pipeline_settings"),
    # The brand's own handles (PIPELINE_BRAND_HANDLES), written with the settings.
    "brand_handles": ("meta", "pipeline_settings"),
    "ingest_ledger": ("meta", None),
    "quarantine_rows": ("meta", None),
    **{e.raw_table: ("raw", e.raw_table) for e in ENTITIES.values()},
    "int_mention_sentiment": ("intermediate", "int_mention_sentiment"),
    # Built in Python (assets/predictions.py) into the marts schema, published like the SQL marts.
    **{name: ("marts", name) for name in PREDICTION_MARTS},
}

# The SQL models that Python-built assets read by name (their ``deps``), and those assets: a
# removed model's table left in the warehouse would still be read by them
# (pipeline/engine/leftovers.py). tests/test_leftover_tables.py compares it with the definitions.
PYTHON_READERS: dict[str, tuple[str, ...]] = {
    "int_purchases": ("customer_predictions", "prediction_model"),  # assets/predictions.py
    "stg_social_mentions": ("int_mention_sentiment",),  # assets/sentiment.py
}
