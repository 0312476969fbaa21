"""Months of nightly runs on one data directory: what grows, and how fast.

Generates seeded sample exports (``--customers``, as taken at the end of ``--start``), runs
``python -m pipeline run`` on them, then for each of ``--days`` days writes one small delivery
per entity (``bench/increment.py``: about ``--fraction`` of the rows, new records dated that day
and newer versions of old ones) and runs the pipeline again with PIPELINE_AS_OF on that day, as
a nightly cron does. After each run it records, as one JSON line in ``<out>/days.jsonl``:

- the run's exit status, wall time and CPU (the process and its children);
- the size in bytes of every entry of the data directory and of ``dagster_home`` (a folder's
  size is the sum of its files', counted once per inode; the count of files with it), and the
  warehouse's own figures: the file, its WAL, DuckDB's used and free blocks;
- the rows landed so far (the ingest ledger's sum), so that growth can be set against the data.

At each of ``--checkpoints`` days it copies ``serving/marts.duckdb`` into ``<out>/marts_<day>``,
so that ``--compare`` can later build every file delivered up to that day at once in a fresh
data directory and compare the marts (and the warehouse's size with the one kept day by day).
The run can be stopped and started again: days already in ``days.jsonl`` are skipped.

    .venv/bin/python bench/months.py /work/months --customers 2000 --days 90
    .venv/bin/python bench/months.py /work/months --compare     # after the days
    .venv/bin/python bench/months.py /work/months --table       # the growth table (Markdown)

Figures from a run are in docs/performance.md ("Months of nightly runs").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
from increment import write_increment
from measure import pipeline_env, run_measured, say

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# Rounded doubles and columns that say when a run happened, not what it found.
RUN_TIME = {("prediction_model", "fitted_at")}


def tree_size(path: Path) -> tuple[int, int]:
    """Bytes and files under ``path`` (a file: itself), each inode counted once, links not
    followed."""
    if path.is_symlink():
        return 0, 0
    if path.is_file():
        return path.stat().st_size, 1
    seen: set[int] = set()
    total = files = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            p = Path(root) / name
            try:
                st = p.lstat()
            except FileNotFoundError:
                continue
            if p.is_symlink() or st.st_ino in seen:
                continue
            seen.add(st.st_ino)
            total += st.st_size
            files += 1
    return total, files


def sizes(data_dir: Path) -> dict[str, list[int]]:
    """Entry → [bytes, files] for the data directory's entries and dagster_home's, and the
    parts of serving/ (the Parquet sets counted, not only summed)."""
    out: dict[str, list[int]] = {}
    for entry in sorted(data_dir.iterdir()):
        if entry.name == "dagster_home":
            continue
        out[entry.name] = list(tree_size(entry))
    home = data_dir / "dagster_home"
    for entry in sorted(home.iterdir()) if home.exists() else []:
        out[f"dagster_home/{entry.name}"] = list(tree_size(entry))
        if entry.is_dir():
            for sub in sorted(entry.iterdir()):
                out[f"dagster_home/{entry.name}/{sub.name}"] = list(tree_size(sub))
    serving = data_dir / "serving"
    for entry in sorted(serving.iterdir()) if serving.exists() else []:
        out[f"serving/{entry.name}"] = list(tree_size(entry))
    versions = serving / "parquet_versions"
    if versions.exists():
        out["serving/parquet_versions (sets)"] = [len(list(versions.iterdir())), 0]
    docs = data_dir / "docs"
    for entry in sorted(docs.iterdir()) if docs.exists() else []:
        out[f"docs/{entry.name}"] = list(tree_size(entry))
    return out


def warehouse_figures(data_dir: Path) -> dict[str, object]:
    """DuckDB's own view of the warehouse (blocks used and free) and the rows landed so far."""
    path = data_dir / "warehouse.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        size = con.execute("pragma database_size").fetchall()
        cols = [d[0] for d in con.execute("pragma database_size").description]
        landed = con.execute("select sum(rows_landed) from meta.ingest_ledger").fetchall()[0][0]
        tables = con.execute(
            "select count(*), sum(estimated_size) from duckdb_tables() "
            "where database_name = 'warehouse'"
        ).fetchall()[0]
    info = dict(zip(cols, size[0], strict=True))
    return {
        "block_size": info.get("block_size"),
        "total_blocks": info.get("total_blocks"),
        "used_blocks": info.get("used_blocks"),
        "free_blocks": info.get("free_blocks"),
        "rows_landed": int(landed or 0),
        "tables": int(tables[0]),
        "table_rows": int(tables[1] or 0),
    }


