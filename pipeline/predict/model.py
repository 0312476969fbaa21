"""Fit both models on the purchase days and predict every customer: the two marts' frames.

``predict`` never raises for bad data: too few repeat customers or a fit that does not
converge gives NULL predictions and the reason in ``status``, so the run carries on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.predict import bgnbd, gamma_gamma
from pipeline.predict.fit import Fit
from pipeline.predict.summary import WEEK_DAYS, customer_summary, triples

MIN_REPEAT_CUSTOMERS = 20
FITTED = "fitted"
MONTH_WEEKS = 365.25 / 12 / WEEK_DAYS
# churn_risk bands on p_alive (spec/metrics.md): low >= 0.7 > medium >= 0.3 > high.
LOW_RISK, MEDIUM_RISK = 0.7, 0.3

PREDICTION_COLUMNS = {
    "customer_id": pl.String,
    "frequency": pl.Int64,
    "recency_weeks": pl.Float64,
    "age_weeks": pl.Float64,
    "p_alive": pl.Float64,
    "expected_purchases_90d": pl.Float64,
    "expected_purchases_365d": pl.Float64,
    "expected_order_value": pl.Float64,
    "predicted_clv_365d": pl.Float64,
    "churn_risk": pl.String,
}
MODEL_COLUMNS = {
    "model": pl.String,
    "parameter": pl.String,
    "value": pl.Float64,
    "log_likelihood": pl.Float64,
    "customers": pl.Int64,
    "time_unit": pl.String,
    "calibration_end": pl.Date,
    "fitted_at": pl.Datetime("us"),
    "status": pl.String,
}


@dataclass(frozen=True)
class Prediction:
    """The two marts, and each model's fit (None when it was not attempted) and status."""

    customers: pl.DataFrame
    model: pl.DataFrame
    bg_nbd: Fit | None
    gamma_gamma: Fit | None
    bg_status: str
    gg_status: str


def fit_bg_nbd(summary: pl.DataFrame, grid: pl.DataFrame | None = None) -> tuple[Fit | None, str]:
    """BG/NBD on the customers' triples; the fit (if made) and ``fitted`` or why not.
    ``grid``: ``triples(summary)`` when the caller has it already."""
    repeaters = int((summary["frequency"] > 0).sum()) if summary.height else 0
    if repeaters < MIN_REPEAT_CUSTOMERS:
        return None, (
            f"too few repeat customers to fit: {repeaters} with frequency >= 1, "
            f"{MIN_REPEAT_CUSTOMERS} needed"
        )
    grid = triples(summary) if grid is None else grid
    fit = bgnbd.fit(
        grid["frequency"].to_numpy(),
        grid["recency_weeks"].to_numpy(),
        grid["age_weeks"].to_numpy(),
        grid["customers"].to_numpy(),
    )
    if not fit.converged:
        return fit, f"BG/NBD fit did not converge: {fit.message}"
    if abs(fit.params["a"] - 1) < 1e-9:
        return fit, "BG/NBD fit has a = 1, where the conditional expectation is undefined"
    return fit, FITTED


def fit_gamma_gamma(summary: pl.DataFrame) -> tuple[Fit | None, str]:
    """Gamma-Gamma on the repeat customers' mean repeat-day spend; the fit and its status."""
    repeat = summary.filter((pl.col("frequency") > 0) & (pl.col("monetary") > 0))
    if repeat.height < MIN_REPEAT_CUSTOMERS:
        return None, (
            f"too few repeat customers to fit: {repeat.height} with frequency >= 1 and a "
            f"positive mean spend, {MIN_REPEAT_CUSTOMERS} needed"
        )
    fit = gamma_gamma.fit(repeat["frequency"].to_numpy(), repeat["monetary"].to_numpy())
    if not fit.converged:
        return fit, f"Gamma-Gamma fit did not converge: {fit.message}"
    if fit.params["q"] <= 1:
        # E[M] = p γ / (q − 1) is infinite for q ≤ 1: there is no expected value to publish.
        return (
            fit,
            f"Gamma-Gamma fit has q = {fit.params['q']:.3g} <= 1: the mean spend is infinite",
        )
    return fit, FITTED


def discounted_purchases(params: dict[str, float], x, t_x, T, discount: float) -> np.ndarray:
    """Σ_{m=1..12} (E[Y(m months)] − E[Y(m−1 months)]) / (1 + d)^m: CLV per unit of value."""
    total = np.zeros(len(np.asarray(x)))
    previous = np.zeros_like(total)
    for m in range(1, 13):
        cumulative = bgnbd.expected_purchases(params, m * MONTH_WEEKS, x, t_x, T)
        total += (cumulative - previous) / (1 + discount) ** m
        previous = cumulative
    return total


def _risk(p_alive: pl.Expr) -> pl.Expr:
    return (
        pl.when(p_alive >= LOW_RISK)
        .then(pl.lit("low"))
        .when(p_alive >= MEDIUM_RISK)
        .then(pl.lit("medium"))
        .when(p_alive.is_not_null())
        .then(pl.lit("high"))
    )


def _finite(*arrays: np.ndarray) -> bool:
    return all(bool(np.all(np.isfinite(a))) for a in arrays)


