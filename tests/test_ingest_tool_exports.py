"""Exports as the tools themselves write them, beyond the hand-typed ones of
test_ingest_user_exports.py: a report workbook with a title above its header and a totals row
below, a cover sheet first, Excel's "Unicode text", a German CSV with thousands dots, JSON
Lines with a BOM and blank lines, an API response saved as JSON, files of 0 bytes, repeated
header names, and times with offsets or in a daylight-saving change.

Each lands exactly as the contract says (the expected values are worked out by hand in the
comments), or is refused, or its row quarantined, with a reason naming the row."""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import json
from decimal import Decimal

import pytest
import xlsxwriter
from ingest_support import drop, land, make_settings, query

CONTACTS = "contact_id,email,first_name,created_at\r\n"


def quarantined(settings) -> list[tuple]:
    return query(settings, "select row_number, reason from quarantine_rows order by 1").rows()


def workbook(settings, folder: str, name: str, rows: dict[int, list], sheet: str | None = None):
    """An .xlsx of one sheet in ``crm/<folder>/``: each of ``rows`` written at its row index
    (0 is Excel's row 1), the rows between left blank. The open workbook is returned for a
    test that writes more (a formula); the caller closes it."""
    path = settings.landing_dir / "crm" / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet(sheet)
    for at, values in rows.items():
        ws.write_row(at, 0, values)
    return book


def test_a_report_workbook_with_a_title_above_and_a_total_below(data_dir):
    # A CRM "report" saved as .xlsx: a title and a blank row above the header, a totals row
    # (a formula) below. The title was taken for the header: "unknown header … Header:
    # Orders Q1 2024, __UNNAMED__1, …", and nothing landed.
    s = make_settings(data_dir)
    rows = {
        0: ["Orders Q1 2024 (exported 2024-04-02)"],
        2: ["order_id", "contact_id", "ordered_at", "status", "gross_amount"],
        3: ["o1", "c1", "2024-01-02 09:00", "completed", 10.5],
        4: ["o2", "c2", "2024-02-03 10:00", "completed", 1234.5],
        5: ["Total", None, None, None],
    }
    book = workbook(s, "orders", "Bericht.xlsx", rows, sheet="Bestellungen")
    book.worksheets()[0].write_formula(5, 4, "=SUM(E4:E5)", None, 1245)
    book.close()
    (report,) = land(s, "orders")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 2, 1)
    got = query(s, "select order_id, gross_amount, _row_number from raw_orders order by 1").rows()
    # Rows keep the numbers Excel shows: the header is row 3, the orders rows 4 and 5.
    assert got == [("o1", Decimal("10.5"), 4), ("o2", Decimal("1234.5"), 5)]
    # The totals row is no order: quarantined at its row, saying what it lacks.
    assert quarantined(s) == [
        (
            6,
            "ordered_at is missing; status is missing; neither contact_id nor email is "
            "given: the row cannot be linked to anyone",
        )
    ]


def test_a_workbook_title_row_of_two_values_above_the_header_lands(data_dir):
    # A HubSpot contacts export saved as a report: "Contacts export | 2026-11-01" above a blank
    # row and the header. Two values made the title row the header (the first row of two
    # values or more): "unknown header … Header: Contacts export, 2026-11-01, …". The header
    # is the first row naming a mapping's signature (Record ID, Email, Create Date): row 3.
    s = make_settings(data_dir)
    rows = {
        0: ["Contacts export", "2026-11-01"],
        2: ["Record ID", "First Name", "Email", "Create Date"],
        3: ["101", "Ελένη", "eleni@example.gr", "2026-10-30 09:15"],
        4: ["102", "Ştefan", "stefan@example.ro", "2026-10-31 17:40"],
    }
    workbook(s, "contacts", "Contacts export.xlsx", rows, sheet="Contacts").close()
    (report,) = land(s, "contacts")
    assert (report.status, report.mapping, report.rows_landed) == ("landed", "hubspot_contacts", 2)
    got = query(
        s, "select contact_id, first_name, email, created_at, _row_number from raw_contacts"
    ).rows()
    assert got == [
        ("101", "Ελένη", "eleni@example.gr", dt.datetime(2026, 10, 30, 9, 15), 4),
        ("102", "Ştefan", "stefan@example.ro", dt.datetime(2026, 10, 31, 17, 40), 5),
    ]


