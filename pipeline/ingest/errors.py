"""The one exception that moves a whole delivery aside."""

from __future__ import annotations


class FileRefused(Exception):
    """A delivery that cannot be landed at all; the message is the reason the user reads."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
