"""Validate a check step's assets with their suites, or summarise this run's landed files of
one entity: plain results, which ``assets/checks.py`` turns into Dagster check results."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from pipeline.config import Settings
from pipeline.pii import mask_text
from pipeline.validation.batches import Batch, MissingTable, build_batch, personal_data_batch
from pipeline.validation.docs import data_docs_dir
from pipeline.validation.log import ValidationLog, read_log
from pipeline.validation.outcome import SuiteOutcome, cell
from pipeline.validation.runner import SqlSource, docs_mode, run_suite_sql, sql_source
from pipeline.validation.state import (
    Unchanged,
    fingerprint,
    record_pass,
    suites_key,
    unchanged_since,
    write_watermarks,
)
from pipeline.validation.suites import EVERY_MART, Suite, SuiteError
from pipeline.warehouse import rows, table_exists
from pipeline.words import counted


@dataclass
class AssetValidation:
    """The outcomes of an asset's suites, or why they could not run."""

    asset: str
    outcomes: list[SuiteOutcome] = field(default_factory=list)
    missing: str | None = None  # the table does not exist yet
    unchanged: Unchanged | None = None  # as at its last passing validation: not run again
    broken: str | None = None  # a suite reads what its table does not have (SuiteError)

    @property
    def status(self) -> str:
        """``error``, ``warning`` or ``passed``; a missing table is a warning, a suite that
        cannot run on its table an error (it checks nothing until fixed)."""
        found = {o.status for o in self.outcomes} | ({"warning"} if self.missing else set())
        found |= {"error"} if self.broken else set()
        return next((s for s in ("error", "warning") if s in found), "passed")

    def summary(self) -> str:
        """One line for the check's description."""
        if self.broken or self.missing or self.unchanged:
            return self.broken or self.missing or self.unchanged.text()
        failed = [e for o in self.outcomes for e in o.errors + o.warnings]
        rows_seen = ", ".join(f"{o.suite}: {counted(o.rows, 'row')}" for o in self.outcomes)
        if not failed:
            total = sum(len(o.expectations) for o in self.outcomes)
            met = "its 1 expectation met" if total == 1 else f"all {total:,} expectations met"
            return f"{met} ({rows_seen})"
        described = " | ".join(e.describe() for e in failed[:3])
        # Masked: the description is kept in Dagster's event log and shown to everyone the UI
        # serves; the examples as found are on the Data Docs page (0600).
        return mask_text(f"{counted(len(failed), 'expectation')} failed: {described}")


def suites_for(asset: str, layer: str, suites: dict[str, Suite]) -> list[Suite]:
    """The staging/mart suites guarding ``asset``: its own, plus the every-mart suites."""
    own = [s for s in suites.values() if s.stage != "landed" and s.asset == asset]
    shared = [s for s in suites.values() if s.asset == EVERY_MART] if layer == "marts" else []
    return own + shared


def validate_assets(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    targets: list[tuple[str, list[Suite]]],
    run_id: str,
) -> dict[str, AssetValidation]:
    """Run each ``(asset, suites)`` of one check step on its batches through one GX data source
    (:func:`run_batches`). An asset whose tables and suites are as at its last pass is not run
    again (:mod:`.state`); the personal-data suite runs once over all
    (:func:`_shared_outcomes`)."""
    results: dict[str, AssetValidation] = {}
    pending = []
    for asset, suites in targets:
        # Taken before GX runs: building a GX suite edits the documents' dicts in place.
        key, tables = suites_key(suites), fingerprint(con, suites, asset)
        if same := unchanged_since(con, asset, key, tables):
            results[asset] = AssetValidation(asset, unchanged=same)
        else:
            pending.append((asset, suites, key, tables))
    if not pending:
        return results
    with sql_source(con) as source:  # GX's SQL engine, inside this process's database
        shared = _shared_outcomes(con, source, run_id, [(a, s) for a, s, _, _ in pending])

        def validate(suite: Suite, b: Batch, /, **fields) -> SuiteOutcome:
            return run_suite_sql(source, suite, b.sql, b.rows, materialize=b.materialize, **fields)

        for asset, suites, key, tables in pending:
            try:  # the step's shared outcome where there is one
                batches = [
                    (s, shared.get((s.name, asset)) or build_batch(con, s, asset, counted=False))
                    for s in suites
                ]
            except MissingTable as err:
                results[asset] = AssetValidation(asset, missing=str(err))
                continue
            except SuiteError as err:
                results[asset] = AssetValidation(asset, broken=str(err))
                continue
            results[asset] = run_batches(con, settings, asset, run_id, batches, validate)
            if results[asset].status == "passed":
                record_pass(con, asset, key, tables, run_id)
    return results


