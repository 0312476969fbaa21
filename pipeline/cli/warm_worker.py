"""The warm run worker: runs launched by the daemon or the UI without an interpreter's start.

Dagster's own launcher asks the code server to start each run in a fresh interpreter
(``multiprocessing`` "spawn"), which pays Dagster's, the definitions', Great Expectations' and
matplotlib's imports and GX's context again for every run (about 3.5-5 s, docs/performance.md).
``python -m pipeline ui`` starts this worker beside the webserver and the daemon. It pays those
once (:func:`pipeline.cli.watch.warm_up`, shared with ``python -m pipeline watch``, plus the
repository the run's job is rebuilt from), then waits on a Unix socket for the run launcher
(:mod:`pipeline.automation.warm_launcher`) and forks one child per run. The child executes the
run exactly as ``dagster api execute_run`` does; fork isolates it (memory, a crash, termination
by SIGINT from the launcher). It lives with the command line that starts it, above the
definitions it loads (docs/architecture.md, "Layers").

What the parent may hold when it forks, checked before each fork (a run is refused, and then
launched cold, otherwise): no Python thread but its own (GX's import starts a Spark Connect
thread pool, shut down after the warm-up) and no open DuckDB file. It never opens the
warehouse, nor a Dagster instance: the child makes its own from the launcher's instance ref.

A code change must not run stale code: every request compares the project's files (names,
sizes, modification times) and the installed packages (their metadata folders) with those at
load (:mod:`pipeline.automation.loaded_code`); if they differ the worker refuses the run (the
launcher launches it cold), says what changed, and restarts itself (``exec``) to load the new
code. New code that does not load (a syntax error saved mid-edit, a package that does not
import) is said with its traceback; the worker then waits, without an address (runs are
cold), until the code or the packages change again, and tries once more.

A long-lived process: it looks every second for its socket (a cleaner of ``/tmp`` may remove
it) and listens on a new one if it is gone; a child that ends by a signal
(killed, crashed) or with a status other than 0 is said with its run (the run itself is marked
failed by the ``interrupted_runs`` sensor, as for any run whose process is gone).

Its address is ``<DAGSTER_HOME>/warm_worker.json`` (pid, socket path, code fingerprint); the
socket lives in a private temporary folder, as a socket path is limited to about 100 bytes.
Beside it, ``warm_worker_down.json`` says why no worker is to be tried (:func:`write_down_note`;
both files are :mod:`pipeline.automation.worker_address`'s, which the launcher reads):
written by ``pipeline ui`` when it starts a worker or sees one die, and by the worker when it
restarts for new code or cannot load it; a worker that publishes its address removes it. The
launcher does not try an address whose pid the note names: a dead worker's address is never
tried, and the run's log says the worker is restarting instead of "not reachable".
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from pipeline.automation.loaded_code import REPO_ROOT, LoadedCode
from pipeline.automation.worker_address import (
    REQUEST_TIMEOUT_SECONDS,
    remove_down_note,
    state_path,
    write_atomically,
    write_down_note,
)

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
LOOK_SECONDS = 1.0  # how often the idle worker reaps finished children and checks for a stop


def code_fingerprint(root: Path = REPO_ROOT) -> str:
    """One hash of the project's code files under ``root`` and the installed packages
    (:class:`~pipeline.automation.loaded_code.LoadedCode`); stat only, a few milliseconds."""
    return LoadedCode.now(root).digest()


def fork_hazards() -> list[str]:
    """Why forking now would be unsafe (empty if it is safe): other Python threads (a lock held
    by one stays held in the child) and open DuckDB files (a second handle on a file)."""
    import psutil

    hazards = [
        f"thread {t.name}" for t in threading.enumerate() if t is not threading.main_thread()
    ]
    hazards += [
        f"open file {f.path}"
        for f in psutil.Process().open_files()
        if f.path.endswith((".duckdb", ".duckdb.wal"))
    ]
    return hazards


def warm_up(root: Path = REPO_ROOT) -> float:
    """Load what a run loads (see :func:`pipeline.cli.watch.warm_up`) and the repository of the
    workspace's code location, as the child rebuilds the run's job from it; seconds it took."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from pipeline.cli.watch import warm_up as load_run_code

    started = time.perf_counter()
    # The child's Dagster names (private: see execute_in_child), imported here so that a Dagster
    # whose names moved stops the worker at its start and runs launch cold, never a run failing.
    from dagster._cli.api import _execute_run_command_body  # noqa: F401
    from dagster._core.instance.ref import InstanceRef  # noqa: F401
    from dagster._serdes import deserialize_value  # noqa: F401
    from dagster._utils.interrupts import capture_interrupts  # noqa: F401

    load_run_code()
    # The same module and attribute as workspace.yaml: the Definitions object caches its
    # repository, so the child's ``recon_job.get_definition()`` finds it built.
    ReconstructableRepository.for_module(
        "pipeline.definitions", "defs", working_directory=str(root)
    ).get_definition()
    # GX imports pyspark's Spark Connect client when pyspark is installed, whose class body
    # starts a thread pool; the pool is made again on first use (never, with DuckDB).
    reattach = sys.modules.get("pyspark.sql.connect.client.reattach")
    if reattach is not None:
        reattach.ExecutePlanResponseReattachableIterator.shutdown()
    return time.perf_counter() - started


