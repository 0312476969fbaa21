"""Line breaks as spreadsheet programs write them, and Excel's ``sep=`` line.

polars and DuckDB end a record at LF (or CR LF) only. Excel for Mac's "CSV (Macintosh)" ends
every line with a lone CR, and a file pieced together from two programs may mix CR, LF and CR LF;
Excel reads all three as a row's end. Read as polars would, a CR-only file was one header line
with no rows, and in a mixed file a CR-ended line ran into the next record. A lone CR outside a
quoted value is therefore made an LF before a delivery is read (inside quotes it is the value's
text and stays). Only a file that has one is rewritten, so the usual file costs a count of its
CRs in the pass that checks or transcodes it.

Excel also writes and reads a first line ``sep=;`` naming the delimiter; the line is no row
(Excel does not show it) and no header: it is dropped and its delimiter used.

A quote that never closes (``502,"Ștefan,…`` typed by hand) makes polars and DuckDB take the
rest of the file for one value and refuse it whole. In a file whose quotes do not pair up
(counted in the pass that checks or transcodes it), :func:`open_quotes` finds the rows that
open one, so that only those are quarantined and the rows around them are read. Quotes that
pair up yet not as quoted values do (``1,"x"y,3``; ``ab"c`` on one line and ``de"f`` on a
later one) are not counted for: they cost no pass over a good file. A reader refuses such a
file, and only then :func:`quote_faults` looks for them, line by line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import AnyStr, BinaryIO, Generic

_LONE_CR = re.compile(r"\r(?!\n)")
_SEP_LINE = re.compile(r"^\ufeff?sep=(.)[\r\n]*$", re.IGNORECASE)
CHUNK = 1 << 20


class LoneCR(Generic[AnyStr]):
    """Whether a stream, fed chunk by chunk (bytes or text), holds a CR not followed by LF."""

    def __init__(self, pattern: re.Pattern[AnyStr], cr: AnyStr, lf: AnyStr) -> None:
        self._pattern, self._cr, self._lf = pattern, cr, lf
        self._pending = False  # the previous chunk ended with a CR
        self.found = False

    def feed(self, chunk: AnyStr) -> None:
        """Look at the next chunk (a CR LF may straddle two chunks). One regex search, and
        none in a chunk without a CR: 0.07 s of CPU per 160 MiB of CR LF text."""
        if self.found or not chunk:
            return
        if self._pending and not chunk.startswith(self._lf):
            self.found = True
            return
        self._pending = False
        if self._cr not in chunk:
            return
        match = self._pattern.search(chunk)
        if match and match.start() < len(chunk) - 1:
            self.found = True
        self._pending = chunk.endswith(self._cr)

    def end(self) -> bool:
        """Whether a lone CR was found (a CR ending the stream is one)."""
        self.found = self.found or self._pending
        return self.found


def bytes_lone_cr() -> LoneCR[bytes]:
    """A :class:`LoneCR` for byte chunks (UTF-8 and single-byte code pages: CR is 0x0D)."""
    return LoneCR(re.compile(rb"\r(?!\n)"), b"\r", b"\n")


def text_lone_cr() -> LoneCR[str]:
    """A :class:`LoneCR` for decoded text."""
    return LoneCR(_LONE_CR, "\r", "\n")


def sep_line(first_line: str) -> str | None:
    """The delimiter an Excel ``sep=`` first line names, or None when it is no such line."""
    match = _SEP_LINE.match(first_line)
    return match.group(1) if match else None


def normalise(src: Path, target: Path, *, quoted: bool, drop_first_line: bool) -> Path:
    """Copy UTF-8 text with every lone CR outside double quotes made an LF (every lone CR,
    without ``quoted``: JSON Lines, whose strings hold no raw CR), without its first line if
    asked; returns ``target``."""
    inside = False
    with (
        src.open(encoding="utf-8", newline="") as fin,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        if drop_first_line:
            fin.readline()  # with newline="" a line ends at CR, LF or CR LF
        carry = ""
        while chunk := fin.read(CHUNK):
            text, carry = carry + chunk, ""
            if text.endswith("\r"):  # its LF may start the next chunk
                text, carry = text[:-1], "\r"
            if not quoted:
                out.write(_LONE_CR.sub("\n", text))
                continue
            for i, part in enumerate(text.split('"')):
                if i:
                    out.write('"')
                    inside = not inside
                out.write(part if inside else _LONE_CR.sub("\n", part))
        if carry:
            out.write("\r" if inside else "\n")
    return target


# How far back from a file's end its last line is looked for.
TAIL_BYTES = 1 << 20


@dataclass(frozen=True)
class CutShort:
    """A delimited file's last line that the file seems to end inside (no line break after
    it): its text, why, and, when it opens a quoted value it never closes, the byte length of
    the file before it (the rest is read without it; a reader would take it for a value
    running to the end of the file and refuse the whole file)."""

    text: str
    reason: str
    keep: int | None = None


def _quotes(path: Path) -> int:
    count = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            count += chunk.count(b'"')
    return count


def cut_short(path: Path, delimiter: str, columns: int) -> CutShort | None:
    """The last line of a delimited UTF-8 file (LF line ends) when the file ends in it without
    a line break and it is short of the header's ``columns`` values or inside a quoted value:
    a download or copy stopped mid-row. None otherwise (a last row that is whole but has no
    line break after it is common and fine)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - TAIL_BYTES))
        tail = fh.read()
    if not tail or tail.endswith(b"\n"):
        return None
    start = tail.rfind(b"\n")
    if start < 0:
        return None  # the header line alone, or a last line longer than TAIL_BYTES
    line = tail[start + 1 :].decode("utf-8", errors="replace")
    inside_before = (_quotes(path) - line.count('"')) % 2 == 1
    if inside_before:
        return None  # the last line goes on a quoted value begun above: not known to be cut
    again = "cut short? deliver the whole file again"
    if line.count('"') % 2:
        return CutShort(
            line,
            f"the file ends inside a quoted value of this row, without a line break ({again})",
            keep=size - len(tail) + start + 1,
        )
    values = count_outside_quotes(line, delimiter) + 1
    if values < columns:
        return CutShort(
            line,
            f"the file ends in this row, after {values} of the header's {columns} values and "
            f"without a line break ({again})",
        )
    return None