def triple_predictions(
    summary: pl.DataFrame,
    params: dict[str, float],
    discount: float,
    grid: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """BG/NBD figures per distinct (frequency, recency, age): they depend on nothing else, so a
    million customers cost one evaluation per triple (hyp2f1 is the expensive part).
    ``grid``: ``triples(summary)`` when the caller has it already."""
    grid = triples(summary) if grid is None else grid
    x = grid["frequency"].to_numpy().astype(float)
    t_x = grid["recency_weeks"].to_numpy()
    T = grid["age_weeks"].to_numpy()
    return grid.select("frequency", "recency_weeks", "age_weeks").with_columns(
        p_alive=pl.Series(bgnbd.p_alive(params, x, t_x, T)),
        expected_purchases_90d=pl.Series(
            bgnbd.expected_purchases(params, 90 / WEEK_DAYS, x, t_x, T)
        ),
        expected_purchases_365d=pl.Series(
            bgnbd.expected_purchases(params, 365 / WEEK_DAYS, x, t_x, T)
        ),
        clv_per_value=pl.Series(discounted_purchases(params, x, t_x, T, discount)),
    )


def customer_predictions(
    summary: pl.DataFrame,
    bg: Fit | None,
    gg: Fit | None,
    discount: float,
    grid: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The customer_predictions frame; ``bg``/``gg`` None gives NULL predictions. ``grid``:
    ``triples(summary)`` when the caller has it already."""
    keys = ["frequency", "recency_weeks", "age_weeks"]
    out = summary.select("customer_id", *keys, "monetary")
    if bg is not None and summary.height:
        scored = triple_predictions(summary, bg.params, discount, grid)
        out = out.join(scored, on=keys, how="left")
    if gg is not None and bg is not None and summary.height:
        x, m = pl.col("frequency"), pl.col("monetary")
        value = (
            pl.when((x > 0) & (m > 0))
            .then(gamma_gamma.expected_value(gg.params, x, m))
            .otherwise(None)
        )
        out = out.with_columns(expected_order_value=value).with_columns(
            predicted_clv_365d=pl.col("clv_per_value") * pl.col("expected_order_value")
        )
    missing = [c for c in PREDICTION_COLUMNS if c not in out.columns]
    out = out.with_columns([pl.lit(None, dtype=pl.Float64).alias(c) for c in missing])
    return (
        out.with_columns(churn_risk=_risk(pl.col("p_alive")))
        .select([pl.col(c).cast(t) for c, t in PREDICTION_COLUMNS.items()])
        .sort("customer_id")
    )


def model_rows(
    bg: Fit | None,
    gg: Fit | None,
    bg_status: str,
    gg_status: str,
    summary: pl.DataFrame,
    calibration_end: dt.date,
    fitted_at: dt.datetime,
) -> pl.DataFrame:
    """The prediction_model frame: one row per parameter; value NULL unless ``fitted``."""
    repeaters = summary.filter((pl.col("frequency") > 0) & (pl.col("monetary") > 0)).height
    records = []
    for model, names, fit, status, customers in (
        ("bg_nbd", bgnbd.PARAMETERS, bg, bg_status, summary.height),
        ("gamma_gamma", gamma_gamma.PARAMETERS, gg, gg_status, repeaters),
    ):
        ok = fit is not None and status == FITTED
        for name in names:
            records.append(
                {
                    "model": model,
                    "parameter": name,
                    "value": fit.params[name] if ok else None,
                    "log_likelihood": fit.log_likelihood if ok else None,
                    "customers": customers,
                    "time_unit": "week",
                    "calibration_end": calibration_end,
                    "fitted_at": fitted_at,
                    "status": status,
                }
            )
    return pl.DataFrame(records, schema=MODEL_COLUMNS)


def predict(
    days: pl.DataFrame, as_of: dt.date, discount: float, fitted_at: dt.datetime
) -> Prediction:
    """Fit BG/NBD and Gamma-Gamma on the purchase days up to ``as_of`` and predict everyone.

    ``days``: customer_id, day, amount (one row per customer and purchase day).
    """
    summary = customer_summary(days, as_of)
    # The fit and the scoring both read the distinct triples: grouped and sorted once (about
    # 10 ms at 100k customers), the same frame either way.
    grid = triples(summary)
    bg, bg_status = fit_bg_nbd(summary, grid)
    gg, gg_status = fit_gamma_gamma(summary) if bg_status == FITTED else (None, bg_status)
    customers = customer_predictions(
        summary,
        bg if bg_status == FITTED else None,
        gg if gg_status == FITTED else None,
        discount,
        grid,
    )
    predicted = customers.select(
        "p_alive", "expected_purchases_90d", "expected_purchases_365d"
    ).drop_nulls()
    if bg_status == FITTED and not _finite(*(predicted[c].to_numpy() for c in predicted.columns)):
        # Parameters at the edge of the formulas' range (hyp2f1 overflow): not numbers to publish.
        bg_status = "BG/NBD predictions are not finite for the fitted parameters"
        gg_status = bg_status
        customers = customer_predictions(summary, None, None, discount)
    model = model_rows(bg, gg, bg_status, gg_status, summary, as_of, fitted_at)
    return Prediction(customers, model, bg, gg, bg_status, gg_status)
