"""The holdout comparison's BG/NBD fit, kept between runs while its input is the same.

The holdout fit (``pipeline.predict.holdout``) reads only the purchases before the calibration
end, 13 weeks before as_of: a delivery within the day does not change them, yet the fit took
about half of the predictions step at 100k customers (docs/performance.md). The fit is a pure
function of the customers' (frequency, recency, age) counts, so it is looked up by a hash of
those counts and of the fitting code, and fitted only when they differ. One entry is kept.

The stored fit is returned exactly (JSON keeps every bit of a float). A fit afresh of the same
counts may differ in the 6th significant digit: the optimiser sums the counts in the order
polars' ``group_by`` returns them, which is not fixed, so the holdout figures already varied that
much from run to run; kept, they no longer do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import duckdb
import polars as pl

from pipeline.predict.fit import Fit
from pipeline.predict.model import fit_bg_nbd
from pipeline.predict.summary import triples
from pipeline.warehouse import rows, run

TABLE = "meta.holdout_fit"
_CODE = [Path(__file__).with_name(n) for n in ("bgnbd.py", "fit.py", "model.py", "summary.py")]


def fit_key(summary: pl.DataFrame) -> str:
    """A hash of what the BG/NBD fit reads from ``summary`` and of the code that fits it."""
    digest = hashlib.sha256()
    for path in _CODE:
        digest.update(path.read_bytes())
    grid = triples(summary) if summary.height else summary
    # Sorted: polars' group_by returns the groups in no fixed order.
    digest.update(grid.sort(grid.columns).write_csv().encode())
    return digest.hexdigest()


def cached_bg_nbd(
    con: duckdb.DuckDBPyConnection,
) -> Callable[[pl.DataFrame], tuple[Fit | None, str]]:
    """``fit_bg_nbd`` that returns the stored fit when its input is the one stored with it."""

    def fit(summary: pl.DataFrame) -> tuple[Fit | None, str]:
        key = fit_key(summary)
        run(con, "create schema if not exists meta")
        run(con, f"create table if not exists {TABLE} (key varchar, fit varchar, status varchar)")
        found = rows(con, f"select fit, status from {TABLE} where key = ?", [key])
        if found:
            stored, status = found[0]
            return (Fit(**json.loads(stored)) if stored else None), status
        fitted, status = fit_bg_nbd(summary)
        # json writes floats exactly (repr), so the stored fit gives the same figures.
        value = json.dumps(asdict(fitted)) if fitted is not None else None
        run(con, f"delete from {TABLE}")
        run(con, f"insert into {TABLE} values (?, ?, ?)", [key, value, status])
        return fitted, status

    return fit