def test_a_workbook_title_row_of_three_values_right_above_the_canonical_header(data_dir):
    # Title, date and the user who ran the report in row 1, the canonical header in row 2:
    # the header is the row naming the contract's required columns (contact_id, created_at).
    s = make_settings(data_dir)
    rows = {
        0: ["Contacts", "2026-11-01", "exported by ana"],
        1: ["contact_id", "email", "created_at"],
        2: ["c1", "a@example.si", "2026-10-01"],
    }
    workbook(s, "contacts", "report.xlsx", rows).close()
    (report,) = land(s, "contacts")
    assert (report.status, report.mapping, report.rows_landed) == (
        "landed",
        "canonical_contacts",
        1,
    )
    got = query(s, "select contact_id, email, _row_number from raw_contacts").rows()
    assert got == [("c1", "a@example.si", 3)]


def test_a_workbook_with_no_row_naming_a_mappings_columns_is_refused_naming_the_sheet(data_dir):
    # No row of the sheet names contact_id and created_at (nor a vendor's signature): refused,
    # naming the sheet, the rows looked at and the closest mapping's missing columns.
    s = make_settings(data_dir)
    rows = {
        0: ["Contacts export", "2026-11-01"],
        1: ["Kunde", "E-Mail", "Angelegt"],
        2: ["c1", "a@example.de", "2026-10-01"],
    }
    workbook(s, "contacts", "Kontakte.xlsx", rows, sheet="Kontakte").close()
    (report,) = land(s, "contacts")
    assert (report.status, report.reason) == (
        "refused",
        "none of the first 3 rows of the first sheet, 'Kontakte', names the columns a mapping "
        "of this folder looks for (row 1 read as the header): unknown header: no mapping for "
        "contacts matches it; the closest is 'canonical_contacts', which lacks 'contact_id', "
        "'created_at'. Header: Contacts export, 2026-11-01, __UNNAMED__2. Rename the columns, "
        "or add a mapping (see docs/vendors.md)",
    )


def test_a_workbook_whose_first_sheet_is_a_cover_sheet_is_refused_naming_the_others(data_dir):
    # Only the first sheet is read (the contract). A cover sheet first said "the file has a
    # header but no rows", with no word of the sheet holding the export.
    s = make_settings(data_dir)
    path = s.landing_dir / "crm" / "contacts" / "export.xlsx"
    path.parent.mkdir(parents=True)
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Info").write_row(0, 0, ["Exported by HubSpot on 2024-03-01"])
    data = book.add_worksheet("Contacts")
    data.write_row(0, 0, ["contact_id", "created_at"])
    data.write_row(1, 0, ["c1", "2024-01-02"])
    book.close()
    (report,) = land(s, "contacts")
    assert report.status == "refused"
    assert report.reason == (
        "the first sheet, 'Info', has no rows; only the first sheet is read, and the "
        "workbook's others ('Contacts') are not: move the export's sheet first, or save it alone"
    )


def test_a_german_excel_csv_with_thousands_dots_and_decimal_commas(data_dir):
    # Excel de-DE "CSV (Trennzeichen-getrennt)": semicolons, Windows-1252, 1.234,50 €.
    s = make_settings(data_dir)
    body = (
        "order_id;contact_id;ordered_at;status;currency;gross_amount;discount_amount\r\n"
        "B-1;Weiß;2024-01-02 09:00;completed;EUR;1.234,50 €;0,50\r\n"
        "B-2;Müller;2024-01-03 10:00;completed;EUR;12.345.678,90;\r\n"
        "B-3;Groß;2024-01-04 11:00;completed;EUR;7,5;1.000\r\n"
    )
    drop(s, "orders", "Bestellungen.csv", body.encode("cp1252"))
    (report,) = land(s, "orders")
    assert (report.status, report.rows_landed, report.encoding) == ("landed", 3, "windows-1252")
    got = query(
        s, "select contact_id, gross_amount, discount_amount from raw_orders order by order_id"
    ).rows()
    # 1.234,50 = 1234.50; 12.345.678,90 = 12345678.90; 7,5 = 7.50; the dot of 1.000 is a
    # thousands separator in a file whose decimal separator is the comma: 1000.
    assert got == [
        ("Weiß", Decimal("1234.5000"), Decimal("0.5000")),
        ("Müller", Decimal("12345678.9000"), None),
        ("Groß", Decimal("7.5000"), Decimal("1000.0000")),
    ]


