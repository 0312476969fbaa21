"""The watcher's stop signals (``pipeline.cli.watch.Stopper``), in this process, around work
that stands for a run.

The kernel hands a signal sent to a process to any thread of it that does not block it; Python
runs the handler in the main thread, at that thread's next Python line. A watcher's main thread
waits for the run thread: the first signal must be handled while the run goes on, whichever
thread it reached, and the run must see it (the end-to-end story is tests/test_cli_watch.py).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from pipeline.cli.run import EXIT_FAILED, EXIT_OK
from pipeline.cli.watch import STOP_SIGNALS, Stopper

WAIT_SECONDS = 20.0  # how long the run below waits for the handler: a deadline, not a timing


@pytest.fixture
def stopper() -> Iterator[Stopper]:
    """A Stopper handling SIGINT and SIGTERM in this process; pytest's handlers put back after."""
    before = {signo: signal.getsignal(signo) for signo in STOP_SIGNALS}
    stopper = Stopper()
    stopper.install()
    try:
        yield stopper
    finally:
        for signo, handler in before.items():
            signal.signal(signo, handler)


def run_until_asked_to_stop(stopper: Stopper, deliver: Callable[[], None]) -> int:
    """A run that delivers SIGTERM with ``deliver`` and then waits for the handler's mark:
    EXIT_OK if the handler ran while the run went on, EXIT_FAILED if not within WAIT_SECONDS."""

    def work() -> int:
        deliver()
        end = time.monotonic() + WAIT_SECONDS
        while not stopper.stopping and time.monotonic() < end:
            time.sleep(0.01)
        return EXIT_OK if stopper.stopping else EXIT_FAILED

    return stopper.run(work)


def test_a_signal_that_reaches_the_run_thread_is_handled_during_the_run(
    stopper: Stopper, capsys: pytest.CaptureFixture[str]
) -> None:
    # Delivered to the run thread itself: the main thread, waiting, is not woken by it.
    deliver = lambda: signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # noqa: E731
    assert run_until_asked_to_stop(stopper, deliver) == EXIT_OK
    assert capsys.readouterr().out == "SIGTERM: stopping after this run\n"
    assert stopper.stopping and not stopper.running


def test_a_signal_that_reaches_the_main_thread_is_handled_during_the_run(
    stopper: Stopper, capsys: pytest.CaptureFixture[str]
) -> None:
    main = threading.main_thread().ident
    assert main is not None
    deliver = lambda: signal.pthread_kill(main, signal.SIGINT)  # noqa: E731
    assert run_until_asked_to_stop(stopper, deliver) == EXIT_OK
    assert capsys.readouterr().out == "SIGINT: stopping after this run\n"


def test_a_run_that_raises_is_reported_and_the_stopper_is_idle_again(
    stopper: Stopper, capsys: pytest.CaptureFixture[str]
) -> None:
    def work() -> int:
        raise RuntimeError("a step broke")

    assert stopper.run(work) == EXIT_FAILED
    assert "RuntimeError: a step broke" in capsys.readouterr().err
    assert not stopper.running and not stopper.stopping
