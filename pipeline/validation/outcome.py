"""What a suite run found, as plain data: kept in run logs, shown in Dagster, quoted in refusals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAX_EXAMPLES = 5
# How index columns are named in messages.
INDEX_LABELS = {"_row_number": "row", "_source_file": "file"}


@dataclass
class ExpectationOutcome:
    """One expectation's result: success, what was observed and a few unexpected examples."""

    expectation: str
    columns: str  # the column(s) it reads; "" for a table-level expectation
    severity: str  # critical | warning
    success: bool
    observed: str
    condition: str | None = None  # row_condition, when the expectation applies to some rows
    expected: str | None = None  # the bound in words: "[0 … 10]", "in {a, b}"
    unexpected_count: int | None = None
    element_count: int | None = None
    examples: list[str] = field(default_factory=list)
    error: str | None = None  # why it could not be evaluated (e.g. a missing column)
    # ``mostly``: the share of non-null values that must pass; None = every one.
    mostly: float | None = None
    missing_count: int | None = None  # null values (not judged by ``mostly``)
    # What a failure means and what to do: the expectation's ``meta.on_failure`` in its suite.
    advice: str | None = None

    @property
    def subject(self) -> str:
        """The expectation with its column and condition, as quoted in messages."""
        text = self.expectation + (f" on {self.columns}" if self.columns else "")
        text += f" {self.expected}" if self.expected else ""
        if self.mostly is not None:
            text += f" for at least {self.mostly:.0%} of values"
        return text + (f" where {self.condition}" if self.condition else "")

    def describe(self) -> str:
        """One sentence: the expectation, its column, what was found and example values."""
        if self.error:
            return f"{self.subject}: could not be evaluated: {self.error}"
        text = f"{self.subject}: {self.observed}"
        if self.examples:
            text += ", e.g. " + "; ".join(self.examples[:3])
        if self.advice and not self.success:
            text += f" — {self.advice}"
        return text


@dataclass
class SuiteOutcome:
    """One suite run over one batch (a landed file or an asset's new rows / table)."""

    suite: str
    stage: str
    asset: str
    target: str  # what was validated: the landed file, or the table
    run_id: str
    rows: int
    batch: str  # how the batch was chosen, for people
    seconds: float
    expectations: list[ExpectationOutcome]
    docs_path: str | None = None

    @property
    def errors(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success and e.severity == "critical"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success and e.severity != "critical"]

    @property
    def status(self) -> str:
        """``error`` (a critical expectation failed), ``warning`` or ``passed``."""
        return "error" if self.errors else "warning" if self.warnings else "passed"

    def reason(self, limit: int = 3) -> str | None:
        """Why the batch fails its critical expectations (None when none failed)."""
        failed = self.errors
        if not failed:
            return None
        parts = [e.describe() for e in failed[:limit]]
        if len(failed) > limit:
            parts.append(f"and {len(failed) - limit} more failed expectation(s)")
        text = f"expectation suite {self.suite} failed: " + " | ".join(parts)
        if self.docs_path:
            text += f" (details: {self.docs_path})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the run log's line)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteOutcome:
        """The outcome written by :meth:`to_dict`."""
        fields = dict(data)
        fields["expectations"] = [ExpectationOutcome(**e) for e in data["expectations"]]
        return cls(**fields)


def cell(text: object) -> str:
    """``text`` for a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(outcomes: list[SuiteOutcome], failed_only: bool = False) -> str:
    """The expectations of ``outcomes`` as one markdown table, failures first.

    The first column is the suite, followed by the file it ran on for a landed delivery.
    """
    lines = [
        "| suite | expectation | column | severity | success | observed | unexpected examples |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [(o, e) for o in outcomes for e in o.expectations if not (failed_only and e.success)]
    rows.sort(key=lambda pair: (pair[1].success, pair[1].severity != "critical"))
    for outcome, exp in rows:
        suite = (
            outcome.suite
            if outcome.target == outcome.asset
            else (f"{outcome.suite}: {outcome.target}")
        )
        column = exp.columns + (f" where {exp.condition}" if exp.condition else "")
        expectation = exp.expectation + (f" {exp.expected}" if exp.expected else "")
        observed = f"could not be evaluated: {exp.error}" if exp.error else exp.observed
        mark = "✅" if exp.success else ("❌" if exp.severity == "critical" else "⚠️")
        lines.append(
            f"| {cell(suite)} | {cell(expectation)} | {cell(column)} | {exp.severity} "
            f"| {mark} | {cell(observed)} | {cell('; '.join(exp.examples[:MAX_EXAMPLES]))} |"
        )
    return "\n".join(lines)
