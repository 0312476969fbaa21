"""Every accepted file format, encoding and delimiter lands the same canonical rows."""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import json

import polars as pl
import pytest
from ingest_support import drop, land, make_settings, query

# Names in five languages that Excel, CRMs and e-mail tools mangle when encodings go wrong.
NAMES = [
    "Ștefan Țăranu",
    "Jürgen Müßig",
    "Γιώργος Παπαδόπουλος",
    "Дмитрий Шостакович",
    "Čedo Žužek",
]
CP1252_NAMES = ["Jürgen Müßig", "François Déjà-vu", "Œdipe “Quoted”"]


def contacts_csv(names: list[str], sep: str = ",") -> str:
    """A canonical contacts file with one contact per name (first name = whole name)."""
    lines = [sep.join(["contact_id", "first_name", "created_at"])]
    lines += [sep.join([f"c{i}", n, f"2024-01-0{i + 1}"]) for i, n in enumerate(names)]
    return "\r\n".join(lines) + "\r\n"


def landed_names(settings) -> list[str]:
    return query(settings, "select first_name from raw_contacts order by contact_id")[
        "first_name"
    ].to_list()


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
    ],
)
def test_unicode_encodings_keep_every_language_byte_exact(data_dir, encoding, bom):
    s = make_settings(data_dir)
    drop(s, "contacts", "c.csv", bom + contacts_csv(NAMES).encode(encoding))
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed) == ("landed", 5)
    assert landed_names(s) == NAMES
    assert [n.encode("utf-8") for n in landed_names(s)] == [n.encode("utf-8") for n in NAMES]


def test_windows_1252_export_is_read_as_such(data_dir):
    s = make_settings(data_dir)
    raw = contacts_csv(CP1252_NAMES, sep=";").encode("cp1252")
    assert b"J\xfcrgen" in raw  # not valid UTF-8: the fallback has to kick in
    drop(s, "contacts", "excel.csv", raw)
    (report,) = land(s, "contacts")
    assert report.rows_landed == 3
    assert landed_names(s) == CP1252_NAMES


def test_bytes_neither_utf8_nor_cp1252_refuse_the_file(data_dir):
    s = make_settings(data_dir)
    # 0x81 is undefined in Windows-1252 and invalid alone in UTF-8.
    drop(s, "contacts", "bad.csv", b"contact_id,first_name,created_at\nc1,J\x81rgen,2024-01-01\n")
    (report,) = land(s, "contacts")
    assert report.status == "refused"
    # No code page reads "J\x81rgen" as one script's word: refused, saying how to declare one.
    assert report.reason.startswith("the file is not UTF-8 and its code page cannot be decided")
    assert "encoding =" in report.reason


@pytest.mark.parametrize(("name", "sep"), [("c.csv", ","), ("c.csv", ";"), ("c.tsv", "\t")])
def test_delimiters(data_dir, name, sep):
    s = make_settings(data_dir)
    drop(s, "contacts", name, contacts_csv(NAMES[:2], sep=sep))
    (report,) = land(s, "contacts")
    assert report.rows_landed == 2
    assert landed_names(s) == NAMES[:2]


def test_tab_separated_txt_is_detected(data_dir):
    s = make_settings(data_dir)
    drop(s, "contacts", "export.txt", contacts_csv(NAMES[:2], sep="\t"))
    (report,) = land(s, "contacts")
    assert report.rows_landed == 2


def test_quoted_fields_hold_delimiters_quotes_and_newlines(data_dir):
    s = make_settings(data_dir)
    comment = 'Line one; with "quotes", commas\nand a second line'
    drop(
        s,
        "surveys",
        "s.csv",
        "response_id;email;responded_at;survey_type;score;comment\n"
        f'r1;a@x.com;2024-01-01;nps;9;"{comment.replace(chr(34), chr(34) * 2)}"\n'
        "r2;b@x.com;2024-01-01;nps;11;fine\n",  # record 2 of the file = spreadsheet row 3
    )
    (report,) = land(s, "surveys")
    assert (report.rows_landed, report.rows_quarantined) == (1, 1)
    assert query(s, "select comment from raw_surveys")["comment"][0] == comment
    q = query(s, "select row_number, reason from quarantine_rows").row(0)
    assert q == (3, "score 11 is outside the nps range 0–10")


def test_a_row_with_more_values_than_the_header_is_quarantined_alone(data_dir):
    s = make_settings(data_dir)
    drop(
        s,
        "contacts",
        "c.csv",
        "contact_id,first_name,created_at\nc1,Ana,2024-01-01\nc2,Smith, John,2024-01-01\n"
        "c3,Bo,2024-01-02\n",
    )
    (report,) = land(s, "contacts")
    assert (report.rows_landed, report.rows_quarantined) == (2, 1)
    reason = query(s, "select reason from quarantine_rows")["reason"][0]
    assert reason.startswith("1 more value than the header's 3 columns")


