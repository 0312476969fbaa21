"""``python -m pipeline ui`` starts its warm run worker again when it exits
(``pipeline.cli.ui.WorkerKeeper``), on real child processes that stand for the worker: each
reads its exit status from stdin, or is ended by a signal. The restarts' times come from a
clock the test sets, so that the ten-minute window is checked without waiting for it.

With the instance home, the keeper also tells the run launcher of each death (the dead
worker's address removed, a note saying why runs are cold), read here through the launcher's
own ``request_warm_run``. A real worker killed under the keeper is in tests/test_warm_launcher.py;
the real ``pipeline ui`` with its real worker killed is in tests/test_e2e_daemon.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.automation.warm_launcher import request_warm_run
from pipeline.automation.worker_address import state_path
from pipeline.cli.ui import WorkerKeeper, how_it_ended, stale_address_pid

# A stand-in worker: it runs until told its exit status on stdin (or killed). It first puts
# SIGTERM and SIGINT back to their defaults, unblocked, then says it is ready: a child inherits
# an ignored or blocked signal from the process that starts it, and in one full `make test` the
# stand-in started by a pytest worker outlived a SIGTERM (both signal tests failed after 60 s,
# passing alone and in other runs; what left that worker's signals so was not found). The real
# worker is started by `pipeline ui`'s own process.
STAND_IN = (
    "import signal, sys; signal.signal(signal.SIGTERM, signal.SIG_DFL); "
    "signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT}); "
    "print('ready', flush=True); "
    "sys.exit(int(sys.stdin.readline()))"
)
COLD = "runs are launched cold until `pipeline ui` is restarted"


class Clock:
    """The keeper's clock, in seconds, set by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen]]:
    """Every stand-in worker started by the test; those still running are killed after it."""
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def start(started: list[subprocess.Popen]) -> Callable[[], subprocess.Popen]:
    def start_one() -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", STAND_IN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        return proc

    return start_one


def exits(proc: subprocess.Popen, status: int) -> None:
    """Make ``proc`` exit with ``status`` and wait for it (so the keeper's poll sees it)."""
    assert proc.stdin is not None
    proc.stdin.write(f"{status}\n")
    proc.stdin.close()
    assert proc.wait(timeout=60) == status


def ended_by(proc: subprocess.Popen, signo: signal.Signals) -> None:
    proc.send_signal(signo)
    assert proc.wait(timeout=60) == -signo


