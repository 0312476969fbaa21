"""Ingestion: one asset per entity (``raw_contacts`` … ``raw_social_mentions``), one step.

Each asset lands the new deliveries in ``landing/<source>/<folder>/`` into
``raw.raw_<entity>`` through :func:`pipeline.ingest.core.ingest_entity`, each delivery's good
rows checked against its landed expectation suite (``expectations/landed_<entity>.json``)
before they are inserted. The six share one Dagster step, ``raw_ingest`` (a subsettable
multi-asset): a run with nothing new for most entities paid a step start and a warehouse
connection six times (docs/performance.md). Their ``landed_expectations`` checks are evaluated
at the end of the same step (assets/checks.py). An entity whose ingest raises does not stop
the others: the step fails after they have landed. The entities land one after the other
through one :class:`pipeline.ingest.core.Ingestion`, whose read-ahead crosses from one
entity's last file to the next one's first.
"""

from collections.abc import Sequence

import dagster as dg
import duckdb

from assets.checks import CheckEntry, checks_of, evaluate_checks, fail_if_blocked
from pipeline.config import SENT_INLINE_TAG, TRIGGER_TAG, Settings, setting
from pipeline.entities import ENTITIES, Entity
from pipeline.ingest import core as ingest_core
from pipeline.ingest.quarantine_report import (
    PLAIN_SHOWN,
    ReasonGroup,
    reason_groups,
    reasons_markdown,
    run_csvs,
)
from pipeline.ingest.report import REFUSED_FILES_KEY, RUN_FILES_KEY
from pipeline.ingest.revision import older_readings, older_readings_text
from pipeline.validation.landed import landed_validator
from pipeline.warehouse import Warehouse, scalar
from pipeline.words import counted, markdown_text

# The triggers of runs started for files that settled (pipeline/automation/sensors.py).
WATCHED = ("sensor", "watch")
SETTLE_ENV = "PIPELINE_SETTLE_SECONDS"  # how long a file must stay unchanged to be complete
# How a delivery landed before reads in its report's summary (pipeline/ingest/core.py).
SKIPPED_AS_LANDED = ": skipped: same bytes as "


def files_table(
    reports: list[ingest_core.FileReport],
    reasons: dict[tuple[str, str], list[ReasonGroup]] | None = None,
) -> str:
    """The run's deliveries as a markdown list for the asset's metadata; ``reasons`` gives
    each file's quarantine reasons by (file, entity): grouped, with counts and example lines.
    A file's parts (another entity's rows of it, a companion mapping's) follow its counts."""
    reasons = reasons or {}
    # A list, not a table: the UI shows a metadata value in a cell about 430 px wide and cuts
    # a table off at its right edge (seen with two columns); list items wrap.
    lines = []
    # Files that landed whole with nothing to say, and copies skipped, past the first
    # PLAIN_SHOWN of each: counted (a backlog of 2,000 files was 2,000 lines, ~250 kB)
    shown = {"plain": 0, "copy": 0}
    more = {"plain": [0, 0], "copy": [0, 0]}  # files, rows landed
    for r in reports:
        kind = _kind(r, reasons)
        if kind and shown[kind] >= PLAIN_SHOWN:
            more[kind][0] += 1
            more[kind][1] += r.rows_landed
            continue
        if kind:
            shown[kind] += 1
        if r.status == "landed":
            parts = [f"landed via {r.mapping}: {r.counts()}"]
            if r.reason:
                parts.append(r.reason)
            parts += [f"and {part.part_text()}" for part in r.parts]
        else:
            parts = [f"{r.status}: {r.reason}" if r.reason else r.status]
        if r.encoding and r.encoding_decided != "utf8":  # say so unless plain UTF-8
            parts.append(f"text {r.encoding} ({r.encoding_decided})")
        # A reason quotes the file's own text (its header, how it begins): shown as written.
        said = [markdown_text(p) for p in parts]
        why = reasons_markdown(reasons.get((r.source_file, r.entity), []))
        if why:
            said.append(f"quarantined: {why}")
        for part in r.parts:
            why = reasons_markdown(reasons.get((part.source_file, part.entity), []))
            if why:
                said.append(f"{part.entity} quarantined: {why}")
        lines.append(f"- **{markdown_text(r.source_file)}**: " + "; ".join(said).replace("\n", " "))
    if files := more["plain"][0]:
        lines.append(
            f"- and {counted(files, 'more file')} landed whole "
            f"({counted(more['plain'][1], 'row')}; `run_files` and `meta.ingest_ledger` list each)"
        )
    if copies := more["copy"][0]:
        lines.append(f"- and {counted(copies, 'more file')} skipped: the same bytes as one above")
    return "\n".join(lines)


