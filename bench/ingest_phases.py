"""Where ingest's CPU goes: each entity's deliveries landed without the landed suites, per phase,
beside the yardstick's ``read_csv`` of the same files.

    python bench/ingest_phases.py DATA_DIR [--yardstick YARDSTICK.sql] [--entity NAME ...]

``DATA_DIR`` holds ``landing/`` (copy one: the warehouse is created there, it must not exist).
Files are read one after the other (not read ahead) so that the process's CPU time (user+sys,
DuckDB's threads included) between two points is the phase's alone; a phase's time excludes
the phases it calls. The yardstick's statements (``bench/yardstick.py`` writes them beside its
database) are run per entity in a fresh in-memory database. One-off timings on a shared
machine: compare runs made back to back, never put them in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from pipeline.config import Settings
from pipeline.entities import ENTITIES
from pipeline.ingest import (
    checks,
    core,
    decode,
    duckdb_csv,
    formats,
    ledger,
    quarantine,
    staging,
    versions,
)
from pipeline.warehouse import open_warehouse, run

Totals = dict[str, list[float]]  # phase -> [cpu, wall]


def cpu() -> float:
    """The process's user+sys CPU seconds, every thread's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Phases:
    """Exclusive CPU and wall time per phase, nested calls subtracted from their caller's."""

    def __init__(self) -> None:
        self.totals: Totals = defaultdict(lambda: [0.0, 0.0])
        self.stack: list[list[float]] = []  # the children's [cpu, wall] of each open phase
        self.replaced: list[tuple[Any, str, Any]] = []  # (owner, attr, original)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Count the block's time to ``name``, less that of the phases inside it."""
        c0, w0 = cpu(), time.perf_counter()
        self.stack.append([0.0, 0.0])
        try:
            yield
        finally:
            dc, dw = cpu() - c0, time.perf_counter() - w0
            inner = self.stack.pop()
            self.totals[name][0] += dc - inner[0]
            self.totals[name][1] += dw - inner[1]
            if self.stack:
                self.stack[-1][0] += dc
                self.stack[-1][1] += dw

    def wrap(self, owner: Any, attr: str, name: str | Callable[..., str]) -> None:
        """Replace ``owner.attr`` with a wrapper counting its calls to a phase (a name, or a
        function of the call's arguments giving one)."""
        original = getattr(owner, attr)
        self.replaced.append((owner, attr, original))

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            label = name(*args, **kwargs) if callable(name) else name
            with self.phase(label):
                return original(*args, **kwargs)

        setattr(owner, attr, wrapper)

    def restore(self) -> None:
        """Put back every function :meth:`wrap` replaced (and the read-ahead)."""
        for owner, attr, original in reversed(self.replaced):
            setattr(owner, attr, original)
        self.replaced.clear()


def _sql_phase(con: Any, sql: str, *args: Any, **kwargs: Any) -> str:
    text = sql.lstrip().lower()
    if text.startswith("insert into raw."):
        return "insert into raw"
    if text in ("commit", "begin transaction", "rollback"):
        return "commit"
    return "other SQL"


def instrument(p: Phases) -> None:
    """Wrap the ingest functions of each phase (and read the files one after the other)."""
    p.replaced.append((core.Ingestion, "read_ahead", core.Ingestion.read_ahead))
    core.Ingestion.read_ahead = False
    p.wrap(ledger, "cached_sha256", "hashing")
    p.wrap(formats, "decode_delivery", "decode + UTF-8 check")
    p.wrap(decode, "valid_utf8", "decode + UTF-8 check")
    p.wrap(core, "open_table", "open (header, first row)")
    p.wrap(core, "recognise", "open (header, first row)")
    p.wrap(core, "declaration", "open (header, first row)")
    p.wrap(duckdb_csv, "plain_layout", "layout scan")
    p.wrap(duckdb_csv, "_read", "DuckDB read_csv")
    p.wrap(duckdb_csv, "_parse", "DuckDB parse (typed values, rules)")
    p.wrap(duckdb_csv, "_decimals", "DuckDB parse (typed values, rules)")
    p.wrap(duckdb_csv, "_bad_rows", "bad rows (parse.py plan)")
    p.wrap(core, "_run_plan", "polars route parse")
    p.wrap(core, "damaged_key", "contract checks")
    p.wrap(core, "undecidable_versions", "contract checks")
    p.wrap(checks, "every_key_delivered", "contract checks")
    p.wrap(versions, "hold_back", "contract checks")
    p.wrap(quarantine, "insert_rows", "quarantine")
    p.wrap(ledger, "record", "ledger")
    p.wrap(ledger, "forget_refusal", "ledger")
    p.wrap(ledger, "remember_hashes", "ledger")
    p.wrap(ledger, "delivered", "ledger")
    p.wrap(ledger, "hashed_before", "ledger")
    p.wrap(core, "ensure_tables", "ledger")
    p.wrap(staging.Staging, "drop", "staging drop")
    p.wrap(core, "run", _sql_phase)