def test_a_worker_that_exits_is_said_and_started_again_three_times_in_ten_minutes(
    start: Callable[[], subprocess.Popen], capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    keeper = WorkerKeeper(start(), start, clock=clock)
    first = keeper.proc
    keeper.check()  # running: nothing to do
    assert keeper.proc is first and capsys.readouterr().err == ""

    said = []
    for at, end in ((0, signal.SIGKILL), (100, 3), (200, signal.SIGTERM)):
        clock.now = at
        dead = keeper.proc
        if isinstance(end, signal.Signals):
            ended_by(dead, end)
        else:
            exits(dead, end)
        keeper.check()
        assert keeper.proc is not dead and keeper.proc.poll() is None  # a new one, running
        said.append((dead.pid, keeper.proc.pid))
    ready = "runs are launched cold until it is ready"
    assert capsys.readouterr().err.splitlines() == [
        f"the warm run worker (pid {said[0][0]}) was ended by SIGKILL; started again "
        f"(pid {said[0][1]}), restart 1 of at most 3 in 10 min; {ready}",
        f"the warm run worker (pid {said[1][0]}) exited with status 3; started again "
        f"(pid {said[1][1]}), restart 2 of at most 3 in 10 min; {ready}",
        f"the warm run worker (pid {said[2][0]}) was ended by SIGTERM; started again "
        f"(pid {said[2][1]}), restart 3 of at most 3 in 10 min; {ready}",
    ]

    # A fourth exit 5 minutes after the first restart: three restarts in the last ten
    # minutes already, so none more; said once, then nothing to look after.
    clock.now = 300
    last = keeper.proc
    exits(last, 1)
    keeper.check()
    assert keeper.proc is None
    keeper.check()
    assert capsys.readouterr().err.splitlines() == [
        f"the warm run worker (pid {last.pid}) exited with status 1; not started again: "
        f"3 restarts in 10 min; {COLD}"
    ]


def test_restarts_older_than_ten_minutes_no_longer_count(
    start: Callable[[], subprocess.Popen], capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    keeper = WorkerKeeper(start(), start, clock=clock)
    for at in (0, 100, 200):
        clock.now = at
        ended_by(keeper.proc, signal.SIGKILL)
        keeper.check()
    # Ten minutes after the first restart it leaves the window: a fourth restart is made.
    clock.now = 600
    ended_by(keeper.proc, signal.SIGKILL)
    keeper.check()
    assert keeper.proc is not None and keeper.proc.poll() is None
    assert "restart 3 of at most 3 in 10 min" in capsys.readouterr().err.splitlines()[-1]
    # Those at 100, 200 and 600 s are all within ten minutes of 650 s: given up.
    clock.now = 650
    ended_by(keeper.proc, signal.SIGKILL)
    keeper.check()
    assert keeper.proc is None
    assert capsys.readouterr().err.endswith(f"not started again: 3 restarts in 10 min; {COLD}\n")


def test_a_worker_that_cannot_be_started_again_is_said(
    start: Callable[[], subprocess.Popen], capsys: pytest.CaptureFixture[str]
) -> None:
    def cannot() -> subprocess.Popen:
        return subprocess.Popen(["/nonexistent/python"])

    keeper = WorkerKeeper(start(), cannot, clock=Clock())
    dead = keeper.proc
    exits(dead, 0)
    keeper.check()
    assert keeper.proc is None
    assert capsys.readouterr().err == (
        f"the warm run worker (pid {dead.pid}) exited with status 0; cannot start it again: "
        f"[Errno 2] No such file or directory: '/nonexistent/python'; {COLD}\n"
    )


def test_how_a_child_ended_in_words() -> None:
    assert how_it_ended(-signal.SIGKILL) == "was ended by SIGKILL"
    assert how_it_ended(-signal.SIGSEGV) == "was ended by SIGSEGV"
    assert how_it_ended(0) == "exited with status 0"
    assert how_it_ended(1) == "exited with status 1"
    assert how_it_ended(-200) == "was ended by signal 200"  # not a signal Python names


def test_the_run_launcher_is_told_of_each_death_before_the_new_worker_starts(
    start: Callable[[], subprocess.Popen],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the instance home, the keeper removes a dead worker's address (and its socket's
    folder) as soon as it sees the death, and what a run launched then is told (the note the
    launcher reads) says the worker is restarting; once given up, that it is not started again;
    when `pipeline ui` stops, the note goes."""
    monkeypatch.setattr("pipeline.cli.ui.clock_time", lambda: "05:41:02 UTC")
    clock = Clock()
    keeper = WorkerKeeper(start(), start, clock=clock, home=tmp_path)
    folder = tmp_path / "pipeline-warm-abc"  # as the worker's private socket folder is named
    folder.mkdir()
    dead = keeper.proc

    def published(proc: subprocess.Popen) -> None:
        """The address file as the worker writes it when ready."""
        address = {"pid": proc.pid, "socket": str(folder / "worker.sock"), "code": "x"}
        state_path(tmp_path).write_text(json.dumps(address), encoding="utf-8")

    published(dead)
    keeper.check()  # running: nothing told
    assert request_warm_run(tmp_path, "r1", "{}")[1].startswith(
        f"the warm run worker (pid {dead.pid}) is not reachable: "  # a stand-in has no socket
    )
    ended_by(dead, signal.SIGKILL)
    keeper.check()
    assert not state_path(tmp_path).exists() and not folder.exists()
    restarting = (
        f"the warm run worker is restarting: the previous one (pid {dead.pid}) was ended by "
        "SIGKILL at 05:41:02 UTC; the new one is not ready yet"
    )
    assert request_warm_run(tmp_path, "r1", "{}") == (None, restarting)

    # Killed again before it published its address (in its warm-up): the note is renewed.
    second = keeper.proc
    exits(second, 1)
    keeper.check()
    assert request_warm_run(tmp_path, "r1", "{}") == (
        None,
        f"the warm run worker is restarting: the previous one (pid {second.pid}) exited with "
        "status 1 at 05:41:02 UTC; the new one is not ready yet",
    )
    # The third worker publishes (the note would be removed by it: test_warm_launcher.py),
    # then dies; the fourth dies too: three restarts in ten minutes, given up.
    third = keeper.proc
    published(third)
    ended_by(third, signal.SIGTERM)
    keeper.check()
    assert not state_path(tmp_path).exists()
    fourth = keeper.proc
    ended_by(fourth, signal.SIGKILL)
    keeper.check()
    assert keeper.proc is None
    assert request_warm_run(tmp_path, "r1", "{}") == (
        None,
        f"the warm run worker (pid {fourth.pid}) was ended by SIGKILL at 05:41:02 UTC and is "
        "not started again (3 restarts in 10 min) until `pipeline ui` is restarted",
    )
    keeper.close()
    assert request_warm_run(tmp_path, "r1", "{}") == (
        None,
        "the warm run worker is not running (`python -m pipeline ui` starts it)",
    )


def test_an_address_left_by_a_dead_process_is_stale(
    started: list[subprocess.Popen], tmp_path: Path
) -> None:
    assert stale_address_pid(tmp_path) is None  # no address file
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that existed and is gone (reaped)
    state_path(tmp_path).write_text(json.dumps({"pid": gone.pid}), encoding="utf-8")
    assert stale_address_pid(tmp_path) == gone.pid
    state_path(tmp_path).write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")
    assert stale_address_pid(tmp_path) is None  # a live process: not ours to judge
    state_path(tmp_path).write_text("{half", encoding="utf-8")
    assert stale_address_pid(tmp_path) is None
