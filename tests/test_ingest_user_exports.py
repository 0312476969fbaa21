"""A retention team's own exports, written by hand as their tools and Excel write them in
Romania, Germany, Greece, Russia and Slovenia: each lands exactly as typed, or is refused (or its
row quarantined) with a reason naming file, row and reason.

Every expected value is the text typed here; the bytes on disk are that text encoded as the
user's program would, so a wrong code page (``Москва`` read as Greek ``Μξρκβΰ``) fails."""

from __future__ import annotations

from ingest_support import drop, land, make_settings, query

from pipeline.ingest.codepage import Evidence, implausible, judge

HUBSPOT_HEAD = "Record ID,First Name,Last Name,Email,Create Date,City\r\n"


def hubspot_contacts(*rows: str) -> str:
    """A HubSpot contacts export (its column labels) with the given data lines."""
    return HUBSPOT_HEAD + "".join(r + "\r\n" for r in rows)


def test_ascii_file_with_one_cyrillic_word_in_1251_lands_as_cyrillic(data_dir):
    # Windows-1251's а (0xE0) is Windows-1253's ΰ, a diaeresis letter that in Greek only
    # follows a vowel: read as Greek, "Кузнецова" is "Κσηνεφξβΰ". It was landed so before.
    s = make_settings(data_dir)
    body = hubspot_contacts(
        "301,John,Smith,john@example.com,2024-02-01 09:00,London",
        "302,Olga,Кузнецова,olga@example.ru,2024-02-02 09:00,Moscow",
        "303,Mary,Jones,mary@example.com,2024-02-03 09:00,Leeds",
    )
    drop(s, "contacts", "hubspot_ru.csv", body.encode("cp1251"))
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed) == ("landed", 3), report.reason
    assert (report.encoding, report.encoding_decided) == ("windows-1251", "detected")
    got = query(s, "select last_name from raw_contacts where contact_id = '302'").item()
    assert got == "Кузнецова"


def test_a_russian_her_in_1251_is_not_taken_for_a_pasted_utf8_row(data_dir):
    # "Её" in Windows-1251 is the bytes C5 B8, valid UTF-8 for "Ÿ": a word of one letter read so
    # must not make the file "rows in two encodings". Survey comments in Russian, canonical CSV.
    s = make_settings(data_dir)
    body = "response_id,contact_id,responded_at,survey_type,score,comment\r\n"
    body += "r1,c1,2024-02-01 09:00:00,nps,3,Её заказ опоздал на неделю\r\n"
    body += "r2,c2,2024-02-02 09:00:00,csat,5,Всё отлично\r\n"
    drop(s, "surveys", "opros.csv", body.encode("cp1251"))
    (report,) = land(s, "surveys")
    assert (report.status, report.rows_landed) == ("landed", 2), report.reason
    assert report.encoding == "windows-1251"
    got = query(s, "select comment from raw_surveys order by response_id")["comment"].to_list()
    assert got == ["Её заказ опоздал на неделю", "Всё отлично"]


def test_a_single_cyrillic_name_that_also_reads_as_greek_is_refused_not_guessed(data_dir):
    # "Щукин" in Windows-1251 is "Ωσκθν" in Windows-1253: both spell a word. py3langid gives
    # the Greek reading wholly to Greek and splits the Russian one between Russian, Bulgarian,
    # Ukrainian and Macedonian; it was landed as "Ωσκθν". Now: refused, naming both.
    s = make_settings(data_dir)
    body = hubspot_contacts("302,Dmitry,Щукин,dmitry@example.ru,2024-02-02 09:00,Moscow")
    drop(s, "contacts", "one_name.csv", body.encode("cp1251"))
    (report,) = land(s, "contacts")
    assert report.status == "refused"
    assert "windows-1251" in report.reason and "windows-1253" in report.reason
    assert "(e.g. line 2: 'Щукин' in windows-1251 or 'Ωσκθν' in windows-1253)" in report.reason
    assert (s.quarantine_dir / "crm" / "contacts" / "one_name.csv").exists()


def test_greek_spelling_rules_for_cyrillic_read_as_greek():
    # Cyrillic (1251) bytes read in 1253, by hand from the two code charts:
    # Москва → Μξρκβΰ (ΰ after a consonant), годовой → γξδξβξι (five consonants γξδξβξ).
    assert implausible("Μξρκβΰ") and implausible("γξδξβξι")
    # Real Greek keeps its diaeresis after a vowel and at most four consonants in a row.
    for word in ("Ταΐζω", "προϊόν", "Ευρωπαϊκή", "ΠΡΟΪΟΝ", "εκστρατεία", "Ταΰγετος"):
        assert not implausible(word), word


def test_a_russian_deal_name_in_1251_is_not_taken_for_greek():
    ev = Evidence()
    ev.add("9201;Щукин — годовой;Closed Won;12\u00a0345,67\r\n".encode("cp1251"))
    assert judge(ev).encoding == "cp1251"  # was cp1253: "Ωσκθν — γξδξβξι"


