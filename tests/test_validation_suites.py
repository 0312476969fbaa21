"""Suite files: every one loads in GX with all its expectations; a broken one fails loudly."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pipeline.engine import discover_models
from pipeline.entities import ENTITIES
from pipeline.ingest.rules import TIME_ORDER
from pipeline.predict.docs import PREDICTION_MARTS
from pipeline.validation.suites import (
    EXPECTATIONS_DIR,
    SuiteError,
    build_gx_suite,
    condition_columns,
    read_suite,
    read_suites,
)

SUITE_FILES = sorted(EXPECTATIONS_DIR.glob("*.json"))


@pytest.mark.parametrize("path", SUITE_FILES, ids=lambda p: p.stem)
def test_every_suite_file_loads_with_all_its_expectations(path: Path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    built = build_gx_suite(read_suite(path))
    # GX kept exactly what the file lists, type and severity, in order.
    assert [(e.expectation_type, e.severity.value) for e in built.expectations] == [
        (e["type"], e["severity"]) for e in doc["expectations"]
    ]


def test_there_is_a_suite_per_stage_and_entity_and_mart():
    suites = read_suites()
    for entity in ENTITIES:
        assert suites[f"landed_{entity}"].asset == f"raw_{entity}"
        assert suites[f"staging_{entity}"].asset == f"stg_{entity}"
    marts = {m.name for m in discover_models() if m.layer == "marts"} | set(PREDICTION_MARTS)
    assert marts, "the marts helper has written no mart yet"
    assert {s.asset for s in suites.values() if s.stage == "marts"} == marts | {"*"}
    # Every suite guards an asset that exists (a model, or a raw table).
    models = {m.name for m in discover_models()} | set(PREDICTION_MARTS)
    for suite in suites.values():
        assert suite.asset in models | {"*"} | {e.raw_table for e in ENTITIES.values()}


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_landed_suites_agree_with_the_entity_contract(entity):
    ent = ENTITIES[entity]
    exps = read_suite(EXPECTATIONS_DIR / f"landed_{entity}.json").expectations
    # The row contract quarantines a row missing a required value, with a value outside its
    # enum, linked to nobody or scoring outside its survey's range before the suite runs
    # (tests/test_validation_landed_contract.py), and refuses a file with two versions of a key
    # at one updated_at (tests/test_ingest_deliveries.py): no expectation repeats those rules.
    read = [condition_columns(e["kwargs"].get("row_condition")) for e in exps]
    assert not any(cols & {"email", "survey_type"} for cols in read)
    contract = [
        e
        for e in exps
        if (
            e["type"] == "expect_column_values_to_not_be_null"
            and "row_condition" not in e["kwargs"]
        )
        or (
            e["type"] == "expect_column_values_to_be_in_set"
            and e["kwargs"]["column"] not in ent.open_enums
        )
        or e["kwargs"].get("column") == "score"
        # two versions of a key at one updated_at: checks.undecidable_versions refuses the file
        or e["type"] == "expect_compound_columns_to_be_unique"
    ]
    assert contract == []
    # An open enum's other values land (Entity.open_enums): the suite names them, as a warning.
    named = {
        e["kwargs"]["column"]: e["severity"]
        for e in exps
        if e["type"] == "expect_column_values_to_be_in_set"
    }
    assert named == dict.fromkeys(ent.open_enums, "warning")
    # Nor the row rules on times (pipeline/ingest/rules.py): a ticket answered or solved before
    # its creation is quarantined by ingestion, so a landed expectation on it could never fail
    # (two such warnings were added to landed_tickets.json after the rule, docs/open-rules.md R9).
    ordered = {
        (e["kwargs"]["column_A"], e["kwargs"]["column_B"])
        for e in exps
        if e["type"] == "expect_column_pair_values_a_to_be_greater_than_b"
    }
    assert ordered.isdisjoint(TIME_ORDER.get(entity, ()))
    # Columns and types are checked once per file by landed.delivered_types
    # (tests/test_validation_landed.py), not by an expectation per column.
    assert not [e for e in exps if e["type"].endswith("_in_type_list")]
    # Every date is judged for a misread file (most values implausible: critical) and every
    # date but updated_at (a later version is taken as delivered) warns when after as_of.
    plausible = {
        e["kwargs"]["column"]: (e["severity"], e["kwargs"]["mostly"])
        for e in exps
        if e["kwargs"].get("max_value") == {"$PARAMETER": "plausible_until"}
    }
    assert plausible == dict.fromkeys(ent.timestamp_columns, ("critical", 0.5))
    after_as_of = {
        e["kwargs"]["column"]: (e["severity"], e["kwargs"]["strict_max"])
        for e in exps
        if e["kwargs"].get("max_value") == {"$PARAMETER": "as_of_end"}
    }
    assert after_as_of == dict.fromkeys(
        set(ent.timestamp_columns) - {"updated_at"}, ("warning", True)
    )


def _write(tmp_path: Path, expectations: list[dict], name: str = "marts_broken") -> Path:
    path = tmp_path / f"{name}.json"
    doc = {
        "name": name,
        "meta": {"stage": "marts", "asset": "retention_monthly", "batch": "table"},
        "expectations": expectations,
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


GOOD = {
    "type": "expect_column_values_to_be_unique",
    "kwargs": {"column": "month"},
    "severity": "critical",
}


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        # An unknown expectation type: GX logs it and drops it from the suite.
        (
            {
                "type": "expect_column_values_to_be_frobnicated",
                "kwargs": {"column": "x"},
                "severity": "critical",
            },
            "GX kept 1 of 2 expectations: expectation 2 (expect_column_values_to_be_frobnicated)"
            " is invalid",
        ),
        # A misspelt keyword: GX's pydantic model refuses it.
        (
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"colum": "nps"},
                "severity": "critical",
            },
            "expectation 2 (expect_column_values_to_be_between) is invalid",
        ),
        # A severity GX does not know.
        (
            {**GOOD, "severity": "blocker"},
            "'severity' must be stated as one of ('critical', 'warning')",
        ),
        # No severity: blocking or not must be a decision, not a default.
        (
            {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "month"}},
            "'severity' must be stated",
        ),
        # A string row condition (deprecated in GX 1.9, and passed through unparsed).
        (
            {**GOOD, "kwargs": {"column": "nps", "row_condition": "month > 0"}},
            "write row_condition as a GX condition object",
        ),
    ],
    ids=["unknown-type", "misspelt-kwarg", "bad-severity", "no-severity", "no-parser"],
)
def test_a_broken_suite_file_fails_loudly(tmp_path, broken, message):
    path = _write(tmp_path, [GOOD, broken])
    with pytest.raises(SuiteError) as err:
        build_gx_suite(read_suite(path))  # both checks: ours, then what GX kept
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_a_suite_file_must_be_named_for_its_suite_and_say_its_stage(tmp_path):
    path = _write(tmp_path, [GOOD], name="marts_x")
    path.rename(tmp_path / "other.json")
    with pytest.raises(SuiteError, match="'name' must equal the file name 'other'"):
        read_suite(tmp_path / "other.json")
    doc = json.loads((tmp_path / "other.json").read_text())
    doc["name"], doc["meta"]["stage"] = "other", "gold"
    (tmp_path / "other.json").write_text(json.dumps(doc))
    with pytest.raises(SuiteError, match="meta.stage must be one of"):
        read_suite(tmp_path / "other.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SuiteError, match="not readable as JSON"):
        read_suite(tmp_path / "bad.json")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(expectations={}), "expected an object with an 'expectations' list"),
        (lambda d: d["meta"].update(batch="rows"), "meta.batch must be one of"),
        (lambda d: d["meta"].pop("asset"), "meta.asset (or meta.entity for a landed suite)"),
        (lambda d: d.update(expectations=[]), "the suite has no expectations"),
        (lambda d: d["expectations"].append({"kwargs": {}}), "expectation 2 (?): needs a 'type'"),
        (lambda d: d["meta"].update(derived_columns=["a + b"]), "meta.derived_columns must map"),
    ],
    ids=["not-a-list", "unknown-batch", "no-asset", "empty", "no-type", "derived-not-a-map"],
)
def test_strict_loading_refuses_a_suite_it_cannot_use_as_written(tmp_path, change, message):
    # Each case breaks one rule of read_suite in an otherwise good file: loading stops with the
    # file's path and the rule, instead of running the suite with an expectation dropped.
    path = _write(tmp_path, [GOOD])
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(SuiteError) as err:
        read_suite(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_the_email_regex_flags_what_pythons_whitespace_class_flags_in_duckdb(tmp_path):
    import duckdb

    from pipeline.validation.runner import run_suite_sql, sql_source

    suite = read_suite(EXPECTATIONS_DIR / "staging_email_events.json")
    emails = ["a@x.org", "A@x.org", " a@x.org", "a@x.org\u00a0", "a@x.org\x0b", "a\tb@x.org"]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(
        "create table events as select 'e' || i as event_id, email, 'c1' as campaign_id, "
        "'open' as event_type, timestamp '2026-01-01' as occurred_at "
        "from unnest(?) with ordinality as u(email, i)",
        [emails],
    ).fetchall()
    with sql_source(con) as source:
        outcome = run_suite_sql(
            source, suite, "select * from events", 6, target="t", batch="6 rows", run_id="t"
        )
    con.close()
    (result,) = [e for e in outcome.expectations if e.expectation.endswith("match_regex")]
    # Upper case, and leading or trailing whitespace as Python's \s knows it (no-break space,
    # vertical tab); whitespace inside the address is left to other checks.
    assert result.unexpected_count == 4
    assert sorted(result.examples) == sorted(emails[1:5])


def test_the_staging_suites_share_one_email_pattern():
    regexes = {
        (path.stem, e["kwargs"]["column"]): e["kwargs"]["regex"]
        for path in SUITE_FILES
        for e in read_suite(path).expectations
        if e["type"].endswith("match_regex")
    }
    # The staging suites share one e-mail pattern (copied into each file: JSON cannot share).
    email = {r for (stem, column), r in regexes.items() if column == "email"}
    assert len(email) == 1
    assert {stem for (stem, column) in regexes if column == "email"} == {
        "staging_contacts",
        "staging_email_events",
        "staging_orders",
        "staging_surveys",
        "staging_tickets",
    }


def test_a_suite_must_check_an_existing_table_and_every_mart_needs_one(tmp_path):
    # A misspelt meta.asset left the suite unrun, and a mart without a suite showed no check:
    # both passed every run without a word. Now the definitions do not load (check_targets),
    # naming the file, the likely table, and what to add.
    from pipeline.validation.suites import check_targets

    guard = read_suite(_write(tmp_path, [GOOD], name="marts_m_status"))  # asset retention_monthly
    tables = {"retention_monthly", "stg_orders"}
    mart_file = tmp_path / "m_status.sql"
    check_targets({guard.name: guard}, tables, {"retention_monthly": mart_file})
    typo = dataclasses.replace(guard, asset="retention_montly")
    with pytest.raises(SuiteError) as err:
        check_targets({typo.name: typo}, tables, {})
    assert str(err.value) == (
        f"{guard.path}: meta.asset names 'retention_montly' (did you mean 'retention_monthly'?), "
        "which is no table of the pipeline, so the suite would never run: name the model or mart "
        "it checks"
    )
    with pytest.raises(SuiteError) as err:
        check_targets({guard.name: guard}, tables, {"m_status": mart_file})
    assert str(err.value) == (
        f"{mart_file}: the mart 'm_status' has no expectation suite: add "
        "expectations/marts_m_status.json with meta.stage 'marts', meta.asset 'm_status' and "
        "meta.batch 'table' (docs/validation.md, 'Suite files')"
    )
    # The personal-data suite guards every mart ('*'), and is no suite of a mart of its own.
    every = dataclasses.replace(guard, asset="*")
    check_targets({every.name: every}, tables, {})
    with pytest.raises(SuiteError, match="'m_status' has no expectation suite"):
        check_targets({every.name: every}, tables, {"m_status": mart_file})
