"""``make bench``: time the whole pipeline at several scales against a plain-DuckDB yardstick.

Per scale: generate seeded sample exports, run ``python -m pipeline run`` as a user does
(measuring wall time, peak memory and Dagster's per-step times), build the same marts with the
yardstick (``bench/yardstick.py``) and check they are equal, then deliver one more day (about
``--increment`` of the volume) and time the incremental run. Writes ``BENCHMARKS.md`` and
``<out>/results.json``; ``--from-json`` re-renders the report from an earlier results file.

    .venv/bin/python bench/run.py --scales 10000,100000 --months 12 --email-per-month 10
    .venv/bin/python bench/run.py --engine spark --scales 100000   # Spark against DuckDB
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from measure import pipeline_env, say  # bench/ is a folder of scripts: its siblings import by name
from report import DEFAULT_SCALES

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_AS_OF = "2026-10-31"


def _load() -> float:
    return os.getloadavg()[0]


def pipeline_run(data_dir: Path, as_of: dt.date, label: str, out: Path) -> dict:
    """Run ``python -m pipeline run`` on ``data_dir`` and measure it; the result as a dict."""
    from measure import landed_suite_seconds, read_run, run_measured

    load_before = _load()
    proc = run_measured(
        [sys.executable, "-m", "pipeline", "run"],
        env=pipeline_env(data_dir, as_of),
        log_path=out / f"pipeline_{label}.log",
        echo=lambda line: print(f"      | {line}", flush=True),
        cwd=REPO_ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the pipeline failed ({label}); see {proc.log}")
    timing = read_run(data_dir / "dagster_home")
    process_start = timing.run_start - proc.started_at
    return {
        "wall_seconds": proc.wall_seconds,
        "process_start_seconds": process_start,
        "run_seconds": timing.run_seconds,
        "after_run_seconds": proc.ended_at - timing.run_end,
        "measured_seconds": proc.wall_seconds - process_start,
        "cpu_seconds": proc.cpu_seconds,
        "between_steps_seconds": timing.between_steps,
        "stages": timing.stage_seconds(),
        "landed_suite_seconds": landed_suite_seconds(data_dir, timing.run_id),
        "steps": {s.step: s.seconds for s in timing.steps},
        "step_stage": {s.step: s.stage for s in timing.steps},
        "step_peak_rss": {s.step: proc.peak_between(s.start, s.end) for s in timing.steps},
        "assets": timing.asset_seconds(),
        "peak_rss": proc.peak_rss,
        "peak_rss_tree_sampled": proc.peak_rss_tree,
        "max_rss_wait4": proc.max_rss,
        "load_before": load_before,
        "load_after": _load(),
        "run_id": timing.run_id,
    }


def yardstick_run(data_dir: Path, as_of: dt.date, label: str, out: Path) -> dict:
    """Run ``bench/yardstick.py`` in its own process and measure it; the result as a dict."""
    from measure import run_measured

    db = data_dir / "yardstick.duckdb"
    report = out / f"yardstick_{label}.json"
    load_before = _load()
    proc = run_measured(
        [
            sys.executable,
            str(BENCH_DIR / "yardstick.py"),
            str(data_dir),
            str(db),
            "--as-of",
            as_of.isoformat(),
            "--json",
            str(report),
            "--script",
            str(out / "yardstick.sql"),
        ],
        env=pipeline_env(data_dir, as_of),
        log_path=out / f"yardstick_{label}.log",
        echo=lambda line: print(f"      | {line}", flush=True),
        cwd=REPO_ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the yardstick failed ({label}); see {proc.log}")
    data = json.loads(report.read_text(encoding="utf-8"))
    steps = data["steps"]
    return {
        "seconds": data["total_seconds"],
        "wall_seconds": proc.wall_seconds,
        "cpu_seconds": proc.cpu_seconds,
        "load_seconds": sum(s["seconds"] for s in steps if s["kind"] in ("load", "setup")),
        "sql_seconds": sum(s["seconds"] for s in steps if s["kind"] == "sql"),
        "sentiment_seconds": sum(s["seconds"] for s in steps if s["kind"] == "sentiment"),
        "models": {s["label"]: s["seconds"] for s in steps if s["kind"] in ("sql", "sentiment")},
        "skipped_files": data["skipped_files"],
        "peak_rss": proc.peak_rss,
        "load_before": load_before,
        "load_after": _load(),
    }


def raw_rows(db: Path) -> dict[str, int]:
    """Rows per raw table in the yardstick's file (= rows in the canonical files)."""
    import duckdb

    from pipeline.entities import ENTITIES
    from pipeline.warehouse import scalar

    with duckdb.connect(str(db), read_only=True) as con:
        return {
            name: int(scalar(con, f"select count(*) from raw.{e.raw_table}"))
            for name, e in ENTITIES.items()
        }


