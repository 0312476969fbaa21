"""What a maximum-likelihood fit returns, shared by the BG/NBD and Gamma-Gamma models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeResult, minimize
from threadpoolctl import threadpool_limits

# L-BFGS-B's line search gives up ("ABNORMAL") when no step lowers the function any more, which
# at the optimum depends on the last bits of the input sums (their order varies with polars'
# grouping): the CDNOW Gamma-Gamma fit stopped so in 3 of 60 runs over the same purchases, at
# the published parameters, its gradient 2e-5 against a log-likelihood of 4,056 (a step of 1 %
# in any parameter would change it by 2e-7). Started again from there it stops again at once.
# Such a stop counts as converged when the gradient is this small relative to the function.
STALL_GRADIENT = 1e-7


@dataclass(frozen=True)
class Fit:
    """Fitted parameters (name → value), the maximised log-likelihood and whether it converged."""

    params: dict[str, float]
    log_likelihood: float
    customers: int
    converged: bool
    message: str


def stalled_at_optimum(result: OptimizeResult) -> bool:
    """Whether L-BFGS-B's line search gave up where the gradient is already negligible
    (:data:`STALL_GRADIENT` relative to the function): an optimum, not a failure."""
    if not str(result.message).startswith("ABNORMAL"):
        return False
    scale = max(1.0, abs(float(result.fun)))
    return bool(np.max(np.abs(result.jac)) <= STALL_GRADIENT * scale)


def maximise(
    negative_ll: Callable[[np.ndarray], tuple[float, np.ndarray]],
    names: tuple[str, ...],
    start: np.ndarray,
    customers: int,
) -> Fit:
    """Minimise ``negative_ll`` over log-parameters with L-BFGS-B (positivity for free).

    ``negative_ll`` returns the value and its gradient in the log-parameters: an analytic
    gradient costs one pass over the data per step where finite differences cost five.

    The bounds on the logs (e^-12 … e^12) keep the optimiser from running a parameter off to
    0 or infinity on degenerate data; a fit that ends on a bound is reported as not converged.
    """
    bound = 12.0
    # One BLAS thread: the fit's vectors are small (a few thousand triples, 4 parameters), and
    # OpenBLAS's threads cost more than they share out. At 100k customers one BG/NBD fit took
    # 1.0 s of CPU (5 s on a busy 2-core machine) with them and 0.06 s without
    # (docs/performance.md, "Serving and predictions").
    with threadpool_limits(limits=1, user_api="blas"):
        result = minimize(
            negative_ll,
            np.log(start),
            method="L-BFGS-B",
            jac=True,
            bounds=[(-bound, bound)] * len(start),
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-8},
        )
    on_bound = bool(np.any(np.abs(result.x) >= bound - 1e-6))
    finite = bool(np.isfinite(result.fun))
    converged = (bool(result.success) or stalled_at_optimum(result)) and finite and not on_bound
    message = str(result.message)
    if on_bound:
        message = "a parameter ran to the edge of its range (e^±12): the data do not identify it"
    elif not finite:
        message = "the log-likelihood is not finite at the optimum"
    values = np.exp(result.x)
    return Fit(
        params={n: float(v) for n, v in zip(names, values, strict=True)},
        log_likelihood=float(-result.fun),
        customers=customers,
        converged=converged,
        message=message,
    )
