"""Read a delivery as a lazy frame of text columns, whatever its file format.

Every reader returns the same shape: the vendor's columns as ``String`` (values exactly as
written, nothing inferred) plus ``_row_number``. For delimited files the row number is the
spreadsheet row (header = row 1), counted in records, so a quoted value spanning three lines
is still one row. For JSON and JSONL it is the object's position (first object = 1).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from itertools import islice
from pathlib import Path

import polars as pl

from pipeline.ingest.decimals import DOT_AMBIGUOUS, LEADING_WORDS
from pipeline.ingest.decode import Declared, decode_delivery
from pipeline.ingest.errors import FileRefused, Unreadable
from pipeline.ingest.lines import (
    CutShort,
    OpenQuote,
    count_outside_quotes,
    cut_short,
    normalise,
    open_quotes,
    quote_faults,
    sep_line,
    unended_line_quotes_odd,
    without_lines,
)
from pipeline.ingest.mappings import header_key
from pipeline.ingest.padded_numbers import (
    THREE_DECIMALS,
    currency_numbers,
    held_numbers,
    padded_numbers,
)

ROW = "_row_number"
# first line of a file -> its column names when the file has no header row, else None
HeaderlessColumns = Callable[[str], "list[str] | None"]
# a workbook row's cells -> whether they name the columns of one of the entity's mappings
HeaderTest = Callable[[tuple], bool]
# Spare columns that catch values beyond the header's width (an unquoted delimiter in text).
EXTRA_PREFIX = "_extra_"
# A row the reader could not read as a record (a JSON line that is no object): why, and its
# text as read (the first RAW_TEXT_CHARS characters); the row is quarantined with them.
UNREADABLE = "_unreadable"
RAW = "_raw_text"
RAW_TEXT_CHARS = 1000
SPARE_COLUMNS = 8
# A workbook's column of the error cells (#N/A, #DIV/0!) of the column of that index: calamine
# reads an error cell as an empty one, and a failed VLOOKUP landed as no discount.
CELL_ERROR = "_cell_error_"
# A whole number of more than 15 digits as calamine writes a number cell (Excel holds 15).
LONG_DIGITS = r"^-?\d{16,}$"
# The day calamine gives a cell holding only a time of day (Excel's serial 0).
TIME_ONLY_DAY = "1899-12-31 "
# calamine's names of Excel's errors -> what the cell shows.
EXCEL_ERRORS = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
    "GettingData": "#GETTING_DATA",
}
# A workbook's rows looked at for its header below a report's title (see _read_excel).
TITLE_ROWS = 10
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
DELIMITED_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz")
JSON_SUFFIXES = (".json", ".json.gz")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
EXCEL_SUFFIXES = (".xlsx",)
SUPPORTED_SUFFIXES = DELIMITED_SUFFIXES + JSON_SUFFIXES + JSONL_SUFFIXES + EXCEL_SUFFIXES


@dataclass
class Table:
    """A delivery opened for mapping: its header and a lazy frame of text columns."""

    header: list[str]
    frame: pl.LazyFrame  # header columns (String) + spare columns + ROW
    layout: str  # how it was read, for messages: "csv (semicolon, cp1252)", "xlsx", ...
    encoding: str | None = None  # the delivery's text encoding (None for .xlsx)
    decided: str | None = None  # how: bom | declared | utf8 | detected
    # A delimited file's UTF-8 text, for readers other than polars
    # (pipeline/ingest/duckdb_csv.py; None when it has rows flagged UNREADABLE), and its
    # delimiter; None for other formats.
    text: Path | None = None
    delimiter: str | None = None
    # What was looked for and not found, said before an unknown header's refusal (a workbook
    # with no row naming a mapping's columns among its first rows).
    note: str | None = None
    # A workbook's columns holding error cells -> the column saying which (:data:`CELL_ERROR`).
    cell_errors: dict[str, str] = field(default_factory=dict)

    @property
    def workbook(self) -> bool:
        """Whether the delivery is a workbook, whose date cells read as ISO text
        (``YYYY-MM-DD HH:MM:SS``) whatever the format a mapping states for typed text."""
        return self.layout.startswith("xlsx")


def supported(name: str) -> bool:
    """Whether a file name has one of the accepted suffixes."""
    return name.lower().endswith(SUPPORTED_SUFFIXES)


def clean_header(names: list[str]) -> list[str]:
    """Header names as written, without surrounding spaces or a stray BOM; refuses duplicates
    and a title line standing where the header should."""
    cleaned = [str(n).replace("\ufeff", "").strip() for n in names]
    if not any(cleaned):
        raise FileRefused("the header row is empty")
    named = [n for n in cleaned if n]
    if len(named) == 1 and len(cleaned) > 2:
        # "Contacts export,,,": a report's title above its header; read as the header, it
        # made "unknown header … Header: Contacts export, , _duplicated_0", no help.
        raise FileRefused(
            f"the first line holds one value, {named[0]!r}, and {len(cleaned) - 1} empty "
            "columns: a title above the header? delete the lines above the header and "
            "deliver the file again"
        )
    refuse_duplicates(cleaned)
    return cleaned


def refuse_duplicates(names: list[str]) -> None:
    """Refuse a header naming a column twice (as mappings match names: ``header_key``): which
    value would be the column's? Empty names (a trailing delimiter) are no columns anyone reads."""
    seen: set[str] = set()
    for name in names:
        key = header_key(name)
        if key in seen:
            raise FileRefused(f"the header names the column {name.strip()!r} twice")
        if key:
            seen.add(key)


