"""Times as exports write them, landed from a real landing folder and read back from the
warehouse (and, for a day's month, from the marts): a date without a time of day in a zone
east of UTC, a two-digit year where the format states four, an epoch number too large for its
unit, offsets (real and impossible) on both parse routes, a mapping's zone that does not
exist, and a file written day first under a month-first mapping. Each lands as the export
means it, or its row is quarantined naming file, row and reason while the file's other rows
land; a file whose own values show it would be misread is refused whole, saying why."""

from __future__ import annotations

import datetime as dt

import pytest
from ingest_support import FIXTURES, drop, land, make_settings, query
from marts_fixtures import exports_built, records

from pipeline.ingest import core as ingest
from pipeline.ingest import duckdb_csv
from pipeline.ingest.mappings import MappingError


def quarantined(settings) -> list[tuple]:
    """(file, row, reason) of every quarantined row, in file and row order."""
    sql = "select source_file, row_number, reason from quarantine_rows order by 1, 2"
    return query(settings, sql).rows()


def test_a_date_without_a_time_keeps_its_day_and_month_east_of_utc(data_dir):
    # Bucharest is UTC+2 in winter, UTC+3 in summer. A date alone names a day, not the instant
    # its midnight is in Bucharest: read as local midnight, "2024-02-01" was 2024-01-31 22:00
    # UTC, a January purchase, and "2024-04-01" was 2024-03-31 21:00 UTC, a purchase on as_of
    # 2024-03-31 one day before it happened (the contract's months and as_of are UTC).
    contacts = (
        "contact_id,email,created_at\n"
        "c1,one@x.test,2023-06-01\n"
        "c2,two@x.test,2023-06-01\n"
        "c3,three@x.test,2023-06-01\n"
        "c4,four@x.test,2024-04-01\n"  # created the day after as_of: does not exist yet
    )
    orders = (
        "order_id,contact_id,ordered_at,status,gross_amount\n"
        "o1,c1,2024-02-01,completed,10\n"  # February, not January
        "o2,c2,2024-04-01,completed,10\n"  # after as_of: not yet happened
        "o3,c3,2024-03-31,completed,10\n"  # on as_of
        "o4,c2,2024-02-01 00:30:00,completed,10\n"  # a wall time: 2024-01-31 22:30 UTC
    )
    exports = {"crm/contacts": contacts, "crm/orders": orders}
    with exports_built(data_dir, exports, "2024-03-31", "Europe/Bucharest") as (con, reports):
        for found in reports.values():
            assert all(r.status == "landed" and not r.rows_quarantined for r in found), found
        landed = records(con, "select order_id, ordered_at from raw_orders order by 1")
        months = records(con, "select month, new_customers from retention_monthly order by 1")
        contacts_on_as_of = records(con, "select contact_id from int_contacts order by 1")
        days = records(
            con,
            "select c.contact_id, l.recency_days from loyalty_customers l "
            "join int_customers c using (customer_id) order by 1",
        )
    assert {r["order_id"]: r["ordered_at"] for r in landed} == {
        "o1": dt.datetime(2024, 2, 1),
        "o2": dt.datetime(2024, 4, 1),
        "o3": dt.datetime(2024, 3, 31),
        "o4": dt.datetime(2024, 1, 31, 22, 30),
    }
    # c2's first purchase is o4 (January, UTC); c1's is o1 (February); c3's o3 (March).
    assert {str(r["month"]): r["new_customers"] for r in months} == {
        "2024-01-01": 1,
        "2024-02-01": 1,
        "2024-03-01": 1,
    }
    assert [r["contact_id"] for r in contacts_on_as_of] == ["c1", "c2", "c3"]
    # as_of 2024-03-31 - 2024-02-01 = 29 + 30 = 59 days; c2's last purchase is o4 (60 days).
    assert {r["contact_id"]: r["recency_days"] for r in days} == {"c1": 59, "c2": 60, "c3": 0}


