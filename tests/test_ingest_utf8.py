"""pipeline/ingest/utf8.py: the UTF-8 check that decides a delivery is plain UTF-8 refuses
exactly what Python's strict decoder refuses, wherever a chunk ends."""

from __future__ import annotations

import pytest

from pipeline.ingest.utf8 import valid_utf8

# Valid: ASCII, é (2 bytes), € (3 bytes), 😀 (4 bytes), NUL, U+10FFFF (the last code point).
VALID = [b"", b"a,b\n", "é€😀".encode(), b"x\x00y", "\U0010ffff".encode(), "ș,ț\n".encode()]
# Invalid, each for its own reason (by the Unicode standard, table 3-7):
INVALID = [
    b"\x80",  # a continuation byte with no lead
    b"\xc3",  # a lead byte cut short at the end
    b"\xc3(",  # a lead byte followed by no continuation
    b"\xc0\xaf",  # an overlong "/"
    b"\xe0\x80\xaf",  # an overlong "/" in three bytes
    b"\xed\xa0\x80",  # a surrogate (U+D800)
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xf5\x80\x80\x80",  # a lead byte no sequence has
    b"\xe2\x82",  # "€" cut short at the end
    b"caf\xe9",  # Latin-1 "café"
]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 1 << 20])
def test_by_hand_whatever_the_chunk_size(size: int) -> None:
    def chunks(data: bytes) -> list[bytes]:
        return [data[i : i + size] for i in range(0, len(data), size)]

    for data in VALID:
        assert valid_utf8(chunks(b"ab" + data + b"cd")), data
    for data in INVALID:
        assert not valid_utf8(chunks(b"ab" + data)), data
        assert not valid_utf8(chunks(b"ab" + data + b"cd")), data


@pytest.mark.parametrize("size", [1, 3, 7])
def test_agrees_with_pythons_strict_decoder(size: int) -> None:
    # Every pair of bytes from a spread of lead, continuation and ASCII bytes, between text.
    picked = [0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5]
    for a in picked:
        for b in picked:
            for tail in (b"", b"\x80", b"\x80\x80", b"\xa0\x80"):
                data = "é".encode() + bytes([a, b]) + tail
                try:
                    data.decode("utf-8")
                    expected = True
                except UnicodeDecodeError:
                    expected = False
                got = valid_utf8([data[i : i + size] for i in range(0, len(data), size)])
                assert got == expected, data
