"""``python -m pipeline ui``: the Dagster webserver and daemon, sharing one instance home.

The webserver serves the UI (runs launched there, asset metadata); the daemon runs the landing
sensor, the nightly schedule and the run queue; the warm run worker
(:mod:`pipeline.cli.warm_worker`) executes the runs they launch without a new
interpreter's imports (when it is not there, a run is launched cold). The first two read
``workspace.yaml`` at the repository root; all three share ``DAGSTER_HOME`` ($DAGSTER_HOME,
else ``<data dir>/dagster_home``), so runs of ``python -m pipeline run`` show in the UI too.
Ctrl-C stops them.

A warm run worker that exits (killed, crashed) is said with its exit status or signal and
started again (:class:`WorkerKeeper`), at most three times in ten minutes: a worker that keeps
dying is left dead, said, and runs are launched cold until ``pipeline ui`` is restarted. Each
time, before a worker is started and as soon as one is seen dead, the run launcher is told
(:func:`~pipeline.automation.worker_address.write_down_note`): a run launched before the new
worker is ready goes cold at once, its log saying that the worker is starting or restarting,
instead of trying the dead worker's address.

One ``pipeline ui`` per instance: it holds ``$DAGSTER_HOME/ui.lock`` (``flock``, released
when the process ends, however it ends) with its pid and address in it. A second one on the
same data directory stops at once, naming the first and where it serves: started on another
port (as a busy port's message suggested), it ran a second daemon on the instance, which
Dagster does not support, and its warm run worker's address and note replaced the first's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.automation.worker_address import remove_down_note, state_path, write_down_note
from pipeline.config import ConfigError, Settings, check_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = REPO_ROOT / "workspace.yaml"
STOP_TIMEOUT_SECONDS = 30
WORKER = "warm run worker"
# At most this many restarts of a warm run worker that exits, in this many seconds: enough for
# a worker killed now and then (the OOM killer, a mistaken kill), while one that dies again at
# each start is not started forever, its warm-up's CPU taken from the runs it should serve.
WORKER_RESTARTS = 3
WORKER_RESTART_WINDOW_SECONDS = 600.0
UI_LOCK = "ui.lock"


def _executable(name: str) -> str:
    """A console script of this virtual env (next to the interpreter), else from PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed: run `make install`")
    return found


def dagster_env(settings: Settings) -> dict[str, str]:
    """The environment both processes share: DAGSTER_HOME and an absolute PIPELINE_DATA_DIR."""
    from pipeline.automation.instance import resolve_dagster_home

    env = dict(os.environ)
    env["PIPELINE_DATA_DIR"] = str(settings.data_dir)
    env["DAGSTER_HOME"] = str(resolve_dagster_home(settings.data_dir))
    return env


def commands(host: str, port: int, workspace: Path = WORKSPACE) -> dict[str, list[str]]:
    """The command lines of the webserver, the daemon and the warm run worker."""
    return {
        WORKER: [sys.executable, "-m", "pipeline.cli.warm_worker"],
        "daemon": [_executable("dagster-daemon"), "run", "-w", str(workspace)],
        "webserver": [
            _executable("dagster-webserver"),
            "-h",
            host,
            "-p",
            str(port),
            "-w",
            str(workspace),
        ],
    }


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def start(host: str, port: int, env: dict[str, str]) -> dict[str, subprocess.Popen]:
    """Start the warm run worker, the daemon and the webserver from the repository root."""
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, argv in commands(host, port).items():
            procs[name] = subprocess.Popen(argv, cwd=REPO_ROOT, env=env)
    except BaseException:
        stop(procs)
        raise
    return procs


