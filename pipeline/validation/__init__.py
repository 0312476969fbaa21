"""Expectation suites at every stage: landed files, staging tables and marts (Great Expectations).

Suites are GX JSON files in ``expectations/``; every suite runs inside DuckDB through GX's SQL
engine (``gx_duckdb``): staging and mart batches in the warehouse, landed files' rows in a
database of the validation's own.
Entry points: :func:`make_landed_validator` / :func:`landed_validator` (ingestion hook),
:func:`validate_asset` and :func:`landed_validation` (asset checks). See docs/validation.md.
"""

from pipeline.validation.landed import landed_validator, make_landed_validator
from pipeline.validation.log import ValidationLog, read_log
from pipeline.validation.outcome import ExpectationOutcome, SuiteOutcome
from pipeline.validation.stages import landed_validation, suites_for, validate_asset
from pipeline.validation.suites import SuiteError, build_gx_suite, read_suite, read_suites

__all__ = [
    "ExpectationOutcome",
    "SuiteError",
    "SuiteOutcome",
    "ValidationLog",
    "build_gx_suite",
    "landed_validation",
    "landed_validator",
    "make_landed_validator",
    "read_log",
    "read_suite",
    "read_suites",
    "suites_for",
    "validate_asset",
]