def test_excel_unicode_text_keeps_comma_and_cedilla_letters_and_final_sigma_apart(data_dir):
    # Excel's "Unicode text" (.txt): UTF-16 LE with a BOM, tab-separated, CR LF. Romanian
    # ș ț (comma below, U+0219 U+021B) and the older ş ţ (cedilla, U+015F U+0163) are
    # different letters and must stay so; Greek final ς and σ too.
    s = make_settings(data_dir)
    names = ["Ștefan Țăranu", "Ştefan Ţăranu", "Οδυσσέας", "ΟΔΥΣΣΕΑΣ", "Сергей Ёлкин", "Žiga Čuk"]
    body = "contact_id\temail\tfirst_name\tcreated_at\r\n" + "".join(
        f"c{i}\tp{i}@example.ro\t{n}\t2024-01-0{i}\r\n" for i, n in enumerate(names, start=1)
    )
    drop(s, "contacts", "Contacts.txt", codecs.BOM_UTF16_LE + body.encode("utf-16-le"))
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed, report.encoding_decided) == ("landed", 6, "bom")
    got = query(s, "select first_name from raw_contacts order by contact_id")["first_name"]
    assert got.to_list() == names
    assert [n.encode("utf-8") for n in got] == [n.encode("utf-8") for n in names]
    assert got[0] != got[1]  # comma below and cedilla are not folded together


def test_json_lines_with_a_bom_crlf_and_blank_lines_at_the_end(data_dir):
    s = make_settings(data_dir)
    body = (
        '\ufeff{"contact_id": "c1", "first_name": "Ana", "created_at": "2024-01-02"}\r\n'
        '{"contact_id": "c2", "first_name": "Σοφία", "created_at": "2024-01-03"}\r\n'
        "\r\n  \r\n"
    )
    drop(s, "contacts", "contacts.jsonl", body.encode("utf-8"))
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 2, 0)
    got = query(s, "select contact_id, first_name, _row_number from raw_contacts order by 1")
    assert got.rows() == [("c1", "Ana", 1), ("c2", "Σοφία", 2)]


@pytest.mark.parametrize("name", ["orders.json", "orders.jsonl"])
def test_json_numbers_are_read_as_json_writes_them(data_dir, name):
    # A JSON number has one decimal mark, '.', and no thousands: 12.345 is twelve and a bit.
    # Read as text it was "ambiguous" (12345 with a thousands dot?) and its row quarantined,
    # and a number in E notation (1.5e3, in a .json array) was "cannot read". A string
    # "1.250" is text the tool wrote, as in a CSV: still ambiguous, still quarantined. (In a
    # .jsonl file a column is read as numbers when all its values are JSON numbers.)
    s = make_settings(data_dir)
    orders = [
        {"order_id": "o1", "contact_id": "c1", "ordered_at": "2024-03-01 10:00:00",
         "status": "completed", "gross_amount": 12.345, "discount_amount": 0,
         "refund_amount": "0"},
        {"order_id": "o2", "contact_id": "c1", "ordered_at": "2024-03-02 10:00:00",
         "status": "completed", "gross_amount": 1.5e3, "discount_amount": 2.125,
         "refund_amount": "0"},
        {"order_id": "o3", "contact_id": "c1", "ordered_at": "2024-03-03 10:00:00",
         "status": "completed", "gross_amount": 100, "discount_amount": 0.5,
         "refund_amount": "0"},
        {"order_id": "o4", "contact_id": "c1", "ordered_at": "2024-03-04 10:00:00",
         "status": "completed", "gross_amount": 10, "discount_amount": 0,
         "refund_amount": "1.250"},
    ]  # fmt: skip
    if name.endswith(".jsonl"):
        text = "\n".join(json.dumps(o) for o in orders) + "\n"
    else:  # the E notation as a tool writes it (json.dumps writes 1500.0)
        text = json.dumps(orders).replace("1500.0", "1.5e3")
    drop(s, "orders", name, text)
    (report,) = land(s, "orders")
    assert (report.rows_landed, report.rows_quarantined) == (3, 1)
    got = query(s, "select order_id, gross_amount, discount_amount from raw_orders order by 1")
    assert got.rows() == [
        ("o1", Decimal("12.3450"), Decimal("0.0000")),
        ("o2", Decimal("1500.0000"), Decimal("2.1250")),
        ("o3", Decimal("100.0000"), Decimal("0.5000")),
    ]
    ((row, reason),) = quarantined(s)
    assert (row, reason.split(":")[0]) == (4, "refund_amount")
    assert "'1.250' is ambiguous" in reason


