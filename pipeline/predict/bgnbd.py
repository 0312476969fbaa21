"""The BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").

Inputs per customer: x repeat purchases (frequency), t_x the time of the last one and T the
time since the first purchase, both in weeks from the first purchase. Equation numbers are
the paper's. The likelihood is summed over distinct (x, t_x, T) triples weighted by how many
customers share each, so a fit over a million customers costs a few thousand terms.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1

from pipeline.predict.fit import Fit, maximise

PARAMETERS = ("r", "alpha", "a", "b")


def by_frequency(x: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct x and the total weight of each (sorting once, not on every step)."""
    xs, where = np.unique(x, return_inverse=True)
    return xs, np.bincount(where, weights=weight, minlength=len(xs))


def value_and_gradient(
    params: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    weight: np.ndarray,
    grouped: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray]:
    """Σ weight · ln L(r, α, a, b | x, t_x, T), eq. 6 as ln A1 + ln A2 + ln(A3 + δ A4), and its
    gradient ∂/∂(r, α, a, b) (digamma for the gamma functions), in one pass.

    ln A1 + ln A2 depend on x alone, so they (and their digammas) are summed over the few
    distinct x with the weights totalled; only ln(A3 + δA4) is evaluated per triple.
    """
    r, alpha, a, b = params
    xs, wx = grouped if grouped is not None else by_frequency(x, weight)
    ln_a12 = (
        gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + gammaln(b + xs) - gammaln(b) - gammaln(a + b + xs)
    )  # fmt: skip
    common = digamma(a + b) - digamma(a + b + xs)
    per_x = (
        digamma(r + xs) - digamma(r) + np.log(alpha),
        np.full_like(xs, r / alpha),
        common,
        common + digamma(b + xs) - digamma(b),
    )
    log_T, log_tx = np.log(alpha + T), np.log(alpha + t_x)
    ln_a3 = -(r + x) * log_T
    repeat = x > 0
    # δ A4 is zero for x = 0; b + x − 1 may be ≤ 0 there, so it is computed for repeaters only.
    b_x = np.where(repeat, b + x - 1, 1.0)
    ln_a4 = np.where(repeat, np.log(a) - np.log(b_x) - (r + x) * log_tx, -np.inf)
    ln_a34 = np.logaddexp(ln_a3, ln_a4)  # ln(A3 + δA4) without overflow
    w3, w4 = np.exp(ln_a3 - ln_a34), np.exp(ln_a4 - ln_a34)  # shares of A3 and δA4
    per_triple = (
        -w3 * log_T - w4 * log_tx,
        -(r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x)),
        w4 / a,
        -w4 / b_x,
    )
    value = float(wx @ ln_a12 + weight @ ln_a34)
    grad = np.array([wx @ px + weight @ pt for px, pt in zip(per_x, per_triple, strict=True)])
    return value, grad


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray) -> Fit:
    """Maximum-likelihood r, α, a, b from aggregated triples (weight = customers per triple)."""
    x, t_x, T, weight = (np.asarray(v, dtype=float) for v in (x, t_x, T, weight))
    grouped = by_frequency(x, weight)

    def negative(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            value, grad = value_and_gradient(params, x, t_x, T, weight, grouped)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return 1e300, np.zeros(4)
        return -value, -grad * params  # chain rule: ∂/∂ln θ = θ ∂/∂θ

    return maximise(negative, PARAMETERS, np.array([1.0, 1.0, 1.0, 1.0]), int(weight.sum()))


def _alive_odds(params: dict[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray):
    """δ · a/(b + x − 1) · ((α + T)/(α + t_x))^(r + x): the odds of having dropped out."""
    r, alpha, a, b = (params[n] for n in PARAMETERS)
    repeat = x > 0
    safe_x = np.where(repeat, x, 1.0)
    log_odds = (
        np.log(a)
        - np.log(b + safe_x - 1)
        + (r + safe_x) * (np.log(alpha + T) - np.log(alpha + t_x))
    )
    return np.where(repeat, np.exp(log_odds), 0.0)


def p_alive(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """P(still active at T | x, t_x, T) = 1 / (1 + δ a/(b+x−1) ((α+T)/(α+t_x))^(r+x))."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return 1.0 / (1.0 + _alive_odds(params, x, t_x, T))


def expected_purchases(params: dict[str, float], t: float, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next t weeks (eq. 10)."""
    r, alpha, a, b = (params[n] for n in PARAMETERS)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    z = t / (alpha + T + t)
    head = (a + b + x - 1) / (a - 1)
    tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return head * tail / (1.0 + _alive_odds(params, x, t_x, T))
