"""Expectation suites: GX's own suite JSON files in ``expectations/``, read and checked strictly.

Our additions live in ``meta``: ``stage`` (landed | staging | marts), ``asset`` (``*`` = every
mart; ``entity`` for landed suites), ``batch`` (its builder, ``pipeline.validation.batches``),
``index_columns`` (quoted next to unexpected values) and ``derived_columns`` (SQL expressions
added to the batch). Every expectation states its ``severity``: ``critical`` blocks (a Dagster
ERROR), ``warning`` only shows. A suite GX cannot build whole raises :class:`SuiteError`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "expectations"
STAGES = ("landed", "staging", "marts")
BATCHES = ("landed_file", "new_rows", "currencies", "customer_links", "table", "personal_data")
SEVERITIES = ("critical", "warning")
EVERY_MART = "*"


class SuiteError(ValueError):
    """A suite file that cannot be used as written; the message names the file and the fault."""


@dataclass(frozen=True)
class Suite:
    """One suite file: its GX document and the stage, asset and batch it applies to."""

    name: str
    path: Path
    stage: str
    asset: str
    batch: str
    document: dict[str, Any]
    index_columns: tuple[str, ...] = ()
    derived_columns: dict[str, str] = field(default_factory=dict)

    @property
    def expectations(self) -> list[dict[str, Any]]:
        return self.document["expectations"]

    @property
    def digest(self) -> str:
        """Hash of the document, so a changed file is never confused with a cached one."""
        text = json.dumps(self.document, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def meta(self) -> dict[str, Any]:
        return self.document.get("meta") or {}

    def check_columns(self, table: str, available: list[str]) -> None:
        """Raise SuiteError naming the first expectation (or ``meta.index_columns``) that reads a
        column ``table`` does not have: GX would only say the column is not in its batch,
        without the file, and the batch leaves out what the table lacks."""
        from pipeline.engine.discovery import did_you_mean

        have = set(available) | set(self.derived_columns)
        places = [("meta.index_columns", list(self.index_columns))]
        for i, exp in enumerate(self.expectations, start=1):
            kwargs = exp.get("kwargs") or {}
            names = expectation_columns(kwargs)
            names += sorted(condition_columns(kwargs.get("row_condition")))
            places.append((f"expectation {i} ({exp['type']})", names))
        for where, names in places:
            for name in (n for n in names if n not in have):
                raise SuiteError(
                    f"{self.path}: {where} reads column {name!r}"
                    f"{did_you_mean(name, available)}, which {table} does not have (its "
                    f"columns: {', '.join(available)}): fix the name in the suite, or add the "
                    "column to the model"
                )

    def referenced_columns(self) -> set[str]:
        """Column names the expectations read, row conditions included (a superset is fine)."""
        names: set[str] = set(self.index_columns) | set(self.derived_columns)
        for exp in self.expectations:
            kwargs = exp.get("kwargs") or {}
            names.update(expectation_columns(kwargs))
            names.update(condition_columns(kwargs.get("row_condition")))
        return names


def expectation_columns(kwargs: dict[str, Any]) -> list[str]:
    """The columns an expectation's kwargs name (``column``, ``column_A/B``, ``column_list``)."""
    names = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
    return [n for n in names if isinstance(n, str) and n] + list(kwargs.get("column_list") or [])


def condition_columns(condition: Any) -> set[str]:
    """Columns a GX row condition (comparison, nullity, and/or) reads."""
    if not isinstance(condition, dict):
        return set()
    name = (condition.get("column") or {}).get("name")
    found = {name} if isinstance(name, str) else set()
    return found.union(*(condition_columns(part) for part in condition.get("conditions") or []))


def condition_text(condition: Any) -> str | None:
    """A GX row condition as people read it: ``survey_type == 'nps'``, ``email is null``
    (``read_suite`` lets only condition objects through)."""
    if condition is None:
        return None
    kind = condition.get("type")
    if kind in ("and", "or"):
        return f" {kind} ".join(f"({condition_text(c)})" for c in condition.get("conditions", []))
    name = (condition.get("column") or {}).get("name", "?")
    if kind == "nullity":
        return f"{name} is {'null' if condition.get('is_null') else 'not null'}"
    if kind == "comparison":
        return f"{name} {condition.get('operator')} {condition.get('parameter')!r}"
    return str(condition)