def execute_in_child(run_id: str, instance_ref: str) -> int:
    """Execute the run ``run_id`` in this (forked) process as ``dagster api execute_run`` does;
    its exit status. The run's events and status go to the instance, as from a cold launch."""
    from dagster import DagsterInstance
    from dagster._cli.api import _execute_run_command_body
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes import deserialize_value
    from dagster._utils.interrupts import capture_interrupts

    # The parent's handlers stop the worker; the run wants Python's (SIGINT: KeyboardInterrupt,
    # which Dagster turns into a canceled run when the launcher marked it canceling). Both
    # signals are blocked since before the fork: one sent meanwhile is delivered here, once
    # Dagster's handler is in place.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    ref = deserialize_value(instance_ref, InstanceRef)
    with capture_interrupts(), DagsterInstance.from_ref(ref) as instance:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        # The same body as `dagster api execute_run`: the "Started process for run (pid)" event
        # (read by recovery and termination), env vars, failure reporting.
        return _execute_run_command_body(
            run_id, instance, lambda _event: None, set_exit_code_on_failure=False
        )


class Worker:
    """The warm parent: serves run requests on a Unix socket and forks a child per run."""

    def __init__(
        self,
        home: Path,
        code: LoadedCode,
        root: Path = REPO_ROOT,
        search_path: list[str] | None = None,
    ) -> None:
        self.home = Path(home)
        self.root = root
        self.code = code  # taken before the warm-up: a change during it counts as a change
        # The package folders ``code`` was taken from: a folder the warm-up added to sys.path
        # must not count as a change (a restart at every request).
        self.search_path = list(sys.path if search_path is None else search_path)
        self.stopping = False
        self.restart = ""  # why the worker must restart to load new code ("" while it need not)
        self.children: dict[int, str] = {}  # pid -> run id, until reaped
        self._bind()

    def _bind(self) -> None:
        """A listening socket in a new private folder."""
        self._dir = Path(tempfile.mkdtemp(prefix="pipeline-warm-"))  # mode 0700: ours only
        self.socket_path = self._dir / "worker.sock"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.socket_path))
        self.listener.listen(8)

    def publish(self) -> None:
        """Write the address file the launcher reads (atomically: never half a file), then
        remove the note that said why there was none (its pid may be ours: a restart)."""
        doc = {"pid": os.getpid(), "socket": str(self.socket_path), "code": self.code.digest()}
        write_atomically(state_path(self.home), doc)
        remove_down_note(self.home)

    def keep_address(self) -> None:
        """Listen on a new socket if ours was removed (a cleaner of ``/tmp`` removes old
        folders): a long-lived worker must stay reachable. A removed address file is left
        removed: that is how ``bench/ui_delivery.py`` has runs launched cold."""
        if self.socket_path.exists():
            return
        self.listener.close()
        shutil.rmtree(self._dir, ignore_errors=True)
        self._bind()
        print(
            f"warm run worker: its socket was removed; listening again on {self.socket_path}",
            flush=True,
        )
        with contextlib.suppress(OSError):  # the instance home is gone (its data directory)
            self.publish()

    def close(self) -> None:
        """Remove the address file (if still ours) and the socket; when restarting for new
        code, say so first (the note), so that runs launched meanwhile say why they are cold."""
        if self.restart:
            with contextlib.suppress(OSError):  # the instance home is gone (its data directory)
                write_down_note(
                    self.home,
                    f"the warm run worker (pid {os.getpid()}) is restarting to load the new "
                    f"code ({self.restart})",
                    os.getpid(),
                )
        path = state_path(self.home)
        with contextlib.suppress(FileNotFoundError, ValueError):
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()
        self.listener.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def reap(self) -> None:
        """Collect finished children, also those forked before a restart (no zombies); say
        which run's child ended by a signal or with a status other than 0."""
        with contextlib.suppress(ChildProcessError):
            while (ended := os.waitpid(-1, os.WNOHANG))[0]:
                pid, status = ended
                run_id = self.children.pop(pid, None)
                if os.WIFSIGNALED(status):
                    how = f"was ended by {signal.Signals(os.WTERMSIG(status)).name}"
                elif os.waitstatus_to_exitcode(status) != 0:
                    how = f"exited with status {os.waitstatus_to_exitcode(status)}"
                else:
                    continue  # the run reported its own outcome, failed runs included
                of = f"of run {run_id} " if run_id else ""
                print(
                    f"warm run worker: the process {of}(pid {pid}) {how}; a run it left "
                    "unfinished is marked failed by the interrupted_runs sensor",
                    flush=True,
                )

    def serve(self) -> None:
        """Answer requests until stopped or until the code changed."""
        while not self.stopping and not self.restart:
            ready, _, _ = select.select([self.listener], [], [], LOOK_SECONDS)
            self.reap()
            if ready and not self.stopping:
                with contextlib.suppress(OSError):  # a launcher that gave up before we accepted
                    conn, _ = self.listener.accept()
                    with conn:
                        conn.settimeout(REQUEST_TIMEOUT_SECONDS)
                        with contextlib.suppress(OSError, ValueError):
                            self.answer(conn)
            if not self.stopping and not self.restart:
                self.keep_address()

    def answer(self, conn: socket.socket) -> None:
        """Read one request (a JSON line: run_id, instance_ref), fork its child, reply."""
        request = json.loads(conn.makefile("rb").readline())
        if changed := LoadedCode.now(self.root, self.search_path).changes_since(self.code):
            self.restart = changed
            reply = {"refused": changed}
        elif hazards := fork_hazards():
            reply = {"refused": "unsafe to fork: " + ", ".join(hazards)}
        else:
            pid = self.fork(request["run_id"], request["instance_ref"], conn)
            self.children[pid] = request["run_id"]
            reply = {"pid": pid}
        conn.sendall(json.dumps(reply).encode() + b"\n")

    def fork(self, run_id: str, instance_ref: str, conn: socket.socket) -> int:
        """Fork the child that executes ``run_id``; its pid (in the parent)."""
        sys.stdout.flush()
        sys.stderr.flush()
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        pid = os.fork()
        if pid != 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        else:  # the child: never returns
            code = 1
            try:
                self.listener.close()
                conn.close()  # the parent answers the launcher
                code = execute_in_child(run_id, instance_ref)
            except BaseException:  # noqa: BLE001 - reported by Dagster; the child must exit
                import traceback

                traceback.print_exc()
            finally:
                from pipeline.process_exit import exit_now

                exit_now(code)  # no teardown: DuckDB's bindings print leak warnings there
        return pid


