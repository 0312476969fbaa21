"""How the pipeline's processes end once their work is done: the command line's and a warm run
worker's child alike (pipeline/__main__.py, pipeline/cli/warm_worker.py), so it sits below
both. Nothing but the standard library: the command line imports it whatever the command.
"""

from __future__ import annotations

import os
import sys


def exit_now(code: int) -> None:
    """Flush and exit without the interpreter's teardown.

    At teardown DuckDB 2.0's bindings (nanobind) print a page of "leaked instance" warnings once
    Dagster and GX have held DuckDB objects; the work is done and committed by then.
    """
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