def test_a_dated_export_in_a_stated_format_keeps_its_day(data_dir):
    # The CDNOW log's dates (YYYYMMDD) in a data directory set to Athens (UTC+2): each
    # purchase stays on its own day, 1997-01-01 is not 1996-12-31 22:00 UTC.
    # A day that does not exist is quarantined for what it is: no daylight-saving gap is
    # named, since a day is not read in the zone.
    s = make_settings(data_dir, timezone="Europe/Athens")
    fixture = (FIXTURES / "cdnow.txt").read_text(encoding="utf-8")
    drop(s, "orders", "CDNOW_master.txt", fixture + " 00004 19970230  1   9.99\r\n")
    (report,) = land(s, "orders")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 4, 1)
    got = query(s, "select order_id, ordered_at from raw_orders order by 1").rows()
    assert got == [
        ("00001-19970101-1", dt.datetime(1997, 1, 1)),
        ("00002-19970112-1", dt.datetime(1997, 1, 12)),
        ("00002-19970112-2", dt.datetime(1997, 1, 12)),
        ("00003-19970102-1", dt.datetime(1997, 1, 2)),
    ]
    assert quarantined(s) == [
        (
            "crm/orders/CDNOW_master.txt",
            6,
            "ordered_at ('date'): cannot read '19970230' as a timestamp in format %Y%m%d",
        )
    ]


SALESFORCE_HEAD = (
    '"First Name","Last Name","Contact ID","Email","Phone","Mailing Country","Lead Source",'
    '"Birthdate","Created Date","Last Modified Date"\n'
)


def test_a_two_digit_year_where_the_format_states_four_is_quarantined(data_dir):
    # Salesforce's US format is M/D/YYYY. "1/5/24" (a report exported with a short-year
    # locale, or typed by hand) was read as the year 24 AD, a contact created 2,000 years
    # ago and a birth date in the year 85; such a row is quarantined, naming the value.
    s = make_settings(data_dir)
    body = SALESFORCE_HEAD + (
        '"Maria","Ionescu","003A","maria@example.ro","","RO","Web","3/14/1985",'
        '"1/5/2024 9:30 AM",""\n'
        '"Sam","Lee","003B","sam@example.com","","US","Web","","1/5/24 9:30 AM",""\n'
        '"Ana","Pop","003C","ana@example.ro","","RO","Web","3/14/85","1/6/2024 9:30 AM",""\n'
    )
    drop(s, "contacts", "sf.csv", body)
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 1, 2)
    got = query(s, "select contact_id, created_at, birth_date from raw_contacts").rows()
    assert got == [("003A", dt.datetime(2024, 1, 5, 9, 30), dt.date(1985, 3, 14))]
    assert quarantined(s) == [
        (
            "crm/contacts/sf.csv",
            3,
            "created_at ('Created Date'): cannot read '1/5/24 9:30 AM' as a timestamp in "
            "format %m/%d/%Y %I:%M %p",
        ),
        (
            "crm/contacts/sf.csv",
            4,
            "birth_date ('Birthdate'): cannot read '3/14/85' as a date in format %m/%d/%Y",
        ),
    ]


EPOCH_MAPPING = """
name = "shop_epoch"
entity = "orders"
signature = ["id", "customer", "paid_at", "total"]

[format]
timestamp = "epoch_s"

[columns]
order_id = "id"
contact_id = "customer"
ordered_at = "paid_at"
gross_amount = "total"

[constants]
status = "completed"
"""


