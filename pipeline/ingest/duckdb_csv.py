"""Canonical CSV parsed by DuckDB's reader: the same rows, values, row numbers and quarantine
reasons as :mod:`pipeline.ingest.parse`, in less CPU time from about 2 MB (docs/performance.md,
"Ingest of a large canonical CSV" and "The parse staged in the warehouse").

Which files: a delimited text (UTF-8 by now: :mod:`pipeline.ingest.decode` transcodes every
other encoding first) whose mapping only names columns — no value maps, patterns, constants,
templates, line items or minute offsets; ISO 8601 timestamps, ``%Y-%m-%d`` dates, read in UTC.
The canonical CSV of every entity is such a file. Everything else goes the polars route.

How: DuckDB reads the text into a table (every column VARCHAR, named, nothing sniffed, one
thread so rows keep their order and number), then one statement computes each canonical
column's value and whether the row breaks a rule, mirroring ``parse.py`` rule by rule with the
same regular expressions. In a run the tables are in a :class:`Stage`, the delivery's schema
of an in-memory database attached to the warehouse's, and the good rows (and the keys, when
one is in a spreadsheet's scientific notation) are views there that the checks, the landed
suite and the insert read as they are; without a stage the file is read in a database of its
own and they are written to the Parquet files the polars route writes. The bad rows (few) go
through ``parse.plan`` itself, which writes their reasons, so a reason is always parse.py's
own text. A plan with more or fewer rules than this SQL has (a rule added to
parse.py and not here) sends the file to polars.

Where DuckDB's functions might accept text polars refuses, the SQL here refuses it (more than
four decimals, a leap second, a non-ASCII enum value, …). Such a row is flagged bad, parse.py
then finds it good, and :func:`parse_with_duckdb` returns None: the file is parsed by polars,
as are files the reader cannot take exactly as polars does (a blank line, a lone carriage
return, a field DuckDB's strict reader rejects). So the route can cost time, never a row.
"""

from __future__ import annotations

import mmap
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.entities import IDENTITY_EDGES, SCORE_RANGES, Entity
from pipeline.ingest import currency, decimals, rules
from pipeline.ingest.checks import SCIENTIFIC
from pipeline.ingest.decimals import (
    AMBIGUOUS,
    CURRENCY_MARK,
    DECIMAL_PATTERN,
    NUMBER_NOISE,
    SIGN_FORMS,
)
from pipeline.ingest.event_id import event_id_sql
from pipeline.ingest.formats import EXTRA_PREFIX, ROW, SPARE_COLUMNS, Table
from pipeline.ingest.mappings import Mapping
from pipeline.ingest.parse import BAD, ISO_PATTERN, MAX_OFFSET_HOURS, decide_decimals, plan
from pipeline.sqltext import literal, sql_path
from pipeline.warehouse import rows, run

# Unicode White_Space, which polars' (Rust's) ``\s`` and ``strip_chars()`` mean; RE2's ``\s``
# is ASCII only. Written for inside a character class.
WS = r"\t\n\x{0b}\f\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
# What an id, an e-mail or a handle loses at its ends (entities.IDENTITY_EDGES), likewise.
EDGES = "".join(f"\\x{{{ord(c):x}}}" for c in IDENTITY_EDGES)
# The reader's own database: a share of memory like the ingest connection's, spilling beyond.
MEMORY_LIMIT = "1GB"
# Smaller files go the polars route: this one's fixed cost (a schema, the bad rows' plan)
# outweighs what it saves below about 2 MB. Measured, parse CPU, the best of five, DuckDB
# against polars: 650 contacts (0.1 MB) 0.053 s / 0.026 s; 9,600 surveys (0.9 MB) 0.068 /
# 0.061; 19,400 contacts (3 MB) 0.127 / 0.141; 47,000 e-mail events (6.7 MB) 0.155 / 0.229.
MIN_BYTES = 2 * 1024**2
# The good rows and keys: Parquet files, or the names of views over the staged parse.
Parsed = tuple[Path | str, Path, Path | str | None, tuple[int, int, int]]
# The scratch database a run attaches in memory to the warehouse's DuckDB (staging.py):
# a delivery parsed there is read by the checks, the landed suite and the insert as it is,
# without a Parquet copy in between.
STAGE_CATALOG = "_ingest_stage"


