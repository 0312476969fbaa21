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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import AnyStr, Generic

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