def _kind(r: ingest_core.FileReport, reasons: dict[tuple[str, str], list[ReasonGroup]]) -> str:
    """``plain`` for a file that landed whole with nothing to say, ``copy`` for one skipped
    as the same bytes as another, else ``""`` (always listed)."""
    if r.status == "skipped" and (r.reason or "").startswith("same bytes as "):
        return "copy"
    said = r.reason or r.parts or r.rows_quarantined or (r.source_file, r.entity) in reasons
    noted = r.encoding and r.encoding_decided != "utf8"
    return "plain" if r.status == "landed" and not said and not noted else ""


def ingest_metadata(
    context: dg.AssetExecutionContext,
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    entity: Entity,
    ingestion: ingest_core.Ingestion | None = None,
) -> dict[str, object]:
    """Land ``entity``'s new deliveries on ``con`` (through ``ingestion``, which reads ahead
    across entities, when given); the metadata of its materialisation."""

    def log(line: str) -> None:
        # Files landed before are counted below, not logged one by one: every log line is an
        # event Dagster stores (a few ms each), and a run re-reads every delivery ever made.
        if SKIPPED_AS_LANDED not in line:
            context.log.info(line)

    validator = landed_validator(settings, context.run.run_id)
    if ingestion is None:
        reports = ingest_core.ingest_entity(
            con, settings, entity.name, context.run.run_id, validator, log
        )
    else:
        reports = ingestion.land(entity.name, context.run.run_id, validator, log)
    again = sum(SKIPPED_AS_LANDED in r.summary() for r in reports)
    if again:
        context.log.info(
            f"{entity.raw_table}: {counted(again, 'file')} skipped, landed before (same bytes): "
            "see the asset's files metadata"
        )
    raw_rows = int(scalar(con, f"select count(*) from raw.{entity.raw_table}"))
    # Bad rows beside the data, as CSV, and their reasons for the files table.
    csvs = run_csvs(con, settings, context.run.run_id, entity.name)
    reasons: dict[tuple[str, str], list[ReasonGroup]] = {}
    entities = {entity.name} | {p.entity for r in reports for p in r.parts}
    for name in sorted(entities):
        for group in reason_groups(con, run_id=context.run.run_id, entity=name):
            reasons.setdefault((group.source_file, group.entity), []).append(group)
    by_status = {s: sum(r.status == s for r in reports) for s in ("landed", "refused", "skipped")}
    # The deliveries of earlier runs, met again by every run, are counted: listed, they made
    # each run's entry as long as the landing folder's history (2,000 files: 2,000 lines a run).
    listed = [r for r in reports if not r.earlier_run]
    said = [files_table(listed, reasons)] if listed else []
    if earlier := len(reports) - len(listed):
        said.append(f"- {counted(earlier, 'file')} landed in earlier runs: skipped (same bytes)")
    return {
        "files": dg.MetadataValue.md("\n".join(said) or "no files"),
        "files_landed": by_status["landed"],
        "files_refused": by_status["refused"],
        "files_skipped": by_status["skipped"],
        "rows_read": sum(r.rows_read for r in reports),
        "rows_landed": sum(r.rows_landed for r in reports),
        "rows_quarantined": sum(r.rows_quarantined for r in reports),
        "raw_row_count": raw_rows,
        # This run's files by path, for the run summary (pipeline/cli/summary.py); not the
        # deliveries of earlier runs met again, which every run skips.
        RUN_FILES_KEY: dg.MetadataValue.json([r.as_json() for r in reports if not r.earlier_run]),
        # Read from the event log by the notification sensors (pipeline/automation/notify.py).
        REFUSED_FILES_KEY: dg.MetadataValue.json(
            [{"file": r.source_file, "reason": r.reason} for r in reports if r.status == "refused"]
        ),
        "quarantined_rows_csv": dg.MetadataValue.md(
            "\n".join(f"- `{p}`" for p in csvs) if csvs else "none in this run"
        ),
        "dagster/row_count": raw_rows,
    }