def test_a_salesforce_report_saved_as_a_workbook_keeps_its_date_cells(data_dir):
    # The report opened in Excel (de-DE) and saved as .xlsx: its dates became date cells,
    # which read as "2024-01-05 09:30:00", not the mapping's "1/5/2024 9:30 AM". They were
    # all quarantined ("cannot read … in format %m/%d/%Y %I:%M %p"); a date cell is a date.
    import datetime as dt

    import xlsxwriter

    s = make_settings(data_dir, timezone="Europe/Berlin")
    path = s.landing_dir / "crm" / "contacts" / "Kontakte.xlsx"
    path.parent.mkdir(parents=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Bericht")
    stamp = book.add_format({"num_format": "dd.mm.yyyy hh:mm"})
    day = book.add_format({"num_format": "dd.mm.yyyy"})
    header = ["First Name", "Last Name", "Contact ID", "Email", "Birthdate", "Created Date"]
    sheet.write_row(0, 0, header)
    sheet.write_row(1, 0, ["Jürgen", "Größe", "0035g00000XyZ01", "jg@beispiel.de"])
    sheet.write_datetime(1, 4, dt.datetime(1980, 5, 17), day)
    sheet.write_datetime(1, 5, dt.datetime(2024, 1, 5, 9, 30), stamp)
    # A cell typed as text in the report's own format still reads in that format…
    sheet.write_row(2, 0, ["Bärbel", "Weiß", "0035g00000XyZ02", "bw@beispiel.de"])
    sheet.write_string(2, 4, "3/14/1985")
    sheet.write_string(2, 5, "1/6/2024 12:05 PM")
    # …and text in another format is still no date: quarantined, its neighbours land.
    sheet.write_row(3, 0, ["Žiga", "Čebašek", "0035g00000XyZ03", "z@primer.si", ""])
    sheet.write_string(3, 5, "06.01.2024 12:05")
    book.close()
    (report,) = land(s, "contacts")
    assert (report.rows_landed, report.rows_quarantined) == (2, 1)
    got = query(
        s,
        "select first_name, last_name, birth_date, created_at from raw_contacts "
        "order by _row_number",
    ).rows()
    # Berlin wall time (UTC+1 in January) → UTC, by hand: 09:30 → 08:30, 12:05 PM → 11:05.
    assert got == [
        ("Jürgen", "Größe", dt.date(1980, 5, 17), dt.datetime(2024, 1, 5, 8, 30)),
        ("Bärbel", "Weiß", dt.date(1985, 3, 14), dt.datetime(2024, 1, 6, 11, 5)),
    ]
    bad = query(s, "select row_number, reason from quarantine_rows").rows()
    assert bad == [
        (
            4,
            "created_at ('Created Date'): cannot read '06.01.2024 12:05' as a timestamp in "
            "format %m/%d/%Y %I:%M %p or a date cell (or a time that does not exist in "
            "Europe/Berlin)",
        )
    ]


def test_excel_for_mac_line_ends_a_lone_cr_each(data_dir):
    # "CSV (Macintosh)" in Windows-1250 (Slovenian): every line ends with CR alone. polars
    # saw one header line and no rows: "the file has a header but no rows". A CR inside a
    # quoted value is the value's own text and stays.
    s = make_settings(data_dir)
    body = (
        "Record ID,First Name,Last Name,Email,Create Date\r"
        '501,Žiga,"Čebašek\rml.",ziga@primer.si,2024-02-01 09:00\r'
        "502,Špela,Kovačič,spela@primer.si,2024-02-02 09:00\r"
    )
    drop(s, "contacts", "mac.csv", body.encode("cp1250"))
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed, report.encoding) == ("landed", 2, "windows-1250")
    got = query(s, "select first_name, last_name, _row_number from raw_contacts order by 3")
    assert got.rows() == [("Žiga", "Čebašek\rml.", 2), ("Špela", "Kovačič", 3)]


def test_mixed_line_ends_keep_every_row(data_dir):
    # Two exports pasted together: CR LF, then a Mac line (CR), then LF, the last line
    # without one. The CR-ended row ran into the next: one row quarantined, one lost.
    s = make_settings(data_dir)
    body = (
        "contact_id;first_name;created_at\r\n"
        "c1;Ștefan;2024-01-01\r"
        "c2;Jürgen;2024-01-02\n"
        "c3;Σωκράτης;2024-01-03"
    )
    drop(s, "contacts", "mixed.csv", body)
    (report,) = land(s, "contacts")
    assert (report.rows_landed, report.rows_quarantined) == (3, 0)
    got = query(s, "select contact_id, first_name, _row_number from raw_contacts order by 1")
    assert got.rows() == [("c1", "Ștefan", 2), ("c2", "Jürgen", 3), ("c3", "Σωκράτης", 4)]


def test_excels_sep_line_names_the_delimiter_and_is_no_row(data_dir):
    # Excel (de-DE) reads and writes a first line "sep=;"; it was taken for the header
    # ("unknown header … Header: sep=, ."). Header is row 1 as Excel shows it.
    s = make_settings(data_dir)
    body = (
        "sep=;\r\n"
        "Record ID;Deal Name;Deal Stage;Amount;Currency;Close Date;Associated Contact IDs\r\n"
        "9101;Größe, Jahresabo;Closed Won;1.234,50 €;EUR;2024-03-01 10:00;401\r\n"
    )
    drop(s, "orders", "deals.csv", body.encode("cp1252"))
    (report,) = land(s, "orders")
    assert (report.status, report.mapping, report.rows_landed) == ("landed", "hubspot_deals", 1)
    got = query(s, "select order_id, gross_amount, _row_number from raw_orders").row(0)
    assert (got[0], str(got[1]), got[2]) == ("9101", "1234.5000", 2)


def test_lone_cr_is_found_across_chunk_boundaries():
    from pipeline.ingest.lines import bytes_lone_cr

    def lone(*chunks: bytes) -> bool:
        watch = bytes_lone_cr()
        for chunk in chunks:
            watch.feed(chunk)
        return watch.end()

    assert not lone(b"a\r\nb\r", b"\nc\r\n")  # a CR LF split between two chunks
    assert lone(b"a\r\nb\r", b"c\r\n")  # a CR ending a chunk, no LF after it
    assert lone(b"a\r\nb\r")  # the stream ends with a CR
    assert not lone(b"a\nb\n", b"")


def test_normalise_turns_lone_crs_outside_quotes_into_lfs(tmp_path):
    from pipeline.ingest.lines import normalise

    src = tmp_path / "in.txt"
    src.write_bytes(b'sep=,\ra,"x\ry",b\r\nc,d\r')
    out = normalise(src, tmp_path / "out.txt", quoted=True, drop_first_line=True)
    assert out.read_bytes() == b'a,"x\ry",b\r\nc,d\n'


