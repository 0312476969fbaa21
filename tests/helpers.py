"""Plain helpers shared by the test modules (fixtures live in ``conftest.py``).

Import them as ``from helpers import …``: pytest puts ``tests/`` on ``sys.path`` (the
rootdir-relative ``prepend`` import mode), as it does for ``marts_fixtures`` and
``ingest_support``.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
BENCH_DIR = REPO_ROOT / "bench"
# The local master of the shared `spark` fixture (conftest.py): two threads, the two cores.
SPARK_MASTER = "local[2]"


def bench_module(name: str):  # noqa: ANN201 - the script's module
    """A script of ``bench/`` (a folder of scripts, not a package), imported as the bench runs
    it: with ``bench/`` on ``sys.path``."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    return importlib.import_module(name)


def skip_unless_ci(reason: str) -> None:
    """Skip for a missing prerequisite on a developer machine; fail under ``CI=true``.

    CI has ``../shared/data`` and a package index, so a skip there would hide a failure.
    """
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: a missing prerequisite is a failure, not a skip)")
    pytest.skip(reason)


def cli_env(data_dir: Path, **env: str) -> dict[str, str]:
    """The environment of :func:`cli`: ``data_dir``, as_of 2026-10-31, no DAGSTER_HOME, ``env``."""
    environ = {**os.environ, "PIPELINE_DATA_DIR": str(data_dir), "PIPELINE_AS_OF": "2026-10-31"}
    environ.pop("DAGSTER_HOME", None)
    environ.update(env)
    return environ


def cli(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` on ``data_dir`` (as_of 2026-10-31, no DAGSTER_HOME), captured."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=REPO_ROOT,
        env=cli_env(data_dir, **env),
        capture_output=True,
        text=True,
        timeout=600,
    )


def refused_in_process(
    args: list[str],
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    **env: str,
) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` as :func:`cli` runs it (the same environment), by the command
    line's ``main`` in this process: what it returned and printed, as a process's.

    For a command refused at its start (a setting, an option, a mapping): the same code from
    the arguments to the exit status, without a process that costs about 1.5 s of CPU to import
    Dagster and refuse. What only a process shows (the status ``exit_now`` gives the shell,
    nothing else on stderr from the imports) needs :func:`cli` (docs/testing.md)."""
    from pipeline.__main__ import main

    for name, value in cli_env(data_dir, **env).items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    capsys.readouterr()  # what the test printed before: not the command's
    status = main(args)
    said = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, said.out, said.err)


def start_cli(*args: str, data_dir: Path, **env: str) -> subprocess.Popen:
    """:func:`cli` started, not awaited: its stdout (stderr merged) is a text pipe to read."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        cwd=REPO_ROOT,
        env=cli_env(data_dir, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


# Linux capabilities (linux/capability.h, linux/prctl.h): root's override of file modes.
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, PR_CAPBSET_DROP = 1, 2, 24


def without_mode_override() -> None:
    """``preexec_fn``: drop root's override of file modes from the bounding set, so the program
    the child runs obeys a folder's mode as its owner would (chmod 000: no access).

    Not uid 65534 (``user=``): the interpreter is under /root (mode 0700), which another user
    cannot enter; this keeps the user and takes away only what lets root read anything.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl(PR_CAPBSET_DROP, {cap})")


def mode_000_denies(folder: Path) -> str:
    """Why a folder of mode 000 cannot be tested as unreadable to a process started with
    :func:`without_mode_override` ("" if it can): such a process must fail to list one."""
    if os.geteuid() != 0:
        # The tests write into the folder they made unreadable, which needs root's override.
        return "needs root: the test writes into a folder it made unreadable to the process"
    probe = folder / "probe"
    probe.mkdir()
    probe.chmod(0)
    try:
        listed = subprocess.run(
            [sys.executable, "-c", "import os, sys; os.listdir(sys.argv[1])", str(probe)],
            capture_output=True,
            text=True,
            preexec_fn=without_mode_override,
        )
    except subprocess.SubprocessError as err:  # prctl refused: no CAP_SETPCAP here
        return f"cannot drop root's override of file modes: {err}"
    finally:
        probe.chmod(0o755)
        probe.rmdir()
    if listed.returncode == 0:
        return "a folder of mode 000 stays readable to a process without CAP_DAC_OVERRIDE"
    return ""


# The buyer of delta_orders_csv: outside the CRM, so a new customer once the order lands.
NEW_EMAIL = "late.buyer@example.com"


def delta_orders_csv(ordered_at: str = "2026-10-30 10:00:00") -> str:
    """One completed order of a buyer outside the CRM, as a canonical orders delivery."""
    from pipeline.entities import ENTITIES

    columns = list(ENTITIES["orders"].columns)
    values = {
        "order_id": "E2E-LATE-1",
        "email": NEW_EMAIL,
        "ordered_at": ordered_at,
        "status": "completed",
        "currency": "EUR",
        "gross_amount": "80.00",
        "discount_amount": "0",
        "refund_amount": "0",
        "updated_at": ordered_at,
    }
    return ",".join(columns) + "\n" + ",".join(values.get(c, "") for c in columns) + "\n"


def _rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def serving_rows(data_dir: Path, sql: str) -> list[tuple] | None:
    """Rows of ``sql`` on the serving file, or None while it does not exist yet."""
    path = data_dir / "serving" / "marts.duckdb"
    return _rows(path, sql) if path.exists() else None


def warehouse_rows(data_dir: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the warehouse file, opened read-only."""
    return _rows(data_dir / "warehouse.duckdb", sql)


class OutputLines:
    """Every line a process prints (its stderr merged into stdout), read on a thread, and
    awaited by the text it holds: for the long-lived processes under test (the watcher, the
    warm run worker)."""

    def __init__(self, proc: subprocess.Popen, name: str, deadline: float) -> None:
        self.proc, self.name, self.deadline = proc, name, deadline
        self.lines: list[str] = []
        self.queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)  # the process closed its output

    def wait_for(self, text: str) -> str:
        """The next line holding ``text``; fails at the deadline or when the process ends."""
        end = time.monotonic() + self.deadline
        while (left := end - time.monotonic()) > 0:
            try:
                line = self.queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"{self.name} ended before {text!r}:\n" + "\n".join(self.lines[-60:]))
            self.lines.append(line)
            if text in line:
                return line
        pytest.fail(f"no {text!r} within {self.deadline} s:\n" + "\n".join(self.lines[-60:]))
