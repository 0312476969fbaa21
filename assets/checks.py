"""Asset checks: the expectation suites of every stage, blocking bad data before the dashboards.

- ``landed_expectations`` on each ``raw_<entity>``: this run's deliveries. ERROR when the landed
  suite refused a file; WARN for quarantined rows, files refused on reading and warnings (such
  as rows dated after as_of, which land and which the marts ignore until as_of reaches them).
- ``staging_expectations`` on each ``stg_<entity>`` and on ``int_customers``; ``mart_expectations``
  on each mart. With ``PIPELINE_ENGINE=spark`` those of the SQL models run on their lake tables
  with GX's Spark engine (pipeline.spark.checks); the prediction marts stay on DuckDB.

No step of their own: each check is evaluated at the end of the step that builds its asset
(``check_specs`` of that multi-asset, :func:`evaluate_checks`). Every check is blocking: an ERROR
fails that step once all its results are in, so what depends on its assets does not run and
BI keeps the last good file; WARN only shows. The step's error then names each failed check
and what it found (the file, the rows, the reason: :func:`fail_if_blocked`), where Dagster's
own would name only the checks. A step's suite checks run through one GX data
source (``pipeline.validation.stages.validate_assets``). GX is imported when a check runs.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets.freshness import freshness_check
from pipeline.engine import discover_models, mart_names
from pipeline.engine.catalog import PYTHON_TABLES
from pipeline.entities import ENTITIES, Entity
from pipeline.predict.docs import HERE as PREDICTION_DIR
from pipeline.predict.docs import PREDICTION_MARTS
from pipeline.progress import SUMMARY
from pipeline.spark import session as spark_engine
from pipeline.validation.docs import index_path, write_index
from pipeline.validation.outcome import SuiteOutcome, markdown_table
from pipeline.validation.stages import (
    AssetValidation,
    LandedValidation,
    landed_validation,
    suites_for,
    validate_assets,
)
from pipeline.validation.suites import Suite, check_targets, read_suite, read_suites
from pipeline.words import counted

# Runs one check on an open connection: (context, con, settings, Data Docs index path) -> result.
CheckRun = Callable[..., dg.AssetCheckResult]
CHECK_NAMES = {"landed": "landed_expectations", "staging": "staging_expectations",
               "marts": "mart_expectations"}  # fmt: skip


@dataclass(frozen=True)
class SuiteCheck:
    """The staging or mart suites of ``asset`` (on its Spark table when ``PIPELINE_ENGINE=spark``
    and it is a ``sql_model``); a step runs its suite checks together (:func:`run_suite_checks`)."""

    asset: str
    paths: tuple[Path, ...]
    sql_model: bool = False


# A check as its building step holds it: its spec, and how it is evaluated.
CheckEntry = tuple[dg.AssetCheckSpec, CheckRun | SuiteCheck]


# Where no suite ran (nothing delivered, the table unchanged since it was validated): an empty
# table with its header only read in the UI as a table that failed to load.
NONE_RUN = "no expectation ran in this step (see summary)"


def _outcome_metadata(outcomes: list[SuiteOutcome], failed_only: bool = False) -> dict:
    table = markdown_table(outcomes, failed_only=failed_only) if outcomes else NONE_RUN
    metadata: dict = {
        "expectations": dg.MetadataValue.md(table),
        "rows_validated": sum(o.rows for o in outcomes),
        "failed_critical": sum(len(o.errors) for o in outcomes),
        "failed_warning": sum(len(o.warnings) for o in outcomes),
        "validation_seconds": round(sum(o.seconds for o in outcomes), 3),
    }
    pages = [o for o in outcomes if o.docs_path]
    pages.sort(key=lambda o: o.status == "passed")  # a failed batch's page first
    if pages:
        metadata["data_docs"] = dg.MetadataValue.path(pages[0].docs_path)
    return metadata


def _result(status: str, summary: str, metadata: dict, index: str) -> dg.AssetCheckResult:
    metadata["data_docs_index"] = dg.MetadataValue.path(index)
    # Dagster reads the severity of a failed check only: WARN shows, ERROR blocks.
    severity = dg.AssetCheckSeverity.WARN if status == "warning" else dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckResult(
        passed=status == "passed", severity=severity, description=summary, metadata=metadata
    )


def landed_result(result: LandedValidation, index: str) -> dg.AssetCheckResult:
    """The landed check's result for this run's deliveries of one entity."""
    outcomes = [f.outcome for f in result.files if f.outcome is not None]
    metadata = {
        "files": dg.MetadataValue.md(result.markdown() if result.files else "no new files"),
        "files_refused_by_suite": sum(f.refused_by_suite for f in result.files),
        "rows_quarantined": sum(f.rows_quarantined for f in result.files),
        **_outcome_metadata(outcomes, failed_only=len(outcomes) > 1),
    }
    return _result(result.status, result.summary(), metadata, index)


def suite_result(result: AssetValidation, suites: list[Suite], index: str) -> dg.AssetCheckResult:
    """The staging or mart check's result for one asset."""
    batches = "\n".join(f"- {o.suite}: {o.batch}" for o in result.outcomes) or "-"
    metadata = {
        "suites": ", ".join(s.name for s in suites),
        "batches": dg.MetadataValue.md(batches),
        **_outcome_metadata(result.outcomes),
    }
    if result.unchanged:
        metadata |= {"unchanged_since_run": result.unchanged.run_id,
                     "unchanged": result.unchanged.text()}  # fmt: skip
    return _result(result.status, result.summary(), metadata, index)