def _spec(entity: Entity) -> dg.AssetSpec:
    return dg.AssetSpec(
        entity.raw_table,
        group_name="raw",
        kinds={"polars", "duckdb"},
        description=(
            f"{entity.name} as delivered: every file in landing/{entity.landing_path}/ landed "
            f"once (by content hash), mapped to the canonical columns; bad rows go to "
            f"quarantine_rows, unreadable files to quarantine/{entity.landing_path}/."
        ),
    )


def build_ingest_asset(checks: Sequence[CheckEntry] = ()) -> dg.AssetsDefinition:
    """The one step landing every entity's deliveries (any subset of them), then evaluating
    ``checks`` (the landed checks, assets/checks.py) of the entities it landed."""
    entities = list(ENTITIES.values())
    checks = checks_of(checks, {e.raw_table for e in entities})

    @dg.multi_asset(
        name="raw_ingest",
        specs=[_spec(e) for e in entities],
        check_specs=[spec for spec, _ in checks],
        can_subset=True,
        pool="warehouse",
    )
    def raw_ingest(context: dg.AssetExecutionContext, warehouse: Warehouse):
        yield from fail_if_blocked(land(context, warehouse), checks)

    def land(context: dg.AssetExecutionContext, warehouse: Warehouse):
        selected = {key.to_user_string() for key in context.selected_asset_keys}
        settings = warehouse.settings()
        failed: dict[str, Exception] = {}
        chosen = [e for e in entities if e.raw_table in selected]
        # A run the landing sensor or the watcher started was for the files that settled: one
        # still being copied beside them waits for its own run (pipeline/ingest/landing.py).
        watched = context.run.tags.get(TRIGGER_TAG) in WATCHED
        settle = setting(SETTLE_ENV) if watched else None
        with warehouse.connect() as con:
            # One read-ahead for all: the next entity's first file is parsed while this one
            # lands its last and its metadata is gathered (pipeline/ingest/core.py).
            names = [e.name for e in chosen]
            with ingest_core.Ingestion(con, settings, names, settle) as ingestion:
                for entity in chosen:
                    try:
                        metadata = ingest_metadata(context, con, settings, entity, ingestion)
                    except Exception as err:  # the other entities still land; raised below
                        context.log.error(f"{entity.raw_table}: {err}")
                        failed[entity.raw_table] = err
                        continue
                    yield dg.MaterializeResult(asset_key=entity.raw_table, metadata=metadata)
            # Deliveries an older release read (pipeline/ingest/revision.py), said once a run:
            # here for a run of the UI, the sensor or the schedule; a command-line run says it
            # in its summary (pipeline/cli/summary.py), which this warning would repeat.
            if context.run.tags.get(SENT_INLINE_TAG) != "cli":
                older = older_readings_text(older_readings(con), settings.data_dir)
                if older:
                    context.log.warning("\n".join(older))
            landed = [c for c in checks if c[0].asset_key.to_user_string() not in failed]
            yield from evaluate_checks(context, con, settings, landed)
        if failed:
            first = next(iter(failed.values()))
            raise dg.Failure(
                f"ingest failed for {', '.join(failed)}: {first}",
                metadata={name: str(err) for name, err in failed.items()},
            ) from first

    return raw_ingest


# The step without its checks (the definitions add them: pipeline/definitions.py).
INGEST_ASSETS: list[dg.AssetsDefinition] = [build_ingest_asset()]
