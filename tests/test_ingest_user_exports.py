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
