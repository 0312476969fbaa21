"""Where a delivery's serving, chart and prediction seconds go, in one warm process.

``python bench/serving_steps.py DATA_DIR SERVING_BEFORE [--rounds N] [--profile]``

DATA_DIR: a data directory whose warehouse holds the marts after a delivery (run the pipeline
once after ``bench/delivery.py``); SERVING_BEFORE: a copy of its ``serving/`` folder from before
that run. Each round copies SERVING_BEFORE to a scratch folder and publishes into it the way the
``serving_marts`` step does after a delivery (the marts whose rows did not change kept, named
with ``--keep``), then draws the retention charts from the new Parquet set, then fits and writes
the predictions and draws their two pictures (no picture stamps: always drawn). It prints the CPU
seconds (user + sys of the process, every DuckDB thread included) of each part, and of each SQL
statement kind inside serving, per round. A script with a report, not a timed test: one-off
figures on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import assets.publication as publication  # noqa: E402
import assets.serving as serving  # noqa: E402
import pipeline.warehouse as warehouse  # noqa: E402
from assets import charts  # noqa: E402
from pipeline.engine import mart_names  # noqa: E402
from pipeline.predict import build, holdout, model  # noqa: E402
from pipeline.predict import charts as predict_charts  # noqa: E402
from pipeline.predict.fit_cache import cached_bg_nbd  # noqa: E402

KEEP = ["email_monthly", "satisfaction_monthly", "social_language_monthly", "social_monthly"]
SPENT: dict[str, float] = defaultdict(float)
WALL: dict[str, float] = defaultdict(float)


def cpu() -> float:
    """User + system CPU seconds of this process (all threads)."""
    return time.process_time()


@contextmanager
def part(name: str) -> Iterator[None]:
    """Add the CPU seconds of the block to ``SPENT[name]``."""
    start, wall = cpu(), time.perf_counter()
    try:
        yield
    finally:
        SPENT[name] += cpu() - start
        WALL[name] += time.perf_counter() - wall


def _kind(sql: str) -> str:
    words = sql.split()
    head = " ".join(words[:2]).lower()
    if head.startswith("create table serving"):
        return "serving: create table " + words[2].split(".")[-1].strip('"')
    if head.startswith("copy ("):
        target = sql.split(" (format parquet")[0].rsplit(" to ", 1)[-1].strip().strip("'")
        return "serving: parquet " + Path(target).name
    if "regexp_matches" in sql:
        return "serving: personal-data scan"
    if head.startswith(("comment on", "comment")):
        return "serving: comments"
    return "serving: " + head


def timed(fn: Callable) -> Callable:
    """``fn`` (a pipeline.warehouse helper) adding its CPU seconds to its statement's kind."""

    def wrapper(con, sql, params=None):
        with part(_kind(sql)):
            return fn(con, sql, params)

    return wrapper


def instrument() -> None:
    """Time every statement serving and publication run, and the file copy."""
    for module in (serving, publication):
        for name in ("run", "rows", "scalar"):
            if hasattr(module, name):
                setattr(module, name, timed(getattr(warehouse, name)))
    copy = shutil.copyfile

    def copyfile(src, dst, *args, **kwargs):
        with part("serving: file copy"):
            return copy(src, dst, *args, **kwargs)

    serving.shutil.copyfile = copyfile  # type: ignore[attr-defined]
    fsync = serving._fsync

    def timed_fsync(path):
        with part("serving: fsync"):
            fsync(path)

    serving._fsync = timed_fsync


def serving_round(con, before: Path, scratch: Path, marts: list[str]) -> None:
    """Publish after a delivery into a fresh copy of the serving folder from before it."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(before, scratch, symlinks=True)
    with part("serving (all)"):
        staged = serving.stage_publication(con, scratch, marts, KEEP)
        with part("serving: swap"):
            serving.commit_publication(staged)


def charts_round(scratch: Path) -> None:
    """The retention charts from the scratch folder's Parquet set, drawn."""
    with part("charts (all)"):
        with part("charts: read"):
            con = duckdb.connect()
            folder = (scratch / serving.PARQUET_DIR).resolve()
            for mart in ("cohort_retention", "retention_monthly"):
                path = folder / f"{mart}.parquet"
                con.execute(f"create view {mart} as select * from read_parquet('{path}')")
            matrix = charts.cohort_matrix(con)
            curve = charts.retention_curve(con)
            con.close()
        with part("charts: heat map"):
            charts.draw_heatmap(matrix)
        # The curve is drawn only when its figures changed (one stamp per picture): after an
        # order in the open month it is kept, so it is timed apart.
        with part("charts: curve (kept after a delivery)"):
            charts.draw_curve(curve)


