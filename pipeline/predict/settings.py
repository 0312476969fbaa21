"""The prediction's own setting: the monthly discount rate of the CLV."""

from __future__ import annotations

from pipeline.config import setting

DISCOUNT_ENV = "PIPELINE_CLV_MONTHLY_DISCOUNT"


def monthly_discount(value: str | float | None = None) -> float:
    """``PIPELINE_CLV_MONTHLY_DISCOUNT`` (default 0.01): the rate d of predicted_clv_365d.

    Read when the asset runs (not at import). Raises ConfigError (a ValueError) naming the
    variable when the value is not a number in [0, 1).
    """
    return setting(DISCOUNT_ENV, None if value in (None, "") else str(value))