def test_a_json_lines_export_cut_short_keeps_its_whole_lines(data_dir):
    # A Klaviyo export whose download stopped mid-line, and a line someone broke by hand.
    # polars refused the whole file ("not valid JSON Lines: Syntax at character 0"), naming
    # no line and losing the good ones. Now each bad line is a quarantined row with its text.
    import json

    s = make_settings(data_dir)
    head = '{"Event ID": "e%d", "Event": "Opened Email", "Timestamp": "2024-08-01 09:0%d:00", '
    head += '"Message ID": "RmSgTq", '
    lines = [
        head % (1, 1) + '"Email": "ziga@primer.si", "Campaign Name": "Avgust – Žiga"}',
        '{"Event ID": "e2", "Event": ',
        head % (3, 3) + '"Email": "s@paradeigma.gr", "Campaign Name": "Καλοκαίρι"}',
        head % (4, 4) + '"Email": "d@primer.ru", "Campaign Name": "Лет',
    ]
    drop(s, "email_events", "klaviyo.jsonl", "\n".join(lines))  # no line break at the end
    (report,) = land(s, "email_events")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 2, 2)
    got = query(s, "select event_id, campaign_name, _row_number from raw_email_events order by 3")
    assert got.rows() == [("e1", "Avgust – Žiga", 1), ("e3", "Καλοκαίρι", 3)]
    bad = query(s, "select row_number, reason, record from quarantine_rows order by 1").rows()
    # Python's json names the column where the string it could not end starts (1-based).
    assert [(r, why) for r, why, _ in bad] == [
        (2, "not a JSON object (Expecting value at column 29)"),  # after '"Event": '
        (
            4,
            "not a JSON object (Unterminated string starting at column "
            f"{lines[3].index('Лет')}): the file ends in this line without a line break "
            "(cut short?)",
        ),
    ]
    assert json.loads(bad[1][2]) == {"text": lines[3]}


def test_a_csv_cut_short_in_its_last_row_quarantines_that_row(data_dir):
    # The copy stopped after "Kova": the row landed as last name "Kova", no e-mail, and
    # nothing said so. A last line without a line break that is short of the header's
    # values is a cut row.
    import json

    s = make_settings(data_dir)
    body = hubspot_contacts(
        "501,Žiga,Čebašek,ziga@primer.si,2024-02-01 09:00,Ljubljana",
        "502,Ștefan,Țăranu,stefan@exemplu.ro,2024-02-02 09:00,Cluj",
    )
    drop(s, "contacts", "cut.csv", body + "503,Špela,Kova")
    (report,) = land(s, "contacts")
    assert (report.rows_landed, report.rows_quarantined) == (2, 1)
    got = query(s, "select last_name from raw_contacts order by _row_number")["last_name"]
    assert got.to_list() == ["Čebašek", "Țăranu"]
    ((row, reason, record),) = query(
        s, "select row_number, reason, record from quarantine_rows"
    ).rows()
    assert (row, reason) == (
        4,
        "the file ends in this row, after 3 of the header's 6 values and without a line break "
        "(cut short? deliver the whole file again)",
    )
    assert json.loads(record) == {"text": "503,Špela,Kova"}


def test_a_csv_cut_short_inside_a_quoted_value_keeps_the_rows_before(data_dir):
    # Cut inside the quoted text of the last mention: polars refused the whole file
    # ("could not parse `"Hvala za hitro po` as dtype `str` at column '_c4'"), naming no row.
    s = make_settings(data_dir)
    body = (
        "Date,Network,Author,Author Name,Text,Sentiment,Language,Url\r\n"
        '2024-09-01 10:00:00,Twitter,@ziga,Žiga Čebašek,"Zamuda, nikoli več!",Negative,sl,'
        "https://x.com/ziga/status/1\r\n"
        '2024-09-02 10:00:00,Facebook,spela.k,Špela Kovačič,"Hvala za hitro po'
    )
    drop(s, "social_mentions", "cut.csv", body.encode("cp1250"))
    (report,) = land(s, "social_mentions")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 1, 1)
    assert query(s, "select text from raw_social_mentions").item() == "Zamuda, nikoli več!"
    assert query(s, "select row_number, reason from quarantine_rows").row(0) == (
        3,
        "the file ends inside a quoted value of this row, without a line break "
        "(cut short? deliver the whole file again)",
    )


def test_a_whole_last_row_without_a_line_break_is_no_cut_row(tmp_path):
    from pipeline.ingest.lines import cut_short

    # Not every tool ends its file with a line break: a whole last row is no cut row.
    path = tmp_path / "f.csv"
    path.write_text('a,b,c\n1,"x\ny",3\n4,5,6', encoding="utf-8")
    assert cut_short(path, ",", 3) is None
    path.write_text('a,b,c\n1,"x\ny",3\n4,"5,6', encoding="utf-8")
    cut = cut_short(path, ",", 3)
    assert cut is not None and cut.keep == len('a,b,c\n1,"x\ny",3\n')
    path.write_text('a,b,c\n1,"x\n5,6', encoding="utf-8")  # the quote opened above: not known
    assert cut_short(path, ",", 3) is None


STRAY = (
    "a quote opened in this row never closes (a stray '\"' in a value?), so the row cannot be read"
)


def test_a_stray_quote_costs_its_own_row_and_quoted_line_breaks_still_read(data_dir):
    # Someone typed '"Ștefan' in a HubSpot export. The quote never closes, so every reader
    # took the rest of the file for one value: the file was refused whole ("cannot be read as
    # csv (comma, utf-8): could not parse ..."), all its good rows with it. Excel writes a
    # line break inside a cell as LF and ends rows with CR LF; two such cells, one before
    # and one after the stray quote, must still read as one row each.
    import json

    s = make_settings(data_dir)
    stray = '502,"Ștefan,Țăranu,stefan@exemplu.ro,2024-02-02 09:00,Romania'
    body = "".join(
        line + "\r\n"
        for line in (
            "Record ID,First Name,Last Name,Email,Create Date,Country/Region",
            '501,Žiga,"Čebašek\nKovač",ziga@primer.si,2024-02-01 09:00,Slovenia',
            stray,
            "503,Ana,Pop,ana@exemplu.ro,2024-02-03 09:00,Romania",
            '504,Ion,"Pop, Jr.\n""Nord""",ion@exemplu.ro,2024-02-04 09:00,"Romania"',
            "505,Eva,Ionescu,eva@exemplu.ro,2024-02-05 09:00,Romania",
        )
    )
    drop(s, "contacts", "stray.csv", body)
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_read, report.rows_landed, report.rows_quarantined) == (
        "landed",
        5,
        4,
        1,
    ), report.reason
    got = query(s, "select contact_id, last_name, _row_number from raw_contacts order by 3")
    # Spreadsheet rows: 501's cell spans two lines, so the stray quote's line 4 is row 3.
    assert got.rows() == [
        ("501", "Čebašek\nKovač", 2),
        ("503", "Pop", 4),
        ("504", 'Pop, Jr.\n"Nord"', 5),
        ("505", "Ionescu", 6),
    ]
    ((row, reason, record),) = query(
        s, "select row_number, reason, record from quarantine_rows"
    ).rows()
    assert (row, reason) == (3, STRAY)
    assert json.loads(record) == {"text": stray}


