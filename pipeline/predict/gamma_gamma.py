"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, JMR 42(4); Fader & Hardie 2013 note).

A customer's purchase values are gamma(p, ν) with ν ~ gamma(q, γ) across customers; the data
per repeat customer are x (repeat purchases) and m_x, the mean value of those x purchases.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from pipeline.predict.fit import Fit, maximise

PARAMETERS = ("p", "q", "gamma")


def log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> float:
    """Σ ln f(m_x | x; p, q, γ), the density of a customer's mean spend over x purchases."""
    p, q, g = params
    px = p * x
    return float(
        np.sum(
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(g)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(g + x * m)
        )
    )


def gradient(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """∂/∂(p, q, γ) of :func:`log_likelihood`."""
    p, q, g = params
    px = p * x
    log_total = np.log(g + x * m)
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_total)
    d_q = digamma(px + q) - digamma(q) + np.log(g) - log_total
    d_g = q / g - (px + q) / (g + x * m)
    return np.array([np.sum(d) for d in (d_p, d_q, d_g)])


def fit(x: np.ndarray, m: np.ndarray) -> Fit:
    """Maximum-likelihood p, q, γ from repeat customers (x ≥ 1, m > 0)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)

    def negative(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value = -log_likelihood(params, x, m)
        if not np.isfinite(value):
            return 1e300, np.zeros(3)
        return value, -gradient(params, x, m) * params  # ∂/∂ln θ = θ ∂/∂θ

    return maximise(negative, PARAMETERS, np.array([1.0, 1.0, 1.0]), len(x))


def expected_value(params: dict[str, float], x, m) -> np.ndarray:
    """E[M | p, q, γ, m_x, x] = (γ + x m_x) p / (p x + q − 1): expected mean spend."""
    p, q, g = (params[n] for n in PARAMETERS)
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    return (g + x * m) * p / (p * x + q - 1)
