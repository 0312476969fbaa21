"""The ``customer_predictions`` and ``prediction_model`` marts: BG/NBD and Gamma-Gamma fits.

One step fits both models on the qualifying purchases (``int_purchases``) and writes both marts;
the work lives in ``pipeline.predict``. Bad input never fails the run: with too few repeat
customers or no convergence the marts carry NULL predictions and the reason (prediction_model
.status, and this asset's metadata). Two pictures are attached: P(alive) by frequency and
recency, and predicted against actual purchase days over the last 13 weeks held out, each
drawn again only when the figures it shows changed (``assets.charts.picture_stamp``). The
marts' expectation and freshness checks are evaluated at the end of the same step
(assets/checks.py).
"""

import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import polars as pl

from assets.charts import image_markdown, picture_stamp, remove_pictures, stamped_picture
from assets.checks import CheckEntry, checks_of, evaluate_checks, fail_if_blocked
from pipeline.engine import skip, upstream
from pipeline.predict.build import build_predictions
from pipeline.predict.charts import draw_holdout, draw_p_alive
from pipeline.predict.docs import PREDICTION_MARTS, mart_doc
from pipeline.predict.fit_cache import cached_bg_nbd
from pipeline.predict.holdout import holdout_table
from pipeline.predict.model import FITTED, Prediction
from pipeline.predict.settings import DISCOUNT_ENV, monthly_discount
from pipeline.warehouse import Warehouse, scalar
from pipeline.words import counted

HOLDOUT_WEEKS = 13
P_ALIVE_FILE = "p_alive_heatmap.png"
HOLDOUT_FILE = "prediction_holdout.png"
# What the two marts are computed from (pipeline.engine.skip): unchanged, the fit would be the same.
INPUTS = [("intermediate", "int_purchases"), ("meta", "pipeline_settings")]
CODE = [Path(__file__), Path(__file__).resolve().parent.parent / "pipeline" / "predict"]
# What draws the two pictures: with the same code and the same figures they are the same PNGs,
# not drawn again (assets/charts.picture_stamp): matplotlib's import and the two pictures are
# about three quarters of a refit's step (docs/performance.md).
PICTURE_CODE = [
    Path(__file__).resolve().parent.parent / "pipeline" / "predict" / name
    for name in ("charts.py", "bgnbd.py")  # bgnbd: the P(alive) formula the heat map shows
]


def _spec(name: str) -> dg.AssetSpec:
    doc = mart_doc(name)
    return dg.AssetSpec(
        key=name,
        group_name="marts",
        kinds={"polars", "duckdb"},
        deps=[dg.AssetKey("int_purchases"), dg.AssetKey("pipeline_settings")],
        description=doc.description,
        metadata={
            "path": dg.MetadataValue.path(f"pipeline/predict/{name}.yml"),
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name=c, description=d) for c, d in doc.columns.items()]
            ),
        },
    )


def _table_markdown(table: pl.DataFrame) -> str:
    lines = [
        "| calibration repeat days | customers | actual | predicted |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['label']} | {r['customers']:,} | {r['actual']:,} | {r['predicted']:,.1f} |"
        for r in table.iter_rows(named=True)
    ]
    lines.append(
        f"| total | {table['customers'].sum():,} | {table['actual'].sum():,} "
        f"| {table['predicted'].sum():,.1f} |"
    )
    return "\n".join(lines)


def _model_metadata(prediction: Prediction) -> dict[str, object]:
    metadata: dict[str, object] = {
        "bg_nbd_status": prediction.bg_status,
        "gamma_gamma_status": prediction.gg_status,
    }
    for name, fit, status in (
        ("bg_nbd", prediction.bg_nbd, prediction.bg_status),
        ("gamma_gamma", prediction.gamma_gamma, prediction.gg_status),
    ):
        if fit is not None and status == FITTED:
            metadata.update({f"{name}_{k}": round(v, 6) for k, v in fit.params.items()})
            metadata[f"{name}_log_likelihood"] = round(fit.log_likelihood, 3)
            metadata[f"{name}_customers"] = fit.customers
    return metadata