def test_an_epoch_number_too_large_for_its_unit_is_quarantined_not_the_file(data_dir):
    # Epoch seconds stated; one row has microseconds (16 digits): as seconds it is beyond any
    # date, and the whole file was refused, "cannot be read as csv: conversion from `f64` to
    # `i64` failed", naming no row. Now that row is quarantined and the others land.
    s = make_settings(data_dir)
    (s.data_dir / "vendors").mkdir()
    (s.data_dir / "vendors" / "shop_epoch.toml").write_text(EPOCH_MAPPING, encoding="utf-8")
    body = (
        "id,customer,paid_at,total\n"
        "1,c1,1700000000,10\n"
        "2,c2,1700000000000000,10\n"
        "3,c3,1700000000.5,10\n"
    )
    drop(s, "orders", "epoch.csv", body)
    (report,) = land(s, "orders")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 2, 1)
    got = query(s, "select order_id, ordered_at from raw_orders order by 1").rows()
    # 1,700,000,000 s after 1970-01-01 is 2023-11-14 22:13:20 UTC (19,675 days + 80,000 s).
    assert got == [
        ("1", dt.datetime(2023, 11, 14, 22, 13, 20)),
        ("3", dt.datetime(2023, 11, 14, 22, 13, 20, 500000)),
    ]
    assert quarantined(s) == [
        (
            "crm/orders/epoch.csv",
            3,
            "ordered_at ('paid_at'): cannot read '1700000000000000' as a timestamp in format "
            "epoch_s",
        )
    ]


# Offsets as ISO 8601 writes them (India +05:30, Newfoundland -03:30, Z) with fractions, and
# three values no export means: an offset of 25 hours, one of 99 minutes, and a fraction
# after the minutes ("10:30.5" is half past 10:30 and 30 seconds in ISO 8601, not 10:30:00.5).
OFFSET_ORDERS = (
    "order_id,contact_id,ordered_at,status,gross_amount\n"
    "o1,c1,2024-01-31T23:30:00.25+05:30,completed,10\n"
    "o2,c1,2024-01-31T21:00:00-0330,completed,10\n"
    "o3,c1,2024-01-31 23:59:59.999Z,completed,10\n"
    "o4,c1,2024-01-31T10:30:00+25:00,completed,10\n"
    "o5,c1,2024-01-31T10:30:00+05:99,completed,10\n"
    "o6,c1,2024-01-31T10:30.5,completed,10\n"
)


@pytest.mark.parametrize("route", ["polars", "duckdb"])
def test_offsets_are_read_as_written_and_impossible_ones_are_quarantined(
    data_dir, monkeypatch, route
):
    # "+25:00" was read as 25 hours (2024-01-30 09:30 UTC), "+05:99" as 6 h 39 min, and
    # "10:30.5" as 10:30:00.5: three wrong instants. Both parsers (polars for small files,
    # DuckDB's reader from 2 MB) now quarantine them; the others land, worked out by hand.
    parsed_by_duckdb = []
    if route == "duckdb":
        monkeypatch.setattr(duckdb_csv, "MIN_BYTES", 0)

        def watched(*args, **kwargs):
            parsed = duckdb_csv.parse_with_duckdb(*args, **kwargs)
            parsed_by_duckdb.append(parsed is not None)
            return parsed

        monkeypatch.setattr(ingest, "parse_with_duckdb", watched)
    s = make_settings(data_dir)
    drop(s, "orders", "offsets.csv", OFFSET_ORDERS)
    (report,) = land(s, "orders")
    # DuckDB's reader took the file itself; it did not hand it to polars.
    assert parsed_by_duckdb == ([True] if route == "duckdb" else [])
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 3, 3)
    got = query(s, "select order_id, ordered_at from raw_orders order by 1").rows()
    assert got == [
        ("o1", dt.datetime(2024, 1, 31, 18, 0, 0, 250000)),  # 23:30:00.25 - 5:30
        ("o2", dt.datetime(2024, 2, 1, 0, 30)),  # 21:00 + 3:30: February in UTC
        ("o3", dt.datetime(2024, 1, 31, 23, 59, 59, 999000)),
    ]
    reason = "ordered_at: cannot read '{}' as an ISO 8601 timestamp"
    assert quarantined(s) == [
        ("crm/orders/offsets.csv", 5, reason.format("2024-01-31T10:30:00+25:00")),
        ("crm/orders/offsets.csv", 6, reason.format("2024-01-31T10:30:00+05:99")),
        ("crm/orders/offsets.csv", 7, reason.format("2024-01-31T10:30.5")),
    ]


