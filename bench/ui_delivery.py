"""One 100-order delivery picked up by `python -m pipeline ui`'s landing sensor, warm vs cold.

    .venv/bin/python bench/ui_delivery.py DATA_DIR --as-of 2026-11-01 --pairs 3 --out r.json

``DATA_DIR`` must already hold a build (``python -m pipeline run``, or ``bench/run.py --keep``).
The script starts ``python -m pipeline ui`` on it (a free port, its own process group, output in
``<DATA_DIR>/ui_delivery.log``), waits until the webserver answers, the warm run worker's
address file ``$DAGSTER_HOME/warm_worker.json`` is written and the daemon is idle (no run
unfinished, and the landing sensor has looked at landing/ since the last run ended), then runs
``--pairs`` pairs of deliveries, warm first in odd pairs and cold first in even ones (so a
drift of the machine's load does not favour one mode). Per delivery: ``write_delivery``
(bench/delivery.py) drops one file of 100 orders with keys of its own; the sensor's run is
awaited and read back from the Dagster instance (its Python API) and its event log
(``read_run``, bench/measure.py: steps and stages as the other benchmarks read them).

A **cold** launch is forced as the one-off that gave the first figures did: the worker's address
file is moved aside for that run (and put back once it has ended), so the run launcher
(``WarmRunLauncher``) finds no worker and launches the run as Dagster's default launcher does,
tagged ``pipeline/launcher=cold``. The worker itself stays up, loaded and idle meanwhile.

Measured per run (epoch seconds, one clock: the event log's timestamps are ``time.time()``):

- *file → end*: from the delivery's appearance (``write_delivery`` renames the finished file in
  place) to the run's RUN_SUCCESS event; includes the sensor's tick and the run queue.
- *launch → end*: from the run's RUN_STARTING event (written as the queue hands the run to the
  launcher: the launch) to its end; *launch → start* is its part before the run's RUN_START
  (a cold run's new interpreter and imports), *run* the rest.
- *steps*, *between steps*, the stages: :func:`measure.read_run`.
- *CPU*: user + system seconds of the run's own process (the warm worker's forked child, or the
  process the code server spawns), whose pid is in the run's "Started process for run" event.
  It is not our child, so it is sampled (every ``SAMPLE_SECONDS``) while it lives, its zombie
  included: the last sample is its total, short by at most one interval if it is reaped first.

A run that does not succeed, or whose ``pipeline/launcher`` tag is not the mode asked for, stops
the benchmark with the reason. At the end the UI is stopped as Ctrl-C does (SIGINT to its process
group), a markdown table (each run, then the median per mode) printed and the results written
as JSON (``--out``; default ``<DATA_DIR>/ui_delivery.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import yaml
from delivery import write_delivery  # bench/ is a folder of scripts: siblings import by name
from measure import STAGES, machine, read_run
from run import code_version

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
MODES = ("warm", "cold")
LAUNCHER_TAG = "pipeline/launcher"  # pipeline.automation.warm_launcher.LAUNCHER_TAG
SENSOR = "landing_files"  # pipeline.automation.sensors.build_landing_sensor
HIDDEN_SUFFIX = ".bench-hidden"
SAMPLE_SECONDS = 0.05
POLL_SECONDS = 0.5  # our own polling of the instance: light, as it shares the CPU with runs
START_DEADLINE_SECONDS = 1800.0  # the UI's start, the worker's warm-up, a first sensor run
RUN_DEADLINE_SECONDS = 900.0  # one delivery's run
STOP_TIMEOUT_SECONDS = 60.0

# The figures of a run the table shows: (key, column title); seconds.
COLUMNS = (
    ("file_to_end_seconds", "file → end"),
    ("launch_to_end_seconds", "launch → end"),
    ("launch_to_start_seconds", "launch → start"),
    ("run_seconds", "run"),
    ("steps_seconds", "steps"),
    ("between_steps_seconds", "between steps"),
    ("cpu_seconds", "CPU"),
)


def say(msg: str) -> None:
    """Progress on the terminal, with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run_order(pairs: int) -> list[tuple[int, str]]:
    """(pair, mode) of each delivery: warm then cold in odd pairs, cold then warm in even."""
    order = []
    for pair in range(1, pairs + 1):
        first, second = MODES if pair % 2 else MODES[::-1]
        order += [(pair, first), (pair, second)]
    return order


