"""Measure a command the way a user runs it: wall time, peak memory, and Dagster's step times.

``run_measured`` starts the command, samples the resident memory of its whole process tree
(psutil, every ``interval`` seconds) and also takes the kernel's peak RSS of the process from
``wait4``. ``read_run`` reads a finished run's step start/success events from the Dagster
instance the CLI keeps under ``<data_dir>/dagster_home`` and sorts each step into a stage.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent

STAGES = ("ingest", "sql", "polars", "validation", "serving", "other")
# The validating part of a step that builds assets and then evaluates their checks.
CHECKS_SUFFIX = " (checks)"


@dataclass
class ProcessRun:
    """One measured process: wall time, peak memory, exit code, when it started and ended."""

    command: list[str]
    returncode: int
    started_at: float  # epoch seconds
    ended_at: float
    peak_rss_tree: int  # bytes, sampled sum over the process and its children
    max_rss: int  # bytes, the kernel's high-water mark of the process (wait4)
    cpu_seconds: float  # user + system time of the process (wait4)
    log: str
    samples: list[tuple[float, int]] = field(default_factory=list)  # (epoch s, tree RSS bytes)

    def peak_between(self, start: float, end: float) -> int:
        """The highest sampled tree RSS from ``start`` to ``end`` (epoch seconds); 0 if none."""
        return max((rss for at, rss in self.samples if start <= at <= end), default=0)

    @property
    def wall_seconds(self) -> float:
        return self.ended_at - self.started_at

    @property
    def peak_rss(self) -> int:
        """The larger of the two memory measures."""
        return max(self.peak_rss_tree, self.max_rss)


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_measured(
    command: list[str],
    env: dict[str, str],
    log_path: Path,
    echo: Callable[[str], None] | None = None,
    cwd: Path | None = None,
    interval: float = 0.2,
) -> ProcessRun:
    """Run ``command`` to the end, logging its output to ``log_path`` (and each line to
    ``echo``), and measure its wall time and peak memory."""
    peak = 0
    samples: list[tuple[float, int]] = []
    done = threading.Event()
    started = time.time()
    proc = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    watched = psutil.Process(proc.pid)

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                rss = _tree_rss(watched)
            except psutil.NoSuchProcess:
                return
            samples.append((time.time(), rss))
            peak = max(peak, rss)
            done.wait(interval)

    def copy_output() -> None:
        assert proc.stdout is not None
        with log_path.open("w", encoding="utf-8") as log:
            for line in proc.stdout:
                log.write(line)
                if echo:
                    echo(line.rstrip("\n"))

    threads = [threading.Thread(target=sample, daemon=True), threading.Thread(target=copy_output)]
    for t in threads:
        t.start()
    # wait4 rather than Popen.wait: it also returns the child's peak RSS (ru_maxrss, KiB) and
    # CPU time, which a busy machine inflates far less than wall time.
    _, status, usage = os.wait4(proc.pid, 0)
    ended = time.time()
    proc.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    for t in threads:
        t.join()
    return ProcessRun(
        command=command,
        returncode=proc.returncode,
        started_at=started,
        ended_at=ended,
        peak_rss_tree=peak,
        max_rss=usage.ru_maxrss * 1024,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        log=str(log_path),
        samples=samples,
    )


@dataclass
class StepTiming:
    """One Dagster step of a run and the stage it belongs to."""

    step: str
    stage: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class RunTiming:
    """A Dagster run's start, end and steps (epoch seconds, from its event log)."""

    run_id: str
    status: str
    run_start: float
    run_end: float
    steps: list[StepTiming] = field(default_factory=list)
    # (step, asset, epoch seconds) of every materialisation, in order
    materializations: list[tuple[str, str, float]] = field(default_factory=list)

    def asset_seconds(self) -> dict[str, float]:
        """Seconds per asset: from the step's start or the step's previous materialisation."""
        out, last = {}, {s.step: s.start for s in self.steps}
        for step, asset, at in self.materializations:
            if step in last:
                out[asset] = at - last[step]
                last[step] = at
        return out

    @property
    def run_seconds(self) -> float:
        return self.run_end - self.run_start

    def stage_seconds(self) -> dict[str, float]:
        """Seconds per stage (sum of its steps' durations)."""
        out = dict.fromkeys(STAGES, 0.0)
        for s in self.steps:
            out[s.stage] += s.seconds
        return out

    @property
    def between_steps(self) -> float:
        """Run time outside every step: Dagster's own work (the steps run one at a time)."""
        return self.run_seconds - sum(s.seconds for s in self.steps)