def _header_as_written(path: Path, delimiter: str) -> list[str]:
    """The first record's values as written: polars renames a repeated name
    (``Email_duplicated_0``), which hid the repeat, and the second column's values with it."""
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh, delimiter=delimiter), [])


def _first_line(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as fh:
        head = fh.read(1 << 16)
    if not head.strip():
        raise FileRefused("the file is empty")
    return head.splitlines()[0] if head.splitlines() else head


def detect_delimiter(header_line: str, name: str) -> str | None:
    """Comma, semicolon or tab (the most frequent in the header), or None for columns aligned
    with spaces."""
    if name.lower().endswith((".tsv", ".tsv.gz")):
        return "\t"
    counts = {d: count_outside_quotes(header_line, d) for d in DELIMITERS}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    if counts[best]:
        return best
    # A .txt header without any delimiter is whitespace-aligned columns (CDNOW); in any other
    # file it is a single column (whose name may have spaces).
    aligned = name.lower().endswith((".txt", ".txt.gz")) and len(header_line.split()) > 1
    return None if aligned else ","


def _read_delimited(
    path: Path,
    name: str,
    encoding: str,
    headerless: HeaderlessColumns | None = None,
    delimiter: str | None = None,
    workdir: Path | None = None,
    odd_quotes: bool = False,
    faults: Unreadable | None = None,
) -> Table:
    line = _first_line(path)
    names = headerless(line) if headerless else None
    delimiter = delimiter or detect_delimiter(line, name)
    if delimiter is None:
        return _read_whitespace(path, line, encoding, names)
    if names:
        raise FileRefused("a file without a header row is read only as whitespace-separated text")
    header_frame = pl.read_csv(
        path, separator=delimiter, n_rows=0, infer_schema=False, truncate_ragged_lines=True
    )
    clean_header(_header_as_written(path, delimiter))  # refuses a repeated name, a title
    header = clean_header(header_frame.columns)
    kind = "tsv" if delimiter == "\t" else "csv"
    layout = f"{kind} ({DELIMITERS[delimiter]}, {encoding})"
    # A quote that never closes makes a reader take the rest of the file for one value and
    # refuse it whole. Only a file whose quotes do not pair up before a last line cut short
    # (which cut_short judges) is searched for it, line by line (slower). Quotes that pair up
    # yet not as quoted values do (1,"x"y,3) are looked for only once the reader has refused
    # the file (``faults``): a good file never pays for that search.
    search = workdir is not None and odd_quotes != unended_line_quotes_odd(path)
    if faults is not None and workdir is not None:
        stray = quote_faults(path, delimiter, len(header))
        if not stray:
            raise faults
    else:
        stray = open_quotes(path, delimiter, len(header)) if search else []
    if stray and workdir is not None:
        path = without_lines(path, workdir / "readable.txt", stray)
    cut = cut_short(path, delimiter, len(header)) if workdir else None
    if cut is None and not stray:
        return Table(header, _scan(path, delimiter, header), layout, text=path, delimiter=delimiter)
    frame = _with_unreadable(path, delimiter, header, cut, stray, workdir)
    return Table(header, frame, layout, delimiter=delimiter)


def _with_unreadable(
    path: Path,
    delimiter: str,
    header: list[str],
    cut: CutShort | None,
    stray: list[OpenQuote],
    workdir: Path | None,
) -> pl.LazyFrame:
    """The rows of a file with rows that cannot be read, those flagged :data:`UNREADABLE`
    with their text: the rows opening a quote that never closes (:func:`lines.open_quotes`,
    empty lines in ``path`` by now, so every row keeps its number) and a last row the file
    ends inside (:func:`lines.cut_short`). The file is left to polars (``text`` unset): only
    these rows carry the flag."""
    if cut is not None and cut.keep is not None and workdir is not None:
        kept = workdir / "kept.txt"
        with path.open("rb") as src, kept.open("wb") as out:
            left = cut.keep  # the file before its last line, copied chunk by chunk
            while left and (chunk := src.read(min(left, 1 << 20))):
                out.write(chunk)
                left -= len(chunk)
        path = kept
    frame = _scan(path, delimiter, header)
    flagged = {s.row: (s.reason, s.text[:RAW_TEXT_CHARS]) for s in stray}
    last = frame.select(pl.len()).collect().item() + 1  # the rows are numbered from 2
    if cut is not None and cut.keep is None:  # the last row read is the short one
        flagged[last] = (cut.reason, cut.text)

    def flag(i: int) -> pl.Expr:
        return pl.col(ROW).replace_strict(
            list(flagged), [f[i] for f in flagged.values()], default=None, return_dtype=pl.String
        )

    frame = frame.with_columns(flag(0).alias(UNREADABLE), flag(1).alias(RAW))
    if cut is None or cut.keep is None:
        return frame
    names = frame.collect_schema()
    row = pl.LazyFrame(
        {ROW: [last + 1], UNREADABLE: [cut.reason], RAW: [cut.text]},
        schema={ROW: pl.Int64, UNREADABLE: pl.String, RAW: pl.String},
    )
    return pl.concat([frame, row], how="diagonal_relaxed").select(*names)


def _scan(path: Path, delimiter: str, header: list[str]) -> pl.LazyFrame:
    """A delimited file's records as text columns: the header's, spare ones, and ROW."""
    spare = [f"{EXTRA_PREFIX}{i}" for i in range(SPARE_COLUMNS)]
    frame = pl.scan_csv(
        path,
        separator=delimiter,
        has_header=False,
        skip_rows=1,
        schema={f"_c{i}": pl.String for i in range(len(header) + SPARE_COLUMNS)},
        truncate_ragged_lines=True,
        missing_columns="insert",
        empty_string_is_null=False,
        row_index_name=ROW,
        row_index_offset=2,
    )
    frame = frame.rename(dict(zip([f"_c{i}" for i in range(len(header))], header, strict=True)))
    return frame.rename({f"_c{len(header) + i}": s for i, s in enumerate(spare)})


def _read_whitespace(
    path: Path, header_line: str, encoding: str, names: list[str] | None = None
) -> Table:
    """Columns separated by runs of spaces (fixed-width-ish logs such as CDNOW).

    With ``names`` the file has no header row: every line is a record and row = line number.
    """
    header = clean_header(names or header_line.split())
    tokens = pl.col("line").str.extract_all(r"\S+")
    first_record = 1 if names else 2
    frame = (
        pl.scan_lines(path, row_index_name=ROW, row_index_offset=1)
        .filter(pl.col(ROW) >= first_record)
        .select(
            *[tokens.list.get(i, null_on_oob=True).alias(c) for i, c in enumerate(header)],
            *[
                tokens.list.get(len(header) + i, null_on_oob=True).alias(f"{EXTRA_PREFIX}{i}")
                for i in range(SPARE_COLUMNS)
            ],
            pl.col(ROW),
        )
    )
    layout = "whitespace-separated text" + (", no header row" if names else "")
    return Table(header, frame, f"{layout} ({encoding})")


def _read_jsonl(
    path: Path, encoding: str, workdir: Path | None = None, repeats: bool = True
) -> Table:
    """JSON Lines (``.jsonl``, ``.ndjson``), one object a line, read by polars; a line naming a
    key twice is flagged :data:`UNREADABLE` (:func:`_lines_naming_a_key_twice`) unless
    ``repeats`` is False (lines this module wrote itself)."""
    try:
        schema = pl.scan_ndjson(path, infer_schema_length=None).collect_schema()
        keys = schema.names()
    except pl.exceptions.PolarsError as exc:
        if workdir is None:
            raise FileRefused(f"not valid JSON Lines: {exc}") from None
        return _read_jsonl_lines(path, encoding, workdir)
    if not keys:
        raise FileRefused("the file holds no JSON objects")
    header = clean_header(keys)
    floats = [k for k, t in schema.items() if t.is_float()]
    frame = (
        pl.scan_ndjson(path, schema={k: pl.String for k in keys})
        .with_columns(pl.col(floats).str.replace(DOT_AMBIGUOUS, "${1}0"))
        .rename(dict(zip(keys, header, strict=True)))
    )
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    bad = _lines_naming_a_key_twice(path) if repeats else []
    if bad:
        frame = frame.with_columns(_flag(bad, 1).alias(UNREADABLE), _flag(bad, 2).alias(RAW))
    return Table(header, frame, f"jsonl ({encoding})")


# Lines parsed at once by :func:`_lines_naming_a_key_twice`, as one JSON array.
JSONL_BLOCK = 10_000


def _lines_naming_a_key_twice(path: Path) -> list[tuple[int, str, str]]:
    """The lines of a JSON Lines file whose object names a key twice, ``(row, why, the line
    as written)``: polars' reader keeps the first value, json the last, and neither can tell
    which the tool meant, so the row is quarantined, as a JSON array's is.

    Lines are parsed in blocks of :data:`JSONL_BLOCK`, each as one array: 0.4 s of CPU for
    300,000 lines (53 MB) against 1.4 s a call per line, and polars' own read of the file
    0.5 s. Keys repeated inside a nested object are left: polars lands that object's text as
    written."""
    bad: list[tuple[int, str, str]] = []
    row = 0
    hook, _ = _JsonObject.hook()
    with path.open(encoding="utf-8", newline="") as fh:
        while block := list(islice(fh, JSONL_BLOCK)):
            # polars skips blank lines: rows count objects
            lines = [t for line in block if (t := line.rstrip("\r\n")).strip()]
            try:
                objects = json.loads("[" + ",".join(lines) + "]", object_pairs_hook=hook)
            except (json.JSONDecodeError, RecursionError):
                objects = [_loads_or_none(t, hook) for t in lines]  # polars took, json not
            for i, obj in enumerate(objects, start=row + 1):
                if isinstance(obj, _JsonObject) and obj.twice:
                    bad.append((i, _named_twice(obj), lines[i - row - 1][:RAW_TEXT_CHARS]))
            row += len(lines)
    return bad


def _loads_or_none(text: str, hook: Callable[[list], dict]) -> object:
    try:
        return json.loads(text, object_pairs_hook=hook)
    except (json.JSONDecodeError, RecursionError):
        return None


def _read_jsonl_lines(path: Path, encoding: str, workdir: Path) -> Table:
    """JSON Lines with lines that are no JSON object (a download cut short mid-line, a line
    broken by hand): each such line is a row of its own whose :data:`UNREADABLE` column says
    why (it is quarantined with its text), and the other lines are read as usual.

    polars reads a file of JSON lines only whole; this pass parses each line in Python, so it
    runs only for a file polars refused."""
    good, rows, bad = workdir / "good.jsonl", [], []
    keys: dict[str, None] = {}
    hook, _ = _JsonObject.hook()
    with path.open(encoding="utf-8", newline="") as fh, good.open("w", encoding="utf-8") as out:
        row = 0
        for line in fh:
            if not line.strip():
                continue  # polars skips blank lines too: rows count objects
            row += 1
            text = line.rstrip("\r\n")
            try:
                record = json.loads(text, object_pairs_hook=hook)
            except json.JSONDecodeError as exc:
                at = " " if exc.msg.endswith(" at") else " at "
                reason = f"not a JSON object ({exc.msg}{at}column {exc.colno})"
            else:
                if isinstance(record, _JsonObject) and record.twice:
                    bad.append((row, _named_twice(record), text[:RAW_TEXT_CHARS]))
                    continue
                if isinstance(record, dict):
                    keys.update(dict.fromkeys(record))
                    out.write(text + "\n")
                    rows.append(row)
                    continue
                reason = f"not a JSON object (a JSON {type(record).__name__})"
            if not line.endswith("\n"):
                reason += ": the file ends in this line without a line break (cut short?)"
            bad.append((row, reason, text[:RAW_TEXT_CHARS]))
    if not keys:
        raise FileRefused("the file holds no JSON objects")
    header = clean_header(list(keys))
    names = dict(zip(keys, header, strict=True))
    frame = pl.concat(
        [
            pl.scan_ndjson(good, schema={k: pl.String for k in keys}).rename(names),
            pl.LazyFrame({ROW: rows}, schema={ROW: pl.Int64}),
        ],
        how="horizontal",
    ).with_columns(pl.lit(None, pl.String).alias(UNREADABLE), pl.lit(None, pl.String).alias(RAW))
    frame = pl.concat([frame, _unreadable_rows(header, bad)]).sort(ROW)
    return Table(header, frame, f"jsonl ({encoding})")


def _unreadable_rows(header: list[str], bad: list[tuple[int, str, str]]) -> pl.LazyFrame:
    """Rows that could not be read as records, ``(row, why, text as read)``: no values, and
    :data:`UNREADABLE` and :data:`RAW` set, to be quarantined with their text."""
    return pl.LazyFrame(
        {
            **{h: [None] * len(bad) for h in header},
            ROW: [b[0] for b in bad],
            UNREADABLE: [b[1] for b in bad],
            RAW: [b[2] for b in bad],
        },
        schema={
            **{h: pl.String for h in header},
            ROW: pl.Int64,
            UNREADABLE: pl.String,
            RAW: pl.String,
        },
    )


def _json_advice(doc: str, ends_open: bool) -> str:
    """What to do with a ``.json`` file json could not read: said from how it begins and ends,
    since the parser's own words ("Expecting value") do not tell a user what went wrong."""
    if ends_open:
        return "the file ends before the array closes (cut short? deliver the whole file again)"
    begins = doc.lstrip()
    if not begins.startswith(("[", "{")):
        # Text that is no JSON at all: most often another format saved under .json. Its first
        # line (cut at 40 characters) is what the user recognises: a CSV header, an HTML page.
        first = begins.splitlines()[0] if begins else ""
        shown = first[:40] + ("…" if len(first) > 40 else "")
        return (
            f"it begins {shown!r}, not '[' or '{{' as JSON does: is it another format named "
            ".json? deliver it with its own extension (.csv, .tsv, .xlsx), or export it "
            "again as JSON"
        )
    return "fix the file at that place, or export it again, and deliver it again"


def _read_json_array(path: Path, workdir: Path, encoding: str) -> Table:
    """A JSON array is read whole (it cannot be streamed) and rewritten as JSON Lines.

    An array cut short (no closing bracket, its last object cut: a download stopped) keeps
    its whole objects; the cut one is a row flagged :data:`UNREADABLE` (:func:`_cut_array`).
    One broken anywhere else is refused whole: what follows the break cannot be trusted."""
    cut: _CutTail | None = None
    hook, repeats = _JsonObject.hook()
    try:
        with path.open(encoding="utf-8") as fh:
            # Numbers stay as written ("2.50", ids longer than a double holds).
            records = json.load(fh, parse_float=_json_number, parse_int=str, object_pairs_hook=hook)
    except json.JSONDecodeError as exc:
        is_array = exc.doc.lstrip().startswith("[")
        ends_open = is_array and not exc.doc.rstrip().endswith("]")
        salvaged = _cut_array(exc.doc, hook) if is_array else None
        if salvaged is None or not salvaged[0]:
            at = " " if exc.msg.endswith(" at") else " at "
            where = f"{exc.msg}{at}line {exc.lineno}, column {exc.colno}"
            raise FileRefused(
                f"not valid JSON ({where}): {_json_advice(exc.doc, ends_open)}"
            ) from None
        records, cut = salvaged
    under = None
    if isinstance(records, _JsonObject) and records.twice:
        # {"data": [...], "data": [...]}: json kept the last array and lost the first whole.
        raise FileRefused(
            f"the JSON file is an object naming the key {records.twice[0]!r} twice: which "
            "holds the export? deliver the array of records alone"
        )
    if isinstance(records, dict):
        records, under = _wrapped_array(records)
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise FileRefused("the JSON file is not an array of objects")
    if not records:
        raise FileRefused("the JSON array is empty")
    # An object naming a key twice: json keeps the last value, polars' JSON Lines reader the
    # first; neither can tell which the tool meant. The row is quarantined with its text.
    bad = [
        (i, _named_twice(r), _text(r))
        for i, r in enumerate(records, start=1)
        if isinstance(r, _JsonObject) and r.twice
    ]
    # A key repeated inside a nested object (`"text": {"en": "…", "en": "…"}`) is written as
    # the file has it, so that polars lands that object's text whole, as it does a JSON Lines
    # file's: written through a dict, the first value would be lost without a word.
    dumps = _as_written if repeats else partial(json.dumps, ensure_ascii=False)
    lines = workdir / "records.jsonl"
    with lines.open("w", encoding="utf-8") as out:
        out.writelines(dumps(r) + "\n" for r in records)
    table = _read_jsonl(lines, encoding, repeats=False)  # its repeats are flagged above
    table.layout = f"json array ({encoding})"
    if under is not None:
        table.layout = f"json array under {under!r} ({encoding})"
    if cut is not None or bad:
        flagged = table.frame.with_columns(
            *(_flag(bad, i).alias(c) for i, c in ((1, UNREADABLE), (2, RAW)))
        )
        if cut is not None:
            row = [(len(records) + 1, cut.reason, cut.text[:RAW_TEXT_CHARS])]
            unreadable = _unreadable_rows(table.header, row)
            flagged = pl.concat([flagged, unreadable], how="diagonal_relaxed")
        table.frame = flagged
    return table


def _json_number(text: str) -> str:
    """A JSON number's text in a form only '.' reads as a decimal mark: a JSON number has no
    other, and no thousands separator, but as text ``12.345`` was "ambiguous" (12345 with a
    thousands dot?) and its row quarantined, and ``1.5e3`` unreadable. So ``12.3450`` and
    ``1500``; a JSON string ``"1.250"`` stays as the tool wrote it."""
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    if len(text) <= 8 and text[-4:-3] == "." and THREE_DECIMALS.fullmatch(text):
        return text + "0"
    return text


class _JsonObject(dict):
    """A JSON object as :func:`json.load` reads it, with the keys it names more than once and
    its ``pairs`` as written (json keeps a repeated key's last value)."""

    twice: list[str] = []
    pairs: list[tuple[str, object]] = []

    @classmethod
    def _noting(cls, pairs: list[tuple[str, object]]) -> _JsonObject:
        keys = [k for k, _ in pairs]
        found = cls(pairs)
        found.pairs = pairs
        found.twice = sorted({k for k in keys if keys.count(k) > 1}, key=keys.index)
        return found

    @classmethod
    def hook(cls) -> tuple[Callable[[list], dict], list[_JsonObject]]:
        """An ``object_pairs_hook`` making each object a plain dict, or one of this class noting
        its repeated keys, and the list it adds each of those to, at any depth: one parse's own
        (files are read on two threads). The hook made json.load 1.5 times as slow (0.34 → 0.51
        s of CPU for 300,000 objects, 41 MB, on the 2-core machine); a subclass made for every
        object, over twice as slow."""
        made: list[_JsonObject] = []

        def of(pairs: list[tuple[str, object]]) -> dict:
            obj = dict(pairs)
            if len(obj) == len(pairs):
                return obj
            made.append(found := cls._noting(pairs))
            return found

        return of, made


def _as_written(value: object) -> str:
    """``value`` as JSON, an object naming a key twice with both of its values, as the file
    has them (numbers were read as text, so they are written quoted, as json.dumps does)."""
    if isinstance(value, list):
        return "[" + ", ".join(_as_written(v) for v in value) + "]"
    if not isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    items = value.pairs if isinstance(value, _JsonObject) else value.items()
    return "{" + ", ".join(f"{_as_written(k)}: {_as_written(v)}" for k, v in items) + "}"


def _named_twice(obj: _JsonObject) -> str:
    """Why an object naming a key twice is quarantined (json keeps the last value, polars the
    first: which did the tool mean?)."""
    return f"the object names the key {obj.twice[0]!r} twice: which value is right?"


def _text(record: dict) -> str:
    return _as_written(record)[:RAW_TEXT_CHARS]


def _flag(bad: list[tuple[int, str, str]], i: int) -> pl.Expr:
    """The ``i``-th item of ``bad``'s entry for each row (None for rows not in it)."""
    return pl.col(ROW).replace_strict(
        [b[0] for b in bad], [b[i] for b in bad], default=None, return_dtype=pl.String
    )


def _wrapped_array(doc: dict) -> tuple[list, str]:
    """The array of objects an API-style export wraps in an object (``{"data": […],
    "paging": {…}}``, ``{"results": […]}``) and its key; refused unless exactly one key
    holds an array of objects (two would be two tables: which is the export?)."""
    arrays = [
        k
        for k, v in doc.items()
        if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)
    ]
    if len(arrays) == 1:
        return doc[arrays[0]], arrays[0]
    keys = ", ".join(repr(k) for k in doc) or "none"
    if not arrays:
        why = "none of its keys holds an array of objects"
    else:
        why = f"{len(arrays)} of its keys hold arrays of objects ({', '.join(map(repr, arrays))})"
    raise FileRefused(
        f"the JSON file is an object, not an array of objects, and {why} (keys: {keys}): "
        "deliver the array of records alone"
    )