@dataclass(frozen=True)
class Stage:
    """Where to parse a delivery: ``con``, a cursor on the warehouse's database (used by one
    thread at a time), and ``schema``, a schema of :data:`STAGE_CATALOG` to create for this
    delivery alone. The caller drops the schema once the delivery has landed or been refused."""

    con: duckdb.DuckDBPyConnection
    schema: str

    @property
    def prefix(self) -> str:
        """The qualifier of the delivery's tables and views: ``_ingest_stage.<schema>.``."""
        return f"{STAGE_CATALOG}.{self.schema}."


def re2(pattern: str) -> str:
    """A polars (Rust ``regex``) pattern of this package in RE2's syntax, with the same meaning:
    ``\\d`` is any Unicode digit, ``\\s`` any Unicode white space, ``\\uXXXX`` a code point."""
    out = pattern.replace(r"\d", r"\p{Nd}").replace(r"[\s", "[" + WS).replace(r"\s", f"[{WS}]")
    return re.sub(r"\\u([0-9a-fA-F]{4})", r"\\x{\1}", out)


def eligible(table: Table, mapping: Mapping, entity: Entity, timezone: str) -> bool:
    """Whether the delivery can be read by this route (see the module docstring)."""
    return (
        table.text is not None
        and table.delimiter is not None
        and not (mapping.values or mapping.patterns or mapping.constants or mapping.templates)
        and not (mapping.minutes_after or mapping.aggregate)
        and all(mapping.timestamp_format_of(c) == "iso" for c in entity.timestamp_columns)
        and mapping.date_format == "%Y-%m-%d"
        and (mapping.timezone or timezone) == "UTC"
    )


def plain_layout(text: Path) -> bool:
    """Whether DuckDB numbers the records as polars does: no blank line (polars counts it as an
    empty row, DuckDB skips it), no carriage return outside a CR LF, and a header line with
    balanced quotes (both skip exactly one line)."""
    with text.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        first = mm.find(b"\n")
        header = mm[: first if first >= 0 else len(mm)]
        # re's literal search finds the pair in a third of bytes.find's time (0.05 s against
        # 0.14 s for 160 MB): find(b"\n\n") stops at every single newline.
        if header.count(b'"') % 2 or re.search(rb"\n\n", mm) is not None:  # type: ignore[call-overload]
            return False
        # Without a carriage return (most files) there is nothing more to look for.
        if mm.find(b"\r") < 0:
            return True
        return mm.find(b"\n\r\n") < 0 and re.search(rb"\r(?!\n)", mm) is None  # type: ignore[call-overload]


def parse_with_duckdb(
    table: Table,
    mapping: Mapping,
    lookup: dict[str, str],
    entity: Entity,
    tz: str,
    work: Path,
    min_bytes: int | None = None,
    stage: Stage | None = None,
) -> Parsed | None:
    """Good rows, bad rows and keys of the delivery and the rows read, good and bad — what
    ``core._run_plan`` returns — or None when the polars route must parse it: not eligible,
    smaller than ``min_bytes`` (default :data:`MIN_BYTES`), or not read exactly as polars
    reads it. With a ``stage`` the good rows and keys are views in its schema; without one
    the file is read in a database of its own and they are Parquet files in ``work``. The
    bad rows are always a Parquet file (``parse.plan`` writes their reasons)."""
    if not eligible(table, mapping, entity, tz) or table.text is None:
        return None
    floor = MIN_BYTES if min_bytes is None else min_bytes
    if table.text.stat().st_size < floor or not plain_layout(table.text):
        return None
    if stage is None:
        con = duckdb.connect()
        run(con, f"set memory_limit = {literal(MEMORY_LIMIT)}")
        run(con, f"set temp_directory = {sql_path(work / 'duckdb_tmp')}")
        run(con, "set enable_progress_bar = false")
        q = ""
    else:
        con, q = stage.con, stage.prefix
        run(con, f"create schema {STAGE_CATALOG}.{stage.schema}")
    parsed: Parsed | None = None
    try:
        try:
            _read(con, table, q)
        except duckdb.Error:
            return None  # strict CSV rules broken somewhere: polars says what, or reads it
        parsed = _parse(con, table, mapping, lookup, entity, tz, work, q)
        return parsed
    finally:
        if stage is None:
            con.close()
        elif parsed is None:  # nothing for the caller to drop
            run(con, f"drop schema if exists {STAGE_CATALOG}.{stage.schema} cascade")