def compare(data_dir: Path) -> list[dict]:
    """The marts of the pipeline and the yardstick, compared (see bench/compare.py)."""
    from compare import compare_marts

    found = compare_marts(data_dir / "warehouse.duckdb", data_dir / "yardstick.duckdb")
    return [{**asdict(c), "equal": c.equal} for c in found]


def bench_scale(customers: int, args: argparse.Namespace, out: Path) -> dict:
    """Generate, build, compare and increment at one scale; the measurements as a dict."""
    from increment import write_increment
    from yardstick import remove_vendor_files

    from pipeline.sample_data.generate import generate

    as_of = dt.date.fromisoformat(args.as_of)
    data_dir = out / f"data_{customers}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    result: dict = {"customers": customers}

    say(f"{customers:,} customers: generating {args.months} months of exports …")
    started = time.perf_counter()
    generate(
        data_dir,
        customers=customers,
        seed=args.seed,
        as_of=as_of,
        months=args.months,
        email_events_per_month=args.email_per_month,
        progress=lambda msg: say(f"  generate: {msg}"),
    )
    result["generate_seconds"] = time.perf_counter() - started
    removed = remove_vendor_files(data_dir / "landing")
    result["vendor_samples_removed"] = [str(p.relative_to(data_dir)) for p in removed]
    result["landing_bytes"] = sum(p.stat().st_size for p in (data_dir / "landing").rglob("*.csv"))

    say(f"{customers:,}: full build with `python -m pipeline run` …")
    result["full"] = pipeline_run(data_dir, as_of, f"{customers}_full", out)
    say(f"{customers:,}: full build took {result['full']['wall_seconds']:.1f} s")
    say(f"{customers:,}: yardstick …")
    result["yardstick"] = yardstick_run(data_dir, as_of, f"{customers}_full", out)
    result["input_rows"] = raw_rows(data_dir / "yardstick.duckdb")
    result["compare"] = compare(data_dir)
    same = all(c["equal"] for c in result["compare"])
    say(f"{customers:,}: yardstick {result['yardstick']['seconds']:.1f} s; marts equal: {same}")

    if args.increment > 0:
        day = as_of + dt.timedelta(days=1)
        say(f"{customers:,}: one more day ({day}) of deliveries, {args.increment:.0%} …")
        result["increment_rows"] = write_increment(data_dir / "landing", day, args.increment)
        result["increment"] = pipeline_run(data_dir, day, f"{customers}_increment", out)
        say(f"{customers:,}: incremental run took {result['increment']['wall_seconds']:.1f} s")
        if args.verify_increment:
            say(f"{customers:,}: yardstick over everything delivered, as of {day} …")
            result["increment_yardstick"] = yardstick_run(
                data_dir, day, f"{customers}_increment", out
            )
            result["increment_compare"] = compare(data_dir)
    if args.delivery:
        # The fixed cost of a run: one file of 100 orders within the day (bench/delivery.py).
        from delivery import bench_delivery

        day = as_of + dt.timedelta(days=1 if args.increment > 0 else 0)
        say(f"{customers:,}: one file of 100 orders delivered, as of {day} …")
        result["delivery"] = bench_delivery(
            data_dir,
            day,
            f"{customers}_delivery",
            lambda d, a, label: pipeline_run(d, a, label, out),
            pipeline_env(data_dir, day),
            REPO_ROOT,
            after_increment=args.increment > 0,
        )
        say(f"{customers:,}: delivery run took {result['delivery']['wall_seconds']:.1f} s")
        # The same delivery to a warm worker (`python -m pipeline watch`), other keys.
        from delivery import bench_watched_delivery

        say(f"{customers:,}: one more file of 100 orders, to `python -m pipeline watch` …")
        result["delivery_watch"] = bench_watched_delivery(
            data_dir,
            day,
            pipeline_env(data_dir, day),
            REPO_ROOT,
            out / f"pipeline_{customers}_watch.log",
        )
        w = result["delivery_watch"]
        say(f"{customers:,}: watched delivery's run took {w['measured_seconds']:.1f} s")
    if args.profile and customers == min(args.scales):
        result["profile"] = profile_run(data_dir, as_of, out, customers)
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def profile_run(data_dir: Path, as_of: dt.date, out: Path, customers: int) -> str:
    """A second full build under cProfile (on a copy of the landing files); the stats file."""
    from measure import run_measured

    prof_dir = out / f"profile_{customers}"
    shutil.rmtree(prof_dir, ignore_errors=True)
    shutil.copytree(data_dir / "landing", prof_dir / "landing", copy_function=os.link)
    for path in (prof_dir / "landing").rglob("*_increment_*"):
        path.unlink()
    stats = out / f"profile_{customers}.pstats"
    say(f"{customers:,}: profiling a full build under cProfile …")
    run_measured(
        [sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "pipeline", "run"],
        env=pipeline_env(prof_dir, as_of),
        log_path=out / f"profile_{customers}.log",
        cwd=REPO_ROOT,
    )
    import pstats

    with (out / f"profile_{customers}.txt").open("w", encoding="utf-8") as fh:
        p = pstats.Stats(str(stats), stream=fh)
        p.sort_stats("cumulative").print_stats(60)
        p.sort_stats("tottime").print_stats(40)
    shutil.rmtree(prof_dir, ignore_errors=True)
    return str(out / f"profile_{customers}.txt")


