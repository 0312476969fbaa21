"""The closed-form BG/NBD and Gamma-Gamma expressions for one customer, worked by hand."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.predict import bgnbd, gamma_gamma
from pipeline.predict.docs import mart_docs
from pipeline.predict.model import (
    MIN_REPEAT_CUSTOMERS,
    MODEL_COLUMNS,
    PREDICTION_COLUMNS,
    discounted_purchases,
    predict,
)
from pipeline.predict.settings import DISCOUNT_ENV, monthly_discount

PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def hyp2f1_series(a: float, b: float, c: float, z: float) -> float:
    """Gauss's series Σ (a)_k (b)_k / (c)_k z^k / k!, summed until the terms vanish."""
    term, total, k = 1.0, 1.0, 0
    while abs(term) > 1e-15:
        term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z
        total += term
        k += 1
    return total


def test_p_alive_by_hand():
    # x = 2, t_x = 30.43, T = 38.86 (CDNOW customer 1 in the papers' summary).
    # odds = a/(b + x − 1) · ((α+T)/(α+t_x))^(r+x) = 0.793/3.426 · (43.274/34.844)^2.243
    #      = 0.231465 · 1.241936^2.243 = 0.231465 · 1.625795 = 0.376314
    # P(alive) = 1 / (1 + 0.376314) = 0.72659
    assert round(float(bgnbd.p_alive(PARAMS, 2, 30.43, 38.86)), 4) == 0.7266
    # Never bought again: δ = 0, P(alive) = 1 exactly.
    assert float(bgnbd.p_alive(PARAMS, 0, 0.0, 38.86)) == 1.0


def test_expected_purchases_by_hand():
    x, t_x, T, t = 2, 30.43, 38.86, 39.0
    r, alpha, a, b = PARAMS.values()
    z = t / (alpha + T + t)  # 39 / 82.274 = 0.474025
    head = (a + b + x - 1) / (a - 1)  # 4.219 / −0.207 = −20.3816
    tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1_series(
        r + x, b + x, a + b + x - 1, z
    )
    odds = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    by_hand = head * tail / (1 + odds)
    assert math.isclose(
        float(bgnbd.expected_purchases(PARAMS, t, x, t_x, T)), by_hand, rel_tol=1e-9
    )
    # The figure itself, for the reader: about 1.23 purchase days in the next 39 weeks.
    assert round(by_hand, 2) == 1.23


def test_gamma_gamma_expected_value_by_hand():
    # (γ + x m_x) p / (p x + q − 1) with p = 6.25, q = 3.74, γ = 15.44, x = 2, m_x = 30:
    # (15.44 + 60) · 6.25 / (12.5 + 2.74) = 471.5 / 15.24 = 30.9383
    params = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    assert round(float(gamma_gamma.expected_value(params, 2, 30.0)), 4) == 30.9383
    # The same on polars columns, as customer_predictions computes expected_order_value.
    frame = pl.DataFrame({"frequency": [2], "monetary": [30.0]})
    value = frame.select(
        gamma_gamma.expected_value(params, pl.col("frequency"), pl.col("monetary"))
    )
    assert round(value.item(), 4) == 30.9383


def test_clv_discounts_each_month():
    # predicted_clv_365d = discounted purchases × expected order value (customer_predictions).
    # With d = 0 the sum telescopes to E[Y(12 months)] × value, 12 months = 365.25 days.
    weeks = 365.25 / 7
    undiscounted = discounted_purchases(PARAMS, [2], [30.43], [38.86], 0.0)[0] * 10.0
    whole_year = float(bgnbd.expected_purchases(PARAMS, weeks, 2, 30.43, 38.86)) * 10.0
    assert math.isclose(undiscounted, whole_year, rel_tol=1e-12)
    # Discounting at 1 % a month lowers it, but by less than (1.01)^12 − 1 = 12.7 %.
    discounted = discounted_purchases(PARAMS, [2], [30.43], [38.86], 0.01)[0] * 10.0
    assert whole_year / 1.01**12 < discounted < whole_year