def _read(con: duckdb.DuckDBPyConnection, table: Table, q: str) -> None:
    """The delivery's records into table ``<q>rd``: ``c<i>`` per header column, ``x<i>``
    spare."""
    names = [f"c{i}" for i in range(len(table.header))] + [f"x{i}" for i in range(SPARE_COLUMNS)]
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    run(
        con,
        f"create table {q}rd as select * from read_csv({sql_path(table.text or '')}, "
        f"header = false, skip = 1, columns = {columns}, "
        f"delim = {literal(table.delimiter or ',')}, "
        "quote = '\"', escape = '\"', auto_detect = false, null_padding = true, "
        # One thread: the parallel reader refuses quoted newlines with padding, and the rows
        # must keep their order (the row number is the table's rowid).
        "parallel = false)",
    )


def _blank_to_null(x: str) -> str:
    # Text starting with a visible ASCII character is not blank: no pattern needed (cheaper).
    return (
        f"case when ascii({x}) between 33 and 126 then {x} "
        f"when regexp_full_match({x}, '[{WS}]*') then null else {x} end"
    )


def _strip(x: str) -> str:
    # Text between two visible ASCII characters needs nothing (no pattern: cheaper); the
    # replacement only for text that starts or ends with white space (it is dearer).
    visible = f"ascii({x}) between 33 and 126 and ascii(right({x}, 1)) between 33 and 126"
    edges = f"regexp_matches({x}, '^[{WS}]|[{WS}]$')"
    strip = f"regexp_replace({x}, '^[{WS}]+|[{WS}]+$', '', 'g')"
    return f"case when {visible} then {x} when {edges} then {strip} else {x} end"


def _identity(x: str) -> str:
    """SQL of an id, e-mail or handle as it lands (``parse._typed``): without
    :data:`EDGES` around it, composed (NFC; DuckDB leaves ASCII text as it is at once)."""
    visible = f"ascii({x}) between 33 and 126 and ascii(right({x}, 1)) between 33 and 126"
    edges = f"regexp_matches({x}, '^[{EDGES}]|[{EDGES}]$')"
    strip = f"regexp_replace({x}, '^[{EDGES}]+|[{EDGES}]+$', '', 'g')"
    return f"nfc_normalize(case when {visible} then {x} when {edges} then {strip} else {x} end)"


def _iso_value(parts: str) -> str:
    """SQL of ``parse.parse_iso`` (UTC) over a struct of the ISO pattern's groups."""
    date, hm, sec, frac, off = (f"nullif({parts}.g{i}, '')" for i in range(1, 6))
    wall = (
        f"try_strptime({date} || ' ' || coalesce({hm}, '00:00') || ':' || coalesce({sec}, '00'),"
        " '%Y-%m-%d %H:%M:%S')"
    )
    micros = f"coalesce(try_cast(rpad(left({frac}, 6), 6, '0') as bigint), 0)"
    digits = f"replace({off}, ':', '')"
    hours = f"try_cast(substr({digits}, 2, 2) as integer)"
    past_hour = f"coalesce(try_cast(substr({digits}, 4, 2) as integer), 0)"
    minutes = f"({hours} * 60 + {past_hour})"
    signed = (
        f"case when upper({off}) = 'Z' then 0 when starts_with({off}, '-') then -{minutes} "
        f"else {minutes} end"
    )
    # An offset no zone has ("+25:00", "+05:99") is no value, as in parse.parse_iso.
    possible = f"(upper({off}) = 'Z' or ({hours} <= {MAX_OFFSET_HOURS} and {past_hour} < 60))"
    # A leap second (":60") is refused here; polars reads it, and the file goes its way.
    return (
        f"case when {off} is null then {wall} + to_microseconds({micros}) "
        f"when {possible} then {wall} + to_microseconds({micros}) - to_minutes({signed}) end"
    )


