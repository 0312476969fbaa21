"""Write the generator's vendor samples: a small share of the data in a vendor's export format.

``pipeline.sample_data.generate`` sets aside a small group of extra customers and hands their
rows here, per entity, as canonical typed frames (columns and order of ``pipeline.entities``;
text ``String``, timestamp ``Datetime("us")`` holding UTC, date ``Date``, decimal
``Decimal(18, 4)``, integer ``Int32``). These rows are written nowhere else, so rendering them in
a vendor's format exercises the vendor mappings end to end without duplicating anything.

Each entity's rows are rendered by inverting one shipped mapping (``SAMPLE_FORMATS``) into
``<landing>/<path>/vendor_sample_<mapping>.csv``. A row the vendor's export has no place for (an
order's ``updated_at`` in a Shopify export, a ticket's ``reopens`` in HubSpot's) is written as
canonical CSV to ``vendor_sample.csv`` instead, so every row lands exactly as generated.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.entities import ENTITIES
from pipeline.ingest.mappings import SHIPPED_DIR, load_mapping_file
from pipeline.ingest.render import carries, render

# One vendor export per entity. Orders and tickets always carry a column these exports lack
# (updated_at; agent_replies and reopens), so their samples stay canonical in practice.
SAMPLE_FORMATS = {
    "contacts": "hubspot_contacts",
    "orders": "shopify_orders",
    "tickets": "hubspot_tickets",
    "surveys": "hubspot_feedback",
    "email_events": "klaviyo_events",
    "social_mentions": "social_listening",
}


def write_vendor_samples(landing: Path, sample: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Write each entity's sample rows under ``landing``; return rows written per entity."""
    written: dict[str, int] = {}
    for name, frame in sample.items():
        folder = landing / ENTITIES[name].landing_path
        folder.mkdir(parents=True, exist_ok=True)
        mapping = load_mapping_file(SHIPPED_DIR / f"{SAMPLE_FORMATS[name]}.toml")
        carried = carries(frame, mapping)
        vendor_rows, rest = frame.filter(carried), frame.filter(~carried)
        if vendor_rows.height:
            render(vendor_rows, mapping).write_csv(folder / f"vendor_sample_{mapping.name}.csv")
        if rest.height:
            rest.write_csv(
                folder / "vendor_sample.csv",
                datetime_format="%Y-%m-%dT%H:%M:%S%.fZ",
                date_format="%Y-%m-%d",
            )
        written[name] = frame.height
    return written
