"""A second, independent implementation of the marts, written from the spec in plain polars.

It reads the raw tables (every delivered version of every row) and the settings, resolves
versions and identity as ``spec/contracts.md`` says, and computes the ten marts of
``spec/metrics.md``. ``tests/test_marts_oracle.py`` compares it with the SQL models.
"""

from .marts import compute_marts
from .settings import OracleSettings

__all__ = ["OracleSettings", "compute_marts"]