def _plain_number(separator: str) -> str:
    """The pattern of an amount that needs no cleaning: ASCII digits and at most four decimals
    (what nearly every canonical file holds); ``parse_decimal`` reads it as a plain cast does."""
    return f"[0-9]{{1,14}}({re.escape(separator)}[0-9]{{1,4}})?"


def _noise_free(col: str, separator: str) -> str:
    """SQL of ``decimals.strip_noise`` of ``s_<col>`` (``n_<col>``), for the amounts that are
    not plain numbers."""
    src = f"s_{col}"
    plain = f"regexp_full_match({src}, '{_plain_number(separator)}')"
    text = f"regexp_replace({src}, {literal(re2(NUMBER_NOISE))}, '', 'g')"
    for pattern, replacement in SIGN_FORMS:
        group = replacement.replace("$1", "\\1")  # DuckDB's back-reference
        text = f"regexp_replace({text}, {literal(re2(pattern))}, {literal(group)})"
    # Excel's accounting zero: a dash that came with noise (decimals.strip_noise).
    return (
        f"case when not {plain} then "
        f"case when {text} = '-' and {src} <> '-' then '0' else {text} end end"
    )


def _decimal_value(col: str, separator: str) -> str:
    """SQL of ``parse.parse_decimal`` of ``s_<col>``; more than four decimals (polars rounds half
    to even, DuckDB half away from zero) or fourteen integer digits is left unread (the file
    then goes the polars route, see the module docstring)."""
    src, noise_free = f"s_{col}", f"n_{col}"
    pattern = literal(re2(DECIMAL_PATTERN[separator]))
    text = f"case when regexp_matches({noise_free}, {pattern}) then {noise_free} end"
    if separator == ",":
        text = f"replace(replace({text}, '.', ''), ',', '.')"
    else:
        text = f"replace({text}, ',', '')"
    sure = r"[+-]?[0-9]{1,14}(\.[0-9]{1,4})?"
    plain = f"regexp_full_match({src}, '{_plain_number(separator)}')"
    return (
        f"case when {plain} then cast(replace({src}, ',', '.') as decimal(18,4)) "
        f"when regexp_full_match({text}, '{sure}') then try_cast({text} as decimal(18,4)) end"
    )


def _landed_currency(mark: str) -> str:
    """SQL of ``currency.landed`` of a lower-cased mark."""
    whens = " ".join(f"when {literal(k)} then {literal(v)}" for k, v in currency.LANDED.items())
    return f"case {mark} {whens} else upper({mark}) end"


def _currency_columns(entity: Entity) -> str:
    """SQL of the select items ``mk`` (``currency.amount_marks``: the marks of the row's
    amounts that are more than plain numbers, ``n_<col>`` not null, one per line; null when
    none is) and ``d_currency`` (``currency.delivered``).

    A currency of three capitals that is no word :data:`currency.LANDED` knows (EUR: nearly
    every row) is its own; other ASCII text is lower-cased and looked up as polars does; text
    beyond ASCII (``€``, ``zł`` in the column) is left to parse.py, whose lower-casing may
    differ from DuckDB's (:func:`_currency_check` flags it)."""
    amounts = [c for c, t in entity.columns.items() if t.startswith("decimal")]
    texts = ", ".join(f"case when n_{c} is not null then s_{c} end" for c in amounts)
    pattern = literal(re2(f"(?m){CURRENCY_MARK}"))
    found = f"regexp_extract_all(concat_ws(chr(10), {texts}), {pattern})"
    any_text = " or ".join(f"n_{c} is not null" for c in amounts)
    # Composed as currency._lowered does: a decomposed Kč is found by the pattern too.
    marks = (
        f"case when {any_text} then list_transform({found}, lambda x: nfc_normalize(lower(x))) end"
    )
    words = ", ".join(
        literal(w.upper()) for w in currency.LANDED if w.isascii() and w.isalpha() and len(w) == 3
    )
    settled = "regexp_full_match(s_currency, '[A-Z]{3}')" + (
        f" and s_currency not in ({words})" if words else ""
    )
    slow = _landed_currency(f"lower({_strip('s_currency')})")
    delivered = (
        f"case when s_currency is null then null when {settled} then s_currency else {slow} end"
    )
    return f"{marks} as mk, {delivered} as d_currency"


