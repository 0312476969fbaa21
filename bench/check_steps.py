"""CPU of a delivery's check steps in a warm process, as ``python -m pipeline watch`` runs them.

``python bench/check_steps.py DATA_DIR [--repeat 5] [--profile out.prof]`` takes a data
directory whose last run was a delivery (e.g. a copy of a 100k build after one file of 100
orders), forgets that run's passes (``meta.validation_passes``) and moves its staging
watermarks back one delivery, so the same assets validate the same batches again; then it
times the check steps (staging, intermediate, predictions, marts: ``validate_assets`` of each
step's assets, as ``assets/checks.py`` calls it) after the watcher's warm-up (GX, its context,
every suite, GX's DuckDB metrics). Each repeat rewinds again. Writes the copy's warehouse:
never point it at data you want to keep as it is.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import resource
import time
import uuid
from pathlib import Path


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rewind(con) -> str:
    """Forget the last run's passes and move its staging watermarks back one delivery."""
    last = con.sql(
        "select run_id from meta.validation_passes order by validated_at desc limit 1"
    ).fetchall()[0][0]
    con.execute("delete from meta.validation_passes where run_id = ?", [last])
    con.execute(
        "update meta.validation_watermarks set last_delivery_seq = last_delivery_seq - 1 "
        "where run_id = ? and last_delivery_seq is not null",
        [last],
    )
    return last


def main() -> None:
    """Time (or profile) the check steps; prints one line per repeat."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the last repeat")
    args = parser.parse_args()
    os.environ["PIPELINE_DATA_DIR"] = str(args.data_dir)
    os.environ.setdefault("PIPELINE_AS_OF", "2026-11-01")
    os.environ.setdefault("PIPELINE_TIMEZONE", "UTC")

    from pipeline.config import Settings
    from pipeline.engine import discover_models
    from pipeline.predict.docs import PREDICTION_MARTS
    from pipeline.validation.gx_duckdb import register_duckdb_metrics
    from pipeline.validation.runner import _session
    from pipeline.validation.stages import suites_for, validate_assets
    from pipeline.validation.suites import read_suites
    from pipeline.warehouse import open_warehouse

    settings = Settings.resolve()
    session = _session()  # the watcher's warm-up (pipeline/cli/watch.py)
    suites = read_suites()
    for suite in suites.values():
        session.suite(suite)
    register_duckdb_metrics()
    steps: dict[str, list] = {}
    for model in discover_models():
        if mine := suites_for(model.name, model.layer, suites):
            steps.setdefault(model.layer, []).append((model.name, mine))
    steps["predictions"] = [(m, suites_for(m, "marts", suites)) for m in PREDICTION_MARTS]
    gc.collect()
    gc.freeze()  # as a run does (``pipeline.run_process.frozen_heap``)
    for i in range(args.repeat):
        with open_warehouse(settings.warehouse_path) as con:
            rewind(con)
            run_id = f"bench-{uuid.uuid4()}"
            profiler = cProfile.Profile() if args.profile and i == args.repeat - 1 else None
            cpu, wall = _cpu(), time.perf_counter()
            if profiler:
                profiler.enable()
            runs = 0
            for layer in ("staging", "intermediate", "predictions", "marts"):
                found = validate_assets(con, settings, steps.get(layer, []), run_id)
                runs += sum(len(r.outcomes) for r in found.values())
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
            cpu, wall = _cpu() - cpu, time.perf_counter() - wall
        print(f"repeat {i + 1}: cpu {cpu:.3f} s, wall {wall:.3f} s, {runs} suite outcomes")


if __name__ == "__main__":
    main()
