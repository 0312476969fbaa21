"""Predicted against actual purchases over a holdout period, as in the BG/NBD paper's Figure.

The model is fitted on purchases up to ``calibration_end``; each customer's expected purchase
days in (calibration_end, holdout_end] are compared with the purchase days they made, in total
and by the number of calibration repeat purchases (0, 1, …, 7+).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from pipeline.predict import bgnbd
from pipeline.predict.fit import Fit
from pipeline.predict.model import FITTED, fit_bg_nbd
from pipeline.predict.summary import WEEK_DAYS, customer_summary, purchases_between

TOP_GROUP = 7  # "7+": the paper's last column


def holdout_table(
    days: pl.DataFrame,
    calibration_end: dt.date,
    holdout_end: dt.date,
    fit_model: Callable[[pl.DataFrame], tuple[Fit | None, str]] = fit_bg_nbd,
) -> tuple[pl.DataFrame | None, str]:
    """Per calibration frequency 0…7+: customers, actual and predicted purchase days in the
    holdout (sums) and their means; None and the reason when the model cannot be fitted.
    ``fit_model`` fits BG/NBD on the calibration summary (``fit_cache`` keeps it between runs)."""
    summary = customer_summary(days, calibration_end)
    fit, status = fit_model(summary)
    if status != FITTED or fit is None:
        return None, status
    weeks = (holdout_end - calibration_end).days / WEEK_DAYS
    actual = purchases_between(days, calibration_end, holdout_end)
    predicted = bgnbd.expected_purchases(
        fit.params,
        weeks,
        summary["frequency"].to_numpy(),
        summary["recency_weeks"].to_numpy(),
        summary["age_weeks"].to_numpy(),
    )
    table = (
        summary.with_columns(predicted=pl.Series(predicted))
        .join(actual, on="customer_id", how="left")
        .group_by(group=pl.col("frequency").clip(0, TOP_GROUP))
        .agg(
            customers=pl.len(),
            actual=pl.col("purchases").fill_null(0).sum(),
            predicted=pl.col("predicted").sum(),
        )
        .sort("group")
        .with_columns(
            label=pl.when(pl.col("group") == TOP_GROUP)
            .then(pl.lit(f"{TOP_GROUP}+"))
            .otherwise(pl.col("group").cast(pl.String)),
            actual_mean=pl.col("actual") / pl.col("customers"),
            predicted_mean=pl.col("predicted") / pl.col("customers"),
        )
    )
    return table, FITTED