def _currency_check() -> str:
    """SQL of ``currency.check``'s ``is bad``, and of a currency text beyond ASCII (left to
    parse.py: a row it finds good sends the file to polars). Only a row whose amounts name a
    currency is compared (a CASE: the lists and lookups cost 0.6 s of CPU per million rows
    when every row paid for them)."""
    code = _landed_currency("mk[1]")
    several = "len(list_distinct(list_transform(mk, lambda x: " + _landed_currency("x") + "))) > 1"
    known = ", ".join(literal(c) for c in currency.KNOWN)
    compatible = ", ".join(literal(p) for p in currency.COMPATIBLE)
    refined = ", ".join(literal(p) for p in currency.REFINED)
    contradicts = (
        f"d_currency is not null and {code} in ({known}) and d_currency <> {code} "
        f"and (mk[1] || '|' || d_currency) not in ({compatible}) "
        f"and ({code} || '|' || d_currency) not in ({refined})"
    )
    beyond_ascii = "strlen(s_currency) <> length(s_currency)"  # more bytes than characters
    return (
        f"case when {beyond_ascii} then true when mk is null or len(mk) = 0 then false "
        f"else {several} or ({contradicts}) end"
    )


# The shapes nearly every canonical timestamp has, read without the general pattern's group
# extraction (ten times dearer): exactly what parse_iso makes of them, with ASCII digits.
ISO_FAST = (
    ("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", "%Y-%m-%dT%H:%M:%SZ"),
    ("[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", "%Y-%m-%d %H:%M:%S"),
)


def _fast_timestamp(col: str) -> str:
    """SQL of ``s_<col>``'s value when it has one of the common shapes (``f_<col>``), else
    null."""
    src = f"s_{col}"
    fast = " ".join(
        f"when regexp_full_match({src}, '{shape}') then try_strptime({src}, '{fmt}')"
        for shape, fmt in ISO_FAST
    )
    return f"case {fast} end"


def _iso_parts(col: str) -> str:
    """SQL of the ISO pattern's groups of ``s_<col>`` (``i_<col>``), for the values the common
    shapes did not read. (A common shape that is no date, 2025-02-30, is read again from its
    groups, which are the same numbers: no value either.)"""
    groups = "['g1', 'g2', 'g3', 'g4', 'g5']"
    pattern = literal(re2(ISO_PATTERN))
    return f"case when f_{col} is null then regexp_extract(s_{col}, {pattern}, {groups}) end"


def _timestamp_value(col: str) -> str:
    """SQL of ``parse.parse_iso`` (UTC) of ``s_<col>``: the common shapes (``f_<col>``), else
    from the groups (``i_<col>``)."""
    return f"coalesce(f_{col}, {_iso_value(f'i_{col}')})"


def _verbatim(col: str, typ: str, entity: Entity) -> bool:
    """Whether a canonical column's value is its text as delivered (``v_<col>`` is
    ``s_<col>``), so that the parse keeps one copy of it."""
    typed = typ in ("timestamp", "date", "integer") or typ.startswith("decimal")
    return not typed and col not in entity.enums and col not in entity.identity_columns