@dataclass(frozen=True)
class _CutTail:
    """What follows a cut JSON array's last whole object: its text and why it is no row."""

    text: str
    reason: str


def _cut_array(doc: str, hook: Callable[[list], dict]) -> tuple[list[dict], _CutTail] | None:
    """The whole objects of a JSON array that ends inside its last element, and that element's
    text; None when the array breaks before it (an element that closes yet does not parse,
    a missing comma): only a break at the very end is a file cut short. Read as the whole
    file's parse reads it: ``hook`` notes an object naming a key twice, numbers are
    :func:`_json_number`'s."""
    decoder = json.JSONDecoder(parse_float=_json_number, parse_int=str, object_pairs_hook=hook)
    i = _skip_space(doc, 0) + 1  # past the "["
    records: list[dict] = []
    while True:
        i = _skip_space(doc, i)
        try:
            record, end = decoder.raw_decode(doc, i)
        except json.JSONDecodeError:
            break
        if not isinstance(record, dict):
            return None
        records.append(record)
        i = _skip_space(doc, end)
        if i < len(doc) and doc[i] == ",":
            i += 1
        elif i < len(doc):
            return None  # something other than a comma after an object: broken, not cut
    tail = doc[i:]
    again = "(cut short? deliver the whole file again)"
    if not tail:
        n = len(records)
        reason = f"the file ends after object {n}, before the array closes {again}"
        return records, _CutTail("", reason)
    if not _never_closes(tail):
        return None
    line = doc.count("\n", 0, i) + 1
    reason = f"the file ends inside this object, which starts on line {line} {again}"
    return records, _CutTail(tail, reason)


