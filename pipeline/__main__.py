"""Command line: ``python -m pipeline {generate,run,demo,ui,docs}``."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

DEMO_AS_OF = "2026-10-31"
DEMO_CUSTOMERS = 2000
DEMO_SEED = 42


def _instance(data_dir: Path):
    """The Dagster instance ($DAGSTER_HOME, else one under the data directory), with the runs
    of a killed process marked failed so that their warehouse slot is free again."""
    import dagster as dg

    from pipeline.instance import recover_interrupted_runs, resolve_dagster_home

    instance = dg.DagsterInstance.from_config(str(resolve_dagster_home(data_dir)))
    for run_id in recover_interrupted_runs(instance):
        print(f"run {run_id} was interrupted (its process is gone): marked failed", flush=True)
    return instance


def cmd_generate(args: argparse.Namespace) -> int:
    from pipeline.generate import generate

    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else dt.datetime.now(dt.UTC).date()
    counts = generate(
        Path(args.out),
        customers=args.customers,
        seed=args.seed,
        as_of=as_of,
        progress=lambda msg: print(msg, flush=True),
    )
    for entity, n in counts.items():
        print(f"  {entity:<16} {n:>12,} rows")
    print(f"wrote sample exports to {Path(args.out) / 'landing'}")
    return 0


def run_pipeline() -> int:
    """Materialise every asset once against PIPELINE_DATA_DIR; 0 on success, 1 on failure."""
    from pipeline.config import ConfigError, Settings
    from pipeline.definitions import build_definitions
    from pipeline.notify import SENT_INLINE_TAG, NotifySettings, notify_cli_run
    from pipeline.progress import progress_logger, root_cause
    from pipeline.summary import print_summary

    try:
        settings = Settings.resolve()
        notify_settings = NotifySettings.from_env()
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    if not settings.landing_dir.is_dir():
        print(
            f"no landing folder at {settings.landing_dir}: set PIPELINE_DATA_DIR to a folder "
            "holding landing/ (see README), or run `python -m pipeline generate --out DIR`",
            file=sys.stderr,
        )
        return 2
    print(f"data directory {settings.data_dir}, as_of {settings.as_of}", flush=True)
    job = build_definitions().resolve_implicit_global_asset_job_def()
    job = job.with_logger_defs({"progress": progress_logger})
    instance = _instance(settings.data_dir)
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"progress": {}}},
        tags={SENT_INLINE_TAG: "cli"},
    )
    print_summary(settings, result.run_id)
    notify_cli_run(instance, result.run_id, notify_settings)
    if result.success:
        return 0
    print("\nthe run failed:", file=sys.stderr)
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error if event.step_failure_data else None
        print(f"  {event.step_key}: {root_cause(error)}", file=sys.stderr)
    return 1


def cmd_run(args: argparse.Namespace) -> int:
    return run_pipeline()


def cmd_demo(args: argparse.Namespace) -> int:
    data_dir = Path(os.environ.get("PIPELINE_DATA_DIR") or "./data")
    os.environ["PIPELINE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("PIPELINE_AS_OF", DEMO_AS_OF)
    print(f"generating {DEMO_CUSTOMERS} sample customers into {data_dir}/landing …", flush=True)
    gen = argparse.Namespace(
        out=str(data_dir), customers=DEMO_CUSTOMERS, seed=DEMO_SEED, as_of=DEMO_AS_OF
    )
    cmd_generate(gen)
    return run_pipeline()


def cmd_ui(args: argparse.Namespace) -> int:
    from pipeline.ui import main as ui_main

    return ui_main(host=args.host, port=args.port)


def cmd_graph(args: argparse.Namespace) -> int:
    from pipeline.graph import readme_with_graph

    readme = Path(__file__).resolve().parent.parent / "README.md"
    readme.write_text(readme_with_graph(readme.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated the asset graph in {readme}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from pipeline.docs_gen import main as docs_main

    return docs_main()


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the sub-command."""
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write seeded sample exports into DIR/landing")
    gen.add_argument("--out", required=True, help="data directory to write landing/ into")
    gen.add_argument("--customers", type=int, default=1000)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--as-of", help="last day of the generated history (YYYY-MM-DD)")
    gen.set_defaults(func=cmd_generate)

    sub.add_parser("run", help="materialise every asset once").set_defaults(func=cmd_run)
    sub.add_parser("demo", help="generate sample data and run").set_defaults(func=cmd_demo)
    sub.add_parser("docs", help="regenerate docs/metrics.md").set_defaults(func=cmd_docs)

    sub.add_parser("graph", help="redraw the asset graph in README.md").set_defaults(func=cmd_graph)

    ui = sub.add_parser("ui", help="Dagster webserver and daemon (127.0.0.1 by default)")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    from pipeline.quarantine_report import add_command as add_quarantine_command

    add_quarantine_command(sub)

    args = parser.parse_args(argv)
    return args.func(args)


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


if __name__ == "__main__":
    exit_now(main())