def _value(col: str, typ: str, entity: Entity, separator: str) -> str:
    """SQL of a canonical column's typed value (``parse._typed``) from ``s_<col>``."""
    src = f"s_{col}"
    if typ == "timestamp":
        return _timestamp_value(col)
    if typ == "date":
        stripped = _strip(src)
        return (
            f"case when regexp_full_match({stripped}, '[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}') "
            f"then cast(try_strptime({stripped}, '%Y-%m-%d') as date) end"
        )
    if typ.startswith("decimal"):
        return _decimal_value(col, separator)
    if typ == "integer":
        text = f"regexp_replace({_strip(src)}, '\\.0+$', '')"
        whole = f"regexp_full_match({text}, '[+-]?[0-9]+')"
        return f"case when {whole} then try_cast({text} as integer) end"
    if col in entity.open_enums:
        # An allowed value lower case; another trimmed as delivered (parse._typed).
        stripped = _strip(src)
        allowed = ", ".join(literal(v) for v in entity.enums[col])
        ascii_only = f"regexp_full_match({stripped}, '[\\x00-\\x7f]*')"
        return (
            f"case when lower({stripped}) in ({allowed}) and {ascii_only} "
            f"then lower({stripped}) else {stripped} end"
        )
    if col in entity.enums:
        # A value already one of the allowed ones (nearly all) is its own lowered, stripped
        # self: the IN list is cheaper than lower() and the strip (0.06 s against 0.15 s for
        # 1.2M e-mail events).
        same = _settled(entity.enums[col])
        stripped = f"lower({_strip(src)})"
        return f"case when {src} in ({same}) then {src} else {stripped} end" if same else stripped
    if col in entity.identity_columns:  # "c1 " is the record c1 (Entity.identity_columns)
        return _identity(src)
    if col == "currency":  # as delivered, else as the amounts name it (_currency_columns)
        named = f"case when mk is not null then {_landed_currency('mk[1]')} end"
        refined = ", ".join(literal(p) for p in currency.REFINED)  # `kr` with `12 SEK`: SEK
        return (
            f"case when ({named} || '|' || d_currency) in ({refined}) then {named} "
            f"else coalesce(d_currency, {named}) end"
        )
    return src


def _settled(values: tuple[str, ...]) -> str:
    """The SQL ``in`` list of an enum's allowed values that lower-casing and stripping leave
    as they are (ASCII), for the shortcuts above; ``''`` when there is none."""
    return ", ".join(literal(v) for v in values if v.isascii() and v == v.lower().strip())


def _checks(entity: Entity, header: int, dec: decimals.Decimals) -> list[str]:
    """SQL of every ``(is bad)`` of ``parse.plan`` for this route's mappings, in its order."""
    checks = [" and ".join(f"coalesce(c{i}, '') = ''" for i in range(header))]  # empty row
    checks.append(" or ".join(f"coalesce(x{i}, '') <> ''" for i in range(SPARE_COLUMNS)))
    for col, typ in entity.columns.items():
        if typ in ("timestamp", "date", "integer") or typ.startswith("decimal"):
            checks.append(f"s_{col} is not null and v_{col} is null")
        if typ.startswith("decimal") and not dec.thousands_shown:
            # n_<col> is null for a plain number, which has no noise to strip.
            stripped = f"coalesce(n_{col}, s_{col})"
            checks.append(f"regexp_matches({stripped}, {literal(re2(AMBIGUOUS))})")
    checks += [f"s_{col} is null" for col in entity.required]
    if entity.contact_or_email:
        checks.append("s_contact_id is null and s_email is null")
    for col, allowed in entity.enums.items():
        if col in entity.open_enums:  # another value lands (Entity.open_enums)
            continue
        values = ", ".join(literal(v) for v in allowed)
        # A non-ASCII value is refused: Unicode lower-casing differs between the two (İ).
        # As many bytes as characters: ASCII (no pattern needed); else the stripped text's.
        ascii_only = (
            f"(strlen(s_{col}) = length(s_{col}) "
            f"or regexp_full_match({_strip(f's_{col}')}, '[\\x00-\\x7f]*'))"
        )
        # Text that is exactly an allowed value (ASCII, nothing to strip) breaks no rule:
        # the first test spares nearly every row the rest.
        same = _settled(allowed)
        checks.append(
            (f"s_{col} not in ({same}) and " if same else "")
            + f"v_{col} is not null and (v_{col} not in ({values}) or not {ascii_only})"
        )
    for col in rules.NON_NEGATIVE.get(entity.name, ()):
        if col in entity.columns:
            bad = f"v_{col} < 0"
            if col == "gross_amount":
                bad += f" and coalesce(v_status, '') <> {literal(rules.NEGATIVE_GROSS_STATUS)}"
            checks.append(f"coalesce({bad}, false)")
    for later, earlier in rules.TIME_ORDER.get(entity.name, ()):
        checks.append(f"coalesce(v_{later} < v_{earlier}, false)")
    if "score" in entity.columns:
        for kind, (low, high) in SCORE_RANGES.items():
            checks.append(
                f"v_survey_type = {literal(kind)} and (v_score < {low} or v_score > {high})"
            )
    if "currency" in entity.columns:
        checks.append(_currency_check())
    return checks


