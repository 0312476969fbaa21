"""Declarative vendor mappings: how a vendor's export becomes canonical rows.

A mapping is a TOML file in ``pipeline/vendors/`` (shipped) or ``<data dir>/vendors/`` (a user's
own, which wins over a shipped one of the same name). ``docs/vendors.md`` describes every key.
The canonical format of each entity is a mapping too, built from ``pipeline/entities.py``.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import available_timezones

import polars as pl

from pipeline.entities import ENTITIES, Entity
from pipeline.ingest.decode import DECLARABLE, codec_of
from pipeline.ingest.errors import FileRefused
from pipeline.words import CEDILLA_TO_COMMA

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "vendors"
TOP_KEYS = {
    "name",
    "entity",
    "title",
    "docs",
    "signature",
    "format",
    "columns",
    "values",
    "patterns",
    "constants",
    "templates",
    "headerless",
    "minutes_after",
    "aggregate",
    "scores",
    "lists",
    "companions",
    "skip_rows",
}
FORMAT_KEYS = {"timestamp", "timestamps", "date", "decimal", "timezone", "encoding"}
SKIP_ROWS_KEYS = {"column", "values", "reason"}


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Aggregate:
    """Line-item exports: lines with one key become one order, gross = sum(quantity × price)."""

    quantity: str  # vendor column
    unit_price: str  # vendor column


@dataclass(frozen=True)
class SkipRows:
    """Rows of an export that are not its entity's records: ``column`` holds one of
    ``values`` (trimmed, lower case; "" is a blank cell). They are counted in the file's report
    with ``reason``, neither landed nor quarantined (Zendesk's unrated tickets are no survey
    responses, and no error either)."""

    column: str  # vendor column, one of the signature's
    values: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Mapping:
    """One export format of one entity; see ``docs/vendors.md`` for the meaning of each field."""

    name: str
    entity: str
    signature: tuple[str, ...]  # vendor columns that must all be in the header
    # canonical column -> vendor columns; the first the header has is read (an export whose
    # column was renamed between versions, or an optional id with a fallback)
    columns: dict[str, tuple[str, ...]]
    title: str = ""
    docs: str = ""
    timestamp_format: str = "iso"
    timestamp_formats: dict[str, str] = field(default_factory=dict)  # per canonical column
    date_format: str = "%Y-%m-%d"
    decimal: str = "."
    decimal_stated: bool = False  # else each file's values decide (pipeline/ingest/decimals.py)
    timezone: str | None = None  # naive timestamps are in this zone (else PIPELINE_TIMEZONE)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # vendor value -> canonical
    patterns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)  # "{Vendor col}-{n}"
    minutes_after: dict[str, tuple[str, str]] = field(default_factory=dict)
    aggregate: Aggregate | None = None
    # surveys: canonical survey type -> {vendor score -> contract score}, for a tool whose
    # scale differs from the contract's (HubSpot's CSAT answers 0, 1, 2 for 1–5)
    scores: dict[str, dict[str, str]] = field(default_factory=dict)
    # canonical column -> the characters that separate the records a vendor cell may list
    # (HubSpot's associations: a deal with two contacts); a cell listing two quarantines its row
    lists: dict[str, str] = field(default_factory=dict)
    # A file without a header row: its column names, for files whose first line matches
    # ``headerless_line`` (a regular expression), e.g. the CDNOW sample
    headerless: tuple[str, ...] = ()
    headerless_line: str = ""
    # Mappings of other entities that read the same file (their names): a delivery this
    # mapping recognises lands their rows too (Zendesk's ticket export: its satisfaction
    # ratings are survey responses). A companion is used only so, never for its own folder.
    companions: tuple[str, ...] = ()
    skip_rows: SkipRows | None = None
    path: Path | None = None
    encoding: str | None = None  # declared text encoding ([format] encoding), else detected

    def timestamp_format_of(self, column: str) -> str:
        """The stated format of a canonical timestamp column."""
        return self.timestamp_formats.get(column, self.timestamp_format)

    def vendor_columns(self) -> set[str]:
        """Every vendor column the mapping reads (for recognising and rendering)."""
        cols = set(self.signature) | {c for names in self.columns.values() for c in names}
        cols |= {c for t in self.templates.values() for c in template_fields(t) if c != "n"}
        cols |= {m for _, m in self.minutes_after.values()}
        if self.skip_rows:
            cols.add(self.skip_rows.column)
        if self.aggregate:
            cols |= {self.aggregate.quantity, self.aggregate.unit_price}
        return cols


def template_fields(template: str) -> list[str]:
    """Vendor column names in a template such as ``{Customer}-{Date}-{n}``."""
    return re.findall(r"\{([^{}]+)\}", template)


def canonical_mapping(entity: Entity) -> Mapping:
    """The canonical CSV of an entity: its own column names, ISO timestamps, '.' decimals."""
    return Mapping(
        name=f"canonical_{entity.name}",
        entity=entity.name,
        title=f"canonical {entity.name} (spec/contracts.md)",
        signature=entity.required,
        columns={c: (c,) for c in entity.columns},
    )


def _table(raw: dict, key: str, where: str) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise MappingError(f"{where}: [{key}] must be a table")
    return value


def _tables(raw: dict, key: str, where: str) -> dict[str, dict]:
    """A section of one table per canonical column (``[values.status]``): a value that is no
    table (``status = "x"`` under ``[values]``) stopped the run with Python's AttributeError."""
    tables = _table(raw, key, where)
    for col, table in tables.items():
        if not isinstance(table, dict):
            raise MappingError(
                f"{where}: [{key}] {col} must be a table ([{key}.{col}], one line per value)"
            )
    return tables


