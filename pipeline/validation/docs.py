"""Data Docs: GX renders one HTML page per validated batch; we write the site's index from the
run logs (GX's lists only its in-memory context's results and deletes every other page), and
delete the pages of runs whose log has been pruned."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

from pipeline.config import Settings
from pipeline.pii import open_owner_only
from pipeline.validation.log import log_dir, read_log

INDEX_RUNS = 10  # runs listed in the index (pages of older logged runs stay on disk)


def data_docs_dir(settings: Settings) -> Path:
    """The Data Docs site: ``<data>/docs/data_docs``."""
    return settings.docs_dir / "data_docs"


def index_path(settings: Settings) -> Path:
    """The site's ``index.html`` (written by :func:`write_index`)."""
    return data_docs_dir(settings) / "index.html"


def write_index(settings: Settings) -> Path:
    """(Re)write ``index.html`` listing the batches of the newest runs; returns its path.
    Deletes the ``validations/<suite>/<run>/`` page folders of runs no longer logged (a log
    is named after its run id, which is also GX's folder name for the run)."""
    site = data_docs_dir(settings)
    site.mkdir(parents=True, exist_ok=True)
    logs = sorted(log_dir(settings.data_dir).glob("*.jsonl"), key=lambda p: -p.stat().st_mtime)
    rows = []
    for log in logs[:INDEX_RUNS]:
        for o in read_log(settings.data_dir, log.stem):
            page = Path(o.docs_path or "")
            link = (
                f'<a href="{html.escape(page.relative_to(site).as_posix())}">page</a>'
                if o.docs_path and page.is_relative_to(site)
                else ""
            )
            failed = "; ".join(e.describe() for e in (o.errors + o.warnings)[:3])
            cells = (o.run_id, o.stage, o.suite, o.target, o.rows, o.status, failed)
            tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
            rows.append(f"<tr class='{o.status}'>{tds}<td>{link}</td></tr>")
    kept = {log.stem for log in logs}
    for run_dir in (site / "validations").glob("*/*"):
        if run_dir.is_dir() and run_dir.name not in kept:
            shutil.rmtree(run_dir, ignore_errors=True)
    index = index_path(settings)
    # Owner-only, as the quarantine CSV files: the failed expectations quote unexpected values.
    with open_owner_only(index, encoding="utf-8") as fh:
        fh.write(
            "<!doctype html><meta charset='utf-8'><title>Validation results</title>"
            "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}"
            ".error{background:#fdd}.warning{background:#ffd}</style>"
            "<h1>Validation results</h1><p>Newest run first. Pages are rendered by Great "
            "Expectations; suites are in the repository's <code>expectations/</code>.</p>"
            "<table><tr><th>run</th><th>stage</th><th>suite</th><th>batch</th><th>rows</th>"
            "<th>status</th><th>failed expectations</th><th>details</th></tr>"
            + "".join(rows)
            + "</table>"
        )
    return index
