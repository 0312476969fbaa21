"""What happened to one delivery: the record the ledger, the logs and the asset metadata show."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from pipeline.words import counted

# The raw assets' metadata entry holding this run's files, one report each by path: what the
# run summary says of each file. The ingest ledger cannot: it keeps one row per content hash,
# so the same bytes refused under one path and landed (or refused again) under another in one
# run leave one row, of the last path.
RUN_FILES_KEY = "run_files"
# Their metadata entry of this run's refused files (file, reason), read from the event log by the
# notification sensors (pipeline/automation/notify.py).
REFUSED_FILES_KEY = "refused_files"


@dataclass
class FileReport:
    """What happened to one delivery in one run."""

    source_file: str  # path under landing/
    entity: str
    mapping: str | None
    status: str  # 'landed' | 'refused' | 'skipped' (already delivered, hidden, or not read)
    rows_read: int
    rows_landed: int
    rows_quarantined: int
    reason: str | None
    encoding: str | None = None  # the text encoding read (None: not decoded, or .xlsx)
    encoding_decided: str | None = None  # bom | declared | utf8 | detected
    combined: bool = False  # a line-item export: rows read are lines, rows landed orders
    # Skipped as the same bytes as a delivery of an earlier run, met again at its own path or
    # at one an earlier run met: every run meets every delivery ever made again, so these are
    # counted, not listed in the run summary. A new path with such bytes is listed, once.
    earlier_run: bool = False
    # Another entity's rows the same file gave through its mapping's companions (a Zendesk
    # ticket export's satisfaction ratings: surveys), one report each, landed with it
    parts: list[FileReport] = field(default_factory=list)

    def as_json(self) -> dict:
        """The report as the ``run_files`` metadata holds it (:func:`from_json` reads it)."""
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict) -> FileReport:
        """The report :meth:`as_json` wrote; keys it does not know (a later version's) are left."""
        known = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        known["parts"] = [cls.from_json(part) for part in known.get("parts") or []]
        return cls(**known)

    def counts(self) -> str:
        """The delivery's row counts in words (see :func:`counts_text`)."""
        return counts_text(self.rows_read, self.rows_landed, self.rows_quarantined, self.combined)

    def part_text(self) -> str:
        """A part's counts as its file's line says them: ``surveys via …: 6 rows read, …``."""
        note = f" ({self.reason})" if self.reason else ""
        return f"{self.entity} via {self.mapping}: {self.counts()}{note}"

    def summary(self) -> str:
        """One line for the run log."""
        if self.status == "landed":
            line = f"{self.source_file}: landed via {self.mapping}: {self.counts()}"
            if self.encoding and self.encoding_decided != "utf8":  # say so unless plain UTF-8
                line += f"; text {self.encoding} ({self.encoding_decided})"
            line += f" ({self.reason})" if self.reason else ""
            return "".join([line, *(f"; and {p.part_text()}" for p in self.parts)])
        return f"{self.source_file}: {self.status}: {self.reason}"


def counts_text(read: int, landed: int, quarantined: int, combined: bool) -> str:
    """What happened to a delivery's rows; a line-item export says its lines became orders."""
    if not combined:
        return f"{counted(read, 'row')} read, {landed:,} landed, {quarantined:,} quarantined"
    orders = counted(landed, "order")
    if quarantined:
        return (
            f"{counted(read, 'line')} read, {quarantined:,} quarantined, the other "
            f"{read - quarantined:,} combined into {orders}, {landed:,} landed"
        )
    return f"{counted(read, 'line')} read, combined into {orders}, {landed:,} landed"