def test_a_stray_quote_in_the_first_row_of_a_code_page_file(data_dir):
    # Windows-1250 (transcoded before it is read), semicolons, the stray quote in the first
    # data row: refused as "the file has a header but no rows", which was not even true.
    s = make_settings(data_dir)
    body = (
        "contact_id;first_name;last_name;created_at\r\n"
        'c1;"Črt;Žužek;2024-01-01\r\n'
        "c2;Špela;Kovačič;2024-01-02\r\n"
        "c3;Matjaž;Horvat;2024-01-03\r\n"
    )
    drop(s, "contacts", "sl.csv", body.encode("cp1250"))
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 2, 1)
    assert report.encoding == "windows-1250", report.reason
    got = query(s, "select first_name, last_name, _row_number from raw_contacts order by 3")
    assert got.rows() == [("Špela", "Kovačič", 3), ("Matjaž", "Horvat", 4)]
    assert query(s, "select row_number, reason from quarantine_rows").rows() == [(2, STRAY)]


def test_a_stray_quote_and_a_last_row_cut_inside_its_quoted_value(data_dir):
    # Two faults in one file, each its own row: a stray quote in row 3, and a download
    # stopped inside the last row's quoted text (cut_short's reason, as before).
    s = make_settings(data_dir)
    body = (
        "Date,Network,Author,Author Name,Text,Sentiment,Language,Url\n"
        "2024-09-01 10:00:00,Twitter,@ziga,Žiga,Nikoli več,Negative,sl,https://x.com/1\n"
        '2024-09-02 10:00:00,Twitter,@ana,Ana,"Super,Positive,sl,https://x.com/2\n'
        '2024-09-03 10:00:00,Twitter,@eva,Eva,"Hvala, super",Positive,sl,https://x.com/3\n'
        '2024-09-04 10:00:00,Facebook,spela.k,Špela,"Hvala za hitro po'
    )
    drop(s, "social_mentions", "cut.csv", body)
    (report,) = land(s, "social_mentions")
    assert (report.rows_landed, report.rows_quarantined) == (2, 2), report.reason
    got = query(s, "select text, _row_number from raw_social_mentions order by 2").rows()
    assert got == [("Nikoli več", 2), ("Hvala, super", 4)]
    assert query(s, "select row_number, reason from quarantine_rows order by 1").rows() == [
        (3, STRAY),
        (
            5,
            "the file ends inside a quoted value of this row, without a line break "
            "(cut short? deliver the whole file again)",
        ),
    ]


def test_a_stray_quote_in_a_line_item_export_holds_back_the_orders_beside_it(data_dir):
    # Shopify: one row per order line. The row with the stray quote has no order id to read,
    # so its order's total is unknown: #2001 landed as 2 x 50.00 = 100.00 without its teapot.
    # An order's lines are consecutive, so the row was a line of #2001 or #2002 (or an order
    # of its own): both are held back; #2003 lands, 1 x 20.00.
    from tests.ingest_support import FIXTURES

    head = (FIXTURES / "shopify_orders.csv").read_text(encoding="utf-8").splitlines()[0]
    order = (
        "{},{}@example.ro,paid,,,,,RON,{t},0.00,0.00,{t},,0.00,Standard,{at} +0300,"
        "{q},{item},{p},,SKU,,0.00,{i}"
    )
    lines = [
        head,
        order.format(
            "#2001", "ana", t="140.00", at="2024-05-01 10:00:00", q=2, item="Mug", p="50.00", i=1
        ),
        '#2001,,,,,,,,,,,,,,,,1,"Teapot,40.00,,TEA-1,,,',
        order.format(
            "#2002", "ion", t="30.00", at="2024-05-02 10:00:00", q=3, item="Spoon", p="10.00", i=2
        ),
        order.format(
            "#2003", "eva", t="20.00", at="2024-05-03 10:00:00", q=1, item="Plate", p="20.00", i=3
        ),
    ]
    s = make_settings(data_dir)
    drop(s, "orders", "shop.csv", "\n".join(lines) + "\n")
    (report,) = land(s, "orders")
    assert (report.mapping, report.rows_landed, report.rows_quarantined) == ("shopify_orders", 1, 3)
    got = query(s, "select order_id, gross_amount from raw_orders").rows()
    assert [(o, str(a)) for o, a in got] == [("#2003", "20.0000")]
    held = "is held back: a row next to its lines could not be read and may be one of them"
    assert query(s, "select row_number, reason from quarantine_rows order by 1").rows() == [
        (2, f"order '#2001' {held}"),
        (3, STRAY),
        (4, f"order '#2002' {held}"),
    ]


def test_open_quotes_names_only_the_rows_a_stray_quote_breaks(tmp_path):
    from pipeline.ingest.lines import open_quotes

    path = tmp_path / "f.csv"

    def rows(text: str) -> list[int]:
        path.write_text(text, encoding="utf-8")
        return [q.row for q in open_quotes(path, ",", 3)]

    # Quotes that pair up, a value across lines with an escaped quote: nothing.
    assert rows('a,b,c\n1,"x\n""y""\nz",3\n4,5,6\n') == []
    # The stray quote at a value's start pairs with the next odd line's quote, which ends
    # no value (followed by 'x', not a comma): the stray row alone; the value across lines
    # after it still reads (row 5; row 4's line break is inside it).
    assert rows('a,b,c\n1,"x,3\n4,5,6\n7,"a\nb",9\n1,2,3\n') == [3 - 1]
    # An inch mark (a quote inside an unquoted value) is no quoted value either.
    assert rows('a,b,c\n1,15" screen,3\n4,5,6\n') == [2]
    # Two stray quotes far apart: two rows, the lines between them rows of their own.
    assert rows('a,b,c\n1,"x,3\n4,5,6\n7,8,"9\n1,2,3\n') == [2, 4]
    # A pair that reads as one record of another width is two stray quotes, not one value.
    assert rows('a,b,c\n1,"x,3\n4,y",6,7\n') == [2, 3]
    # A last line without a line break is cut_short's to judge; a header's own quote: none.
    assert rows('a,b,c\n1,2,3\n4,"5,6') == []
    assert rows('a,"b,c\n1,2,3\n') == []


