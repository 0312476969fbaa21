"""Helpers shared by the ingestion tests: a data directory in tmp, drop a file, land, query."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.config import Settings
from pipeline.entities import ENTITIES
from pipeline.ingest.core import FileReport, Validator, ingest_entity
from pipeline.warehouse import frame, open_warehouse

FIXTURES = Path(__file__).parent / "fixtures" / "vendors"


def make_settings(data_dir: Path, timezone: str = "UTC") -> Settings:
    """Settings for the data directory of a test."""
    return Settings.resolve(data_dir=str(data_dir), as_of="2024-12-31", timezone=timezone)


def drop(settings: Settings, entity: str, name: str, content: bytes | str) -> Path:
    """Write a delivery into the entity's landing folder (str is written as UTF-8)."""
    path = settings.landing_dir / ENTITIES[entity].landing_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def land(settings: Settings, entity: str, validator: Validator | None = None) -> list[FileReport]:
    """Run the ingestion of one entity against the warehouse of ``settings``."""
    with open_warehouse(settings.warehouse_path) as con:
        return ingest_entity(con, settings, entity, run_id="test", validator=validator)


def query(settings: Settings, sql: str) -> pl.DataFrame:
    """A query's result from the warehouse of ``settings``."""
    with open_warehouse(settings.warehouse_path) as con:
        return frame(con, sql)
