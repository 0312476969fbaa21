"""The SQL models as Dagster assets: one asset per model, one step per layer.

Each ``sql/<layer>/<name>.sql`` is an asset keyed by its table name, grouped by its layer, with
edges read from the table names its SQL uses (``pipeline.engine``). The models of a layer run
in one step (a subsettable multi-asset) on one connection: the graph in the UI still shows every
model, but a run pays Dagster's per-step cost three times instead of once per model. The
layer's expectation checks (assets/checks.py) are evaluated at the end of the same step, so a
failed blocking check on one layer still stops the next.

The first layer step of a run also forgets the records of models removed from ``sql/`` and
says the tables they left (pipeline/engine/leftovers.py), before it builds: every run that
builds models says them once, even one stopped by a blocking check or selecting a few models.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

from assets.checks import CheckEntry, checks_of, evaluate_checks, fail_if_blocked
from pipeline.engine import (
    LAYERS,
    PYTHON_TABLES,
    SQL_DIR,
    BuildMode,
    Model,
    discover_models,
    preview_markdown,
    skip,
    upstream,
)
from pipeline.engine.leftovers import forget_removed, left_tables_once, left_tables_text
from pipeline.progress import SUMMARY
from pipeline.spark import session as spark_engine
from pipeline.spark.run import build_models_on_spark, engine_metadata
from pipeline.spark.translate import translate_models
from pipeline.validation.state import suite_readers
from pipeline.warehouse import Warehouse, rows
from pipeline.words import counted

REPO_ROOT = SQL_DIR.parent


def _deps(model: Model) -> list[dg.AssetKey]:
    keys = []
    for parent in model.parents:
        if parent in PYTHON_TABLES:
            producer = PYTHON_TABLES[parent][1]
            if producer:
                keys.append(dg.AssetKey(producer))
        else:
            keys.append(dg.AssetKey(parent))
    return keys


def model_spec(model: Model) -> dg.AssetSpec:
    """The asset spec of one model: key, layer, parents, description, SQL and column docs; its
    code version is the hash of its SQL (and kind), so the UI marks a model whose SQL changed."""
    try:
        rel_path = str(model.path.relative_to(REPO_ROOT))
    except ValueError:
        rel_path = str(model.path)
    return dg.AssetSpec(
        key=model.name,
        group_name=model.layer,
        kinds={"sql", "duckdb"},
        deps=_deps(model),
        description=model.description or f"SQL model {rel_path}",
        code_version=model.sql_sha256,
        metadata={
            "dagster/table_name": model.qualified_name,
            "sql": dg.MetadataValue.md(f"```sql\n{model.sql}\n```"),
            "path": dg.MetadataValue.path(rel_path),
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name=c, description=d) for c, d in model.columns.items()]
            ),
        },
    )


def _result_metadata(con, model: Model, count: int, known: list[str] | None = None) -> dict:
    # known: the built table's "name TYPE" list the step's fingerprints just read (no 2nd query).
    columns = (
        [tuple(c.split(" ", 1)) for c in known]
        if known is not None
        else rows(
            con,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [model.layer, model.name],
        )
    )
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(name=c, type=t, description=model.columns.get(c)) for c, t in columns
        ]
    )
    return {
        "dagster/row_count": count,
        "dagster/column_schema": schema,
        "preview": dg.MetadataValue.md(preview_markdown(con, model.qualified_name)),
    }


def layer_asset(
    layer: str,
    models: list[Model],
    all_models: list[Model] | None = None,
    checks: Sequence[CheckEntry] = (),
) -> dg.AssetsDefinition:
    """One subsettable multi-asset that builds the selected models of a layer in order
    (on Spark when ``PIPELINE_ENGINE=spark``: pipeline.spark.run), then evaluates the selected
    ones of ``checks`` (its models' expectation checks)."""
    checks = checks_of(checks, {m.name for m in models})

    @dg.multi_asset(
        name=f"sql_{layer}",
        specs=[model_spec(m) for m in models],
        check_specs=[spec for spec, _ in checks],
        can_subset=True,
        pool="warehouse",
    )
    def _build(context: dg.AssetExecutionContext, warehouse: Warehouse):
        yield from fail_if_blocked(build(context, warehouse), checks)

    def build(context: dg.AssetExecutionContext, warehouse: Warehouse):
        selected = {key.to_user_string() for key in context.selected_asset_keys}
        layers = {m.name: m.layer for m in all_models or models}
        if spark_engine.engine() == "spark":
            with warehouse.connect() as con:
                problems = unbuildable(context, con, warehouse, models, layers, selected)
            if problems:
                raise dg.Failure(description="\n".join(problems), allow_retries=False)
            yield from _build_on_spark(context, warehouse, models, all_models or models, selected)
            with warehouse.connect() as con:
                forget_and_say_removed(context, con, layers)  # the checks' state
                yield from evaluate_checks(context, con, warehouse.settings(), checks)
            return
        with warehouse.connect() as con:
            forget_and_say_removed(context, con, layers)
            problems = unbuildable(context, con, warehouse, models, layers, selected)
            prints = skip.Fingerprints(con)  # shared by the step's models
            # In dependency order already; none when the selection cannot be built.
            chosen = [] if problems else [m for m in models if m.name in selected]
            for model in chosen:
                result = skip.build_model(con, model, layers, context.run.run_id, prints)
                how = result.description
                if model.incremental and result.mode is BuildMode.FULL_REBUILD:
                    how += f": {result.reason}"  # why an incremental model was rebuilt whole
                # The run log's line for this model is the materialisation's own metadata
                # (the UI shows it with the event; `pipeline run` prints it): not a log event
                # of its own, one of Dagster's stored events fewer per model (performance.md).
                line = {SUMMARY: f"{model.qualified_name}: {counted(result.rows, 'row')} ({how})"}
                if result.mode is BuildMode.SKIPPED:
                    yield dg.MaterializeResult(
                        asset_key=model.name,
                        metadata={
                            **line,
                            "dagster/row_count": result.rows,  # the table as it stands
                            "build": "skipped",
                            "skipped": how,
                            "build_mode": result.mode.value,
                            "engine": "duckdb",
                        },
                    )
                    continue
                yield dg.MaterializeResult(
                    asset_key=model.name,
                    metadata={
                        **line,
                        **_result_metadata(
                            con, model, result.rows, prints.columns(model.layer, model.name)
                        ),
                        "build": how,
                        "build_mode": result.mode.value,
                        "engine": "duckdb",
                    },
                )
            if not problems:
                yield from evaluate_checks(context, con, warehouse.settings(), checks)
        if problems:
            # Raised with the connection closed (dagster-duckdb's is not closed on an error):
            # the step's own message, first on the run's page.
            raise dg.Failure(description="\n".join(problems), allow_retries=False)

    return _build


def unbuildable(
    context: dg.AssetExecutionContext,
    con,
    warehouse: Warehouse,
    models: list[Model],
    layers: dict[str, str],
    selected: set[str],
) -> list[str]:
    """Why the step's selected models would not describe this run's as_of (none: they can be
    built): ``meta.pipeline_settings`` holds another date (pipeline_settings is not in the run),
    or a parent this run does not build is absent or was built for another as_of
    (pipeline/engine/upstream.py). Each reason names what to select instead."""
    chosen = [m for m in models if m.name in selected]
    if not chosen:
        return []
    problem = upstream.settings_problem(con, warehouse.settings().as_of, chosen[0].name)
    problems = [problem] if problem else []
    # The run's whole selection (None or empty: every asset, as a full run or the refresh job).
    run_keys = context.run.asset_selection
    if not problems and run_keys:
        in_run = {key.to_user_string() for key in run_keys}
        readers = upstream.settings_readers(discover_models())
        problems = upstream.parent_problems(con, chosen, layers, readers, in_run)
    return problems


def forget_and_say_removed(context: dg.AssetExecutionContext, con, models) -> None:
    """Forget the records of the models removed from ``sql/`` (names not in ``models``; the
    run's first layer step finds them) and warn of the tables they left, once a run."""
    # Before any build decides to skip: a model put back is rebuilt whole and checked in full.
    forget_removed(con, models)
    # Here, not only in serving_marts: a run stopped by a blocking check, or selecting a few
    # models, never reaches serving, and the operator would not hear of the table.
    left = left_tables_once(con, models, context.run.run_id, suite_readers)
    if left:
        context.log.warning("\n".join(left_tables_text(left)))


def _build_on_spark(context, warehouse: Warehouse, models, all_models, selected):
    """The Spark path of a layer asset: the selected models built on Spark, copied back."""
    lake = spark_engine.lake_dir(warehouse.settings().data_dir)
    chosen = [m for m in models if m.name in selected]
    with warehouse.connect() as con:
        for model, count in build_models_on_spark(con, chosen, all_models, lake):
            context.log.info(f"{model.qualified_name}: {counted(count, 'row')} (spark, rebuilt)")
            yield dg.MaterializeResult(
                asset_key=model.name,
                metadata={
                    **_result_metadata(con, model, count),
                    "build": "rebuilt",
                    "build_mode": BuildMode.FULL_REBUILD.value,
                    **engine_metadata(),
                },
            )


def build_model_assets(
    sql_dir: Path = SQL_DIR, checks: Mapping[str, Sequence[CheckEntry]] | None = None
) -> list[dg.AssetsDefinition]:
    """One multi-asset per layer for the models under ``sql_dir``, each evaluating its layer's
    ``checks`` (by layer name, assets/checks.py ``STEP_CHECKS``); ModelError on a bad file
    (with ``PIPELINE_ENGINE=spark`` also on a model with no Spark translation)."""
    models = discover_models(sql_dir)
    if spark_engine.engine() == "spark":
        translate_models(models)  # fail at load, naming the model and the construct
    checks = checks or {}
    return [
        layer_asset(layer, [m for m in models if m.layer == layer], models, checks.get(layer, ()))
        for layer in LAYERS
        if any(m.layer == layer for m in models)
    ]
