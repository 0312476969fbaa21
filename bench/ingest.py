"""Ingestion benchmark: wall time and peak memory of landing one big delivery.

    python bench/ingest.py                    # UCI Online Retail + a 1 GB CSV
    python bench/ingest.py --gb 0.2 --skip-online-retail
    python bench/ingest.py --no-landed-suite  # without GX, to see what it costs

Each delivery is validated by its landed suite before it is inserted, as in a pipeline run
(``pipeline.validation.landed_validator``; Data Docs pages are not written).

Each case runs in a child process so that its peak resident memory (``ru_maxrss`` from
``wait4``) is its own. The generated CSV is written to a temporary folder and deleted after.
Prints a markdown table; nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.entities import ENTITIES

ROWS_PER_CHUNK = 1_000_000
ONLINE_RETAIL = Path(__file__).resolve().parents[2] / "shared/data/online_retail"


def write_orders_csv(path: Path, target_bytes: int, seed: int = 1) -> int:
    """Append chunks of canonical orders to ``path`` until it reaches ``target_bytes``."""
    rng = np.random.default_rng(seed)
    rows = 0
    with path.open("wb") as out:
        while out.tell() < target_bytes:
            n = ROWS_PER_CHUNK
            ids = np.arange(rows, rows + n)
            seconds = rng.integers(1_600_000_000, 1_730_000_000, n)
            chunk = pl.DataFrame(
                {
                    "order_id": [f"O{i:012d}" for i in ids],
                    "contact_id": [f"C{i:09d}" for i in rng.integers(0, 2_000_000, n)],
                    "email": None,
                    "ordered_at": pl.from_epoch(pl.Series(seconds), "s").dt.to_string(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                    "status": rng.choice(["completed", "pending", "cancelled", "refunded"], n),
                    "currency": "EUR",
                    "gross_amount": (rng.lognormal(4, 1, n)).round(2),
                    "discount_amount": 0.0,
                    "refund_amount": 0.0,
                    "updated_at": None,
                },
                schema_overrides={"email": pl.String, "updated_at": pl.String},
            )
            chunk.write_csv(out, include_header=rows == 0)
            rows += n
    return rows


def _child(data_dir: str, entity: str, suite: bool) -> None:
    """Run one ingestion (in the measured child process)."""
    from pipeline.config import Settings
    from pipeline.ingest.core import ingest_entity
    from pipeline.validation import landed_validator
    from pipeline.warehouse import open_warehouse, run

    settings = Settings.resolve(data_dir=data_dir)
    validator = landed_validator(settings, "ingest-benchmark") if suite else None
    with open_warehouse(settings.warehouse_path) as con:
        run(con, "set enable_progress_bar = false")
        for report in ingest_entity(con, settings, entity, validator=validator):
            print(report.summary(), flush=True)


def measure(data_dir: Path, entity: str, suite: bool = True) -> tuple[float, float, str]:
    """Seconds and peak RSS (MiB) of ingesting ``entity`` in a fresh process, and its log."""
    started = time.monotonic()
    command = [sys.executable, __file__, "--child", str(data_dir), entity]
    proc = subprocess.Popen(
        command + ([] if suite else ["--no-landed-suite"]),
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PIPELINE_DATA_DOCS": "off"},
    )
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"ingestion of {entity} failed:\n{output}")
    return time.monotonic() - started, usage.ru_maxrss / 1024, output.strip()


def main() -> None:
    """Run the cases and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="size of the generated CSV")
    parser.add_argument("--skip-online-retail", action="store_true")
    parser.add_argument(
        "--no-landed-suite", action="store_true", help="ingest without the landed suite (GX)"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    suite = not args.no_landed_suite
    if args.child:
        _child(*args.child, suite=suite)
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        # The floor: imports and an empty landing folder.
        results.append(
            ("nothing to land (baseline)", *measure(Path(tmp) / "empty", "orders", suite))
        )
        if not args.skip_online_retail and ONLINE_RETAIL.is_dir():
            data = Path(tmp) / "retail"
            folder = data / "landing" / ENTITIES["orders"].landing_path
            folder.mkdir(parents=True)
            shutil.copy(ONLINE_RETAIL / "online_retail.csv.gz", folder)
            results.append(
                ("UCI Online Retail (.csv.gz, 541,909 lines)", *measure(data, "orders", suite))
            )
        data = Path(tmp) / "big"
        folder = data / "landing" / ENTITIES["orders"].landing_path
        folder.mkdir(parents=True)
        csv = folder / "orders_big.csv"
        started = time.monotonic()
        rows = write_orders_csv(csv, int(args.gb * 1024**3))
        size = csv.stat().st_size / 1024**3
        print(f"wrote {rows:,} orders, {size:.2f} GiB in {time.monotonic() - started:.0f} s")
        results.append(
            (
                f"canonical orders CSV ({size:.2f} GiB, {rows:,} rows)",
                *measure(data, "orders", suite),
            )
        )
    print(f"\nlanded suite: {'on' if suite else 'off (--no-landed-suite)'}")
    print("\n| delivery | seconds | peak RSS (MiB) | result |\n|---|---:|---:|---|")
    for name, seconds, rss, log in results:
        print(f"| {name} | {seconds:.1f} | {rss:.0f} | {log} |")


if __name__ == "__main__":
    main()
