"""What validation costs: the share of a run's time spent in suites and checks.

``python bench/validation_cost.py --customers 2000 --out /tmp/cost`` generates a data set,
runs the full job twice (a first load, then a run with nothing new), and prints what share of
each run validation took. Validation time = the check steps (batch selection in DuckDB, GX,
Data Docs) plus the landed suites run inside the ingestion steps (from the run log).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

from pipeline.validation.log import read_log


def validation_cost(instance, data_dir: Path, run_id: str) -> dict[str, float]:
    """Seconds of the run, of its check steps and of its landed suites, and their share."""
    stats = instance.get_run_stats(run_id)
    total = (stats.end_time or time.time()) - stats.start_time
    steps = {
        s.step_key: (s.end_time or 0) - (s.start_time or 0)
        for s in instance.get_run_step_stats(run_id)
        if s.step_key.endswith("_expectations")
    }
    checks = sum(steps.values())
    outcomes = read_log(data_dir, run_id)
    landed = sum(o.seconds for o in outcomes if o.stage == "landed")
    return {
        **{f"step {k}": round(v, 1) for k, v in sorted(steps.items())},
        "suite_runs": sum(o.stage != "landed" for o in outcomes),
        "run_seconds": round(total, 1),
        "check_seconds": round(checks, 1),
        "landed_seconds": round(landed, 1),
        "validation_share": round((checks + landed) / total, 3) if total else 0.0,
        "landed_files": sum(o.stage == "landed" for o in outcomes),
        "rows_validated": sum(o.rows for o in outcomes),
    }


def main(argv: list[str] | None = None) -> int:
    """Generate, run once, print the cost report."""
    parser = argparse.ArgumentParser(prog="python bench/validation_cost.py")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--as-of", default="2026-10-31")
    parser.add_argument("--out", required=True, help="data directory (emptied first)")
    args = parser.parse_args(argv)

    import dagster as dg

    from pipeline.config import Settings
    from pipeline.definitions import build_definitions
    from pipeline.sample_data.generate import generate

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    os.environ["PIPELINE_DATA_DIR"] = str(out)
    os.environ["PIPELINE_AS_OF"] = args.as_of
    rows = generate(out, args.customers, 42, dt.date.fromisoformat(args.as_of))
    Settings.resolve()  # refuse a bad configuration before the runs
    instance = dg.DagsterInstance.ephemeral()
    job = build_definitions().resolve_implicit_global_asset_job_def()
    print(f"customers {args.customers:,}, rows generated {sum(rows.values()):,}")
    ok = True
    for label in ("first load", "nothing new"):
        run_id = str(uuid.uuid4())
        cpu = time.process_time()  # the machine may be loaded: CPU time compares better
        result = job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)
        cpu = time.process_time() - cpu
        ok = ok and result.success
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{label}: {'succeeded' if result.success else 'FAILED'} (load average {load})")
        for key, value in validation_cost(instance, out, run_id).items():
            print(f"  {key}: {value}")
        print(f"  process_cpu_seconds: {cpu:.1f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