def _landed_entry(entity: Entity) -> CheckEntry:
    """The landed check of ``entity``: how this run's deliveries met its suite (the run log)."""

    def run(context, con, settings, index: str) -> dg.AssetCheckResult:
        result = landed_validation(con, settings, entity.name, context.run.run_id)
        outcome = landed_result(result, index)
        # The run log's line rides on the result (pipeline/progress.py): no log event. It
        # names the raw table, as the other checks' lines name their asset: every entity's
        # line comes from the one raw_ingest step, and "2 files, 5 rows landed" alone does not
        # say whose files.
        line = f"{entity.raw_table}: {result.summary()}"
        return outcome._replace(metadata={**outcome.metadata, SUMMARY: line})

    description = (
        f"Deliveries of {entity.name} in this run against expectations/landed_{entity.name}"
        ".json (run before insert). ERROR if the suite refused a file; WARN for quarantined "
        "rows, files refused on reading, rows dated after as_of (they land; the marts ignore "
        "them until as_of reaches them) or another warning (orders in more than one currency)."
    )
    spec = dg.AssetCheckSpec(
        CHECK_NAMES["landed"], asset=entity.raw_table, blocking=True, description=description
    )
    return spec, run


def _suite_entry(asset: str, suites: list[Suite], sql_model: bool = True) -> CheckEntry:
    """The staging or mart check of ``asset``: its suites (on Spark too if a ``sql_model``)."""
    description = (
        f"Expectation suites {', '.join(s.name for s in suites)} (expectations/); "
        "critical expectations block everything downstream."
    )
    spec = dg.AssetCheckSpec(
        CHECK_NAMES[suites[0].stage], asset=asset, blocking=True, description=description
    )
    return spec, SuiteCheck(asset, tuple(s.path for s in suites), sql_model)


def run_suite_checks(
    con, settings, checks: list[SuiteCheck], run_id: str
) -> dict[str, tuple[AssetValidation, list[Suite]]]:
    """Each check's result and the suites it ran (read again: an edited suite applies without
    a reload), the DuckDB ones through one GX data source (``validate_assets``)."""
    current = {c.asset: [read_suite(p) for p in c.paths] for c in checks}
    results: dict[str, AssetValidation] = {}
    on_spark = spark_engine.engine() == "spark"
    for c in checks:
        if c.sql_model and on_spark:
            from pipeline.spark.checks import validate_asset_on_spark

            lake = spark_engine.lake_dir(settings.data_dir)
            results[c.asset] = validate_asset_on_spark(
                con, settings, c.asset, current[c.asset], run_id, lake
            )
    duck = [(c.asset, current[c.asset]) for c in checks if c.asset not in results]
    results.update(validate_assets(con, settings, duck, run_id))
    return {c.asset: (results[c.asset], current[c.asset]) for c in checks}