def code_version() -> str:
    """The commit benchmarked, and how many files differ from it (read-only git calls)."""
    import subprocess

    def git(*cmd: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO_ROOT), *cmd], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD")
    if not head:
        return "unknown (not a git checkout)"
    changed = len([line for line in git("status", "--porcelain").splitlines() if line])
    return head + (f" + {changed} uncommitted files" if changed else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__.splitlines()[0], epilog="See BENCHMARKS.md."
    )
    parser.add_argument(
        "--scales",
        default=DEFAULT_SCALES,
        help=f"customers per scale, comma-separated (default {DEFAULT_SCALES}, about 8 min on "
        "2 cores; 1000000 writes about 9 GB of CSV and takes about 40 min more, see "
        "docs/performance.md)",
    )
    parser.add_argument("--months", type=int, default=12, help="months of history (default 12)")
    parser.add_argument(
        "--email-per-month",
        type=float,
        default=10.0,
        help="e-mail events per subscriber per month (default 10; the generator's campaign "
        "calendar caps it at about 10)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default=DEFAULT_AS_OF, help=f"default {DEFAULT_AS_OF}")
    parser.add_argument(
        "--increment",
        type=float,
        default=0.01,
        help="size of the extra day as a share of each entity's rows (default 0.01; 0 = skip)",
    )
    parser.add_argument(
        "--no-verify-increment",
        dest="verify_increment",
        action="store_false",
        help="skip the yardstick check after the incremental run",
    )
    parser.add_argument(
        "--no-delivery",
        dest="delivery",
        action="store_false",
        help="skip the run after one small delivery (one file of 100 orders)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile a build at the smallest scale"
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench_out", help="work folder")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--report", type=Path, default=REPO_ROOT / "BENCHMARKS.md")
    parser.add_argument("--from-json", type=Path, help="only re-render the report from this file")
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="spark: run the pipeline on both engines over the same data and compare them "
        "(bench/spark.py; docs/scale-out.md) instead of the DuckDB report",
    )
    args = parser.parse_args(argv)
    args.scales = sorted(int(s.replace("_", "")) for s in args.scales.split(",") if s.strip())
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the report."""
    args = parse_args(argv)
    sys.path.insert(1, str(REPO_ROOT))  # this tree's pipeline, as the subprocesses get it
    from measure import run_scales
    from report import render

    if args.engine == "spark":
        import spark

        return spark.main(args)
    if args.from_json:
        results = json.loads(args.from_json.read_text(encoding="utf-8"))
    else:
        out = args.out.resolve()
        out.mkdir(parents=True, exist_ok=True)
        results = run_scales(
            args.scales,
            lambda customers: bench_scale(customers, args, out),
            out / "results.json",
            {
                "scales": args.scales,
                "months": args.months,
                "email_per_month": args.email_per_month,
                "seed": args.seed,
                "as_of": args.as_of,
                "increment": args.increment,
            },
            code=code_version(),
        )
    args.report.write_text(render(results), encoding="utf-8")
    # The measurements behind the report sit beside it, so that it can be re-rendered and
    # checked (tests/test_bench_smoke.py) without running the benchmark again.
    args.report.with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    say(f"wrote {args.report} and {args.report.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