class _Stopped:
    """Set by SIGINT/SIGTERM while the worker waits for loadable code."""

    stopping = False


def _stop(worker: Worker | type[_Stopped]):  # noqa: ANN202 - a signal handler
    def handle(_signo: int, _frame: object) -> None:
        worker.stopping = True

    return handle


def restart(why: str) -> None:
    """Load the code again in a new program image (same pid, so the children forked before
    stay ours to reap); never returns."""
    print(f"warm run worker: restarting to load the new code ({why})", flush=True)
    os.execv(sys.executable, [sys.executable, "-m", "pipeline.cli.warm_worker"])


def wait_for_change(code: LoadedCode, search_path: list[str], root: Path = REPO_ROOT) -> str:
    """Wait until the code or the installed packages (in the folders of ``search_path``)
    differ from ``code``: what changed, or "" when stopped by SIGINT/SIGTERM first."""
    for signo in STOP_SIGNALS:
        signal.signal(signo, _stop(_Stopped))
    while not _Stopped.stopping:
        time.sleep(LOOK_SECONDS)  # a signal's handler runs, then the sleep goes on: one look
        if _Stopped.stopping:
            break
        if changed := LoadedCode.now(root, search_path).changes_since(code):
            return changed
    return ""


def main() -> int:
    """Warm up, publish the address, serve until SIGINT/SIGTERM; restart on a code change."""
    home = Path(os.environ["DAGSTER_HOME"])
    print(f"warm run worker: loading the code (pid {os.getpid()}) …", flush=True)
    search_path = list(sys.path)
    code = LoadedCode.now(search_path=search_path)
    try:
        seconds = warm_up()
    except Exception:  # noqa: BLE001 - new code that does not load: said, then waited out
        import traceback

        traceback.print_exc()
        print(
            "warm run worker: cannot load the code (the error above); runs are launched cold "
            "until the code or the installed packages change and it loads",
            flush=True,
        )
        with contextlib.suppress(OSError):
            write_down_note(
                home,
                f"the warm run worker (pid {os.getpid()}) cannot load the code (its error is in "
                "the output of `pipeline ui`); it tries again when the code or the installed "
                "packages change",
                os.getpid(),
            )
        if changed := wait_for_change(code, search_path):
            restart(changed)
        return 0
    worker = Worker(home, code, search_path=search_path)
    for signo in STOP_SIGNALS:
        signal.signal(signo, _stop(worker))
    worker.publish()
    print(f"warm run worker ready after {seconds:.1f} s", flush=True)
    try:
        worker.serve()
    finally:
        worker.close()
    if worker.restart:
        restart(worker.restart)
    return 0


if __name__ == "__main__":
    from pipeline.process_exit import exit_now

    exit_now(main())
