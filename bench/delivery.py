"""The fixed cost of a run: one small canonical CSV of orders dropped into landing after a build.

``write_delivery`` copies ``rows`` orders of the generator's main files into one new file with
new keys, every timestamp moved into the day ``day`` (the run's as_of, so nothing lies after it):
the smallest delivery a user makes. ``import_costs`` times, in a fresh process, what a run pays
before and around its steps that the event log cannot split: importing Dagster and the
definitions, importing Great Expectations and creating its context. ``delivery_result`` keeps
from a measured run (``bench/run.py``'s ``pipeline_run``) what the report shows: every step's
seconds from Dagster's event log, Dagster between steps, process start, after the run.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
from increment import _new_records, _text
from yardstick import typed_column

from pipeline.entities import ENTITIES
from pipeline.sample_data.generate import FILE_PREFIX
from pipeline.sqltext import sql_path
from pipeline.warehouse import run, scalar

DELIVERY_ROWS = 100
ENTITY = "orders"


def delivery_path(
    landing: Path, day: dt.date, entity: str = ENTITY, name: str = "zdelivery"
) -> Path:
    """Where the delivery goes: the entity's landing folder, sorting after every other file."""
    e = ENTITIES[entity]
    return landing / e.landing_path / f"{FILE_PREFIX[entity]}_{name}_{day:%Y%m%d}.csv"


def write_delivery(
    landing: Path,
    day: dt.date,
    rows: int = DELIVERY_ROWS,
    entity: str = ENTITY,
    key_prefix: str = "X",
    name: str = "zdelivery",
) -> Path:
    """Write one canonical CSV of ``rows`` new records of ``entity`` (new keys, same people,
    timestamps moved into ``day``) into its landing folder; returns the file. Another
    ``key_prefix`` and ``name``: another delivery of the same day, with keys of its own."""
    e = ENTITIES[entity]
    folder = landing / e.landing_path
    files = sorted(folder.glob(f"{FILE_PREFIX[entity]}_[0-9][0-9][0-9][0-9].csv"))
    if not files:
        raise FileNotFoundError(f"{folder}: no generated {entity} files to copy records from")
    tag = f"{key_prefix}{day:%Y%m%d}"
    exprs = _new_records(e, tag, f"{day:%Y-%m-%d} 00:00:00")
    paths = ", ".join(sql_path(p) for p in files)
    typed = ", ".join(f"{typed_column(e, c)} as {c}" for c in e.columns)
    source = f"(select {typed} from read_csv([{paths}], all_varchar = true, header = true))"
    # The first ``rows`` keys by a fixed hash: the same input always gives the same file.
    picked = (
        f"select {', '.join(f'{x} as {c}' for c, x in exprs.items())} from {source} "
        f"order by hash({e.key} || '{tag}'), {e.key} limit {int(rows)}"
    )
    out = ", ".join(f"{_text(e, c, c)} as {c}" for c in e.columns)
    target = delivery_path(landing, day, entity, name)
    tmp = target.with_name("." + target.name)  # hidden from the pipeline until complete
    with duckdb.connect() as con:
        run(con, "set TimeZone = 'UTC'")
        run(con, f"copy (select {out} from ({picked})) to {sql_path(tmp)} (header)")
        written = int(scalar(con, f"select count(*) from read_csv({sql_path(tmp)})"))
    if written != rows:
        raise ValueError(f"{tmp}: wrote {written} rows, wanted {rows}")
    tmp.rename(target)
    return target


# Run in a fresh interpreter: each figure is the time of that line alone, in order.
_IMPORTS_SCRIPT = """
import json, sys, time
t = {}
s = time.perf_counter(); import dagster; t["import dagster"] = time.perf_counter() - s
s = time.perf_counter(); import pipeline.definitions
t["import pipeline.definitions (assets, checks, definitions)"] = time.perf_counter() - s
s = time.perf_counter(); import great_expectations as gx
t["import great_expectations"] = time.perf_counter() - s
s = time.perf_counter(); gx.get_context(mode="ephemeral")
t["GX ephemeral context"] = time.perf_counter() - s
print(json.dumps(t))
"""