def _shared_outcomes(con, source: SqlSource, run_id: str, pending) -> dict[tuple, SuiteOutcome]:
    """``(suite, asset) -> outcome`` of the personal-data suite run once over the step's assets
    (GX's fixed cost per suite run, not per mart). Only a pass is shared: on a failure, or with
    ``PIPELINE_DATA_DOCS=all``, each asset runs it on its own batch (own counts, examples, page)."""
    wanted: dict[str, tuple[Suite, list[str]]] = {}
    for asset, suites in pending if docs_mode() != "all" else ():
        for suite in (s for s in suites if s.batch == "personal_data"):
            wanted.setdefault(suite.name, (suite, []))[1].append(asset)
    found: dict[tuple[str, str], SuiteOutcome] = {}
    for suite, assets in (w for w in wanted.values() if len(w[1]) > 1):
        try:
            batch = personal_data_batch(con, assets)
        except MissingTable:
            continue  # each check says so
        text = (
            f"{batch.description}, validated in one run with the step's {len(batch.assets)} "
            "changed marts: rows and counts are the step's"
        )
        outcome = run_suite_sql(
            source, suite, batch.sql, batch.rows, target=", ".join(batch.assets), batch=text,
            run_id=run_id, materialize=True,
        )  # fmt: skip
        if outcome.status == "passed":
            outcome.seconds = round(outcome.seconds / len(batch.assets), 3)  # logged per mart
            for asset in batch.assets:
                found[(suite.name, asset)] = dataclasses.replace(outcome, target=asset)
    return found


def run_batches(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    asset: str,
    run_id: str,
    batches: list[tuple[Suite, Batch | SuiteOutcome]],
    validate: Callable[..., SuiteOutcome],
) -> AssetValidation:
    """Validate each ``(suite, batch)`` of ``asset`` with one engine's ``validate(suite, batch,
    **fields)`` (or take its outcome, validated with the step's other assets), log the outcomes
    and, on no critical failure, move the watermarks: shared by the DuckDB and Spark routes."""
    result = AssetValidation(asset)
    log = ValidationLog(settings.data_dir, run_id)
    marks = {}
    for suite, batch in batches:
        if isinstance(batch, SuiteOutcome):
            outcome = batch
        else:
            outcome = validate(
                suite, batch, target=asset, batch=batch.description, run_id=run_id,
                parameters=batch.parameters, docs_dir=data_docs_dir(settings),
            )  # fmt: skip
            marks.update(batch.watermarks)
        log(outcome)
        result.outcomes.append(outcome)
    if result.status != "error" and marks:
        write_watermarks(con, asset, marks, run_id)
    return result


# How the landed suites' as_of warnings begin their advice (``meta.on_failure``).
AFTER_AS_OF = "dated after the end of as_of"


def rows_after_as_of(outcomes: list[SuiteOutcome]) -> dict[str, tuple[int, list[str]]]:
    """Landed rows dated after the end of as_of, per date column: their count and a few
    examples (``2026-11-02 10:00:00 (row 3)``). Warnings, not refusals (the rows land; the
    marts ignore them until as_of reaches them, metrics.md)."""
    found: dict[str, tuple[int, list[str]]] = {}
    for e in (e for outcome in outcomes for e in outcome.warnings):
        if (e.advice or "").startswith(AFTER_AS_OF) and e.unexpected_count:
            count, examples = found.get(e.columns, (0, []))
            found[e.columns] = (count + e.unexpected_count, examples + e.examples)
    return found


def after_as_of_text(found: dict[str, tuple[int, list[str]]]) -> str | None:
    """``landed rows dated after the end of as_of: ordered_at 1, e.g. 2062-10-15 10:00:00
    (row 3) (not an error: …)``, or None for none."""
    # The rows themselves, not only their count: a date years ahead (2062 for 2026) is a typo
    # the user can only find by its row.
    per_column = "; ".join(
        f"{column} {count}" + (f", e.g. {', '.join(examples[:2])}" if examples else "")
        for column, (count, examples) in found.items()
    )
    note = (
        "(not an error: the marts ignore them until as_of reaches them; nothing to do unless "
        "as_of or one of these dates is wrong)"
    )
    return f"landed rows {AFTER_AS_OF}: {per_column} {note}" if found else None