def one_run(data_dir: Path, day: dt.date, out: Path, label: str) -> dict[str, object]:
    """Run the pipeline as of ``day`` and measure it; exit statuses 0 and 3 are a run done."""
    proc = run_measured(
        [sys.executable, "-m", "pipeline", "run"],
        env=pipeline_env(data_dir, day),
        log_path=out / "logs" / f"run_{label}.log",
        cwd=REPO_ROOT,
    )
    return {
        "day": day.isoformat(),
        "status": proc.returncode,
        "wall_seconds": round(proc.wall_seconds, 2),
        "cpu_seconds": round(proc.cpu_seconds, 2),
        "peak_rss": proc.peak_rss,
        "load": round(os.getloadavg()[0], 2),
    }


def simulate(args: argparse.Namespace) -> None:
    """Generate, build, then one delivery and one run per day; one JSON line per run."""
    out: Path = args.out
    data_dir = out / "data"
    (out / "logs").mkdir(parents=True, exist_ok=True)
    record = out / "days.jsonl"
    done = (
        {json.loads(line)["day"] for line in record.read_text().splitlines()}
        if (record.exists())
        else set()
    )
    start = dt.date.fromisoformat(args.start)
    if not data_dir.exists():
        subprocess.run(
            [sys.executable, "-m", "pipeline", "generate", "--out", str(data_dir),
             "--customers", str(args.customers), "--seed", "7", "--as-of", args.start],
            check=True, cwd=REPO_ROOT,
        )  # fmt: skip
    checkpoints = {int(x) for x in args.checkpoints.split(",") if x}
    for n in range(0, args.days + 1):
        day = start + dt.timedelta(days=n)
        if day.isoformat() in done:
            continue
        if n:
            write_increment(data_dir / "landing", day, args.fraction)
        result = one_run(data_dir, day, out, f"{n:03d}")
        result["n"] = n
        result["sizes"] = sizes(data_dir)
        result["warehouse"] = warehouse_figures(data_dir)
        with record.open("a") as f:
            f.write(json.dumps(result) + "\n")
        say(
            f"day {n} ({day}): status {result['status']}, {result['wall_seconds']} s wall, "
            f"{result['cpu_seconds']} s CPU, warehouse "
            f"{result['sizes'].get('warehouse.duckdb', [0])[0] / 2**20:.1f} MiB"
        )
        if result["status"] not in (0, 3):
            raise SystemExit(f"the run of day {n} failed; see {out}/logs/run_{n:03d}.log")
        if n in checkpoints:
            shutil.copy2(data_dir / "serving" / "marts.duckdb", out / f"marts_{n:03d}.duckdb")