def import_costs(env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Seconds of the imports and the GX context a run pays, timed in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS_SCRIPT],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def delivery_result(
    measured: dict, imports: dict[str, float], file: Path, after_increment: bool = True
) -> dict:
    """What the report shows of the delivery run (``measured`` is ``pipeline_run``'s dict)."""
    keep = (
        "wall_seconds",
        "process_start_seconds",
        "measured_seconds",
        "run_seconds",
        "after_run_seconds",
        "between_steps_seconds",
        "cpu_seconds",
        "stages",
        "steps",
        "step_stage",
        "peak_rss",
        "load_before",
        "load_after",
        "run_id",
    )
    return {
        **{k: measured[k] for k in keep if k in measured},
        "file": file.name,
        "rows": DELIVERY_ROWS,
        "entity": ENTITY,
        "imports": imports,
        "after_increment": after_increment,
    }


def bench_delivery(
    data_dir: Path,
    day: dt.date,
    label: str,
    pipeline_run: Callable[[Path, dt.date, str], dict],
    env: dict[str, str],
    cwd: Path,
    after_increment: bool = True,
) -> dict:
    """Drop one file of 100 orders into ``data_dir``'s landing, run the pipeline as of ``day``
    (the previous run's date: a delivery within the day) and measure it."""
    file = write_delivery(data_dir / "landing", day)
    measured = pipeline_run(data_dir, day, label)
    return delivery_result(measured, import_costs(env, cwd), file, after_increment)


WATCH_READY = "ready, watching"
WATCH_DONE = "exit status"
WATCH_DEADLINE = 900.0  # seconds for the watcher's start, or for its run


def bench_watched_delivery(
    data_dir: Path, day: dt.date, env: dict[str, str], cwd: Path, log_path: Path
) -> dict:
    """The same delivery to a warm worker: start ``python -m pipeline watch`` on ``data_dir``,
    wait for "ready", drop another 100 orders (other keys), wait for its run's exit-status line,
    stop the watcher. Timed as the cold run: Dagster's event log (steps, stages, between steps)
    and, as ``measured_seconds``, the run's start to its exit-status line (the cold run's is its
    start to the process's end). ``cpu_seconds``: the watcher's CPU time from the drop to that
    line. ``warm_up_seconds``: from the start of the process to "ready"."""
    import signal
    import time

    import psutil
    from measure import read_run

    env = {**env, "PIPELINE_SETTLE_SECONDS": "0"}  # the file appears whole (renamed)
    started = time.time()
    lines: list[str] = []
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "watch", "--interval", "0.5"],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        assert proc.stdout is not None

        def wait_for(text: str) -> float:
            """Read output up to a line holding ``text``; when it was read."""
            end = time.time() + WATCH_DEADLINE
            for line in proc.stdout:  # type: ignore[union-attr]
                log.write(line)
                lines.append(line.rstrip("\n"))
                print(f"      | {lines[-1]}", flush=True)
                if text in line:
                    return time.time()
                if time.time() > end:
                    break
            proc.kill()
            raise SystemExit(f"the watcher printed no {text!r}; see {log_path}")

        try:
            ready = wait_for(WATCH_READY)
            watched = psutil.Process(proc.pid)
            cpu = watched.cpu_times()
            file = write_delivery(data_dir / "landing", day, key_prefix="W", name="zwatched")
            done = wait_for(WATCH_DONE)
            cpu_after = watched.cpu_times()
            rss = watched.memory_info().rss
        finally:
            proc.send_signal(signal.SIGTERM)
            for line in proc.stdout:
                log.write(line)
            proc.wait(timeout=WATCH_DEADLINE)
    status = lines[-1] if lines else ""
    if not status.startswith(f"{WATCH_DONE} 0"):
        raise SystemExit(f"the watched delivery's run did not succeed ({status}); see {log_path}")
    timing = read_run(data_dir / "dagster_home")
    return {
        "warm_up_seconds": ready - started,
        "measured_seconds": done - timing.run_start,
        "run_seconds": timing.run_seconds,
        "steps_seconds": max(s.end for s in timing.steps) - min(s.start for s in timing.steps),
        "after_run_seconds": done - timing.run_end,
        "between_steps_seconds": timing.between_steps,
        "cpu_seconds": (cpu_after.user + cpu_after.system) - (cpu.user + cpu.system),
        "stages": timing.stage_seconds(),
        "steps": {s.step: s.seconds for s in timing.steps},
        "step_stage": {s.step: s.stage for s in timing.steps},
        "rss_after": rss,
        "run_id": timing.run_id,
        "file": file.name,
        "rows": DELIVERY_ROWS,
        "entity": ENTITY,
    }
