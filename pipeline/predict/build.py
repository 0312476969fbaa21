"""Read the purchase days from the warehouse, predict, and write the two marts in one go."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from pipeline.predict.docs import PREDICTION_MARTS
from pipeline.predict.model import Prediction, predict
from pipeline.warehouse import frame, run, scalar

# One row per customer and UTC purchase date: the models count purchase days (metrics.md).
PURCHASE_DAYS_SQL = """
select
    customer_id,
    cast(ordered_at as date) as day,
    cast(sum(net_amount) as double) as amount
from int_purchases
group by all
order by customer_id, day  -- the fit sums in this order: the same figures from either engine
"""


def purchase_days(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """customer_id, day, amount: the qualifying purchases of int_purchases summed by UTC day."""
    return frame(con, PURCHASE_DAYS_SQL).with_columns(pl.col("customer_id").cast(pl.String))


def settings_as_of(con: duckdb.DuckDBPyConnection) -> dt.date:
    """as_of of this run, from meta.pipeline_settings (what the SQL marts read)."""
    return scalar(con, "select as_of from meta.pipeline_settings")


def write_marts(con: duckdb.DuckDBPyConnection, prediction: Prediction) -> dict[str, int]:
    """Replace marts.customer_predictions and marts.prediction_model in one transaction."""
    frames = dict(zip(PREDICTION_MARTS, (prediction.customers, prediction.model), strict=True))
    run(con, "create schema if not exists marts")
    run(con, "begin transaction")
    try:
        for name, df in frames.items():
            view = f"_predict_{name}"
            con.register(view, df.to_arrow())
            try:
                run(con, f"create or replace table marts.{name} as select * from {view}")
            finally:
                con.unregister(view)
        run(con, "commit")
    except BaseException:
        run(con, "rollback")
        raise
    return {name: df.height for name, df in frames.items()}


def build_predictions(
    con: duckdb.DuckDBPyConnection, discount: float, fitted_at: dt.datetime
) -> tuple[Prediction, pl.DataFrame, dt.date]:
    """Fit, predict and write both marts; returns the prediction, the days read and as_of."""
    as_of = settings_as_of(con)
    days = purchase_days(con)
    prediction = predict(days, as_of, discount, fitted_at)
    write_marts(con, prediction)
    return prediction, days, as_of
