"""Write the generator's vendor samples: a small share of the data in a vendor's export format.

``pipeline.generate`` sets aside a small group of extra customers and hands their rows here, per
entity, as canonical typed frames (columns and order of ``pipeline.entities``; text ``String``,
timestamp ``Datetime("us")`` holding UTC, date ``Date``, decimal ``Decimal(18, 4)``, integer
``Int32``). These rows are written nowhere else, so rendering them in a vendor's format exercises
the vendor mappings end to end without duplicating anything.

Placeholder: for now each frame is written as canonical CSV to
``<landing>/<path>/vendor_sample.csv``. The ingestion helper replaces this body with the real
vendor renderings.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.entities import ENTITIES


def write_vendor_samples(landing: Path, sample: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Write each entity's sample rows under ``landing``; return rows written per entity."""
    written: dict[str, int] = {}
    for name, frame in sample.items():
        folder = landing / ENTITIES[name].landing_path
        folder.mkdir(parents=True, exist_ok=True)
        frame.write_csv(
            folder / "vendor_sample.csv",
            datetime_format="%Y-%m-%dT%H:%M:%SZ",
            date_format="%Y-%m-%d",
        )
        written[name] = frame.height
    return written
