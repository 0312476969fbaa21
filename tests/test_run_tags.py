"""The nightly schedule tags its run with what started it and the date it will build."""

import dagster as dg

from pipeline.automation.schedules import build_nightly_schedule
from pipeline.config import PipelineConfig


def test_nightly_schedule_tags_trigger_and_as_of(monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINE_AS_OF", "2026-10-31")
    schedule = build_nightly_schedule()
    context = dg.build_schedule_context(
        resources={"config": PipelineConfig(data_dir=str(tmp_path))}
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.tags["pipeline/trigger"] == "schedule"
    assert request.tags["pipeline/as_of"] == "2026-10-31"
