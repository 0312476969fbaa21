"""The ``raw_ingest`` step alone (landed suites in, checks out), as a full build runs it: wall
and CPU per entity, and how long the step waited for a file being read ahead.

    python bench/ingest_step.py LANDING [--work DIR] [--as-of YYYY-MM-DD]

``LANDING`` is a landing folder (e.g. a copy of a bench data set's, without the +1 day and
delivery files); it is hard-linked into a fresh data directory under ``--work`` (a temporary
one by default, removed afterwards), so each run lands into an empty warehouse. Run it in a
fresh process each time (GX's import is part of the step, as in a build). One-off timings on a
shared machine: compare runs made back to back, never put them in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

import assets.ingest as ingest_asset
from pipeline.config import PipelineConfig
from pipeline.ingest import core
from pipeline.warehouse import Warehouse


def cpu() -> float:
    """The process's user+sys CPU seconds, every thread's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class StepTiming:
    """One ``raw_ingest`` run: totals, and per entity (in landing order) its wall and CPU
    from the end of the entity before, its rows landed, the seconds the step waited for its
    files to be read (the first one's apart: the wait a read-ahead across entities cuts), and
    how long before the entity's turn its first file was read ahead (its head start)."""

    wall: float = 0.0
    cpu: float = 0.0
    entities: dict[str, dict[str, float]] = field(default_factory=dict)


def _timed(timing: StepTiming) -> list[tuple[Any, str, Any]]:
    """Wrap the step's per-entity function and the read-ahead to fill ``timing``; returns what
    to put back."""
    replaced: list[tuple[Any, str, Any]] = []
    marks = [(cpu(), time.perf_counter())]
    metadata = ingest_asset.ingest_metadata
    reads = core.Ingestion._reads
    read_next = core.Ingestion._read_next_entity
    submitted: dict[str, float] = {}  # when an entity's first file was read ahead

    def entity(name: str) -> dict[str, float]:
        return timing.entities.setdefault(name, {"wait": 0.0, "first_wait": 0.0, "head_start": 0.0})

    def timed_metadata(context: Any, con: Any, settings: Any, ent: Any, *a: Any) -> Any:
        out = metadata(context, con, settings, ent, *a)
        c, w = cpu(), time.perf_counter()
        entity(ent.name).update(
            wall=w - marks[-1][1], cpu=c - marks[-1][0], rows=float(out["rows_landed"])
        )
        marks.append((c, w))
        return out

    def timed_reads(self: core.Ingestion, name: str) -> Iterator[Any]:
        it: Iterator[Any] = reads(self, name)
        first = True
        try:
            while True:
                t = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    return
                waited = time.perf_counter() - t
                entity(name)["wait"] += waited
                if first:
                    entity(name)["first_wait"] = waited
                    if name in submitted:
                        entity(name)["head_start"] = t - submitted[name]
                    first = False
                yield item
        finally:  # closed early (an error): the read-ahead's own clean-up runs now
            it.close()  # type: ignore[attr-defined]

    def timed_read_next(self: core.Ingestion, name: str) -> None:
        read_next(self, name)
        if self._ahead is not None:
            submitted[self._ahead[0]] = time.perf_counter()

    for owner, attr, new in (
        (ingest_asset, "ingest_metadata", timed_metadata),
        (core.Ingestion, "_reads", timed_reads),
        (core.Ingestion, "_read_next_entity", timed_read_next),
    ):
        replaced.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, new)
    return replaced


def time_step(landing: Path, work: Path, as_of: str = "2026-11-01") -> StepTiming:
    """Run ``raw_ingest`` (no checks) over a hard-linked copy of ``landing`` in ``work`` (which
    must not exist; removed afterwards)."""
    data = work
    data.mkdir(parents=True)
    timing = StepTiming()
    replaced: list[tuple[Any, str, Any]] = []
    try:
        subprocess.run(["cp", "-al", str(landing), str(data / "landing")], check=True)
        warehouse = Warehouse(config=PipelineConfig(data_dir=str(data), as_of=as_of))
        replaced = _timed(timing)
        c0, w0 = cpu(), time.perf_counter()
        result = dg.materialize(ingest_asset.INGEST_ASSETS, resources={"warehouse": warehouse})
        timing.cpu, timing.wall = cpu() - c0, time.perf_counter() - w0
        if not result.success:
            raise RuntimeError("raw_ingest failed")
    finally:
        for owner, attr, original in reversed(replaced):
            setattr(owner, attr, original)
        shutil.rmtree(data, ignore_errors=True)
    return timing


def report(timing: StepTiming, out: Callable[[str], None] = print) -> None:
    """The run as a markdown table."""
    out(f"raw_ingest: wall {timing.wall:.2f} s, CPU {timing.cpu:.2f} s\n")
    out(
        "| entity | rows | wall s | CPU s | waited for reads s | of which first file s "
        "| first file's head start s |"
    )
    out("|---|---:|---:|---:|---:|---:|---:|")
    for name, t in timing.entities.items():
        out(
            f"| {name} | {t.get('rows', 0):,.0f} | {t.get('wall', 0):.2f} | {t.get('cpu', 0):.2f}"
            f" | {t['wait']:.2f} | {t['first_wait']:.2f} | {t['head_start']:.2f} |"
        )
    waited = sum(t["wait"] for t in timing.entities.values())
    firsts = sum(t["first_wait"] for t in timing.entities.values())
    out(f"\nwaited for reads: {waited:.2f} s, {firsts:.2f} s of it for entities' first files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--as-of", default="2026-11-01")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        report(time_step(args.landing.resolve(), Path(tmp) / "data", args.as_of))


if __name__ == "__main__":
    main()