def count_outside_quotes(line: str, char: str) -> int:
    """How often ``char`` occurs in ``line`` outside double-quoted text."""
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


# A quoted value is never longer than this: Excel holds at most 32,767 characters in a cell,
# and a "value" spanning a megabyte is a quote left open that swallowed rows.
MAX_QUOTED_BYTES = 1 << 20


OPEN_QUOTE_REASON = (
    "a quote opened in this row never closes (a stray '\"' in a value?), so the row cannot be read"
)
QUOTE_FAULT_REASON = (
    "a quoted value in this row goes on after its closing quote (a stray '\"' in a value?), "
    "so the row cannot be read"
)


@dataclass(frozen=True)
class OpenQuote:
    """A line of a delimited file that a reader cannot read for its quotes (one opening a
    quoted value no later line closes as a value, or :data:`QUOTE_FAULT_REASON`): its
    spreadsheet row, its byte offset and length (line break included), its text and why."""

    row: int
    offset: int
    length: int
    text: str
    reason: str = OPEN_QUOTE_REASON


def _quoted_lines(path: Path) -> Iterator[tuple[int, int, int, bool]]:
    """``(line index, byte offset, byte length, odd)`` of every line of a UTF-8 file (LF line
    ends; line 0 is the header) holding a double quote, and whether it holds an odd number of
    them, in one pass in chunks. Only lines with a quote are looked at one by one (found by
    ``bytes.find``: a pattern over every line took 1.7 s of CPU per 160 MB with one quote);
    the others are counted."""
    line, offset, carry = 0, 0, b""
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            data = carry + chunk
            if not data:
                break
            cut = data.rfind(b"\n") + 1 if chunk else len(data)  # whole lines only
            if cut == 0:
                carry = data  # a line longer than the chunk: read on
                continue
            whole, carry = data[:cut], data[cut:]
            at, quote = 0, whole.find(b'"')
            while quote >= 0:  # from one line with a quote to the next: no line unquoted
                start = whole.rfind(b"\n", 0, quote) + 1
                end = whole.find(b"\n", quote) + 1 or len(whole)
                line += whole.count(b"\n", at, start)
                yield line, offset + start, end - start, whole.count(b'"', start, end) % 2 == 1
                line += whole.endswith(b"\n", start, end)
                at, quote = end, whole.find(b'"', end)
            line += whole.count(b"\n", at)
            offset += cut
            if not chunk:
                break