def test_gzip_and_truncated_gzip(data_dir):
    s = make_settings(data_dir)
    packed = gzip.compress(contacts_csv(NAMES).encode("utf-16"))
    drop(s, "contacts", "a.csv.gz", packed)
    drop(s, "contacts", "b.csv.gz", packed[: len(packed) // 2])
    a, b = land(s, "contacts")
    assert (a.status, a.rows_landed) == ("landed", 5)
    assert landed_names(s) == NAMES
    assert b.status == "refused" and "gzip archive is truncated" in b.reason


def test_json_array_and_json_lines(data_dir):
    s = make_settings(data_dir)
    records = [
        {"contact_id": "c1", "first_name": NAMES[0], "created_at": "2024-01-01T00:00:00Z"},
        {"contact_id": 2, "first_name": NAMES[2], "created_at": "2024-01-02", "x": {"y": 1}},
        {"contact_id": "c3", "first_name": "no date"},
    ]
    drop(s, "contacts", "a.json", json.dumps(records, ensure_ascii=False))
    drop(s, "contacts", "b.jsonl", "\n".join(json.dumps(r) for r in records[:2]) + "\n")
    drop(s, "contacts", "c.ndjson", json.dumps(records[0]) + "\n")
    a, b, c = land(s, "contacts")
    assert (a.rows_landed, a.rows_quarantined) == (2, 1)
    assert (b.rows_landed, c.rows_landed) == (2, 1)
    got = query(s, "select contact_id, first_name, _source_file from raw_contacts").rows()
    # A JSON number keeps its text ("2"); non-ASCII text survives escaped JSON too.
    assert ("2", NAMES[2], "crm/contacts/a.json") in got
    assert ("2", NAMES[2], "crm/contacts/b.jsonl") in got
    q = query(s, "select row_number, reason from quarantine_rows").row(0)
    assert q == (3, "created_at is missing")  # the third object


def test_xlsx_first_sheet(data_dir):
    s = make_settings(data_dir)
    path = s.landing_dir / "crm/contacts/c.xlsx"
    path.parent.mkdir(parents=True)
    pl.DataFrame(
        {
            "contact_id": ["c1", "c2", "c3"],
            "first_name": [NAMES[0], NAMES[3], None],
            "created_at": [dt.datetime(2024, 1, 5, 10, 30), dt.datetime(2024, 1, 6), None],
        }
    ).write_excel(path)
    (report,) = land(s, "contacts")
    assert (report.rows_landed, report.rows_quarantined) == (2, 1)
    got = query(s, "select first_name, created_at from raw_contacts order by contact_id").rows()
    assert got == [(NAMES[0], dt.datetime(2024, 1, 5, 10, 30)), (NAMES[3], dt.datetime(2024, 1, 6))]
    assert query(s, "select row_number from quarantine_rows")["row_number"][0] == 4


def test_user_mapping_with_decimal_comma_and_us_dates(data_dir):
    s = make_settings(data_dir)
    (data_dir / "vendors").mkdir()
    (data_dir / "vendors" / "my_shop.toml").write_text(
        """
entity = "orders"
signature = ["Bestellnummer", "Kunde", "Datum", "Summe"]
[format]
timestamp = "%m/%d/%Y %H:%M"
decimal = ","
[columns]
order_id = "Bestellnummer"
contact_id = "Kunde"
ordered_at = "Datum"
gross_amount = "Summe"
[constants]
status = "completed"
currency = "EUR"
""",
        encoding="utf-8",
    )
    drop(
        s,
        "orders",
        "shop.csv",
        "Bestellnummer;Kunde;Datum;Summe\n"
        "B1;K1;02/03/2024 14:05;1.234,50 €\n"
        "B2;K1;13/03/2024 14:05;12,00\n"  # day first: month 13 does not exist
        # '.' is a thousands separator here: 12.50 is no number. Its date, 14 February, is
        # only a date month first: the file shows the stated order, so 13/03 is one row's
        # mistake (without it the file would be day first, refused: test_ingest_times.py).
        "B3;K1;02/14/2024 09:00;12.50\n",
    )
    (report,) = land(s, "orders")
    assert report.mapping == "my_shop"
    assert (report.rows_landed, report.rows_quarantined) == (1, 2)
    row = query(s, "select ordered_at, gross_amount, status from raw_orders").row(0)
    assert row[0] == dt.datetime(2024, 2, 3, 14, 5)
    assert str(row[1]) == "1234.5000" and row[2] == "completed"
    reasons = query(s, "select reason from quarantine_rows order by row_number")["reason"]
    assert (
        reasons[0] == "ordered_at ('Datum'): cannot read '13/03/2024 14:05' as a timestamp in "
        "format %m/%d/%Y %H:%M"
    )
    assert (
        reasons[1] == "gross_amount ('Summe'): cannot read '12.50' as a number with ',' as "
        "decimal separator"
    )


def test_spaces_split_columns_only_in_a_txt_without_delimiters(data_dir):
    s = make_settings(data_dir)
    drop(s, "contacts", "one.csv", "contact id created at\nc1 2024-01-01\n")
    drop(s, "contacts", "two.txt", "contact_id   created_at\n  c1   2024-01-01\n")
    one, two = land(s, "contacts")
    # In a .csv the header is one column named "contact id created at"…
    assert one.status == "refused" and "Header: contact id created at." in one.reason
    # …in a .txt runs of spaces separate columns (as in the CDNOW log).
    assert (two.status, two.rows_landed) == ("landed", 1)
