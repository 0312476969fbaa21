"""The exception that moves a whole delivery aside, and its kind for a reader's failure."""

from __future__ import annotations


class FileRefused(Exception):
    """A delivery that cannot be landed at all; the message is the reason the user reads."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreadable(FileRefused):
    """A delivery the reader failed on; ``delimited``: a delimited text file, in which rows
    with quotes the reader cannot read may be set aside and the rest read again
    (``core._read``)."""

    def __init__(self, reason: str, delimited: bool) -> None:
        super().__init__(reason)
        self.delimited = delimited
