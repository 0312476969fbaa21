"""Quarantine reasons not covered elsewhere: row-level and file-level, on small files."""

from __future__ import annotations

from ingest_support import drop, land, make_settings, query

TICKETS = (
    "ticket_id,contact_id,email,created_at,channel,category,status,first_response_at,"
    "solved_at,agent_replies,reopens,updated_at\n"
)
CONTACTS = "contact_id,email,created_at,birth_date\n"
MENTIONS = "mention_id,platform,author_handle,text,posted_at\n"


def test_row_level_reasons(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "tickets",
        "t.csv",
        TICKETS
        + "t1,c1,,2024-01-01,email,question,open,,,2,0,\n"  # row 2: fine
        + ",,,,,,,,,,,\n"  # row 3: a spreadsheet's empty row
        + "t3,c1,,2024-01-01,fax,question,open,,,two,0,\n"  # row 4
        + "t4,c1,,2024-01-01,email,question,open,,,3.0,0,\n",  # row 5: Excel's 3.0 is 3
    )
    drop(s, "contacts", "c.csv", CONTACTS + "c1,,2024-01-01,1990-02-30\nc2,,2024-01-01,\n")
    (tickets,) = land(s, "tickets")
    (contacts,) = land(s, "contacts")
    assert (tickets.rows_landed, tickets.rows_quarantined) == (2, 2)
    assert (contacts.rows_landed, contacts.rows_quarantined) == (1, 1)
    got = query(s, "select source_file, row_number, reason from quarantine_rows order by 1, 2")
    assert got.rows() == [
        ("crm/contacts/c.csv", 2,
         "birth_date: cannot read '1990-02-30' as a date in format %Y-%m-%d"),
        ("crm/tickets/t.csv", 3, "empty row"),
        (
            "crm/tickets/t.csv",
            4,
            "agent_replies: cannot read 'two' as a whole number; channel 'fax' is not one of "
            "email, phone, chat, web, social",
        ),
    ]  # fmt: skip
    assert query(s, "select agent_replies from raw_tickets order by ticket_id")[
        "agent_replies"
    ].to_list() == [2, 3]


def test_spreadsheet_rounded_ids_that_collide_refuse_the_file(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "social_mentions",
        "damaged.csv",
        MENTIONS
        + "5.70306E+17,twitter,ana,hello,2015-02-24T10:00:00Z\n"
        + "5.70306E+17,twitter,bob,other tweet,2015-02-24T10:05:00Z\n"  # a different tweet
        + "5.70301E+17,twitter,cy,third,2015-02-24T10:07:00Z\n",
    )
    (report,) = land(s, "social_mentions")
    assert report.status == "refused"
    assert report.reason.startswith(
        "the key column 'mention_id' was damaged by a spreadsheet: 3 of 3 ids are in scientific "
        "notation (e.g. '5.70306E+17'), rounded so that only 2 distinct ids remain and 1 of them "
        "is shared by different records (e.g. '5.70306E+17' in rows 2 and 3)"
    )


def test_rounded_ids_that_still_tell_records_apart_land(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "social_mentions",
        "ok.csv",
        MENTIONS
        + "5.70306133677761E+017,twitter,ana,hello,2015-02-24T10:00:00Z\n"
        + "5.70306133677761E+017,twitter,ana,hello,2015-02-24T10:00:00Z\n"  # an exact repeat
        + "5.70301130888122E+017,twitter,bob,hi,2015-02-24T10:05:00Z\n",
    )
    (report,) = land(s, "social_mentions")
    assert (report.status, report.rows_landed) == ("landed", 3)


def test_duplicate_header_names_refuse_the_file(data_dir):
    s = make_settings(data_dir)
    drop(s, "contacts", "dup.csv", "contact_id,Email,created_at,email\nc1,a,2024-01-01,b\n")
    (report,) = land(s, "contacts")
    assert (report.status, report.reason) == (
        "refused",
        "the header names the column 'email' twice",
    )


def test_refused_bytes_are_retried_and_same_names_do_not_clash(data_dir):
    s = make_settings(data_dir)
    drop(s, "contacts", "x.csv", "nonsense\n1\n")
    land(s, "contacts")
    first = query(s, "select file_sha256 from ingest_ledger")[0, 0]
    drop(s, "contacts", "x.csv", "nonsense\n1\n")  # the same bytes again: tried again
    (again,) = land(s, "contacts")
    assert again.status == "refused"
    assert again.reason.endswith("(retry of crm/contacts/x.csv, refused earlier)")
    drop(s, "contacts", "x.csv", "other nonsense\n2\n")  # new bytes, same name
    (other,) = land(s, "contacts")
    assert other.status == "refused"
    moved = sorted(p.name for p in (s.quarantine_dir / "crm/contacts").iterdir())
    sha = query(s, "select file_sha256 from ingest_ledger order by delivery_seq desc")[0, 0]
    # The retried copy and the new bytes each get their hash's first 8 digits.
    assert moved == sorted(["x.csv", "x.csv.reason.txt", f"{first[:8]}-x.csv",
                            f"{first[:8]}-x.csv.reason.txt", f"{sha[:8]}-x.csv",
                            f"{sha[:8]}-x.csv.reason.txt"])  # fmt: skip
    # One ledger row per content: the retry replaced the first refusal.
    assert query(s, "select count(*) as n from ingest_ledger")["n"][0] == 2
    # Every copy was moved aside.
    assert not (s.landing_dir / "crm/contacts/x.csv").exists()