def predictions_round(con) -> None:
    """The predictions step's work piece by piece, as ``build_predictions`` and ``predict`` do
    it: read the purchase days, summarise, fit, score, write; the holdout; both pictures."""
    fitted_at = dt.datetime(2026, 11, 1, 12)
    discount = 0.01
    with part("predictions (all)"):
        with part("predictions: read purchase days"):
            as_of = build.settings_as_of(con)
            days = build.purchase_days(con)
        with part("predictions: customer summary"):
            summary = model.customer_summary(days, as_of)
        with part("predictions: fit BG/NBD"):
            bg, bg_status = model.fit_bg_nbd(summary)
        with part("predictions: fit Gamma-Gamma"):
            gg, gg_status = model.fit_gamma_gamma(summary)
        with part("predictions: score customers"):
            customers = model.customer_predictions(summary, bg, gg, discount)
            frame = model.model_rows(bg, gg, bg_status, gg_status, summary, as_of, fitted_at)
        with part("predictions: write marts"):
            prediction = model.Prediction(customers, frame, bg, gg, bg_status, gg_status)
            build.write_marts(con, prediction)
        start = as_of - dt.timedelta(weeks=13)
        with part("predictions: holdout (fit cached)"):
            table, _ = holdout.holdout_table(days, start, as_of, cached_bg_nbd(con))
        params = bg.params
        with part("predictions: p_alive picture"):
            max_frequency = int(customers["frequency"].quantile(0.99) or 0) + 1
            predict_charts.draw_p_alive(params, max_frequency, float(customers["age_weeks"].max()))
        with part("predictions: holdout picture"):
            predict_charts.draw_holdout(table, "holdout")


def main() -> None:
    """Run the rounds and print the CPU seconds of each part (median over rounds)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("serving_before", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the last round")
    parser.add_argument("--only", choices=["serving", "charts", "predictions"], nargs="*")
    args = parser.parse_args()
    only = set(args.only or ["serving", "charts", "predictions"])
    instrument()
    scratch = args.data_dir.parent / "serving_scratch"
    con = duckdb.connect(str(args.data_dir / "warehouse.duckdb"))
    warehouse.prepare(con)
    marts = mart_names()  # what serving publishes (a removed model's table may linger)
    # Warm-up: imports, matplotlib, the catalogue.
    serving_round(con, args.serving_before, scratch, marts)
    charts_round(scratch)
    predictions_round(con)
    per_round: list[dict[str, float]] = []
    walls: list[dict[str, float]] = []
    for i in range(args.rounds):
        SPENT.clear()
        WALL.clear()
        profiler = cProfile.Profile() if args.profile and i == args.rounds - 1 else None
        if profiler:
            profiler.enable()
        if "serving" in only or "charts" in only:
            serving_round(con, args.serving_before, scratch, marts)
        if "charts" in only:
            charts_round(scratch)
        if "predictions" in only:
            predictions_round(con)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        per_round.append(dict(SPENT))
        walls.append(dict(WALL))
    con.close()
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"{'CPU seconds (user + sys), then wall':55s}")
    for name in sorted({k for r in per_round for k in r}):
        values = sorted(r.get(name, 0.0) for r in per_round)
        wall = sorted(r.get(name, 0.0) for r in walls)
        shown = " ".join(f"{v:.3f}" for v in values)
        print(
            f"{name[:55]:55s} cpu {values[len(values) // 2]:.3f} ({shown}) "
            f"wall {wall[len(wall) // 2]:.3f}"
        )
    if args.profile:
        pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