def compare(args: argparse.Namespace) -> None:
    """For each kept checkpoint: one build of every file delivered up to that day, compared
    with the marts kept day by day; one JSON line per checkpoint in ``compare.jsonl``."""
    out: Path = args.out
    start = dt.date.fromisoformat(args.start)
    landing = out / "data" / "landing"
    record = out / "compare.jsonl"
    done = (
        {json.loads(line)["n"] for line in record.read_text().splitlines()}
        if (record.exists())
        else set()
    )
    for kept in sorted(out.glob("marts_[0-9][0-9][0-9].duckdb")):
        n = int(kept.stem.split("_")[1])
        if n in done:
            continue
        day = start + dt.timedelta(days=n)
        fresh = out / f"fresh_{n:03d}"
        if fresh.exists():
            shutil.rmtree(fresh)
        for src in landing.rglob("*"):
            if not src.is_file():
                continue
            stamp = src.stem.rsplit("_", 1)[-1]
            if "_increment_" in src.name and stamp > f"{day:%Y%m%d}":
                continue
            target = fresh / "landing" / src.relative_to(landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
        result = one_run(fresh, day, out, f"fresh_{n:03d}")
        result["n"] = n
        result["sizes"] = sizes(fresh)
        result["differences"] = mart_differences(kept, fresh / "serving" / "marts.duckdb")
        with record.open("a") as f:
            f.write(json.dumps(result) + "\n")
        say(f"checkpoint {n}: {result['differences'] or 'the same marts'}")


def mart_differences(kept: Path, fresh: Path) -> dict[str, int]:
    """Mart → rows in one and not the other (both ways, doubles rounded to 9 decimals)."""
    diffs: dict[str, int] = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{kept}' as a (read_only)")
        con.execute(f"attach '{fresh}' as b (read_only)")
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'a' and table_schema = 'main' order by 1"
            ).fetchall()
        ]
        for mart in marts:
            if mart == "publication":
                continue
            cols = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = 'a' and table_name = ? order by ordinal_position",
                [mart],
            ).fetchall()
            exprs = ", ".join(
                f"round({c}, 9)" if t in ("DOUBLE", "FLOAT") else c
                for c, t in cols
                if (mart, c) not in RUN_TIME
            )
            n = con.execute(
                f"select (select count(*) from (select {exprs} from a.{mart} except all "
                f"select {exprs} from b.{mart})) + (select count(*) from (select {exprs} "
                f"from b.{mart} except all select {exprs} from a.{mart}))"
            ).fetchall()[0][0]
            if n:
                diffs[mart] = int(n)
    return diffs


def table(args: argparse.Namespace) -> None:
    """Print the growth table of ``days.jsonl`` (every ``--every`` days) in Markdown."""
    days = [json.loads(line) for line in (args.out / "days.jsonl").read_text().splitlines()]
    # One row per part, not per run: each run's captured-output folder has its own entry.
    keys = sorted(
        {k for d in days for k in d["sizes"] if not k.startswith("dagster_home/storage/")}
    )
    shown = [d for d in days if d["n"] % args.every == 0 or d is days[-1]]
    print("| part | " + " | ".join(f"day {d['n']}" for d in shown) + " |")
    print("|---|" + "---:|" * len(shown))
    for label, get in (
        ("rows landed", lambda d: d["warehouse"]["rows_landed"]),
        ("wall s", lambda d: d["wall_seconds"]),
        ("CPU s", lambda d: d["cpu_seconds"]),
    ):
        print(f"| {label} | " + " | ".join(f"{get(d)}" for d in shown) + " |")
    for k in keys:
        vals = [d["sizes"].get(k, [0, 0]) for d in shown]
        if not any(v[0] or v[1] for v in vals):
            continue
        cells = " | ".join(f"{v[0] / 1024:.0f} KiB / {v[1]}" for v in vals)
        print(f"| {k} | {cells} |")


def main() -> None:
    """Parse the arguments and simulate, compare or print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the data directory and the records")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--start", default="2026-06-01", help="the generated history's last day")
    parser.add_argument("--fraction", type=float, default=0.01, help="a day's share of the rows")
    parser.add_argument("--checkpoints", default="10,30,60,90")
    parser.add_argument("--compare", action="store_true", help="compare the checkpoints")
    parser.add_argument("--table", action="store_true", help="print the growth table")
    parser.add_argument("--every", type=int, default=10, help="the table's days apart")
    args = parser.parse_args()
    args.out = args.out.resolve()
    if args.table:
        table(args)
    elif args.compare:
        compare(args)
    else:
        simulate(args)


if __name__ == "__main__":
    main()