def _median(values: list[float | None]) -> float | None:
    """The median of the known values (None: not measured); None if none is known."""
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def medians(runs: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per mode (of those present): the median of every column and of every stage."""
    out: dict[str, dict[str, float | None]] = {}
    for mode in MODES:
        mine = [r for r in runs if r["mode"] == mode]
        if not mine:
            continue
        figures = {key: _median([r[key] for r in mine]) for key, _ in COLUMNS}
        for stage in STAGES:
            figures[stage] = _median([r["stages"].get(stage, 0.0) for r in mine])
        out[mode] = figures
    return out


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def render_table(results: dict[str, Any]) -> str:
    """The markdown table of ``results``: one row per run, then one median row per mode.

    Stage columns only for stages with time in some run (the others are always 0 here)."""
    runs = results["runs"]
    stages = [s for s in STAGES if any(r["stages"].get(s, 0.0) > 0 for r in runs)]
    head = ["#", "pair", "mode", "launcher", *(title for _, title in COLUMNS), *stages]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 4 + "---:|" * (len(head) - 4)]

    def row(first: list[str], figures: dict[str, float | None]) -> str:
        cells = first + [_seconds(figures[k]) for k, _ in COLUMNS]
        cells += [_seconds(figures[s]) for s in stages]
        return "| " + " | ".join(cells) + " |"

    for r in runs:
        figures = {**{k: r[k] for k, _ in COLUMNS}, **{s: r["stages"].get(s, 0.0) for s in stages}}
        lines.append(row([str(r["index"]), str(r["pair"]), r["mode"], r["launcher"]], figures))
    for mode, figures in medians(runs).items():
        n = sum(1 for r in runs if r["mode"] == mode)
        lines.append(row([f"median of {n}", "", f"**{mode}**", ""], figures))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- the UI


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ui_env(data_dir: Path, home: Path, as_of: dt.date) -> dict[str, str]:
    """The UI's environment: this data dir and instance, ``as_of``, a sensor that looks every
    second and takes a file at once (``write_delivery`` renames it in place, whole)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "DAGSTER_"))}
    env.update(
        PIPELINE_DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(home),
        PIPELINE_AS_OF=as_of.isoformat(),
        PIPELINE_TIMEZONE="UTC",
        PIPELINE_SETTLE_SECONDS="0",
        PIPELINE_SENSOR_INTERVAL_SECONDS="1",
        PYTHONUNBUFFERED="1",
        # This tree's packages, whatever the virtualenv's editable install points at.
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


def webserver_answers(port: int) -> bool:
    """Whether the webserver on ``port`` answers its info endpoint."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def wait_until(what: str, check: Callable[[], Any], deadline: float, ui: UI) -> Any:
    """Poll ``check()`` until it returns something truthy (returned); stop with a clear error
    if the UI exits or ``deadline`` (monotonic seconds) passes first."""
    while True:
        value = check()
        if value:
            return value
        if ui.proc.poll() is not None:
            raise SystemExit(
                f"`python -m pipeline ui` exited ({ui.proc.returncode}) while waiting for "
                f"{what}; see {ui.log}"
            )
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not reached in time; see {ui.log}")
        time.sleep(POLL_SECONDS)


class UI:
    """``python -m pipeline ui`` in a process group of its own, its output in a log file."""

    def __init__(self, data_dir: Path, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.started = time.time()
        with log.open("w", encoding="utf-8") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "ui", "--port", str(self.port)],
                cwd=REPO_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its group: the webserver, daemon, worker, code servers
            )

    def stop(self) -> None:
        """Stop it as Ctrl-C in its terminal does: SIGINT to the whole group, then wait; what
        is still running after ``STOP_TIMEOUT_SECONDS`` is killed."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            say(f"the UI did not stop within {STOP_TIMEOUT_SECONDS:.0f} s: killing its group")
        # Its children may outlive it a moment (or hang): nothing of the group is left behind.
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(POLL_SECONDS)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_TIMEOUT_SECONDS)

    def worker_seconds(self) -> float | None:
        """The warm-up the worker printed ("warm run worker ready after N s"), if it did."""
        import re

        found = re.findall(r"warm run worker ready after ([0-9.]+) s", self.log.read_text("utf-8"))
        return float(found[0]) if found else None