def test_a_cut_json_array_reads_its_numbers_as_the_whole_file_does(data_dir):
    # A download stopped inside the last object: the whole objects before it are read by a
    # second parse, which read 12.345 as text (ambiguous, quarantined) while the whole file's
    # parse reads it as the JSON number it is.
    s = make_settings(data_dir)
    order = {"order_id": "o1", "contact_id": "c1", "ordered_at": "2024-03-01 10:00:00",
             "status": "completed", "gross_amount": 12.345}  # fmt: skip
    text = json.dumps([order]).removesuffix("]") + ', {"order_id": "o2", "contact_'
    drop(s, "orders", "orders.json", text)
    (report,) = land(s, "orders")
    assert (report.rows_landed, report.rows_quarantined) == (1, 1)
    got = query(s, "select order_id, gross_amount from raw_orders").rows()
    assert got == [("o1", Decimal("12.3450"))]


def test_an_api_response_saved_as_json_lands_its_one_array(data_dir):
    # Graph-API style: {"data": [...], "paging": {...}}. It was refused: "the JSON file is not
    # an array of objects". The one key holding an array of objects is the export.
    s = make_settings(data_dir)
    doc = {
        "data": [
            {"mention_id": "m1", "platform": "facebook", "author_handle": "ana.pop",
             "text": "Mulțumesc!", "posted_at": "2024-03-01T10:00:00+0200"},
            {"mention_id": "m2", "platform": "facebook", "author_handle": "ion"},
        ],
        "paging": {"cursors": {"after": "QVFIUj"}, "next": "https://graph.example/p2"},
    }  # fmt: skip
    drop(s, "social_mentions", "page1.json", json.dumps(doc, ensure_ascii=False))
    drop(s, "social_mentions", "two.json", json.dumps({"data": [{"a": 1}], "more": [{"b": 2}]}))
    one, two = land(s, "social_mentions")
    assert (one.status, one.rows_landed, one.rows_quarantined) == ("landed", 1, 1)
    got = query(s, "select mention_id, text, posted_at, _row_number from raw_social_mentions")
    # 10:00 at +02:00 is 08:00 UTC.
    assert got.rows() == [("m1", "Mulțumesc!", dt.datetime(2024, 3, 1, 8, 0), 1)]
    assert quarantined(s) == [(2, "posted_at is missing")]
    # Two arrays of objects are two tables: which is the export? Refused, naming them.
    assert two.status == "refused"
    assert two.reason == (
        "the JSON file is an object, not an array of objects, and 2 of its keys hold arrays "
        "of objects ('data', 'more') (keys: 'data', 'more'): deliver the array of records alone"
    )