def read_suite(path: Path) -> Suite:
    """Parse one suite file and check our conventions (no GX needed); raises SuiteError."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SuiteError(f"{path}: not readable as JSON: {err}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("expectations"), list):
        raise SuiteError(f"{path}: expected an object with an 'expectations' list")
    name = doc.get("name")
    if name != path.stem:
        raise SuiteError(f"{path}: 'name' must equal the file name {path.stem!r}, not {name!r}")
    meta = doc.get("meta") or {}
    stage, batch = meta.get("stage"), meta.get("batch")
    asset = meta.get("asset") or (f"raw_{meta['entity']}" if meta.get("entity") else None)
    for key, value, allowed in (("stage", stage, STAGES), ("batch", batch, BATCHES)):
        if value not in allowed:
            raise SuiteError(f"{path}: meta.{key} must be one of {allowed}, not {value!r}")
    if not asset:
        raise SuiteError(f"{path}: meta.asset (or meta.entity for a landed suite) is missing")
    if not doc["expectations"]:
        raise SuiteError(f"{path}: the suite has no expectations")
    for i, exp in enumerate(doc["expectations"], start=1):
        where = f"{path}: expectation {i} ({exp.get('type', '?')})"
        if not isinstance(exp, dict) or not isinstance(exp.get("type"), str):
            raise SuiteError(f"{where}: needs a 'type'")
        if exp.get("severity") not in SEVERITIES:
            raise SuiteError(
                f"{where}: 'severity' must be stated as one of {SEVERITIES} "
                f"(critical blocks, warning only shows), not {exp.get('severity')!r}"
            )
        kwargs = exp.get("kwargs") or {}
        if "row_condition" in kwargs and not isinstance(kwargs["row_condition"], dict):
            raise SuiteError(
                f"{where}: write row_condition as a GX condition object, e.g. "
                '{"type": "comparison", "column": {"name": "survey_type"}, "operator": "==", '
                '"parameter": "nps"} (string conditions are deprecated since GX 1.9)'
            )
    derived = meta.get("derived_columns") or {}
    if not isinstance(derived, dict):
        raise SuiteError(f"{path}: meta.derived_columns must map a column name to an expression")
    index = tuple(meta.get("index_columns") or ())
    derived = {str(k): str(v) for k, v in derived.items()}
    return Suite(name, path, stage, asset, batch, doc, index, derived)


def read_suites() -> dict[str, Suite]:
    """Every ``*.json`` suite in ``expectations/`` by name; raises SuiteError on the first bad
    file."""
    return {s.name: s for s in (read_suite(p) for p in sorted(EXPECTATIONS_DIR.glob("*.json")))}


def check_targets(suites: dict[str, Suite], tables: set[str], marts: dict[str, Path]) -> None:
    """Raise SuiteError unless every suite names a table that exists (``tables``: the models and
    the landed and Python-built tables) and every mart (``marts``: name -> its file) has a suite
    of its own. A suite whose ``meta.asset`` is misspelt would otherwise never run, and a mart
    without one would show no check: either passes every run without a word."""
    from pipeline.engine.discovery import did_you_mean

    for suite in suites.values():
        if suite.asset == EVERY_MART and suite.stage == "marts":
            continue
        if suite.asset not in tables:
            key = "meta.entity" if suite.stage == "landed" else "meta.asset"
            raise SuiteError(
                f"{suite.path}: {key} names {suite.asset!r}{did_you_mean(suite.asset, tables)}, "
                "which is no table of the pipeline, so the suite would never run: name the model "
                "or mart it checks"
            )
    guarded = {s.asset for s in suites.values() if s.stage == "marts"}
    for mart, path in marts.items():
        if mart not in guarded:
            raise SuiteError(
                f"{path}: the mart {mart!r} has no expectation suite: add "
                f"{EXPECTATIONS_DIR.name}/marts_{mart}.json with meta.stage 'marts', meta.asset "
                f"{mart!r} and meta.batch 'table' (docs/validation.md, 'Suite files')"
            )


def build_gx_suite(suite: Suite):
    """The GX ``ExpectationSuite`` of a file; SuiteError names each expectation GX refuses.

    Each expectation is built on its own: given a suite's dicts, GX logs and *skips* one it
    cannot build. Copies: GX edits the dicts in place, which would change the suite's digest.
    """
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    built, problems = [], []
    with gx_logger_at("great_expectations", logging.CRITICAL):  # one message, not tracebacks
        doc = copy.deepcopy(suite.document)
        for i, exp in enumerate(doc["expectations"], start=1):
            try:
                built.append(ExpectationConfiguration(**exp).to_domain_obj())
            except Exception as err:  # GX raises pydantic and its own errors
                first = " ".join(str(err).split())[:300]
                problems.append(f"expectation {i} ({exp['type']}) is invalid: {first}")
    if problems:
        raise SuiteError(
            f"{suite.path}: GX kept {len(built)} of {len(problems) + len(built)} expectations: "
            + "; ".join(problems)
        )
    return gx.ExpectationSuite(
        name=suite.name, expectations=built, meta=doc.get("meta"), notes=doc.get("notes")
    )


@contextmanager
def gx_logger_at(name: str, level: int) -> Iterator[None]:
    """Within the block, GX's logger ``name`` logs at ``level`` and above; restored after."""
    gx_logger = logging.getLogger(name)
    previous = gx_logger.level
    gx_logger.setLevel(level)
    try:
        yield
    finally:
        gx_logger.setLevel(previous)