def test_a_mapping_zone_that_does_not_exist_stops_the_run_naming_file_and_key(data_dir):
    # "Europe/Bucuresti" (the Romanian spelling) in a shop's mapping: the run stopped inside
    # the parse with polars' "ComputeError: unable to parse time zone", naming neither the
    # mapping file nor its key. A mapping is checked when it is read, so the message says both.
    s = make_settings(data_dir)
    zoned = EPOCH_MAPPING.replace('timestamp = "epoch_s"', 'timestamp = "%d.%m.%Y %H:%M"')
    zoned = zoned.replace("[columns]", 'timezone = "Europe/Bucuresti"\n\n[columns]')
    path = s.data_dir / "vendors" / "shop_epoch.toml"
    path.parent.mkdir()
    path.write_text(zoned, encoding="utf-8")
    drop(s, "orders", "shop.csv", "id,customer,paid_at,total\n1,c1,01.02.2024 10:00,10\n")
    with pytest.raises(MappingError) as refused:
        land(s, "orders")
    assert str(refused.value) == (
        f"{path}: [format] timezone 'Europe/Bucuresti' is not a time zone "
        "(an IANA name such as Europe/Bucharest; did you mean 'Europe/Bucharest'?)"
    )


def test_a_file_whose_dates_are_day_first_under_a_month_first_mapping_is_refused(data_dir):
    # A Salesforce report exported by a user with the English (UK) locale writes 05/01/2024
    # for 5 January; the shipped mapping states the US order, %m/%d/%Y. Every date whose day
    # was 12 or less landed a wrong month (5 January as 1 May, here Maria and Ana), and the
    # others were quarantined one by one. Values only the other order reads, and none only
    # the stated one reads, show the file's order: it is refused whole, naming a value.
    s = make_settings(data_dir)
    body = SALESFORCE_HEAD + (
        '"Maria","Ionescu","003A","maria@example.ro","","GB","Web","","05/01/2024 9:30 AM",""\n'
        '"Sam","Lee","003B","sam@example.com","","GB","Web","","13/01/2024 9:30 AM",""\n'
        '"Ana","Pop","003C","ana@example.ro","","GB","Web","","12/02/2024 4:15 PM",""\n'
    )
    drop(s, "contacts", "sf_uk.csv", body)
    (report,) = land(s, "contacts")
    assert report.status == "refused"
    assert report.reason == (
        "created_at ('Created Date'): the file writes its dates day first, and the mapping "
        "'salesforce_contacts' states month first (%m/%d/%Y %I:%M %p): '13/01/2024 9:30 AM' "
        "(row 3) is only a date day first, and no date of the file is only one month first, "
        "so its other dates would be misread (a day taken for a month). State the export's "
        'format, %d/%m/%Y %I:%M %p, in a copy of the mapping (docs/vendors.md, "Mapping '
        'files") and deliver the file again'
    )
    assert query(s, "select count(*) from raw_contacts").item() == 0


def test_a_month_first_file_with_days_after_the_twelfth_lands(data_dir):
    # The same dates in the US order the mapping states: 1/13/2024 proves it, and the row
    # that is a date only day first (a typo, 13/01/2024) is quarantined on its own.
    s = make_settings(data_dir)
    body = SALESFORCE_HEAD + (
        '"Maria","Ionescu","003A","maria@example.ro","","US","Web","","01/05/2024 9:30 AM",""\n'
        '"Sam","Lee","003B","sam@example.com","","US","Web","","01/13/2024 9:30 AM",""\n'
        '"Ana","Pop","003C","ana@example.ro","","US","Web","","13/01/2024 4:15 PM",""\n'
    )
    drop(s, "contacts", "sf_us.csv", body)
    (report,) = land(s, "contacts")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 2, 1)
    got = query(s, "select contact_id, created_at from raw_contacts order by 1").rows()
    assert got == [
        ("003A", dt.datetime(2024, 1, 5, 9, 30)),
        ("003B", dt.datetime(2024, 1, 13, 9, 30)),
    ]