def stop(procs: dict[str, subprocess.Popen], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """Ask each process to stop (SIGTERM), then kill what is still running after ``timeout``."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def how_it_ended(returncode: int) -> str:
    """A child's end in words, from ``Popen.returncode``: "was ended by SIGKILL" (negative: the
    signal) or "exited with status 1"."""
    if returncode < 0:
        try:
            return f"was ended by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was ended by signal {-returncode}"
    return f"exited with status {returncode}"


def clock_time() -> str:
    """Now as the notes for the run launcher say it: "05:41:02 UTC"."""
    return dt.datetime.now(dt.UTC).strftime("%H:%M:%S UTC")


def stale_address_pid(home: Path) -> int | None:
    """The pid in ``home``'s warm worker address file if no such process runs (an earlier
    ``pipeline ui`` killed with its worker), else None."""
    import psutil

    try:
        pid = json.loads(state_path(home).read_text(encoding="utf-8")).get("pid")
    except (FileNotFoundError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) and not psutil.pid_exists(pid) else None


class WorkerKeeper:
    """Keeps the warm run worker running: when it exits, says how and starts a new one, at most
    ``limit`` times in ``window`` seconds (``clock``'s); after that it is left dead, said once,
    and runs are launched cold. Looked at by :meth:`check`, from ``main``'s loop.

    With the instance home ``home``, the run launcher is told of each death before anything
    else (a note naming the dead pid: its address is not tried), and why runs are cold until
    the new worker publishes its address."""

    def __init__(
        self,
        proc: subprocess.Popen,
        start: Callable[[], subprocess.Popen],
        limit: int = WORKER_RESTARTS,
        window: float = WORKER_RESTART_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        home: Path | None = None,
    ) -> None:
        self.proc: subprocess.Popen | None = proc  # None once given up
        self.start = start
        self.limit, self.window, self.clock = limit, window, clock
        self.home = home
        self.restarts: list[float] = []  # when each restart in the window was made

    def check(self) -> None:
        """If the worker exited: say so and start a new one, or say that none is started."""
        if self.proc is None or (code := self.proc.poll()) is None:
            return
        dead = self.proc.pid
        how = how_it_ended(code)
        ended = f"the {WORKER} (pid {dead}) {how}"
        now = self.clock()
        self.restarts = [t for t in self.restarts if now - t < self.window]
        window = f"{self.window / 60:g} min"
        cold = "runs are launched cold until `pipeline ui` is restarted"
        at = f"{ended} at {clock_time()}"
        if len(self.restarts) >= self.limit:
            self.proc = None
            self.tell(
                f"{at} and is not started again ({self.limit} restarts in {window}) until "
                "`pipeline ui` is restarted",
                dead,
            )
            self.say(f"{ended}; not started again: {self.limit} restarts in {window}; {cold}")
            return
        # Told before the new worker starts: it removes the note when it publishes its address.
        self.tell(
            f"the {WORKER} is restarting: the previous one (pid {dead}) {how} at "
            f"{clock_time()}; the new one is not ready yet",
            dead,
        )
        try:
            self.proc = self.start()
        except OSError as err:  # no memory for a process, the interpreter gone
            self.proc = None
            self.tell(f"{at} and cannot be started again: {err}", dead)
            self.say(f"{ended}; cannot start it again: {err}; {cold}")
            return
        self.restarts.append(now)
        self.say(
            f"{ended}; started again (pid {self.proc.pid}), restart {len(self.restarts)} of at "
            f"most {self.limit} in {window}; runs are launched cold until it is ready"
        )

    def tell(self, why: str, dead: int | None) -> None:
        """Tell the run launcher why runs go cold (the note), and that ``dead``'s address is
        not to be tried; never fails the loop (an instance home deleted: said)."""
        if self.home is None:
            return
        try:
            write_down_note(self.home, why, dead)
        except OSError as err:
            self.say(f"cannot tell the run launcher that {why}: {err}")

    def close(self) -> None:
        """Remove the note, as no worker of ours is coming (``pipeline ui`` stops)."""
        if self.home is not None:
            with contextlib.suppress(OSError):
                remove_down_note(self.home)

    def say(self, text: str) -> None:
        """Print ``text`` where the webserver and the daemon log (stderr)."""
        print(text, file=sys.stderr, flush=True)


def hold_instance(home: Path, address: str) -> int | str:
    """Take ``home``'s ``ui.lock`` for as long as this process lives and write ``address``
    (with our pid) in it: the lock's descriptor; or, when another process holds it, what that
    one wrote (its pid and address)."""
    fd = os.open(home / UI_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        os.close(fd)
        return holder or "pid unknown"
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}, {address}\n".encode(), 0)
    return fd


def port_hint(port: int) -> str:
    """How to pick another port, in the words of what started us: make sets MAKELEVEL."""
    if os.environ.get("MAKELEVEL"):
        return f"choose another, e.g. make ui PORT={port}"
    return f"choose another, e.g. python -m pipeline ui --port {port}"


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(host: str = "127.0.0.1", port: int = 3000) -> int:
    """Run the webserver, the daemon and the warm run worker until Ctrl-C (0) or until the
    webserver or the daemon exits (1); a worker that exits is started again (WorkerKeeper),
    and without one runs are launched cold; 2 on a configuration error, a busy port or
    another ``pipeline ui`` on the same instance."""
    try:
        # Every setting now, with one line: the daemon would otherwise fail on it at each tick.
        check_environment()
        settings = Settings.resolve()
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    # A broken vendor mapping, likewise: each run the sensor or the schedule launched would
    # fail on it, one failed run after another, where `pipeline run` says it in one line.
    from pipeline.cli.run import mappings_problem

    if (problem := mappings_problem(settings)) is not None:
        print(problem, file=sys.stderr)
        return 2
    env = dagster_env(settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    # Before the port: a second `pipeline ui` on this data directory is refused whatever its
    # port (another port only started a second daemon on the same instance).
    lock = hold_instance(Path(env["DAGSTER_HOME"]), f"http://{shown}:{port}")
    if isinstance(lock, str):
        print(
            f"another `pipeline ui` ({lock}) serves this data directory's Dagster instance "
            f"({env['DAGSTER_HOME']}): open that one, or stop it before starting another; two "
            "on one instance would each run the sensors, the schedule and the run queue",
            file=sys.stderr,
        )
        return 2
    try:
        return serve(host, port, env, settings)
    finally:
        os.close(lock)  # releases it; the process's end would too


def serve(host: str, port: int, env: dict[str, str], settings: Settings) -> int:
    """:func:`main`'s work once the instance is ours: the three processes until Ctrl-C (0) or
    until the webserver or the daemon exits (1); 2 when the port is in use."""
    import dagster as dg

    from pipeline.automation.instance import recover_interrupted_runs

    if not port_free(host, port):
        print(f"port {port} on {host} is in use: {port_hint(port + 1)}", file=sys.stderr)
        return 2
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    with dg.DagsterInstance.get() as instance:
        # Runs of an earlier session that was killed still hold the warehouse slot.
        for run_id in recover_interrupted_runs(instance):
            print(f"marked interrupted run {run_id} failed")
    if not is_loopback(host):
        print(
            f"warning: serving on {host}: anyone who can reach this machine can launch runs",
            file=sys.stderr,
        )
    # Ctrl-C and SIGTERM (systemd, kill) both stop the pair, even where the shell that started
    # us made SIGINT ignored (background jobs).
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    home = Path(env["DAGSTER_HOME"])
    # Runs launched during the worker's warm-up go cold saying so, not trying an address an
    # earlier session's killed worker left behind.
    write_down_note(
        home,
        f"the {WORKER} is starting (since {clock_time()}) and not ready yet",
        stale_address_pid(home),
    )
    procs = start(host, port, env)
    worker = WorkerKeeper(
        procs.pop(WORKER),
        lambda: subprocess.Popen(commands(host, port)[WORKER], cwd=REPO_ROOT, env=env),
        home=home,
    )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(
        f"Dagster UI on http://{shown}:{port}  (data {settings.data_dir}, "
        f"DAGSTER_HOME {env['DAGSTER_HOME']}); Ctrl-C stops it\n"
        f"runs started here build {settings.describe_as_of()}",
        flush=True,
    )
    try:
        while True:
            worker.check()
            for name, proc in procs.items():
                if (code := proc.poll()) is not None:
                    print(f"dagster {name} exited with code {code}; stopping", file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("stopping the Dagster webserver, daemon and warm run worker …", flush=True)
        return 0
    finally:
        stop({WORKER: worker.proc, **procs} if worker.proc is not None else procs)
        worker.close()
