"""Bytes to UTF-8 text: BOMs, UTF-16, declared or detected code pages and gzip, in bounded memory.

Every delimited or JSON delivery goes through :func:`decode_delivery` first. Its encoding is
decided, in this order: a byte-order mark (``bom``); an encoding declared by the landing folder
or the vendor mapping (``declared``); valid UTF-8 (``utf8``); else the single-byte code page
detected by the rule in :mod:`pipeline.ingest.codepage` (``detected``), or the file is refused
naming the likely code pages. A plain UTF-8 file is only read to check that it is valid;
anything else is transcoded chunk by chunk into a temporary UTF-8 file, so a file of any size
costs a few megabytes of memory.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pipeline.ingest.codepage import CANDIDATES, Evidence, decodes, judge, utf8_words
from pipeline.ingest.errors import FileRefused
from pipeline.ingest.lines import bytes_lone_cr, text_lone_cr
from pipeline.ingest.utf8 import valid_utf8

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


def _is_utf8(path: Path) -> tuple[bool, bool, bool]:
    """Whether the whole (decompressed) stream is valid UTF-8, checked chunk by chunk, whether
    it holds a lone CR (:mod:`pipeline.ingest.lines`) and whether its double quotes do not pair
    up (an odd count), both seen in the same pass."""
    lone = bytes_lone_cr()
    quotes = 0

    def watched(fh: BinaryIO) -> Iterator[bytes]:
        nonlocal quotes
        for chunk in _chunks(fh):
            lone.feed(chunk)
            # 0.06 s of CPU per 160 MB (numpy's compare and count, faster alone, was
            # slower here beside the validator's polars threads).
            quotes += chunk.count(b'"')
            yield chunk

    with open_bytes(path) as fh:
        valid = valid_utf8(watched(fh))
    return valid, lone.end(), quotes % 2 == 1


def _transcode(path: Path, encoding: str, target: Path) -> tuple[bool, bool]:
    """Write the stream re-encoded as UTF-8 (no BOM) to ``target``, chunk by chunk; returns
    whether the text holds a lone CR and whether its double quotes do not pair up.

    Raises ``UnicodeDecodeError`` with ``start`` set to the byte offset in the whole stream.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    lone = text_lone_cr()
    offset = quotes = 0
    with open_bytes(path) as fh, target.open("w", encoding="utf-8", newline="") as out:
        try:
            for chunk in _chunks(fh):
                text = decoder.decode(chunk)
                lone.feed(text)
                quotes += text.count('"')
                out.write(text)
                offset += len(chunk)
            text = decoder.decode(b"", final=True)
            lone.feed(text)
            quotes += text.count('"')
            out.write(text)
        except UnicodeDecodeError as exc:
            exc.start += offset
            raise
    return lone.end(), quotes % 2 == 1


def _head(path: Path) -> bytes:
    with open_bytes(path) as fh:
        return next(_chunks(fh), b"")


# Encodings a folder or mapping may declare: UTF-8 and the code pages the detector knows, by
# the names users write (windows-1251, cp1251, iso-8859-5, koi8-r, ...).
DECLARABLE = ("utf-8", *CANDIDATES.values())


@dataclass(frozen=True)
class Declared:
    """An encoding a user stated, and where (named in messages)."""

    encoding: str  # one of DECLARABLE
    where: str  # "landing/crm/contacts/.landing.toml", "mapping hubspot_contacts"


@dataclass(frozen=True)
class Decoded:
    """A delivery as UTF-8 text, the encoding it was in and how that was decided."""

    path: Path
    encoding: str  # "utf-8", "utf-8-sig", "utf-16", "windows-1251", ...
    decided: str  # "bom" | "declared" | "utf8" | "detected"
    detail: str = ""  # the detector's reasoning, for the log
    lone_cr: bool = False  # a CR not followed by LF: a line break to normalise (lines.py)
    # An odd count of double quotes: a quote opened that never closes (lines.open_quotes).
    odd_quotes: bool = False


def codec_of(name: str) -> str | None:
    """The Python codec of an encoding name a user may write, or None when not declarable."""
    try:
        info = codecs.lookup(name.strip())
    except LookupError:
        return None
    allowed = {codecs.lookup(n).name for n in DECLARABLE}
    return info.name if info.name in allowed else None


def _display(codec: str) -> str:
    name = codecs.lookup(codec).name
    for candidate, shown in CANDIDATES.items():
        if codecs.lookup(candidate).name == name:
            return shown
    return name


def _evidence(path: Path) -> Evidence:
    """The evidence for the code-page rule: one pass over the stream."""
    evidence = Evidence()
    with open_bytes(path) as fh:
        for chunk in _chunks(fh):
            evidence.add(chunk)
    return evidence


def _line_of(path: Path, word: bytes) -> int | None:
    """The line (from 1) of the first occurrence of ``word`` in the stream, or None; a pass
    over the file that only a refusal pays for."""
    line, tail = 1, b""
    with open_bytes(path) as fh:
        for chunk in _chunks(fh):
            # The tail of the last chunk keeps a word split between two chunks findable.
            text = tail + chunk
            at = text.find(word)
            if at >= 0:
                return line + text.count(b"\n", 0, at)
            keep = len(word) - 1
            line += text.count(b"\n", 0, max(len(text) - keep, 0))
            tail = text[len(text) - keep :] if keep else b""
    return None