class ProcessCpu:
    """CPU seconds of the processes the UI's tree starts after :meth:`start` (a sampling
    thread): each one's user + system time, read until it is gone or a zombie."""

    def __init__(self, root_pid: int) -> None:
        self.root = psutil.Process(root_pid)
        self.cpu: dict[int, float] = {}
        self.ended: set[int] = set()
        self._known: set[int] = set()
        self._tracked: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _tree(self) -> list[psutil.Process]:
        try:
            return self.root.children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def start(self) -> None:
        """Note the processes there now (not ours to measure) and start sampling."""
        self._known = {p.pid for p in self._tree()}
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            for proc in self._tree():
                if proc.pid not in self._known:
                    self._known.add(proc.pid)
                    self._tracked[proc.pid] = proc
            for pid, proc in list(self._tracked.items()):
                try:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        zombie = proc.status() == psutil.STATUS_ZOMBIE
                    self.cpu[pid] = times.user + times.system
                except psutil.NoSuchProcess:
                    zombie = True
                if zombie:  # its times are final: read for the last time
                    self.ended.add(pid)
                    del self._tracked[pid]
            self._stop.wait(SAMPLE_SECONDS)

    def wait_ended(self, pid: int, timeout: float) -> bool:
        """Wait until ``pid`` has ended (at most ``timeout`` seconds); whether it did."""
        deadline = time.monotonic() + timeout
        while pid not in self.ended and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        return pid in self.ended

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------------------- the instance


def unfinished_runs(instance: Any) -> list[str]:
    """Ids of the instance's runs that are queued, starting, running or canceling."""
    import dagster as dg
    from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES

    filters = dg.RunsFilter(statuses=list(NOT_FINISHED_STATUSES))
    return [r.dagster_run.run_id for r in instance.get_run_records(filters=filters)]


def last_sensor_look(instance: Any) -> float | None:
    """When the landing sensor's latest finished evaluation started (epoch seconds), if any."""
    # Private names: the instance's API has no public way to read a sensor's ticks.
    from dagster._core.scheduler.instigation import InstigatorType, TickStatus

    looks = []
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name != SENSOR:
            continue  # also states of the same sensor under another checkout's code location
        ticks = instance.get_ticks(
            state.instigator_origin_id,
            state.selector_id,
            limit=1,
            statuses=[TickStatus.SKIPPED, TickStatus.SUCCESS],
        )
        looks += [t.timestamp for t in ticks]
    return max(looks, default=None)


def last_run_end(instance: Any) -> float:
    """When the instance's latest finished run ended (epoch seconds; 0 without runs)."""
    ends = [r.end_time for r in instance.get_run_records(limit=20) if r.end_time]
    return max(ends, default=0.0)


def daemon_idle(instance: Any, since: float) -> bool:
    """No run unfinished, and the landing sensor has looked at landing/ (and started nothing)
    after ``since`` and after the latest run's end: a run it would start for a file already
    there exists by then."""
    looked = last_sensor_look(instance)
    if looked is None or looked < max(since, last_run_end(instance)):
        return False
    return not unfinished_runs(instance)


def new_run(instance: Any, known: set[str]) -> Any | None:
    """The run that is not one of ``known`` (run ids), if one is; a clear error if several."""
    fresh = [r.dagster_run for r in instance.get_run_records(limit=5)]  # the newest first
    fresh = [run for run in fresh if run.run_id not in known]
    if len(fresh) > 1:
        ids = ", ".join(run.run_id for run in fresh)
        raise SystemExit(f"{len(fresh)} runs started after the delivery ({ids}), wanted one")
    return fresh[0] if fresh else None


def event_time(instance: Any, run_id: str, kind: str) -> float:
    """The timestamp of the run's first event of type ``kind`` (a DagsterEventType name)."""
    import dagster as dg

    entries = instance.all_logs(run_id, of_type=dg.DagsterEventType[kind])
    if not entries:
        raise SystemExit(f"run {run_id}: no {kind} event")
    return entries[0].timestamp


def why_failed(instance: Any, run_id: str) -> str:
    """The run's error messages (or its last few), for the error that stops the benchmark."""
    entries = instance.all_logs(run_id)
    errors = [e for e in entries if e.level >= 40]  # logging.ERROR
    shown = errors or entries[-5:]
    return "\n".join(f"  {e.user_message}"[:2000] for e in shown)


