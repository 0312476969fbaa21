"""One-file deliveries to a warm process, timed: what `python -m pipeline watch` runs per delivery.

Usage (a copy of a built data directory; the code tree to time, so that two trees can be
alternated on two copies of the same data)::

    .venv/bin/python bench/warm_delivery.py DATA_DIR --code CODE_DIR --tag P1 [--runs 2] [--trace]

The process warms up as the watcher does (``pipeline.cli.watch.warm_up``), then per run drops
one file of 100 orders (``bench/delivery.py``'s ``write_delivery``, keys ``<tag><n>``: the same
tag gives the same file on every copy) and times ``pipeline.cli.run.run_once``: wall seconds and
the process's CPU seconds (every thread: DuckDB's too). It prints one JSON line per run, with the
run's Dagster events by kind (read from the run's SQLite shard afterwards) and, with
``--trace``, the warehouse statements that went through ``pipeline.warehouse``'s helpers, their
seconds, and the commits among them (tracing costs a few µs a statement: time without it).
With ``--steps`` it adds each step's CPU and wall seconds (from its start to its success or
failure, as Dagster handles those events), the CPU of each step's checks (``evaluate_checks``),
of handing Dagster the run's events (storing them included) and of Python's garbage collections,
and the CPU outside the steps (the run's set-up and summary): where a delivery's seconds go.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

AS_OF = dt.date(2026, 11, 1)


def _trace(record: list[tuple[float, str]]) -> None:
    """Wrap the warehouse helpers so that each statement's seconds and text are recorded; done
    before the pipeline's modules import them by name."""
    import pipeline.warehouse as w

    for name in ("run", "rows", "scalar", "frame"):
        inner = getattr(w, name)

        def timed(con, sql, *args, _inner=inner, **kwargs):  # noqa: ANN001, ANN202
            started = time.perf_counter()
            try:
                return _inner(con, sql, *args, **kwargs)
            finally:
                record.append((time.perf_counter() - started, " ".join(str(sql).split())))

        setattr(w, name, timed)


# The step events that bound a step, as Dagster names their kinds.
STEP_BOUNDS = ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE")


def step_seconds(marks: list[tuple[str, str, float, float]]) -> dict[str, list[float]]:
    """``{step: [cpu, wall]}`` from ``(kind, step, cpu, wall)`` readings taken at each of
    :data:`STEP_BOUNDS` (CPU and wall clocks of the process); a step not ended is left out."""
    started: dict[str, tuple[float, float]] = {}
    found: dict[str, list[float]] = {}
    for kind, step, cpu, wall in marks:
        if kind == "STEP_START":
            started[step] = (cpu, wall)
        elif step in started:
            found[step] = [round(cpu - started[step][0], 3), round(wall - started[step][1], 3)]
    return found


class StepClock:
    """The CPU and wall clocks read at each step's bounds, the CPU of handling each event, of
    each step's checks and of the garbage collections, for one run at a time (:meth:`clear`).
    Installed by wrapping ``DagsterInstance.handle_new_event`` (every event of a run passes it)
    and the ``evaluate_checks`` the step modules call, before the definitions are built."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, str, float, float]] = []
        self.event_cpu = 0.0
        self.events = 0
        self.checks: dict[str, float] = {}
        self.gc_cpu = 0.0
        self._gc_started = 0.0

    def clear(self) -> None:
        """Forget the readings of the run before."""
        self.marks.clear()
        self.checks.clear()
        self.event_cpu = self.gc_cpu = 0.0
        self.events = 0

    def install(self) -> None:
        """Wrap Dagster's event handling, the steps' check evaluation and ``gc``'s callbacks."""
        import gc

        import dagster as dg

        inner = dg.DagsterInstance.handle_new_event

        def handle_new_event(instance, event, *args, **kwargs):  # noqa: ANN001, ANN202
            found = event.dagster_event
            if found is not None and found.event_type_value in STEP_BOUNDS:
                kind = found.event_type_value
                self.marks.append((kind, found.step_key, time.process_time(), time.perf_counter()))
            started = time.process_time()
            try:
                return inner(instance, event, *args, **kwargs)
            finally:
                self.event_cpu += time.process_time() - started
                self.events += 1

        dg.DagsterInstance.handle_new_event = handle_new_event
        steps = ("assets.ingest", "assets.models", "assets.predictions")
        for module in (importlib.import_module(m) for m in steps):
            module.evaluate_checks = self._timed_checks(module.evaluate_checks)
        gc.callbacks.append(self._gc)

    def _timed_checks(self, inner):  # noqa: ANN001, ANN202
        def evaluate_checks(context, *args, **kwargs):  # noqa: ANN001, ANN202
            started = time.process_time()
            try:
                yield from inner(context, *args, **kwargs)
            finally:
                step = context.op_def.name
                self.checks[step] = self.checks.get(step, 0.0) + time.process_time() - started

        return evaluate_checks

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.process_time()
        else:
            self.gc_cpu += time.process_time() - self._gc_started

    def report(self, cpu: float) -> dict[str, object]:
        """The readings of the run whose CPU seconds were ``cpu``, for its JSON line."""
        steps = step_seconds(self.marks)
        return {
            "steps_cpu_wall": steps,
            "checks_cpu": {step: round(t, 3) for step, t in self.checks.items()},
            "outside_steps_cpu": round(cpu - sum(c for c, _ in steps.values()), 3),
            "events_cpu": round(self.event_cpu, 3),
            "gc_cpu": round(self.gc_cpu, 3),
        }


