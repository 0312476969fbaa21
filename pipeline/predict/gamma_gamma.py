"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, JMR 42(4); Fader & Hardie 2013 note).

A customer's purchase values are gamma(p, ν) with ν ~ gamma(q, γ) across customers; the data
per repeat customer are x (repeat purchases) and m_x, the mean value of those x purchases.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from pipeline.predict.fit import Fit, maximise

PARAMETERS = ("p", "q", "gamma")


def value_and_gradient(
    params: np.ndarray,
    x: np.ndarray,
    m: np.ndarray,
    grouped: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray]:
    """Σ ln f(m_x | x; p, q, γ), the density of a customer's mean spend over x purchases, and
    its gradient ∂/∂(p, q, γ); the gamma functions of p x + q are taken once per distinct x
    (repeat counts are few), the rest per customer."""
    p, q, g = params
    xs, where = grouped if grouped is not None else np.unique(x, return_inverse=True)
    n = np.bincount(where, minlength=len(xs)).astype(float)
    pxs = p * xs
    log_total = np.log(g + x * m)
    log_m, log_x = np.log(m), np.log(x)
    per_x = gammaln(pxs + q) - gammaln(pxs) - gammaln(q) + q * np.log(g)
    value = n @ per_x + float(np.sum((p * x - 1) * log_m + p * x * log_x - (p * x + q) * log_total))
    psi_sum = digamma(pxs + q)[where]
    d_p = np.sum(x * (psi_sum - digamma(pxs)[where] + log_m + log_x - log_total))
    d_q = n @ (digamma(pxs + q) - digamma(q) + np.log(g)) - float(np.sum(log_total))
    d_g = len(x) * q / g - float(np.sum((p * x + q) / (g + x * m)))
    return float(value), np.array([d_p, d_q, d_g])


def fit(x: np.ndarray, m: np.ndarray) -> Fit:
    """Maximum-likelihood p, q, γ from repeat customers (x ≥ 1, m > 0)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    grouped = np.unique(x, return_inverse=True)  # sorted once, not on every step

    def negative(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            value, grad = value_and_gradient(params, x, m, grouped)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return 1e300, np.zeros(3)
        return -value, -grad * params  # ∂/∂ln θ = θ ∂/∂θ

    return maximise(negative, PARAMETERS, np.array([1.0, 1.0, 1.0]), len(x))


def expected_value(params: dict[str, float], x, m):
    """E[M | p, q, γ, m_x, x] = (γ + x m_x) p / (p x + q − 1): expected mean spend. ``x`` and
    ``m`` are numbers, arrays or polars expressions (customer_predictions passes its columns,
    so the formula tested by hand is the one the mart computes)."""
    p, q, g = (params[n] for n in PARAMETERS)
    return (g + x * m) * p / (p * x + q - 1)