def _parse(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    mapping: Mapping,
    lookup: dict[str, str],
    entity: Entity,
    tz: str,
    work: Path,
    q: str,
) -> Parsed | None:
    header = table.header
    index = {name: i for i, name in enumerate(header)}
    sources = []
    for col in entity.columns:
        found = [f"c{index[lookup[v]]}" for v in mapping.columns.get(col, ()) if v in lookup]
        blanked = [_blank_to_null(c) for c in found]
        expr = f"coalesce({', '.join(blanked)})" if blanked else "cast(null as varchar)"
        sources.append(f"{expr} as s_{col}")
    fast = [f"{_fast_timestamp(c)} as f_{c}" for c in entity.timestamp_columns]
    iso = [f"{_iso_parts(c)} as i_{c}" for c in entity.timestamp_columns]
    dec = _decimals(con, table, mapping, lookup, entity, q)
    iso += [
        f"{_noise_free(c, dec.separator)} as n_{c}"
        for c, t in entity.columns.items()
        if t.startswith("decimal")
    ]
    marks = f", {_currency_columns(entity)}" if "currency" in entity.columns else ""
    values = [f"{_value(c, t, entity, dec.separator)} as v_{c}" for c, t in entity.columns.items()]
    checks = _checks(entity, len(header), dec)
    keys = list(dict.fromkeys([entity.key, *entity.required]))
    # The text of the key and required columns, for the keys (checks.damaged_key); a
    # column whose value is its text is kept once, as its value (half the strings to copy).
    # So is a required e-mail or handle: it only tells rows apart there, as its value does.
    once = [c for c in entity.identity_columns if c != entity.key]
    text = {
        c: f"v_{c}" if _verbatim(c, entity.columns[c], entity) or c in once else f"s_{c}"
        for c in keys
    }
    kept = [t for t in text.values() if t.startswith("s_")] + [f"v_{c}" for c in entity.columns]
    # An e-mail event delivered without its event_id gets the one made from its contents here,
    # once: in the good rows' view it was made again on every read (the checks, the landed
    # suite's key count and aggregate query, the insert), 0.09 s of CPU each per 1.2M rows
    # with 5 % of them without one. Apart (k_event_id, NULL where delivered) so that the
    # keys keep the text as delivered (checks.damaged_key).
    made = entity.name == "email_events" and "event_id" in entity.columns
    if made:
        kept.append(f"case when v_event_id is null then {event_id_sql('v_')} end as k_event_id")
    run(
        con,
        f"""
        create table {q}parsed as
        with s as (select rowid + 2 as {ROW}, *, {", ".join(sources)} from {q}rd),
        f as (select *{"".join(", " + e for e in fast)} from s),
        i as (select *{"".join(", " + e for e in iso)} from f),
        m as (select *{marks} from i),
        v as (select *, {", ".join(values)} from m)
        select {ROW}, {", ".join(kept)},
               ({" or ".join(f"coalesce({c}, false)" for c in checks)}) as {BAD}
        from v
        """,
    )
    # The keys only matter when one is in a spreadsheet's scientific notation (checks.py);
    # without one, the damaged-key check has nothing to look at.
    scientific = literal(SCIENTIFIC)
    n_read, n_scientific, n_flagged = rows(
        con,
        f"select count(*), count(*) filter (regexp_full_match({text[entity.key]}, {scientific})), "
        f"count(*) filter ({BAD}) from {q}parsed",
    )[0]
    bad = _bad_rows(con, table, mapping, lookup, entity, tz, dec, len(checks), q, n_flagged)
    if bad is None:
        return None
    bad_path = work / "bad.parquet"
    bad.write_parquet(bad_path)
    values = {c: f"v_{c}" for c in entity.columns}
    if made:
        values["event_id"] = "coalesce(v_event_id, k_event_id)"
    good_rows = f"select {', '.join(f'{v} as {c}' for c, v in values.items())}, {ROW} "
    good_rows += f"from {q}parsed where not {BAD}"
    key_rows = f"select {', '.join(f'{text[c]} as {c}' for c in keys)}, {ROW} from {q}parsed"
    good: Path | str
    keys_out: Path | str | None = None
    if q:  # staged: views the warehouse's connection reads as they are
        run(con, f"drop table {q}rd")
        good = f"{q}good"
        run(con, f"create view {good} as {good_rows}")
        if n_scientific:
            keys_out = f"{q}keys"
            run(con, f"create view {keys_out} as {key_rows}")
    else:
        good = work / "good.parquet"
        run(con, f"copy ({good_rows}) to {sql_path(good)} (format parquet)")
        if n_scientific:
            keys_out = work / "keys.parquet"
            run(con, f"copy ({key_rows}) to {sql_path(keys_out)} (format parquet)")
    return good, bad_path, keys_out, (n_read, n_read - bad.height, bad.height)


