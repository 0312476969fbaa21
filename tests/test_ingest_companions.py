"""Companion mappings: one delivery landing two entities' rows (docs/vendors.md, "Companions").

Zendesk's CSV ticket export (Admin Center > Account > Tools > Reports > Export) has a
"Satisfaction Score" column: "the current satisfaction rating status (Not Offered, Offered, Good
or Bad)" (Zendesk, "Exporting ticket, user, or organization data from your account",
support.zendesk.com/hc/en-us/articles/4408886165402); the spec maps good/bad to CSAT 5/1. The
export is dropped once into crm/tickets/: its tickets land, and each rated ticket is one CSAT
survey response; an unrated ticket is counted as skipped, neither landed nor quarantined.
"""

from __future__ import annotations

import datetime as dt
import tomllib

import dagster as dg
import pytest
from helpers import REPO_ROOT
from ingest_support import drop, land, make_settings, query
from marts_fixtures import build_all, records, write_settings

from assets.ingest import INGEST_ASSETS
from pipeline.config import PipelineConfig, Settings
from pipeline.entities import ENTITIES
from pipeline.ingest.core import Ingestion
from pipeline.ingest.ledger import part_sha256
from pipeline.ingest.mappings import (
    TOP_KEYS,
    MappingError,
    entities_fed,
    load_companions,
    load_mappings,
    parse_mapping,
)
from pipeline.ingest.quarantine_report import needs_attention, run_files, summary_lines
from pipeline.ingest.report import RUN_FILES_KEY, FileReport
from pipeline.validation.landed import make_landed_validator
from pipeline.warehouse import Warehouse, open_warehouse, rows

D = dt.datetime

# The columns of Zendesk's CSV ticket export, in its order (Zendesk's article above; the
# repeated "… within business hours" metrics included).
HEADER = (
    "Summation column,Id,Requester,Requester id,Requester external id,Requester email,"
    "Requester domain,Submitter,Assignee,Group,Subject,Tags,Status,Priority,Via,Ticket type,"
    "Created at,Updated at,Assigned at,Organization,Due date,Initially assigned at,Solved at,"
    "Resolution time,Satisfaction Score,Group stations,Assignee stations,Reopens,Replies,"
    "First reply time in minutes,First reply time in minutes within business hours,"
    "First resolution time in minutes,First resolution time in minutes within business hours,"
    "Full resolution time in minutes,Full resolution time in minutes within business hours,"
    "Agent wait time in minutes,Agent wait time in minutes within business hours,"
    "Requester wait time in minutes,Requester wait time in minutes within business hours,"
    "On hold time in minutes,On hold time in minutes within business hours"
)


def ticket(
    n: int,
    tid: int,
    email: str,
    status: str,
    created: str,
    updated: str,
    solved: str,
    score: str,
) -> str:
    """One row of the export: the columns the mappings read, the others as Zendesk fills them."""
    name = email.split("@")[0].replace(".", " ").title()
    return (
        f"{n},{tid},{name},{90000 + tid},,{email},{email.split('@')[1]},{name},Agent Smith,"
        f"Support,Ticket {tid},,{status},normal,Mail,question,{created},{updated},{created},,,"
        f"{created},{solved},2,{score},1,1,0,1,30,30,60,60,60,60,0,0,30,30,0,0"
    )


