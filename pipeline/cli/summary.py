"""The short summary the CLI prints after a run: files landed, marts and headline figures."""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.engine import mart_names
from pipeline.engine.skip import skipped_in
from pipeline.ingest.landing import stray_files_text
from pipeline.ingest.quarantine_report import summary_lines
from pipeline.ingest.report import RUN_FILES_KEY, FileReport
from pipeline.ingest.revision import older_readings, older_readings_text
from pipeline.validation.log import read_log
from pipeline.validation.outcome import SuiteOutcome
from pipeline.validation.stages import after_as_of_text, rows_after_as_of
from pipeline.warehouse import open_warehouse, rows, table_exists
from pipeline.words import counted


def _landed_outcomes(settings: Settings, run_id: str) -> dict[str, list[SuiteOutcome]]:
    """This run's landed-suite outcomes per delivered file (``source_file``)."""
    found: dict[str, list[SuiteOutcome]] = {}
    for outcome in read_log(settings.data_dir, run_id):
        if outcome.stage == "landed":
            found.setdefault(outcome.target, []).append(outcome)
    return found


def run_reports(instance, run_id: str) -> list[FileReport] | None:  # noqa: ANN001 - Dagster's
    """What ``run_id``'s ingest did with each file, by path (the raw assets' ``run_files``
    metadata in the run's event log); None when it recorded none (a run that failed before, or
    one of an older version)."""
    import dagster as dg

    found = None
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.asset_materialization
        value = mat.metadata.get(RUN_FILES_KEY) if mat is not None else None
        if value is not None and isinstance(value.value, list):
            found = (found or []) + [FileReport.from_json(doc) for doc in value.value]
    return found


def print_summary(
    settings: Settings,
    run_id: str,
    reports: list[FileReport] | None = None,
    published: bool = True,
) -> None:
    """Print per-file ingest results of ``run_id`` (``reports``: the run's own, by path, from
    :func:`run_reports`; else the ledger's rows of the run), the files in landing/ no run
    reads, the deliveries an older reader revision landed, mart row counts and a few headline
    figures; ``published``: whether the run's
    serving step published (else the marts are said to be the warehouse's, unpublished).

    Opens the warehouse read-write: the run just finished in this process, which is the writer.
    """
    stray = stray_files_text(settings.landing_dir)
    if not settings.warehouse_path.exists():
        if stray:
            print("\n".join(stray))
        return
    with open_warehouse(settings.warehouse_path) as con:
        landed_outcomes = _landed_outcomes(settings, run_id)
        notes = {}
        for name, outcomes in landed_outcomes.items():
            note = after_as_of_text(rows_after_as_of(outcomes))
            if note:
                notes[name] = [note]
        files = summary_lines(con, settings, run_id, notes, reports)
        if files:
            print("\nfiles read in this run:")  # landed or refused: each line says which
            print("\n".join(files))
        if stray:
            print("\n".join(stray))
        # Deliveries an older release read: the marts keep its reading until they are read
        # again (pipeline/ingest/revision.py). Said, not an error: the exit status is the run's.
        older = older_readings_text(older_readings(con), settings.data_dir)
        if older:
            print("\n" + "\n".join(older))
        skipped = skipped_in(con, run_id)
        if skipped:
            # What the run left as it was, and why (pipeline/engine/skip.py): a small delivery
            # should say that it did not rebuild what it could not change.
            print(f"\nleft as they were ({len(skipped)}): same code, inputs unchanged:")
            print("  " + ", ".join(s.target for s in skipped))
        # The marts serving publishes (mart_names), not every table of the schema: a model
        # removed from sql/marts/ leaves its table behind, and is published no more.
        marts = rows(
            con,
            "select table_name, estimated_size from duckdb_tables() "
            "where schema_name = 'marts' and list_contains(?, table_name) order by table_name",
            [mart_names()],
        )
        print_outputs(settings, marts, published)
        print_headlines(con, settings, published)