def test_a_large_canonical_csv_with_a_stray_quote_leaves_the_fast_route(tmp_path, data_dir):
    # Canonical CSV of 2 MB or more goes to DuckDB's reader, which refuses a file with a quote
    # that never closes as polars does. Only that file is read by the slower route.
    from pipeline.ingest.duckdb_csv import MIN_BYTES
    from pipeline.ingest.formats import open_table

    head = "order_id,contact_id,ordered_at,gross_amount,currency,status\n"
    lines = [
        f"o{i},c{i % 997},2024-03-01 10:00:00,{i % 500}.25,EUR,completed\n" for i in range(45_000)
    ]
    clean = head + "".join(lines)
    assert len(clean.encode()) >= MIN_BYTES
    lines[19_998] = 'o19998,"c6,2024-03-01 10:00:00,3.25,EUR,completed\n'  # row 20,000
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "clean.csv").write_text(clean, encoding="utf-8")
    (tmp_path / "stray.csv").write_text(head + "".join(lines), encoding="utf-8")
    assert open_table(tmp_path / "clean.csv", tmp_path / "a").text is not None  # DuckDB's
    assert open_table(tmp_path / "stray.csv", tmp_path / "b").text is None  # polars'
    s = make_settings(data_dir)
    drop(s, "orders", "orders.csv", head + "".join(lines))
    (report,) = land(s, "orders")
    assert (report.rows_read, report.rows_landed, report.rows_quarantined) == (45_000, 44_999, 1)
    assert query(s, "select row_number, reason from quarantine_rows").rows() == [(20_000, STRAY)]
    got = query(
        s, "select order_id, _row_number from raw_orders where _row_number in (19999, 20001)"
    )
    assert sorted(got.rows()) == [("o19997", 19_999), ("o19999", 20_001)]


QUOTE_FAULT = (
    "a quoted value in this row goes on after its closing quote (a stray '\"' in a value?), "
    "so the row cannot be read"
)


def test_quotes_that_pair_up_but_not_as_values_cost_only_their_rows(data_dir):
    # A nickname typed in quotes at the start of a cell ('"Ștefan" Ion': its quote closes, then
    # the value goes on), and two names typed with '"' for an apostrophe, rows apart (O"Neil,
    # D"Souza). The file's quotes pair up, so no quote was looked for, and every reader
    # refused the file whole ("cannot be read as csv (comma, utf-8): could not parse
    # '"Ștefan" Ion' ..."). Now each costs its own row; the values across lines before and
    # after them still read as one row each, and an inch mark inside a value lands as written.
    import json

    s = make_settings(data_dir)
    nickname = '502,"Ștefan" Ion,Țăranu,stefan@exemplu.ro,2024-02-02 09:00,Romania'
    oneil = '505,Sean,O"Neil,sean@example.ie,2024-02-05 09:00,Ireland'
    dsouza = '507,Ana,D"Souza,ana@example.in,2024-02-07 09:00,India'
    body = hubspot_contacts(
        '501,Žiga,"Čebašek\nKovač",ziga@primer.si,2024-02-01 09:00,Slovenia',
        nickname,
        "503,Ana,Pop,ana@exemplu.ro,2024-02-03 09:00,Romania",
        '504,Ion,"Pop, Jr.\n""Nord""",ion@exemplu.ro,2024-02-04 09:00,"Romania"',
        oneil,
        '506,Eva,Ionescu 15" 2",eva@exemplu.ro,2024-02-06 09:00,Romania',
        dsouza,
        "508,Dan,Popa,dan@exemplu.ro,2024-02-08 09:00,Romania",
    )
    assert body.count('"') % 2 == 0
    drop(s, "contacts", "paired.csv", body)
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_read, report.rows_landed, report.rows_quarantined) == (
        "landed",
        8,
        5,
        3,
    ), report.reason
    got = query(s, "select contact_id, last_name, _row_number from raw_contacts order by 3")
    # Spreadsheet rows: 501's and 504's cells span two lines each.
    assert got.rows() == [
        ("501", "Čebašek\nKovač", 2),
        ("503", "Pop", 4),
        ("504", 'Pop, Jr.\n"Nord"', 5),
        ("506", 'Ionescu 15" 2"', 7),
        ("508", "Popa", 9),
    ]
    quarantined = query(s, "select row_number, reason, record from quarantine_rows order by 1")
    assert [(row, reason, json.loads(record)) for row, reason, record in quarantined.rows()] == [
        (3, QUOTE_FAULT, {"text": nickname}),
        (6, STRAY, {"text": oneil}),
        (8, STRAY, {"text": dsouza}),
    ]


def test_a_quote_fault_in_the_first_row_no_longer_stops_the_run(data_dir):
    # polars met the fault while looking for a first row, and its ComputeError went unhandled:
    # the entity's ingest failed. Windows-1250, semicolons, CR LF.
    s = make_settings(data_dir)
    body = (
        "contact_id;first_name;last_name;created_at\r\n"
        'c1;"Črt" Jože;Žužek;2024-01-01\r\n'
        "c2;Špela;Kovačič;2024-01-02\r\n"
    )
    drop(s, "contacts", "sl.csv", body.encode("cp1250"))
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 1, 1)
    assert query(s, "select first_name, _row_number from raw_contacts").rows() == [("Špela", 3)]
    assert query(s, "select row_number, reason from quarantine_rows").rows() == [(2, QUOTE_FAULT)]


def test_quote_faults_names_the_rows_whose_quotes_a_reader_cannot_read(tmp_path):
    from pipeline.ingest.lines import quote_faults

    path = tmp_path / "f.csv"

    def faults(text: str) -> list[tuple[int, str]]:
        path.write_text(text, encoding="utf-8")
        return [(q.row, q.reason) for q in quote_faults(path, ",", 3)]

    # Quoted values, escaped quotes, a value across lines and an inch mark: nothing.
    assert faults('a,b,c\n1,"x,y",3\n4,"a""b",6\n7,"a\nb",9\n1,15" x 2",3\n') == []
    # A quoted value going on after its quote (or a space after it), wherever it is.
    assert faults('a,b,c\n1,"x"y,3\n4,5,6\n7,8,"9" \n') == [(2, QUOTE_FAULT), (4, QUOTE_FAULT)]
    # The last line too, without a line break; a header's own odd quote: nothing (refused).
    assert faults('a,b,c\n1,2,3\n4,"x"y,6') == [(3, QUOTE_FAULT)]
    assert faults('a,"b,c\n1,"x"y,3\n') == []
    # Two stray quotes that pair up as no value: both rows; the value across lines after
    # them still reads (row 5: its line break is inside it), and the row after it is row 6.
    assert faults('a,b,c\n1,a"b,3\n4,c"d,6\n7,"x\ny",9\n1,"p"q,3\n') == [
        (2, STRAY),
        (3, STRAY),
        (5, QUOTE_FAULT),
    ]