def test_too_few_repeat_customers_gives_null_predictions():
    # 19 customers buy on two days, 30 once: one short of the 20 repeat customers needed.
    day = dt.date(2024, 1, 1)
    rows = [(f"r{i}", day, 10.0) for i in range(19)]
    rows += [(f"r{i}", day + dt.timedelta(days=10 + i), 20.0) for i in range(19)]
    rows += [(f"o{i}", day, 5.0) for i in range(30)]
    days = pl.DataFrame(rows, schema=["customer_id", "day", "amount"], orient="row")
    result = predict(days, dt.date(2024, 6, 30), 0.01, dt.datetime(2024, 7, 1))
    reason = (
        f"too few repeat customers to fit: 19 with frequency >= 1, {MIN_REPEAT_CUSTOMERS} needed"
    )
    assert result.bg_status == reason
    assert result.customers.height == 49
    predicted = result.customers.select(
        "p_alive",
        "expected_purchases_90d",
        "expected_purchases_365d",
        "expected_order_value",
        "predicted_clv_365d",
        "churn_risk",
    )
    assert predicted.null_count().row(0) == (49,) * 6
    # The inputs are still published: 19 customers with frequency 1.
    assert int(result.customers["frequency"].sum()) == 19
    # prediction_model: all seven parameters, no values, the reason in status.
    assert result.model.height == 7
    assert result.model["value"].null_count() == 7
    assert set(result.model["status"]) == {reason}


def test_marts_have_the_spec_columns_and_each_is_described():
    # The column lists of spec/metrics.md, typed here from the spec.
    spec = {
        "customer_predictions": "customer_id frequency recency_weeks age_weeks p_alive "
        "expected_purchases_90d expected_purchases_365d expected_order_value "
        "predicted_clv_365d churn_risk",
        "prediction_model": "model parameter value log_likelihood customers time_unit "
        "calibration_end fitted_at status",
    }
    docs = {d.name: d for d in mart_docs()}
    assert list(PREDICTION_COLUMNS) == spec["customer_predictions"].split()
    assert list(MODEL_COLUMNS) == spec["prediction_model"].split()
    for name, columns in spec.items():
        assert list(docs[name].columns) == columns.split(), f"pipeline/predict/{name}.yml"
        assert docs[name].description and all(docs[name].columns.values())


def test_a_fit_that_does_not_converge_is_reported_not_published():
    # 30 customers buying every week for 10 weeks up to as_of, and 10 one-time buyers: nobody
    # has ever dropped out, so the dropout parameters run off to the edge of their range.
    day = dt.date(2024, 1, 1)
    rows = [
        (f"c{i}", day + dt.timedelta(days=7 * k), 10.0 + i) for i in range(30) for k in range(11)
    ]
    rows += [(f"o{i}", day + dt.timedelta(days=70), 5.0) for i in range(10)]
    days = pl.DataFrame(rows, schema=["customer_id", "day", "amount"], orient="row")
    result = predict(days, day + dt.timedelta(days=70), 0.01, dt.datetime(2024, 7, 1))
    assert result.bg_status.startswith("BG/NBD fit did not converge: a parameter ran to the edge")
    assert result.bg_nbd is not None and not result.bg_nbd.converged
    assert result.model["value"].null_count() == 7  # the numbers are not published
    assert result.model["log_likelihood"].null_count() == 7
    assert result.customers["p_alive"].null_count() == 40
    # the customers' inputs are: 30 × frequency 10, recency = age = 10 weeks
    assert int(result.customers["frequency"].sum()) == 300


def test_monthly_discount_setting(monkeypatch):
    monkeypatch.delenv(DISCOUNT_ENV, raising=False)
    assert monthly_discount() == 0.01
    monkeypatch.setenv(DISCOUNT_ENV, "0.02")
    assert monthly_discount() == 0.02
    monkeypatch.setenv(DISCOUNT_ENV, "1%")
    with pytest.raises(ValueError, match=r"PIPELINE_CLV_MONTHLY_DISCOUNT='1%' is not a number"):
        monthly_discount()
    monkeypatch.setenv(DISCOUNT_ENV, "1.5")
    with pytest.raises(ValueError, match=r"must be in \[0, 1\)"):
        monthly_discount()


def test_a_line_search_that_stops_at_the_optimum_counts_as_converged():
    import numpy as np
    from scipy.optimize import OptimizeResult

    from pipeline.predict.fit import stalled_at_optimum

    # Seen in 3 of 60 CDNOW Gamma-Gamma fits over the same purchases (their sums' last bits vary
    # with polars' grouping): L-BFGS-B stopped "ABNORMAL" at p = 6.2496, q = 3.7442,
    # γ = 15.4435 (published: 6.25, 3.74, 15.44) with this gradient, at -LL = 4,055.92.
    stopped = OptimizeResult(
        success=False,
        message="ABNORMAL: ",
        fun=4055.9176948018685,
        jac=np.array([-2.17072407e-05, 7.66744906e-06, -1.56218854e-05]),
    )
    assert stalled_at_optimum(stopped)  # 2.2e-5 <= 1e-7 x 4,055.9 = 4.1e-4
    # The same stop with a gradient that still pulls (one step of 1 % would gain 0.05): a failure.
    assert not stalled_at_optimum(OptimizeResult(**{**stopped, "jac": np.array([5.0, 0, 0])}))
    # Any other reason to stop is not this case (a converged fit is judged by its own flag).
    assert not stalled_at_optimum(
        OptimizeResult(**{**stopped, "message": "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"})
    )


