"""Expectation suites (GX JSON files in ``expectations/``) on landed files, staging tables and
marts, run inside DuckDB by GX's SQL engine: :func:`landed_validator` (the ingestion hook),
``stages.validate_assets`` and :func:`landed_validation` (asset checks). See docs/validation.md.
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