def test_zendesk_minutes_with_a_decimal_comma_after_greek_excel(data_dir):
    # A Zendesk export opened and saved by Excel in el-GR: Windows-1253, semicolons, and
    # "First reply time in minutes" 15,5. The minutes were read with '.', the row quarantined
    # ("cannot read '15,5' as minutes"); they now count in the file's decimal decision.
    import datetime as dt

    s = make_settings(data_dir)
    head = (
        "Id;Requester;Requester email;Subject;Status;Via;Created at;Satisfaction Score;"
        "First reply time in minutes"
    )
    body = (
        f"{head}\r\n"
        "41;Σωκράτης Παπαδόπουλος;sokratis@paradeigma.gr;Σπασμένη κούπα;solved;Mail;"
        "2024-06-01T08:00:00Z;good;90\r\n"
        "42;Ελένη Οικονόμου;eleni@paradeigma.gr;Πού είναι η παραγγελία μου;open;Web Widget;"
        "2024-06-03T12:00:00Z;offered;15,5\r\n"
    )
    drop(s, "tickets", "zendesk.csv", body.encode("cp1253"))
    (report,) = land(s, "tickets")
    assert (report.rows_landed, report.encoding) == (2, "windows-1253")
    got = query(s, "select ticket_id, first_response_at from raw_tickets order by 1").rows()
    # 08:00 + 90 min = 09:30; 12:00 + 15.5 min = 12:15:30.
    assert got == [
        ("41", dt.datetime(2024, 6, 1, 9, 30)),
        ("42", dt.datetime(2024, 6, 3, 12, 15, 30)),
    ]


def test_a_json_array_cut_short_keeps_its_whole_objects(data_dir):
    # A download stopped inside the second object: the whole file was refused ("not valid
    # JSON (Unterminated string ...): the file ends before the array closes"), the whole first
    # object with it. Now it lands, and the cut object is quarantined with its text.
    import json

    s = make_settings(data_dir)
    body = (
        '[{"contact_id": "c1", "first_name": "Žiga", "created_at": "2024-01-01",\n'
        '  "tags": {"seen": ["web", "}"]}},\n'
        ' {"contact_id": "c2", "first_name": "Ελένη", "created_at": "2024-01-02"},\n'
        ' {"contact_id": "c3", "tags": {"seen": ["}"]}, "first_name": "Špe'
    )
    drop(s, "contacts", "contacts.json", body)
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 2, 1)
    got = query(s, "select contact_id, first_name, _row_number from raw_contacts order by 3")
    assert got.rows() == [("c1", "Žiga", 1), ("c2", "Ελένη", 2)]
    ((row, reason, record),) = query(
        s, "select row_number, reason, record from quarantine_rows"
    ).rows()
    # The third object (row 3) starts on the file's line 4.
    assert (row, reason) == (
        3,
        "the file ends inside this object, which starts on line 4 "
        "(cut short? deliver the whole file again)",
    )
    # Its braces are read as JSON reads them (the one in a string closes nothing).
    assert json.loads(record) == {
        "text": '{"contact_id": "c3", "tags": {"seen": ["}"]}, "first_name": "Špe'
    }


def test_a_json_array_cut_after_an_object_says_the_rest_is_missing(data_dir):
    # Cut after a comma: every object read is whole, but the array never closes, so objects
    # after it may be missing; a row says so, and the whole ones land.
    s = make_settings(data_dir)
    body = '[{"contact_id": "c1", "first_name": "Ana", "created_at": "2024-01-01"},\n'
    drop(s, "contacts", "contacts.json", body)
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 1, 1)
    assert query(s, "select row_number, reason, record from quarantine_rows").row(0) == (
        2,
        "the file ends after object 1, before the array closes "
        "(cut short? deliver the whole file again)",
        '{"text":""}',
    )


def test_a_json_array_broken_before_its_end_is_refused_whole(data_dir):
    # A missing comma in the first object (column 44, counted by hand): what follows the
    # break cannot be trusted, so the file stays refused even though it is cut short too.
    s = make_settings(data_dir)
    first = '{"contact_id": "c1", "first_name": "Žiga" "created_at": "2024-01-01"}'
    drop(s, "contacts", "cut.json", f'[{first},\n {{"contact_id": "c2", "first_n')
    drop(s, "contacts", "whole.json", f'[{first},\n {{"contact_id": "c2"}}]')
    reports = land(s, "contacts")
    assert [(r.source_file, r.status, r.reason) for r in reports] == [
        (
            "crm/contacts/cut.json",
            "refused",
            "not valid JSON (Expecting ',' delimiter at line 1, column 44): the file ends "
            "before the array closes (cut short? deliver the whole file again)",
        ),
        (
            "crm/contacts/whole.json",
            "refused",
            "not valid JSON (Expecting ',' delimiter at line 1, column 44): fix the file at "
            "that place, or export it again, and deliver it again",
        ),
    ]


def test_a_json_file_that_is_no_json_is_refused_naming_how_it_begins(data_dir):
    # A CSV export saved as .json: json's own "Expecting value at line 1, column 1" was all
    # the user was told. The refusal now shows how the file begins and what to do.
    s = make_settings(data_dir)
    drop(s, "tickets", "tickets.json", "ticket_id,created_at,channel\nt1,2024-01-01,email\n")
    (report,) = land(s, "tickets")
    assert report.status == "refused"
    assert report.reason.startswith("not valid JSON (Expecting value at line 1, column 1): ")
    # How it begins (its first line) and the way out.
    assert "it begins 'ticket_id,created_at,channel', not '[' or '{'" in report.reason
    assert "deliver it with its own extension (.csv" in report.reason