def evaluate_checks(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
    con,
    settings,
    checks: Sequence[CheckEntry],
) -> Iterator[dg.AssetCheckResult]:
    """The selected ones of ``checks`` evaluated on ``con``, each result keyed to its own check;
    then the Data Docs index is written again (once per step, not per check)."""
    chosen = context.selected_asset_check_keys
    selected = {spec.key: run for spec, run in checks if spec.key in chosen}
    if not selected:
        return
    index = str(index_path(settings))
    suites = [r for r in selected.values() if isinstance(r, SuiteCheck)]
    validated = run_suite_checks(con, settings, suites, context.run.run_id) if suites else {}
    for key, run in selected.items():
        if isinstance(run, SuiteCheck):
            result, current = validated[run.asset]
            outcome = suite_result(result, current, index)
            # The run log's line rides on the result (pipeline/progress.py): no log event.
            line = f"{run.asset}: {result.summary()}"
            outcome = outcome._replace(metadata={**outcome.metadata, SUMMARY: line})
        else:
            outcome = run(context, con, settings, index)
        yield outcome._replace(asset_key=key.asset_key, check_name=key.name)
    write_index(settings)


def blocked_text(failed: Sequence[dg.AssetCheckResult]) -> str:
    """What a step failed by blocking checks says: a first line naming the checks (what a
    notice and the run list show), then each check's finding, which names the file, the rows
    and the reason (the check's description)."""
    names = ", ".join(f"{r.check_name} on {r.asset_key.to_user_string()}" for r in failed)
    lines = [
        f"{counted(len(failed), 'blocking check')} failed: {names}; what depends on them is not "
        "built"
    ]
    lines += [
        f"- {r.check_name} on {r.asset_key.to_user_string()}: {r.description or 'failed'}"
        for r in failed
    ]
    return "\n".join(lines)


def fail_if_blocked(events: Iterable, checks: Sequence[CheckEntry]) -> Iterator:
    """A step's events, passed through; once all are out (its connection closed, its work
    kept), the step fails with :func:`blocked_text` if one of its blocking ``checks`` failed
    with ERROR. Dagster would fail it too, but its error names only the checks, and the run's
    page shows that error first."""
    blocking = {spec.key for spec, _ in checks if spec.blocking}
    failed = []
    for event in events:
        if (
            isinstance(event, dg.AssetCheckResult)
            and not event.passed
            and event.severity == dg.AssetCheckSeverity.ERROR
            and dg.AssetCheckKey(event.asset_key, event.check_name) in blocking
        ):
            failed.append(event)
        yield event
    if failed:
        raise dg.Failure(description=blocked_text(failed), allow_retries=False)


def build_step_checks() -> dict[str, list[CheckEntry]]:
    """The checks of every asset in the repository that has suites, by the step that builds the
    asset and evaluates them: ``landed`` (``raw_ingest``), each SQL layer (``staging``,
    ``intermediate``, ``marts``: the SQL marts with their ``fresh_data`` checks) and
    ``predictions`` (the prediction marts, with theirs). Reads JSON only; with
    ``PIPELINE_ENGINE=spark`` also GX's registry, to refuse an expectation Spark cannot run."""
    suites = read_suites()
    models = discover_models()
    check_targets(
        suites,
        {m.name for m in models} | set(PYTHON_TABLES),
        {m.name: m.path for m in models if m.layer == "marts"}
        | {mart: PREDICTION_DIR / f"{mart}.yml" for mart in PREDICTION_MARTS},
    )
    steps: dict[str, list[CheckEntry]] = {"landed": [], "predictions": []}
    steps["landed"] = [_landed_entry(e) for e in ENTITIES.values()]
    on_spark: list[Suite] = []
    for model in models:
        mine = suites_for(model.name, model.layer, suites)
        if mine:
            steps.setdefault(model.layer, []).append(_suite_entry(model.name, mine))
            on_spark += mine
    if spark_engine.engine() == "spark":
        from pipeline.spark.checks import check_suites_run_on_spark

        check_suites_run_on_spark(on_spark)  # an expectation Spark cannot run stops the load
    # The prediction marts (built in Python, assets/predictions.py) are checked in their own
    # step: nothing but serving and the charts reads them, as it reads the SQL marts.
    for mart in PREDICTION_MARTS:
        mine = suites_for(mart, "marts", suites)
        if mine:
            steps["predictions"].append(_suite_entry(mart, mine, sql_model=False))
    for mart in mart_names():
        step = "predictions" if mart in PREDICTION_MARTS else "marts"
        steps.setdefault(step, []).append(freshness_check(mart))
    return steps


def checks_of(checks: Sequence[CheckEntry], assets: set[str]) -> list[CheckEntry]:
    """The ones of ``checks`` on ``assets`` (a step may build fewer assets than its layer)."""
    return [c for c in checks if c[0].asset_key.to_user_string() in assets]


STEP_CHECKS: dict[str, list[CheckEntry]] = build_step_checks()