# April 2024: four rated tickets (3 Good, 1 Bad), three not rated (Offered, Not Offered,
# Unoffered) and one whose rating is no value of Zendesk's ("Excellent", typed into a copy).
EXPORT = "\n".join(
    [
        HEADER,
        ticket(1, 41, "ana.pop@example.ro", "solved", "2024-04-01T08:00:00Z",
               "2024-04-02T09:00:00Z", "2024-04-01T10:00:00Z", "Good"),
        ticket(2, 42, "ion.rus@example.ro", "closed", "2024-04-02T08:00:00Z",
               "2024-04-05T09:00:00Z", "2024-04-02T10:00:00Z", "Good"),
        ticket(3, 43, "eva.lang@example.de", "solved", "2024-04-03T08:00:00Z",
               "2024-04-04T09:00:00Z", "2024-04-03T10:00:00Z", "good"),
        ticket(4, 44, "sam.hill@example.com", "solved", "2024-04-04T08:00:00Z",
               "2024-04-06T09:00:00Z", "2024-04-04T10:00:00Z", "Bad"),
        ticket(5, 45, "mia.berg@example.se", "solved", "2024-04-05T08:00:00Z",
               "2024-04-05T11:00:00Z", "2024-04-05T10:00:00Z", "Offered"),
        ticket(6, 46, "ana.pop@example.ro", "open", "2024-04-06T08:00:00Z",
               "2024-04-06T09:00:00Z", "", "Unoffered"),
        ticket(7, 47, "ion.rus@example.ro", "solved", "2024-04-07T08:00:00Z",
               "2024-04-07T11:00:00Z", "2024-04-07T10:00:00Z", "Not Offered"),
        ticket(8, 48, "eva.lang@example.de", "solved", "2024-04-08T08:00:00Z",
               "2024-04-08T11:00:00Z", "2024-04-08T10:00:00Z", "Excellent"),
    ]
) + "\n"  # fmt: skip


def test_one_zendesk_export_lands_its_tickets_and_its_ratings_as_csat_responses(data_dir):
    s = make_settings(data_dir)
    drop(s, "tickets", "export_2024_04_30.csv", EXPORT)
    (report,) = land(s, "tickets")
    # Every ticket lands, the one with a wrong rating too: a bad survey row loses no ticket.
    assert (report.mapping, report.rows_read, report.rows_landed, report.rows_quarantined) == (
        "zendesk_tickets",
        8,
        8,
        0,
    )
    got = query(s, "select ticket_id, status from raw_tickets order by 1").rows()
    assert [t for t, _ in got] == ["41", "42", "43", "44", "45", "46", "47", "48"]
    # Good → 5, Bad → 1 (case aside), keyed by the ticket, at the time the ticket was solved;
    # the export holds no comment.
    surveys = query(
        s,
        "select response_id, email, ticket_id, responded_at, survey_type, score, comment, "
        "_source_file, _row_number from raw_surveys order by 1",
    ).rows()
    src = "crm/tickets/export_2024_04_30.csv"
    assert surveys == [
        ("zendesk-41", "ana.pop@example.ro", "41", D(2024, 4, 1, 10), "csat", 5, None, src, 2),
        ("zendesk-42", "ion.rus@example.ro", "42", D(2024, 4, 2, 10), "csat", 5, None, src, 3),
        ("zendesk-43", "eva.lang@example.de", "43", D(2024, 4, 3, 10), "csat", 5, None, src, 4),
        ("zendesk-44", "sam.hill@example.com", "44", D(2024, 4, 4, 10), "csat", 1, None, src, 5),
    ]
    # The rating no one knows is quarantined naming its file, line and reason; the unrated
    # tickets are counted as skipped, with the values that say so, and quarantined nowhere.
    bad = query(s, "select entity, source_file, row_number, reason from quarantine_rows").rows()
    assert bad == [
        (
            "surveys",
            src,
            9,
            "score ('Satisfaction Score') 'Excellent' is not one of the csat answers of "
            "zendesk_satisfaction: good, good with comment, bad, bad with comment",
        )
    ]
    (part,) = report.parts
    assert (part.entity, part.mapping, part.rows_read, part.rows_landed) == (
        "surveys",
        "zendesk_satisfaction",
        8,
        4,
    )
    assert part.rows_quarantined == 1
    assert part.reason == (
        "3 rows skipped, the ticket was not rated: 'Satisfaction Score' Not Offered 1, "
        "Offered 1, Unoffered 1"
    )
    assert report.summary() == (
        f"{src}: landed via zendesk_tickets: 8 rows read, 8 landed, 0 quarantined; and surveys "
        "via zendesk_satisfaction: 8 rows read, 4 landed, 1 quarantined (3 rows skipped, the "
        "ticket was not rated: 'Satisfaction Score' Not Offered 1, Offered 1, Unoffered 1)"
    )


