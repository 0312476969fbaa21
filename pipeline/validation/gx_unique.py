"""Kept for ``landed.py``'s import (owned by another branch): the code is in ``gx_duckdb``."""

from pipeline.validation.gx_duckdb import drop_repeated_keys

__all__ = ["drop_repeated_keys"]