def test_a_json_object_naming_a_key_twice_is_quarantined_alone(data_dir):
    # json keeps the last of two values, polars' JSON Lines reader the first: the row landed
    # with one of them, silently. Which one the tool meant cannot be told.
    s = make_settings(data_dir)
    body = (
        '[{"contact_id": "c1", "email": "a@example.si", "email": "b@example.si", '
        '"created_at": "2024-01-02"},\n'
        ' {"contact_id": "c2", "email": "c@example.si", "created_at": "2024-01-03"}]'
    )
    drop(s, "contacts", "contacts.json", body)
    (report,) = land(s, "contacts")
    assert (report.rows_landed, report.rows_quarantined) == (1, 1)
    assert query(s, "select contact_id, email from raw_contacts").rows() == [("c2", "c@example.si")]
    assert quarantined(s) == [(1, "the object names the key 'email' twice: which value is right?")]
    # The quarantined text keeps both values, as the file has them (json kept only the last).
    record = query(s, "select record from quarantine_rows")["record"][0]
    assert json.loads(record)["text"] == (
        '{"contact_id": "c1", "email": "a@example.si", "email": "b@example.si", '
        '"created_at": "2024-01-02"}'
    )


def test_a_key_twice_inside_a_nested_json_array_object_lands_both_values_as_written(data_dir):
    # A value that is an object lands as its JSON text (as a .jsonl line's does). json kept
    # the last of a nested key's two values, and the array was written again from dicts: the
    # mention landed as '{"en": "Late again."}', without a word. Now the text is the file's.
    s = make_settings(data_dir)
    nested = '{"ro": "Mulțumesc!", "ro": "Întârziat din nou."}'
    body = (
        f'[{{"mention_id": "m1", "platform": "twitter", "author_handle": "@ana", "text": {nested}, '
        '"posted_at": "2024-03-01T10:00:00+02:00"},\n'
        ' {"mention_id": "m2", "platform": "twitter", "author_handle": "@ion", "text": "ok", '
        '"posted_at": "2024-03-01T11:00:00+02:00"}]'
    )
    drop(s, "social_mentions", "mentions.json", body)
    (report,) = land(s, "social_mentions")
    assert (report.rows_landed, report.rows_quarantined) == (2, 0)
    got = query(s, "select mention_id, text from raw_social_mentions order by 1").rows()
    assert got == [("m1", nested), ("m2", "ok")]


def test_a_cut_json_array_notes_an_object_naming_a_key_twice_too(data_dir):
    # A download stopped inside its last object: the whole objects before it are read one by
    # one (formats._cut_array), and that reading once kept a repeated key's last value unseen.
    s = make_settings(data_dir)
    body = (
        '[{"contact_id": "c1", "email": "a@example.si", "email": "b@example.si", '
        '"created_at": "2024-01-02"},\n'
        ' {"contact_id": "c2", "email": "c@example.si", "created_at": "2024-01-03"},\n'
        ' {"contact_id": "c3", "ema'
    )
    drop(s, "contacts", "contacts.json", body)
    (report,) = land(s, "contacts")
    assert (report.rows_landed, report.rows_quarantined) == (1, 2)
    assert query(s, "select contact_id, email from raw_contacts").rows() == [("c2", "c@example.si")]
    assert quarantined(s) == [
        (1, "the object names the key 'email' twice: which value is right?"),
        (
            3,
            "the file ends inside this object, which starts on line 3 "
            "(cut short? deliver the whole file again)",
        ),
    ]


# Three contacts, one a line; the second names "email" twice. Blank lines are no rows (polars
# skips them), so c3 is row 3.
JSONL_KEY_TWICE = (
    '{"contact_id": "c1", "email": "a@example.gr", "created_at": "2024-01-02"}\n'
    "\n"
    '{"contact_id": "c2", "email": "b@example.gr", "created_at": "2024-01-03", '
    '"email": "c@example.gr"}\r\n'
    '{"contact_id": "c3", "email": "d@example.gr", "created_at": "2024-01-04"}\n'
)


@pytest.mark.parametrize("name", ["contacts.jsonl", "contacts.ndjson", "contacts.jsonl.gz"])
def test_a_json_lines_object_naming_a_key_twice_is_quarantined_alone(data_dir, name):
    # polars' JSON Lines reader kept the first "email" (b@…) and dropped c@… without a word;
    # json would keep the last. Quarantined as a JSON array's object is, with the line as
    # written (both values); the lines around it land exactly.
    s = make_settings(data_dir)
    body = JSONL_KEY_TWICE.encode("utf-8")
    drop(s, "contacts", name, gzip.compress(body, mtime=0) if name.endswith(".gz") else body)
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 2, 1)
    got = query(s, "select contact_id, email, _row_number from raw_contacts order by 1").rows()
    assert got == [("c1", "a@example.gr", 1), ("c3", "d@example.gr", 3)]
    assert quarantined(s) == [(2, "the object names the key 'email' twice: which value is right?")]
    record = json.loads(query(s, "select record from quarantine_rows")["record"][0])
    assert record["text"] == (
        '{"contact_id": "c2", "email": "b@example.gr", "created_at": "2024-01-03", '
        '"email": "c@example.gr"}'
    )