def _events(dagster_home: Path, since: float) -> tuple[dict[str, int], dict[str, float]]:
    """The events of the run whose shard was written after ``since``, counted by kind (a log
    line has no Dagster event type: ``log``), and when (epoch seconds) the run started, each
    step ended (``<step>``) and the run ended (``end``)."""
    shards = [
        p
        for p in (dagster_home / "history" / "runs").glob("*.db")
        if p.name != "index.db" and p.stat().st_mtime >= since
    ]
    counts: dict[str, int] = {}
    marks: dict[str, float] = {}
    for shard in shards:
        with sqlite3.connect(shard) as con:
            for kind, n in con.execute(
                "select coalesce(dagster_event_type, 'log'), count(*) from event_logs group by 1"
            ):
                counts[kind] = counts.get(kind, 0) + n
            for step, kind, at in con.execute(
                "select step_key, dagster_event_type, timestamp from event_logs where "
                "dagster_event_type in ('PIPELINE_START', 'STEP_SUCCESS', 'PIPELINE_SUCCESS')"
            ):
                when = dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC).timestamp()
                marks[{"PIPELINE_START": "start", "PIPELINE_SUCCESS": "end"}.get(kind, step)] = when
    return counts, marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--tag", required=True, help="key prefix of this process's deliveries")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--trace", action="store_true", help="record the warehouse statements")
    parser.add_argument("--show", action="store_true", help="print the run's progress lines")
    parser.add_argument("--top", type=int, default=0, help="with --trace: print the N slowest")
    parser.add_argument("--dump", type=Path, help="with --trace: write the statements")
    parser.add_argument(
        "--steps", action="store_true", help="CPU and wall per step, checks, events and gc"
    )
    args = parser.parse_args()

    os.environ.update(
        PIPELINE_DATA_DIR=str(args.data_dir),
        PIPELINE_AS_OF=str(AS_OF),
        PIPELINE_TIMEZONE="UTC",
        PIPELINE_SETTLE_SECONDS="0",
    )
    code = args.code.resolve()
    sys.path[:0] = [str(code), str(code / "bench")]
    os.chdir(code)
    record: list[tuple[float, str]] = []
    if args.trace:
        _trace(record)
    clock = StepClock()
    if args.steps:
        clock.install()

    from delivery import write_delivery

    from pipeline.cli.run import prepare_run, run_once
    from pipeline.cli.watch import warm_up

    warm = warm_up()
    for n in range(args.runs):
        tag = f"{args.tag}{n}"
        write_delivery(args.data_dir / "landing", AS_OF, key_prefix=tag, name=f"z{tag.lower()}")
        prepared = prepare_run()
        assert not isinstance(prepared, int), prepared
        settings, notify = prepared
        record.clear()
        clock.clear()
        since = time.time()
        wall, cpu = time.perf_counter(), time.process_time()
        stdout = sys.stdout
        with open(os.devnull, "w") as quiet:
            if not args.show:
                sys.stdout = quiet  # the run's progress lines: not what is timed here
            try:
                code_ = run_once(settings, notify, "cli")
            finally:
                sys.stdout = stdout
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        done = time.time()
        events, marks = _events(args.data_dir / "dagster_home", since)
        start = marks.get("start", since)
        out = {
            "code": str(code),
            "tag": tag,
            "exit": code_,
            "warm_up": round(warm, 2),
            "wall": round(wall, 3),
            "cpu": round(cpu, 3),
            # bench/delivery.py's measured_seconds: the run's start to run_once's return
            "measured": round(done - start, 3),
            "before_run": round(start - since, 3),
            "after_run": round(done - marks.get("end", done), 3),
            "published": round(marks.get("serving_marts", done) - start, 3),
            "events": sum(events.values()),
            "events_by_kind": events,
        }
        if args.trace:
            commits = [t for t, s in record if s.lower().startswith("commit")]
            out |= {
                "statements": len(record),
                "statement_seconds": round(sum(t for t, _ in record), 3),
                "commits": len(commits),
                "commit_seconds": round(sum(commits), 3),
            }
        if args.steps:
            out |= clock.report(cpu) | {"load": round(os.getloadavg()[0], 2)}
        print(json.dumps(out), flush=True)
        if args.dump:
            args.dump.write_text(json.dumps(record))
        if args.top:
            for t, s in sorted(record, reverse=True)[: args.top]:
                print(f"  {t:.3f} {s[:160]}", file=sys.stderr)


if __name__ == "__main__":
    main()
