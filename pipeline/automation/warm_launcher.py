"""The run launcher of the pipeline's Dagster instance: warm runs when the worker is there.

Configured in the dagster.yaml the pipeline writes (:mod:`pipeline.automation.instance`), so
the webserver (runs launched from the UI) and the daemon (the landing sensor's and the nightly
schedule's runs, through the run queue) both launch with it. Each run goes to the warm run
worker of the same instance home (:mod:`pipeline.cli.warm_worker`, started by ``python
-m pipeline ui``), which forks a child that executes it. When the worker is not running, not
reachable or refuses (its code changed, unsafe to fork), the run is launched as Dagster's
:class:`~dagster.DefaultRunLauncher` does, in a fresh process of the code server; the run gets
an engine event saying why it was cold, and the daemon's or webserver's log a line. A worker
known not to serve (dead and being started again, still warming up, restarting for new code:
the note of :func:`~pipeline.automation.worker_address.write_down_note`) is not tried, and the
note is that reason.

Tags: ``pipeline/launcher`` is ``warm`` or ``cold``; a warm run also has ``pipeline/run_pid``,
its child's pid, which termination signals (SIGINT: the run is marked canceled as Dagster
does). The run queue (one run at a time) and the ``warehouse`` pool are untouched: this only
decides which process executes a run the queue has admitted.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
from pathlib import Path

import dagster as dg
from dagster._core.launcher import LaunchRunContext

from pipeline.automation.worker_address import REQUEST_TIMEOUT_SECONDS, read_down_note, state_path

LAUNCHER_TAG = "pipeline/launcher"
RUN_PID_TAG = "pipeline/run_pid"
WORKER_MODULE = "pipeline.cli.warm_worker"
log = logging.getLogger(__name__)


def request_warm_run(home: Path, run_id: str, instance_ref: str) -> tuple[int | None, str]:
    """Ask the worker of ``home`` to execute ``run_id``: (the child's pid, "") or (None, why
    not). Never raises for a missing, dead or refusing worker."""
    # Read before the address: a note names the pid of an address not yet removed after it.
    note = read_down_note(home)
    try:
        address = json.loads(state_path(home).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, note.get("why") or (
            "the warm run worker is not running (`python -m pipeline ui` starts it)"
        )
    except ValueError as err:
        return None, f"the warm run worker's address file is unreadable: {err}"
    if note.get("why") and note.get("pid") == address.get("pid"):
        return None, note["why"]  # known dead or restarting: not tried
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(REQUEST_TIMEOUT_SECONDS)
            conn.connect(address["socket"])
            request = {"run_id": run_id, "instance_ref": instance_ref}
            conn.sendall(json.dumps(request).encode() + b"\n")
            reply = json.loads(conn.makefile("rb").readline() or b"{}")
    except (OSError, ValueError, KeyError) as err:
        return None, f"the warm run worker (pid {address.get('pid')}) is not reachable: {err}"
    if "pid" in reply:
        return int(reply["pid"]), ""
    return None, "the warm run worker refused the run: " + reply.get("refused", "no answer")


def warm_child_alive(pid: int) -> bool:
    """Whether ``pid`` is a live child of a warm worker (not a process that reused the pid)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        # A forked child keeps its parent's command line.
        return proc.status() != psutil.STATUS_ZOMBIE and WORKER_MODULE in proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


class WarmRunLauncher(dg.DefaultRunLauncher):
    """Launches a run in the warm run worker's fork, else as :class:`DefaultRunLauncher`."""

    def launch_run(self, context: LaunchRunContext) -> None:
        """Hand the run to the warm worker; launch it cold if that fails."""
        from dagster._serdes import serialize_value

        run = context.dagster_run
        instance = self._instance
        home = Path(instance.root_directory)
        pid, why = request_warm_run(home, run.run_id, serialize_value(instance.get_ref()))
        if pid is not None:
            instance.add_run_tags(run.run_id, {LAUNCHER_TAG: "warm", RUN_PID_TAG: str(pid)})
            instance.report_engine_event(
                f"Launched in the warm run worker's child process (pid {pid}).",
                run,
                cls=self.__class__,
            )
            return
        instance.add_run_tags(run.run_id, {LAUNCHER_TAG: "cold"})
        instance.report_engine_event(f"Launched cold: {why}.", run, cls=self.__class__)
        log.warning("run %s launched cold: %s", run.run_id, why)
        super().launch_run(context)

    def terminate(self, run_id: str) -> bool:
        """A warm run: marked canceling, then its child interrupted (SIGINT), which ends the
        run as canceled; a cold one as :class:`DefaultRunLauncher` terminates it."""
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        if run.tags.get(LAUNCHER_TAG) != "warm":
            return super().terminate(run_id)
        self._instance.report_run_canceling(run)
        pid = int(run.tags[RUN_PID_TAG])
        if not warm_child_alive(pid):
            # Nothing left to interrupt: marked canceled here, as nothing else would.
            self._instance.report_run_canceled(
                run, f"The run's process (pid {pid}) is gone: marked canceled."
            )
            return True
        os.kill(pid, signal.SIGINT)
        return True