CONTACTS = """Record ID,First Name,Last Name,Email,Create Date,Last Modified Date
101,Ana,Pop,ana.pop@example.ro,2024-01-05 10:00,2024-01-05 10:00
102,Ion,Rus,ion.rus@example.ro,2024-01-06 10:00,2024-01-06 10:00
103,Eva,Lang,eva.lang@example.de,2024-01-07 10:00,2024-01-07 10:00
104,Sam,Hill,sam.hill@example.com,2024-01-08 10:00,2024-01-08 10:00
105,Mia,Berg,mia.berg@example.se,2024-01-09 10:00,2024-01-09 10:00
"""

# Exported again on 20 April: Sam changed his rating of ticket 44 to Good, and Mia rated 45
# Bad (it was Offered). Zendesk's column is the rating now; surveys are immutable.
LATER = (
    EXPORT.replace("2024-04-06T09:00:00Z,2024-04-04T08:00:00Z,,,2024-04-04T08:00:00Z,"
                   "2024-04-04T10:00:00Z,2,Bad",
                   "2024-04-20T09:00:00Z,2024-04-04T08:00:00Z,,,2024-04-04T08:00:00Z,"
                   "2024-04-04T10:00:00Z,2,Good")
    .replace("2024-04-05T11:00:00Z,2024-04-05T08:00:00Z,,,2024-04-05T08:00:00Z,"
             "2024-04-05T10:00:00Z,2,Offered",
             "2024-04-20T11:00:00Z,2024-04-05T08:00:00Z,,,2024-04-05T08:00:00Z,"
             "2024-04-05T10:00:00Z,2,Bad")
)  # fmt: skip


def land_and_build(settings: Settings) -> None:
    """Land every entity's new files, each checked by its landed suite, and build the models."""
    validator = make_landed_validator(settings, run_id="test")
    with open_warehouse(settings.warehouse_path) as con:
        with Ingestion(con, settings, list(ENTITIES)) as ingestion:
            for entity in ENTITIES:
                reports = ingestion.land(entity, "test", validator)
                assert all(r.status != "refused" for r in reports), reports
        write_settings(con, "2024-04-30")
        build_all(con)


def april(settings: Settings) -> tuple[dict, list[tuple]]:
    """satisfaction_monthly's CSAT figures of April 2024, and each contact's last_csat."""
    with open_warehouse(settings.warehouse_path) as con:
        (month,) = records(
            con,
            "select csat_responses, csat, tickets_created, dissatisfied_customers, "
            "silent_dissatisfied_customers from satisfaction_monthly where month = '2024-04-01'",
        )
        last = records(
            con,
            "select c.contact_id, last_csat from customer_360 join int_customers c "
            "using (customer_id) order by 1",
        )
    return month, [tuple(r.values()) for r in last]


def test_zendesk_ratings_in_satisfaction_monthly_and_customer_360(tmp_path):
    s = Settings.resolve(data_dir=str(tmp_path), as_of="2024-04-30")
    drop(s, "contacts", "hubspot.csv", CONTACTS)
    drop(s, "tickets", "export_2024_04_10.csv", EXPORT)
    land_and_build(s)
    month, last = april(s)
    # 3 Good + 1 Bad in April: CSAT = satisfied (4 or 5) / responses = 3/4. The unrated and the
    # unreadable ratings are no responses; all 8 tickets count. Sam's Bad (CSAT 1 <= 2) is a
    # dissatisfaction signal, not silent: his ticket was created in April.
    assert month == {
        "csat_responses": 4,
        "csat": pytest.approx(0.75),
        "tickets_created": 8,
        "dissatisfied_customers": 1,
        "silent_dissatisfied_customers": 0,
    }
    assert last == [("101", 5), ("102", 5), ("103", 5), ("104", 1), ("105", None)]

    # The later export: Mia's new rating is a new response; Sam's changed one repeats the
    # key zendesk-44, and surveys keep their first copy (contracts.md, immutable): his Bad
    # stays. CSAT = 3 satisfied of 5 responses.
    assert LATER.count(",Bad,") == EXPORT.count(",Bad,") == 1  # 44's now Good, 45's Bad
    drop(s, "tickets", "export_2024_04_20.csv", LATER)
    land_and_build(s)
    month, last = april(s)
    assert (month["csat_responses"], month["csat"]) == (5, pytest.approx(0.6))
    assert month["dissatisfied_customers"] == 2  # Sam and Mia
    assert last == [("101", 5), ("102", 5), ("103", 5), ("104", 1), ("105", 1)]