def _odd_lines(path: Path) -> list[tuple[int, int, int]]:
    """``(line index, byte offset, byte length)`` of every line holding an odd number of
    double quotes (:func:`_quoted_lines`)."""
    return [(line, offset, length) for line, offset, length, odd in _quoted_lines(path) if odd]


def unended_line_quotes_odd(path: Path) -> bool:
    """Whether a file ending without a line break has an odd count of quotes in that last
    line (read from the file's end: cheap). With the file's own count this tells whether
    the lines before it hold a quote that never closes."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 1))
        if fh.read(1) in (b"", b"\n"):  # most files: nothing more to read
            return False
        fh.seek(max(0, size - TAIL_BYTES))
        tail = fh.read()
    return tail[tail.rfind(b"\n") + 1 :].count(b'"') % 2 == 1


def _past_quoted(body: str, start: int) -> int:
    """Where the quoted value opening at ``start`` (a ``"``) ends: the index just after its
    closing quote (``""`` inside is a quote), or -1 when it never closes."""
    i = start + 1
    while (close := body.find('"', i)) >= 0:
        if not body.startswith('""', close):
            return close + 1
        i = close + 2
    return -1


def _values_of_record(text: str, delimiter: str) -> int | None:
    """How many values ``text`` (one record, its line breaks inside quoted values) holds when
    it is strictly quoted: a quoted value opens at a value's start and its closing quote is
    followed by the delimiter or the record's end (``""`` inside is a quote); an unquoted value
    holds no quote and no line break. None when it is not."""
    body = text[:-1] if text.endswith("\n") else text
    body = body[:-1] if body.endswith("\r") else body
    i, end, values = 0, len(body), 1
    while True:
        if i < end and body[i] == '"':
            i = _past_quoted(body, i)
            if i < 0:
                return None
            if i == end:
                return values
            if body[i] != delimiter:
                return None
        else:
            stop = body.find(delimiter, i)
            stop = end if stop < 0 else stop
            if '"' in body[i:stop] or "\n" in body[i:stop]:
                return None
            if stop == end:
                return values
            i = stop
        i += 1
        values += 1


def open_quotes(path: Path, delimiter: str, columns: int) -> list[OpenQuote]:
    """The rows of a delimited UTF-8 file (LF line ends, header first) that open a quoted value
    that never closes, for a file whose double quotes do not pair up (an odd count).

    A line with an odd number of quotes opens a value across lines, and the next such line
    closes it. That pair is taken as one record only when it reads as one, strictly quoted,
    with exactly the header's ``columns`` values and within :data:`MAX_QUOTED_BYTES`; else
    the opening line is a row of its own that cannot be read (a stray quote), and the next
    odd line is looked at afresh. So a stray quote costs its own row, and a genuine value
    across lines after it still reads. A last line without a line break is left to
    :func:`cut_short`; a header with an odd count gives nothing (the file stays refused)."""
    odd = _odd_lines(path)
    if not odd or odd[0][0] == 0:
        return []
    found: list[OpenQuote] = []
    absorbed = 0  # lines joined into the records before, beyond their first
    with path.open("rb") as fh:
        k = 0
        while k < len(odd):
            line, offset, length = odd[k]
            row = line + 1 - absorbed  # the header is row 1
            if k + 1 < len(odd):
                close_line, close_offset, close_length = odd[k + 1]
                span = close_offset + close_length - offset
                if span <= MAX_QUOTED_BYTES:
                    fh.seek(offset)
                    text = fh.read(span).decode("utf-8", errors="replace")
                    if _values_of_record(text, delimiter) == columns:
                        absorbed += close_line - line
                        k += 2
                        continue
            fh.seek(offset)
            raw = fh.read(length)
            if raw.endswith(b"\n"):  # a last line without one is cut_short's to judge
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                found.append(OpenQuote(row, offset, length, text))
            k += 1
    return found


def _quotes_read(body: str, delimiter: str) -> bool:
    """Whether a line whose quotes pair up reads as polars and DuckDB read it: a value that
    starts with a quote ends at its closing quote (``""`` inside is a quote), followed by the
    delimiter or the line's end; a quote inside a value that does not start with one is text
    (``x"y"z``, which both read as written)."""
    i, end = 0, len(body)
    while i <= end:
        if i < end and body[i] == '"':
            i = _past_quoted(body, i)
            if i < 0:
                return False
            if i < end and body[i] != delimiter:
                return False
        else:
            stop = body.find(delimiter, i)
            i = end if stop < 0 else stop
        i += 1
    return True


def quote_faults(path: Path, delimiter: str, columns: int) -> list[OpenQuote]:
    """The rows of a delimited UTF-8 file (LF line ends, header first) that a reader cannot
    read for their quotes, wherever they pair up: those :func:`open_quotes` finds and, of the
    lines whose quotes pair up, those in which a quoted value goes on after its closing quote
    (``1,"x"y,3``: :data:`QUOTE_FAULT_REASON`). Each line with a quote is looked at in Python,
    so this runs only for a file a reader refused; memory stays bounded (the lines after an
    odd one are kept only up to :data:`MAX_QUOTED_BYTES`). A genuine value across lines (an
    odd line and the next odd one read as one strictly quoted record of ``columns`` values,
    as in :func:`open_quotes`) is kept whole; a last line without a line break is left to
    :func:`cut_short`; a header with an odd count gives nothing (the file stays refused)."""
    found: list[OpenQuote] = []
    absorbed = 0  # lines joined into the records before, beyond their first
    lines = _quoted_lines(path)
    again: list[tuple[int, int, int, bool]] = []  # lines to look at afresh, next last
    with path.open("rb") as fh:

        def read(offset: int, length: int) -> str:
            fh.seek(offset)
            return fh.read(length).decode("utf-8", errors="replace")

        while item := (again.pop() if again else next(lines, None)):
            line, offset, length, odd = item
            if line == 0:
                if odd:
                    return []
                continue
            text = read(offset, length)
            row, body, whole = line + 1 - absorbed, text.rstrip("\r\n"), text.endswith("\n")
            if not odd:
                if not _quotes_read(body, delimiter):
                    found.append(OpenQuote(row, offset, length, body, QUOTE_FAULT_REASON))
                continue
            # The lines up to the next odd one: the quoted value this line may open.
            after: list[tuple[int, int, int, bool]] = []
            while (nxt := again.pop() if again else next(lines, None)) is not None:
                after.append(nxt)
                if nxt[3] or nxt[1] + nxt[2] - offset > MAX_QUOTED_BYTES:
                    break
            close = after[-1] if after and after[-1][3] else None
            span = close[1] + close[2] - offset if close else 0
            if close and span <= MAX_QUOTED_BYTES:
                if _values_of_record(read(offset, span), delimiter) == columns:
                    absorbed += close[0] - line
                    continue
            if whole:
                found.append(OpenQuote(row, offset, length, body))
            again.extend(reversed(after))
    return found


def without_lines(src: Path, target: Path, lines: list[OpenQuote]) -> Path:
    """Copy ``src`` with each of ``lines`` made an empty line (its line break kept), so that
    every other row keeps its number; returns ``target``."""
    with src.open("rb") as fin, target.open("wb") as out:
        at = 0
        for line in lines:
            _copy(fin, out, line.offset - at)
            raw = fin.read(line.length)
            out.write(b"\r\n" if raw.endswith(b"\r\n") else b"\n")
            at = line.offset + line.length
        while chunk := fin.read(CHUNK):
            out.write(chunk)
    return target


def _copy(fin: BinaryIO, out: BinaryIO, count: int) -> None:
    """Copy ``count`` bytes from ``fin`` to ``out``, a chunk at a time."""
    while count and (chunk := fin.read(min(count, CHUNK))):
        out.write(chunk)
        count -= len(chunk)
