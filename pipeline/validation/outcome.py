"""What a suite run found, as plain data (from GX's results: :func:`expectation_outcome`):
kept in run logs, shown in Dagster, quoted in refusals."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.pii import mask_text
from pipeline.validation.suites import condition_text, expectation_columns
from pipeline.words import counted, markdown_text, visible

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
    mostly: float | None = None  # the share of non-null values that must pass; None = all
    missing_count: int | None = None  # null values (not judged by ``mostly``)
    advice: str | None = None  # what a failure means and what to do: ``meta.on_failure``

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

    def reason(self) -> str | None:
        """Why the batch fails its critical expectations (None when none failed)."""
        if not (failed := self.errors):
            return None
        parts = [e.describe() for e in failed[:3]]
        more = len(failed) - 3
        parts += [f"and {counted(more, 'more failed expectation')}"] if more > 0 else []
        details = f" (details: {self.docs_path})" if self.docs_path else ""
        return f"expectation suite {self.suite} failed: " + " | ".join(parts) + details

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteOutcome:
        """The outcome a run log line holds (``dataclasses.asdict`` of one)."""
        expectations = [ExpectationOutcome(**e) for e in data["expectations"]]
        return cls(**{**data, "expectations": expectations})


def text(value: Any) -> str:
    """``value`` as people read it: null, NaN, 10 (not 10.0), 10.5 (not Decimal 10.5000)."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={text(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(text(v) for v in value) + ")"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, Decimal):  # DECIMAL(18,4) comes back as Decimal('10.5000')
        return format(value.normalize(), "f")
    return str(value)


def escape_values(value: Any) -> Any:
    """``value`` with every string in it (in dicts, lists, tuples, keys too) HTML-escaped."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {escape_values(k): escape_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(escape_values(v) for v in value)
    return value


def _expected(kwargs: dict[str, Any]) -> str | None:
    """The bound an expectation sets, in words: ``[0 … 10]``, ``> 0``, ``in {a, b}``."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    open_low, open_high = bool(kwargs.get("strict_min")), bool(kwargs.get("strict_max"))
    if low is not None and high is not None:
        return f"{'(' if open_low else '['}{text(low)} … {text(high)}{')' if open_high else ']'}"
    if low is not None:
        return f"{'>' if open_low else '>='} {text(low)}"
    if high is not None:
        return f"{'<' if open_high else '<='} {text(high)}"
    if kwargs.get("value_set") is not None:
        return "in {" + ", ".join(sorted(text(v) for v in kwargs["value_set"])) + "}"
    # The staging suites' e-mail regex holds U+2028 (a line break in a log), U+00A0, U+3000
    # …: printed raw they showed as blanks or split the message; escaped they read as the rule.
    return _regex(visible(kwargs["regex"])) if kwargs.get("regex") else None


# A regex longer than this is quoted by its start: the personal-data guard's e-mail rule
# (955 characters) buried a failure's examples and advice in a notice; every other rule of the
# suites, escaped, is 193 characters or fewer and is quoted whole.
REGEX_QUOTED = 300


def _regex(rule: str) -> str:
    """``regex <rule>``, or its start and length when it is long (the suite file holds it)."""
    if len(rule) <= REGEX_QUOTED:
        return f"regex {rule}"
    return f"regex {rule[:REGEX_QUOTED]}… ({len(rule):,} characters, whole in the suite file)"


def _examples(result: dict[str, Any], columns: list[str], index: list[str]) -> list[str]:
    """A few unexpected values, each with its index columns when GX listed them."""
    indexed = result.get("partial_unexpected_index_list") or []
    if not (indexed and isinstance(indexed[0], dict)):
        return [text(v) for v in (result.get("partial_unexpected_list") or [])[:MAX_EXAMPLES]]
    out = []
    for item in indexed[:MAX_EXAMPLES]:
        shown = [c for c in columns if c in item]
        value = text(item[shown[0]]) if len(shown) == 1 else text({c: item[c] for c in shown})
        at = [c for c in index if c in item and c not in shown]
        where = ", ".join(f"{INDEX_LABELS.get(c, c)} {text(item[c])}" for c in at)
        out.append(f"{value} ({where})" if where else value)
    return out


def _error(info: Any) -> str | None:
    """The exception message of a result's ``exception_info`` (flat or per metric)."""
    for found in (info, *info.values()) if isinstance(info, dict) else ():
        if isinstance(found, dict) and found.get("raised_exception"):
            return str(found.get("exception_message") or "unknown error")
    return None


def expectation_outcome(result: Any, index: list[str]) -> ExpectationOutcome:
    """The outcome of one GX ``ExpectationValidationResult``; ``index``: the columns GX was
    asked to list with each unexpected value."""
    config, res = result.expectation_config, dict(result.result or {})
    kwargs = config.kwargs
    columns = expectation_columns(kwargs)
    unexpected, total = res.get("unexpected_count"), res.get("element_count")
    observed = "" if unexpected is None else f"{unexpected} of {total} rows unexpected"
    if "observed_value" in res:
        observed = f"observed {text(res['observed_value'])}"
    return ExpectationOutcome(
        expectation=config.type,
        columns=", ".join(columns),
        expected=_expected(kwargs),
        severity=config.severity.value,
        success=bool(result.success),
        observed=observed,
        condition=condition_text(kwargs.get("row_condition")),
        unexpected_count=unexpected,
        element_count=total,
        examples=[] if result.success else _examples(res, columns, index),
        error=_error(result.exception_info),
        mostly=kwargs.get("mostly"),
        missing_count=res.get("missing_count"),
        advice=(config.meta or {}).get("on_failure"),
    )


def cell(value: object) -> str:
    """``value`` for a markdown table cell (:func:`pipeline.words.markdown_text`)."""
    return markdown_text(value)


def markdown_table(outcomes: list[SuiteOutcome], failed_only: bool = False) -> str:
    """The expectations of ``outcomes`` as one markdown table, failures first; the suite
    column names the file it ran on for a landed delivery."""
    lines = [
        "| suite | expectation | column | severity | success | observed | unexpected examples |",
        "|---|---|---|---|---|---|---|",
    ]
    found = [(o, e) for o in outcomes for e in o.expectations if not (failed_only and e.success)]
    found.sort(key=lambda pair: (pair[1].success, pair[1].severity != "critical"))
    for o, e in found:
        suite = o.suite if o.target == o.asset else f"{o.suite}: {o.target}"
        column = e.columns + (f" where {e.condition}" if e.condition else "")
        expectation = e.expectation + (f" {e.expected}" if e.expected else "")
        observed = f"could not be evaluated: {e.error}" if e.error else e.observed
        mark = "✅" if e.success else ("❌" if e.severity == "critical" else "⚠️")
        # Masked: the table is check metadata, which Dagster's event log keeps; the values as
        # found are on the Data Docs page (0600).
        examples = mask_text("; ".join(e.examples[:MAX_EXAMPLES]))
        lines.append(
            f"| {cell(suite)} | {cell(expectation)} | {cell(column)} | {e.severity} "
            f"| {mark} | {cell(observed)} | {cell(examples)} |"
        )
    return "\n".join(lines)