def value_key(text: str) -> str:
    """How a value map's key (``[values]``, ``[scores]``, ``[skip_rows]``) is matched with a
    delivered value: trimmed, lower case and composed (Unicode NFC), as the delivered value is
    (``parse._value_key``), so that ``Finalizată`` from a Mac export (``a`` + U+0306) is the
    ``Finalizată`` a user typed; Romanian ``ş`` ``ţ`` (cedilla, as Windows-1250 and older
    keyboards write them) are the ``ș`` ``ț`` (comma below) of a key typed today, and the
    other way round."""
    return unicodedata.normalize("NFC", text.strip().lower()).translate(CEDILLA_TO_COMMA)


def parse_mapping(raw: dict, where: str, default_name: str) -> Mapping:
    """Validate a mapping read from TOML; errors name the file and the offending key."""
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise MappingError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(TOP_KEYS)})")
    entity_name = raw.get("entity")
    if entity_name is None:
        raise MappingError(f"{where}: entity is missing (one of {sorted(ENTITIES)})")
    if entity_name not in ENTITIES:
        raise MappingError(
            f"{where}: entity must be one of {sorted(ENTITIES)}, not {entity_name!r}"
        )
    entity = ENTITIES[entity_name]
    fmt = _table(raw, "format", where)
    if set(fmt) - FORMAT_KEYS:
        raise MappingError(f"{where}: unknown [format] keys {sorted(set(fmt) - FORMAT_KEYS)}")
    columns = _table(raw, "columns", where)
    constants = {k: str(v) for k, v in _table(raw, "constants", where).items()}
    templates = _table(raw, "templates", where)
    minutes_after = {k: tuple(v) for k, v in _table(raw, "minutes_after", where).items()}
    values = {
        col: {str(k): str(v) for k, v in table.items()}
        for col, table in _tables(raw, "values", where).items()
    }
    patterns = {
        # composed, as the values they are matched with (parse._apply_value_maps)
        col: [(unicodedata.normalize("NFC", str(k)), str(v)) for k, v in table.items()]
        for col, table in _tables(raw, "patterns", where).items()
    }
    lists = {str(k): str(v) for k, v in _table(raw, "lists", where).items()}
    if not all(lists.values()):
        raise MappingError(f"{where}: [lists] values must name the separating characters")
    for section, names in [
        ("columns", columns),
        ("lists", lists),
        ("constants", constants),
        ("templates", templates),
        ("minutes_after", minutes_after),
        ("values", values),
        ("patterns", patterns),
        ("format.timestamps", fmt.get("timestamps", {})),
    ]:
        bad = set(names) - set(entity.columns)
        if bad:
            raise MappingError(
                f"{where}: [{section}] names {sorted(bad)}, which are not columns of "
                f"{entity.name} ({', '.join(entity.columns)})"
            )
    for col, pats in patterns.items():
        for pattern, _ in pats:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise MappingError(f"{where}: [patterns.{col}] {pattern!r}: {exc}") from None
    for col, pair in minutes_after.items():
        if len(pair) != 2 or pair[0] not in entity.timestamp_columns:
            raise MappingError(
                f"{where}: [minutes_after] {col} must be [<timestamp column>, <vendor column>]"
            )
    scores = {
        # answers match as value maps do (parse._score_key): Zendesk's "Good" is "good"
        str(kind): {value_key(str(k)): str(v) for k, v in table.items()}
        for kind, table in _tables(raw, "scores", where).items()
    }
    if scores:
        if entity.name != "surveys":
            raise MappingError(f"{where}: [scores] only applies to surveys")
        kinds = entity.enums["survey_type"]
        if set(scores) - set(kinds):
            raise MappingError(
                f"{where}: [scores] names {sorted(set(scores) - set(kinds))}, which are not "
                f"survey types ({', '.join(kinds)})"
            )
        for kind, table in scores.items():
            if not all(v.strip().lstrip("+-").isdigit() for v in table.values()):
                raise MappingError(f"{where}: [scores.{kind}] values must be whole numbers")
    if set(lists) - {"contact_id", "email"}:
        raise MappingError(
            f"{where}: [lists] names {sorted(set(lists) - {'contact_id', 'email'})}: only the "
            "columns that link a row to its customer (contact_id, email) may list records"
        )
    agg = raw.get("aggregate")
    aggregate = None
    if agg is not None:
        if set(agg) != {"quantity", "unit_price"}:
            raise MappingError(f"{where}: [aggregate] needs exactly quantity and unit_price")
        if entity.name != "orders":
            raise MappingError(f"{where}: [aggregate] only applies to orders")
        aggregate = Aggregate(quantity=agg["quantity"], unit_price=agg["unit_price"])
    decimal = fmt.get("decimal", ".")
    if decimal not in (".", ","):
        raise MappingError(f"{where}: [format] decimal must be '.' or ','")
    if "timezone" in fmt:
        _check_zone(fmt["timezone"], where)
    encoding = fmt.get("encoding")
    if encoding is not None and codec_of(str(encoding)) is None:
        raise MappingError(
            f"{where}: [format] encoding {encoding!r} is not one of {', '.join(DECLARABLE)}"
        )
    signature = raw.get("signature")
    if signature is None:
        raise MappingError(f"{where}: signature is missing (a list of vendor column names)")
    # A string is no list: "Order" was read as the columns O, r, d, e, r.
    if not (
        isinstance(signature, list) and signature and all(isinstance(s, str) for s in signature)
    ):
        raise MappingError(f"{where}: signature must be a non-empty list of vendor column names")
    headerless = _table(raw, "headerless", where)
    if headerless and (
        set(headerless) != {"columns", "first_line"}
        or not all(isinstance(c, str) for c in headerless["columns"])
        or set(signature) - set(headerless["columns"])
    ):
        raise MappingError(
            f"{where}: [headerless] needs columns (the file's column names, the signature's "
            "among them) and first_line (a regular expression a first data line matches)"
        )
    if headerless:
        try:
            re.compile(headerless["first_line"])
        except re.error as exc:
            raise MappingError(f"{where}: [headerless] first_line: {exc}") from None
    companions = raw.get("companions", [])
    if not isinstance(companions, list) or not all(isinstance(c, str) for c in companions):
        raise MappingError(f"{where}: companions must be a list of mapping names")
    return Mapping(
        name=raw.get("name", default_name),
        entity=entity.name,
        signature=tuple(signature),
        columns={
            str(k): (v,) if isinstance(v, str) else tuple(map(str, v)) for k, v in columns.items()
        },
        title=raw.get("title", ""),
        docs=raw.get("docs", ""),
        timestamp_format=fmt.get("timestamp", "iso"),
        timestamp_formats=dict(fmt.get("timestamps", {})),
        date_format=fmt.get("date", "%Y-%m-%d"),
        decimal=decimal,
        decimal_stated="decimal" in fmt,
        timezone=fmt.get("timezone"),
        values=values,
        patterns=patterns,
        constants=constants,
        templates={str(k): str(v) for k, v in templates.items()},
        minutes_after=minutes_after,  # type: ignore[arg-type]
        aggregate=aggregate,
        scores=scores,
        lists=lists,
        headerless=tuple(headerless.get("columns", ())),
        headerless_line=str(headerless.get("first_line", "")),
        encoding=str(encoding) if encoding is not None else None,
        companions=tuple(companions),
        skip_rows=_skip_rows(_table(raw, "skip_rows", where), signature, where),
    )


