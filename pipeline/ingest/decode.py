"""Bytes to UTF-8 text: BOMs, UTF-16, the Windows-1252 fallback and gzip, in bounded memory.

Every delimited or JSON delivery goes through :func:`to_utf8` first. A plain UTF-8 file is only
read to check that it is valid; anything else is transcoded chunk by chunk into a temporary UTF-8
file, so a file of any size costs a few megabytes of memory.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from pipeline.ingest.errors import FileRefused

CHUNK = 1 << 20
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@contextmanager
def open_bytes(path: Path) -> Iterator[BinaryIO]:
    """Open a delivery for reading bytes, decompressing ``.gz`` on the fly."""
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            yield fh  # type: ignore[misc]
    else:
        with path.open("rb") as fh:
            yield fh


def _chunks(fh: BinaryIO) -> Iterator[bytes]:
    """Chunks of a stream; a damaged gzip archive becomes a refusal with a reason."""
    try:
        while chunk := fh.read(CHUNK):
            yield chunk
    except EOFError:
        raise FileRefused(
            "the gzip archive is truncated (it ends before its last block): "
            "the download or copy was cut short; deliver the whole file again"
        ) from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise FileRefused(f"the gzip archive is damaged and cannot be unpacked ({exc})") from None


def detect_encoding(head: bytes) -> str | None:
    """Encoding named by a byte-order mark, or None when the file has none."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    return None


def _is_utf8(path: Path) -> bool:
    """Whether the whole (decompressed) stream is valid UTF-8, checked chunk by chunk."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open_bytes(path) as fh:
        try:
            for chunk in _chunks(fh):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _transcode(path: Path, encoding: str, target: Path) -> None:
    """Write the stream re-encoded as UTF-8 (no BOM) to ``target``, chunk by chunk.

    Raises ``UnicodeDecodeError`` with ``start`` set to the byte offset in the whole stream.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open_bytes(path) as fh, target.open("w", encoding="utf-8", newline="") as out:
        try:
            for chunk in _chunks(fh):
                out.write(decoder.decode(chunk))
                offset += len(chunk)
            out.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError as exc:
            exc.start += offset
            raise


def _head(path: Path) -> bytes:
    with open_bytes(path) as fh:
        return next(_chunks(fh), b"")


def to_utf8(path: Path, workdir: Path) -> tuple[Path, str]:
    """A UTF-8 (no BOM, uncompressed) copy of a delivery, or the file itself when it is one.

    Returns the path to read and the encoding the delivery was in: the one its byte-order mark
    names, else UTF-8 when every byte is valid UTF-8, else Windows-1252 (Excel's "CSV" on
    Western Windows).
    """
    head = _head(path)
    named = detect_encoding(head)
    if not named and b"\x00" in head:
        raise FileRefused(
            "undecodable bytes: the file holds NUL bytes, so it is binary or UTF-16 without "
            "a byte-order mark; export it as CSV in UTF-8"
        )
    compressed = path.name.lower().endswith(".gz")
    if not named and not compressed and _is_utf8(path):
        return path, "utf-8"
    target = workdir / "decoded.txt"
    for encoding in [named] if named else ["utf-8", "cp1252"]:
        try:
            _transcode(path, encoding, target)
            return target, encoding
        except UnicodeDecodeError as exc:
            failure = exc
    raise FileRefused(
        f"undecodable bytes at byte offset {failure.start}: the file is neither UTF-8, UTF-16 "
        f"with a byte-order mark, nor Windows-1252; save it as UTF-8 and deliver it again"
    )
