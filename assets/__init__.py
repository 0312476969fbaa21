"""Dagster assets: settings, ingestion, SQL models, polars steps and serving."""
