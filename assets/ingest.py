"""Ingestion assets: one per entity (``raw_contacts`` … ``raw_social_mentions``).

Each lands the new deliveries in ``landing/<source>/<folder>/`` into ``raw.raw_<entity>``
through :func:`pipeline.ingest.core.ingest_entity`, each delivery's good rows checked against
its landed expectation suite (``expectations/landed_<entity>.json``) before they are inserted.
"""

import dagster as dg

from pipeline.entities import ENTITIES, Entity
from pipeline.ingest import core as ingest_core
from pipeline.validation.landed import landed_validator
from pipeline.warehouse import Warehouse, scalar


def files_table(reports: list[ingest_core.FileReport]) -> str:
    """The run's deliveries as a markdown table for the asset's metadata."""
    lines = [
        "| file | mapping | encoding (how) | rows read | landed | quarantined | status / reason |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in reports:
        status = r.status if not r.reason else f"{r.status}: {r.reason}"
        status = status.replace("|", "\\|").replace("\n", " ")
        encoding = f"{r.encoding} ({r.encoding_decided})" if r.encoding else ""
        lines.append(
            f"| {r.source_file} | {r.mapping or ''} | {encoding} | {r.rows_read} | {r.rows_landed} "
            f"| {r.rows_quarantined} | {status} |"
        )
    return "\n".join(lines)


def build_ingest_asset(entity: Entity) -> dg.AssetsDefinition:
    """The Dagster asset that lands one entity's deliveries."""

    @dg.asset(
        name=entity.raw_table,
        group_name="raw",
        kinds={"polars", "duckdb"},
        pool="warehouse",
        description=(
            f"{entity.name} as delivered: every file in landing/{entity.landing_path}/ landed "
            f"once (by content hash), mapped to the canonical columns; bad rows go to "
            f"quarantine_rows, unreadable files to quarantine/{entity.landing_path}/."
        ),
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        settings = warehouse.settings()
        with warehouse.connect() as con:
            reports = ingest_core.ingest_entity(
                con,
                settings,
                entity.name,
                run_id=context.run.run_id,
                validator=landed_validator(settings, context.run.run_id),
                log=context.log.info,
            )
            raw_rows = int(scalar(con, f"select count(*) from raw.{entity.raw_table}"))
        by_status = {
            s: sum(r.status == s for r in reports) for s in ("landed", "refused", "skipped")
        }
        return dg.MaterializeResult(
            metadata={
                "files": dg.MetadataValue.md(files_table(reports) if reports else "no files"),
                "files_landed": by_status["landed"],
                "files_refused": by_status["refused"],
                "files_skipped": by_status["skipped"],
                "rows_read": sum(r.rows_read for r in reports),
                "rows_landed": sum(r.rows_landed for r in reports),
                "rows_quarantined": sum(r.rows_quarantined for r in reports),
                "raw_row_count": raw_rows,
                "dagster/row_count": raw_rows,
            }
        )

    return _ingest


def ingest_assets() -> list[dg.AssetsDefinition]:
    """One ingestion asset per canonical entity."""
    return [build_ingest_asset(e) for e in ENTITIES.values()]


INGEST_ASSETS: list[dg.AssetsDefinition] = ingest_assets()
