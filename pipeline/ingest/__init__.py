"""Ingestion: every export a user drops into ``landing/``, landed exactly once, nothing lost.

Entry point: :func:`pipeline.ingest.core.ingest_entity`. See ``docs/vendors.md``.
"""

from pipeline.ingest.core import FileReport, ingest_entity

__all__ = ["FileReport", "ingest_entity"]