def test_the_part_has_its_own_ledger_row_and_run_summary_line(data_dir):
    s = make_settings(data_dir)
    path = drop(s, "tickets", "export.csv", EXPORT)
    (report,) = land(s, "tickets")
    sha = rows_of(s, "select file_sha256 from meta.ingest_ledger where entity = 'tickets'")[0][0]
    ledger = rows_of(
        s,
        "select file_sha256, source_file, entity, mapping, status, rows_read, rows_landed, "
        "rows_quarantined, delivery_seq from meta.ingest_ledger order by entity",
    )
    # One delivery (one sequence number), two ledger rows: the part is keyed apart.
    assert ledger == [
        (part_sha256(sha, "zendesk_satisfaction"), "crm/tickets/export.csv", "surveys",
         "zendesk_satisfaction", "landed", 8, 4, 1, 1),
        (sha, "crm/tickets/export.csv", "tickets", "zendesk_tickets", "landed", 8, 8, 0, 1),
    ]  # fmt: skip
    assert rows_of(s, "select distinct _file_sha256 from raw.raw_surveys") == [
        (part_sha256(sha, "zendesk_satisfaction"),)
    ]
    assert path.exists()  # landed, not moved aside
    with open_warehouse(s.warehouse_path) as con:
        # From the ledger alone (a run outside Dagster) and from the run's reports alike, the
        # part is said under its file, with its quarantined row and its own CSV.
        for reports in (None, [report]):
            lines = summary_lines(con, s, "test", reports=reports)
            assert lines[:3] == [
                "  crm/tickets/export.csv: 8 rows read, 8 landed, 0 quarantined",
                "    and surveys via zendesk_satisfaction: 8 rows read, 4 landed, 1 quarantined "
                "(3 rows skipped, the ticket was not rated: 'Satisfaction Score' Not Offered 1, "
                "Offered 1, Unoffered 1)",
                "    1 × score ('Satisfaction Score') '…' is not one of the csat answers of "
                "zendesk_satisfaction: good, good with comment, bad, bad with comment (line 9), "
                "e.g. score ('Satisfaction Score') 'Excellent' is not one of the csat answers of "
                "zendesk_satisfaction: good, good with comment, bad, bad with comment",
            ]
            assert lines[3] == (
                f"    rows in {s.quarantine_dir}/crm/tickets/export.csv.surveys.rows.csv"
            )
            # One file needs attention, not two.
            assert needs_attention(run_files(con, "test", reports)) == 1


def test_the_same_export_again_changes_nothing(data_dir):
    s = make_settings(data_dir)
    drop(s, "tickets", "export.csv", EXPORT)
    land(s, "tickets")
    before = rows_of(s, "select count(*) from raw.raw_surveys")
    drop(s, "tickets", "z_copy.csv", EXPORT)  # the same bytes under another name
    (first, again) = land(s, "tickets")
    assert first.status == again.status == "skipped"
    assert (first.parts, again.parts) == ([], [])
    assert again.reason.startswith("same bytes as crm/tickets/export.csv")
    assert rows_of(s, "select count(*) from raw.raw_surveys") == before == [(4,)]
    assert rows_of(s, "select count(*) from meta.quarantine_rows") == [(1,)]


def test_every_part_is_validated_by_its_own_entitys_landed_suite(data_dir):
    s = make_settings(data_dir)
    drop(s, "tickets", "export.csv", EXPORT)
    outcomes = []
    validator = make_landed_validator(s, outcomes.append, run_id="test")
    with open_warehouse(s.warehouse_path) as con, Ingestion(con, s, ["tickets"]) as ingestion:
        (report,) = ingestion.land("tickets", "test", validator)
    assert report.status == "landed"
    assert [(o.asset, o.target, o.rows, o.status) for o in outcomes] == [
        ("raw_tickets", "crm/tickets/export.csv", 8, "passed"),
        ("raw_surveys", "crm/tickets/export.csv", 4, "passed"),
    ]