def _skip_rows(table: dict, signature: list[str], where: str) -> SkipRows | None:
    """``[skip_rows]`` validated: a signature column (so every file the mapping recognises has
    it), the values that mark a row as none of the entity's, and the reason the report gives."""
    if not table:
        return None
    values = table.get("values")
    if (
        set(table) != SKIP_ROWS_KEYS
        or not isinstance(table["column"], str)
        or not isinstance(table["reason"], str)
        or not table["reason"].strip()
        or not isinstance(values, list)
        or not values
        or not all(isinstance(v, str) for v in values)
    ):
        raise MappingError(
            f"{where}: [skip_rows] needs column (a vendor column), values (a list of its values "
            'that are not rows of the entity; "" for a blank cell) and reason (what the report '
            "says of them)"
        )
    if header_key(table["column"]) not in {header_key(c) for c in signature}:
        raise MappingError(
            f"{where}: [skip_rows] column {table['column']!r} must be one of the signature's "
            "columns, so that every file the mapping recognises has it"
        )
    return SkipRows(table["column"], tuple(map(value_key, values)), table["reason"].strip())


def _check_zone(zone: object, where: str) -> None:
    """MappingError unless ``zone`` is one polars reads naive times in: checked when the
    mapping is read, since the parse would stop the run with polars' message naming neither
    the file nor the key."""
    try:
        pl.Series([None], dtype=pl.Datetime("us")).dt.replace_time_zone(str(zone))
    except pl.exceptions.PolarsError:
        close = difflib.get_close_matches(str(zone), sorted(available_timezones()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise MappingError(
            f"{where}: [format] timezone {zone!r} is not a time zone "
            f"(an IANA name such as Europe/Bucharest{hint})"
        ) from None


def headerless_columns(mappings: list[Mapping]):
    """A function giving, for a file's first line, the column names of the headerless mapping
    whose ``first_line`` pattern it matches in full (None when it is a header, as usual)."""
    candidates = [(re.compile(m.headerless_line), m.headerless) for m in mappings if m.headerless]

    def columns_for(first_line: str) -> list[str] | None:
        for pattern, names in candidates:
            if pattern.fullmatch(first_line.rstrip("\r\n")):
                return list(names)
        return None

    return columns_for


def load_mapping_file(path: Path) -> Mapping:
    """Read and validate one mapping file.

    A byte-order mark is allowed (Windows Notepad writes one before UTF-8, and TOML's parser
    took it for an invalid statement); text in another encoding is refused saying so, not with
    Python's UnicodeDecodeError."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise MappingError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line}): save "
            "it as UTF-8"
        ) from None
    except OSError as exc:
        raise MappingError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    mapping = parse_mapping(raw, str(path), path.stem)
    return Mapping(**{**mapping.__dict__, "path": path})


def _every_mapping(user_dir: Path | None) -> dict[str, Mapping]:
    """Every mapping by name, of every entity: shipped, then the user's own (which replace
    shipped ones of the same name)."""
    found: dict[str, Mapping] = {}
    dirs = [SHIPPED_DIR] + ([user_dir] if user_dir and user_dir.is_dir() else [])
    for folder in dirs:
        for path in sorted(folder.glob("*.toml")):
            mapping = load_mapping_file(path)
            found[mapping.name] = mapping
    return found


def load_mappings(entity: str, user_dir: Path | None = None) -> list[Mapping]:
    """Every mapping of an entity: canonical first, then shipped, then the user's own.

    A mapping another one names as its companion is left out: it reads its host's files (in
    the host's folder), and recognising them in its own folder would land only its part."""
    found = _every_mapping(user_dir)
    companions = {name for m in found.values() for name in m.companions}
    own = [m for m in found.values() if m.entity == entity and m.name not in companions]
    return [canonical_mapping(ENTITIES[entity]), *own]


def load_companions(entity: str, user_dir: Path | None = None) -> dict[str, list[Mapping]]:
    """The companions of ``entity``'s mappings, by the name of the mapping naming them
    (``companions = [...]``): the mappings of other entities that read the same files.

    Checked here, naming the file and the key: a companion must exist, be of another entity,
    name no companions itself, and have a signature the host's columns hold, so that every
    file its host recognises is one it reads."""
    return _companions(_every_mapping(user_dir), entity)


def check_mapping_files(user_dir: Path | None) -> None:
    """Read and validate every mapping, shipped and the user's, and every companion named:
    MappingError naming the file and the key at the first that cannot be used. Run before a
    run starts, so that a broken mapping is a configuration error, said in one line, rather
    than every ingestion step of the run failing on it."""
    found = _every_mapping(user_dir)
    for entity in ENTITIES:
        _companions(found, entity)


def _companions(found: dict[str, Mapping], entity: str) -> dict[str, list[Mapping]]:
    """:func:`load_companions` among the mappings ``found``."""
    out: dict[str, list[Mapping]] = {}
    for host in found.values():
        if host.entity != entity or not host.companions:
            continue
        where = f"{host.path or host.name}: companions"
        for name in host.companions:
            companion = found.get(name)
            if companion is None:
                raise MappingError(f"{where} names {name!r}, which is no mapping")
            if companion.entity == host.entity:
                raise MappingError(
                    f"{where} names {name!r}, a mapping of {entity} too: a companion lands "
                    "another entity's rows from the same file"
                )
            if companion.companions:
                raise MappingError(f"{where} names {name!r}, which names companions itself")
            held = {header_key(c) for c in host.signature}  # as a header matches them
            lacking = [c for c in companion.signature if header_key(c) not in held]
            if lacking:
                raise MappingError(
                    f"{where} names {name!r}, whose signature columns "
                    f"{', '.join(repr(c) for c in lacking)} are not in {host.name!r}'s "
                    "signature: a file it recognises need not have them"
                )
            out.setdefault(host.name, []).append(companion)
    return out


def entities_fed(entity: str, user_dir: Path | None = None) -> set[str]:
    """The entities a delivery into ``entity``'s folder may land rows of: itself and its
    mappings' companions' entities (the landing sensor runs their raw assets too)."""
    companions = load_companions(entity, user_dir)
    return {entity} | {m.entity for found in companions.values() for m in found}


def vendor_label(mapping: Mapping, col: str) -> str:
    """How messages name a canonical column: with the vendor's name when it differs."""
    vendor = mapping.columns.get(col, (col,))[0]
    return col if vendor == col else f"{col} ('{vendor}')"


# Removed from a header name before it is matched (header_key).
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u2060"))


def header_key(name: object) -> str:
    """How a header name is matched with a mapping's: compatibility-composed (NFKC: a name
    decomposed by a Mac export, a no-break space from a copied header, full-width letters),
    without a byte-order mark or zero-width space, white space runs as one space, and case
    folded (``ADRESĂ E-MAIL`` is ``Adresă e-mail``; German ``STRASSE`` is ``Straße``)."""
    text = unicodedata.normalize("NFKC", str(name)).translate(_INVISIBLE)
    return " ".join(text.split()).casefold()


def names_columns_of(mappings: list[Mapping]) -> Callable[[tuple], bool]:
    """Whether a row's cells name every signature column of one of ``mappings`` (as
    :func:`recognise` matches them, by :func:`header_key`), to find a workbook's header below
    a report's title."""
    signatures = [{header_key(c) for c in m.signature} for m in mappings]

    def names(cells: tuple) -> bool:
        found = {header_key(c) for c in cells if c is not None}
        return any(signature <= found for signature in signatures)

    return names


def recognise(header: list[str], mappings: list[Mapping]) -> tuple[Mapping, dict[str, str]]:
    """The mapping whose signature the header carries (the most specific when several do).

    Returns the mapping and a lookup from its vendor column names to the header's spelling
    (names match case-insensitively). An unknown header is refused with the closest mapping
    and the columns it lacks. Names match by :func:`header_key`.
    """
    by_key = {header_key(h): h for h in header}
    matches = [m for m in mappings if all(header_key(s) in by_key for s in m.signature)]
    if matches:
        best = max(matches, key=lambda m: len(m.signature))
        found = {c: header_key(c) for c in best.vendor_columns()}
        return best, {c: by_key[k] for c, k in found.items() if k in by_key}

    def missing(m: Mapping) -> list[str]:
        return [s for s in m.signature if header_key(s) not in by_key]

    closest = min(mappings, key=lambda m: (len(missing(m)) / len(m.signature), len(missing(m))))
    if len(missing(closest)) * 2 > len(closest.signature):
        # A vendor's mapping that shares a column or two of its signature (a "date", an
        # "email") is no near miss: renaming to its other columns would turn a shop's own
        # export into, say, the CDNOW dataset. The contract's columns (``mappings[0]``, the
        # canonical mapping: load_mappings lists it first) are then what to rename to.
        closest = mappings[0]
    shown = ", ".join(header[:12]) + (", …" if len(header) > 12 else "")
    raise FileRefused(
        f"unknown header: no mapping for {mappings[0].entity} matches it; the closest is "
        f"{closest.name!r}, which lacks {', '.join(repr(c) for c in missing(closest))}. "
        f"Header: {shown}. Rename the columns, or add a mapping (see docs/vendors.md)"
    )


def belongs_elsewhere(header: list[str], entity: str, user_dir: Path | None = None) -> str:
    """Where a file whose header no mapping of ``entity`` recognises belongs instead, as a
    clause for its refusal ("" when no other entity's mapping recognises it either).

    An orders export saved into crm/contacts/ was refused as the contacts header it is closest
    to ("lacks 'created_at'"), which sends the user to rename columns that are right."""
    for other in ENTITIES:
        if other == entity:
            continue
        try:
            mapping, _lookup = recognise(header, load_mappings(other, user_dir))
        except FileRefused:
            continue
        folder = ENTITIES[other].landing_path
        return f"; it is a header of {other} ({mapping.name!r}): deliver the file into {folder}/"
    return ""