def print_outputs(settings: Settings, marts: list[tuple], published: bool = True) -> None:
    """Where to look, the file BI tools open first; then each mart's rows (``published``:
    whether this run published them, else they are said to be the warehouse's only)."""
    serving = settings.serving_dir / "marts.duckdb"
    parquet = settings.serving_dir / "parquet"
    data_docs = settings.docs_dir / "data_docs" / "index.html"
    charts = [
        settings.docs_dir / n
        for n in (
            "cohort_heatmap.png",
            "retention_curve.png",
            "p_alive_heatmap.png",
            "prediction_holdout.png",
        )
    ]
    places = [
        ("for BI tools (open this file, read-only)", serving),
        ("the same marts as Parquet files", parquet),
        ("validation results (Data Docs)", data_docs),
        *[("chart", c) for c in charts],
    ]
    found = [(what, path) for what, path in places if path.exists()]
    if found:
        print("\nwhere to look:")
        for what, path in found:
            print(f"  {what:<41} {path}")
    if marts and not published:
        # A run stopped before serving (a failed step or blocking check): its marts, some
        # perhaps rebuilt and failing their checks, were said "published"; BI still sees the
        # last good publication.
        print(f"\nmarts ({len(marts)}) as this run left them in {settings.warehouse_path}, which")
        print("BI tools must not open; this run published nothing (BI tools still see the last")
        print("publication, in the serving file above):")
    elif marts:
        print(f"\nmarts ({len(marts)}; published to the serving file above; the pipeline's own")
        print(f"copies live in {settings.warehouse_path}, which BI tools must not open):")
        width = max(len(name) for name, _ in marts)  # social_language_monthly is 23 long
        for name, size in marts:
            print(f"  {name:<{width}} {size:>10,} {'row' if size == 1 else 'rows'}")


def print_headlines(con, settings: Settings, published: bool = True) -> None:
    """The headline figures, each with what it means (definitions: docs/metrics.md), from the
    marts the pipeline publishes only: a removed mart's table left in the warehouse is stale
    (``published``: whether this run published them, as the heading says); the contacts
    merged by e-mail, from ``int_customers``; and the brand's own posts left out of the social
    figures, from ``int_brand_posts``."""
    lines: list[str] = []
    served = set(mart_names())
    if "retention_monthly" in served and table_exists(con, "marts", "retention_monthly"):
        latest = rows(
            con,
            "select month, customers_start, customers_end, retention_rate "
            "from marts.retention_monthly where is_complete order by month desc limit 1",
        )
        for month, start, end, rate in latest:
            label = f"{month:%B %Y}"
            lines.append(f"{label}: {counted(end, 'active customer')} at the month's end")
            if rate is not None:
                lines.append(
                    f"retention {rate:.1%} = of the {counted(start, 'customer')} active when "
                    f"{label} began, the share still active at its end"
                )
    if "loyalty_summary" in served and table_exists(con, "marts", "loyalty_summary"):
        for customers, repeat_rate, ror in rows(
            con, "select customers, repeat_rate, ror from marts.loyalty_summary"
        ):
            lines.append(f"{counted(customers, 'customer')} with at least one qualifying purchase")
            if repeat_rate is not None:
                lines.append(f"repeat rate {repeat_rate:.1%} = share of them with 2 or more")
            if ror is not None:
                lines.append(
                    f"return on relationship {ror:.1%} = of the customers helped by support in "
                    "the last 12 months, the share who bought again (2+ purchases) or were referred"
                )
    if table_exists(con, "intermediate", "int_customers"):
        # contracts.md "Identity": merges are counted (int_customers.merged_contacts) and
        # reported, here, so that contacts a CRM holds twice are seen without a query.
        for customers, contacts in rows(
            con,
            "select count(*), coalesce(sum(merged_contacts), 0) "
            "from intermediate.int_customers where merged_contacts > 1",
        ):
            if customers:
                lines.append(
                    f"{counted(contacts, 'contact')} sharing an e-mail merged into "
                    f"{counted(customers, 'customer')} (each keeps its oldest contact's "
                    "attributes)"
                )
    lines += brand_posts_lines(con)
    if lines:
        unpublished = "" if published else ", from the warehouse's marts, unpublished"
        print(
            f"\nheadline figures, as of {settings.as_of}{unpublished} "
            "(definitions: docs/metrics.md):"
        )
        for line in lines:
            print(f"  {line}")
        if (settings.docs_dir / "cohort_heatmap.png").exists():  # no cohort, no chart
            print(
                "  (the charts' cohort retention is another measure: the share of the customers "
                "who first bought in a month who buy again k months later)"
            )


def brand_posts_lines(con) -> list[str]:
    """How many posts by the brand's own accounts the social figures leave out (docs/open-rules.md
    R15), once ``PIPELINE_BRAND_HANDLES`` names any: like the merges, a rule that changes the
    figures is counted where it is seen without a query, and a count of 0 shows a misspelt
    handle. The handles are the run's (``brand_handles`` of the launchpad, else the setting), so
    the line names neither."""
    if not (
        table_exists(con, "meta", "brand_handles")
        and table_exists(con, "intermediate", "int_brand_posts")
    ):
        return []
    handles = [
        f"{platform}:{handle}"
        for platform, handle in rows(
            con, "select platform, handle from meta.brand_handles order by platform, handle"
        )
    ]
    if not handles:
        return []
    posts = rows(con, "select count(*) from intermediate.int_brand_posts")[0][0]
    return [
        f"{counted(posts, 'post')} by the brand's own accounts left out of the social figures "
        f"as no mentions of the brand (brand handles: {', '.join(handles)}; listed in "
        "intermediate.int_brand_posts)"
    ]