def test_a_json_lines_key_twice_next_to_a_broken_line_is_quarantined_too(data_dir):
    # A line that is no JSON object sends the file down the line-by-line reading
    # (formats._read_jsonl_lines); a key named twice is caught there as well.
    s = make_settings(data_dir)
    body = JSONL_KEY_TWICE + '{"contact_id": "c4", "email": "e@example.gr", "created_at": \n'
    drop(s, "contacts", "contacts.jsonl", body)
    (report,) = land(s, "contacts")
    assert (report.rows_landed, report.rows_quarantined) == (2, 2)
    assert query(s, "select contact_id from raw_contacts order by 1").rows() == [("c1",), ("c3",)]
    assert quarantined(s) == [
        (2, "the object names the key 'email' twice: which value is right?"),
        (4, "not a JSON object (Expecting value at column 61)"),  # after 60 characters
    ]


def test_a_json_wrapper_naming_its_array_key_twice_is_refused(data_dir):
    # {"data": [c1], "data": [c2]}: json kept the second array and c1 was lost whole.
    s = make_settings(data_dir)
    c1 = '{"contact_id": "c1", "created_at": "2024-01-02"}'
    c2 = '{"contact_id": "c2", "created_at": "2024-01-02"}'
    drop(s, "contacts", "api.json", f'{{"data": [{c1}], "data": [{c2}]}}')
    (report,) = land(s, "contacts")
    assert (report.status, report.reason) == (
        "refused",
        "the JSON file is an object naming the key 'data' twice: which holds the export? "
        "deliver the array of records alone",
    )


def test_a_quoted_value_holding_crlf_and_a_header_in_other_case_with_spaces(data_dir):
    # Excel writes a line break inside a cell as CR LF within quotes; the header was typed by
    # hand ("Mention_ID ", " TEXT"). The value keeps its CR LF, and the next row is row 3.
    s = make_settings(data_dir)
    body = (
        "Mention_ID ,Platform, Author_Handle,TEXT ,Posted_At\r\n"
        'm1,twitter,@ana,"Prima linie\r\na doua linie",2024-07-01T10:00:00+03:00\r\n'
        "m2,twitter,@ion,ok,2024-07-01 10:00:00\r\n"
    )
    drop(s, "social_mentions", "mentions.csv", body)
    (report,) = land(s, "social_mentions")
    assert (report.status, report.rows_landed) == ("landed", 2)
    got = query(s, "select text, posted_at, _row_number from raw_social_mentions order by 3")
    # 10:00 at +03:00 is 07:00 UTC; the naive 10:00 is read in UTC (PIPELINE_TIMEZONE).
    assert got.rows() == [
        ("Prima linie\r\na doua linie", dt.datetime(2024, 7, 1, 7, 0), 2),
        ("ok", dt.datetime(2024, 7, 1, 10, 0), 3),
    ]


@pytest.mark.parametrize("name", ["a.csv", "a.csv.gz", "a.json", "a.jsonl", "a.xlsx"])
def test_a_file_of_zero_bytes_is_refused_alike_in_every_format(data_dir, name):
    # It was "not valid JSON (Expecting value at line 1, column 1)" for .json and a calamine
    # zip error naming temporary paths for .xlsx.
    s = make_settings(data_dir)
    drop(s, "contacts", name, b"")
    drop(s, "contacts", "b.csv", CONTACTS + "c1,a@example.de,Jörg,2024-01-02\r\n")
    empty, good = land(s, "contacts")
    assert (empty.status, empty.reason) == (
        "refused",
        "the file is empty (0 bytes: a download or an export that failed?)",
    )
    assert (s.quarantine_dir / "crm" / "contacts" / name).exists()
    assert (good.status, good.rows_landed) == ("landed", 1)


