"""Encodings a user declares: a landing folder's ``.landing.toml`` or a vendor mapping's
``[format] encoding``. A declaration beats detection (docs/vendors.md, "Encodings").

``.landing.toml`` starts with a dot, so the folder scan never takes it for a delivery. The one
nearest the file wins (its own folder, then each parent up to the entity's folder).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pipeline.ingest.decode import BOMS, Declared, _chunks, codec_of, open_bytes
from pipeline.ingest.errors import FileRefused
from pipeline.ingest.formats import detect_delimiter
from pipeline.ingest.mappings import Mapping, header_key

FOLDER_SETTINGS = ".landing.toml"
FOLDER_KEYS = {"encoding"}


def folder_declaration(entity_dir: Path, path: Path) -> Declared | None:
    """The encoding the nearest ``.landing.toml`` between ``path`` and ``entity_dir`` states."""
    folder = path.parent
    while True:
        settings = folder / FOLDER_SETTINGS
        if settings.is_file():
            where = settings.relative_to(entity_dir.parent.parent).as_posix()
            try:
                raw = tomllib.loads(settings.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise FileRefused(f"{where} is not valid TOML ({exc})") from None
            unknown = set(raw) - FOLDER_KEYS
            if unknown:
                raise FileRefused(f"{where}: unknown keys {sorted(unknown)} (allowed: encoding)")
            if "encoding" in raw:
                name = str(raw["encoding"])
                if codec_of(name) is None:
                    raise FileRefused(f"{where}: encoding {name!r} is not one the pipeline reads")
                return Declared(name, where)
        if folder == entity_dir or entity_dir not in folder.parents:
            return None
        folder = folder.parent


def mapping_declaration(path: Path, mappings: list[Mapping]) -> Declared | None:
    """The encoding of the mapping whose signature the file's header carries, when read in
    that mapping's declared encoding (so a header with non-ASCII names is recognised too)."""
    declaring = [m for m in mappings if m.encoding]
    if not declaring or path.name.lower().endswith(".xlsx"):
        return None
    with open_bytes(path) as fh:
        head = next(_chunks(fh), b"")
    if any(head.startswith(bom) for bom, _ in BOMS):
        return None  # a byte-order mark names the encoding itself
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    for mapping in declaring:
        line = first.decode(mapping.encoding or "", errors="replace")
        delimiter = detect_delimiter(line, path.name) or " "
        names = {header_key(n.strip().strip('"')) for n in line.split(delimiter)}
        if all(header_key(s) in names for s in mapping.signature):
            return Declared(mapping.encoding or "", f"mapping {mapping.name}")
    return None


def declaration(entity_dir: Path, path: Path, mappings: list[Mapping]) -> Declared | None:
    """The folder's declaration, else the recognised mapping's, else None (detect)."""
    return folder_declaration(entity_dir, path) or mapping_declaration(path, mappings)