def test_rows_in_two_encodings_are_refused_naming_the_utf8_words(data_dir):
    # A Windows-1252 export (60 French names) with one row pasted in from a UTF-8 export.
    # Read as Windows-1252 the pasted "Weiß" is "WeiÃŸ": one implausible word in 61, within
    # the rule's 1 in 50, so the file was accepted as Windows-1252 and the name landed so.
    s = make_settings(data_dir)
    names = [
        f"{n}{i}" for i in range(12) for n in ("François", "Hélène", "Jérôme", "Gaëlle", "Noël")
    ]
    body = b"contact_id;last_name;created_at\r\n"
    body += "".join(f"c{i};{n};2024-01-01\r\n" for i, n in enumerate(names)).encode("cp1252")
    body += "c9;Weiß;2024-01-02\r\n".encode()
    drop(s, "contacts", "pasted.csv", body)
    (report,) = land(s, "contacts")
    assert report.status == "refused"
    assert report.reason == (
        "the file is not UTF-8 and cannot be read in one code page: some of its words are "
        "UTF-8 ('Weiß') and its other bytes are not: rows in two encodings (pasted "
        "together from two exports?), which no one code page reads right. Save the whole file "
        "in one encoding (UTF-8), or deliver the parts as two files"
    )


def test_single_byte_text_is_not_taken_for_utf8_words():
    # Capitals of Central European, Cyrillic and Greek code pages are lead bytes of UTF-8
    # pairs (Windows-1250 "ÓŁ" is the UTF-8 of ӣ): such words must not count as pasted UTF-8.
    from pipeline.ingest.codepage import utf8_words

    samples = {
        "cp1250": "KRÓŁ ŻÓŁĆ GĘŚLĄ ŽLUŤOUČKÝ KŮŇ ÚPĚL ŞTEFAN ŢEPEŞ PĂŞUNE ČŠ Črt Žužek",
        "cp1252": "STRAßE SÃO PAULO AÇÃO ÉCOLE CRÈME BRÛLÉE ÅSA ØRESUND ÞÓR Müßig",
        "cp1251": "ВЁДРА ТЁМА ЖУРАВЛЁВ ЇЖАК ЄВГЕН ЉУБИША ЂОРЂЕ Щукин Её Ні",
        "cp1253": "ΆΝΝΑ ΈΛΕΝΑ ΣΩΚΡΑΤΗΣ ΠΡΟΪΟΝ Ευρωπαϊκή",
    }
    for codec, text in samples.items():
        assert utf8_words(set(text.encode(codec).split())) == [], codec
    assert utf8_words({"Weiß".encode()}) == ["Weiß"]


SHOP_DE = """entity = "orders"
signature = ["Bestellnummer", "Kunde", "Datum", "Summe"]
[format]
timestamp = "%d.%m.%Y %H:%M"
decimal = ","
[columns]
order_id = "Bestellnummer"
contact_id = "Kunde"
ordered_at = "Datum"
gross_amount = "Summe"
[constants]
status = "completed"
currency = "EUR"
"""


