"""Workbooks as people's spreadsheet programs leave them: rows left blank above the table,
formulas whose cells hold Excel's errors (``#N/A``, ``#DIV/0!``, ``#REF!``), a hidden sheet in
front of the export.

Each workbook is written cell by cell with xlsxwriter as Excel stores it (an error cell is a
formula with its cached error, ``t="e"``), landed by the real ingestion into a real DuckDB
file, and the landed rows and quarantine reasons compared with values worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import xlsxwriter
from ingest_support import land, make_settings, query

ORDERS = ["order_id", "contact_id", "ordered_at", "status", "gross_amount"]


def quarantined(settings) -> list[tuple]:
    return query(settings, "select row_number, reason from quarantine_rows order by 1").rows()


def new_book(settings, folder: str, name: str) -> xlsxwriter.Workbook:
    path = settings.landing_dir / "crm" / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return xlsxwriter.Workbook(str(path))


def test_rows_keep_excel_s_numbers_below_blank_rows_above_the_table(data_dir):
    # A table typed from B3 (rows 1-2 and column A left blank, as many people lay out a
    # sheet). calamine's range starts at the first used cell, so the rows were numbered from
    # it: the order in Excel's row 4 landed as row 2, the bad one in row 5 was quarantined as
    # "row 3", a row the user finds blank.
    s = make_settings(data_dir)
    book = new_book(s, "orders", "orders.xlsx")
    sheet = book.add_worksheet()
    sheet.write_row(2, 1, ORDERS)
    sheet.write_row(3, 1, ["o1", "c1", "2024-01-02 09:00", "completed", 10.5])
    sheet.write_row(4, 1, ["o2", "c1", "2024-01-03 09:00", "completed"])
    book.close()
    (report,) = land(s, "orders")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 1, 1)
    got = query(s, "select order_id, gross_amount, _row_number from raw_orders").rows()
    assert got == [("o1", Decimal("10.5"), 4)]
    assert quarantined(s) == [(5, "gross_amount is missing")]


def test_a_title_two_rows_down_keeps_the_rows_excel_shows(data_dir):
    # The title in A2 (row 1 blank), a blank row, the header in row 4: first record row 5.
    s = make_settings(data_dir)
    book = new_book(s, "contacts", "Kontakte.xlsx")
    sheet = book.add_worksheet("Kontakte")
    sheet.write_row(1, 0, ["Kontakte (Export 2024-04-02)"])
    sheet.write_row(3, 0, ["contact_id", "email", "created_at"])
    sheet.write_row(4, 0, ["c1", "a@example.de", "2024-01-02"])
    sheet.write_row(5, 0, ["c2", "b@example.de", "02.01.2024"])
    book.close()
    (report,) = land(s, "contacts")
    assert report.rows_landed == 1
    got = query(s, "select contact_id, _row_number from raw_contacts").rows()
    assert got == [("c1", 5)]
    assert quarantined(s) == [
        (6, "created_at: cannot read '02.01.2024' as an ISO 8601 timestamp"),
    ]


def test_excel_error_cells_are_quarantined_naming_the_column_and_the_error(data_dir):
    # Formulas that failed: calamine reads an error cell as an empty one, so a discount whose
    # VLOOKUP found nothing (#N/A) landed as no discount (net 100 instead of unknown), a
    # #DIV/0! amount was quarantined as "gross_amount is missing" and a #REF! contact as
    # "neither contact_id nor email is given", though the cells are not empty in Excel.
    s = make_settings(data_dir)
    book = new_book(s, "orders", "Bestellungen.xlsx")
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, [*ORDERS, "discount_amount", "Notiz"])
    sheet.write_row(1, 0, ["o1", "c1", "2024-01-02", "completed", 100])
    sheet.write_formula(1, 5, "=VLOOKUP(A2,Rabatte!A:B,2,FALSE)", None, "#N/A")
    sheet.write_row(2, 0, ["o2", "c1", "2024-01-03", "completed"])
    sheet.write_formula(2, 4, "=E9/F9", None, "#DIV/0!")
    sheet.write_row(3, 0, ["o3"])
    sheet.write_formula(3, 1, "=Kunden!#REF!", None, "#REF!")
    sheet.write_row(3, 2, ["2024-01-04", "completed", 5])
    sheet.write_formula(3, 5, "=1/0", None, "#DIV/0!")
    # An error in a column no mapping reads (the user's own note) costs the row nothing.
    sheet.write_row(4, 0, ["o4", "c2", "2024-01-05", "completed", 7, 1])
    sheet.write_formula(4, 6, "=Notizen", None, "#NAME?")
    book.close()
    (report,) = land(s, "orders")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 1, 3)
    got = query(s, "select order_id, gross_amount, discount_amount, _row_number from raw_orders")
    assert got.rows() == [("o4", Decimal("7"), Decimal("1"), 5)]
    failed = (
        "(a formula that failed), not a value: correct it or paste the values, and deliver again"
    )
    assert quarantined(s) == [
        (2, f"discount_amount: the cell holds Excel's error #N/A {failed}"),
        (3, f"gross_amount: the cell holds Excel's error #DIV/0! {failed}"),
        (
            4,
            f"contact_id: the cell holds Excel's error #REF! {failed}; "
            f"discount_amount: the cell holds Excel's error #DIV/0! {failed}",
        ),
    ]


def test_an_error_cell_in_a_vendor_column_names_the_vendor_s_column(data_dir):
    # A HubSpot contacts export with a formula column: the reason names the canonical column
    # and the vendor's, as every other reason does.
    s = make_settings(data_dir)
    book = new_book(s, "contacts", "hubspot.xlsx")
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Record ID", "First Name", "Email", "Create Date"])
    sheet.write_row(1, 0, ["101", "Ioana", "ioana@example.ro", "2024-03-01 10:00"])
    sheet.write_row(2, 0, ["102", "Ștefan"])
    sheet.write_formula(2, 2, "=LOWER(Sheet2!C3)", None, "#VALUE!")
    sheet.write_string(2, 3, "2024-03-02 11:00")
    book.close()
    (report,) = land(s, "contacts")
    assert (report.rows_landed, report.rows_quarantined) == (1, 1)
    assert query(s, "select contact_id, first_name from raw_contacts").rows() == [("101", "Ioana")]
    assert quarantined(s) == [
        (
            3,
            "email ('Email'): the cell holds Excel's error #VALUE! (a formula that failed), "
            "not a value: correct it or paste the values, and deliver again",
        )
    ]


def test_a_hidden_first_sheet_is_not_the_sheet_read(data_dir):
    # A template whose first sheet is a hidden lookup table: Excel shows "Kontakte" as the
    # first tab, and the user who exported it calls that the first sheet. The hidden sheet
    # was read and the file refused as an unknown header (Land, Code).
    s = make_settings(data_dir)
    book = new_book(s, "contacts", "Vorlage.xlsx")
    lookup = book.add_worksheet("Listen")
    lookup.write_row(0, 0, ["Land", "Code"])
    lookup.write_row(1, 0, ["Slovenija", "SI"])
    lookup.hide()
    data = book.add_worksheet("Kontakte")
    data.write_row(0, 0, ["contact_id", "first_name", "country", "created_at"])
    data.write_row(1, 0, ["c1", "Žiga", "SI", "2024-01-02"])
    data.activate()
    book.close()
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed) == ("landed", 1)
    assert query(s, "select contact_id, first_name, country from raw_contacts").rows() == [
        ("c1", "Žiga", "SI")
    ]


def test_a_workbook_with_no_cell_is_refused_and_its_neighbour_lands(data_dir):
    # A workbook saved with nothing in it (an export that found no rows, as some tools write
    # it): its sheet has no column at all, and counting its rows' values raised polars'
    # "expected at least 1 input in null.sum_horizontal()" out of the whole ingestion, so
    # the good file beside it did not land either.
    s = make_settings(data_dir)
    new_book(s, "contacts", "a_leer.xlsx").close()
    book = new_book(s, "contacts", "b_kontakte.xlsx")
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["contact_id", "created_at"])
    sheet.write_row(1, 0, ["c1", "2024-01-02"])
    book.close()
    empty, good = land(s, "contacts")
    assert (empty.status, empty.reason) == ("refused", "the first sheet is empty")
    assert (s.quarantine_dir / "crm" / "contacts" / "a_leer.xlsx").exists()
    assert (good.status, good.rows_landed) == ("landed", 1)


def test_a_number_shown_with_leading_zeros_lands_as_excel_shows_it(data_dir):
    # A customer number 00123 typed into Excel is the number 123; the column formatted
    # "00000" (Excel's "Zip Code") shows 00123, and Excel's own CSV export writes 00123.
    # calamine read 123: the contact delivered as CSV and then as the workbook was two
    # contacts, 00123 and 123. A number in the General format stays as it is.
    s = make_settings(data_dir)
    csv = "contact_id,email,created_at,updated_at\r\n00123,ana@example.ro,2024-01-02,2024-01-02\r\n"
    path = s.landing_dir / "crm" / "contacts" / "a_export.csv"
    path.parent.mkdir(parents=True)
    path.write_text(csv, encoding="utf-8")
    book = new_book(s, "contacts", "b_kontakte.xlsx")
    sheet = book.add_worksheet("Kunden")
    zip_code = book.add_format({"num_format": "00000"})
    six = book.add_format({"num_format": "000000"})
    sheet.write_row(1, 1, ["contact_id", "email", "created_at", "updated_at"])
    sheet.write_number(2, 1, 123, zip_code)
    sheet.write_row(2, 2, ["ana.pop@example.ro", "2024-01-02", "2024-02-01"])
    sheet.write_number(3, 1, 456)
    sheet.write_row(3, 2, ["ion@example.ro", "2024-01-03", "2024-01-03"])
    sheet.write_number(4, 1, 7, six)
    sheet.write_row(4, 2, ["eva@example.si", "2024-01-04", "2024-01-04"])
    book.close()
    land(s, "contacts")
    got = query(
        s,
        "select contact_id, email, _row_number from raw_contacts order by _source_file, 3",
    ).rows()
    assert got == [
        ("00123", "ana@example.ro", 2),
        ("00123", "ana.pop@example.ro", 3),
        ("456", "ion@example.ro", 4),
        ("000007", "eva@example.si", 5),
    ]


TWEETS = ["tweet_id", "airline_sentiment", "airline", "name", "text", "tweet_created"]


def tweets_book(settings, name: str) -> xlsxwriter.Workbook:
    path = settings.landing_dir / "social" / "mentions" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return xlsxwriter.Workbook(str(path))


def test_a_number_past_15_digits_lands_as_excel_holds_it(data_dir):
    # Tweets.csv (shared data) opened in Excel and saved as a workbook: its tweet ids are
    # number cells that Excel holds to 15 significant digits (5.70306133677761E+17 for the
    # tweet 570306133677760513). calamine wrote each as its double's exact integer,
    # 570306133677761024, a number shown nowhere. An id typed as text keeps its digits.
    s = make_settings(data_dir)
    book = tweets_book(s, "tweets.xlsx")
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, TWEETS)
    when = "2015-02-24 11:35:52 -0800"
    sheet.write_row(1, 0, [5.70306133677761e17, "neutral", "Virgin America", "cairdin", "a", when])
    sheet.write_row(2, 0, [5.70301130888122e17, "positive", "Delta", "jnardino", "b", when])
    sheet.write_string(3, 0, "570306133677760513")
    sheet.write_row(3, 1, ["negative", "United", "ana", "c", when])
    sheet.write_row(4, 0, [1234567890123456, "neutral", "United", "ion", "d", when])
    book.close()
    (report,) = land(s, "social_mentions")
    assert (report.status, report.rows_landed) == ("landed", 4)
    got = query(s, "select mention_id, _row_number from raw_social_mentions order by 2").rows()
    assert got == [
        ("5.70306133677761E+17", 2),
        ("5.70301130888122E+17", 3),
        ("570306133677760513", 4),
        ("1.23456789012346E+15", 5),  # 16 digits: Excel holds 1234567890123460
    ]


def test_ids_excel_rounded_to_one_number_refuse_the_file(data_dir):
    # Two tweets, 570306133677760513 and 570306133677760999, pasted into Excel: both are held
    # as 5.70306133677761E+17. calamine wrote one integer for both, and the second tweet was
    # taken for a repeat of the first and dropped in silence; written as Excel holds them, the
    # spreadsheet's damage is seen, as in a CSV export, and the file refused with its reason.
    s = make_settings(data_dir)
    book = tweets_book(s, "tweets.xlsx")
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, TWEETS)
    when = "2015-02-24 11:35:52 -0800"
    sheet.write_row(1, 0, [5.70306133677761e17, "neutral", "Virgin America", "cairdin", "a", when])
    sheet.write_row(2, 0, [5.70306133677761e17, "negative", "United", "ana", "late again", when])
    book.close()
    (report,) = land(s, "social_mentions")
    assert report.status == "refused"
    assert report.reason.startswith(
        "the key column 'tweet_id' was damaged by a spreadsheet: 2 of 2 ids are in scientific "
        "notation (e.g. '5.70306133677761E+17'), rounded so that only 1 distinct id remains and "
        "1 of them is shared by different records (e.g. '5.70306133677761E+17' in rows 2 and 3)"
    )


def test_a_number_cell_with_three_decimals_is_no_thousands_group(data_dir):
    # A unit price 12.345 (a number cell) read as text "12.345" was ambiguous, 12345 with a
    # thousands dot?, and its row quarantined, though a number cell has no thousands
    # separator. "1.250" typed as text in a German sheet may well mean 1250: still quarantined.
    s = make_settings(data_dir)
    book = new_book(s, "orders", "Bestellungen.xlsx")
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, [*ORDERS, "discount_amount"])
    sheet.write_row(1, 0, ["o1", "c1", "2024-01-02", "completed", 12.345, 0])
    sheet.write_row(2, 0, ["o2", "c1", "2024-01-03", "completed", 100, -0.125])
    sheet.write_row(3, 0, ["o3", "c1", "2024-01-04", "completed", 20])
    sheet.write_string(3, 5, "1.250")
    book.close()
    (report,) = land(s, "orders")
    assert (report.rows_landed, report.rows_quarantined) == (1, 2)
    got = query(s, "select order_id, gross_amount from raw_orders").rows()
    assert got == [("o1", Decimal("12.3450"))]
    reasons = dict(quarantined(s))
    assert reasons[3] == "discount_amount '-0.125' is negative; amounts cannot be negative"
    assert reasons[4].startswith("discount_amount: '1.250' is ambiguous")


def test_a_time_of_day_cell_is_no_timestamp(data_dir):
    # A time typed alone (09:45, formatted hh:mm) is the serial 0.40625: calamine dates it
    # 1899-12-31, and the contact landed as created on 1899-12-31 09:45, a customer of a
    # cohort 124 years before any other. It reads as Excel shows it, 09:45:00, which is no
    # timestamp: the row is quarantined saying so; a date-time cell beside it lands.
    import datetime as dt

    s = make_settings(data_dir)
    book = new_book(s, "contacts", "kontakte.xlsx")
    sheet = book.add_worksheet()
    stamp = book.add_format({"num_format": "dd.mm.yyyy hh:mm"})
    time = book.add_format({"num_format": "hh:mm"})
    sheet.write_row(0, 0, ["contact_id", "first_name", "created_at"])
    sheet.write_row(1, 0, ["c1", "Μαρία"])
    sheet.write_datetime(1, 2, dt.datetime(2024, 3, 1, 9, 0), stamp)
    sheet.write_row(2, 0, ["c2", "Ольга"])
    sheet.write_datetime(2, 2, dt.time(9, 45), time)
    book.close()
    (report,) = land(s, "contacts")
    assert (report.rows_landed, report.rows_quarantined) == (1, 1)
    got = query(s, "select contact_id, first_name, created_at from raw_contacts").rows()
    assert got == [("c1", "Μαρία", dt.datetime(2024, 3, 1, 9, 0))]
    assert quarantined(s) == [(3, "created_at: cannot read '09:45:00' as an ISO 8601 timestamp")]


def test_the_header_is_looked_for_from_the_first_used_row(data_dir):
    # Five blank rows, a report's title and four more blank rows above the header in row 11:
    # the ten rows looked at for the header start at the first used row (6), as they did when
    # calamine's range started there; counted from row 1 they end at row 10 and the file was
    # refused. Rows keep Excel's numbers: the record is row 12.
    s = make_settings(data_dir)
    book = new_book(s, "contacts", "bericht.xlsx")
    sheet = book.add_worksheet("Bericht")
    sheet.write_row(5, 0, ["Kontakte Q1", "2024-04-02"])
    sheet.write_row(10, 0, ["contact_id", "email", "created_at"])
    sheet.write_row(11, 0, ["c1", "jure@primer.si", "2024-01-02"])
    book.close()
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed) == ("landed", 1)
    got = query(s, "select contact_id, _row_number from raw_contacts").rows()
    assert got == [("c1", 12)]


def test_a_sheet_with_no_header_in_its_first_used_rows_is_refused_saying_where_it_looked(
    data_dir,
):
    s = make_settings(data_dir)
    book = new_book(s, "contacts", "bericht.xlsx")
    sheet = book.add_worksheet("Bericht")
    sheet.write_row(2, 0, ["Kunde", "E-Mail", "Angelegt"])
    sheet.write_row(3, 0, ["c1", "a@example.de", "2024-01-02"])
    book.close()
    (report,) = land(s, "contacts")
    assert report.status == "refused"
    assert report.reason.startswith(
        "none of the first 2 rows (from row 3, the first used) of the first sheet, 'Bericht', "
        "names the columns a mapping of this folder looks for (row 3 read as the header): "
        "unknown header"
    )