def _predict(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Fit BG/NBD and Gamma-Gamma, write both marts, draw the two pictures."""
    settings = warehouse.settings()
    discount = monthly_discount()
    fitted_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    started = time.perf_counter()
    version = skip.code_version(CODE, discount, HOLDOUT_WEEKS)
    with warehouse.connect() as con:
        # The fit's as_of is the warehouse's settings': refused when they hold another date
        # than this run's (pipeline_settings not selected; pipeline/engine/upstream.py).
        problem = upstream.settings_problem(con, settings.as_of, "customer_predictions")
        if problem:
            con.close()  # dagster-duckdb's connection is not closed on an error
            raise dg.Failure(description=problem, allow_retries=False)
        seen = skip.inputs(con, INPUTS)
        why = skip.why_unchanged(
            con, "predictions", version, seen, [("marts", n) for n in PREDICTION_MARTS]
        )
        if why:
            skip.note_skipped(con, context.run.run_id, "predictions", why)
            # The tables as they stand: the UI's row count is the latest materialisation's,
            # and would vanish from the catalog after every skipped run (as the SQL models').
            counts = {n: scalar(con, f"select count(*) from marts.{n}") for n in PREDICTION_MARTS}
        else:
            prediction, days, as_of = build_predictions(con, discount, fitted_at)
            seconds = time.perf_counter() - started
            start = as_of - dt.timedelta(weeks=HOLDOUT_WEEKS)
            # The calibration purchases rarely change: their fit is kept between runs.
            table, holdout_status = holdout_table(days, start, as_of, cached_bg_nbd(con))
            skip.record(con, "predictions", version, seen)
    if why:
        # Not "predictions: " before it: the run log names the step already.
        context.log.info(why)
        for name in PREDICTION_MARTS:
            yield dg.MaterializeResult(
                asset_key=name, metadata={"dagster/row_count": counts[name], "skipped": why}
            )
        return
    customers = prediction.customers
    shared = _model_metadata(prediction)
    if prediction.bg_status != FITTED:
        context.log.warning(f"no BG/NBD predictions: {prediction.bg_status}")
    elif prediction.gg_status != FITTED:
        context.log.warning(f"no Gamma-Gamma values: {prediction.gg_status}")
    # "fitted in 0.03s (too few repeat customers to fit …)" contradicted itself: the time is
    # a fit's only when there was one; else the warning above says why there was none.
    how = f"fitted in {seconds:.2f}s" if prediction.bg_status == FITTED else "no fit"
    context.log.info(
        f"customer_predictions: {counted(customers.height, 'customer')}, as_of {as_of}, {how}"
    )
    pictures: dict[str, object] = {}
    if prediction.bg_nbd is not None and prediction.bg_status == FITTED and customers.height:
        max_frequency = int(customers["frequency"].quantile(0.99) or 0) + 1
        age = float(customers["age_weeks"].max())
        params = prediction.bg_nbd.params
        path = settings.docs_dir / P_ALIVE_FILE
        stamp = picture_stamp(PICTURE_CODE, sorted(params.items()), max_frequency, age)
        picture, _ = stamped_picture(path, stamp, lambda: draw_p_alive(params, max_frequency, age))
        pictures["p_alive_heatmap"] = image_markdown("P(alive)", picture, path)
    else:
        # An earlier fit's picture: docs/ is where the run summary sends the user to look.
        removed = remove_pictures(settings.docs_dir, P_ALIVE_FILE)
        if removed:
            context.log.info(f"no P(alive) picture without a fit{removed}")
    if table is None:
        pictures["holdout"] = f"no holdout comparison (fit to {start}): {holdout_status}"
        removed = remove_pictures(settings.docs_dir, HOLDOUT_FILE)
        if removed:
            context.log.info(f"no holdout picture without a holdout comparison{removed}")
    else:
        title = f"Holdout {start} to {as_of}: actual vs BG/NBD fitted to {start}"
        path = settings.docs_dir / HOLDOUT_FILE
        stamp = picture_stamp(PICTURE_CODE, table, title)
        picture, _ = stamped_picture(path, stamp, lambda: draw_holdout(table, title))
        pictures["holdout_chart"] = image_markdown("holdout", picture, path)
        pictures["holdout_table"] = dg.MetadataValue.md(_table_markdown(table))
        pictures["holdout_actual"] = int(table["actual"].sum())
        pictures["holdout_predicted"] = round(float(table["predicted"].sum()), 2)
    yield dg.MaterializeResult(
        asset_key="customer_predictions",
        metadata={
            "dagster/row_count": customers.height,
            "repeat_customers": int((customers["frequency"] > 0).sum()),
            "as_of": str(as_of),
            "fit_seconds": round(seconds, 3),
            DISCOUNT_ENV: discount,
            **shared,
            **pictures,
        },
    )
    yield dg.MaterializeResult(
        asset_key="prediction_model",
        metadata={"dagster/row_count": prediction.model.height, **shared},
    )


def build_predictions_asset(checks: Sequence[CheckEntry] = ()) -> dg.AssetsDefinition:
    """The step writing both marts, then evaluating ``checks`` (their checks, assets/checks.py)."""
    checks = checks_of(checks, set(PREDICTION_MARTS))

    @dg.multi_asset(
        name="predictions",
        specs=[_spec(n) for n in PREDICTION_MARTS],
        check_specs=[spec for spec, _ in checks],
        # Subsettable so that a job may leave the checks out (tests/test_marts_oracle.py); both
        # marts come from one fit, so both are written whichever of them is selected.
        can_subset=True,
        pool="warehouse",
    )
    def predictions(context: dg.AssetExecutionContext, warehouse: Warehouse):
        """Fit BG/NBD and Gamma-Gamma, write both marts, draw the two pictures; then checks."""
        yield from fail_if_blocked(build(context, warehouse), checks)

    def build(context: dg.AssetExecutionContext, warehouse: Warehouse):
        selected = context.selected_asset_keys
        for result in _predict(context, warehouse):
            if result.asset_key in selected:
                yield result
        if checks:
            with warehouse.connect() as con:
                yield from evaluate_checks(context, con, warehouse.settings(), checks)

    return predictions


# The step without its checks (the definitions add them: pipeline/definitions.py).
predictions = build_predictions_asset()
PREDICTION_ASSETS = [predictions]
