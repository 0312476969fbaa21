"""Command line of the customer-retention pipeline (python -m pipeline COMMAND --help)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from pathlib import Path

DEMO_AS_OF = "2026-10-31"
DEMO_CUSTOMERS = 2000
DEMO_SEED = 42


def cmd_generate(args: argparse.Namespace) -> int:
    from pipeline.sample_data.generate import generate

    as_of_text = getattr(args, "as_of", None)
    as_of = dt.date.fromisoformat(as_of_text) if as_of_text else dt.datetime.now(dt.UTC).date()
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


def _day(text: str) -> str:
    """``generate --as-of``: a day written YYYY-MM-DD, else argparse's error naming the option
    (a bad date ended in a traceback: generate reads no setting, so no check ran before)."""
    from pipeline.config import date_problem

    if (problem := date_problem(text)) is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def _customers(text: str) -> int:
    """``--customers`` of ``generate`` and ``demo``: a whole number of at least 1 (0 ended in
    the generator's traceback)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: generate at least one customer")
    return value


def _use_data_dir(args: argparse.Namespace) -> None:
    """``--data-dir`` wins over PIPELINE_DATA_DIR (and reaches every process started later)."""
    if getattr(args, "data_dir", None):
        os.environ["PIPELINE_DATA_DIR"] = args.data_dir


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.cli.run import run_pipeline

    _use_data_dir(args)
    return run_pipeline(as_of=getattr(args, "as_of", None))


def cmd_watch(args: argparse.Namespace) -> int:
    from pipeline.cli.watch import watch

    _use_data_dir(args)
    return watch(
        as_of=getattr(args, "as_of", None),
        interval=args.interval,
        retry_after=args.retry_after,
        retry_max=args.retry_max,
    )


def cmd_reland(args: argparse.Namespace) -> int:
    from pipeline.cli.reland import reland

    _use_data_dir(args)
    return reland(as_of=getattr(args, "as_of", None))


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.cli.run import EXIT_CONFIG, run_pipeline
    from pipeline.config import DEMO_AS_OF_FILE, ConfigError, check_environment

    _use_data_dir(args)
    try:
        # Before generating: a bad setting would otherwise stop the run only after the sample
        # exports were written.
        check_environment()
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    data_dir = Path(os.environ.get("PIPELINE_DATA_DIR") or "./data")
    os.environ["PIPELINE_DATA_DIR"] = str(data_dir)
    print(f"generating {args.customers} sample customers into {data_dir}/landing …", flush=True)
    gen = argparse.Namespace(
        out=str(data_dir), customers=args.customers, seed=DEMO_SEED, as_of=DEMO_AS_OF
    )
    cmd_generate(gen)
    # The UI (and the landing sensor) build this date on this data directory, not today's,
    # unless PIPELINE_AS_OF says otherwise: `make ui` after `make demo` shows the demo's figures.
    (data_dir / DEMO_AS_OF_FILE).write_text(DEMO_AS_OF + "\n", encoding="utf-8")
    return run_pipeline(as_of=os.environ.get("PIPELINE_AS_OF") or DEMO_AS_OF)


def cmd_ui(args: argparse.Namespace) -> int:
    from pipeline.cli.ui import main as ui_main

    _use_data_dir(args)
    return ui_main(host=args.host, port=args.port)


def cmd_graph(args: argparse.Namespace) -> int:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    with models_problem_said():
        from pipeline.cli.graph import readme_with_graph  # loads the definitions

        text = readme_with_graph(readme.read_text(encoding="utf-8"))
        readme.write_text(text, encoding="utf-8")
        print(f"updated the asset graph in {readme}")
        return 0
    return 2  # reached only when the models could not be loaded (said on stderr)


def cmd_docs(args: argparse.Namespace) -> int:
    with models_problem_said():
        from pipeline.cli.docs import main as docs_main

        return docs_main()
    return 2  # reached only when the models could not be loaded (said on stderr)


@contextlib.contextmanager
def models_problem_said():
    """Within the block, a model or suite file that cannot be loaded is said in one line on
    stderr (the file, the place, the fix), as ``run`` says it, instead of a traceback, and
    the block is left (its caller then returns exit status 2)."""
    from pipeline.engine import ModelError
    from pipeline.validation.suites import SuiteError

    try:
        yield
    except (ModelError, SuiteError) as err:
        print(f"configuration error: cannot load the models and suites: {err}", file=sys.stderr)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each option's help; epilogs printed as written."""


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="data directory (landing/, warehouse, serving/); default: $PIPELINE_DATA_DIR, ./data",
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the sub-command."""
    from pipeline.cli.run import exit_statuses_text
    from pipeline.config import settings_epilog

    epilog = settings_epilog()
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description=__doc__,
        epilog=epilog,
        formatter_class=_HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str, description: str, func, extra_epilog: str = "", settings=True):
        """A sub-command with its help, the settings epilog (unless it reads no setting) and the
        function it runs."""
        cmd = sub.add_parser(
            name,
            help=help_,
            description=description,
            epilog=(extra_epilog + "\n\n" if extra_epilog else "") + (epilog if settings else ""),
            formatter_class=_HelpFormatter,
        )
        cmd.set_defaults(func=func)
        return cmd

    gen = add(
        "generate",
        "write seeded sample exports into DIR/landing",
        "Write seeded, realistic CRM / e-mail / social exports into DIR/landing.",
        cmd_generate,
        "generate reads no PIPELINE_* setting: its options say everything.",
        settings=False,
    )
    gen.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        default=argparse.SUPPRESS,  # required: no "(default: None)" in the help
        help="data directory to write landing/ into",
    )
    gen.add_argument(
        "--customers", type=_customers, default=1000, help="how many customers to generate"
    )
    gen.add_argument("--seed", type=int, default=42, help="random seed (same seed, same files)")
    gen.add_argument(
        "--as-of",
        metavar="DATE",
        type=_day,
        default=argparse.SUPPRESS,  # the help says the default in words
        help="last day of the generated history (YYYY-MM-DD); default: today (UTC)",
    )

    run = add(
        "run",
        "land new files, rebuild every model, publish serving/",
        "Materialise every asset once: land new files from landing/, rebuild the models, check "
        "them and publish serving/. Another date: --as-of (rebuilds every mart as of that day).",
        cmd_run,
        exit_statuses_text(),
    )
    run.add_argument(
        "--as-of",
        metavar="DATE",
        default=argparse.SUPPRESS,
        help="the date the marts describe (YYYY-MM-DD); default: $PIPELINE_AS_OF, else the "
        "demo's date in a demo data directory, else today (UTC)",
    )
    _add_data_dir(run)

    from pipeline.cli.watch import (
        DEFAULT_INTERVAL_SECONDS,
        DEFAULT_RETRY_MAX_SECONDS,
        DEFAULT_RETRY_SECONDS,
    )

    watch = add(
        "watch",
        "stay warm and run as new files land (a long-lived run worker)",
        "Load Dagster, the definitions and Great Expectations once, then look at landing/ "
        "every --interval seconds with the landing sensor's rules (PIPELINE_SETTLE_SECONDS, "
        ".done/.ready markers) and run as `run` does when new files are complete, taking turns "
        "with other runs. Ctrl-C or SIGTERM: exits at once when idle, after the run otherwise.",
        cmd_watch,
        "the watcher exits 0 when stopped, 130 on a second signal during a run, 2 for a "
        "configuration error at start (one found later, such as the landing folder gone, is "
        "said once and checked again at each look); after each "
        "run it prints the run's status, as `run` would exit with it:\n" + exit_statuses_text(),
    )
    watch.add_argument(
        "--as-of",
        metavar="DATE",
        default=argparse.SUPPRESS,
        help="the date every run builds (YYYY-MM-DD); default: resolved anew for each run as "
        "for `run` ($PIPELINE_AS_OF, the demo's date, else today)",
    )
    watch.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL_SECONDS,
        metavar="SECONDS",
        help="seconds between looks at landing/",
    )
    watch.add_argument(
        "--retry-after",
        type=float,
        default=DEFAULT_RETRY_SECONDS,
        metavar="SECONDS",
        help="seconds from a failed run to the first try of its files again (doubling after "
        "each failed try; a new or changed file runs at once, a refused one never again)",
    )
    watch.add_argument(
        "--retry-max",
        type=float,
        default=DEFAULT_RETRY_MAX_SECONDS,
        metavar="SECONDS",
        help="the longest wait between two tries of a failed run's files",
    )
    _add_data_dir(watch)

    from pipeline.cli.reland import exit_statuses_text as reland_statuses

    reland = add(
        "reland",
        "read every delivery in landing/ again with this release (after an upgrade)",
        "Read every delivery in landing/ again with this release: a delivery is landed once, so "
        "after an upgrade the warehouse keeps the older release's reading of what it landed "
        "(every run says how many deliveries an older reader landed). Moves warehouse.duckdb "
        "aside to warehouse.before-reland-YYYYMMDD-HHMMSS.duckdb, runs every asset as `run` "
        "does, then compares the two: the ledgers, the deliveries not landed again (their file "
        "gone from or replaced in landing/) and every published mart's rows. The old warehouse "
        "is kept (remove it once satisfied); a failed run puts it back.",
        cmd_reland,
        reland_statuses(),
    )
    reland.add_argument(
        "--as-of",
        metavar="DATE",
        default=argparse.SUPPRESS,
        help="the date the marts describe (YYYY-MM-DD); default: as for `run`",
    )
    _add_data_dir(reland)

    demo = add(
        "demo",
        f"generate sample data (as of {DEMO_AS_OF}) and run",
        f"Generate sample exports into the data directory and run once, as of {DEMO_AS_OF}; the "
        "date is recorded there so that the UI builds it too. Exit statuses as for `run`.",
        cmd_demo,
        exit_statuses_text(),
    )
    demo.add_argument(
        "--customers", type=_customers, default=DEMO_CUSTOMERS, help="how many customers"
    )
    _add_data_dir(demo)

    add(
        "docs",
        "regenerate docs/metrics.md; name tables of removed models",
        "Regenerate docs/metrics.md from the models, then name the tables of removed models "
        "that the warehouse still holds, with the statements that drop them (read-only).",
        cmd_docs,
    )
    add(
        "graph",
        "redraw the asset graph in README.md",
        "Redraw the asset graph (Mermaid) in README.md from the code location.",
        cmd_graph,
    )

    ui = add(
        "ui",
        "Dagster webserver and daemon (127.0.0.1 by default)",
        "Start the Dagster webserver (the UI) and the daemon (landing sensor, nightly schedule, "
        "run queue) sharing one instance, and the warm run worker that executes their runs "
        "without a new interpreter's imports; Ctrl-C stops them.",
        cmd_ui,
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: network)")
    ui.add_argument("--port", type=int, default=3000, help="port of the UI")
    _add_data_dir(ui)

    from pipeline.cli.quarantine_report import add_command as add_quarantine_command

    add_quarantine_command(sub)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    from pipeline.process_exit import exit_now

    exit_now(main())
