"""One staging suite on a 1M-row table, through GX's SQL engine inside DuckDB (the route every
suite takes; the pandas route it was once compared with is gone). Not a test; prints seconds.

    .venv/bin/python bench/validation_sql.py [--rows 1000000]

The table has the columns of ``stg_email_events``; one row is bad on purpose (an upper-case
e-mail), so the run must report one failed expectation. (A repeated event_id was the second until
the staging suites stopped checking their key's uniqueness, which the models guarantee:
docs/validation.md, "Expectations removed as unfailable".)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import duckdb

from pipeline.validation.suites import read_suites
from pipeline.warehouse import run

SQL = "select * from staging.stg_email_events"


def build(path: Path, n: int) -> duckdb.DuckDBPyConnection:
    """``n`` e-mail events; row 7 has an upper-case e-mail."""
    con = duckdb.connect(str(path))
    run(con, "create schema staging")
    run(
        con,
        f"""create table staging.stg_email_events as select
            'e' || range as event_id,
            case when range = 7 then 'Ann' || range || '@x.org' else 'a' || range || '@x.org'
                end as email,
            'k' || (range % 50) as campaign_id,
            ['sent', 'delivered', 'open', 'click'][1 + range % 4] as event_type,
            timestamp '2024-01-01' + to_seconds(range) as occurred_at,
            'events/2024-01-01.csv' as _source_file,
            range + 1 as _row_number,
            1 as _delivery_seq
        from range({n})""",
    )
    return con


def main() -> None:
    """Build the table, run the suite, print seconds and failures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ["PIPELINE_DATA_DOCS"] = "off"  # the suite's own cost, not page rendering
    suite = read_suites()["staging_email_events"]
    with tempfile.TemporaryDirectory() as folder:
        con = build(Path(folder) / "w.duckdb", args.rows)
        from pipeline.validation.runner import _session

        _session()  # GX's import and context, paid once, outside the timing
        from pipeline.validation.runner import run_suite_sql, sql_source

        started = time.perf_counter()
        with sql_source(con) as source:
            outcome = run_suite_sql(
                source, suite, SQL, args.rows, target="t", batch="all", run_id="bench"
            )
        report("sql (GX SQL engine in DuckDB)", started, outcome)
        con.close()


def report(route: str, started: float, outcome) -> None:
    """One line: seconds, rows, and the failed expectations with an example."""
    seconds = time.perf_counter() - started
    failed = [f"{e.expectation} on {e.columns}: {e.examples[:1]}" for e in outcome.errors]
    print(f"{route}: {seconds:.1f} s for {outcome.rows:,} rows; failed: {failed}", flush=True)


if __name__ == "__main__":
    main()
