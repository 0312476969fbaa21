"""The short summary the CLI prints after a run: files landed, marts and headline figures."""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.quarantine_report import summary_lines
from pipeline.validation.log import read_log
from pipeline.validation.outcome import SuiteOutcome
from pipeline.validation.stages import after_as_of_text, rows_after_as_of
from pipeline.warehouse import open_warehouse, rows, table_exists


def _landed_outcomes(settings: Settings, run_id: str) -> dict[str, list[SuiteOutcome]]:
    """This run's landed-suite outcomes per delivered file (``source_file``)."""
    found: dict[str, list[SuiteOutcome]] = {}
    for outcome in read_log(settings.data_dir, run_id):
        if outcome.stage == "landed":
            found.setdefault(outcome.target, []).append(outcome)
    return found


def print_summary(settings: Settings, run_id: str) -> None:
    """Print per-file ingest results of ``run_id``, mart row counts and a few headline figures.

    Opens the warehouse read-write: the run just finished in this process, which is the writer.
    """
    if not settings.warehouse_path.exists():
        return
    with open_warehouse(settings.warehouse_path) as con:
        landed_outcomes = _landed_outcomes(settings, run_id)
        notes = {}
        for name, outcomes in landed_outcomes.items():
            note = after_as_of_text(rows_after_as_of(outcomes))
            if note:
                notes[name] = [note]
        files = summary_lines(con, settings, run_id, notes)
        if files:
            print("\nfiles landed in this run:")
            print("\n".join(files))
        marts = rows(
            con,
            "select table_name, estimated_size from duckdb_tables() "
            "where schema_name = 'marts' order by table_name",
        )
        if marts:
            print(f"\nmarts in {settings.warehouse_path}:")
            for name, size in marts:
                print(f"  {name:<22} {size:>10,} rows")
        serving = settings.serving_dir / "marts.duckdb"
        if serving.exists():
            print(f"\nserving file for BI tools: {serving}")
        if table_exists(con, "marts", "retention_monthly"):
            latest = rows(
                con,
                "select month, customers_end, retention_rate from marts.retention_monthly "
                "where is_complete order by month desc limit 1",
            )
            for month, customers, rate in latest:
                pct = "n/a" if rate is None else f"{rate:.1%}"
                print(f"\n{month:%B %Y}: {customers:,} active customers, retention {pct}")
        if table_exists(con, "marts", "loyalty_summary"):
            for customers, repeat_rate, ror in rows(
                con, "select customers, repeat_rate, ror from marts.loyalty_summary"
            ):
                rr = "n/a" if repeat_rate is None else f"{repeat_rate:.1%}"
                ro = "n/a" if ror is None else f"{ror:.1%}"
                print(
                    f"{customers:,} buying customers, repeat rate {rr}, return on relationship {ro}"
                )
