"""What happened to one delivery: the record the ledger, the logs and the asset metadata show."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FileReport:
    """What happened to one delivery in one run."""

    source_file: str  # path under landing/
    entity: str
    mapping: str | None
    status: str  # 'landed' | 'refused' | 'skipped' (already delivered)
    rows_read: int
    rows_landed: int
    rows_quarantined: int
    reason: str | None
    encoding: str | None = None  # the text encoding read (None: not decoded, or .xlsx)
    encoding_decided: str | None = None  # bom | declared | utf8 | detected

    def summary(self) -> str:
        """One line for the run log."""
        if self.status == "landed":
            line = (
                f"{self.source_file}: landed via {self.mapping}: {self.rows_read} rows read, "
                f"{self.rows_landed} landed, {self.rows_quarantined} quarantined"
            )
            if self.encoding:
                line += f"; text {self.encoding} ({self.encoding_decided})"
            return line + (f" ({self.reason})" if self.reason else "")
        return f"{self.source_file}: {self.status}: {self.reason}"
