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
    assert "'Щукин' or 'Ωσκθν'" in report.reason
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
