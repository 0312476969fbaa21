"""Direct tests of ``pipeline/ingest/mappings.py``'s rules that the landing tests leave open:
how a refused header is described, which ``[headerless]`` tables are refused, how messages
name a vendor column. Each expected message is written out by hand."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from ingest_support import drop, land, make_settings, query

from pipeline.entities import ENTITIES
from pipeline.ingest.errors import FileRefused
from pipeline.ingest.mappings import (
    Mapping,
    MappingError,
    canonical_mapping,
    load_mapping_file,
    load_mappings,
    parse_mapping,
    recognise,
    vendor_label,
)


def test_an_unknown_header_of_twelve_columns_is_shown_whole():
    header = [f"c{i}" for i in range(1, 13)]
    with pytest.raises(FileRefused) as refused:
        recognise(header, load_mappings("surveys"))
    # Twelve columns: all shown, no ellipsis. Every surveys mapping lacks its whole signature,
    # so the closest is the one lacking fewest, the first among equals: the canonical one
    # (four required columns, as many as hubspot_feedback's signature, and listed first).
    assert str(refused.value) == (
        "unknown header: no mapping for surveys matches it; the closest is 'canonical_surveys', "
        "which lacks 'response_id', 'responded_at', 'survey_type', 'score'. "
        "Header: c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12. "
        "Rename the columns, or add a mapping (see docs/vendors.md)"
    )


def test_an_own_export_sharing_one_column_with_a_vendor_is_sent_to_the_contract():
    # A shop's own export: "date" is one of the four signature columns of the CDNOW dataset's
    # mapping (customer_id, date, number_of_cds, dollar_value), none of canonical_orders'. The
    # refusal named 'cdnow' as the closest, sending the user to rename "total" into
    # "dollar_value" and invent "number_of_cds"; it names the contract's columns instead.
    with pytest.raises(FileRefused) as refused:
        recognise(["id", "customer", "date", "total"], load_mappings("orders"))
    assert "cdnow" not in str(refused.value)
    assert str(refused.value).startswith(
        "unknown header: no mapping for orders matches it; the closest is 'canonical_orders', "
        "which lacks 'order_id', 'ordered_at', 'status', 'gross_amount'. "
        "Header: id, customer, date, total. "
    )
    # Three of a vendor's four signature columns are a near miss, named as before.
    with pytest.raises(FileRefused, match="the closest is 'cdnow', which lacks 'dollar_value'"):
        recognise(["customer_id", "date", "number_of_cds", "total"], load_mappings("orders"))


def test_an_unknown_header_of_thirteen_columns_shows_twelve_and_an_ellipsis():
    header = [f"c{i}" for i in range(1, 14)]
    with pytest.raises(FileRefused, match=r"Header: c1, c2, .*, c11, c12, …\. Rename"):
        recognise(header, load_mappings("surveys"))


def raw_headerless(**headerless) -> dict:
    """A minimal orders mapping with the given ``[headerless]`` table."""
    return {
        "entity": "orders",
        "signature": ["Id", "Date"],
        "columns": {"order_id": "Id", "ordered_at": "Date"},
        "headerless": headerless,
    }


def test_headerless_tables_are_checked_whole():
    good = parse_mapping(raw_headerless(columns=["Id", "Date"], first_line="^\\d"), "m.toml", "m")
    assert good.headerless == ("Id", "Date")
    assert good.headerless_line == "^\\d"
    needs = r"m\.toml: \[headerless\] needs columns"
    # Without first_line; with a column name that is not text; without a signature column;
    # with a key of its own: each is refused naming the file and the table.
    for headerless in (
        {"columns": ["Id", "Date"]},
        {"columns": ["Id", "Date", 5], "first_line": "^\\d"},
        {"columns": ["Id"], "first_line": "^\\d"},
        {"columns": ["Id", "Date"], "first_line": "^\\d", "extra": 1},
    ):
        with pytest.raises(MappingError, match=needs):
            parse_mapping(raw_headerless(**headerless), "m.toml", "m")


def test_vendor_label_names_the_vendor_column_only_when_it_differs():
    mapping = Mapping(
        name="m",
        entity="surveys",
        signature=("valoare",),
        columns={
            "score": ("valoare",),
            "comment": ("comment",),
            "email": ("Contact email",),
            "contact_id": ("Contact ID", "Record ID"),
        },
    )
    # A vendor name that sorts after the canonical one, one equal to it, one before it, and a
    # column the mapping does not read (named by itself).
    assert vendor_label(mapping, "score") == "score ('valoare')"
    assert vendor_label(mapping, "comment") == "comment"
    assert vendor_label(mapping, "email") == "email ('Contact email')"
    assert vendor_label(mapping, "ticket_id") == "ticket_id"
    # Of several vendor names, the first (the one the mapping prefers) names the column.
    assert vendor_label(mapping, "contact_id") == "contact_id ('Contact ID')"


def test_a_mapping_cannot_be_changed_once_loaded():
    # Mappings are loaded once per run and shared by every file of an entity: a change made
    # while reading one file must not leak into the next.
    shopify = next(m for m in load_mappings("orders") if m.name == "shopify_orders")
    with pytest.raises(dataclasses.FrozenInstanceError):
        shopify.decimal = ","  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        shopify.aggregate.quantity = "Qty"  # type: ignore[misc, union-attr]


def test_an_unknown_short_header_is_shown_whole():
    with pytest.raises(FileRefused, match=r"Header: a, b, c\. Rename"):
        recognise(["a", "b", "c"], load_mappings("surveys"))


def test_a_user_folder_that_is_missing_adds_no_mappings(tmp_path):
    # No folder, or a folder that does not exist: the canonical and shipped mappings only.
    shipped = [m.name for m in load_mappings("surveys")]
    assert shipped[0] == "canonical_surveys"
    assert [m.name for m in load_mappings("surveys", tmp_path / "absent")] == shipped


def test_a_user_folder_adds_its_mappings_last(tmp_path):
    (tmp_path / "my_surveys.toml").write_text(
        'entity = "surveys"\nsignature = ["Id", "When", "Kind", "Stars"]\n'
        '[columns]\nresponse_id = "Id"\nresponded_at = "When"\nsurvey_type = "Kind"\n'
        'score = "Stars"\n',
        encoding="utf-8",
    )
    shipped = [m.name for m in load_mappings("surveys")]
    # The file's stem names it (no name key); it comes after the canonical and shipped ones.
    assert [m.name for m in load_mappings("surveys", tmp_path)] == [*shipped, "my_surveys"]


def raw_mapping(entity: str = "orders", **extra) -> dict:
    """A minimal valid mapping of ``entity`` plus ``extra`` top-level keys."""
    columns = {
        "orders": {"order_id": "Id", "ordered_at": "Date"},
        "tickets": {"ticket_id": "Id"},
        "surveys": {"response_id": "Id"},
    }
    return {"entity": entity, "signature": ["Id"], "columns": columns[entity], **extra}


def test_invalid_mappings_are_refused_naming_the_file_and_the_key():
    cases = [
        # an unknown [format] key is named, sorted
        (raw_mapping(format={"decimals": ",", "zone": "UTC"}), "unknown [format] keys "
         "['decimals', 'zone']"),
        # [aggregate] with a key missing, or with one too many
        (raw_mapping(aggregate={"quantity": "Qty"}), "[aggregate] needs exactly"),
        (raw_mapping(aggregate={"quantity": "Q", "unit_price": "P", "tax": "T"}),
         "[aggregate] needs exactly"),
        # a signature that is empty, or names a column with something that is not text
        (raw_mapping(signature=[]), "signature must be a non-empty list"),
        (raw_mapping(signature=["Id", 5]), "signature must be a non-empty list"),
        # [minutes_after]: three items, or a first item that is not a timestamp column
        (raw_mapping("tickets", minutes_after={"first_response_at": ["created_at", "M", "x"]}),
         "[minutes_after] first_response_at must be"),
        (raw_mapping("tickets", minutes_after={"first_response_at": ["status", "M"]}),
         "[minutes_after] first_response_at must be"),
    ]  # fmt: skip
    for raw, message in cases:
        with pytest.raises(MappingError) as refused:
            parse_mapping(raw, "m.toml", "m")
        assert str(refused.value).startswith(f"m.toml: {message}"), raw
    # The valid forms of the same keys are accepted.
    ok = parse_mapping(
        raw_mapping(
            "tickets", minutes_after={"first_response_at": ["created_at", "Minutes to reply"]}
        ),
        "m.toml",
        "m",
    )
    assert ok.minutes_after == {"first_response_at": ("created_at", "Minutes to reply")}


def test_vendor_columns_include_template_fields_but_not_the_counter():
    mapping = parse_mapping(
        raw_mapping(templates={"order_id": "{Customer}-{order}-{n}"}, signature=["Date"]),
        "m.toml",
        "m",
    )
    # Signature, mapped columns and the template's fields; "{n}" is the row counter, no column.
    assert mapping.vendor_columns() == {"Date", "Id", "Customer", "order"}


def test_an_unknown_header_against_the_canonical_mapping_alone():
    # Only the canonical mapping to compare with: it is the closest, and the message names it.
    only = [canonical_mapping(ENTITIES["surveys"])]
    with pytest.raises(FileRefused, match=r"^unknown header: no mapping for surveys matches"):
        recognise(["a"], only)


def test_every_mapping_loaded_for_an_entity_is_of_that_entity():
    for entity in ENTITIES:
        assert {m.entity for m in load_mappings(entity)} == {entity}


def test_more_invalid_forms_of_minutes_after_and_aggregate():
    cases = [
        # one item only
        (raw_mapping("tickets", minutes_after={"first_response_at": ["created_at"]}),
         "[minutes_after] first_response_at must be"),
        # [aggregate] on an entity before and after "orders" in the alphabet
        (raw_mapping("tickets", aggregate={"quantity": "Q", "unit_price": "P"}),
         "[aggregate] only applies to orders"),
        ({"entity": "contacts", "signature": ["Id"], "columns": {"contact_id": "Id"},
          "aggregate": {"quantity": "Q", "unit_price": "P"}},
         "[aggregate] only applies to orders"),
    ]  # fmt: skip
    for raw, message in cases:
        with pytest.raises(MappingError) as refused:
            parse_mapping(raw, "m.toml", "m")
        assert str(refused.value).startswith(f"m.toml: {message}"), raw


def test_canonical_files_decide_their_decimal_separator_from_their_values(tmp_path):
    # The canonical mapping states no separator, so the file's values decide: "12,50" and
    # "1.234,56" read only with ',' (a two-digit group; a '.' thousands group), so ',' it is:
    # 12.50 and 1234.56 (docs/operations.md, "Decimal separators").
    settings = make_settings(tmp_path)
    drop(
        settings,
        "orders",
        "orders.csv",
        "order_id,contact_id,ordered_at,status,gross_amount\n"
        'O1,C1,2024-01-05T10:00:00Z,completed,"12,50"\n'
        'O2,C1,2024-01-06T10:00:00Z,completed,"1.234,56"\n',
    )
    (report,) = land(settings, "orders")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 2, 0)
    got = query(settings, "select order_id, gross_amount from raw_orders order by 1")
    assert got.rows() == [("O1", Decimal("12.5000")), ("O2", Decimal("1234.5600"))]


def test_scores_tables_are_checked():
    cases = [
        # [scores] on another entity than surveys
        (raw_mapping(scores={"csat": {"0": 1}}), "[scores] only applies to surveys"),
        # a survey type the contract does not have, and a score that is no whole number
        (raw_mapping("surveys", scores={"stars": {"0": 1}}),
         "[scores] names ['stars'], which are not survey types (nps, csat, ces)"),
        (raw_mapping("surveys", scores={"csat": {"0": "low"}}),
         "[scores.csat] values must be whole numbers"),
    ]  # fmt: skip
    for raw, message in cases:
        with pytest.raises(MappingError) as refused:
            parse_mapping(raw, "m.toml", "m")
        assert str(refused.value).startswith(f"m.toml: {message}"), raw
    ok = parse_mapping(raw_mapping("surveys", scores={"csat": {" 2 ": 5}}), "m.toml", "m")
    assert ok.scores == {"csat": {"2": "5"}}


def test_lists_tables_are_checked():
    # no separating character, and a column the entity does not have
    with pytest.raises(MappingError, match=r"^m.toml: \[lists\] values must name the separating"):
        parse_mapping(raw_mapping(lists={"contact_id": ""}), "m.toml", "m")
    with pytest.raises(MappingError, match=r"^m.toml: \[lists\] names \['owner'\], which"):
        parse_mapping(raw_mapping(lists={"owner": ";"}), "m.toml", "m")
    # a column of the entity, but not one that links a customer
    with pytest.raises(MappingError, match=r"^m.toml: \[lists\] names \['order_id'\]: only"):
        parse_mapping(raw_mapping(lists={"order_id": ";"}), "m.toml", "m")
    ok = parse_mapping(raw_mapping(lists={"contact_id": ";,"}), "m.toml", "m")
    assert ok.lists == {"contact_id": ";,"}


MY_SHOP = 'entity = "orders"\nsignature = ["Comandă"]\n[columns]\norder_id = "Comandă"\n'


def test_a_mapping_file_as_windows_editors_save_it(tmp_path):
    # Notepad saves UTF-8 with a byte-order mark: tomllib read it as an invalid statement at
    # line 1, column 1. Saved as "ANSI" (Windows-1250's ă is 0xE3) it stopped the run with
    # Python's UnicodeDecodeError, naming neither the file nor what to do.
    path = tmp_path / "my_shop.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MY_SHOP.encode("utf-8"))
    assert load_mapping_file(path).signature == ("Comandă",)
    path.write_bytes(MY_SHOP.encode("cp1250"))
    with pytest.raises(MappingError) as refused:
        load_mapping_file(path)
    assert str(refused.value) == f"{path}: not UTF-8 text (byte 0xe3 on line 2): save it as UTF-8"


def test_a_section_of_the_wrong_shape_is_refused_naming_it():
    # [values] status = "x" (a line that belongs under [values.status]) stopped the run with
    # Python's "'str' object has no attribute 'items'"; a signature written as one string was
    # read as the columns O, r, d, e, r, which no export has.
    with pytest.raises(MappingError) as refused:
        parse_mapping(raw_mapping(values={"status": "completed"}), "m.toml", "m")
    assert str(refused.value) == (
        "m.toml: [values] status must be a table ([values.status], one line per value)"
    )
    with pytest.raises(MappingError, match=r"^m\.toml: signature must be a non-empty list"):
        parse_mapping(raw_mapping(signature="Order"), "m.toml", "m")
    with pytest.raises(MappingError, match=r"^m\.toml: signature is missing"):
        parse_mapping({"entity": "orders"}, "m.toml", "m")
