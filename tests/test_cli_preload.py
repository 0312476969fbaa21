"""The run's background import (pipeline/cli/preload.py): real modules, a real thread."""

from __future__ import annotations

import subprocess
import sys

from pipeline.cli.preload import PRELOADED, import_all, start_preload


def test_preload_imports_the_modules_on_a_thread_and_reports_the_failures() -> None:
    # A fresh interpreter, so that "not imported before" holds: the thread imports a real
    # stdlib module the interpreter has not loaded, and a module that does not exist fails
    # quietly (the step that needs it reports the error).
    script = (
        "import sys\n"
        "from pipeline.cli.preload import import_all, start_preload\n"
        "assert 'tomllib' not in sys.modules\n"
        "thread = start_preload(['tomllib'])\n"
        "thread.join()\n"
        "assert thread.daemon and 'tomllib' in sys.modules\n"
        "print(import_all(['json', 'no_such_module_here']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "['no_such_module_here']"


def test_the_preloaded_modules_import() -> None:
    # GX and matplotlib are dependencies: none of the preloaded names may be misspelt.
    assert import_all(PRELOADED) == []
    assert start_preload(()).name == "preload-imports"
