"""A new user's common mistakes, as the command line answers them: a mistyped setting name, a
wrong data directory, a bad --as-of, a file outside the entity folders, a bad setting before
the demo generates anything. Each answer names what is wrong and what to do."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from pipeline import config
from pipeline.__main__ import main
from pipeline.cli.run import prepare_run
from pipeline.cli.summary import print_summary
from pipeline.config import Settings, unknown_settings
from pipeline.ingest.landing import files_outside_entity_folders
from pipeline.warehouse import open_warehouse, run


def test_a_mistyped_setting_name_is_named_with_the_setting_it_misspells():
    environ = {
        "PIPELINE_CHURN_DAY": "60",  # the S missing
        "PIPELINE_ASOF": "2026-10-31",  # the underscore missing
        "PIPELINE_WORKSPACE": "/agent/1",  # another tool's (Azure Pipelines)
        "PIPELINE_SLA_HOURS": "12",  # a real setting: no warning
        "HOME": "/root",
    }
    assert unknown_settings(environ) == [
        "warning: PIPELINE_ASOF is not a setting of the pipeline and is ignored; "
        "did you mean PIPELINE_AS_OF?",
        "warning: PIPELINE_CHURN_DAY is not a setting of the pipeline and is ignored; "
        "did you mean PIPELINE_CHURN_DAYS?",
        "warning: PIPELINE_WORKSPACE is not a setting of the pipeline and is ignored "
        "(python -m pipeline --help lists them)",
    ]


def test_run_warns_about_a_mistyped_setting_once_and_goes_on(tmp_path, monkeypatch, capsys):
    # A data directory without landing/ stops the run after the settings were checked.
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PIPELINE_SLA_HOUR", "12")
    assert main(["run"]) == 2
    assert main(["run"]) == 2
    err = capsys.readouterr().err.splitlines()
    warning = (
        "warning: PIPELINE_SLA_HOUR is not a setting of the pipeline and is ignored; "
        "did you mean PIPELINE_SLA_HOURS?"
    )
    assert err.count(warning) == 1  # once per process: a watcher checks before every run
    assert err[-1].startswith("configuration error: no landing folder")


def test_a_bad_as_of_option_is_named_as_the_option(tmp_path, monkeypatch, capsys):
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    assert main(["run", "--as-of", "31/10/2026"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "configuration error: --as-of '31/10/2026' is not a date; write it as YYYY-MM-DD"
    ]


def test_a_date_written_right_but_no_day_says_what_is_wrong_with_it(tmp_path, monkeypatch, capsys):
    # Written as YYYY-MM-DD, yet no day: "write it as YYYY-MM-DD" sent the user looking at
    # the shape they had right.
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    assert main(["run", "--as-of", "2024-02-30"]) == 2
    monkeypatch.setenv("PIPELINE_AS_OF", "2024-13-01")
    assert main(["run"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "configuration error: --as-of '2024-02-30' is no day of the calendar "
        "(day is out of range for month)",
        "configuration error: PIPELINE_AS_OF='2024-13-01' is no day of the calendar "
        "(month must be in 1..12)",
    ]


def test_a_mistyped_time_zone_is_named_with_the_zone_it_misspells(tmp_path, monkeypatch, capsys):
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    for zone in ("Europe/Bucarest", "America/Sao_Paolo", "utc", "Mars/Olympus"):
        monkeypatch.setenv("PIPELINE_TIMEZONE", zone)
        assert main(["run"]) == 2
    # Each was answered "(e.g. Europe/Bucharest)", whatever zone it meant.
    assert capsys.readouterr().err.splitlines() == [
        "configuration error: PIPELINE_TIMEZONE='Europe/Bucarest' is not an IANA time zone; "
        "did you mean Europe/Bucharest?",
        "configuration error: PIPELINE_TIMEZONE='America/Sao_Paolo' is not an IANA time zone; "
        "did you mean America/Sao_Paulo?",
        "configuration error: PIPELINE_TIMEZONE='utc' is not an IANA time zone; did you mean UTC?",
        "configuration error: PIPELINE_TIMEZONE='Mars/Olympus' is not an IANA time zone "
        "(e.g. Europe/Bucharest)",
    ]


@pytest.mark.parametrize(
    "args, said",
    [
        (
            ["generate", "--as-of", "2024-13-01"],
            "argument --as-of: '2024-13-01' is no day of the calendar (month must be in 1..12)",
        ),
        (["generate", "--as-of", "31/10/2026"], "argument --as-of: '31/10/2026' is not a date"),
        (["generate", "--customers", "0"], "argument --customers: 0: generate at least one"),
        (["demo", "--customers", "-5"], "argument --customers: -5: generate at least one"),
    ],
)
def test_generate_and_demo_name_a_bad_option_without_a_traceback(tmp_path, capsys, args, said):
    # generate reads no setting, so nothing checked its options: a bad date or count ended in
    # a traceback (ValueError: month must be in 1..12) after the command had started.
    with pytest.raises(SystemExit) as stopped:
        main([*args, "--out" if args[0] == "generate" else "--data-dir", str(tmp_path / "d")])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert said in err.splitlines()[-1], err
    assert not (tmp_path / "d").exists()  # nothing written


def test_the_as_of_option_is_parsed_once(tmp_path, monkeypatch):
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PIPELINE_AS_OF", "2026-10-31")  # the option wins over the variable
    # The real date check, counting the texts it is given as PIPELINE_AS_OF's.
    checked = []
    as_of_setting = config._BY_NAME["PIPELINE_AS_OF"]

    def counting(name, text):
        checked.append(text)
        return as_of_setting.check(name, text)

    monkeypatch.setitem(
        config._BY_NAME, "PIPELINE_AS_OF", dataclasses.replace(as_of_setting, check=counting)
    )
    settings, _notify = prepare_run("2026-09-30")
    assert (settings.as_of, settings.as_of_source) == (dt.date(2026, 9, 30), "given")
    assert checked == ["2026-09-30"]  # once to name the option in an error, not again


def test_a_data_dir_that_does_not_exist_is_said_and_not_left_behind(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "retention-dta"  # a typo of the real folder
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    assert main(["run", "--data-dir", str(missing)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"configuration error: no landing folder at {missing}/landing: {missing} does not "
        "exist; set PIPELINE_DATA_DIR (or --data-dir) to a folder holding landing/ (see "
        "README), or run `python -m pipeline generate --out DIR`"
    )
    assert not missing.exists()  # the write check made it; the refusal removed it again


def test_the_landing_folder_given_as_data_dir_points_to_its_parent(tmp_path, monkeypatch, capsys):
    landing = tmp_path / "landing"
    (landing / "crm" / "orders").mkdir(parents=True)
    (landing / "social" / "mentions").mkdir(parents=True)
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(landing))
    assert main(["run"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"configuration error: no landing folder at {landing}/landing: {landing} holds crm/, "
        "social/ and looks like the landing folder itself; set PIPELINE_DATA_DIR (or "
        f"--data-dir) to its parent, {tmp_path}"
    )
    assert (landing / "crm" / "orders").is_dir()  # an existing folder is never removed


def test_the_demo_checks_its_settings_before_generating(tmp_path, monkeypatch, capsys):
    data_dir = tmp_path / "data"
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PIPELINE_CHURN_DAYS", "ninety")
    assert main(["demo", "--customers", "10", "--data-dir", str(data_dir)]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "configuration error: PIPELINE_CHURN_DAYS='ninety' is not a whole number"
    ]
    assert "generating" not in out
    assert not (data_dir / "landing").exists()


def _touch(path: Path, text: str = "order_id\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_files_outside_the_entity_folders_are_named(tmp_path):
    landing = tmp_path / "landing"
    _touch(landing / "crm" / "orders" / "good.csv")  # an entity folder: ingestion's
    _touch(landing / "crm" / "orders" / "2026" / "deeper.csv")  # inside one: ingestion's too
    _touch(landing / "crm" / "order" / "typo.csv")  # a folder name mistyped
    _touch(landing / "orders.xlsx")  # straight into landing/
    _touch(landing / "email" / "events.json.gz")  # one level short of email/events
    _touch(landing / "crm" / "order" / "typo.csv.done")  # its marker: not a delivery
    _touch(landing / "crm" / ".orders.csv")  # hidden, as ingestion leaves it
    _touch(landing / ".cache" / "orders.csv")  # in a hidden folder
    _touch(landing / "~$orders.xlsx")  # an Office lock file
    _touch(landing / "notes.md")  # not a format ingestion reads
    assert files_outside_entity_folders(landing) == [
        "crm/order/typo.csv",
        "email/events.json.gz",
        "orders.xlsx",
    ]
    assert files_outside_entity_folders(tmp_path / "nowhere") == []


def test_the_run_summary_names_them_and_says_where_they_belong(tmp_path, capsys):
    s = Settings.resolve(data_dir=str(tmp_path), as_of="2026-10-31")
    for n in range(12):
        _touch(s.landing_dir / "crm" / "order" / f"o{n:02}.csv")
    print_summary(s, "no-run")  # no warehouse yet: the note is printed all the same
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == (
        f"not read: 12 files in {s.landing_dir} outside the entity folders (crm/contacts, "
        "crm/orders, crm/tickets, crm/surveys, email/events, social/mentions); move each into "
        "its entity's folder to have it landed:"
    )
    assert lines[2:] == [f"  crm/order/o{n:02}.csv" for n in range(10)] + ["  … and 2 more"]


def test_quarantine_on_a_wrong_data_dir_or_entity_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path / "nowhere"))
    assert main(["quarantine"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"configuration error: {tmp_path / 'nowhere'} is no data directory of the pipeline (no "
        "warehouse.duckdb, no landing/): set PIPELINE_DATA_DIR (or --data-dir) to the folder "
        "`pipeline run` uses"
    ]
    assert not (tmp_path / "nowhere").exists()  # a read-only command writes nothing
    (tmp_path / "landing").mkdir()
    assert main(["quarantine", "--data-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"no warehouse at {tmp_path / 'warehouse.duckdb'}: nothing has been landed yet "
        "(python -m pipeline run)"
    )
    monkeypatch.setenv("PIPELINE_NIGHTLY_CRON", "at two")  # checked as by every command
    assert main(["quarantine", "--data-dir", str(tmp_path)]) == 2
    assert "PIPELINE_NIGHTLY_CRON='at two' is not a cron" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["quarantine", "--entity", "order"])
    assert stopped.value.code == 2
    assert "invalid choice: 'order' (choose from 'contacts', 'orders'," in capsys.readouterr().err


def test_the_marts_row_counts_line_up_under_the_longest_name(tmp_path, capsys):
    s = Settings.resolve(data_dir=str(tmp_path), as_of="2026-10-31")
    with open_warehouse(s.warehouse_path) as con:
        run(con, "create table marts.email_monthly as select 1 as campaigns")
        run(con, "create table marts.social_language_monthly as select 1 as n where false")
    print_summary(s, "no-run")
    out = capsys.readouterr().out.splitlines()
    # 23 characters of social_language_monthly, a space, the count right-aligned in 10.
    assert "  email_monthly                    1 row" in out
    assert "  social_language_monthly          0 rows" in out


def test_a_watcher_names_files_outside_the_entity_folders_at_its_look_once_each_time_they_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from pipeline.automation.sensors import LandingState
    from pipeline.cli.watch import Stopper, Watcher

    landing = tmp_path / "landing"
    (landing / "crm" / "order").mkdir(parents=True)
    (landing / "crm" / "order" / "x.csv").write_text("order_id\nA1\n", encoding="utf-8")
    watcher = Watcher(None, 1.0, Stopper())
    folders = "crm/contacts, crm/orders, crm/tickets, crm/surveys, email/events, social/mentions"
    state = watcher.look(landing, LandingState())
    state = watcher.look(landing, state)  # the same file: not said again
    assert capsys.readouterr().out == (
        f"not read: 1 file in {landing} outside the entity folders ({folders}); move each "
        "into its entity's folder to have it landed:\n  crm/order/x.csv\n"
    )
    (landing / "y.csv").write_text("order_id\nA2\n", encoding="utf-8")
    state = watcher.look(landing, state)
    assert capsys.readouterr().out == (
        f"not read: 2 files in {landing} outside the entity folders ({folders}); move each "
        "into its entity's folder to have it landed:\n  crm/order/x.csv\n  y.csv\n"
    )
    # Taken away: nothing more to say; brought back: said again.
    (landing / "crm" / "order" / "x.csv").unlink()
    (landing / "y.csv").unlink()
    state = watcher.look(landing, state)
    assert capsys.readouterr().out == ""
    (landing / "y.csv").write_text("order_id\nA2\n", encoding="utf-8")
    watcher.look(landing, state)
    assert capsys.readouterr().out.endswith("have it landed:\n  y.csv\n")
    assert watcher.runs == 0
