"""Expectation suites at every stage: landed files, staging tables and marts (Great Expectations).

Suites are GX JSON files in ``expectations/``, run inside DuckDB by GX's SQL engine
(``gx_duckdb``). Entry points: :func:`landed_validator` (the ingestion hook) and
``stages.validate_assets`` / :func:`landed_validation` (asset checks). See docs/validation.md.
"""

from pipeline.validation.landed import landed_validator, make_landed_validator
from pipeline.validation.log import ValidationLog, read_log
from pipeline.validation.outcome import SuiteOutcome
from pipeline.validation.stages import landed_validation

__all__ = [
    "SuiteOutcome",
    "ValidationLog",
    "landed_validation",
    "landed_validator",
    "make_landed_validator",
    "read_log",
]