def test_a_header_naming_a_column_twice_is_refused_in_every_format(data_dir):
    # polars and calamine renamed the second "Email" (Email_duplicated_0): the file landed
    # with the first column's values and the second's were dropped without a word.
    s = make_settings(data_dir)
    drop(
        s,
        "contacts",
        "a.csv",
        "contact_id,Email,first_name,Email,created_at\r\nc1,a@x,A,b@x,2024-01-02\r\n",
    )
    drop(s, "contacts", "b.tsv", "contact_id\temail\tEMAIL\tcreated_at\nc2\ta@x\tb@x\t2024-01-02\n")
    path = s.landing_dir / "crm" / "contacts" / "c.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet().write_row(0, 0, ["contact_id", "Email", "Email", "created_at"])
    book.worksheets()[0].write_row(1, 0, ["c3", "a@x", "b@x", "2024-01-02"])
    book.close()
    reports = land(s, "contacts")
    assert [(r.status, r.reason) for r in reports] == [
        ("refused", "the header names the column 'Email' twice"),
        ("refused", "the header names the column 'EMAIL' twice"),
        ("refused", "the header names the column 'Email' twice"),
    ]
    assert query(s, "select count(*) as n from raw_contacts")["n"][0] == 0


def test_a_title_line_above_a_csv_header_is_refused_saying_so(data_dir):
    s = make_settings(data_dir)
    drop(s, "contacts", "t.csv", "Contacts export,,,\r\n" + CONTACTS + "c1,a@x,A,2024-01-02\r\n")
    (report,) = land(s, "contacts")
    assert (report.status, report.reason) == (
        "refused",
        "the first line holds one value, 'Contacts export', and 3 empty columns: a title above "
        "the header? delete the lines above the header and deliver the file again",
    )


def test_times_with_offsets_and_around_the_daylight_saving_changes(data_dir):
    # Bucharest: UTC+2 in winter, UTC+3 in summer. On 2024-03-31 the clocks go 03:00 → 04:00
    # (03:30 never happens); on 2024-10-27 they go 04:00 → 03:00 (03:30 happens twice).
    s = make_settings(data_dir, timezone="Europe/Bucharest")
    body = CONTACTS + (
        "c1,a@x,A,2024-03-31T02:30:00+02:00\r\n"  # an offset wins over the zone: 00:30 UTC
        "c2,b@x,B,2024-03-31 02:30:00\r\n"  # before the change, UTC+2: 00:30 UTC
        "c3,c@x,C,2024-03-31 04:30:00\r\n"  # after it, UTC+3: 01:30 UTC
        "c4,d@x,D,2024-03-31 03:30:00\r\n"  # in the gap: no such time, quarantined
        "c5,e@x,E,2024-10-27 03:30:00\r\n"  # twice: the first, still UTC+3, 00:30 UTC
        "c6,f@x,F,2024-10-27 03:30:00+0200\r\n"  # the second, stated: 01:30 UTC
        "c7,g@x,G,2024-10-27 04:30:00\r\n"  # after it, UTC+2: 02:30 UTC
    )
    drop(s, "contacts", "dst.csv", body)
    (report,) = land(s, "contacts")
    assert (report.rows_landed, report.rows_quarantined) == (6, 1)
    got = query(s, "select contact_id, created_at from raw_contacts order by 1").rows()
    assert got == [
        ("c1", dt.datetime(2024, 3, 31, 0, 30)),
        ("c2", dt.datetime(2024, 3, 31, 0, 30)),
        ("c3", dt.datetime(2024, 3, 31, 1, 30)),
        ("c5", dt.datetime(2024, 10, 27, 0, 30)),
        ("c6", dt.datetime(2024, 10, 27, 1, 30)),
        ("c7", dt.datetime(2024, 10, 27, 2, 30)),
    ]
    assert quarantined(s) == [
        (
            5,
            "created_at: cannot read '2024-03-31 03:30:00' as an ISO 8601 timestamp (or a time "
            "that does not exist in Europe/Bucharest)",
        )
    ]