def profile_pipeline(data_dir: Path, entities: list[str]) -> dict[str, tuple[Totals, float, float]]:
    """Each entity's phases, CPU and wall, landed without a validator (one warehouse
    connection for all, as the ``raw_ingest`` step has)."""
    p = Phases()
    instrument(p)
    settings = Settings.resolve(data_dir=str(data_dir))
    out = {}
    try:
        with open_warehouse(settings.warehouse_path) as con:
            run(con, "set enable_progress_bar = false")
            for entity in entities:
                p.totals.clear()
                c0, w0 = cpu(), time.perf_counter()
                with p.phase("rest (Python between phases)"):
                    reports = core.ingest_entity(con, settings, entity)
                landed = sum(r.rows_landed for r in reports)
                print(f"{entity}: {len(reports)} files, {landed:,} rows landed", flush=True)
                out[entity] = (dict(p.totals), cpu() - c0, time.perf_counter() - w0)
    finally:
        p.restore()
    return out


def profile_yardstick(sql_file: Path, entities: list[str]) -> dict[str, tuple[float, float]]:
    """CPU and wall of the yardstick's ``create table raw.*`` and inserts, per entity."""
    statements = [s.strip() for s in sql_file.read_text().split(";\n") if s.strip()]
    out = {}
    for entity in entities:
        table = f"raw.{ENTITIES[entity].raw_table} "
        mine = [s for s in statements if table in s.split("(")[0] + " "]
        with tempfile.TemporaryDirectory() as tmp, duckdb.connect(f"{tmp}/y.duckdb") as con:
            for s in statements:  # the yardstick's database is a file, as the warehouse is
                if s.startswith(("set TimeZone", "create schema")):
                    run(con, s)
            c0, w0 = cpu(), time.perf_counter()
            for s in mine:
                run(con, s)
            out[entity] = (cpu() - c0, time.perf_counter() - w0)
    return out


def main() -> None:
    """Print the phase table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--yardstick", type=Path)
    parser.add_argument("--entity", action="append", choices=list(ENTITIES))
    args = parser.parse_args()
    entities = args.entity or list(ENTITIES)
    yard = profile_yardstick(args.yardstick, entities) if args.yardstick else {}
    results = profile_pipeline(args.data_dir, entities)
    for entity, (totals, c, w) in results.items():
        ys = yard.get(entity)
        extra = f"; yardstick read_csv CPU {ys[0]:.2f} s, wall {ys[1]:.2f} s" if ys else ""
        print(f"\n### {entity}: CPU {c:.2f} s, wall {w:.2f} s{extra}\n")
        print("| phase | CPU s | wall s |\n|---|---:|---:|")
        for name, (pc, pw) in sorted(totals.items(), key=lambda kv: -kv[1][0]):
            print(f"| {name} | {pc:.2f} | {pw:.2f} |")
    total_c = sum(c for _, c, _ in results.values())
    total_w = sum(w for _, _, w in results.values())
    print(f"\nall: CPU {total_c:.2f} s, wall {total_w:.2f} s", end="")
    if yard:
        print(
            f"; yardstick CPU {sum(c for c, _ in yard.values()):.2f} s, "
            f"wall {sum(w for _, w in yard.values()):.2f} s"
        )
    print()


if __name__ == "__main__":
    main()