def _declare_hint(likely: list[str]) -> str:
    example = likely[0] if likely else "windows-1250"
    return (
        f'declare the encoding in the landing folder\'s .landing.toml (encoding = "{example}") '
        f'or in the vendor mapping ([format] encoding = "{example}"), or save the file as UTF-8'
    )


def _guess_names(evidence: Evidence) -> list[str]:
    """charset-normalizer's guesses among our code pages, best first, for a refusal message."""
    from charset_normalizer import from_bytes

    try:
        matches = from_bytes(evidence.head, cp_isolation=list(CANDIDATES))
    except Exception:  # a guess for a message only; its failure must not hide the refusal
        return []
    return [_display(m.encoding) for m in matches][:3]


def decode_delivery(path: Path, workdir: Path, declared: Declared | None = None) -> Decoded:
    """A UTF-8 (no BOM, uncompressed) copy of a delivery, or the file itself when it is one,
    with the encoding it was in and how that was decided (see the module docstring)."""
    head = _head(path)
    named = detect_encoding(head)
    if not named and b"\x00" in head:
        raise FileRefused(
            "undecodable bytes: the file holds NUL bytes, so it is binary or UTF-16 without "
            "a byte-order mark; export it as CSV in UTF-8"
        )
    compressed = path.name.lower().endswith(".gz")
    target = workdir / "decoded.txt"
    if named:
        return _transcoded(path, named, target, "bom", "")
    # Validity first: gathering the evidence (a byte histogram and a word search) cost 1.5 s
    # of CPU per 160 MB file, and a plain UTF-8 file without a declaration never needs it.
    valid, lone_cr, odd_quotes = _is_utf8(path)
    if declared is None and valid:
        if compressed:
            return _transcoded(path, "utf-8", target, "utf8", "")
        return Decoded(path, "utf-8", "utf8", lone_cr=lone_cr, odd_quotes=odd_quotes)
    evidence = _evidence(path)
    if declared is not None:
        codec = codec_of(declared.encoding)
        if codec is None:
            raise FileRefused(
                f"{declared.where} declares the encoding {declared.encoding!r}, which is not one "
                f"of {', '.join(DECLARABLE)}"
            )
        multibyte = valid and bool(evidence.high_bytes())
        if multibyte and codec != "utf-8":
            raise FileRefused(
                f"{declared.where} declares {_display(codec)}, but the file is valid UTF-8 with "
                "non-ASCII text (re-saved as UTF-8?): reading it as declared would garble it; "
                "remove or correct the declaration"
            )
        # Words pasted from a UTF-8 export into a file in the declared code page would land
        # as "WeiÃŸ": the declaration is right for the file but not for those rows.
        pasted = utf8_words(evidence.words) if codec != "utf-8" else []
        if pasted:
            name, shown = _display(codec), ", ".join(repr(w) for w in pasted)
            garbled = pasted[0].encode("utf-8").decode(codec, errors="replace")
            raise FileRefused(
                f"{declared.where} declares {name}, but some of the file's words are UTF-8 "
                f"({shown}) and its other bytes are not: rows in two encodings (pasted together "
                f"from two exports?), which {name} would garble ({pasted[0]!r} as {garbled!r}). "
                "Save the whole file in one encoding (UTF-8), or deliver the parts as two files"
            )
        if codec != "utf-8":
            bad = [b for b in evidence.high_bytes() if decodes(codec, bytes([b])) is None]
            if bad:
                shown = ", ".join(f"0x{b:02X}" for b in bad[:8])
                raise FileRefused(
                    f"{declared.where} declares {_display(codec)}, but the file holds bytes "
                    f"({shown}) that {_display(codec)} leaves undefined or reads as control "
                    "characters: the declaration does not fit this file"
                )
        if codec == "utf-8" and valid and not compressed:
            return Decoded(path, "utf-8", "declared", declared.where, lone_cr, odd_quotes)
        try:
            return _transcoded(path, codec, target, "declared", declared.where)
        except FileRefused as refused:
            raise FileRefused(f"{refused.reason} (declared in {declared.where})") from None
    verdict = judge(evidence, line_of=lambda word: _line_of(path, word))
    if verdict.mixed:
        raise FileRefused(
            f"the file is not UTF-8 and cannot be read in one code page: {verdict.detail}. "
            "Save the whole file in one encoding (UTF-8), or deliver the parts as two files"
        )
    if verdict.encoding is None:
        likely = [CANDIDATES[c] for c in verdict.plausible] or _guess_names(evidence)
        named_likely = f"; likely {' or '.join(likely)}" if likely else ""
        raise FileRefused(
            f"the file is not UTF-8 and its code page cannot be decided safely: "
            f"{verdict.detail}{named_likely}. {_declare_hint(likely)}"
        )
    return _transcoded(path, verdict.encoding, target, "detected", verdict.detail)


def _transcoded(path: Path, codec: str, target: Path, decided: str, detail: str) -> Decoded:
    """Transcode into ``target``; a byte the code page lacks (or maps to a control
    character) refuses the file with its offset."""
    try:
        lone_cr, odd_quotes = _transcode(path, codec, target)
    except UnicodeDecodeError as exc:
        raise FileRefused(
            f"undecodable bytes at byte offset {exc.start}: not valid {_display(codec)}"
        ) from None
    shown = codec if codec in ("utf-8-sig", "utf-16", "utf-8") else _display(codec)
    return Decoded(target, shown, decided, detail, lone_cr, odd_quotes)
