"""Personal data in free text (issue 13, items 6, 13, 14): masked before the marts, guarded after.

Every expected value below is written by hand from the rule in docs/operations.md ("Personal
data in free text"): an e-mail address (plain, internationalised, or spelled out with (at),
[at] or "at … dot") becomes ``[email]``, a phone number ``[phone]``; the rest of the text stays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
import sqlglot
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings
from sqlglot import exp

from assets.serving import PersonalDataError, assert_no_personal_data
from assets.settings import pipeline_settings
from pipeline import pii
from pipeline.config import ConfigError, PipelineConfig, Settings
from pipeline.email_hash import hash_key, hmac_pads
from pipeline.engine import SQL_DIR, build_models, discover_models, preview_markdown
from pipeline.validation.docs import write_index
from pipeline.validation.log import log_path
from pipeline.validation.outcome import escape_values
from pipeline.validation.stages import validate_assets
from pipeline.validation.suites import EXPECTATIONS_DIR, read_suites
from pipeline.warehouse import Warehouse, run

MASKED = [
    ("Follow-up for jane.doe@example.com", "Follow-up for [email]"),
    ("Follow-up for Jane.Doe+vip@Example.co.uk!", "Follow-up for [email]!"),
    ("write to jane.doe@пример.рф today", "write to [email] today"),
    ("JANE.DOE (at) EXAMPLE.COM", "[email]"),
    ("jane [at] example [dot] com", "[email]"),
    ("jane{at}example{dot}com please", "[email] please"),
    ("Ask jane dot doe at example dot com", "Ask [email]"),
    ("call +44 20 7946 0958 now", "call [phone] now"),
    ("+1 (555) 010-0199", "[phone]"),
    ("US desk 555-010-0199", "US desk [phone]"),
    ("London 020 7946 0958", "London [phone]"),
    ("Berlin 030/1234567", "Berlin [phone]"),
    ("Paris 06 12 34 56 78", "Paris [phone]"),
    ("WhatsApp +4915112345678", "WhatsApp [phone]"),
    ("jane@x.com or +33 6 12 34 56 78", "[email] or [phone]"),
]
ORDINARY = [
    "2026-10-31",
    "Halloween 2026-10-31 10:00",
    "Newsletter 31.10.2026",
    "Black Friday 50% off",
    "Up to 70% off + free shipping",
    "Order #100234567",
    "Order 4711-0815",
    "SKU 123-456",
    "€1,299.00",
    "1.299,00 €",
    "$19.99 today only",
    "Sale at shop.com",
    "Meet us at booth 12",
    "@brand on Instagram",
    "Q4 2026 – 20% off 3 items",
    "Spring sale",
]


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    yield con
    con.close()


def masked(con: duckdb.DuckDBPyConnection, text: str) -> str:
    return con.execute(f"select {pii.mask_sql('?')}", [text]).fetchone()[0]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_personal_data_in_text_is_masked(con, text, expected):
    assert masked(con, text) == expected


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_campaign_names_are_left_alone(con, text):
    assert masked(con, text) == text


@pytest.mark.parametrize("text", [t for t, _ in MASKED] + ORDINARY)
def test_the_guard_agrees_with_the_masking_in_arrow_and_in_python(con, text):
    # What GX sees (Arrow's RE2 through pandas, as the suite runs) and Python's re (Spark's
    # Java regex reads these patterns as Python does) find what DuckDB masks, and nothing else.
    should_find = masked(con, text) != text
    arrow = pd.Series([text], dtype=pd.StringDtype("pyarrow"))
    for pattern, _ in pii.MASKS:
        assert not arrow.array._needs_python_regex(pattern)
    found_arrow = any(bool(arrow.str.contains(p).iloc[0]) for p, _ in pii.MASKS)
    found_python = any(re.search(p, text) for p, _ in pii.MASKS)
    assert (found_arrow, bool(found_python)) == (should_find, should_find)
    # A masked value passes the guard.
    after = masked(con, text)
    assert not any(re.search(p, after) for p, _ in pii.MASKS)


def _regexp_replace_patterns(model: str) -> dict[str, list[str]]:
    """For each column a select of ``model`` (or of its CTEs) names, its regexp_replace patterns."""
    path = next(m.path for m in discover_models() if m.name == model)
    tree = sqlglot.parse_one(path.read_text(encoding="utf-8"), read="duckdb")
    out = {}
    for select in tree.find_all(exp.Select):
        for projection in select.selects:
            calls = list(projection.find_all(exp.RegexpReplace))
            if calls:
                out[projection.alias_or_name] = sorted(c.expression.name for c in calls)
    return out


def test_every_free_text_column_of_a_mart_is_masked_in_staging_with_the_patterns():
    want = sorted([pii.EMAIL, pii.PHONE])
    # stg_email_events masks each distinct name once (masked_name), then joins it back.
    assert _regexp_replace_patterns("stg_email_events") == {"masked_name": want}
    assert _regexp_replace_patterns("stg_social_mentions")["platform"] == want
    got = _regexp_replace_patterns("stg_contacts")
    for column in ("country", "language", "acquisition_source"):
        assert got[column] == want
    # The guard suite checks the same two patterns.
    suite = json.loads((EXPECTATIONS_DIR / "marts_no_personal_data.json").read_text())
    regexes = [e["kwargs"]["regex"] for e in suite["expectations"] if "regex" in e["kwargs"]]
    assert regexes == [pii.EMAIL, pii.PHONE]


def test_the_masking_models_transpile_to_spark():
    for model in ("stg_email_events", "stg_contacts", "stg_social_mentions"):
        path = next(m.path for m in discover_models() if m.name == model)
        (spark,) = sqlglot.transpile(path.read_text(encoding="utf-8"), read="duckdb", write="spark")
        # Spark replaces every match without DuckDB's 'g'; its string literals escape '\'.
        assert "'[phone]')" in spark and "'[email]')" in spark
        assert pii.PHONE.replace("\\", "\\\\") in spark
    path = next(m.path for m in discover_models() if m.name == "int_customers")
    (spark,) = sqlglot.transpile(path.read_text(encoding="utf-8"), read="duckdb", write="spark")
    # The keyed hash: SHA2 over binary concatenation, as DuckDB's sha256 over blobs.
    assert "UNHEX(SHA2(settings.email_hash_inner || ENCODE(email, 'utf-8'), 256))" in spark


# Every text column the marts publish, and why it needs no masking or where it is masked.
MART_TEXT_COLUMNS = {
    ("customer_360", "customer_id"): "identifier",
    ("customer_360", "email_sha256"): "hash (the guard checks its shape)",
    ("customer_360", "country"): "masked in stg_contacts",
    ("customer_360", "language"): "masked in stg_contacts",
    ("customer_360", "acquisition_source"): "masked in stg_contacts",
    ("customer_360", "loyalty_tier"): "derived label",
    ("customer_360", "rfm_segment"): "derived label",
    ("loyalty_customers", "customer_id"): "identifier",
    ("loyalty_customers", "email_sha256"): "hash",
    ("loyalty_customers", "rfm_segment"): "derived label",
    ("loyalty_customers", "loyalty_tier"): "derived label",
    ("email_monthly", "campaign_id"): "identifier",
    ("email_monthly", "campaign_name"): "masked in stg_email_events",
    ("social_monthly", "platform"): "masked in stg_social_mentions",
    ("social_language_monthly", "platform"): "masked in stg_social_mentions",
    ("social_language_monthly", "language"): "a language code or NULL (stg_social_mentions)",
}


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    """A warehouse whose deliveries put personal data in every free-text field of a mart."""
    folder = tmp_path_factory.mktemp("pii")
    con = new_warehouse(folder)
    write_settings(con, "2024-03-31")
    insert_rows(con, "contacts", [
        {"contact_id": "A", "email": "ann@x.test", "created_at": "2023-01-01 00:00:00",
         "country": "ann@x.test", "language": "+40 721 234 567",
         "acquisition_source": "ann (at) x.test", "twitter_handle": "ann"},
    ])  # fmt: skip
    events = [
        ("e1", "K1", "sent", "Follow-up for jane.doe@example.com"),
        ("e2", "K1", "delivered", "Follow-up for jane.doe@example.com"),
        ("e3", "K2", "sent", "jane [at] example [dot] com: 2026-10-31"),
        ("e4", "K3", "sent", "Black Friday 50% off"),
    ]
    insert_rows(con, "email_events", [
        {"event_id": e, "email": "ann@x.test", "campaign_id": k, "campaign_name": name,
         "event_type": t, "occurred_at": "2024-02-01 08:00:00"}
        for e, k, t, name in events
    ])  # fmt: skip
    # A corrected re-delivery of e1: contracts.md keeps the first copy of an immutable key.
    insert_rows(con, "email_events", [
        {"event_id": "e1", "email": "ann@x.test", "campaign_id": "K1",
         "campaign_name": "Follow-up", "event_type": "sent", "occurred_at": "2024-02-01 08:00:00"},
    ], delivery_seq=2)  # fmt: skip
    insert_rows(con, "social_mentions", [
        {"mention_id": "m1", "platform": "Call 555-010-0199", "author_handle": "ann",
         "posted_at": "2024-02-05 08:00:00", "sentiment": "positive"},
    ])  # fmt: skip
    build_all(con)
    yield con, folder
    con.close()


def test_the_marts_publish_masked_text_and_every_text_column_is_accounted_for(leaky):
    con, _ = leaky
    names = records(con, "select campaign_id, campaign_name from email_monthly order by 1")
    # K1: both events carry the address (the corrected copy of e1 is ignored); K2 keeps its date.
    assert names == [
        {"campaign_id": "K1", "campaign_name": "Follow-up for [email]"},
        {"campaign_id": "K2", "campaign_name": "[email]: 2026-10-31"},
        {"campaign_id": "K3", "campaign_name": "Black Friday 50% off"},
    ]
    (person,) = records(con, "select country, language, acquisition_source from customer_360")
    # country is upper-cased, then masked (the e-mail pattern is case-blind): '[email]'.
    assert person == {"country": "[email]", "language": "[phone]", "acquisition_source": "[email]"}
    assert [r["platform"] for r in records(con, "select platform from social_monthly")] == [
        "call [phone]"
    ]
    marts = [m.name for m in discover_models(SQL_DIR) if m.layer == "marts"]
    text = {
        (r["table_name"], r["column_name"])
        for r in records(
            con,
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts' and data_type = 'VARCHAR'",
        )
        if r["table_name"] in marts
    }
    assert text == set(MART_TEXT_COLUMNS)


def test_masked_marts_pass_both_guards(leaky, monkeypatch):
    con, folder = leaky
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    settings = Settings.resolve(data_dir=str(folder), as_of="2024-03-31")
    guard = read_suites()["marts_no_personal_data"]
    for mart in ("email_monthly", "customer_360", "social_monthly"):
        assert_no_personal_data(con, "marts", mart)  # raises on a leak
        (outcome,) = validate_assets(con, settings, [(mart, [guard])], "r1")[mart].outcomes
        assert outcome.status == "passed"


@pytest.mark.parametrize(
    "leak",
    ["jane.doe@пример.рф", "JANE.DOE (at) EXAMPLE.COM", "call +44 20 7946 0958", "a@b.co"],
)
def test_what_slips_past_the_masking_is_refused_by_both_guards(tmp_path, monkeypatch, leak):
    con = new_warehouse(tmp_path)
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    run(con, "create table marts.leaky as select * from (values ('ok'), (?)) as t(note)", [leak])
    with pytest.raises(PersonalDataError, match="'note' holds 1 e-mail address"):
        assert_no_personal_data(con, "marts", "leaky")
    suite = read_suites()["marts_no_personal_data"]
    settings = Settings.resolve(data_dir=str(tmp_path), as_of="2024-03-31")
    result = validate_assets(con, settings, [("leaky", [suite])], "r1")["leaky"]
    # One failed pattern expectation, its example the leaked value in column note.
    (failed,) = [e for o in result.outcomes for e in o.errors]
    assert failed.examples == [f"{leak} (mart_column note)"]
    con.close()


def test_escape_values_escapes_every_string_nested():
    got = escape_values({"<k>": ["<img src=x onerror=alert(1)>", ("a&b", 3)], "n": None})
    assert got == {"&lt;k&gt;": ["&lt;img src=x onerror=alert(1)&gt;", ("a&amp;b", 3)], "n": None}


def test_a_delivered_tag_is_text_on_its_data_docs_page(tmp_path, monkeypatch):
    """A real validation renders a real GX page; the campaign name shows escaped, never as a tag."""
    con = new_warehouse(tmp_path)
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "all")
    tag = "<img src=x onerror=alert(1)>"
    # The guard fails on this value (a phone number), so GX lists it as an unexpected example.
    value = f"{tag} call +44 20 7946 0958"
    run(con, "create table marts.leaky as select ? as campaign_name", [value])
    settings = Settings.resolve(data_dir=str(tmp_path), as_of="2024-03-31")
    suite = read_suites()["marts_no_personal_data"]
    (outcome,) = validate_assets(con, settings, [("leaky", [suite])], "r1")["leaky"].outcomes
    assert outcome.status == "error"
    page = Path(outcome.docs_path)
    assert page.is_relative_to(tmp_path / "docs" / "data_docs" / "validations")
    html = page.read_text(encoding="utf-8")
    assert "onerror" in html  # the value is on the page …
    assert tag not in html  # … but never as markup
    assert "&lt;img src=x onerror=alert(1)&gt; call +44 20 7946 0958" in html
    con.close()


# RFC 4231, test case 2: HMAC-SHA256(key "Jefe", "what do ya want for nothing?").
RFC4231_HMAC = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_the_sql_hmac_from_the_pads_is_rfc_4231s(con):
    inner, outer = hmac_pads("Jefe")
    got = con.execute(
        "select sha256(?::blob || unhex(sha256(?::blob || encode(?))))",
        [outer, inner, "what do ya want for nothing?"],
    ).fetchone()[0]
    assert got == RFC4231_HMAC
    assert hmac_pads(None) == (None, None)


def test_a_short_hash_key_is_a_configuration_error():
    assert hash_key({}) is None
    assert hash_key({"PIPELINE_EMAIL_HASH_KEY": "x" * 16}) == "x" * 16
    with pytest.raises(ConfigError, match="PIPELINE_EMAIL_HASH_KEY is 4 characters long"):
        hash_key({"PIPELINE_EMAIL_HASH_KEY": "Jefe"})


def test_email_sha256_is_plain_by_default_and_keyed_when_a_key_is_set(tmp_path):
    con = new_warehouse(tmp_path)
    insert_rows(con, "contacts", [
        {"contact_id": "A", "email": " Ann@X.test ", "created_at": "2023-01-01 00:00:00"},
    ])  # fmt: skip
    key = "a-secret-of-32-characters-000000"
    expected = {
        # The contract's sha256(lower(trim(email))) and Python's own HMAC of the same address.
        None: hashlib.sha256(b"ann@x.test").hexdigest(),
        key: hmac.new(key.encode(), b"ann@x.test", hashlib.sha256).hexdigest(),
    }
    models = {m.name: m for m in discover_models(SQL_DIR)}
    needed, todo = set(), ["int_customers"]
    while todo:  # int_customers and its ancestors: a tenth of the graph
        name = todo.pop()
        if name in models and name not in needed:
            needed.add(name)
            todo.extend(models[name].parents)
    for setting, want in expected.items():
        write_settings(con, "2024-03-31", email_hash_key=setting)
        build_models(con, SQL_DIR, only=needed)
        got = records(con, "select email_sha256 from intermediate.int_customers")
        assert got == [{"email_sha256": want}]
    con.close()


def test_the_settings_asset_writes_the_pads_only_when_a_key_is_set(tmp_path, monkeypatch):
    new_warehouse(tmp_path).close()
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(tmp_path), as_of="2024-03-31"))
    key = "b" * 20
    for setting, label in ((None, "plain SHA-256"), (key, "HMAC-SHA256 (keyed)")):
        if setting is None:
            monkeypatch.delenv("PIPELINE_EMAIL_HASH_KEY", raising=False)
        else:
            monkeypatch.setenv("PIPELINE_EMAIL_HASH_KEY", setting)
        result = dg.materialize([pipeline_settings], resources={"warehouse": warehouse})
        (mat,) = result.asset_materializations_for_node("pipeline_settings")
        assert mat.metadata["email_sha256"].value == label
        assert key not in str(mat.metadata)  # the key is never shown
        with warehouse.connect() as con:
            pads = con.sql("select email_hash_inner, email_hash_outer from meta.pipeline_settings")
            (inner, outer), *_ = pads.fetchall()
        # RFC 2104: the key padded with zeros to 64 bytes, XOR 0x36 / 0x5c: 'b' is 0x62.
        want = (
            (None, None)
            if setting is None
            else (b"\x54" * 20 + b"\x36" * 44, b"\x3e" * 20 + b"\x5c" * 44)
        )
        assert (inner, outer) == want


def test_a_delivered_language_that_is_not_a_code_never_reaches_a_mart(tmp_path):
    con = new_warehouse(tmp_path)
    write_settings(con, "2024-03-31")
    insert_rows(
        con,
        "social_mentions",
        [
            {"mention_id": m, "platform": "twitter", "author_handle": "a", "text": "hi",
             "posted_at": "2024-03-01 10:00:00", "language": language}
            for m, language in (("m1", " EN "), ("m2", "pt-BR"), ("m3", "call +40 721 234 567"))
        ],
    )  # fmt: skip
    build_all(con)
    got = records(con, "select mention_id, language from stg_social_mentions order by 1")
    assert [(r["mention_id"], r["language"]) for r in got] == [
        ("m1", "en"),
        ("m2", "pt-br"),
        ("m3", None),
    ]


def test_model_previews_show_no_personal_data(tmp_path):
    """Every model's ``preview`` goes into Dagster's event log (kept for
    PIPELINE_RUN_HISTORY_DAYS, readable by everyone the UI serves, untouched when a customer is
    erased from the warehouse). A contact's name, phone, address and handles show masked; the
    row stays findable by its id, file and line. Before, stg_contacts' preview showed them."""
    con = new_warehouse(tmp_path)
    write_settings(con, "2024-03-31")
    insert_rows(con, "contacts", [
        {"contact_id": "C1", "email": "ann.smith@x.test", "first_name": "Ann",
         "last_name": "Smithson", "phone": "+44 20 7946 0958", "birth_date": "1980-05-17",
         "created_at": "2023-01-01 00:00:00", "twitter_handle": "annsmithson80"},
    ])  # fmt: skip
    insert_rows(con, "surveys", [
        {"response_id": "R1", "contact_id": "C1", "responded_at": "2024-02-01 08:00:00",
         "survey_type": "nps", "score": 9, "comment": "Call me on 020 7946 0958"},
    ])  # fmt: skip
    build_all(con)
    models = [m for m in discover_models(SQL_DIR) if m.layer != "marts"]
    previews = {m.name: preview_markdown(con, m.qualified_name) for m in models}
    for name, preview in previews.items():
        for value in ("ann.smith@x.test", "Smithson", "7946 0958", "1980-05-17", "annsmithson80"):
            assert value not in preview, (name, value)
    header, _, row = previews["stg_contacts"].split("\n")

    def cells(line: str) -> list[str]:
        return [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]

    found = dict(zip(cells(header), cells(row), strict=True))
    assert (found["contact_id"], found["email"], found["first_name"]) == (
        "C1",
        r"\[personal\]",  # markdown_text escapes the brackets
        r"\[personal\]",
    )
    assert r"Call me on \[phone\]" in previews["stg_surveys"]
    con.close()


def test_what_holds_a_failed_checks_examples_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    """A failed check's Data Docs page, the site's index and the run's validation log quote the
    unexpected values, here a phone number in a mart: written 0600, as the quarantine CSV files
    are (they were 0644 under the usual umask 022, readable by every account on the machine)."""
    con = new_warehouse(tmp_path)
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "all")
    run(con, "create table marts.leaky as select 'call +44 20 7946 0958' as campaign_name")
    settings = Settings.resolve(data_dir=str(tmp_path), as_of="2024-03-31")
    suite = read_suites()["marts_no_personal_data"]
    old = os.umask(0o022)
    try:
        (outcome,) = validate_assets(con, settings, [("leaky", [suite])], "r1")["leaky"].outcomes
        index = write_index(settings)
    finally:
        os.umask(old)
    con.close()
    page, log = Path(outcome.docs_path), log_path(tmp_path, "r1")
    for path in (page, index, log):
        assert "+44 20 7946 0958" in path.read_text(encoding="utf-8"), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
