"""``bench/run.py --engine spark``: the Spark engine against DuckDB on the same generated data.

Per scale: generate seeded exports once, copy the landing folder (hard links), run
``python -m pipeline run`` once with ``PIPELINE_ENGINE=duckdb`` and once with
``PIPELINE_ENGINE=spark`` (``PIPELINE_SPARK_MASTER``, default ``local[*]``), each in its own data
directory, and compare the marts both warehouses hold (bench/compare.py). Writes
``<out>/spark_results.json`` and prints a markdown table for docs/scale-out.md; BENCHMARKS.md is
left alone (it is the DuckDB engine's report).

    .venv/bin/python bench/run.py --engine spark --scales 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
ENGINES = ("duckdb", "spark")


def _env(data_dir: Path, as_of: dt.date, engine: str) -> dict[str, str]:
    from measure import pipeline_env as base_env

    env = base_env(data_dir, as_of)
    env["PIPELINE_ENGINE"] = engine
    env.pop("PIPELINE_LAKE_DIR", None)  # each engine's run has its own data dir and lake
    return env


def engine_run(data_dir: Path, as_of: dt.date, engine: str, out: Path) -> dict:
    """One ``python -m pipeline run`` on ``engine``, measured: wall, stages and SQL steps."""
    from measure import read_run, run_measured, say

    proc = run_measured(
        [sys.executable, "-m", "pipeline", "run"],
        env=_env(data_dir, as_of, engine),
        log_path=out / f"pipeline_{engine}.log",
        echo=lambda line: print(f"      | {line}", flush=True),
        cwd=REPO_ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the pipeline failed on {engine}; see {proc.log}")
    timing = read_run(data_dir / "dagster_home")
    steps = {s.step: s.seconds for s in timing.steps}
    say(f"  {engine}: {proc.wall_seconds:.1f} s")
    return {
        "wall_seconds": proc.wall_seconds,
        "run_seconds": timing.run_seconds,
        "stages": timing.stage_seconds(),
        "sql_steps": {k: v for k, v in steps.items() if k.startswith("sql_")},
        "steps": steps,
        "peak_rss_tree": proc.peak_rss_tree,
        "cpu_seconds": proc.cpu_seconds,
        "load_before": os.getloadavg()[0],
    }


def lake_bytes(data_dir: Path) -> int:
    """Bytes of Parquet in the Spark run's lake."""
    return sum(p.stat().st_size for p in (data_dir / "lake").rglob("*.parquet"))


def bench_scale(customers: int, args: argparse.Namespace, out: Path) -> dict:
    """Generate once, run both engines, compare their marts; the measurements as a dict."""
    from compare import compare_marts
    from measure import say
    from yardstick import remove_vendor_files

    from pipeline.sample_data.generate import generate

    as_of = dt.date.fromisoformat(args.as_of)
    base = out / f"spark_{customers}"
    shutil.rmtree(base, ignore_errors=True)
    say(f"{customers:,} customers: generating {args.months} months of exports …")
    generate(
        base / "duckdb",
        customers=customers,
        seed=args.seed,
        as_of=as_of,
        months=args.months,
        email_events_per_month=args.email_per_month,
    )
    remove_vendor_files(base / "duckdb" / "landing")  # as make bench does
    shutil.copytree(base / "duckdb" / "landing", base / "spark" / "landing", copy_function=os.link)
    master = os.environ.get("PIPELINE_SPARK_MASTER") or "local[*]"
    result: dict = {"customers": customers, "master": master}
    for engine in ENGINES:
        say(f"{customers:,}: `python -m pipeline run` with PIPELINE_ENGINE={engine} …")
        result[engine] = engine_run(base / engine, as_of, engine, out)
    result["lake_bytes"] = lake_bytes(base / "spark")
    found = compare_marts(base / "duckdb" / "warehouse.duckdb", base / "spark" / "warehouse.duckdb")
    result["marts_equal"] = {c.mart: c.equal for c in found}
    say(f"{customers:,}: marts equal: {all(result['marts_equal'].values())}")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return result


def table(results: dict) -> str:
    """The measurements as the markdown table docs/scale-out.md quotes."""
    lines = []
    for r in results["scales"]:
        d, s = r["duckdb"], r["spark"]
        lines += [
            f"| {r['customers']:,} customers | DuckDB | Spark (local) |",
            "|---|---:|---:|",
            f"| full run, wall time of the process | {d['wall_seconds']:.1f} s "
            f"| {s['wall_seconds']:.1f} s |",
            f"| of which the SQL layers | {sum(d['sql_steps'].values()):.1f} s "
            f"| {sum(s['sql_steps'].values()):.1f} s |",
        ]
        for step in sorted(d["sql_steps"]):
            lines.append(
                f"| `{step}` | {d['sql_steps'][step]:.1f} s | {s['sql_steps'].get(step, 0):.1f} s |"
            )
        lines += [
            f"| validation steps | {d['stages'].get('validation', 0):.1f} s "
            f"| {s['stages'].get('validation', 0):.1f} s |",
            f"| marts equal | | {'yes' if all(r['marts_equal'].values()) else 'NO'} |",
            f"| lake (Parquet) | | {r['lake_bytes'] / 2**20:.0f} MiB |",
        ]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Run the engine comparison at ``args.scales``; called by bench/run.py."""
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    from measure import run_scales

    options = {
        "scales": args.scales,
        "months": args.months,
        "email_per_month": args.email_per_month,
        "seed": args.seed,
        "as_of": args.as_of,
    }
    results = run_scales(
        args.scales,
        lambda customers: bench_scale(customers, args, out),
        out / "spark_results.json",
        options,
    )
    print(table(results), flush=True)
    print(f"[{time.strftime('%H:%M:%S')}] wrote {out / 'spark_results.json'}", flush=True)
    return 0