def test_a_part_its_suite_refuses_refuses_the_whole_file(data_dir):
    # Three of the four rated tickets solved "1900-01-01" (a placeholder left by an edit):
    # most of the responses' dates are no dates (the surveys suite's critical plausibility
    # check), while most of the tickets' are. The delivery lands whole or not at all: its
    # tickets wait with it, and the reason says which part failed.
    s = make_settings(data_dir)
    edited = EXPORT
    for day in ("01", "02", "03"):
        edited = edited.replace(f"2024-04-{day}T10:00:00Z", "1900-01-01T00:00:00Z")
    drop(s, "tickets", "edited.csv", edited)
    validator = make_landed_validator(s, run_id="test")
    with open_warehouse(s.warehouse_path) as con, Ingestion(con, s, ["tickets"]) as ingestion:
        (report,) = ingestion.land("tickets", "test", validator)
    assert report.status == "refused"
    assert report.reason.startswith("its surveys rows (zendesk_satisfaction): ")
    assert "responded_at" in report.reason
    assert rows_of(s, "select count(*) from raw.raw_tickets") == [(0,)]
    assert rows_of(s, "select count(*) from raw.raw_surveys") == [(0,)]
    assert (s.quarantine_dir / "crm/tickets/edited.csv").exists()


def test_the_export_in_the_surveys_folder_is_sent_to_the_tickets_folder(data_dir):
    # The companion reads its host's files only: in crm/surveys/ it would land the ratings and
    # lose the tickets.
    s = make_settings(data_dir)
    drop(s, "surveys", "export.csv", EXPORT)
    (report,) = land(s, "surveys")
    assert report.status == "refused"
    assert report.reason.endswith(
        "; it is a header of tickets ('zendesk_tickets'): deliver the file into crm/tickets/"
    )
    assert "zendesk_satisfaction" not in [m.name for m in load_mappings("surveys")]


def test_a_tickets_folder_feeds_the_surveys_too():
    # The landing sensor runs raw_surveys (and what reads it) for a new file in crm/tickets/.
    assert entities_fed("tickets") == {"tickets", "surveys"}
    assert entities_fed("orders") == {"orders"}
    assert [m.name for m in load_companions("tickets")["zendesk_tickets"]] == [
        "zendesk_satisfaction"
    ]


def mapping_file(folder, name: str, text: str) -> None:
    (folder / f"{name}.toml").write_text(text, encoding="utf-8")


HOST = """entity = "tickets"
signature = ["Ticket", "Email", "Opened", "State", "Rating"]
companions = ["{companion}"]
[columns]
ticket_id = "Ticket"
email = "Email"
created_at = "Opened"
status = "State"
"""
PART = """entity = "{entity}"
signature = ["Ticket", "Email", "Rating"]
[columns]
response_id = "Ticket"
email = "Email"
responded_at = "Opened"
score = "Rating"
[constants]
survey_type = "csat"
"""


@pytest.mark.parametrize(
    ("companion", "part_entity", "message"),
    [
        ("nothing_such", "surveys", "names 'nothing_such', which is no mapping"),
        ("my_part", "tickets", "names 'my_part', a mapping of tickets too"),
    ],
)
def test_a_companion_that_cannot_be_one_stops_the_run_naming_the_file(
    tmp_path, companion, part_entity, message
):
    mapping_file(tmp_path, "my_host", HOST.replace("{companion}", companion))
    text = PART.replace("{entity}", part_entity)
    if part_entity == "tickets":  # a tickets mapping needs its own columns
        text = text.replace("response_id", "ticket_id").replace("responded_at", "created_at")
        text = text.replace('score = "Rating"', "").replace('survey_type = "csat"', "")
        text = text.replace("[constants]", "")
    mapping_file(tmp_path, "my_part", text)
    with pytest.raises(MappingError, match=message) as stopped:
        load_companions("tickets", tmp_path)
    assert str(stopped.value).startswith(f"{tmp_path / 'my_host.toml'}: companions")