# ---------------------------------------------------------------------------- a delivery


@contextlib.contextmanager
def worker_hidden(address: Path) -> Iterator[None]:
    """The worker's address file moved aside (the launcher finds no worker: a cold launch),
    put back on leaving unless the worker wrote a new one meanwhile."""
    hidden = address.with_name(address.name + HIDDEN_SUFFIX)
    os.replace(address, hidden)
    try:
        yield
    finally:
        if address.exists():
            hidden.unlink(missing_ok=True)
        else:
            os.replace(hidden, address)


def clear_stale_address(address: Path) -> None:
    """Remove an address file (or one this script hid) a worker that is gone left behind; stop
    if its worker still runs: another UI on this data directory."""
    for path in (address, address.with_name(address.name + HIDDEN_SUFFIX)):
        try:
            pid = json.loads(path.read_text(encoding="utf-8")).get("pid")
        except FileNotFoundError:
            continue
        except ValueError:
            pid = None
        if pid is not None and psutil.pid_exists(int(pid)):
            raise SystemExit(f"{path}: its warm run worker (pid {pid}) runs: is a UI running?")
        say(f"removing {path}, left by a worker that is gone")
        path.unlink()


def deliver(
    data_dir: Path,
    as_of: dt.date,
    instance: Any,
    ui: UI,
    address: Path,
    index: int,
    pair: int,
    mode: str,
    stamp: str,
) -> dict[str, Any]:
    """Drop one 100-order file, wait for the sensor's run (launched ``mode``) and measure it."""
    idle = time.monotonic() + RUN_DEADLINE_SECONDS
    wait_until("the daemon to be idle", lambda: daemon_idle(instance, ui.started), idle, ui)
    if not address.exists():
        raise SystemExit(f"{address}: the warm run worker's address file is gone; see {ui.log}")
    load = os.getloadavg()[0]
    known = set(instance.get_run_ids())
    cpu = ProcessCpu(ui.proc.pid)
    cpu.start()
    try:
        with worker_hidden(address) if mode == "cold" else contextlib.nullcontext():
            began = time.time()
            file = write_delivery(
                data_dir / "landing",
                as_of,
                key_prefix=f"U{stamp}{index}",
                name=f"zui{stamp}{index}",
            )
            dropped = time.time()
            deadline = time.monotonic() + RUN_DEADLINE_SECONDS
            queued = wait_until("the sensor's run", lambda: new_run(instance, known), deadline, ui)
            run_id = queued.run_id
            say(f"  run {run_id} created; waiting for its end …")

            def finished() -> Any:
                run = instance.get_run_by_id(run_id)
                return run if run is not None and run.is_finished else None

            run = wait_until(f"the end of run {run_id}", finished, deadline, ui)
        named = _run_process(instance, run_id)
        pid = named[0] if named else None
        if pid is not None and not cpu.wait_ended(pid, STOP_TIMEOUT_SECONDS):
            say(f"  the run's process {pid} still runs {STOP_TIMEOUT_SECONDS:.0f} s after its end")
    finally:
        cpu.stop()
    status = run.status.value
    if status != "SUCCESS":
        raise SystemExit(
            f"run {run.run_id} ({mode}, delivery {file.name}) ended {status}:\n"
            f"{why_failed(instance, run.run_id)}\nthe UI's log: {ui.log}"
        )
    launcher = run.tags.get(LAUNCHER_TAG, "?")
    if launcher != mode:
        raise SystemExit(
            f"run {run.run_id} was launched {launcher}, wanted {mode}:\n"
            f"{why_failed(instance, run.run_id)}\nthe UI's log: {ui.log}"
        )
    timing = read_run(Path(instance.root_directory), run.run_id)
    launched = event_time(instance, run_id, "RUN_STARTING")
    steps = sum(s.seconds for s in timing.steps)
    return {
        "index": index,
        "pair": pair,
        "mode": mode,
        "launcher": launcher,
        "status": status,
        "run_id": run.run_id,
        "file": file.name,
        "write_seconds": dropped - began,
        "file_to_end_seconds": timing.run_end - dropped,
        "queue_seconds": launched - event_time(instance, run_id, "RUN_ENQUEUED"),
        "launch_to_end_seconds": timing.run_end - launched,
        "launch_to_start_seconds": timing.run_start - launched,
        "run_seconds": timing.run_seconds,
        "steps_seconds": steps,
        "between_steps_seconds": timing.between_steps,
        "cpu_seconds": cpu.cpu.get(pid) if pid is not None else None,  # None: not seen
        "run_pid": pid,
        "stages": timing.stage_seconds(),
        "steps": {s.step: s.seconds for s in timing.steps},
        "step_stage": {s.step: s.stage for s in timing.steps},
        "load_before": load,
    }


