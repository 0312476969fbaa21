"""Rows the landed suites no longer check: the row contract quarantines them before the suite.

The landed suites hold no expectation of a required value, an enum value, the contact_id-or-
email link or a survey score's range: the ingestion core quarantines a row breaking one of these
rules (pipeline/entities.py; pipeline/ingest/parse.py and duckdb_csv.py) before the suite runs
on the good rows. Here a canonical CSV of each entity breaks each rule once, through the real
ingestion core with the landed validator: each such row is quarantined with its reason (written
out by hand from the rule's text), the other rows land, and the suite passes on them.
"""

from __future__ import annotations

import pytest
from ingest_support import drop, make_settings, query

from pipeline.entities import ENTITIES
from pipeline.ingest.core import ingest_entity
from pipeline.validation import make_landed_validator
from pipeline.warehouse import open_warehouse

NOBODY = "neither contact_id nor email is given: the row cannot be linked to anyone"
# entity -> (its rows after the header, the good rows' keys, {row number: reason}); the header
# is row 1, so the first row is row 2.
CASES = {
    "contacts": (
        "c1,a@x.com,,,,2024-06-01,,,,,,,,,\n"
        ",b@x.com,,,,2024-06-01,,,,,,,,,\n"
        "c3,c@x.com,,,,,,,,,,,,,\n"
        "c4,,,,,2024-06-02,,,,,,,,,\n",
        ["c1", "c4"],
        {3: "contact_id is missing", 4: "created_at is missing"},
    ),
    "orders": (
        "o1,c1,,2024-06-01,completed,EUR,10,,,\n"
        ",c1,,2024-06-01,completed,EUR,10,,,\n"
        "o3,c1,,,completed,EUR,10,,,\n"
        "o4,c1,,2024-06-01,,EUR,10,,,\n"
        "o5,c1,,2024-06-01,completed,EUR,,,,\n"
        "o6,,,2024-06-01,completed,EUR,10,,,\n"
        "o7,c1,,2024-06-01,shipped,EUR,10,,,\n"
        "o8,,x@y.z,2024-06-02,pending,EUR,20,,,\n",
        ["o1", "o8"],
        {
            3: "order_id is missing",
            4: "ordered_at is missing",
            5: "status is missing",
            6: "gross_amount is missing",
            7: NOBODY,
            8: "status 'shipped' is not one of completed, pending, cancelled, refunded",
        },
    ),
    "tickets": (
        "t1,c1,,2024-06-01,email,question,open,,,0,0,\n"
        ",c1,,2024-06-01,email,question,open,,,0,0,\n"
        "t3,c1,,,email,question,open,,,0,0,\n"
        "t4,c1,,2024-06-01,email,question,,,,0,0,\n"
        "t5,,,2024-06-01,email,question,open,,,0,0,\n"
        "t6,c1,,2024-06-01,fax,question,open,,,0,0,\n"
        "t7,c1,,2024-06-01,email,gripe,open,,,0,0,\n"
        "t8,c1,,2024-06-01,email,question,stuck,,,0,0,\n"
        "t9,,x@y.z,2024-06-02,chat,,closed,,,1,0,\n",
        ["t1", "t9"],
        {
            3: "ticket_id is missing",
            4: "created_at is missing",
            5: "status is missing",
            6: NOBODY,
            7: "channel 'fax' is not one of email, phone, chat, web, social",
            8: "category 'gripe' is not one of question, complaint, incident, request, other",
            9: "status 'stuck' is not one of new, open, pending, solved, closed",
        },
    ),
    "surveys": (
        "r1,c1,,2024-06-01,nps,10,,\n"
        ",c1,,2024-06-01,nps,9,,\n"
        "r3,c1,,,nps,9,,\n"
        "r4,c1,,2024-06-01,,9,,\n"
        "r5,c1,,2024-06-01,nps,,,\n"
        "r6,,,2024-06-01,nps,9,,\n"
        "r7,c1,,2024-06-01,xyz,9,,\n"
        "r8,c1,,2024-06-01,nps,11,,\n"
        "r9,c1,,2024-06-01,csat,0,,\n"
        "r10,c1,,2024-06-01,ces,8,,\n"
        "r11,,x@y.z,2024-06-02,ces,7,,\n",
        ["r1", "r11"],
        {
            3: "response_id is missing",
            4: "responded_at is missing",
            5: "survey_type is missing",
            6: "score is missing",
            7: NOBODY,
            8: "survey_type 'xyz' is not one of nps, csat, ces",
            9: "score 11 is outside the nps range 0–10",
            10: "score 0 is outside the csat range 1–5",
            11: "score 8 is outside the ces range 1–7",
        },
    ),
    "email_events": (
        "e1,a@x.com,k1,,open,2024-06-01,\n"
        "e2,,k1,,open,2024-06-01,\n"
        "e3,a@x.com,,,open,2024-06-01,\n"
        "e4,a@x.com,k1,,,2024-06-01,\n"
        "e5,a@x.com,k1,,open,,\n"
        "e6,a@x.com,k1,,opened,2024-06-01,\n"
        "e7,b@x.com,k1,,click,2024-06-02,\n",
        ["e1", "e7"],
        {
            3: "email is missing",
            4: "campaign_id is missing",
            5: "event_type is missing",
            6: "occurred_at is missing",
            7: "event_type 'opened' is not one of sent, delivered, open, click, bounce, "
            "unsubscribe, spam_complaint",
        },
    ),
    "social_mentions": (
        "m1,twitter,@a,,hi,en,2024-06-01,positive,,\n"
        ",twitter,@a,,hi,en,2024-06-01,,,\n"
        "m3,,@a,,hi,en,2024-06-01,,,\n"
        "m4,twitter,,,hi,en,2024-06-01,,,\n"
        "m5,twitter,@a,,hi,en,,,,\n"
        "m6,myspace,@a,,hi,en,2024-06-01,,,\n"
        "m8,blog,@b,,ok,en,2024-06-02,,,\n",
        ["m1", "m8"],
        {
            3: "mention_id is missing",
            4: "platform is missing",
            5: "author_handle is missing",
            6: "posted_at is missing",
            7: "platform 'myspace' is not one of twitter, facebook, instagram, linkedin, blog, "
            "other",
            # A sentiment label none of the three lands, named by the landed suite's warning
            # (tests/test_social_listening.py).
        },
    ),
}


@pytest.mark.parametrize("entity", list(CASES))
def test_a_row_breaking_a_contract_rule_is_quarantined_and_the_others_land(
    entity, data_dir, monkeypatch
):
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    body, keys, reasons = CASES[entity]
    ent = ENTITIES[entity]
    settings = make_settings(data_dir)
    drop(settings, entity, "delivery.csv", ",".join(ent.columns) + "\n" + body)
    outcomes = []
    validator = make_landed_validator(settings, outcomes.append, run_id="t")
    with open_warehouse(settings.warehouse_path) as con:
        (report,) = ingest_entity(con, settings, entity, run_id="t", validator=validator)
    assert (report.status, report.rows_landed, report.rows_quarantined) == (
        "landed",
        len(keys),
        len(reasons),
    )
    landed = query(settings, f"select {ent.key} from {ent.raw_table} order by _row_number")
    assert landed[ent.key].to_list() == keys
    found = query(settings, "select row_number, reason from quarantine_rows order by row_number")
    assert dict(found.rows()) == reasons
    # The landed suite ran on the good rows only, and passed.
    assert [(o.target, o.status) for o in outcomes] == [
        (f"{ent.landing_path}/delivery.csv", "passed")
    ]
