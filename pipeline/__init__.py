"""Customer-retention data platform: the Dagster code location and its command line."""
