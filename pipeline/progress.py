"""A terse Dagster logger for the command line: one line per step and per asset message.

It sits below both its users: the assets, which put their line in the ``summary`` metadata entry
(:data:`SUMMARY`), and the command line, which prints it (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import logging
import re
import sys
import time

import dagster as dg

from pipeline.words import agreeing

_EVENTS = {"STEP_START": "…", "STEP_SUCCESS": "✓", "STEP_FAILURE": "✗", "STEP_SKIPPED": "-"}
# The metadata entry of a materialisation or an asset check's result that holds its line for
# the run log (a SQL model's rows and how it was built, a check's outcome): printed like a log
# message, without a log event of its own.
SUMMARY = "summary"


def event_line(event) -> str | None:
    """The run-log line an event carries in its ``summary`` metadata, if any (a
    materialisation or an asset check's evaluation). Dagster stores every log line as an event
    of its own; these lines ride on events the run stores anyway."""
    data = event.event_specific_data
    if event.event_type_value == "ASSET_MATERIALIZATION":
        metadata = data.materialization.metadata
    elif event.event_type_value == "ASSET_CHECK_EVALUATION":
        metadata = data.metadata
    else:
        return None
    entry = metadata.get(SUMMARY)
    return None if entry is None else str(getattr(entry, "value", entry))


class _ProgressHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.started = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        elapsed = f"{time.monotonic() - self.started:7.1f}s"
        if event is not None:
            mark = _EVENTS.get(event.event_type_value)
            if mark is None:
                text = event_line(event)
                if text is None or not step:
                    return
                print(f"{elapsed}     {step}: {text}", flush=True)
                return
            line = f"{elapsed} {mark} {step}"
            if event.event_type_value == "STEP_FAILURE" and event.step_failure_data:
                line += f": {root_cause(event.step_failure_data.error)}"
        elif record.levelno >= logging.INFO and step:
            message = meta.get("orig_message", record.getMessage())
            skipped = not_run(message)
            line = (
                f"{elapsed} - {step}: {skipped}" if skipped else f"{elapsed}     {step}: {message}"
            )
        else:
            return
        print(line, file=sys.stderr if record.levelno >= logging.ERROR else sys.stdout, flush=True)


# Dagster's word for a step left out after a failure upstream: the step named again, and each
# upstream step once per asset it feeds ("['raw_ingest', 'raw_ingest', …]", six times).
_NOT_RUN = re.compile(
    r"Dependencies for step \S+ (?P<how>failed|were not executed): \[(?P<steps>[^\]]*)\]\. "
    r"Not executing\."
)


def not_run(message: str) -> str | None:
    """``not run: raw_ingest failed`` for Dagster's message of a step skipped after a failure
    upstream (None for any other message): each upstream step once, and what became of it."""
    found = _NOT_RUN.fullmatch(message.strip())
    if not found:
        return None
    steps = list(dict.fromkeys(re.findall(r"'([^']*)'", found["steps"])))
    how = "failed" if found["how"] == "failed" else agreeing(len(steps), "was", "were") + " not run"
    return f"not run: {', '.join(steps)} {how}"


# Dagster's error for a step stopped by SIGINT (Ctrl-C) or SIGTERM: its message is its class
# name alone, which told the person who pressed Ctrl-C nothing.
INTERRUPTED = "DagsterExecutionInterruptedError"
# DuckDB's error for a statement that SIGINT stopped (its client looks for a signal between a
# statement's tasks; the pipeline never calls ``interrupt()``): the step's error when Ctrl-C
# lands during a query, not between two, as it did in a test of 20,000 orders' ingestion.
DUCKDB_STOPPED = ("RuntimeError", "RuntimeError: Query interrupted")
# Every step keeps its writes to transactions (a delivery, a model, the checks' records) or to
# temporary names (serving, pictures): what it had not committed is gone (docs/operations.md).
INTERRUPTED_TEXT = (
    "interrupted (Ctrl-C or SIGTERM): what the step had not committed was rolled back; the next "
    "run carries on from there"
)


def root_cause(error) -> str:
    """The innermost message of a Dagster error chain: what actually went wrong."""
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    if error.cls_name == INTERRUPTED or (error.cls_name, error.message.strip()) == DUCKDB_STOPPED:
        return INTERRUPTED_TEXT
    message = error.message.strip()
    if error.cls_name == "Failure":
        # A dg.Failure is a step's own message to the operator ("1 blocking check failed: …");
        # Dagster's "dagster._core.definitions.events.Failure: " before it is noise to them.
        # Other errors keep their class: "CatalogException: …" says what kind of thing failed.
        message = re.sub(r"^[\w.]*Failure: ", "", message)
    return message


@dg.logger(description="One line per step: start, success, failure, and each asset's messages.")
def progress_logger(init_context) -> logging.Logger:
    """A logger that prints concise progress to the terminal."""
    log = logging.getLogger("pipeline.progress")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.handlers = [_ProgressHandler()]
    return log