def test_a_workbook_s_number_cells_are_numbers_whatever_decimal_the_mapping_states(data_dir):
    # A shop's mapping written for its de-DE CSV exports (decimal = ","); the same export saved
    # as .xlsx holds number cells, which read as "1234.5": every amount was quarantined
    # ("cannot read '1234.5' as a number with ','"). In a workbook the values decide.
    import datetime as dt

    import xlsxwriter

    s = make_settings(data_dir)
    (data_dir / "vendors").mkdir()
    (data_dir / "vendors" / "shop_de.toml").write_text(SHOP_DE, encoding="utf-8")
    path = s.landing_dir / "crm" / "orders" / "Bestellungen.xlsx"
    path.parent.mkdir(parents=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    euro = book.add_format({"num_format": "#,##0.00 €"})
    stamp = book.add_format({"num_format": "dd.mm.yyyy hh:mm"})
    sheet.write_row(0, 0, ["Bestellnummer", "Kunde", "Datum", "Summe"])
    sheet.write_row(1, 0, ["B1", "Größe"])
    sheet.write_datetime(1, 2, dt.datetime(2024, 2, 3, 14, 5), stamp)
    sheet.write_number(1, 3, 1234.5, euro)  # shown as "1.234,50 €", stored as 1234.5
    sheet.write_row(2, 0, ["B2", "Weiß", "04.02.2024 10:00"])  # a date typed as text
    sheet.write_number(2, 3, 99.9, euro)
    sheet.write_row(3, 0, ["B3", "Weiß", "05.02.2024 10:00", "12,00"])  # an amount as text
    book.close()
    (report,) = land(s, "orders")
    assert (report.mapping, report.rows_landed, report.rows_quarantined) == ("shop_de", 2, 1)
    got = query(s, "select order_id, contact_id, ordered_at, gross_amount from raw_orders")
    assert [(o, c, t, str(a)) for o, c, t, a in got.rows()] == [
        ("B1", "Größe", dt.datetime(2024, 2, 3, 14, 5), "1234.5000"),
        ("B2", "Weiß", dt.datetime(2024, 2, 4, 10, 0), "99.9000"),
    ]
    # Text among number cells is quarantined, never read in a guessed locale.
    assert query(s, "select row_number, reason from quarantine_rows").row(0) == (
        4,
        "gross_amount ('Summe'): cannot read '12,00' as a number with '.' as decimal separator",
    )


CRM_RO = """entity = "contacts"
signature = ["Cod client", "Adresă e-mail", "Dată creare"]
[format]
timestamp = "%d.%m.%Y %H:%M"
[columns]
contact_id = "Cod client"
email = "Adresă e-mail"
first_name = "Prenume"
created_at = "Dată creare"
"""


def test_a_users_header_in_romanian_is_recognised_however_it_is_written(data_dir):
    """A user's mapping names the Romanian columns as typed (composed ă, plain spaces). The same
    header from a Mac export (decomposed: ``a`` + U+0306), with a no-break space copied from a web
    page, and in capitals lands through it. Before, the first two were refused as an unknown
    header that printed exactly like the mapping's ('… which lacks 'Adresă e-mail'. Header: Cod
    client, Adresă e-mail, …'): nothing on screen told what differed."""
    s = make_settings(data_dir)
    (data_dir / "vendors").mkdir()
    (data_dir / "vendors" / "crm_ro.toml").write_text(CRM_RO, encoding="utf-8")
    row = "c1;ștefan@x.ro;Ștefan;01.02.2024 10:00\n"
    headers = {
        "1_mac.csv": "Cod client;Adresa\u0306 e-mail;Prenume;Data\u0306 creare\n",
        "2_web.csv": "Cod\u00a0client;Adresă\u00a0e-mail;Prenume;Dată creare\n",
        "3_caps.csv": "COD CLIENT;ADRESĂ E-MAIL;PRENUME;DATĂ CREARE\n",
    }
    for name, header in headers.items():
        drop(s, "contacts", name, header + row.replace("c1", name[0]))
    reports = land(s, "contacts")
    assert [(r.status, r.mapping, r.rows_landed) for r in reports] == [("landed", "crm_ro", 1)] * 3
    got = query(s, "select contact_id, email, first_name from raw_contacts order by 1").rows()
    assert got == [(n, "ștefan@x.ro", "Ștefan") for n in ("1", "2", "3")]


def test_a_header_naming_a_column_twice_in_two_forms_is_refused(data_dir):
    # Composed and decomposed, the one column a mapping reads: which value is the e-mail?
    s = make_settings(data_dir)
    (data_dir / "vendors").mkdir()
    (data_dir / "vendors" / "crm_ro.toml").write_text(CRM_RO, encoding="utf-8")
    drop(
        s,
        "contacts",
        "twice.csv",
        "Cod client;Adresă e-mail;Dată creare;Adresa\u0306 e-mail\n"
        "c1;a@x.ro;01.02.2024 10:00;b@x.ro\n",
    )
    (report,) = land(s, "contacts")
    assert report.status == "refused"
    assert report.reason == "the header names the column 'Adresa\u0306 e-mail' twice"


SHOP_RO = """entity = "orders"
signature = ["Comandă", "Client", "Dată", "Total", "Stare"]
[format]
timestamp = "%d.%m.%Y %H:%M"
decimal = ","
[constants]
currency = "RON"
[columns]
order_id = "Comandă"
contact_id = "Client"
ordered_at = "Dată"
gross_amount = "Total"
status = "Stare"
[values.status]
"Finalizată" = "completed"
"În așteptare" = "pending"
[patterns.status]
"^Anulată" = "cancelled"
"""


def test_a_users_value_map_reads_a_value_however_it_is_composed(data_dir):
    """The user's map names the Romanian statuses as typed (composed ă, î, ș). A Mac export
    writes them decomposed: ``a`` + U+0306, ``I`` + U+0302, ``s`` + U+0326, which print the
    same. Before, o2–o5 were quarantined ("status ('Stare') 'finalizată' is not one of …",
    naming a value that reads exactly as the map's key); each now lands with its status."""
    s = make_settings(data_dir)
    (data_dir / "vendors").mkdir()
    (data_dir / "vendors" / "shop_ro.toml").write_text(SHOP_RO, encoding="utf-8")
    drop(
        s,
        "orders",
        "comenzi.csv",
        "Comandă;Client;Dată;Total;Stare\n"
        "o1;c1;01.02.2024 10:00;12,50;Finalizată\n"  # as the map: composed
        "o2;c1;02.02.2024 10:00;13,50;Finalizata\u0306\n"
        "o3;c1;03.02.2024 10:00;14,50;FINALIZATA\u0306\n"
        "o4;c1;04.02.2024 10:00;15,50;I\u0302n as\u0326teptare\n"
        "o5;c1;05.02.2024 10:00;16,50;Anulata\u0306 de client\n"  # the pattern ^Anulată
        "o6;c1;06.02.2024 10:00;17,50;Finalizat\n"  # no such status: quarantined
        # ş with a cedilla (U+015F), as Windows-1250 writes the map's ș (comma, U+0219):
        "o7;c1;07.02.2024 10:00;18,50;În aşteptare\n",
    )
    (report,) = land(s, "orders")
    assert (report.mapping, report.rows_landed, report.rows_quarantined) == ("shop_ro", 6, 1)
    got = query(s, "select order_id, status from raw_orders order by order_id").rows()
    assert got == [
        ("o1", "completed"),
        ("o2", "completed"),
        ("o3", "completed"),
        ("o4", "pending"),
        ("o5", "cancelled"),
        ("o7", "pending"),
    ]
    assert query(s, "select row_number, reason from quarantine_rows").rows() == [
        (7, "status ('Stare') 'finalizat' is not one of completed, pending, cancelled, refunded")
    ]


SURVEYS_RO = """entity = "surveys"
signature = ["Răspuns", "E-mail", "Dată", "Evaluare"]
[format]
timestamp = "%d.%m.%Y %H:%M"
[constants]
survey_type = "csat"
[columns]
response_id = "Răspuns"
email = "E-mail"
responded_at = "Dată"
score = "Evaluare"
[scores.csat]
"Bună" = "5"
"Slabă" = "1"
[skip_rows]
column = "Evaluare"
values = ["Neevaluată"]
reason = "the answer was not rated"
"""


def test_a_users_scores_and_skipped_values_read_a_value_however_it_is_composed(data_dir):
    """``[scores]`` answers and ``[skip_rows]`` values are maps too. From a Mac export
    (decomposed ă): before, r2 and r3 were quarantined as answers the table lacks ("score
    ('Evaluare') 'Bună' is not one of the csat answers of surveys_ro: bună, slabă") and r5 was
    not skipped but quarantined the same way; now r1–r3 land as 5, 5, 1 and r4 and r5 are
    skipped, counted by value."""
    s = make_settings(data_dir)
    (data_dir / "vendors").mkdir()
    (data_dir / "vendors" / "surveys_ro.toml").write_text(SURVEYS_RO, encoding="utf-8")
    drop(
        s,
        "surveys",
        "sondaj.csv",
        "Răspuns;E-mail;Dată;Evaluare\n"
        "r1;ana@x.ro;01.02.2024 10:00;Bună\n"
        "r2;ion@x.ro;02.02.2024 10:00;Buna\u0306\n"
        "r3;dan@x.ro;03.02.2024 10:00;SLABA\u0306\n"
        "r4;eva@x.ro;04.02.2024 10:00;Neevaluată\n"
        "r5;ilie@x.ro;05.02.2024 10:00;Neevaluata\u0306\n",
    )
    (report,) = land(s, "surveys")
    assert (report.rows_landed, report.rows_quarantined) == (3, 0), report.reason
    assert report.reason == "2 rows skipped, the answer was not rated: 'Evaluare' Neevaluată 2"
    got = query(s, "select response_id, score from raw_surveys order by 1").rows()
    assert got == [("r1", 5), ("r2", 5), ("r3", 1)]