def _polars_frame(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    where: str,
    q: str,
    only: set[str] | None = None,
) -> pl.DataFrame:
    """Rows of ``rd`` as polars reads them: header names, spare columns, ``''`` for nothing;
    ``only``: just these header columns (and the row number)."""
    names = {f"c{i}": name for i, name in enumerate(table.header) if only is None or name in only}
    if only is None:
        names |= {f"x{i}": f"{EXTRA_PREFIX}{i}" for i in range(SPARE_COLUMNS)}
    cols = [f"coalesce({c}, '') as {c}" for c in names]
    found = con.sql(f"select {', '.join([*cols, f'rowid + 2 as {ROW}'])} from {q}rd {where}").pl()
    return found.rename(names).with_columns(pl.col(ROW).cast(pl.Int64))


def _decimals(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    mapping: Mapping,
    lookup: dict[str, str],
    entity: Entity,
    q: str,
) -> decimals.Decimals:
    """The file's decimal decision, by parse.py's own rule over its first rows."""
    if not any(t.startswith("decimal") for t in entity.columns.values()):
        return decide_decimals(pl.LazyFrame(), mapping, lookup, entity)
    # Only the amount columns' text: the decision reads nothing else, and a copy of every
    # column into polars cost about as much as the decision itself.
    amounts = [c for c, t in entity.columns.items() if t.startswith("decimal")]
    used = {lookup[v] for c in amounts for v in mapping.columns.get(c, ()) if v in lookup}
    head = _polars_frame(con, table, f"where rowid < {decimals.EVIDENCE_ROWS}", q, only=used)
    return decide_decimals(head.lazy(), mapping, lookup, entity)


def _bad_rows(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    mapping: Mapping,
    lookup: dict[str, str],
    entity: Entity,
    tz: str,
    dec: decimals.Decimals,
    n_checks: int,
    q: str,
    flagged: int = 1,
) -> pl.DataFrame | None:
    """``_row_number``, ``_reason``, ``_record`` of the rows flagged bad (``flagged`` of them),
    by parse.py's plan; None when parse.py has other rules than these, or finds one of the
    rows good."""
    # The plan is made all the same (it says whether parse.py's rules are these), over no
    # rows when none is flagged: no scan of the read text for them.
    where = "where false" if not flagged else ""
    where = where or f"where rowid + 2 in (select {ROW} from {q}parsed where {BAD}) order by rowid"
    frame = _polars_frame(con, table, where, q)
    steps = plan(Table(table.header, frame.lazy(), table.layout), mapping, lookup, entity, tz, dec)
    if len(steps.checks) != n_checks:
        return None  # parse.py has a rule this module does not know: keep to polars
    parsed = steps.parsed.collect()
    if not parsed[BAD].fill_null(False).all():
        return None
    return steps.bad(parsed.lazy()).collect()