def test_the_triples_are_grouped_once_and_score_as_the_scoring_alone_does(monkeypatch):
    from helpers import bench_module

    from pipeline.predict import model

    # 300 simulated BG/NBD buyers (bench/predict_fit.py, seed 7): 542 purchase days, 198
    # customers without a repeat day; both fits converge on them.
    predict_fit = bench_module("predict_fit")
    days = predict_fit.simulate(300)
    calls = []
    grouping = model.triples

    def counted(summary: pl.DataFrame) -> pl.DataFrame:
        calls.append(summary.height)
        return grouping(summary)  # the real grouping, counted

    monkeypatch.setattr(model, "triples", counted)
    result = model.predict(days, predict_fit.AS_OF, 0.01, dt.datetime(2026, 1, 1))
    assert (result.bg_status, result.gg_status) == ("fitted", "fitted")
    assert calls == [300]  # grouped once, for the fit and the scoring
    # What the scoring gives when it groups the triples itself (the path before): the same.
    summary = model.customer_summary(days, predict_fit.AS_OF)
    alone = model.customer_predictions(summary, result.bg_nbd, result.gamma_gamma, 0.01)
    # Equal to 1e-9: the two paths may run their BLAS-backed arithmetic with another thread
    # count (one test order under `make test` differed in the last digits); no row may differ more.
    assert_frame_equal(result.customers, alone, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)
    # By hand: without a repeat day x = 0, so the odds of having dropped out are 0 and
    # P(alive) = 1 (the δ_{x>0} term is 0); customers of one triple share every BG/NBD figure.
    once = result.customers.filter(pl.col("frequency") == 0)
    assert once.height == 198 and set(once["p_alive"]) == {1.0}
    shared = ["frequency", "recency_weeks", "age_weeks", "p_alive", "expected_purchases_90d"]
    assert once.select(shared).unique().height == once.select(shared[:3]).unique().height


def test_the_mean_repeat_spend_and_the_spend_fit_do_not_depend_on_the_row_order():
    """Gamma-Gamma's m_x (``monetary``) is a customer's repeat days summed in day order, so the
    same purchases give the same figures bit for bit in any row order and on any thread.
    Before, polars summed a customer's days in the order its threads met them and took the
    first day off the total: one run's m_x differed from the next in the last bits, and the fit
    turned that into p, q, γ differing in the 7th digit (a mart built day by day against one
    rebuilt from the same files, tests/test_incremental_deliveries.py)."""
    from helpers import bench_module

    from pipeline.predict.model import fit_gamma_gamma
    from pipeline.predict.summary import customer_summary

    # One customer: 10.00 on the first day, then 0.10, 0.20 and 0.30 on three later days.
    # By hand: the three repeat days sum to 0.6 (the double nearest 0.1 + 0.2 + 0.3, which
    # math.fsum gives too), / 3 = 0.19999999999999998. The total less the first day gave
    # 10.6 − 10 = 0.5999999999999996, / 3 = 0.19999999999999987, in every order.
    first = dt.date(2024, 1, 1)
    amounts = [10.0, 0.1, 0.2, 0.3]
    days = pl.DataFrame(
        {
            "customer_id": ["c1"] * 4,
            "day": [first + dt.timedelta(days=7 * i) for i in range(4)],
            "amount": amounts,
        }
    )
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        summary = customer_summary(days[order], dt.date(2024, 6, 30))
        assert summary["monetary"].to_list() == [math.fsum(amounts[1:]) / 3]
        assert summary["monetary"].item() == 0.19999999999999998
    # 300 simulated buyers (bench/predict_fit.py, seed 7), their 542 purchase days in ten
    # orders: one fit, every parameter equal to the last bit (before, all ten differed).
    predict_fit = bench_module("predict_fit")
    simulated = predict_fit.simulate(300)
    fits = {
        repr(fit_gamma_gamma(customer_summary(shuffled, predict_fit.AS_OF)))
        for shuffled in [
            simulated,
            *(simulated.sample(fraction=1.0, shuffle=True, seed=seed) for seed in range(9)),
        ]
    }
    assert len(fits) == 1