def _run_process(instance: Any, run_id: str) -> tuple[int, float] | None:
    from pipeline.automation.instance import run_process

    return run_process(instance, run_id)


# ---------------------------------------------------------------------------- main


def bench(data_dir: Path, as_of: dt.date, pairs: int) -> dict[str, Any]:
    """Start the UI on ``data_dir``, run ``pairs`` warm/cold pairs of deliveries, stop it."""
    import dagster as dg

    from pipeline.automation.instance import ensure_dagster_home
    from pipeline.automation.worker_address import state_path

    if not (data_dir / "warehouse.duckdb").exists():
        raise SystemExit(
            f"{data_dir}: no warehouse.duckdb; build it first (python -m pipeline run)"
        )
    home = ensure_dagster_home(data_dir)  # an outdated dagster.yaml the pipeline wrote: renewed
    config = yaml.safe_load((home / "dagster.yaml").read_text("utf-8")) or {}
    if (config.get("run_launcher") or {}).get("class") != "WarmRunLauncher":
        raise SystemExit(f"{home / 'dagster.yaml'}: its run_launcher is not WarmRunLauncher")
    address = state_path(home)
    clear_stale_address(address)
    results: dict[str, Any] = {
        "machine": machine(),
        "code": code_version(),
        "data_dir": str(data_dir),
        "as_of": as_of.isoformat(),
        "pairs": pairs,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_before": os.getloadavg()[0],
        "runs": [],
    }
    stamp = f"{int(time.time()) % 100000:05d}"  # keys and file names of this session's own
    ui = UI(data_dir, ui_env(data_dir, home, as_of), data_dir / "ui_delivery.log")
    say(f"`python -m pipeline ui` on port {ui.port} (pid {ui.proc.pid}), log {ui.log}")
    try:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        wait_until("the webserver", lambda: webserver_answers(ui.port), deadline, ui)
        say("webserver answers; waiting for the warm run worker …")
        wait_until(
            "the warm run worker's address file",
            lambda: address.exists() and address.stat().st_mtime >= ui.started,
            deadline,
            ui,
        )
        # Printed just after the address file is written.
        results["worker_warm_up_seconds"] = wait_until(
            "the worker's ready line", ui.worker_seconds, deadline, ui
        )
        say(f"warm run worker ready after {results['worker_warm_up_seconds']} s")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            say("waiting for the daemon to be idle (a first sensor run, if any, to end) …")
            wait_until(
                "the daemon to be idle", lambda: daemon_idle(instance, ui.started), deadline, ui
            )
            for index, (pair, mode) in enumerate(run_order(pairs), start=1):
                say(f"delivery {index}/{2 * pairs} (pair {pair}, {mode}) …")
                run = deliver(data_dir, as_of, instance, ui, address, index, pair, mode, stamp)
                results["runs"].append(run)
                say(
                    f"  {run['launcher']}: file → end {run['file_to_end_seconds']:.2f} s, "
                    f"launch → end {run['launch_to_end_seconds']:.2f} s, "
                    f"CPU {_seconds(run['cpu_seconds'])} s"
                )
    finally:
        say("stopping the UI (SIGINT to its process group) …")
        ui.stop()
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["medians"] = medians(results["runs"])
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("data_dir", type=Path, help="a data directory that holds a build")
    parser.add_argument("--as-of", required=True, help="the runs' as_of (the deliveries' day)")
    parser.add_argument("--pairs", type=int, default=3, help="warm/cold pairs (default 3)")
    parser.add_argument("--out", type=Path, help="results JSON (default DATA_DIR/ui_delivery.json)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON."""
    args = parse_args(argv)
    if args.pairs < 1:
        raise SystemExit("--pairs must be at least 1")
    data_dir = args.data_dir.resolve()
    results = bench(data_dir, dt.date.fromisoformat(args.as_of), args.pairs)
    out = args.out or data_dir / "ui_delivery.json"
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(render_table(results))
    say(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