def stage_of(step: str, check_only_steps: set[str]) -> str:
    """The stage a step belongs to, by its key (see BENCHMARKS.md for the mapping)."""
    if step.startswith("raw_"):
        return "ingest"
    if step.startswith("sql_"):
        return "sql"
    if step == "int_mention_sentiment":
        return "polars"
    if step in check_only_steps or "check" in step:
        return "validation"
    if step.startswith("serving") or "chart" in step:
        return "serving"
    return "other"


def read_run(dagster_home: Path, run_id: str | None = None) -> RunTiming:
    """Step timings of ``run_id`` (default: the latest) from the instance in ``dagster_home``."""
    import dagster as dg

    T = dg.DagsterEventType

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        if run_id is None:
            records = instance.get_run_records(limit=1)
            if not records:
                raise LookupError(f"{dagster_home}: no runs")
            run_id = records[0].dagster_run.run_id
        run = instance.get_run_by_id(run_id)
        starts: dict[str, float] = {}
        ends: dict[str, float] = {}
        materialising: set[str] = set()
        materializations: list[tuple[str, str, float]] = []
        checking: set[str] = set()
        first_check: dict[str, float] = {}
        run_start = run_end = None
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None:
                continue
            kind, step = event.event_type, entry.step_key
            if kind == T.RUN_START:
                run_start = entry.timestamp
            elif kind in (T.RUN_SUCCESS, T.RUN_FAILURE):
                run_end = entry.timestamp
            elif kind == T.STEP_START and step:
                starts[step] = entry.timestamp
            elif kind in (T.STEP_SUCCESS, T.STEP_FAILURE) and step:
                ends[step] = entry.timestamp
            elif kind == T.ASSET_MATERIALIZATION and step:
                materialising.add(step)
                asset = event.asset_key.to_user_string() if event.asset_key else "?"
                materializations.append((step, asset, entry.timestamp))
            elif kind == T.ASSET_CHECK_EVALUATION and step:
                checking.add(step)
                first_check.setdefault(step, entry.timestamp)
    if run_start is None or run_end is None:
        raise LookupError(f"run {run_id}: no start or end event")
    check_only = checking - materialising
    steps = []
    for step, start in sorted(starts.items(), key=lambda kv: kv[1]):
        if step not in ends:
            continue
        stage = stage_of(step, check_only)
        if step in first_check and stage != "validation":
            # A step that builds assets and then evaluates their checks (assets/checks.py):
            # from its last materialisation before the first check result on, it validates.
            split = max(
                (at for s, _, at in materializations if s == step and at <= first_check[step]),
                default=start,
            )
            steps.append(StepTiming(step, stage, start, split))
            steps.append(StepTiming(f"{step}{CHECKS_SUFFIX}", "validation", split, ends[step]))
        else:
            steps.append(StepTiming(step, stage, start, ends[step]))
    status = run.status.value if run else "?"
    return RunTiming(run_id, status, run_start, run_end, steps, materializations)


def machine() -> dict[str, str]:
    """Cores, RAM, CPU model, OS and the versions that matter, for the report."""
    from importlib.metadata import version  # not the packages: importing GX alone takes seconds

    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": f"{psutil.cpu_count(logical=True)} logical, "
        f"{psutil.cpu_count(logical=False)} physical",
        "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        **{name: version(name) for name in ("duckdb", "polars", "dagster", "great_expectations")},
    }


def run_scales(
    scales: list[int],
    bench_scale: Callable[[int], dict],
    results_path: Path,
    options: dict[str, object],
    **header: object,
) -> dict:
    """Run ``bench_scale`` at each scale, the results (machine, ``header``, start and end time,
    options, one entry per scale) written to ``results_path`` after every scale, so a long run
    that is stopped keeps what it measured."""
    import datetime as dt
    import json

    results: dict = {
        "machine": machine(),
        **header,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "options": options,
        "scales": [],
    }
    for customers in scales:
        results["scales"].append(bench_scale(customers))
        results_path.write_text(json.dumps(results, indent=1), encoding="utf-8")
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results_path.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return results


def landed_suite_seconds(data_dir: Path, run_id: str) -> float:
    """Seconds the landed suites took inside the ingest steps of ``run_id`` (its run log)."""
    from pipeline.validation.log import read_log

    return sum(o.seconds for o in read_log(data_dir, run_id) if o.stage == "landed")


def say(msg: str) -> None:
    """Progress on the terminal, with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pipeline_env(data_dir: Path, as_of: dt.date) -> dict[str, str]:
    """The environment of a measured ``python -m pipeline`` on ``data_dir`` as of ``as_of``."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(
        PIPELINE_DATA_DIR=str(data_dir),
        PIPELINE_AS_OF=as_of.isoformat(),
        PIPELINE_TIMEZONE="UTC",
        PYTHONUNBUFFERED="1",
        # This tree's packages, whatever the virtualenv's editable install points at.
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env
