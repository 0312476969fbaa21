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