@dataclass
class LandedFile:
    """One delivery of this run: its ledger row and, when the suite ran, its outcome."""

    source_file: str
    status: str  # ledger status: landed | refused
    rows_read: int
    rows_landed: int
    rows_quarantined: int
    reason: str | None
    outcome: SuiteOutcome | None = None

    @property
    def refused_by_suite(self) -> bool:
        return self.outcome is not None and self.outcome.status == "error"


@dataclass
class LandedValidation:
    """This run's deliveries of one entity, for the landed check."""

    entity: str
    files: list[LandedFile]

    @property
    def status(self) -> str:
        """``error`` if the suite refused a file, ``warning`` for quarantined rows, other
        refusals or failed warning-level expectations, else ``passed``."""
        if any(f.refused_by_suite for f in self.files):
            return "error"
        warned = (
            f.rows_quarantined
            or f.status == "refused"
            or (f.outcome is not None and f.outcome.status == "warning")
            for f in self.files
        )
        return "warning" if any(warned) else "passed"

    def summary(self) -> str:
        """One line for the check's description."""
        if not self.files:
            return f"no new {self.entity} deliveries in this run"
        landed = counted(sum(f.rows_landed for f in self.files), "row")
        parts = [f"{counted(len(self.files), 'file')}, {landed} landed"]
        refused = [f for f in self.files if f.refused_by_suite]
        other = [f for f in self.files if f.status == "refused" and not f.refused_by_suite]
        for found, how in ((refused, "by the suite"), (other, "on reading")):
            if found:
                # The first file's reason in full; the others by name, so that "2 refused"
                # does not read as the one file named (the files list has every reason).
                others = [f.source_file for f in found[1:3]]
                others += [f"{len(found) - 3} more"] if len(found) > 3 else []
                also = f"; also {', '.join(others)} (their reasons: the files list)"
                parts.append(
                    f"{len(found)} refused {how}: {found[0].source_file}: {found[0].reason}"
                    f"{also if others else ''}"
                )
        if quarantined := sum(f.rows_quarantined for f in self.files):
            parts.append(f"{counted(quarantined, 'row')} quarantined")
        landed = [f.outcome for f in self.files if f.outcome and f.status == "landed"]
        future = after_as_of_text(rows_after_as_of(landed))
        # The other warnings by file and expectation: the check warned of a file in two
        # currencies saying only "1 file, 3 rows landed".
        warned = [
            f"{f.source_file}: {e.describe()}"
            for f in self.files
            if f.outcome is not None and f.status == "landed"
            for e in f.outcome.warnings
            if not (e.advice or "").startswith(AFTER_AS_OF)
        ]
        more = [f"and {counted(len(warned) - 3, 'more warning')}"] if len(warned) > 3 else []
        # Masked as AssetValidation.summary: a refusal or a warning can quote a delivered value.
        return mask_text("; ".join(parts + ([future] if future else []) + warned[:3] + more))

    def markdown(self) -> str:
        """The files as a markdown table."""
        lines = [
            "| file | status | rows read | landed | quarantined | suite | reason |",
            "|---|---|---:|---:|---:|---|---|",
        ]
        for f in self.files:
            suite = f.outcome.status if f.outcome else "not run"
            lines.append(
                f"| {cell(f.source_file)} | {f.status} | {f.rows_read} | {f.rows_landed} "
                f"| {f.rows_quarantined} | {suite} | {cell(f.reason or '')} |"
            )
        return "\n".join(lines)


def landed_validation(
    con: duckdb.DuckDBPyConnection, settings: Settings, entity: str, run_id: str
) -> LandedValidation:
    """This run's deliveries of ``entity`` from the ingest ledger, joined with the suite log."""
    outcomes = {
        o.target: o
        for o in read_log(settings.data_dir, run_id)
        if o.stage == "landed" and o.asset == f"raw_{entity}"
    }
    if not table_exists(con, "meta", "ingest_ledger"):
        return LandedValidation(entity, [])
    ledger = rows(
        con,
        "select source_file, status, rows_read, rows_landed, rows_quarantined, reason "
        "from meta.ingest_ledger where run_id = ? and entity = ? order by delivery_seq",
        [run_id, entity],
    )
    return LandedValidation(entity, [LandedFile(*r, outcome=outcomes.get(r[0])) for r in ledger])
