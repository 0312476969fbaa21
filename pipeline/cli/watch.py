"""``python -m pipeline watch``: a long-lived run worker that stays warm between deliveries.

A cold ``python -m pipeline run`` for one small delivery pays, before its first step, the
interpreter's start, Dagster's and the definitions' imports, and inside ``raw_ingest`` the import
of Great Expectations and its context (about 2.2 s each on an idle machine, docs/performance.md).
The watcher pays them once, at start, then prints ``ready, watching <landing>`` and looks at
``landing/`` every ``--interval`` seconds with the landing sensor's own rules
(``pipeline.automation.sensors.scan``: settle seconds, ``.done``/``.ready`` markers, temporary
and hidden files left alone). When new complete files are there it runs exactly what ``pipeline
run`` runs (``pipeline.cli.run.run_once``, tagged ``pipeline/trigger=watch``), recorded in the
Dagster instance like a command-line run, with the same summary and exit-status lines.

One writer: between runs the watcher holds no warehouse connection. It takes the run lock for
each look that found files (``run_lock``: another ``pipeline run``, a run from the UI or a
DuckDB shell holding the warehouse makes it wait for the next look, said once). Files the
ingest ledger already has (landed, skipped or refused) start no run. A run with refused files is
reported and the watcher carries on. So does a configuration error found after the start
(landing/ gone or unreadable, the demo's date file edited wrong, a warehouse DuckDB cannot
open, a full disk): said once, checked again at each look. A folder or file inside landing/
that cannot be read is said too (once), while the other files run; it runs once it can be read.

A failed run is reported and its files are tried again later (:class:`Backoff`: 1 min after
the failure, doubling after each failed try up to 30 min; ``--retry-after``, ``--retry-max``),
each try said with its attempt number and the wait before the next; a new or changed file still
starts a run at once (the failed run's files go with it), a file the run refused is never tried
again, and a run that completes (status 0 or 3) resets the wait.

Signals: SIGINT or SIGTERM while idle ends the watcher at once with status 0; during a run it
says "stopping after this run", lets the run finish and then ends with 0; a second one during
the run ends the process at once (see :class:`Stopper`).
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

from pipeline.cli.run import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_NEEDS_ATTENTION,
    EXIT_OK,
    EXIT_STATUSES,
)
from pipeline.words import counted

# Seconds between looks. Not the landing sensor's 30 s: that paces a daemon that starts a
# process per run, while a look here is a directory listing and a stat per file (files are
# hashed once settled), cheap enough to keep a delivery's wait short.
DEFAULT_INTERVAL_SECONDS = 5.0
TRIGGER = "watch"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Less room than this on the data directory's disk counts as full: a run started then failed
# before its first step with SQLite's "disk I/O error" and a page of traceback, and its files
# were not tried again. The watcher waits for room instead, said once, and then runs them.
MIN_FREE_BYTES = 1 << 20
# At most this long between a stop signal and its handler while a run goes on (Stopper.run).
HANDLER_DELAY_SECONDS = 0.2
# A failed run's files are tried again this long after it, the wait doubling after each failed
# retry up to the cap: a cause that clears by itself (a share mounted again, a lock let go) is met
# within a minute, one that needs a human costs a run every half hour, not every look.
DEFAULT_RETRY_SECONDS = 60.0
DEFAULT_RETRY_MAX_SECONDS = 1800.0
# The runs whose files are not tried again: they completed (refused files and quarantined
# rows are the files' own fault, and another run would refuse them again).
COMPLETED = (EXIT_OK, EXIT_NEEDS_ATTENTION)


def said_seconds(seconds: float) -> str:
    """A wait in words: "0.4 s", "45 s", "2 min", "1.5 min"."""
    return f"{seconds:g} s" if seconds < 60 else f"{seconds / 60:g} min"


@dataclass(frozen=True)
class Backoff:
    """When the files of a failed run are tried again: ``first`` seconds after the first
    failure, twice as long after each further failure in a row, never longer than ``most``."""

    first: float = DEFAULT_RETRY_SECONDS
    most: float = DEFAULT_RETRY_MAX_SECONDS

    @classmethod
    def given(cls, retry_after: float, retry_max: float) -> Backoff:
        """The backoff of ``--retry-after`` and ``--retry-max``; ValueError, saying why, for
        waits that make no sense (none, or a most below the first)."""
        if retry_after <= 0 or retry_max < retry_after:
            raise ValueError(
                f"--retry-after {retry_after:g} --retry-max {retry_max:g}: give seconds > 0, "
                "the most at least the first"
            )
        return cls(retry_after, retry_max)

    def wait(self, failures: int) -> float:
        """Seconds from the end of the ``failures``-th failed run in a row to the next try."""
        if failures < 1:
            raise ValueError(f"failures must be at least 1, not {failures}")
        # The exponent is bounded: 2.0 ** 1024 overflows, and any cap is reached long before.
        return min(self.most, self.first * 2.0 ** min(failures - 1, 64))


@dataclass
class Retry:
    """The files of the failed runs in a row since the last run that completed, and when they
    are tried next (``time.monotonic()``)."""

    files: dict[str, str]  # path under landing/ -> sha256, as the failed run took it
    failures: int  # failed runs in a row: the next try is attempt failures + 1
    due: float

    def still_to_try(self, state, ledger: dict[str, str]) -> dict[str, str]:  # noqa: ANN001
        """The files still in landing/ as the failed run took them (``state``: the last
        look's, which hashed them) and not refused by the ingest (``ledger``: hash -> status)."""

        def unchanged(rel: str, sha: str) -> bool:
            seen = state.files.get(rel)
            return seen is not None and seen.sha256 == sha

        return worth_trying(self.files, ledger, unchanged)


def worth_trying(
    files: dict[str, str], ledger: dict[str, str], still_there: Callable[[str, str], bool]
) -> dict[str, str]:
    """The files of a failed run (path under landing/ -> sha256) to try again: those the
    ingest did not refuse (``ledger``: hash -> status; a refusal is the file's own fault, and
    another run would refuse it again) and ``still_there(path, sha256)``, in landing/ as the
    run took them. The one rule of both the end of a failed run (:meth:`Watcher.after_run`:
    still a file there, nothing hashed again) and each try (:meth:`Retry.still_to_try`:
    unchanged at the last look, which hashed it)."""
    return {
        rel: sha
        for rel, sha in files.items()
        if ledger.get(sha) != "refused" and still_there(rel, sha)
    }


def disk_full(folder: Path) -> str:
    """Why no run can write into ``folder`` now ("" if one can): the disk holding it is full
    (room for this user, as ``df`` shows it)."""
    if shutil.disk_usage(folder).free >= MIN_FREE_BYTES:
        return ""
    return f"the disk holding {folder} is full (less than {MIN_FREE_BYTES >> 20} MiB free)"


class _Stop(Exception):  # noqa: N818 - not an error: the watcher was asked to stop
    """Raised in the main thread by a stop signal that arrives while the watcher is idle."""


class Stopper:
    """What SIGINT and SIGTERM do to the watcher.

    Dagster replaces the process's SIGINT and SIGTERM handlers while a run executes in the main
    thread, and interrupts the run at its next step on the first signal. A run therefore
    executes in a thread of its own (where Dagster leaves the handlers alone) while the main
    thread waits for it and keeps these handlers: idle, the first signal stops the watcher at
    once; during a run it asks to stop after the run; a second one during a run ends the
    process at once (status 130), as a kill would: what the run committed stays (each file
    lands in its own transaction), the rest is not written, and the run, left "started" in
    the Dagster instance, is marked failed by the next run (``recover_interrupted_runs``).
    """

    def __init__(self) -> None:
        self.stopping = False
        self.running = False
        self._runner: ThreadPoolExecutor | None = None

    def install(self) -> None:
        """Handle SIGINT and SIGTERM from now on (in the main thread)."""
        for signo in STOP_SIGNALS:
            signal.signal(signo, self._handle)

    def _handle(self, signo: int, _frame: object) -> None:
        name = signal.Signals(signo).name
        if not self.running:
            self.stopping = True
            raise _Stop(name)
        if self.stopping:
            print(f"{name} again: ending now, the run unfinished", file=sys.stderr, flush=True)
            os._exit(130)
        self.stopping = True
        print(f"{name}: stopping after this run", flush=True)

    def run(self, work: Callable[[], int]) -> int:
        """``work()`` on the run thread, waited for here; its result (EXIT_FAILED if it raised,
        after printing the traceback).

        Always the same thread: caches keyed by thread stay one entry each. Matplotlib caches
        an open font per thread (``font_manager.get_font``): on a new thread per run, a
        watcher kept two more font files open after every run that drew the charts."""
        if self._runner is None:
            self._runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watch-run")
        self.running = True
        try:
            future = self._runner.submit(work)
            # A signal's handler runs in this (the main) thread while it waits, as soon as the
            # signal wakes it (within milliseconds here). Python runs handlers only in this
            # thread, at its next line, whichever thread the kernel handed the signal to; in
            # slices, a signal that did not wake it waits HANDLER_DELAY_SECONDS at most, not
            # the rest of the run (in one CI run "stopping after this run" came at its end).
            while True:
                with contextlib.suppress(FutureTimeout):
                    return future.result(timeout=HANDLER_DELAY_SECONDS)
        except Exception:  # noqa: BLE001 - the watcher outlives a run that raised
            traceback.print_exc()
            return EXIT_FAILED
        finally:
            self.running = False


def warm_up() -> float:
    """Load now what a run would load on first use; the seconds it took: Dagster, the
    definitions and the job (``pipeline_job``), Great Expectations and the process's ephemeral
    GX context (``runner._session``), the GX suite of every file in ``expectations/`` and GX's
    DuckDB metrics (``gx_duckdb``), and matplotlib for the charts."""
    from pipeline.cli.run import pipeline_job
    from pipeline.validation.gx_duckdb import register_duckdb_metrics
    from pipeline.validation.runner import _session
    from pipeline.validation.suites import read_suites

    started = time.perf_counter()
    pipeline_job()
    session = _session()
    for suite in read_suites().values():  # cached by content: a changed file is built again
        session.suite(suite)
    register_duckdb_metrics()
    import matplotlib.backends.backend_agg  # noqa: F401 - what the charts' first draw imports
    import matplotlib.figure  # noqa: F401

    _first_instance()
    return time.perf_counter() - started


def _first_instance() -> None:
    """Make and drop a Dagster instance configured as ours, in a scratch folder: a process's
    first instance imports its storages (SQLite, alembic) and the run queue and launcher, 0.5 s
    of CPU (one-off, 100k) that the watcher's first run, and every run the warm run worker forks
    (its children make their own instance), would pay. Not the user's instance: the worker holds
    no open file at a fork."""
    import tempfile

    import dagster as dg

    from pipeline.automation.instance import ensure_instance_config

    folder = Path(tempfile.mkdtemp(prefix="pipeline-warm-instance-"))
    try:
        with dg.DagsterInstance.from_config(str(ensure_instance_config(folder))):
            pass
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ledger_known(warehouse: Path):  # noqa: ANN201 - ({hash: ledger status}, landing_stats rows)
    """The ledger's hashes with their status (landed, skipped, refused) and
    ``meta.landing_stats``' hash of each landing file with its stat then, read from
    ``warehouse`` (read-only, closed on return); empty for a warehouse that has none yet. The
    caller holds the run lock."""
    from pipeline.ingest.ledger import hashed_before
    from pipeline.warehouse import open_warehouse, rows, table_exists

    if not warehouse.exists():
        return {}, {}
    with open_warehouse(warehouse, read_only=True) as con:
        known = {}
        if table_exists(con, "meta", "ingest_ledger"):
            sql = "select file_sha256, status from meta.ingest_ledger"
            known = dict(rows(con, sql))
        stats = hashed_before(con) if table_exists(con, "meta", "landing_stats") else {}
    return known, stats


def seeded_state(landing: Path, known: dict[str, str], stats: dict):  # noqa: ANN201 - LandingState
    """The sensor state of a watcher that starts now: every landing file whose stat is the one
    the ingest recorded with its hash keeps that hash (no reading 850 MB again at 100k), and
    the ledger's hashes count as requested, so only files the ledger lacks start a run."""
    from pipeline.automation.sensors import LandingState, Observation, landing_deliveries
    from pipeline.ingest.ledger import file_stat

    files = {}
    for rel, (_entity, path) in landing_deliveries(landing).items():
        before = stats.get(rel)
        try:
            stat = file_stat(path)
        except FileNotFoundError:
            continue
        if before is not None and before[0] == stat:
            files[rel] = Observation(stat[0], stat[1], 0.0, before[1])
    return LandingState(files=files, requested=sorted(known))


class Watcher:
    """The loop of ``python -m pipeline watch`` (see the module docstring)."""

    def __init__(
        self, as_of: str | None, interval: float, stopper: Stopper, backoff: Backoff = Backoff()
    ) -> None:
        self.as_of = as_of
        self.interval = interval
        self.stopper = stopper
        self.backoff = backoff
        self.said = ""  # the last notice printed, so that a repeated one is said once
        self.lost_landing = False  # landing/ was missing or unreadable at the last look
        self.runs = 0
        self.retry: Retry | None = None  # the failed runs' files, until a run completes
        self.stray: list[str] = []  # files outside the entity folders, as said last

    def say_once(self, text: str) -> None:
        """Print ``text`` unless it is what was said last."""
        if text != self.said:
            print(text, flush=True)
            self.said = text

    def main(self) -> int:
        """Warm up, then watch until a signal; the exit status."""
        from pipeline.cli.run import prepare_loaded_run
        from pipeline.cli.run_lock import WarehouseBusy, run_lock

        prepared = prepare_loaded_run(self.as_of)  # a file it cannot load: one line, as `run`
        if isinstance(prepared, int):
            return prepared
        settings = prepared[0]
        landing = settings.landing_dir
        seconds = warm_up()
        from pipeline.automation.sensors import LandingState

        state, done = LandingState(), "none known"
        try:
            with run_lock(settings.data_dir):
                known, stats = ledger_known(settings.warehouse_path)
            state = seeded_state(landing, known, stats)
            done = sum(o.sha256 in known for o in state.files.values())
            done = f"{counted(done, 'file')} in landing already in the ledger"
        except WarehouseBusy as err:
            self.say_once(f"{err}: the files in landing are hashed again at the first look")
        if self.stopper.stopping:  # a signal during the warm-up
            return EXIT_OK
        print(
            f"ready, watching {landing} (warmed up in {seconds:.1f} s; {done}; a look every "
            f"{self.interval:g} s)",
            flush=True,
        )
        while not self.stopper.stopping:
            state = self.look(landing, state)
            if not self.stopper.stopping:
                time.sleep(self.interval)  # a stop signal ends the sleep (raises _Stop)
        print(f"stopped after {counted(self.runs, 'run')}", flush=True)
        return EXIT_OK

    def look(self, landing: Path, state):  # noqa: ANN001, ANN201 - LandingState in and out
        """Look at landing/ once and run for new complete files; the next state."""
        import duckdb

        from pipeline.automation.sensors import LandingState, scan, settle_seconds, some_of
        from pipeline.cli.run import prepare_run
        from pipeline.cli.run_lock import WarehouseBusy, run_lock

        # The landing folder can go away or become unreadable after the start (an unmounted
        # share, a folder moved or re-permissioned): said once, looked for again at each look.
        try:
            if not landing.is_dir():
                self.say_once(
                    f"configuration error: no landing folder at {landing} any more (removed or "
                    "moved after the watcher started): looking for it again at each look"
                )
                self.lost_landing = True
                return state
            batch, next_state, _waiting = scan(landing, state, time.time(), settle_seconds())
        except OSError as err:
            self.say_once(
                f"configuration error: cannot read {landing}: {err}; trying again at each look"
            )
            self.lost_landing = True
            return state
        if self.lost_landing:
            self.lost_landing = False
            self.say_once(f"watching {landing} again")
        if next_state.unreadable:  # a folder or file in landing/ we may not read: not silent
            self.say_once(
                f"cannot read in {landing}: {', '.join(next_state.unreadable)}; the other files "
                "go on, these are tried again at each look"
            )
        self.say_stray_files(landing)
        if self.stopper.stopping:
            return next_state
        if batch is None and (self.retry is None or time.monotonic() < self.retry.due):
            return next_state
        # Not requested until a run took them: a busy warehouse retries them at the next look.
        retry = LandingState(files=next_state.files, requested=state.requested)
        # Settings anew: today's date after midnight, the demo's date file as it is now.
        with contextlib.redirect_stderr(io.StringIO()) as why:
            prepared = prepare_run(self.as_of)
        if isinstance(prepared, int):  # e.g. a demo date file edited wrong: said once
            self.say_once(why.getvalue().strip() + "; trying again at each look")
            return retry
        settings, notify_settings = prepared
        try:
            with run_lock(settings.data_dir):
                known, _stats = ledger_known(settings.warehouse_path)
                again = {} if self.retry is None else self.retry.still_to_try(next_state, known)
                new = []
                if batch is not None:
                    new = sorted(rel for rel, (_, sha) in batch.files.items() if sha not in known)
                    if not new:
                        self.say_once(
                            f"already in the ledger, no run: {some_of(list(batch.files))}"
                        )
                        return next_state
                elif not again:  # a retry, but its files were refused, removed or changed
                    print(
                        f"not tried again: the failed run's files are no longer in {landing} as "
                        "it took them, or were refused",
                        flush=True,
                    )
                    self.retry = None
                    return next_state
                if self.stopper.stopping:
                    return retry
                if full := disk_full(settings.data_dir):
                    self.say_once(f"{full}: no run until there is room; trying again at each look")
                    return retry
                self.said = ""
                # Running from here on: a signal after the line below waits for the run, as the
                # line promises (else one arriving before the run thread starts ends the watcher).
                self.stopper.running = True
                print("\n" + self.run_heading(new, again), flush=True)
                code = self.run(settings, notify_settings)
                if code not in COMPLETED:
                    # What the run refused is not tried again: read from the ledger it left.
                    with contextlib.suppress(OSError, duckdb.Error):
                        known, _stats = ledger_known(settings.warehouse_path)
        except WarehouseBusy as err:
            self.say_once(f"{err}; trying again at each look")
            return retry
        except (OSError, duckdb.Error) as err:  # e.g. a warehouse file DuckDB cannot open
            self.stopper.running = False  # no run started (the run thread resets it itself)
            self.say_once(
                f"cannot open the run lock or the warehouse in {settings.data_dir}: {err}; "
                "trying again at each look"
            )
            return retry
        self.runs += 1
        print(f"exit status {code}: {EXIT_STATUSES[code]}", flush=True)
        ran = {**again, **{rel: batch.files[rel][1] for rel in new}} if batch else again
        self.after_run(code, ran, landing, known)
        # The run's cyclic garbage, collected now while idle: each run freezes the heap it
        # starts with (``frozen_heap``), garbage of the runs before included, and full
        # collections are rare; without this a watcher grew by about 8 MB a run at 10k.
        gc.collect()
        return next_state

    def say_stray_files(self, landing: Path) -> None:
        """Name the files in ``landing`` outside the entity folders, which no run reads, each
        time they change (a file dropped into ``crm/order/`` is said at the next look, not
        only in the summary of a run that other files start)."""
        from pipeline.ingest.landing import files_outside_entity_folders, stray_files_text

        stray = files_outside_entity_folders(landing)
        if stray and stray != self.stray:
            print("\n".join(stray_files_text(landing, stray)).lstrip("\n"), flush=True)
        self.stray = stray

    def run_heading(self, new: list[str], again: dict[str, str]) -> str:
        """The line before a run: its new files, or the attempt of the failed run's files it
        tries again, with the wait before the next attempt should this one fail."""
        from pipeline.automation.sensors import some_of

        # The first five files and how many more: a backlog of 2,000 files was one line of
        # 2,000 paths, before each run and each retry.
        if self.retry is None or not again:
            return f"new files: {some_of(new)}"
        attempt = self.retry.failures + 1
        then = said_seconds(self.backoff.wait(attempt))
        files = some_of(sorted(again))
        if new:
            return f"new files: {some_of(new)}; with them again, attempt {attempt}: {files}"
        return f"trying again, attempt {attempt} (if it fails, the next in {then}): {files}"

    def after_run(self, code: int, ran: dict[str, str], landing: Path, ledger: dict) -> None:
        """Forget the retry after a run that completed; after a failed one, say when its files
        are tried next (those refused, or gone from ``landing``, never)."""
        from pipeline.automation.sensors import some_of

        if code in COMPLETED:
            self.retry = None
            return
        if self.stopper.stopping:  # the watcher ends after this run: no next attempt
            return
        failures = 1 if self.retry is None else self.retry.failures + 1
        files = worth_trying(ran, ledger, lambda rel, _sha: (landing / rel).is_file())
        if not files:
            self.retry = None
            print("not tried again: the failed run's files were refused or are gone", flush=True)
            return
        wait = self.backoff.wait(failures)
        self.retry = Retry(files, failures, time.monotonic() + wait)
        at = time.strftime("%H:%M:%S", time.localtime(time.time() + wait))
        print(
            f"the run failed: trying {some_of(sorted(files))} again in {said_seconds(wait)} "
            f"(at {at}; attempt {failures + 1}), or at once with a new or changed file",
            flush=True,
        )

    def run(self, settings, notify_settings) -> int:  # noqa: ANN001 - pipeline.cli.run's
        """``run_once`` on the run thread (see :class:`Stopper`); its exit status."""
        from pipeline.cli.run import run_once

        return self.stopper.run(lambda: run_once(settings, notify_settings, TRIGGER))


def watch(
    as_of: str | None = None,
    interval: float | None = None,
    retry_after: float = DEFAULT_RETRY_SECONDS,
    retry_max: float = DEFAULT_RETRY_MAX_SECONDS,
) -> int:
    """Run ``python -m pipeline watch`` until SIGINT or SIGTERM; the exit status."""
    # One line at a time, even into a pipe or a log file: a watcher's output is read as it runs.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    stopper = Stopper()
    stopper.install()
    if interval is not None and interval <= 0:
        print(f"configuration error: --interval {interval:g}: give seconds > 0", file=sys.stderr)
        return EXIT_CONFIG
    try:
        backoff = Backoff.given(retry_after, retry_max)
    except ValueError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return Watcher(as_of, interval or DEFAULT_INTERVAL_SECONDS, stopper, backoff).main()
    except _Stop as stop:
        print(f"{stop}: stopped", flush=True)
        return EXIT_OK