def _skip_space(doc: str, i: int) -> int:
    while i < len(doc) and doc[i] in " \t\r\n":
        i += 1
    return i


def _never_closes(tail: str) -> bool:
    """Whether ``tail`` opens an object that the text ends inside: its brackets and braces
    nest rightly and never close the object (a string may be cut too)."""
    if not tail.startswith("{"):
        return False
    stack: list[str] = []
    in_string = escaped = False
    for ch in tail:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if not stack or stack.pop() != ch or not stack:
                return False  # a bracket that does not fit, or the object closes
    return True


def _read_excel(path: Path, names_header: HeaderTest | None = None) -> Table:
    """First sheet of a workbook, as Excel shows it (hidden sheets passed over); every cell
    as text (dates as ISO text), and each error cell (``#N/A``, ``#DIV/0!``) said in a column
    of its own (:data:`CELL_ERROR`) for the rows that read its column to be quarantined.

    The header is the first of the sheet's first :data:`TITLE_ROWS` rows that ``names_header``
    takes (it names the columns of one of the entity's mappings: the contract's required
    columns, or a vendor's signature): a report's title and date above its header were read
    as the header and refused as unknown, or, as a title row of two values
    (``Contacts export | 2026-11-01``), mis-read whenever a count of values decided. When no
    row names them (or without ``names_header``), the header is the first row holding two
    values or more below rows of one at most, as before, and :attr:`Table.note` says what was
    looked for and where, for the refusal of the unknown header. Rows keep their numbers in
    the sheet, as Excel shows them, blank rows above the table counted."""
    try:
        df, errors, sheet = _first_sheet(path)
    except Exception as exc:  # calamine raises its own types for every kind of damage
        raise FileRefused(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    if df.width == 0:  # no cell at all: counting the values of its rows raised polars' error
        raise FileRefused(_empty_sheet(path, "is empty"))
    # The rows looked at start at the first used one: blank rows above the table are rows
    # Excel shows (and numbers), not a report's title.
    used = df.select(pl.any_horizontal(pl.all().is_not_null()).arg_true().first()).item()
    start = used or 0
    top = df.slice(start, TITLE_ROWS)
    rows = enumerate(top.iter_rows(), start)
    named = next((i for i, row in rows if names_header(row)), None) if names_header else None
    note = None
    if named is not None:
        first = named
    else:
        filled = top.select(pl.sum_horizontal(pl.all().is_not_null())).to_series().to_list()
        # Every row above the first with two values holds one at most: a title, a date, blank.
        first = next((i for i, n in enumerate(filled, start) if n >= 2), start)
        if names_header is not None and not df.is_empty():
            below = f" (from row {start + 1}, the first used)" if start else ""
            note = (
                f"none of the first {top.height} rows{below} of the first sheet, {sheet!r}, "
                "names the columns a mapping of this folder looks for (row "
                f"{first + 1} read as the header)"
            )
    if df.height <= first + 1:
        raise FileRefused(_empty_sheet(path, "is empty" if df.is_empty() else "has no rows"))
    names = df.row(first)
    refuse_duplicates([n for n in names if n is not None])
    header = clean_header([n if n is not None else f"__UNNAMED__{i}" for i, n in enumerate(names)])
    df = df.rename(dict(zip(df.columns, header, strict=True)))
    df, cell_errors = _with_cell_errors(df, header, errors, first)
    frame = df.slice(first + 1).lazy().with_row_index(ROW, offset=first + 2)
    layout = (
        "xlsx (first sheet)" if first == 0 else f"xlsx (first sheet, header in row {first + 1})"
    )
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    return Table(header, frame, layout, note=note, cell_errors=cell_errors)


def _first_sheet(path: Path) -> tuple[pl.DataFrame, list[tuple[int, int, str]], str]:
    """The first visible sheet's cells as text, one row per sheet row from row 1 (blank rows
    above the table kept, so rows keep Excel's numbers), its error cells as (row, column,
    calamine's name of the error), and the sheet's name.

    A hidden sheet is no tab in Excel: a template's hidden lookup sheet in front of the
    export is not what its user calls the first sheet. ``skip_rows=0``: without it the sheet
    starts at its first used row (calamine's range), and rows were numbered from there."""
    import fastexcel

    book = fastexcel.read_excel(path)
    if not book.sheet_names:
        return pl.DataFrame(), [], ""
    sheets = (
        book.load_sheet(index, header_row=None, dtypes="string", skip_rows=0)
        for index in range(len(book.sheet_names))
    )
    # Excel keeps one sheet visible at least; a workbook another tool wrote may not.
    loaded = next((sheet for sheet in sheets if sheet.visible == "visible"), None)
    if loaded is None:
        loaded = book.load_sheet(0, header_row=None, dtypes="string", skip_rows=0)
    batch, found = loaded.to_arrow_with_errors()
    errors = []
    for cell in found.errors if found else []:
        # "Expected string but got 'Error(Div0)'": the only cells text cannot hold.
        kind = cell.detail.rsplit("Error(", 1)[-1].rstrip(")'")
        errors.append((cell.position[0], cell.position[1], kind))
    df = _times_of_day(pl.DataFrame(pl.from_arrow(batch)))
    columns = loaded.available_columns()
    first_column = columns[0].absolute_index if columns else 0
    df = _as_held(df, padded_numbers(path, loaded.name, first_column))
    if _has_held_candidates(df):
        df = _as_held(df, held_numbers(path, loaded.name, first_column))
    df = _with_currency(df, currency_numbers(path, loaded.name, first_column))
    return df, errors, loaded.name


def _has_held_candidates(df: pl.DataFrame) -> bool:
    """Whether a cell reads as a whole number of more than 15 digits, or as a number with three
    decimals, which a number cell may hold otherwise (:func:`_as_held`)."""
    if df.is_empty():
        return False
    found = df.select(
        pl.any_horizontal(pl.all().str.contains(f"{LONG_DIGITS}|{DOT_AMBIGUOUS}").any())
    )
    return bool(found.item())


def _as_held(df: pl.DataFrame, held: dict[tuple[int, int], tuple[str, str]]) -> pl.DataFrame:
    """``df`` with number cells written as Excel shows or holds them, ``(row, column) ->
    (calamine's text, the text to land)`` (:mod:`pipeline.ingest.padded_numbers`): ``00123``,
    not ``123``; ``5.70306133677761E+17``, not ``570306133677761024``; ``12.3450``, not the
    ambiguous ``12.345``. A cell is rewritten only where calamine wrote that text, so a
    misplaced cell changes nothing."""
    by_column: dict[int, dict[int, tuple[str, str]]] = {}
    for (row, col), found in held.items():
        if col < df.width and row < df.height:
            by_column.setdefault(col, {})[row] = found
    replaced = []
    for col, cells in by_column.items():
        values = df.to_series(col).to_list()
        for row, (read, text) in cells.items():
            if values[row] == read:
                values[row] = text
        replaced.append(pl.Series(df.columns[col], values, pl.String))
    return df.with_columns(replaced)


def _with_currency(df: pl.DataFrame, shown: dict[tuple[int, int], str]) -> pl.DataFrame:
    """``df`` with each number cell whose format shows a currency followed by it, as Excel
    shows the amount (``12.5 €``): the currency is then the amount's, as in a CSV Excel saved
    (pipeline/ingest/currency.py). ``shown``: ``(row, column) -> currency``
    (:func:`padded_numbers.currency_numbers`)."""
    by_column: dict[int, dict[int, str]] = {}
    for (row, col), currency in shown.items():
        if col < df.width and row < df.height:
            by_column.setdefault(col, {})[row] = currency
    replaced = []
    for col, cells in by_column.items():
        values = df.to_series(col).to_list()
        for row, currency in cells.items():
            if values[row] is None:
                continue
            # R$ is read before the amount only (decimals.LEADING_WORDS), a word after it.
            leading = currency.lower() in LEADING_WORDS
            values[row] = f"{currency} {values[row]}" if leading else f"{values[row]} {currency}"
        replaced.append(pl.Series(df.columns[col], values, pl.String))
    return df.with_columns(replaced)


def _times_of_day(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with a time-of-day cell (``09:45`` formatted ``hh:mm``) read as Excel shows it,
    ``09:45:00``: calamine dates it on the day before Excel's first (1899-12-31, serial 0),
    and a contact's ``created_at`` typed as a time landed as created in 1899 (a first
    response so typed was said to be "'1899-12-31 09:45:00' … before created_at"). No real
    date of a 1900-based workbook falls on that day. As the time alone it is no timestamp,
    and its row is quarantined saying what it holds."""
    if df.is_empty():
        return df
    found = df.select(pl.all().str.starts_with(TIME_ONLY_DAY).any()).row(0, named=True)
    pattern = rf"^{TIME_ONLY_DAY}(\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)?)$"
    return df.with_columns(pl.col(n).str.replace(pattern, "$1") for n, hit in found.items() if hit)


def _with_cell_errors(
    df: pl.DataFrame, header: list[str], errors: list[tuple[int, int, str]], first: int
) -> tuple[pl.DataFrame, dict[str, str]]:
    """``df`` with a :data:`CELL_ERROR` column for each column holding error cells below the
    header (``#N/A`` where the cell shows it, else null), and which column says each one's."""
    shown: dict[int, dict[int, str]] = {}
    for row, col, kind in errors:
        if row > first:
            shown.setdefault(col, {})[row] = EXCEL_ERRORS.get(kind, kind)
    named = {header[col]: f"{CELL_ERROR}{col}" for col in shown}
    return df.with_columns(
        pl.Series(f"{CELL_ERROR}{col}", [cells.get(i) for i in range(df.height)], pl.String)
        for col, cells in shown.items()
    ), named


def _sheet_names(path: Path) -> list[str]:
    """A workbook's visible sheet names, in order (none when they cannot be read: they only
    help a message)."""
    try:
        import fastexcel

        book = fastexcel.read_excel(path)
        return [
            name
            for i, name in enumerate(book.sheet_names)
            if book.load_sheet(i, header_row=None, n_rows=0).visible == "visible"
        ]
    except Exception:  # the sheet was read; its names only help the message
        return []


def _empty_sheet(path: Path, what: str) -> str:
    """Why a workbook whose first sheet holds no rows is refused, naming its other sheets:
    only the first is read, and an export saved behind a cover sheet looked empty."""
    sheets = _sheet_names(path)
    if len(sheets) < 2:
        return (
            f"the first sheet {what}" if what == "is empty" else "the file has a header but no rows"
        )
    others = ", ".join(repr(n) for n in sheets[1:])
    return (
        f"the first sheet, {sheets[0]!r}, {what}; only the first sheet is read, and the "
        f"workbook's others ({others}) are not: move the export's sheet first, or save it alone"
    )


def open_table(
    path: Path,
    workdir: Path,
    declared: Declared | None = None,
    headerless: HeaderlessColumns | None = None,
    faults: Unreadable | None = None,
    names_header: HeaderTest | None = None,
) -> Table:
    """Open a delivery of any accepted format; refuses what cannot be read at all.

    ``declared`` is the encoding the landing folder or vendor mapping states, if any;
    ``headerless`` names the columns of a text file whose first line is data, not a header
    (``pipeline.ingest.mappings.headerless_columns``); ``faults``: the reader's refusal of
    the delimited file at a first reading, so the rows whose quotes it could not read are
    looked for (:func:`lines.quote_faults`) and flagged :data:`UNREADABLE`, or the refusal
    raised again when there is none; ``names_header``: whether a workbook's row names the
    columns of one of the entity's mappings, to find its header below a report's title
    (:func:`_read_excel`; ``pipeline.ingest.mappings.names_columns_of``).
    """
    name = path.name.lower()
    if path.stat().st_size == 0:
        # Said alike for every format: a JSON file of 0 bytes read "not valid JSON (Expecting
        # value at line 1, column 1)", a workbook a calamine zip error naming temporary paths.
        raise FileRefused("the file is empty (0 bytes: a download or an export that failed?)")
    if name.endswith(EXCEL_SUFFIXES):
        table = _read_excel(path, names_header)
    else:
        decoded = decode_delivery(path, workdir, declared)
        text, encoding = decoded.path, decoded.encoding
        if name.endswith(JSONL_SUFFIXES):
            if decoded.lone_cr:
                text = normalise(text, workdir / "lines.jsonl", quoted=False, drop_first_line=False)
            table = _read_jsonl(text, encoding, workdir)
        elif name.endswith(JSON_SUFFIXES):
            table = _read_json_array(text, workdir, encoding)
        else:
            # Excel's "sep=;" line names the delimiter and is no row; it goes, as lone CRs do.
            sep = sep_line(_first_line(text)) if text.stat().st_size else None
            if decoded.lone_cr or sep:
                target = workdir / "lines.txt"
                text = normalise(text, target, quoted=True, drop_first_line=sep is not None)
            table = _read_delimited(
                text, name, encoding, headerless, sep, workdir, decoded.odd_quotes, faults
            )
        table.encoding, table.decided = encoding, decoded.decided
    table.frame = table.frame.with_columns(pl.col(ROW).cast(pl.Int64))
    try:
        empty = table.frame.head(1).collect().is_empty()
    except pl.exceptions.PolarsError as exc:  # the first rows already break the reader
        raise unreadable(table, exc) from None
    if empty:
        raise FileRefused("the file has a header but no rows")
    return table


def unreadable(table: Table, exc: Exception) -> Unreadable:
    """The refusal of a file polars' reader fails on, with the first line of its reason."""
    detail = str(exc).strip().splitlines()[0]
    return Unreadable(f"cannot be read as {table.layout}: {detail}", table.delimiter is not None)
