"""The launchpad's as_of through the GraphQL API of the real webserver (``python -m pipeline ui``).

A run launched as the UI's launchpad does it, with ``resources: config: config: as_of`` set to a
date other than PIPELINE_AS_OF, builds that date (meta.pipeline_settings, read from the
warehouse) and is tagged with it and with its trigger, "ui". Only ``pipeline_settings`` is
selected, so the run is short.
"""

from __future__ import annotations

import time

import duckdb
import pytest

from tests.test_e2e_daemon import AS_OF, DEADLINE_SECONDS, ui, wait_for  # noqa: F401

pytestmark = pytest.mark.e2e

LAUNCHPAD_AS_OF = "2026-09-30"  # not the fixture's PIPELINE_AS_OF (2026-10-31)


def test_launchpad_as_of_reaches_the_warehouse_and_the_tags(ui) -> None:  # noqa: F811
    data_dir, graphql, proc = ui
    deadline = time.monotonic() + DEADLINE_SECONDS
    wait_for("webserver up", graphql.up, deadline, proc)
    selector = graphql.job_selector("__ASSET_JOB")
    selector["assetSelection"] = [{"path": ["pipeline_settings"]}]
    launched = graphql(
        """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
             __typename ... on LaunchRunSuccess { run { runId } }
             ... on PythonError { message } ... on RunConfigValidationInvalid {
             errors { message } } ... on InvalidSubsetError { message } } }""",
        {
            "p": {
                "selector": selector,
                "runConfigData": {"resources": {"config": {"config": {"as_of": LAUNCHPAD_AS_OF}}}},
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    def finished() -> dict | None:
        (run,) = [r for r in graphql.runs() if r["runId"] == run_id]
        return run if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None

    run = wait_for("the launched run finished", finished, deadline, proc)
    assert run["status"] == "SUCCESS", run
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["pipeline/as_of"] == LAUNCHPAD_AS_OF
    assert tags["pipeline/trigger"] == "ui"
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        (as_of,) = con.execute("select as_of from meta.pipeline_settings").fetchone()
    finally:
        con.close()
    assert as_of.isoformat() == LAUNCHPAD_AS_OF != AS_OF
