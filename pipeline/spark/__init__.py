"""The Spark engine (``PIPELINE_ENGINE=spark``, docs/scale-out.md): the same SQL models,
translated from DuckDB SQL at load time and run on Apache Spark over Parquet in the lake."""