def test_a_companion_whose_signature_its_host_may_lack_is_refused(tmp_path):
    mapping_file(tmp_path, "my_host", HOST.replace("{companion}", "my_part"))
    mapping_file(
        tmp_path,
        "my_part",
        PART.replace("{entity}", "surveys").replace('"Rating"]', '"Rating", "Comment"]'),
    )
    with pytest.raises(MappingError, match="signature columns 'Comment' are not in 'my_host'"):
        load_companions("tickets", tmp_path)


@pytest.mark.parametrize(
    ("skip_rows", "message"),
    [
        ({"column": "Rating", "values": ["offered"]}, "needs column .* and reason"),
        (
            {"column": "Subject", "values": ["x"], "reason": "not rated"},
            "column 'Subject' must be one of the signature's columns",
        ),
        ({"column": "Rating", "values": [], "reason": "not rated"}, "needs column"),
    ],
)
def test_skip_rows_is_checked_when_the_mapping_is_read(skip_rows, message):
    raw = {
        "entity": "surveys",
        "signature": ["Ticket", "Email", "Rating"],
        "columns": {"response_id": "Ticket", "email": "Email", "score": "Rating"},
        "skip_rows": skip_rows,
    }
    with pytest.raises(MappingError, match=f"mine.toml: \\[skip_rows\\] {message}"):
        parse_mapping(raw, "mine.toml", "mine")


def rows_of(settings, sql: str) -> list[tuple]:
    with open_warehouse(settings.warehouse_path) as con:
        return rows(con, sql)


def test_every_mapping_key_is_in_the_docs_mapping_file():
    # docs/vendors.md, "Mapping files", describes every key a mapping may have, in two blocks
    # that are TOML a user copies (a mapping that validates as it stands, then the sections
    # of other entities and shapes): each key where TOML reads it (a key written below a
    # [table] belongs to that table).
    text = (REPO_ROOT / "docs" / "vendors.md").read_text(encoding="utf-8")
    section = text.split("## Mapping files", 1)[1].split("\n## ", 1)[0]
    blocks = [part.split("```", 1)[0] for part in section.split("```toml")[1:]]
    assert len(blocks) == 2
    keys = {key for block in blocks for key in tomllib.loads(block)}
    assert sorted(TOP_KEYS - keys) == []


def test_the_ingest_step_says_the_part_in_the_files_of_its_file(data_dir):
    # Dagster's raw_ingest, as a run of the landing sensor has it: raw_tickets and raw_surveys.
    s = make_settings(data_dir)
    drop(s, "tickets", "export.csv", EXPORT)
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))
    result = dg.materialize(
        INGEST_ASSETS, selection=["raw_tickets", "raw_surveys"], resources={"warehouse": warehouse}
    )
    assert result.success
    metadata = {
        m.asset_key.to_user_string(): m.materialization.metadata
        for m in result.get_asset_materialization_events()
    }
    tickets, surveys = metadata["raw_tickets"], metadata["raw_surveys"]
    files = tickets["files"].value
    assert files.startswith(
        "- **crm/tickets/export.csv**: landed via zendesk_tickets: 8 rows read, 8 landed, 0 "
        "quarantined; and surveys via zendesk_satisfaction: 8 rows read, 4 landed, 1 "
        "quarantined (3 rows skipped, the ticket was not rated: 'Satisfaction Score' Not "
        "Offered 1, Offered 1, Unoffered 1); surveys quarantined: 1 × score ('Satisfaction "
        "Score') '…' is not one of the csat answers"
    )
    (said,) = tickets[RUN_FILES_KEY].value
    assert [(p["entity"], p["rows_landed"]) for p in said["parts"]] == [("surveys", 4)]
    assert FileReport.from_json(said).parts[0].rows_quarantined == 1
    assert (tickets["rows_landed"].value, surveys["raw_row_count"].value) == (8, 4)
    assert (s.quarantine_dir / "crm/tickets/export.csv.surveys.rows.csv").exists()
